"""多源预警 in the weekly and monthly reports: new signals by rule and college, reviewed or pending at the end.

The builder on plain signal dicts (boundaries of the period and of a review),
then a real store: campus files generated here (made-up people) imported
through `mhtool signals import`, reviewed through `mhtool signals review`, and
the reports read back through the CLI as JSON and as workbooks (openpyxl).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, datetime, timedelta

import openpyxl
import pytest

from mhtool.domain.periods import month_period, week_period
from mhtool.io.xlsx import write_report
from mhtool.report.domain import builders, figures
from mhtool.report.domain.builders import CaseData
from tests.conftest import Cli

WEEK = week_period(2026, 47)  # 2026-11-16 .. 2026-11-22
GEN = datetime(2026, 11, 30, 9, 0)
# The campus rules and the class network's peer reports: a column each, in this order.
RULES = ("dorm_out", "meals_drop", "hidden_hardship", "first_fail", "academic_warning", "credits_short", "peer_report")
ROSTER = {c: {"on_roll": 10, "groups": {}, "any_group": 0} for c in ("外国语学院", "文学院", "理学院")}
_seq = iter(range(1, 10_000))


def signal(rule: str, college: str, opened: str, reviewed: str | None = None, outcome: str | None = None, source: str = "dorm") -> dict:
    return {
        "id": f"s{next(_seq)}", "student_id": f"st{next(_seq)}", "rule": rule, "source": source, "college": college,
        "opened_on": opened, "status": "reviewed" if reviewed else "open", "outcome": outcome, "reviewed_on": reviewed,
    }  # fmt: skip


def data(signals: list[dict], *, college: str | None = None, today: date = date(2026, 11, 30), **kw) -> CaseData:
    return CaseData(today=today, signals=signals, roster=dict(ROSTER), college=college, **kw)


def sheet(report):
    return report.sheet("signals")


def by_college(report) -> dict[str, dict]:
    return {r["college"]: r for r in sheet(report).records()}


# -- the figures --------------------------------------------------------------------------------------


def test_new_reviewed_and_pending_at_the_boundaries_of_a_period():
    s = signal("dorm_out", "文学院", "2026-11-16", reviewed="2026-11-22", outcome="dismissed")
    assert figures.signal_is_new(s, "2026-11-16", "2026-11-22")
    assert not figures.signal_is_new(s, "2026-11-17", "2026-11-22")
    assert not figures.signal_is_new(signal("dorm_out", "文学院", "2026-11-23"), "2026-11-16", "2026-11-22")
    # Reviewed on the last day: reviewed at its end, not pending; the day before, still pending.
    assert figures.signal_reviewed_at(s, "2026-11-22") and not figures.signal_pending_at(s, "2026-11-22")
    assert figures.signal_pending_at(s, "2026-11-21") and figures.signal_outcome_at(s, "2026-11-21") is None
    assert figures.signal_outcome_at(s, "2026-11-22") == "dismissed"
    # Not yet opened: neither pending nor reviewed.
    assert not figures.signal_pending_at(s, "2026-11-15")


def test_counts_by_college_split_new_signals_by_their_state_at_the_end():
    signals = [
        signal("dorm_out", "文学院", "2026-11-17"),
        signal("dorm_out", "文学院", "2026-11-20", reviewed="2026-11-21", outcome="watch"),
        signal("first_fail", "文学院", "2026-11-22", reviewed="2026-11-25", outcome="noted", source="academic"),  # after the end: pending
        signal("meals_drop", "理学院", "2026-11-02", source="card"),  # older, still pending: backlog only
        signal("meals_drop", "理学院", "2026-11-01", reviewed="2026-11-18", outcome="dismissed", source="card"),  # older, reviewed in the week
    ]
    counts = figures.signal_counts(signals, "2026-11-16", "2026-11-22")
    wen, li = counts["文学院"], counts["理学院"]
    assert (wen["new"], wen["new:dorm_out"], wen["new:first_fail"], wen["reviewed"], wen["pending"], wen["pending_end"]) == (3, 2, 1, 1, 2, 2)
    assert wen["outcome:watch"] == 1 and wen["outcome:noted"] == 0
    assert (li["new"], li["pending_end"], li["reviewed"]) == (0, 1, 0)


# -- the sheet ---------------------------------------------------------------------------------------------


def test_no_signals_every_college_listed_with_zeros_and_a_zero_line():
    report = builders.weekly_report(data([]), WEEK, generated_at=GEN)
    s = sheet(report)
    assert [r["college"] for r in s.records()] == sorted(ROSTER)
    assert all(v == 0 for r in s.records() for k, v in r.items() if k != "college")
    assert s.total_record()["new"] == 0 and s.total_record()["pending_end"] == 0
    assert [c.key for c in s.columns][1 : 1 + len(RULES)] == [f"new_{rule}" for rule in RULES]
    assert s.notes[0].startswith("零报告") and "无新增多源预警信号" in s.notes[0]
    assert "不是诊断" in s.notes[-1] and "2026-11-22" in s.notes[-1]


def test_rule_by_college_reviewed_and_pending_with_totals():
    signals = [
        signal("dorm_out", "文学院", "2026-11-17"),
        signal("dorm_out", "文学院", "2026-11-18", reviewed="2026-11-20", outcome="dismissed"),
        signal("hidden_hardship", "理学院", "2026-11-19", source="card"),
        signal("credits_short", "理学院", "2026-11-22", reviewed="2026-11-22", outcome="noted", source="academic"),
        signal("first_fail", "外国语学院", "2026-11-01", source="academic"),  # before the week: only pending at the end
        signal("first_fail", "外国语学院", "2026-11-23", source="academic"),  # after the week: not counted at all
    ]
    report = builders.weekly_report(data(signals, today=date(2026, 11, 30)), WEEK, generated_at=GEN)
    rows = by_college(report)
    assert (rows["文学院"]["new_dorm_out"], rows["文学院"]["new"], rows["文学院"]["reviewed"], rows["文学院"]["outcome_dismissed"]) == (2, 2, 1, 1)
    assert (rows["文学院"]["pending"], rows["文学院"]["pending_end"]) == (1, 1)
    assert (rows["理学院"]["new_hidden_hardship"], rows["理学院"]["new_credits_short"], rows["理学院"]["outcome_noted"]) == (1, 1, 1)
    assert (rows["外国语学院"]["new"], rows["外国语学院"]["pending_end"]) == (0, 1)
    total = sheet(report).total_record()
    assert (total["college"], total["new"], total["reviewed"], total["pending"], total["pending_end"]) == ("合计", 4, 2, 2, 3)
    assert total["new"] == sum(total[f"new_{rule}"] for rule in RULES) == total["reviewed"] + total["pending"]
    assert total["reviewed"] == total["outcome_watch"] + total["outcome_noted"] + total["outcome_dismissed"]
    assert not sheet(report).notes[0].startswith("零报告")


def test_a_past_period_counts_a_later_review_as_pending():
    """Generated again after the review, last week's report still says what was pending on its last day."""
    signals = [signal("dorm_out", "文学院", "2026-11-20", reviewed="2026-11-27", outcome="watch")]
    row = by_college(builders.weekly_report(data(signals), WEEK, generated_at=GEN))["文学院"]
    assert (row["new"], row["reviewed"], row["pending"], row["pending_end"]) == (1, 0, 1, 1)


