"""多源预警 domain: facts merging, grades, and every rule at its boundaries (plain data, no store).

The command-line tests (real exports imported through `mhtool signals import`) live
beside this file; these pin the definitions themselves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from datetime import date, timedelta

import pytest

from mhtool.errors import EXIT_INVALID_INPUT, InvalidInput
from mhtool.signals.domain import facts as F
from mhtool.signals.domain import rules as R
from mhtool.signals.domain.facts import StudentContext

AS_OF = date(2026, 11, 29)


def day(offset: int, base: date = AS_OF) -> str:
    """The ISO day ``offset`` days from the as-of day (0 = the as-of day, -1 = the day before)."""
    return (base + timedelta(days=offset)).isoformat()


def hits_of(code: str, student_facts: dict, ctx: StudentContext | None = None, as_of=AS_OF, rules=None) -> list:
    return [h for h in R.evaluate(rules, student_facts, ctx, as_of) if h.rule == code]


def override(doc: dict) -> R.RuleSet:
    return R.rules_in_force(doc)


# --------------------------------------------------------------------------- facts


def test_merge_replaces_the_nights_a_new_file_covers_and_keeps_the_rest():
    stored = {"nights": {"2026-11-10": 1, "2026-11-11": 0, "2026-11-12": 1, "2026-11-20": 1}}
    new = {"nights": {"2026-11-12": 0, "2026-11-13": 1}}
    merged = F.merge("dorm", stored, new, "2026-11-11", "2026-11-13")
    # 11-11 was covered by the new file but the person is not judged there any more: dropped.
    assert merged == {"nights": {"2026-11-10": 1, "2026-11-12": 0, "2026-11-13": 1, "2026-11-20": 1}}
    assert F.merge("dorm", merged, new, "2026-11-11", "2026-11-13") == merged  # idempotent
    assert stored["nights"]["2026-11-12"] == 1  # inputs are not changed


def test_merge_card_days_latest_import_wins_and_empty_period_lays_over():
    stored = {"days": {"2026-11-01": [3, 3000], "2026-11-02": [2, 1800]}}
    merged = F.merge("card", stored, {"days": {"2026-11-02": [1, 900]}}, "2026-11-02", "2026-11-02")
    assert merged == {"days": {"2026-11-01": [3, 3000], "2026-11-02": [1, 900]}}
    assert F.merge("card", None, {"days": {"2026-11-03": (2, 10)}}, None, None) == {"days": {"2026-11-03": [2, 10]}}
    assert F.merge("card", stored, None, None, None) == stored


def test_merge_academic_results_by_term_course_and_kind():
    a = {"term": "2025-2026-1", "course": "高等数学", "credits": 5.0, "score": "58", "passed": False, "kind": "正常"}
    a_retake = {**a, "score": "62", "passed": True, "kind": "补考"}
    b = {"term": "2024-2025-2", "course": "大学英语", "credits": 3.0, "score": "80", "passed": True, "kind": "正常"}
    merged = F.merge("academic", {"courses": [a]}, {"courses": [a_retake, b]}, None, None)
    assert merged["courses"] == [b, a, a_retake]  # term order, then course and kind
    corrected = {**a, "score": "59"}
    again = F.merge("academic", merged, {"courses": [corrected]}, None, None)
    assert len(again["courses"]) == 3 and corrected in again["courses"] and a not in again["courses"]
    assert F.merge("academic", again, {"courses": [corrected]}, None, None) == again


def test_merge_rejects_an_unknown_source():
    with pytest.raises(ValueError, match="gate"):
        F.merge("gate", {}, {}, None, None)


def test_prune_drops_days_before_the_cutoff_only():
    nights = {"nights": {"2026-06-30": 1, "2026-07-01": 0, "2026-07-02": 1}}
    assert F.prune("dorm", nights, date(2026, 7, 1)) == {"nights": {"2026-07-01": 0, "2026-07-02": 1}}
    school = {"days": {"2026-06-30": 1200, "2026-07-01": 1300}}
    assert F.prune("card", school, "2026-07-01") == {"days": {"2026-07-01": 1300}}
    courses = {"courses": [{"term": "2020-2021-1", "course": "体育", "credits": 1, "score": "优", "passed": True, "kind": "正常"}]}
    assert F.prune("academic", courses, date(2026, 7, 1)) == courses
    assert F.is_empty("dorm", F.prune("dorm", nights, date(2027, 1, 1)))
    assert not F.is_empty("academic", courses)


@pytest.mark.parametrize("score", ["60", "60.0", "100", "８５", 60, 75.5, "优", "优秀", "良", "良好", "中", "中等", "及格", "合格", "通过", " 及格 "])
def test_passing_grades(score):
    assert F.passed(score) is True


@pytest.mark.parametrize("score", ["59.9", "0", 59, "58", "不及格", "不合格", "缺考", "作弊", "不通过", "旷考"])
def test_failing_grades(score):
    assert F.passed(score) is False


@pytest.mark.parametrize("score", ["缓考", "", "A+", "-5", None, float("nan"), True])
def test_a_value_that_is_no_grade_is_named(score):
    with pytest.raises(ValueError) as err:
        F.passed(score)
    assert repr(score) in str(err.value)


def test_canteens_are_told_from_other_places():
    for place in ("一食堂", "清真餐厅", "学生饭堂", "Ｎorth Canteen", "二 食 堂"):
        assert F.is_canteen(place), place
    for place in ("校园超市", "浴室", "打印店", "圈存机", "", None):
        assert not F.is_canteen(place), place


def test_terms_sort_in_the_order_they_follow_each_other():
    terms = ["2026-2027-1", "2025-2026-2", "2025-2026-1", "2024-2025学年第二学期"]
    assert sorted(terms, key=F.term_key) == ["2024-2025学年第二学期", "2025-2026-1", "2025-2026-2", "2026-2027-1"]
    assert F.term_key("2025-2026学年第一学期") < F.term_key("2025-2026学年第二学期")


# --------------------------------------------------------------------------- the rules file


def test_the_built_in_rules_define_every_rule_with_names_and_sentences():
    rules = R.default_rules()
    assert list(rules) == ["dorm_out", "meals_drop", "hidden_hardship", "first_fail", "academic_warning", "credits_short"]
    assert {r.code: r.source for r in rules.values()} == {
        "dorm_out": "dorm", "meals_drop": "card", "hidden_hardship": "card",
        "first_fail": "academic", "academic_warning": "academic", "credits_short": "academic",
    }
    assert rules["dorm_out"].window_days == 7 and rules["dorm_out"].params["threshold"] == 2
    assert rules["meals_drop"].params == {"window_days": 14, "baseline_blocks": 4, "below_percent": 40}
    assert rules["hidden_hardship"].params == {"window_days": 30, "min_meals": 40, "below_percent": 45}
    assert rules["academic_warning"].params == {"threshold": 10}
    assert rules["credits_short"].params == {"credits_required": 160}
    assert rules["first_fail"].window_days is None
    assert rules["dorm_out"].label("zh") == "未归寝" and rules["dorm_out"].label("en") == "nights out"
    assert all(r.enabled and r.review_days >= 0 for r in rules.values())


def test_the_rules_in_force_print_as_a_file_that_reads_back_the_same():
    rules = override({"dorm_out": {"threshold": 3}})
    assert R.parse_rules(tomllib.loads(rules.as_toml()), "copy.toml") == rules
    listed = rules.as_list()
    assert listed[0]["code"] == "dorm_out" and listed[0]["threshold"] == 3 and listed[0]["explain"]


def test_an_override_replaces_only_the_keys_it_gives():
    rules = override({"dorm_out": {"threshold": 3, "explain": "{count} 晚未归：{nights}"}, "credits_short": {"enabled": False}})
    base = R.default_rules()
    assert rules["dorm_out"].params == {"window_days": 7, "threshold": 3}
    assert rules["dorm_out"].explain == "{count} 晚未归：{nights}"
    assert rules["dorm_out"].explain_en == base["dorm_out"].explain_en
    assert rules["meals_drop"] == base["meals_drop"]
    assert not rules["credits_short"].enabled
    assert R.rules_in_force(None) == base and R.rules_in_force({}) == base


def test_a_store_override_file_is_read_and_kept_as_a_plain_document(tmp_path):
    path = tmp_path / "我校预警规则.toml"
    path.write_text('[dorm_out]\nthreshold = 3\n\n[academic_warning]\nthreshold = 8.5\n', "utf-8")
    doc = R.read_override(path)
    assert doc == {"dorm_out": {"threshold": 3}, "academic_warning": {"threshold": 8.5}}
    assert R.rules_in_force(doc)["academic_warning"].params["threshold"] == 8.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[dorm_in]\nthreshold = 2\n", "dorm_in: unknown key"),
        ("[dorm_out]\nthreshhold = 2\n", "dorm_out.threshhold: unknown key (allowed here: name, name_en, source, enabled, review_days, window_days, threshold, explain, explain_en)"),
        ('[dorm_out]\nthreshold = "2"\n', "dorm_out.threshold: must be an integer, not a string"),
        ("[dorm_out]\nthreshold = 0\n", "dorm_out.threshold: 0 is below 1"),
        ("[dorm_out]\nthreshold = 8\n", "dorm_out.threshold: 8 nights do not fit in window_days = 7"),
        ("[dorm_out]\nwindow_days = 1\n", "dorm_out.threshold: 2 nights do not fit in window_days = 1"),
        ("[meals_drop]\nbelow_percent = 0\n", "meals_drop.below_percent: 0 must be above 0"),
        ("[meals_drop]\nbelow_percent = 140\n", "meals_drop.below_percent: 140 is above 100"),
        ("[meals_drop]\nbelow_percent = true\n", "meals_drop.below_percent: must be a number, not a boolean"),
        ("[hidden_hardship]\nmin_meals = 40.5\n", "hidden_hardship.min_meals: must be an integer, not a float"),
        ('[hidden_hardship]\nsource = "dorm"\n', "hidden_hardship.source: this rule reads card facts, not 'dorm'"),
        ('[first_fail]\nenabled = "no"\n', "first_fail.enabled: must be true or false, not a string"),
        ("[first_fail]\nwindow_days = 7\n", "first_fail.window_days: unknown key"),
        ('[academic_warning]\nname = ""\n', "academic_warning.name: must be a non-empty string"),
        ("[academic_warning]\nreview_days = -1\n", "academic_warning.review_days: -1 is below 0"),
        ('[credits_short]\nexplain = "尚差 {missing} 学分"\n', "credits_short.explain: unknown field {missing} (fields here: {earned} {required} {short})"),
        ('[credits_short]\nexplain_en = "short by {short:.1f}"\n', "credits_short.explain_en: write the field as {short}, without a format or conversion"),
        ('[credits_short]\nexplain = "尚差 {short 学分"\n', "credits_short.explain: not a valid sentence template"),
        ('dorm_out = 3\n', "dorm_out: must be a table, not an integer"),
    ],
)
def test_a_bad_override_file_is_refused_naming_the_file_rule_and_key(tmp_path, text, expected):
    path = tmp_path / "rules.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(InvalidInput) as err:
        R.read_override(path)
    assert str(err.value).startswith(f"{path}: ")
    assert expected in str(err.value)
    assert err.value.exit_code == EXIT_INVALID_INPUT
    assert "mhtool signals rules" in err.value.hint


def test_a_complete_rules_file_must_define_every_rule_and_key(tmp_path):
    doc = tomllib.loads(R.BUILTIN_PATH.read_text("utf-8"))
    del doc["meals_drop"]["baseline_blocks"]
    path = tmp_path / "full.toml"
    path.write_text(R.RuleSet([]).as_toml(), "utf-8")
    with pytest.raises(R.RuleDefinitionError, match="dorm_out: is required"):
        R.load_rules(path)
    with pytest.raises(R.RuleDefinitionError, match=r"full\.toml: meals_drop\.baseline_blocks: is required"):
        R.parse_rules(doc, "full.toml")


def test_an_unreadable_or_malformed_rules_file_is_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[dorm_out\nthreshold = 3\n", "utf-8")
    with pytest.raises(InvalidInput, match=r"bad\.toml: not valid TOML"):
        R.read_override(bad)
    with pytest.raises(InvalidInput, match=r"missing\.toml: cannot read"):
        R.read_override(tmp_path / "missing.toml")


def test_a_store_setting_that_went_bad_names_the_setting():
    with pytest.raises(InvalidInput, match=r"^signal_rules: dorm_out\.threshold: must be an integer"):
        R.rules_in_force({"dorm_out": {"threshold": "two"}})
    with pytest.raises(InvalidInput, match=r"^signal_rules: must be a table"):
        R.rules_in_force(["dorm_out"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- 未归寝


def nights(*out: int, judged_in: tuple[int, ...] = ()) -> dict:
    """Dorm facts: nights out at the given offsets from the as-of day, nights in at ``judged_in``."""
    return {"dorm": {"nights": {**{day(o): 0 for o in judged_in}, **{day(o): 1 for o in out}}}}


def test_dorm_exactly_threshold_nights_is_a_hit_dated_the_last_night():
    [hit] = hits_of("dorm_out", nights(-5, -2, judged_in=(-4, -3, -1, 0)))
    assert hit.source == "dorm" and hit.on == day(-2)
    assert hit.facts == {"nights": [day(-5), day(-2)], "count": 2, "window": [day(-6), day(0)], "threshold": 2, "left_out": []}
    assert hit.explanation == f"{day(-6)} 至 {day(0)} 的 7 天内有 2 晚未归寝：{day(-5)}、{day(-2)}"
    assert hit.explanation_en == f"Away from the dormitory on 2 of the 7 nights {day(-6)} to {day(0)}: {day(-5)}, {day(-2)}"


def test_dorm_one_night_short_is_no_hit():
    assert hits_of("dorm_out", nights(-2, judged_in=(-1, 0))) == []


def test_dorm_counts_only_the_seven_nights_ending_on_the_as_of_day():
    assert hits_of("dorm_out", nights(-7, -1)) == []  # 7 days before is outside the window
    assert hits_of("dorm_out", nights(-6, -1)) != []  # the first day of the window counts
    assert hits_of("dorm_out", nights(1, 0)) == []  # a night after the as-of day is not yet known


def test_dorm_a_night_on_leave_is_left_out():
    away = StudentContext(away_days=frozenset({day(-3)}))
    assert hits_of("dorm_out", nights(-3, -1), away) == []
    [hit] = hits_of("dorm_out", nights(-4, -3, -1), away)
    assert hit.facts["nights"] == [day(-4), day(-1)] and hit.facts["left_out"] == [day(-3)]


def test_dorm_threshold_follows_the_rules_in_force():
    rules = override({"dorm_out": {"threshold": 3}})
    assert hits_of("dorm_out", nights(-5, -2), rules=rules) == []
    assert len(hits_of("dorm_out", nights(-5, -2, 0), rules=rules)) == 1
    off = override({"dorm_out": {"enabled": False}})
    assert hits_of("dorm_out", nights(-5, -2, 0), rules=off) == []


# --------------------------------------------------------------------------- 就餐骤减


def school(first: int, last: int = 0, median_cents=1200) -> dict:
    """The school's card data covering the days ``first``…``last`` (offsets from the as-of day)."""
    return {"days": {day(o): median_cents for o in range(first, last + 1)}}


