"""Pure domain rules of the dossier: level transitions, task scheduling, three clarities, status changes."""

from datetime import date, timedelta

import pytest

from mhtool.cases.domain import model
from mhtool.cases.domain.views import ListFilters, build_timeline, entry_summary, matches, missing_label
from mhtool.domain.vocabulary import highest
from mhtool.errors import InvalidInput, RefusedChange, UsageError

D = date(2026, 11, 23)


def student(**kw):
    base = {
        "student_no": "2024000001",
        "name": "测试甲",
        "gender": "女",
        "college": "文学院",
        "class_name": "汉语言2401",
        "phone": "13800000000",
        "advisor": "辅导员甲",
        "guardians": [{"relation": "母亲", "name": "家长甲", "phone": "13900000000"}],
        "level": "none",
        "status": "enrolled",
    }
    return {**base, **kw}


def entry(kind, on, **fields):
    return {"id": f"{kind}-{on}", "kind": kind, "date": on.isoformat(), "fields": fields}


# -- level transitions ------------------------------------------------------------------------


def test_first_level_opens_watch_and_schedules_follow_up_at_cadence():
    eff = model.change_level(student(), "red", "约谈确认", D)
    assert eff.student["level"] == "red"
    assert eff.student["level_since"] == D.isoformat()
    assert eff.open_watch and not eff.close_watch
    assert eff.entries == [("level_change", {"from": "none", "to": "red", "reason": "约谈确认"})]
    assert [(t["kind"], t["due"]) for t in eff.new_tasks] == [("follow_up", D + timedelta(days=7))]


@pytest.mark.parametrize("level,days", [("red", 7), ("orange", 14), ("yellow", 30)])
def test_cadence_by_level(level, days):
    assert model.next_due(level, D) == D + timedelta(days=days)
    assert model.next_due(level, D, {"red": 3, "orange": 10, "yellow": 21}) != D + timedelta(days=days)


def test_cadence_none_level_has_no_follow_up():
    assert model.next_due("none", D) is None


def test_level_change_needs_reason():
    with pytest.raises(UsageError, match="--reason"):
        model.change_level(student(), "red", "  ", D)


def test_level_that_is_not_a_level():
    with pytest.raises(InvalidInput):
        model.change_level(student(), "purple", "x", D)
    with pytest.raises(InvalidInput, match="not a level"):
        model.parse_level("purple")
    assert model.parse_level("红色") == "red"
    assert model.parse_level("二级") == "orange"
    assert model.parse_level("Yellow") == "yellow"


def test_lowering_to_none_closes_watch_and_cancels_follow_ups():
    eff = model.change_level(student(level="orange"), "none", "稳定", D)
    assert eff.close_watch and not eff.open_watch
    assert eff.new_tasks == []
    assert "follow_up" in eff.cancel_task_kinds


def test_same_level_changes_nothing():
    eff = model.change_level(student(level="yellow"), "yellow", "再次确认", D)
    assert eff.entries == [] and eff.new_tasks == []


def test_compare_levels():
    assert model.compare_levels("yellow", "red") == "raised"
    assert model.compare_levels("red", "orange") == "lowered"
    assert model.compare_levels("none", "none") == "same"
    assert highest(["yellow", "red", "none"]) == "red"


# -- interviews and follow-ups ---------------------------------------------------------------


def test_interview_confirming_level_completes_interview_and_schedules_follow_up():
    eff = model.record_interview(student(), {"findings": "情绪低落", "confirmed_level": "orange"}, D)
    kinds = [k for k, _ in eff.entries]
    assert kinds == ["interview", "level_change"]
    assert "interview" in eff.complete_task_kinds
    assert eff.open_watch
    assert [(t["kind"], t["due"]) for t in eff.new_tasks] == [("follow_up", D + timedelta(days=14))]


def test_interview_confirming_same_level_reschedules_follow_up():
    eff = model.record_interview(student(level="red"), {"findings": "仍需关注", "confirmed_level": "red"}, D)
    assert [k for k, _ in eff.entries] == ["interview"]
    assert [(t["kind"], t["due"]) for t in eff.new_tasks] == [("follow_up", D + timedelta(days=7))]
    assert "follow_up" in eff.cancel_task_kinds


