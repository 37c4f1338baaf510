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
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import re
import tempfile
import unicodedata
import weakref
from copy import copy
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from mhtool.errors import MhtoolError, UsageError
from mhtool.domain.labels import LEVEL_COLOURS, codes, label, pick, text
from mhtool.domain.document import (
    FormField,
    FormSection,
    FormText,
    Report,
    Sheet,
    SignatureLine,
    check_value,
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

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
_SECTION_FILL = PatternFill("solid", fgColor="DDEBF7")
_LEVEL_FILLS = {code: PatternFill("solid", fgColor=rgb) for code, rgb in LEVEL_COLOURS.items()}
_THIN = Side(style="thin", color="A6A6A6")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_TOTAL_BORDER = Border(left=_THIN, right=_THIN, top=Side(style="medium"), bottom=_THIN)
_BOLD = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=13)
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_TITLE_ALIGN = Alignment(horizontal="left", vertical="center", wrap_text=True)
_WRAP_TOP = Alignment(vertical="top", wrap_text=True)
_LABEL_ALIGN = Alignment(horizontal="right", vertical="top", wrap_text=True)
_SIGN_ALIGN = Alignment(horizontal="right", vertical="bottom")

_LINE_HEIGHT = 15.0
_FORM_LABEL_WIDTH = 18
_FORM_VALUE_WIDTH = 62
_CHART_ROWS = 18

# The control characters a workbook cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE as one class, which is faster).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Characters Excel refuses in sheet names.
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
# Characters no common file system accepts in a file name.
_BAD_FILE_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f]')



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
        _put_text(ws.cell(TITLE_ROW, 1), _title_text(report, None))
    return _save_atomic(wb, Path(path))


