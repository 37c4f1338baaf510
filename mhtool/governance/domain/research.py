"""De-identified research exports: the pure core (plain rows in, plain rows out, no I/O).

What leaves the center for research is decided here, by a whitelist: a row
carries a pseudonym, the instrument, scores, band, flags and proposed level,
one date, and the three coarse attributes college, gender and grade. Nothing
else of the response or the dossier is ever copied, so a new field added to a
record later cannot leak by accident.

* **Pseudonyms** are ``HMAC-SHA256(key, student number)``, truncated and
  prefixed (``P-3f9a2c1b7d04``). The key is random per export, so two exports
  cannot be joined, unless the export asks for the store's stable key.
* **Dates** move by a per-student offset of 1 to 180 days either way, derived
  from the same key: all dates of one student move together, so intervals
  survive, while the calendar date does not. ``month_only`` keeps the real
  month instead and drops the day.
* **Small cells**: every released combination of college × gender × grade
  covers at least ``k`` students (see :func:`suppress_small_cells`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from mhtool.domain import student_no

PSEUDONYM_PREFIX = "P-"
# 12 hex digits (48 bits): among 50,000 students a collision has a chance of
# about 1 in 200,000; one found anyway lengthens every pseudonym of the export.
PSEUDONYM_HEX = 12
MAX_SHIFT_DAYS = 180
DEFAULT_MIN_CELL = 5
KEY_BYTES = 32

QUASI_IDENTIFIERS = ("college", "gender", "grade")
# The college of students whose college × gender × grade cell was too small.
MERGED_COLLEGE = "其他(合并)"

BASE_HEADERS = ("pseudonym", "batch", "instrument", "version", "date", "college", "gender", "grade", "band", "proposed_level", "flags")


def new_export_key() -> bytes:
    """A fresh random key for one export; it is never stored or shown."""
    return os.urandom(KEY_BYTES)


def _normalise(number: str) -> bytes:
    return student_no.normalise(number).encode("utf-8")


def _mac(key: bytes, purpose: bytes, student_no: str) -> bytes:
    return hmac.new(key, b"mhtool/research/" + purpose + b"|" + _normalise(student_no), hashlib.sha256).digest()


def pseudonym(key: bytes, student_no: str, *, length: int = PSEUDONYM_HEX) -> str:
    """The student's pseudonym under ``key`` (e.g. ``P-3f9a2c1b7d04``)."""
    return PSEUDONYM_PREFIX + _mac(key, b"pseudonym", student_no).hex()[:length]


def assign_pseudonyms(key: bytes, numbers: Iterable[str]) -> dict[str, str]:
    """Pseudonyms for distinct student numbers, lengthened until none collide."""
    numbers = list(dict.fromkeys(numbers))
    length = PSEUDONYM_HEX
    while True:
        out = {no: pseudonym(key, no, length=length) for no in numbers}
        if len(set(out.values())) == len(out):
            return out
        length += 4


def date_offset(key: bytes, student_no: str, max_days: int = MAX_SHIFT_DAYS) -> int:
    """The student's date shift under ``key``: never 0, between -max_days and +max_days."""
    value = int.from_bytes(_mac(key, b"date-offset", student_no)[:8], "big") % (2 * max_days)
    return value - max_days if value < max_days else value - max_days + 1


def shift_date(day: date, offset: int) -> date:
    return day + timedelta(days=offset)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _as_date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# -- small cells ------------------------------------------------------------------------------


@dataclass
class Suppression:
    k: int
    cells_merged: int = 0
    cells_blanked: int = 0
    students_withheld: int = 0
    rows_withheld: int = 0

    def as_dict(self) -> dict:
        return dict(vars(self))


def _cell(row: dict, keys: Sequence[str]) -> tuple:
    return tuple((row.get(k) or "") for k in keys)


def _students_per_cell(rows: list[dict], keys: Sequence[str], subject: str) -> dict[tuple, set]:
    cells: dict[tuple, set] = defaultdict(set)
    for row in rows:
        cells[_cell(row, keys)].add(row[subject])
    return cells


