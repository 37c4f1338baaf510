"""Dossier services: the store-facing half of 一人一档, for the use cases of every feature.

Import, referral and report use cases call these rather than handling the
students, entries, tasks and watches themselves.

Functions that take an open :class:`~mhtool.store.core.Txn` write inside the
caller's transaction and check nothing: the use case that opened the
transaction has already checked the caller's role (``store.require``) and
the student's college (``store.require_college`` or :func:`load_student`),
so one command stays one atomic change with one audit entry.
:func:`record_effects` opens its own transaction and checks for itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from mhtool.cases.domain import model
from mhtool.domain import dates
from mhtool.domain.vocabulary import LEVEL_RANK, ROSTER_FIELDS
from mhtool.errors import ConflictError, InvalidInput, NotFound, Problem
from mhtool.i18n import _


def today(store) -> date:
    return dates.today(store.tz)


def _now() -> str:
    # An import stamps tens of thousands of records within a few seconds: each second is written once.
    second = int(time.time())
    if second != _last[0]:
        _last[:] = [second, datetime.fromtimestamp(second, timezone.utc).isoformat()]
    return _last[1]


_last: list = [None, ""]


now_text = _now  # when an entry is recorded, as its ``recorded_at`` says


def new_student_record(student_no: str, fields: dict, *, source: str) -> dict:
    record = {
        "student_no": student_no,
        **{f: (fields.get(f) or "") for f in ROSTER_FIELDS},
        "guardians": list(fields.get("guardians") or []),
        "groups": list(fields.get("groups") or []),
        "tags": list(fields.get("tags") or []),
        "status": fields.get("status") or "enrolled",
        "level": "none",
        "level_since": None,
        "level_reason": None,
        "counselor": fields.get("counselor") or "",
        "created_at": _now(),
        "updated_at": _now(),
        "source": source,
    }
    return record


# -- students ---------------------------------------------------------------------------------


def students_by_number(store, numbers: Iterable[str]) -> dict[str, dict]:
    """Existing student records keyed by student number."""
    return store.students.by_numbers(numbers)


@dataclass
class UpsertResult:
    ids: dict[str, str] = field(default_factory=dict)  # student_no -> record id
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: list[Problem] = field(default_factory=list)


def upsert_students(
    txn, rows: list[dict], *, source: str, existing: dict[str, dict] | None = None, read_version: int | None = None
) -> UpsertResult:
    """Create or update dossiers from roster rows ({"student_no", roster fields…}) in the caller's checked transaction.

    A stored student whose name differs from the row's is a conflict: reported,
    never overwritten. Empty cells never erase stored values. ``existing`` (as
    read at ``read_version``, see :meth:`Store.data_version`) saves a second
    read; it is read again under the write lock if another command committed
    since, so no concurrent change is overwritten.
    """
    store = txn.store
    if existing is None or read_version is None or store.data_version() != read_version:
        existing = students_by_number(store, [r["student_no"] for r in rows])
    result = UpsertResult()
    for row in rows:
        no = row["student_no"]
        current = existing.get(no)
        if current is None:
            record = new_student_record(no, row, source=source)
            rid = store.students.add(txn, no, record, audit=False)
            existing[no] = {**record, "id": rid}
            result.ids[no] = rid
            result.created += 1
            continue
        result.ids[no] = current["id"]
        if model.name_conflict(current, row.get("name")):
            result.conflicts.append(
                Problem(
                    _(
                        "student {student_no} is stored as {stored_name!r} but this row says {row_name!r}; "
                        "fix the file or correct the dossier with `mhtool cases edit`"
                    ).format(student_no=no, stored_name=current["name"], row_name=row.get("name")),
                    row=row.get("_row"),
                    column="姓名",
                )
            )
            continue
        changes = {f: row[f] for f in ROSTER_FIELDS if row.get(f) and row.get(f) != current.get(f)}
        if row.get("guardians") and row["guardians"] != current.get("guardians"):
            changes["guardians"] = row["guardians"]
        if not changes:
            result.unchanged += 1
            continue
        store.students.save(txn, {**current, **changes, "updated_at": _now()}, audit=False)
        existing[no] = {**current, **changes}
        result.updated += 1
    txn.details.setdefault("students_created", 0)
    txn.details["students_created"] += result.created
    txn.details.setdefault("students_updated", 0)
    txn.details["students_updated"] += result.updated
    return result


def load_student(store, student_no: str, *, action: str) -> dict:
    """The student with this number, checked against the staff member's college scope."""
    record = store.students.find(student_no)
    if record is None and not store.staff.scoped():
        raise NotFound(
            _("no student with number {student_no!r}").format(student_no=student_no),
            hint=_("search by name or part of the number with `mhtool cases find TEXT`"),
        )
    # A scoped member hears the same about another college's number and a number nobody has.
    return store.require_student(record, student_no, action=action)


