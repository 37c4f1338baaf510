"""Defects a new center met in its routine (issue 15, items 3–5): dates out of order, partly filled sheets, and five small ones."""

from __future__ import annotations

import json
from datetime import date

import openpyxl
from casekit import audit, day, show_json
from test_routine import screen

STUDENT = "2024010001"


# -- item 3: dates in order ------------------------------------------------------------------


def test_a_return_dated_before_the_leave_began_is_refused(school):
    cli = school.cli
    cli.ok("cases", "status", STUDENT, "leave", "--from", day(-10), "--reason", "遵医嘱休学")
    before = show_json(cli, STUDENT)
    r = cli("cases", "status", STUDENT, "return", "--on", day(-20), "--certificate", "示例医院, 2026-01-01, 可复学")
    assert r.exit_code in (2, 3)
    said = " ".join(r.stderr.split())
    assert day(-20) in said and day(-10) in said and "休学" in said and "--on" in said
    after = show_json(cli, STUDENT)
    assert after == before and after["student"]["status"] == "leave"
    assert [t for t in after["tasks"] if t["kind"] == "review"] == []
    # The same day as the leave began, or later, is fine.
    cli.ok("cases", "status", STUDENT, "return", "--on", day(-3), "--certificate", "示例医院, 2026-01-01, 可复学")
    assert show_json(cli, STUDENT)["student"]["status"] == "returned"
    # And a new leave cannot start before that return.
    r = cli("cases", "status", STUDENT, "leave", "--from", day(-5), "--reason", "再次休学")
    assert r.exit_code in (2, 3) and day(-3) in r.stderr


def test_a_follow_up_dated_before_the_watch_began_is_refused(school):
    cli = school.cli
    cli.ok("cases", "level", STUDENT, "orange", "--reason", "约谈确认", "--date", day(-5))
    r = cli("cases", "follow-up", STUDENT, "--content", "回访", "--date", day(-8))
    assert r.exit_code in (2, 3)
    said = " ".join(r.stderr.split())
    assert day(-8) in said and day(-5) in said and "watch began" in said
    assert [i for i in show_json(cli, STUDENT)["timeline"] if i["kind"] == "follow_up"] == []
    cli.ok("cases", "follow-up", STUDENT, "--content", "回访", "--date", day(-5))


def test_a_referral_step_dated_before_the_referral_is_refused(school):
    cli = school.cli
    cli.ok("referral", "hospitals", "add", "示例市精神卫生中心")
    ref = cli.ok(
        "referral", "add", STUDENT, "--hospital", "示例市精神卫生中心", "--reason", "需专科评估", "--urgency", "routine", "--date", day(-4),
        "--guardian-informed", f"{day(-4)} 10:00", "--consent", "signed",
    ).stdout.strip()
    r = cli("referral", "update", ref, "--status", "attended", "--date", day(-6))
    assert r.exit_code in (2, 3) and day(-6) in r.stderr and day(-4) in r.stderr
    r = cli("referral", "update", ref, "--status", "attended", "--visit-date", day(-6))
    assert r.exit_code in (2, 3) and day(-6) in r.stderr


# -- item 4: partly filled interview sheets --------------------------------------------------

SPLIT_HEADER = ["学号", "姓名", "性别", "学院", "班级", "辅导员", "建议关注等级", "约谈截止", "约谈日期", "约谈人", "情况描述", "评估等级", "后续措施"]


