"""The referral state machine and its attention rules, as pure functions."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from mhtool.errors import InvalidInput, RefusedChange, UsageError
from mhtool.referral.domain import machine
from mhtool.referral.domain.machine import STATUSES, TRANSITIONS

DAY0 = date(2026, 11, 2)
AT0 = datetime(2026, 11, 2, 10, 0)
TODAY = date(2026, 12, 31)
NOW = datetime(2026, 12, 31, 12, 0)

# What a step to each status needs besides the status itself.
NEEDS = {
    "attended": {"visit_date": date(2026, 11, 4)},
    "assessed": {"advice": "outpatient"},
    "treatment_outpatient": {},
    "hospitalized": {},
    "closed": {"outcome": "门诊治疗后症状缓解"},
    "declined": {},
    "cancelled": {"outcome": "学生已在外院就诊，本次转介作废"},
}
# A path from ``referred`` to each status, through valid steps.
PATH_TO = {
    "referred": [],
    "attended": ["attended"],
    "assessed": ["attended", "assessed"],
    "treatment_outpatient": ["attended", "assessed", "treatment_outpatient"],
    "hospitalized": ["attended", "assessed", "hospitalized"],
    "closed": ["attended", "assessed", "closed"],
    "declined": ["declined"],
    "cancelled": ["cancelled"],
}
REFUSED = [date(2026, 11, 3)]


def fresh(**over) -> dict:
    fields = {
        "hospital_id": "h1",
        "hospital": "示例市精神卫生中心",
        "referred_on": DAY0,
        "referred_at": AT0,
        "reason": "持续失眠伴消极想法",
        "urgency": "routine",
        **over,
    }
    record, _ = machine.new_referral(fields, today=TODAY, by="wang", at=NOW)
    return record


def step(record: dict, to: str | None, fields: dict | None = None, *, on: date | None = None, refusals=REFUSED) -> dict:
    new, _ = machine.update(
        record, to, dict(NEEDS.get(to, {}) if fields is None else fields), on=on, today=TODAY, by="wang", at=NOW, guardian_refusals=refusals
    )
    return new


def at_status(status: str) -> dict:
    record = fresh()
    for to in PATH_TO[status]:
        record = step(record, to)
    return record


ALL_PAIRS = [(a, b) for a in STATUSES for b in STATUSES if a != b and b != "referred"]
VALID = [(a, b) for a, b in ALL_PAIRS if b in TRANSITIONS[a]]
INVALID = [(a, b) for a, b in ALL_PAIRS if b not in TRANSITIONS[a]]


def test_the_lifecycle_is_the_documented_one():
    assert TRANSITIONS == {
        "referred": ("attended", "declined", "cancelled"),
        "attended": ("assessed", "declined", "cancelled"),
        "assessed": ("treatment_outpatient", "hospitalized", "closed", "declined"),
        "treatment_outpatient": ("hospitalized", "closed"),
        "hospitalized": ("treatment_outpatient", "closed"),
        "closed": (),
        "declined": (),
        "cancelled": (),
    }
    assert machine.TERMINAL == {"closed", "declined", "cancelled"}


@pytest.mark.parametrize(("frm", "to"), VALID)
def test_every_valid_transition_is_taken(frm, to):
    record = at_status(frm)
    assert record["status"] == frm
    new, item = machine.update(record, to, dict(NEEDS[to]), on=None, today=TODAY, by="li", at=NOW, guardian_refusals=REFUSED)
    assert new["status"] == to
    assert item["from"] == frm and item["status"] == to and item["by"] == "li" and item["step"] == "transition"
    assert new["history"][-1] == item
    assert record["status"] == frm, "the input record is not changed in place"


@pytest.mark.parametrize(("frm", "to"), INVALID)
def test_every_invalid_transition_is_refused_with_the_valid_ones(frm, to):
    record = at_status(frm)
    with pytest.raises(RefusedChange) as exc:
        machine.update(record, to, dict(NEEDS[to]), on=None, today=TODAY, by="li", at=NOW, guardian_refusals=REFUSED)
    assert f"cannot become {to}" in exc.value.message
    allowed = TRANSITIONS[frm]
    if allowed:
        for s in allowed:
            assert s in exc.value.hint
    else:
        assert "finished" in exc.value.hint


def test_an_unknown_status_is_a_usage_error():
    with pytest.raises(UsageError):
        machine.parse_status("visited")
    assert machine.parse_status("已就诊") == "attended"
    assert machine.parse_status("Hospitalized") == "hospitalized"


def test_staying_in_the_same_status_records_fields_as_an_edit():
    record = at_status("attended")
    new, item = machine.update(record, "attended", {"escort": "李老师"}, on=None, today=TODAY, by="li", at=NOW)
    assert new["status"] == "attended" and item["step"] == "edit" and new["escort"] == "李老师"


def test_a_referral_needs_a_reason():
    for reason in (None, "", "   "):
        with pytest.raises(UsageError, match="--reason"):
            fresh(reason=reason)


def test_visit_date_before_the_referral_is_refused():
    record = fresh()
    with pytest.raises(InvalidInput, match="before the referral date"):
        step(record, "attended", {"visit_date": DAY0 - timedelta(days=1)})
    assert step(record, "attended", {"visit_date": DAY0})["visit_date"] == DAY0.isoformat()


def test_attended_takes_the_visit_date_as_the_step_date():
    new = step(fresh(), "attended", {"visit_date": date(2026, 11, 5)})
    assert new["history"][-1]["on"] == "2026-11-05"
    new = step(fresh(), "attended", {}, on=date(2026, 11, 6))
    assert new["visit_date"] == "2026-11-06"


def test_steps_cannot_go_back_in_time():
    record = step(fresh(), "attended", {"visit_date": date(2026, 11, 10)})
    with pytest.raises(InvalidInput, match="previous step"):
        step(record, "assessed", {"advice": "outpatient"}, on=date(2026, 11, 9))
    with pytest.raises(InvalidInput, match="before the referral date"):
        step(fresh(), None, {"escort": "李老师"}, on=DAY0 - timedelta(days=1))


def test_steps_cannot_be_in_the_future():
    with pytest.raises(InvalidInput, match="future"):
        step(fresh(), "attended", {}, on=TODAY + timedelta(days=1))
    with pytest.raises(InvalidInput, match="future"):
        step(fresh(), "attended", {"visit_date": TODAY + timedelta(days=1)}, on=TODAY)


def test_assessed_needs_advice_and_other_advice_needs_words():
    record = at_status("attended")
    with pytest.raises(UsageError, match="--advice"):
        step(record, "assessed", {"diagnosis": "抑郁发作"})
    with pytest.raises(UsageError, match="--advice-detail"):
        step(record, "assessed", {"advice": "other"})
    new = step(record, "assessed", {"advice": "other", "advice_detail": "减少课业负担"})
    assert new["advice_detail"] == "减少课业负担"


def test_closed_and_cancelled_need_an_outcome():
    with pytest.raises(UsageError, match="--outcome"):
        step(at_status("assessed"), "closed", {})
    with pytest.raises(UsageError, match="--outcome"):
        step(fresh(), "cancelled", {})


def test_declined_needs_a_guardian_refusal_on_or_after_the_referral():
    record = fresh()
    with pytest.raises(InvalidInput, match="guardian"):
        step(record, "declined", {}, refusals=[])
    with pytest.raises(InvalidInput) as exc:
        step(record, "declined", {}, refusals=[DAY0 - timedelta(days=3)])
    assert "cases guardian" in exc.value.hint and "--consent refused" in exc.value.hint
    new = step(record, "declined", {}, refusals=["2026-11-02"])
    assert new["status"] == "declined" and new["consent"] == "refused"
    assert new["history"][-1]["changes"]["consent"] == "refused"


def test_diagnosis_fields_wait_for_the_assessment():
    with pytest.raises(InvalidInput, match="assessed"):
        step(fresh(), "attended", {"diagnosis": "抑郁发作"})
    with pytest.raises(InvalidInput, match="attended"):
        step(fresh(), None, {"visit_date": DAY0})
    with pytest.raises(InvalidInput, match="ends"):
        step(at_status("assessed"), None, {"outcome": "x"})
    # A correction after closing is still possible, and traced.
    closed = at_status("closed")
    fixed = step(closed, None, {"icd10": "F41.1"})
    assert fixed["icd10"] == "F41.1" and fixed["status"] == "closed"


def test_next_review_must_be_ahead_of_the_step():
    record = at_status("assessed")
    with pytest.raises(InvalidInput, match="--next-review"):
        step(record, None, {"next_review": date(2026, 11, 1)}, on=date(2026, 11, 20))
    with pytest.raises(InvalidInput, match="no next review"):
        step(at_status("closed"), None, {"next_review": TODAY})
    cleared = step(step(record, None, {"next_review": TODAY}), None, {"next_review": machine.CLEAR})
    assert cleared["next_review"] is None


def test_icd10_shape():
    assert machine.parse_icd10(" f32.1 ") == "F32.1"
    assert machine.parse_icd10("Ｆ４１") == "F41"
    assert machine.parse_icd10("") is None
    for bad in ("32.1", "F3", "抑郁", "F32-1"):
        with pytest.raises(InvalidInput):
            machine.parse_icd10(bad)


def test_hospital_levels_accept_short_long_and_code_forms():
    assert machine.parse_hospital_level("三甲") == "3A"
    assert machine.parse_hospital_level("二级甲等") == "2A"
    assert machine.parse_hospital_level("2b") == "2B"
    assert machine.parse_hospital_level("未定级") == "ungraded"
    with pytest.raises(UsageError):
        machine.parse_hospital_level("四甲")


def test_text_is_kept_verbatim():
    record = fresh(reason="=HYPERLINK(\"http://x\") [red]急[/red]")
    assert record["reason"] == "=HYPERLINK(\"http://x\") [red]急[/red]"


# -- attention rules -------------------------------------------------------------------------


def test_not_attended_is_overdue_from_day_8_not_day_7():
    record = fresh()
    day7, day8 = DAY0 + timedelta(days=7), DAY0 + timedelta(days=8)
    assert not machine.attendance_overdue(record, day7)
    assert machine.alerts(record, day7) == []
    assert machine.attendance_overdue(record, day8)
    assert machine.alerts(record, day8) == ["not_attended"]
    attended = step(record, "attended", {"visit_date": DAY0 + timedelta(days=5)})
    assert machine.alerts(attended, day8) == []


def test_past_the_next_review_is_overdue_the_day_after():
    record = step(at_status("assessed"), None, {"next_review": date(2026, 12, 1)}, on=date(2026, 11, 20))
    assert machine.alerts(record, date(2026, 12, 1)) == []
    assert machine.alerts(record, date(2026, 12, 2)) == ["review_due"]
    assert machine.alerts(step(record, "closed"), date(2026, 12, 2)) == []


@pytest.mark.parametrize("urgency", ["urgent", "emergency"])
def test_pressing_referral_without_guardian_is_flagged_after_24_hours(urgency):
    record = fresh(urgency=urgency)
    assert not machine.guardian_flag(record, AT0 + timedelta(hours=24))
    assert machine.guardian_flag(record, AT0 + timedelta(hours=24, minutes=1))
    assert machine.alerts(record, DAY0 + timedelta(days=1), AT0 + timedelta(hours=25)) == ["guardian_not_informed"]
    informed = step(record, None, {"guardian_informed": {"at": AT0 + timedelta(hours=30), "how": "电话", "by": "wang"}}, on=DAY0 + timedelta(days=1))
    assert not machine.guardian_flag(informed, AT0 + timedelta(hours=48))


def test_routine_referral_is_never_guardian_flagged():
    assert not machine.guardian_flag(fresh(urgency="routine"), AT0 + timedelta(days=3))


def test_guardian_informed_on_the_referral_itself_clears_the_flag():
    record = fresh(urgency="emergency", guardian_informed={"at": AT0, "how": "电话", "by": "wang"})
    assert not machine.guardian_flag(record, AT0 + timedelta(days=2))
    assert record["guardian_informed"] == {"at": "2026-11-02T10:00", "how": "电话", "by": "wang"}


def test_finished_referrals_raise_no_alerts():
    record = step(fresh(urgency="urgent"), "cancelled")
    assert machine.alerts(record, DAY0 + timedelta(days=30), AT0 + timedelta(days=30)) == []


def test_referred_at_defaults_to_the_start_of_a_past_day():
    fields = {"hospital_id": "h1", "hospital": "x", "referred_on": DAY0, "reason": "r", "urgency": "urgent"}
    record, _ = machine.new_referral(fields, today=TODAY, by="wang", at=NOW)
    assert record["referred_at"] == "2026-11-02T00:00"
    record, _ = machine.new_referral({**fields, "referred_on": TODAY}, today=TODAY, by="wang", at=NOW)
    assert record["referred_at"] == "2026-12-31T12:00"


def test_a_future_referral_is_refused():
    with pytest.raises(InvalidInput, match="future"):
        fresh(referred_on=TODAY + timedelta(days=1))


# -- replay ----------------------------------------------------------------------------------


def test_state_on_replays_the_history():
    record = step(fresh(), "attended", {"visit_date": date(2026, 11, 12)})
    record = step(record, "assessed", {"advice": "leave"}, on=date(2026, 11, 15))
    assert machine.state_on(record, DAY0 - timedelta(days=1)) is None
    assert machine.state_on(record, date(2026, 11, 11))["status"] == "referred"
    assert machine.state_on(record, date(2026, 11, 12))["status"] == "attended"
    state = machine.state_on(record, date(2026, 11, 20))
    assert state["status"] == "assessed" and state["advice"] == "leave"


def test_alerts_between_finds_an_overdue_stretch_that_has_since_ended():
    record = step(fresh(), "attended", {"visit_date": date(2026, 11, 12)})
    # Overdue from 11-10 (day 8) until the visit on 11-12.
    assert machine.alerts_between(record, date(2026, 11, 9), date(2026, 11, 15), NOW) == ["not_attended"]
    assert machine.alerts_between(record, date(2026, 11, 2), date(2026, 11, 9), NOW) == []
    # On the visit day itself the referral was still pending when the day began.
    assert machine.alerts_between(record, date(2026, 11, 12), date(2026, 11, 30), NOW) == ["not_attended"]
    assert machine.alerts_between(record, date(2026, 11, 13), date(2026, 11, 30), NOW) == []
    assert machine.alerts_between(record, date(2026, 10, 1), date(2026, 10, 31), NOW) == []


def test_alerts_between_never_looks_past_now():
    record = fresh()
    now = datetime(2026, 11, 9, 8, 0)  # day 7: not yet overdue
    assert machine.alerts_between(record, DAY0, date(2026, 11, 30), now) == []


def test_summary_names_the_step_and_what_it_recorded():
    record = step(at_status("attended"), "assessed", {"diagnosis": "抑郁发作", "icd10": "F32.1", "advice": "leave", "medication": True})
    text = machine.summary(record["history"][-1])
    assert text.startswith("已就诊 → 已评估")
    assert "抑郁发作 (F32.1)" in text and "建议休学" in text and "是否服药：是" in text
    assert machine.summary(record["history"][-1], "en").startswith("attended → assessed")