def reread(txn, student: dict, *, action: str) -> dict:
    """The student as stored now, read inside the write transaction: what a change must be built on.

    A record read before ``BEGIN IMMEDIATE`` can be changed by another command
    before this one gets the write lock; building on it would silently undo
    that change (a lost update).
    """
    current = txn.store.students.get(student["id"])
    txn.store.require_college(current.get("college"), action=action, targets=[f"students/{current['id']}"])
    return current


def save_student(txn, record: dict) -> None:
    txn.store.students.save(txn, {**record, "updated_at": _now()})


def create_student(txn, student_no: str, fields: dict, *, source: str = "manual") -> dict:
    """A new dossier typed in by hand. Refuses a number that already exists."""
    store = txn.store
    student_no = (student_no or "").strip()
    if not student_no:
        raise InvalidInput(_("the student number is empty"))
    if store.students.find(student_no) is not None:
        raise ConflictError(
            _("student {student_no} already has a dossier").format(student_no=student_no),
            hint=_("change it with `mhtool cases edit {student_no}`").format(student_no=student_no),
        )
    record = new_student_record(student_no, fields, source=source)
    rid = store.students.add(txn, student_no, record)
    return {**record, "id": rid}


# -- timeline entries -------------------------------------------------------------------------


def add_entry(txn, student_id: str, kind: str, fields: dict, on: date, *, corrects: str | None = None) -> str:
    data = {
        "kind": kind,
        "date": on.isoformat(),
        "author": txn.store.staff.name,
        "recorded_at": _now(),
        "fields": fields,
    }
    if corrects:
        data["corrects"] = corrects
    return txn.store.entries.add(txn, student_id, on, data)


def entries_for(store, student_id: str) -> list[dict]:
    return store.entries.for_student(student_id)


def entry_of_student(store, student: dict, prefix: str) -> dict:
    """The entry with this id (or id prefix), which must belong to ``student``."""
    entry = store.entries.get(store.entries.resolve(prefix, "entry"))
    if entry["student_id"] != student["id"]:
        raise NotFound(_("entry {entry} is not in the dossier of {student_no}").format(entry=prefix, student_no=student["student_no"]))
    return entry


def responses_for(store, student_id: str) -> list[dict]:
    return store.responses.for_student(student_id)


# -- tasks ------------------------------------------------------------------------------------


def open_task(txn, student_id: str, kind: str, due: date, **data) -> str:
    return txn.store.tasks.add(txn, student_id, kind, due, {"created_by": txn.store.staff.name, "created_at": _now(), **data})


def open_tasks(store, student_id: str | None = None) -> list[dict]:
    return store.tasks.open(student_id)


def finish_tasks(
    txn,
    student_id: str,
    kinds: Iterable[str],
    on: date,
    *,
    entry_id: str | None = None,
    cancelled: bool = False,
    reason: str = "",
    due_by: dict[str, date] | None = None,
) -> int:
    """Mark the student's open tasks of these kinds done (or cancelled).

    ``due_by`` limits some kinds to tasks due on or before a date.
    """
    kinds = set(kinds)
    due_by = due_by or {}
    if not kinds:
        return 0
    n = 0
    for task in txn.store.tasks.open(student_id):
        if task["kind"] not in kinds:
            continue
        limit = due_by.get(task["kind"])
        if limit is not None and task["due_on"] > limit.isoformat():
            continue
        changes = {"done_by": txn.store.staff.name, "done_entry": entry_id}
        if cancelled:
            changes.update(cancelled=True, cancel_reason=reason)
        txn.store.tasks.finish(txn, task, on, changes)
        n += 1
    return n


def open_interview_tasks(store) -> dict[str, dict]:
    """Every student's open interview task, for bulk scheduling without one query per student."""
    return {t["student_id"]: t for t in store.tasks.open() if t.get("kind") == "interview"}


