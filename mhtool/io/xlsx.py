"""The only module that writes workbooks.

Two guarantees hold for every file written here:

- **User text is data, never a formula.** Every ``str`` is stored as a string
  cell (``data_type 's'``), so a note that starts with ``=``, ``+``, ``-`` or
  ``@`` — or reads ``#N/A`` — is shown as typed and never evaluated.
- **Atomic writes.** The workbook is built in memory, saved to a temporary
  file in the target directory and renamed over the target with
  :func:`os.replace`. A reader sees the old file or the new one, never half a
  workbook; on any failure the temporary file is removed and an existing file
  at the target is left as it was. The file is created readable by its owner
  only, because reports carry sensitive data.

And every sheet prints as it is, with no retouching in Excel or LibreOffice:
A4 in the orientation its width needs, fitted to the page width at no less
than 9 pt (long text wraps rather than the page shrinking), the center's
name, the classification line and page numbers in the page header and
footer, header rows repeated, an explicit Chinese face in every cell, each
row as tall as its wrapped text, and charts in the level colours placed
where no page break cuts them. :func:`printed_font_pt` and the other
``printed_*`` helpers compute from a written sheet what paper will show.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import re
import sys
import tempfile
import weakref
from copy import copy
from datetime import date, datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence
from zipfile import ZIP_DEFLATED, ZipFile


def _load_openpyxl_without_numpy() -> None:
    """Import openpyxl without numpy, unless numpy is in the process already.

    openpyxl imports numpy whenever it is installed, only so that numpy
    scalars are accepted as cell values; every value written here is made a
    Python number first (:func:`_put_value`), and numpy costs a report a
    tenth of a second of start-up. numpy stays importable for everyone else.
    """
    if "openpyxl" in sys.modules or "numpy" in sys.modules:
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]  # makes `import numpy` fail inside openpyxl
    try:
        import openpyxl  # noqa: F401
    finally:
        del sys.modules["numpy"]


_load_openpyxl_without_numpy()

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.cell import coordinate_from_string
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from mhtool.errors import MhtoolError, UsageError
from mhtool.i18n import _
from mhtool.domain.labels import codes, label, pick, text
from mhtool.domain.text import display_width
from mhtool.domain.vocabulary import LEVEL_COLOURS
from mhtool.domain.document import (
    Chart,
    FormField,
    FormSection,
    FormText,
    Report,
    Sheet,
    SignatureLine,
    check_value,
    signature_block,
)

NUMBER_FORMATS = {
    "int": "0",
    "float": "0.00",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}

MAX_SHEET_NAME = 31
MAX_CELL_TEXT = 32767
MIN_WIDTH = 6
MAX_WIDTH = 50

TITLE_ROW = 1
HEADER_ROW = 2
FIRST_DATA_ROW = 3

# Every cell names its face: neither Excel nor LibreOffice picks a Chinese face for a
# cell that names none, and the fallback they do pick differs from machine to machine.
BODY_FONT = "宋体"  # SimSun: body text, numbers, notes
HEADING_FONT = "黑体"  # SimHei: titles, column headers, section headings
BODY_PT = 10.5  # 五号
TITLE_PT = 14.0  # 四号
# The smallest size a printed page may show (after fit-to-width shrinks it).
MIN_PRINTED_PT = 9.0

_BODY = Font(name=BODY_FONT, size=BODY_PT)
_BODY_BOLD = Font(name=BODY_FONT, size=BODY_PT, bold=True)
_HEADING = Font(name=HEADING_FONT, size=BODY_PT, bold=True)
_TITLE_FONT = Font(name=HEADING_FONT, size=TITLE_PT, bold=True)
_TITLE_RUN = InlineFont(rFont=HEADING_FONT, sz=TITLE_PT, b=True)
_META_RUN = InlineFont(rFont=BODY_FONT, sz=BODY_PT)

# Level colours in charts: the fills of level cells are pale so that black text stays
# readable on them; a line or a bar that pale vanishes on white paper, so charts use
# the full colour the level is named after.
LEVEL_CHART_COLOURS: dict[str, str] = {"red": "FF0000", "orange": "FF8C00", "yellow": "FFD700"}
# Series that are no level (a total): greys and blues that no level name suggests.
OTHER_CHART_COLOURS: tuple[str, ...] = ("404040", "2F5597", "7F7F7F", "548235")
# A chart shows each point's value when a series has at most this many points.
MAX_LABELLED_POINTS = 12

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
_SECTION_FILL = PatternFill("solid", fgColor="DDEBF7")
_LEVEL_FILLS = {code: PatternFill("solid", fgColor=rgb) for code, rgb in LEVEL_COLOURS.items()}
_THIN = Side(style="thin", color="A6A6A6")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_TOTAL_BORDER = Border(left=_THIN, right=_THIN, top=Side(style="medium"), bottom=_THIN)
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_TITLE_ALIGN = Alignment(horizontal="left", vertical="center", wrap_text=True)
_WRAP_TOP = Alignment(vertical="top", wrap_text=True)
_LABEL_ALIGN = Alignment(horizontal="right", vertical="top", wrap_text=True)
_VALUE_ALIGN = Alignment(horizontal="left", vertical="top", wrap_text=True)
_SIGN_ALIGN = Alignment(horizontal="right", vertical="bottom")
_BLOCK_ALIGN = Alignment(horizontal="left", vertical="bottom")

# Row heights in points. Neither Excel nor LibreOffice fits a row to wrapped text when
# it opens a file, so every row gets its height here, from the lines its text needs.
_LINE_PT = 15.0  # one line of 10.5 pt text
_TITLE_LINE_PT = 20.0  # one line of the 14 pt title
_ROW_PAD = 3.0
_ROW_PT = _LINE_PT + _ROW_PAD  # a row of one line
_SIGN_ROW_PT = 30.0  # room to sign by hand
_FORM_LABEL_WIDTH = 18
_FORM_VALUE_WIDTH = 62

# Column widths are in Excel's character units: 7 px (the default font's digit) at 96 dpi.
# A CJK character of 10.5 pt is 14 px, two units (see display_width); a cell keeps 5 px of
# its width as margins.
_UNIT_IN = 7 / 96
_EMU_PER_UNIT = 914400 * 7 / 96
_EMU_PER_PT = 12700
_EMU_PER_CM = 360000
_CELL_PAD = 5 / 7
# Line breaking in CJK text keeps a closing punctuation mark off the start of a line by
# pulling the character before it down: a wrapped line may hold one character less.
_WRAP_SLACK = 2.0
_DEFAULT_COL_WIDTH = 9.14  # what Excel and LibreOffice show for a column with no width
_MIN_WRAP_WIDTH = 16  # a text column is never squeezed narrower than this to fit the page

# A4 (inches) and the margins every sheet prints with: 1 cm at the sides, room for the
# page header and footer at the top and bottom.
_A4_IN = (8.27, 11.69)
_MARGINS_IN = {"left": 0.4, "right": 0.4, "top": 0.8, "bottom": 0.8, "header": 0.3, "footer": 0.3}
_HEADER_FOOTER_FONT = f"{BODY_FONT},Regular"
_HEADER_FOOTER_PT = 9

_CHART_HEIGHT_CM = 8.5
_CHART_WIDTH_BESIDE_CM = 16.0
_CHART_WIDTH_BELOW_CM = 17.0
_CHART_GAP_WIDTH = 2.0  # the empty column between a table and a chart beside it
_LINE_EMU = 28575  # 2.25 pt lines

# The control characters a workbook cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE as one class, which is faster).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Characters Excel refuses in sheet names.
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
# Characters no common file system accepts in a file name.
_BAD_FILE_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
# Where a line of text may break: after a run of spaces, between two CJK characters,
# between words (a run of printable ASCII stays whole, as in Excel and LibreOffice).
_TOKENS = re.compile(r"\s+|[!-~]+|.", re.S)


# --------------------------------------------------------------------------- public API


def write_report(report: Report, path: Path | str) -> Path:
    """Write ``report`` as an .xlsx workbook at ``path`` (atomically) and return the path."""
    wb = Workbook()
    wb.remove(wb.active)
    names: set[str] = set()
    for sheet in report.sheets:
        ws = wb.create_sheet(unique_sheet_name(sheet.name(report.lang), names))
        if sheet.kind == "form":
            _write_form(ws, report, sheet)
        else:
            _write_table(ws, report, sheet)
    if not report.sheets:
        ws = wb.create_sheet(unique_sheet_name(report.title(), names))
        heading, meta, needed = _title_lines(report, None, _FORM_LABEL_WIDTH + _FORM_VALUE_WIDTH)
        ws.column_dimensions["A"].width = max(needed, _FORM_LABEL_WIDTH + _FORM_VALUE_WIDTH)
        _put_title(ws.cell(TITLE_ROW, 1), heading, meta)
        ws.row_dimensions[TITLE_ROW].height = _title_height(heading, meta)
        _print_setup(ws, landscape=False, lang=report.lang, unit=report.meta.get("unit"))
    return _save_atomic(wb, Path(path))


def write_table_xlsx(
    path: Path | str,
    sheet_name: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    lang: str = "zh",
    unit: str | None = None,
) -> Path:
    """Write one plain table (header row + rows), e.g. a rejects sheet or score results.

    No title row, so the file can be corrected and imported again. Types are
    taken from the values: ``str`` → string cell (never a formula), numbers,
    dates and datetimes with their formats, ``None`` → empty. It prints like
    every report: A4, the header row on every page, the page header naming
    ``unit`` (the center) and the classification, page numbers in ``lang``.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = unique_sheet_name(sheet_name, set())
    widths = [display_width(str(h)) for h in headers]
    for c, h in enumerate(headers, start=1):
        cell = ws.cell(1, c)
        _put_text(cell, str(h))
        cell.font, cell.fill, cell.border, cell.alignment = _HEADING, _HEADER_FILL, _BORDER, _HEADER_ALIGN
    # The finished style of a cell depends only on its column, its kind and whether it is empty.
    finished: dict = {}
    long_text: dict[int, list[tuple[int, str]]] = {}
    r = 1
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(r, c)
            kind = _infer_kind(value)
            own = _put_value(cell, value, kind, "zh")
            if own is not None:
                variant = (c, kind)
                style = finished.get(variant)
                if style is None:
                    _style(cell, **dict(own), font=_BODY)
                    style = finished[variant] = cell._style
                cell._style = copy(style)
            if c > len(widths):
                widths.append(0)
            w = _value_width(value, kind, "zh")
            widths[c - 1] = max(widths[c - 1], w)
            if kind == "text" and value and (w + 2 > MAX_WIDTH or "\n" in value):
                long_text.setdefault(c, []).append((r, value))
    final = [_clamp_width(w) for w in widths]
    for c, w in enumerate(final, start=1):
        ws.column_dimensions[get_column_letter(c)].width = w
    # Text too long for its column wraps, and its row is as tall as the lines it needs.
    heights: dict[int, int] = {}
    for c, cells in long_text.items():
        for row_no, value in cells:
            _style(ws.cell(row_no, c), alignment=_WRAP_TOP)
            heights[row_no] = max(heights.get(row_no, 1), _line_count(value, final[c - 1]))
    for row_no, lines in heights.items():
        ws.row_dimensions[row_no].height = _row_height(lines)
    if headers:
        ws.row_dimensions[1].height = _row_height(max(_line_count(str(h), w, slack=0) for h, w in zip(headers, final)))
    ws.freeze_panes = "A2"
    if headers:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(r, 1)}"
    _print_setup(ws, landscape=sum(final) > printable_width_units("portrait"), lang=lang, unit=unit, width=sum(final))
    if headers:
        ws.print_title_rows = "1:1"
    return _save_atomic(wb, Path(path))


