from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mhtool.errors import EXIT_USAGE, UsageError
from mhtool.domain.periods import (
    Period,
    contains,
    explicit_range,
    last_complete_month,
    last_complete_week,
    month_of,
    months_back,
    parse_month,
    parse_week,
    resolve_period,
    week_of,
    weeks_in_year,
)


# --------------------------------------------------------------------------- ISO weeks


def test_week_47_of_2026_runs_monday_to_sunday():
    p = parse_week("2026-W47")
    assert (p.kind, p.start, p.end, p.label) == ("week", date(2026, 11, 16), date(2026, 11, 22), "2026-W47")
    assert p.start.weekday() == 0 and p.end.weekday() == 6
    assert p.days == 7


def test_week_one_of_2026_starts_in_december_2025():
    p = parse_week("2026-W01")
    assert p.start == date(2025, 12, 29)
    assert p.end == date(2026, 1, 4)


def test_2020_has_a_week_53_that_ends_in_2021():
    p = parse_week("2020-W53")
    assert p.start == date(2020, 12, 28)
    assert p.end == date(2021, 1, 3)
    assert p.label == "2020-W53"


def test_week_53_of_a_52_week_year_is_refused():
    assert weeks_in_year(2025) == 52
    with pytest.raises(UsageError) as e:
        parse_week("2025-W53")
    assert "--week" in e.value.message
    assert "W52" in e.value.message
    assert "2026-W47" in e.value.hint


@pytest.mark.parametrize("text", ["2026-W00", "2026-W54", "2026-W99", "2026-47", "W47", "2026-W", "", "next week", "26-W47"])
def test_malformed_or_impossible_weeks_are_usage_errors_naming_the_flag(text):
    with pytest.raises(UsageError) as e:
        parse_week(text)
    assert e.value.message.startswith("--week")
    assert e.value.exit_code == EXIT_USAGE
    assert "YYYY-Www" in e.value.hint


@pytest.mark.parametrize("text", ["2026W47", "2026-w47", " 2026-W47 ", "2026年第47周"])
def test_week_spellings_accepted(text):
    assert parse_week(text).label == "2026-W47"


def test_iso_year_differs_from_calendar_year_at_both_ends():
    # 2027-01-01 is a Friday in ISO week 53 of 2026; 2024-12-30 is in 2025-W01.
    assert week_of(date(2027, 1, 1)).label == "2026-W53"
    assert week_of(date(2024, 12, 30)).label == "2025-W01"
    assert week_of(date(2024, 12, 29)).label == "2024-W52"


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1900, 1, 8), max_value=date(2100, 12, 20)))
def test_every_day_lies_in_the_week_its_label_names(d):
    w = week_of(d)
    assert contains(w, d)
    assert w.start.weekday() == 0 and w.days == 7
    assert parse_week(w.label) == w


# --------------------------------------------------------------------------- months


@pytest.mark.parametrize(
    "text,end",
    [
        ("2026-11", date(2026, 11, 30)),
        ("2026-12", date(2026, 12, 31)),
        ("2024-02", date(2024, 2, 29)),
        ("2026-02", date(2026, 2, 28)),
        ("2000-02", date(2000, 2, 29)),
        ("1900-02", date(1900, 2, 28)),
    ],
)
def test_month_lengths_including_february(text, end):
    p = parse_month(text)
    assert p.start == end.replace(day=1)
    assert p.end == end
    assert p.label == text


@pytest.mark.parametrize("text", ["2026-11", "2026/11", " 2026-11 ", "2026年11月"])
def test_month_spellings_accepted(text):
    assert parse_month(text).label == "2026-11"


def test_single_digit_month_gets_a_two_digit_label():
    assert parse_month("2026-1").label == "2026-01"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "202611", "11-2026", "2026-W47", "Nov 2026", ""])
def test_bad_months_name_the_flag_and_the_form(text):
    with pytest.raises(UsageError) as e:
        parse_month(text)
    assert e.value.message.startswith("--month")
    assert "YYYY-MM" in e.value.hint


# --------------------------------------------------------------------------- ranges


