"""Every figure that appears in two places agrees, over a generated school.

One demo store (300 made-up students, four simulated weeks) plus a screening
imported three weeks late with a back-dated screening day, so its interview
tasks are overdue although their records were written today. The weekly and
monthly reports of the same days, the census reports, the task and watch lists
and the batch list must say the same thing wherever they show the same figure.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

import openpyxl
import pytest

from mhtool import demo_data
from mhtool.app.center import Center, credential_from_key_file
from mhtool.demo import ADMIN, COUNSELOR, build_demo
from mhtool.domain.periods import last_complete_week
from mhtool.domain.vocabulary import WATCH_LEVELS

STUDENTS, SEED = 300, 11
PURPOSE = "报表一致性检查"
SHARED_SHEETS = ("summary", "summary_detail", "roster", "changes", "referrals", "overdue", "clarity", "special_groups")


def _center(result, user: str = COUNSELOR) -> Center:
    return Center.open(result.store, credential_from_key_file(result.keys[user]), user)


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """The demo school, then a PHQ-9 re-screening that arrived 21 days ago and was imported today, back-dated."""
    folder = tmp_path_factory.mktemp("consistency") / "demo"
    result = build_demo(folder, students=STUDENTS, seed=SEED)
    with _center(result, ADMIN) as center:
        today = center.today()
        screened = today - timedelta(days=21)
        export = demo_data.write_tencent_phq9(
            folder / "exports" / "腾讯问卷_PHQ-9_复查.csv",
            demo_data.build_school(STUDENTS, seed=SEED),
            datetime(screened.year, screened.month, screened.day, 8, 0),
            rng=random.Random(SEED + 40),
        )
        imported = center.survey.import_file(
            export, "phq9", batch_name="复查-PHQ9", on=screened, skip_invalid=True, rejects=folder / "exports" / "复查_rejected.xlsx"
        )
    return result, imported.summary.batch, today


@pytest.fixture(scope="module")
def figures(school):
    """Every report and list the tests compare, made once."""
    result, late_batch, today = school
    with _center(result) as center:
        week_from = today - timedelta(days=6)
        wide_from = today - timedelta(days=40)
        out = {
            "today": today,
            "late_batch": late_batch,
            "weekly": center.reports.weekly(date_from=week_from, date_to=today, purpose=PURPOSE).report,
            "monthly_same_days": center.reports.monthly(date_from=week_from, date_to=today, purpose=PURPOSE).report,
            "monthly": center.reports.monthly(date_from=wide_from, date_to=today, purpose=PURPOSE).report,
            "past_week": center.reports.weekly(week=last_complete_week(today).label, purpose=PURPOSE).report,
            "overdue_tasks": center.cases.tasks(overdue=True),
            "watched": center.cases.list(),
            "everyone": center.cases.list(include_unwatched=True),
            "incomplete": center.cases.check(),
            "batches": center.survey.batches(),
        }
        out["batch_details"] = {b["id"]: center.survey.batch(b["id"]) for b in out["batches"]}
        out["census"] = {b["id"]: center.reports.census(b["id"], purpose=PURPOSE).report for b in out["batches"]}
        out["weekly_path"] = center.reports.weekly(date_from=week_from, date_to=today, out=result.folder / "reports" / "一致性_周报.xlsx", purpose=PURPOSE).path
    return out


def _records(report, key):
    return report.sheet(key).records()


def _total(report, key):
    return report.sheet(key).total_record()


def _merged_summary(report) -> dict[str, dict]:
    """College → the 汇总 row and its 汇总(明细) row together."""
    rows = {r["college"]: dict(r) for r in _records(report, "summary")}
    for r in _records(report, "summary_detail"):
        rows[r["college"]].update(r)
    return rows


def _task_key(row: dict) -> tuple:
    return (row["student_no"], row["task"] if "task" in row else row["kind"], row["due"])


# -- the back-dated batch -----------------------------------------------------------------------


def test_the_back_dated_screening_has_overdue_interviews(figures):
    late = [t for t in figures["overdue_tasks"] if t["kind"] == "interview" and t["due"] < (figures["today"] - timedelta(days=6)).isoformat()]
    assert late, "the back-dated batch left interviews overdue"
    census = figures["census"][figures["late_batch"]]
    listed = {r["student_no"]: r for r in census.sheet("interviews").records()}
    assert {t["student_no"] for t in late} & set(listed)


def test_overdue_interviews_of_a_late_import_are_in_the_reports_of_past_weeks(figures):
    """The defect: a past week's report dated tasks by when their records were written, so these vanished."""
    week = figures["past_week"]
    asof = week.meta["asof"]
    rows = {_task_key(r) for r in _records(week, "overdue")}
    # Due before the week ended and still open today, so open then too.
    due_then = {_task_key(t) for t in figures["overdue_tasks"] if t["due"] < asof}
    assert due_then and due_then <= rows
    assert any(kind == "interview" for _, kind, _ in due_then)
    assert _total(week, "summary")["overdue_tasks"] == len(rows)