def test_the_week_running_today_ends_today():
    signals = [signal("dorm_out", "文学院", "2026-11-18"), signal("dorm_out", "文学院", "2026-11-21")]
    row = by_college(builders.weekly_report(data(signals, today=date(2026, 11, 19)), WEEK, generated_at=GEN))["文学院"]
    assert (row["new"], row["pending_end"]) == (1, 1)


def test_a_college_report_lists_only_its_college_and_unknown_rules_get_a_column():
    signals = [signal("dorm_out", "理学院", "2026-11-17"), signal("late_night_meals", "理学院", "2026-11-18", source="card")]
    report = builders.weekly_report(data(signals, college="理学院"), WEEK, generated_at=GEN)
    assert [r["college"] for r in sheet(report).records()] == ["理学院"]
    row = sheet(report).records()[0]
    assert row["new_late_night_meals"] == 1 and row["new"] == 2
    assert [c.key for c in sheet(report).columns].index("new_late_night_meals") == 1 + len(RULES)


def test_the_store_rule_names_head_the_columns():
    rules = (("dorm_out", "夜不归宿", "nights out"), ("first_fail", "首次挂科", "first failed course"))
    s = sheet(builders.weekly_report(data([], signal_rules=rules), WEEK, generated_at=GEN))
    assert [c.header_zh for c in s.columns][1:3] == ["夜不归宿", "首次挂科"]
    assert [c.header_en for c in s.columns][1:3] == ["Nights out", "First failed course"]


def test_weekly_and_monthly_of_the_same_days_agree_and_the_month_keeps_its_other_sheets():
    signals = [signal("dorm_out", "文学院", "2026-11-17"), signal("first_fail", "理学院", "2026-11-20", reviewed="2026-11-21", outcome="noted")]
    weekly = builders.weekly_report(data(signals), WEEK, generated_at=GEN)
    monthly = builders.monthly_report(data(signals), WEEK, generated_at=GEN)
    assert sheet(weekly).records() == sheet(monthly).records() and sheet(weekly).total_record() == sheet(monthly).total_record()
    november = builders.monthly_report(data(signals), month_period(2026, 11), generated_at=GEN)
    assert sheet(november).total_record()["new"] == 2
    keys = [s.key for s in november.sheets]
    assert keys.index("signals") == keys.index("special_groups") + 1 and keys[-1] == "distribution"