def meals_facts(window: int, baseline: list[int]) -> dict:
    """Card facts: ``window`` meals in the 14 days ending on the as-of day, ``baseline`` per earlier block (nearest first).

    Each block's meals are put on its last day; the other days have no fact (= 0 meals).
    """
    days: dict[str, list[int]] = {}
    for i, count in enumerate([window, *baseline]):
        if count:
            days[day(-14 * i)] = [count, count * 1200]
    return {"card": {"days": days}}


COVERED = StudentContext(school_card=school(-69))  # 5 blocks of 14 days ending on the as-of day


def test_meals_exactly_40_percent_of_the_median_is_no_hit_just_below_is():
    assert hits_of("meals_drop", meals_facts(8, [20, 20, 20, 20]), COVERED) == []
    [hit] = hits_of("meals_drop", meals_facts(7, [20, 20, 20, 20]), COVERED)
    assert hit.on == day(0) and hit.source == "card"
    assert hit.facts["window"] == [day(-13), day(0)]
    assert hit.facts["meals"] == 7 and hit.facts["median"] == 20 and hit.facts["percent"] == 35.0
    assert [b["meals"] for b in hit.facts["baseline"]] == [20, 20, 20, 20]
    assert hit.facts["baseline"][0] == {"first": day(-69), "last": day(-56), "meals": 20}
    assert hit.facts["baseline"][-1] == {"first": day(-27), "last": day(-14), "meals": 20}
    assert hit.explanation == (
        f"{day(-13)} 至 {day(0)} 的 14 天内食堂就餐 7 次，仅为此前（{day(-69)} 至 {day(-14)}）"
        "每 14 天就餐次数中位数 20 次的 35.0%，低于 40%"
    )
    assert "7 canteen meals" in hit.explanation_en and "median of 20 meals" in hit.explanation_en


