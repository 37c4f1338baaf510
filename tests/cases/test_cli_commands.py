"""Each `cases` command through the CLI: stdout, stderr and exit code, good and bad input."""

import csv
import io
import json

import openpyxl
import pytest
from casekit import add_student, day, show_json, today


def entries_of(cli, no, kind=None):
    return [i for i in show_json(cli, no)["timeline"] if kind is None or i["kind"] == kind]


# -- show -------------------------------------------------------------------------------------


def test_show_unknown_student(school):
    r = school.cli("cases", "show", "1999999999")
    assert r.exit_code == 1
    assert r.stdout == ""
    assert "no student with number '1999999999'" in r.stderr and "cases find" in r.stderr


def test_show_json_shape(school):
    d = show_json(school.cli, "2024010001")
    assert set(d) == {"student", "timeline", "tasks", "measures", "missing"}
    s = d["student"]
    assert s["student_no"] == "2024010001" and s["level"] == "none" and s["status"] == "enrolled"
    assert s["guardians"] == [{"relation": "母亲", "name": "家长甲", "phone": "13900000000"}]
    assert "student_no_bi" not in s
    assert d["timeline"] == [] and d["tasks"] == [] and d["missing"] == []


def test_show_panel_zh_and_en(school):
    school.cli.ok("cases", "level", "2024010001", "orange", "--reason", "约谈确认")
    r = school.cli.ok("cases", "show", "2024010001")
    assert "二级(橙色)" in r.stdout and "学生心理档案" in r.stdout and "等级变更" in r.stdout
    assert r.stderr == ""
    r = school.cli.ok("cases", "show", "2024010001", "--lang", "en")
    assert "Level 2 (orange)" in r.stdout and "Student dossier" in r.stdout and "level change" in r.stdout
    assert school.cli("cases", "show", "2024010001", "--lang", "fr").exit_code == 2


def test_note_stored_and_shown_verbatim(school):
    for text in ("=HYPERLINK(\"http://x\")", "[red]紧急[/red] [bold]x"):
        r = school.cli.ok("cases", "note", "2024010001", "--text", text)
        assert len(r.stdout.split()) == 1
    r = school.cli.ok("cases", "show", "2024010001")
    assert "=HYPERLINK(\"http://x\")" in r.stdout
    assert "[red]紧急[/red] [bold]x" in r.stdout
    notes = entries_of(school.cli, "2024010001", "note")
    assert [n["fields"]["text"] for n in notes] == ["=HYPERLINK(\"http://x\")", "[red]紧急[/red] [bold]x"]


def test_show_kind_filter(school):
    school.cli.ok("cases", "note", "2024010001", "--text", "记录一")
    school.cli.ok("cases", "measure", "2024010001", "--kind", "资助", "--description", "助学金")
    d = json.loads(school.cli.ok("cases", "show", "2024010001", "--kind", "note", "--json").stdout)
    assert [i["kind"] for i in d["timeline"]] == ["note"]
    r = school.cli("cases", "show", "2024010001", "--kind", "gossip")
    assert r.exit_code == 2 and "--kind" in r.stderr


# -- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"])
def test_accepted_date_formats(school, fmt):
    from datetime import date

    yesterday = date.fromisoformat(day(-1))
    school.cli.ok("cases", "note", "2024010001", "--text", "x", "--date", yesterday.strftime(fmt))
    assert entries_of(school.cli, "2024010001", "note")[0]["date"] == day(-1)


@pytest.mark.parametrize("word,offset", [("today", 0), ("yesterday", -1)])
def test_today_and_yesterday(school, word, offset):
    school.cli.ok("cases", "note", "2024010001", "--text", "x", "--date", word)
    assert entries_of(school.cli, "2024010001", "note")[0]["date"] == day(offset)


def test_future_date_for_past_event(school):
    r = school.cli("cases", "interview", "2024010001", "--findings", "x", "--date", day(3))
    assert r.exit_code == 3
    assert "in the future" in r.stderr and r.stdout == ""
    assert entries_of(school.cli, "2024010001") == []


def test_unparseable_date(school):
    r = school.cli("cases", "note", "2024010001", "--text", "x", "--date", "next tuesday")
    assert r.exit_code == 2 and "cannot read 'next tuesday' as a date" in r.stderr


