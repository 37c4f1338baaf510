"""The store itself and its people: staff and their keys, the audit log, backups, the store's policies.

Every method checks the caller's role first, so a clerk calling
``center.admin.staff_add(...)`` from Python is refused exactly as on the
command line (and the refusal is audited). The key, audit and backup work is
done by :mod:`mhtool.store.admin`; the policies that belong to other features
(follow-up cadence, purpose and retention rules, the screening policy) are read
and checked by those features' own use cases and rules.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Union

from mhtool.errors import InvalidInput
from mhtool.i18n import N_, _
from mhtool.signals.usecases import settings as signal_settings
from mhtool.store import admin as store_admin
from mhtool.store.core import create_store, store_info

if TYPE_CHECKING:
    from mhtool.app.center import Center
    from mhtool.store.admin import AuditReport
    from mhtool.store.crypto import Credential

    # A credential, or a function that makes one: called only once the caller is
    # allowed, so a refused caller is never asked for a passphrase and no key file is written.
    NewCredential = Union[Credential, Callable[[], Credential]]

Progress = Callable[[int, int], None]


def _made(credential: NewCredential) -> Credential:
    return credential() if callable(credential) else credential


class Admin:
    """Administration of one store, as the signed-in staff member."""

    def __init__(self, center: Center):
        self.center = center
        self.store = center.store

    # -- staff and keys ---------------------------------------------------------------------

    def staff_list(self) -> list[dict]:
        """Staff members with role, college scope, key-slot kinds and whether active (admin)."""
        self.store.require("staff", action="staff.list")
        return store_admin.list_staff(self.store)

    def staff_add(
        self,
        name: str,
        role: str,
        credential: NewCredential,
        colleges: Iterable[str] = (),
        *,
        standing_purpose: str | None = None,
        display_name: str | None = None,
    ) -> dict:
        """Add a staff member with their own key slot (admin); returns their id, name, display name and role.

        ``display_name`` (张华) is what reports print for them; the login name until one is given.
        """
        self.store.require("staff", action="staff.add")
        staff_id = store_admin.add_staff(
            self.store, name, role, _made(credential), list(colleges), standing_purpose=standing_purpose, display_name=display_name
        )
        shown = self.store.staff_rows.display_names().get(name.strip(), name.strip())
        return {"id": staff_id, "name": name.strip(), "display_name": shown, "role": role}

    def staff_edit(self, name: str, *, display_name: str | None = None) -> dict:
        """Change a staff member's display name (admin; audited); returns their name, display name and role."""
        self.store.require("staff", action="staff.edit")
        return store_admin.edit_staff(self.store, name, display_name=display_name)

    def staff_passwd(self, credential: NewCredential, name: str | None = None) -> str:
        """Replace a key slot: one's own, or anyone's for an admin; returns whose it was."""
        who = name or self.store.staff.name
        if who != self.store.staff.name:
            self.store.require("staff", action="staff.passwd")
        store_admin.change_credential(self.store, _made(credential), who)
        return who

    def staff_remove(self, name: str, *, progress: Progress | None = None) -> dict:
        """Remove a staff member and rotate every key (admin); returns the new generation and records re-encrypted."""
        self.store.require("staff", action="staff.remove")
        return store_admin.remove_staff(self.store, name, progress=progress)

    def rotate_key(self, *, progress: Progress | None = None) -> dict:
        """Rotate every key and re-encrypt every record, or resume an interrupted rotation (admin)."""
        self.store.require("staff", action="staff.rotate-key")
        return store_admin.rotate_master_key(self.store, progress=progress)

    # -- the audit log ----------------------------------------------------------------------

    def audit_log(self, limit: int | None = None) -> list[dict]:
        """The last ``limit`` audit entries, oldest first; all of them when ``limit`` is 0 or None (auditor or admin)."""
        self.store.require("audit", action="audit.log")
        return store_admin.audit_entries(self.store, limit or None)

    def audit_verify(self, head: str | None = None, *, deep: bool = False) -> AuditReport:
        """Recompute the audit chain, against a head saved earlier if given (auditor or admin)."""
        self.store.require("audit", action="audit.verify")
        return store_admin.verify_audit(self.store, head, deep=deep)

    def audit_head(self) -> str:
        """The chain's head as ``SEQ:MAC``, to keep outside the store (auditor or admin)."""
        self.store.require("audit", action="audit.head")
        return store_admin.audit_head(self.store)

    # -- the store without a session ---------------------------------------------------------
    # For commands that must not open a store first (it does not exist yet, or is
    # being replaced). The same as Center.create and Center.info, which the command
    # layer cannot import without a package cycle (app -> admin -> app).

    @staticmethod
    def create_store(path: str | os.PathLike, admin: str, credential: Credential, *, timezone_name: str = "Asia/Shanghai") -> Path:
        """Create a new store with its first admin; refuses to overwrite anything."""
        return create_store(path, admin, credential, timezone_name=timezone_name)

    @staticmethod
    def store_info(path: str | os.PathLike) -> dict:
        """Facts about a store that need no key and reveal no personal data."""
        return store_info(path)

    # -- backup and restore -----------------------------------------------------------------

    def backup(self, out: str | os.PathLike) -> Path:
        """Write an encrypted copy of the store to a new file (admin)."""
        self.store.require("backup", action="backup")
        return store_admin.backup(self.store, out)

    def restore(self, source: str | os.PathLike, credential: Credential, *, force: bool = False, reenable_removed: bool = False) -> dict:
        """Replace this store with a checked backup (admin); close the center afterwards and open it again."""
        self.store.require("backup", action="restore")
        return store_admin.restore(source, self.store.path, credential, self.store.staff.name, force=force, reenable_removed=reenable_removed)

    @staticmethod
    def upgrade_store(path: str | os.PathLike, credential: Credential, user: str | None) -> dict:
        """Upgrade a first-format store (one key for every role) to keys per role, as an admin; see :mod:`mhtool.store.upgrade`."""
        from mhtool.errors import UsageError
        from mhtool.store.upgrade import upgrade

        if not user:
            raise UsageError(_("which admin? pass --user NAME or set MHTOOL_USER"))
        return upgrade(path, credential, user)

    @staticmethod
    def restore_store(
        source: str | os.PathLike,
        target: str | os.PathLike,
        credential: Credential,
        user: str | None,
        *,
        force: bool = False,
        reenable_removed: bool = False,
    ) -> dict:
        """Restore the store at ``target`` from a backup without opening ``target``, which may be damaged or missing.

        The role is checked in the backup itself: ``credential`` must open it
        as a staff member allowed to restore. A backup that would give back
        access to staff removed from ``target`` since is refused unless
        ``reenable_removed``; the result's ``reenabled`` lists them.
        """
        return store_admin.restore(source, target, credential, user, force=force, reenable_removed=reenable_removed)

    # -- the store's policies ---------------------------------------------------------------

    def settings_show(self) -> dict:
        """The policies in force, defaults filled in (every role may read them; they hold no personal data)."""
        from mhtool.cases.usecases.service import cadence

        return {
            **self.center.governance.policy(),
            "cadence": cadence(self.store),
            "screening_policy": self.store.settings().get("screening_policy") or {},
            "timezone": self.store.tz,
            **{key: self.store.settings().get(key) for key in REPORT_SETTINGS},
            **signal_settings.show(self.store),
        }

    def settings_set(self, key: str, value) -> dict:
        """Change one governance policy, report or campus-signal setting (admin; audited); returns the settings of its kind now stored.

        Report settings: ``center_name`` (the unit printed at the head of every
        report page) and ``term_first_monday`` (YYYY-MM-DD, the Monday of the
        term's first teaching week, for 第N教学周); an empty value removes one.
        Campus-signal settings (多源预警): ``signal_fact_days`` (how long the daily
        facts are kept, default 140) and ``credits_required`` (credits needed to
        graduate, default 160); an empty value returns to the default.
        """
        if key in signal_settings.SETTINGS:
            self.store.require("staff", action="settings.signals")
            checked = signal_settings.check_setting(key, value)
            with self.store.write("settings.signals", details={"changes": {key: checked}}) as txn:
                self.store.update_settings(txn, {key: checked})
            return {k: v for k, v in signal_settings.show(self.store).items() if k in signal_settings.SETTINGS}
        if key in REPORT_SETTINGS:
            self.store.require("staff", action="settings.report")
            checked = _check_report_setting(key, value)
            with self.store.write("settings.report", details={"changes": {key: checked}}) as txn:
                self.store.update_settings(txn, {key: checked})
            return {k: self.store.setting(k) for k in REPORT_SETTINGS if self.store.setting(k) is not None} | {key: checked}
        self.store.require("staff", action="governance.policy")
        return self.center.governance.set_policy(**{key: value})

    def set_screening_policy(self, overrides: dict | None = None, *, file: str | os.PathLike | None = None) -> dict | None:
        """Replace the screening-policy overrides from a dict or a TOML/JSON file; neither resets to the default (admin; audited)."""
        from mhtool.survey.domain.scoring import ScreeningPolicy

        self.store.require("staff", action="settings.screening-policy")
        if file is not None:
            overrides = _read_policy_file(Path(file))
        checked = ScreeningPolicy(overrides).check().as_dict() if overrides is not None else None
        with self.store.write("settings.screening-policy", details={"policy": checked}) as txn:
            self.store.update_settings(txn, {"screening_policy": checked})
        return checked

    def set_signal_rules(self, file: str | os.PathLike | None = None) -> list[dict]:
        """Replace the store's override of the campus-signal rules (多源预警) from a TOML file; None resets to the built-in rules (admin; audited).

        The file has the shape of the built-in ``rules.toml``; only the keys it
        gives replace the built-in values. It is checked completely before it is
        saved (a mistake names the file, the rule and the key, exit 3); new
        imports use it. Returns the rules now in force.
        """
        from mhtool.signals.domain.rules import read_override, rules_in_force

        self.store.require("staff", action="settings.signal-rules")
        override = read_override(Path(file)) if file is not None else None
        with self.store.write("settings.signal-rules", details={"rules": sorted(override) if override else None}) as txn:
            self.store.update_settings(txn, {signal_settings.RULES_KEY: override or None})
        return rules_in_force(override).as_list()


