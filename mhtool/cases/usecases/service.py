"""Dossier services: the store-facing half of 一人一档.

Import, referral and report code use these functions rather than touching the
``students``, ``entries``, ``tasks`` and ``watches`` tables themselves.
Every function that writes takes an open :class:`~mhtool.store.core.Txn`; the
caller owns the transaction, so one command is one atomic change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from mhtool.domain import dates
from mhtool.cases.domain import model
from mhtool.errors import ConflictError, InvalidInput, NotFound, Problem, UsageError

from mhtool.domain.vocabulary import ROSTER_FIELDS  # noqa: E402


def today(store) -> date:
    return dates.today(store.tz)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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
    """Existing student records keyed by student number (one query per 500 numbers)."""
    from mhtool.store.crypto import normalise_student_no

    numbers = list(dict.fromkeys(numbers))
    by_index: dict[bytes, str] = {}
    for no in numbers:
        for bi in store.blind_candidates(normalise_student_no(no)):
            by_index[bi] = no
    found: dict[str, dict] = {}
    keys = list(by_index)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ",".join("?" for _ in chunk)
        for record in store.select("students", f"student_no_bi IN ({marks})", chunk):
            found[by_index[record["student_no_bi"]]] = record
    return found


@dataclass
class UpsertResult:
    ids: dict[str, str] = field(default_factory=dict)  # student_no -> record id
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: list[Problem] = field(default_factory=list)


def name_conflict(existing: dict, incoming_name: str | None) -> bool:
    return bool(incoming_name) and bool(existing.get("name")) and existing["name"] != incoming_name


def upsert_students(txn, rows: list[dict], *, source: str, existing: dict[str, dict] | None = None) -> UpsertResult:
    """Create or update dossiers from roster rows ({"student_no", roster fields…}).

    A stored student whose name differs from the row's is a conflict: reported,
    never overwritten. Empty cells never erase stored values.
    """
    store = txn.store
    existing = students_by_number(store, [r["student_no"] for r in rows]) if existing is None else existing
    result = UpsertResult()
    for row in rows:
        no = row["student_no"]
        current = existing.get(no)
        if current is None:
            record = new_student_record(no, row, source=source)
            rid = txn.insert("students", record, columns={"student_no_bi": store.student_no_index(no)}, audit=False)
            existing[no] = {**record, "id": rid}
            result.ids[no] = rid
            result.created += 1
            continue
        result.ids[no] = current["id"]
        if name_conflict(current, row.get("name")):
            result.conflicts.append(
                Problem(
                    f"student {no} is stored as {current['name']!r} but this row says {row.get('name')!r}; "
                    "fix the file or correct the dossier with `mhtool cases edit`",
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
        record = txn.store.sealed_part("students", current)
        record.update(changes, updated_at=_now())
        txn.update("students", current["id"], record, audit=False)
        existing[no] = {**current, **changes}
        result.updated += 1
    txn.details.setdefault("students_created", 0)
    txn.details["students_created"] += result.created
    txn.details.setdefault("students_updated", 0)
    txn.details["students_updated"] += result.updated
    return result


def load_student(store, student_no: str, *, action: str) -> dict:
    """The student with this number, checked against the staff member's college scope."""
    record = store.find_student(student_no)
    if record is None:
        raise NotFound(f"no student with number {student_no!r}", hint="search by name or part of the number with `mhtool cases find TEXT`")
    store.require_college(record.get("college"), action=action, targets=[f"students/{record['id']}"])
    return record


def save_student(txn, record: dict) -> None:
    data = txn.store.sealed_part("students", record)
    data["updated_at"] = _now()
    txn.update("students", record["id"], data)


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
    return txn.insert("entries", data, columns={"student_id": student_id, "on_date": on.isoformat()})


def entries_for(store, student_id: str) -> list[dict]:
    return store.select("entries", "student_id = ?", (student_id,), order="on_date, rowid")


# -- tasks ------------------------------------------------------------------------------------


def open_task(txn, student_id: str, kind: str, due: date, **data) -> str:
    record = {"kind": kind, "created_by": txn.store.staff.name, "created_at": _now(), **data}
    return txn.insert("tasks", record, columns={"student_id": student_id, "due_on": due.isoformat(), "done_on": None})


def open_tasks(store, student_id: str | None = None) -> list[dict]:
    if student_id:
        return store.select("tasks", "done_on IS NULL AND student_id = ?", (student_id,), order="due_on")
    return store.select("tasks", "done_on IS NULL", order="due_on")


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
    for task in txn.store.select("tasks", "done_on IS NULL AND student_id = ?", (student_id,)):
        if task["kind"] not in kinds:
            continue
        limit = due_by.get(task["kind"])
        if limit is not None and task["due_on"] > limit.isoformat():
            continue
        data = txn.store.sealed_part("tasks", task)
        data.update(done_by=txn.store.staff.name, done_entry=entry_id)
        if cancelled:
            data.update(cancelled=True, cancel_reason=reason)
        txn.update("tasks", task["id"], data, columns={"done_on": on.isoformat()})
        n += 1
    return n


# -- watch episodes ---------------------------------------------------------------------------


def open_watch(txn, student_id: str, level: str, on: date, reason: str) -> str:
    return txn.insert(
        "watches",
        {"level": level, "opened_by": txn.store.staff.name, "reason": reason},
        columns={"student_id": student_id, "opened_on": on.isoformat(), "closed_on": None},
    )


def close_open_watches(txn, student_id: str, on: date, reason: str) -> None:
    for watch in txn.store.select("watches", "student_id = ? AND closed_on IS NULL", (student_id,)):
        data = txn.store.sealed_part("watches", watch)
        data.update(closed_by=txn.store.staff.name, close_reason=reason)
        txn.update("watches", watch["id"], data, columns={"closed_on": on.isoformat()})


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


