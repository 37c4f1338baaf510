"""Dossiers in bulk: the school roster creates and updates them, a graduating class leaves the watch.

Rows are checked against the stored dossiers the same way for a roster and
for a screening import (:func:`stored_student_problems`): a college outside
the importer's scope, or another name for a stored number, is a problem of
that row, never an overwrite.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from mhtool.cases.domain import model, recording
from mhtool.cases.usecases import service
from mhtool.domain.vocabulary import ROSTER_FIELDS
from mhtool.errors import InvalidInput, Problem, UsageError


def stored_student_problems(store, row: int, student_no: str, name: str | None, college: str | None, existing: dict[str, dict], *, file: str, sheet: str) -> list[Problem]:
    """What the store says against one incoming row: a college outside the user's scope, or another name for the number."""
    problems = []
    current = existing.get(student_no)
    college = (current or {}).get("college") or college
    if not store.in_scope(college):
        problems.append(Problem(f"{college or 'no college'} is outside your college scope", file=file, sheet=sheet, row=row, column="学院"))
    if current is not None and model.name_conflict(current, name):
        problems.append(
            Problem(
                f"student {student_no} is stored as {current['name']!r} but this row says {name!r}; "
                "fix the file, or correct the dossier with `mhtool cases edit`",
                file=file,
                sheet=sheet,
                row=row,
                column="姓名",
                value=name,
            )
        )
    return problems


def import_roster(store, path: str | Path, *, profile: str = "roster", dry_run: bool = False, skip_invalid: bool = False, profile_dirs=None, password: str | None = None) -> dict:
    """The school roster creates or updates dossiers, with the same normalisation and conflict rules."""
    from mhtool.io import readers

    store.require("import", action="cases.import-roster")
    table = readers.read_table(path, profile, ("student_no", "name"), profiles_dirs=profile_dirs, password=password)
    problems_by_row: dict[int, list[Problem]] = {}
    for p in table.problems:
        problems_by_row.setdefault(p.row, []).append(p)
    rows: list[dict] = []
    seen: dict[str, dict] = {}
    for row in table.roster.index:
        rec = {k: table.roster.at[row, k] for k in table.roster.columns}
        rec = {k: (None if v is None or (isinstance(v, float) and v != v) or v == "" else str(v)) for k, v in rec.items()}
        no = rec.get("student_no")
        if not no:
            problems_by_row.setdefault(int(row), []).append(Problem("no student number", file=table.file, sheet=table.sheet, row=int(row), column="学号"))
            continue
        if no in seen and seen[no].get("name") != rec.get("name"):
            problems_by_row.setdefault(int(row), []).append(
                Problem(f"student number {no} appears twice with different names", file=table.file, sheet=table.sheet, row=int(row), column="姓名", value=rec.get("name"))
            )
            continue
        guardian = None
        if rec.get("guardian_name") or rec.get("guardian_phone"):
            guardian = {"name": rec.get("guardian_name") or "", "relation": rec.get("guardian_relation") or "", "phone": rec.get("guardian_phone") or ""}
        entry = {"student_no": no, "_row": int(row), **{k: rec.get(k) for k in ROSTER_FIELDS if rec.get(k)}}
        if guardian:
            entry["guardians"] = [guardian]
        if int(row) not in problems_by_row:
            rows.append(entry)
            seen[no] = entry
    read_version = store.data_version()
    existing = service.students_by_number(store, [r["student_no"] for r in rows])
    for r in rows:
        found = stored_student_problems(store, r["_row"], r["student_no"], r.get("name"), r.get("college"), existing, file=table.file, sheet=table.sheet)
        if found:
            problems_by_row.setdefault(r["_row"], []).extend(found)
    problems = [p for ps in problems_by_row.values() for p in ps]
    valid = [r for r in rows if r["_row"] not in problems_by_row]
    if problems and not skip_invalid:
        raise InvalidInput(f"{table.file}: {len(problems_by_row)} rows have problems; nothing was imported", problems=problems,
                           hint="fix the rows listed, or pass --skip-invalid to import the valid rows")
    result = {"file": table.file, "rows": table.data_rows, "valid": len(valid), "rejected": len(problems_by_row),
              "students_created": sum(1 for r in valid if r["student_no"] not in existing), "students_updated": 0, "dry_run": dry_run}
    if dry_run:
        return result
    if not valid:
        raise InvalidInput(f"{table.file}: no valid rows; nothing was imported", problems=problems)
    with store.write("cases.import-roster", details={"file": table.file}) as txn:
        upsert = service.upsert_students(txn, valid, source="roster", existing=existing, read_version=read_version)
    result.update(students_created=upsert.created, students_updated=upsert.updated, unchanged=upsert.unchanged)
    return result


def graduate_class(store, year: int, *, on: date | str | None = None, reason: str | None = None, dry_run: bool = False) -> dict:
    """Mark every enrolled or returned student of grade ``YEAR级`` (or ``YEAR``) as graduated.

    Each student gets the same status change `cases status … graduate` records
    (a ``status_change`` entry; a watch still open is closed and open tasks are
    cancelled), all in one transaction with one audit entry. Students on leave
    are left alone and counted, as are those outside the staff member's colleges.
    """
    store.require("record", action="cases.graduate")
    if isinstance(year, bool) or not isinstance(year, int) or not 1950 <= year <= 2200:
        raise UsageError(f"--class-of {year!r} is not a year", hint="the grade's year, e.g. --class-of 2022 for 2022级")
    on = recording.day(on, today=service.today(store))
    why = " ".join((reason or "").split()) or f"{year}级毕业"
    wanted = str(year)
    cohort = [s for s in store.students.all() if not s.get("erased") and model.grade_year(s.get("grade")) == wanted]
    in_scope = [s for s in cohort if store.in_scope(s.get("college"))]
    eligible = [s for s in in_scope if (s.get("status") or "enrolled") in model.GRADUATING_STATUSES]
    skipped: dict[str, int] = {}
    for s in in_scope:
        status = s.get("status") or "enrolled"
        if status not in model.GRADUATING_STATUSES:
            skipped[status] = skipped.get(status, 0) + 1
    result = {
        "class_of": year,
        "on": on.isoformat(),
        "graduated": len(eligible),
        "skipped": skipped,
        "out_of_scope": len(cohort) - len(in_scope),
        "dry_run": dry_run,
    }
    if dry_run or not eligible:
        return result
    with store.write("cases.graduate", details={"class_of": year, "on": on.isoformat(), "count": len(eligible)}) as txn:
        for student in eligible:
            effects = model.change_status(student, "graduated", {"reason": why, "on": on.isoformat()}, on)
            service.apply_effects(txn, student, effects, on)
    return result