def write_table_xlsx(
    path: Path | str,
    sheet_name: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> Path:
    """Write one plain table (header row + rows), e.g. a rejects sheet or score results.

    No title row, so the file can be corrected and imported again. Types are
    taken from the values: ``str`` → string cell (never a formula), numbers,
    dates and datetimes with their formats, ``None`` → empty.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = unique_sheet_name(sheet_name, set())
    widths = [display_width(str(h)) for h in headers]
    for c, h in enumerate(headers, start=1):
        cell = ws.cell(1, c)
        _put_text(cell, str(h))
        cell.font, cell.fill, cell.border, cell.alignment = _BOLD, _HEADER_FILL, _BORDER, _HEADER_ALIGN
    r = 1
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(r, c)
            kind = _infer_kind(value)
            _put(cell, value, kind, "zh")
            if c > len(widths):
                widths.append(0)
            widths[c - 1] = max(widths[c - 1], _value_width(value, kind, "zh"))
    for c, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = _clamp_width(w)
    ws.freeze_panes = "A2"
    if headers:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(r, 1)}"
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
                f"{option}: directory {raw} does not exist",
                hint=f"create it first (mkdir -p {raw}) or pass an existing directory",
            )
        return target / name
    parent = target.parent
    if not parent.is_dir():
        raise UsageError(
            f"{option}: cannot write {raw}: directory {parent} does not exist",
            hint=f"create it first (mkdir -p {parent}) or pass a path in an existing directory",
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


@functools.lru_cache(maxsize=16384)
def display_width(text: str) -> int:
    """Width in Excel character units: East-Asian wide and full-width characters count 2."""
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


# --------------------------------------------------------------------------- table sheets


def _write_table(ws: Worksheet, report: Report, sheet: Sheet) -> None:
    lang = report.lang
    cols = sheet.columns
    ncols = max(len(cols), 1)
    last_col = get_column_letter(ncols)
    widths = [display_width(c.header(lang)) for c in cols]

    for c, col in enumerate(cols, start=1):
        cell = ws.cell(HEADER_ROW, c)
        _put_text(cell, col.header(lang))
        cell.font, cell.fill, cell.border, cell.alignment = _BOLD, _HEADER_FILL, _BORDER, _HEADER_ALIGN

    # A data cell's style depends only on its column and on what its value asks for
    # (a level colour, or nothing when empty), so it is worked out once per variant.
    finished: dict = {}
    kinds = ["text" if col.kind == "code" else col.kind for col in cols]
    r = HEADER_ROW
    for r, row in enumerate(sheet.rows, start=FIRST_DATA_ROW):
        for c, (col, kind, value) in enumerate(zip(cols, kinds, row), start=1):
            cell = ws.cell(r, c)
            if col.kind == "code" and value is not None:
                value = col.display(value, lang)
            own = _put_value(cell, value, kind, lang)
            variant = (c, own is None, value if kind == "level" else None)
            style = finished.get(variant)
            if style is None:
                _style(cell, **dict(own or ()), border=_BORDER)
                style = finished[variant] = cell._style
            cell._style = copy(style)
            widths[c - 1] = max(widths[c - 1], _value_width(value, kind, lang))
    last_data_row = r

    if sheet.total_row is not None:
        r += 1
        for c, (col, value) in enumerate(zip(cols, sheet.total_row), start=1):
            cell = ws.cell(r, c)
            _put(cell, value, "text" if isinstance(value, str) or col.kind == "code" else col.kind, lang, font=_BOLD, fill=_TOTAL_FILL, border=_TOTAL_BORDER)
            widths[c - 1] = max(widths[c - 1], _value_width(value, col.kind, lang))

    final = []
    for c, col in enumerate(cols, start=1):
        w = col.width if col.width is not None else _clamp_width(widths[c - 1])
        final.append(w)
        ws.column_dimensions[get_column_letter(c)].width = w
        if col.kind == "text" and widths[c - 1] + 2 > w:
            for row_cells in ws.iter_rows(min_row=FIRST_DATA_ROW, max_row=r, min_col=c, max_col=c):
                _style(row_cells[0], alignment=_WRAP_TOP)
    table_width = sum(final) or _FORM_VALUE_WIDTH

    title = _title_text(report, sheet)
    cell = ws.cell(TITLE_ROW, 1)
    _put_text(cell, title)
    cell.font, cell.alignment = _TITLE_FONT, _TITLE_ALIGN
    if ncols > 1:
        ws.merge_cells(f"A{TITLE_ROW}:{last_col}{TITLE_ROW}")
    ws.row_dimensions[TITLE_ROW].height = _text_lines(title, table_width) * 18.0

    r += 1
    for note in sheet.notes:
        r += 1
        cell = ws.cell(r, 1)
        _put_text(cell, note)
        cell.alignment = _WRAP_TOP
        if ncols > 1:
            ws.merge_cells(f"A{r}:{last_col}{r}")
        ws.row_dimensions[r].height = _text_lines(note, table_width) * _LINE_HEIGHT

    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, 1).coordinate
    if cols and sheet.rows:
        ws.auto_filter.ref = f"A{HEADER_ROW}:{last_col}{last_data_row}"
    _print_setup(ws, landscape=True)
    ws.print_title_rows = f"{TITLE_ROW}:{HEADER_ROW}"

    chart_row = r + 2
    for spec in sheet.charts:
        if not sheet.rows:
            continue
        chart = _make_chart(ws, sheet, spec, lang, last_data_row)
        if spec.anchor:
            ws.add_chart(chart, spec.anchor)
        else:
            ws.add_chart(chart, f"A{chart_row}")
            chart_row += _CHART_ROWS


def _make_chart(ws: Worksheet, sheet: Sheet, spec, lang: str, last_data_row: int):
    if spec.kind == "line":
        chart = LineChart()
    else:
        chart = BarChart()
        chart.type = "col"
        if spec.stacked:
            chart.grouping = "stacked"
            chart.overlap = 100
    chart.title = spec.title(lang)
    chart.width, chart.height = 18, 8.5
    chart.legend.position = "b"
    for key in spec.series_columns:
        c = sheet.column_index(key) + 1
        data = Reference(ws, min_col=c, min_row=HEADER_ROW, max_row=last_data_row)
        chart.add_data(data, titles_from_data=True)
    cat = sheet.column_index(spec.category_column) + 1
    chart.set_categories(Reference(ws, min_col=cat, min_row=FIRST_DATA_ROW, max_row=last_data_row))
    if all(sheet.column(k).kind == "percent" for k in spec.series_columns):
        chart.y_axis.number_format = "0%"
    # openpyxl leaves ``delete`` unset, which recent Excel versions read as "hide the axis".
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    return chart


# --------------------------------------------------------------------------- form sheets


def _write_form(ws: Worksheet, report: Report, sheet: Sheet) -> None:
    lang = report.lang
    ws.column_dimensions["A"].width = _FORM_LABEL_WIDTH
    ws.column_dimensions["B"].width = _FORM_VALUE_WIDTH
    total_width = _FORM_LABEL_WIDTH + _FORM_VALUE_WIDTH

    title = _title_text(report, sheet)
    cell = ws.cell(TITLE_ROW, 1)
    _put_text(cell, title)
    cell.font, cell.alignment = _TITLE_FONT, _TITLE_ALIGN
    ws.merge_cells(f"A{TITLE_ROW}:B{TITLE_ROW}")
    ws.row_dimensions[TITLE_ROW].height = _text_lines(title, total_width) * 18.0

    r = TITLE_ROW
    for item in sheet.form:
        r += 1
        if isinstance(item, FormSection):
            r += 1 if r > TITLE_ROW + 1 else 0
            cell = ws.cell(r, 1)
            _put_text(cell, item.title(lang))
            cell.font, cell.fill = _BOLD, _SECTION_FILL
            ws.merge_cells(f"A{r}:B{r}")
        elif isinstance(item, FormField):
            label_cell, value_cell = ws.cell(r, 1), ws.cell(r, 2)
            _put_text(label_cell, item.label(lang))
            label_cell.font, label_cell.alignment, label_cell.border = _BOLD, _LABEL_ALIGN, _BORDER
            _put(value_cell, item.value, item.kind, lang)
            value_cell.alignment, value_cell.border = Alignment(horizontal="left", vertical="top", wrap_text=True), _BORDER
            lines = max(
                _text_lines(item.label(lang), _FORM_LABEL_WIDTH),
                _text_lines(_render(item.value, item.kind, lang), _FORM_VALUE_WIDTH),
            )
            ws.row_dimensions[r].height = lines * _LINE_HEIGHT + 4
        elif isinstance(item, FormText):
            cell = ws.cell(r, 1)
            _put_text(cell, item.text)
            cell.alignment = _WRAP_TOP
            ws.merge_cells(f"A{r}:B{r}")
            ws.row_dimensions[r].height = _text_lines(item.text, total_width) * _LINE_HEIGHT + 4
        elif isinstance(item, SignatureLine):
            r += 1
            cell = ws.cell(r, 1)
            _put_text(cell, item.text(lang))
            cell.alignment = _SIGN_ALIGN
            ws.merge_cells(f"A{r}:B{r}")
            ws.row_dimensions[r].height = 36

    for note in sheet.notes:
        r += 1
        cell = ws.cell(r, 1)
        _put_text(cell, note)
        cell.alignment = _WRAP_TOP
        ws.merge_cells(f"A{r}:B{r}")
        ws.row_dimensions[r].height = _text_lines(note, total_width) * _LINE_HEIGHT

    _print_setup(ws, landscape=False)
    ws.print_area = f"A1:B{max(r, TITLE_ROW)}"


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
    if value is None or (kind in ("float", "percent") and isinstance(value, numbers.Real) and not math.isfinite(float(value))):
        return None
    problem = check_value(kind, value)
    if problem:
        raise TypeError(f"cell {cell.coordinate}: {problem}")
    if kind in ("text", "code"):
        _put_text(cell, value)
    elif kind == "level":
        _put_text(cell, label("level", value, lang))
        fill = _LEVEL_FILLS.get(value)
        return (("fill", fill),) if fill is not None else ()
    elif kind == "status":
        _put_text(cell, label("status", value, lang))
    elif kind == "int":
        cell.value = int(value)
        return (("number_format", NUMBER_FORMATS["int"]),)
    elif kind in ("float", "percent"):
        cell.value = float(value)
        return (("number_format", NUMBER_FORMATS[kind]),)
    elif kind in ("datetime", "date"):
        # Set directly: openpyxl's value setter would first give the cell a
        # default date format (a regex test and a style change per cell) that
        # the format set here replaces anyway.
        cell._value = value.replace(tzinfo=None) if kind == "datetime" and value.tzinfo is not None else value
        cell.data_type = "d"
        return (("number_format", NUMBER_FORMATS[kind]),)
    return ()


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


def _text_lines(text: str, width: float) -> int:
    usable = max(width - 2, 1)
    return sum(max(1, math.ceil(display_width(line) / usable)) for line in str(text).split("\n"))


def _title_text(report: Report, sheet: Sheet | None) -> str:
    lang = report.lang
    title = report.title(lang)
    if sheet is not None:
        sub = sheet.title(lang)
        if sub and sub != title:
            title = f"{title} — {sub}"
    if report.meta.get("redacted"):
        title += text("redacted_suffix", lang)
    when = report.generated_at.strftime("%Y-%m-%d %H:%M")
    parts = []
    if report.period is not None:
        parts.append(text("period_line", lang, period=report.period.describe(lang)))
    parts.append(text("generated_line", lang, when=when))
    return title + "\n" + text("title_separator", lang).join(parts)


def _print_setup(ws: Worksheet, *, landscape: bool) -> None:
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5


# --------------------------------------------------------------------------- atomic save


def _save_atomic(wb: Workbook, path: Path) -> Path:
    path = Path(path).expanduser()
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory", hint="pass a file name, e.g. report.xlsx")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(
            f"cannot write {path}: directory {parent} does not exist",
            hint=f"create it first (mkdir -p {parent})",
        )
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        wb.save(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise MhtoolError(
            f"cannot write {path}: {e.strerror or e}",
            hint="check that the directory is writable and has free space",
        ) from e
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
    _fsync_dir(parent)
    return path


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
