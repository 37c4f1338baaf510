"""多源预警 where people see it: the dossier (`cases show`, its JSON, `cases export`), the clerk's view, and the demo.

Real stores, campus files generated here with made-up people, imported through
`mhtool signals import` and reviewed through `mhtool signals review`; workbooks
are read back with openpyxl.
"""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta

import openpyxl
import pytest

from mhtool.cases.domain import views
from mhtool.demo import COUNSELOR, build_demo
from mhtool.app.center import Center, credential_from_key_file
from tests.conftest import Cli

PURPOSE = "多源预警档案测试"
FIRST_NIGHT = date(2026, 11, 16)
AWAY = "2024010001"  # out on two nights: a 未归寝 signal
HOME = "2024020002"  # back every night


def _write_passes(path, people: dict[str, set[int]], first: date = FIRST_NIGHT, nights: int = 7) -> None:
    rows = []
    for no, away in people.items():
        for i in range(nights + 1):
            day = first + timedelta(days=i)
            rows.append((no, "测试", "1栋东门", "出", f"{day} 07:30:00"))
            if i == nights:
                break
            if i in away:
                rows += [(no, "测试", "1栋东门", "进", f"{day} 18:00:00"), (no, "测试", "1栋东门", "出", f"{day} 21:00:00")]
                rows.append((no, "测试", "1栋东门", "进", f"{day + timedelta(days=1)} 06:10:00"))
            else:
                rows.append((no, "测试", "1栋东门", "进", f"{day} 21:40:00"))
    rows.sort(key=lambda r: r[4])
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("人员编号", "姓名", "设备名称", "进出方向", "通行时间"))
        writer.writerows(rows)


@pytest.fixture
def dossiers(store_env):
    """Two students, a counselor and a clerk; a week of passes imported by the counselor: one 未归寝 signal for AWAY."""
    env = store_env
    env.cli.ok("cases", "add", AWAY, "--name", "测试甲", "--college", "文学院", "--class", "汉语言2401", "--counselor", "zhang")
    env.cli.ok("cases", "add", HOME, "--name", "测试乙", "--college", "理学院", "--class", "数学2401")
    counselor = env.add_staff("zhang", "counselor")
    clerk = env.add_staff("li", "clerk")
    passes = env.tmp / "门禁通行记录.csv"
    _write_passes(passes, {AWAY: {1, 3}, HOME: set()})
    summary = json.loads(counselor.ok("signals", "import", str(passes), "--source", "dorm", "--purpose", PURPOSE, "--json").stdout)
    assert summary["signals_new"] == 1
    return env, counselor, clerk


def _as(env, user: str) -> Center:
    return Center.open(env.path, credential_from_key_file(env.tmp / f"{user}.key"), user)


def test_the_counselor_sees_the_signal_its_dates_and_why(dossiers):
    env, counselor, _clerk = dossiers
    panel = counselor.ok("cases", "show", AWAY, "--lang", "en").stdout
    assert "Signals" in panel and "nights out (dorm access)" in panel and "pending review" in panel
    # The explanation names the nights that triggered it (the English sentence for an English reader).
    assert "2026-11-17" in panel and "2026-11-19" in panel
    assert "signal review nights out" in panel, "the 研判 task names its rule"
    timeline = json.loads(counselor.ok("cases", "show", AWAY, "--json").stdout)["timeline"]
    item = next(i for i in timeline if i["kind"] == "signal")
    assert item["date"] == "2026-11-19" and item["fields"]["rule"] == "dorm_out" and item["fields"]["status"] == "open"
    assert "2026-11-17" in item["fields"]["explanation"] and "未归寝" in item["fields"]["explanation"]
    assert item["fields"]["facts"]["count"] == 2
    with _as(env, "zhang") as center:
        d = center.cases.show(AWAY)
    [sig] = d["signals"]
    assert (sig["rule"], sig["rule_name"], sig["source"], sig["status"], sig["opened_on"], sig["hits"]) == ("dorm_out", "未归寝", "dorm", "open", "2026-11-19", 1)
    assert sig["task_id"] and any(t["kind"] == "signal_review" and t.get("signal_id") == sig["id"] for t in d["tasks"])
    # A student with no signal: nothing about signals, and no empty section either.
    assert "Signals" not in counselor.ok("cases", "show", HOME, "--lang", "en").stdout


