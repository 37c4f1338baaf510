"""How much room text takes where it is laid out in columns: a terminal, or a spreadsheet's column widths."""

from __future__ import annotations

import functools
import unicodedata


@functools.lru_cache(maxsize=16384)
def _wide_width(text: str) -> int:
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def display_width(text: str) -> int:
    """Columns ``text`` takes: East Asian wide and full-width characters two, combining marks none, the rest one.

    A terminal draws a CJK character in two columns, and Excel's column-width
    unit counts it as two as well, so tables on a terminal and workbook columns
    are measured alike.
    """
    # Cached: a list or a report repeats the same colleges, classes and labels on every row.
    return len(text) if text.isascii() else _wide_width(text)
