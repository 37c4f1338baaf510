"""Dates as counselors type them, and the store's clock.

Pure: ``today`` is always passed in by the caller, so tests fix it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from mhtool.errors import InvalidInput
from mhtool.i18n import _

DEFAULT_TZ = "Asia/Shanghai"

_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")


def now(tz: str = DEFAULT_TZ) -> datetime:
    """The current time in the store's time zone (aware)."""
    return datetime.now(ZoneInfo(tz))


def today(tz: str = DEFAULT_TZ) -> date:
    return now(tz).date()


# Dates the center's records can sensibly hold. Outside this a date is a typing
# or conversion error (0001-01-01, 2206 for 2026), never a fact to store.
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def moment_text(value) -> str:
    """A recorded moment as people write it: ``2026-11-15 23:40`` (no ``T``, no seconds, the clock it was recorded on)."""
    shown = str(value or "").replace("T", " ")
    return shown[:16] if len(shown) >= 16 and shown[13:14] == ":" else shown


def local_moment(stamp, tz: str | tzinfo | None = DEFAULT_TZ) -> datetime | None:
    """A recorded moment (ISO text, or a datetime already read) on the store's clock ``tz``.

    One recorded with a zone (UTC: the audit's, a record's creation) is moved to
    ``tz``; one recorded without a zone is taken as it is; empty or unreadable
    text gives None.
    """
    if isinstance(stamp, datetime):
        moment = stamp
    else:
        try:
            moment = datetime.fromisoformat(str(stamp)) if stamp else None
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(ZoneInfo(tz or DEFAULT_TZ) if isinstance(tz, str) or tz is None else tz)


def local_moment_text(stamp, tz: str = DEFAULT_TZ, *, seconds: bool = False) -> str:
    """A moment recorded in UTC (the audit's, a store's creation) on the store's clock: ``2026-12-02 07:56``.

    ``seconds`` keeps them (``07:56:36``), as the audit log needs to tell entries
    apart. A moment without a zone is shown as recorded; text that is no moment
    comes back as :func:`moment_text` shows it.
    """
    try:
        moment = local_moment(stamp, tz)
    except (ValueError, KeyError):  # a zone name that is none
        moment = None
    if moment is None:
        return moment_text(stamp)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def utc_offset_text(tz: str, stamps) -> str:
    """How far the store's clock is from UTC at these recorded moments: ``UTC+8``; the zone's name when that differs among them (summer time)."""
    zone = ZoneInfo(tz or DEFAULT_TZ)
    offsets = set()
    for stamp in stamps:
        moment = local_moment(stamp, zone)
        if moment is not None and moment.tzinfo is not None:
            offsets.add(moment.utcoffset())
    if len(offsets) > 1:
        return str(tz)
    minutes = int((offsets.pop() if offsets else now(tz).utcoffset()).total_seconds() // 60)
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes >= 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


def days_later(day: date, days: int) -> date:
    """``day`` plus ``days``; the calendar's last day when that lies beyond it (``--due-within 99999999``)."""
    return day + timedelta(days=days) if days <= (date.max - day).days else date.max


def parse_date(text: str, *, today: date, option: str = "--date", allow_future: bool = True) -> date:
    """Parse ``2026-11-23``, ``2026/11/23``, ``20261123``, ``2026年11月23日``, ``today``, ``yesterday``.

    ``allow_future=False`` is for past events (an interview cannot have happened
    tomorrow). Errors name the option so the user knows what to fix.
    """
    raw = (text or "").strip()
    low = raw.lower()
    if low in ("today", "今天"):
        value = today
    elif low in ("yesterday", "昨天"):
        value = today - timedelta(days=1)
    elif low in ("tomorrow", "明天"):
        value = today + timedelta(days=1)
    else:
        value = None
        m = re.fullmatch(r"([+-]\d+)d", low)
        if m:
            try:
                value = today + timedelta(days=int(m.group(1)))
            except OverflowError:  # -99999999999d: past the calendar itself, so at its end (and refused below)
                value = date.min if m.group(1).startswith("-") else date.max
        for fmt in _FORMATS:
            if value is not None:
                break
            try:
                value = datetime.strptime(raw, fmt).date()
            except ValueError:
                continue
        if value is None:
            raise InvalidInput(
                _("{option}: cannot read {text!r} as a date").format(option=option, text=raw),
                hint=_("use 2026-11-23, 2026/11/23, 20261123, today or yesterday"),
            )
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise InvalidInput(
            _("{option}: {date} is not a plausible date").format(option=option, date=value.isoformat()),
            hint=_("give a date between {earliest} and {latest}").format(earliest=EARLIEST_DATE.isoformat(), latest=LATEST_DATE.isoformat()),
        )
    if not allow_future and value > today:
        raise InvalidInput(
            _("{option}: {date} is in the future, but this records something that already happened").format(option=option, date=value.isoformat()),
            hint=_("pass a date on or before {today}").format(today=today.isoformat()),
        )
    return value


def parse_datetime(text: str, *, today: date, option: str = "--at") -> datetime:
    """A date with an optional time (``2026-11-23 14:30``); naive, in the store's zone."""
    raw = (text or "").strip()
    m = re.fullmatch(r"(.+?)[ T](\d{1,2}):(\d{2})(?::(\d{2}))?", raw)
    if m:
        d = parse_date(m.group(1), today=today, option=option)
        try:
            return datetime(d.year, d.month, d.day, int(m.group(2)), int(m.group(3)), int(m.group(4) or 0))
        except ValueError:
            # 25:00, 14:60: the date was read, the time of day cannot be.
            raise InvalidInput(
                _("{flag}: cannot read {value!r} as a time of day").format(flag=option, value=raw[m.end(1) + 1 :]), hint=_("use 24-hour time such as 14:00")
            ) from None
    d = parse_date(raw, today=today, option=option)
    return datetime(d.year, d.month, d.day)