def test_interview_without_confirmation_keeps_level():
    eff = model.record_interview(student(level="yellow"), {"findings": "一般"}, D)
    assert eff.student["level"] == "yellow"
    assert [t["due"] for t in eff.new_tasks] == [D + timedelta(days=30)]


def test_interview_needs_findings():
    with pytest.raises(UsageError, match="--findings"):
        model.record_interview(student(), {"findings": ""}, D)


def test_interview_confirming_none_for_unwatched_schedules_nothing():
    eff = model.record_interview(student(), {"findings": "无异常", "confirmed_level": "none"}, D)
    assert eff.new_tasks == [] and not eff.open_watch


def test_follow_up_schedules_next_and_completes_only_near_reviews():
    eff = model.record_follow_up(student(level="orange"), {"content": "稳定"}, D)
    assert eff.complete_task_kinds == ("follow_up", "review")
    assert eff.complete_due_by["review"] == D + timedelta(days=model.REVIEW_WINDOW_DAYS)
    assert [t["due"] for t in eff.new_tasks] == [D + timedelta(days=14)]


def test_follow_up_for_unwatched_schedules_nothing():
    assert model.record_follow_up(student(), {"content": "x"}, D).new_tasks == []


def test_close_and_reopen():
    closed = model.close_watch(student(level="red"), "稳定三个月", D)
    assert closed.student["level"] == "none"
    assert [k for k, _ in closed.entries] == ["level_change", "close"]
    assert set(closed.cancel_task_kinds) >= {"follow_up", "interview", "review", "reminder"}
    with pytest.raises(RefusedChange, match="not on the watch list"):
        model.close_watch(student(), "x", D)
    reopened = model.reopen_watch(student(), "yellow", "期末压力", D)
    assert [k for k, _ in reopened.entries] == ["reopen", "level_change"]
    assert reopened.open_watch
    with pytest.raises(RefusedChange, match="already watched"):
        model.reopen_watch(student(level="red"), "yellow", "x", D)


def test_interview_task_from_screening_proposal():
    assert model.interview_task("red", D)["due"] == D + timedelta(days=1)
    assert model.interview_task("orange", D)["due"] == D + timedelta(days=7)
    assert model.interview_task("yellow", D)["due"] == D + timedelta(days=14)
    assert model.interview_task("none", D) is None
    assert model.interview_task(None, D) is None


def test_reminder_task_rules():
    task = model.reminder_task(D + timedelta(days=3), "期末前约谈", today=D, assigned_to="咨询师甲")
    assert task == {"kind": "reminder", "due": D + timedelta(days=3), "note": "期末前约谈", "assigned_to": "咨询师甲"}
    with pytest.raises(UsageError):
        model.reminder_task(D, "  ", today=D)
    with pytest.raises(InvalidInput, match="past"):
        model.reminder_task(D - timedelta(days=1), "x", today=D)


def test_next_due_and_overdue():
    tasks = [{"due_on": "2026-11-30"}, {"due_on": "2026-11-20"}, {"due_on": "2026-11-01", "done_on": "2026-11-02"}]
    assert model.next_due_of(tasks) == date(2026, 11, 20)
    assert model.next_due_of([]) is None
    assert model.days_overdue(date(2026, 11, 20), D) == 3
    assert model.days_overdue(date(2026, 11, 30), D) == 0


# -- status ----------------------------------------------------------------------------------


def test_leave_then_return_with_certificate_schedules_reviews_and_keeps_level():
    leave = model.change_status(student(level="red"), "leave", {"reason": "遵医嘱休学", "from_date": "2026-11-01"}, D)
    assert leave.student["status"] == "leave"
    back = model.change_status(leave.student, "returned", {"reason": "复学", "certificate": "某医院, 2027-02-20, 可复学"}, D)
    assert back.student["status"] == "returned"
    assert back.student["level"] == "red"
    assert [(t["kind"], t["due"]) for t in back.new_tasks] == [("review", D + timedelta(days=14)), ("review", D + timedelta(days=30))]


