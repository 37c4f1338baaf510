"""The 咨询与活动 sheet: what it counts, 环比, what a clerk's report leaves out, and that it prints like the others."""

from __future__ import annotations

from datetime import date, datetime

import openpyxl

from mhtool.domain.document import Report
from mhtool.domain.periods import Period, month_period, week_period
from mhtool.io.xlsx import printable_width_units, write_report
from mhtool.report.domain.counseling import CounselingData, counseling_sheet, previous_period
from mhtool.report.domain.redact import KnownPeople, redact_report

GEN = datetime(2026, 12, 1, 8, 0)
NAMES = {"zhang": "张华", "wang": "王立"}


def session(day: str, sid: str, counselor: str = "zhang", college: str = "法学院", concern: str | None = "emotion", mode: str = "in_person") -> dict:
    return {"date": day, "student_id": sid, "college": college, "counselor": counselor, "mode": mode, "concern": concern}


def rows(sessions=(), crises=(), meetings=(), activities=(), clinical=True) -> dict:
    return {"clinical": clinical, "sessions": list(sessions), "crises": list(crises), "meetings": list(meetings), "activities": list(activities)}


def november(clinical: bool = True) -> CounselingData:
    current = rows(
        [
            session("2026-11-03", "s1"), session("2026-11-10", "s1"), session("2026-11-17", "s1", concern="academic"),
            session("2026-11-05", "s2", counselor="wang", college="文学院", mode="phone"), session("2026-11-12", "s3", concern="romance"),
        ],
        crises=[{"date": "2026-11-20", "student_id": "s4", "college": "文学院"}],
        meetings=[
            {"date": "2026-11-06", "group": "g1", "name": "人际交往成长小组", "college": "", "present": ["s5", "s6", "s7"]},
            {"date": "2026-11-13", "group": "g1", "name": "人际交往成长小组", "college": "", "present": ["s5", "s6"]},
        ],
        activities=[
            {"date": "2026-11-08", "kind": "lecture", "title": "讲座", "head_count": 300, "college": ""},
            {"date": "2026-11-20", "kind": "class_meeting", "title": "班会", "head_count": 40, "college": "法学院"},
        ],
        clinical=clinical,
    )  # fmt: skip
    previous = rows([session("2026-10-20", "s1"), session("2026-10-21", "s2", counselor="wang", college="文学院")], clinical=clinical)
    previous["meetings"] = [{"date": "2026-10-30", "group": "g1", "name": "人际交往成长小组", "college": "", "present": ["s5", "s6", "s7", "s8"]}]
    previous["activities"] = [{"date": "2026-10-10", "kind": "lecture", "title": "讲座", "head_count": 200, "college": ""}]
    return CounselingData(current=current, previous=previous, staff_names=NAMES)


def _by(sheet) -> dict[tuple[str, str], dict]:
    return {(r["dimension"], r["item"]): r for r in sheet.records()}


def test_the_monthly_sheet_counts_sessions_groups_activities_and_crises_with_the_change():
    sheet = counseling_sheet(november(), month_period(2026, 11))
    got = _by(sheet)
    total = got["个体咨询", "合计"]
    assert (total["count"], total["people"], total["previous"], total["change"]) == (5, 3, 2, 1.5)
    assert (got["个体咨询·咨询师", "张华"]["count"], got["个体咨询·咨询师", "张华"]["people"]) == (4, 2)
    assert (got["个体咨询·咨询师", "王立"]["count"], got["个体咨询·咨询师", "王立"]["change"]) == (1, 0.0)
    assert got["个体咨询·学院", "法学院"]["count"] == 4 and got["个体咨询·学院", "文学院"]["count"] == 1
    assert got["个体咨询·问题类别", "情绪困扰"]["count"] == 3 and got["个体咨询·问题类别", "学业压力"]["count"] == 1
    assert got["个体咨询·问题类别", "恋爱情感"]["people"] == 1
    assert not any(d.endswith("咨询方式") for d, _item in got)
    groups = got["团体辅导", "合计"]
    assert (groups["events"], groups["count"], groups["people"], groups["previous"], groups["change"]) == (2, 5, 3, 4, 0.25)
    assert got["团体辅导", "人际交往成长小组"]["events"] == 2
    acts = got["心理健康活动", "合计"]
    assert (acts["events"], acts["count"], acts["previous"], acts["change"]) == (2, 340, 200, 0.7)
    assert got["心理健康活动", "主题班会"]["count"] == 40 and got["心理健康活动", "主题班会"]["change"] is None  # none the month before
    crises = got["危机干预", "危机事件"]
    assert (crises["count"], crises["people"], crises["previous"]) == (1, 1, 0)
    assert sheet.signatures and sheet.columns[5].header("zh") == "上月人次"
    assert "s1" not in str(sheet.records())  # no student is listed