def out_path_for(out: Path | str, default_name: str, *, option: str = "--out") -> Path:
    """Where ``--out`` asks a file to go.

    An existing directory, or a path written with a trailing separator, gets
    ``default_name`` inside it; anything else is the file path itself. The
    directory must already exist.
    """
    raw = os.fspath(out)
    seps = (os.sep, os.altsep) if os.altsep else (os.sep,)
    wants_dir = raw.endswith(seps)
    target = Path(raw).expanduser()
    name = safe_file_name(default_name)
    if wants_dir or target.is_dir():
        if not target.is_dir():
            raise UsageError(
                _("{option}: directory {path} does not exist").format(option=option, path=raw),
                hint=_("create it first (mkdir -p {path}) or pass an existing directory").format(path=raw),
            )
        return target / name
    parent = target.parent
    if not parent.is_dir():
        raise UsageError(
            _("{option}: cannot write {path}: directory {directory} does not exist").format(option=option, path=raw, directory=parent),
            hint=_("create it first (mkdir -p {directory}) or pass a path in an existing directory").format(directory=parent),
        )
    return target


def default_file_name(report: Report) -> str:
    """``周报_2026-W47.xlsx`` (zh) or ``weekly_2026-W47.xlsx`` (en)."""
    stem = label("report_file", report.kind, report.lang) if report.kind in codes("report_file") else pick(report.lang, report.title_zh, report.title_en or report.kind)
    if report.period is not None:
        stem = f"{stem}_{report.period.label}"
    return safe_file_name(f"{stem}.xlsx")


def safe_file_name(name: str) -> str:
    cleaned = _BAD_FILE_CHARS.sub("_", name).strip().strip(".")
    return cleaned or "report.xlsx"


def unique_sheet_name(name: str, taken: set[str]) -> str:
    """A valid Excel sheet name (≤ 31 characters, no ``[]:*?/\\``), unique in ``taken``.

    Excel compares sheet names case-insensitively; ``taken`` holds the
    case-folded names already used and is updated.
    """
    base = _BAD_SHEET_CHARS.sub("_", _clean_text(name or "")).strip().strip("'") or "Sheet"
    base = base[:MAX_SHEET_NAME]
    candidate, n = base, 1
    while candidate.casefold() in taken:
        n += 1
        suffix = f"({n})"
        candidate = base[: MAX_SHEET_NAME - len(suffix)] + suffix
    taken.add(candidate.casefold())
    return candidate


# --------------------------------------------------------------------------- the printed page


def printable_width_units(orientation: str, left: float = _MARGINS_IN["left"], right: float = _MARGINS_IN["right"]) -> float:
    """How many column-width units fit across an A4 page between the margins (inches) at 100 %."""
    paper = _A4_IN[1] if orientation == "landscape" else _A4_IN[0]
    return (paper - left - right) / _UNIT_IN