def test_rows_not_filled_in_yet_are_skipped_and_counted(school, tmp_path):
    """The per-college sheet of `report census --split-by college`, sent back with only some rows done."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["文学院 约谈记录表（请填写约谈日期、约谈人、情况描述、评估等级、后续措施后交回心理中心）"])
    ws.append(SPLIT_HEADER)
    ws.append([STUDENT, "测试甲", "女", "文学院", "汉语言2401", "辅导员甲", "二级(橙色)", date.fromisoformat(day(1)),
               date.fromisoformat(day(-1)), "辅导员甲", "情绪低落，睡眠差", "橙色", "两周后回访"])
    # Not done yet: nothing filled in; or a date and an interviewer but neither findings nor a level.
    ws.append(["2024010003", "测试丙", "女", "文学院", "汉语言2402", "辅导员甲", "三级(黄色)", date.fromisoformat(day(5)), None, None, None, None, None])
    ws.append(["2024020002", "测试乙", "女", "理学院", "数学2402", "辅导员乙", "三级(黄色)", date.fromisoformat(day(5)),
               date.fromisoformat(day(-1)), "辅导员乙", None, None, None])
    path = tmp_path / "文学院约谈名单.xlsx"
    wb.save(path)

    dry = json.loads(school.cli.ok("cases", "import-interviews", str(path), "--dry-run", "--json").stdout)
    assert (dry["imported"], dry["not_yet"], dry["rejected"], dry["problems"]) == (1, 2, 0, [])
    r = school.cli.ok("cases", "import-interviews", str(path))
    assert "2 not yet done" in r.stderr and "1 interview(s)" in r.stderr
    assert show_json(school.cli, STUDENT)["student"]["level"] == "orange"
    for no in ("2024010003", "2024020002"):
        assert show_json(school.cli, no)["timeline"] == []
    entry = [e for e in audit(school) if e["action"] == "cases.import-interviews"][-1]
    assert entry["details"]["not_yet"] == 2

    # Filled in later and sent back again: the done row is a duplicate, the new one imported, the rest still not yet.
    ws["K4"], ws["I4"], ws["J4"] = "适应良好", date.fromisoformat(day(0)), "辅导员甲"
    wb.save(path)
    again = json.loads(school.cli.ok("cases", "import-interviews", str(path), "--json").stdout)
    assert (again["imported"], again["duplicates"], again["not_yet"], again["rejected"]) == (1, 1, 1, 0)


def test_a_row_with_a_level_but_no_findings_is_still_a_problem(school, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(f"学号,姓名,约谈日期,约谈人,情况描述,评估等级,后续措施\n{STUDENT},测试甲,{day(-1)},辅导员甲,,红色,\n", encoding="utf-8")
    r = school.cli("cases", "import-interviews", str(path))
    assert r.exit_code == 3 and "row 2" in r.stderr


# -- item 5 ------------------------------------------------------------------------------------


def test_the_interviewing_counselor_takes_a_case_that_has_none(school):
    zhou = school.add_staff("zhou", "counselor")
    screen(school, STUDENT, "orange")
    assert json.loads(zhou.ok("cases", "tasks", "--mine", "--json").stdout) == []
    zhou.ok("cases", "interview", STUDENT, "--findings", "约谈确认", "--confirm", "orange")
    assert show_json(zhou, STUDENT)["student"]["counselor"] == "zhou"
    mine = json.loads(zhou.ok("cases", "tasks", "--mine", "--json").stdout)
    assert [(t["student_no"], t["kind"]) for t in mine] == [(STUDENT, "follow_up")]
    # A student who has a counselor keeps them.
    school.cli.ok("cases", "edit", "2024010003", "--counselor", "admin")
    zhou.ok("cases", "interview", "2024010003", "--findings", "代为约谈")
    assert show_json(zhou, "2024010003")["student"]["counselor"] == "admin"


def test_tasks_show_the_proposed_level(school):
    screen(school, STUDENT, "red")
    rows = json.loads(school.cli.ok("cases", "tasks", "--json").stdout)
    assert [(t["kind"], t["proposed_level"]) for t in rows] == [("interview", "red")]
    table = school.cli.ok("cases", "tasks").stdout
    assert "建议关注等级" in table and "一级(红色)" in table
    assert "Proposed level" in school.cli.ok("cases", "tasks", "--lang", "en").stdout
    school.cli.ok("cases", "interview", STUDENT, "--findings", "约谈", "--confirm", "yellow")
    [follow_up] = json.loads(school.cli.ok("cases", "tasks", "--json").stdout)
    assert follow_up["kind"] == "follow_up" and follow_up["proposed_level"] is None and follow_up["level"] == "yellow"


def test_an_erased_dossier_says_when_and_why_it_was_erased(school):
    cli = school.cli
    cli.ok("cases", "interview", STUDENT, "--findings", "约谈", "--confirm", "yellow")
    cli.ok("erase", STUDENT, "--reason", "本人书面申请删除", "--yes")
    r = cli.ok("cases", "show", STUDENT)
    said = " ".join(r.stdout.split())
    assert "已于" in said and day(0) in said and "admin" in said and "应申请删除" in said and "本人书面申请删除" in said
    assert "测试甲" not in r.stdout and "文学院" not in r.stdout
    shown = json.loads(cli.ok("cases", "show", STUDENT, "--json").stdout)
    assert shown["student_no"] == STUDENT
    assert {k: shown["erased"][k] for k in ("on", "by", "basis", "reason")} == {"on": day(0), "by": "admin", "basis": "request", "reason": "本人书面申请删除"}
    assert "测试甲" not in json.dumps(shown, ensure_ascii=False)
    en = cli.ok("cases", "show", STUDENT, "--lang", "en").stdout
    assert "erased on request" in " ".join(en.split())
    # A number nobody ever had is still "no student".
    missing = cli("cases", "show", "2099000000")
    assert missing.exit_code == 1 and "no student" in missing.stderr


def test_graduate_says_a_sentence_and_needs_a_reason(school):
    cli = school.cli
    for no in ("2022010001", "2022010002", "2022010003"):
        cli.ok("cases", "add", no, "--name", f"毕业生{no[-1]}", "--college", "文学院", "--grade", "2022级")
    cli.ok("cases", "status", "2022010003", "leave", "--from", day(-30), "--reason", "休学")
    r = cli("cases", "graduate", "--class-of", "2022")
    assert r.exit_code == 2 and "--reason" in r.stderr
    assert show_json(cli, "2022010001")["student"]["status"] == "enrolled"
    r = cli.ok("cases", "graduate", "--class-of", "2022", "--reason", "2022级毕业", "--date", day(-1))
    said = " ".join(r.stderr.split())
    assert "{" not in said and "}" not in said
    assert f"class of 2022 (2022级): graduated 2 students on {day(-1)}; skipped 1 (1 on leave 休学)" in said
    assert show_json(cli, "2022010001")["student"]["status"] == "graduated"
    dry = cli.ok("cases", "graduate", "--class-of", "2022", "--dry-run")
    assert "would graduate 0 students" in dry.stderr


def test_the_same_crisis_recorded_twice_within_minutes_warns(school):
    cli = school.cli
    args = ["cases", "crisis", STUDENT, "--what", "宿舍内情绪崩溃，室友报告", "--happened-at", f"{day(-1)} 22:10", "--parents-notified-at", f"{day(-1)} 22:40"]
    first = cli.ok(*args)
    assert "already recorded" not in first.stderr
    again = cli.ok("cases", "crisis", STUDENT, "--what", "宿舍内情绪崩溃，室友报告辅导员", "--happened-at", f"{day(-1)} 22:15",
                   "--parents-notified-at", f"{day(-1)} 22:40")
    said = " ".join(again.stderr.split())
    first_id = first.stdout.split()[0]
    assert "warning" in said.lower() and "already recorded" in said and first_id[:8] in said and "--corrects" in said
    crises = [i for i in show_json(cli, STUDENT)["timeline"] if i["kind"] == "crisis"]
    assert len(crises) == 2  # still recorded
    # Another event of the same evening, or the same words hours apart, is no duplicate.
    other = cli.ok("cases", "crisis", STUDENT, "--what", "次日课堂上惊恐发作", "--happened-at", f"{day(-1)} 22:12", "--parents-notified-at", f"{day(-1)} 23:00")
    assert "already recorded" not in other.stderr
    later = cli.ok("cases", "crisis", STUDENT, "--what", "宿舍内情绪崩溃，室友报告", "--happened-at", f"{day(0)} 03:10", "--parents-notified-at", f"{day(0)} 03:30")
    assert "already recorded" not in later.stderr
