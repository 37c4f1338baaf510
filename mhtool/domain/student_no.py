"""The student number (学号): what one may look like, and its one normal form (lookups, blind indexes, pseudonyms)."""

from __future__ import annotations

import re
import unicodedata

from mhtool.i18n import _

# What a student number may look like, defined once: 4 to 20 letters, digits or hyphens, at
# least 4 of them digits (2026601000, 0012, S2026001, 2026-01-001). Anything else (0, 学号,
# ../x, five thousand digits, a number with a line break in it) is not a student number but a
# header repeated, a path or a damaged cell, and is refused where it is read.
MIN_LENGTH = 4
MAX_LENGTH = 20
MIN_DIGITS = 4
_SHAPE = re.compile(r"[0-9A-Za-z-]+")
SHAPE_TEXT = f"{MIN_LENGTH}–{MAX_LENGTH} letters, digits or '-', at least {MIN_DIGITS} of them digits"


def normalise(value: object) -> str:
    """The canonical form of a student number: NFKC (full-width digits become ASCII), trimmed, upper case.

    Reading a number out of a spreadsheet cell (scientific notation, ``.0``
    floats, leading apostrophes) is the readers' job
    (:func:`mhtool.io.cells.student_no`); this is the form every stored or
    compared number takes afterwards.
    """
    return unicodedata.normalize("NFKC", str(value)).strip().upper()


def shape_problem(text: str) -> str | None:
    """Why ``text`` (already read from its cell or flag) is not a student number, or ``None`` when it may be one."""
    shape = {"min_length": MIN_LENGTH, "max_length": MAX_LENGTH, "min_digits": MIN_DIGITS}
    if len(text) > MAX_LENGTH:
        return _(
            "student number is {length} characters long; a student number has {min_length}–{max_length} letters, "
            "digits or '-', at least {min_digits} of them digits"
        ).format(length=f"{len(text):,}", **shape)
    if not _SHAPE.fullmatch(text) or len(text) < MIN_LENGTH or sum(ch.isdigit() for ch in text) < MIN_DIGITS:
        return _(
            "not a student number: a student number has {min_length}–{max_length} letters, digits or '-', at least {min_digits} of them digits"
        ).format(**shape)
    return None

