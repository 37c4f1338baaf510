"""Report periods: ISO weeks, calendar months and explicit date ranges.

Pure: no clock. Every function that depends on "now" takes ``today`` (a
calendar date in the store's time zone; the caller converts). Periods are
inclusive at both ends, so a week is Monday to Sunday and a month is the 1st
to its last day.

Errors about what the user typed are :class:`~mhtool.errors.UsageError` and
name the flag (``--week``, ``--month``, ``--from``, ``--to``) and the form
expected, because the command line is the only place these values come from.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from mhtool.domain.dates import parse_date
from mhtool.domain.labels import text
from mhtool.errors import InvalidInput, UsageError
from mhtool.i18n import N_, _

PERIOD_KINDS = ("week", "month", "range")

_WEEK_HINT = N_("use the ISO form YYYY-Www, e.g. 2026-W47 (weeks run Monday to Sunday, W01 to W52, or W53 in long years)")
_MONTH_HINT = N_("use the form YYYY-MM, e.g. 2026-11")

_WEEK_RE = re.compile(r"(\d{4})-?[Ww](\d{1,2})|(\d{4})年第(\d{1,2})周")
_MONTH_RE = re.compile(r"(\d{4})[-/](\d{1,2})|(\d{4})年(\d{1,2})月")


@dataclass(frozen=True)
class Period:
    """An inclusive span of calendar days with a stable label.

    ``label`` is what file names, JSON and titles use: ``2026-W47``,
    ``2026-11`` or ``2026-11-01..2026-11-15``.
    """

    kind: str
    start: date
    end: date
    label: str

    def __post_init__(self) -> None:
        if self.kind not in PERIOD_KINDS:
            raise ValueError(f"period kind must be one of {PERIOD_KINDS}, not {self.kind!r}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, datetime) or not isinstance(value, date):
                raise TypeError(f"Period.{name} must be a date, not {type(value).__name__}")
        if self.start > self.end:
            raise ValueError(f"period starts after it ends: {self.start} > {self.end}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, d: object) -> bool:
        return contains(self, d)  # type: ignore[arg-type]

    def describe(self, lang: str = "zh") -> str:
        """The period as a person reads it in a title row."""
        s, e = self.start.isoformat(), self.end.isoformat()
        if self.kind == "week":
            year, week, _weekday = self.start.isocalendar()
            return text("period_week", lang, year=year, week=week, label=self.label, start=s, end=e)
        if self.kind == "month":
            return text("period_month", lang, year=self.start.year, month=self.start.month, label=self.label, start=s, end=e)
        return text("period_range", lang, start=s, end=e)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "label": self.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def weeks_in_year(iso_year: int) -> int:
    """52 or 53: the ISO week of 28 December is always the year's last week."""
    return date(iso_year, 12, 28).isocalendar()[1]


def week_period(iso_year: int, week: int) -> Period:
    """ISO week ``week`` of ``iso_year`` (Monday to Sunday)."""
    start = date.fromisocalendar(iso_year, week, 1)
    return Period("week", start, start + timedelta(days=6), f"{iso_year}-W{week:02d}")


def month_period(year: int, month: int) -> Period:
    last = calendar.monthrange(year, month)[1]
    return Period("month", date(year, month, 1), date(year, month, last), f"{year}-{month:02d}")


def week_of(d: date) -> Period:
    """The ISO week that contains ``d``."""
    year, week, _weekday = _as_date(d).isocalendar()
    return week_period(year, week)


def month_of(d: date) -> Period:
    """The calendar month that contains ``d``."""
    d = _as_date(d)
    return month_period(d.year, d.month)


def parse_week(text: str, *, option: str = "--week") -> Period:
    """``2026-W47`` (also ``2026W47``, ``2026-w47``, ``2026年第47周``) → that ISO week."""
    raw = (text or "").strip()
    m = _WEEK_RE.fullmatch(raw)
    if not m:
        raise UsageError(_("{option}: {text!r} is not an ISO week").format(option=option, text=raw), hint=_(_WEEK_HINT))
    year = int(m.group(1) or m.group(3))
    week = int(m.group(2) or m.group(4))
    try:
        last = weeks_in_year(year)
    except ValueError:
        raise UsageError(
            _("{option}: {text!r} is not an ISO week (year {year} is out of range)").format(option=option, text=raw, year=year),
            hint=_(_WEEK_HINT),
        ) from None
    if not 1 <= week <= last:
        raise UsageError(
            _("{option}: {text!r} does not exist; ISO year {year} has weeks W01 to {last_week}").format(
                option=option, text=raw, year=year, last_week=f"W{last:02d}"
            ),
            hint=_(_WEEK_HINT),
        )
    try:
        return week_period(year, week)
    except (ValueError, OverflowError):
        raise UsageError(_("{option}: {text!r} is out of the supported date range").format(option=option, text=raw), hint=_(_WEEK_HINT)) from None


