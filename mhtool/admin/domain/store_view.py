"""What `mhtool info` shows of a store: each fact under its label, as a person reads it.

:func:`mhtool.store.core.store_info` keeps keys, UTC times, booleans and byte counts,
which ``info --json`` prints as they are; this turns them into lines such as
``创建时间  2026-12-02 07:56`` and ``学生档案  3,030``.
"""

from __future__ import annotations

from mhtool.domain.dates import local_moment_text
from mhtool.domain.labels import label

# The facts in the order they are shown; the record counts follow, one line per table.
STORE_FIELDS = ("store", "store_id", "schema_version", "created_at", "timezone", "key_generation", "rotation_in_progress", "staff", "size_bytes")


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:,.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:,.1f} KB"


def _value(key: str, value, facts: dict, lang: str) -> str:
    if value is None:
        return ""
    if key == "created_at":
        return local_moment_text(value, facts.get("timezone"))
    if isinstance(value, bool):
        return label("answer", "yes" if value else "no", lang)
    if key == "size_bytes":
        return _size(int(value))
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def info_items(facts: dict, lang: str) -> list[tuple[str, str]]:
    """(label, value) pairs of ``store_info``'s facts: the store's own, then how many records each table holds."""
    items = [(label("store_field", key, lang), _value(key, facts[key], facts, lang)) for key in STORE_FIELDS if key in facts]
    items += [(label("store_field", key, lang), _value(key, value, facts, lang)) for key, value in facts.items() if key not in STORE_FIELDS and key != "records"]
    items += [(label("record_table", table, lang), f"{count:,}") for table, count in (facts.get("records") or {}).items()]
    return items
