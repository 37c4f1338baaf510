"""Every workbook mhtool writes prints as an office hands it upward: the print frame and the charts.

The demo store's reports (weekly, monthly, census, crisis, dossier), a census
split per college, English and redacted copies, a referral record sheet, an
import's rejects workbook and a research export are written through the real
use cases and read back with openpyxl. What makes a page print right in
Excel and LibreOffice is a property of the file (page setup, header and
footer codes, row heights, font names, chart XML), so each is asserted here
and a regression fails without rendering anything.
"""

from __future__ import annotations

import colorsys
import math
import re
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText
from openpyxl.chart import LineChart

from mhtool.app.center import Center, credential_from_key_file
from mhtool.demo import build_demo
from mhtool.domain.document import Chart, Column, FormField, FormSection, Report, Sheet, SignatureLine, field_column
from mhtool.domain.labels import label, text
from mhtool.domain.periods import parse_month, parse_week
from mhtool.domain.text import display_width
from mhtool.domain.vocabulary import WATCH_LEVELS
from mhtool.io import xlsx
from mhtool.io.xlsx import (
    LEVEL_CHART_COLOURS,
    MAX_LABELLED_POINTS,
    chart_box,
    column_widths,
    page_height_pt,
    printable_width_units,
    printed_font_pt,
    printed_scale,
    printed_width_units,
    row_height_pt,
    write_report,
    write_table_xlsx,
)

PURPOSE = "打印版式检查"
FONTS = {xlsx.BODY_FONT, xlsx.HEADING_FONT}
# The least height a line of 10.5 pt text takes (Excel and LibreOffice use about 13.5-14 pt).
MIN_LINE_PT = 13.0


# --------------------------------------------------------------------------- the workbooks


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[Path, str]:
    """Every kind of workbook the program writes, from one demo store: path → language."""
    root = tmp_path_factory.mktemp("print")
    result = build_demo(root / "demo", students=240, seed=7)
    out, split = root / "extra", root / "split"
    out.mkdir()
    split.mkdir()
    found: dict[Path, str] = {p: "zh" for p in sorted((root / "demo" / "reports").glob("*.xlsx"))}
    with Center.open(result.store, credential_from_key_file(result.keys["demo-counselor"]), "demo-counselor") as center:
        reports = center.reports
        batch = center.survey.batches()[0]["id"]
        for college in reports.census(batch, out=split, split_by="college", purpose=PURPOSE).files:
            found[Path(college["path"])] = "zh"
        found[reports.weekly(out=out, lang="en", purpose=PURPOSE).path] = "en"
        found[reports.monthly(out=out, lang="en", purpose=PURPOSE).path] = "en"
        found[reports.census(batch, out=out, lang="en", purpose=PURPOSE).path] = "en"
        found[reports.crisis(result.sample_crisis, out=out, lang="en", purpose=PURPOSE).path] = "en"
        found[reports.weekly(out=out, redact=True, purpose=PURPOSE).path] = "zh"
        found[Path(center.referrals.export(result.sample_referral, out, purpose=PURPOSE))] = "zh"
    with Center.open(result.store, credential_from_key_file(result.keys["demo-admin"]), "demo-admin") as center:
        found[Path(center.governance.research_export(out / "research.xlsx", purpose=PURPOSE)["out"])] = "zh"
    rejects = sorted((root / "demo" / "exports").glob("*_rejected.xlsx"))
    assert rejects, "the demo writes a rejects workbook for its dirty census rows"
    found.update({p: "zh" for p in rejects})
    return found


@pytest.fixture(scope="module")
def sheets(books):
    """(workbook path, language, worksheet) for every sheet of every workbook."""
    out = []
    for path, lang in books.items():
        for ws in openpyxl.load_workbook(path):
            out.append((path, lang, ws))
    return out


def simple_table(path: Path) -> bool:
    """A rejects sheet or a research export: a header row and data, no title."""
    return path.name == "research.xlsx" or path.name.endswith("_rejected.xlsx")


def is_form(ws) -> bool:
    """A printable record (label | value): two columns and a print area of its own."""
    return bool(ws.print_area) and ws.max_column == 2


def name_of(path: Path, ws) -> str:
    return f"{path.name}[{ws.title}]"


