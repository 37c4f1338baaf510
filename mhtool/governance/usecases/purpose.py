"""The purpose of identifiable exports, and governance settings.

**Purpose.** Every export of identifiable data (a dossier export, a report
without ``--redact``, a referral record) can be made to state why it is made.
The store's setting ``purpose_required_roles`` (default ``["clerk"]``) names
the roles that must give ``--purpose``; the purpose then goes into the
export's audit entry. Research exports always need a purpose, whatever the
role (:mod:`mhtool.governance.usecases.exports`).

**Settings** (sealed, like every other store setting): ``purpose_required_roles``,
``retention_years`` (default 5) and ``research_min_cell`` (default 5).
"""

from __future__ import annotations

from mhtool.errors import InvalidInput, UsageError
from mhtool.i18n import _

DEFAULT_PURPOSE_ROLES = ("clerk",)
MAX_PURPOSE_CHARS = 500

POLICY_KEYS = ("purpose_required_roles", "retention_years", "research_min_cell")


def clean_purpose(purpose: str | None) -> str:
    """The purpose as it will be recorded: whitespace folded, empty when nothing was said."""
    text = " ".join((purpose or "").split())
    if len(text) > MAX_PURPOSE_CHARS:
        raise UsageError(_("--purpose is {length} characters long; say it in at most {limit}").format(length=len(text), limit=MAX_PURPOSE_CHARS))
    return text


def purpose_roles(store) -> tuple[str, ...]:
    configured = store.setting("purpose_required_roles", None)
    if configured is None:
        return DEFAULT_PURPOSE_ROLES
    if not isinstance(configured, (list, tuple)):
        # A damaged setting must not switch the requirement off.
        return DEFAULT_PURPOSE_ROLES
    return tuple(str(role) for role in configured)


def purpose_required(store) -> bool:
    """Whether the store's policy asks this staff member for a purpose on identifiable exports."""
    return store.staff.role in purpose_roles(store)


def require_purpose(store, purpose: str | None, *, what: str, identifiable: bool = True) -> dict:
    """Check ``--purpose`` against the store's policy; return what to merge into the audit ``details``.

    ``what`` names the export in the message, in the reader's language (e.g. ``_("a dossier export")``).
    ``identifiable=False`` (a redacted report) never needs a purpose, but one
    given is still recorded. Returns ``{"purpose": text}`` or ``{}``.
    """
    text = clean_purpose(purpose)
    if text:
        return {"purpose": text}
    standing = clean_purpose(getattr(store.staff, "standing_purpose", ""))
    if standing:
        return {"purpose": standing, "purpose_source": "standing"}
    if identifiable and purpose_required(store):
        raise UsageError(
            _("{what} contains identifiable data; the store's policy asks a {role} to give --purpose").format(what=what, role=store.staff.role),
            hint=_('say why it is made and for whom, e.g. --purpose "学院心理工作例会，交辅导员跟进"'),
        )
    return {}


# -- settings -----------------------------------------------------------------------------------


def _check_policy(key: str, value):
    from mhtool.store.access import ROLES

    if key == "purpose_required_roles":
        roles = [str(r).strip() for r in (value or []) if str(r).strip()]
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise UsageError(
                _("purpose_required_roles: {roles} is not a role").format(roles=", ".join(unknown)), hint=_("roles are {roles}").format(roles=", ".join(ROLES))
            )
        return sorted(set(roles), key=ROLES.index)
    if key == "retention_years":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 50:
            raise InvalidInput(_("retention_years {value!r}: give a whole number of years from 1 to 50").format(value=value))
        return value
    if key == "research_min_cell":
        if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 1000:
            raise InvalidInput(_("research_min_cell {value!r}: give a whole number from 2 to 1000").format(value=value))
        return value
    raise UsageError(_("{key!r} is not a governance setting").format(key=key), hint=_("one of {keys}").format(keys=", ".join(POLICY_KEYS)))


def set_policy(store, **changes) -> dict:
    """Change governance settings (admin only); the change is audited. Returns the new values."""
    store.require("staff", action="governance.policy")
    checked = {key: _check_policy(key, value) for key, value in changes.items()}
    with store.write("governance.policy", details={"changes": checked}) as txn:
        store.update_settings(txn, checked)
    return {key: store.setting(key) for key in POLICY_KEYS if store.setting(key) is not None}
