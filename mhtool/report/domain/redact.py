"""Masking names and student numbers for reports that leave the center.

Pure. ``mask_name`` keeps the first and last character of a Chinese name
(``张三丰`` → ``张*丰``, ``张三`` → ``张*``) and the initials of a Latin one
(``Li Na`` → ``L* N*``); ``mask_student_no`` keeps the year prefix and the
last two characters of a normal-length number (``2024123434`` → ``2024****34``)
and masks short numbers almost entirely, since a short number with two
characters shown is nearly as good as the number itself.

:func:`redact_report` masks every column and form field marked ``pii``, and
also every occurrence of the masked names and numbers in the report's free
text (summaries, notes, titles), because a counselor's note often names the
student it is about.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Any, Iterable

from mhtool.domain.document import FormField, FormText, Report, Sheet

MASK = "*"

# Separators inside a name that carry no identity and keep the shape readable:
# the middle dot of transliterated names (阿依古丽·买买提), spaces, hyphens.
_NAME_SEPARATORS = frozenset("·•・.- \u3000'")

_MIN_NAME_IN_TEXT = 2
_MIN_NUMBER_IN_TEXT = 4


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F") and ch.isalpha()


def mask_name(name: str | None) -> str | None:
    """``张三`` → ``张*``, ``张三丰`` → ``张*丰``, ``欧阳娜娜`` → ``欧**娜``, ``Li Na`` → ``L* N*``."""
    if name is None:
        return None
    text = str(name).strip()
    if not text:
        return text
    if any(_is_cjk(ch) for ch in text):
        letters = [i for i, ch in enumerate(text) if ch not in _NAME_SEPARATORS]
        if len(letters) <= 1:
            return MASK * len(text) if letters else text
        keep = {letters[0]} if len(letters) == 2 else {letters[0], letters[-1]}
        return "".join(ch if (i in keep or ch in _NAME_SEPARATORS) else MASK for i, ch in enumerate(text))
    return " ".join(_mask_word(w) for w in text.split())


def _mask_word(word: str) -> str:
    # Hyphenated parts (Anne-Marie) are masked part by part so each keeps its initial.
    return "-".join(p[:1] + MASK * (len(p) - 1) for p in word.split("-"))


def mask_student_no(number: str | None) -> str | None:
    """``2024123434`` → ``2024****34``; shorter numbers keep less, down to nothing."""
    if number is None:
        return None
    text = str(number).strip()
    n = len(text)
    if n >= 10:
        head, tail = 4, 2
    elif n >= 7:
        head, tail = 2, 1
    elif n >= 3:
        head, tail = 0, 1
    else:
        head, tail = 0, 0
    return text[:head] + MASK * (n - head - tail) + (text[n - tail:] if tail else "")


def redact_report(
    report: Report,
    *,
    name_keys: Iterable[str] = (),
    student_no_keys: Iterable[str] = (),
) -> Report:
    """A copy of ``report`` with names and student numbers masked in every sheet.

    Columns and form fields whose ``pii`` is set are masked, and so are those
    whose key is in ``name_keys`` / ``student_no_keys``. Every text that
    mentions one of the masked values then has it replaced by its mask. The
    copy's ``meta["redacted"]`` is ``True``; ``report`` is left unchanged.
    """
    name_keys, student_no_keys = set(name_keys), set(student_no_keys)

    def pii_of(key: str, declared: str | None) -> str | None:
        if key in student_no_keys:
            return "student_no"
        if key in name_keys:
            return "name"
        return declared

    replacements: dict[str, str] = {}

    def mask(kind: str, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            return value
        masked = mask_name(value) if kind == "name" else mask_student_no(value)
        original = value.strip()
        shortest = _MIN_NAME_IN_TEXT if kind == "name" else _MIN_NUMBER_IN_TEXT
        if len(original) >= shortest and masked != original:
            replacements[original] = masked
        return masked

    # First pass: mask the marked cells and learn which values to look for.
    masked_sheets: list[Sheet] = []
    for sheet in report.sheets:
        if sheet.kind == "form":
            items = [
                dataclasses.replace(item, value=mask(p, item.value))
                if isinstance(item, FormField) and (p := pii_of(item.key, item.pii))
                else item
                for item in sheet.form
            ]
            masked_sheets.append(dataclasses.replace(sheet, form=items))
            continue
        kinds = [pii_of(c.key, c.pii) for c in sheet.columns]
        rows = [[mask(k, v) if k else v for k, v in zip(kinds, row)] for row in sheet.rows]
        # The total row holds sums and a label such as 合计, never a person.
        masked_sheets.append(dataclasses.replace(sheet, rows=rows))

    scrub = _scrubber(replacements)

    # Second pass: the free text that may mention those values.
    sheets: list[Sheet] = []
    for sheet in masked_sheets:
        common = dict(
            title_zh=scrub(sheet.title_zh),
            title_en=scrub(sheet.title_en),
            notes=[scrub(n) for n in sheet.notes],
        )
        if sheet.kind == "form":
            items = []
            for item in sheet.form:
                if isinstance(item, FormField) and item.kind == "text" and not pii_of(item.key, item.pii):
                    item = dataclasses.replace(item, value=scrub(item.value))
                elif isinstance(item, FormText):
                    item = dataclasses.replace(item, text=scrub(item.text))
                items.append(item)
            sheets.append(dataclasses.replace(sheet, form=items, **common))
            continue
        text_cols = [c.kind == "text" and not pii_of(c.key, c.pii) for c in sheet.columns]
        rows = [[scrub(v) if t else v for t, v in zip(text_cols, row)] for row in sheet.rows]
        total = sheet.total_row
        if total is not None:
            total = [scrub(v) if t else v for t, v in zip(text_cols, total)]
        sheets.append(dataclasses.replace(sheet, rows=rows, total_row=total, **common))

    meta = _scrub_tree(report.meta, scrub)
    meta["redacted"] = True
    return dataclasses.replace(
        report,
        title_zh=scrub(report.title_zh),
        title_en=scrub(report.title_en),
        sheets=sheets,
        meta=meta,
    )


def _scrubber(replacements: dict[str, str]):
    if not replacements:
        return lambda v: v
    # Longest first, so that 张三丰 is replaced as a whole before 张三 can match inside it.
    pattern = re.compile("|".join(re.escape(k) for k in sorted(replacements, key=len, reverse=True)))

    def scrub(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return pattern.sub(lambda m: replacements[m.group(0)], value)

    return scrub


def _scrub_tree(value: Any, scrub) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrub_tree(v, scrub) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub_tree(v, scrub) for v in value)
    return value