def test_meals_the_median_of_four_blocks_is_the_mean_of_the_middle_two():
    # median of 10, 15, 30, 40 = 22.5; 40 % of it = 9
    assert hits_of("meals_drop", meals_facts(9, [40, 10, 30, 15]), COVERED) == []
    [hit] = hits_of("meals_drop", meals_facts(8, [40, 10, 30, 15]), COVERED)
    assert hit.facts["median"] == 22.5 and "22.5" in hit.explanation
    assert hit.facts["percent"] == 35.5  # 8 / 22.5 = 35.55… rounded down


def test_meals_no_baseline_no_hit():
    # the card data starts one day too late for the fourth baseline block
    short = StudentContext(school_card=school(-68))
    assert hits_of("meals_drop", meals_facts(0, [20, 20, 20, 20]), short) == []
    # a gap in the school's data inside the baseline
    gap = school(-69)
    del gap["days"][day(-30)]
    assert hits_of("meals_drop", meals_facts(0, [20, 20, 20, 20]), StudentContext(school_card=gap)) == []
    # the as-of day beyond the data: the window is not covered
    assert hits_of("meals_drop", meals_facts(0, [20, 20, 20, 20]), StudentContext(school_card=school(-69, -1))) == []
    # no school data at all
    assert hits_of("meals_drop", meals_facts(0, [20, 20, 20, 20]), StudentContext()) == []
    # a student who never ate in the canteens has a median of 0: nothing dropped
    assert hits_of("meals_drop", {"card": {"days": {day(-100): [1, 500]}}}, COVERED) == []