# Settings of the reports (see Admin.settings_set); the governance policies are checked by governance.
REPORT_SETTINGS: tuple[str, ...] = ("center_name", "term_first_monday")
CENTER_NAME_MAX = 60
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday"))


def _check_report_setting(key: str, value) -> str | None:
    """The value as stored, or None to remove the setting; a wrong value is refused with what to give."""
    text = " ".join(str(value if value is not None else "").split())
    if not text:
        return None
    if key == "center_name":
        if len(text) > CENTER_NAME_MAX:
            raise InvalidInput(
                _("center_name is {length} characters long; give the unit's name in at most {limit}").format(length=len(text), limit=CENTER_NAME_MAX)
            )
        return text
    try:
        monday = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            _("term_first_monday {value!r} is not a date").format(value=text),
            hint=_("give the Monday the term's first teaching week starts, as YYYY-MM-DD"),
        ) from None
    if monday.weekday() != 0:
        raise InvalidInput(
            _("term_first_monday {value} is a {weekday}, not a Monday").format(value=text, weekday=_(WEEKDAYS[monday.weekday()])),
            hint=_("the Monday of that week is {monday}").format(monday=(monday - timedelta(days=monday.weekday())).isoformat()),
        )
    return monday.isoformat()


def _read_policy_file(file: Path) -> dict:
    toml = file.suffix.lower() == ".toml"
    try:
        text = file.read_text("utf-8")
        return tomllib.loads(text) if toml else json.loads(text)
    except FileNotFoundError:
        raise InvalidInput(_("{file}: no such file").format(file=file)) from None
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(_("{file}: not valid {format} ({error})").format(file=file, format="TOML" if toml else "JSON", error=exc)) from None
