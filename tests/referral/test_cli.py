"""`mhtool referral …` through the real CLI on a real store: output, exit codes and what is stored."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import openpyxl
import pytest

from tests.referral.conftest import (
    COLLEGE,
    HOSPITAL,
    OTHER,
    OTHER_COLLEGE,
    STUDENT,
    add_guardian_contact,
    as_json,
    days_ago,
    store_today,
)

MARKUP = '=HYPERLINK("http://example.invalid") [red]不要渲染[/red]'


def referral_rows(env):
    with env.open() as store:
        return store.referrals.all()


def dossier(env, student_no=STUDENT):
    from mhtool.cases.usecases.service import entries_for

    with env.open() as store:
        return entries_for(store, store.students.find(student_no)["id"])


def tasks(env, student_no=STUDENT):
    with env.open() as store:
        sid = store.students.find(student_no)["id"]
        return store.tasks.for_student(sid)


def audit_actions(env):
    return [e["action"] for e in as_json(env.cli.ok("audit", "log", "--limit", "0", "--json"))]


# -- hospitals ---------------------------------------------------------------------------------


def test_hospitals_add_list_edit(store_env):
    cli = store_env.cli
    assert as_json(cli.ok("referral", "hospitals", "list", "--json")) == []
    added = cli.ok("referral", "hospitals", "add", HOSPITAL, "--department", "心理门诊", "--level", "三级甲等", "--green-channel", "--json")
    assert "added hospital" in added.stderr
    cli.ok("referral", "hospitals", "add", "示例大学校医院", "--level", "二甲", "--address", "示例路1号")
    rows = as_json(cli.ok("referral", "hospitals", "list", "--json"))
    assert [(h["name"], h["level"], h["green_channel"]) for h in rows] == [("示例大学校医院", "2A", False), (HOSPITAL, "3A", True)]
    table = cli.ok("referral", "hospitals", "list").stdout
    assert "三甲" in table and "二甲" in table and "示例路1号" in table

    cli.ok("referral", "hospitals", "edit", HOSPITAL, "--phone", "010-00000000", "--no-green-channel")
    edited = {h["name"]: h for h in as_json(cli.ok("referral", "hospitals", "list", "--json"))}[HOSPITAL]
    assert edited["phone"] == "010-00000000" and edited["green_channel"] is False and edited["department"] == "心理门诊"


def test_hospital_names_are_unique_ignoring_spaces_and_width(store_env):
    store_env.cli.ok("referral", "hospitals", "add", HOSPITAL)
    dup = store_env.cli("referral", "hospitals", "add", f" {HOSPITAL} ")
    assert dup.exit_code == 3 and "already in the directory" in dup.stderr
    store_env.cli.ok("referral", "hospitals", "add", "示例大学校医院")
    clash = store_env.cli("referral", "hospitals", "edit", "示例大学校医院", "--name", HOSPITAL)
    assert clash.exit_code == 3


def test_hospital_edit_of_an_unknown_name_suggests_close_ones(ref_env):
    result = ref_env.cli("referral", "hospitals", "edit", "示例精神卫生中心", "--phone", "1")
    assert result.exit_code == 1
    assert HOSPITAL in result.stderr


def test_bad_hospital_level_is_a_usage_error(store_env):
    result = store_env.cli("referral", "hospitals", "add", HOSPITAL, "--level", "五星")
    assert result.exit_code == 2 and "--level" in result.stderr
    assert as_json(store_env.cli.ok("referral", "hospitals", "list", "--json")) == []


def test_clerk_may_read_the_directory_but_not_change_it(ref_env):
    clerk = ref_env.add_staff("clerk1", "clerk")
    assert [h["name"] for h in as_json(clerk.ok("referral", "hospitals", "list", "--json"))] == [HOSPITAL]
    assert clerk("referral", "hospitals", "add", "示例大学校医院").exit_code == 5


# -- add -----------------------------------------------------------------------------------------


def test_add_prints_the_id_records_the_referral_entry_and_task(ref_env):
    result = ref_env.cli.ok(
        "referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "持续失眠伴消极想法", "--escort", "李老师", "--date", days_ago(2)
    )
    short_id = result.stdout.strip()
    assert len(short_id) == 8
    assert f"referral {short_id}" in result.stderr and HOSPITAL in result.stderr and "常规" in result.stderr

    [row] = referral_rows(ref_env)
    assert row["id"].startswith(short_id)
    assert row["status"] == "referred" and row["referred_on"] == days_ago(2) and row["urgency"] == "routine"
    assert row["department"] == "心理门诊", "the directory's department is the default"
    assert row["escort"] == "李老师" and row["created_by"] == "admin"

    [entry] = [e for e in dossier(ref_env) if e["kind"] == "referral"]
    assert entry["author"] == "admin" and entry["date"] == days_ago(2)
    assert entry["fields"]["referral_id"] == row["id"] and entry["fields"]["status"] == "referred"
    assert entry["fields"]["hospital"] == HOSPITAL and "持续失眠伴消极想法" in entry["fields"]["summary"]

    [task] = [t for t in tasks(ref_env) if t["kind"] == "referral_visit"]
    assert task["due_on"] == (date.fromisoformat(days_ago(2)) + timedelta(days=7)).isoformat()
    assert task["referral_id"] == row["id"] and task["done_on"] is None


def test_add_json_shows_the_record(ref_env):
    # Yesterday's times: "today 08:30" would be in the future when the suite runs before 08:30.
    view = as_json(ref_env.cli.ok("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "情绪低落", "--urgency", "加急", "--date", days_ago(1),
                                  "--guardian-informed", f"{days_ago(1)} 08:30", "--guardian-how", "电话", "--consent", "signed", "--json"))
    assert view["urgency"] == "urgent" and view["consent"] == "signed"
    assert view["guardian_informed"] == {"at": f"{days_ago(1)}T08:30", "how": "电话", "by": "admin"}
    assert view["student"]["student_no"] == STUDENT and view["valid_next"] == ["attended", "declined", "cancelled"]
    assert not [t for t in tasks(ref_env) if t["kind"] == "referral_guardian"]


def test_unknown_hospital_offers_close_names_and_writes_nothing(ref_env):
    result = ref_env.cli("referral", "add", STUDENT, "--hospital", "示例市精神卫生中", "--reason", "x")
    assert result.exit_code == 2
    assert "no hospital named" in result.stderr and f"did you mean {HOSPITAL}" in result.stderr
    assert "hospitals add" in result.stderr
    assert referral_rows(ref_env) == []


def test_hospital_name_matches_despite_spaces_and_full_width(ref_env):
    ref_env.cli.ok("referral", "add", STUDENT, "--hospital", " 示例市 精神卫生中心 ", "--reason", "x")
    assert referral_rows(ref_env)[0]["hospital"] == HOSPITAL


def test_missing_reason_names_the_flag(ref_env):
    result = ref_env.cli("referral", "add", STUDENT, "--hospital", HOSPITAL)
    assert result.exit_code == 2 and "--reason" in result.stderr
    blank = ref_env.cli("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "  ")
    assert blank.exit_code == 2 and "--reason" in blank.stderr
    assert referral_rows(ref_env) == []


def test_missing_hospital_names_the_flag(ref_env):
    result = ref_env.cli("referral", "add", STUDENT, "--reason", "x")
    assert result.exit_code == 2 and "--hospital" in result.stderr


def test_unknown_student_and_bad_urgency(ref_env):
    assert ref_env.cli("referral", "add", "2099999999", "--hospital", HOSPITAL, "--reason", "x").exit_code == 1
    bad = ref_env.cli("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "x", "--urgency", "asap")
    assert bad.exit_code == 2 and "emergency" in bad.stderr
    future = ref_env.cli("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "x", "--date", "tomorrow")
    assert future.exit_code == 3 and "future" in future.stderr


def test_urgent_without_guardian_warns_opens_a_task_and_is_flagged_after_24_hours(ref_env):
    fresh = ref_env.cli.ok("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "自伤风险", "--urgency", "emergency")
    assert "warning:" in fresh.stderr and "--guardian-informed" in fresh.stderr and "24 hours" in fresh.stderr
    old = ref_env.cli.ok("referral", "add", OTHER, "--hospital", HOSPITAL, "--reason", "情绪崩溃", "--urgency", "urgent", "--date", days_ago(2)).stdout.strip()

    flagged = as_json(ref_env.cli.ok("referral", "list", "--overdue", "--json"))
    assert [(r["short_id"], r["alerts"]) for r in flagged] == [(old, ["guardian_not_informed"])]
    assert "24小时内未告知监护人" in ref_env.cli.ok("referral", "list", "--overdue").stdout
    assert [t["kind"] for t in tasks(ref_env, OTHER) if t["done_on"] is None] == ["referral_guardian", "referral_visit"]

    ref_env.cli.ok("referral", "update", old, "--guardian-informed", f"{days_ago(1)} 09:00", "--guardian-how", "电话")
    assert as_json(ref_env.cli.ok("referral", "list", "--overdue", "--json")) == []
    guardian_task = [t for t in tasks(ref_env, OTHER) if t["kind"] == "referral_guardian"][0]
    assert guardian_task["done_on"] == days_ago(0) and not guardian_task.get("cancelled")


# -- update ----------------------------------------------------------------------------------------


def test_invalid_transition_lists_the_valid_ones(ref_env, referral):
    result = ref_env.cli("referral", "update", referral, "--status", "assessed", "--advice", "leave")
    assert result.exit_code == 1  # a refused state change, as the README says
    assert "cannot become assessed" in result.stderr
    assert "attended" in result.stderr and "declined" in result.stderr and "cancelled" in result.stderr
    assert referral_rows(ref_env)[0]["status"] == "referred"


def test_unknown_status_is_a_usage_error(ref_env, referral):
    result = ref_env.cli("referral", "update", referral, "--status", "visited")
    assert result.exit_code == 2 and "treatment_outpatient" in result.stderr


def test_visit_date_before_the_referral_date_is_refused(ref_env, referral):
    result = ref_env.cli("referral", "update", referral, "--status", "attended", "--visit-date", days_ago(4))
    assert result.exit_code == 3 and "--visit-date" in result.stderr and "before the referral date" in result.stderr
    assert referral_rows(ref_env)[0]["status"] == "referred"
    assert [e["fields"]["status"] for e in dossier(ref_env) if e["kind"] == "referral"] == ["referred"]


def test_steps_are_timeline_entries_with_author_and_date(ref_env, referral):
    counselor = ref_env.add_staff("wang", "counselor", COLLEGE)
    counselor.ok("referral", "update", referral, "--status", "attended", "--visit-date", days_ago(2), "--escort", "李老师")
    assessed = counselor.ok(
        "referral", "update", referral, "--status", "assessed", "--date", days_ago(1), "--diagnosis", "抑郁发作（医院口头告知）",
        "--icd10", "f32.1", "--advice", "outpatient", "--medication", "--next-review", days_ago(-14), "--json",
    )
    view = as_json(assessed)
    assert view["status"] == "assessed" and view["icd10"] == "F32.1" and view["medication"] is True
    assert "已就诊 → 已评估" in assessed.stderr or "attended → assessed" in assessed.stderr

    steps = [(e["date"], e["author"], e["fields"]["from_status"] if "from_status" in e["fields"] else None, e["fields"]["status"])
             for e in dossier(ref_env) if e["kind"] == "referral"]
    assert steps == [
        (days_ago(3), "admin", None, "referred"),
        (days_ago(2), "wang", "referred", "attended"),
        (days_ago(1), "wang", "attended", "assessed"),
    ]
    open_kinds = {t["kind"]: t for t in tasks(ref_env) if t["done_on"] is None}
    assert "referral_visit" not in open_kinds
    assert open_kinds["referral_review"]["due_on"] == days_ago(-14)
    visit = [t for t in tasks(ref_env) if t["kind"] == "referral_visit"][0]
    assert visit["done_on"] == days_ago(2) and visit["done_by"] == "wang"
    # On the dossier's timeline each step says its status and its hospital once, the step's head first.
    lines = [line.split("\t")[3] for line in ref_env.cli.ok("cases", "show", STUDENT).stdout.splitlines() if "\t转介\t" in line]
    assert lines[0].startswith(f"已转介；转介医院：{HOSPITAL}；") and lines[0].count("已转介") == 1 and lines[0].count(HOSPITAL) == 1
    assert lines[1] == f"已转介 → 已就诊；{HOSPITAL}；陪同人员：李老师；就诊日期：{days_ago(2)}"
    assert lines[2].startswith(f"已就诊 → 已评估；{HOSPITAL}；") and lines[2].count(HOSPITAL) == 1


def test_fields_only_update_is_traced_too(ref_env, referral):
    ref_env.cli.ok("referral", "update", referral, "--consent", "已签署", "--note", "家长已到校签字")
    shown = as_json(ref_env.cli.ok("referral", "show", referral, "--json"))
    assert shown["consent"] == "signed"
    assert shown["history"][-1]["step"] == "edit" and shown["history"][-1]["note"] == "家长已到校签字"
    nothing = ref_env.cli("referral", "update", referral)
    assert nothing.exit_code == 2 and "nothing to change" in nothing.stderr


def test_declined_requires_the_guardians_refusal_on_record(ref_env, referral):
    refused = ref_env.cli("referral", "update", referral, "--status", "declined")
    assert refused.exit_code == 3 and "cases guardian" in refused.stderr
    add_guardian_contact(ref_env, STUDENT, "signed", store_today())
    assert ref_env.cli("referral", "update", referral, "--status", "declined").exit_code == 3
    add_guardian_contact(ref_env, STUDENT, "refused", store_today())
    ref_env.cli.ok("referral", "update", referral, "--status", "declined", "--outcome", "家长拒绝带学生就医")
    row = referral_rows(ref_env)[0]
    assert row["status"] == "declined" and row["consent"] == "refused"
    assert all(t["done_on"] and t.get("cancelled") for t in tasks(ref_env) if t["kind"].startswith("referral_"))


def test_cancel_needs_an_outcome_and_ends_the_referral(ref_env, referral):
    assert ref_env.cli("referral", "update", referral, "--status", "cancelled").exit_code == 2
    ref_env.cli.ok("referral", "update", referral, "--status", "cancelled", "--outcome", "重复登记")
    again = ref_env.cli("referral", "update", referral, "--status", "attended")
    assert again.exit_code == 1 and "finished" in again.stderr


def test_advice_leave_points_to_the_leave_command(ref_env, referral):
    ref_env.cli.ok("referral", "update", referral, "--status", "attended", "--visit-date", days_ago(1))
    result = ref_env.cli.ok("referral", "update", referral, "--status", "assessed", "--advice", "leave")
    assert f"mhtool cases status {STUDENT} leave" in result.stderr


def test_unknown_or_short_referral_id(ref_env, referral):
    assert ref_env.cli("referral", "show", "ffffffff").exit_code == 1
    assert ref_env.cli("referral", "show", "ab").exit_code == 2


# -- reading and permissions ---------------------------------------------------------------------


def test_show_text_and_json(ref_env, referral):
    text = ref_env.cli.ok("referral", "show", referral)
    assert HOSPITAL in text.stdout and "持续失眠伴消极想法" in text.stdout and "张示例" in text.stdout
    assert "已转介" in text.stdout and "admin" in text.stdout
    assert text.stderr == ""
    view = as_json(ref_env.cli.ok("referral", "show", referral, "--json"))
    assert view["history"][0]["by"] == "admin" and view["history"][0]["on"] == days_ago(3)
    assert view["hospital_detail"]["level"] == "3A"
    assert "referral.show" in audit_actions(ref_env)


def test_clerk_cannot_read_or_change_referrals(ref_env, referral):
    clerk = ref_env.add_staff("clerk1", "clerk")
    for args in (
        ("referral", "show", referral),
        ("referral", "show", referral, "--json"),
        ("referral", "list", "--json"),
        ("referral", "export", referral, "--out", str(ref_env.tmp / "x.xlsx")),
        ("referral", "update", referral, "--status", "attended"),
        ("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "x"),
    ):
        result = clerk(*args)
        assert result.exit_code == 5, args
        assert result.stdout == ""
        assert "may not" in result.stderr and ("clinical" in result.stderr or "record" in result.stderr)
        assert "抑郁" not in result.stdout
    assert not (ref_env.tmp / "x.xlsx").exists()
    assert audit_actions(ref_env).count("denied") >= 6


def test_counselor_scoped_to_another_college_is_refused(ref_env, referral):
    other = ref_env.add_staff("liu", "counselor", OTHER_COLLEGE)
    assert other("referral", "show", referral).exit_code == 5
    assert other("referral", "update", referral, "--note", "x").exit_code == 5
    assert as_json(other.ok("referral", "list", "--json")) == []
    assert other("referral", "list", "--college", COLLEGE).exit_code == 5


def test_auditor_cannot_read_referrals(ref_env, referral):
    auditor = ref_env.add_staff("aud", "auditor")
    assert auditor("referral", "show", referral).exit_code == 5
    assert auditor("referral", "hospitals", "list").exit_code == 5


def test_text_with_formula_and_markup_is_stored_and_shown_verbatim(ref_env):
    short_id = ref_env.cli.ok("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", MARKUP, "--note", "=1+1").stdout.strip()
    assert referral_rows(ref_env)[0]["reason"] == MARKUP
    assert MARKUP in ref_env.cli.ok("referral", "show", short_id).stdout
    view = as_json(ref_env.cli.ok("referral", "show", short_id, "--json"))
    assert view["reason"] == MARKUP and view["history"][0]["note"] == "=1+1"
    out = ref_env.tmp / "sheet.xlsx"
    ref_env.cli.ok("referral", "export", short_id, "--out", str(out))
    ws = openpyxl.load_workbook(out).active
    cells = [c for row in ws.iter_rows() for c in row if c.value == MARKUP]
    assert cells and all(c.data_type == "s" for c in cells)


# -- list ------------------------------------------------------------------------------------------


def test_list_filters(ref_env):
    ref_env.cli.ok("referral", "hospitals", "add", "示例大学校医院", "--level", "二甲")
    a = ref_env.cli.ok("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "x", "--date", days_ago(5)).stdout.strip()
    b = ref_env.cli.ok("referral", "add", OTHER, "--hospital", "示例大学校医院", "--reason", "y", "--date", days_ago(1)).stdout.strip()
    ref_env.cli.ok("referral", "update", b, "--status", "cancelled", "--outcome", "登记错误")

    def ids(*args):
        return [r["short_id"] for r in as_json(ref_env.cli.ok("referral", "list", "--json", *args))]

    assert ids() == [b, a]
    assert ids("--open") == [a]
    assert ids("--hospital", "示例大学校医院") == [b]
    assert ids("--college", COLLEGE) == [a]
    rows = as_json(ref_env.cli.ok("referral", "list", "--json"))
    assert not any(k in r for r in rows for k in ("diagnosis", "icd10", "advice", "reason"))
    unknown = ref_env.cli("referral", "list", "--hospital", "示例大学医院")
    assert unknown.exit_code == 2 and "示例大学校医院" in unknown.stderr
    table = ref_env.cli.ok("referral", "list").stdout.splitlines()
    assert table[0].startswith("编号\t学号") and len(table) == 3


def test_overdue_at_day_8_not_day_7(ref_env):
    day7 = ref_env.cli.ok("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "x", "--date", days_ago(7)).stdout.strip()
    day8 = ref_env.cli.ok("referral", "add", OTHER, "--hospital", HOSPITAL, "--reason", "y", "--date", days_ago(8)).stdout.strip()
    overdue = as_json(ref_env.cli.ok("referral", "list", "--overdue", "--json"))
    assert [(r["short_id"], r["alerts"], r["overdue"]) for r in overdue] == [(day8, ["not_attended"], True)]
    assert day7 not in ref_env.cli.ok("referral", "list", "--overdue").stdout
    # The visit task shows up as an overdue task the same day.
    visit = [t for t in tasks(ref_env, OTHER) if t["kind"] == "referral_visit"][0]
    assert visit["due_on"] < store_today().isoformat()
    visit7 = [t for t in tasks(ref_env, STUDENT) if t["kind"] == "referral_visit"][0]
    assert visit7["due_on"] == store_today().isoformat()


def test_past_next_review_is_overdue(ref_env, referral):
    ref_env.cli.ok("referral", "update", referral, "--status", "attended", "--visit-date", days_ago(3))
    ref_env.cli.ok("referral", "update", referral, "--status", "assessed", "--advice", "outpatient", "--date", days_ago(3), "--next-review", days_ago(1))
    [row] = as_json(ref_env.cli.ok("referral", "list", "--overdue", "--json"))
    assert row["alerts"] == ["review_due"]
    ref_env.cli.ok("referral", "update", referral, "--status", "treatment_outpatient", "--next-review", days_ago(-7), "--note", "复查：情况稳定")
    assert as_json(ref_env.cli.ok("referral", "list", "--overdue", "--json")) == []
    reviews = [t for t in tasks(ref_env) if t["kind"] == "referral_review"]
    assert [(t["due_on"], t["done_on"]) for t in reviews] == [(days_ago(1), days_ago(0)), (days_ago(-7), None)]


# -- export ----------------------------------------------------------------------------------------


def sheet_text(path) -> str:
    ws = openpyxl.load_workbook(path).active
    return "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)


def test_export_writes_a_printable_record_sheet(ref_env, referral):
    ref_env.cli.ok("referral", "update", referral, "--status", "attended", "--visit-date", days_ago(2), "--escort", "李老师")
    ref_env.cli.ok("referral", "update", referral, "--status", "assessed", "--diagnosis", "焦虑状态", "--icd10", "F41.1", "--advice", "outpatient",
                   "--no-medication", "--next-review", days_ago(-10))
    out = ref_env.tmp / "out" / "转介记录表.xlsx"
    out.parent.mkdir()
    result = ref_env.cli.ok("referral", "export", referral, "--out", str(out))
    assert result.stdout.strip() == str(out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["转介记录表"]
    ws = wb.active
    assert ws.page_setup.orientation == "portrait" and ws.print_area
    text = sheet_text(out)
    for expected in ("转介记录表", "张示例", STUDENT, HOSPITAL, "三甲", "持续失眠伴消极想法", "李老师", "焦虑状态", "F41.1", "门诊治疗",
                     "转介咨询师签字", "监护人签字", "中心负责人签字", "已转介 → 已就诊", "已就诊 → 已评估", "记录人：admin"):
        assert expected in text, expected
    values = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(1, ws.max_row + 1)}
    assert values["就诊日期"] == datetime.fromisoformat(days_ago(2))
    assert "referral.export" in audit_actions(ref_env)


def test_export_to_a_directory_and_in_english(ref_env, referral):
    result = ref_env.cli.ok("referral", "export", referral, "--out", str(ref_env.tmp), "--lang", "en")
    path = result.stdout.strip()
    assert path.endswith(".xlsx") and STUDENT in path and referral in path
    text = sheet_text(path)
    assert "Referral record" in text and "Referring counselor" in text
    missing = ref_env.cli("referral", "export", referral, "--out", str(ref_env.tmp / "nope" / "x.xlsx"))
    assert missing.exit_code == 2


@pytest.mark.parametrize("lang", ["fr"])
def test_export_rejects_unknown_language(ref_env, referral, lang):
    assert ref_env.cli("referral", "export", referral, "--out", str(ref_env.tmp / "x.xlsx"), "--lang", lang).exit_code == 2