# -- levels -----------------------------------------------------------------------------------


def test_level_needs_reason(school):
    r = school.cli("cases", "level", "2024010001", "red")
    assert r.exit_code == 2 and "--reason" in r.stderr
    assert show_json(school.cli, "2024010001")["student"]["level"] == "none"


def test_level_that_is_not_a_level(school):
    r = school.cli("cases", "level", "2024010001", "purple", "--reason", "x")
    assert r.exit_code == 2 and "'purple' is not a level" in r.stderr
    r = school.cli("cases", "interview", "2024010001", "--findings", "x", "--confirm", "严重")
    assert r.exit_code == 2 and "--confirm" in r.stderr


def test_level_accepts_chinese_labels_and_refuses_no_change(school):
    school.cli.ok("cases", "level", "2024010001", "红色", "--reason", "危机后")
    assert show_json(school.cli, "2024010001")["student"]["level"] == "red"
    r = school.cli("cases", "level", "2024010001", "red", "--reason", "again")
    assert r.exit_code == 2 and "already at red" in r.stderr


def test_unknown_student_for_record_commands(school):
    for args in (["note", "--text", "x"], ["level", "red", "--reason", "x"], ["follow-up", "--content", "x"]):
        r = school.cli("cases", args[0], "2099000000", *args[1:])
        assert r.exit_code == 1 and "no student" in r.stderr


def test_close_and_reopen(school):
    school.cli.ok("cases", "level", "2024010001", "yellow", "--reason", "x")
    r = school.cli("cases", "close", "2024010001")
    assert r.exit_code == 2 and "--reason" in r.stderr
    school.cli.ok("cases", "close", "2024010001", "--reason", "三次回访稳定")
    d = show_json(school.cli, "2024010001")
    assert d["student"]["level"] == "none" and d["tasks"] == []
    assert json.loads(school.cli.ok("cases", "list", "--json").stdout) == []
    r = school.cli("cases", "close", "2024010001", "--reason", "again")
    assert r.exit_code == 1 and "not on the watch list" in r.stderr  # a refused state change
    r = school.cli("cases", "reopen", "2024010001", "--level", "none", "--reason", "x")
    assert r.exit_code == 3
    school.cli.ok("cases", "reopen", "2024010001", "--level", "orange", "--reason", "期末压力")
    d = show_json(school.cli, "2024010001")
    assert d["student"]["level"] == "orange" and [t["due"] for t in d["tasks"]] == [day(14)]


# -- tasks and follow-ups ------------------------------------------------------------------


def test_overdue_follow_up_then_recorded(school):
    school.cli.ok("cases", "level", "2024010001", "red", "--reason", "x", "--date", day(-20))
    rows = json.loads(school.cli.ok("cases", "list", "--overdue", "--json").stdout)
    assert [(r["student_no"], r["next_due"], r["overdue"]) for r in rows] == [("2024010001", day(-13), True)]
    tasks = json.loads(school.cli.ok("cases", "tasks", "--overdue", "--json").stdout)
    assert [(t["kind"], t["overdue_days"]) for t in tasks] == [("follow_up", 13)]
    r = school.cli.ok("cases", "list", "--overdue")
    assert "13 天" in r.stdout
    school.cli.ok("cases", "follow-up", "2024010001", "--content", "已回访")
    assert json.loads(school.cli.ok("cases", "list", "--overdue", "--json").stdout) == []
    assert json.loads(school.cli.ok("cases", "tasks", "--json").stdout)[0]["due"] == day(7)


def test_configured_cadence(school):
    assert json.loads(school.cli.ok("cases", "cadence", "--json").stdout) == {"red": 7, "orange": 14, "yellow": 30}
    r = school.cli.ok("cases", "cadence", "--red", "3")
    assert "cadence changed" in r.stderr and "一级(红色)\t3" in r.stdout
    school.cli.ok("cases", "level", "2024010001", "red", "--reason", "x")
    assert [t["due"] for t in show_json(school.cli, "2024010001")["tasks"]] == [day(3)]
    assert school.cli("cases", "cadence", "--yellow", "0").exit_code == 2
    counselor = school.add_staff("counselor1", "counselor")
    assert json.loads(counselor.ok("cases", "cadence", "--json").stdout)["red"] == 3
    assert counselor("cases", "cadence", "--red", "5").exit_code == 5