def test_the_workbook_sheet_in_both_languages(tmp_path):
    signals = [signal("dorm_out", "文学院", "2026-11-17"), signal("hidden_hardship", "理学院", "2026-11-19", source="card")]
    for lang, name, header in (("zh", "多源预警", "未归寝"), ("en", "Signals", "Nights out")):
        path = write_report(builders.weekly_report(data(signals), WEEK, generated_at=GEN, lang=lang), tmp_path / f"{lang}.xlsx")
        ws = openpyxl.load_workbook(path)[name]
        rows = [r for r in ws.iter_rows(values_only=True)]
        head = next(i for i, r in enumerate(rows) if r and r[1] == header)
        body = {r[0]: r for r in rows[head + 1 : head + 1 + len(ROSTER)]}
        assert set(body) == set(ROSTER) and body["文学院"][1] == 1
        total = rows[head + 1 + len(ROSTER)]
        assert total[0] in ("合计", "Total") and total[len(RULES) + 1] == 2


# -- through the store: imports, reviews, the radar and the reports ---------------------------------------

PURPOSE = "多源预警统计测试"


def _write_passes(path, people: dict[str, set[int]], first: date, nights: int = 7) -> None:
    """A 门禁 export (学号, 姓名, 楼栋, 进出方向, 通行时间): out each morning, back each evening, away on the nights given."""
    rows = []
    for no, away in people.items():
        for i in range(nights + 1):
            day = first + timedelta(days=i)
            rows.append((no, "测试", "1栋", "出", f"{day} 07:30:00"))
            if i == nights:
                break
            if i in away:
                rows.append((no, "测试", "1栋", "进", f"{day} 18:00:00"))
                rows.append((no, "测试", "1栋", "出", f"{day} 21:00:00"))
                rows.append((no, "测试", "1栋", "进", f"{day + timedelta(days=1)} 06:10:00"))
            else:
                rows.append((no, "测试", "1栋", "进", f"{day} 21:40:00"))
    rows.sort(key=lambda r: r[4])
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("学号", "姓名", "楼栋", "进出方向", "通行时间"))
        writer.writerows(rows)


@pytest.fixture(scope="module")
def campus(tmp_path_factory):
    """Four students in two colleges: three trip 未归寝 in the week of 2026-11-16 (one also the week before); one is reviewed."""
    tmp = tmp_path_factory.mktemp("signals_report")
    store, key = tmp / "store.db", tmp / "admin.key"
    Cli(env={"MHTOOL_STORE": str(store)}).ok("init", "--admin", "admin", "--key-file", str(key))
    admin = Cli(env={"MHTOOL_STORE": str(store), "MHTOOL_KEY_FILE": str(key), "MHTOOL_USER": "admin"})
    people = {"2024010001": "文学院", "2024010002": "文学院", "2024020003": "理学院", "2024020004": "理学院"}
    for no, college in people.items():
        admin.ok("cases", "add", no, "--name", f"测试{no[-1]}", "--college", college, "--class", "一班", "--grade", "2024级")
    users = {}
    for name, role in (("zhang", "counselor"), ("li", "clerk")):
        admin.ok("staff", "add", name, "--role", role, "--key-file", str(tmp / f"{name}.key"))
        users[name] = Cli(env={"MHTOOL_STORE": str(store), "MHTOOL_KEY_FILE": str(tmp / f"{name}.key"), "MHTOOL_USER": name})
    counselor = users["zhang"]
    earlier, week = tmp / "门禁_1109.csv", tmp / "门禁_1116.csv"
    _write_passes(earlier, {"2024010001": {1, 3}, "2024010002": set(), "2024020003": set(), "2024020004": set()}, date(2026, 11, 9))
    _write_passes(week, {"2024010001": set(), "2024010002": {0, 2}, "2024020003": {4, 5}, "2024020004": {6}}, date(2026, 11, 16))
    for path in (earlier, week):
        counselor.ok("signals", "import", str(path), "--source", "dorm", "--purpose", PURPOSE)
    radar = json.loads(counselor.ok("signals", "list", "--json").stdout)
    ids = {r["student_no"]: r for r in radar}
    counselor.ok("signals", "review", "2024020003", "--outcome", "dismissed", "--reason", "已与辅导员核实，周末回家", "--date", "2026-11-22")
    return {"counselor": counselor, "clerk": users["li"], "radar_before": ids, "tmp": tmp}