def test_meals_no_meals_at_all_in_the_window_is_a_hit():
    [hit] = hits_of("meals_drop", meals_facts(0, [20, 20, 20, 20]), COVERED)
    assert hit.facts["meals"] == 0 and hit.facts["percent"] == 0.0


def test_meals_a_day_away_in_the_window_or_the_baseline_leaves_the_rule_out():
    for away in (day(-3), day(-40)):
        ctx = StudentContext(away_days=frozenset({away}), school_card=school(-69))
        assert hits_of("meals_drop", meals_facts(0, [20, 20, 20, 20]), ctx) == []


def test_meals_threshold_follows_the_rules_in_force():
    rules = override({"meals_drop": {"below_percent": 50}})
    assert len(hits_of("meals_drop", meals_facts(9, [20, 20, 20, 20]), COVERED, rules=rules)) == 1
    assert hits_of("meals_drop", meals_facts(10, [20, 20, 20, 20]), COVERED, rules=rules) == []


# --------------------------------------------------------------------------- 隐性困难


def card_month(meals: int, spend_cents: int, days: int = 30) -> dict:
    """``meals`` canteen meals costing ``spend_cents`` in all, spread over the last ``days`` days."""
    out: dict[str, list[int]] = {}
    for i in range(meals):
        d = day(-(i % days))
        out.setdefault(d, [0, 0])[0] += 1
    # all the spend on the as-of day's entry, the rest on no other day: only the totals matter
    for d in out:
        out[d][1] = 0
    out[day(0)][1] = spend_cents
    return {"card": {"days": out}}


