"""What `survey batch` shows of one imported batch: each fact under its label, as a person reads it.

The batch detail (:meth:`mhtool.survey.usecases.api.Survey.batch`) keeps codes,
ISO times and counts by code; this turns them into lines such as
``导入时间  2026-11-05 09:00`` and ``建议关注等级人数  一级(红色) 20、二级(橙色) 31``.
The JSON output keeps the detail as it is.
"""

from __future__ import annotations

from mhtool.domain.dates import moment_text
from mhtool.domain.labels import label, text
from mhtool.domain.vocabulary import in_level_order

# The facts in the order they are shown; keys the detail has beyond these follow under their own names.
BATCH_FIELDS = (
    "id", "name", "instrument", "version", "file", "sheet", "profile", "answer_mode", "imported_at", "imported_by",
    "rows", "imported", "superseded", "rejected", "cohort", "proposed", "proposed_levels", "bands", "colleges",
    "voided", "void_reason", "voided_by", "voided_at", "rescored",
)  # fmt: skip
# Kept in the detail for scripts, and shown by another line here (imported_at carries the day).
_NOT_SHOWN = frozenset({"imported_on", "content_key", "content_bi"})


def _counts(pairs, lang: str) -> str:
    return text("list_separator", lang).join(f"{name} {n}" for name, n in pairs)


def _value(key: str, value, names: dict, lang: str) -> str:
    if key in ("imported_at", "voided_at"):
        return moment_text(value) if value else ""
    if isinstance(value, bool):
        return label("answer", "yes" if value else "no", lang)
    if key == "instrument":
        return str(names.get("name") or str(value).upper())
    if key == "answer_mode":
        return label("answer_mode", value, lang)
    if key == "cohort":
        return text("list_separator", lang).join(map(str, value)) if value else label("batch_field", "unknown_cohort", lang)
    if key in ("proposed", "proposed_levels") and isinstance(value, dict):
        return _counts(((label("level", code, lang), value[code]) for code in in_level_order(value)), lang)
    if key == "bands" and isinstance(value, dict):
        bands = names.get("bands") or {}
        order = [code for code in bands if code in value] + sorted(code for code in value if code not in bands)
        return _counts((((bands.get(code) or {}).get(lang) or code, value[code]) for code in order), lang)
    if key == "colleges" and isinstance(value, dict):
        return _counts(sorted(value.items(), key=lambda pair: (-pair[1], pair[0])), lang)
    if key == "rescored" and isinstance(value, list):
        return text("clause_separator", lang).join(
            label("batch_field", "rescored_line", lang).format(at=moment_text(r.get("at")), by=r.get("by") or "", version=r.get("version") or "")
            for r in value
            if isinstance(r, dict)
        )
    if isinstance(value, dict):
        return _counts(value.items(), lang)
    if isinstance(value, list):
        return text("list_separator", lang).join(map(str, value))
    return "" if value is None else str(value)


def batch_items(detail: dict, lang: str, names: dict | None = None) -> list[tuple[str, str]]:
    """(label, text) of each fact of a batch; ``names``: the instrument's own words (its name and band labels), when known."""
    names = names or {}
    keys = [k for k in BATCH_FIELDS if k in detail] + [k for k in detail if k not in BATCH_FIELDS and k not in _NOT_SHOWN]
    return [(label("batch_field", k, lang), _value(k, detail[k], names, lang)) for k in keys]


def batch_line(batch: dict, lang: str) -> dict:
    """A row of `survey batches` with its times and yes-or-no facts as :func:`batch_items` shows them."""
    return {k: _value(k, v, {}, lang) if k in ("imported_at", "voided") else v for k, v in batch.items()}