def printable_height_pt(orientation: str, top: float = _MARGINS_IN["top"], bottom: float = _MARGINS_IN["bottom"]) -> float:
    """How many points of rows fit down an A4 page between the margins (inches) at 100 %."""
    paper = _A4_IN[0] if orientation == "landscape" else _A4_IN[1]
    return (paper - top - bottom) * 72


def column_widths(ws: Worksheet, upto: int) -> list[float]:
    """The widths of columns 1..``upto`` as Excel shows them (a column with no width: the default)."""
    widths = [_DEFAULT_COL_WIDTH] * upto
    # A written file stores runs of equal columns as one <col min max>, read back as one dimension.
    for key, dim in list(ws.column_dimensions.items()):
        if not dim.width:
            continue
        lo = dim.min or column_index_from_string(key)
        hi = dim.max or lo
        for c in range(lo, min(hi, upto) + 1):
            widths[c - 1] = float(dim.width)
    return widths


def row_height_pt(ws: Worksheet, row: int) -> float:
    """The height of ``row`` in points (the sheet's default when it has none)."""
    dim = ws.row_dimensions.get(row)  # .get: reading must not add a row
    if dim is not None and dim.height:
        return float(dim.height)
    return float(ws.sheet_format.defaultRowHeight or 15)


def chart_box(ws: Worksheet, chart) -> tuple[int, int, float, float, float, float]:
    """Where ``chart`` lies: (first column, first row, left, right in width units, top, bottom in points).

    Columns and rows are 1-based. Works on a sheet being written (anchor ``"G2"``) and on one read back.
    """
    anchor = chart.anchor
    if isinstance(anchor, str):
        col_letter, row = coordinate_from_string(anchor)
        col = column_index_from_string(col_letter)
    else:
        col, row = anchor._from.col + 1, anchor._from.row + 1
    left = sum(column_widths(ws, col)[: col - 1])
    top = sum(row_height_pt(ws, r) for r in range(1, row))
    if isinstance(anchor, str):
        return col, row, left, left + chart.width * _EMU_PER_CM / _EMU_PER_UNIT, top, top + chart.height * _EMU_PER_CM / _EMU_PER_PT
    ext = getattr(anchor, "ext", None)
    if ext is not None:
        return col, row, left, left + ext.width / _EMU_PER_UNIT, top, top + ext.height / _EMU_PER_PT
    # A two-cell anchor (a file from elsewhere): its far corner is a cell and an offset too.
    to = anchor.to
    right = sum(column_widths(ws, to.col + 1)[: to.col]) + to.colOff / _EMU_PER_UNIT
    bottom = sum(row_height_pt(ws, r) for r in range(1, to.row + 1)) + to.rowOff / _EMU_PER_PT
    return col, row, left, right, top, bottom


def printed_width_units(ws: Worksheet) -> float:
    """The width the sheet prints at 100 %: its print area, or its columns and charts."""
    area = ws.print_area
    if area:
        cells = str(area).split(",")[0].rsplit("!", 1)[-1]
        last = re.findall(r"\$?([A-Z]+)\$?\d+", cells)[-1]
        return sum(column_widths(ws, column_index_from_string(last)))
    width = sum(column_widths(ws, ws.max_column))
    for chart in ws._charts:
        width = max(width, chart_box(ws, chart)[3])
    return width


def printed_scale(ws: Worksheet) -> float:
    """The scale the sheet prints at: fit to the page width, never enlarged (1.0 = 100 %)."""
    setup = ws.page_setup
    if not ws.sheet_properties.pageSetUpPr or not ws.sheet_properties.pageSetUpPr.fitToPage:
        return (setup.scale or 100) / 100
    margins = ws.page_margins
    available = printable_width_units(setup.orientation or "portrait", margins.left, margins.right)
    return min(1.0, available / max(printed_width_units(ws), 1.0))


def printed_font_pt(ws: Worksheet) -> float:
    """The smallest font size any non-empty cell of the sheet shows on paper, in points."""
    sizes = [
        float(cell.font.sz)
        for row in ws.iter_rows()
        for cell in row
        if cell.value not in (None, "") and cell.font is not None and cell.font.sz
    ]
    return (min(sizes) if sizes else BODY_PT) * printed_scale(ws)


def page_height_pt(ws: Worksheet) -> float:
    """How many points of the sheet's rows one printed page holds, at the sheet's print scale."""
    margins = ws.page_margins
    return printable_height_pt(ws.page_setup.orientation or "portrait", margins.top, margins.bottom) / printed_scale(ws)


# --------------------------------------------------------------------------- table sheets


