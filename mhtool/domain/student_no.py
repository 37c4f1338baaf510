"""The student number (学号): one normal form, used for lookups, blind indexes and pseudonyms."""

from __future__ import annotations

import unicodedata


def normalise(value: object) -> str:
    """The canonical form of a student number: NFKC (full-width digits become ASCII), trimmed, upper case.

    Reading a number out of a spreadsheet cell (scientific notation, ``.0``
    floats, leading apostrophes) is the readers' job
    (:func:`mhtool.io.cells.student_no`); this is the form every stored or
    compared number takes afterwards.
    """
    return unicodedata.normalize("NFKC", str(value)).strip().upper()
