"""Cell-level normalisation of survey exports and rosters (pure).

Everything a spreadsheet or a survey platform does to a value on its way to us
is undone here, and nothing is guessed: full-width characters and stray spaces
are folded, student numbers are kept as text, dates are read from the few
shapes the platforms use. A value that cannot be trusted (a student number that
went through scientific notation) comes back with a problem message instead of
a repaired value, because a wrong student number attaches a screening result to
the wrong person.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time, timedelta

from mhtool.domain.dates import EARLIEST_DATE, LATEST_DATE
from mhtool.domain.student_no import MAX_LENGTH, MIN_DIGITS, MIN_LENGTH, shape_problem
from mhtool.i18n import N_, _

__all__ = [
    "SCIENTIFIC_NOTATION_MESSAGE",
    "EARLIEST_DATE",
    "LATEST_DATE",
    "cell_text",
    "column_letter",
    "date_problem",
    "fold_text",
    "is_formula_text",
    "is_missing",
    "parse_cell_date",
    "phone_text",
    "student_no",
]

# The English message; student_no() returns it in the reader's language.
SCIENTIFIC_NOTATION_MESSAGE = N_(
    "student number looks like scientific notation; fix the cell in the source file (format it as text)"
)

# A cell of ASCII digits alone is a student number when its length is within these (shape_problem's rule).
_MIN_NO, _MAX_NO = max(MIN_LENGTH, MIN_DIGITS), MAX_LENGTH

# Characters that render as nothing and only ever get into cells by copy-paste.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def fold_text(s: object) -> str:
    """Fold a piece of text the way a person reading it would not notice.

    NFKC turns full-width digits, letters and punctuation (``１２``, ``Ｑ``,
    ``（``) into their ASCII forms and NBSP / ideographic space into plain
    spaces; invisible characters go; runs of whitespace (newlines included)
    become one space; the ends are stripped. ``None`` folds to ``""``.
    """
    if s is None:
        return ""
    if not isinstance(s, str):
        s = str(s)
    if not s.isascii():
        s = unicodedata.normalize("NFKC", s).translate(_INVISIBLE)
    # str.split() with no argument splits on every Unicode space and drops the ends.
    return " ".join(s.split())


def is_formula_text(cell: object) -> bool:
    """True when a text cell would be a formula if a spreadsheet opened it."""
    return isinstance(cell, str) and cell.lstrip().startswith("=")


def _number_text(value: int | float) -> str | None:
    """``2026601000.0`` → ``"2026601000"``; ``1.5`` → ``"1.5"``; NaN/inf → ``None``."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return None
    if value.is_integer():
        return str(int(value))
    return repr(value)


