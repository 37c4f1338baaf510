"""The store's settings of 多源预警: how long facts are kept, the credits to graduate, the rules in force.

``signal_fact_days`` (default 140, about one term): retention (``mhtool
retention apply``) removes the days and nights of the stored facts older than
that. ``credits_required`` (default 160): the credits a student needs to
graduate, for the 毕业欠学分 rule. ``signal_rules``: the store's override of the
built-in rules (``mhtool settings signal-rules FILE``), the same TOML shape.

The names of the sealed values the feature keeps are defined here too: the
import log (``signal_imports``) and the school's card medians (``signal_school``).
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from mhtool.errors import InvalidInput, UsageError
from mhtool.i18n import _

SETTINGS: tuple[str, ...] = ("signal_fact_days", "credits_required")
DEFAULT_FACT_DAYS = 140
DEFAULT_CREDITS_REQUIRED = 160
RULES_KEY = "signal_rules"
# Sealed values (roster tier): every import of a campus file, and the school-wide card medians per day.
IMPORTS_KEY = "signal_imports"
SCHOOL_KEY = "signal_school"
# How many years a 本科 programme lasts when the grade (2023级) is all the dossier says.
PROGRAMME_YEARS = 4


def fact_days(store) -> int:
    """How many days facts are kept (a damaged setting gives the default)."""
    value = store.setting("signal_fact_days", DEFAULT_FACT_DAYS)
    try:
        days = int(value)
    except (TypeError, ValueError):
        return DEFAULT_FACT_DAYS
    return days if days >= 1 else DEFAULT_FACT_DAYS


def credits_required(store) -> int | float:
    """The credits needed to graduate (a damaged setting gives the default)."""
    value = store.setting("credits_required", DEFAULT_CREDITS_REQUIRED)
    try:
        credits = float(value)
    except (TypeError, ValueError):
        return DEFAULT_CREDITS_REQUIRED
    if not math.isfinite(credits) or credits <= 0:
        return DEFAULT_CREDITS_REQUIRED
    return int(credits) if credits == int(credits) else credits


def fact_cutoff(store, today: date) -> date:
    """The first day whose facts are still kept on ``today``: older days are removed by retention."""
    return today - timedelta(days=fact_days(store))


def check_setting(key: str, value):
    """The value as stored (None removes the setting); a wrong value is refused with what to give."""
    text = str(value if value is not None else "").strip()
    if key not in SETTINGS:
        raise UsageError(_("{key!r} is not a campus-signal setting").format(key=key), hint=_("one of {keys}").format(keys=", ".join(SETTINGS)))
    if text == "":
        return None
    if key == "signal_fact_days":
        if isinstance(value, bool) or not text.isdigit() or not 7 <= int(text) <= 3650:
            raise InvalidInput(_("signal_fact_days {value!r}: give a whole number of days from 7 to 3650").format(value=value))
        return int(text)
    try:
        credits = float(text)
    except ValueError:
        credits = float("nan")
    if isinstance(value, bool) or not math.isfinite(credits) or not 1 <= credits <= 400:
        raise InvalidInput(_("credits_required {value!r}: give the credits needed to graduate, a number from 1 to 400").format(value=value))
    return int(credits) if credits == int(credits) else credits


def show(store) -> dict:
    """The settings in force, defaults filled in, and the store's rules override (empty when the built-in rules hold)."""
    return {
        "signal_fact_days": fact_days(store),
        "credits_required": credits_required(store),
        "signal_rules": store.setting(RULES_KEY) or {},
    }
