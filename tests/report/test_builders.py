"""The report builders on plain data: moments, counting rules and sheet shapes, no store involved."""

from __future__ import annotations

from datetime import date, datetime

import openpyxl
import pytest

from mhtool.report.domain import builders
from mhtool.report.domain.builders import CaseData, CensusData, CrisisData, Timelines, change_kind
from mhtool.domain.periods import month_period, week_period
from mhtool.report.domain.redact import KnownPeople, redact_report
from mhtool.io.xlsx import write_report

WEEK = week_period(2026, 40)  # 2026-09-28 .. 2026-10-04
TODAY = date(2026, 11, 23)
GEN = datetime(2026, 11, 23, 9, 0)
_seq = iter(range(1, 10_000))


def student(sid: str, college: str = "文学院", level: str = "none", **kw) -> dict:
    return {"id": sid, "student_no": f"202400000{sid[1:]}", "name": f"学生{sid}", "college": college, "class_name": "一班", "level": level, **kw}


def ev(kind: str, day: str, **fields) -> dict:
    return {"id": f"e{next(_seq)}", "kind": kind, "date": day, "author": "counselor1", "fields": fields}


def lc(day: str, frm: str, to: str, reason: str = "约谈评估") -> dict:
    return ev("level_change", day, **{"from": frm, "to": to, "reason": reason})


def watch(sid: str, opened: str, closed: str | None = None, level: str = "yellow") -> dict:
    return {"id": f"w{sid}{opened}", "student_id": sid, "opened_on": opened, "closed_on": closed, "level": level}


def task(sid: str, kind: str, due: str, done: str | None = None, created: str = "2026-01-01", **kw) -> dict:
    return {"id": f"t{next(_seq)}", "student_id": sid, "kind": kind, "due_on": due, "done_on": done, "created_on": created, **kw}


def data(**kw) -> CaseData:
    return CaseData(today=TODAY, **kw)


@pytest.mark.parametrize(
    ("frm", "to", "kind"),
    [("none", "yellow", "new"), ("yellow", "none", "closed"), ("yellow", "red", "raised"), ("red", "orange", "lowered"), ("red", "red", None)],
)
def test_change_kind(frm, to, kind):
    assert change_kind({"from": frm, "to": to}) == kind


def test_level_is_replayed_back_from_the_current_one():
    d = data(
        students={"s1": student("s1", level="orange")},
        watches=[watch("s1", "2026-09-01")],
        entries={"s1": [lc("2026-09-01", "none", "yellow"), lc("2026-09-29", "yellow", "red"), lc("2026-10-10", "red", "orange")]},
    )
    tl = Timelines(d)
    assert tl.level_at("s1", "2026-08-31") == "none"
    assert tl.level_at("s1", "2026-09-28") == "yellow"
    assert tl.level_at("s1", "2026-10-04") == "red"
    assert tl.level_at("s1", "2026-11-23") == "orange"
    assert tl.watched_at(date(2026, 8, 31)) == {}
    assert tl.watched_at(date(2026, 10, 4)) == {"s1": "red"}
    assert tl.since_at("s1", "2026-10-04") == date(2026, 9, 29)


def test_an_open_episode_counts_even_without_a_timeline():
    d = data(students={"s1": student("s1", level="none")}, watches=[watch("s1", "2026-09-01", level="orange")])
    assert Timelines(d).watched_at(date(2026, 9, 30)) == {"s1": "orange"}
    closed = data(students={"s1": student("s1")}, watches=[watch("s1", "2026-09-01", closed="2026-09-30")])
    assert Timelines(closed).watched_at(date(2026, 9, 30)) == {}
    assert Timelines(closed).watched_at(date(2026, 9, 29)) == {"s1": "yellow"}