def test_the_demo_gives_every_kind_of_workbook(books):
    names = [p.name for p in books]
    for stem in ("周报_", "月报_", "普查报告_", "危机事件报告_", "档案_", "约谈名单_", "weekly_", "monthly_", "census_", "crisis_", "转介记录表_"):
        assert any(n.startswith(stem) for n in names), stem
    assert any(n.endswith("_脱敏.xlsx") for n in names)
    assert "research.xlsx" in names and any(n.endswith("_rejected.xlsx") for n in names)


# --------------------------------------------------------------------------- page setup


def test_every_sheet_prints_on_a4_with_the_orientation_that_fits(sheets):
    for path, _, ws in sheets:
        where = name_of(path, ws)
        assert int(ws.page_setup.paperSize) == 9, where
        width = printed_width_units(ws)
        wide = width > printable_width_units("portrait")
        assert ws.page_setup.orientation == ("landscape" if wide else "portrait"), f"{where}: {width:.0f} units wide"
        if is_form(ws):
            assert ws.page_setup.orientation == "portrait", where


def test_every_sheet_fits_the_page_width_or_prints_at_9pt_across_pages(sheets):
    fitted = 0
    for path, _, ws in sheets:
        where = name_of(path, ws)
        assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0, where
        if ws.sheet_properties.pageSetUpPr.fitToPage:
            fitted += 1
        else:
            # Only a table too wide to fit at 9 pt (the research export) prints across pages,
            # at the 9 pt scale, with its first column on every page.
            assert simple_table(path), where
            assert ws.print_title_cols == "$A:$A", where
        assert ws.page_margins.left == ws.page_margins.right == pytest.approx(0.4), where
        assert ws.page_margins.top >= ws.page_margins.header + 0.3, where
    assert fitted >= len(sheets) - 1


def test_nothing_prints_smaller_than_9pt(sheets):
    small = {name_of(p, ws): round(printed_font_pt(ws), 1) for p, _, ws in sheets if printed_font_pt(ws) < 9}
    assert not small


def test_the_weekly_and_monthly_summary_is_one_page_wide_at_9pt_or_more(books):
    for path, _ in books.items():
        if path.name.startswith(("周报_", "月报_")):
            ws = openpyxl.load_workbook(path).worksheets[0]
            assert ws.title == "汇总"
            assert ws.sheet_properties.pageSetUpPr.fitToPage
            assert printed_font_pt(ws) >= 9, f"{path.name}: {printed_font_pt(ws):.1f} pt at {printed_scale(ws):.0%}"


def test_header_names_the_center_and_the_classification_and_footer_numbers_pages(sheets):
    units = set()
    for path, lang, ws in sheets:
        where = name_of(path, ws)
        header = ws.oddHeader.left.text or "", ws.oddHeader.center.text or "", ws.oddHeader.right.text or ""
        assert text("print_classification", lang) in header, where
        unit = ws.oddHeader.right.text
        assert unit and unit != text("print_classification", lang), where
        units.add(unit)
        footer = " ".join(t or "" for t in (ws.oddFooter.left.text, ws.oddFooter.center.text, ws.oddFooter.right.text))
        assert "&P" in footer and "&N" in footer, where
        assert footer.strip() == text("print_page", lang), where
        assert ws.oddHeader.left.font and xlsx.BODY_FONT in ws.oddHeader.left.font, where
    # One store, one center: the same name heads every page (the default, or the store's setting).
    zh_units = {u for u in units if not u.isascii()}
    assert len(zh_units) == 1


def test_table_sheets_repeat_their_header_rows(sheets):
    for path, _, ws in sheets:
        if is_form(ws):
            assert not ws.print_title_rows, name_of(path, ws)
        elif simple_table(path):
            assert ws.print_title_rows == "$1:$1", name_of(path, ws)
        else:
            assert ws.print_title_rows == "$1:$2", name_of(path, ws)


# --------------------------------------------------------------------------- fonts and rows


def test_every_cell_names_a_cjk_face(sheets):
    checked = 0
    for path, _, ws in sheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None or cell.value == "":
                    continue
                assert cell.font.name in FONTS, f"{name_of(path, ws)}!{cell.coordinate}: {cell.font.name!r}"
                assert cell.font.sz >= xlsx.BODY_PT, f"{name_of(path, ws)}!{cell.coordinate}"
                checked += 1
        header = 1 if simple_table(path) else 2
        if not is_form(ws):
            assert all(c.font.name == xlsx.HEADING_FONT for c in ws[header] if c.value), name_of(path, ws)
        if not simple_table(path):
            assert ws["A1"].font.name == xlsx.HEADING_FONT and ws["A1"].font.sz >= 14, name_of(path, ws)
    assert checked > 5000


