"""The single definitions of the shared report figures, and what an office expects to see in the sheets."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from mhtool.app.center import Center, credential_from_key_file
from mhtool.cases.domain import views
from mhtool.cases.usecases import service
from mhtool.domain import rules
from mhtool.domain.periods import week_period
from mhtool.report.domain import builders, figures
from mhtool.report.domain.builders import CaseData
from tests.report import report_data as rd

WEEK = week_period(2026, 40)  # 2026-09-28 .. 2026-10-04
END = WEEK.end.isoformat()
TODAY = date(2026, 11, 23)
GEN = datetime(2026, 11, 23, 9, 0)
TASK_KINDS = ("interview", "follow_up", "review", "reminder", "referral_visit", "referral_review", "referral_guardian")


def task(kind="follow_up", due="2026-10-01", done=None, sid="s1", created="2026-01-01", **kw) -> dict:
    return {"id": f"t-{kind}-{due}-{sid}", "student_id": sid, "kind": kind, "due_on": due, "done_on": done, "created_on": created, **kw}


def student(sid: str, college: str = "文学院", level: str = "none", **kw) -> dict:
    return {"id": sid, "student_no": f"20240000{sid[1:]:0>2}", "name": f"学生{sid}", "college": college, "class_name": "一班", "level": level, **kw}


def watch(sid: str, opened: str, closed: str | None = None, level: str = "yellow") -> dict:
    return {"id": f"w{sid}{opened}", "student_id": sid, "opened_on": opened, "closed_on": closed, "level": level}


def lc(day: str, frm: str, to: str) -> dict:
    return {"id": f"e{day}{frm}{to}", "kind": "level_change", "date": day, "author": "c1", "fields": {"from": frm, "to": to, "reason": "约谈评估"}}


ROSTER = {
    "文学院": {"on_roll": 40, "groups": {"hardship": 3, "academic": 1}, "any_group": 3},
    "理学院": {"on_roll": 50, "groups": {"disability": 1}, "any_group": 1},
    "外国语学院": {"on_roll": 30, "groups": {}, "any_group": 0},
}


# -- 逾期 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", TASK_KINDS)
def test_overdue_means_open_and_past_due_for_every_kind(kind):
    day = date(2026, 10, 4)
    assert figures.is_overdue_at(task(kind, due="2026-10-03"), day)
    assert figures.days_overdue_at(task(kind, due="2026-09-20"), day) == 14 == rules.days_overdue(date(2026, 9, 20), day)
    assert not figures.is_overdue_at(task(kind, due="2026-10-04"), day), "due today is not late yet"
    assert not figures.is_overdue_at(task(kind, due="2026-10-01", done="2026-10-04"), day), "done by the end of the day"
    assert figures.is_overdue_at(task(kind, due="2026-10-01", done="2026-10-05"), day), "done only afterwards"
    # Dated by its due date alone: a record written weeks later (a back-dated import) is overdue all the same.
    assert figures.is_overdue_at(task(kind, due="2026-09-01", created="2026-11-20"), day)


def test_overdue_today_is_what_the_task_list_says():
    today = date(2026, 10, 4)
    tasks = [task(k, due=d, done=done) for k in TASK_KINDS for d, done in (("2026-09-30", None), ("2026-10-04", None), ("2026-10-10", None), ("2026-09-01", "2026-09-02"))]
    open_now = [t for t in tasks if not t["done_on"]]
    listed = [t for t in open_now if views.task_item(t, today)["overdue"]]
    assert figures.overdue_at(tasks, today) == listed
    assert all(figures.days_overdue_at(t, today) == views.task_item(t, today)["overdue_days"] for t in open_now)


def test_the_weekly_counts_a_late_written_interview_as_overdue():
    data = CaseData(
        today=TODAY,
        students={"s1": student("s1"), "s2": student("s2", "理学院")},
        tasks=[task("interview", due="2026-09-15", sid="s1", created="2026-10-20"), task("reminder", due="2026-09-29", sid="s2")],
    )
    report = builders.weekly_report(data, WEEK, generated_at=GEN)
    assert {(r["task"], r["days_overdue"]) for r in report.sheet("overdue").records()} == {("interview", 19), ("reminder", 5)}
    assert report.sheet("summary").total_record()["overdue_tasks"] == 2
    assert report.sheet("summary_detail").total_record()["interviews_overdue"] == 1


# -- 人数, 人次, 阳性, 已约谈 ---------------------------------------------------------------------------


RESPONSES = [
    {"student_id": "a", "proposed_level": "yellow"},
    {"student_id": "a", "proposed_level": "red"},
    {"student_id": "b", "proposed_level": "none"},
    {"student_id": "c", "proposed_level": "orange"},
    {"student_id": "d", "proposed_level": None},
]


def test_persons_and_responses_are_kept_apart():
    assert figures.persons(RESPONSES) == 4
    assert figures.visits(RESPONSES) == 5
    assert figures.positive_students(RESPONSES) == {"a", "c"}
    assert [figures.is_positive(r) for r in RESPONSES] == [True, True, False, True, False]
    # A total over instruments counts a student once, at the highest level proposed.
    assert figures.highest_proposals(RESPONSES) == {"a": "red", "b": "none", "c": "orange", "d": "none"}
    assert figures.level_counts(figures.highest_proposals(RESPONSES).values()) == [1, 1, 0, 2]
    assert figures.level_counts(figures.proposed_level(r) for r in RESPONSES) == [1, 1, 1, 3]


def test_interviewed_is_a_proposal_followed_by_an_interview():
    responses = [
        {"student_id": "a", "proposed_level": "red"},
        {"student_id": "b", "proposed_level": "yellow"},
        {"student_id": "c", "proposed_level": "orange"},
        {"student_id": "d", "proposed_level": "none"},
    ]
    interviews = {"a": ["2026-09-12"], "b": ["2026-09-01"], "c": "2026-10-20", "d": ["2026-09-15"]}
    # b was interviewed before the screening; d was never proposed.
    assert figures.interviewed(responses, interviews, since="2026-09-10") == {"a", "c"}
    assert figures.interviewed(responses, interviews, since="2026-09-10", asof=date(2026, 9, 30)) == {"a"}
    tasks = [
        task("interview", due="2026-09-11", sid="b"),  # the batch's, overdue
        task("interview", due="2026-09-01", sid="c"),  # due before the import: another screening's
        task("follow_up", due="2026-09-20", sid="a"),  # not an interview
        task("interview", due="2026-09-17", sid="d"),  # not proposed by this batch
    ]
    assert figures.interviews_overdue(responses, tasks, since="2026-09-10", asof=date(2026, 9, 30)) == {"b"}


def test_breakdowns_take_the_roster_over_the_export():
    response = {"student_id": "a", "gender": "", "grade": None, "college": "文院", "band": "A"}
    dossier = {"gender": "女", "grade": "2026级", "college": "文学院", "class_name": "", "name": "张三"}
    merged = figures.with_roster(response, dossier)
    assert (merged["gender"], merged["grade"], merged["college"], merged["band"]) == ("女", "2026级", "文学院", "A")
    assert "class_name" not in merged and "name" not in merged
    assert figures.with_roster(response, None) == response


def test_roster_colleges_count_students_on_roll_and_special_groups_once_per_person():
    students = [
        {"college": "文学院", "status": "enrolled", "groups": ["hardship", "academic"]},
        {"college": "文学院", "status": "returned", "groups": ["hardship"]},
        {"college": "文学院", "status": "leave", "groups": ["hardship"]},
        {"college": "理学院", "status": None, "groups": []},
        {"college": "", "status": "enrolled", "groups": ["disability"]},
        {"college": "外国语学院", "status": "graduated", "groups": []},
    ]
    out = figures.roster_colleges(students)
    assert list(out) == ["文学院", "理学院"]
    assert out["文学院"]["on_roll"] == 2 and out["文学院"]["any_group"] == 2
    assert (out["文学院"]["groups"]["hardship"], out["文学院"]["groups"]["academic"]) == (2, 1)
    assert out["理学院"] == {"on_roll": 1, "groups": dict.fromkeys(out["理学院"]["groups"], 0), "any_group": 0}


# -- what an office expects to see ------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "line"), [("zh", "零报告：本周无新增关注学生，无危机事件，无新增转介。"), ("en", "Zero report: this week, no new watched students, no crises, no new referrals.")])
def test_an_empty_week_lists_every_college_with_a_zero_report(lang, line):
    report = builders.weekly_report(CaseData(today=TODAY, roster=ROSTER), WEEK, generated_at=GEN, lang=lang)
    summary = report.sheet("summary")
    assert [r["college"] for r in summary.records()] == ["外国语学院", "文学院", "理学院"]
    assert all(v == 0 for r in summary.records() for k, v in r.items() if k != "college")
    assert summary.notes[0] == line
    assert summary.signatures, "the summary an office signs carries the signature block"
    assert [r["college"] for r in report.sheet("summary_detail").records()] == ["外国语学院", "文学院", "理学院"]


def test_a_week_with_a_new_watch_has_no_zero_report_and_says_only_what_it_lacks():
    data = CaseData(
        today=TODAY,
        roster=ROSTER,
        students={"s1": student("s1", level="yellow")},
        watches=[watch("s1", "2026-09-30")],
        entries={"s1": [lc("2026-09-30", "none", "yellow")]},
    )
    notes = builders.weekly_report(data, WEEK, generated_at=GEN).sheet("summary").notes
    assert not any(n.startswith("零报告") for n in notes)
    crisis_only = CaseData(
        today=TODAY, roster=ROSTER, students={"s2": student("s2")},
        entries={"s2": [{"id": "e1", "kind": "crisis", "date": "2026-10-01", "author": "c1", "fields": {"what": "x"}}]},
    )  # fmt: skip
    notes = builders.weekly_report(crisis_only, WEEK, generated_at=GEN).sheet("summary").notes
    assert notes[0] == "零报告：本周无新增关注学生，无新增转介。"


def test_change_against_the_previous_period():
    data = CaseData(
        today=TODAY,
        roster=ROSTER,
        students={"s1": student("s1", level="yellow"), "s2": student("s2"), "s3": student("s3", "理学院", level="red")},
        watches=[watch("s1", "2026-09-01"), watch("s2", "2026-09-01", closed="2026-09-30"), watch("s3", "2026-10-02", level="red")],
        entries={"s2": [lc("2026-09-01", "none", "yellow"), lc("2026-09-30", "yellow", "none")], "s3": [lc("2026-10-02", "none", "red")]},
    )
    report = builders.weekly_report(data, WEEK, generated_at=GEN)
    rows = {r["college"]: r for r in report.sheet("summary").records()}
    start = {r["college"]: r["start_total"] for r in report.sheet("summary_detail").records()}
    assert (rows["文学院"]["end_total"], start["文学院"], rows["文学院"]["change"]) == (1, 2, -1)
    assert (rows["理学院"]["end_total"], start["理学院"], rows["理学院"]["change"]) == (1, 0, 1)
    assert rows["外国语学院"]["change"] == 0
    assert report.sheet("summary").total_record()["change"] == 0
    # 12 columns on the one-page summary; start figures only on the detail sheet.
    assert len(report.sheet("summary").columns) == 12
    assert not any(c.key.startswith("start_") for c in report.sheet("summary").columns)


def test_special_groups_by_college_with_those_watched():
    data = CaseData(
        today=TODAY,
        roster=ROSTER,
        students={
            "s1": student("s1", level="yellow", groups=["hardship"]),
            "s2": student("s2", level="orange", groups=[]),
            "s3": student("s3", "理学院", level="red", groups=["disability"], status="leave"),
        },
        watches=[watch("s1", "2026-09-01"), watch("s2", "2026-09-01", level="orange"), watch("s3", "2026-09-01", level="red")],
    )
    sheet = builders.weekly_report(data, WEEK, generated_at=GEN).sheet("special_groups")
    rows = {r["college"]: r for r in sheet.records()}
    assert list(rows) == ["外国语学院", "文学院", "理学院"]
    wen = rows["文学院"]
    assert (wen["group_hardship"], wen["group_academic"], wen["any_group"], wen["watched"]) == (3, 1, 3, 1)
    assert rows["理学院"]["watched"] == 0, "a student on leave is not on roll"
    assert sheet.total_record()["group_hardship"] == 3
    assert [c.header_zh for c in sheet.columns][1:7] == ["家庭经济困难", "单亲或孤儿", "学业问题", "心理问题", "身体残疾", "退学重新参加高考入学"]
    assert sheet.columns[1].header_en == "Financial hardship"


def test_the_watch_list_names_the_advisor():
    data = CaseData(today=TODAY, students={"s1": student("s1", level="yellow", advisor="王老师")}, watches=[watch("s1", "2026-09-01")])
    report = builders.weekly_report(data, WEEK, generated_at=GEN)
    [row] = report.sheet("roster").records()
    assert row["advisor"] == "王老师"


def test_three_clarities_are_in_the_weekly():
    data = CaseData(today=TODAY, students={"s1": student("s1", level="yellow")}, watches=[watch("s1", "2026-09-01")])
    report = builders.weekly_report(data, WEEK, generated_at=GEN)
    assert report.sheet("clarity").total_record()["watched"] == 1


@pytest.mark.parametrize(
    ("first_monday", "period", "week"),
    [
        (date(2026, 9, 7), week_period(2026, 40), 4),
        (date(2026, 9, 7), week_period(2026, 37), 1),
        (date(2026, 9, 7), week_period(2026, 36), None),  # the week before the term
        (None, week_period(2026, 40), None),
    ],
)
def test_teaching_week(first_monday, period, week):
    assert figures.teaching_week(first_monday, period.start, period.end) == week


def test_a_period_across_two_teaching_weeks_has_no_label():
    assert figures.teaching_week(date(2026, 9, 7), date(2026, 9, 10), date(2026, 9, 16)) is None
    assert figures.teaching_week(date(2026, 9, 7), date(2026, 9, 14), date(2026, 9, 16)) == 2


def test_the_weekly_title_says_the_teaching_week():
    data = CaseData(today=TODAY, term_first_monday=date(2026, 9, 7))
    report = builders.weekly_report(data, WEEK, generated_at=GEN)
    assert report.title("zh") == "心理健康工作周报（第4教学周）" and report.title("en") == "Weekly mental-health report (teaching week 4)"
    assert report.meta["teaching_week"] == 4
    monthly = builders.monthly_report(data, WEEK, generated_at=GEN)
    assert "teaching_week" not in monthly.meta


# -- the store: settings, the unit name, the roster's colleges and breakdowns ----------------------------


def test_report_settings_are_checked_and_reach_every_report(store_env):
    cli = store_env.cli
    bad_day = cli("settings", "set", "term_first_monday", "2026-09-08")
    assert bad_day.exit_code != 0 and "not a Monday" in bad_day.stderr and "2026-09-07" in bad_day.stderr
    assert cli("settings", "set", "term_first_monday", "9月7日").exit_code != 0
    assert cli("settings", "set", "center_name", "长" * 61).exit_code != 0
    cli.ok("settings", "set", "term_first_monday", "2026-09-07")
    cli.ok("settings", "set", "center_name", " 示例大学  心理健康教育与咨询中心 ")
    shown = json.loads(cli.ok("settings", "show", "--json").stdout)
    assert (shown["term_first_monday"], shown["center_name"]) == ("2026-09-07", "示例大学 心理健康教育与咨询中心")
    with store_env.open() as store:
        s = rd.add_student(store, "2026000001", "陈一", "文学院", gender="女")
        rd.level(store, s, "yellow", date(2026, 9, 20))
        rd.add_batch(store, "秋季普查", date(2026, 9, 10), [{"student": s, "proposed_level": "yellow"}])
    weekly = json.loads(cli.ok("report", "weekly", "--week", "2026-W40", "--json").stdout)
    assert weekly["meta"]["unit"] == "示例大学 心理健康教育与咨询中心" and weekly["meta"]["teaching_week"] == 4
    monthly = json.loads(cli.ok("report", "monthly", "--month", "2026-09", "--json").stdout)
    census = json.loads(cli.ok("report", "census", "秋季普查", "--json").stdout)
    assert monthly["meta"]["unit"] == census["meta"]["unit"] == "示例大学 心理健康教育与咨询中心"
    cli.ok("settings", "set", "term_first_monday", "")
    assert "teaching_week" not in json.loads(cli.ok("report", "weekly", "--week", "2026-W40", "--json").stdout)["meta"]


def test_the_weekly_lists_the_colleges_of_the_roster_and_counts_again_when_it_changes(store_env):
    with store_env.open() as store:
        rd.add_student(store, "2026000001", "陈一", "文学院", groups=["hardship"])
        rd.add_student(store, "2026000002", "林二", "理学院")
    first = json.loads(store_env.cli.ok("report", "weekly", "--week", "2026-W40", "--json").stdout)
    assert [r["college"] for r in first["sheets"]["summary"]] == ["文学院", "理学院"]
    assert first["sheets"]["summary"][0]["end_total"] == 0
    assert {r["college"]: r["group_hardship"] for r in first["sheets"]["special_groups"]} == {"文学院": 1, "理学院": 0}
    with store_env.open() as store:
        rd.add_student(store, "2026000003", "黄三", "外国语学院", groups=["hardship", "academic"])
    again = json.loads(store_env.cli.ok("report", "weekly", "--week", "2026-W40", "--json").stdout)
    assert [r["college"] for r in again["sheets"]["summary"]] == ["外国语学院", "文学院", "理学院"]
    assert again["totals"]["special_groups"]["group_hardship"] == 2 and again["totals"]["special_groups"]["any_group"] == 2
    # A dossier edited since the last report is counted as it is now (its row was written again).
    store_env.cli.ok("cases", "edit", "2026000001", "--group", "none")
    edited = json.loads(store_env.cli.ok("report", "weekly", "--week", "2026-W40", "--json").stdout)
    assert {r["college"]: r["group_hardship"] for r in edited["sheets"]["special_groups"]} == {"外国语学院": 1, "文学院": 0, "理学院": 0}
    assert edited["totals"]["special_groups"]["group_academic"] == 1
    # Counted again from the rows written since, not from every dossier; not at all when none was.
    refreshed = [e for e in json.loads(store_env.cli.ok("audit", "log", "--limit", "0", "--json").stdout) if e["action"] == "cache.roster-summary"]
    assert [e["details"]["opened"] for e in refreshed] == [2, 1, 1]
    store_env.cli.ok("report", "weekly", "--week", "2026-W40", "--json")
    assert len([e for e in json.loads(store_env.cli.ok("audit", "log", "--limit", "0", "--json").stdout) if e["action"] == "cache.roster-summary"]) == 3
    scoped = store_env.add_staff("wen", "counselor", "文学院")
    mine = json.loads(scoped("report", "weekly", "--week", "2026-W40", "--json").stdout)
    assert [r["college"] for r in mine["sheets"]["summary"]] == ["文学院"]
    assert [r["college"] for r in mine["sheets"]["special_groups"]] == ["文学院"]


def test_census_breakdowns_come_from_the_dossiers(store_env):
    with store_env.open() as store:
        a = rd.add_student(store, "2026000001", "陈一", "文学院", gender="女", grade="2026级")
        b = rd.add_student(store, "2026000002", "林二", "文学院", gender="男", grade="2026级")
        # The export carried neither gender nor grade (as a 腾讯问卷 PHQ-9 does).
        rd.add_batch(
            store, "PHQ-9复查", date(2026, 9, 10),
            [{"student": {**a, "gender": None, "grade": None}, "proposed_level": "yellow"}, {"student": {**b, "gender": "", "grade": None}}],
        )  # fmt: skip
    with Center.open(store_env.path, credential_from_key_file(store_env.admin_key), "admin") as center:
        report = center.reports.census("PHQ-9复查").report
    groups = {(r["dimension"], r["group"]): r for r in report.sheet("groups").records()}
    assert groups[("gender", "女")]["respondents"] == 1 and groups[("gender", "女")]["positive"] == 1
    assert groups[("gender", "男")]["respondents"] == 1
    assert groups[("grade", "2026级")]["respondents"] == 2
    assert ("gender", "（未填写）") not in groups
    listed = report.sheet("interviews").records()
    assert [r["gender"] for r in listed] == ["女"]
    assert report.sheet("colleges").signatures, "the census summary an office signs carries the signature block"


def test_the_census_and_the_monthly_count_an_interview_for_a_screening_that_a_later_one_took_over(store_env):
    """One open interview task per student: a second, higher proposal takes the first batch's task over."""
    imported = date(2026, 9, 10)
    with store_env.open() as store:
        s = rd.add_student(store, "2026000001", "陈一", "文学院")
        rd.add_batch(store, "UPI", imported, [{"student": s, "proposed_level": "yellow"}])
        # A red proposal two days later (another instrument) brings the task forward and takes it over.
        with store.write("test.screening") as txn:
            service.schedule_screening_interview(txn, s["id"], "red", imported + timedelta(days=2), batch_id="other-batch")
        rd.interview(store, s, imported + timedelta(days=3))
    with Center.open(store_env.path, credential_from_key_file(store_env.admin_key), "admin") as center:
        census = center.reports.census("UPI").report
        monthly = center.reports.monthly(month="2026-09").report
    assert census.sheet("colleges").total_record()["interviewed"] == 1
    [row] = monthly.sheet("screening").records()
    assert (row["interviews_done"], row["interviews_overdue"]) == (1, 0)
    assert census.sheet("interviews").records()[0]["due"] == (imported + timedelta(days=3)).isoformat()
