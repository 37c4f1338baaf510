"""Every deadline and cadence of the center's routine, defined once.

Import, dossiers, referrals, reports and help text all read these; a centre
that changes a rule changes it here (or, for the follow-up cadence, in the
store's settings with ``mhtool cases cadence``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

# 约谈: a screening proposal asks for an interview within these many days.
INTERVIEW_DUE_DAYS: dict[str, int] = {"red": 1, "orange": 7, "yellow": 14}
# 回访: the default follow-up cadence per confirmed level (days between contacts).
DEFAULT_CADENCE: dict[str, int] = {"red": 7, "orange": 14, "yellow": 30}
# 复学评估: reviews after a return from leave, days after the return.
RETURN_REVIEW_DAYS: tuple[int, ...] = (14, 30)
# A contact this many days before a return review is due counts as that review.
REVIEW_WINDOW_DAYS = 7
# 转介: a referral not attended after this many days needs attention.
REFERRAL_ATTEND_DAYS = 7
# 转介/危机: the guardian (家长) is informed within this many hours.
GUARDIAN_NOTICE_HOURS = 24
GUARDIAN_NOTICE = timedelta(hours=GUARDIAN_NOTICE_HOURS)


def interview_due(level: str | None, screened_on: date) -> date | None:
    """When the interview a screening proposal asks for is due; None when it asks for none."""
    days = INTERVIEW_DUE_DAYS.get(level or "none")
    return None if days is None else screened_on + timedelta(days=days)


def follow_up_due(level: str | None, last_contact: date, cadence: dict[str, int] | None = None) -> date | None:
    """When the next follow-up of a watched student is due; None when not watched."""
    days = (cadence or DEFAULT_CADENCE).get(level or "none")
    return None if days is None else last_contact + timedelta(days=days)


def return_reviews(returned_on: date) -> list[date]:
    return [returned_on + timedelta(days=d) for d in RETURN_REVIEW_DAYS]


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


def interview_due_text() -> str:
    d = INTERVIEW_DUE_DAYS
    return f"red within {d['red']} day, orange {d['orange']} days, yellow {d['yellow']} days"