def _merged_width(ws, cell) -> float:
    widths = column_widths(ws, max(ws.max_column, cell.column))
    for rng in ws.merged_cells.ranges:
        if cell.coordinate in rng:
            return sum(widths[rng.min_col - 1 : rng.max_col])
    return widths[cell.column - 1]


def _least_lines(value: str, width: float) -> int:
    """Lines a text needs at the least in a column ``width`` units wide (perfect packing; a space may end a line)."""
    usable = max(width - 1, 1)
    return sum(max(1, math.ceil(display_width(line.replace(" ", "")) / usable)) for line in str(value).split("\n"))


def test_rows_with_wrapped_text_are_as_tall_as_their_lines(sheets):
    multi = 0
    for path, _, ws in sheets:
        for row in ws.iter_rows():
            for cell in row:
                if not isinstance(cell.value, str) or not cell.alignment.wrap_text:
                    continue
                lines = _least_lines(cell.value, _merged_width(ws, cell))
                if lines < 2:
                    continue
                multi += 1
                height = ws.row_dimensions[cell.row].height
                where = f"{name_of(path, ws)}!{cell.coordinate} ({lines} lines)"
                assert height is not None, where
                size = 14 if cell.coordinate == "A1" else xlsx.BODY_PT
                assert height >= lines * MIN_LINE_PT * size / xlsx.BODY_PT - 1, where
    # The demo has long notes, help measures and records: the check is not vacuous.
    assert multi >= 50


def test_every_row_of_a_report_table_has_its_height(sheets):
    for path, _, ws in sheets:
        if simple_table(path) or is_form(ws):
            continue
        for r in range(1, ws.max_row + 1):
            if any(c.value not in (None, "") for c in ws[r]):
                assert ws.row_dimensions[r].height, f"{name_of(path, ws)} row {r}"


def test_titles_keep_every_line_whole(books):
    """No title line is wider than its cell, so none wraps, and no date is split across lines."""
    seen = 0
    for path in books:
        if simple_table(path):
            continue
        for ws in openpyxl.load_workbook(path, rich_text=True):
            title = ws["A1"].value
            assert isinstance(title, CellRichText), name_of(path, ws)
            width = _merged_width(ws, ws["A1"])
            needed = 0.0
            for block in title:
                size = block.font.sz if block.font is not None and block.font.sz else xlsx.BODY_PT
                for line in block.text.split("\n"):
                    if line:
                        assert display_width(line) * size / xlsx.BODY_PT + 1 <= width, f"{name_of(path, ws)}: {line!r}"
                        needed += size * 1.25
                        seen += 1
            assert ws.row_dimensions[1].height >= needed, name_of(path, ws)
            assert re.search(r"\d{4}-\d{2}-\d{2}", str(title)), name_of(path, ws)
    assert seen > 40


# --------------------------------------------------------------------------- signature block


def _signature_row(ws, lang: str) -> int | None:
    want = [label("signature", code, lang) for code in ("prepared", "reviewed", "approved", "date")]
    text_rows = {}
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                text_rows.setdefault(cell.row, []).append(cell.value)
    # The block starts where 填报人 is; the other blanks follow on its row or the next ones.
    found = sorted(r for r, values in text_rows.items() if any(want[0] in v for v in values))
    if not found:
        return None
    first = found[0]
    joined = " ".join(v for r, values in text_rows.items() if r >= first for v in values)
    assert all(w in joined for w in want), joined
    return first


def test_summary_sheets_end_with_the_signature_block(books):
    for path, lang in books.items():
        if not path.name.startswith(("周报_", "月报_", "weekly_", "monthly_")):
            continue
        ws = openpyxl.load_workbook(path).worksheets[0]
        row = _signature_row(ws, lang)
        assert row is not None, path.name
        table_end = max(r for r in range(3, row) if ws.cell(r, 2).value is not None)
        assert row > table_end + 1, path.name
        assert ws.row_dimensions[row].height >= 24, path.name
        assert all(ws.cell(r, c).value is None for r in range(row, ws.max_row + 1) for c in range(2, ws.max_column + 1))