def _write_table(ws: Worksheet, report: Report, sheet: Sheet) -> None:
    lang = report.lang
    cols = sheet.columns
    ncols = max(len(cols), 1)
    last_col = get_column_letter(ncols)
    headers = [c.header(lang) for c in cols]
    value_widths = [0] * len(cols)
    multiline = [False] * len(cols)

    for c, h in enumerate(headers, start=1):
        cell = ws.cell(HEADER_ROW, c)
        _put_text(cell, h)
        cell.font, cell.fill, cell.border, cell.alignment = _HEADING, _HEADER_FILL, _BORDER, _HEADER_ALIGN

    # A data cell's style depends only on its column and on what its value asks for
    # (a level colour, or nothing when empty), so it is worked out once per variant.
    # Data cells are not made openpyxl cells (thousands of objects): each value is
    # checked and converted as a cell's would be (:func:`_cell_value`) and kept with its
    # variant; :data:`_TABLE_ROWS` hands the rows to :class:`_SheetWriter`. The same
    # value in the same column (a college, a level, a day) is worked out once.
    finished: dict = {}
    known: dict = {}
    kinds = ["text" if col.kind == "code" else col.kind for col in cols]
    scratch = Cell(ws)
    body: list[list[tuple]] = []
    r = HEADER_ROW
    for r, row in enumerate(sheet.rows, start=FIRST_DATA_ROW):
        cells = []
        for c, (col, kind, value) in enumerate(zip(cols, kinds, row), start=1):
            key = (c, type(value), value)
            cell = known.get(key) if type(value) in _KEYABLE else None
            if cell is None:
                shown = col.display(value, lang) if col.kind == "code" and value is not None else value
                stored, data_type, own = _cell_value(shown, kind, lang, lambda: f"{get_column_letter(c)}{r}")
                variant = (c, own is None, shown if kind == "level" else None)
                if variant not in finished:
                    scratch._style = StyleArray()
                    _style(scratch, **dict(own or ()), font=_BODY, border=_BORDER)
                    finished[variant] = scratch._style
                cell = (stored, data_type, variant, _value_width(shown, kind, lang), kind == "text" and bool(shown) and "\n" in shown)
                if type(value) in _KEYABLE:
                    known[key] = cell
            stored, data_type, variant, width, multiple = cell
            cells.append((c, stored, data_type, variant))
            if width > value_widths[c - 1]:
                value_widths[c - 1] = width
            if multiple:
                multiline[c - 1] = True
        body.append(cells)
    last_data_row = r

    total_row = None
    if sheet.total_row is not None:
        r += 1
        total_row = r
        for c, (col, value) in enumerate(zip(cols, sheet.total_row), start=1):
            cell = ws.cell(r, c)
            _put(cell, value, "text" if isinstance(value, str) or col.kind == "code" else col.kind, lang, font=_BODY_BOLD, fill=_TOTAL_FILL, border=_TOTAL_BORDER)
            value_widths[c - 1] = max(value_widths[c - 1], _value_width(value, col.kind, lang))

    widths = [_column_width(col, h, w) for col, h, w in zip(cols, headers, value_widths)]
    # The charts beside the table print with it, so they count against the page width too.
    # A chart over an empty table would be an empty frame: it is left out.
    beside, below = _split_charts(sheet, ncols) if sheet.rows else ([], [])
    beside_width = _beside_width(beside, ncols)
    _fit_text_columns(cols, headers, widths, extra=beside_width)

    table_width = sum(widths) or _FORM_VALUE_WIDTH
    heading, meta, needed = _title_lines(report, sheet, table_width)
    if needed > table_width:
        # A narrow table is widened rather than letting a title line wrap (and split a date).
        _widen(cols, widths, needed - table_width)
        table_width = sum(widths)
        heading, meta, _width = _title_lines(report, sheet, table_width)
    for c, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = w
    _put_title(ws.cell(TITLE_ROW, 1), heading, meta)
    if ncols > 1:
        ws.merge_cells(f"A{TITLE_ROW}:{last_col}{TITLE_ROW}")
    ws.row_dimensions[TITLE_ROW].height = _title_height(heading, meta)

    # Every row gets its height: headers of narrow number columns wrap onto two lines,
    # long text onto as many as it needs.
    ws.row_dimensions[HEADER_ROW].height = _row_height(max((_line_count(h, w, slack=0) for h, w in zip(headers, widths)), default=1))
    wrapped = [
        i
        for i, col in enumerate(cols)
        if col.kind in ("text", "code") and (value_widths[i] + 2 > widths[i] or multiline[i])
    ]
    # Wrapped columns' cells (the total row's too) align to the top; the other cells of a
    # tall row line up with the first line of its wrapped text. Worked out per variant,
    # in the order a cell-by-cell pass would register the alignments.
    finals: dict = {}
    for i in wrapped:
        for cells in body:
            variant = cells[i][3]
            if (variant, True) not in finals:
                scratch._style = copy(finished[variant])
                _style(scratch, alignment=_WRAP_TOP)
                finals[variant, True] = scratch._style
        for row_cells in ws.iter_rows(min_row=last_data_row + 1, max_row=r, min_col=i + 1, max_col=i + 1):
            _style(row_cells[0], alignment=_WRAP_TOP)
    rows: dict[int, list[tuple]] = {}
    wrapped_set = set(wrapped)
    for n, (row, cells) in enumerate(zip(sheet.rows, body)):
        lines = max((_line_count(_shown(cols[i], row[i], lang), widths[i]) for i in wrapped), default=1)
        ws.row_dimensions[FIRST_DATA_ROW + n].height = _row_height(lines)
        out = []
        for i, (c, value, data_type, variant) in enumerate(cells):
            if i in wrapped_set:
                style = finals[variant, True]
            elif lines > 1:
                style = finals.get((variant, False))
                if style is None:
                    scratch._style = copy(finished[variant])
                    scratch.alignment = Alignment(horizontal=scratch.alignment.horizontal, vertical="top", wrap_text=scratch.alignment.wrap_text)
                    style = finals[variant, False] = scratch._style
            else:
                style = finished[variant]
            out.append((c, value, data_type, style))
        rows[FIRST_DATA_ROW + n] = out
    _TABLE_ROWS[ws] = rows
    if total_row is not None:
        lines = max((_line_count(_shown(cols[i], sheet.total_row[i], lang), widths[i]) for i in wrapped), default=1)
        ws.row_dimensions[total_row].height = _row_height(lines)

    r += 1
    for note in sheet.notes:
        r += 1
        cell = ws.cell(r, 1)
        _put_text(cell, note)
        cell.font, cell.alignment = _BODY, _WRAP_TOP
        if ncols > 1:
            ws.merge_cells(f"A{r}:{last_col}{r}")
        ws.row_dimensions[r].height = _row_height(_line_count(note, table_width))
    if sheet.signatures:
        r = _write_signature_block(ws, r, table_width, ncols, lang)

    # (The first data cell is in _TABLE_ROWS, not a cell of the sheet; an empty table's is made, empty.)
    ws.freeze_panes = f"A{FIRST_DATA_ROW}" if rows else ws.cell(FIRST_DATA_ROW, 1).coordinate
    if cols and sheet.rows:
        ws.auto_filter.ref = f"A{HEADER_ROW}:{last_col}{last_data_row}"
    ws.print_title_rows = f"{TITLE_ROW}:{HEADER_ROW}"

    # The blank rows between the parts get a height too, so that where a chart lands on
    # the page is known here and not left to each program's default row height.
    for n in range(1, r + 1):
        if ws.row_dimensions[n].height is None:
            ws.row_dimensions[n].height = _ROW_PT
    content = max(table_width + beside_width, _cm_units(_CHART_WIDTH_BELOW_CM) if below else 0)
    landscape = content > printable_width_units("portrait")
    scale = _print_setup(ws, landscape=landscape, lang=lang, unit=report.meta.get("unit"), width=content)
    page = printable_height_pt("landscape" if landscape else "portrait") / scale
    _place_charts(ws, sheet, lang, last_data_row, beside, below, first_free_row=r + 2, page_pt=page)


def _column_width(col, header: str, values: int) -> float:
    """A column's width: its values on one line; a number column's header may take two lines."""
    if col.width is not None:
        return float(col.width)
    if col.kind in ("int", "float", "percent"):
        # A count is a few digits under a header of four or more characters: the header
        # wraps onto two lines (期初/一级) so that twenty counts fit across one page.
        # No word is cut: the longest one (Follow-ups) fits on a line of its own.
        longest = max((display_width(t) for t in _TOKENS.findall(header) if not t.isspace()), default=0)
        head = max(min(display_width(header), 4) + 2, math.ceil(longest + _CELL_PAD))
        while _line_count(header, head, slack=0) > 2:
            head += 1
        return float(min(max(values + 2, head, MIN_WIDTH), MAX_WIDTH))
    return _clamp_width(max(values, display_width(header)))


def _fit_text_columns(cols, headers: list[str], widths: list[float], *, extra: float) -> None:
    """Narrow the widest text columns (their text wraps) until the sheet prints at ≥ 9 pt.

    Fit-to-width shrinks every letter of a sheet wider than the page; wrapping a
    long note onto more lines costs nothing but height. Columns the builder
    gave a width (room to write in by hand) give way only after the others.
    """
    over = sum(widths) + extra - _width_budget()
    for fixed in (False, True):
        while over > 0:
            candidates = [
                i
                for i, col in enumerate(cols)
                if col.kind in ("text", "code")
                and (col.width is not None) == fixed
                and widths[i] > max(_MIN_WRAP_WIDTH, display_width(headers[i]) + 2)
            ]
            if not candidates:
                break
            i = max(candidates, key=lambda k: widths[k])
            widths[i] -= 1
            over -= 1


def _width_budget() -> float:
    """The widest sheet (in width units) that fits an A4 landscape page at ≥ 9 pt."""
    return printable_width_units("landscape") * BODY_PT / (MIN_PRINTED_PT + 0.25)