def cell_text(cell: object) -> str:
    """The text a person sees in a cell: numbers without ``.0``, dates in ISO form."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return fold_text(cell)
    if isinstance(cell, (int, float)):
        return _number_text(cell) or ""
    if isinstance(cell, datetime):
        if cell.time() == time(0):
            return cell.date().isoformat()
        return cell.isoformat(sep=" ", timespec="seconds" if cell.microsecond == 0 else "auto")
    if isinstance(cell, (date, time)):
        return cell.isoformat()
    if isinstance(cell, timedelta):
        return str(cell)
    return fold_text(str(cell))


_SCI_TEXT = re.compile(r"[+-]?\d+(?:\.\d*)?[eE][+-]?\d+")
_INTEGRAL_TEXT = re.compile(r"(\d+)\.0+")
# Above this a float cannot hold every digit of a student number any more, so a
# number this large has almost certainly been through scientific notation.
_FLOAT_DIGITS_LOST = 1e15


def student_no(cell: object) -> tuple[str | None, str | None]:
    """A student-number cell as text, or ``(None, problem)``.

    Text stays text (leading zeros kept); a whole number typed into the cell
    (``2026601000.0`` as Excel stores it) loses its ``.0``. Scientific notation,
    as text (``2.0266E+09``) or as a float too large to hold every digit, is
    refused rather than repaired: the digits it dropped cannot be recovered.
    What is left must look like a student number
    (:func:`mhtool.domain.student_no.shape_problem`): ``0``, ``学号`` or ``../x``
    are refused.
    """
    if cell is None:
        return None, _("student number is empty")
    if cell.__class__ is str and _MIN_NO <= len(cell) <= _MAX_NO and cell.isdigit() and cell.isascii():
        # The usual cell (2026601000 typed as text): nothing below would change it or find fault with it.
        return cell, None
    if isinstance(cell, bool):
        return None, _("student number is not a number or text")
    if isinstance(cell, int):
        if abs(cell) >= 10**20:
            return None, _("student number is too long to be one")
        return _shaped(str(cell))
    if isinstance(cell, float):
        if not math.isfinite(cell):
            return None, _("student number is not a number")
        if abs(cell) >= _FLOAT_DIGITS_LOST:
            return None, _(SCIENTIFIC_NOTATION_MESSAGE)
        if not cell.is_integer():
            return None, _("student number has a fractional part")
        return _shaped(str(int(cell)))
    if isinstance(cell, (datetime, date, time, timedelta)):
        return None, _("student number cell holds a date or time; format the column as text")
    if isinstance(cell, str) and ("\n" in cell.strip() or "\r" in cell.strip()):
        return None, _("student number contains a line break")
    text = fold_text(cell)
    # A leading apostrophe is how people force text in a spreadsheet; it is not part of the number.
    if text.startswith("'"):
        text = text[1:].strip()
    if not text:
        return None, _("student number is empty")
    if _SCI_TEXT.fullmatch(text):
        return None, _(SCIENTIFIC_NOTATION_MESSAGE)
    m = _INTEGRAL_TEXT.fullmatch(text)
    if m:
        text = m.group(1)
    if " " in text:
        return None, _("student number contains a space")
    return _shaped(text)


def _shaped(text: str) -> tuple[str | None, str | None]:
    problem = shape_problem(text)
    return (None, problem) if problem else (text, None)


def phone_text(cell: object) -> str:
    """A phone number as text; a number typed into the cell loses its ``.0``."""
    if isinstance(cell, float) and math.isfinite(cell) and cell.is_integer():
        return str(int(cell))
    return cell_text(cell)


_DATE_TEXT = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:(?:\s+|T|(?<=日))(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?"
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_EXCEL_EPOCH = datetime(1899, 12, 30)
# Serial numbers Excel can display as a date (1900-01-01 … 9999-12-31).
_SERIAL_MIN, _SERIAL_MAX = 1, 2958465


def _from_serial(value: float) -> datetime | None:
    if not (_SERIAL_MIN <= value <= _SERIAL_MAX):
        return None
    if value < 61:
        # Excel's 1900 calendar has a 29 February that never was; serials below it are one day off.
        value += 1
    dt = _EXCEL_EPOCH + timedelta(days=float(value))
    # Serials carry binary fractions of a day: round to the second.
    if dt.microsecond:
        dt = dt.replace(microsecond=0) + timedelta(seconds=round(dt.microsecond / 1e6))
    return dt


def parse_cell_date(cell: object) -> datetime | None:
    """A date or date-time from a cell, or ``None`` when it holds none.

    Accepts datetime/date cells, Excel serial numbers, and text such as
    ``2026/09/10 08:00:00``, ``2026-09-10 08:00``, ``2026年9月10日``, ``20260910``.
    """
    if cell is None or isinstance(cell, bool):
        return None
    if cell.__class__ is str and len(cell) == 19 and cell[4] in "-/" and cell[7] == cell[4] and cell[10] == " " and cell[13] == cell[16] == ":":
        # A platform's submission time (2026/09/10 08:00:00), read as the general pattern below reads it.
        digits = cell[:4] + cell[5:7] + cell[8:10] + cell[11:13] + cell[14:16] + cell[17:]
        if digits.isascii() and digits.isdigit():
            try:
                return datetime(int(cell[:4]), int(cell[5:7]), int(cell[8:10]), int(cell[11:13]), int(cell[14:16]), int(cell[17:]))
            except ValueError:
                return None
    if isinstance(cell, datetime):
        return cell
    if isinstance(cell, date):
        return datetime(cell.year, cell.month, cell.day)
    if isinstance(cell, (int, float)):
        if isinstance(cell, float) and not math.isfinite(cell):
            return None
        return _from_serial(cell)
    if not isinstance(cell, str):
        return None
    text = fold_text(cell)
    if not text:
        return None
    m = _DATE_TEXT.fullmatch(text)
    parts: tuple[int, ...] | None = None
    if m:
        parts = tuple(int(g) for g in m.groups() if g is not None)
    else:
        m = _COMPACT_DATE.fullmatch(text)
        if m:
            parts = tuple(int(g) for g in m.groups())
        else:
            try:
                return datetime.fromisoformat(text)
            except ValueError:
                pass
            try:
                serial = float(text)
            except ValueError:
                return None
            # Only a plain number that looks like a serial (e.g. "46275" or "46275.33").
            if re.fullmatch(r"\d{5}(?:\.\d+)?", text):
                return _from_serial(serial)
            return None
    try:
        return datetime(*parts)
    except (TypeError, ValueError):
        return None




def date_problem(value: datetime | date) -> str | None:
    """Why a date read from a cell cannot be right, or ``None``."""
    d = value.date() if isinstance(value, datetime) else value
    if d < EARLIEST_DATE or d > LATEST_DATE:
        return _("date {date} is outside {earliest} … {latest}").format(date=d.isoformat(), earliest=EARLIEST_DATE.isoformat(), latest=LATEST_DATE.isoformat())
    return None


_MISSING_TEXT = frozenset({"", "(跳过)", "(空)", "-3", "-2", "(未填)", "(未作答)"})


def is_missing(cell: object) -> bool:
    """True for an unanswered item as the platforms mark it.

    问卷星 writes ``(跳过)`` for a question skipped by logic and ``-3``/``-2`` in
    numeric exports; ``(空)`` is an empty answer; an empty cell is one too.
    """
    if cell is None:
        return True
    if isinstance(cell, bool):
        return False
    if isinstance(cell, (int, float)):
        if isinstance(cell, float) and math.isnan(cell):
            return True
        return cell in (-3, -2)
    if isinstance(cell, str):
        return fold_text(cell).replace(" ", "") in _MISSING_TEXT
    return False


def column_letter(index: int) -> str:
    """0-based column index → spreadsheet letters (0 → ``A``, 26 → ``AA``)."""
    if index < 0:
        raise ValueError("column index must be >= 0")
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# -- writing ------------------------------------------------------------------------------------

# A CSV cell that starts with one of these is prefixed with ' so that a
# spreadsheet never runs user text as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(text: str) -> str:
    """``text`` as a CSV cell that no spreadsheet evaluates."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text