# --------------------------------------------------------------------------- charts


def _series_header(ws, series) -> str:
    ref = series.tx.strRef.f
    sheet_part, cell = ref.rsplit("!", 1)
    return ws[cell.replace("$", "")].value


def _level_of(header: str, lang: str) -> str | None:
    # 一级 / 建议一级 (zh), "Level 1 (red)" / "Proposed red" (en).
    for lv in WATCH_LEVELS:
        word = label("level", lv, "zh")[:2] if lang == "zh" else lv
        if word in header:
            return lv
    return None


def _colour(series, line: bool) -> str | None:
    props = series.graphicalProperties
    fill = props.line.solidFill if line else props.solidFill
    return fill.srgbClr if fill is not None else None


def _charts(sheets):
    for path, lang, ws in sheets:
        for chart in ws._charts:
            yield path, lang, ws, chart


def test_level_colours_are_red_orange_and_yellow():
    hues = {lv: colorsys.rgb_to_hsv(*(int(LEVEL_CHART_COLOURS[lv][i : i + 2], 16) / 255 for i in (0, 2, 4)))[0] * 360 for lv in WATCH_LEVELS}
    assert hues["red"] < 10 or hues["red"] > 350
    assert 20 <= hues["orange"] <= 40
    assert 45 <= hues["yellow"] <= 65


def test_level_series_are_drawn_in_their_level_colours(sheets):
    level_series = 0
    for path, lang, ws, chart in _charts(sheets):
        line = isinstance(chart, LineChart)
        for series in chart.series:
            header = _series_header(ws, series)
            level = _level_of(header, lang)
            colour = _colour(series, line)
            if level is None:
                assert colour not in LEVEL_CHART_COLOURS.values(), f"{name_of(path, ws)}: {header}"
            else:
                level_series += 1
                assert colour == LEVEL_CHART_COLOURS[level], f"{name_of(path, ws)}: {header} drawn {colour}"
                if not line:
                    assert series.graphicalProperties.line.solidFill.srgbClr == LEVEL_CHART_COLOURS[level]
    assert level_series >= 12


def test_line_series_are_straight_with_markers(sheets):
    lines = 0
    for path, _, ws, chart in _charts(sheets):
        if isinstance(chart, LineChart):
            for series in chart.series:
                lines += 1
                assert series.smooth is False, name_of(path, ws)
                assert series.marker.symbol == "circle"
    assert lines >= 4


def test_small_charts_label_their_values_and_every_chart_has_a_title(sheets):
    labelled = 0
    for path, _, ws, chart in _charts(sheets):
        assert chart.title is not None, name_of(path, ws)
        first, row, *_ = chart_box(ws, chart)
        for series in chart.series:
            ref = series.val.numRef.f.split("!")[1].replace("$", "")
            lo, hi = (int(re.sub(r"[A-Z]", "", part)) for part in ref.split(":"))
            if hi - lo + 1 <= MAX_LABELLED_POINTS:
                labelled += 1
                assert series.dLbls is not None and series.dLbls.showVal, name_of(path, ws)
                assert not series.dLbls.showSerName and not series.dLbls.showCatName
    assert labelled >= 12


def _last_table_row(ws, before: int) -> int:
    return max((r for r in range(1, before) if any(c.value not in (None, "") for c in ws[r])), default=0)


def _assert_chart_placed(ws, chart, where: str) -> None:
    col, row, left, right, top, bottom = chart_box(ws, chart)
    columns = max(c.column for c in ws[2] if c.value not in (None, ""))
    beside = col > columns
    below = row > _last_table_row(ws, ws.max_row + 1)
    assert beside or below, f"{where}: chart at row {row}, column {col} lies on the table"
    assert not any(ws.cell(r, c).value not in (None, "") for r in range(row, ws.max_row + 1) for c in range(col, ws.max_column + 1) if r < row + 15), where
    # Whole on one printed page: on the first, or on a page its own row break starts.
    page = page_height_pt(ws)
    breaks = [b.id for b in ws.row_breaks.brk]
    starts = [b for b in breaks if b < row]
    if starts:
        # The page starts at the row after the break, under the repeated title and header rows.
        start = max(starts) + 2
        page_top = sum(row_height_pt(ws, r) for r in range(1, start))
        repeated = sum(row_height_pt(ws, r) for r in (1, 2))
        assert repeated + bottom - page_top <= page, f"{where}: chart ends {repeated + bottom - page_top:.0f} pt down the page after row {start - 1}"
    else:
        assert bottom <= page, f"{where}: chart ends at {bottom:.0f} pt, page holds {page:.0f} pt"


