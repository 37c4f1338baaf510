"""The reports the network sends: rows read and checked, grouped into one report per unit and period.

A report is about one unit (a class, or a dorm) and one period: an ISO week
``2026-W48`` or a month ``2026-11`` (:func:`period_label`). A row whose status
is 无异常 is a 零报告; 有情况 names a student (关注学生学号) with a description.
Several rows of one unit and period make one report (one row per named
student). Every problem names its file, sheet, row and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from mhtool.domain import periods
from mhtool.domain.dates import EARLIEST_DATE, LATEST_DATE
from mhtool.domain.student_no import normalise, shape_problem
from mhtool.errors import Problem, UsageError
from mhtool.i18n import _
from mhtool.network.domain.columns import REPORT_COLUMNS, find_header, fold, status_code, told_value

_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?")


def parse_period(text: str, kind: str | None = None) -> str | None:
    """``2026-W48``, ``2026年第48周``, ``2026-11``, ``2026年11月`` → the period's label; None when it does not parse.

    ``kind`` is the column the value came from (``week``: 周次, ``month``: 月份):
    a date there (a cell Excel turned into one) is the week or month holding it.
    """
    raw = (text or "").strip()
    if not raw:
        return None
    m = _DATE.fullmatch(raw)
    if m:
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            return None  # 9999-12-31 is a placeholder, never a reporting week (and its week runs past the calendar)
        return (periods.month_of(day) if kind == "month" else periods.week_of(day)).label
    for parse in ((periods.parse_month, periods.parse_week) if kind == "month" else (periods.parse_week, periods.parse_month)):
        try:
            return parse(raw).label
        except UsageError:
            continue
    return None


def period_label(text: str, *, option: str = "--period") -> str:
    """The label of a period typed on the command line; a usage error naming ``option`` otherwise."""
    label = parse_period(text)
    if label is None:
        raise UsageError(
            _("{option}: {text!r} is neither an ISO week nor a month").format(option=option, text=text),
            hint=_("use an ISO week such as 2026-W48 or a month such as 2026-11"),
        )
    return label


def period_start(label: str) -> date:
    """The first day of a period label (a Monday for a week, the 1st for a month)."""
    if "W" in label:
        return periods.parse_week(label).start
    return periods.parse_month(label).start


@dataclass
class Units:
    """The units of the roster one may report for: folded unit name → [(college, unit_kind, unit)]."""

    by_name: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, units) -> Units:
        out = cls()
        for college, kind, unit in units:
            out.by_name.setdefault(fold(unit), [])
            if (college, kind, unit) not in out.by_name[fold(unit)]:
                out.by_name[fold(unit)].append((college, kind, unit))
        return out

    def find(self, name: str, kind: str | None) -> list[tuple[str, str, str]]:
        return [u for u in self.by_name.get(fold(name), []) if kind is None or u[1] == kind]


@dataclass
class Row:
    """One report row as read: where it is, and its values."""

    file: str
    sheet: str
    row: int
    college: str
    unit_kind: str
    unit: str
    period: str
    reporter: str
    status: str
    student_no: str
    student_name: str
    description: str
    told: bool | None
    headers: dict[str, str]

    def problem(self, message: str, field_name: str | None = None, value: str | None = None) -> Problem:
        return Problem(message, file=self.file, sheet=self.sheet or None, row=self.row,
                       column=self.headers.get(field_name) if field_name else None, value=value)  # fmt: skip


def read_rows(file: str, sheet: str, rows: list[list[str]], units: Units, *, period: str | None = None) -> tuple[list[Row], list[Problem]]:
    """The report rows of one sheet (cells as text), checked against the roster's ``units``.

    ``period``: the label for rows without a period column or cell (``--period``).
    A sheet with no 班级/宿舍 column is the sheet of the class its name names.
    Rows with nothing filled in beyond what a template pre-fills are skipped.
    """
    problems: list[Problem] = []
    where = {"file": file, "sheet": sheet or None}
    found = find_header(rows, REPORT_COLUMNS, ("status",))
    if found is None:
        problems.append(Problem(_("no header row with a column 本期情况 (or 本月情况, 本周情况) in the first rows"), **where))
        return [], problems
    h, cols = found
    header_row = rows[h]
    headers = {name: header_row[j] for name, j in cols.items()}
    period_fields = [f for f in ("week", "month", "period") if f in cols]
    sheet_unit: list[tuple[str, str, str]] = []
    if "class" not in cols and "dorm" not in cols:
        sheet_unit = units.find(sheet, None) if sheet else []
        if not sheet_unit:
            problems.append(Problem(_("no column 班级 or 宿舍, and the sheet's name is not a class or dorm of the network roster"), row=h + 1, **where))
            return [], problems
    if not period_fields and not period:
        problems.append(Problem(_("no column 周次 or 月份, and no --period was given"), row=h + 1, **where))
        return [], problems
    out: list[Row] = []
    for i in range(h + 1, len(rows)):
        cells = rows[i]

        def cell(name: str) -> str:
            j = cols.get(name)
            return (cells[j] if j is not None and j < len(cells) else "").strip()

        filled = [cell(n) for n in ("reporter", "status", "student_no", "student_name", "description", "told")]
        if not any(filled):
            continue
        line = i + 1

        def bad(message: str, name: str | None = None, value: str | None = None) -> None:
            problems.append(Problem(message, row=line, column=headers.get(name) if name else None, value=value, **where))

        # The unit: the 班级/宿舍 cell, or the sheet's class.
        kind = None
        name = ""
        if "class" in cols and cell("class"):
            kind, name, unit_field = "class", cell("class"), "class"
        elif "dorm" in cols and cell("dorm"):
            kind, name, unit_field = "dorm", cell("dorm"), "dorm"
        else:
            unit_field = "class" if "class" in cols else "dorm"
        college_text = cell("college")
        if sheet_unit:
            candidates = sheet_unit
        elif not name:
            bad(_("the class (or dorm) is empty"), unit_field)
            continue
        else:
            candidates = units.find(name, kind)
        if not candidates:
            bad(_("not a class or dorm of the network roster"), unit_field, name)
            continue
        if college_text:
            same = [u for u in candidates if fold(u[0]) == fold(college_text)]
            if not same:
                bad(
                    _("the sheet is filled for the wrong college: {unit} belongs to {college} in the network roster").format(
                        unit=candidates[0][2], college="、".join(sorted({u[0] for u in candidates}))
                    ),
                    "college",
                    college_text,
                )
                continue
            candidates = same
        if len(candidates) > 1:
            bad(_("{unit} is in more than one college of the network roster; fill in the column 学院").format(unit=candidates[0][2]), unit_field)
            continue
        college, unit_kind, unit = candidates[0]
        # The period.
        label = None
        raw_period = ""
        for f in period_fields:
            if cell(f):
                raw_period = cell(f)
                label = parse_period(raw_period, f if f in ("week", "month") else None)
                if label is None:
                    bad(_("the period does not parse; use an ISO week such as 2026-W48 or a month such as 2026-11"), f, raw_period)
                break
        if not raw_period:
            label = period
            if label is None:
                bad(_("the period is empty and no --period was given"), period_fields[0] if period_fields else None)
                continue
        if label is None:
            continue
        # The status.
        status_text = cell("status")
        student = cell("student_no")
        status = status_code(status_text) if status_text else ("concern" if student else None)
        if status is None:
            if status_text:
                bad(_("the status must be 无异常 or 有情况"), "status", status_text)
            else:
                bad(_("the status is empty; write 无异常 or 有情况"), "status")
            continue
        told = told_value(cell("told"))
        if told == "?":
            bad(_("是否已告知辅导员 must be 是 or 否"), "told", cell("told"))
            continue
        number = ""
        if status == "concern":
            if not student:
                bad(_("有情况 names no student: fill in the student number (关注学生学号)"), "student_no")
                continue
            number = normalise(student)
            shape = shape_problem(number)
            if shape:
                bad(shape, "student_no", student)
                continue
        elif student or cell("description"):
            bad(_("the row says 无异常 but names a student or describes a situation; write 有情况"), "status", status_text)
            continue
        out.append(
            Row(
                file=file, sheet=sheet, row=line, college=college, unit_kind=unit_kind, unit=unit, period=label,
                reporter=cell("reporter"), status=status, student_no=number, student_name=cell("student_name"),
                description=cell("description"), told=told if status == "concern" else None, headers=headers,
            )  # fmt: skip
        )
    return out, problems


def group(rows: list[Row]) -> tuple[list[dict], list[Problem]]:
    """One report per (unit_kind, unit, period), in the order first met; a unit both 无异常 and 有情况 is a problem.

    A report: ``{college, unit_kind, unit, period, reporter, status, named: [
    {student_no, student_name, description, told, row, sheet}], told_advisor}``;
    ``told_advisor`` is None for a 零报告, else whether every named student was told.
    """
    reports: dict[tuple[str, str, str], dict] = {}
    first_row: dict[tuple[str, str, str], Row] = {}
    problems: list[Problem] = []
    for r in rows:
        key = (r.unit_kind, r.unit, r.period)
        report = reports.get(key)
        if report is None:
            report = reports[key] = {
                "college": r.college, "unit_kind": r.unit_kind, "unit": r.unit, "period": r.period,
                "reporter": r.reporter, "status": r.status, "named": [], "told_advisor": None,
            }  # fmt: skip
            first_row[key] = r
        elif report["status"] != r.status:
            problems.append(
                r.problem(
                    _("{unit} {period} is both 无异常 (row {first}) and 有情况; a class sends one of them per period").format(
                        unit=r.unit, period=r.period, first=first_row[key].row if first_row[key].status == "zero" else r.row
                    ),
                    "status",
                )
            )
            continue
        if not report["reporter"] and r.reporter:
            report["reporter"] = r.reporter
        if r.status == "concern":
            if any(n["student_no"] == r.student_no for n in report["named"]):
                continue
            report["named"].append(
                {"student_no": r.student_no, "student_name": r.student_name, "description": r.description, "told": r.told, "row": r.row,
                 "sheet": r.sheet, "header": r.headers.get("student_no"), "name_header": r.headers.get("student_name")}  # fmt: skip
            )
    for report in reports.values():
        if report["named"]:
            report["told_advisor"] = all(n["told"] is True for n in report["named"])
    return list(reports.values()), problems


def missing(units, reported: set[tuple[str, str]], *, college: str | None = None) -> list[dict]:
    """Units of the roster with no report, by college: ``[{college, units: [{unit_kind, unit}], expected, reported}]``.

    ``units``: (college, unit_kind, unit) of the roster's classes and dorms;
    ``reported``: the (unit_kind, unit) that sent a report (a 零报告 counts).
    """
    by_college: dict[str, dict] = {}
    for c, kind, unit in sorted(set(units)):
        if college is not None and c != college:
            continue
        entry = by_college.setdefault(c, {"college": c, "expected": 0, "reported": 0, "missing": []})
        entry["expected"] += 1
        if (kind, unit) in reported:
            entry["reported"] += 1
        else:
            entry["missing"].append({"unit_kind": kind, "unit": unit})
    return list(by_college.values())


__all__ = ["REPORT_COLUMNS", "Row", "Units", "group", "missing", "parse_period", "period_label", "period_start", "read_rows"]