def test_explicit_range_is_inclusive_and_labelled():
    p = explicit_range(date(2026, 11, 1), date(2026, 11, 15))
    assert p.label == "2026-11-01..2026-11-15"
    assert p.days == 15
    assert contains(p, date(2026, 11, 1)) and contains(p, date(2026, 11, 15))
    assert not contains(p, date(2026, 10, 31)) and not contains(p, date(2026, 11, 16))


def test_one_day_range_is_allowed():
    assert explicit_range(date(2026, 11, 1), date(2026, 11, 1)).days == 1


def test_backwards_range_names_both_flags():
    with pytest.raises(UsageError) as e:
        explicit_range(date(2026, 11, 15), date(2026, 11, 1))
    assert "--from" in e.value.message and "--to" in e.value.message


def test_period_refuses_inverted_or_datetime_bounds():
    with pytest.raises(ValueError):
        Period("range", date(2026, 2, 2), date(2026, 2, 1), "x")
    with pytest.raises(TypeError):
        Period("range", datetime(2026, 2, 1), date(2026, 2, 2), "x")
    with pytest.raises(ValueError):
        Period("year", date(2026, 1, 1), date(2026, 12, 31), "2026")


def test_contains_takes_naive_datetimes_as_wall_clock_and_refuses_aware_ones():
    p = parse_week("2026-W47")
    assert contains(p, datetime(2026, 11, 22, 23, 59))
    assert not contains(p, datetime(2026, 11, 23, 0, 0))
    assert date(2026, 11, 16) in p
    with pytest.raises(TypeError):
        contains(p, datetime(2026, 11, 20, tzinfo=timezone.utc))


# --------------------------------------------------------------------------- last complete week / month


@pytest.mark.parametrize(
    "today,label",
    [
        (date(2026, 11, 23), "2026-W47"),  # Monday: the week that ended yesterday
        (date(2026, 11, 22), "2026-W46"),  # Sunday: today is not over, so the week before
        (date(2026, 11, 25), "2026-W47"),  # Wednesday
        (date(2026, 1, 1), "2025-W52"),  # Thursday inside 2026-W01
        (date(2026, 1, 5), "2026-W01"),  # first Monday after 2026-W01
        (date(2021, 1, 4), "2020-W53"),  # Monday after a 53rd week
        (date(2021, 1, 3), "2020-W52"),  # Sunday that ends 2020-W53
    ],
)
def test_last_complete_week(today, label):
    p = last_complete_week(today)
    assert p.label == label
    assert p.end < today
    assert (today - p.end).days <= 7


@pytest.mark.parametrize(
    "today,label",
    [
        (date(2026, 11, 1), "2026-10"),
        (date(2026, 11, 30), "2026-10"),  # last day of a month is not yet over
        (date(2026, 1, 1), "2025-12"),  # Jan 1 looks back across the year
        (date(2024, 3, 1), "2024-02"),
        (date(2026, 3, 31), "2026-02"),
    ],
)
def test_last_complete_month(today, label):
    p = last_complete_month(today)
    assert p.label == label
    assert p.end == today.replace(day=1) - timedelta(days=1)


def test_last_complete_month_on_a_leap_year_march_ends_on_the_29th():
    assert last_complete_month(date(2024, 3, 15)).end == date(2024, 2, 29)


# --------------------------------------------------------------------------- months back


def test_six_months_back_across_a_year_boundary_oldest_first():
    labels = [p.label for p in months_back(parse_month("2026-02"), 6)]
    assert labels == ["2025-09", "2025-10", "2025-11", "2025-12", "2026-01", "2026-02"]


def test_months_back_from_text_date_and_week():
    assert [p.label for p in months_back("2026-11", 2)] == ["2026-10", "2026-11"]
    assert [p.label for p in months_back(date(2026, 3, 31), 1)] == ["2026-03"]
    # A week that ends in the next month counts towards the month it ends in.
    assert months_back(parse_week("2026-W01"), 1)[0].label == "2026-01"


def test_months_back_are_contiguous_and_complete():
    months = months_back("2024-03", 13)
    assert months[0].label == "2023-03" and months[-1].label == "2024-03"
    for a, b in zip(months, months[1:]):
        assert b.start == a.end + timedelta(days=1)
    assert sum(m.days for m in months) == (months[-1].end - months[0].start).days + 1