def _widen(cols, widths: list[float], missing: float) -> None:
    """Share ``missing`` width units out over the columns (those without a fixed width first)."""
    free = [i for i, col in enumerate(cols) if col.width is None] or list(range(len(widths)))
    if not free:
        return
    each = math.ceil(missing / len(free))
    for i in free:
        widths[i] += each


def _shown(col, value: Any, lang: str) -> str:
    """The text a text or code cell shows."""
    if value is None:
        return ""
    if col.kind == "code" and isinstance(value, str):
        return col.display(value, lang)
    return str(value)


# --------------------------------------------------------------------------- charts


def _split_charts(sheet: Sheet, ncols: int) -> tuple[list[Chart], list[Chart]]:
    """Charts beside the table (anchored right of its last column) and charts below it.

    An anchor inside the table's columns would draw the chart over the figures, so
    such a chart goes below the table instead.
    """
    beside, below = [], []
    for spec in sheet.charts:
        if spec.anchor and column_index_from_string(coordinate_from_string(spec.anchor)[0]) > ncols:
            beside.append(spec)
        else:
            below.append(spec)
    return beside, below


def _beside_width(beside: list[Chart], ncols: int) -> float:
    if not beside:
        return 0.0
    gap = max(column_index_from_string(coordinate_from_string(s.anchor)[0]) for s in beside) - ncols - 1
    return gap * _CHART_GAP_WIDTH + _cm_units(_CHART_WIDTH_BESIDE_CM)


def _place_charts(ws, sheet: Sheet, lang: str, last_data_row: int, beside, below, *, first_free_row: int, page_pt: float) -> None:
    """Add the charts: beside the table as anchored, below it each on a page it fits on whole.

    A chart below the table starts a new printed page when what is above it on the
    page and the chart together would not fit: a chart cut by a page break prints
    half on one page and half under the repeated header rows of the next.
    """
    chart_pt = _CHART_HEIGHT_CM * _EMU_PER_CM / _EMU_PER_PT
    for spec in beside:
        col = column_index_from_string(coordinate_from_string(spec.anchor)[0])
        for gap in range(len(sheet.columns) + 1, col):
            ws.column_dimensions[get_column_letter(gap)].width = _CHART_GAP_WIDTH
        chart = _make_chart(ws, sheet, spec, lang, last_data_row)
        chart.width = _CHART_WIDTH_BESIDE_CM
        ws.add_chart(chart, spec.anchor)
    if not below:
        return
    row = first_free_row
    y = sum(row_height_pt(ws, n) for n in range(1, row))
    repeated = sum(row_height_pt(ws, n) for n in range(TITLE_ROW, HEADER_ROW + 1))
    rows_per_chart = math.ceil(chart_pt / _ROW_PT) + 1
    for spec in below:
        if y + chart_pt > page_pt * 0.97:
            ws.row_breaks.append(Break(id=row - 1))
            y = repeated
        chart = _make_chart(ws, sheet, spec, lang, last_data_row)
        chart.width = _CHART_WIDTH_BELOW_CM
        ws.add_chart(chart, f"A{row}")
        # The rows under a chart get their height too, so the next chart's anchor is where it is counted.
        for n in range(row, row + rows_per_chart):
            ws.row_dimensions[n].height = _ROW_PT
        row += rows_per_chart
        y += rows_per_chart * _ROW_PT


def _make_chart(ws: Worksheet, sheet: Sheet, spec: Chart, lang: str, last_data_row: int):
    if spec.kind == "line":
        chart = LineChart()
    else:
        chart = BarChart()
        chart.type = "col"
        if spec.stacked:
            chart.grouping = "stacked"
            chart.overlap = 100
    chart.title = spec.title(lang)
    chart.width, chart.height = _CHART_WIDTH_BELOW_CM, _CHART_HEIGHT_CM
    chart.legend.position = "b"
    points = last_data_row - HEADER_ROW
    labels = spec.data_labels if spec.data_labels is not None else points <= MAX_LABELLED_POINTS
    percent = all(sheet.column(k).kind == "percent" for k in spec.series_columns)
    others = iter(OTHER_CHART_COLOURS * len(spec.series_columns))
    for key, level in zip(spec.series_columns, spec.levels):
        c = sheet.column_index(key) + 1
        data = Reference(ws, min_col=c, min_row=HEADER_ROW, max_row=last_data_row)
        chart.add_data(data, titles_from_data=True)
        series = chart.series[-1]
        colour = LEVEL_CHART_COLOURS[level] if level else next(others)
        if spec.kind == "line":
            # Straight segments: a smoothed line overshoots (a hump where every value is 0).
            series.smooth = False
            series.graphicalProperties.line.solidFill = colour
            series.graphicalProperties.line.width = _LINE_EMU
            series.marker.symbol = "circle"
            series.marker.size = 6
            series.marker.graphicalProperties = None
            _marker_colour(series, colour)
        else:
            series.graphicalProperties.solidFill = colour
            series.graphicalProperties.line.solidFill = colour
        if labels:
            # Zeros are left unlabelled: a row of "0" over every empty stack says nothing.
            fmt = "0.0%;-0.0%;;@" if percent else "0;-0;;@"
            series.dLbls = DataLabelList(
                showVal=True,
                showSerName=False,
                showCatName=False,
                showLegendKey=False,
                showPercent=False,
                numFmt=fmt,
                dLblPos="t" if spec.kind == "line" else "ctr",
            )
    cat = sheet.column_index(spec.category_column) + 1
    chart.set_categories(Reference(ws, min_col=cat, min_row=FIRST_DATA_ROW, max_row=last_data_row))
    if percent:
        chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min = 0
    # openpyxl leaves ``delete`` unset, which recent Excel versions read as "hide the axis".
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    return chart


def _marker_colour(series, colour: str) -> None:
    from openpyxl.chart.shapes import GraphicalProperties

    props = GraphicalProperties(solidFill=colour)
    props.line.solidFill = colour
    series.marker.graphicalProperties = props


def _cm_units(cm: float) -> float:
    return cm * _EMU_PER_CM / _EMU_PER_UNIT


# --------------------------------------------------------------------------- form sheets