def _week() -> CaseData:
    """s1 raised and lowered twice in the week, s2 new, s3 closed, s4 quiet, s5 status change, s6 unwatched with a crisis."""
    return data(
        students={
            "s1": student("s1", level="yellow", measures=None),
            "s2": student("s2", "理学院", level="orange"),
            "s3": student("s3", "理学院"),
            "s4": student("s4", level="yellow"),
            "s5": student("s5", "理学院", level="yellow", status="leave"),
            "s6": student("s6", "外国语学院"),
        },
        watches=[
            watch("s1", "2026-06-01"),
            watch("s2", "2026-09-30", level="orange"),
            watch("s3", "2026-05-01", closed="2026-10-02"),
            watch("s4", "2026-03-01"),
            watch("s5", "2026-04-01"),
        ],
        entries={
            "s1": [
                lc("2026-06-01", "none", "yellow"),
                ev("measure", "2026-06-01", measure_kind="定期谈话", description="每两周一次"),
                ev("measure", "2026-06-01", measure_kind="学业帮扶", description="已结束", end="2026-09-01"),
                lc("2026-09-28", "yellow", "red"),
                lc("2026-09-29", "red", "yellow"),
                lc("2026-10-01", "yellow", "orange"),
                lc("2026-10-03", "orange", "yellow"),
                ev("interview", "2026-09-28", findings="x"),
                ev("follow_up", "2026-10-02", content="电话"),
            ],
            "s2": [ev("interview", "2026-09-30", findings="y", confirmed_level="orange"), lc("2026-09-30", "none", "orange")],
            "s3": [lc("2026-05-01", "none", "yellow"), lc("2026-10-02", "yellow", "none"), ev("close", "2026-10-02", reason="稳定")],
            "s4": [lc("2026-03-01", "none", "yellow")],
            "s5": [lc("2026-04-01", "none", "yellow"), ev("status_change", "2026-10-01", **{"from": "enrolled", "to": "leave", "reason": "休学"})],
            "s6": [ev("crisis", "2026-10-04", what="z"), ev("guardian_contact", "2026-10-04", guardian="父亲", content="告知")],
        },
        tasks=[
            task("s4", "follow_up", "2026-09-20"),  # overdue, never done
            task("s1", "follow_up", "2026-09-30", done="2026-10-02"),  # done inside the week: not overdue at the end
            task("s5", "review", "2026-10-01", done="2026-10-10"),  # done after the week: overdue at its end
            task("s2", "follow_up", "2026-10-04"),  # due on the last day: not yet overdue
            task("s6", "interview", "2026-09-01", created="2026-10-05"),  # written after the week, due before it: overdue all the same
        ],
    )


def test_weekly_counts_each_student_once_per_column_and_matches_its_sheets():
    report = builders.weekly_report(_week(), WEEK, generated_at=GEN)
    # The one-page summary and its detail sheet, merged by college for the checks below.
    summary = {r["college"]: r for r in report.sheet("summary").records()}
    for r in report.sheet("summary_detail").records():
        summary[r["college"]].update(r)
    total = {**report.sheet("summary").total_record(), **report.sheet("summary_detail").total_record()}
    wen, li, wai = summary["文学院"], summary["理学院"], summary["外国语学院"]
    assert (wen["raised"], wen["lowered"], wen["new"], wen["closed"]) == (1, 1, 0, 0)
    assert (li["new"], li["closed"], li["start_total"], li["end_total"], li["change"]) == (1, 1, 2, 2, 0)
    assert (wen["start_yellow"], wen["end_yellow"], wen["end_total"]) == (2, 2, 2)
    assert (wai["crises"], wai["guardian_contacts"], wai["end_total"]) == (1, 1, 0)
    assert (wen["interviews"], wen["follow_ups"], li["interviews"]) == (1, 1, 1)
    assert (wen["follow_ups_overdue"], wen["overdue_tasks"], li["overdue_tasks"], li["follow_ups_overdue"]) == (1, 1, 1, 0)
    # s6's interview was written after the week but due before it: overdue at the week's end (dated by its due date).
    assert (wai["overdue_tasks"], wai["interviews_overdue"]) == (1, 1)
    assert (li["leave"], li["returned"]) == (1, 0)

    roster = report.sheet("roster").records()
    changes = report.sheet("changes").records()
    overdue = report.sheet("overdue").records()
    assert total["end_total"] == len(roster) == 4
    for key in ("new", "raised", "lowered", "closed"):
        assert total[key] == len({r["student_no"] for r in changes if r["change"] == key})
    assert [r["change"] for r in changes].count("raised") == 2
    assert total["overdue_tasks"] == len(overdue) == 3
    assert {(r["task"], r["days_overdue"]) for r in overdue} == {("follow_up", 14), ("review", 3), ("interview", 33)}
    s1 = next(r for r in roster if r["student_no"] == "2024000001")
    assert s1["measures"] == "定期谈话：每两周一次" and s1["last_contact"] == "2026-10-02" and s1["level_since"] == "2026-10-03"
    s2 = next(r for r in roster if r["student_no"] == "2024000002")
    assert s2["next_due"] == "2026-10-04" and s2["level"] == "orange"


