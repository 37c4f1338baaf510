"""``center.signals``: 多源预警, one method per ``mhtool signals`` command.

Every method checks the caller's role (``signals``: counselor or admin) and
college scope first, and writes at most one transaction with its audit entry,
or audits the read before it returns personal data. Values come in plain: text
as typed on the command line (``"2026-11-23"``, ``"排除"``) or Python values.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from mhtool.errors import NotFound
from mhtool.signals.usecases import importer, radar
from mhtool.signals.usecases import settings as signal_settings

if TYPE_CHECKING:
    from mhtool.app.center import Center


class Signals:
    """Campus signals for one signed-in staff member."""

    def __init__(self, center: Center):
        self.center = center
        self.store = center.store

    def import_file(
        self,
        path: str | Path,
        source: str,
        *,
        profile: str = "auto",
        mapping: str | Path | None = None,
        as_of: date | str | None = None,
        dry_run: bool = False,
        purpose: str | None = None,
        progress=None,
    ) -> dict:
        """Import a 门禁 (``dorm``), 一卡通 (``card``) or 教务 (``academic``) export, evaluate the rules, raise signals.

        ``mapping``: a table of 学号 and 卡号 for files that name people by card
        number. ``as_of``: evaluate as of this day instead of the last day the
        stored data covers. Returns the summary (counts, period, the column
        mapping, the signals raised or extended); the same file again returns
        ``already_imported`` and writes nothing.
        """
        return importer.import_file(
            self.store, self.center.exports, path, source, today=self.center.today(), profile=profile, mapping=mapping,
            as_of=as_of, dry_run=dry_run, purpose=purpose, progress=progress,
        )  # fmt: skip

    def list(self, *, college: str | None = None, rule: str | None = None, source: str | None = None) -> list[dict]:
        """The radar: students with open signals, most distinct sources first, then the latest hit, then the watch level; audited."""
        return radar.radar(self.store, college=college, rule=rule, source=source)

    def review(self, signal_or_student: str, outcome: str | None, reason: str | None, *, on: date | str | None = None) -> dict:
        """Close a signal (its id or first 4+ characters), or every open signal of a student, as ``watch``, ``noted`` or ``dismissed``.

        The 研判 tasks are marked done; the watch level does not change. Audited.
        """
        return radar.review(self.store, signal_or_student, outcome, reason, on=on, today=self.center.today())

    def for_student(self, student: str | dict, *, audit: bool = True) -> list[dict]:
        """Every signal of one student (a student record, id or number), oldest first; ``[]`` for a role that may not read signals."""
        store = self.store
        if isinstance(student, dict):
            record = student
        else:
            record = None
            try:
                record = store.students.get(student)
            except NotFound:  # not a record id: a student number
                record = store.students.find(student)
            if record is None:
                return []
        return radar.for_student(store, record, audit=audit)

    def rules(self) -> list[dict]:
        """The rules in force: the built-in ones with the store's override (no personal data; every role may read them)."""
        return radar.rules_table(self.store)

    def settings(self) -> dict:
        """``signal_fact_days``, ``credits_required`` and the store's rules override, defaults filled in."""
        return signal_settings.show(self.store)