def _write_form(ws: Worksheet, report: Report, sheet: Sheet) -> None:
    lang = report.lang
    label_width, value_width = _FORM_LABEL_WIDTH, _FORM_VALUE_WIDTH
    heading, meta, needed = _title_lines(report, sheet, label_width + value_width)
    value_width = max(value_width, math.ceil(needed - label_width))
    total_width = label_width + value_width
    ws.column_dimensions["A"].width = label_width
    ws.column_dimensions["B"].width = value_width

    _put_title(ws.cell(TITLE_ROW, 1), heading, meta)
    ws.merge_cells(f"A{TITLE_ROW}:B{TITLE_ROW}")
    ws.row_dimensions[TITLE_ROW].height = _title_height(heading, meta)

    r = TITLE_ROW
    sections: list[int] = []
    for item in sheet.form:
        r += 1
        if isinstance(item, FormSection):
            r += 1 if r > TITLE_ROW + 1 else 0
            sections.append(r)
            cell = ws.cell(r, 1)
            _put_text(cell, item.title(lang))
            cell.font, cell.fill = _HEADING, _SECTION_FILL
            ws.merge_cells(f"A{r}:B{r}")
            ws.row_dimensions[r].height = _row_height(_line_count(item.title(lang), total_width))
        elif isinstance(item, FormField):
            label_cell, value_cell = ws.cell(r, 1), ws.cell(r, 2)
            _put_text(label_cell, item.label(lang))
            label_cell.font, label_cell.alignment, label_cell.border = _BODY_BOLD, _LABEL_ALIGN, _BORDER
            _put(value_cell, item.value, item.kind, lang)
            value_cell.font, value_cell.alignment, value_cell.border = _BODY, _VALUE_ALIGN, _BORDER
            lines = max(
                _line_count(item.label(lang), label_width),
                _line_count(_render(item.value, item.kind, lang), value_width),
            )
            ws.row_dimensions[r].height = _row_height(lines) + 2
        elif isinstance(item, FormText):
            cell = ws.cell(r, 1)
            _put_text(cell, item.text)
            cell.font, cell.alignment = _BODY, _WRAP_TOP
            ws.merge_cells(f"A{r}:B{r}")
            ws.row_dimensions[r].height = _row_height(_line_count(item.text, total_width)) + 2
        elif isinstance(item, SignatureLine):
            r += 1
            cell = ws.cell(r, 1)
            _put_text(cell, item.text(lang))
            cell.font, cell.alignment = _BODY, _SIGN_ALIGN
            ws.merge_cells(f"A{r}:B{r}")
            ws.row_dimensions[r].height = max(_SIGN_ROW_PT + 6, _row_height(_line_count(item.text(lang), total_width)))

    for note in sheet.notes:
        r += 1
        cell = ws.cell(r, 1)
        _put_text(cell, note)
        cell.font, cell.alignment = _BODY, _WRAP_TOP
        ws.merge_cells(f"A{r}:B{r}")
        ws.row_dimensions[r].height = _row_height(_line_count(note, total_width))
    if sheet.signatures:
        r = _write_signature_block(ws, r, total_width, 2, lang)

    _keep_sections_with_their_first_row(ws, sections, r)
    _print_setup(ws, landscape=False, lang=lang, unit=report.meta.get("unit"))
    ws.print_area = f"A1:B{max(r, TITLE_ROW)}"


def _keep_sections_with_their_first_row(ws: Worksheet, sections: list[int], last: int) -> None:
    """A page break before a section heading that would otherwise end a page alone."""
    page = printable_height_pt("portrait")
    used = 0.0
    for row in range(1, last + 1):
        height = ws.row_dimensions[row].height or _ROW_PT
        if row in sections and used > 0:
            following = ws.row_dimensions[row + 1].height or _ROW_PT
            if used + height + following > page:
                ws.row_breaks.append(Break(id=row - 1))
                used = 0.0
        if used + height > page:
            used = 0.0
        used += height


def _write_signature_block(ws: Worksheet, r: int, width: float, ncols: int, lang: str) -> int:
    """填报人 / 审核人 / 负责人签字 / 日期 under the sheet, as many blanks to a row as fit; returns the last row."""
    block = signature_block()
    parts = [text("form_blank", lang, label=pick(lang, zh, en), blank=block.blank) for zh, en in block.labels]
    gap = text("title_separator", lang) * 2
    lines: list[str] = []
    for part in parts:
        joined = f"{lines[-1]}{gap}{part}" if lines else part
        if lines and display_width(joined) + _CELL_PAD + 1 <= width:
            lines[-1] = joined
        else:
            lines.append(part)
    r += 1  # a blank row between the table (or its notes) and the block
    for line in lines:
        r += 1
        cell = ws.cell(r, 1)
        _put_text(cell, line)
        cell.font, cell.alignment = _BODY, _BLOCK_ALIGN
        if ncols > 1:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
        ws.row_dimensions[r].height = _SIGN_ROW_PT
    return r


# --------------------------------------------------------------------------- titles


def _title_lines(report: Report, sheet: Sheet | None, width: float) -> tuple[list[str], list[str], float]:
    """The title's lines in a cell ``width`` units wide, and the width they need.

    Report and sheet title share the first line when it fits, else take a line
    each; period and generation time likewise. No line is left to wrap, so a
    date is never split across lines.
    """
    lang = report.lang
    title = report.title(lang)
    sub = sheet.title(lang) if sheet is not None else ""
    suffix = text("redacted_suffix", lang) if report.meta.get("redacted") else ""
    if sub and sub != title:
        one, two = f"{title} — {sub}{suffix}", [title, f"{sub}{suffix}"]
    else:
        one = two = f"{title}{suffix}"
        two = [two]
    heading = [one] if _title_width(one) <= width else two
    parts = []
    if report.period is not None:
        parts.append(text("period_line", lang, period=report.period.describe(lang)))
    parts.append(text("generated_line", lang, when=report.generated_at.strftime("%Y-%m-%d %H:%M")))
    joined = text("title_separator", lang).join(parts)
    meta = [joined] if _meta_width(joined) <= width else parts
    needed = max(max(_title_width(h) for h in heading), max(_meta_width(m) for m in meta))
    return [_clean_text(h) for h in heading], [_clean_text(m) for m in meta], float(math.ceil(needed))


def _title_width(line: str) -> float:
    return display_width(line) * TITLE_PT / BODY_PT + _CELL_PAD + 1


def _meta_width(line: str) -> float:
    return display_width(line) + _CELL_PAD + 1


def _put_title(cell, heading: list[str], meta: list[str]) -> None:
    """The title cell: the report's name in the title font, period and time under it in body text."""
    cell.value = CellRichText([TextBlock(_TITLE_RUN, "\n".join(heading)), TextBlock(_META_RUN, "\n" + "\n".join(meta))])
    cell.font, cell.alignment = _TITLE_FONT, _TITLE_ALIGN


def _title_height(heading: list[str], meta: list[str]) -> float:
    return len(heading) * _TITLE_LINE_PT + len(meta) * _LINE_PT + _ROW_PAD + 2


# --------------------------------------------------------------------------- page setup


def _print_setup(ws: Worksheet, *, landscape: bool, lang: str, unit: str | None, width: float = 0.0) -> float:
    """A4, fitted to the page width, with the center's name, the classification and page numbers.

    ``width`` is what the sheet prints across (width units). A sheet so wide
    that fitting it would print below 9 pt (a research export of two dozen
    columns) prints instead at the 9 pt scale across several pages, its first
    column repeated on each. Returns the print scale (1.0 = 100 %).
    """
    orientation = "landscape" if landscape else "portrait"
    ws.page_setup.orientation = orientation
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    scale = min(1.0, printable_width_units(orientation) / width) if width else 1.0
    if BODY_PT * scale >= MIN_PRINTED_PT:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    else:
        scale = math.ceil(100 * MIN_PRINTED_PT / BODY_PT) / 100
        ws.sheet_properties.pageSetUpPr.fitToPage = False
        ws.page_setup.scale = round(scale * 100)
        ws.page_setup.pageOrder = "overThenDown"
        ws.print_title_cols = "A:A"
    ws.print_options.horizontalCentered = True
    for side, inches in _MARGINS_IN.items():
        setattr(ws.page_margins, side, inches)
    # The page header and footer keep their size when the sheet is shrunk to fit.
    ws.HeaderFooter.scaleWithDoc = False
    ws.HeaderFooter.alignWithMargins = True
    center = (unit or "").strip() or text("print_unit_default", lang)
    for part, value in (
        (ws.oddHeader.left, _header_text(text("print_classification", lang))),
        (ws.oddHeader.right, _header_text(center)),
        (ws.oddFooter.center, text("print_page", lang)),
    ):
        part.text = value
        part.font = _HEADER_FOOTER_FONT
        part.size = _HEADER_FOOTER_PT
    return scale