def cadence(store) -> dict[str, int]:
    configured = store.setting("cadence") or {}
    return {**model.DEFAULT_CADENCE, **configured}


# -- commands' write side ---------------------------------------------------------------------


def create_student(txn, student_no: str, fields: dict, *, source: str = "manual") -> dict:
    """A new dossier typed in by hand (`cases add`). Refuses a number that already exists."""
    store = txn.store
    student_no = (student_no or "").strip()
    if not student_no:
        raise InvalidInput("the student number is empty")
    if store.find_student(student_no) is not None:
        raise ConflictError(f"student {student_no} already has a dossier", hint=f"change it with `mhtool cases edit {student_no}`")
    record = new_student_record(student_no, fields, source=source)
    rid = txn.insert("students", record, columns={"student_no_bi": store.student_no_index(student_no)})
    return {**record, "id": rid}


def record_effects(store, action: str, student: dict, effects: model.Effects, on: date, *, corrects: str | None = None, details: dict | None = None) -> list[str]:
    """One recorded event as one transaction with its audit entry; returns the new entry ids."""
    with store.write(action, targets=[f"students/{student['id']}"], details=details) as txn:
        return apply_effects(txn, student, effects, on, corrects=corrects)


def entry_of_student(store, student: dict, prefix: str) -> dict:
    """The entry with this id (or id prefix), which must belong to ``student``."""
    entry_id = store.resolve_id("entries", prefix, "entry")
    entry = store.get("entries", entry_id)
    if entry["student_id"] != student["id"]:
        raise NotFound(f"entry {prefix} is not in the dossier of {student['student_no']}")
    return entry


def open_interview_tasks(store) -> dict[str, dict]:
    """Every student's open interview task, for bulk scheduling without one query per student."""
    return {t["student_id"]: t for t in store.select("tasks", "done_on IS NULL") if t.get("kind") == "interview"}


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
    if open_interviews is None:
        candidates = [t for t in txn.store.select("tasks", "done_on IS NULL AND student_id = ?", (student_id,)) if t["kind"] == "interview"]
    else:
        candidates = [open_interviews[student_id]] if student_id in open_interviews else []
    due = task["due"].isoformat()
    for existing in candidates:
        higher = model.LEVEL_RANK[proposed_level] > model.LEVEL_RANK.get(existing.get("proposed_level") or "none", 0)
        if existing["due_on"] > due or higher:
            payload = txn.store.sealed_part("tasks", existing)
            if higher:
                payload.update(proposed_level=proposed_level, **data)
            if existing["due_on"] > due:
                payload["brought_forward_from"] = existing["due_on"]
            new_due = min(existing["due_on"], due)
            txn.update("tasks", existing["id"], payload, columns={"due_on": new_due}, audit=False)
            existing.update(payload, due_on=new_due)
        return existing["id"]
    task_id = open_task(txn, student_id, "interview", task["due"], proposed_level=proposed_level, **data)
    if open_interviews is not None:
        open_interviews[student_id] = {"id": task_id, "student_id": student_id, "kind": "interview", "due_on": due, "done_on": None,
                                       "proposed_level": proposed_level, **data}
    return task_id


def add_reminder(store, student: dict, task: dict) -> str:
    with store.write("cases.remind", targets=[f"students/{student['id']}"]) as txn:
        data = {k: v for k, v in task.items() if k not in ("kind", "due")}
        return open_task(txn, student["id"], task["kind"], task["due"], **data)


def complete_task(store, prefix: str, on: date, note: str = "") -> dict:
    """Mark one task done by hand (a reminder, or a task made moot); scope-checked."""
    task_id = store.resolve_id("tasks", prefix, "task")
    task = store.get("tasks", task_id)
    student = store.get("students", task["student_id"])
    store.require_college(student.get("college"), action="cases.done", targets=[f"tasks/{task_id}"])
    if task.get("done_on"):
        raise UsageError(f"task {task_id[:8]} was already done on {task['done_on']}")
    with store.write("cases.done", targets=[f"tasks/{task_id}"]) as txn:
        data = store.sealed_part("tasks", task)
        data.update(done_by=store.staff.name, done_note=note)
        txn.update("tasks", task_id, data, columns={"done_on": on.isoformat()})
    return {**task, "done_on": on.isoformat(), "student_no": student["student_no"], "name": student.get("name")}


def update_student(store, student: dict, record: dict, changed: list[str]) -> None:
    # The audit entry names the fields that changed, never their values.
    with store.write("cases.edit", targets=[f"students/{student['id']}"], details={"fields": changed}) as txn:
        save_student(txn, {**record, "id": student["id"]})


def responses_for(store, student_id: str) -> list[dict]:
    return store.select("responses", "student_id = ?", (student_id,), order="on_date, rowid")


def staff_names(store) -> set[str]:
    return {row["name"] for row in store.select("staff")}


def set_cadence(store, changes: dict[str, int]) -> dict[str, int]:
    """Change the follow-up cadence (days per level) in the store's sealed settings; admin only.

    Open follow-up tasks keep their due dates; the new cadence applies from the
    next recorded contact.
    """
    store.require("staff", action="cases.cadence")
    for level, days in changes.items():
        if level not in model.DEFAULT_CADENCE:
            raise UsageError(f"no cadence for level {level!r}", hint="red, orange or yellow")
        if not 1 <= int(days) <= 365:
            raise InvalidInput(f"--{level} {days}: the cadence is a number of days from 1 to 365")
    with store.write("cases.cadence", details={"cadence": changes}) as txn:
        current = store.settings().get("cadence") or {}
        store.update_settings(txn, {"cadence": {**current, **{k: int(v) for k, v in changes.items()}}})
    return cadence(store)