SCHOOL_1500 = StudentContext(school_card={"days": {**{day(-o): 1000 for o in range(0, 15)}, **{day(-o): 2000 for o in range(15, 30)}, day(-30): 1}})


def test_hardship_at_exactly_45_percent_is_no_hit_just_below_is():
    # school median of daily medians over the 30 days: (1000 + 2000) / 2 = 1500 cents; 45 % = 675 cents a meal
    assert hits_of("hidden_hardship", card_month(40, 40 * 675), SCHOOL_1500) == []
    [hit] = hits_of("hidden_hardship", card_month(40, 40 * 675 - 1), SCHOOL_1500)
    assert hit.on == day(0) and hit.source == "card"
    assert hit.facts == {
        "window": [day(-29), day(0)],
        "meals": 40,
        "spend_cents": 26999,
        "average_cents": 674.98,
        "school_median_cents": 1500,
        "school_days": 30,
        "percent": 44.9,
        "below_percent": 45,
        "min_meals": 40,
    }
    assert "平均每餐 6.75 元" in hit.explanation and "中位数 15.00 元" in hit.explanation
    assert "隐性资助" in hit.explanation and "资助" in hit.explanation and "不是心理状况判断" in hit.explanation
    assert "6.75 yuan per meal" in hit.explanation_en and "financial aid office" in hit.explanation_en


