"""Reading one sheet of a survey export or roster into plain rows.

The only I/O of the survey-reading layer. The format is chosen from the file's
bytes, never from its name: survey platforms and counselors rename files freely
(问卷星 serves HTML as ``.xls``; an ``.xls`` is often an ``.xlsx`` renamed).

Workbooks are read with python-calamine, which is an order of magnitude faster
than openpyxl on the 10,000-row exports of a census; openpyxl is used only where
calamine cannot give what is needed (a damaged workbook calamine refuses, and
formula cells saved without a cached value, which calamine shows as empty).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import pandas as pd

from mhtool.errors import InvalidInput, Problem
from mhtool.io.cells import (
    cell_text,
    column_letter,
    fold_text,
    is_formula_text,
    parse_cell_date,
    phone_text,
    student_no,
)
from mhtool.io.profiles import FieldSpec, HeaderLayout, Profile, detect_profile, get_profile, load_profiles

__all__ = [
    "ColumnMapping",
    "ItemColumn",
    "ParsedExport",
    "ParsedTable",
    "RawSheet",
    "decode_text",
    "describe_mapping",
    "parse_export",
    "parse_table",
    "read_export",
    "read_sheet",
    "read_table",
]

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An xlsx saved with a password is an OLE2 container holding these two streams.
_ENCRYPTION_STREAMS = tuple(
    name.encode(enc) for name in ("EncryptionInfo", "EncryptedPackage") for enc in ("utf-16-le", "ascii")
)
_TEXT_ENCODINGS = ("UTF-8", "UTF-8 with BOM", "UTF-16 with BOM", "GB18030 (GBK)")
_PASSWORD_HINT = (
    "open it in Excel or WPS, remove the password (文件 → 信息 → 保护工作簿 / 加密), save, and import again"
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


def read_sheet(path: str | Path, sheet: str | int | None = None) -> RawSheet:
    """Read one sheet (a 0-based index or a name; default: the first with data)."""
    p = Path(path)
    name = p.name
    try:
        with p.open("rb") as fh:
            head = fh.read(8)
    except FileNotFoundError:
        raise InvalidInput(f"{name}: file not found ({p})") from None
    except IsADirectoryError:
        raise InvalidInput(f"{name}: is a directory, not a file") from None
    except OSError as exc:
        raise InvalidInput(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    if not head:
        raise InvalidInput(f"{name}: the file is empty", hint="export the survey again")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _read_zip_workbook(p, sheet)
    if head == _OLE2_MAGIC:
        return _read_ole2(p, sheet)
    data = p.read_bytes()
    if _looks_like_html(data):
        return _read_html(name, data, sheet)
    return _read_delimited(name, data, sheet)


# ---------------------------------------------------------------- workbooks


def _read_zip_workbook(p: Path, sheet: str | int | None) -> RawSheet:
    name = p.name
    try:
        with zipfile.ZipFile(p) as zf:
            members = zf.namelist()
            if any(m.startswith("xl/") for m in members):
                fmt = "xlsx"
            elif "mimetype" in members and b"opendocument.spreadsheet" in zf.read("mimetype"):
                fmt = "ods"
            else:
                raise InvalidInput(
                    f"{name}: is a zip archive but not an Excel workbook",
                    hint="export the survey as .xlsx, .xls or .csv",
                )
    except (zipfile.BadZipFile, OSError, KeyError):
        raise InvalidInput(
            f"{name}: the workbook is damaged and cannot be read",
            hint="open and re-save it in Excel or WPS, or export it again",
        ) from None
    try:
        raw = _read_with_calamine(p, sheet, fmt)
    except InvalidInput:
        raise
    except Exception as calamine_error:  # noqa: BLE001 - any calamine failure gets the openpyxl fallback
        if fmt != "xlsx":
            raise _damaged(name, calamine_error) from None
        return _read_with_openpyxl(p, sheet, calamine_error)
    if fmt == "xlsx" and _sheet_has_formula(p, raw.sheet):
        _restore_uncached_formulas(p, raw)
    return raw


def _damaged(name: str, exc: BaseException) -> InvalidInput:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InvalidInput(
        f"{name}: the workbook is damaged and cannot be read ({detail[:200]})",
        hint="open and re-save it in Excel or WPS, or export it again",
    )


def _read_ole2(p: Path, sheet: str | int | None) -> RawSheet:
    data = p.read_bytes()
    if any(marker in data for marker in _ENCRYPTION_STREAMS):
        raise InvalidInput(
            f"{p.name}: the workbook is password-protected; save it without a password", hint=_PASSWORD_HINT
        )
    try:
        return _read_with_calamine(p, sheet, "xls")
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001
        if "password" in str(exc).lower() or type(exc).__name__ == "PasswordError":
            raise InvalidInput(
                f"{p.name}: the workbook is password-protected; save it without a password", hint=_PASSWORD_HINT
            ) from None
        raise _damaged(p.name, exc) from None


def _pick_sheet(name: str, names: list[str], sheet: str | int | None, has_data) -> str:
    if not names:
        raise InvalidInput(f"{name}: the workbook has no sheets")
    if sheet is None:
        for n in names:
            if has_data(n):
                return n
        raise InvalidInput(f"{name}: every sheet is empty", hint="export the survey again")
    if isinstance(sheet, bool) or not isinstance(sheet, (int, str)):
        raise InvalidInput(f"{name}: sheet must be a name or a 0-based index, not {sheet!r}")
    if isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return names[sheet]
        raise InvalidInput(
            f"{name}: there is no sheet number {sheet} (0-based); the workbook has {len(names)}: {', '.join(names)}"
        )
    if sheet in names:
        return sheet
    wanted = " ".join(sheet.split()).casefold()
    for n in names:
        if " ".join(n.split()).casefold() == wanted:
            return n
    raise InvalidInput(f"{name}: there is no sheet named {sheet!r}; the sheets are: {', '.join(names)}")


def _read_with_calamine(p: Path, sheet: str | int | None, fmt: str) -> RawSheet:
    from python_calamine import CalamineWorkbook

    # from_filelike sniffs the format from the bytes; from_path would trust the extension.
    with p.open("rb") as fh:
        wb = CalamineWorkbook.from_filelike(fh)
    try:
        names = list(wb.sheet_names)
        # Chart sheets and macro sheets hold no cells; calamine cannot open them as ranges.
        kinds = {m.name: str(m.typ) for m in wb.sheets_metadata}
        cells = {n for n in names if kinds.get(n, "WorkSheet").endswith("WorkSheet")}

        loaded = {}

        def load(n: str):
            if n not in loaded:
                loaded[n] = wb.get_sheet_by_name(n)
            return loaded[n]

        def has_data(n: str) -> bool:
            return n in cells and load(n).height > 0 and load(n).width > 0

        chosen = _pick_sheet(p.name, names, sheet, has_data)
        if chosen not in cells:
            raise InvalidInput(f"{p.name}: sheet {chosen!r} is a chart or macro sheet, not a table")
        rows = load(chosen).to_python(skip_empty_area=False)
    finally:
        wb.close()
    rows = _clean_rows(rows)
    if not rows:
        raise InvalidInput(f"{p.name}: sheet {chosen} is empty", hint="check that you exported the right survey")
    return RawSheet(p.name, chosen, rows, fmt)


def _clean_rows(rows: list[list]) -> list[list]:
    """Empty strings → ``None``; rows padded to one width; empty trailing rows and columns dropped."""
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


def _read_with_openpyxl(p: Path, sheet: str | int | None, calamine_error: BaseException) -> RawSheet:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - both readers refused it: the file is damaged
        raise _damaged(p.name, calamine_error) from None
    try:
        names = [ws.title for ws in wb.worksheets]
        chosen = _pick_sheet(p.name, names, sheet, lambda n: wb[n].max_row is not None and (wb[n].max_row or 0) > 0)
        rows = [list(r) for r in wb[chosen].iter_rows(values_only=True)]
    except InvalidInput:
        raise
    except Exception:  # noqa: BLE001
        raise _damaged(p.name, calamine_error) from None
    finally:
        wb.close()
    rows = _clean_rows(rows)
    if not rows:
        raise InvalidInput(f"{p.name}: sheet {chosen} is empty", hint="check that you exported the right survey")
    return RawSheet(p.name, chosen, rows, "xlsx")


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_ROOT_PREFIX = re.compile(rb"<(\w+:)?worksheet[\s>]")
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _sheet_has_formula(p: Path, sheet: str) -> bool:
    """Whether the XML of worksheet ``sheet`` contains a formula element."""
    try:
        with zipfile.ZipFile(p) as zf:
            wb_xml = ElementTree.fromstring(zf.read("xl/workbook.xml"))
            rels_xml = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
            targets = {}
            for rel in rels_xml:
                target = rel.get("Target", "")
                absolute = target.startswith("/")
                targets[rel.get("Id")] = target.lstrip("/") if absolute else str(PurePosixPath("xl") / target)
            for el in wb_xml.iter():
                if (el.tag.endswith("}sheet") or el.tag == "sheet") and el.get("name") == sheet:
                    path = targets.get(el.get(_NS_REL))
                    return bool(path) and _member_has_formula(zf, path)
    except (KeyError, OSError, zipfile.BadZipFile, ElementTree.ParseError):
        # An xlsb, or parts calamine did without: the cached values are what there is.
        return False
    return False


def _member_has_formula(zf: zipfile.ZipFile, member: str) -> bool:
    try:
        fh = zf.open(member)
    except KeyError:
        return False
    with fh:
        first = fh.read(1 << 16)
        m = _ROOT_PREFIX.search(first)
        # A plain substring test is several times faster than the regex over tens of
        # megabytes; the regex only confirms (``<f`` also starts ``<filterColumn>``).
        needle = b"<" + (m.group(1) or b"" if m else b"") + b"f"
        tail = b""
        chunk = first
        while chunk:
            block = tail + chunk
            if needle in block and _FORMULA_TAG.search(block):
                return True
            tail = chunk[-16:]
            chunk = fh.read(1 << 22)
    return False


def _restore_uncached_formulas(p: Path, raw: RawSheet) -> None:
    """Put the formula text into cells saved without a cached value.

    calamine returns such cells as empty, which would look like an unanswered
    item; with the formula text in place, normalisation reports the formula.
    """
    import openpyxl

    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=False)
    except Exception:  # noqa: BLE001 - calamine read it; the cached values are what we have
        return
    try:
        ws = wb[raw.sheet]
        for row in ws.iter_rows():
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
                f"{name}: is not a spreadsheet or a text (CSV) file",
                hint="export the survey as .xlsx, .xls or .csv",
            )
        for enc in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(enc)
            except UnicodeDecodeError:
                continue
    raise InvalidInput(
        f"{name}: cannot decode the file as text (tried {', '.join(_TEXT_ENCODINGS)})",
        hint="save it as 'CSV UTF-8' or as .xlsx and import again",
    )


def _read_delimited(name: str, data: bytes, sheet: str | int | None) -> RawSheet:
    text = decode_text(name, data)
    if not text.strip():
        raise InvalidInput(f"{name}: the file is empty", hint="export the survey again")
    delimiter = _sniff_delimiter(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InvalidInput(f"{name}: cannot read the file as CSV ({exc})") from None
    rows = _clean_rows([[c if c.strip() else None for c in r] for r in records])
    if not rows:
        raise InvalidInput(f"{name}: the file is empty", hint="export the survey again")
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


def _layout(table: list[list[tuple[str, int, int]]]) -> list[list]:
    """Place cells on a grid as a spreadsheet would: a merged cell's value sits top-left."""
    grid: dict[tuple[int, int], str | None] = {}
    for r, row in enumerate(table):
        c = 0
        for text, colspan, rowspan in row:
            while (r, c) in grid:
                c += 1
            value = text.strip()
            for dr in range(rowspan):
                for dc in range(colspan):
                    grid[(r + dr, c + dc)] = None
            grid[(r, c)] = value if value else None
            c += colspan
    if not grid:
        return []
    height = max(r for r, _ in grid) + 1
    width = max(c for _, c in grid) + 1
    rows = [[None] * width for _ in range(height)]
    for (r, c), v in grid.items():
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
        raise InvalidInput(f"{name}: cannot read the HTML table in the file ({exc})") from None
    tables = [t for t in (_clean_rows(_layout(t)) for t in parser.tables) if t]
    if not tables:
        raise InvalidInput(
            f"{name}: the file is an HTML page without a table", hint="export the survey as .xlsx or .csv"
        )
    if sheet is None:
        rows = max(tables, key=len)
    elif isinstance(sheet, int) and not isinstance(sheet, bool) and 0 <= sheet < len(tables):
        rows = tables[sheet]
    else:
        raise InvalidInput(f"{name}: the file is an HTML page with {len(tables)} table(s); pass a 0-based table index")
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
    return f"{raw.file}, sheet {raw.sheet}" if raw.sheet else raw.file


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
    extra = " (or a question titled N、学号)" if profile.item_mode == "questions" else ""
    return InvalidInput(
        f"{_where(raw)}: no student-number column in the header row (row {row_index + 1}); "
        f"accepted headers: {_aliases_text(profile)}{extra}",
        hint="rename the column to 学号, or pass --profile with a profile that knows its header",
    )