def test_charts_lie_beside_or_below_their_table_and_on_one_page(sheets):
    placed = 0
    for path, _, ws, chart in _charts(sheets):
        _assert_chart_placed(ws, chart, name_of(path, ws))
        placed += 1
    assert placed >= 8


# --------------------------------------------------------------------------- the writer on its own


def _report(sheets, lang="zh", **meta) -> Report:
    return Report(
        kind="weekly",
        title_zh="心理健康工作周报",
        title_en="Weekly report",
        period=parse_week("2026-W47"),
        generated_at=datetime(2026, 11, 23, 8, 5),
        lang=lang,
        sheets=sheets,
        meta=meta,
    )


COUNTS = [field_column("college"), *[Column(lv, label("level", lv, "zh"), label("level", lv, "en"), "int") for lv in WATCH_LEVELS], Column("total", "合计", "Total", "int")]


def _counts_sheet(n: int, *, charts=(), signatures=False, notes=()) -> Sheet:
    rows = [[f"第{i}学院", i % 3, i % 5, i % 7, i % 3 + i % 5 + i % 7] for i in range(n)]
    return Sheet("s", "分布", "Levels", "各学院关注等级分布", "Levels by college", columns=COUNTS, rows=rows, charts=list(charts), signatures=signatures, notes=list(notes))


def test_the_unit_comes_from_the_report_and_a_literal_ampersand_survives(tmp_path):
    ws = openpyxl.load_workbook(write_report(_report([_counts_sheet(3)], unit="示例大学心理健康教育与咨询中心"), tmp_path / "a.xlsx")).active
    assert ws.oddHeader.right.text == "示例大学心理健康教育与咨询中心"
    ws = openpyxl.load_workbook(write_report(_report([_counts_sheet(3)], unit="R&D 中心"), tmp_path / "b.xlsx")).active
    assert ws.oddHeader.right.text == "R&&D 中心"
    ws = openpyxl.load_workbook(write_report(_report([_counts_sheet(3)], lang="en"), tmp_path / "c.xlsx")).active
    assert ws.oddHeader.right.text == text("print_unit_default", "en")
    assert ws.oddHeader.left.text == "Internal — confidential" and ws.oddFooter.center.text == "Page &P of &N"


def test_simple_tables_take_a_language_and_a_unit(tmp_path):
    path = write_table_xlsx(tmp_path / "t.xlsx", "rejects", ["row", "problem"], [[1, "x" * 200]], lang="en", unit="Student Counseling Center")
    ws = openpyxl.load_workbook(path).active
    assert ws.oddHeader.right.text == "Student Counseling Center"
    assert ws.oddHeader.left.text == "Internal — confidential" and ws.oddFooter.center.text == "Page &P of &N"
    assert ws["B2"].alignment.wrap_text and ws.row_dimensions[2].height >= 4 * MIN_LINE_PT
    assert ws["A2"].font.name == xlsx.BODY_FONT and ws["A1"].font.name == xlsx.HEADING_FONT


def test_signature_block_only_where_the_sheet_asks(tmp_path):
    wb = openpyxl.load_workbook(
        write_report(_report([_counts_sheet(3, signatures=True, notes=["注：说明"]), Sheet("t", "明细", "Detail", "明细", "Detail", columns=COUNTS)]), tmp_path / "s.xlsx")
    )
    signed, plain = wb.worksheets
    row = _signature_row(signed, "zh")
    assert row is not None and row > 6
    assert _signature_row(plain, "zh") is None
    assert signed.row_dimensions[row].height >= 24
    form = Sheet("f", "表", "Form", "表", "Form", kind="form", form=[FormSection("a", "甲", "A"), FormField("x", "项", "Item", "值"), SignatureLine()], signatures=True)
    ws = openpyxl.load_workbook(write_report(_report([form]), tmp_path / "f.xlsx")).active
    values = [ws.cell(r, 1).value for r in range(1, ws.max_row + 1)]
    assert "咨询师签字：________  日期：________" in values
    assert _signature_row(ws, "zh") > values.index("咨询师签字：________  日期：________") + 1
    assert ws.print_area.endswith(f"$B${ws.max_row}")