def test_hardship_needs_at_least_40_meals():
    assert hits_of("hidden_hardship", card_month(39, 39 * 300), SCHOOL_1500) == []
    assert len(hits_of("hidden_hardship", card_month(40, 40 * 300), SCHOOL_1500)) == 1


def test_hardship_counts_only_the_30_days_ending_on_the_as_of_day():
    facts = card_month(40, 40 * 300, days=30)
    facts["card"]["days"][day(-30)] = [5, 100]  # a day before the window: not counted
    assert hits_of("hidden_hardship", facts, SCHOOL_1500)[0].facts["meals"] == 40
    assert hits_of("hidden_hardship", card_month(40, 40 * 300, days=31), SCHOOL_1500) == []  # 39 inside


def test_hardship_without_school_data_in_the_window_is_no_hit():
    old = StudentContext(school_card={"days": {day(-40): 1500}})
    assert hits_of("hidden_hardship", card_month(60, 60 * 100), old) == []
    assert hits_of("hidden_hardship", card_month(60, 60 * 100), StudentContext()) == []


# --------------------------------------------------------------------------- academic


def course(term: str, name: str, score, credits: float = 3.0, kind: str = "正常") -> dict:
    return {"term": term, "course": name, "credits": credits, "score": str(score), "passed": F.passed(score), "kind": kind}


def academic(*courses: dict) -> dict:
    return {"academic": {"courses": list(courses)}}


T1, T2, T3 = "2025-2026-1", "2025-2026-2", "2026-2027-1"


