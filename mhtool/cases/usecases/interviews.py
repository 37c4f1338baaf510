"""Importing the interview-record sheets (约谈记录表) that college advisors fill in.

Each row becomes an ``interview`` entry, exactly as if it had been typed with
``cases interview``: the open interview task is completed, a confirmed level
changes the watch, and the next follow-up is scheduled. The rules are those of
survey import: every problem of every row is reported at once, nothing is
written unless all rows are good (or ``--skip-invalid``), and importing the
same sheet twice adds nothing. A row an advisor has not filled in yet (no
findings and no level) is "not yet": skipped and counted, never a problem.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mhtool.cases.domain import model
from mhtool.cases.usecases import service
from mhtool.errors import InvalidInput, Problem
from mhtool.i18n import _
from mhtool.store.core import STUDENT_OUT_OF_SCOPE


@dataclass
class InterviewRow:
    row: int
    student_no: str
    on: date
    fields: dict


@dataclass
class InterviewPlan:
    file: str
    rows: int = 0
    ready: list[InterviewRow] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    not_yet: list[int] = field(default_factory=list)  # rows with no findings and no level: not done yet
    problems: list[Problem] = field(default_factory=list)
    students: dict[str, dict] = field(default_factory=dict)
    timelines: dict[str, list[dict]] = field(default_factory=dict)  # the students' stored entries, by student id

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems if p.row is not None})


def row_key(student_no: str, on: str, interviewer: str, findings: str) -> str:
    """What makes a row the same row when the sheet comes back twice."""
    text = "\x1f".join((student_no, on, interviewer or "", " ".join((findings or "").split())))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _clean(value) -> str:
    return "" if value is None else str(value).strip()


def import_interviews(
    store, path: Path, *, sheet: str | int | None = None, dry_run: bool = False, skip_invalid: bool = False, yes: bool = False
) -> tuple[InterviewPlan, dict]:
    """Check the sheet and write its interviews in one transaction (or, with ``dry_run``, count them).

    Returns the plan (its problems, for a rejects workbook) and the summary.
    ``yes`` lets a row dated before a dossier's later entries change its
    current level (see :func:`_apply`).
    """
    store.require("import", action="cases.import-interviews")
    store.require("record", action="cases.import-interviews")
    result = _plan(store, path, sheet=sheet)
    refuse_if_invalid(result, skip_invalid=skip_invalid)
    if dry_run:
        return result, summary(result, imported=len(result.ready), level_changes=_level_changes(result), dry_run=True)
    return result, _apply(store, result, yes=yes)


def _level_changes(result: InterviewPlan) -> int:
    """How many rows would change a level: each compared with the level in force on its day, as the import replays them."""
    n = 0
    timelines: dict[str, list[dict]] = {}
    for r in sorted(result.ready, key=lambda r: (r.student_no, r.on, r.row)):
        sid = result.students[r.student_no]["id"]
        timeline = timelines.setdefault(sid, list(result.timelines.get(sid, [])))
        confirmed = r.fields.get("confirmed_level")
        entry = {"id": f"row:{r.row}", "kind": "interview", "date": r.on.isoformat(), "fields": dict(r.fields)}
        if confirmed and confirmed != model.level_history(timeline, until=r.on).level:
            n += 1
        timeline.append(entry)
    return n


def _plan(store, path: Path, *, sheet: str | int | None = None) -> InterviewPlan:
    """Read and check the sheet; nothing is written."""
    from mhtool.domain.labels import code_from_label
    from mhtool.io.readers import parse_table, read_sheet

    raw = read_sheet(path, sheet)
    parsed = parse_table(raw, "interviews", ("student_no", "date", "summary"))
    result = InterviewPlan(file=parsed.file, rows=parsed.data_rows)
    table = parsed.roster

    def blank(rn: int, name: str) -> bool:
        mapping = parsed.field_columns.get(name)
        if mapping is None or rn - 1 >= len(raw.rows):
            return True
        cell = raw.rows[rn - 1][mapping.column_index]
        return cell is None or (isinstance(cell, str) and not cell.strip())

    # A row sent back before its interview took place says nothing yet: skipped, whatever else it lacks.
    rows_seen = set(table.index.tolist()) | {p.row for p in parsed.problems if p.row is not None}
    result.not_yet = sorted(rn for rn in rows_seen if blank(rn, "summary") and blank(rn, "level"))
    skipped = set(result.not_yet)
    result.problems = [p for p in parsed.problems if p.row not in skipped]
    bad_rows = {p.row for p in result.problems} | skipped
    numbers = [n for n in table["student_no"].tolist() if n]
    students = service.students_by_number(store, numbers)
    result.students = students
    today = service.today(store)
    seen: set[str] = set()
    existing_keys: dict[str, set[str]] = {}
    refused: list[dict] = []  # rows whose students lie outside the user's colleges (audited as one refusal)
    where = {"file": parsed.file, "sheet": parsed.sheet or None}
    columns = {name: m.header for name, m in parsed.field_columns.items()}

    def verbatim(rn: int, name: str) -> str:
        # Free text keeps the advisor's own punctuation: the reader folds
        # full-width characters, which suits codes and numbers, not prose.
        mapping = parsed.field_columns.get(name)
        if mapping is None:
            return ""
        cell = raw.rows[rn - 1][mapping.column_index]
        return cell.strip() if isinstance(cell, str) else _clean(rec_value(rn, name))

    def rec_value(rn: int, name: str):
        return table.at[rn, name] if name in table.columns else None

    def problem(message: str, rn: int, column: str | None = None, value=None) -> None:
        result.problems.append(Problem(message, row=rn, column=columns.get(column) if column else None, value=None if value is None else str(value), **where))

    for rn, rec in zip(table.index.tolist(), table.to_dict("records")):
        no = _clean(rec.get("student_no"))
        if rn in bad_rows or not no:
            continue
        student = students.get(no)
        if student is not None and not store.in_scope(student.get("college")):
            refused.append(student)
        if student is None or not store.in_scope(student.get("college")):
            # To a college-scoped user another college's number reads like a number nobody has.
            problem(_(STUDENT_OUT_OF_SCOPE) if store.staff.scoped() else _("no student with number {student_no}").format(student_no=no), rn, "student_no", no)
            continue
        name = _clean(rec.get("name"))
        if name and student.get("name") and name != student["name"]:
            problem(
                _("student {student_no} is stored as {stored_name!r}, the sheet says {sheet_name!r}").format(student_no=no, stored_name=student["name"], sheet_name=name),
                rn, "name", name,
            )  # fmt: skip
            continue
        on = date.fromisoformat(rec["date"])
        if on > today:
            problem(_("the interview date {date} is in the future").format(date=on.isoformat()), rn, "date", rec["date"])
            continue
        level_text = _clean(rec.get("level"))
        level = None
        if level_text:
            level = code_from_label("level", level_text)
            if level is None:
                problem(_("{value!r} is not a level (红色/橙色/黄色/无, or red/orange/yellow/none)").format(value=level_text), rn, "level", level_text)
                continue
        findings = verbatim(rn, "summary") or _clean(rec.get("summary"))
        interviewer = _clean(rec.get("interviewer"))
        key = row_key(no, on.isoformat(), interviewer, findings)
        if student["id"] not in existing_keys:
            result.timelines[student["id"]] = service.entries_for(store, student["id"])
            existing_keys[student["id"]] = {
                (e.get("fields") or {}).get("source_key") for e in result.timelines[student["id"]] if e["kind"] == "interview"
            }
        if key in seen or key in existing_keys[student["id"]]:
            result.duplicates.append(rn)
            continue
        seen.add(key)
        fields = {
            "findings": findings,
            "confirmed_level": level,
            "next_step": verbatim(rn, "measures") or None,
            "interviewer": interviewer or None,
            "source": f"{parsed.file} row {rn}",
            "source_key": key,
        }
        result.ready.append(InterviewRow(rn, no, on, {k: v for k, v in fields.items() if v is not None}))
    result.problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    if refused:
        store.audit_denial("cases.import-interviews", sorted({f"students/{s['id']}" for s in refused}), details={"rows": len(refused)})
    return result


def refuse_if_invalid(result: InterviewPlan, *, skip_invalid: bool) -> None:
    if result.problems and not skip_invalid:
        raise InvalidInput(
            _("{file}: {problems} problem(s) in {rows} row(s); nothing was imported").format(
                file=result.file, problems=len(result.problems), rows=len(result.rejected_rows)
            ),
            problems=result.problems,
            hint=_("fix the rows and import again, or pass --skip-invalid to import the good rows (add --rejects FILE to keep the others)"),
        )


def _apply(store, result: InterviewPlan, *, yes: bool = False) -> dict:
    """Write the planned interviews in one transaction (all or nothing); the caller has checked role and rows.

    Each row is recorded as ``cases interview`` records it, on the dossier as
    it is under the write lock and in date order: a row dated before entries
    already in the dossier (补录) is built on the level of its day. A row that
    would change a student's current level that way needs ``yes``
    (:class:`service.NeedsConfirmation` otherwise, naming the row).
    """
    cadence = service.cadence(store)
    changes = 0
    ready = sorted(result.ready, key=lambda r: (r.student_no, r.on, r.row))
    with store.write("cases.import-interviews", details={"file": result.file, "rows": result.rows}) as txn:
        for item in ready:
            student = store.students.get(result.students[item.student_no]["id"])

            def build(basis, item=item):
                return model.record_interview(basis, dict(item.fields), item.on, cadence=cadence)

            try:
                written = service.record_event(txn, student, build, item.on, cadence=cadence, yes=yes)
            except service.NeedsConfirmation as asked:
                raise service.NeedsConfirmation(
                    _("{file} row {row} ({student_no}): {change}").format(file=result.file, row=item.row, student_no=item.student_no, change=asked.text)
                ) from None
            if any(kind == "level_change" for kind, _fields in written.effects.entries):
                changes += 1
        txn.details.update(imported=len(ready), duplicates=len(result.duplicates), rejected=len(result.rejected_rows), not_yet=len(result.not_yet))
    return summary(result, imported=len(ready), level_changes=changes)


def summary(result: InterviewPlan, *, imported: int, level_changes: int, dry_run: bool = False) -> dict:
    return {
        "file": result.file,
        "rows": result.rows,
        "imported": imported,
        "duplicates": len(result.duplicates),
        "not_yet": len(result.not_yet),
        "rejected": len(result.rejected_rows),
        "level_changes": level_changes,
        "dry_run": dry_run,
        "problems": [p.as_dict() for p in result.problems],
    }


def write_rejects(result: InterviewPlan, path: Path) -> Path:
    from mhtool.io.xlsx import write_table_xlsx

    rows = [[p.row, p.column, p.value, p.message] for p in result.problems]
    return write_table_xlsx(path, "rejects", ["行 row", "列 column", "值 value", "问题 problem"], rows)