def test_a_chart_below_a_long_table_starts_its_own_page(tmp_path):
    chart = Chart("bar", "各学院关注等级", "Levels", "college", WATCH_LEVELS, stacked=True)
    ws = openpyxl.load_workbook(write_report(_report([_counts_sheet(45, charts=[chart, chart])]), tmp_path / "c.xlsx")).active
    assert len(ws._charts) == 2
    first, second = sorted(ws._charts, key=lambda c: chart_box(ws, c)[1])
    for c in (first, second):
        _assert_chart_placed(ws, c, "long")
    assert chart_box(ws, first)[1] - 1 in [b.id for b in ws.row_breaks.brk]
    # The second chart follows the first on the same page: no overlap, no break between them.
    assert chart_box(ws, second)[4] >= chart_box(ws, first)[5]
    # 45 colleges are too many points to label.
    assert all(s.dLbls is None for s in first.series)


def test_a_chart_below_a_short_table_stays_on_the_first_page(tmp_path):
    chart = Chart("bar", "各学院关注等级", "Levels", "college", WATCH_LEVELS, stacked=True)
    ws = openpyxl.load_workbook(write_report(_report([_counts_sheet(5, charts=[chart], signatures=True)]), tmp_path / "c.xlsx")).active
    (c,) = ws._charts
    _assert_chart_placed(ws, c, "short")
    assert not ws.row_breaks.brk
    assert chart_box(ws, c)[1] > _signature_row(ws, "zh")


def test_a_chart_anchored_on_the_table_is_moved_below_it(tmp_path):
    chart = Chart("line", "趋势", "Trend", "college", (*WATCH_LEVELS, "total"), anchor="B3")
    ws = openpyxl.load_workbook(write_report(_report([_counts_sheet(6, charts=[chart])]), tmp_path / "c.xlsx")).active
    (c,) = ws._charts
    _assert_chart_placed(ws, c, "anchored on the table")
    assert chart_box(ws, c)[0] == 1
    # The total is no level: it is drawn in a colour no level has.
    assert _colour(c.series[-1], True) not in LEVEL_CHART_COLOURS.values()


def test_chart_levels_can_be_named_and_labels_forced():
    with pytest.raises(ValueError):
        Chart("bar", "t", "t", "college", ("a", "b"), levels=("red",))
    with pytest.raises(ValueError):
        Chart("bar", "t", "t", "college", ("a",), levels=("purple",))
    assert Chart("bar", "t", "t", "college", ("red", "total")).levels == ("red", None)
    assert Chart("bar", "t", "t", "college", ("a",), levels=("orange",), data_labels=False).levels == ("orange",)


def test_a_narrow_number_column_wraps_its_header_onto_two_lines(tmp_path):
    columns = [field_column("college"), *[Column(f"c{i}", "期末一级", "End red", "int") for i in range(19)]]
    sheet = Sheet("s", "汇总", "Summary", "汇总", "Summary", columns=columns, rows=[["文学院", *range(19)]], signatures=True)
    ws = openpyxl.load_workbook(write_report(_report([sheet]), tmp_path / "n.xlsx")).active
    assert column_widths(ws, 2)[1] <= 7
    assert ws.row_dimensions[2].height >= 2 * MIN_LINE_PT
    assert printed_font_pt(ws) >= 9


def test_a_sheet_too_wide_for_the_page_wraps_its_text_rather_than_shrinking(tmp_path):
    columns = [Column(f"t{i}", f"说明{i}", f"Note {i}", "text") for i in range(6)]
    rows = [["很长的说明文字，" * 6 for _ in range(6)] for _ in range(3)]
    ws = openpyxl.load_workbook(write_report(_report([Sheet("w", "宽表", "Wide", "宽表", "Wide", columns=columns, rows=rows)]), tmp_path / "w.xlsx")).active
    assert printed_font_pt(ws) >= 9
    assert ws["A3"].alignment.wrap_text and ws.row_dimensions[3].height >= 2 * MIN_LINE_PT


