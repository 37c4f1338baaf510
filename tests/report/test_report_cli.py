"""`mhtool report weekly|monthly` end to end: real store, real workbooks, the consistency rules of the reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart, LineChart

from mhtool.domain import dates
from mhtool.domain.vocabulary import LEVEL_COLOURS
from mhtool.domain.periods import week_of
from tests.report import report_data as rd

W = date(2026, 9, 28)  # Monday of 2026-W40, a week long past
WEEK = "2026-W40"


def _wb(path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)


def _table(ws) -> list[dict]:
    """Data rows of a report sheet as {header: value} (row 1 title, row 2 header)."""
    headers = [c.value for c in ws[2]]
    out = []
    for row in ws.iter_rows(min_row=3, values_only=True):
        if row[0] is None or row[0] in ("合计", "Total"):
            break
        out.append(dict(zip(headers, row)))
    return out


def _total(ws) -> dict:
    headers = [c.value for c in ws[2]]
    for row in ws.iter_rows(min_row=3, values_only=True):
        if row[0] in ("合计", "Total"):
            return dict(zip(headers, row))
    raise AssertionError("no total row")


@pytest.fixture
def school(store_env):
    """Two colleges, a week with every kind of change, and activity on both sides of it."""
    store = store_env.open()
    with store:
        a = rd.add_student(store, "2024000101", "张三丰", "文学院", "汉语言1班")
        b = rd.add_student(store, "2024000102", "李四", "文学院", "汉语言2班")
        c = rd.add_student(store, "2024000203", "王五", "理学院", "数学1班")
        d = rd.add_student(store, "2024000204", "赵六", "理学院", "数学1班")
        e = rd.add_student(store, "2024000205", "钱七", "理学院", "物理1班")
        rd.add_student(store, "2024000306", "孙八", "外国语学院", "英语1班")
        # Before the week: a, b and d watched.
        rd.level(store, a, "yellow", W - timedelta(days=40))
        rd.level(store, b, "orange", W - timedelta(days=20))
        rd.level(store, d, "yellow", W - timedelta(days=10))
        rd.entry(store, a, "measure", W - timedelta(days=39), measure_kind="定期谈话", description="每两周谈话一次")
        # In the week: a raised then lowered back; b closed; c new; d status change; e crisis only.
        rd.level(store, a, "red", W + timedelta(days=1), reason="=HYPERLINK(\"http://x\") 情绪波动")
        rd.level(store, a, "yellow", W + timedelta(days=3))
        rd.close(store, b, W + timedelta(days=2))
        rd.interview(store, c, W + timedelta(days=2), confirmed="orange")
        rd.status(store, d, "leave", W + timedelta(days=4))
        rd.entry(store, e, "crisis", W + timedelta(days=5), what="深夜情绪激动", actions="辅导员陪同")
        rd.entry(store, c, "guardian_contact", W + timedelta(days=3), guardian="母亲", content="告知情况")
        rd.follow_up(store, a, W + timedelta(days=4))
        # After the week: more changes that a past report must not see.
        rd.level(store, c, "red", W + timedelta(days=20))
        rd.close(store, d, W + timedelta(days=25))
    return store_env


def test_weekly_workbook_sheets_and_consistency(school, tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    result = school.cli.ok("report", "weekly", "--week", WEEK, "--out", f"{out}/", "--print-path")
    path = out / f"周报_{WEEK}.xlsx"
    assert result.stdout == f"{path}\n"
    wb = _wb(path)
    assert wb.sheetnames == ["汇总", "汇总(明细)", "关注名单", "本周变动", "转介", "逾期", "三个明确", "特殊群体", "多源预警", "上报情况", "咨询与活动"]

    summary = {r["学院"]: r for r in _table(wb["汇总"])}
    # Every college of the roster is listed, 外国语学院 with nothing to count as well.
    assert list(summary) == ["外国语学院", "文学院", "理学院"]
    assert all(v == 0 for k, v in summary["外国语学院"].items() if k != "学院")
    for r in _table(wb["汇总(明细)"]):
        summary[r["学院"]].update(r)
    wen, li = summary["文学院"], summary["理学院"]
    assert (wen["期初三级"], wen["期初二级"], wen["期初合计"]) == (1, 1, 2)
    assert (wen["期末三级"], wen["期末二级"], wen["期末合计"], wen["环比"]) == (1, 0, 1, -1)
    # Raised and lowered within the week: once in each column.
    assert (wen["升级"], wen["降级"], wen["解除关注"], wen["新增关注"]) == (1, 1, 1, 0)
    assert (li["期初合计"], li["期末二级"], li["期末三级"], li["期末合计"], li["环比"]) == (1, 1, 1, 2, 1)
    assert (li["新增关注"], li["约谈人次"], li["家校沟通"], li["危机事件"], li["休学"]) == (1, 1, 1, 1, 1)
    assert wen["回访人次"] == 1

    roster = _table(wb["关注名单"])
    changes = _table(wb["本周变动"])
    total = {**_total(wb["汇总"]), **_total(wb["汇总(明细)"])}
    assert total["期末合计"] == len(roster) == 3
    for col, kind in (("新增关注", "新增关注"), ("升级", "升级"), ("降级", "降级"), ("解除关注", "解除关注")):
        assert total[col] == len({r["学号"] for r in changes if r["变动"] == kind}), col
    assert [r["变动"] for r in changes if r["学号"] == "2024000204"] == ["学籍变动"]
    # The roster shows the level at the end of the week, not today's.
    by_no = {r["学号"]: r for r in roster}
    assert by_no["2024000203"]["关注等级"] == "二级(橙色)"
    assert by_no["2024000101"]["帮扶举措"] == "定期谈话：每两周谈话一次"
    assert by_no["2024000101"]["最近联系"].date() == W + timedelta(days=4)

    # Workbook quality: title with period and time, frozen header, colours, text never a formula.
    ws = wb["关注名单"]
    assert "2026年第40周" in ws["A1"].value and "生成时间" in ws["A1"].value
    assert ws.freeze_panes == "A3"
    level_cell = next(c for c in ws["E"][2:] if c.value == "二级(橙色)")
    assert level_cell.fill.fgColor.rgb.endswith(LEVEL_COLOURS["orange"])
    reasons = [c for c in wb["本周变动"]["K"] if isinstance(c.value, str) and c.value.startswith("=HYPERLINK")]
    assert reasons and all(c.data_type == "s" for c in reasons)
    assert ws.page_setup.orientation == "landscape"


def test_summary_equals_cases_list_today(school, tmp_path):
    today_week = week_of(dates.today()).label
    data = json.loads(school.cli.ok("report", "weekly", "--week", today_week, "--json").stdout)
    listed = json.loads(school.cli.ok("cases", "list", "--json").stdout)
    total = data["totals"]["summary"]
    assert total["end_total"] == len(listed) == len(data["sheets"]["roster"])
    for lv in ("red", "orange", "yellow"):
        assert total[f"end_{lv}"] == sum(1 for r in listed if r["level"] == lv)
    assert sorted(r["student_no"] for r in data["sheets"]["roster"]) == sorted(r["student_no"] for r in listed)


def test_json_has_the_workbook_figures(school, tmp_path):
    data = json.loads(school.cli.ok("report", "weekly", "--week", WEEK, "--json").stdout)
    assert data["report"] == "weekly" and data["period"]["label"] == WEEK
    path = school.cli.ok("report", "weekly", "--week", WEEK, "--out", str(tmp_path / "w.xlsx"), "--print-path").stdout.strip()
    wb = _wb(path)
    rows = _table(wb["汇总"])
    assert [r["学院"] for r in rows] == [r["college"] for r in data["sheets"]["summary"]]
    for wrow, jrow in zip(rows, data["sheets"]["summary"]):
        assert wrow["期末合计"] == jrow["end_total"] and wrow["新增关注"] == jrow["new"] and wrow["环比"] == jrow["change"]
    assert len(_table(wb["本周变动"])) == len(data["sheets"]["changes"])
    assert {r["change"] for r in data["sheets"]["changes"]} == {"raised", "lowered", "closed", "new", "status"}


def test_past_period_is_identical_when_generated_twice(school, tmp_path):
    first = json.loads(school.cli.ok("report", "weekly", "--week", WEEK, "--json").stdout)
    second = json.loads(school.cli.ok("report", "weekly", "--week", WEEK, "--json").stdout)
    first.pop("generated_at"), second.pop("generated_at")
    assert first == second
    a = school.cli.ok("report", "monthly", "--month", "2026-10", "--out", str(tmp_path / "a.xlsx"), "--print-path").stdout.strip()
    b = school.cli.ok("report", "monthly", "--month", "2026-10", "--out", str(tmp_path / "b.xlsx"), "--print-path").stdout.strip()
    wa, wb = _wb(a), _wb(b)
    assert wa.sheetnames == wb.sheetnames
    for name in wa.sheetnames:
        cells_a = [[c for c in row] for row in wa[name].iter_rows(min_row=2, values_only=True)]
        cells_b = [[c for c in row] for row in wb[name].iter_rows(min_row=2, values_only=True)]
        assert cells_a == cells_b, name


def test_out_dir_rerun_replaces_and_cron_prints_nothing_or_only_the_path(school, tmp_path):
    out = tmp_path / "srv"
    out.mkdir()
    cron_key = school.tmp / "cron.key"
    school.cli.ok("staff", "add", "cron", "--role", "clerk", "--key-file", str(cron_key), "--standing-purpose", "每周一例行周报")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MHTOOL_")},
        "MHTOOL_STORE": str(school.path),
        "MHTOOL_KEY_FILE": str(cron_key),
        "MHTOOL_USER": "cron",
    }
    cmd = [sys.executable, "-m", "mhtool", "report", "weekly", "--out", f"{out}/"]
    written = out / f"周报_{week_of(dates.today() - timedelta(days=7)).label}.xlsx"
    # Without a terminal, success is silent (cron mails only failures); --print-path prints the path alone.
    quiet = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == "", quiet.stderr
    proc = subprocess.run([*cmd, "--print-path"], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [str(written)]
    assert [p.name for p in out.iterdir()] == [written.name], "re-running replaces the file"
    # Any failure is a non-zero exit with nothing on stdout.
    bad = subprocess.run([*cmd[:-1], str(tmp_path / "missing" / "x.xlsx")], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert bad.returncode != 0 and bad.stdout == ""
    denied = subprocess.run(cmd, env={**env, "MHTOOL_KEY_FILE": str(tmp_path / "nokey")}, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert denied.returncode == 4 and denied.stdout == ""
    # The job's standing purpose is what the audit log records for its unattended exports.
    entries = json.loads(school.cli.ok("audit", "log", "--limit", "0", "--json").stdout)
    weekly = [e for e in entries if e["action"] == "report.weekly" and e["staff"] == "cron"]
    assert weekly and all(e["details"]["purpose"] == "每周一例行周报" for e in weekly)


def test_a_clerk_without_a_standing_purpose_must_say_why_unless_redacted(school, tmp_path):
    clerk = school.add_staff("wen", "clerk")
    refused = clerk("report", "weekly", "--out", str(tmp_path / "w.xlsx"))
    assert refused.exit_code == 2 and "--purpose" in refused.stderr
    assert not (tmp_path / "w.xlsx").exists()
    clerk.ok("report", "weekly", "--redact", "--out", str(tmp_path / "r.xlsx"))
    clerk.ok("report", "weekly", "--purpose", "学院例会", "--out", str(tmp_path / "p.xlsx"))


def test_clerk_sees_counts_but_no_clinical_text(school):
    clerk = school.add_staff("clerk1", "clerk")
    data = json.loads(clerk("report", "weekly", "--week", WEEK, "--json", "--purpose", "学院例会").stdout)
    assert data["sheets"]["changes"] and all(r["reason"] is None for r in data["sheets"]["changes"])
    assert clerk("report", "crisis", "abcd").exit_code == 5


def test_college_scope_and_option(school):
    scoped = school.add_staff("wen", "counselor", "文学院")
    data = json.loads(scoped("report", "weekly", "--week", WEEK, "--json").stdout)
    assert [r["college"] for r in data["sheets"]["summary"]] == ["文学院"]
    assert {r["college"] for r in data["sheets"]["roster"]} == {"文学院"}
    assert scoped("report", "weekly", "--week", WEEK, "--college", "理学院", "--json").exit_code == 5
    one = json.loads(school.cli.ok("report", "weekly", "--week", WEEK, "--college", "外国语学院", "--json").stdout)
    assert [r["college"] for r in one["sheets"]["summary"]] == ["外国语学院"]
    assert one["totals"]["summary"]["end_total"] == 0


def test_redacted_english_report(school, tmp_path):
    path = school.cli.ok("report", "weekly", "--week", WEEK, "--lang", "en", "--redact", "--out", f"{tmp_path}/", "--print-path").stdout.strip()
    assert Path(path).name == f"weekly_{WEEK}_redacted.xlsx"
    wb = _wb(path)
    assert wb.sheetnames == ["Summary", "Summary (detail)", "Watch list", "Changes", "Referrals", "Overdue", "Three clarities", "Special groups", "Signals", "Network reports", "Counseling"]
    text = " ".join(str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if c is not None)
    for secret in ("张三丰", "李四", "王五", "2024000101", "2024000203"):
        assert secret not in text
    # Issue 13: names and numbers are left out, not masked (张*丰 and 2024****01 still pointed at one student each).
    assert not {"Name", "Student no.", "Class"} & {c.value for c in wb["Watch list"][2]}
    assert "Redacted: so that no row can be told apart" in text
    assert "Level 2 (orange)" in text


def test_week_without_activity_and_empty_store(store_env, tmp_path):
    empty = store_env.cli.ok("report", "weekly", "--week", WEEK, "--out", str(tmp_path / "empty.xlsx"), "--print-path").stdout.strip()
    wb = _wb(empty)
    assert wb.sheetnames == ["汇总", "汇总(明细)", "关注名单", "本周变动", "转介", "逾期", "三个明确", "特殊群体", "多源预警", "上报情况", "咨询与活动"]
    total = _total(wb["汇总"])
    assert all(v == 0 for k, v in total.items() if k != "学院")
    monthly = store_env.cli.ok("report", "monthly", "--month", "2026-10", "--json")
    data = json.loads(monthly.stdout)
    assert [r["total"] for r in data["sheets"]["trend"]] == [0] * 6
    with store_env.open() as store:
        s = rd.add_student(store, "2024000999", "周九", "文学院")
        rd.level(store, s, "yellow", W - timedelta(days=30))
    quiet = json.loads(store_env.cli.ok("report", "weekly", "--week", WEEK, "--json").stdout)
    row = {**quiet["sheets"]["summary"][0], **quiet["sheets"]["summary_detail"][0]}
    assert row["start_yellow"] == row["end_yellow"] == 1
    assert all(row[k] == 0 for k in ("new", "raised", "lowered", "closed", "interviews", "crises", "referrals"))


def test_monthly_has_charts_trend_and_clarities(school, tmp_path):
    path = school.cli.ok("report", "monthly", "--month", "2026-10", "--out", f"{tmp_path}/", "--print-path").stdout.strip()
    assert Path(path).name == "月报_2026-10.xlsx"
    wb = _wb(path)
    assert wb.sheetnames == ["汇总", "汇总(明细)", "关注名单", "本月变动", "转介", "逾期", "三个明确", "特殊群体", "多源预警", "上报情况", "咨询与活动", "筛查统计", "趋势", "等级分布"]
    assert any(isinstance(ch, LineChart) for ch in wb["趋势"]._charts)
    assert any(isinstance(ch, BarChart) for ch in wb["等级分布"]._charts)
    trend = _table(wb["趋势"])
    assert [r["月份"] for r in trend] == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    end_total = _total(wb["汇总"])["期末合计"]
    assert trend[-1]["合计"] == end_total == _total(wb["等级分布"])["合计"] == _total(wb["三个明确"])["关注人数"]
    assert [r["合计"] for r in trend[3:5]] == [1, 3]  # end of August: a; end of September: a, b and d


def test_bad_period_flags_are_usage_errors(school):
    assert school.cli("report", "weekly", "--week", "2026-W60").exit_code == 2
    assert school.cli("report", "weekly", "--week", WEEK, "--from", "2026-09-01").exit_code == 2
    assert school.cli("report", "weekly", "--lang", "fr").exit_code == 2
    assert school.cli("report", "monthly", "--month", "2099-01").exit_code == 2


def test_report_is_audited(school):
    school.cli.ok("report", "weekly", "--week", WEEK, "--json", "--purpose", "校领导例会")
    log = json.loads(school.cli.ok("audit", "log", "--limit", "0", "--json").stdout)
    entry = [e for e in log if e["action"] == "report.weekly"][-1]
    assert entry["details"]["period"] == WEEK and entry["details"]["purpose"] == "校领导例会"
    assert len(entry["targets"]) >= 5


def test_referrals_made_advanced_or_overdue(school):
    school.cli.ok("referral", "hospitals", "add", "示例市精神卫生中心", "--department", "心理门诊", "--level", "三甲")
    # Made in the week and attended in it; made before the week and never attended (overdue in it).
    made = school.cli.ok("referral", "add", "2024000203", "--hospital", "示例市精神卫生中心", "--reason", "持续失眠", "--date", "2026-09-29")
    rid = made.stdout.split()[0]
    school.cli.ok("referral", "update", rid, "--status", "attended", "--visit-date", "2026-10-02", "--date", "2026-10-02")
    school.cli.ok("referral", "add", "2024000101", "--hospital", "示例市精神卫生中心", "--reason", "情绪低落", "--date", "2026-09-10")
    data = json.loads(school.cli.ok("report", "weekly", "--week", WEEK, "--json").stdout)
    rows = {r["student_no"]: r for r in data["sheets"]["referrals"]}
    assert (rows["2024000203"]["event"], rows["2024000203"]["status"]) == ("opened", "attended")
    assert rows["2024000203"]["hospital"] == "示例市精神卫生中心"
    assert rows["2024000101"]["event"] == "overdue" and rows["2024000101"]["alerts"]
    summary = {r["college"]: r for r in data["sheets"]["summary"]}
    assert (summary["理学院"]["referrals"], summary["文学院"]["referrals"]) == (1, 0)
    assert data["totals"]["summary"]["referrals"] == sum(1 for r in data["sheets"]["referrals"] if r["event"] == "opened")