def test_only_signal_items_with_kind_signal_and_no_clinical_key_no_filter(dossiers):
    _env, counselor, clerk = dossiers
    only = json.loads(counselor.ok("cases", "show", AWAY, "--kind", "signal", "--json").stdout)["timeline"]
    assert [i["kind"] for i in only] == ["signal"]
    refused = clerk("cases", "show", AWAY, "--kind", "signal")
    assert refused.exit_code == 5 and "clinical" in refused.stderr
    unknown = counselor("cases", "show", AWAY, "--kind", "signals")
    assert unknown.exit_code == 2 and "signal_review" in unknown.stderr


def test_a_clerk_sees_no_trace_of_a_signal(dossiers):
    env, counselor, clerk = dossiers
    panel = clerk.ok("cases", "show", AWAY, "--lang", "en").stdout
    assert "Signals" not in panel and "signal" not in panel and "dormitory" not in panel
    shown = json.loads(clerk.ok("cases", "show", AWAY, "--json").stdout)
    assert "signals" not in shown and not [i for i in shown["timeline"] if i["kind"].startswith("signal")]
    assert not [t for t in shown["tasks"] if t["kind"] == "signal_review"]
    with _as(env, "li") as center:
        assert "signals" not in center.cases.show(AWAY)
    # Nor does the task list say who has a 研判 task; the counselor's does.
    assert not [t for t in json.loads(clerk.ok("cases", "tasks", "--json").stdout) if t["kind"] == "signal_review"]
    mine = [t for t in json.loads(counselor.ok("cases", "tasks", "--json").stdout) if t["kind"] == "signal_review"]
    assert [t["student_no"] for t in mine] == [AWAY]


def test_a_review_closes_the_signal_on_the_dossier(dossiers):
    _env, counselor, _clerk = dossiers
    counselor.ok("signals", "review", AWAY, "--outcome", "dismissed", "--reason", "已与辅导员核实，周末回家", "--date", "2026-11-24")
    shown = json.loads(counselor.ok("cases", "show", AWAY, "--json").stdout)
    review = next(i for i in shown["timeline"] if i["kind"] == "signal_review")
    assert (review["date"], review["author"], review["fields"]["outcome"], review["fields"]["reason"]) == ("2026-11-24", "zhang", "dismissed", "已与辅导员核实，周末回家")
    opened = next(i for i in shown["timeline"] if i["kind"] == "signal")
    assert opened["fields"]["status"] == "reviewed"
    assert not [t for t in shown["tasks"] if t["kind"] == "signal_review"], "the 研判 task is done"
    panel = counselor.ok("cases", "show", AWAY, "--lang", "en", env={"COLUMNS": "200"}).stdout
    assert "reviewed: dismissed 2026-11-24" in panel and "reason" in panel and "已与辅导员核实，周末回家" in panel
    zh = counselor.ok("cases", "show", AWAY, env={"MHTOOL_LANG": "zh", "COLUMNS": "200"}).stdout
    assert "多源预警" in zh and "已研判：排除 2026-11-24" in zh and "未归寝研判为排除：已与辅导员核实，周末回家" in zh