def test_remind_tasks_mine_and_done(school):
    c = school.add_staff("counselor1", "counselor")
    school.cli.ok("cases", "edit", "2024010001", "--counselor", "counselor1")
    r = c.ok("cases", "remind", "2024010001", "--due", "+5d", "--note", "期末前再约谈")
    task_id = r.stdout.strip()
    r = c("cases", "remind", "2024010001", "--due", day(-1), "--note", "x")
    assert r.exit_code == 3 and "past" in r.stderr
    c.ok("cases", "remind", "2024010003", "--due", "tomorrow", "--note", "别人的", "--assign", "admin")
    mine = json.loads(c.ok("cases", "tasks", "--mine", "--json").stdout)
    assert [(t["student_no"], t["kind"], t["due"], t["note"]) for t in mine] == [("2024010001", "reminder", day(5), "期末前再约谈")]
    assert len(json.loads(c.ok("cases", "tasks", "--json").stdout)) == 2
    assert len(json.loads(c.ok("cases", "tasks", "--due-within", "2", "--json").stdout)) == 1
    r = c.ok("cases", "done", task_id[:6], "--note", "已约谈")
    assert r.stdout.strip() == task_id
    assert json.loads(c.ok("cases", "tasks", "--mine", "--json").stdout) == []
    r = c("cases", "done", task_id)
    assert r.exit_code == 2 and "already done" in r.stderr
    r = c("cases", "done", "zz")
    assert r.exit_code == 2 and "too short" in r.stderr


def test_tasks_empty_json_and_table(school):
    assert school.cli.ok("cases", "tasks", "--json").stdout.strip() == "[]"
    r = school.cli.ok("cases", "tasks")
    assert r.stdout.splitlines()[0].startswith("截止日期")


# -- measures, guardians, crises -------------------------------------------------------------


def test_measure_and_ending_it_by_correction(school):
    r = school.cli("cases", "measure", "2024010001", "--kind", "资助", "--description", "x", "--start", day(-1), "--end", day(-5))
    assert r.exit_code == 3 and "before the start" in r.stderr
    r = school.cli.ok("cases", "measure", "2024010001", "--kind", "学业帮扶", "--description", "同伴辅导", "--responsible", "辅导员甲", "--date", day(-10))
    first = r.stdout.strip()
    d = show_json(school.cli, "2024010001")
    assert [(m["measure_kind"], m["active"]) for m in d["measures"]] == [("学业帮扶", True)]
    # A correction restates only what changes; the rest comes from the corrected entry.
    school.cli.ok("cases", "measure", "2024010001", "--end", day(-1), "--corrects", first[:8])
    d = show_json(school.cli, "2024010001")
    assert [(m["measure_kind"], m["description"], m["responsible"], m["start"], m["end"], m["active"]) for m in d["measures"]] == [
        ("学业帮扶", "同伴辅导", "辅导员甲", day(-10), day(-1), False)
    ]
    originals = [i for i in d["timeline"] if i["id"] == first]
    assert originals[0]["corrected_by"] and originals[0]["fields"]["description"] == "同伴辅导"


def test_correction_rules(school):
    note = school.cli.ok("cases", "note", "2024010001", "--text", "错误的记录").stdout.strip()
    r = school.cli("cases", "follow-up", "2024010001", "--content", "x", "--corrects", note)
    assert r.exit_code == 2 and "note entry" in r.stderr
    other = school.cli.ok("cases", "note", "2024010003", "--text", "别人的").stdout.strip()
    r = school.cli("cases", "note", "2024010001", "--text", "x", "--corrects", other)
    assert r.exit_code == 1 and "not in the dossier" in r.stderr
    r = school.cli("cases", "note", "2024010001", "--text", "x", "--corrects", "ffffffffffff")
    assert r.exit_code == 1 and "no entry" in r.stderr
    r = school.cli.ok("cases", "note", "2024010001", "--text", "更正后的记录", "--corrects", note)
    assert "corrects entry" in r.stderr
    notes = entries_of(school.cli, "2024010001", "note")
    assert [n["fields"]["text"] for n in notes] == ["错误的记录", "更正后的记录"]
    assert notes[1]["corrects"] == note and notes[0]["corrected_by"] == notes[1]["id"]
    assert "更正" in school.cli.ok("cases", "show", "2024010001").stdout


