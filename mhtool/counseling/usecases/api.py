"""``center.counseling``: 个体咨询与团体辅导, one method per ``mhtool counseling`` command.

Every method checks the caller's role and college scope first, and writes at
most one transaction with its audit entry, or audits the read before it
returns personal data. The desk (slots, bookings, agenda, groups,
activities) needs ``counseling`` (admin, counselor, clerk); a session's
content and a case conference need ``record`` and are sealed under the
clinical key, so a clerk sees that a session took place (date, counselor)
and never what it holds. Values come in plain, as typed on the command line
(``"2026-11-23 14:00"``, ``"面询"``, ``"高"``) or as Python values.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from mhtool.counseling.usecases import desk, groups, sessions

if TYPE_CHECKING:
    from mhtool.app.center import Center

NoDossier = sessions.NoDossier


class Counseling:
    """The counseling center's desk and records for one signed-in staff member."""

    def __init__(self, center: Center):
        self.center = center
        self.store = center.store

    # -- the desk --------------------------------------------------------------------------------

    def set_slots(self, counselor: str, slots: list[str]) -> dict:
        """Replace a counselor's weekly slots (``["周一 09:00-12:00", …]``; empty clears them); within 08:00–21:00."""
        return desk.set_slots(self.store, counselor, list(slots))

    def slots(self, counselor: str | None = None) -> list[dict]:
        """Every counselor's weekly slots, or one counselor's."""
        return desk.list_slots(self.store, counselor)

    def book(self, student_no: str, *, at, counselor: str | None, minutes=None, mode: str | None = None) -> dict:
        """Book a student with a counselor at ``at`` inside one of their slots; a reminder task goes to the counselor.

        A booking that overlaps one of the counselor's or the student's is
        refused (exit 2) naming it; nothing is written.
        """
        return desk.book(self.store, student_no, at=at, counselor_name=counselor, minutes=minutes, mode=mode, today=self.center.today())

    def cancel(self, appointment: str, *, reason: str | None = None) -> dict:
        """Cancel a booking (its id or first 4+ characters); its reminder task is closed."""
        return desk.close_appointment(self.store, appointment, "cancelled", reason=reason, today=self.center.today())

    def no_show(self, appointment: str) -> dict:
        """Mark a booking of today or earlier as a no-show (爽约); its reminder task is closed."""
        return desk.close_appointment(self.store, appointment, "no_show", today=self.center.today())

    def agenda(self, day: date | None = None, *, counselor: str | None = None) -> list[dict]:
        """The day's bookings (default today), every counselor's or one's, in time order; audited."""
        return desk.agenda(self.store, day or self.center.today(), counselor_name=counselor)

    # -- records ---------------------------------------------------------------------------------

    def session(self, student_no: str, *, create_from_roster: str | Path | None = None, **values) -> dict:
        """Record a session (个体咨询): ``concern`` and ``risk`` are required; ``close`` ends the series with an outcome.

        Other values: ``counselor`` (default the caller), ``mode``, ``minutes``,
        ``concern_text``, ``next_step``, ``on``, ``at``, ``appointment``,
        ``walk_in``, ``outcome_text``. A student with no dossier raises
        :class:`NoDossier` unless ``create_from_roster`` names the school roster.
        """
        return sessions.record_session(self.store, student_no, today=self.center.today(), create_from_roster=create_from_roster, **values)

    def sessions(self, student_no: str | None = None, *, start: date | None = None, end: date | None = None, counselor: str | None = None) -> list[dict]:
        """Sessions of a student or a period; their content only for the clinical key; audited."""
        return sessions.list_sessions(self.store, student_no, start=start, end=end, counselor=counselor, today=self.center.today())

    def conference(self, student_nos: list[str], **values) -> dict:
        """Record a 案例研讨 or 督导 (``kind``, ``decision``, ``participants``, ``owner``, ``due``, ``on``, ``notes``) on each student's timeline."""
        return sessions.conference(self.store, list(student_nos), today=self.center.today(), **values)

    # -- groups and activities -------------------------------------------------------------------

    def add_group(self, name: str, *, leaders: list[str], theme: str | None = None, college: str | None = None, meetings: int | None = None) -> dict:
        return groups.add_group(self.store, name, leaders=list(leaders), theme=theme, college=college, meetings=meetings)

    def group_members(self, group: str, *, add: list[str] = (), remove: list[str] = (), on: date | str | None = None) -> dict:
        return groups.change_members(self.store, group, add=list(add), remove=list(remove), on=on, today=self.center.today())

    def group_meeting(self, group: str, **values) -> dict:
        """Record a meeting (``on``, ``present`` or ``absent``, ``minutes``, ``topic``) with its attendance."""
        return groups.record_meeting(self.store, group, today=self.center.today(), **values)

    def groups(self) -> list[dict]:
        return groups.list_groups(self.store)

    def group(self, group: str) -> dict:
        return groups.show_group(self.store, group)

    def add_activity(self, **values) -> dict:
        """Record an activity (``kind``, ``title``, ``on``, ``audience``, ``count``, ``college``, ``organizer``)."""
        return groups.add_activity(self.store, today=self.center.today(), **values)

    def activities(self, *, start: date | None = None, end: date | None = None) -> list[dict]:
        return groups.list_activities(self.store, start=start, end=end, today=self.center.today())
