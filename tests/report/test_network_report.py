"""上报情况 in the weekly and monthly reports: the 五级网络's classes, who reported for the period, and who did not.

First the figures and the sheet on plain dicts (a generated network of 8
colleges × 40 classes and a term of weekly reports with classes left out,
零报告 and 有情况), then a real store: a network roster and class reports
generated here (made-up people), imported through `mhtool network`, and the
reports read back through the CLI as JSON and as workbooks (openpyxl).
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime

import openpyxl
import pytest

from mhtool import demo_data
from mhtool.domain.periods import month_period, week_period
from mhtool.report.domain import builders, figures
from mhtool.report.domain.builders import CaseData
from tests.conftest import Cli

GEN = datetime(2026, 12, 7, 9, 0)
COLLEGES = ("计算机学院", "法学院", "外国语学院", "数学与统计学院", "物理科学与技术学院", "经济与管理学院", "文学院", "医学院")
CODES = ("计科", "法学", "英语", "数学", "物理", "经济", "汉语言", "临床")
WEEKS = tuple(week_period(2026, w) for w in range(45, 50))  # 2026-11-02 .. 2026-12-06; W45–W49 have their Monday in November


def network(classes: int = 40) -> list[dict]:
    """One 心理委员 per class (and the college's 辅导员 on a class of its own, which must not count twice)."""
    units = []
    for college, code in zip(COLLEGES, CODES):
        for n in range(1, classes + 1):
            unit = f"{code}26{n:02d}"
            units.append({"college": college, "unit_kind": "class", "unit": unit, "role": "peer_monitor"})
            if n == 1:
                units.append({"college": college, "unit_kind": "class", "unit": unit, "role": "advisor"})
        units.append({"college": college, "unit_kind": "dorm", "unit": f"{code}楼101", "role": "dorm_head"})
        units.append({"college": college, "unit_kind": "college", "unit": college, "role": "station_head"})
    return units


def term(units: list[dict], *, seed: int = 18) -> tuple[list[dict], dict[str, dict]]:
    """Weekly class reports: each week some classes send none, a few report 有情况; returns the reports and what was left out.

    ``expected[week]`` = ``{"missing": {college: [class]}, "concern": {college: n}, "zero": {college: n}}``.
    """
    rng = random.Random(seed)
    classes = [u for u in units if u["unit_kind"] == "class" and u["role"] == "peer_monitor"]
    reports, expected = [], {}
    for week in WEEKS:
        exp = {"missing": {}, "concern": {}, "zero": {}}
        for u in classes:
            if rng.random() < 0.06:
                exp["missing"].setdefault(u["college"], []).append(u["unit"])
                continue
            status = "concern" if rng.random() < 0.05 else "zero"
            exp[status][u["college"]] = exp[status].get(u["college"], 0) + 1
            reports.append({"college": u["college"], "unit_kind": "class", "unit": u["unit"], "period": week.label, "status": status})
        expected[week.label] = exp
    return reports, expected


def data(units, reports, *, college: str | None = None, roster: dict | None = None, today: date = date(2026, 12, 7)) -> CaseData:
    if roster is None:
        roster = {c: {"on_roll": 100, "groups": {}, "any_group": 0} for c in COLLEGES}
    return CaseData(today=today, roster=roster, network=units, network_reports=reports, college=college)


def rows(report) -> dict[str, dict]:
    return {r["college"]: r for r in report.sheet("network").records()}


# -- the figures --------------------------------------------------------------------------------------


def test_periods_of_a_week_a_month_and_a_range():
    assert figures.network_periods("week", date(2026, 11, 23), date(2026, 11, 29)) == ("2026-W48",)
    # November 2026: Monday 2 .. Monday 30; W49 begins on the 30th and belongs to November, W44 (Monday 26 October) does not.
    assert figures.network_periods("month", date(2026, 11, 1), date(2026, 11, 30)) == ("2026-11", "2026-W45", "2026-W46", "2026-W47", "2026-W48", "2026-W49")
    # December 2026: Monday 7 .. Monday 28 (the 53rd week of 2026).
    assert figures.network_periods("month", date(2026, 12, 1), date(2026, 12, 31))[-1] == "2026-W53"
    assert figures.network_periods("range", date(2026, 11, 25), date(2026, 12, 8)) == ("2026-W49", "2026-W50", "2026-12")


def test_coverage_counts_classes_once_and_a_zero_report_as_reported():
    units = [
        {"college": "文学院", "unit_kind": "class", "unit": "汉语言2601", "role": "peer_monitor"},
        {"college": "文学院", "unit_kind": "class", "unit": "汉语言2601", "role": "advisor"},
        {"college": "文学院", "unit_kind": "class", "unit": "汉语言2602", "role": "peer_monitor"},
        {"college": "文学院", "unit_kind": "class", "unit": "新闻2601", "role": "peer_monitor"},
        {"college": "文学院", "unit_kind": "dorm", "unit": "3栋101", "role": "dorm_head"},
        {"college": "法学院", "unit_kind": "class", "unit": "法学2601", "role": "peer_monitor"},
    ]
    reports = [
        {"unit_kind": "class", "unit": "汉语言2601", "period": "2026-W48", "status": "zero"},
        {"unit_kind": "class", "unit": "新闻2601", "period": "2026-W48", "status": "concern"},
        {"unit_kind": "class", "unit": "法学2601", "period": "2026-W47", "status": "zero"},  # another week
        {"unit_kind": "class", "unit": "日语2601", "period": "2026-W48", "status": "zero"},  # not in the roster
        {"unit_kind": "dorm", "unit": "3栋101", "period": "2026-W48", "status": "zero"},  # a dorm, not a class
    ]
    c = figures.network_coverage(units, reports, ["2026-W48"])
    assert c["文学院"] == {"classes": 3, "reported": 2, "zero": 1, "concern": 1, "missing": ["汉语言2602"]}
    assert c["法学院"] == {"classes": 1, "reported": 0, "zero": 0, "concern": 0, "missing": ["法学2601"]}
    # A month with a 零报告 one week and 有情况 another: one reported class, of 有情况.
    month = reports + [{"unit_kind": "class", "unit": "汉语言2601", "period": "2026-W47", "status": "concern"}]
    c = figures.network_coverage(units, month, figures.network_periods("month", date(2026, 11, 1), date(2026, 11, 30)))
    assert c["文学院"] == {"classes": 3, "reported": 2, "zero": 0, "concern": 2, "missing": ["汉语言2602"]}
    assert c["法学院"]["reported"] == 1 and c["法学院"]["missing"] == []


# -- the sheet ---------------------------------------------------------------------------------------------


def test_the_weekly_sheet_matches_what_the_generator_left_out():
    units = network()
    reports, expected = term(units)
    for week in WEEKS:
        report = builders.weekly_report(data(units, reports), week, generated_at=GEN)
        exp = expected[week.label]
        got = rows(report)
        assert list(got) == sorted(COLLEGES)
        for college in COLLEGES:
            r = got[college]
            missing = exp["missing"].get(college, [])
            assert r["classes"] == 40
            assert r["missing"] == "、".join(missing)
            assert r["reported"] == 40 - len(missing) == r["zero"] + r["concern"]
            assert (r["zero"], r["concern"]) == (exp["zero"].get(college, 0), exp["concern"].get(college, 0))
            assert r["report_rate"] == r["reported"] / 40
        total = report.sheet("network").total_record()
        left_out = sum(len(v) for v in exp["missing"].values())
        assert (total["college"], total["classes"], total["reported"]) == ("合计", 320, 320 - left_out)
        assert total["zero"] == sum(exp["zero"].values()) and total["concern"] == sum(exp["concern"].values())
        assert total["report_rate"] == (320 - left_out) / 320 and total["missing"] is None
        assert left_out and any("2026年第" in n for n in report.sheet("network").notes)


def test_the_monthly_sheet_is_consistent_with_the_weeks_of_the_month():
    """A class has reported for November when it reported any week of November; 有情况 in any week makes it 有情况."""
    units = network()
    reports, expected = term(units)
    november = month_period(2026, 11)
    month = rows(builders.monthly_report(data(units, reports), november, generated_at=GEN, trend_months=1))
    weekly = [rows(builders.weekly_report(data(units, reports), w, generated_at=GEN)) for w in WEEKS]
    assert [w.label for w in WEEKS] == list(figures.network_periods("month", november.start, november.end)[1:])
    for college in COLLEGES:
        missing_every_week = set.intersection(*(set(filter(None, w[college]["missing"].split("、"))) for w in weekly))
        assert set(filter(None, month[college]["missing"].split("、"))) == missing_every_week
        assert month[college]["reported"] == 40 - len(missing_every_week)
        concern_weeks = sum(expected[w.label]["concern"].get(college, 0) for w in WEEKS)
        assert month[college]["concern"] <= concern_weeks and (month[college]["concern"] > 0) == (concern_weeks > 0)
        assert month[college]["reported"] >= max(w[college]["reported"] for w in weekly)
    # A monthly sheet (2026-11) alone counts too, for classes that report monthly.
    monthly_only = [{"unit_kind": "class", "unit": u["unit"], "period": "2026-11", "status": "zero"} for u in units if u["unit_kind"] == "class"]
    r = rows(builders.monthly_report(data(units, monthly_only), november, generated_at=GEN, trend_months=1))
    assert all(v["reported"] == v["classes"] == 40 and v["missing"] == "" for v in r.values())
    # ... but not in a weekly report, which reads the week's reports only.
    r = rows(builders.weekly_report(data(units, monthly_only), WEEKS[0], generated_at=GEN))
    assert all(v["reported"] == 0 for v in r.values())


def test_no_network_lists_every_roster_college_with_zeros_and_says_why():
    report = builders.weekly_report(data([], []), WEEKS[0], generated_at=GEN)
    sheet = report.sheet("network")
    assert [r["college"] for r in sheet.records()] == sorted(COLLEGES)
    for r in sheet.records():
        assert (r["classes"], r["reported"], r["zero"], r["concern"], r["report_rate"], r["missing"]) == (0, 0, 0, 0, None, "")
    total = sheet.total_record()
    assert (total["classes"], total["reported"], total["report_rate"]) == (0, 0, None)
    assert sheet.notes[0].startswith("尚未导入五级网络名册")
    en = builders.weekly_report(data([], []), WEEKS[0], generated_at=GEN, lang="en").sheet("network")
    assert "`mhtool network import`" in en.notes[0]


def test_one_college_and_a_college_only_in_the_network():
    units = network(3)
    reports, _expected = term(units)
    one = rows(builders.weekly_report(data(units, reports, college="法学院"), WEEKS[0], generated_at=GEN))
    assert list(one) == ["法学院"] and one["法学院"]["classes"] == 3
    # A network college the dossier roster does not know is still listed.
    roster = {"法学院": {"on_roll": 1, "groups": {}, "any_group": 0}}
    assert list(rows(builders.weekly_report(data(units, reports, roster=roster), WEEKS[0], generated_at=GEN))) == sorted(COLLEGES)


def test_every_class_reported_says_so():
    units = network(2)
    reports = [{"unit_kind": "class", "unit": u["unit"], "period": "2026-W45", "status": "zero"} for u in units if u["unit_kind"] == "class"]
    sheet = builders.weekly_report(data(units, reports), WEEKS[0], generated_at=GEN).sheet("network")
    assert sheet.total_record()["report_rate"] == 1.0
    assert sheet.notes[0] == "名册中的班级均已上报。"
    assert "2026年第45周" in sheet.notes[1] and "零报告（无异常）计为已上报" in sheet.notes[-1]


# -- a real store, through the CLI -------------------------------------------------------------------------


PURPOSE = "上报情况测试"
STORE_COLLEGES = {"文学院": "汉语言", "法学院": "法学", "理学院": "数学"}
STORE_WEEKS = tuple(week_period(2026, w) for w in (46, 47, 48))
NAMED = {"2026070001": ("文学院", "汉语言2602", "测试甲"), "2026020002": ("法学院", "法学2605", "测试乙")}
# What the sheets leave out (week → classes) and who names a classmate (week → class → student number).
LEFT_OUT = {"2026-W46": {"法学2603"}, "2026-W47": {"法学2603", "数学2601"}, "2026-W48": {"汉语言2605", "法学2603"}}
CONCERNS = {"2026-W47": {"汉语言2602": "2026070001"}, "2026-W48": {"法学2605": "2026020002", "汉语言2602": "2026070001"}}


@pytest.fixture(scope="module")
def network_store(tmp_path_factory):
    """Three colleges × five classes with a 心理委员 each; three weeks of reports imported by a clerk."""
    tmp = tmp_path_factory.mktemp("network_report")
    store, key = tmp / "store.db", tmp / "admin.key"
    Cli(env={"MHTOOL_STORE": str(store)}).ok("init", "--admin", "admin", "--key-file", str(key))
    admin = Cli(env={"MHTOOL_STORE": str(store), "MHTOOL_KEY_FILE": str(key), "MHTOOL_USER": "admin"})
    for no, (college, class_name, name) in NAMED.items():
        admin.ok("cases", "add", no, "--name", name, "--college", college, "--class", class_name, "--grade", "2026级")
    users = {}
    for name, role in (("zhang", "counselor"), ("li", "clerk")):
        admin.ok("staff", "add", name, "--role", role, "--key-file", str(tmp / f"{name}.key"))
        users[name] = Cli(env={"MHTOOL_STORE": str(store), "MHTOOL_KEY_FILE": str(tmp / f"{name}.key"), "MHTOOL_USER": name})
    classes = {f"{code}26{n:02d}": college for college, code in STORE_COLLEGES.items() for n in range(1, 6)}
    roster = [[college, c, "心理委员", f"2026{i:06d}9", f"委员{i}", "17000000000"] for i, (c, college) in enumerate(sorted(classes.items()))]
    path = demo_data.write_plain_xlsx(tmp / "五级网络名册.xlsx", "名册", demo_data.NETWORK_ROSTER_HEADER, roster)
    admin.ok("network", "import", str(path))
    files = []
    for week in STORE_WEEKS:
        rows = []
        for c, college in sorted(classes.items()):
            if c in LEFT_OUT[week.label]:
                continue
            no = CONCERNS.get(week.label, {}).get(c)
            if no:
                rows.append([college, c, week.label, "委员", "有情况", no, NAMED[no][2], "近两周情绪低落", "是"])
            else:
                rows.append([college, c, week.label, "委员", "无异常", None, None, None, None])
        files.append(demo_data.write_plain_xlsx(tmp / f"晴雨表_{week.label}.xlsx", "Sheet1", demo_data.CLASS_REPORT_HEADER, rows))
    users["li"].ok("network", "import-reports", *map(str, files))
    return {"counselor": users["zhang"], "clerk": users["li"], "admin": admin, "tmp": tmp, "classes": classes}


def _report(cli, *args) -> dict:
    return json.loads(cli.ok("report", *args, "--json", "--purpose", PURPOSE).stdout)


def test_the_weekly_sheets_match_what_was_left_out(network_store):
    classes = network_store["classes"]
    for week in STORE_WEEKS:
        report = _report(network_store["counselor"], "weekly", "--week", week.label)
        got = {r["college"]: r for r in report["sheets"]["network"]}
        for college in STORE_COLLEGES:
            mine = {c for c, col in classes.items() if col == college}
            left = sorted(mine & LEFT_OUT[week.label])
            concern = sum(1 for c in CONCERNS.get(week.label, {}) if c in mine)
            r = got[college]
            assert (r["classes"], r["reported"], r["missing"]) == (5, 5 - len(left), "、".join(left))
            assert (r["concern"], r["zero"]) == (concern, 5 - len(left) - concern)
            assert r["report_rate"] == (5 - len(left)) / 5
        total = report["totals"]["network"]
        assert (total["classes"], total["reported"]) == (15, 15 - len(LEFT_OUT[week.label]))
        # `network missing` names the same classes.
        missing = json.loads(network_store["clerk"].ok("network", "missing", "--period", week.label, "--json").stdout)
        named = {u["unit"] for c in missing["colleges"] for u in c["missing"]}
        assert named == LEFT_OUT[week.label]


def test_the_monthly_sheet_counts_the_weeks_of_the_month(network_store):
    """November 2026 holds W46–W48 (and W45, W49, with no reports): a class is missing only if it missed every week."""
    month = _report(network_store["counselor"], "monthly", "--month", "2026-11")
    got = {r["college"]: r for r in month["sheets"]["network"]}
    assert got["法学院"]["missing"] == "法学2603" and got["法学院"]["concern"] == 1
    assert got["文学院"]["missing"] == "" and (got["文学院"]["reported"], got["文学院"]["concern"], got["文学院"]["zero"]) == (5, 1, 4)
    assert got["理学院"]["missing"] == "" and got["理学院"]["reported"] == 5
    assert month["totals"]["network"]["reported"] == 14


def test_a_clerk_sees_the_counselors_sheet(network_store):
    for week in STORE_WEEKS:
        clerk = _report(network_store["clerk"], "weekly", "--week", week.label)
        counselor = _report(network_store["counselor"], "weekly", "--week", week.label)
        assert clerk["sheets"]["network"] == counselor["sheets"]["network"]
        assert clerk["totals"]["network"] == counselor["totals"]["network"]
        # Counts only: neither the named student nor what was said.
        assert "2026070001" not in json.dumps(clerk["sheets"]["network"]) and "情绪低落" not in json.dumps(clerk)


def test_the_workbook_sheet(network_store):
    tmp = network_store["tmp"]
    path = tmp / "周报.xlsx"
    network_store["clerk"].ok("report", "weekly", "--week", "2026-W48", "--out", str(path), "--purpose", PURPOSE)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames.index("上报情况") == wb.sheetnames.index("多源预警") + 1
    ws = wb["上报情况"]
    rows = [r for r in ws.iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if r and r[0] == "学院")
    assert rows[head][:7] == ("学院", "班级数", "已上报", "上报率", "其中零报告", "其中有情况", "未上报班级")
    body = {r[0]: r for r in rows[head + 1 : head + 4]}
    assert set(body) == set(STORE_COLLEGES)
    assert body["文学院"][1:7] == (5, 4, 0.8, 3, 1, "汉语言2605")
    total = rows[head + 4]
    assert total[:6] == ("合计", 15, 13, pytest.approx(13 / 15), 11, 2)
    rate = ws.cell(row=head + 2, column=4)
    assert "%" in rate.number_format
    notes = [r[0] for r in rows[head + 5 :] if r and isinstance(r[0], str)]
    assert any("2026年第48周" in n for n in notes) and any("零报告（无异常）计为已上报" in n for n in notes)
    # English: the same figures under English headers.
    en = tmp / "weekly.xlsx"
    network_store["clerk"].ok("report", "weekly", "--week", "2026-W48", "--out", str(en), "--lang", "en", "--purpose", PURPOSE)
    ws = openpyxl.load_workbook(en)["Network reports"]
    rows = [r for r in ws.iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if r and r[0] == "College")
    assert rows[head][1:7] == ("Classes", "Reported", "Report rate", "Of which zero reports", "Of which concerns", "Classes not reported")
    assert rows[head + 4][:3] == ("Total", 15, 13)


def test_a_store_without_network_lists_zeros(store_env):
    from tests.cases.casekit import add_student

    add_student(store_env.cli, "2026990001", "测试丙", "文学院", "汉语言2601")
    report = _report(store_env.cli, "weekly", "--week", "2026-W48")
    assert report["sheets"]["network"] == [
        {"college": "文学院", "classes": 0, "reported": 0, "report_rate": None, "zero": 0, "concern": 0, "missing": ""}
    ]


# -- the demo ----------------------------------------------------------------------------------------------


def test_the_demo_weekly_report_shows_its_one_missing_class(tmp_path):
    from mhtool import demo

    result = demo.build_demo(tmp_path / "demo", students=240, seed=7)
    assert len(result.network_missing) == 1 and result.network_week
    weekly = next(p for p in (tmp_path / "demo" / "reports").glob("周报_*.xlsx"))
    assert result.network_week in weekly.name
    rows = [r for r in openpyxl.load_workbook(weekly)["上报情况"].iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if r and r[0] == "学院")
    body = [r for r in rows[head + 1 :] if r and r[0] and r[1] is not None]
    total = next(r for r in body if r[0] == "合计")
    colleges = [r for r in body if r[0] != "合计"]
    assert [r[6] for r in colleges if r[6]] == result.network_missing
    assert total[1] == result.counts["network_classes"] and total[2] == total[1] - 1 and total[5] == 2
    # The two classmates named that week have a 同伴报告 signal the counselor sees on the radar.
    from mhtool.app.center import Center, credential_from_key_file

    with Center.open(result.store, credential_from_key_file(result.keys[demo.COUNSELOR]), demo.COUNSELOR) as center:
        peer = [r for r in center.signals.list() if "peer_report" in (r.get("rules") or ())]
    from mhtool.domain.labels import network_period_name

    assert len(peer) == 2 and all(network_period_name(result.network_week, "zh") in r["explanation"] for r in peer)