def test_first_failed_course_is_a_hit_for_its_term():
    record = academic(course(T1, "大学英语", 80), course(T2, "高等数学", 58, 5.0), course(T2, "线性代数", 72))
    [hit] = hits_of("first_fail", record)
    assert hit.on == day(0) and hit.source == "academic"
    assert hit.facts == {"term": T2, "courses": [{"course": "高等数学", "credits": 5, "score": "58", "kind": "正常"}], "count": 1, "credits": 5}
    assert hit.explanation == f"{T2} 学期首次出现不及格课程 1 门，共 5 学分：高等数学（58）"
    assert hit.explanation_en == f"Courses failed for the first time, in term {T2}: 高等数学 (58) (5 credits)"


def test_first_fail_two_courses_in_the_same_term_are_one_first_failure():
    [hit] = hits_of("first_fail", academic(course(T1, "高等数学", 58, 5.0), course(T1, "大学物理", "不及格", 4.0)))
    assert hit.facts["count"] == 2 and hit.facts["credits"] == 9
    assert "高等数学（58）、大学物理（不及格）" in hit.explanation


def test_a_second_failed_course_in_a_later_term_is_not_a_first_failure():
    first = course(T1, "高等数学", 58, 5.0)
    assert len(hits_of("first_fail", academic(first))) == 1
    assert hits_of("first_fail", academic(first, course(T2, "大学物理", 40))) == []
    # the order the results arrive in does not matter
    assert hits_of("first_fail", academic(course(T3, "概率论", 30), first)) == []


def test_a_failed_retake_of_the_same_course_is_still_the_first_failure():
    record = academic(course(T1, "高等数学", 58, 5.0), course(T2, "高等数学", 45, 5.0, "补考"), course(T2, "大学英语", 90))
    [hit] = hits_of("first_fail", record)
    assert hit.facts["term"] == T1 and hit.facts["count"] == 1


def test_no_failed_course_no_first_fail():
    assert hits_of("first_fail", academic(course(T1, "高等数学", 60), course(T1, "体育", "及格", 1.0))) == []


def test_academic_warning_at_exactly_the_threshold_of_failed_credits():
    at = academic(course(T1, "高等数学", 50, 5.0), course(T1, "大学物理", 40, 5.0), course(T1, "大学英语", 90, 3.0))
    [hit] = hits_of("academic_warning", at)
    assert hit.facts["term"] == T1 and hit.facts["failed_credits"] == 10 and hit.facts["threshold"] == 10 and hit.facts["count"] == 2
    assert hit.explanation == f"{T1} 学期不及格课程 2 门，共 10 学分，达到学业预警线 10 学分：高等数学（50）、大学物理（40）"
    below = academic(course(T1, "高等数学", 50, 5.0), course(T1, "大学物理", 40, 4.5))
    assert hits_of("academic_warning", below) == []


def test_academic_warning_counts_a_course_once_and_a_passed_retake_clears_it():
    twice = academic(
        course(T1, "高等数学", 50, 5.0), course(T1, "高等数学", 30, 5.0, "补考"),
        course(T1, "大学物理", 40, 5.0), course(T1, "大学物理", 70, 5.0, "补考"),
        course(T1, "线性代数", 40, 3.0),
    )
    assert hits_of("academic_warning", twice) == []  # 5 + 3 failed credits; 大学物理 passed its 补考
    rules = override({"academic_warning": {"threshold": 8}})
    [hit] = hits_of("academic_warning", twice, rules=rules)
    assert hit.facts["failed_credits"] == 8 and [c["course"] for c in hit.facts["courses"]] == ["高等数学", "线性代数"]


def test_academic_warning_names_the_latest_term_at_the_threshold():
    record = academic(
        course(T1, "高等数学", 50, 6.0), course(T1, "大学物理", 40, 6.0),
        course(T2, "概率论", 50, 10.0), course(T3, "数据结构", 50, 4.0),
    )
    [hit] = hits_of("academic_warning", record)
    assert hit.facts["term"] == T2