def suppress_small_cells(
    rows: Iterable[dict],
    k: int = DEFAULT_MIN_CELL,
    *,
    keys: Sequence[str] = QUASI_IDENTIFIERS,
    subject: str = "pseudonym",
) -> tuple[list[dict], Suppression]:
    """Make every released ``keys`` combination cover at least ``k`` distinct subjects.

    1. Cells (college × gender × grade) under ``k`` lose their college: they are
       merged into ``MERGED_COLLEGE`` within the same gender × grade. A merged
       cell of ``k`` or more mixes at least two colleges' small cells, so no
       one can tell which college a row came from.
    2. Merged cells still under ``k`` lose gender and grade too (blanked).
    3. If the blanked rows together still cover fewer than ``k`` subjects,
       they are withheld from the export.

    Returns new row dicts (the input is not changed) and what was done.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    first, *rest = keys
    out = [dict(r) for r in rows]
    report = Suppression(k=k)
    small = {c for c, members in _students_per_cell(out, keys, subject).items() if len(members) < k}
    report.cells_merged = len(small)
    for row in out:
        if _cell(row, keys) in small:
            row[first] = MERGED_COLLEGE
    merged = [r for r in out if r[first] == MERGED_COLLEGE]
    still_small = {c for c, members in _students_per_cell(merged, keys, subject).items() if len(members) < k}
    report.cells_blanked = len(still_small)
    for row in merged:
        if _cell(row, keys) in still_small:
            for key in rest:
                row[key] = ""
    blanked = {r[subject] for r in out if r[first] == MERGED_COLLEGE and all(not r[key] for key in rest)}
    if blanked and len(blanked) < k:
        kept = [r for r in out if not (r[first] == MERGED_COLLEGE and all(not r[key] for key in rest))]
        report.students_withheld = len(blanked)
        report.rows_withheld = len(out) - len(kept)
        out = kept
    return out, report


def smallest_cell(rows: Iterable[dict], keys: Sequence[str] = QUASI_IDENTIFIERS, subject: str = "pseudonym") -> int:
    """The fewest distinct subjects any released combination covers (0 when there are no rows)."""
    cells = _students_per_cell(list(rows), keys, subject)
    return min((len(m) for m in cells.values()), default=0)


# -- the table --------------------------------------------------------------------------------


@dataclass
class ResearchTable:
    headers: list[str]
    rows: list[list]
    students: int
    suppression: Suppression
    score_keys: list[str] = field(default_factory=list)


def build_table(
    responses: Iterable[dict],
    *,
    key: bytes,
    month_only: bool = False,
    k: int = DEFAULT_MIN_CELL,
) -> ResearchTable:
    """One row per response, de-identified.

    Each input dict needs ``student_no``, ``on_date`` (a date or ISO text),
    ``batch``, ``instrument``, ``version``, ``scores`` (a dict), ``band``,
    ``flags``, ``proposed_level``, and the student's ``college``, ``gender`` and
    ``grade``. Only these are read. Rows are ordered by pseudonym, which says
    nothing about the order of student numbers.
    """
    responses = list(responses)
    names = assign_pseudonyms(key, (r["student_no"] for r in responses))
    offsets: dict[str, int] = {}
    plain: list[dict] = []
    score_keys: list[str] = []
    for r in responses:
        no = r["student_no"]
        day = _as_date(r.get("on_date"))
        if day is None:
            shown = None
        elif month_only:
            shown = month_of(day)
        else:
            if no not in offsets:
                offsets[no] = date_offset(key, no)
            shown = shift_date(day, offsets[no])
        scores = dict(r.get("scores") or {})
        for name in scores:
            if name not in score_keys:
                score_keys.append(name)
        plain.append(
            {
                "pseudonym": names[no],
                "batch": r.get("batch") or "",
                "instrument": r.get("instrument") or "",
                "version": r.get("version") or "",
                "date": shown,
                "college": _text(r.get("college")),
                "gender": _text(r.get("gender")),
                "grade": _text(r.get("grade")),
                "band": r.get("band") or "",
                "proposed_level": r.get("proposed_level") or "",
                "flags": ",".join(sorted(str(f) for f in (r.get("flags") or []))),
                "scores": scores,
            }
        )
    kept, report = suppress_small_cells(plain, k)
    kept.sort(key=lambda row: (row["pseudonym"], str(row["date"] or ""), row["instrument"], row["batch"]))
    headers = [*BASE_HEADERS, *(f"score_{name}" for name in score_keys)]
    rows = [[row[h] for h in BASE_HEADERS] + [row["scores"].get(name) for name in score_keys] for row in kept]
    return ResearchTable(headers, rows, len({row["pseudonym"] for row in kept}), report, score_keys)


def _text(value) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip() if value not in (None, "") else ""
