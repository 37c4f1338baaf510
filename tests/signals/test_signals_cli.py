"""多源预警 through the command line: real exports written here, imported with `mhtool signals import`.

Each rule is checked at its boundary on files generated in the test (made-up
students only): exactly 2 nights out against 1, and a night on leave left out;
canteen meals at exactly 40 % of the baseline against just below; 40 meals at
exactly 45 % of the school's median spend per meal against just below, and 39
meals; a first failed course against a second one. Then the radar, the review and the explanation in
Chinese. The helpers at the top write the files; the other signal tests import them.
"""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

from mhtool.domain import dates
from tests.cases.casekit import add_student

# -- made-up students and the files the school's systems would export ----------------------------

STUDENTS = {
    "2023010001": ("测甲", "文学院", "汉语言2301"),
    "2023010002": ("测乙", "文学院", "汉语言2301"),
    "2023010003": ("测丙", "文学院", "汉语言2302"),
    "2023020004": ("测丁", "理学院", "数学2301"),
    "2023020005": ("测戊", "理学院", "数学2301"),
}


def today() -> date:
    return dates.today("Asia/Shanghai")


def school(env, *, counselor: str = "zhang"):
    """The students above (grade 2023级, counselor ``counselor``) and a counselor's CLI."""
    couns = env.add_staff(counselor, "counselor")
    for no, (name, college, class_name) in STUDENTS.items():
        add_student(env.cli, no, name, college, class_name, "--grade", "2023级", "--counselor", counselor)
    return couns


