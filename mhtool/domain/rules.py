"""Every deadline and cadence of the center's routine, defined once in ``rules.toml`` beside this file.

Import, dossiers, referrals, reports and help text all read these; a centre
that changes a rule changes the data file (or, for the follow-up cadence, the
store's settings with ``mhtool cases cadence``).
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path

_RULES = tomllib.loads((Path(__file__).with_name("rules.toml")).read_text("utf-8"))

# 约谈: a screening proposal asks for an interview within these many days.
INTERVIEW_DUE_DAYS: dict[str, int] = dict(_RULES["interview_due_days"])
# 回访: the default follow-up cadence per confirmed level (days between contacts).
DEFAULT_CADENCE: dict[str, int] = dict(_RULES["follow_up_cadence_days"])
# 复学评估: reviews after a return from leave, days after the return.
RETURN_REVIEW_DAYS: tuple[int, ...] = tuple(_RULES["return"]["review_days"])
# A contact this many days before a return review is due counts as that review.
REVIEW_WINDOW_DAYS: int = _RULES["return"]["review_window_days"]
# 转介: a referral not attended after this many days needs attention.
REFERRAL_ATTEND_DAYS: int = _RULES["referral"]["attend_within_days"]
# 转介/危机: the guardian (家长) is informed within this many hours.
GUARDIAN_NOTICE_HOURS: int = _RULES["referral"]["guardian_notice_hours"]
GUARDIAN_NOTICE = timedelta(hours=GUARDIAN_NOTICE_HOURS)


def interview_due(level: str | None, screened_on: date) -> date | None:
    """When the interview a screening proposal asks for is due; None when it asks for none."""
    days = INTERVIEW_DUE_DAYS.get(level or "none")
    return None if days is None else screened_on + timedelta(days=days)


def follow_up_due(level: str | None, last_contact: date, cadence: dict[str, int] | None = None) -> date | None:
    """When the next follow-up of a watched student is due; None when not watched."""
    days = (cadence or DEFAULT_CADENCE).get(level or "none")
    return None if days is None else last_contact + timedelta(days=days)


def referral_attend_by(referred_on: date) -> date:
    return referred_on + timedelta(days=REFERRAL_ATTEND_DAYS)


def guardian_notice_by(happened_at: datetime) -> datetime:
    return happened_at + GUARDIAN_NOTICE


def days_overdue(due: date | None, today: date) -> int:
    """Whole days an open task is past ``due`` on ``today`` (0 when not yet due, or no due date).

    Overdue means open and past its due date, for every kind of task.
    """
    return max(0, (today - due).days) if due else 0


def cadence_text(cadence: dict[str, int] | None = None) -> str:
    """The cadence as help text says it: ``red 7 days, orange 14, yellow 30``."""
    c = {**DEFAULT_CADENCE, **(cadence or {})}
    return f"red every {c['red']} days, orange {c['orange']}, yellow {c['yellow']}"