# -- reports against the lists ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["weekly", "monthly_same_days", "monthly"])
def test_overdue_is_what_the_task_list_says_today(figures, name):
    report = figures[name]
    rows = _records(report, "overdue")
    listed = figures["overdue_tasks"]
    assert sorted(_task_key(r) for r in rows) == sorted(_task_key(t) for t in listed)
    assert {r["days_overdue"] for r in rows} == {t["overdue_days"] for t in listed}
    summary = _merged_summary(report)
    total = {**_total(report, "summary"), **_total(report, "summary_detail")}
    assert total["overdue_tasks"] == len(rows) == len(listed)
    assert total["interviews_overdue"] == sum(1 for r in rows if r["task"] == "interview")
    assert total["follow_ups_overdue"] == sum(1 for r in rows if r["task"] == "follow_up")
    by_college = Counter(r["college"] for r in rows)
    assert {c: r["overdue_tasks"] for c, r in summary.items() if r["overdue_tasks"]} == dict(by_college)


@pytest.mark.parametrize("name", ["weekly", "monthly"])
def test_watched_figures_are_the_watch_list(figures, name):
    report = figures[name]
    watched = figures["watched"]
    roster = _records(report, "roster")
    total = _total(report, "summary")
    assert total["end_total"] == len(roster) == len(watched)
    assert sorted(r["student_no"] for r in roster) == sorted(w["student_no"] for w in watched)
    for level in WATCH_LEVELS:
        assert total[f"end_{level}"] == sum(1 for w in watched if w["level"] == level) == sum(1 for r in roster if r["level"] == level)
    per_college = Counter(r["college"] for r in roster)
    assert {c: r["end_total"] for c, r in _merged_summary(report).items() if r["end_total"]} == dict(per_college)
    assert all(r["advisor"] for r in roster), "the watch list names every student's 辅导员"
    # 三个明确: the incomplete ones are those `cases check` lists.
    clarity = _total(report, "clarity")
    assert clarity["watched"] == total["end_total"]
    assert clarity["watched"] - clarity["complete"] == len(figures["incomplete"])


@pytest.mark.parametrize("name", ["weekly", "monthly"])
def test_summary_columns_are_their_list_sheets(figures, name):
    report = figures[name]
    total = {**_total(report, "summary"), **_total(report, "summary_detail")}
    changes = _records(report, "changes")
    for kind in ("new", "raised", "lowered", "closed"):
        assert total[kind] == len({r["student_no"] for r in changes if r["change"] == kind}), kind
    for status, key in (("leave", "leave"), ("returned", "returned")):
        assert total[key] == len({r["student_no"] for r in changes if r["change"] == "status" and r["to_status"] == status}), key
    assert total["referrals"] == sum(1 for r in _records(report, "referrals") if r["event"] == "opened")
    # 环比: the end total against the start total, college by college and in the total.
    for row in _merged_summary(report).values():
        assert row["change"] == row["end_total"] - row["start_total"]
    assert total["change"] == total["end_total"] - total["start_total"]


@pytest.mark.parametrize("name", ["weekly", "monthly"])
def test_every_college_of_the_roster_is_listed(figures, name):
    report = figures[name]
    colleges = sorted({s["college"] for s in figures["everyone"] if s["college"]})
    assert [r["college"] for r in _records(report, "summary")] == colleges
    assert [r["college"] for r in _records(report, "summary_detail")] == colleges
    assert [r["college"] for r in _records(report, "special_groups")] == colleges
    groups = _total(report, "special_groups")
    assert groups["watched"] <= groups["any_group"]


# -- weekly against monthly ---------------------------------------------------------------------


def test_weekly_and_monthly_of_the_same_days_agree_on_every_shared_sheet(figures):
    weekly, monthly = figures["weekly"], figures["monthly_same_days"]
    for key in SHARED_SHEETS:
        assert weekly.sheet(key).records() == monthly.sheet(key).records(), key
        assert weekly.sheet(key).total_record() == monthly.sheet(key).total_record(), key


def test_trend_and_distribution_end_where_the_summary_ends(figures):
    monthly = figures["monthly"]
    end_total = _total(monthly, "summary")["end_total"]
    assert _records(monthly, "trend")[-1]["total"] == end_total == _total(monthly, "distribution")["total"]


