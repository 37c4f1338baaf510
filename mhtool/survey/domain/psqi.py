"""PSQI (Pittsburgh Sleep Quality Index, 刘贤臣 Chinese version): the algorithmic part.

PSQI cannot be expressed as sums and bands of option values: two answers are clock
times, two are quantities, and the components combine them by published rules. The
definition file ``instruments/psqi.toml`` declares the items, options and bands; this
module parses clock times and quantities and computes the seven components.

Input columns (1-based, the order used by the definition file and the importer):

====  ======  ==============================================
col   form    content
====  ======  ==============================================
1     1       bedtime (clock time)
2     2       minutes to fall asleep (number)
3     3       get-up time (clock time)
4     4       hours of actual sleep (number)
5–14  5a–5j   sleep disturbances, 0–3
15    6       subjective sleep quality, 0–3
16    7       sleep medication, 0–3
17    8       daytime sleepiness, 0–3
18    9       lack of energy, 0–3
====  ======  ==============================================

Decoded clock times are fractions of a day (Excel's convention, 0.9375 = 22:30) so that
stored answers read back unchanged; quantities are minutes (col 2) and hours (col 4).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# numpy is imported inside the functions that compute: see instruments.py.

ITEM_COUNT = 18
BEDTIME, LATENCY, GET_UP, SLEEP_HOURS = 1, 2, 3, 4
DISTURBANCE_ITEMS = tuple(range(6, 15))  # 5b–5j
LATENCY_ITEM = 5  # 5a: cannot fall asleep within 30 minutes
QUALITY, MEDICATION, SLEEPINESS, ENERGY = 15, 16, 17, 18
CHOICE_ITEMS = tuple(range(5, 19))

# kind and unit of the free-answer columns; every other column is a 0–3 choice
FREE_ITEMS = {
    BEDTIME: ("time", None),
    LATENCY: ("number", "minutes"),
    GET_UP: ("time", None),
    SLEEP_HOURS: ("number", "hours"),
}

SCORE_KEYS = ("c1", "c2", "c3", "c4", "c5", "c6", "c7", "global")
SCORE_RANGES = {**{f"c{i}": (0, 3) for i in range(1, 8)}, "global": (0, 21)}

_DAY = 24 * 60

_PM = ("下午", "傍晚", "pm", "p.m.")
_EVENING = ("晚上", "夜晚", "晚")
_NIGHT = ("凌晨", "半夜", "夜里", "夜间", "深夜")
_AM = ("上午", "早上", "早晨", "清晨", "早", "am", "a.m.")
_NOON = ("中午",)
_PERIODS = sorted(_PM + _EVENING + _NIGHT + _AM + _NOON, key=len, reverse=True)
_PERIOD_RE = "|".join(re.escape(p) for p in _PERIODS)
_CLOCK_RE = re.compile(
    rf"^(?P<pre>{_PERIOD_RE})?"
    r"(?:(?P<h1>\d{1,2})[:.](?P<m1>\d{1,2})(?::(?P<s1>\d{1,2}))?"
    r"|(?P<h2>\d{1,2})[点时](?:(?P<m2>\d{1,2})分?|(?P<half>半))?(?:钟)?)"
    rf"(?P<post>{_PERIOD_RE})?$"
)
_DOTTED_CLOCK_RE = re.compile(r"^\d{1,2}\.\d{2}$")
_NUMBER_RE = re.compile(r"^[+]?(\d+(?:\.\d*)?|\.\d+)$")
_QUANTITY_RE = re.compile(r"^(?P<n>\d+(?:\.\d*)?|\.\d+)(?P<unit>[^\d.]*)$")
_UNITS = {
    "": None,
    "分钟": "minutes",
    "分": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "小时": "hours",
    "个小时": "hours",
    "钟头": "hours",
    "个钟头": "hours",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
}


def _clean(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def parse_clock(value: object) -> float | None:
    """Minutes after midnight for a clock time, or None when ``value`` is not one.

    Accepts ``23:30``, ``23:30:00``, ``23点30分``, ``23点半``, ``晚上11点``, ``11:30 pm``,
    ``datetime.time``/``datetime``/``Timestamp`` values and Excel time fractions
    (a number in [0, 1)). A bare number of 1 or more is refused: ``11`` could be
    11:00 or 23:00, and guessing would silently change a component.
    """
    import numpy as np

    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):  # also pandas.Timestamp
        return value.hour * 60 + value.minute + value.second / 60
    if isinstance(value, dt.time):
        return value.hour * 60 + value.minute + value.second / 60
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
        return seconds / 60 if 0 <= seconds < 86400 else None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _fraction_to_minutes(float(value))
    if not isinstance(value, str):
        return None
    text = _clean(value)
    if _NUMBER_RE.match(text):
        x = float(text)
        # "23.30" is how many people type 23:30; a bare number below 1 is an Excel fraction
        if x < 1 or not _DOTTED_CLOCK_RE.match(text):
            return _fraction_to_minutes(x)
    m = _CLOCK_RE.match(text)
    if not m or (m.group("pre") and m.group("post")):
        return None
    if m.group("h1") is not None:
        hour, minute = int(m.group("h1")), int(m.group("m1"))
        second = int(m.group("s1") or 0)
    else:
        hour = int(m.group("h2"))
        minute = 30 if m.group("half") else int(m.group("m2") or 0)
        second = 0
    if minute > 59 or second > 59 or hour > 24 or (hour == 24 and (minute or second)):
        return None
    period = m.group("pre") or m.group("post")
    if period is not None:
        if hour > 12:
            # "晚上23点" is redundant but unambiguous; "上午15点" is a contradiction
            if period in _AM:
                return None
        elif period in _PM and hour < 12:
            hour += 12
        elif period in _EVENING and 6 <= hour < 12:
            hour += 12
        elif period in _EVENING + _NIGHT + ("am", "a.m.") and hour == 12:
            hour = 0
        elif period in _NOON and hour < 6:
            hour += 12
    return (hour % 24) * 60 + minute + second / 60


def _fraction_to_minutes(x: float) -> float | None:
    if not math.isfinite(x) or not 0 <= x < 1:
        return None
    # Excel stores times as fractions of a day; rounding to the second removes float noise
    return round(x * 86400) / 60


def parse_quantity(value: object, unit: str) -> float | None:
    """A duration in ``unit`` ("minutes" or "hours"): ``30``, ``30分钟``, ``7.5小时``, ``7h``."""
    import numpy as np

    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else None
    if not isinstance(value, str):
        return None
    m = _QUANTITY_RE.match(_clean(value))
    if not m or m.group("unit") not in _UNITS:
        return None
    x = float(m.group("n"))
    given = _UNITS[m.group("unit")] or unit
    if given == unit:
        return x
    return x * 60 if given == "hours" else x / 60


def _steps(x: np.ndarray, upper_bounds: tuple[float, ...]) -> np.ndarray:
    """0 for x ≤ upper_bounds[0], 1 for x ≤ upper_bounds[1], … len(upper_bounds) above all."""
    import numpy as np

    return np.searchsorted(np.asarray(upper_bounds, dtype=float), x, side="left").astype(np.int64)


def components(values: Mapping[int, np.ndarray]) -> dict[str, np.ndarray]:
    """The seven components and the global score, one array each, for complete rows.

    ``values`` maps column number (see the module docstring) to decoded values.
    Boundaries follow 刘贤臣 (1996): a value on a boundary such as "6–7 h" or
    "75–85 %" belongs to the lower-scoring range named first in the published
    table, except where the table says ">": more than 7 h and more than 85 %.
    """
    import numpy as np

    col = {k: np.asarray(v, dtype=float) for k, v in values.items()}

    c1 = col[QUALITY]

    # latency: ≤15 min 0, 16–30 1, 31–60 2, >60 3; then with 5a: 0→0, 1–2→1, 3–4→2, 5–6→3
    latency = _steps(col[LATENCY], (15, 30, 60))
    c2 = _steps(latency + col[LATENCY_ITEM], (0, 2, 4))

    # duration: >7 h 0, 6–7 h 1, 5–6 h (5 ≤ h < 6) 2, <5 h 3
    hours = col[SLEEP_HOURS]
    c3 = np.where(hours > 7, 0, np.where(hours >= 6, 1, np.where(hours >= 5, 2, 3)))

    # efficiency = hours asleep / hours in bed. Get-up time at or before bedtime means the
    # night crossed midnight (23:30 → 07:00); equal times are read as a full day in bed.
    # clock times arrive as fractions of a day; whole seconds once back in minutes
    bedtime = np.round(col[BEDTIME] * _DAY, 4)
    get_up = np.round(col[GET_UP] * _DAY, 4)
    in_bed = np.mod(get_up - bedtime, _DAY)
    in_bed = np.where(in_bed == 0, _DAY, in_bed)
    efficiency = np.round(hours * 60 / in_bed * 100, 6)
    c4 = np.where(efficiency > 85, 0, np.where(efficiency >= 75, 1, np.where(efficiency >= 65, 2, 3)))

    disturbances = sum(col[i] for i in DISTURBANCE_ITEMS)
    c5 = _steps(disturbances, (0, 9, 18))

    c6 = col[MEDICATION]
    c7 = _steps(col[SLEEPINESS] + col[ENERGY], (0, 2, 4))

    out = {
        "c1": c1,
        "c2": c2,
        "c3": c3,
        "c4": c4,
        "c5": c5,
        "c6": c6,
        "c7": c7,
    }
    out = {k: np.asarray(v).astype(np.int64) for k, v in out.items()}
    out["global"] = sum(out[f"c{i}"] for i in range(1, 8))
    return out
