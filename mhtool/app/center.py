"""One signed-in staff member's view of the center: every operation, grouped by feature.

A :class:`Center` is opened with a store path, a credential and a staff name.
Its feature attributes (``survey``, ``cases``, ``referrals``, ``signals``,
``network``, ``counseling``, ``reports``, ``governance``, ``admin``) are the use cases: each
operation checks the caller's role and college scope, applies the domain rules,
writes one store transaction with its audit entry, and returns plain data. The command line,
the demo, the benchmarks and the tests all go through here, so a refusal on
the command line is the same refusal from Python.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from mhtool.domain import dates

if TYPE_CHECKING:
    from mhtool.app.gateway import ExportGateway
    from mhtool.admin.usecases.api import Admin
    from mhtool.cases.usecases.api import Cases
    from mhtool.counseling.usecases.api import Counseling
    from mhtool.governance.usecases.api import Governance
    from mhtool.network.usecases.api import Network
    from mhtool.referral.usecases.api import Referrals
    from mhtool.report.usecases.api import Reports
    from mhtool.signals.usecases.api import Signals
    from mhtool.store.core import StaffMember, Store
    from mhtool.survey.usecases.api import Survey


def credential_from_passphrase(passphrase: str, *, source: str = "the caller"):
    """A credential for a passphrase key slot."""
    from mhtool.store import crypto

    return crypto.Credential(passphrase=passphrase, source=source)


def credential_from_key_file(path: str | os.PathLike):
    """A credential for a key-file slot (for unattended jobs)."""
    from mhtool.store import crypto

    return crypto.Credential(key_material=crypto.read_key_file(Path(path)), source=str(path))


def _instruments(codes: set[str] | None) -> dict:
    """The instruments by code: ``codes`` alone when each is a built-in read from its own file, else all of them.

    A dossier names the one or two instruments its screening entries used;
    reading and checking all eight built-in definitions would cost more than
    the rest of ``cases show``. Built-in files are named by their code; a
    center's own folders (``MHTOOL_INSTRUMENTS``) may define or override any
    code in any file, so with them every instrument is loaded.
    """
    from mhtool.survey.domain import instruments
    from mhtool.survey.usecases import registry

    if codes is None or instruments.instrument_dirs_from_env():
        return registry.all_instruments()
    found = {}
    for code in codes:
        path = instruments.BUILTIN_DIR / f"{code}.toml"
        inst = instruments.load_definition(path) if path.is_file() else None
        if inst is None or inst.code != code:
            return registry.all_instruments()
        found[code] = inst
    return found


class Center:
    """The center's operations for one staff member, over one open store."""

    def __init__(self, store: Store):
        self.store = store

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike, credential, user: str | None = None, *, readonly: bool = False) -> Center:
        """Open the store at ``path`` as ``user`` (a key-file credential may leave ``user`` out)."""
        from mhtool.store.core import Store

        return cls(Store.open(path, credential, user, readonly=readonly))

    @staticmethod
    def create(path: str | os.PathLike, admin: str, credential, *, timezone_name: str = "Asia/Shanghai") -> Path:
        """Create a new store with its first admin; refuses to overwrite anything."""
        from mhtool.store.core import create_store

        return create_store(path, admin, credential, timezone_name=timezone_name)

    @staticmethod
    def info(path: str | os.PathLike) -> dict:
        """Facts about a store that need no key and reveal no personal data."""
        from mhtool.store.core import store_info

        return store_info(path)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Center:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def tampering(self) -> list[str]:
        """Changes to the staff directory or key slots made outside mhtool, found when the store was opened (empty normally)."""
        return list(self.store.tampering)

    # -- who and when -----------------------------------------------------------------------

    @property
    def staff(self) -> StaffMember:
        return self.store.staff

    @property
    def timezone(self) -> str:
        """The store's time zone (Asia/Shanghai unless the store says otherwise): the clock every moment is shown on."""
        return self.store.tz

    def staff_names(self) -> dict[str, str]:
        """Each staff login → the name people read (张华): what views show; JSON and the records keep the login."""
        return self.store.staff_rows.display_names()

    def today(self) -> date:
        """Today in the store's time zone (Asia/Shanghai unless the store says otherwise)."""
        return dates.today(self.store.tz)

    def instrument_names(self, codes: Iterable[str] | None = None) -> dict[str, dict]:
        """What people read for each instrument's codes (SCL-90, 阳性, a critical item's wording), by instrument code.

        The dossier shows screening results but sits below the screening
        feature, so the center, which composes both, hands these words down.
        ``codes``: only these instruments (those a dossier's screening entries
        name); every instrument when None. Empty when the instrument folders
        cannot be read: codes still show.
        """
        from mhtool.errors import MhtoolError

        wanted = None if codes is None else set(codes)
        if wanted is not None and not wanted:
            return {}  # nothing to name: no instrument file is read
        try:
            return {code: inst.names() for code, inst in _instruments(wanted).items()}
        except MhtoolError:
            return {}

    def erased_pseudonym(self, student_no: str) -> str | None:
        """The pseudonym an erased student's placeholder carries for ``student_no``; None when no student was ever erased.

        Erasure leaves no lookup by number, only the stable research pseudonym,
        which governance defines and keys. The dossier sits below governance, so
        the center, which composes both, hands it down: that is how ``cases
        show`` can say a dossier was erased (and when, by whom, why).
        """
        from mhtool.governance.domain.research import pseudonym
        from mhtool.governance.usecases.exports import STABLE_KEY

        sealed = self.store.sealed_values.get(STABLE_KEY)
        return pseudonym(bytes.fromhex(sealed["secret"]), student_no) if sealed else None

    # -- the features -----------------------------------------------------------------------

    @cached_property
    def exports(self) -> ExportGateway:
        # Imported here: a command that shows data on the terminal writes no file.
        from mhtool.app.gateway import ExportGateway

        return ExportGateway(self.store)

    @cached_property
    def survey(self) -> Survey:
        from mhtool.survey.usecases.api import Survey

        return Survey(self)

    @cached_property
    def cases(self) -> Cases:
        from mhtool.cases.usecases.api import Cases

        return Cases(self)

    @cached_property
    def referrals(self) -> Referrals:
        from mhtool.referral.usecases.api import Referrals

        return Referrals(self)

    @cached_property
    def network(self) -> Network:
        from mhtool.network.usecases.api import Network

        return Network(self)

    @cached_property
    def counseling(self) -> Counseling:
        from mhtool.counseling.usecases.api import Counseling

        return Counseling(self)

    @cached_property
    def reports(self) -> Reports:
        from mhtool.report.usecases.api import Reports

        return Reports(self)

    @cached_property
    def signals(self) -> Signals:
        from mhtool.signals.usecases.api import Signals

        return Signals(self)

    @cached_property
    def governance(self) -> Governance:
        from mhtool.governance.usecases.api import Governance

        return Governance(self)

    @cached_property
    def admin(self) -> Admin:
        from mhtool.admin.usecases.api import Admin

        return Admin(self)
