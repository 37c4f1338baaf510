"""Flags at the edges of their types: numbers past any calendar or SQLite integer, dates past the
calendar, times no clock shows. Each is served or refused naming the flag; none is "unexpected"."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from mhtool.domain.dates import days_later, parse_date
from mhtool.errors import InvalidInput
from mhtool.network.domain.reports import parse_period

HUGE = "99999999999999999999"  # beyond SQLite's integers and Python's timedelta


def _calm(result) -> None:
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_days_later_stops_at_the_calendars_end():
    assert days_later(date(2026, 12, 1), 30) == date(2026, 12, 31)
    assert days_later(date(2026, 12, 1), 10**20) == date.max
    assert days_later(date.max - timedelta(days=1), 1) == date.max


@pytest.mark.parametrize("typed", ["-99999999999d", "+99999999999d", "+99999d"])
def test_a_relative_date_past_the_calendar_is_not_plausible(typed):
    with pytest.raises(InvalidInput) as refused:
        parse_date(typed, today=date(2026, 12, 1), option="--due")
    assert refused.value.message.startswith("--due: ") and "not a plausible date" in refused.value.message


def test_a_reporting_period_typed_as_a_date_past_the_calendar_is_no_period():
    assert parse_period("2026-11-25") == "2026-W48" and parse_period("2026-11-25", "month") == "2026-11"
    # 9999-12-31 is a placeholder; its ISO week would end in the year 10000.
    assert parse_period("9999-12-31") is None and parse_period("1899-12-31") is None


def test_due_within_any_number_of_days_lists_every_open_task(store_env):
    store_env.cli.ok("cases", "add", "2024010001", "--name", "林小雨", "--college", "法学院")
    for due in ("+3d", "+400d"):
        store_env.cli.ok("cases", "remind", "2024010001", "--due", due, "--note", "再约谈")
    every = json.loads(store_env.cli.ok("cases", "tasks", "--json").stdout)
    assert len(every) == 2
    for days in (HUGE, str(2**31), "100000000"):
        result = store_env.cli("cases", "tasks", "--due-within", days, "--json")
        _calm(result)
        assert result.exit_code == 0 and json.loads(result.stdout) == every
    assert len(json.loads(store_env.cli.ok("cases", "tasks", "--due-within", "30", "--json").stdout)) == 1


def test_audit_log_limit_beyond_sqlites_integers_shows_every_entry_and_a_negative_one_is_refused(store_env):
    every = json.loads(store_env.cli.ok("audit", "log", "--limit", "0", "--json").stdout)
    huge = store_env.cli("audit", "log", "--limit", HUGE, "--json")
    _calm(huge)
    # The log grows by the read of it: the entries before are all there, then that read.
    listed = json.loads(huge.stdout)
    assert huge.exit_code == 0 and listed[: len(every)] == every and len(listed) == len(every) + 1
    negative = store_env.cli("audit", "log", "--limit", "-1")
    assert negative.exit_code == 2 and "--limit" in negative.stderr


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["network", "missing", "--period", "9999-12-31"], "--period"),
        (["demo", "--students", "100001"], "--students"),
        (["cases", "remind", "2024010001", "--due", "-99999999999d", "--note", "再约谈"], "--due"),
        (["counseling", "book", "2024010001", "--at", "2026-12-03 24:00"], "--at"),
    ],
)
def test_values_past_the_calendar_or_the_demos_size_are_usage_errors(store_env, args, flag):
    result = store_env.cli(*args)
    _calm(result)
    assert result.exit_code == 2 and flag in result.stderr, result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["backup", "{long}"],
        ["export", "research", "--purpose", "研究", "--out", "{long}"],
        ["survey", "import", "{long}", "--instrument", "upi"],
    ],
)
def test_a_path_the_system_refuses_is_named_not_unexpected(store_env, tmp_path, args):
    long = str(tmp_path / ("档" * 200))  # 600 bytes: longer than any file name may be
    result = store_env.cli(*[a.replace("{long}", long) for a in args])
    _calm(result)
    assert result.exit_code == 1 and "cannot use " in result.stderr and "File name too long" in result.stderr, result.stderr
    # The path is shown by its two ends, not 600 bytes of it.
    assert str(tmp_path)[:20] in result.stderr and long not in result.stderr