def _header_text(value: str) -> str:
    # "&" starts a code in a header (&P is the page number): a literal one is written twice.
    return _clean_text(value).replace("\n", " ").replace("&", "&&")


# --------------------------------------------------------------------------- cells


def _put(cell, value: Any, kind: str, lang: str, **styles) -> None:
    """Store ``value`` as a ``kind`` cell: labels for codes, formats for numbers and dates.

    ``styles`` (``border=…``, ``font=…``) are set along with the cell's own format.
    """
    own = _put_value(cell, value, kind, lang)
    if own:
        styles = {**dict(own), **styles}
    if styles:
        _style(cell, **styles)


def _put_value(cell, value: Any, kind: str, lang: str) -> tuple | None:
    """Write the value of a ``kind`` cell; return the styles its kind asks for.

    The styles are ``(name, style)`` pairs (a number format, a level colour);
    ``None`` when there was nothing to write.
    """
    stored, data_type, own = _cell_value(value, kind, lang, lambda: cell.coordinate)
    if stored is not None:
        cell._value, cell.data_type = stored, data_type
    return own


def _cell_value(value: Any, kind: str, lang: str, where: Callable[[], str]) -> tuple[Any, str, tuple | None]:
    """What a ``kind`` cell holds: (value, openpyxl data type, the styles its kind asks for or None when empty).

    Text is stored as a string cell whatever it looks like (:func:`_put_text`);
    dates are stored as they are, without the default format openpyxl's value
    setter would first give them (the kind's format replaces it). ``where``
    names the cell in an error.
    """
    if value is None or (kind in ("float", "percent") and isinstance(value, numbers.Real) and not math.isfinite(float(value))):
        return None, "n", None
    problem = check_value(kind, value)
    if problem:
        raise TypeError(f"cell {where()}: {problem}")
    if kind in ("text", "code"):
        return _clean_text(value), "s", ()
    if kind == "level":
        fill = _LEVEL_FILLS.get(value)
        return _clean_text(label("level", value, lang)), "s", ((("fill", fill),) if fill is not None else ())
    if kind == "status":
        return _clean_text(label("status", value, lang)), "s", ()
    if kind == "int":
        return int(value), "n", (("number_format", NUMBER_FORMATS["int"]),)
    if kind in ("float", "percent"):
        return float(value), "n", (("number_format", NUMBER_FORMATS[kind]),)
    if kind in ("datetime", "date"):
        stored = value.replace(tzinfo=None) if kind == "datetime" and value.tzinfo is not None else value
        return stored, "d", (("number_format", NUMBER_FORMATS[kind]),)
    return None, "n", ()


# Finished cell styles per workbook: (style before, styles set) → style after.
_STYLE_CACHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _style(cell, **styles) -> None:
    """Set ``cell.<name> = value`` for each style, reusing what an earlier cell of the workbook got.

    openpyxl hashes a style object on every assignment, which on a sheet of
    thousands of rows costs more than all the rest of the writing together.
    Style objects are told apart by identity; the cache keeps them alive, so
    an identity is never reused for another object.
    """
    cache = _STYLE_CACHES.setdefault(cell.parent.parent, {})
    before = () if cell._style is None else tuple(cell._style)
    key = (before, tuple((k, v if isinstance(v, str) else id(v)) for k, v in styles.items()))
    done = cache.get(key)
    if done is None:
        for name, value in styles.items():
            setattr(cell, name, value)
        done = cache[key] = (copy(cell._style), tuple(styles.values()))
    cell._style = copy(done[0])


def _put_text(cell, text: str) -> None:
    """A string cell whatever the text looks like (``=1+1``, ``@x``, ``#N/A`` stay text)."""
    # Set directly: the text is already cleaned of what openpyxl's value setter
    # would check for again, and that second check is a large share of the
    # time a big sheet takes.
    cell._value = _clean_text(text)
    cell.data_type = "s"


def _clean_text(text: str) -> str:
    text = _ILLEGAL.sub("", str(text))
    if len(text) > MAX_CELL_TEXT:
        text = text[: MAX_CELL_TEXT - 1] + "…"
    return text


def _infer_kind(value: Any) -> str:
    if value is None or isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        raise TypeError(f"cannot write a bool value {value!r}; pass text")
    if isinstance(value, numbers.Integral):
        return "int"
    if isinstance(value, numbers.Real):
        return "float"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    raise TypeError(f"cannot write a {type(value).__name__} value {value!r} to a workbook")


def _render(value: Any, kind: str, lang: str) -> str:
    """Roughly the text Excel shows for the cell, for sizing columns and rows."""
    if value is None:
        return ""
    if kind == "level":
        return label("level", value, lang)
    if kind == "status":
        return label("status", value, lang)
    if isinstance(value, str):
        return value
    if kind == "percent" and isinstance(value, numbers.Real):
        return f"{float(value) * 100:.1f}%"
    if kind == "float" and isinstance(value, numbers.Real):
        return f"{float(value):.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _value_width(value: Any, kind: str, lang: str) -> int:
    text = value if kind == "text" and isinstance(value, str) else _render(value, kind, lang)
    if "\n" in text:
        return max(display_width(line) for line in text.split("\n"))
    return display_width(text)


def _clamp_width(w: float) -> float:
    return float(min(max(w + 2, MIN_WIDTH), MAX_WIDTH))


@functools.lru_cache(maxsize=65536)
def _line_count(text: str, width: float, slack: float = _WRAP_SLACK) -> int:
    """How many lines ``text`` takes in a wrapping cell ``width`` units wide.

    Lines break at spaces and between CJK characters, never inside a word or a
    number (as Excel and LibreOffice break them); a word longer than a line is
    cut. ``slack`` leaves room for the characters line-breaking rules push to
    the next line.
    """
    usable = max(width - _CELL_PAD - slack, 1.0)
    lines = 0
    for paragraph in str(text).split("\n"):
        lines += 1
        if display_width(paragraph) <= usable:
            continue
        used = 0.0
        for token in _TOKENS.findall(paragraph):
            w = display_width(token)
            if token.isspace():
                used += w  # spaces may hang over the end of a line
                continue
            if used + w <= usable:
                used += w
                continue
            if used > 0:
                lines += 1
            while w > usable:
                lines += 1
                w -= usable
            used = w
    return max(lines, 1)


def _row_height(lines: int) -> float:
    return lines * _LINE_PT + _ROW_PAD



# --------------------------------------------------------------------------- atomic save


