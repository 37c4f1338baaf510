"""What `mhtool settings show` shows: each setting's key (what `settings set` takes), what it is, and its value in words.

``settings show --json`` prints the settings as they are; this turns
``{"red": 7, "orange": 14, "yellow": 30}`` into ``一级(红色) 7 天、二级(橙色) 14 天、…``
and an unset value into 未设置.
"""

from __future__ import annotations

import json

from mhtool.domain.labels import label, text
from mhtool.domain.vocabulary import in_level_order

# Settings whose value is a count of days or years.
_DAYS = frozenset({"signal_fact_days"})
_YEARS = frozenset({"retention_years"})
# Settings whose empty value means the built-in rules hold.
_OVERRIDES = frozenset({"screening_policy", "signal_rules"})


def _value(key: str, value, lang: str) -> str:
    if key in _OVERRIDES and not value:
        return label("setting", "built_in", lang)
    if value is None or value == "":
        return label("setting", "unset", lang)
    if key == "purpose_required_roles":
        return text("list_separator", lang).join(label("role", role, lang) for role in value) or label("setting", "nobody", lang)
    if key == "cadence" and isinstance(value, dict):
        days = label("setting", "days", lang)
        return text("list_separator", lang).join(f"{label('level', code, lang)} {value[code]} {days}" for code in in_level_order(value))
    if key in _DAYS:
        return f"{value} {label('setting', 'days', lang)}"
    if key in _YEARS:
        return f"{value} {label('setting', 'years', lang)}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def settings_rows(effective: dict, lang: str) -> list[dict]:
    """One row per setting: ``key`` (what `settings set` takes), ``what`` it is, its ``value`` in words."""
    rows = []
    for key, value in effective.items():
        what = label("setting", key, lang)  # the key itself when the setting has no label yet: left empty
        rows.append({"key": key, "what": "" if what == key else what, "value": _value(key, value, lang)})
    return rows