def _find_export_header(
    raw: RawSheet, profile: str | Profile, profiles: dict[str, Profile]
) -> tuple[Profile, int, HeaderLayout]:
    scan = _scan_rows(raw)
    if not scan:
        raise InvalidInput(f"{_where(raw)}: no data rows (the sheet is empty)")
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
            f"{_where(raw)}: no import profile matches the header row (row {header_row + 1}; tried "
            f"{', '.join(sorted(p.name for p in candidates))})",
            hint="every export profile needs a student-number column (学号) and item columns; "
            "pass --profile NAME to choose one, or check that this is a survey export",
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
        f"{_where(raw)}: no header row for profile {prof.name} in the first {HEADER_SCAN_ROWS} rows: "
        f"it needs a student-number column ({_aliases_text(prof)}) and item columns",
        hint=f"check the export, or pass another --profile (the first non-empty row is row {first + 1})",
    )


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
            self.problem(_FORMULA_MESSAGE, row, j, v)

    def field_value(self, spec: FieldSpec, v: object, row: int, j: int, required: bool) -> tuple[object, object]:
        """(normalised text, parsed value for datetime fields)."""
        if is_formula_text(v):
            self.problem(_FORMULA_MESSAGE, row, j, v)
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
                    self.problem(f"{spec.name} is empty", row, j)
                return None, None
            dt = parse_cell_date(v)
            if dt is None:
                # An unreadable submission time only weakens duplicate resolution; an
                # unreadable interview date makes the record meaningless.
                if required or t == "date":
                    self.problem(f"cannot read {spec.name} as a date", row, j, v)
                return fold_text(cell_text(v)) or None, None
            if t == "date":
                return dt.date().isoformat(), dt
            return dt.isoformat(sep=" ", timespec="seconds"), dt
        text = (phone_text(v) if t == "phone" else cell_text(v)) or None
        if required and text is None:
            self.problem(f"{spec.name} is empty", row, j)
        return text, None


