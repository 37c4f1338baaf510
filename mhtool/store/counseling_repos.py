"""Repositories of 个体咨询与团体辅导: appointments, groups, activities, and the session entries of a period.

Sessions and case conferences are timeline entries (``entries``, kinds
``session`` and ``conference``), sealed in two parts like every entry: what
a clerk may know of them in ``data``, their content in ``clin`` under the
clinical key (:mod:`mhtool.domain.sensitivity`). The tables here hold no
content: bookings, group rosters and attendance, and activities, all under
the roster key.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from mhtool.store.repos import Entry, Record, _PerStudent, _Repository

if TYPE_CHECKING:
    from mhtool.store.core import Store, Txn

# The named sealed value (roster key) that holds every counselor's weekly slots.
SLOTS_KEY = "counseling_slots"


class Appointment(Record):
    DEFAULTS: ClassVar[dict] = {"status": "booked", "mode": "in_person"}


class CounselingGroup(Record):
    DEFAULTS: ClassVar[dict] = {"members": [], "meetings": [], "leaders": [], "college": "", "status": "open"}


class Activity(Record):
    DEFAULTS: ClassVar[dict] = {"college": ""}


class Appointments(_PerStudent):
    """Bookings (预约): one row per appointment of one student with one counselor.

    ``on_date`` is plain, so a day's agenda opens only that day's rows;
    ``data`` (roster key): counselor, at (``HH:MM``), minutes, mode, status
    (``booked``, ``attended``, ``cancelled``, ``no_show``), who booked it and
    when, its reminder task, the session entry that attended it, and who
    cancelled it or marked the no-show. Erased with the student.
    """

    table = "appointments"
    record = Appointment
    _date_column = "on_date"
    _order = "on_date, rowid"

    def on_day(self, day: date) -> list[Appointment]:
        return self._rows("on_date = ?", (day.isoformat(),), order="on_date, rowid")

    def between(self, start: date, end: date) -> list[Appointment]:
        """Appointments from ``start`` to ``end`` (both included), in date order."""
        return self._rows("on_date BETWEEN ? AND ?", (start.isoformat(), end.isoformat()), order="on_date, rowid")

    def add(self, txn: Txn, student_id: str, on: date, data: dict, *, record_id: str | None = None) -> str:
        """A new booking; ``record_id`` when its reminder task must name it before it is written."""
        return self._insert(txn, data, {"student_id": student_id, "on_date": on.isoformat()}, record_id=record_id)

    def save(self, txn: Txn, appointment: dict) -> None:
        self._update(txn, appointment["id"], self.sealed(appointment))


class CounselingGroups(_Repository):
    """团体辅导 groups, one row each, sealed as a whole under the roster key.

    ``data``: name, theme, leaders (staff login names), college ("" for the
    whole center), planned meetings, status, members (``{student_id,
    joined_on, left_on}``) and meetings (``{no, date, minutes, topic,
    present: [student ids], recorded_by}``). A group holds no clinical
    content: what members said stays in no record.
    """

    table = "counseling_groups"
    record = CounselingGroup

    def add(self, txn: Txn, data: dict) -> str:
        return self._insert(txn, data)

    def save(self, txn: Txn, group: dict) -> None:
        self._update(txn, group["id"], self.sealed(group))

    def delete_for_student(self, txn: Txn, student_id: str) -> int:
        """Erasure: take the student out of every group's members and attendance; returns how many groups changed.

        The group's counts of earlier meetings go down with it: an erased
        student leaves no trace, not even as a number in a roster.
        """
        changed = 0
        for group in self._rows():
            members = [m for m in group["members"] if m.get("student_id") != student_id]
            meetings = [{**m, "present": [s for s in m.get("present") or [] if s != student_id]} for m in group["meetings"]]
            if members != group["members"] or meetings != group["meetings"]:
                self._update(txn, group["id"], {**self.sealed(group), "members": members, "meetings": meetings}, audit=False)
                changed += 1
        return changed


class Activities(_Repository):
    """心理健康活动: 讲座, 5·25 心理健康月 events, 主题班会 …; ``on_date`` plain, the rest (roster key) names no student."""

    table = "activities"
    record = Activity
    _order = "on_date, rowid"

    def between(self, start: date, end: date) -> list[Activity]:
        return self._rows("on_date BETWEEN ? AND ?", (start.isoformat(), end.isoformat()), order="on_date, rowid")

    def add(self, txn: Txn, on: date, data: dict) -> str:
        return self._insert(txn, data, {"on_date": on.isoformat()})


def entries_between(store: Store, start: date, end: date, *, clinical: bool = True, kinds: Iterable[str] | None = None) -> list[Entry]:
    """The timeline entries dated from ``start`` to ``end`` (of ``kinds``), oldest first.

    An entry's kind is sealed, so every entry of the period is opened, but
    only its administrative part; with ``clinical``, the clinical parts of the
    entries kept are opened afterwards (a report's concern counts need the
    sessions', not every interview's).
    """
    rows = store._select("entries", "on_date BETWEEN ? AND ?", (start.isoformat(), end.isoformat()), "on_date, rowid", clinical=False)
    wanted = set(kinds) if kinds is not None else None
    kept = [r for r in rows if wanted is None or r.get("kind") in wanted]
    if clinical and kept:
        whole: dict[str, dict] = {}
        ids = [r["id"] for r in kept]
        for at in range(0, len(ids), 500):
            chunk = ids[at : at + 500]
            for r in store._select("entries", f"id IN ({','.join('?' for _ in chunk)})", chunk, clinical=True):
                whole[r["id"]] = r
        kept = [whole.get(r["id"], r) for r in kept]
    return [Entry(r) for r in kept]


# What erasing a student also removes here (with :data:`mhtool.store.repos.STUDENT_TABLES`): their
# appointments, and their place in every group's members and attendance.
ERASED_WITH_STUDENT: tuple[type, ...] = (Appointments, CounselingGroups)