def test_guardian_contact(school):
    r = school.cli("cases", "guardian", "2024010001", "--who", "父亲", "--content", "x", "--consent", "maybe")
    assert r.exit_code == 2 and "--consent" in r.stderr
    r = school.cli("cases", "guardian", "2024010001", "--content", "x")
    assert r.exit_code == 2 and "--who" in r.stderr
    school.cli.ok("cases", "guardian", "2024010001", "--who", "父亲", "--channel", "面谈", "--content", "签署知情同意书", "--consent", "refused")
    g = entries_of(school.cli, "2024010001", "guardian_contact")[0]
    assert g["fields"] == {"guardian": "父亲", "channel": "面谈", "content": "签署知情同意书", "consent": "refused"}
    assert "拒绝签署" in school.cli.ok("cases", "show", "2024010001").stdout


def test_crisis_late_parent_notice_and_level(school):
    r = school.cli.ok(
        "cases", "crisis", "2024010001", "--what", "情绪失控", "--happened-at", f"{day(-3)} 20:00",
        "--parents-notified-at", f"{day(-1)} 09:00", "--level", "red",
    )
    assert "37 hours" in r.stderr and "warning" in r.stderr
    d = show_json(school.cli, "2024010001")
    assert d["student"]["level"] == "red"
    assert d["student"]["level_reason"] == "危机事件：情绪失控"
    r = school.cli("cases", "crisis", "2024010001", "--what", "x", "--happened-at", f"{day(2)} 10:00")
    assert r.exit_code == 3 and "future" in r.stderr
    r = school.cli("cases", "crisis", "2024010001", "--what", "x", "--notified", "书记")
    assert r.exit_code == 2 and "WHO@WHEN" in r.stderr
    r = school.cli.ok("cases", "crisis", "2024010003", "--what", "x")
    assert "parents" in r.stderr


# -- status -----------------------------------------------------------------------------------


def test_leave_and_return(school):
    school.cli.ok("cases", "level", "2024010001", "orange", "--reason", "x", "--date", day(-40))
    r = school.cli("cases", "status", "2024010001", "leave", "--from", day(-30))
    assert r.exit_code == 2 and "--reason" in r.stderr
    school.cli.ok("cases", "status", "2024010001", "leave", "--from", day(-30), "--until", day(60), "--reason", "遵医嘱休学", "--document", "休学审批表")
    d = show_json(school.cli, "2024010001")
    assert d["student"]["status"] == "leave"
    leave = entries_of(school.cli, "2024010001", "status_change")[0]
    assert leave["date"] == day(-30) and leave["fields"]["until"] == day(60) and leave["fields"]["documents"] == ["休学审批表"]
    r = school.cli("cases", "status", "2024010001", "return")
    assert r.exit_code == 3 and "--certificate" in r.stderr
    r = school.cli("cases", "status", "2024010001", "return", "--without-certificate")
    assert r.exit_code == 2 and "--reason" in r.stderr
    school.cli.ok("cases", "status", "2024010001", "return", "--certificate", "某医院, 2026-11-01, 可复学", "--assessed-by", "咨询师乙")
    d = show_json(school.cli, "2024010001")
    assert d["student"]["status"] == "returned" and d["student"]["level"] == "orange"
    reviews = sorted(t["due"] for t in d["tasks"] if t["kind"] == "review")
    assert reviews == [day(14), day(30)]
    # An ordinary follow-up today does not settle the reviews a month ahead.
    school.cli.ok("cases", "follow-up", "2024010001", "--content", "复学后状态尚可")
    assert sorted(t["due"] for t in show_json(school.cli, "2024010001")["tasks"] if t["kind"] == "review") == [day(14), day(30)]


def test_return_without_certificate_with_reason(school):
    school.cli.ok("cases", "status", "2024010003", "leave", "--reason", "家庭原因")
    school.cli.ok("cases", "status", "2024010003", "return", "--without-certificate", "--reason", "非医疗原因休学")
    assert show_json(school.cli, "2024010003")["student"]["status"] == "returned"


