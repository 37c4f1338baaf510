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

from mhtool import dates
from mhtool.cases import model
from mhtool.errors import NotFound, Problem

ROSTER_FIELDS = (
    "name",
    "gender",
    "college",
    "major",
    "grade",
    "class_name",
    "dorm",
    "phone",
    "advisor",
    "advisor_phone",
)


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
        record = {k: v for k, v in current.items() if k not in ("id", "student_no_bi")}
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
    data = {k: v for k, v in record.items() if k not in ("id", "student_no_bi")}
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


def finish_tasks(txn, student_id: str, kinds: Iterable[str], on: date, *, entry_id: str | None = None, cancelled: bool = False, reason: str = "") -> int:
    """Mark the student's open tasks of these kinds done (or cancelled)."""
    kinds = set(kinds)
    if not kinds:
        return 0
    n = 0
    for task in txn.store.select("tasks", "done_on IS NULL AND student_id = ?", (student_id,)):
        if task["kind"] not in kinds:
            continue
        data = {k: v for k, v in task.items() if k not in ("id", "student_id", "due_on", "done_on")}
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
        data = {k: v for k, v in watch.items() if k not in ("id", "student_id", "opened_on", "closed_on")}
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
        finish_tasks(txn, sid, effects.complete_task_kinds, on, entry_id=first)
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
