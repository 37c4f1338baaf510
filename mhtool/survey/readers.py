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
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from mhtool.errors import InvalidInput

__all__ = ["RawSheet", "read_sheet", "decode_text"]

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An xlsx saved with a password is an OLE2 container holding these two streams.
_ENCRYPTION_STREAMS = tuple(
    name.encode(enc) for name in ("EncryptionInfo", "EncryptedPackage") for enc in ("utf-16-le", "ascii")
)
_TEXT_ENCODINGS = ("UTF-8", "UTF-8 with BOM", "UTF-16 with BOM", "GB18030 (GBK)")
_PASSWORD_HINT = "open it in Excel or WPS, remove the password (文件 → 信息 → 保护工作簿 / 加密), save, and import again"


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
    if head.startswith(b"PK"):
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
                formula_sheets = _sheets_with_formulas(zf)
            elif "mimetype" in members and b"opendocument.spreadsheet" in zf.read("mimetype"):
                fmt, formula_sheets = "ods", set()
            else:
                raise InvalidInput(
                    f"{name}: is a zip archive but not an Excel workbook",
                    hint="export the survey as .xlsx, .xls or .csv",
                )
    except (zipfile.BadZipFile, OSError, KeyError, ElementTree.ParseError):
        raise InvalidInput(
            f"{name}: the workbook is damaged and cannot be read", hint="open and re-save it in Excel or WPS, or export it again"
        ) from None
    try:
        raw = _read_with_calamine(p, sheet, fmt)
    except InvalidInput:
        raise
    except Exception as calamine_error:  # noqa: BLE001 - any calamine failure gets the openpyxl fallback
        if fmt != "xlsx":
            raise _damaged(name, calamine_error) from None
        return _read_with_openpyxl(p, sheet, calamine_error)
    if raw.sheet in formula_sheets:
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
        raise InvalidInput(f"{p.name}: the workbook is password-protected; save it without a password", hint=_PASSWORD_HINT)
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

    wb = CalamineWorkbook.from_path(str(p))
    try:
        names = list(wb.sheet_names)
        # Chart sheets and macro sheets hold no cells; calamine cannot open them as ranges.
        kinds = {m.name: str(m.typ) for m in wb.sheets_metadata}
        cells = {n for n in names if kinds.get(n, "WorkSheet").endswith("WorkSheet")}

        def has_data(n: str) -> bool:
            if n not in cells:
                return False
            sh = wb.get_sheet_by_name(n)
            return sh.height > 0 and sh.width > 0

        chosen = _pick_sheet(p.name, names, sheet, has_data)
        if chosen not in cells:
            raise InvalidInput(f"{p.name}: sheet {chosen!r} is a chart or macro sheet, not a table")
        rows = wb.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
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
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _sheets_with_formulas(zf: zipfile.ZipFile) -> set[str]:
    """Names of the worksheets whose XML contains a formula element."""
    try:
        wb_xml = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels_xml = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except KeyError:
        return set()
    targets = {}
    for rel in rels_xml:
        target = rel.get("Target", "")
        if target.startswith("/"):
            path = target.lstrip("/")
        else:
            path = str(PurePosixPath("xl") / target)
        targets[rel.get("Id")] = path
    found = set()
    for el in wb_xml.iter():
        if el.tag.endswith("}sheet") or el.tag == "sheet":
            path = targets.get(el.get(_NS_REL))
            if path and _member_has_formula(zf, path):
                found.add(el.get("name"))
    return found


def _member_has_formula(zf: zipfile.ZipFile, member: str) -> bool:
    try:
        fh = zf.open(member)
    except KeyError:
        return False
    tail = b""
    with fh:
        while chunk := fh.read(1 << 20):
            if _FORMULA_TAG.search(tail + chunk):
                return True
            tail = chunk[-16:]
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
        raise InvalidInput(f"{name}: the file is an HTML page without a table", hint="export the survey as .xlsx or .csv")
    if sheet is None:
        rows = max(tables, key=len)
    elif isinstance(sheet, int) and not isinstance(sheet, bool) and 0 <= sheet < len(tables):
        rows = tables[sheet]
    else:
        raise InvalidInput(f"{name}: the file is an HTML page with {len(tables)} table(s); pass a 0-based table index")
    return RawSheet(name, "", rows, "html")