def test_status_bad_input(school):
    r = school.cli("cases", "status", "2024010001", "expel")
    assert r.exit_code == 2 and "ACTION" in r.stderr
    r = school.cli("cases", "status", "2024010001", "return", "--certificate", "x")
    assert r.exit_code == 1 and "cannot become returned" in r.stderr
    r = school.cli("cases", "status", "2024010001", "graduate", "--from", day(-1))
    assert r.exit_code == 2
    r = school.cli("cases", "status", "2024010001", "leave", "--from", day(-1), "--until", day(-3), "--reason", "x")
    assert r.exit_code == 3 and "before --from" in r.stderr


def test_withdraw_and_graduate(school):
    school.cli.ok("cases", "level", "2024010001", "yellow", "--reason", "x")
    school.cli.ok("cases", "status", "2024010001", "withdraw", "--reason", "本人申请退学")
    d = show_json(school.cli, "2024010001")
    assert d["student"]["status"] == "withdrawn" and d["student"]["level"] == "none" and d["tasks"] == []
    school.cli.ok("cases", "status", "2024010003", "graduate")
    assert show_json(school.cli, "2024010003")["student"]["status"] == "graduated"
    r = school.cli("cases", "status", "2024010003", "leave", "--reason", "x")
    assert r.exit_code == 1  # a refused state change


# -- list and find ----------------------------------------------------------------------------


def test_list_filters(school):
    school.cli.ok("cases", "edit", "2024010001", "--group", "hardship", "--counselor", "admin")
    school.cli.ok("cases", "level", "2024010001", "red", "--reason", "x")
    school.cli.ok("cases", "level", "2024020002", "yellow", "--reason", "x")

    def nos(*args):
        return [r["student_no"] for r in json.loads(school.cli.ok("cases", "list", *args, "--json").stdout)]

    assert nos() == ["2024010001", "2024020002"]
    assert nos("--level", "yellow") == ["2024020002"]
    assert nos("--level", "红色") == ["2024010001"]
    assert nos("--college", "理学院") == ["2024020002"]
    assert nos("--group", "家庭经济困难") == ["2024010001"]
    assert nos("--counselor", "admin") == ["2024010001"]
    assert nos("--due-within", "7") == ["2024010001"]
    assert nos("--status", "leave") == []
    assert nos("--all") == ["2024010001", "2024020002", "2024010003"]
    assert nos("--all", "--level", "none") == ["2024010003"]
    row = json.loads(school.cli.ok("cases", "list", "--json").stdout)[0]
    for key in ("student_no", "name", "college", "class_name", "level", "level_since", "status", "counselor", "next_due", "overdue"):
        assert key in row
    r = school.cli("cases", "list", "--level", "purple")
    assert r.exit_code == 2
    r = school.cli("cases", "list", "--status", "asleep")
    assert r.exit_code == 2
    r = school.cli("cases", "list", "--group", "athletes")
    assert r.exit_code == 2


def test_list_table_and_csv(school):
    add_student(school.cli, "2024010009", "=CMD()", "文学院", "汉语言2401")
    school.cli.ok("cases", "level", "2024010009", "orange", "--reason", "x")
    r = school.cli.ok("cases", "list")
    header = r.stdout.splitlines()[0].split("\t")
    assert header[:5] == ["学号", "姓名", "学院", "班级", "关注等级"]
    assert "二级(橙色)" in r.stdout
    r = school.cli.ok("cases", "list", "--csv", "--lang", "en")
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0][0] == "Student no." and rows[1][1] == "'=CMD()"


def test_list_empty(school):
    r = school.cli.ok("cases", "list", "--json")
    assert r.stdout.strip() == "[]"
    r = school.cli.ok("cases", "list")
    assert "（无）" in r.stderr


def test_find(school):
    rows = json.loads(school.cli.ok("cases", "find", "丙", "--json").stdout)
    assert [r["student_no"] for r in rows] == ["2024010003"]
    rows = json.loads(school.cli.ok("cases", "find", "0100", "--json").stdout)
    assert [r["student_no"] for r in rows] == ["2024010001", "2024010003"]
    assert school.cli.ok("cases", "find", "nobody", "--json").stdout.strip() == "[]"
    r = school.cli("cases", "find", "1")
    assert r.exit_code == 2