def write_csv(path: Path, header: list[str], rows: list[list], *, encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def dorm_rows(first: date, days: int, out: dict[str, set[date]], *, people=None, device: str = "1栋东门闸机") -> list[list]:
    """Passes for ``days`` nights from ``first``: out in the morning, back at 21:00 unless the night is in ``out[no]``.

    Everyone passes at 07:00 the morning after the last night, so the file covers every night.
    """
    people = list(people or STUDENTS)
    rows = []
    for i in range(days):
        d = first + timedelta(days=i)
        for no in people:
            name = STUDENTS.get(no, ("某人", "", ""))[0]
            rows.append([no, name, device, "出", f"{d} 08:00:00"])
            if d not in out.get(no, set()):
                rows.append([no, name, device, "进", f"{d} 21:00:00"])
    end = first + timedelta(days=days)
    for no in people:
        rows.append([no, STUDENTS.get(no, ("某人", "", ""))[0], device, "进", f"{end} 07:00:00"])
    rows.sort(key=lambda r: r[4])
    return rows


DORM_HEADER = ["学号", "姓名", "设备名称", "进出方向", "通行时间"]
CARD_HEADER = ["学号", "姓名", "交易时间", "交易地点", "交易金额", "交易类型"]
GRADES_HEADER = ["学号", "姓名", "学年学期", "课程名称", "学分", "成绩", "考试性质"]


def dorm_file(path: Path, first: date, days: int, out: dict[str, set[date]], **kw) -> Path:
    return write_csv(path, DORM_HEADER, dorm_rows(first, days, out, **kw))


def card_file(path: Path, meals: dict[str, dict[date, int]], *, price: str = "-12.00", place: str = "一食堂") -> Path:
    """Canteen transactions: ``meals[no][day]`` meals that day, at 07:10, 12:10, 18:10 …"""
    rows = []
    for no, per_day in meals.items():
        for d, n in sorted(per_day.items()):
            for k in range(n):
                rows.append([no, STUDENTS.get(no, ("某人", "", ""))[0], f"{d} {7 + 5 * k:02d}:10:00", place, price, "消费"])
    rows.sort(key=lambda r: r[2])
    return write_csv(path, CARD_HEADER, rows)


def grades_file(path: Path, rows: list[list]) -> Path:
    return write_csv(path, GRADES_HEADER, rows)


def signals_json(cli, *args) -> list[dict]:
    return json.loads(cli.ok("signals", "list", "--json", *args).stdout)


def audit(env) -> list[dict]:
    return json.loads(env.cli.ok("audit", "log", "--limit", "0", "--json").stdout)


def tasks_json(cli) -> list[dict]:
    return json.loads(cli.ok("cases", "tasks", "--json").stdout)


def import_json(cli, path: Path, source: str, *args) -> dict:
    return json.loads(cli.ok("signals", "import", str(path), "--source", source, "--json", *args).stdout)


# -- 未归寝: exactly two nights, one night, a night on leave ----------------------------------------


def test_dorm_rule_at_its_boundary_and_leave_left_out(store_env):
    couns = school(store_env)
    first = today() - timedelta(days=20)
    night = lambda i: first + timedelta(days=i)  # noqa: E731
    # 测丙 is on leave (休学) for night 4 only.
    couns.ok("cases", "status", "2023010003", "leave", "--from", night(4).isoformat(), "--until", night(4).isoformat(), "--reason", "病休一天")
    out = {
        "2023010001": {night(2), night(5)},  # exactly 2 nights out within 7 days: a signal
        "2023010002": {night(5)},  # 1 night: none
        "2023010003": {night(4), night(5)},  # 2 nights, one on leave: none
    }
    path = dorm_file(store_env.tmp / "门禁_一周.csv", first, 7, out)
    result = import_json(couns, path, "dorm")
    assert result["as_of"] == night(6).isoformat() and result["first_day"] == night(0).isoformat()
    assert result["matched"] == 5 and result["unmatched"] == 0 and result["rows"] > 0
    assert [(s["student_no"], s["rule"], s["on"]) for s in result["new_signals"]] == [("2023010001", "dorm_out", night(5).isoformat())]
    rows = signals_json(couns)
    assert [r["student_no"] for r in rows] == ["2023010001"]
    expl = rows[0]["explanation"]
    assert "2 晚未归寝" in expl and night(2).isoformat() in expl and night(5).isoformat() in expl
    # The dossier shows it (cases show --json: the signals, for a reader with the clinical key).
    [shown] = json.loads(couns.ok("cases", "show", "2023010001", "--json").stdout)["signals"]
    assert shown["rule"] == "dorm_out" and shown["explanation"] == expl
    # The night on leave is in the facts the store keeps, and left out of the rule.
    with store_env.open() as store:
        sid = store.students.find("2023010003")["id"]
        facts = store.signal_facts.for_student(sid)[0]
        assert facts["nights"][night(4).isoformat()] == 1 and facts["nights"][night(5).isoformat()] == 1
        assert store.signals.for_student(sid) == []


def test_the_leave_matters_three_nights_with_one_on_leave_still_signal(store_env):
    couns = school(store_env)
    first = today() - timedelta(days=20)
    night = lambda i: first + timedelta(days=i)  # noqa: E731
    couns.ok("cases", "status", "2023010003", "leave", "--from", night(4).isoformat(), "--until", night(4).isoformat(), "--reason", "病休一天")
    path = dorm_file(store_env.tmp / "门禁.csv", first, 7, {"2023010003": {night(3), night(4), night(5)}})
    result = import_json(couns, path, "dorm")
    [new] = result["new_signals"]
    assert new["student_no"] == "2023010003"
    with store_env.open() as store:
        [signal] = store.signals.for_student(store.students.find("2023010003")["id"])
    assert signal["facts"]["count"] == 2 and signal["facts"]["left_out"] == [night(4).isoformat()]


# -- 就餐骤减: exactly 40 % is no signal, below it is ----------------------------------------------


def _meals(first: date, *, window: int) -> dict[date, int]:
    """20 meals in each of four 14-day baseline blocks (2 a day on 10 days), then ``window`` meals in the last 14 days."""
    out: dict[date, int] = {}
    for block in range(4):
        for i in range(10):
            out[first + timedelta(days=14 * block + i)] = 2
    for i in range(window):
        out[first + timedelta(days=56 + i)] = 1
    return out


def test_meals_drop_at_exactly_40_percent_and_below(store_env):
    couns = school(store_env)
    first = today() - timedelta(days=75)
    every_day = {first + timedelta(days=i): 3 for i in range(70)}  # keeps every day covered by the school's data
    meals = {"2023020004": every_day, "2023010001": _meals(first, window=8), "2023010002": _meals(first, window=7)}
    path = card_file(store_env.tmp / "一卡通流水.csv", meals)
    result = import_json(couns, path, "card")
    assert result["as_of"] == (first + timedelta(days=69)).isoformat()
    assert [(s["student_no"], s["rule"]) for s in result["new_signals"]] == [("2023010002", "meals_drop")]
    [row] = signals_json(couns, "--rule", "meals_drop")
    assert row["student_no"] == "2023010002"
    assert "食堂就餐 7 次" in row["explanation"] and "中位数 20 次的 35.0%" in row["explanation"]
    with store_env.open() as store:
        [signal] = store.signals.for_student(store.students.find("2023010002")["id"])
    assert signal["facts"]["meals"] == 7 and signal["facts"]["median"] == 20 and signal["facts"]["percent"] == 35.0


# -- 隐性困难: 40 meals at exactly 45 % of the school's median spend per meal, and just below -------------


def test_hidden_hardship_at_the_45_percent_cut_and_40_meals(store_env):
    couns = school(store_env)
    first = today() - timedelta(days=31)
    last = first + timedelta(days=29)
    rows = []

    def eat(no: str, price: str, days: range, per_day: int = 2) -> None:
        for i in days:
            d = first + timedelta(days=i)
            for k in range(per_day):
                rows.append([no, STUDENTS.get(no, ("某人", "", ""))[0], f"{d} {11 + k:02d}:30:00", "二食堂", price, "消费"])

    # The school: nine students at 10.00 a meal every day (eight of them have no dossier here), so the
    # median spend per meal is 10.00 on every day and 45 % of it is 4.50.
    for n in range(8):
        eat(f"20239990{n:02d}", "-10.00", range(30))
    eat("2023020005", "-10.00", range(30))
    eat("2023010001", "-4.50", range(10, 30))  # 40 meals at exactly 45 %: not below it
    eat("2023010002", "-4.49", range(10, 30))  # 40 meals just below 45 %: a signal
    eat("2023010003", "-1.00", range(10, 29))  # 38 meals …
    eat("2023010003", "-1.00", range(29, 30), per_day=1)  # … + 1 = 39: too few meals to judge
    eat("2023020004", "-4.00", range(10, 30))  # exactly 40 meals, well below: a signal
    rows.sort(key=lambda r: r[2])
    path = write_csv(store_env.tmp / "一卡通_30天.csv", CARD_HEADER, rows)
    result = import_json(couns, path, "card")
    assert result["as_of"] == last.isoformat()
    assert result["unmatched"] == 8
    hits = sorted((s["student_no"], s["rule"]) for s in result["new_signals"])
    assert hits == [("2023010002", "hidden_hardship"), ("2023020004", "hidden_hardship")]
    with store_env.open() as store:
        [signal] = store.signals.for_student(store.students.find("2023010002")["id"])
    facts = signal["facts"]
    assert facts["meals"] == 40 and facts["average_cents"] == 449 and facts["school_median_cents"] == 1000
    row = {r["student_no"]: r for r in signals_json(couns, "--rule", "hidden_hardship")}["2023010002"]
    assert "40" in row["explanation"] and "4.49" in row["explanation"] and "10.00" in row["explanation"]


# -- 首次挂科: the first failed course, then a second one --------------------------------------------


def test_first_failed_course_then_a_second_one(store_env):
    couns = school(store_env)
    first_term = grades_file(
        store_env.tmp / "成绩_2025-2026-1.csv",
        [
            ["2023010001", "测甲", "2025-2026-1", "高等数学", "5", "58", "正常"],
            ["2023010001", "测甲", "2025-2026-1", "大学英语", "3", "81", "正常"],
            ["2023010002", "测乙", "2025-2026-1", "高等数学", "5", "良", "正常"],
        ],
    )
    result = import_json(couns, first_term, "academic")
    assert result["as_of"] == "2026-01-31"
    assert [(s["student_no"], s["rule"]) for s in result["new_signals"]] == [("2023010001", "first_fail")]
    [row] = signals_json(couns)
    assert "2025-2026-1" in row["explanation"] and "高等数学（58）" in row["explanation"] and "1 门" in row["explanation"]
    second_term = grades_file(
        store_env.tmp / "成绩_2025-2026-2.csv",
        [
            ["2023010001", "测甲", "2025-2026-2", "线性代数", "3", "不及格", "正常"],  # a second failed course: not a first one
            ["2023010002", "测乙", "2025-2026-2", "线性代数", "3", "45", "正常"],  # 测乙's first
        ],
    )
    result = import_json(couns, second_term, "academic")
    assert [(s["student_no"], s["rule"]) for s in result["new_signals"]] == [("2023010002", "first_fail")]
    assert result["signals_extended"] == 0
    rows = {r["student_no"]: r for r in signals_json(couns)}
    assert set(rows) == {"2023010001", "2023010002"}
    assert rows["2023010001"]["hits"] == 1 and "高等数学" in rows["2023010001"]["explanation"]


def test_academic_warning_and_credits_short_for_the_final_year(store_env):
    couns = school(store_env)
    store_env.cli.ok("settings", "set", "credits_required", "12")
    rows = [
        ["2023020004", "测丁", "2025-2026-2", "数学分析", "6", "40", "正常"],
        ["2023020004", "测丁", "2025-2026-2", "高等代数", "4", "不及格", "正常"],  # 10 failed credits: at the line
        ["2023020005", "测戊", "2025-2026-2", "数学分析", "6", "59", "正常"],
        ["2023020005", "测戊", "2025-2026-2", "高等代数", "3.5", "缺考", "正常"],  # 9.5: below it
        ["2023010001", "测甲", "2025-2026-2", "大学英语", "3", "90", "正常"],
    ]
    path = grades_file(store_env.tmp / "成绩.csv", rows)
    result = import_json(couns, path, "academic", "--as-of", "2026-09-10")  # 2023级 is in its final year from 2026-09-01
    raised = sorted((s["student_no"], s["rule"]) for s in result["new_signals"])
    assert ("2023020004", "academic_warning") in raised and ("2023020005", "academic_warning") not in raised
    # credits_required 12: everyone is short in the final year.
    assert ("2023010001", "credits_short") in raised
    [short] = [r for r in signals_json(couns, "--rule", "credits_short") if r["student_no"] == "2023010001"]
    assert "已获学分 3" in short["explanation"] and "12 学分" in short["explanation"]


# -- the radar, the alias, the review --------------------------------------------------------------


def _two_sources(env, couns):
    first = today() - timedelta(days=20)
    night = lambda i: first + timedelta(days=i)  # noqa: E731
    out = {"2023010001": {night(1), night(2)}, "2023020004": {night(3), night(6)}}
    import_json(couns, dorm_file(env.tmp / "门禁.csv", first, 7, out), "dorm")
    grades = grades_file(env.tmp / "成绩.csv", [["2023010001", "测甲", "2025-2026-1", "高等数学", "5", "30", "正常"]])
    import_json(couns, grades, "academic")
    return night


def test_radar_ranks_by_sources_then_recency_with_filters_csv_and_the_alias(store_env):
    couns = school(store_env)
    _two_sources(store_env, couns)
    rows = signals_json(couns)
    assert [(r["student_no"], r["sources"]) for r in rows] == [("2023010001", 2), ("2023020004", 1)]
    assert rows[0]["source_list"] == ["dorm", "academic"] and set(rows[0]["rules"]) == {"dorm_out", "first_fail"}
    assert json.loads(couns.ok("cases", "radar", "--json").stdout) == rows
    dorm_only = signals_json(couns, "--source", "dorm")
    # With only dorm signals, both have one source: the later hit first.
    assert [r["student_no"] for r in dorm_only] == ["2023020004", "2023010001"]
    assert [r["student_no"] for r in signals_json(couns, "--college", "理学院")] == ["2023020004"]
    assert signals_json(couns, "--rule", "meals_drop") == []
    csv_out = couns.ok("signals", "list", "--csv").stdout.splitlines()
    assert csv_out[0].startswith("学号,姓名,学院") and csv_out[1].startswith("2023010001,测甲,文学院")
    bad = couns("signals", "list", "--rule", "nope")
    assert bad.exit_code == 2 and "--rule" in bad.stderr


def test_review_closes_the_signal_and_its_task_is_audited_and_keeps_the_level(store_env):
    couns = school(store_env)
    _two_sources(store_env, couns)
    before = [t for t in tasks_json(couns) if t["kind"] == "signal_review"]
    assert len(before) == 3 and all(t.get("assigned_to") == "zhang" for t in before)
    [row] = [r for r in signals_json(couns) if r["student_no"] == "2023020004"]
    missing = couns("signals", "review", row["signal_ids"][0][:8], "--outcome", "dismissed")
    assert missing.exit_code == 2 and "--reason" in missing.stderr
    wrong = couns("signals", "review", row["signal_ids"][0][:8], "--outcome", "maybe", "--reason", "x")
    assert wrong.exit_code == 2 and "--outcome" in wrong.stderr
    done = json.loads(couns.ok("signals", "review", row["signal_ids"][0][:8], "--outcome", "dismissed", "--reason", "周末回家，已核实", "--json").stdout)
    assert done["outcome"] == "dismissed" and done["tasks_done"] == 1 and len(done["reviewed"]) == 1
    assert [r["student_no"] for r in signals_json(couns)] == ["2023010001"]
    after = [t for t in tasks_json(couns) if t["kind"] == "signal_review"]
    assert len(after) == 2
    again = couns("signals", "review", row["signal_ids"][0][:8], "--outcome", "noted", "--reason", "x")
    assert again.exit_code == 2 and "already reviewed" in again.stderr
    # By student number: every open signal of the student, as watch; the level stays.
    reviewed = couns.ok("signals", "review", "2023010001", "--outcome", "watch", "--reason", "约谈后持续关注")
    assert "2 signal(s) reviewed" in reviewed.stderr and "cases level" in reviewed.stderr
    assert signals_json(couns) == [] and couns.ok("signals", "list", "--json").stdout.strip() == "[]"
    assert json.loads(couns.ok("cases", "show", "2023010001", "--json").stdout)["student"]["level"] == "none"
    entries = [e for e in audit(store_env) if e["action"] == "signals.review"]
    assert [e["details"]["outcome"] for e in entries] == ["dismissed", "watch"] and all(e["staff"] == "zhang" for e in entries)
    with store_env.open() as store:
        sid = store.students.find("2023010001")["id"]
        signals = store.signals.for_student(sid)
        assert {s["outcome"] for s in signals} == {"watch"} and all(s["closed_on"] and s["reason"] == "约谈后持续关注" for s in signals)
        assert all(store.tasks.get(s["task_id"])["done_on"] for s in signals)
    nothing = couns("signals", "review", "2023010001", "--outcome", "noted", "--reason", "x")
    assert nothing.exit_code == 1 and "no open signal" in nothing.stderr


def test_repeated_hits_extend_one_signal_and_open_no_second_task(store_env):
    couns = school(store_env)
    first = today() - timedelta(days=30)
    night = lambda i: first + timedelta(days=i)  # noqa: E731
    import_json(couns, dorm_file(store_env.tmp / "门禁1.csv", first, 7, {"2023010001": {night(1), night(2)}}), "dorm")
    second = import_json(couns, dorm_file(store_env.tmp / "门禁2.csv", night(7), 7, {"2023010001": {night(9), night(12)}}), "dorm")
    assert second["signals_new"] == 0 and second["signals_extended"] == 1
    [row] = signals_json(couns)
    assert row["signals"] == 1 and row["hits"] == 2 and row["last_hit_on"] == night(12).isoformat()
    assert len([t for t in tasks_json(couns) if t["kind"] == "signal_review"]) == 1
    with store_env.open() as store:
        [signal] = store.signals.for_student(store.students.find("2023010001")["id"])
    assert [h["on"] for h in signal["history"]] == [night(2).isoformat(), night(12).isoformat()]
    assert signal["opened_on"] == night(2).isoformat() and signal["last_hit_on"] == night(12).isoformat()


def test_explanation_and_messages_in_chinese(store_env):
    couns = school(store_env)
    first = today() - timedelta(days=20)
    night = lambda i: first + timedelta(days=i)  # noqa: E731
    path = dorm_file(store_env.tmp / "门禁.csv", first, 7, {"2023010002": {night(3), night(4)}})
    zh = {"MHTOOL_LANG": "zh"}
    imported = couns.ok("signals", "import", str(path), "--source", "dorm", env=zh)
    assert "2023010002" in imported.stdout and "未归寝" in imported.stdout
    listed = couns.ok("signals", "list", env=zh).stdout
    line = next(x for x in listed.splitlines() if x.startswith("2023010002"))
    assert f"{night(0)} 至 {night(6)} 的 7 天内有 2 晚未归寝：{night(3)}、{night(4)}" in line
    rules_zh = couns.ok("signals", "rules", env=zh).stdout
    assert "未归寝" in rules_zh
    # Whether a rule is on, in the reader's words: 是 / yes.
    assert next(x for x in rules_zh.splitlines() if x.startswith("dorm_out")).split("\t")[3] == "是"
    rules_en = couns.ok("signals", "rules", "--lang", "en").stdout
    assert next(x for x in rules_en.splitlines() if x.startswith("dorm_out")).split("\t")[3] == "yes"
    help_text = couns.ok("signals", "--help", env=zh).stdout
    assert "import" in help_text and "review" in help_text


def test_rules_settings_and_the_override(store_env, tmp_path):
    couns = school(store_env)
    rules = json.loads(couns.ok("signals", "rules", "--json").stdout)
    assert [r["code"] for r in rules] == ["dorm_out", "meals_drop", "hidden_hardship", "first_fail", "academic_warning", "credits_short"]
    assert rules[0]["threshold"] == 2 and not rules[0]["overridden"]
    override = tmp_path / "本校规则.toml"
    override.write_text("[dorm_out]\nthreshold = 3\n", "utf-8")
    refused = couns("settings", "signal-rules", str(override))
    assert refused.exit_code == 5
    store_env.cli.ok("settings", "signal-rules", str(override))
    rules = json.loads(couns.ok("signals", "rules", "--json").stdout)
    assert rules[0]["threshold"] == 3 and rules[0]["overridden"]
    first = today() - timedelta(days=20)
    night = lambda i: first + timedelta(days=i)  # noqa: E731
    result = import_json(couns, dorm_file(store_env.tmp / "门禁.csv", first, 7, {"2023010001": {night(1), night(2)}}), "dorm")
    assert result["signals_new"] == 0  # 2 nights are below the store's 3
    broken = tmp_path / "坏规则.toml"
    broken.write_text("[dorm_out]\nthreshold = 0\n", "utf-8")
    bad = store_env.cli("settings", "signal-rules", str(broken))
    assert bad.exit_code == 3 and "dorm_out.threshold" in bad.stderr
    store_env.cli.ok("settings", "signal-rules", "--reset")
    assert json.loads(couns.ok("signals", "rules", "--json").stdout)[0]["threshold"] == 2
    shown = json.loads(store_env.cli.ok("settings", "show", "--json").stdout)
    assert shown["signal_fact_days"] == 140 and shown["credits_required"] == 160 and shown["signal_rules"] == {}
    store_env.cli.ok("settings", "set", "signal_fact_days", "120")
    assert json.loads(store_env.cli.ok("settings", "show", "--json").stdout)["signal_fact_days"] == 120
    wrong = store_env.cli("settings", "set", "signal_fact_days", "2")
    assert wrong.exit_code == 2 and "signal_fact_days" in wrong.stderr
    assert [e["action"] for e in audit(store_env) if e["action"].startswith("settings.s")].count("settings.signal-rules") == 2


def test_help_pages_have_examples(store_env):
    for command in ("import", "list", "review", "rules"):
        page = store_env.cli.ok("signals", command, "--help").stdout
        assert "Example: mhtool signals" in page, command
    assert "cases radar" in store_env.cli.ok("signals", "list", "--help").stdout
    assert "Example: mhtool cases radar" in store_env.cli.ok("cases", "radar", "--help").stdout