def test_return_without_certificate_is_refused_unless_explicit():
    on_leave = student(status="leave")
    with pytest.raises(InvalidInput, match="certificate"):
        model.change_status(on_leave, "returned", {"reason": "复学"}, D)
    eff = model.change_status(on_leave, "returned", {"reason": "家长书面说明，医院未出具", "without_certificate": True}, D)
    assert eff.student["status"] == "returned"


def test_invalid_status_transitions():
    with pytest.raises(RefusedChange, match="cannot become"):
        model.change_status(student(), "returned", {"reason": "x", "certificate": "c"}, D)
    with pytest.raises(RefusedChange, match="cannot become") as exc:
        model.change_status(student(status="graduated"), "leave", {"reason": "x"}, D)
    assert "final" in exc.value.hint
    with pytest.raises(UsageError):
        model.change_status(student(), "expelled", {"reason": "x"}, D)


def test_withdraw_ends_watch_with_reason():
    eff = model.change_status(student(level="orange"), "withdrawn", {"reason": "本人申请"}, D)
    assert eff.student["level"] == "none" and eff.close_watch
    assert [k for k, _ in eff.entries] == ["status_change", "level_change", "close"]


# -- three clarities ------------------------------------------------------------------------


def test_three_clarities_complete():
    entries = [entry("interview", D - timedelta(days=3), findings="x"), entry("measure", D - timedelta(days=3), measure_kind="谈话", description="d")]
    assert model.three_clarities(student(level="red"), entries, D) == []


def test_three_clarities_missing_everything():
    s = student(level="red", phone="", advisor="", guardians=[])
    missing = model.three_clarities(s, [], D)
    assert missing == ["basic:phone", "basic:advisor", "basic:guardian", "state", "measure"]


def test_three_clarities_state_window_follows_level_cadence():
    old = [entry("follow_up", D - timedelta(days=10), content="x"), entry("measure", D, measure_kind="k", description="d")]
    assert "state" in model.three_clarities(student(level="red"), old, D)  # red: 7 days
    assert "state" not in model.three_clarities(student(level="orange"), old, D)  # orange: 14 days


def test_three_clarities_ended_measure_does_not_count():
    ended = [entry("interview", D, findings="x"), entry("measure", D - timedelta(days=40), measure_kind="k", description="d", end=(D - timedelta(days=1)).isoformat())]
    assert model.three_clarities(student(level="yellow"), ended, D) == ["measure"]


def test_missing_labels():
    assert missing_label("basic:phone") == "缺少手机"
    assert missing_label("basic:phone", "en") == "missing Phone"
    assert missing_label("measure", "en") == "no active help measure"


# -- corrections ---------------------------------------------------------------------------


def test_correction_keeps_kind_and_never_edits():
    original = {"id": "e1", "kind": "note", "date": D.isoformat(), "fields": {"text": "错字"}}
    eff = model.correction(student(), original, {"text": "更正后"})
    assert eff.entries == [("note", {"text": "更正后"})]
    assert eff.new_tasks == [] and eff.student == student()
    with pytest.raises(UsageError):
        model.correction(student(), {"id": "e2", "kind": "level_change", "fields": {}}, {"from": "a"})


def test_effective_drops_corrected_entries():
    a = {"id": "a", "kind": "measure", "fields": {}}
    b = {"id": "b", "kind": "measure", "fields": {}, "corrects": "a"}
    c = {"id": "c", "kind": "note", "fields": {}}
    assert [e["id"] for e in model.effective([a, b, c])] == ["b", "c"]


# -- validation and parsing ----------------------------------------------------------------


def test_validate_entry():
    assert model.validate_entry("note", {"text": "=1+1"}) == {"text": "=1+1"}
    with pytest.raises(UsageError, match="unexpected"):
        model.validate_entry("note", {"text": "x", "mood": "ok"})
    with pytest.raises(UsageError, match="unknown entry kind"):
        model.validate_entry("gossip", {})
    with pytest.raises(UsageError, match="consent"):
        model.validate_entry("guardian_contact", {"guardian": "母亲", "content": "x", "consent": "maybe"})


