"""What the rules need to know about a student besides the facts, read from the dossier.

* **Days away** (休学): every day of a leave recorded with `mhtool cases status
  leave` (a ``status_change`` entry to ``leave``), from its ``from_date`` to its
  ``until`` or, when the student came back (or left the school) earlier, to the
  day before that status change; a leave still open runs to the as-of day.
  Nights and meals on those days are not held against the student.
* **Final year** (毕业年级): from the grade, ``2023级`` being the cohort that
  entered in September 2023. With a programme of :data:`PROGRAMME_YEARS` years
  (本科, the default), its final year starts on 1 September 2026; a student past
  it and still enrolled (延期毕业) counts as final year too. A grade that does
  not start with a year gives no final year.
* **Credits required**: the store's ``credits_required`` setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta

from mhtool.signals.domain.facts import StudentContext
from mhtool.signals.usecases.settings import PROGRAMME_YEARS

# The days before the as-of day for which leave matters: the longest window a rule looks back over.
AWAY_HORIZON_DAYS = 400
# Statuses whose timeline may hold a leave: a student who never went on leave stays "enrolled".
_MAY_HAVE_LEFT = ("leave", "returned", "withdrawn", "graduated")


def _day(text) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10])
    except (TypeError, ValueError):
        return None


def leave_periods(entries: Iterable[dict], as_of: date) -> list[tuple[date, date]]:
    """(first, last) day of each leave in a timeline, as of ``as_of`` (see the module's text)."""
    entries = list(entries)
    # An entry restated by a later one (--corrects) no longer counts.
    replaced = {e.get("corrects") for e in entries if e.get("corrects")}
    changes = []
    for entry in entries:
        if entry.get("kind") != "status_change" or entry.get("id") in replaced:
            continue
        fields = entry.get("fields") or {}
        to = fields.get("to")
        start = _day(fields.get("from_date") if to == "leave" else fields.get("on")) or _day(entry.get("date") or entry.get("on_date"))
        if start is not None:
            changes.append((start, to, _day(fields.get("until"))))
    changes.sort(key=lambda c: c[0])
    periods = []
    for i, (start, to, until) in enumerate(changes):
        if to != "leave":
            continue
        end = as_of
        following = [c[0] for c in changes[i + 1 :] if c[1] != "leave"]
        if following:
            end = min(end, following[0] - timedelta(days=1))
        if until is not None:
            end = min(end, until)
        if end >= start:
            periods.append((start, end))
    return periods


def away_days(entries: Iterable[dict], as_of: date) -> frozenset[str]:
    """Every ISO day of the student's leaves within :data:`AWAY_HORIZON_DAYS` before ``as_of``."""
    horizon = as_of - timedelta(days=AWAY_HORIZON_DAYS)
    days: set[str] = set()
    for start, end in leave_periods(entries, as_of):
        day = max(start, horizon)
        while day <= end:
            days.add(day.isoformat())
            day += timedelta(days=1)
    return frozenset(days)


def entry_year(grade) -> int | None:
    """The year a cohort entered, from its grade (``2023级`` → 2023), or None."""
    match = re.match(r"\s*((?:19|20)\d\d)", str(grade or ""))
    return int(match.group(1)) if match else None


def final_year(grade, as_of: date, years: int = PROGRAMME_YEARS) -> bool:
    """Whether a student of ``grade`` is in (or past) the final year of a ``years``-year programme on ``as_of``."""
    entered = entry_year(grade)
    if entered is None:
        return False
    return as_of >= date(entered + years - 1, 9, 1)


def may_have_leave(student: dict) -> bool:
    """Whether the student's timeline can hold a leave (only then it is read)."""
    return (student.get("status") or "enrolled") in _MAY_HAVE_LEFT


def student_context(student: dict, entries: Iterable[dict], as_of: date, *, school_card: dict, credits: float | None) -> StudentContext:
    return StudentContext(
        away_days=away_days(entries, as_of),
        grade=student.get("grade") or None,
        final_year=final_year(student.get("grade"), as_of),
        school_card=school_card or {},
        credits_required=credits,
    )