def parse_month(text: str, *, option: str = "--month") -> Period:
    """``2026-11`` (also ``2026/11``, ``2026-1``, ``2026年11月``) → that calendar month."""
    raw = (text or "").strip()
    m = _MONTH_RE.fullmatch(raw)
    if not m:
        raise UsageError(_("{option}: {text!r} is not a month").format(option=option, text=raw), hint=_(_MONTH_HINT))
    year = int(m.group(1) or m.group(3))
    month = int(m.group(2) or m.group(4))
    if not 1 <= month <= 12:
        raise UsageError(
            _("{option}: {text!r} has no month {month}; months run 01 to 12").format(option=option, text=raw, month=month),
            hint=_(_MONTH_HINT),
        )
    if year < 1:
        raise UsageError(_("{option}: {text!r} is out of the supported date range").format(option=option, text=raw), hint=_(_MONTH_HINT))
    return month_period(year, month)


def explicit_range(date_from: date, date_to: date, *, options: tuple[str, str] = ("--from", "--to")) -> Period:
    """The inclusive range ``date_from``..``date_to``; ``date_from`` may equal ``date_to``."""
    date_from, date_to = _as_date(date_from), _as_date(date_to)
    if date_from > date_to:
        raise UsageError(
            _("{from_option} {start} is after {to_option} {end}").format(
                from_option=options[0], start=date_from.isoformat(), to_option=options[1], end=date_to.isoformat()
            ),
            hint=_("pass {from_option} on or before {to_option}").format(from_option=options[0], to_option=options[1]),
        )
    return Period("range", date_from, date_to, f"{date_from.isoformat()}..{date_to.isoformat()}")


def last_complete_week(today: date) -> Period:
    """The most recent Monday–Sunday week that is over.

    ``today`` itself is never over, so on a Sunday this is the week before,
    and on a Monday it is the week that ended yesterday.
    """
    today = _as_date(today)
    this_monday = today - timedelta(days=today.weekday())
    return week_of(this_monday - timedelta(days=7))


def last_complete_month(today: date) -> Period:
    """The calendar month before the one ``today`` is in (even on its last day)."""
    today = _as_date(today)
    return month_of(today.replace(day=1) - timedelta(days=1))