def test_quiet_week_and_empty_store_give_valid_reports(tmp_path):
    quiet = builders.weekly_report(
        data(students={"s1": student("s1", level="yellow")}, watches=[watch("s1", "2026-01-01")]), WEEK, generated_at=GEN
    )
    row = {**quiet.sheet("summary").records()[0], **quiet.sheet("summary_detail").records()[0]}
    assert row["start_yellow"] == row["end_yellow"] == 1 and row["change"] == 0
    assert all(row[k] == 0 for k, _, _ in (*builders.SUMMARY_ACTIVITY, *builders.DETAIL_ACTIVITY))
    for kind in ("weekly", "monthly"):
        build = builders.weekly_report if kind == "weekly" else builders.monthly_report
        period = WEEK if kind == "weekly" else month_period(2026, 10)
        empty = build(data(), period, generated_at=GEN)
        assert empty.sheet("summary").rows == []
        assert set(empty.sheet("summary").total_record().values()) == {"合计", 0}
        path = write_report(empty, tmp_path / f"{kind}.xlsx")
        wb = openpyxl.load_workbook(path)
        assert wb["汇总"]["A3"].value == "合计"


def test_clerks_get_no_reasons_and_no_hospitals():
    d = _week()
    d.clinical = False
    d.referrals = [{"student_id": "s2", "referred_on": "2026-10-01", "hospital": "示例医院", "status": "referred", "opened": True, "steps": [], "alerts": []}]
    report = builders.weekly_report(d, WEEK, generated_at=GEN)
    assert all(r["reason"] is None for r in report.sheet("changes").records())
    assert report.sheet("referrals").records()[0]["hospital"] is None
    assert report.sheet("summary").total_record()["referrals"] == 1


def test_referral_rows():
    d = _week()
    d.referrals = [
        {"student_id": "s2", "referred_on": "2026-09-30", "hospital": "示例医院", "urgency": "urgent", "status": "attended", "opened": True,
         "steps": [{"on": "2026-09-30", "from": None, "status": "referred"}, {"on": "2026-10-02", "from": "referred", "status": "attended"}], "alerts": []},
        {"student_id": "s4", "referred_on": "2026-08-01", "hospital": "示例医院", "urgency": "routine", "status": "referred", "opened": False,
         "steps": [], "alerts": ["not_attended"]},
    ]
    rows = builders.weekly_report(d, WEEK, generated_at=GEN).sheet("referrals").records()
    assert [(r["event"], r["status"]) for r in rows] == [("overdue", "referred"), ("opened", "attended")]
    assert rows[0]["alerts"] == "转介7天后仍未就诊"
    assert rows[1]["steps"] == "2026-09-30 已转介；2026-10-02 已转介 → 已就诊"


def test_monthly_extra_sheets():
    d = _week()
    d.batches = [{"id": "b1", "name": "2026秋UPI", "instrument": "upi", "imported_on": "2026-10-02"}]
    d.batch_responses = {"b1": [{"student_id": f"x{i}", "proposed_level": "none"} for i in range(6)]
                         + [{"student_id": "s6", "proposed_level": "red"}, {"student_id": "s3", "proposed_level": "yellow"}]}
    d.batch_tasks = [
        task("s6", "interview", "2026-10-03", done="2026-10-03", batch_id="b1"),
        task("s3", "interview", "2026-10-16", batch_id="b1"),
    ]
    d.interviews = {"s6": ["2026-10-03"]}
    report = builders.monthly_report(d, month_period(2026, 10), generated_at=GEN)
    assert [s.key for s in report.sheets] == [
        "summary", "summary_detail", "roster", "changes", "referrals", "overdue", "clarity", "special_groups", "signals", "network", "screening", "trend", "distribution"
    ]
    screening = report.sheet("screening").records()[0]
    assert (screening["proposed"], screening["positive_rate"], screening["interviews_done"], screening["interviews_overdue"]) == (2, 0.25, 1, 1)
    trend = report.sheet("trend").records()
    assert [r["month"] for r in trend] == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    assert [r["total"] for r in trend] == [3, 4, 4, 4, 5, 4]
    end_total = report.sheet("summary").total_record()["end_total"]
    assert end_total == report.sheet("distribution").total_record()["total"] == report.sheet("clarity").total_record()["watched"]
    clarity = {r["college"]: r for r in report.sheet("clarity").records()}
    assert clarity["文学院"]["measure"] == 1 and clarity["文学院"]["complete"] == 0
    assert [c.kind for c in report.sheet("trend").charts] == ["line"] and report.sheet("distribution").charts[0].stacked


def test_a_future_end_counts_until_today():
    d = _week()
    d.today = date(2026, 10, 1)
    report = builders.weekly_report(d, WEEK, generated_at=GEN)
    assert report.meta["asof"] == "2026-10-01"
    assert report.sheet("summary").total_record()["end_total"] == 5