def test_a_report_without_the_clinical_key_counts_but_names_no_concern():
    sheet = counseling_sheet(november(clinical=False), month_period(2026, 11))
    got = _by(sheet)
    assert got["个体咨询", "合计"]["count"] == 5
    (withheld,) = [r for r in sheet.records() if r["dimension"] == "个体咨询·问题类别"]
    assert withheld["count"] is None and "咨询师或管理员" in withheld["item"]
    assert not any(r["item"] in ("情绪困扰", "学业压力", "恋爱情感") for r in sheet.records())
    assert any("文员" in n for n in sheet.notes)


def test_the_weekly_sheet_is_the_weeks_sessions_by_counselor_and_the_totals():
    week = week_period(2026, 46)
    sheet = counseling_sheet(november(), week, lang="en", detail=False)
    dimensions = [r["dimension"] for r in sheet.records()]
    assert dimensions == ["Individual counseling", "Sessions by counselor", "Sessions by counselor", "Group counseling", "Activities", "Crisis intervention"]
    assert sheet.columns[5].header("en") == "Previous week"
    assert previous_period(week) == week_period(2026, 45)
    assert previous_period(month_period(2026, 1)) == month_period(2025, 12)
    span = Period("range", date(2026, 11, 1), date(2026, 11, 10), "2026-11-01..2026-11-10")
    before = previous_period(span)
    assert (before.start, before.end) == (date(2026, 10, 22), date(2026, 10, 31))


def test_an_empty_period_says_so():
    sheet = counseling_sheet(CounselingData(current=rows(), previous=rows()), month_period(2026, 11))
    assert sheet.notes[0].startswith("本期无个体咨询")
    assert _by(sheet)["个体咨询", "合计"]["count"] == 0


def test_the_workbook_prints_on_one_page_width_with_title_rows_and_signature_block(tmp_path):
    report = Report("monthly", "心理健康工作月报", "Monthly report", month_period(2026, 11), GEN, sheets=[counseling_sheet(november(), month_period(2026, 11))])
    path = write_report(report, tmp_path / "月报.xlsx")
    ws = openpyxl.load_workbook(path)["咨询与活动"]
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows and ws.oddFooter.center.text
    widths = sum(ws.column_dimensions[c].width or 0 for c in "ABCDEFG")
    assert widths <= printable_width_units(ws.page_setup.orientation or "portrait") * 1.05
    cells = [c for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert "人次环比" in cells and "张华" in cells and any("负责人签字" in str(c) for c in cells)


def test_a_redacted_copy_names_no_counselor():
    report = Report("monthly", "月报", "Monthly", month_period(2026, 11), GEN, sheets=[counseling_sheet(november(), month_period(2026, 11))])
    known = KnownPeople.from_records([], [{"name": "zhang", "display_name": "张华", "role": "counselor"}, {"name": "wang", "display_name": "王立", "role": "counselor"}])
    redacted = redact_report(report, known)
    text = str(redacted.sheets[0].records())
    assert "张华" not in text and "王立" not in text and "人际交往成长小组" in text