def test_the_dossier_export_has_a_signals_sheet_for_counselors_only(dossiers, tmp_path):
    _env, counselor, clerk = dossiers
    counselor.ok("signals", "review", AWAY, "--outcome", "noted", "--reason", "学生自述在校外实习", "--date", "2026-11-24")
    counselor.ok("cases", "export", AWAY, "--out", str(tmp_path / "counselor.xlsx"), "--purpose", PURPOSE)
    wb = openpyxl.load_workbook(tmp_path / "counselor.xlsx")
    assert wb.sheetnames == ["基本情况", "时间线", "多源预警"]
    rows = [r for r in wb["多源预警"].iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if r and r[0] == "首次触发")
    row = dict(zip(rows[head], rows[head + 1]))
    assert (row["预警规则"], row["数据来源"], row["触发次数"], row["研判状态"], row["研判结果"], row["研判理由"]) == ("未归寝", "门禁", 1, "已研判", "已知晓", "学生自述在校外实习")
    assert row["首次触发"].date() == date(2026, 11, 19) and "2026-11-17" in row["触发依据"]
    timeline = [c for r in wb["时间线"].iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert "多源预警" in timeline and "预警研判" in timeline
    clerk.ok("cases", "export", AWAY, "--out", str(tmp_path / "clerk.xlsx"), "--purpose", PURPOSE)
    wb = openpyxl.load_workbook(tmp_path / "clerk.xlsx")
    assert wb.sheetnames == ["基本情况", "时间线"]
    cells = [c for ws in wb for r in ws.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert not [c for c in cells if "未归寝" in c or "多源预警" in c or "研判" in c]
    # A student without signals gets no empty sheet.
    counselor.ok("cases", "export", HOME, "--out", str(tmp_path / "home.xlsx"), "--purpose", PURPOSE)
    assert openpyxl.load_workbook(tmp_path / "home.xlsx").sheetnames == ["基本情况", "时间线"]


# -- the pure views -------------------------------------------------------------------------------------------


SIGNAL = {
    "id": "abcdef0123456789", "student_id": "s1", "rule": "meals_drop", "source": "card", "college": "文学院",
    "opened_on": "2026-11-20", "last_hit_on": "2026-11-27", "hits": 2, "closed_on": None, "outcome": None,
    "facts": {"meals": 3}, "explanation": "14 天内食堂就餐 3 次", "explanation_en": "3 canteen meals in 14 days",
}  # fmt: skip


def test_signal_view_and_lines():
    v = views.signal_view(SIGNAL)
    assert (v["status"], v["reviewed_on"], v["rule_name"], v["rule_name_en"]) == ("open", None, "就餐骤减", "fewer meals")
    assert views.signal_line(v, "zh") == "就餐骤减（一卡通）；2026-11-20 至 2026-11-27；共触发2次；待研判；14 天内食堂就餐 3 次"
    assert views.signal_line(v, "en") == "fewer meals (campus card); 2026-11-20 to 2026-11-27; 2 hits; pending review; 3 canteen meals in 14 days"
    closed = views.signal_view({**SIGNAL, "closed_on": "2026-11-28", "outcome": "watch", "reason": "约谈后纳入关注", "reviewed_by": "zhang"})
    assert closed["status"] == "reviewed" and closed["reviewed_on"] == "2026-11-28"
    assert views.signal_line(closed, "zh").endswith("已研判：关注 2026-11-28；14 天内食堂就餐 3 次；研判理由 约谈后纳入关注")
    items = views.signal_items([closed])
    assert [(i["kind"], i["date"], i["author"]) for i in items] == [("signal", "2026-11-20", None), ("signal_review", "2026-11-28", "zhang")]
    assert views.entry_summary(items[0], "zh") == "就餐骤减：14 天内食堂就餐 3 次；共触发2次；最近一次 2026-11-27"
    assert views.entry_summary(items[1], "en") == "fewer meals reviewed: watch: 约谈后纳入关注"


def test_signals_join_the_timeline_only_with_the_clinical_key():
    v = views.signal_views([SIGNAL])
    entry = {"id": "e1", "kind": "note", "date": "2026-11-21", "author": "zhang", "fields": {"text": "x"}}
    with_key = views.build_timeline([entry], [], clinical=True, signals=v)
    assert [i["kind"] for i in with_key] == ["signal", "note"]
    assert [i["kind"] for i in views.build_timeline([entry], [], clinical=False, signals=v)] == ["note"]
    assert views.task_shown({"kind": "signal_review"}, clinical=True) and not views.task_shown({"kind": "signal_review"}, clinical=False)
    assert views.task_shown({"kind": "interview"}, clinical=False)


# -- the demo -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return build_demo(tmp_path_factory.mktemp("signals_demo") / "demo", students=240, seed=7)


def test_the_demo_trips_each_rule_for_the_students_it_planned(demo):
    from mhtool import demo_data

    school = demo_data.build_school(240, seed=7)
    with Center.open(demo.store, credential_from_key_file(demo.keys[COUNSELOR]), COUNSELOR) as center:
        demo_data.add_seniors(school, 8, demo_data.final_year_cohort(center.today()), seed=7)
        plan = demo_data.campus_plan(school, seed=7)
        every = {}
        for row in center.cases.list(include_unwatched=True):
            every[row["student_no"]] = row
        raised: dict[str, set[str]] = {}
        for no in every:
            for sig in center.cases.show(no).get("signals", []):
                raised.setdefault(sig["rule"], set()).add(no)
    # Every campus rule raises at least one signal; the demo's class network adds 同伴报告 (peer reports).
    assert set(raised) == {*demo_data.CAMPUS_RULES, "peer_report"}
    for rule, expected in plan.expected().items():
        # Nights and meals on leave (休学) are not held against a student: the demo sends two students on leave.
        away = {no for no in expected if every[no]["status"] in ("leave", "returned")} if rule in ("dorm_out", "meals_drop", "hidden_hardship") else set()
        assert raised.get(rule, set()) == expected - away, rule
        assert not raised.get(rule, set()) & set(plan.near.get(rule, ())), f"{rule}: a near miss raised a signal"
    # The radar ranks first a student with signals from several sources, and the demo files are in exports/.
    assert demo.sample_signal and len({s["source"] for s in center_signals(demo, demo.sample_signal)}) >= 2
    assert {p.name for p in demo.files} >= {"门禁通行记录.csv", "一卡通交易流水.csv", "教务成绩.xlsx"}


def center_signals(demo, student_no: str) -> list[dict]:
    with Center.open(demo.store, credential_from_key_file(demo.keys[COUNSELOR]), COUNSELOR) as center:
        return center.cases.show(student_no)["signals"]


def test_the_demo_files_have_the_shapes_of_the_campus_samples(demo):
    exports = demo.folder / "exports"
    with (exports / "门禁通行记录.csv").open(encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh))
    assert header == ["人员编号", "姓名", "部门", "设备名称", "进出方向", "通行时间", "验证方式"]
    with (exports / "一卡通交易流水.csv").open(encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["学号", "姓名", "交易时间", "交易地点", "交易金额", "交易类型"]
        kinds = {row[5] for row in reader}
    assert kinds == {"消费", "充值"}
    ws = openpyxl.load_workbook(exports / "教务成绩.xlsx", read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("学号", "姓名", "学年", "学期", "课程名称", "学分", "成绩", "考试性质")
    assert {r[7] for r in rows[1:]} <= {"正常", "补考"} and any(isinstance(r[6], str) for r in rows[1:])


def test_the_demo_reports_and_hint_show_the_radar(demo, tmp_path):
    weekly = openpyxl.load_workbook(next((demo.folder / "reports").glob("月报_*.xlsx")))
    assert "多源预警" in weekly.sheetnames
    env = {"MHTOOL_STORE": str(demo.store), "MHTOOL_KEY_FILE": str(demo.keys[COUNSELOR]), "MHTOOL_USER": COUNSELOR}
    radar = json.loads(Cli(env=env).ok("signals", "list", "--json").stdout)
    assert radar[0]["student_no"] == demo.sample_signal and radar[0]["sources"] >= 2
    out = Cli().ok("demo", "--dir", tmp_path / "again", "--students", "120", "--seed", "3")
    assert "mhtool signals list" in out.stderr and "campus signals (多源预警)" in out.stderr