def test_parse_groups_guardian_consent():
    assert model.parse_groups(["hardship", "学业问题", "hardship"]) == ["hardship", "academic"]
    assert model.parse_groups(["none"]) == []
    with pytest.raises(InvalidInput, match="special groups") as exc:
        model.parse_groups(["体育特长"])
    assert "--tag" in exc.value.hint
    assert model.parse_guardian("父亲,家长乙,13700000000") == {"relation": "父亲", "name": "家长乙", "phone": "13700000000"}
    assert model.parse_guardian("母亲，家长丙，13600000000")["name"] == "家长丙"
    with pytest.raises(InvalidInput):
        model.parse_guardian("父亲 13700000000")
    with pytest.raises(InvalidInput):
        model.parse_guardian("父亲,某,not-a-phone")
    assert model.parse_consent("已签署") == "signed"
    assert model.parse_consent("not_needed") == "not_needed"
    with pytest.raises(InvalidInput):
        model.parse_consent("maybe")


def test_crisis_warnings_parent_notice_norm():
    assert model.crisis_warnings({"what": "x"})  # parents not yet told
    assert model.crisis_warnings({"what": "x", "happened_at": "2026-11-22 22:00", "parents_notified_at": "2026-11-23 08:00"}) == []
    late = model.crisis_warnings({"what": "x", "happened_at": "2026-11-20 22:00", "parents_notified_at": "2026-11-23 08:00"})
    assert late and "58 hours" in late[0]
    with pytest.raises(InvalidInput):
        model.crisis_warnings({"what": "x", "happened_at": "2026-11-23 08:00", "parents_notified_at": "2026-11-22 08:00"})


def test_edit_student_refuses_level_and_status():
    record, changed = model.edit_student(student(), {"dorm": "3-402", "name": "测试甲"})
    assert changed == ["dorm"] and record["dorm"] == "3-402"
    with pytest.raises(UsageError, match="cannot be edited") as exc:
        model.edit_student(student(), {"level": "red"})
    assert "cases level" in exc.value.hint


# -- read-side pure helpers ------------------------------------------------------------------


def test_list_filters():
    row = {"level": "red", "college": "文学院", "groups": ["hardship"], "status": "enrolled", "counselor": "咨询师甲", "overdue": True, "next_due": "2026-11-20"}
    assert matches(row, ListFilters(level="red", group="hardship", overdue=True), D)
    assert not matches(row, ListFilters(level="orange"), D)
    assert not matches(row, ListFilters(status="leave"), D)
    assert matches(row, ListFilters(due_within=0), D)
    assert not matches({**row, "next_due": "2026-12-20", "overdue": False}, ListFilters(due_within=7), D)
    assert not matches({**row, "next_due": None}, ListFilters(due_within=7), D)


def test_timeline_redaction_and_order():
    entries = [
        {"id": "n1", "kind": "note", "date": "2026-11-23", "fields": {"text": "秘密"}, "recorded_at": "t2"},
        {"id": "s1", "kind": "status_change", "date": "2026-11-20", "fields": {"from": "enrolled", "to": "leave", "reason": "抑郁发作"}, "recorded_at": "t1"},
        {"id": "m1", "kind": "measure", "date": "2026-11-23", "fields": {"measure_kind": "资助", "description": "助学金"}, "recorded_at": "t3"},
    ]
    responses = [{"id": "r1", "on_date": "2026-11-23", "instrument": "phq9", "band": "severe", "proposed_level": "red", "flags": ["item9"], "answers": {"1": 3}}]
    clerk = build_timeline(entries, responses, clinical=False)
    assert [i["id"] for i in clerk] == ["s1", "r1", "n1", "m1"]
    note = next(i for i in clerk if i["id"] == "n1")
    assert note["restricted"] and note["fields"] is None and "秘密" not in entry_summary(note)
    status = next(i for i in clerk if i["id"] == "s1")
    assert "reason" not in status["fields"]
    screening = next(i for i in clerk if i["id"] == "r1")
    assert "answers" not in screening["fields"]
    counselor = build_timeline(entries, responses, clinical=True)
    assert entry_summary(next(i for i in counselor if i["id"] == "n1")) == "秘密"


def test_entry_summary_keeps_user_text_verbatim():
    item = {"kind": "note", "fields": {"text": "[red]警告[/red] =SUM(A1)"}, "restricted": False}
    assert entry_summary(item) == "[red]警告[/red] =SUM(A1)"