# -- screening: the monthly against the census and the batch list ----------------------------------


def test_monthly_screening_rows_are_the_census_reports(figures):
    rows = {r["batch"]: r for r in _records(figures["monthly"], "screening")}
    assert len(rows) == len(figures["batches"]) == 4
    for batch in figures["batches"]:
        census = _total(figures["census"][batch["id"]], "colleges")
        detail = figures["batch_details"][batch["id"]]
        row = rows[batch["name"]]
        assert row["respondents"] == census["respondents"] == batch["imported"]
        for level in WATCH_LEVELS:
            assert row[f"proposed_{level}"] == census[level] == detail["proposed_levels"].get(level, 0)
        assert row["proposed"] == census["positive"]
        assert row["positive_rate"] == pytest.approx(census["positive_rate"])
        # 已约谈: one definition, the same number in both reports.
        assert row["interviews_done"] == census["interviewed"]


def test_screening_total_counts_persons_not_responses(figures):
    monthly = figures["monthly"]
    rows, total = _records(monthly, "screening"), _total(monthly, "screening")
    responses = sum(r["respondents"] for r in rows)
    assert total["respondents"] <= STUDENTS < responses, "the same students took several instruments"
    assert total["proposed"] <= sum(r["proposed"] for r in rows)
    assert total["proposed"] == sum(total[f"proposed_{lv}"] for lv in WATCH_LEVELS)
    assert str(responses) in " ".join(monthly.sheet("screening").notes), "人次 are stated beside the persons"
    # Every overdue interview comes from a screening of the period, so the persons agree with the 逾期 sheet.
    overdue = {r["student_no"] for r in _records(monthly, "overdue") if r["task"] == "interview"}
    assert total["interviews_overdue"] == len(overdue) == _total(monthly, "summary_detail")["interviews_overdue"]


def test_census_breakdowns_add_up_and_use_the_roster(figures):
    for batch in figures["batches"]:
        report = figures["census"][batch["id"]]
        total = _total(report, "colleges")
        groups = report.sheet("groups")
        records = groups.records()
        bands = [c.key for c in groups.columns if c.key.startswith("band_")]
        for dimension in ("college", "gender", "grade"):
            rows = [r for r in records if r["dimension"] == dimension]
            assert sum(r["respondents"] for r in rows) == total["respondents"], (batch["name"], dimension)
            assert sum(r["positive"] for r in rows) == total["positive"], (batch["name"], dimension)
            assert all(sum(r[b] for b in bands) == r["respondents"] for r in rows)
        # Gender and grade come from the dossiers, even where the export (the 腾讯问卷 PHQ-9) had no such column.
        shown = {r["group"] for r in records if r["dimension"] in ("gender", "grade")}
        assert "（未填写）" not in shown and {"男", "女"} <= shown
        assert sum(r["positive"] for r in records if r["dimension"] == "college") == sum(r["positive"] for r in _records(report, "colleges"))
        # A band named 阳性 is headed as a band, never as 筛查阳性.
        assert [c.header_zh for c in groups.columns].count("筛查阳性") == 1
        assert all(c.header_zh.startswith("分级：") for c in groups.columns if c.key.startswith("band_"))
        band_counts = {c.key[len("band_"):]: sum(r[c.key] for r in records if r["dimension"] == "college") for c in groups.columns if c.key in bands}
        assert {k: v for k, v in band_counts.items() if v} == figures["batch_details"][batch["id"]]["bands"]


# -- the workbook says what the data says --------------------------------------------------------


def _sheet_table(ws) -> tuple[list[dict], dict]:
    """A report sheet's rows and total row as {header: value}, wherever the print frame put them."""
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r and r[0] == "学院")
    headers = rows[head]
    out, total = [], None
    for r in rows[head + 1 :]:
        if r[0] == "合计":
            total = dict(zip(headers, r))
            break
        out.append(dict(zip(headers, r)))
    return out, total


def test_the_weekly_workbook_holds_the_same_figures(figures):
    wb = openpyxl.load_workbook(figures["weekly_path"])
    report = figures["weekly"]
    rows, total = _sheet_table(wb["汇总"])
    assert [r["学院"] for r in rows] == [r["college"] for r in _records(report, "summary")]
    json_total = _total(report, "summary")
    assert (total["期末合计"], total["环比"], total["逾期任务"]) == (json_total["end_total"], json_total["change"], json_total["overdue_tasks"])
    # A summary narrow enough for one A4 landscape page; the rest is on 汇总(明细).
    assert len([h for h in rows[0] if h is not None]) == 12
    assert wb.sheetnames[:2] == ["汇总", "汇总(明细)"]
