"""Reading one sheet of a survey export or roster into plain rows.

The only I/O of the survey-reading layer. The format is chosen from the file's
bytes, never from its name: survey platforms and counselors rename files freely
(问卷星 serves HTML as ``.xls``; an ``.xls`` is often an ``.xlsx`` renamed).

Workbooks are read with python-calamine, which is an order of magnitude faster
than openpyxl on the 10,000-row exports of a census; openpyxl is used only where
calamine cannot give what is needed (a damaged workbook calamine refuses, and
formula cells saved without a cached value, which calamine shows as empty).

calamine allocates a sheet's whole used range (from A1 to the last cell holding
a value) and parts of a legacy ``.xls`` from sizes the file declares, and a
native allocation that fails ends the process. So nothing reaches it before the
used range has been measured from the file itself (:func:`_xlsx_extent`,
:func:`_scan_xls`) and found sane (:func:`_check_extent`). Any file that cannot
be read is an :class:`InvalidInput` naming it (exit 3), never a crash.

A password-protected workbook is decrypted in memory (msoffcrypto-tool) when a
password is given; the decrypted bytes never touch the disk.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import struct
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from xml.etree import ElementTree

from mhtool.errors import InvalidInput, Problem, UsageError
from mhtool.i18n import N_, _
from mhtool.io.cells import (
    cell_text,
    column_letter,
    date_problem,
    fold_text,
    is_formula_text,
    parse_cell_date,
    phone_text,
    student_no,
)
from mhtool.io.profiles import FieldSpec, HeaderLayout, Profile, detect_profile, get_profile, load_profiles

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_CELLS",
    "ColumnMapping",
    "ExportChunk",
    "ExportReader",
    "ItemColumn",
    "ParsedExport",
    "ParsedTable",
    "RawSheet",
    "ReadAgain",
    "SheetRows",
    "decode_text",
    "describe_mapping",
    "parse_export",
    "parse_table",
    "open_sheet",
    "read_export",
    "read_password_file",
    "read_sheet",
    "read_table",
]

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An xlsx saved with a password is an OLE2 container holding these two streams.
_ENCRYPTION_STREAMS = tuple(
    name.encode(enc) for name in ("EncryptionInfo", "EncryptedPackage") for enc in ("utf-16-le", "ascii")
)
_TEXT_ENCODINGS = ("UTF-8", "UTF-8 with BOM", "UTF-16 with BOM", "GB18030 (GBK)")
# Hints shared by several messages: marked here, translated where they are raised.
_PASSWORD_HINT = N_(
    "pass --password-file FILE (a file holding the password), or open it in Excel or WPS, remove the password "
    "(文件 → 信息 → 保护工作簿 / 加密), save, and import again"
)
_DAMAGED_HINT = N_("open and re-save it in Excel or WPS, or export it again")

# What a sheet may be. A spreadsheet has at most 16,384 columns (XFD) and 1,048,576 rows; the
# readers hold the whole rectangle from A1 to the last cell with a value, so it is bounded
# (twice a 50,000-student SCL-90 export), and a large rectangle must be reasonably filled: a
# stray value far below or right of the table makes a 5 KB file ask for gigabytes.
MAX_COLUMNS = 16_384
MAX_ROWS = 1_048_576
MAX_CELLS = 12_000_000
SPARSE_CELLS = 2_000_000  # above this, at least one cell in SPARSE_RATIO must hold a value
SPARSE_RATIO = 8
MAX_SHARED_STRINGS = 5_000_000
MAX_SHEET_XML = 2 << 30  # bytes of one worksheet's XML once unzipped
_TRIM_HINT = N_(
    "a value far outside the table (often a stray space or a format) makes the sheet's used range huge: "
    "in Excel or WPS delete the empty rows below and the empty columns right of the table, save, and import again"
)


@dataclass(frozen=True)
class RawSheet:
    """The cells of one sheet as Python values, row by row.

    ``rows[i][j]`` is the cell at spreadsheet row ``i + 1``, column ``j + 1``
    (leading empty rows and columns are kept, so positions match what the user
    sees). Cells are ``str``, ``int``, ``float``, ``bool``, ``datetime``,
    ``date``, ``time``, ``timedelta`` or ``None`` for an empty cell; every row
    has the same length. ``file`` is the base name, for messages; ``sheet`` is
    ``""`` for CSV files.
    """

    file: str
    sheet: str
    rows: list[list] = field(repr=False)
    format: str = ""


class SheetRows:
    """One sheet's rows, read in order and once: an import holds a chunk of rows at a time, not the sheet.

    Rows come as :class:`RawSheet` describes them, except that an empty text
    cell may still be ``""`` and trailing empty rows and columns are not
    trimmed (a reader that needs the sheet's true width measures it as it
    goes). A workbook read by calamine stays in calamine's own compact memory
    until :meth:`close`; a CSV, HTML table or a workbook that needed openpyxl
    is a :class:`RawSheet` already.
    """

    def __init__(self, file: str, sheet: str, fmt: str, rows: Iterable[list], width: int, *, raw: RawSheet | None = None, close=None, whole=None):
        self.file = file
        self.sheet = sheet
        self.format = fmt
        self.width = width
        self.raw = raw
        self._rows = iter(rows)
        self._close = close
        self._whole = whole

    def readable(self) -> bool:
        """Whether every part of the sheet could be read: a sheet read in pieces may fail in a piece not reached yet.

        Read whole, a sheet that cannot be read fails before its first row;
        whoever stops early with an error of their own asks this first, so
        that the file's damage is what gets reported, as it would be.
        """
        return self._whole() if self._whole is not None else True

    @classmethod
    def of(cls, raw: RawSheet) -> SheetRows:
        width = max((len(r) for r in raw.rows), default=0)
        rows = (r if len(r) == width else list(r) + [None] * (width - len(r)) for r in raw.rows)
        return cls(raw.file, raw.sheet, raw.format, rows, width, raw=raw)

    @classmethod
    def of_calamine(cls, file: str, sheet: str, fmt: str, cal_sheet, close, *, damaged) -> SheetRows:
        start = cal_sheet.start or (0, 0)
        width = start[1] + cal_sheet.width

        def rows():
            # iter_rows() gives the empty rows above the used range but starts each row at its first
            # column: the columns left of it are put back, so that positions are the sheet's.
            pad = [None] * start[1]
            try:
                for row in cal_sheet.iter_rows():
                    yield pad + row if pad else row
            except Exception as exc:  # noqa: BLE001 - a cell calamine cannot hand over is a damaged file
                raise damaged(exc) from None

        return cls(file, sheet, fmt, rows(), width, close=close)

    def __iter__(self) -> Iterator[list]:
        return self._rows

    def close(self) -> None:
        close, self._close = self._close, None
        self._rows = iter(())
        if close is not None:
            close()

    def __enter__(self) -> SheetRows:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_password_file(path: str | os.PathLike, option: str = "--password-file") -> str:
    """The password held in a file (first line; a trailing newline is not part of it)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise UsageError(_("{option}: no such file: {path}").format(option=option, path=p)) from None
    except IsADirectoryError:
        raise UsageError(_("{option}: {path} is a folder, not a file holding the password").format(option=option, path=p)) from None
    except OSError as exc:
        raise UsageError(_("{option}: cannot read {path} ({reason})").format(option=option, path=p, reason=exc.strerror or exc)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(
            _("{option}: {path} is not UTF-8 text").format(option=option, path=p), hint=_("save the password file as UTF-8 text")
        ) from None
    password = text.split("\n", 1)[0].rstrip("\r")
    if not password:
        raise UsageError(_("{option}: {path} is empty").format(option=option, path=p), hint=_("put the workbook's password on the first line"))
    return password


def read_sheet(path: str | Path, sheet: str | int | None = None, *, password: str | None = None) -> RawSheet:
    """Read one sheet (a 0-based index or a name; default: the first with data).

    ``password`` opens a password-protected workbook (decrypted in memory).
    Every file that cannot be read raises :class:`InvalidInput` naming it.
    """
    name, data = _file_bytes(path)
    return _reading(name, lambda: _read_bytes(name, data, sheet, password))


def open_sheet(
    path: str | Path, sheet: str | int | None = None, *, password: str | None = None, data: bytes | None = None, pieces: bool = True
) -> SheetRows:
    """The sheet :func:`read_sheet` would read, as rows read once in order (close it, or use it in a ``with``).

    A workbook calamine reads is not turned into Python lists as a whole, so
    memory stays flat however many rows an export has. An ``.xlsx`` sheet is
    read in pieces parsed on a second thread (:class:`_XlsxPieces`); reading
    its rows may then raise :class:`ReadAgain`, and ``pieces=False`` reads it
    whole. ``data``: the file's bytes, when the caller has read them already.
    """
    if data is None:
        name, data = _file_bytes(path)
    else:
        name = Path(path).name
    found = _reading(name, lambda: _read_bytes(name, data, sheet, password, stream="pieces" if pieces else "whole"))
    return found if isinstance(found, SheetRows) else SheetRows.of(found)


def _file_bytes(path: str | Path) -> tuple[str, bytes]:
    p = Path(path)
    name = p.name
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(_("{file}: file not found ({path})").format(file=name, path=p)) from None
    except IsADirectoryError:
        raise InvalidInput(_("{file}: is a directory, not a file").format(file=name)) from None
    except MemoryError:
        raise InvalidInput(_("{file}: the file is too large to read").format(file=name)) from None
    except OSError as exc:
        raise InvalidInput(_("{file}: cannot read the file ({reason})").format(file=name, reason=exc.strerror or exc)) from None
    if not data:
        raise InvalidInput(_("{file}: the file is empty").format(file=name), hint=_("export the survey again"))
    return name, data


def _reading(name: str, read):
    """``read()``, with any failure of a reader turned into invalid input naming the file."""
    try:
        return read()
    except (InvalidInput, UsageError):
        raise
    except MemoryError:
        raise InvalidInput(_("{file}: the file is too large to read").format(file=name), hint=_(_DAMAGED_HINT)) from None
    except BaseException as exc:  # noqa: BLE001 - a reader's failure (a Rust panic is a BaseException) is a bad file
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise _damaged(name, exc) from None


def _read_bytes(name: str, data: bytes, sheet: str | int | None, password: str | None, *, stream: bool | str = False) -> RawSheet | SheetRows:
    head = data[:8]
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _read_zip_workbook(name, data, sheet, stream=stream)
    if head == _OLE2_MAGIC:
        return _read_ole2(name, data, sheet, password, stream=stream)
    if _looks_like_html(data):
        return _read_html(name, data, sheet)
    return _read_delimited(name, data, sheet)


def _damaged(name: str, exc: BaseException) -> InvalidInput:
    text = str(exc).strip()
    detail = text.splitlines()[0] if text else type(exc).__name__
    return InvalidInput(_("{file}: the workbook is damaged and cannot be read ({detail})").format(file=name, detail=detail[:200]), hint=_(_DAMAGED_HINT))


# ---------------------------------------------------------------- the used range


@dataclass
class _Extent:
    """How far a sheet's cells reach: the last row and column holding a value (1-based), and how many cells do."""

    rows: int
    cols: int
    cells: int
    has_formula: bool = False


def _range_text(rows: int, cols: int) -> str:
    if rows <= 0 or cols <= 0:
        return "A1"
    if cols > MAX_COLUMNS:
        return _("A1 to row {rows}, column {columns}").format(rows=f"{rows:,}", columns=f"{cols:,}")
    return f"A1:{column_letter(cols - 1)}{rows}"


def _check_extent(where: str, ext: _Extent) -> None:
    """Refuse a sheet whose used range no reader should be asked to hold."""
    area = ext.rows * ext.cols
    rng = _range_text(ext.rows, ext.cols)
    if ext.cols > MAX_COLUMNS or ext.rows > MAX_ROWS:
        raise InvalidInput(
            _("{where}: a cell lies beyond the last row or column a spreadsheet can have (used range {range}); the file is damaged").format(
                where=where, range=rng
            ),
            hint=_(_DAMAGED_HINT),
        )
    if area > MAX_CELLS:
        raise InvalidInput(
            _("{where}: the used range {range} ({rows} rows × {columns} columns) is larger than the {limit} cells mhtool reads from one sheet").format(
                where=where, range=rng, rows=f"{ext.rows:,}", columns=f"{ext.cols:,}", limit=f"{MAX_CELLS:,}"
            ),
            hint=_(_TRIM_HINT) if ext.cells * SPARSE_RATIO < area else _("split the export into several files"),
        )
    if area > SPARSE_CELLS and ext.cells * SPARSE_RATIO < area:
        raise InvalidInput(
            _("{where}: the used range {range} ({area} cells) is far larger than the {cells} cells that hold a value").format(
                where=where, range=rng, area=f"{area:,}", cells=f"{ext.cells:,}"
            ),
            hint=_(_TRIM_HINT),
        )


def _bounded_area(where: str, rows: int, cols: int, cells: int) -> None:
    _check_extent(where, _Extent(rows, cols, cells))


# xlsx: the worksheet XML is scanned in chunks, cut before the last "<" so no tag is split.
_CHUNK = 1 << 22
_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
_SHEET_DATA = re.compile(rb"<(?:[\w.-]+:)?sheetData[\s>/]")
_CELL_OR_ROW = re.compile(rb"<(/?)(?:[\w.-]+:)?(row|c)(?=[\s/>])([^>]*)>")
_R_ATTR = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([^\"']*)[\"']")
_REF = re.compile(rb"([A-Za-z]*)([0-9]*)")
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_FORMULA_PLAIN = re.compile(rb"<f[\s>/]")
_PREFIXED_TAG = re.compile(rb":[cf][\s>/]")
_ROOT_PREFIX = re.compile(rb"<(\w+:)?worksheet[\s>]")
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _letters_value(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _digits_greater(n: int) -> bytes:
    """A regex for decimal numbers (leading zeros allowed) greater than ``n``."""
    s = str(n)
    alts = [b"[1-9][0-9]{%d,}" % len(s)]
    for i, ch in enumerate(s):
        if ch < "9":
            alts.append(s[:i].encode() + b"[%c-9]" % (ord(ch) + 1) + b"[0-9]" * (len(s) - i - 1))
    return b"0*+(?:" + b"|".join(alts) + b")"


def _letters_greater(n: int) -> bytes:
    """A regex for column letters (either case) of a column after the ``n``-th (1-based)."""
    s = column_letter(n - 1) if n >= 1 else ""
    alts = [b"[A-Za-z]{%d,}+" % (len(s) + 1)]
    for i, ch in enumerate(s):
        if ch < "Z":
            nxt = chr(ord(ch) + 1)
            prefix = b"".join(b"[%c%c]" % (c.encode()[0], c.lower().encode()[0]) for c in s[:i])
            alts.append(prefix + f"[{nxt}-Z{nxt.lower()}-z]".encode() + b"[A-Za-z]" * (len(s) - i - 1))
    return b"(?:" + b"|".join(alts) + b")"


def _odd_cells(prefix: bytes, claim: tuple[int, int] | None) -> re.Pattern:
    """A cell start tag that does not begin with an ``r="…"`` reference, or (given the declared
    last row and column) a cell holding something whose reference lies beyond them."""
    odd = b'(?! r=")[\\s/>]'
    if claim is not None:
        rows, cols = claim
        # Possessive: letters never give back to the digits, nor digits to the quote (a third of the time of a search).
        beyond = _letters_greater(cols) + b"[0-9]*+|[A-Za-z]*+" + _digits_greater(rows)
        odd = b' r="(?:' + beyond + rb')"[^>]*(?<!/)>|' + odd
    return re.compile(b"<" + re.escape(prefix) + b"c(?:" + odd + b")")


# What a cell start tag "<c" may be followed by (\s of a bytes pattern, "/" and ">"), and room read past a chunk's end.
_CELL_TAG_END = b" \t\n\r\f\v/>"
# The same as a table of the 256 byte values, for numpy to look bytes up in (np.isin would sort, and import numpy.ma).
_CELL_TAG_END_TABLE = bytes(1 if b in _CELL_TAG_END else 0 for b in range(256))
_CELLS_PAD = b"\0" * 24


def _cells_within(body: bytes, claim: tuple[int, int]) -> bool:
    """Whether every cell start tag in ``body`` begins with an ``r="…"`` reference of 1–3 letters and
    1–7 digits that lies within ``claim``: then ``_odd_cells(b"", claim)`` finds nothing in it.

    A stricter question than the pattern's, asked of all the cells of a chunk at once by
    numpy in about half the pattern's time (a census sheet's cells all pass it); ``False``
    only means the pattern must tell.
    """
    import numpy as np

    rows, cols = claim
    n = len(body)
    a = np.frombuffer(body + _CELLS_PAD, np.uint8)
    at = np.flatnonzero(a[:n] == 0x3C)
    at = at[a[at + 1] == 0x63]
    at = at[np.frombuffer(_CELL_TAG_END_TABLE, np.bool_)[a[at + 2]]]
    if not len(at):
        return True
    if not ((a[at + 2] == 0x20) & (a[at + 3] == 0x72) & (a[at + 4] == 0x3D) & (a[at + 5] == 0x22)).all():
        return False
    i = at + 6
    col = np.zeros(len(at), np.int64)
    for _ in range(3):
        c = a[i] | 0x20
        letter = (c >= 0x61) & (c <= 0x7A)
        col = np.where(letter, col * 26 + (c.astype(np.int64) - 0x60), col)
        i = i + letter
    start = i
    row = np.zeros(len(at), np.int64)
    for _ in range(7):
        c = a[i]
        digit = (c >= 0x30) & (c <= 0x39)
        row = np.where(digit, row * 10 + (c.astype(np.int64) - 0x30), row)
        i = i + digit
    # A fourth letter or an eighth digit leaves no quote here.
    return bool((a[i] == 0x22).all() and (i > start).all() and (col >= 1).all() and (col <= cols).all() and (row <= rows).all())


def _foreign_cells(prefix: bytes) -> re.Pattern:
    """A cell under another namespace prefix than the root's (calamine matches cells by local name)."""
    if not prefix:
        return re.compile(rb"<[\w.-]+:c[\s/>]")
    return re.compile(b"<(?:c|(?!" + re.escape(prefix) + rb"c[\s/>])[\w.-]+:c)[\s/>]")


def _parse_ref(ref: bytes) -> tuple[int, int] | None:
    """``b"XFD4000"`` → (4000, 16384), 1-based; ``None`` when it is not a cell reference."""
    m = _REF.fullmatch(ref.strip())
    if not m or not m.group(1) or not m.group(2):
        return None
    letters, digits = m.groups()
    if len(letters) > 4 or len(digits) > 9:
        return (MAX_ROWS + 1, MAX_COLUMNS + 1)
    return int(digits), _letters_value(letters)


def _xml_chunks(zf: zipfile.ZipFile, member: str, where: str, size: int = _CHUNK):
    """The member's bytes in chunks that end before a ``<`` (no tag is split)."""
    total = 0
    with zf.open(member) as fh:
        tail = b""
        while True:
            chunk = fh.read(size)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_SHEET_XML:
                raise InvalidInput(_("{where}: the sheet is larger than mhtool reads ({size} GiB of XML)").format(where=where, size=MAX_SHEET_XML >> 30),
                                   hint=_("split the export into several files"))
            block = tail + chunk
            cut = block.rfind(b"<")
            if cut <= 0:
                tail = block
                continue
            yield block[:cut]
            tail = block[cut:]
        if tail:
            yield tail


def _sheet_head(zf: zipfile.ZipFile, member: str) -> tuple[bytes, bytes, re.Match | None, tuple[int, int] | None]:
    """The start of a worksheet's XML, its namespace prefix, where <sheetData> starts, and the last cell its <dimension> claims."""
    with zf.open(member) as fh:
        head = fh.read(1 << 16)
    m = _ROOT_PREFIX.search(head)
    prefix = (m.group(1) or b"") if m else b""
    data_at = _SHEET_DATA.search(head)
    dim = _DIMENSION.search(head, 0, data_at.start() if data_at else len(head))
    claim = None
    if dim:
        parts = dim.group(1).split(b":")
        ends = [_parse_ref(x) for x in parts]
        if 1 <= len(parts) <= 2 and all(ends):
            claim = ends[-1]
            if claim[0] > MAX_ROWS or claim[1] > MAX_COLUMNS or claim[0] * claim[1] > MAX_CELLS:
                claim = None  # inflated or absurd: measure instead
    return head, prefix, data_at, claim


def _xlsx_extent(zf: zipfile.ZipFile, member: str, where: str) -> _Extent:
    """How far the cells of one worksheet reach, read from its XML without building it.

    Writers put the reference first in every cell (``<c r="B7" …>``); when all
    cells do, one pass of byte counts and a search for a reference beyond the
    ``<dimension>`` the file declares is enough, and a second pass collects the
    distinct columns and rows only when that declaration is missing or wrong.
    Any other shape is walked cell by cell, with positions implied by order
    where a cell has no reference, as calamine places them.
    """
    head, prefix, data_at, claim = _sheet_head(zf, member)
    closing = b"</" + prefix + b"c>"
    needle = b"<" + prefix + b"f"
    with_ref = b"<" + prefix + b'c r="'
    prefix_free = not prefix
    foreign = _foreign_cells(prefix)
    odd = _odd_cells(prefix, claim)
    unnamed = _odd_cells(prefix, None)
    cells = 0
    formula = False
    beyond = False
    for body in _xml_chunks(zf, member, where):
        cells += body.count(closing)
        if not formula and needle in body and _FORMULA_TAG.search(body):
            formula = True
        found = (unnamed if beyond else odd).search(body)
        if found is not None and found.group(0).startswith(with_ref):
            beyond = True
            found = unnamed.search(body)
        if found is not None or ((b":c" in body or not prefix_free) and foreign.search(body)):
            # A cell without its reference first, or under a prefix the root does not use.
            return _xlsx_extent_exact(zf, member, where, prefix)
    if claim is not None and not beyond:
        rows, cols = claim
        if rows * cols <= SPARSE_CELLS or cells * SPARSE_RATIO >= rows * cols:
            return _Extent(rows, cols, cells, formula)
    # Every cell names its place: the distinct columns and rows are few, so sets of them are cheap.
    valued = b"\"[^>]*(?<!/)>"
    col_re = re.compile(re.escape(with_ref) + b"([A-Za-z]+)[0-9]*" + valued)
    row_re = re.compile(re.escape(with_ref) + b"[A-Za-z]*([0-9]+)" + valued)
    letters: set[bytes] = set()
    numbers: set[bytes] = set()
    for body in _xml_chunks(zf, member, where):
        letters.update(col_re.findall(body))
        numbers.update(row_re.findall(body))
    max_col = max((_letters_value(x) if len(x) <= 4 else MAX_COLUMNS + 1 for x in letters), default=0)
    max_row = max((int(x) if len(x) <= 9 else MAX_ROWS + 1 for x in numbers), default=0)
    return _Extent(max_row, max_col, cells, formula)


def _xlsx_extent_exact(zf: zipfile.ZipFile, member: str, where: str, prefix: bytes) -> _Extent:
    row_index = 0
    col_index = 0
    max_row = max_col = cells = 0
    formula = False
    needle = b"<" + prefix + b"f"
    for body in _xml_chunks(zf, member, where):
        if not formula and needle in body and _FORMULA_TAG.search(body):
            formula = True
        for m in _CELL_OR_ROW.finditer(body):
            closing, tag, attrs = m.groups()
            if closing:
                if tag == b"row":
                    row_index += 1
                    col_index = 0
                continue
            if attrs.endswith(b"/"):
                continue
            r = _R_ATTR.search(attrs)
            if tag == b"row":
                if r:
                    pos = _parse_ref(b"A" + r.group(1).strip())
                    if pos is not None:
                        row_index = pos[0] - 1
                continue
            pos = _parse_ref(r.group(1)) if r else None
            if pos is not None:
                row, col = pos[0] - 1, pos[1] - 1
            else:
                row, col = row_index, col_index
            col_index = col + 1
            cells += 1
            if row + 1 > max_row:
                max_row = row + 1
            if col + 1 > max_col:
                max_col = col + 1
            if max_row > MAX_ROWS or max_col > MAX_COLUMNS:
                return _Extent(max_row, max_col, cells, formula)
    return _Extent(max_row, max_col, cells, formula)


_SST_COUNT = re.compile(rb"<(?:[\w.-]+:)?sst\b[^>]*?(?<![\w:.-])uniqueCount\s*=\s*[\"']\s*([0-9]+)")


def _check_shared_strings(zf: zipfile.ZipFile, name: str) -> None:
    """calamine reserves room for the number of strings the table declares; a lying count is refused."""
    for info in zf.infolist():
        if info.filename.lower().endswith("sharedstrings.xml"):
            with zf.open(info) as fh:
                head = fh.read(1 << 16)
            m = _SST_COUNT.search(head)
            if m and int(m.group(1)) > MAX_SHARED_STRINGS:
                raise InvalidInput(
                    _("{file}: the workbook declares {count} shared strings, more than mhtool reads ({limit}); the file is damaged or not a survey export").format(
                        file=name, count=f"{int(m.group(1)):,}", limit=f"{MAX_SHARED_STRINGS:,}"
                    ),
                    hint=_(_DAMAGED_HINT),
                )


class _XlsxSheets:
    """Which XML member holds which worksheet, and each one's extent once measured."""

    def __init__(self, zf: zipfile.ZipFile, name: str):
        self.zf = zf
        self.name = name
        self.members = set(zf.namelist())
        self.by_sheet: dict[str, str] = {}
        self.extents: dict[str, _Extent] = {}
        try:
            wb_xml = ElementTree.fromstring(zf.read("xl/workbook.xml"))
            rels_xml = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        except (KeyError, ElementTree.ParseError, ValueError):
            return
        targets = {}
        for rel in rels_xml:
            target = rel.get("Target", "")
            absolute = target.startswith("/")
            targets[rel.get("Id")] = target.lstrip("/") if absolute else str(PurePosixPath("xl") / target)
        for el in wb_xml.iter():
            if isinstance(el.tag, str) and (el.tag.endswith("}sheet") or el.tag == "sheet"):
                path = targets.get(el.get(_NS_REL))
                if el.get("name") is not None and path:
                    self.by_sheet[el.get("name")] = os.path.normpath(path).replace(os.sep, "/")

    def _candidates(self, sheet: str) -> list[str]:
        member = self.by_sheet.get(sheet)
        if member in self.members:
            return [member]
        # Where the workbook does not say plainly which part holds the sheet, every part that
        # could be a worksheet is measured; the largest counts.
        return sorted(m for m in self.members if m.lower().endswith(".xml") and "sheet" in m.lower()
                      and "sharedstrings" not in m.lower())

    def extent(self, sheet: str) -> _Extent:
        if sheet not in self.extents:
            where = _("{file}, sheet {sheet}").format(file=self.name, sheet=sheet)
            best = _Extent(0, 0, 0)
            for member in self._candidates(sheet):
                ext = _xlsx_extent(self.zf, member, where)
                _check_extent(where, ext)
                if ext.rows * ext.cols >= best.rows * best.cols:
                    best = _Extent(ext.rows, ext.cols, max(ext.cells, best.cells), ext.has_formula or best.has_formula)
            self.extents[sheet] = best
        return self.extents[sheet]


# ---------------------------------------------------------------- workbooks


def _read_zip_workbook(name: str, data: bytes, sheet: str | int | None, *, stream: bool | str = False) -> RawSheet | SheetRows:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        members = zf.namelist()
        # calamine tries xlsx, then xlsb, then OpenDocument on the same bytes: a workbook that
        # also carries the parts of one of the others must be refused before it gets there.
        if "mimetype" in members and b"opendocument" in zf.read("mimetype")[:200]:
            # Not a survey platform's format, and calamine expands its repeated rows and columns
            # up to 100 million cells before any check could see them.
            raise InvalidInput(
                _("{file}: is an OpenDocument spreadsheet (.ods), which mhtool does not read").format(file=name),
                hint=_("save it as .xlsx (Excel 工作簿) in LibreOffice or WPS and import again"),
            )
        if any(m.lower().endswith("workbook.bin") for m in members):
            raise InvalidInput(
                _("{file}: is a binary Excel workbook (.xlsb), which mhtool does not read").format(file=name),
                hint=_("save it as .xlsx (Excel 工作簿) and import again"),
            )
        if not any(m.startswith("xl/") for m in members):
            raise InvalidInput(
                _("{file}: is a zip archive but not an Excel workbook").format(file=name),
                hint=_("export the survey as .xlsx, .xls or .csv"),
            )
        fmt = "xlsx"
        _check_shared_strings(zf, name)
        guard = _XlsxSheets(zf, name)
    except (InvalidInput, UsageError):
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, KeyError, EOFError, NotImplementedError,
            RuntimeError, ValueError, struct.error) as exc:
        raise _damaged(name, exc) from None
    try:
        raw = _read_with_calamine(name, data, sheet, fmt, guard, stream=stream)
    except (InvalidInput, UsageError):
        raise
    except Exception as calamine_error:  # noqa: BLE001 - any calamine failure gets the openpyxl fallback
        return _read_with_openpyxl(name, data, sheet, calamine_error, guard)
    if isinstance(raw, SheetRows):
        return raw
    if guard.extent(raw.sheet).has_formula:
        _restore_uncached_formulas(data, raw)
    return raw


def _read_ole2(name: str, data: bytes, sheet: str | int | None, password: str | None, *, stream: bool | str = False) -> RawSheet | SheetRows:
    if any(marker in data for marker in _ENCRYPTION_STREAMS):
        if password is None:
            raise InvalidInput(_("{file}: the workbook is password-protected; save it without a password").format(file=name), hint=_(_PASSWORD_HINT))
        return _read_bytes(name, _decrypt(name, data, password), sheet, None, stream=stream)
    scan = _scan_xls(name, data)
    if scan.encrypted:
        if password is None:
            raise InvalidInput(_("{file}: the workbook is password-protected; save it without a password").format(file=name), hint=_(_PASSWORD_HINT))
        plain = _decrypt(name, data, password)
        if plain[:8] != _OLE2_MAGIC or _scan_xls(name, plain).encrypted:
            raise InvalidInput(_("cannot open {file}: the workbook could not be decrypted").format(file=name), hint=_(_DAMAGED_HINT))
        return _read_ole2(name, plain, sheet, None, stream=stream)
    try:
        return _read_with_calamine(name, data, sheet, "xls", None, stream=stream)
    except (InvalidInput, UsageError):
        raise
    except Exception as exc:  # noqa: BLE001
        if "password" in str(exc).lower() or type(exc).__name__ == "PasswordError":
            raise InvalidInput(
                _("{file}: the workbook is password-protected; save it without a password").format(file=name), hint=_(_PASSWORD_HINT)
            ) from None
        raise _damaged(name, exc) from None


def _decrypt(name: str, data: bytes, password: str) -> bytes:
    """The workbook decrypted in memory; a wrong password is invalid input (exit 3)."""
    import msoffcrypto
    from msoffcrypto.exceptions import InvalidKeyError

    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        try:
            office.load_key(password=password, verify_password=True)
        except TypeError:  # formats whose load_key has no verify_password (legacy .xls)
            office.load_key(password=password)
        out = io.BytesIO()
        office.decrypt(out)
    except InvalidKeyError:
        raise InvalidInput(_("cannot open {file}: wrong password").format(file=name),
                           hint=_("check the password file (only its first line is the password)")) from None
    except Exception as exc:  # noqa: BLE001 - msoffcrypto raises many kinds for damaged containers
        text = str(exc).strip()
        if "password" in text.lower() or "key" in text.lower() and "verif" in text.lower():
            raise InvalidInput(_("cannot open {file}: wrong password").format(file=name),
                               hint=_("check the password file (only its first line is the password)")) from None
        raise InvalidInput(_("cannot open {file}: the password-protected workbook cannot be decrypted ({detail})").format(
                               file=name, detail=(text.splitlines() or [type(exc).__name__])[0][:200]), hint=_(_DAMAGED_HINT)) from None
    return out.getvalue()


# ---------------------------------------------------------------- legacy .xls (BIFF in an OLE2 container)


@dataclass
class _XlsScan:
    encrypted: bool
    extents: dict[str, _Extent] = field(default_factory=dict)


# Cell records and where their (row, column) sit: MS-XLS 2.4 (Number, Label, RString, BoolErr, Rk,
# LabelSst, Formula, Blank); MulRk and MulBlank carry a first and a last column.
_XLS_CELLS = frozenset({0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD, 0x0006})
_XLS_MULTI = frozenset({0x00BD})


def _cfb_header_sane(name: str, data: bytes) -> None:
    """The header fields calamine sizes its tables from must fit the file."""
    if len(data) < 512:
        raise InvalidInput(_("{file}: the workbook is cut short (an OLE2 header of {size} bytes)").format(file=name, size=len(data)), hint=_(_DAMAGED_HINT))
    shift, mini = struct.unpack_from("<HH", data, 30)
    if shift not in (9, 12) or mini != 6:
        raise InvalidInput(_("{file}: the workbook is damaged and cannot be read (bad OLE2 header)").format(file=name), hint=_(_DAMAGED_HINT))
    sector = 1 << shift
    sectors = len(data) // sector + 1
    fat_len = struct.unpack_from("<I", data, 44)[0]
    # calamine reads the DIFAT length from bytes 62..66 (MS-CFB puts it at 72); both must be sane.
    odd_difat = struct.unpack_from("<I", data, 62)[0]
    difat_len = struct.unpack_from("<I", data, 72)[0]
    mini_fat_len = struct.unpack_from("<I", data, 64)[0]
    if fat_len > sectors or difat_len > sectors or mini_fat_len > sectors or odd_difat > (1 << 26):
        raise InvalidInput(_("{file}: the workbook is damaged and cannot be read (OLE2 tables larger than the file)").format(file=name),
                           hint=_(_DAMAGED_HINT))


_ENDOFCHAIN = 0xFFFFFFFE
_DIFSECT = 0xFFFFFFFC
_RESERVED_SECTORS = 0xFFFFFFFA


def _cfb_workbook_stream(name: str, data: bytes) -> tuple[bytes | None, set[str]]:
    """The Workbook stream of an OLE2 container, read the way calamine reads it, and the stream names.

    calamine follows the container's sector chains without guarding against
    loops (a DIFAT or directory chain that points back at itself runs until
    memory is gone) and sizes buffers from lengths the file declares; here the
    same chains are followed with those guards, and a container that would
    trip them is refused.
    """
    def bad(why: str) -> InvalidInput:
        return InvalidInput(_("{file}: the workbook is damaged and cannot be read ({detail})").format(file=name, detail=why), hint=_(_DAMAGED_HINT))

    size = 512 if struct.unpack_from("<H", data, 30)[0] == 9 else 4096
    body = memoryview(data)[size:] if size == 4096 else memoryview(data)[512:]
    maxid = len(data) // size
    version = struct.unpack_from("<H", data, 26)[0]

    def sector(i: int) -> bytes:
        if i > maxid:
            raise bad(_("sector {sector} points past the end of the file").format(sector=i))
        return bytes(body[i * size: (i + 1) * size])

    def words(chunk: bytes) -> list[int]:
        if len(chunk) % 4:
            raise bad(_("a table sector is cut short"))
        return list(struct.unpack(f"<{len(chunk) // 4}I", chunk))

    difat = list(struct.unpack_from("<109I", data, 76))
    sid = struct.unpack_from("<I", data, 68)[0]
    seen: set[int] = set()
    while sid < _RESERVED_SECTORS:
        if sid in seen:
            raise bad(_("the sector allocation table loops"))
        seen.add(sid)
        difat.extend(words(sector(sid)))
        if not difat:
            raise bad(_("an empty sector allocation table"))
        sid = difat.pop()
    fats: list[int] = []
    for sid in difat:
        if sid < _DIFSECT:
            fats.extend(words(sector(sid)))

    def chain(start: int, fat: list[int], get, limit: int | None) -> bytes:
        out = bytearray()
        sid = start
        visited: set[int] = set()
        while sid != _ENDOFCHAIN:
            if sid in visited:
                raise bad(_("a sector chain loops"))
            visited.add(sid)
            chunk = get(sid)
            if limit is not None:
                out += chunk[: max(0, limit - len(out))]
                if len(out) >= limit:
                    break
            else:
                out += chunk
            if sid >= len(fat):
                raise bad(_("a sector chain leaves the allocation table"))
            sid = fat[sid]
        return bytes(out)

    dirs = chain(struct.unpack_from("<I", data, 48)[0], fats, sector, None)
    if len(dirs) % 128:
        raise bad(_("the directory is cut short"))
    entries = []
    for k in range(0, len(dirs), 128):
        raw = dirs[k: k + 128]
        entry_name = raw[:64].decode("utf-16-le", "replace").split("\x00", 1)[0]
        start = struct.unpack_from("<I", raw, 116)[0]
        length = struct.unpack_from("<I" if size == 512 else "<Q", raw, 120)[0]
        entries.append((entry_name, start, length))
    if not entries or (version != 3 and entries[0][1] == _ENDOFCHAIN):
        raise bad(_("the container has no root directory"))
    names = {e[0] for e in entries}
    wanted = next((e for n in ("Workbook", "Book", "WORKBOOK", "BOOK") for e in entries if e[0] == n), None)
    if wanted is None:
        return None, names
    for stream_name, length in (("root", entries[0][2]), ("workbook", wanted[2])):
        if length > len(data):
            raise bad(
                _("the {stream} stream claims {length} bytes in a file of {size}").format(stream=stream_name, length=f"{length:,}", size=f"{len(data):,}")
            )
    mini_fat_len = struct.unpack_from("<I", data, 64)[0]
    if wanted[2] < 4096:
        if mini_fat_len == 0:
            return b"", names
        ministream = chain(entries[0][1], fats, sector, entries[0][2])
        minifat = words(chain(struct.unpack_from("<I", data, 60)[0], fats, sector, mini_fat_len * size))

        def mini(i: int) -> bytes:
            if i > maxid * 8:
                raise bad(_("mini sector {sector} points past the end of the file").format(sector=i))
            return ministream[i * 64: (i + 1) * 64]

        return chain(wanted[1], minifat, mini, wanted[2]), names
    return chain(wanted[1], fats, sector, wanted[2]), names


def _scan_xls(name: str, data: bytes) -> _XlsScan:
    """Walk the BIFF records as calamine will, measuring every sheet before it allocates one.

    calamine loads every sheet of an ``.xls`` when the workbook is opened and
    reserves room for the rectangle each DIMENSIONS record declares, so every
    sheet is checked here, not only the one to be read.
    """
    _cfb_header_sane(name, data)
    try:
        stream, entries = _cfb_workbook_stream(name, data)
    except (struct.error, IndexError, ValueError) as exc:
        raise _damaged(name, exc) from None
    if "EncryptedPackage" in entries and "EncryptionInfo" in entries:
        return _XlsScan(encrypted=True)
    if stream is None:
        raise InvalidInput(_("{file}: is an OLE2 file (Word, or another Office document) but not an Excel workbook").format(file=name),
                           hint=_("export the survey as .xlsx, .xls or .csv"))
    sheets: list[tuple[int, str]] = []
    pos = 0
    n = len(stream)
    while pos + 4 <= n:
        typ, length = struct.unpack_from("<HH", stream, pos)
        body = stream[pos + 4: pos + 4 + length]
        pos += 4 + length
        if typ == 0x002F and len(body) >= 2 and struct.unpack_from("<H", body)[0] != 0:
            return _XlsScan(encrypted=True)
        if typ == 0x0085 and len(body) >= 4:
            sheets.append((struct.unpack_from("<I", body)[0], f"sheet {len(sheets) + 1}"))
        if typ == 0x000A:
            break
    scan = _XlsScan(encrypted=False)
    for number, (start, label) in enumerate(sheets, start=1):
        where = _("{file}, sheet {sheet}").format(file=name, sheet=number)
        if start >= n:
            raise InvalidInput(_("{where}: the sheet lies beyond the end of the workbook; the file is damaged").format(where=where), hint=_(_DAMAGED_HINT))
        ext = _xls_sheet_extent(stream, start, where)
        _check_extent(where, ext)
        scan.extents[label] = ext
    return scan


def _xls_sheet_extent(stream: bytes, pos: int, where: str) -> _Extent:
    n = len(stream)
    max_row = max_col = cells = 0
    seen_bof = False
    depth = 0
    unpack = struct.unpack_from
    while pos + 4 <= n:
        typ, length = unpack("<HH", stream, pos)
        start = pos + 4
        pos = start + length
        if pos > n:
            break
        if depth:
            if typ == 0x0809:
                depth += 1
            elif typ == 0x000A:
                depth -= 1
            continue
        if typ == 0x0809:
            if seen_bof:
                depth += 1
            seen_bof = True
        elif typ == 0x000A:
            break
        elif typ in _XLS_CELLS:
            if length >= 4:
                row, col = unpack("<HH", stream, start)
                cells += 1
                if row >= max_row:
                    max_row = row + 1
                if col >= max_col:
                    max_col = col + 1
        elif typ in _XLS_MULTI:
            if length >= 6:
                row, first = unpack("<HH", stream, start)
                last = unpack("<H", stream, pos - 2)[0]
                count = max(0, (length - 6) // 6)
                cells += count
                if row >= max_row:
                    max_row = row + 1
                top = max(first + count - 1, last)
                if top >= max_col:
                    max_col = top + 1
        elif typ == 0x0200:
            # DIMENSIONS: calamine reserves (last - first + 1) rows × columns of cells from it.
            if length == 14:
                rf, rl, cf, cl = unpack("<IIHH", stream, start)
            elif length == 10:
                rf, rl, cf, cl = unpack("<HHHH", stream, start)
            else:
                continue
            if cf > 0xFF or cl < cf:
                cf = 0
            if rl >= 1 and cl >= 1:
                rows = (rl - rf + 1) & 0xFFFFFFFF
                cols = (cl - cf + 1) & 0xFFFFFFFF
                if rows * cols > MAX_CELLS:
                    raise InvalidInput(
                        _("{where}: the sheet declares a used range of {rows} rows × {columns} columns, more than the {limit} cells mhtool reads from one sheet; the file is damaged").format(
                            where=where, rows=f"{rows:,}", columns=f"{cols:,}", limit=f"{MAX_CELLS:,}"
                        ),
                        hint=_(_DAMAGED_HINT),
                    )
    return _Extent(max_row, max_col, cells)


def _pick_sheet(name: str, names: list[str], sheet: str | int | None, has_data) -> str:
    if not names:
        raise InvalidInput(_("{file}: the workbook has no sheets").format(file=name))
    if sheet is None:
        for n in names:
            if has_data(n):
                return n
        raise InvalidInput(_("{file}: every sheet is empty").format(file=name), hint=_("export the survey again"))
    if isinstance(sheet, bool) or not isinstance(sheet, (int, str)):
        raise InvalidInput(_("{file}: sheet must be a name or a 0-based index, not {sheet!r}").format(file=name, sheet=sheet))
    if isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return names[sheet]
        # The flag is what is wrong, not the file: a usage error (exit 2) naming it.
        raise UsageError(
            _("--sheet {sheet}: {file} has no sheet number {sheet} (0-based); it has {count}: {sheets}").format(
                sheet=sheet, file=name, count=len(names), sheets=", ".join(names)
            )
        )
    if sheet in names:
        return sheet
    wanted = " ".join(sheet.split()).casefold()
    for n in names:
        if " ".join(n.split()).casefold() == wanted:
            return n
    raise UsageError(
        _("--sheet {sheet!r}: {file} has no sheet of that name; its sheets are: {sheets}").format(sheet=sheet, file=name, sheets=", ".join(names))
    )


@contextmanager
def _native_panics_quiet():
    """While calamine runs, what native code writes to stderr is held back; a Rust panic's report is dropped.

    A panic inside calamine reaches Python as an exception, which becomes the
    one-line "damaged" message, but Rust's panic hook has already printed its
    report (and a backtrace) to stderr. Anything else written meanwhile is
    passed on afterwards. The redirection is of the process's stderr, so it is
    kept to the calamine calls.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        held = tempfile.TemporaryFile()
    except OSError:
        os.close(saved)
        yield
        return
    try:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
        held.seek(0)
        text = held.read(1 << 20)
        if text and b"panicked" not in text:
            os.write(2, text)
    finally:
        os.close(saved)
        held.close()


class _Whole(Exception):
    """The sheet leaves the common path, so it is read whole and measured exactly (see :class:`_XlsxPieces`)."""


class ReadAgain(Exception):
    """Raised while an export is read: read it again, whole (``open_sheet(pieces=False)``) and column by column (``per_column=True``).

    A sheet read in pieces can turn out, once its last piece is parsed, to
    have rows out of order across pieces, or a piece calamine cannot parse;
    an :class:`ExportReader` can meet a boolean answer cell after its first
    chunk. What was read so far may then be wrong.
    """


# A worksheet read in pieces is cut into about this many, each of this much XML at least and at most.
_PIECES = 8
_PIECE_BYTES = (4 << 20, 8 << 20)
# Pieces parsed and not yet read, at most.
_PARSED = 6
# Threads parsing pieces at once.
_PARSERS = 2
# XML measured per search while pieces are parsed on the other thread.
_SCAN_CHUNK = 1 << 18


class _XlsxPieces:
    """An .xlsx worksheet read in pieces of whole rows, each parsed by calamine on a second thread.

    calamine releases the GIL while it parses. So this thread measures the
    sheet's XML (as :func:`_xlsx_extent` measures it) and marks where pieces
    of whole rows end, while a second thread unpacks the same XML again and
    has calamine parse each piece as soon as it is measured; reading rows
    then waits only for pieces not parsed yet. A piece reaches calamine only
    once measured: every cell in it names its place and lies within the
    ``<dimension>`` the sheet declares, so no piece asks calamine for more
    than the whole sheet would. Each piece is a workbook of its own holding
    the original's other parts (styles, shared strings) and the piece's rows.

    Anything off the common path raises :class:`_Whole` before a row is read:
    a formula (its text may have to be put back from openpyxl), a cell
    without its reference first or under a namespace prefix, a missing or
    wrong ``<dimension>``, a workbook that does not say which part holds the
    sheet, or a sheet whose pieces hold no cell. A piece calamine cannot
    parse, or rows out of order from one piece to the next, are found while
    rows are read, and raise :class:`ReadAgain`.
    """

    def __init__(self, name: str, data: bytes, sheet: str, guard: _XlsxSheets, fmt: str):
        import queue
        import threading
        from concurrent.futures import ThreadPoolExecutor

        member = guard.by_sheet.get(sheet)
        if member not in guard.members:
            raise _Whole
        zf = guard.zf
        head, prefix, data_at, claim = _sheet_head(zf, member)
        if prefix or claim is None or data_at is None:
            raise _Whole
        opened = head.find(b">", data_at.start())
        if opened < 0 or head[opened - 1 : opened] == b"/":
            raise _Whole
        self.name, self.data, self.sheet, self.guard, self.format = name, data, sheet, guard, fmt
        self.width = claim[1]
        self._member = member
        self._head = head[: opened + 1]
        # Every part but the worksheets (and pictures): the styles say which numbers are dates, the shared strings hold the text.
        self._parts = {
            info.filename: zf.read(info)
            for info in zf.infolist()
            if not info.filename.startswith(("xl/worksheets/", "xl/media/")) or "/_rels/" in info.filename
        }
        info = zf.getinfo(member)
        self._packed, self._deflated = _packed_member(data, info)
        self._piece = min(max(info.file_size // _PIECES, _PIECE_BYTES[0]), _PIECE_BYTES[1])
        self._cuts: queue.SimpleQueue = queue.SimpleQueue()
        self._futures: list = []
        self._slots = threading.Semaphore(_PARSED)
        self._stop = False
        # Two parsers: while this thread measures or reads rows, one has a core; when it waits, both have.
        self._parsers = ThreadPoolExecutor(_PARSERS, thread_name_prefix="mhtool-xlsx-parse")
        self._worker = threading.Thread(target=self._parse_pieces, name="mhtool-xlsx", daemon=True)
        self._worker.start()
        try:
            self._measure(zf, member, claim)
        except BaseException:
            self.close()
            raise

    def _measure(self, zf: zipfile.ZipFile, member: str, claim: tuple[int, int]) -> None:
        where = _("{file}, sheet {sheet}").format(file=self.name, sheet=self.sheet)
        odd = _odd_cells(b"", claim)
        foreign = _foreign_cells(b"")
        cells = 0
        area = claim[0] * claim[1]
        enough = -(-area // SPARSE_RATIO) if area > SPARSE_CELLS else 0
        base = 0  # offset of the current chunk in the XML
        start = len(self._head)  # where the next piece starts: the rows come after the head every piece repeats
        end = None  # where </sheetData> is
        # Small chunks: a search holds the GIL throughout, and the other thread needs it now and then.
        for body in _xml_chunks(zf, member, where, _SCAN_CHUNK):
            # The cells are counted only while the count can matter: for a large rectangle, until it is filled enough.
            if cells < enough:
                cells += body.count(b"</c>")
            # As _xlsx_extent: a formula, a cell without its reference first or beyond the claim, a prefixed cell.
            # A prefixed cell or formula tag needs ":c" or ":f" before its end, which one search rules out.
            prefixed = _PREFIXED_TAG.search(body) is not None
            formula = _FORMULA_PLAIN.search(body) or (prefixed and b"<f" in body and _FORMULA_TAG.search(body))
            if formula or (not _cells_within(body, claim) and odd.search(body)) or (prefixed and foreign.search(body)):
                raise _Whole
            if end is None:
                closed = body.find(b"</sheetData>")
                if closed >= 0:
                    end = base + closed
                stop = len(body) if end is None else end - base
                at = start + self._piece - base
                while at < stop:
                    cut = _row_start(body, max(at, start - base + 1), stop)
                    if cut < 0:
                        break
                    self._cut(base + cut)
                    start = base + cut
                    at = start + self._piece - base
            base += len(body)
        if end is None:
            raise _Whole
        if end > start:
            self._cut(end)
        # What follows the rows (merged cells …) is calamine's to read too: a damaged part there fails the sheet.
        self._cut(None)
        self._cuts.put(None)
        rows, cols = claim
        if cells < enough:
            raise _Whole  # sparse: the general path measures the cells that are really there
        extent = _Extent(rows, cols, cells, False)
        _check_extent(where, extent)
        self.guard.extents[self.sheet] = extent
        # A sheet counts as having data when calamine finds a cell in it, as when it is read whole.
        if not any(f.exception() is None and f.result() is not None for f in self._futures):
            raise _Whole

    def _cut(self, offset: int | None) -> None:
        from concurrent.futures import Future

        future: Future = Future()
        self._futures.append(future)
        self._cuts.put((offset, future))

    def _parse_pieces(self) -> None:
        """The second thread: unpack the XML again, and parse each piece once this thread has measured it."""
        try:
            with _Unpacker(self._packed, self._deflated) as fh:
                at = len(self._head)
                fh.read(at)
                while True:
                    cut = self._cuts.get()
                    if cut is None or self._stop:
                        return
                    offset, future = cut
                    # At most _PARSED pieces parsed and not yet read: calamine's copy of the sheet stays small.
                    while not self._slots.acquire(timeout=0.05):
                        if self._stop:
                            return
                    try:
                        if offset is None:
                            piece, tail = fh.read(-1), True
                        else:
                            piece, tail = fh.read(offset - at), False
                            at = offset
                        self._parsers.submit(self._parse_into, piece, tail, future)
                        del piece
                    except BaseException as exc:  # noqa: BLE001 - handed to the thread that reads the rows
                        self._slots.release()
                        future.set_exception(exc)
        finally:
            # Whatever was not parsed is never waited for in vain.
            while True:
                try:
                    cut = self._cuts.get_nowait()
                except Exception:  # noqa: BLE001 - queue.Empty
                    break
                if cut is not None and not cut[1].done():
                    cut[1].set_exception(ReadAgain())

    def _parse_into(self, body: bytes, tail: bool, future) -> None:
        """A parser thread: parse one piece and hand it over (an empty one frees its slot at once)."""
        try:
            found = self._parse(body, tail=tail)
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that reads the rows
            self._slots.release()
            future.set_exception(exc)
            return
        del body
        if found is None:
            self._slots.release()
        future.set_result(found)

    def _parse(self, body: bytes, *, tail: bool = False):
        """A piece of rows as a worksheet of its own (or, ``tail``, the sheet's end with no rows), parsed."""
        from python_calamine import CalamineWorkbook

        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
            for part, content in self._parts.items():
                z.writestr(part, content)
            z.writestr(self._member, self._head + body + (b"" if tail else b"</sheetData></worksheet>"))
        out.seek(0)
        wb = CalamineWorkbook.from_filelike(out)
        try:
            found = wb.get_sheet_by_name(self.sheet)
        finally:
            wb.close()
        return found if found.height and found.width else None

    def rows(self) -> Iterator[list]:
        """Every row from the first (leading empty rows included), each ``width`` cells long."""
        width = self.width
        done = 0
        for i, future in enumerate(self._futures):
            try:
                piece = future.result()
            except Exception:  # noqa: BLE001 - a piece calamine cannot read; the whole sheet may read
                self.close()
                raise ReadAgain from None
            self._futures[i] = None
            if piece is None:
                continue
            top, left = piece.start
            if top < done:
                # This piece holds a row an earlier piece's rows were given as: the file's rows are out of order.
                self.close()
                raise ReadAgain
            while done < top:
                yield [None] * width
                done += 1
            pad = [None] * left
            part = piece.to_python(skip_empty_area=True)
            del piece
            self._slots.release()
            for row in part:
                if len(row) + left < width:
                    row = pad + row + [None] * (width - left - len(row))
                elif left:
                    row = pad + row
                yield row
                done += 1
        self.close()

    def readable(self) -> bool:
        """Whether calamine parses every piece (those not read yet are parsed now, and let go)."""
        ok = True
        for i, future in enumerate(self._futures):
            if future is None:
                continue
            if future.exception() is not None:
                ok = False
            elif future.result() is not None:
                self._slots.release()
            self._futures[i] = None
        return ok

    def close(self) -> None:
        if self._worker is None:
            return
        self._stop = True
        self._cuts.put(None)
        self._worker.join()
        self._worker = None
        self._parsers.shutdown(wait=True, cancel_futures=True)
        for future in self._futures:
            if future is not None and not future.done():
                future.set_exception(ReadAgain())
        self._futures = []


def _packed_member(data: bytes, info: zipfile.ZipInfo) -> tuple[memoryview, bool]:
    """A zip member's bytes as stored in ``data`` (compressed or not), and whether they are deflated."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
        raise _Whole
    head = data[info.header_offset : info.header_offset + 30]
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise _Whole
    name_length, extra_length = struct.unpack("<HH", head[26:30])
    start = info.header_offset + 30 + name_length + extra_length
    return memoryview(data)[start : start + info.compress_size], info.compress_type == zipfile.ZIP_DEFLATED


class _Unpacker:
    """A member's XML read in order, each read one call to zlib (which lets go of the GIL while it works).

    zipfile's reader takes the GIL back after every small block it inflates;
    on a thread that shares the GIL with a busy one, each of those waits.
    The CRC was checked when this thread's partner read the member whole.
    """

    _BLOCK = 1 << 20  # compressed bytes given to zlib at a time

    def __init__(self, packed: memoryview, deflated: bool):
        import zlib

        self.packed = packed
        self.at = 0
        self.inflate = zlib.decompressobj(-zlib.MAX_WBITS) if deflated else None
        self.tail = b""

    def read(self, n: int) -> bytes:
        """The next ``n`` bytes of the XML (``n`` < 0: all that is left)."""
        if n < 0:
            n = 1 << 62
        if self.inflate is None:
            out = bytes(self.packed[self.at : self.at + n])
            self.at += len(out)
            return out
        parts = []
        while n > 0:
            if not self.tail:
                if self.at >= len(self.packed):
                    break
                self.tail = self.packed[self.at : self.at + self._BLOCK]
                self.at += len(self.tail)
            part = self.inflate.decompress(self.tail, n)
            self.tail = self.inflate.unconsumed_tail
            parts.append(part)
            n -= len(part)
        return b"".join(parts)

    def __enter__(self) -> _Unpacker:
        return self

    def __exit__(self, *exc) -> None:
        self.packed = memoryview(b"")


def _row_start(xml: bytes, at: int, stop: int) -> int:
    """Where the first ``<row`` element starting from ``at`` and before ``stop`` starts (-1 when none does)."""
    while True:
        at = xml.find(b"<row", at, stop)
        if at < 0 or xml[at + 4 : at + 5] in (b" ", b">", b"\t", b"\n", b"\r", b"/"):
            return at
        at += 4


def _read_with_calamine(name: str, data: bytes, sheet: str | int | None, fmt: str, guard: _XlsxSheets | None, *, stream: bool | str = False) -> RawSheet | SheetRows:
    if stream == "pieces" and guard is not None:
        pieces = _in_pieces(name, data, sheet, guard, fmt)
        if pieces is not None:
            return pieces
    with _native_panics_quiet():
        return _read_with_calamine_loud(name, data, sheet, fmt, guard, stream)


def _in_pieces(name: str, data: bytes, sheet: str | int | None, guard: _XlsxSheets, fmt: str) -> SheetRows | None:
    """The sheet :func:`_read_with_calamine_loud` would pick, read in pieces (:class:`_XlsxPieces`), or None for the general path."""
    from contextlib import ExitStack

    from python_calamine import CalamineWorkbook

    stack = ExitStack()
    # Held until the last piece is parsed: a panic's report on the other thread is dropped too.
    stack.enter_context(_native_panics_quiet())
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        try:
            names = list(wb.sheet_names)
            kinds = {m.name: str(m.typ) for m in wb.sheets_metadata}
        finally:
            wb.close()
        cells = [n for n in names if kinds.get(n, "WorkSheet").endswith("WorkSheet")]
        if sheet is None:
            # The first sheet with data, as _pick_sheet finds it; pieces that all come out empty send it back there.
            chosen = cells[0] if cells else None
        else:
            chosen = _pick_sheet(name, names, sheet, lambda n: True)
        if chosen not in cells:
            stack.close()
            return None
        pieces = _XlsxPieces(name, data, chosen, guard, fmt)
    except (KeyboardInterrupt, SystemExit):
        stack.close()
        raise
    except BaseException:  # noqa: BLE001 - _Whole, or a file the general path has its own answer for (a Rust panic is a BaseException)
        stack.close()
        return None
    stack.callback(pieces.close)
    return SheetRows(name, chosen, fmt, pieces.rows(), pieces.width, close=stack.close, whole=pieces.readable)


def _read_with_calamine_loud(name: str, data: bytes, sheet: str | int | None, fmt: str, guard: _XlsxSheets | None, stream: bool | str = False) -> RawSheet | SheetRows:
    from python_calamine import CalamineWorkbook

    # from_filelike sniffs the format from the bytes; from_path would trust the extension.
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    handed_over = False
    try:
        names = list(wb.sheet_names)
        # Chart sheets and macro sheets hold no cells; calamine cannot open them as ranges.
        kinds = {m.name: str(m.typ) for m in wb.sheets_metadata}
        cells = {n for n in names if kinds.get(n, "WorkSheet").endswith("WorkSheet")}

        loaded = {}

        def load(n: str):
            if n not in loaded:
                if guard is not None:
                    guard.extent(n)  # refuses an absurd used range before calamine allocates it
                loaded[n] = wb.get_sheet_by_name(n)
            return loaded[n]

        def has_data(n: str) -> bool:
            return n in cells and load(n).height > 0 and load(n).width > 0

        chosen = _pick_sheet(name, names, sheet, has_data)
        if chosen not in cells:
            raise InvalidInput(_("{file}: sheet {sheet!r} is a chart or macro sheet, not a table").format(file=name, sheet=chosen))
        # Formulas saved without a value are filled in from openpyxl, which needs the rows as lists.
        if stream and has_data(chosen) and not (guard is not None and guard.extent(chosen).has_formula):
            found = load(chosen)
            where = _("{file}, sheet {sheet}").format(file=name, sheet=chosen)
            _bounded_area(where, found.total_height + 1, found.total_width + 1, (found.total_height + 1) * (found.total_width + 1))
            handed_over = True
            return SheetRows.of_calamine(name, chosen, fmt, found, wb.close, damaged=lambda exc: _damaged(name, exc))
        rows = load(chosen).to_python(skip_empty_area=False)
    finally:
        if not handed_over:
            wb.close()
    rows = _clean_rows(rows, _("{file}, sheet {sheet}").format(file=name, sheet=chosen))
    if not rows:
        raise InvalidInput(_("{file}: sheet {sheet} is empty").format(file=name, sheet=chosen), hint=_("check that you exported the right survey"))
    return RawSheet(name, chosen, rows, fmt)


def _clean_rows(rows: list[list], where: str = "") -> list[list]:
    """Empty strings → ``None``; rows padded to one width; empty trailing rows and columns dropped.

    The rectangle is measured before it is built, so a sheet that would not fit
    (one row of a million fields under short ones) is refused, not padded.
    """
    width = 0
    filled = 0
    for r in rows:
        if len(r) > width:
            width = len(r)
        filled += len(r)
    _bounded_area(where or _("the sheet"), len(rows), width, filled)
    out = [[None if c == "" else c for c in r] for r in rows]
    while out and all(c is None for c in out[-1]):
        out.pop()
    width = max((len(r) for r in out), default=0)
    for r in out:
        if len(r) < width:
            r.extend([None] * (width - len(r)))
    while width and all(r[width - 1] is None for r in out):
        width -= 1
        for r in out:
            del r[width:]
    return out


def _read_with_openpyxl(name: str, data: bytes, sheet: str | int | None, calamine_error: BaseException,
                        guard: _XlsxSheets | None) -> RawSheet:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - both readers refused it: the file is damaged
        raise _damaged(name, calamine_error) from None
    try:
        names = [ws.title for ws in wb.worksheets]

        def has_data(n: str) -> bool:
            ext = guard.extent(n) if guard is not None else None
            return bool(ext and ext.rows and ext.cols)

        chosen = _pick_sheet(name, names, sheet, has_data)
        ext = guard.extent(chosen) if guard is not None else _Extent(0, 0, 0)
        # The bounds come from the cells measured, never from the <dimension> the file declares.
        rows = [list(r) for r in wb[chosen].iter_rows(min_row=1, max_row=max(ext.rows, 1), min_col=1,
                                                      max_col=max(ext.cols, 1), values_only=True)]
    except (InvalidInput, UsageError):
        raise
    except Exception:  # noqa: BLE001
        raise _damaged(name, calamine_error) from None
    finally:
        wb.close()
    rows = _clean_rows(rows, _("{file}, sheet {sheet}").format(file=name, sheet=chosen))
    if not rows:
        raise InvalidInput(_("{file}: sheet {sheet} is empty").format(file=name, sheet=chosen), hint=_("check that you exported the right survey"))
    return RawSheet(name, chosen, rows, "xlsx")


def _restore_uncached_formulas(data: bytes, raw: RawSheet) -> None:
    """Put the formula text into cells saved without a cached value.

    calamine returns such cells as empty, which would look like an unanswered
    item; with the formula text in place, normalisation reports the formula.
    """
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # noqa: BLE001 - calamine read it; the cached values are what we have
        return
    try:
        ws = wb[raw.sheet]
        height = len(raw.rows)
        width = len(raw.rows[0]) if raw.rows else 0
        for row in ws.iter_rows(min_row=1, max_row=max(height, 1), min_col=1, max_col=max(width, 1)):
            for cell in row:
                value = getattr(cell, "value", None)
                if isinstance(value, str) and value.startswith("="):
                    r, c = cell.row - 1, cell.column - 1
                    if r < len(raw.rows) and c < len(raw.rows[r]) and raw.rows[r][c] is None:
                        raw.rows[r][c] = value
    except Exception:  # noqa: BLE001
        return
    finally:
        wb.close()


# ---------------------------------------------------------------- text files


def decode_text(name: str, data: bytes) -> str:
    """Decode a text export: UTF-16 or UTF-8 by BOM, else strict UTF-8, else GB18030.

    GB18030 is a superset of GBK and GB2312, the encodings Chinese Excel uses
    when it saves CSV.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        if b"\x00" in data[:4096]:
            raise InvalidInput(
                _("{file}: is not a spreadsheet or a text (CSV) file").format(file=name),
                hint=_("export the survey as .xlsx, .xls or .csv"),
            )
        for enc in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(enc)
            except UnicodeDecodeError:
                continue
    raise InvalidInput(
        _("{file}: cannot decode the file as text (tried {encodings})").format(file=name, encodings=", ".join(_TEXT_ENCODINGS)),
        hint=_("save it as 'CSV UTF-8' or as .xlsx and import again"),
    )


def _read_delimited(name: str, data: bytes, sheet: str | int | None) -> RawSheet:
    text = decode_text(name, data)
    if not text.strip():
        raise InvalidInput(_("{file}: the file is empty").format(file=name), hint=_("export the survey again"))
    delimiter = _sniff_delimiter(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InvalidInput(_("{file}: cannot read the file as CSV ({error})").format(file=name, error=exc)) from None
    rows = _clean_rows([[c if c.strip() else None for c in r] for r in records], name)
    if not rows:
        raise InvalidInput(_("{file}: the file is empty").format(file=name), hint=_("export the survey again"))
    return RawSheet(name, "", rows, "tsv" if delimiter == "\t" else "csv")


def _sniff_delimiter(text: str) -> str:
    """Tab, semicolon or comma, whichever the first lines use most outside quotes."""
    sample = text[:65536]
    counts = dict.fromkeys(",\t;", 0)
    in_quotes = False
    lines = 0
    for ch in sample:
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes:
            if ch in counts:
                counts[ch] += 1
            elif ch == "\n":
                lines += 1
                if lines >= 20:
                    break
    best = max(counts, key=lambda k: (counts[k], k == ","))
    return best if counts[best] else ","


# ---------------------------------------------------------------- HTML "xls"


_HTML_START = re.compile(rb"^\s*<(?:!doctype|html|head|meta|table|body|\?xml|!--|style|title)", re.I)


def _looks_like_html(data: bytes) -> bool:
    head = data[:2048]
    for bom in (codecs.BOM_UTF8,):
        if head.startswith(bom):
            head = head[len(bom) :]
    return bool(_HTML_START.match(head)) and re.search(rb"<table", data, re.I) is not None


def _html_charset(data: bytes) -> str | None:
    m = re.search(rb"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", data[:4096], re.I)
    if not m:
        return None
    enc = m.group(1).decode("ascii").lower()
    try:
        codecs.lookup(enc)
    except LookupError:
        return None
    # Pages that declare gb2312/gbk often contain characters only GB18030 covers.
    return "gb18030" if enc in ("gb2312", "gbk", "gb18030", "x-gbk") else enc


class _TableParser(HTMLParser):
    """Collects the cells of every ``<table>`` (nested tables become separate tables)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[tuple[str, int, int]]]] = []
        self._stack: list[list[list[tuple[str, int, int]]]] = []
        self._cell: list[str] | None = None
        self._span = (1, 1)
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self._finish_cell()
            table: list[list[tuple[str, int, int]]] = []
            self._stack.append(table)
            self.tables.append(table)
        elif not self._stack:
            return
        elif tag == "tr":
            self._finish_cell()
            self._stack[-1].append([])
        elif tag in ("td", "th"):
            self._finish_cell()
            if not self._stack[-1]:
                self._stack[-1].append([])
            a = dict(attrs)
            self._span = (_span(a.get("colspan")), _span(a.get("rowspan")))
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in ("td", "th", "tr"):
            self._finish_cell()
        elif tag == "table" and self._stack:
            self._finish_cell()
            self._stack.pop()

    def handle_data(self, data):
        if self._cell is not None and not self._skip:
            self._cell.append(data)

    def _finish_cell(self):
        if self._cell is not None and self._stack:
            self._stack[-1][-1].append(("".join(self._cell), *self._span))
        self._cell = None


def _span(v: str | None) -> int:
    try:
        return max(1, min(int(str(v).strip()), 1000))
    except (TypeError, ValueError):
        return 1


def _layout(table: list[list[tuple[str, int, int]]], where: str | None = None) -> list[list]:
    """Place cells on a grid as a spreadsheet would: a merged cell's value sits top-left.

    Only the top-left places are kept while the table is read (with, per column,
    the last row a merged cell from above still covers), and the rectangle is
    measured before it is built, so merged cells of 1000 × 1000 cost nothing
    until a sheet that large is refused.
    """
    where = where or _("the table")
    busy: list[int] = []
    placed: list[tuple[int, int, str | None]] = []
    height = width = 0
    for r, row in enumerate(table):
        c = 0
        for text, colspan, rowspan in row:
            while c < len(busy) and busy[c] >= r:
                c += 1
            end = c + colspan
            if end > MAX_COLUMNS:
                _bounded_area(where, r + rowspan, end, len(placed) + 1)
            if len(busy) < end:
                busy.extend([-1] * (end - len(busy)))
            last = r + rowspan - 1
            if rowspan > 1:
                for k in range(c, end):
                    busy[k] = last
            value = text.strip()
            placed.append((r, c, value if value else None))
            height = max(height, last + 1)
            width = max(width, end)
            c = end
    if not placed:
        return []
    _bounded_area(where, height, width, sum(1 for _r, _c, v in placed if v is not None))
    rows = [[None] * width for _row in range(height)]
    for r, c, v in placed:
        rows[r][c] = v
    return rows


def _read_html(name: str, data: bytes, sheet: str | int | None) -> RawSheet:
    charset = _html_charset(data)
    text = None
    if charset:
        try:
            text = data.decode(charset)
        except UnicodeDecodeError:
            text = None
    if text is None:
        text = decode_text(name, data)
    parser = _TableParser()
    try:
        parser.feed(text)
        parser.close()
    except Exception as exc:  # noqa: BLE001 - html.parser is lenient; anything it raises means garbage
        raise InvalidInput(_("{file}: cannot read the HTML table in the file ({error})").format(file=name, error=exc)) from None
    tables = [t for t in (_clean_rows(_layout(t, name), name) for t in parser.tables) if t]
    if not tables:
        raise InvalidInput(
            _("{file}: the file is an HTML page without a table").format(file=name), hint=_("export the survey as .xlsx or .csv")
        )
    if sheet is None:
        rows = max(tables, key=len)
    elif isinstance(sheet, int) and not isinstance(sheet, bool) and 0 <= sheet < len(tables):
        rows = tables[sheet]
    else:
        raise InvalidInput(_("{file}: the file is an HTML page with {count} table(s); pass a 0-based table index").format(file=name, count=len(tables)))
    return RawSheet(name, "", rows, "html")


# ---------------------------------------------------------------- exports and tables
#
# Everything below is pure given a RawSheet: the header row is found, every
# column is mapped to a roster field, an item, a platform column or nothing, and
# values are normalised. Item answers are not decoded here (the instrument
# does that); they stay as read, only text-folded.

HEADER_SCAN_ROWS = 30


@dataclass(frozen=True)
class ItemColumn:
    item: int
    column_index: int  # 0-based
    column_letter: str
    header: str


@dataclass(frozen=True)
class ColumnMapping:
    """What one column of the sheet became."""

    column_index: int  # 0-based
    column_letter: str
    header: str
    kind: str  # "field" | "item" | "meta" | "ignored"
    target: str | int | None  # field name, item number, or None

    @property
    def label(self) -> str:
        return f"{self.column_letter} {self.header}".strip()


class _MappedColumns:
    """What exports and plain tables share: the column mapping, read by field name."""

    columns: list[ColumnMapping]

    @property
    def field_columns(self) -> dict[str, ColumnMapping]:
        return {c.target: c for c in self.columns if c.kind == "field"}


@dataclass
class ParsedExport(_MappedColumns):
    file: str
    sheet: str
    profile: str
    header_row: int  # 1-based
    roster: pd.DataFrame
    answers: pd.DataFrame
    item_columns: list[ItemColumn]
    submitted_at: pd.Series | None
    problems: list[Problem]
    data_rows: int
    columns: list[ColumnMapping] = field(default_factory=list)
    raw: RawSheet | None = field(default=None, repr=False)


@dataclass
class ParsedTable(_MappedColumns):
    file: str
    sheet: str
    profile: str
    header_row: int  # 1-based
    roster: pd.DataFrame
    problems: list[Problem]
    data_rows: int
    columns: list[ColumnMapping] = field(default_factory=list)
    raw: RawSheet | None = field(default=None, repr=False)


def _where(raw: RawSheet) -> str:
    return _("{file}, sheet {sheet}").format(file=raw.file, sheet=raw.sheet) if raw.sheet else raw.file


def _non_empty(row: list) -> bool:
    for c in row:
        if c is not None and not (c.__class__ is str and not c.strip()):
            return True
    return False


def _scan_rows(raw: RawSheet) -> list[tuple[int, list]]:
    return [(i, r) for i, r in enumerate(raw.rows[:HEADER_SCAN_ROWS]) if _non_empty(r)]


def _rectangular(raw: RawSheet) -> RawSheet:
    """The sheet with every row as long as the longest (a RawSheet built by hand may be ragged)."""
    width = max((len(r) for r in raw.rows), default=0)
    if all(len(r) == width for r in raw.rows):
        return raw
    rows = [list(r) + [None] * (width - len(r)) for r in raw.rows]
    return RawSheet(raw.file, raw.sheet, rows, raw.format)


def _aliases_text(profile: Profile, field_name: str = "student_no") -> str:
    return ", ".join(profile.aliases(field_name))


def _missing_student_no(raw: RawSheet, profile: Profile, row_index: int) -> InvalidInput:
    if profile.item_mode == "questions":
        message = _(
            "{where}: no student-number column in the header row (row {row}); accepted headers: {headers} (or a question titled N、学号)"
        )
    else:
        message = _("{where}: no student-number column in the header row (row {row}); accepted headers: {headers}")
    return InvalidInput(
        message.format(where=_where(raw), row=row_index + 1, headers=_aliases_text(profile)),
        hint=_("rename the column to 学号, or pass --profile with a profile that knows its header"),
    )


def _find_export_header(
    raw: RawSheet, profile: str | Profile, profiles: dict[str, Profile]
) -> tuple[Profile, int, HeaderLayout]:
    scan = _scan_rows(raw)
    if not scan:
        raise InvalidInput(_("{where}: no data rows (the sheet is empty)").format(where=_where(raw)))
    if profile == "auto":
        candidates = [p for p in profiles.values() if p.kind == "export"]
        for i, row in scan:
            layouts = {p.name: p.layout(row) for p in candidates}
            matched = [p for p in candidates if p.matches(layouts[p.name])]
            if matched:
                chosen = detect_profile(row, matched)  # raises when several match
                return chosen, i, layouts[chosen.name]
        # Nothing matched: say what is missing about the row that looks most like a header.
        for i, row in scan:
            for p in candidates:
                lay = p.layout(row)
                if lay.items and not lay.excluded and lay.markers >= p.min_markers and p.min_markers > 0:
                    raise _missing_student_no(raw, p, i)
        header_row = max(scan, key=lambda ir: sum(1 for c in ir[1] if isinstance(c, str) and c.strip()))[0]
        raise InvalidInput(
            _("{where}: no import profile matches the header row (row {row}; tried {profiles})").format(
                where=_where(raw), row=header_row + 1, profiles=", ".join(sorted(p.name for p in candidates))
            ),
            hint=_(
                "every export profile needs a student-number column (学号) and item columns; "
                "pass --profile NAME to choose one, or check that this is a survey export"
            ),
        )
    prof = profile if isinstance(profile, Profile) else profiles[profile]
    layouts = [(i, prof.layout(row)) for i, row in scan]
    for test in (lambda lay: lay.usable, lambda lay: bool(lay.items), lambda lay: lay.has_student_no):
        for i, lay in layouts:
            if test(lay):
                if not lay.has_student_no:
                    raise _missing_student_no(raw, prof, i)
                return prof, i, lay
    first = layouts[0][0]
    raise InvalidInput(
        _("{where}: no header row for profile {profile} in the first {count} rows: it needs a student-number column ({headers}) and item columns").format(
            where=_where(raw), profile=prof.name, count=HEADER_SCAN_ROWS, headers=_aliases_text(prof)
        ),
        hint=_("check the export, or pass another --profile (the first non-empty row is row {row})").format(row=first + 1),
    )


def _or_join(values: Iterable[object]) -> str:
    """``60 or 64`` (in the reader's language)."""
    out = ""
    for v in values:
        out = str(v) if not out else _("{first} or {second}").format(first=out, second=v)
    return out


def _column_label(headers: list[str], j: int, counts: dict[str, int]) -> str:
    h = headers[j]
    letter = column_letter(j)
    if h and counts.get(h, 0) == 1:
        return h
    return f"{letter} {h}".strip()


def _jsonable(v: object) -> object:
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    return str(v)


class _RowReader:
    """Normalises the used cells of data rows and collects problems about them."""

    def __init__(self, raw: RawSheet, profile: Profile, layout: HeaderLayout):
        self.raw = raw
        self.profile = profile
        self.layout = layout
        counts: dict[str, int] = {}
        for h in layout.headers:
            counts[h] = counts.get(h, 0) + 1
        self.labels = [_column_label(layout.headers, j, counts) for j in range(len(layout.headers))]
        self.problems: list[Problem] = []
        self._fold_cache: dict[str, object] = {}
        self._formulas: set[str] = set()

    def problem(self, message: str, row: int, j: int | None, value: object = None) -> None:
        self.problems.append(
            Problem(
                message,
                file=self.raw.file,
                sheet=self.raw.sheet or None,
                row=row,
                column=self.labels[j] if j is not None else None,
                value=None if value is None else str(_jsonable(value))[:80],
            )
        )

    def fold(self, v: object) -> object:
        """Fold a text cell (cached: a census repeats a handful of answer texts a million times)."""
        if v.__class__ is not str:
            return v
        cache = self._fold_cache
        try:
            return cache[v]
        except KeyError:
            folded = fold_text(v) or None
            if is_formula_text(v):
                self._formulas.add(v)
            cache[v] = folded
            return folded

    def check_formula(self, v: object, row: int, j: int) -> None:
        if self._formulas and v.__class__ is str and v in self._formulas:
            self.problem(_(_FORMULA_MESSAGE), row, j, v)

    def field_value(self, spec: FieldSpec, v: object, row: int, j: int, required: bool) -> tuple[object, object]:
        """(normalised text, parsed value for datetime fields)."""
        if is_formula_text(v):
            self.problem(_(_FORMULA_MESSAGE), row, j, v)
            return fold_text(v), None
        t = spec.type
        if t == "student_no":
            text, msg = student_no(v)
            if msg:
                self.problem(msg, row, j, v)
            return text, None
        if t in ("date", "datetime"):
            if v is None or (v.__class__ is str and not v.strip()):
                if required:
                    self.problem(_("{field} is empty").format(field=spec.name), row, j)
                return None, None
            dt = parse_cell_date(v)
            out_of_range = date_problem(dt) if dt is not None else None
            if out_of_range:
                self.problem(f"{spec.name}: {out_of_range}", row, j, v)
                return fold_text(cell_text(v)) or None, None
            if dt is None:
                # An unreadable submission time only weakens duplicate resolution; an
                # unreadable interview date makes the record meaningless.
                if required or t == "date":
                    self.problem(_("cannot read {field} as a date").format(field=spec.name), row, j, v)
                return fold_text(cell_text(v)) or None, None
            if t == "date":
                return dt.date().isoformat(), dt
            return dt.isoformat(sep=" ", timespec="seconds"), dt
        text = (phone_text(v) if t == "phone" else cell_text(v)) or None
        if required and text is None:
            self.problem(_("{field} is empty").format(field=spec.name), row, j)
        return text, None


_FORMULA_MESSAGE = N_(
    "cell starts with '=' (a formula or formula-like text); mhtool never evaluates formulas: "
    "type the value itself in the source file"
)


def _field_mappings(profile: Profile, layout: HeaderLayout) -> list[ColumnMapping]:
    out = []
    for name, j in layout.fields.items():
        out.append(ColumnMapping(j, column_letter(j), layout.headers[j], "field", name))
    return out


def _all_mappings(profile: Profile, layout: HeaderLayout, with_items: bool) -> list[ColumnMapping]:
    cols = _field_mappings(profile, layout)
    if with_items:
        cols += [ColumnMapping(j, column_letter(j), layout.headers[j], "item", n) for n, j in layout.items]
    cols += [ColumnMapping(j, column_letter(j), layout.headers[j], "meta", None) for j in layout.meta]
    mapped = {c.column_index for c in cols}
    for j in range(len(layout.headers)):
        if j not in mapped:
            cols.append(ColumnMapping(j, column_letter(j), layout.headers[j], "ignored", None))
    return sorted(cols, key=lambda c: c.column_index)


# Distinct cells remembered per text field: enough for the colleges, majors and classes of a school.
_FIELD_CACHE = 4096


def _field_values(reader: _RowReader, data: list[tuple[int, list]], required: Sequence[str]) -> tuple[dict[str, list], list | None]:
    """Each field's normalised text for the rows in ``data`` (student_no first, always present), and the submission times."""
    profile, layout = reader.profile, reader.layout
    columns: dict[str, list] = {}
    submitted: list | None = None
    for name, j in layout.fields.items():
        spec = profile.fields[name]
        req = name in required
        values = []
        parsed = [] if name == "submitted_at" else None
        # A text cell reads the same wherever it is, so each distinct one is normalised once;
        # a cell that makes a problem (a formula, an empty required cell) is read every time.
        cache: dict | None = {} if spec.type in ("text", "phone") and not req else None
        for rn, row in data:
            v = row[j]
            if v == "":
                v = None
            if cache is not None and v.__class__ is str:
                text = cache.get(v)
                if text is None:
                    text, _dt = reader.field_value(spec, v, rn, j, req)
                    if text is not None and len(cache) < _FIELD_CACHE and not is_formula_text(v):
                        cache[v] = text
                values.append(text)
                continue
            text, dt = reader.field_value(spec, v, rn, j, req)
            values.append(text)
            if parsed is not None:
                parsed.append(dt)
        columns[name] = values
        if parsed is not None:
            submitted = parsed
    if "student_no" not in columns:
        columns["student_no"] = [None] * len(data)
    return {c: columns[c] for c in ("student_no", *(c for c in columns if c != "student_no"))}, submitted


def _read_fields(
    reader: _RowReader, data: list[tuple[int, list]], required: Sequence[str]
) -> tuple[pd.DataFrame, pd.Series | None]:
    import pandas as pd

    columns, submitted = _field_values(reader, data, required)
    roster = pd.DataFrame(columns, index=pd.Index([rn for rn, _row in data], name="row"), dtype=object)
    sub = None
    if submitted is not None:
        sub = pd.Series(pd.to_datetime(pd.Series(submitted, dtype=object), errors="coerce").to_numpy(),
                        index=roster.index, name="submitted_at")
    return roster, sub


def _data_rows(raw: RawSheet, header_index: int) -> list[tuple[int, list]]:
    return [(i + 1, r) for i, r in enumerate(raw.rows) if i > header_index and _non_empty(r)]


@dataclass
class ExportChunk:
    """Data rows of an export, normalised: what an import reads in one step.

    Item cells are kept as in :func:`pandas.factorize`: per item column (in
    item order), each row's ``codes`` index into that column's ``values``, the
    distinct cells seen so far, text-folded (``None`` for an empty cell); cells
    that are equal (``1`` and ``1.0``) share a code, as pandas makes them share
    one. The values list grows from chunk to chunk, so a cell that repeats a
    million times is decoded once. ``cells`` are the rows as read.
    """

    rows: list[int]  # spreadsheet row numbers (1-based)
    fields: dict[str, list]  # roster field → normalised text per row; student_no first, always present
    submitted: list | None  # the submission time of each row as a datetime (None where empty or unreadable)
    codes: list[list[int]]
    values: list[list]
    problems: list[Problem]  # sorted by row
    cells: list[list] = field(default_factory=list, repr=False)

    def answers(self, k: int) -> list:
        """Item column ``k``'s cells of these rows, text-folded (each equal cell as the first of them)."""
        values = self.values[k]
        return [values[c] for c in self.codes[k]]


class ExportReader:
    """A survey export being read: the header found and mapped at once, the data rows normalised chunk by chunk.

    :func:`parse_export` reads every chunk into tables; a survey import reads
    them one at a time (:meth:`chunks`), so what it holds does not grow with the
    sheet. ``columns`` (the mapping) is complete once every chunk was read:
    the sheet's true width is known only then.
    """

    def __init__(
        self,
        source: SheetRows,
        *,
        accepted_item_counts: Sequence[int],
        profile: str | Profile = "auto",
        profiles_dirs: Iterable[str | os.PathLike] | str | os.PathLike | None = None,
        per_column: bool = False,
    ):
        profiles = load_profiles(profiles_dirs)
        if isinstance(profile, str) and profile != "auto":
            profile = get_profile(profile, profiles_dirs)
        if isinstance(profile, Profile) and profile.kind != "export":
            raise InvalidInput(
                _("profile {profile} describes a {kind}, not a survey export").format(profile=profile.name, kind=profile.kind),
                hint=_("use one of: {profiles} (or auto)").format(profiles=", ".join(sorted(n for n, p in profiles.items() if p.kind == "export"))),
            )
        self.source = source
        self.file, self.sheet = source.file, source.sheet
        self._rows = iter(source)
        self._width = 0  # one past the last column holding a value, in any row read so far
        head = []
        for row in self._rows:
            self._measure(row)
            head.append([None if c == "" else c for c in row])
            if len(head) == HEADER_SCAN_ROWS:
                break
        self._head = RawSheet(source.file, source.sheet, head, source.format)
        if source.raw is None and not _scan_rows(self._head) and not self._any_value_below():
            # What read_sheet refuses before any parsing: a sheet whose cells are all empty.
            raise InvalidInput(_("{file}: sheet {sheet} is empty").format(file=self.file, sheet=self.sheet), hint=_("check that you exported the right survey"))
        prof, h, layout = _find_export_header(self._head, profile, profiles)
        _check_item_columns(self._head, prof, h, layout, accepted_item_counts)
        self.profile, self.header_row, self.layout = prof, h + 1, layout
        self._below = [(i + 1, r) for i, r in enumerate(head) if i > h]
        self._next = len(head)
        self.reader = _RowReader(self._head, prof, layout)
        ordered = sorted(layout.items)
        self.item_columns = [ItemColumn(n, j, column_letter(j), layout.headers[j]) for n, j in ordered]
        self._item_at = [j for _n, j in ordered]
        self._layout_item_at = [j for _n, j in layout.items]
        # The distinct cells of the item columns: one table for all of them while none holds a boolean, else one per column.
        self._shared: tuple[dict, list] | None = None if per_column else ({}, [])
        self._codes: list[dict] = [{} for _j in ordered]
        self._values: list[list] = [[] for _j in ordered]
        self.sample: list[tuple[int, list]] = []  # the first data rows as read, for the dry run's view
        self._sample_values: dict[int, tuple[dict, dict]] = {}  # and what they became
        self.data_rows = 0

    def _measure(self, row: list) -> None:
        w = len(row)
        if w > self._width:
            while w > self._width and (row[w - 1] is None or row[w - 1] == ""):
                w -= 1
            self._width = w

    def _any_value_below(self) -> bool:
        """Whether any cell holds a value (the first rows held none that counts): a sheet of empty cells is empty."""
        if self._width:
            return True
        for row in self._rows:
            self._measure(row)
            if self._width:
                return True
        return False

    @property
    def columns(self) -> list[ColumnMapping]:
        return [c for c in _all_mappings(self.profile, self.layout, True) if c.column_index < self._width]

    def _data(self) -> Iterator[tuple[int, list]]:
        for rn, row in self._below:
            if _non_empty(row):
                yield rn, row
        self._below = []
        i = self._next
        for row in self._rows:
            i += 1
            self._measure(row)
            if _non_empty(row):
                yield i, row
        self._next = i

    def chunks(self, size: int = 2048) -> Iterator[ExportChunk]:
        batch: list[tuple[int, list]] = []
        for rn, row in self._data():
            if len(self.sample) < 3:
                self.sample.append((rn, [None if c == "" else c for c in row]))
            batch.append((rn, row))
            if len(batch) == size:
                yield self._chunk(batch)
                batch = []
        if batch or not self.data_rows:
            if not batch:
                raise InvalidInput(
                    _("{where}: no data rows below the header (row {row})").format(where=_where(self._head), row=self.header_row),
                    hint=_("export the survey again"),
                )
            yield self._chunk(batch)

    def _chunk(self, batch: list[tuple[int, list]]) -> ExportChunk:
        self.data_rows += len(batch)
        reader = self.reader
        reader.problems = []
        fields, submitted = _field_values(reader, batch, ("student_no",))
        codes, values = self._item_codes([row for _rn, row in batch])
        if reader._formulas:
            for rn, row in batch:
                for j in self._layout_item_at:
                    reader.check_formula(row[j], rn, j)
        problems = sorted(reader.problems, key=lambda p: p.row or 0)
        chunk = ExportChunk([rn for rn, _row in batch], fields, submitted, codes, values, problems, [row for _rn, row in batch])
        for i, (rn, row) in enumerate(batch[: len(self.sample) - len(self._sample_values)]):
            items = {c.item: reader.fold(row[c.column_index]) for c in self.item_columns}
            self._sample_values[rn] = ({name: fields[name][i] for name in fields}, items)
        return chunk

    def _item_codes(self, rows: list[list]) -> tuple[list, list[list]]:
        """Each item column's codes into its distinct cells (text-folded), for ``rows``.

        One dictionary serves every item column while no cell is a boolean:
        a boolean equals 1 or 0 as a key but not as an answer, and
        :func:`pandas.factorize` (what :meth:`Instrument.decode` uses) tells
        them apart only column by column. Then each column keeps its own.
        """
        from itertools import chain
        from operator import itemgetter

        import numpy as np

        k = len(self._item_at)
        fold = self.reader.fold
        if self._shared is not None:
            index, values = self._shared
            pick = itemgetter(*self._item_at) if k > 1 else (lambda row: (row[self._item_at[0]],))
            flat = list(chain.from_iterable(map(pick, rows)))
            found = list(map(index.get, flat))
            boolean = False
            if None in found:
                try:
                    new = [v for v in dict.fromkeys(flat) if v not in index]
                except TypeError:  # a cell no dict can hold
                    new = None
                boolean = new is None or any(v.__class__ is bool for v in new)
                if not boolean:
                    for v in new:
                        index[v] = len(values)
                        values.append(fold(v))
                    found = list(map(index.get, flat))
            # A boolean hides behind an equal number already in the table: look for one only when there is such a number.
            if boolean or ((1 in index or 0 in index) and bool in map(type, flat)):
                if self.data_rows > len(rows):
                    # Earlier chunks were coded with one table: the columns' first cells are not known any more.
                    raise ReadAgain
                self._shared = None
                return self._item_codes(rows)
            table = np.array(found, dtype=np.intp).reshape(len(rows), k)
            return [table[:, c] for c in range(k)], [values] * k
        codes = []
        for c, j in enumerate(self._item_at):
            index, values = self._codes[c], self._values[c]
            column = [row[j] for row in rows]
            found = list(map(index.get, column))
            if None in found:
                for i, code in enumerate(found):
                    if code is None:
                        v = column[i]
                        try:
                            code = index.get(v)
                            if code is None:
                                code = index[v] = len(values)
                                values.append(fold(v))
                        except TypeError:  # a cell no dict can hold stands for itself
                            code = len(values)
                            values.append(fold(v))
                        found[i] = code
            codes.append(found)
        return codes, self._values

    def describe(self, rows: int = 3) -> list[dict]:
        """What :func:`describe_mapping` says of the export, once its chunks were read."""
        return _described(
            self.columns,
            self.sample[: max(0, rows)],
            lambda rn, name: self._sample_values[rn][0][name],
            lambda rn, item: self._sample_values[rn][1][item],
        )


def _check_item_columns(raw: RawSheet, prof: Profile, h: int, layout: HeaderLayout, accepted_item_counts: Sequence[int]) -> None:
    """Refuse a header whose item columns are misnumbered or whose count the instrument does not accept."""
    counts = sorted({int(n) for n in accepted_item_counts})
    found = len(layout.items)
    if layout.numbering_problems:
        raise InvalidInput(
            _("{where}: the item columns of the header (row {row}) are not numbered 1 to {found}: {problems}").format(
                where=_where(raw), row=h + 1, found=found, problems="; ".join(layout.numbering_problems)
            ),
            hint=_("fix the item headers so that each item 1…n has exactly one column"),
        )
    if found not in counts:
        expected = _or_join(counts)
        fields = {"where": _where(raw), "found": found, "profile": prof.name, "row": h + 1, "expected": expected}
        if found:
            (_n0, j0), (_n1, j1) = layout.items[0], layout.items[-1]
            message = _(
                "{where}: found {found} item column(s) under profile {profile} (header row {row}), but the instrument has "
                "{expected} items; the first item column is {first_column} {first_header!r}, the last is {last_column} {last_header!r}"
            ).format(
                **fields, first_column=column_letter(j0), first_header=layout.headers[j0], last_column=column_letter(j1), last_header=layout.headers[j1]
            )
        else:
            message = _(
                "{where}: found {found} item column(s) under profile {profile} (header row {row}), but the instrument has {expected} items"
            ).format(**fields)
        raise InvalidInput(
            message,
            hint=_(
                "check that the export is of this instrument and that no question was added or deleted "
                "(run with --dry-run to see how the columns were mapped)"
            ),
        )


def parse_export(
    raw: RawSheet,
    *,
    accepted_item_counts: Sequence[int],
    profile: str | Profile = "auto",
    profiles_dirs: Iterable[str | os.PathLike] | str | os.PathLike | None = None,
) -> ParsedExport:
    """Map a survey export to a roster table and a table of raw answers per item.

    ``accepted_item_counts`` are the item counts the instrument accepts (UPI:
    ``(60, 64)``); any other count of item columns means the wrong instrument or
    a misaligned export and raises :class:`InvalidInput`. Row problems (a bad
    student number, a formula) are collected in ``problems``, not raised.
    """
    import pandas as pd

    raw = _rectangular(raw)
    try:
        export = ExportReader(SheetRows.of(raw), accepted_item_counts=accepted_item_counts, profile=profile, profiles_dirs=profiles_dirs)
        chunks = list(export.chunks())
    except ReadAgain:
        export = ExportReader(
            SheetRows.of(raw), accepted_item_counts=accepted_item_counts, profile=profile, profiles_dirs=profiles_dirs, per_column=True
        )
        chunks = list(export.chunks())
    index = pd.Index([rn for c in chunks for rn in c.rows], name="row")
    names = list(chunks[0].fields)
    roster = pd.DataFrame({n: [v for c in chunks for v in c.fields[n]] for n in names}, index=index, dtype=object)
    submitted = None
    if chunks[0].submitted is not None:
        times = [t for c in chunks for t in c.submitted]
        submitted = pd.Series(pd.to_datetime(pd.Series(times, dtype=object), errors="coerce").to_numpy(), index=roster.index, name="submitted_at")
    items = [c.item for c in export.item_columns]
    fold = export.reader.fold
    answers = pd.DataFrame(
        {c.item: [fold(row[c.column_index]) for chunk in chunks for row in chunk.cells] for c in export.item_columns},
        index=roster.index.copy(),
        columns=items,
        dtype=object,
    )
    return ParsedExport(
        file=raw.file,
        sheet=raw.sheet,
        profile=export.profile.name,
        header_row=export.header_row,
        roster=roster,
        answers=answers,
        item_columns=export.item_columns,
        submitted_at=submitted,
        problems=[p for c in chunks for p in c.problems],
        data_rows=export.data_rows,
        columns=export.columns,
        raw=raw,
    )

def parse_table(
    raw: RawSheet,
    profile_name: str | Profile,
    required: Sequence[str] = ("student_no",),
    *,
    profiles_dirs: Iterable[str | os.PathLike] | str | os.PathLike | None = None,
) -> ParsedTable:
    """Map a roster or interview-record sheet to a table of normalised fields.

    The header row is the row (within the first 30) that has every required
    field and the most fields; an empty required cell is a row problem.
    """
    prof = get_profile(profile_name, profiles_dirs)
    unknown = [f for f in required if f not in prof.fields]
    if unknown:
        raise InvalidInput(_("profile {profile} has no field(s) {fields}").format(profile=prof.name, fields=", ".join(unknown)))
    raw = _rectangular(raw)
    scan = _scan_rows(raw)
    if not scan:
        raise InvalidInput(_("{where}: no data rows (the sheet is empty)").format(where=_where(raw)))
    best: tuple[int, int, HeaderLayout] | None = None  # (score, row index, layout)
    closest: tuple[int, int, HeaderLayout] | None = None
    for i, row in scan:
        lay = prof.layout(row)
        score = len(lay.fields)
        if all(f in lay.fields for f in required):
            if best is None or score > best[0]:
                best = (score, i, lay)
        elif score and (closest is None or score > closest[0]):
            closest = (score, i, lay)
    if best is None:
        i, lay = (closest[1], closest[2]) if closest else (scan[0][0], prof.layout(scan[0][1]))
        missing = [f for f in required if f not in lay.fields]
        if missing == ["student_no"]:
            raise _missing_student_no(raw, prof, i)
        wanted = "; ".join(_("{field} (accepted: {headers})").format(field=f, headers=_aliases_text(prof, f)) for f in missing)
        raise InvalidInput(
            _("{where}: the header row (row {row}) has no column for {fields}").format(where=_where(raw), row=i + 1, fields=wanted),
            hint=_("rename the columns, or pass a profile that knows these headers"),
        )
    _score, h, layout = best
    data = _data_rows(raw, h)
    if not data:
        raise InvalidInput(_("{where}: no data rows below the header (row {row})").format(where=_where(raw), row=h + 1))
    reader = _RowReader(raw, prof, layout)
    roster, _submitted = _read_fields(reader, data, tuple(required))
    problems = sorted(reader.problems, key=lambda p: p.row or 0)
    return ParsedTable(
        file=raw.file,
        sheet=raw.sheet,
        profile=prof.name,
        header_row=h + 1,
        roster=roster,
        problems=problems,
        data_rows=len(data),
        columns=_all_mappings(prof, layout, False),
        raw=raw,
    )


def describe_mapping(parsed: ParsedExport | ParsedTable, rows: int = 3) -> list[dict]:
    """How each column was read, with its first data rows, for ``--dry-run``.

    One dict per column of the header row, left to right: ``column`` (letter),
    ``header``, ``kind`` (``field``, ``item``, ``meta`` = the platform's own
    column, ``ignored``), ``target`` (field name or item number), and
    ``values``: for the first ``rows`` data rows, ``{"row", "raw", "value"}``
    where ``raw`` is the cell as read and ``value`` what the import uses.
    A misaligned export shows up as answers under a roster field or a name
    under an item. Values are JSON-ready.
    """
    raw_rows = parsed.raw.rows if parsed.raw is not None else None
    samples = [(rn, raw_rows[rn - 1] if raw_rows is not None else None) for rn in parsed.roster.index[: max(0, rows)]]

    def item_at(rn, item):
        return parsed.answers.at[rn, item]  # type: ignore[union-attr]

    return _described(parsed.columns, samples, lambda rn, name: parsed.roster.at[rn, name], item_at)


def _described(columns: list[ColumnMapping], samples: list[tuple[int, list | None]], field_at, item_at) -> list[dict]:
    out = []
    for col in columns:
        values = []
        for rn, raw_row in samples:
            raw_value = raw_row[col.column_index] if raw_row is not None else None
            if col.kind == "field":
                value = field_at(rn, col.target)
            elif col.kind == "item":
                value = item_at(rn, col.target)
            else:
                value = None
            values.append({"row": int(rn), "raw": _jsonable(raw_value), "value": _jsonable(value)})
        out.append(
            {
                "column": col.column_letter,
                "header": col.header,
                "kind": col.kind,
                "target": col.target,
                "values": values,
            }
        )
    return out


def read_export(
    path: str | Path,
    *,
    accepted_item_counts: Sequence[int],
    profile: str | Profile = "auto",
    sheet: str | int | None = None,
    profiles_dirs: Iterable[str | os.PathLike] | str | os.PathLike | None = None,
    password: str | None = None,
) -> ParsedExport:
    """:func:`read_sheet` then :func:`parse_export`."""
    return parse_export(
        read_sheet(path, sheet, password=password),
        accepted_item_counts=accepted_item_counts,
        profile=profile,
        profiles_dirs=profiles_dirs,
    )


def read_table(
    path: str | Path,
    profile_name: str | Profile,
    required: Sequence[str] = ("student_no",),
    *,
    sheet: str | int | None = None,
    profiles_dirs: Iterable[str | os.PathLike] | str | os.PathLike | None = None,
    password: str | None = None,
) -> ParsedTable:
    """:func:`read_sheet` then :func:`parse_table`."""
    return parse_table(read_sheet(path, sheet, password=password), profile_name, required, profiles_dirs=profiles_dirs)