def test_redaction_reaches_every_sheet():
    d = _week()
    d.entries["s3"][1]["fields"]["reason"] = "学生s3情况好转"
    # k=1: this is about masking reaching every sheet; k-anonymity is tested in test_redaction.py.
    report = redact_report(builders.weekly_report(d, WEEK, generated_at=GEN), KnownPeople.from_records(d.students.values()), k=1)
    text = repr(report.to_json())
    assert "学生s3" not in text and "2024000003" not in text
    assert "[学生]情况好转" in text


def _census(**kw) -> CensusData:
    responses = [
        {"student_id": "a", "student_no": "2026000001", "name": "甲", "gender": "女", "college": "文学院", "grade": "2026", "band": "A", "proposed_level": "red", "flags": ["item25"], "on_date": "2026-09-08"},
        {"student_id": "b", "student_no": "2026000002", "name": "乙", "gender": "男", "college": "文学院", "grade": "2026", "band": "C", "proposed_level": "none", "on_date": "2026-09-09"},
        {"student_id": "c", "student_no": "2026000003", "name": "丙", "gender": "男", "college": "理学院", "grade": "2026", "band": "B", "proposed_level": "yellow", "on_date": "2026-09-10"},
    ]
    return CensusData(
        batch={"id": "b1", "name": "秋季普查", "instrument": "upi", "imported_on": "2026-09-10"},
        responses=responses,
        today=TODAY,
        bands=(("A", "A类", "A"), ("B", "B类", "B"), ("C", "C类", "C")),
        **kw,
    )


def test_census_participation_and_split():
    report = builders.census_report(_census(roster={"文学院": {"a", "x", "y"}, "理学院": set(), "外国语学院": {"z"}}), generated_at=GEN)
    assert report.period.label == "2026-09-08..2026-09-10"
    colleges = {r["college"]: r for r in report.sheet("colleges").records()}
    assert (colleges["文学院"]["roster"], colleges["文学院"]["respondents"]) == (4, 2)  # b was missing from the roster
    assert colleges["外国语学院"]["participation"] == 0 and colleges["理学院"]["participation"] == 1
    total = report.sheet("colleges").total_record()
    assert (total["roster"], total["respondents"], total["participation"], total["positive_rate"]) == (6, 3, 0.5, 2 / 3)
    no_roster = builders.census_report(_census(), generated_at=GEN).sheet("colleges")
    assert all(r["roster"] is None and r["participation"] is None for r in no_roster.records())
    groups = builders.census_report(_census(), generated_at=GEN).sheet("groups").records()
    assert [(r["dimension"], r["group"], r["respondents"]) for r in groups] == [
        ("college", "文学院", 2), ("college", "理学院", 1), ("gender", "女", 1), ("gender", "男", 2), ("grade", "2026", 3)
    ]
    split = builders.census_split(_census(), generated_at=GEN)
    assert list(split) == ["文学院", "理学院"]
    sheet = split["文学院"].sheets[0]
    assert sheet.rows[0][-5:] == [None] * 5
    # In either language, the headers are those the interview import reads back.
    from mhtool.io.profiles import get_profile

    for lang in ("zh", "en"):
        fields = get_profile("interviews").layout([c.header(lang) for c in sheet.columns]).fields
        assert set(fields) == {"student_no", "name", "college", "class_name", "date", "interviewer", "summary", "level", "measures"}


def test_crisis_form_with_and_without_contacts():
    entry = {
        "id": "c1", "kind": "crisis", "date": "2026-11-02", "author": "counselor1",
        "fields": {"what": "情绪失控", "happened_at": "2026-11-02T22:00:00", "parents_notified_at": "2026-11-04T08:00:00",
                   "notified": [{"who": "辅导员", "at": "2026-11-02T22:10:00"}, {"who": "学工部", "at": "当晚"}]},
    }
    s = student("s1", level="red", phone="13800000000", guardians=[{"relation": "父亲", "name": "某某", "phone": "13900000000"}])
    d = CrisisData(entry=entry, student=s, today=TODAY, entries=[entry], recorded_at=datetime(2026, 11, 2, 23, 0))
    report = builders.crisis_report(d, generated_at=GEN)
    fields = {r["key"]: r["value"] for r in report.sheet("crisis").records()}
    assert fields["parents_deadline"] == "超过24小时（34小时）才通知家长"
    assert fields["notified_1"] == "2026-11-02T22:10:00" and fields["notified_2"] == "当晚"
    assert fields["phone"] == "13800000000" and "13900000000" in fields["guardians"]
    bare = builders.crisis_report(d, generated_at=GEN, contacts=False, lang="en")
    keys = {r["key"] for r in bare.sheet("crisis").records()}
    assert not keys & {"phone", "advisor_phone", "guardians"}
    assert {r["key"]: r["value"] for r in bare.sheet("crisis").records()}["parents_deadline"].startswith("parents notified after 34 hours")
