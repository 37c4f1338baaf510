"""Dossiers in bulk: the school roster creates and updates them, a graduating class leaves the watch.

Rows are checked against the stored dossiers the same way for a roster and
for a screening import (:func:`stored_student_problems`): a number outside
the importer's colleges, or another name for a stored number, is a problem of
that row, never an overwrite. A number outside the importer's colleges gets
one message that says nothing about the stored record (the same as for a
number nobody has), and the refusal is audited (:func:`audit_scope_refusals`),
even on a dry run.

A student number twice in one roster is resolved as survey import resolves a
student's second submission (:func:`resolve_duplicate_rows`): rows that agree
are one student, the later row kept and the earlier reported as superseded;
rows that disagree are all rejected.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from mhtool.cases.domain import model, recording
from mhtool.cases.usecases import service
from mhtool.domain.labels import label
from mhtool.domain.vocabulary import ROSTER_FIELDS, normalise_grade
from mhtool.errors import InvalidInput, Problem, UsageError
from mhtool.i18n import _
from mhtool.store.core import STUDENT_OUT_OF_SCOPE


def out_of_scope(store, student_no: str, college: str | None, existing: dict[str, dict]) -> bool:
    """Whether the user's colleges do not reach this number: its dossier's college, or for a new number the row's."""
    current = existing.get(student_no)
    return not store.in_scope((current or {}).get("college") or college)


def stored_student_problems(store, row: int, student_no: str, name: str | None, college: str | None, existing: dict[str, dict], *, file: str, sheet: str) -> list[Problem]:
    """What the store says against one incoming row: a number outside the user's colleges, or another name for the number.

    Outside the user's colleges is one message, the same whether the number is
    another college's or nobody's, naming nothing stored (no college, no name).
    """
    problems = []
    current = existing.get(student_no)
    if out_of_scope(store, student_no, college, existing):
        return [Problem(_(STUDENT_OUT_OF_SCOPE), file=file, sheet=sheet, row=row, column="学号")]
    if current is not None and model.name_conflict(current, name):
        problems.append(
            Problem(
                _(
                    "student {student_no} is stored as {stored_name!r} but this row says {row_name!r}; "
                    "fix the file, or correct the dossier with `mhtool cases edit`"
                ).format(student_no=student_no, stored_name=current["name"], row_name=name),
                file=file,
                sheet=sheet,
                row=row,
                column="姓名",
                value=name,
            )
        )
    return problems


def audit_scope_refusals(store, action: str, numbers: list[str], existing: dict[str, dict], *, dry_run: bool) -> None:
    """One ``denied`` audit entry for the rows refused by college scope, naming the stored records they reached for.

    Written on a dry run too: it is the one write a dry run makes.
    """
    if not numbers:
        return
    targets = sorted({f"students/{existing[no]['id']}" for no in numbers if no in existing})
    store.audit_denial(action, targets, details={"rows": len(numbers), "dry_run": dry_run})


def _field_name(key: str) -> str:
    return label("field", "guardians" if key.startswith("guardian") else key, "zh")


def resolve_duplicate_rows(rows: list[dict], problems_by_row: dict[int, list[Problem]], *, file: str, sheet: str) -> tuple[list[dict], list[dict]]:
    """One student number in several rows of a roster: (the rows to import, the superseded ones).

    Rows that agree (empty cells aside) are one student: the later row is
    kept, with what the earlier ones add in its empty cells, and each earlier
    one is reported ``{"row", "student_no", "kept_row"}``. Rows that disagree
    (another name, another dorm) are all rejected, naming the rows and fields:
    which one is right is for the office to say, not the order of the file.
    """
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["student_no"], []).append(r)
    kept: list[dict] = []
    superseded: list[dict] = []

    def reject(r: dict, message: str, column: str, value) -> None:
        problems_by_row.setdefault(r["_row"], []).append(
            Problem(message, file=file, sheet=sheet, row=r["_row"], column=column, value=None if value in (None, "") else str(value))
        )

    for no, group in groups.items():
        if len(group) == 1:
            kept.append(group[0])
            continue
        names = {r.get("name") for r in group if r.get("name")}
        if len(names) > 1:
            listed = "、".join(sorted(names))
            for r in group:
                message = _("student number {student_no} appears with different names ({names}); check which is right").format(student_no=no, names=listed)
                reject(r, message, "姓名", r.get("name"))
            continue
        keys = [k for k in dict.fromkeys(k for r in group for k in r) if k not in ("_row", "student_no")]
        differing = [k for k in keys if len({repr(r[k]) for r in group if r.get(k)}) > 1]
        if differing:
            where = ", ".join(str(r["_row"]) for r in group)
            fields = "、".join(dict.fromkeys(_field_name(k) for k in differing))
            for r in group:
                message = _("student number {student_no} appears in rows {rows} with different {fields}; check which is right").format(
                    student_no=no, rows=where, fields=fields
                )
                reject(r, message, _field_name(differing[0]), r.get(differing[0]))
            continue
        latest = group[-1]
        merged = {k: v for r in group for k, v in r.items() if v}
        kept.append({**merged, "_row": latest["_row"]})
        superseded += [{"row": r["_row"], "student_no": no, "kept_row": latest["_row"]} for r in group[:-1]]
    kept.sort(key=lambda r: r["_row"])
    return kept, superseded