def schedule_screening_interview(txn, student_id: str, proposed_level: str | None, on: date, *, open_interviews: dict | None = None, **data) -> str | None:
    """Open the interview task a screening proposal asks for, unless one is already open.

    One open interview task per student: an open task whose due date is later
    than the new one's is brought forward (a red proposal after a yellow one
    must not wait 14 days), and a higher proposal raises its level. Bulk
    callers pass ``open_interviews`` (see :func:`open_interview_tasks`), which
    is kept up to date.
    """
    task = model.interview_task(proposed_level, on)
    if task is None:
        return None
    tasks = txn.store.tasks
    if open_interviews is None:
        candidates = [t for t in tasks.open(student_id) if t["kind"] == "interview"]
    else:
        candidates = [open_interviews[student_id]] if student_id in open_interviews else []
    due = task["due"].isoformat()
    for existing in candidates:
        higher = LEVEL_RANK[proposed_level] > LEVEL_RANK.get(existing.get("proposed_level") or "none", 0)
        if existing["due_on"] > due or higher:
            payload = tasks.sealed(existing)
            if higher:
                payload.update(proposed_level=proposed_level, **data)
            if existing["due_on"] > due:
                payload["brought_forward_from"] = existing["due_on"]
            new_due = min(existing["due_on"], due)
            tasks.reschedule(txn, existing, new_due, payload, audit=False)
            existing.update(payload, due_on=new_due)
        return existing["id"]
    task_id = open_task(txn, student_id, "interview", task["due"], proposed_level=proposed_level, **data)
    if open_interviews is not None:
        open_interviews[student_id] = {"id": task_id, "student_id": student_id, "kind": "interview", "due_on": due, "done_on": None,
                                       "proposed_level": proposed_level, **data}
    return task_id


# -- watch episodes ---------------------------------------------------------------------------


def open_watch(txn, student_id: str, level: str, on: date, reason: str) -> str:
    return txn.store.watches.open(txn, student_id, on, {"level": level, "opened_by": txn.store.staff.name, "reason": reason})


def close_open_watches(txn, student_id: str, on: date, reason: str) -> None:
    for watch in txn.store.watches.open_for(student_id):
        txn.store.watches.close(txn, watch, on, {"closed_by": txn.store.staff.name, "close_reason": reason})


# -- applying domain effects ------------------------------------------------------------------


def apply_effects(txn, student: dict, effects: model.Effects, on: date, *, corrects: str | None = None) -> list[str]:
    """Write what a recorded event implies: entries, level/status, watch episode, tasks."""
    sid = student["id"]
    entry_ids = [add_entry(txn, sid, kind, fields, on, corrects=corrects if i == 0 else None) for i, (kind, fields) in enumerate(effects.entries)]
    first = entry_ids[0] if entry_ids else None
    if effects.student != student:
        save_student(txn, {**effects.student, "id": sid})
    if effects.complete_task_kinds:
        finish_tasks(txn, sid, effects.complete_task_kinds, on, entry_id=first, due_by=effects.complete_due_by)
    if effects.cancel_task_kinds:
        finish_tasks(txn, sid, effects.cancel_task_kinds, on, entry_id=first, cancelled=True, reason="superseded")
    if effects.close_watch:
        close_open_watches(txn, sid, on, effects.student.get("level_reason") or "")
    if effects.open_watch:
        open_watch(txn, sid, effects.student["level"], on, effects.student.get("level_reason") or "")
    for task in effects.new_tasks:
        data = {k: v for k, v in task.items() if k not in ("kind", "due")}
        open_task(txn, sid, task["kind"], task["due"], source_entry=first, **data)
    return entry_ids


