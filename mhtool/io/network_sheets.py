"""Reading the sheets the 五级网络 sends back, and writing the templates it fills in.

:func:`read_tables` reads every sheet of a workbook (a CSV is one sheet) into
rows of text as a person sees them (text as typed; numbers without ``.0`` and
dates in ISO form, by :func:`mhtool.io.cells.cell_text`), through
:func:`mhtool.io.readers.read_sheet`, so a file that cannot be read is an
:class:`~mhtool.errors.InvalidInput` naming it. Empty sheets are left out.

:func:`write_template` writes one sheet per class: the header row the import
reads, the fixed columns pre-filled, and data validation lists for the columns
that take one of a few words. The template holds no personal data.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mhtool.errors import InvalidInput
from mhtool.i18n import _
from mhtool.io.cells import cell_text
from mhtool.io.readers import RawSheet, read_sheet

__all__ = ["Table", "TemplateSheet", "read_tables", "write_template"]


@dataclass(frozen=True)
class Table:
    """One sheet as text: ``rows[i][j]`` is spreadsheet row ``i + 1``, column ``j + 1``."""

    file: str
    sheet: str
    rows: list[list[str]]


def _text(cell: object) -> str:
    # Text stays as typed (a description keeps its full-width punctuation); comparisons fold it.
    return cell.strip() if isinstance(cell, str) else cell_text(cell)


def _table(raw: RawSheet) -> Table:
    return Table(raw.file, raw.sheet, [[_text(c) for c in row] for row in raw.rows])


def _xlsx_tables(path: Path, first: RawSheet) -> list[Table] | None:
    """Every worksheet of an xlsx from one open workbook (a sheet per class makes hundreds); None to read sheet by sheet.

    The same guards as :func:`mhtool.io.readers.read_sheet`: each sheet's used
    range is measured from the file and found sane before calamine loads it.
    A sheet with formulas is read by ``read_sheet`` (it restores uncached values).
    """
    import zipfile

    from python_calamine import CalamineWorkbook

    from mhtool.io.readers import _check_shared_strings, _clean_rows, _native_panics_quiet, _XlsxSheets

    data = path.read_bytes()
    name = path.name
    zf = zipfile.ZipFile(io.BytesIO(data))
    _check_shared_strings(zf, name)
    guard = _XlsxSheets(zf, name)
    tables: list[Table] = []
    with _native_panics_quiet():
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        try:
            kinds = {m.name: str(m.typ) for m in wb.sheets_metadata}
            for sheet in wb.sheet_names:
                if not kinds.get(sheet, "WorkSheet").endswith("WorkSheet"):
                    continue
                if sheet == first.sheet:
                    tables.append(_table(first))
                    continue
                extent = guard.extent(sheet)
                if extent.has_formula:
                    tables.append(_table(read_sheet(path, sheet)))
                    continue
                rows = _clean_rows(wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False), _("{file}, sheet {sheet}").format(file=name, sheet=sheet))
                if rows:
                    tables.append(_table(RawSheet(name, sheet, rows, "xlsx")))
        finally:
            wb.close()
    return tables


def _sheet_names(path: Path) -> list[str]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
    try:
        kinds = {m.name: str(m.typ) for m in wb.sheets_metadata}
        return [n for n in wb.sheet_names if kinds.get(n, "WorkSheet").endswith("WorkSheet")]
    finally:
        wb.close()


def read_tables(path: str | Path) -> list[Table]:
    """Every sheet with data of ``path`` (xlsx, xls, CSV), in workbook order."""
    path = Path(path)
    first = read_sheet(path)  # the first sheet with data; refuses an unreadable or empty file
    if first.format not in ("xlsx", "xls"):
        return [_table(first)]
    if first.format == "xlsx":
        try:
            return _xlsx_tables(path, first)
        except InvalidInput:
            raise
        except Exception:  # noqa: BLE001 - read_sheet read it; go sheet by sheet, with its fallbacks
            pass
    try:
        names = _sheet_names(path)
    except Exception:  # noqa: BLE001 - read_sheet read it; an odd workbook gives its first sheet only
        return [_table(first)]
    tables: list[Table] = []
    seen = False
    for name in names:
        if name == first.sheet:
            tables.append(_table(first))
            seen = True
            continue
        if not seen:
            continue  # before the first sheet with data: empty
        try:
            raw = read_sheet(path, name)
        except InvalidInput as exc:
            if exc.message == _("{file}: sheet {sheet} is empty").format(file=path.name, sheet=name):
                continue
            raise
        tables.append(_table(raw))
    return tables


@dataclass(frozen=True)
class TemplateSheet:
    """One sheet of a template: its name, the header, the pre-filled values by header, the validation lists by header, and the headers of long answers."""

    name: str
    header: Sequence[str]
    prefilled: dict
    choices: dict
    rows: int = 5
    wide: frozenset = frozenset()


def write_template(path: str | Path, sheets: Sequence[TemplateSheet]) -> Path:
    """Write the template workbook at ``path`` (the caller picks a temporary path; see the export gateway)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from mhtool.domain.text import display_width
    from mhtool.io.xlsx import unique_sheet_name

    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for spec in sheets:
        ws = wb.create_sheet(unique_sheet_name(spec.name, taken))
        for c, header in enumerate(spec.header, start=1):
            cell = ws.cell(1, c, str(header))
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(horizontal="center", vertical="center")
            width = max(display_width(str(header)), *(display_width(str(v)) for v in spec.choices.get(header, ())), display_width(str(spec.prefilled.get(header) or "")))
            ws.column_dimensions[get_column_letter(c)].width = min(max(width + 4, 10), 40)
        last = spec.rows + 1
        for r in range(2, last + 1):
            for c, header in enumerate(spec.header, start=1):
                cell = ws.cell(r, c)
                cell.number_format = "@"  # typed numbers stay text: a 学号 keeps its leading zeros
                value = spec.prefilled.get(header)
                if value not in (None, ""):
                    cell.value = str(value)
                    cell.data_type = "s"  # text, never a formula
        for c, header in enumerate(spec.header, start=1):
            words = spec.choices.get(header)
            if not words:
                continue
            letter = get_column_letter(c)
            dv = DataValidation(type="list", formula1='"' + ",".join(words) + '"', allow_blank=True, showErrorMessage=True)
            dv.add(f"{letter}2:{letter}{last}")
            ws.add_data_validation(dv)
        ws.freeze_panes = "A2"
        # Classes print it to fill by hand too: landscape, one page wide, the header on every page.
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = "1:1"
        # The description is the one long answer: wider, wrapped.
        for c, header in enumerate(spec.header, start=1):
            if header in spec.wide:
                ws.column_dimensions[get_column_letter(c)].width = 40
                for r in range(2, last + 1):
                    ws.cell(r, c).alignment = Alignment(wrap_text=True, vertical="top")
    if not wb.worksheets:
        wb.create_sheet("Sheet")
    path = Path(path)
    wb.save(path)
    return path