_FORMULA_MESSAGE = (
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


def _read_fields(
    reader: _RowReader, data: list[tuple[int, list]], required: Sequence[str]
) -> tuple[pd.DataFrame, pd.Series | None]:
    profile, layout = reader.profile, reader.layout
    index = [rn for rn, _ in data]
    columns: dict[str, list] = {}
    submitted: list | None = None
    for name, j in layout.fields.items():
        spec = profile.fields[name]
        req = name in required
        values = []
        parsed = [] if name == "submitted_at" else None
        for rn, row in data:
            text, dt = reader.field_value(spec, row[j], rn, j, req)
            values.append(text)
            if parsed is not None:
                parsed.append(dt)
        columns[name] = values
        if parsed is not None:
            submitted = parsed
    if "student_no" not in columns:
        columns["student_no"] = [None] * len(index)
    order = ["student_no", *(c for c in columns if c != "student_no")]
    roster = pd.DataFrame({c: columns[c] for c in order}, index=pd.Index(index, name="row"), dtype=object)
    sub = None
    if submitted is not None:
        sub = pd.Series(pd.to_datetime(pd.Series(submitted, dtype=object), errors="coerce").to_numpy(),
                        index=roster.index, name="submitted_at")
    return roster, sub


def _data_rows(raw: RawSheet, header_index: int) -> list[tuple[int, list]]:
    return [(i + 1, r) for i, r in enumerate(raw.rows) if i > header_index and _non_empty(r)]


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
    profiles = load_profiles(profiles_dirs)
    if isinstance(profile, str) and profile != "auto":
        profile = get_profile(profile, profiles_dirs)
    if isinstance(profile, Profile) and profile.kind != "export":
        raise InvalidInput(
            f"profile {profile.name} describes a {profile.kind}, not a survey export",
            hint=f"use one of: {', '.join(sorted(n for n, p in profiles.items() if p.kind == 'export'))} (or auto)",
        )
    raw = _rectangular(raw)
    prof, h, layout = _find_export_header(raw, profile, profiles)
    counts = sorted({int(n) for n in accepted_item_counts})
    found = len(layout.items)
    if layout.numbering_problems:
        raise InvalidInput(
            f"{_where(raw)}: the item columns of the header (row {h + 1}) are not numbered 1 to {found}: "
            + "; ".join(layout.numbering_problems),
            hint="fix the item headers so that each item 1…n has exactly one column",
        )
    if found not in counts:
        expected = " or ".join(map(str, counts))
        if found:
            (_, j0), (_, j1) = layout.items[0], layout.items[-1]
            span = (
                f"; the first item column is {column_letter(j0)} {layout.headers[j0]!r}, "
                f"the last is {column_letter(j1)} {layout.headers[j1]!r}"
            )
        else:
            span = ""
        raise InvalidInput(
            f"{_where(raw)}: found {found} item column(s) under profile {prof.name} (header row {h + 1}), "
            f"but the instrument has {expected} items{span}",
            hint="check that the export is of this instrument and that no question was added or deleted "
            "(run with --dry-run to see how the columns were mapped)",
        )
    data = _data_rows(raw, h)
    if not data:
        raise InvalidInput(
            f"{_where(raw)}: no data rows below the header (row {h + 1})", hint="export the survey again"
        )
    reader = _RowReader(raw, prof, layout)
    roster, submitted = _read_fields(reader, data, ("student_no",))

    item_numbers = [n for n, _ in layout.items]
    item_cols = [j for _, j in layout.items]
    fold = reader.fold
    matrix = [[fold(row[j]) for j in item_cols] for _, row in data]
    if reader._formulas:
        for rn, row in data:
            for j in item_cols:
                reader.check_formula(row[j], rn, j)
    answers = pd.DataFrame(matrix, index=roster.index.copy(), columns=item_numbers, dtype=object)
    if item_numbers != sorted(item_numbers):
        answers = answers.reindex(columns=sorted(item_numbers))
    item_columns = sorted(
        (ItemColumn(n, j, column_letter(j), layout.headers[j]) for n, j in layout.items), key=lambda c: c.item
    )
    problems = sorted(reader.problems, key=lambda p: p.row or 0)
    return ParsedExport(
        file=raw.file,
        sheet=raw.sheet,
        profile=prof.name,
        header_row=h + 1,
        roster=roster,
        answers=answers,
        item_columns=item_columns,
        submitted_at=submitted,
        problems=problems,
        data_rows=len(data),
        columns=_all_mappings(prof, layout, True),
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
        raise InvalidInput(f"profile {prof.name} has no field(s) {', '.join(unknown)}")
    raw = _rectangular(raw)
    scan = _scan_rows(raw)
    if not scan:
        raise InvalidInput(f"{_where(raw)}: no data rows (the sheet is empty)")
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
        raise InvalidInput(
            f"{_where(raw)}: the header row (row {i + 1}) has no column for "
            + "; ".join(f"{f} (accepted: {_aliases_text(prof, f)})" for f in missing),
            hint="rename the columns, or pass a profile that knows these headers",
        )
    _, h, layout = best
    data = _data_rows(raw, h)
    if not data:
        raise InvalidInput(f"{_where(raw)}: no data rows below the header (row {h + 1})")
    reader = _RowReader(raw, prof, layout)
    roster, _ = _read_fields(reader, data, tuple(required))
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
    sample_rows = list(parsed.roster.index[: max(0, rows)])
    raw_rows = parsed.raw.rows if parsed.raw is not None else None
    out = []
    for col in parsed.columns:
        values = []
        for rn in sample_rows:
            raw_value = raw_rows[rn - 1][col.column_index] if raw_rows is not None else None
            if col.kind == "field":
                value = parsed.roster.at[rn, col.target]
            elif col.kind == "item":
                value = parsed.answers.at[rn, col.target]  # type: ignore[union-attr]
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
) -> ParsedExport:
    """:func:`read_sheet` then :func:`parse_export`."""
    return parse_export(
        read_sheet(path, sheet), accepted_item_counts=accepted_item_counts, profile=profile, profiles_dirs=profiles_dirs
    )


def read_table(
    path: str | Path,
    profile_name: str | Profile,
    required: Sequence[str] = ("student_no",),
    *,
    sheet: str | int | None = None,
    profiles_dirs: Iterable[str | os.PathLike] | str | os.PathLike | None = None,
) -> ParsedTable:
    """:func:`read_sheet` then :func:`parse_table`."""
    return parse_table(read_sheet(path, sheet), profile_name, required, profiles_dirs=profiles_dirs)