def months_back(period_or_month: Period | date | str, n: int) -> list[Period]:
    """The ``n`` calendar months ending with the given one, oldest first.

    Accepts a month :class:`Period`, any other period (its end decides the
    month), a date, or a ``YYYY-MM`` text. Used for six-month trends.
    """
    if n < 1:
        raise ValueError(f"months_back needs n >= 1, not {n}")
    if isinstance(period_or_month, Period):
        anchor = period_or_month.end
    elif isinstance(period_or_month, str):
        anchor = parse_month(period_or_month).start
    else:
        anchor = _as_date(period_or_month)
    index = anchor.year * 12 + (anchor.month - 1)
    return [month_period(i // 12, i % 12 + 1) for i in range(index - n + 1, index + 1)]


def contains(period: Period, d: date) -> bool:
    """Whether the calendar day ``d`` falls inside ``period`` (both ends included).

    A naive datetime is taken as wall-clock time in the store's zone; an aware
    one is refused, because which day it falls on depends on a zone this
    module does not know.
    """
    return period.start <= _as_date(d) <= period.end


def resolve_period(
    kind: str,
    *,
    week: str | None = None,
    month: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    today: date,
) -> Period:
    """Turn the period flags of a report command into one :class:`Period`.

    - ``--week`` alone, ``--month`` alone, or ``--from`` with an optional
      ``--to`` (which defaults to ``today``); these groups exclude each other.
    - No flag: the default of ``kind`` — ``"week"`` (or ``"weekly"``) gives the
      last complete week, ``"month"`` (or ``"monthly"``) the last complete
      month; ``"range"`` has no default and needs ``--from``.
    - A period that has not begun yet (``start > today``) is refused, since
      it can only be a typo; the current, unfinished period is allowed.
    """
    default_kind = {"week": "week", "weekly": "week", "month": "month", "monthly": "month", "range": "range"}.get(kind)
    if default_kind is None:
        raise ValueError(f"unknown period kind {kind!r}")
    today = _as_date(today)
    given = [flag for flag, v in (("--week", week), ("--month", month)) if _given(v)]
    if _given(date_from) or _given(date_to):
        given.append("--from/--to")
    if len(given) > 1:
        if len(given) == 2:
            message = _("{first} and {second} cannot be combined; choose one period").format(first=given[0], second=given[1])
        else:
            message = _("{first} and {second} and {third} cannot be combined; choose one period").format(
                first=given[0], second=given[1], third=given[2]
            )
        raise UsageError(message, hint=_("pass --week 2026-W47, or --month 2026-11, or --from 2026-11-01 --to 2026-11-15"))

    if _given(week):
        period = parse_week(str(week))
        option = "--week"
    elif _given(month):
        period = parse_month(str(month))
        option = "--month"
    elif _given(date_from) or _given(date_to):
        if not _given(date_from):
            raise UsageError(_("--to needs --from"), hint=_("pass --from as well, e.g. --from 2026-11-01 --to 2026-11-15"))
        start = _flag_date(date_from, "--from", today)
        end = _flag_date(date_to, "--to", today) if _given(date_to) else today
        if not _given(date_to) and start > today:
            raise UsageError(
                _("--from {start} is after today ({today}) and no --to was given").format(start=start.isoformat(), today=today.isoformat()),
                hint=_("pass --to as well, or a --from on or before today"),
            )
        period = explicit_range(start, end)
        option = "--from"
    elif default_kind == "week":
        return last_complete_week(today)
    elif default_kind == "month":
        return last_complete_month(today)
    else:
        raise UsageError(_("no period given"), hint=_("pass --from (and optionally --to), --week or --month"))

    if period.start > today:
        raise UsageError(
            _("{option}: {period} has not begun yet (today is {today})").format(option=option, period=period.label, today=today.isoformat()),
            hint=_("choose a period that starts on or before today"),
        )
    return period


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _flag_date(value: date | str, option: str, today: date) -> date:
    if isinstance(value, date):
        return _as_date(value)
    try:
        return parse_date(str(value), today=today, option=option)
    except InvalidInput as e:
        raise UsageError(e.message, hint=e.hint) from None


def _as_date(d: date) -> date:
    if isinstance(d, datetime):
        if d.tzinfo is not None and d.utcoffset() is not None:
            raise TypeError("convert an aware datetime to the store's time zone and take its .date() first")
        return d.date()
    if not isinstance(d, date):
        raise TypeError(f"expected a date, not {type(d).__name__}")
    return d


# -- the periods class reports (五级网络) are filed for -------------------------------------------


def _iso_week(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def network_periods(kind: str, start: date | str, end: date | str) -> tuple[str, ...]:
    """The report periods (``2026-W48``, ``2026-11``) whose class reports count for a report of ``start``–``end``.

    A week (``kind="week"``): its own ISO week. A month: the month, and every
    ISO week whose Monday lies in it. A range of days: every ISO week whose
    Monday, and every month whose first day, lies in it. In that order.
    """
    lo = start if isinstance(start, date) else date.fromisoformat(str(start)[:10])
    hi = end if isinstance(end, date) else date.fromisoformat(str(end)[:10])
    if kind == "week":
        return (_iso_week(lo),)
    out: list[str] = []
    if kind == "month":
        out.append(f"{lo.year}-{lo.month:02d}")
    monday = lo + timedelta(days=(7 - lo.weekday()) % 7)
    while monday <= hi:
        out.append(_iso_week(monday))
        monday += timedelta(days=7)
    if kind != "month":
        first = lo if lo.day == 1 else date(lo.year + lo.month // 12, lo.month % 12 + 1, 1)
        while first <= hi:
            out.append(f"{first.year}-{first.month:02d}")
            first = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return tuple(out)