def test_a_data_table_too_wide_for_9pt_prints_across_pages(tmp_path):
    headers = [f"score_subscale_number_{i:02d}" for i in range(20)]
    ws = openpyxl.load_workbook(write_table_xlsx(tmp_path / "r.xlsx", "research", headers, [[1.5] * 20])).active
    assert not ws.sheet_properties.pageSetUpPr.fitToPage
    assert printed_font_pt(ws) >= 9 and ws.print_title_cols == "$A:$A"
    narrow = openpyxl.load_workbook(write_table_xlsx(tmp_path / "n.xlsx", "rejects", ["row", "problem"], [[1, "bad"]])).active
    assert narrow.sheet_properties.pageSetUpPr.fitToPage and narrow.page_setup.orientation == "portrait"


def test_monthly_trend_title_fits_and_the_chart_prints_beside_it(tmp_path):
    months = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    columns = [Column("month", "月份", "Month", "text"), *COUNTS[1:]]
    sheet = Sheet(
        "trend", "趋势", "Trend", "近6个月关注学生人数（各月月末）", "Six months",
        columns=columns,
        rows=[[m, 0, i, 2 * i, 3 * i] for i, m in enumerate(months)],
        charts=[Chart("line", "关注学生人数趋势", "Watched", "month", (*WATCH_LEVELS, "total"), anchor="G2")],
    )  # fmt: skip
    report = _report([sheet])
    report.period = parse_month("2026-11")
    ws = openpyxl.load_workbook(write_report(report, tmp_path / "t.xlsx")).active
    (c,) = ws._charts
    assert chart_box(ws, c)[0] == 7
    _assert_chart_placed(ws, c, "trend")
    assert ws.page_setup.orientation == "landscape" and printed_scale(ws) == 1.0
    assert "2026-11-01 至 2026-11-30" in ws["A1"].value
    assert all(s.smooth is False for s in c.series)
    assert [_colour(s, True) for s in c.series[:3]] == [LEVEL_CHART_COLOURS[lv] for lv in WATCH_LEVELS]


def test_a_form_section_heading_never_ends_a_page_alone(tmp_path):
    """A heading that would be the last row of a printed page starts the next page with its first field."""
    from mhtool.domain.document import FormField, FormSection, Report, Sheet
    from mhtool.io.xlsx import printable_height_pt, write_report

    items = []
    for s in range(6):
        items.append(FormSection(f"s{s}", f"第{s}节", f"Section {s}"))
        items += [FormField(f"f{s}{i}", "字段", "Field", "很长的内容，" * 30) for i in range(4)]
    sheet = Sheet("form", "表", "Form", "表", "Form", kind="form", form=items)
    path = write_report(Report("crisis", "危机事件随时报告", "Crisis", None, datetime(2026, 11, 23, 9, 0), sheets=[sheet]), tmp_path / "form.xlsx")
    ws = openpyxl.load_workbook(path).active
    breaks = {b.id for b in ws.row_breaks.brk}
    page, used = printable_height_pt("portrait"), 0.0
    headings = [c.row for c in ws["A"] if c.value and str(c.value).startswith("第") and str(c.value).endswith("节")]
    for row in range(1, ws.max_row + 1):
        if row - 1 in breaks:
            used = 0.0
        height = ws.row_dimensions[row].height or 18.0
        if used + height > page:
            assert row not in [h + 1 for h in headings], f"the heading at row {row - 1} ends a page alone"
            used = 0.0
        used += height
    assert breaks, "a break was needed to keep a heading with its first field"


def test_cells_beside_wrapped_text_line_up_with_its_first_line(tmp_path):
    from mhtool.domain.document import Column, Report, Sheet
    from mhtool.io.xlsx import write_report

    sheet = Sheet(
        "log", "记录", "Log", "记录", "Log",
        columns=[Column("on", "日期", "Date", "date"), Column("text", "内容", "Text", "text")],
        rows=[[datetime(2026, 11, 20).date(), "很长的处置记录，" * 40]],
    )  # fmt: skip
    path = write_report(Report("crisis", "危机事件随时报告", "Crisis", None, datetime(2026, 11, 23, 9, 0), sheets=[sheet]), tmp_path / "log.xlsx")
    ws = openpyxl.load_workbook(path).active
    date_cell, text_cell = ws.cell(3, 1), ws.cell(3, 2)
    assert text_cell.alignment.wrap_text and ws.row_dimensions[3].height > 30
    assert date_cell.alignment.vertical == "top"
