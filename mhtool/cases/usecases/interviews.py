"""Importing the interview-record sheets (约谈记录表) that college advisors fill in.

Each row becomes an ``interview`` entry, exactly as if it had been typed with
``cases interview``: the open interview task is completed, a confirmed level
changes the watch, and the next follow-up is scheduled. The rules are those of
survey import: every problem of every row is reported at once, nothing is
written unless all rows are good (or ``--skip-invalid``), and importing the
same sheet twice adds nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mhtool.cases.domain import model
from mhtool.cases.usecases import service
from mhtool.errors import InvalidInput, Problem


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
    problems: list[Problem] = field(default_factory=list)
    students: dict[str, dict] = field(default_factory=dict)

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems if p.row is not None})


def row_key(student_no: str, on: str, interviewer: str, findings: str) -> str:
    """What makes a row the same row when the sheet comes back twice."""
    text = "\x1f".join((student_no, on, interviewer or "", " ".join((findings or "").split())))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _clean(value) -> str:
    return "" if value is None else str(value).strip()


def import_interviews(store, path: Path, *, sheet: str | int | None = None, dry_run: bool = False, skip_invalid: bool = False) -> tuple[InterviewPlan, dict]:
    """Check the sheet and write its interviews in one transaction (or, with ``dry_run``, count them).

    Returns the plan (its problems, for a rejects workbook) and the summary.
    """
    store.require("import", action="cases.import-interviews")
    store.require("record", action="cases.import-interviews")
    result = _plan(store, path, sheet=sheet)
    refuse_if_invalid(result, skip_invalid=skip_invalid)
    if dry_run:
        return result, summary(result, imported=len(result.ready), level_changes=_level_changes(result), dry_run=True)
    return result, _apply(store, result)


def _level_changes(result: InterviewPlan) -> int:
    """How many rows would change a level (each compared with the level stored now)."""
    return sum(
        1
        for r in result.ready
        if r.fields.get("confirmed_level") and r.fields["confirmed_level"] != (result.students[r.student_no].get("level") or "none")
    )


def _plan(store, path: Path, *, sheet: str | int | None = None) -> InterviewPlan:
    """Read and check the sheet; nothing is written."""
    from mhtool.domain.labels import code_from_label
    from mhtool.io.readers import parse_table, read_sheet

    raw = read_sheet(path, sheet)
    parsed = parse_table(raw, "interviews", ("student_no", "date", "summary"))
    result = InterviewPlan(file=parsed.file, rows=parsed.data_rows)
    result.problems = list(parsed.problems)
    bad_rows = {p.row for p in result.problems}
    table = parsed.roster
    numbers = [n for n in table["student_no"].tolist() if n]
    students = service.students_by_number(store, numbers)
    result.students = students
    today = service.today(store)
    seen: set[str] = set()
    existing_keys: dict[str, set[str]] = {}
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
        if student is None:
            problem(f"no student with number {no}", rn, "student_no", no)
            continue
        if not store.in_scope(student.get("college")):
            problem(f"student {no} is in {student.get('college') or 'no college'}, outside your colleges", rn, "student_no", no)
            continue
        name = _clean(rec.get("name"))
        if name and student.get("name") and name != student["name"]:
            problem(f"student {no} is stored as {student['name']!r}, the sheet says {name!r}", rn, "name", name)
            continue
        on = date.fromisoformat(rec["date"])
        if on > today:
            problem(f"the interview date {on.isoformat()} is in the future", rn, "date", rec["date"])
            continue
        level_text = _clean(rec.get("level"))
        level = None
        if level_text:
            level = code_from_label("level", level_text)
            if level is None:
                problem(f"{level_text!r} is not a level (红色/橙色/黄色/无, or red/orange/yellow/none)", rn, "level", level_text)
                continue
        findings = verbatim(rn, "summary") or _clean(rec.get("summary"))
        interviewer = _clean(rec.get("interviewer"))
        key = row_key(no, on.isoformat(), interviewer, findings)
        if student["id"] not in existing_keys:
            existing_keys[student["id"]] = {
                (e.get("fields") or {}).get("source_key") for e in service.entries_for(store, student["id"]) if e["kind"] == "interview"
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
    return result


def refuse_if_invalid(result: InterviewPlan, *, skip_invalid: bool) -> None:
    if result.problems and not skip_invalid:
        raise InvalidInput(
            f"{result.file}: {len(result.problems)} problem(s) in {len(result.rejected_rows)} row(s); nothing was imported",
            problems=result.problems,
            hint="fix the rows and import again, or pass --skip-invalid to import the good rows (add --rejects FILE to keep the others)",
        )


def _apply(store, result: InterviewPlan) -> dict:
    """Write the planned interviews in one transaction (all or nothing); the caller has checked role and rows."""
    cadence = service.cadence(store)
    changes = 0
    ready = sorted(result.ready, key=lambda r: (r.student_no, r.on, r.row))
    with store.write("cases.import-interviews", details={"file": result.file, "rows": result.rows}) as txn:
        current: dict[str, dict] = {}
        for item in ready:
            student = current.get(item.student_no) or result.students[item.student_no]
            before = student.get("level") or "none"
            effects = model.record_interview(student, dict(item.fields), item.on, cadence=cadence)
            service.apply_effects(txn, student, effects, item.on)
            current[item.student_no] = {**effects.student, "id": student["id"]}
            if (effects.student.get("level") or "none") != before:
                changes += 1
        txn.details.update(imported=len(ready), duplicates=len(result.duplicates), rejected=len(result.rejected_rows))
    return summary(result, imported=len(ready), level_changes=changes)


def summary(result: InterviewPlan, *, imported: int, level_changes: int, dry_run: bool = False) -> dict:
    return {
        "file": result.file,
        "rows": result.rows,
        "imported": imported,
        "duplicates": len(result.duplicates),
        "rejected": len(result.rejected_rows),
        "level_changes": level_changes,
        "dry_run": dry_run,
        "problems": [p.as_dict() for p in result.problems],
    }


def write_rejects(result: InterviewPlan, path: Path) -> Path:
    from mhtool.io.xlsx import write_table_xlsx

    rows = [[p.row, p.column, p.value, p.message] for p in result.problems]
    return write_table_xlsx(path, "rejects", ["行 row", "列 column", "值 value", "问题 problem"], rows)