def _save_atomic(wb: Workbook, path: Path) -> Path:
    path = Path(path).expanduser()
    if path.is_symlink():
        # Never through a link: whoever placed it would choose where the data goes.
        raise UsageError(
            _("cannot write {path}: it is a symbolic link; mhtool never writes through one").format(path=path),
            hint=_("remove the link or choose another file name"),
        )
    if path.is_dir():
        raise UsageError(_("cannot write {path}: it is a directory").format(path=path), hint=_("pass a file name, e.g. report.xlsx"))
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(
            _("cannot write {path}: directory {directory} does not exist").format(path=path, directory=parent),
            hint=_("create it first (mkdir -p {directory})").format(directory=parent),
        )
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        _save(wb, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise MhtoolError(
            _("cannot write {path}: {reason}").format(path=path, reason=e.strerror or e),
            hint=_("check that the directory is writable and has free space"),
        ) from e
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
    _fsync_dir(parent)
    return path


def _save(wb: Workbook, path: str) -> None:
    """openpyxl's ``Workbook.save``, with the sheets' rows written by :class:`_SheetWriter`."""
    archive = ZipFile(path, "w", ZIP_DEFLATED, allowZip64=True)
    try:
        wb.properties.modified = datetime.now(tz=timezone.utc).replace(tzinfo=None)
        _Writer(wb, archive).save()
    finally:
        archive.close()


class _Writer(ExcelWriter):
    """openpyxl's workbook writer, its worksheets written by :class:`_SheetWriter` in memory (not through temporary files)."""

    def write_worksheet(self, ws):
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        writer = _SheetWriter(ws, out=BytesIO())
        writer.write()
        ws._rels = writer._rels
        self._archive.writestr(ws.path[1:], writer.out.getvalue())
        self.manifest.append(ws)


# Values a table cell's work is remembered by (exact types: 1, 1.0 and True are told apart).
_KEYABLE = frozenset({str, int, float, date, datetime, type(None)})

# A table sheet's data rows, kept out of openpyxl's cells: row → [(column, value, data type, style)].
_TABLE_ROWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _SheetWriter(WorksheetWriter):
    """openpyxl's worksheet writer, the rows written as XML text, a table's data rows among them.

    openpyxl builds an element per cell and serialises it in Python: most of
    the time a large report takes to save. A report's cells have three plain
    shapes (inline text, a number or date, empty with a style); those rows are
    written here as the very XML openpyxl would write, any other row (a rich
    title, a comment, a link) by openpyxl itself. The data rows of
    :data:`_TABLE_ROWS` are written among the sheet's own. Without et_xmlfile's
    plain writer (openpyxl uses lxml when it is installed) the data rows are
    made cells and every row is openpyxl's.
    """

    def __init__(self, ws, out=None):
        super().__init__(ws, out)
        self.table = _TABLE_ROWS.pop(ws, {})

    def write_dimensions(self):
        if not self.table:
            return super().write_dimensions()
        cells = [*self.ws._cells, *((r, c) for r, row in self.table.items() for c, *_rest in row)]
        rows, cols = [r for r, _c in cells], [c for _r, c in cells]
        ref = f"{get_column_letter(min(cols))}{min(rows)}:{get_column_letter(max(cols))}{max(rows)}"
        self.xf.send(SheetDimension(ref).to_tree())

    def write_rows(self):
        xf = self.xf.send(True)
        write = _text_writer(xf)
        with xf.element("sheetData"):
            dims = self.ws.row_dimensions
            epoch = None if self.ws.parent.iso_dates else self.ws.parent.epoch
            style_ids = _StyleIds(self.ws.parent._cell_styles)
            letters: dict[int, str] = {}
            rows = dict(self.rows())
            for r in self.table.keys() - rows.keys():
                rows[r] = []
            for row_idx in sorted(rows):
                row, table = rows[row_idx], self.table.get(row_idx, [])
                cells = _plain_cells(row) if write is not None else None
                text = _row_xml(cells + table, row_idx, dims.get(row_idx), style_ids, letters, epoch) if cells is not None else None
                if text is not None:
                    write(text)
                    continue
                if table:
                    # openpyxl writes the row: the data cells become cells of the sheet first.
                    for c, value, data_type, style in table:
                        cell = self.ws.cell(row_idx, c)
                        cell._value, cell.data_type, cell._style = value, data_type, copy(style)
                    row = sorted([*row, *(self.ws._cells[row_idx, c] for c, *_rest in table)], key=lambda cell: cell.column)
                self.write_row(xf, row, row_idx)
        self.xf.send(None)


def _text_writer(xf) -> Callable[[str], Any] | None:
    """What writes text as it is into et_xmlfile's stream (lxml's has no such way: None)."""
    write = getattr(xf, "_file", None)
    return write if callable(write) else None


def _plain_cells(row) -> list[tuple] | None:
    """A row of openpyxl cells as (column, value, data type, style); None when a cell has a comment or a link."""
    out = []
    for cell in row:
        if cell._comment is not None or cell.hyperlink is not None:
            return None
        out.append((cell.column, cell._value, cell.data_type, cell._style))
    return out


class _StyleIds:
    """A cell style's number in the workbook's style list, looked up by the style's bytes (openpyxl hashes it as a tuple)."""

    def __init__(self, styles):
        self.styles = styles
        self.known: dict[bytes, int] = {}
        # A table's data cells share one style object per variant: looked up by identity first.
        self.shared: dict[int, tuple] = {}

    def of(self, style) -> int:
        seen = self.shared.get(id(style))
        if seen is not None and seen[0] is style:
            return seen[1]
        key = style.tobytes()
        found = self.known.get(key)
        if found is None:
            found = self.known[key] = self.styles.add(style)
        self.shared[id(style)] = (style, found)
        return found


def _row_xml(row: list[tuple], row_idx: int, dim, styles: _StyleIds, letters: dict[int, str], epoch) -> str | None:
    """``<row>`` and its cells ``(column, value, data type, style)`` as openpyxl writes them; None when a cell is not one of the plain shapes."""
    attrs = f' r="{row_idx}"'
    if dim is not None:
        attrs += "".join(f' {k}="{_xml_attr(v)}"' for k, v in dim)
    parts = [f"<row{attrs}>"]
    for column, value, kind, style in row:
        styled = style is not None and any(style)
        if value is None and not styled:
            continue
        letter = letters.get(column)
        if letter is None:
            letter = letters[column] = get_column_letter(column)
        head = f'<c r="{letter}{row_idx}"' + (f' s="{styles.of(style)}"' if styled else "")
        if kind == "s":
            if type(value) is not str:
                return None
            if value == "":
                parts.append(head + ' t="inlineStr" />')
                continue
            stripped = value.strip()
            space = ' xml:space="preserve"' if stripped and stripped != value else ""
            parts.append(f'{head} t="inlineStr"><is><t{space}>{_xml_text(value)}</t></is></c>')
        elif kind == "n":
            if value is None or value == "":
                parts.append(head + ' t="n" />')
            elif type(value) in (int, float) and math.isfinite(value):
                parts.append(f'{head} t="n"><v>{"%.16g" % value}</v></c>')
            else:
                return None
        elif kind == "d" and epoch is not None and isinstance(value, (date, datetime)) and getattr(value, "tzinfo", None) is None:
            parts.append(f'{head} t="n"><v>{"%.16g" % _excel_serial(value, epoch)}</v></c>')
        else:
            return None
    parts.append("</row>")
    return "".join(parts)


@functools.lru_cache(maxsize=4096)
def _excel_serial(value: date, epoch: datetime) -> float:
    return to_excel(value, epoch)


def _xml_text(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _xml_attr(value) -> str:
    text = str(value)
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")):
        if raw in text:
            text = text.replace(raw, escaped)
    return text


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