def test_credits_short_only_in_the_final_year():
    passed_159_5 = academic(*[course(T1, f"课程{i}", 80, 10.0) for i in range(15)], course(T2, "毕业设计", 90, 9.5))
    final = StudentContext(final_year=True)
    [hit] = hits_of("credits_short", passed_159_5, final)
    assert hit.facts == {"earned": 159.5, "required": 160, "short": 0.5}
    assert hit.explanation == "毕业年级，已获学分 159.5，距毕业要求 160 学分尚差 0.5 学分"
    assert hit.explanation_en == "Final year: 159.5 credits earned, 0.5 short of the 160 required to graduate"
    assert hits_of("credits_short", passed_159_5, StudentContext(final_year=False)) == []
    enough = academic(*[course(T1, f"课程{i}", 80, 10.0) for i in range(16)])
    assert hits_of("credits_short", enough, final) == []


def test_credits_short_counts_each_passed_course_once_and_follows_the_store_requirement():
    record = academic(
        course(T1, "高等数学", 50, 5.0), course(T2, "高等数学", 61, 5.0, "补考"), course(T3, "高等数学", 90, 5.0, "重修"),
        course(T1, "大学英语", 80, 3.0),
    )
    [hit] = hits_of("credits_short", record, StudentContext(final_year=True, credits_required=8.5))
    assert hit.facts == {"earned": 8, "required": 8.5, "short": 0.5}
    assert hits_of("credits_short", record, StudentContext(final_year=True, credits_required=8)) == []
    rules = override({"credits_short": {"credits_required": 8}})
    assert hits_of("credits_short", record, StudentContext(final_year=True), rules=rules) == []


# --------------------------------------------------------------------------- evaluation


def test_evaluate_reads_only_the_sources_given_and_takes_the_day_as_text():
    everything = {
        **nights(-1, 0),
        **academic(course(T1, "高等数学", 50, 5.0), course(T1, "大学物理", 40, 5.0)),
    }
    hits = R.evaluate(R.default_rules(), everything, StudentContext(final_year=True), AS_OF.isoformat())
    assert [h.rule for h in hits] == ["dorm_out", "first_fail", "academic_warning", "credits_short"]
    assert R.evaluate(None, {}, None, AS_OF) == []
    assert [h.rule for h in R.evaluate(list(R.default_rules().values())[:1], everything, None, AS_OF)] == ["dorm_out"]
    assert all(set(h.as_dict()) == {"rule", "source", "on", "facts", "explanation", "explanation_en"} for h in hits)
    # cheap meals 15 to 28 days ago (42 of them, 3.00 yuan each), none in the last 14 days
    card_days = {day(-o): [3, 900] for o in range(14, 28)}
    card_days.update({day(-o): [42, 42 * 1200] for o in (41, 55, 69)})  # the older baseline blocks
    ctx = StudentContext(school_card=school(-69, 0, 1500), final_year=True)
    every = R.evaluate(None, {**everything, "card": {"days": card_days}}, ctx, AS_OF)
    assert [h.rule for h in every] == list(R.CODES)
    assert json.loads(json.dumps([h.as_dict() for h in every], ensure_ascii=False)) == [h.as_dict() for h in every]


def test_evaluation_is_the_same_whatever_the_reader_language(monkeypatch):
    record = nights(-1, 0)
    english = R.evaluate(None, record, None, AS_OF)
    monkeypatch.setenv("MHTOOL_LANG", "zh")
    assert R.evaluate(None, record, None, AS_OF) == english


def test_the_domain_loads_no_store_files_or_engines():
    code = (
        "import sys, mhtool.signals.domain.rules, mhtool.signals.domain.facts\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('duckdb', 'pandas', 'numpy', 'typer', 'rich', 'sqlite3')"
        " or m.startswith(('mhtool.store', 'mhtool.io', 'mhtool.app', 'mhtool.console'))]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
