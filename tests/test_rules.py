"""Deadlines come from one data file, mhtool/domain/rules.toml, and every rule reads it."""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path

import mhtool.domain.rules as rules
from mhtool.cases.domain import model

TOML = tomllib.loads((Path(rules.__file__).with_name("rules.toml")).read_text("utf-8"))
DAY = date(2026, 11, 2)


def test_screening_interviews_are_due_as_the_data_file_says():
    for level, days in TOML["interview_due_days"].items():
        assert (model.interview_task(level, DAY)["due"] - DAY).days == days
    assert model.interview_task("none", DAY) is None


def test_follow_ups_and_referral_deadlines_follow_the_data_file():
    for level, days in TOML["follow_up_cadence_days"].items():
        assert (rules.follow_up_due(level, DAY) - DAY).days == days
    assert (rules.referral_attend_by(DAY) - DAY).days == TOML["referral"]["attend_within_days"]
    at = datetime(2026, 11, 2, 22, 50)
    assert (rules.guardian_notice_by(at) - at).total_seconds() == TOML["referral"]["guardian_notice_hours"] * 3600
    assert list(rules.RETURN_REVIEW_DAYS) == TOML["return"]["review_days"]


def test_overdue_means_open_and_past_due():
    assert rules.days_overdue(date(2026, 11, 1), date(2026, 11, 4)) == 3
    assert rules.days_overdue(date(2026, 11, 4), date(2026, 11, 4)) == 0
    assert rules.days_overdue(None, date(2026, 11, 4)) == 0