def _report(cli, *args) -> dict:
    return json.loads(cli.ok("report", *args, "--json", "--purpose", PURPOSE).stdout)


def test_the_report_counts_what_the_imports_raised_and_the_review_decided(campus):
    before = campus["radar_before"]
    assert set(before) == {"2024010001", "2024010002", "2024020003"}, "one night out (2024020004) is no signal"
    weekly = _report(campus["counselor"], "weekly", "--week", "2026-W47")
    rows = {r["college"]: r for r in weekly["sheets"]["signals"]}
    assert (rows["文学院"]["new_dorm_out"], rows["文学院"]["pending"], rows["文学院"]["pending_end"]) == (1, 1, 2)
    assert (rows["理学院"]["new_dorm_out"], rows["理学院"]["reviewed"], rows["理学院"]["outcome_dismissed"], rows["理学院"]["pending_end"]) == (1, 1, 1, 0)
    total = weekly["totals"]["signals"]
    assert (total["new"], total["reviewed"], total["pending"], total["pending_end"]) == (2, 1, 1, 2)
    earlier = _report(campus["counselor"], "weekly", "--week", "2026-W46")
    assert earlier["totals"]["signals"]["new"] == 1 and earlier["totals"]["signals"]["pending_end"] == 1


def test_pending_at_the_end_of_today_is_the_radar(campus):
    """A period that ends today: 期末待研判 is every open signal `signals list` shows, college by college."""
    monthly = _report(campus["counselor"], "monthly", "--from", "2026-11-01")
    radar = json.loads(campus["counselor"].ok("signals", "list", "--json").stdout)
    open_by_college = Counter()
    for row in radar:
        open_by_college[row["college"]] += row["signals"]
    assert {r["college"]: r["pending_end"] for r in monthly["sheets"]["signals"] if r["pending_end"]} == dict(open_by_college)
    assert monthly["totals"]["signals"]["new"] == 3


def test_a_clerk_counts_the_signals_but_sees_no_one_with_a_review_task(campus):
    clerk, counselor = campus["clerk"], campus["counselor"]
    as_clerk = _report(clerk, "weekly", "--week", "2026-W47")
    as_counselor = _report(counselor, "weekly", "--week", "2026-W47")
    assert as_clerk["sheets"]["signals"] == as_counselor["sheets"]["signals"]
    # The 研判 tasks of the open signals are due within days: overdue by the end of a later period.
    clerk_month = _report(clerk, "monthly", "--from", "2026-11-01")
    counselor_month = _report(counselor, "monthly", "--from", "2026-11-01")
    review_tasks = [r for r in counselor_month["sheets"]["overdue"] if r["task"] == "signal_review"]
    assert review_tasks and all(r["student_no"] for r in review_tasks), "the open signals' 研判 tasks are overdue"
    # The clerk's 逾期 sheet has the same rows and days (the figures agree), but not whose 研判 task each is.
    masked = [r for r in clerk_month["sheets"]["overdue"] if r["task"] == "signal_review"]
    assert len(masked) == len(review_tasks) and not any(r["student_no"] or r["name"] or r["counselor"] for r in masked)
    assert sorted((r["days_overdue"], r["college"]) for r in masked) == sorted((r["days_overdue"], r["college"]) for r in review_tasks)
    assert clerk_month["totals"]["summary"]["overdue_tasks"] == counselor_month["totals"]["summary"]["overdue_tasks"] == len(clerk_month["sheets"]["overdue"])


def test_the_workbooks_have_the_signals_sheet(campus):
    tmp = campus["tmp"]
    for cli, name in ((campus["counselor"], "counselor.xlsx"), (campus["clerk"], "clerk.xlsx")):
        cli.ok("report", "weekly", "--week", "2026-W47", "--out", str(tmp / name), "--purpose", PURPOSE)
        wb = openpyxl.load_workbook(tmp / name)
        assert wb.sheetnames.index("上报情况") == wb.sheetnames.index("多源预警") + 1
        cells = [c for row in wb["多源预警"].iter_rows(values_only=True) for c in row if c is not None]
        assert "未归寝" in cells and "期末待研判（含往期）" in cells
        # Counts only: no student number, no name, no explanation.
        assert not any(str(c).startswith("2024") for c in cells) and not any("晚未归寝" in str(c) for c in cells)
    clerk_overdue = openpyxl.load_workbook(tmp / "clerk.xlsx")["逾期"]
    cells = [str(c) for row in clerk_overdue.iter_rows(values_only=True) for c in row if c]
    # The 研判 tasks of the week are not overdue yet at its end; none names a student anyway.
    assert not any(c.startswith("2024") for c in cells)