def test_months_back_needs_at_least_one():
    with pytest.raises(ValueError):
        months_back("2026-11", 0)


def test_month_of():
    assert month_of(date(2024, 2, 10)).end == date(2024, 2, 29)


# --------------------------------------------------------------------------- resolve_period


TODAY = date(2026, 11, 25)  # a Wednesday


def test_defaults_by_kind():
    assert resolve_period("weekly", today=TODAY).label == "2026-W47"
    assert resolve_period("week", today=TODAY).label == "2026-W47"
    assert resolve_period("monthly", today=TODAY).label == "2026-10"
    with pytest.raises(UsageError) as e:
        resolve_period("range", today=TODAY)
    assert "--from" in e.value.hint


def test_each_flag_gives_its_period():
    assert resolve_period("weekly", week="2026-W40", today=TODAY).label == "2026-W40"
    assert resolve_period("weekly", month="2026-09", today=TODAY).label == "2026-09"
    p = resolve_period("monthly", date_from="2026-11-01", date_to="2026/11/15", today=TODAY)
    assert (p.kind, p.start, p.end) == ("range", date(2026, 11, 1), date(2026, 11, 15))
    p = resolve_period("monthly", date_from=date(2026, 11, 1), date_to=date(2026, 11, 2), today=TODAY)
    assert p.label == "2026-11-01..2026-11-02"


def test_from_alone_runs_to_today():
    p = resolve_period("weekly", date_from="2026-11-20", today=TODAY)
    assert p.end == TODAY


def test_blank_flags_count_as_absent():
    assert resolve_period("weekly", week="", month=None, date_from="  ", today=TODAY).label == "2026-W47"


@pytest.mark.parametrize(
    "flags,named",
    [
        (dict(week="2026-W40", month="2026-09"), ("--week", "--month")),
        (dict(week="2026-W40", date_from="2026-11-01"), ("--week", "--from")),
        (dict(month="2026-09", date_to="2026-11-01"), ("--month", "--to")),
    ],
)
def test_conflicting_flags_are_named(flags, named):
    with pytest.raises(UsageError) as e:
        resolve_period("weekly", today=TODAY, **flags)
    for flag in named:
        assert flag in e.value.message


def test_to_without_from():
    with pytest.raises(UsageError) as e:
        resolve_period("weekly", date_to="2026-11-01", today=TODAY)
    assert "--to needs --from" in e.value.message


def test_unreadable_from_is_a_usage_error_naming_it():
    with pytest.raises(UsageError) as e:
        resolve_period("weekly", date_from="first of november", today=TODAY)
    assert e.value.message.startswith("--from")


def test_inverted_range_through_resolve():
    with pytest.raises(UsageError) as e:
        resolve_period("weekly", date_from="2026-11-15", date_to="2026-11-01", today=TODAY)
    assert "--from" in e.value.message and "--to" in e.value.message


def test_periods_that_have_not_begun_are_refused_but_the_current_one_is_allowed():
    with pytest.raises(UsageError) as e:
        resolve_period("weekly", week="2026-W49", today=TODAY)
    assert "--week" in e.value.message and "not begun" in e.value.message
    with pytest.raises(UsageError):
        resolve_period("monthly", month="2026-12", today=TODAY)
    with pytest.raises(UsageError):
        resolve_period("weekly", date_from="2026-12-01", today=TODAY)
    assert resolve_period("weekly", week="2026-W48", today=TODAY).end > TODAY
    assert resolve_period("monthly", month="2026-11", today=TODAY).label == "2026-11"


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        resolve_period("yearly", today=TODAY)


def test_describe_and_to_dict():
    p = parse_week("2026-W47")
    assert p.describe("zh") == "2026年第47周（2026-11-16 至 2026-11-22）"
    assert p.describe("en") == "2026-W47 (2026-11-16 to 2026-11-22)"
    assert parse_month("2026-11").describe("zh").startswith("2026年11月")
    assert p.to_dict() == {"kind": "week", "label": "2026-W47", "start": "2026-11-16", "end": "2026-11-22"}
