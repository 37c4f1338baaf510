"""When counseling happens: working hours, durations, counselors' weekly slots and bookings that must not overlap.

Defined once here: the center's working hours (a slot or an appointment lies
within 08:00–21:00), how long one session may be (1–240 minutes, 50 unless
said), and what a weekly slot is (``周一 09:00-12:00``).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta

from mhtool.domain import dates
from mhtool.domain.labels import code_from_label, codes, label
from mhtool.errors import InvalidInput, UsageError
from mhtool.i18n import _

# 工作时间: no slot, appointment or session time lies outside it.
WORK_START = time(8, 0)
WORK_END = time(21, 0)
# One session's length in minutes: 0 is no session, and four hours is already a long crisis intervention.
MIN_MINUTES = 1
MAX_MINUTES = 240
DEFAULT_MINUTES = 50

_WEEKDAY_ALIASES = {
    "1": ("一", "星期一", "周一", "mon", "monday"),
    "2": ("二", "星期二", "周二", "tue", "tuesday"),
    "3": ("三", "星期三", "周三", "wed", "wednesday"),
    "4": ("四", "星期四", "周四", "thu", "thursday"),
    "5": ("五", "星期五", "周五", "fri", "friday"),
    "6": ("六", "星期六", "周六", "sat", "saturday"),
    "7": ("日", "天", "星期日", "星期天", "周日", "周天", "sun", "sunday"),
}


def _fold(text) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).strip().lower()


def day(value, *, today: date, flag: str = "--date", allow_future: bool = True) -> date:
    """A day given with a flag (``2026-11-23``, ``today``, ``+7d``; a ``date`` as it is); a wrong one is a usage error naming it."""
    if isinstance(value, date):
        return value
    try:
        return dates.parse_date(str(value), today=today, option=flag, allow_future=allow_future)
    except InvalidInput as exc:
        raise UsageError(exc.message, hint=exc.hint) from None


def moment_of(value, *, today: date, flag: str = "--at") -> datetime:
    """A day and a time given with a flag (``2026-11-23 14:00``)."""
    try:
        return dates.parse_datetime(str(value), today=today, option=flag)
    except InvalidInput as exc:
        raise UsageError(exc.message, hint=exc.hint) from None


def minutes(value, *, flag: str = "--minutes") -> int:
    """A session's (or appointment's) length: a whole number of minutes from 1 to 240."""
    try:
        n = int(_fold(value))
    except ValueError:
        raise UsageError(_("{flag} {value!r} is not a number of minutes").format(flag=flag, value=value)) from None
    if not MIN_MINUTES <= n <= MAX_MINUTES:
        raise UsageError(
            _("{flag} {value}: a session lasts from {low} to {high} minutes").format(flag=flag, value=n, low=MIN_MINUTES, high=MAX_MINUTES),
            hint=_("give its length in minutes, e.g. {flag} {default}").format(flag=flag, default=DEFAULT_MINUTES),
        )
    return n


def clock(text, *, flag: str) -> time:
    """A time of day as typed (``14:00``, ``14：00``, ``9:30``, ``1400``), within working hours."""
    raw = _fold(text)
    m = re.fullmatch(r"(\d{1,2})[:：.]?(\d{2})", raw)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise UsageError(_("{flag}: cannot read {value!r} as a time of day").format(flag=flag, value=text), hint=_("use 24-hour time such as 14:00"))
    value = time(int(m.group(1)), int(m.group(2)))
    if not WORK_START <= value <= WORK_END:
        raise UsageError(_("{flag} {value}: outside working hours ({start}–{end})").format(flag=flag, value=hhmm(value), **hours()))
    return value


def hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def hours() -> dict[str, str]:
    """The working hours as messages name them (``start``, ``end``)."""
    return {"start": hhmm(WORK_START), "end": hhmm(WORK_END)}


def weekday(text, *, flag: str = "--slot") -> int:
    """ISO weekday (1 Monday … 7 Sunday) of ``周一``, ``星期三``, ``fri``, ``5``."""
    raw = _fold(text)
    for code, aliases in _WEEKDAY_ALIASES.items():
        if raw == code or raw in aliases:
            return int(code)
    raise UsageError(_("{flag}: {value!r} is not a day of the week").format(flag=flag, value=text), hint=_("use 周一 … 周日, or Mon … Sun"))


def slot(text, *, flag: str = "--slot") -> dict:
    """One weekly slot, ``周一 09:00-12:00``: ``{"weekday": 1, "start": "09:00", "end": "12:00"}``, inside working hours."""
    raw = _fold(text)
    m = re.fullmatch(r"(\S+?)\s*[ ,，]\s*(\S+?)\s*[-–—~～至到]\s*(\S+)", raw)
    if not m:
        raise UsageError(
            _("{flag} {value!r}: a slot is a day and two times, e.g. 周一 09:00-12:00").format(flag=flag, value=text),
            hint=_("working hours are {start}–{end}").format(**hours()),
        )
    day = weekday(m.group(1), flag=flag)
    start, end = clock(m.group(2), flag=flag), clock(m.group(3), flag=flag)
    if end <= start:
        raise UsageError(_("{flag} {value!r}: the slot ends before it starts").format(flag=flag, value=text))
    return {"weekday": day, "start": hhmm(start), "end": hhmm(end)}


def merged_slots(slots: list[dict]) -> list[dict]:
    """Slots sorted by day and time; two that overlap or touch on one day become one."""
    out: list[dict] = []
    for s in sorted(slots, key=lambda s: (s["weekday"], s["start"])):
        if out and out[-1]["weekday"] == s["weekday"] and s["start"] <= out[-1]["end"]:
            out[-1] = {**out[-1], "end": max(out[-1]["end"], s["end"])}
        else:
            out.append(dict(s))
    return out


def slot_text(s: dict, lang: str) -> str:
    return f"{label('weekday', str(s['weekday']), lang)} {s['start']}-{s['end']}"


def window(at: datetime, length: int) -> tuple[datetime, datetime]:
    """The start and end of an appointment of ``length`` minutes at ``at``."""
    return at, at + timedelta(minutes=length)


def check_in_hours(at: datetime, length: int, *, flag: str = "--at") -> None:
    """An appointment starts and ends within working hours on one day."""
    start, end = window(at, length)
    if start.time() < WORK_START or end.date() != start.date() or end.time() > WORK_END:
        raise UsageError(
            _("{flag} {value}: {length} minutes from then is outside working hours ({start}–{end})").format(
                flag=flag, value=at.strftime("%Y-%m-%d %H:%M"), length=length, **hours()
            )
        )


def fitting_slot(slots: list[dict], at: datetime, length: int) -> dict | None:
    """The weekly slot that holds the whole appointment, if any."""
    start, end = hhmm(at.time()), hhmm(window(at, length)[1].time())
    for s in slots:
        if s["weekday"] == at.isoweekday() and s["start"] <= start and end <= s["end"]:
            return s
    return None


def overlapping(bookings: list[dict], at: datetime, length: int) -> dict | None:
    """The first still-booked appointment (``on_date``, ``at``, ``minutes``) that overlaps ``at`` for ``length`` minutes."""
    start, end = window(at, length)
    for b in bookings:
        if b.get("status") != "booked":
            continue
        other = moment(b)
        if other is None:
            continue
        o_start, o_end = window(other, int(b.get("minutes") or DEFAULT_MINUTES))
        if start < o_end and o_start < end:
            return b
    return None


def moment(appointment: dict) -> datetime | None:
    """When an appointment starts (its day and ``at``)."""
    try:
        day = date.fromisoformat(str(appointment.get("on_date") or appointment.get("date")))
        hour, minute = str(appointment.get("at") or "").split(":")
        return datetime(day.year, day.month, day.day, int(hour), int(minute))
    except (TypeError, ValueError):
        return None


def end_text(appointment: dict) -> str:
    start = moment(appointment)
    return hhmm(window(start, int(appointment.get("minutes") or DEFAULT_MINUTES))[1].time()) if start else ""


# Short words counselors type for a label (高 for 高风险, 面谈 for 面询).
_ALIASES: dict[str, dict[str, str]] = {
    "session_risk": {"高": "high", "中": "medium", "低": "low"},
    "session_mode": {"面谈": "in_person", "当面": "in_person", "线上": "online", "视频": "online"},
}


def code(domain: str, text, *, flag: str) -> str:
    """The code of a label typed in Chinese, English or as the code itself (``面询``, ``in person``, ``in_person``, ``高``)."""
    raw = str(text or "")
    found = code_from_label(domain, raw.replace("-", "_")) or code_from_label(domain, raw) or _ALIASES.get(domain, {}).get(_fold(raw))
    if found is None:
        choices = "、".join(label(domain, c, "zh") for c in codes(domain))
        raise UsageError(
            _("{flag}: {value!r} is not one of {choices}").format(flag=flag, value=text, choices=choices),
            hint=_("the codes are {codes}").format(codes=", ".join(codes(domain))),
        )
    return found