# -- add and edit ---------------------------------------------------------------------------


def test_add_refuses_duplicates_and_asks_for_flags(school):
    r = school.cli("cases", "add", "2024010001", "--name", "测试丁", "--college", "文学院")
    assert r.exit_code == 3 and "already has a dossier" in r.stderr
    r = school.cli("cases", "add", "2024010010", "--college", "文学院")
    assert r.exit_code == 2 and "--name" in r.stderr
    r = school.cli("cases", "add", "2024010010", "--name", "测试丁", "--college", "文学院", "--group", "athletes")
    assert r.exit_code == 2 and "special groups" in r.stderr
    r = school.cli("cases", "add", "2024010010", "--name", "测试丁", "--college", "文学院", "--guardian", "父亲")
    assert r.exit_code == 2 and "RELATION,NAME,PHONE" in r.stderr
    r = school.cli.ok("cases", "add", "0024010010", "--name", "测试丁", "--college", "文学院", "--tag", "体育特长生", "--counselor", "nobody")
    assert r.stdout.strip() == "0024010010"
    assert "not a staff member" in r.stderr
    s = show_json(school.cli, "0024010010")["student"]
    assert s["student_no"] == "0024010010" and s["tags"] == ["体育特长生"] and s["source"] == "manual"


def test_edit(school):
    r = school.cli("cases", "edit", "2024010001")
    assert r.exit_code == 2 and "nothing to change" in r.stderr
    r = school.cli.ok("cases", "edit", "2024010001", "--dorm", "3-402", "--group", "hardship", "--group", "学业问题", "--guardian", "父亲,家长乙,13700000000")
    assert "dorm" in r.stderr and "groups" in r.stderr
    s = show_json(school.cli, "2024010001")["student"]
    assert s["dorm"] == "3-402" and s["groups"] == ["hardship", "academic"]
    assert s["guardians"] == [{"relation": "父亲", "name": "家长乙", "phone": "13700000000"}]
    school.cli.ok("cases", "edit", "2024010001", "--group", "none")
    assert show_json(school.cli, "2024010001")["student"]["groups"] == []
    r = school.cli.ok("cases", "edit", "2024010001", "--dorm", "3-402")
    assert "nothing changed" in r.stderr
    r = school.cli("cases", "edit", "2099000000", "--dorm", "1")
    assert r.exit_code == 1


# -- export -----------------------------------------------------------------------------------


def test_export(school, tmp_path):
    school.cli.ok("cases", "level", "2024010001", "orange", "--reason", "x")
    school.cli.ok("cases", "note", "2024010001", "--text", "=SUM(A1:A9)")
    r = school.cli("cases", "export", "2024010001")
    assert r.exit_code == 2 and "--out" in r.stderr
    r = school.cli("cases", "export", "2024010001", "--out", str(tmp_path / "missing" / "x.xlsx"))
    assert r.exit_code == 2 and "does not exist" in r.stderr
    r = school.cli.ok("cases", "export", "2024010001", "--out", str(tmp_path), "--lang", "en")
    path = tmp_path / "dossier_2024010001.xlsx"
    assert r.stdout.strip() == str(path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Profile", "Timeline"]
    cells = [c for row in wb["Timeline"].iter_rows() for c in row if c.value == "=SUM(A1:A9)"]
    assert cells and cells[0].data_type == "s"
    assert (path.stat().st_mode & 0o077) == 0
    r = school.cli("cases", "export", "2099000000", "--out", str(tmp_path / "y.xlsx"))
    assert r.exit_code == 1 and not (tmp_path / "y.xlsx").exists()


def test_help_lists_commands(cli):
    r = cli.ok("cases", "--help")
    for name in ("show", "list", "find", "add", "edit", "interview", "level", "note", "measure", "guardian", "crisis",
                 "status", "follow-up", "close", "reopen", "tasks", "remind", "done", "check", "export", "import-interviews"):
        assert name in r.stdout


def test_dates_today_helper_matches_store():
    assert today().isoformat() == day(0)
