"""The reports of the network in the store: import (all-or-nothing per file), who has not reported, templates.

``import_reports`` takes several files; each is read, checked against the
roster and the dossiers, and written in its own transaction, or refused whole
with its problems (file, sheet, row, column). A report replaces the earlier one
of its unit and period. A named student gets a peer-report signal and a 研判
task (:func:`mhtool.signals.usecases.peer.open_peer_signal`): what the report
says goes into the signal's clinical part, or, imported by a clerk, is sealed
to the counselors' inbox; the clerk's summary gives counts, never descriptions.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

from mhtool.domain.periods import network_periods
from mhtool.errors import InvalidInput, NotFound, Problem
from mhtool.i18n import _
from mhtool.network.domain import reports as domain
from mhtool.network.domain import roster
from mhtool.network.domain.columns import STATUS_CHOICES, TEMPLATE_HEADER, TOLD_CHOICES, fold
from mhtool.network.usecases.roster import PERMISSION, in_scope_members

IMPORT_ACTION = "network.import_reports"
REPORTER_ROLE = {"class": "peer_monitor", "dorm": "dorm_head"}


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_students(store, reports: list[dict], file: str) -> tuple[dict[str, dict], list[Problem]]:
    """The dossiers of the named students, by number; a number nobody in the caller's colleges has is a problem."""
    numbers = {n["student_no"] for r in reports for n in r["named"]}
    found = store.students.by_numbers(numbers) if numbers else {}
    problems: list[Problem] = []
    students: dict[str, dict] = {}
    for r in reports:
        for n in r["named"]:
            where = {"file": file, "sheet": n.get("sheet") or None, "row": n.get("row")}
            student = found.get(n["student_no"])
            if student is None or student.get("erased") or not store.in_scope(student.get("college")):
                problems.append(Problem(_("no student with this number in the dossiers"), column=n.get("header"), value=n["student_no"], **where))
                continue
            name = n.get("student_name") or ""
            if name and fold(name) != fold(student.get("name") or ""):
                problems.append(
                    Problem(
                        _("the name does not match the dossier of student {student_no}").format(student_no=n["student_no"]),
                        column=n.get("name_header"), value=name, **where,
                    )  # fmt: skip
                )
                continue
            students[n["student_no"]] = student
    return students, problems


def _refused(name: str, problems: list[Problem]) -> dict:
    return {"file": name, "status": "refused", "problems": [p.as_dict() for p in problems], "_problems": problems}


def _one_file(store, path: Path, units: domain.Units, default_period: str | None, today: date) -> dict:
    from mhtool.io.network_sheets import read_tables
    from mhtool.signals.usecases.peer import open_peer_signal

    name = path.name
    try:
        tables = read_tables(path)
    except InvalidInput as exc:
        return _refused(name, [Problem(exc.message), *exc.problems])
    rows: list[domain.Row] = []
    problems: list[Problem] = []
    for table in tables:
        found, trouble = domain.read_rows(table.file, table.sheet, table.rows, units, period=default_period)
        rows += found
        problems += trouble
    reports, trouble = domain.group(rows)
    problems += trouble
    students, trouble = _check_students(store, reports, name)
    problems += trouble
    if problems:
        return _refused(name, problems)
    if not reports:
        return _refused(name, [Problem(_("no report rows found: every row is empty"), file=name)])
    digest = _digest(path)
    counts = {"reports": len(reports), "zero": 0, "concern": 0, "named": 0, "replaced": 0, "signals": 0}
    periods = sorted({r["period"] for r in reports})
    details = {"file": name, "digest": digest, "periods": periods}
    with store.write(IMPORT_ACTION, details=details) as txn:
        stored: dict[tuple[str, str, str], dict] = {}
        for p in periods:
            for rec in store.network_reports.for_period(p):
                stored[(rec.get("unit_kind"), rec.get("unit"), p)] = rec
        for r in reports:
            current = stored.get((r["unit_kind"], r["unit"], r["period"]))
            counts[r["status"]] += 1
            if current is not None:
                counts["replaced"] += 1
            data = {
                "college": r["college"], "unit_kind": r["unit_kind"], "unit": r["unit"], "period": r["period"],
                "reporter": r["reporter"], "status": r["status"], "named": len(r["named"]), "told_advisor": r["told_advisor"],
                "file": name, "digest": digest, "imported_on": today.isoformat(), "by": store.staff.name,
            }  # fmt: skip
            store.network_reports.put(txn, data, current=current)
            role = REPORTER_ROLE.get(r["unit_kind"], "peer_monitor")
            for n in r["named"]:
                student = students[n["student_no"]]
                content = {
                    "description": n.get("description") or "", "reporter": r["reporter"], "role": role,
                    "unit": r["unit"], "period": r["period"], "told_advisor": n.get("told"),
                }  # fmt: skip
                open_peer_signal(txn, student["id"], today, r["college"], r["period"], r["unit"], content)
                txn.target(f"students/{student['id']}")
                counts["named"] += 1
                counts["signals"] += 1
        txn.details.update(counts)
    return {"file": name, "status": "imported", "periods": periods, "sheets": len(tables), **counts, "problems": []}