def import_roster(store, path: str | Path, *, profile: str = "roster", dry_run: bool = False, skip_invalid: bool = False, profile_dirs=None, password: str | None = None) -> dict:
    """The school roster creates or updates dossiers, with the same normalisation and conflict rules."""
    from mhtool.io import readers

    store.require("import", action="cases.import-roster")
    table = readers.read_table(path, profile, ("student_no", "name"), profiles_dirs=profile_dirs, password=password)
    problems_by_row: dict[int, list[Problem]] = {}
    for p in table.problems:
        problems_by_row.setdefault(p.row, []).append(p)
    rows: list[dict] = []
    for row in table.roster.index:
        rec = {k: table.roster.at[row, k] for k in table.roster.columns}
        rec = {k: (None if v is None or (isinstance(v, float) and v != v) or v == "" else str(v)) for k, v in rec.items()}
        no = rec.get("student_no")
        if not no:
            problems_by_row.setdefault(int(row), []).append(Problem(_("no student number"), file=table.file, sheet=table.sheet, row=int(row), column="学号"))
            continue
        rec["grade"] = normalise_grade(rec.get("grade"))
        guardian = None
        if rec.get("guardian_name") or rec.get("guardian_phone"):
            guardian = {"name": rec.get("guardian_name") or "", "relation": rec.get("guardian_relation") or "", "phone": rec.get("guardian_phone") or ""}
        entry = {"student_no": no, "_row": int(row), **{k: rec.get(k) for k in ROSTER_FIELDS if rec.get(k)}}
        if guardian:
            entry["guardians"] = [guardian]
        if int(row) not in problems_by_row:
            rows.append(entry)
    rows, superseded = resolve_duplicate_rows(rows, problems_by_row, file=table.file, sheet=table.sheet)
    read_version = store.data_version()
    existing = service.students_by_number(store, [r["student_no"] for r in rows])
    refused = []
    for r in rows:
        if out_of_scope(store, r["student_no"], r.get("college"), existing):
            refused.append(r["student_no"])
        found = stored_student_problems(store, r["_row"], r["student_no"], r.get("name"), r.get("college"), existing, file=table.file, sheet=table.sheet)
        if found:
            problems_by_row.setdefault(r["_row"], []).extend(found)
    audit_scope_refusals(store, "cases.import-roster", refused, existing, dry_run=dry_run)
    problems = [p for _row, ps in sorted(problems_by_row.items(), key=lambda kv: kv[0] or 0) for p in ps]
    valid = [r for r in rows if r["_row"] not in problems_by_row]
    if problems and not skip_invalid:
        raise InvalidInput(_("{file}: {rows} rows have problems; nothing was imported").format(file=table.file, rows=len(problems_by_row)), problems=problems,
                           hint=_("fix the rows listed, or pass --skip-invalid to import the valid rows"))
    result = {"file": table.file, "rows": table.data_rows, "valid": len(valid), "rejected": len(problems_by_row),
              "superseded": len(superseded), "superseded_rows": superseded,
              "students_created": sum(1 for r in valid if r["student_no"] not in existing), "students_updated": 0, "dry_run": dry_run,
              "problems": [p.as_dict() for p in problems]}
    if dry_run:
        return result
    if not valid:
        raise InvalidInput(_("{file}: no valid rows; nothing was imported").format(file=table.file), problems=problems)
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
        raise UsageError(_("--class-of {year!r} is not a year").format(year=year), hint=_("the grade's year, e.g. --class-of 2022 for 2022级"))
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