class NeedsConfirmation(Exception):
    """A late entry would change the current level: the use case asks (outside the write transaction) or refuses."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


@dataclass
class Written:
    """What recording one event wrote."""

    entry_ids: list[str]
    effects: model.Effects
    late: bool = False
    history: model.LevelHistory | None = None  # the level history after it, when it bore on the level
    new_tasks: list[dict] = field(default_factory=list)  # every task it scheduled
    notices: list[str] = field(default_factory=list)  # what a late entry changed in the history
    warnings: list[str] = field(default_factory=list)  # what the timeline says against it (the same crisis twice)


def bears_on_level(effects: model.Effects) -> bool:
    return any(kind == "level_change" or (kind == "interview" and fields.get("confirmed_level")) for kind, fields in effects.entries)


def record_event(
    txn,
    student: dict,
    build,
    on: date,
    *,
    cadence: dict | None = None,
    check=None,
    yes: bool = False,
    confirmed: str | None = None,
) -> Written:
    """Record one event dated ``on`` in the caller's checked transaction, whatever order events are recorded in.

    ``build(basis)`` returns the event's effects, built on the student as they
    were on ``on``: for a late entry (补录: the timeline already holds a
    level-dependent entry dated later) that is the replayed level then, not
    the current one. Levels and watch episodes are then replayed from the
    whole timeline in date order (:func:`reconcile_levels`). A late entry that
    changes the *current* level raises :class:`NeedsConfirmation` unless
    ``yes`` or the text of the change was ``confirmed``. ``check(timeline,
    effects, on)`` refuses what the timeline does not allow, or returns warnings.
    """
    store = txn.store
    sid = student["id"]
    timeline = entries_for(store, sid)
    late = model.is_late(timeline, on)
    before = model.level_history(timeline) if late else None
    basis = student
    if late and before.steps:
        basis = model.as_of(student, model.level_history(timeline, until=on))
    effects = build(basis)
    warnings = list(check(timeline, effects, on) or ()) if check else []
    levelled = bears_on_level(effects)
    current = student.get("level") or "none"
    if late:
        model.late_effects(effects)
        # The header's level comes from the replayed history, below; the rest of the event's changes stay.
        effects.student = {**effects.student, **{k: student.get(k) for k in ("level", "level_since", "level_reason")}}
    if late and levelled:
        pending = timeline + [{"id": f"new:{i}", "kind": k, "date": on.isoformat(), "fields": f} for i, (k, f) in enumerate(effects.entries)]
        after = model.level_history(pending)
        if after.level != current:
            text = model.late_change_text(before, after, on)
            if not yes and confirmed != text:
                raise NeedsConfirmation(text)
    ids = apply_effects(txn, student, effects, on)
    written = Written(ids, effects, late=late, new_tasks=list(effects.new_tasks), warnings=warnings)
    if levelled:
        written.history = reconcile_levels(txn, sid)
    if late and written.history is not None:
        written.notices.append(model.history_text(written.history, on))
        if written.history.level != current:
            now = entries_for(store, sid)
            finish_tasks(txn, sid, ("follow_up",), on, entry_id=ids[0] if ids else None, cancelled=True, reason="superseded")
            for task in model.rescheduled(written.history.level, model.last_contact(now, on), cadence):
                data = {k: v for k, v in task.items() if k not in ("kind", "due")}
                open_task(txn, sid, task["kind"], task["due"], source_entry=ids[0] if ids else None, **data)
                written.new_tasks.append(task)
    return written


def reconcile_levels(txn, student_id: str) -> model.LevelHistory | None:
    """Make the dossier say what its level-bearing entries, replayed in date order, give; returns that history.

    Writes only the difference: a correction of each level_change entry whose
    ``from`` the replay contradicts, a level_change for a change no entry
    records yet, the header's level, since and reason, and the watch episodes.
    A timeline without level-bearing entries (a record older than them) is
    left as it is.
    """
    store = txn.store
    entries = entries_for(store, student_id)
    history = model.level_history(entries)
    if not history.steps:
        return None
    for repair in model.level_repairs(entries, history):
        add_entry(txn, student_id, "level_change", repair.fields, date.fromisoformat(repair.date), corrects=repair.corrects)
    current = store.students.get(student_id)
    header = {"level": history.level, "level_since": history.since, "level_reason": history.reason}
    if any((current.get(k) or None) != (v or None) for k, v in header.items()):
        save_student(txn, {**current, **header})
    who = store.staff.name
    for repair in model.watch_repairs(store.watches.for_student(student_id), history.episodes):
        ep = repair.episode
        if ep is None:
            store.watches.remove(txn, repair.watch)
            continue
        data = {"level": ep.level, "reason": ep.reason}
        if ep.closed_on is not None and (repair.watch is None or repair.watch.get("closed_on") != ep.closed_on):
            data.update(closed_by=who, close_reason="level history replayed in date order")
        if repair.watch is None:
            wid = store.watches.open(txn, student_id, date.fromisoformat(ep.opened_on), {**data, "opened_by": who})
            if ep.closed_on is not None:
                store.watches.reshape(txn, store.watches.get(wid), ep.opened_on, ep.closed_on, {})
        else:
            store.watches.reshape(txn, repair.watch, ep.opened_on, ep.closed_on, data)
    return history


def record_effects(store, action: str, student: dict, effects: model.Effects, on: date, *, corrects: str | None = None, details: dict | None = None) -> list[str]:
    """One recorded event as one transaction with its audit entry; returns the new entry ids.

    Checks, like every use case, that the caller may record entries and may
    see the student's college.
    """
    target = f"students/{student['id']}"
    store.require("record", action=action, targets=[target])
    store.require_college(student.get("college"), action=action, targets=[target])
    with store.write(action, targets=[target], details=details) as txn:
        return apply_effects(txn, student, effects, on, corrects=corrects)


def cadence(store) -> dict[str, int]:
    """The follow-up cadence (days per level): the store's setting over the default of ``rules``."""
    configured = store.setting("cadence") or {}
    return {**model.DEFAULT_CADENCE, **configured}