def import_reports(store, paths, *, period: str | None = None, today: date, progress=None) -> dict:
    """Import report files one by one (see the module's text); returns the summary, refused files with their problems."""
    store.require(PERMISSION, action=IMPORT_ACTION)
    default_period = domain.period_label(period) if period else None
    paths = [Path(p) for p in paths]
    units = domain.Units.of(roster.units(in_scope_members(store)))
    files = []
    if progress is None:
        for path in paths:
            files.append(_one_file(store, path, units, default_period, today))
    else:
        with progress(len(paths), _("importing the reports")) as advance:
            for path in paths:
                files.append(_one_file(store, path, units, default_period, today))
                advance(1)
    problems = [p for f in files for p in f.pop("_problems", [])]
    imported = [f["file"] for f in files if f["status"] == "imported"]
    refused = [f["file"] for f in files if f["status"] == "refused"]
    totals = {k: sum(f.get(k, 0) for f in files) for k in ("reports", "zero", "concern", "named", "replaced", "signals")}
    return {"files": files, "imported": imported, "refused": refused, **totals, "problem_list": problems}


def counted_periods(label: str) -> tuple[str, ...]:
    """The periods whose reports count for ``label``: a week itself; a month, and the weeks whose Monday lies in it (as the monthly report counts)."""
    if "W" in label:
        return (label,)
    year, month = (int(part) for part in label.split("-"))
    first = date(year, month, 1)
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return network_periods("month", first, last)


def missing(store, period: str, *, college: str | None = None) -> dict:
    """Classes and dorms of the roster with no report for ``period``, by college, with whom to ask; audited."""
    action = "network.missing"
    store.require(PERMISSION, action=action)
    label = domain.period_label(period)
    if college:
        store.require_college(college, action=action)
    members = in_scope_members(store)
    reported = {(r.get("unit_kind"), r.get("unit")) for r in store.network_reports.for_periods(counted_periods(label)) if store.in_scope(r.get("college"))}
    colleges = domain.missing(roster.units(members), reported, college=college)
    contacts: dict[tuple[str, str], list[dict]] = {}
    for m in members:
        if m.get("role") in ("peer_monitor", "dorm_head"):
            contacts.setdefault((m["unit_kind"], m["unit"]), []).append({"name": m.get("name") or "", "phone": m.get("phone") or ""})
    for c in colleges:
        for u in c["missing"]:
            u["contacts"] = contacts.get((u["unit_kind"], u["unit"]), [])
    totals = {k: sum(c[k] for c in colleges) for k in ("expected", "reported")}
    total_missing = sum(len(c["missing"]) for c in colleges)
    store.audit_read(action, details={"period": label, "college": college, "missing": total_missing, **totals})
    return {"period": label, "college": college, **totals, "missing": total_missing, "colleges": colleges}


def template(store, exports, college: str, out, *, period: str | None = None) -> dict:
    """Write the report template of ``college``: one sheet per class (and dorm) of the roster, pre-filled; audited."""
    from mhtool.io.network_sheets import TemplateSheet, write_template
    from mhtool.io.xlsx import out_path_for

    action = "network.template"
    store.require(PERMISSION, action=action)
    college = (college or "").strip()
    store.require_college(college, action=action)
    label = domain.period_label(period) if period else ""
    units = [u for u in roster.units(in_scope_members(store)) if u[0] == college]
    if not units:
        raise NotFound(
            _("no class or dorm of {college} in the network roster").format(college=college),
            hint=_("import the roster first: `mhtool network import FILE`"),
        )
    period_header = "月份" if label and "W" not in label else "周次"
    sheets = []
    for _college, kind, unit in sorted(units, key=lambda u: (u[1] != "class", u[2])):
        header = [period_header if h == "周次" else ("宿舍" if (h == "班级" and kind == "dorm") else h) for h in TEMPLATE_HEADER]
        prefilled = {"学院": college, ("宿舍" if kind == "dorm" else "班级"): unit, period_header: label}
        sheets.append(TemplateSheet(unit, header, prefilled, {"本期情况": STATUS_CHOICES, "是否已告知辅导员": TOLD_CHOICES}, wide=frozenset({"情况描述"})))
    name = f"{college}_上报模板{'_' + label if label else ''}.xlsx"
    path = out_path_for(out, name)
    exports.publish(
        path, lambda tmp: write_template(tmp, sheets), action=action, what=_("a network report template"), identifiable=False,
        details={"college": college, "period": label or None, "sheets": len(sheets)},
    )  # fmt: skip
    return {"path": str(path), "college": college, "period": label or None, "sheets": len(sheets), "units": [s.name for s in sheets]}
