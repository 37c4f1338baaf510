import os
import re
import stat
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart, LineChart

from mhtool.errors import MhtoolError, UsageError
from mhtool.domain.labels import label
from mhtool.domain.vocabulary import LEVEL_COLOURS
from mhtool.io import xlsx
from mhtool.domain.document import (
    Chart,
    Column,
    FormField,
    FormSection,
    FormText,
    Report,
    Sheet,
    SignatureLine,
    field_column,
)
from mhtool.domain.periods import months_back, parse_month, parse_week
from mhtool.domain.text import display_width
from mhtool.report.domain.redact import redact_report
from mhtool.io.xlsx import default_file_name, out_path_for, write_report, write_table_xlsx

FORMULA_LIKE = ["=SUM(A1:A9)", "+1+1", "-2+3", "@SUM(1)", "=HYPERLINK(\"http://x\")", "#N/A"]

COLUMNS = [
    field_column("college"),
    Column("code", "代码", "Code", "text"),
    Column("watched", "关注人数", "Watched", "int"),
    Column("rate", "阳性率", "Positive rate", "percent"),
    Column("mean", "均分", "Mean", "float"),
    field_column("level", "level"),
    field_column("status", "status"),
    field_column("level_since", "date"),
    Column("last_at", "最近记录", "Last entry", "datetime"),
    field_column("summary"),
]
ROWS = [
    ["计算机科学与技术学院", "abcdefghij", 12, 0.125, 2.35, "red", "enrolled", date(2026, 11, 16), datetime(2026, 11, 20, 9, 30), "正常"],
    ["文学院", "x", 3, 0.05, 1.5, "orange", "leave", date(2026, 11, 17), datetime(2026, 11, 21, 14, 0), FORMULA_LIKE[0]],
    ["外国语学院", "y", 0, 0.0, None, "none", "returned", None, None, None],
]


def summary_sheet(**kw):
    args = dict(
        key="summary",
        name_zh="各学院汇总",
        name_en="By college",
        title_zh="各学院关注学生情况",
        title_en="Watched students by college",
        columns=COLUMNS,
        rows=[list(r) for r in ROWS],
        total_row=["合计", None, 15, 0.06, None, None, None, None, None, None],
        notes=["注：阳性率 = 阳性人数 / 参测人数"],
    )
    args.update(kw)
    return Sheet(**args)


def trend_sheet():
    months = months_back(parse_month("2026-11"), 6)
    return Sheet(
        "trend",
        "六个月趋势",
        "Six-month trend",
        "六个月趋势",
        "Six-month trend",
        columns=[Column("month", "月份", "Month"), Column("red", "红色", "Red", "int"), Column("yellow", "黄色", "Yellow", "int"), Column("rate", "阳性率", "Rate", "percent")],
        rows=[[m.label, i, 2 * i, i / 100] for i, m in enumerate(months)],
        charts=[
            Chart("line", "关注人数趋势", "Watched trend", "month", ["red", "yellow"]),
            Chart("bar", "阳性率", "Positive rate", "month", ["rate"], anchor="H3"),
        ],
    )


def form_sheet():
    return Sheet(
        "record",
        "约谈记录",
        "Interview record",
        "约谈记录表",
        "Interview record",
        kind="form",
        form=[
            FormSection("student", "学生信息", "Student"),
            FormField("name", "姓名", "Name", "测试学生甲", pii="name"),
            FormField("level", "关注等级", "Level", "red", "level"),
            FormField("date", "约谈日期", "Date", date(2026, 11, 20), "date"),
            FormSection("talk", "谈话情况", "Conversation"),
            FormField("summary", "谈话内容", "Summary", "学生自述近期睡眠较差。" * 20),
            FormField("note", "备注", "Note", "=cmd|' /C calc'!A0"),
            FormText("以上情况属实。"),
            SignatureLine(),
        ],
    )


def make_report(lang="zh", sheets=None, **kw):
    args = dict(
        kind="weekly",
        title_zh="心理健康周报",
        title_en="Weekly report",
        period=parse_week("2026-W47"),
        generated_at=datetime(2026, 11, 23, 8, 5, tzinfo=timezone(timedelta(hours=8))),
        lang=lang,
        sheets=sheets if sheets is not None else [summary_sheet(), trend_sheet(), form_sheet()],
    )
    args.update(kw)
    return Report(**args)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = tmp_path_factory.mktemp("wb") / "weekly.xlsx"
    report = make_report()
    assert write_report(report, path) == path
    return report, path, openpyxl.load_workbook(path)


# --------------------------------------------------------------------------- layout


def test_title_row_names_report_period_and_generation_time_and_spans_the_table(written):
    _, _, wb = written
    ws = wb["各学院汇总"]
    title = ws["A1"].value
    assert "心理健康周报" in title and "各学院关注学生情况" in title
    assert "2026年第47周（2026-11-16 至 2026-11-22）" in title
    assert "2026-11-23 08:05" in title
    assert "A1:J1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A1"].font.bold


def test_header_is_frozen_bold_filled_bordered(written):
    _, _, wb = written
    ws = wb["各学院汇总"]
    assert ws.freeze_panes == "A3"
    assert [c.value for c in ws[2]] == [c.header("zh") for c in COLUMNS]
    for cell in ws[2]:
        assert cell.font.bold
        assert cell.fill.fill_type == "solid"
        assert cell.border.bottom.style == "thin"


def test_rows_hold_labels_for_codes_and_raw_numbers(written):
    _, _, wb = written
    ws = wb["各学院汇总"]
    assert [c.value for c in ws[3]][:8] == [
        "计算机科学与技术学院",
        "abcdefghij",
        12,
        0.125,
        2.35,
        "一级(红色)",
        "在读",
        datetime(2026, 11, 16),
    ]
    assert ws["I3"].value == datetime(2026, 11, 20, 9, 30)


def test_number_formats(written):
    _, _, wb = written
    ws = wb["各学院汇总"]
    assert ws["C3"].number_format == "0"
    assert ws["D3"].number_format == "0.0%"
    assert ws["E3"].number_format == "0.00"
    assert ws["H3"].number_format == "yyyy-mm-dd"
    assert ws["I3"].number_format == "yyyy-mm-dd hh:mm"


def test_level_cells_carry_their_colour_and_none_carries_none(written):
    _, _, wb = written
    ws = wb["各学院汇总"]
    assert ws["F3"].fill.fgColor.rgb.endswith(LEVEL_COLOURS["red"])
    assert ws["F4"].fill.fgColor.rgb.endswith(LEVEL_COLOURS["orange"])
    assert ws["F5"].fill.fill_type is None
    assert ws["A3"].fill.fill_type is None


def test_widths_count_chinese_characters_double(written):
    _, _, wb = written
    ws = wb["各学院汇总"]
    # Ten Chinese characters against ten Latin letters.
    zh, latin = ws.column_dimensions["A"].width, ws.column_dimensions["B"].width
    assert zh >= 20 and latin >= 10
    assert zh >= latin + 9
    assert display_width("计算机") == 6 and display_width("abc") == 3 and display_width("ＡＢ") == 4


def test_total_row_is_bold_and_below_the_data(written):
    _, _, wb = written
    ws = wb["各学院汇总"]
    total = ws[3 + len(ROWS)]
    assert total[0].value == "合计" and total[2].value == 15
    assert all(c.font.bold for c in total)


def test_notes_follow_the_table_as_text(written):
    _, _, wb = written
    ws = wb["各学院汇总"]
    notes = [c.value for c in ws["A"] if isinstance(c.value, str) and c.value.startswith("注：")]
    assert notes == ["注：阳性率 = 阳性人数 / 参测人数"]


def test_print_setup_for_tables(written):
    _, _, wb = written
    ws = wb["各学院汇总"]
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$2"


def test_native_charts_are_present(written):
    _, _, wb = written
    charts = wb["六个月趋势"]._charts
    assert sorted(type(c).__name__ for c in charts) == ["BarChart", "LineChart"]
    line = next(c for c in charts if isinstance(c, LineChart))
    assert len(line.series) == 2
    assert not any(wb[name]._charts for name in ("各学院汇总", "约谈记录"))


def test_chart_series_point_at_the_table(written):
    _, path, _ = written
    with zipfile.ZipFile(path) as z:
        xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart"))
    # Series values come from the data rows (3..8) of the trend sheet, categories from column A.
    assert "'六个月趋势'!$B$3:$B$8" in xml
    assert "'六个月趋势'!$A$3:$A$8" in xml


def test_form_sheet_is_a_printable_label_value_record(written):
    _, _, wb = written
    ws = wb["约谈记录"]
    values = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(1, ws.max_row + 1)}
    assert values["姓名"] == "测试学生甲"
    assert values["关注等级"] == "一级(红色)"
    assert values["约谈日期"] == datetime(2026, 11, 20)
    column_a = [ws.cell(r, 1).value for r in range(1, ws.max_row + 1)]
    assert "学生信息" in column_a and "谈话情况" in column_a
    assert column_a[-1] == "咨询师签字：________  日期：________"
    summary_row = column_a.index("谈话内容") + 1
    assert ws.cell(summary_row, 2).alignment.wrap_text
    assert ws.row_dimensions[summary_row].height > 30
    assert ws.page_setup.orientation == "portrait"
    assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage


# --------------------------------------------------------------------------- language and names


def test_sheet_names_and_headers_follow_the_language(tmp_path):
    path = write_report(make_report("en"), tmp_path / "en.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["By college", "Six-month trend", "Interview record"]
    ws = wb["By college"]
    assert ws["A2"].value == "College"
    assert ws["F3"].value == label("level", "red", "en")
    assert "Weekly report" in ws["A1"].value and "2026-W47" in ws["A1"].value


def test_sheet_names_are_valid_and_unique():
    taken = set()
    long = "一二三四五六七八九十" * 4
    a = xlsx.unique_sheet_name(long, taken)
    b = xlsx.unique_sheet_name(long, taken)
    assert len(a) == 31 and len(b) <= 31 and a != b
    assert xlsx.unique_sheet_name("a/b:c?", taken) == "a_b_c_"
    assert xlsx.unique_sheet_name("Roster", taken) == "Roster"
    assert xlsx.unique_sheet_name("roster", taken) == "roster(2)"


def test_duplicate_sheet_names_still_write(tmp_path):
    sheets = [summary_sheet(key="a"), summary_sheet(key="b")]
    wb = openpyxl.load_workbook(write_report(make_report(sheets=sheets), tmp_path / "d.xlsx"))
    assert wb.sheetnames == ["各学院汇总", "各学院汇总(2)"]


# --------------------------------------------------------------------------- user text stays text


def _sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_formula_looking_text_is_stored_as_text(tmp_path):
    s = Sheet(
        "s",
        "=bad",
        "=bad",
        "=title",
        "=title",
        columns=[Column("note", "=header", "=header"), field_column("name")],
        rows=[[t, t] for t in FORMULA_LIKE],
        notes=["=1+1"],
    )
    path = write_report(make_report(sheets=[s]), tmp_path / "f.xlsx")
    ws = openpyxl.load_workbook(path).worksheets[0]
    assert ws["A2"].value == "=header" and ws["A2"].data_type == "s"
    for i, text in enumerate(FORMULA_LIKE, start=3):
        for cell in (ws.cell(i, 1), ws.cell(i, 2)):
            assert cell.value == text
            assert cell.data_type == "s"
    xml = _sheet_xml(path)
    assert not re.search(r"<f[ >]", xml)


def test_formula_looking_text_in_forms_and_simple_tables(tmp_path, written):
    _, path, wb = written
    ws = wb["约谈记录"]
    note = [ws.cell(r, 2) for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "备注"][0]
    assert note.value == "=cmd|' /C calc'!A0" and note.data_type == "s"
    assert not re.search(r"<f[ >]", _sheet_xml(path))

    out = write_table_xlsx(tmp_path / "t.xlsx", "rejects", ["学号", "原因"], [[t, t] for t in FORMULA_LIKE])
    ws = openpyxl.load_workbook(out).active
    assert [ws.cell(r, 1).value for r in range(2, 2 + len(FORMULA_LIKE))] == FORMULA_LIKE
    assert all(ws.cell(r, 1).data_type == "s" for r in range(2, 2 + len(FORMULA_LIKE)))
    assert not re.search(r"<f[ >]", _sheet_xml(out))


def test_control_characters_are_dropped_not_fatal(tmp_path):
    s = summary_sheet(rows=[["学院\x00\x07", "a\tb\nc", 1, None, None, None, None, None, None, None]], total_row=None)
    ws = openpyxl.load_workbook(write_report(make_report(sheets=[s]), tmp_path / "c.xlsx")).worksheets[0]
    assert ws["A3"].value == "学院"
    assert ws["B3"].value == "a\tb\nc"


# --------------------------------------------------------------------------- atomic writes


def _leftovers(directory: Path, keep: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != keep)


def test_bad_value_leaves_an_existing_file_untouched(tmp_path):
    path = tmp_path / "report.xlsx"
    write_report(make_report(), path)
    before = path.read_bytes()
    broken = make_report()
    broken.sheet("summary").rows.append(["x", "y", object(), None, None, None, None, None, None, None])
    with pytest.raises(TypeError):
        write_report(broken, path)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path, "report.xlsx") == []


def test_failure_while_saving_removes_the_half_written_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"previous workbook")
    seen = []

    def half_save(wb, filename):
        seen.append(Path(filename))
        Path(filename).write_bytes(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xlsx, "_save", half_save)
    with pytest.raises(MhtoolError) as e:
        write_report(make_report(), path)
    assert "No space left" in e.value.message
    assert seen and seen[0].parent == tmp_path and seen[0] != path
    assert path.read_bytes() == b"previous workbook"
    assert _leftovers(tmp_path, "report.xlsx") == []


def test_failed_rename_removes_the_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"previous workbook")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(xlsx.os, "replace", refuse)
    with pytest.raises(MhtoolError):
        write_table_xlsx(path, "s", ["a"], [[1]])
    assert path.read_bytes() == b"previous workbook"
    assert _leftovers(tmp_path, "report.xlsx") == []


def test_unwritable_value_in_simple_table_leaves_nothing(tmp_path):
    path = tmp_path / "rejects.xlsx"
    with pytest.raises(TypeError):
        write_table_xlsx(path, "rejects", ["a"], [[1], [{"not": "a cell"}]])
    assert list(tmp_path.iterdir()) == []


def test_written_file_is_private_and_complete(tmp_path):
    path = write_report(make_report(), tmp_path / "new.xlsx")
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0
    assert _leftovers(tmp_path, "new.xlsx") == []
    assert zipfile.ZipFile(path).testzip() is None


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError) as e:
        write_report(make_report(), tmp_path / "nope" / "r.xlsx")
    assert "does not exist" in e.value.message


# --------------------------------------------------------------------------- JSON agrees with the workbook


def test_json_matches_workbook_figures(tmp_path):
    report = make_report()
    data = report.to_json()
    wb = openpyxl.load_workbook(write_report(report, tmp_path / "j.xlsx"))
    for sheet in report.sheets:
        if sheet.kind != "table":
            continue
        ws = wb[sheet.name("zh")]
        records = data["sheets"][sheet.key]
        assert len(records) == len(sheet.rows)
        for r, record in enumerate(records, start=3):
            for c, col in enumerate(sheet.columns, start=1):
                cell, value = ws.cell(r, c).value, record[col.key]
                if col.kind in ("level", "status"):
                    assert cell == (label(col.kind, value, "zh") if value is not None else None)
                elif col.kind == "date":
                    assert (cell.date().isoformat() if cell else None) == value
                elif col.kind == "datetime":
                    assert (cell.isoformat(timespec="seconds") if cell else None) == value
                elif col.kind in ("percent", "float"):
                    assert cell == pytest.approx(value) if value is not None else cell is None
                else:
                    assert cell == value
        if sheet.total_row is not None:
            total = ws[3 + len(sheet.rows)]
            assert {c.key: total[i].value for i, c in enumerate(sheet.columns)} == data["totals"][sheet.key]


def test_redacted_workbook_shows_masks_and_says_so(tmp_path):
    report = make_report(sheets=[summary_sheet(columns=[field_column("name", pii="name")] + COLUMNS[1:])])
    # Issue 13: a name column is left out of a redacted copy, not masked (k=1: k-anonymity is tested in test_redaction.py).
    wb = openpyxl.load_workbook(write_report(redact_report(report, k=1), tmp_path / "r.xlsx"))
    ws = wb.worksheets[0]
    assert ws["A2"].value == "代码" and ws["A3"].value == "abcdefghij"
    assert ws["A6"].value == "合计"
    assert "已脱敏" in ws["A1"].value


# --------------------------------------------------------------------------- odd inputs


def test_chart_over_an_empty_table_is_skipped_and_the_file_opens(tmp_path):
    s = trend_sheet()
    s.rows = []
    wb = openpyxl.load_workbook(write_report(make_report(sheets=[s]), tmp_path / "e.xlsx"))
    assert wb.worksheets[0]._charts == []
    assert wb.worksheets[0]["A2"].value == "月份"


def test_aware_datetimes_are_written_at_their_wall_clock_time(tmp_path):
    row = list(ROWS[0])
    row[8] = datetime(2026, 11, 20, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    ws = openpyxl.load_workbook(write_report(make_report(sheets=[summary_sheet(rows=[row], total_row=None)]), tmp_path / "a.xlsx")).worksheets[0]
    assert ws["I3"].value == datetime(2026, 11, 20, 9, 30)


def test_report_without_period_or_sheets(tmp_path):
    wb = openpyxl.load_workbook(write_report(make_report(sheets=[], period=None, kind="crisis"), tmp_path / "n.xlsx"))
    assert len(wb.worksheets) == 1
    assert "统计周期" not in wb.worksheets[0]["A1"].value


def test_simple_table_keeps_types_and_leading_zeros(tmp_path):
    out = write_table_xlsx(
        tmp_path / "scores.xlsx",
        "结果",
        ["学号", "总分", "均分", "日期"],
        [["0012345", 42, 1.25, date(2026, 11, 20)], ["0099", None, 0.5, None]],
    )
    ws = openpyxl.load_workbook(out)["结果"]
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == ["学号", "总分", "均分", "日期"]
    assert ws["A2"].value == "0012345" and ws["A2"].data_type == "s"
    assert ws["B2"].value == 42 and ws["C2"].value == 1.25
    assert ws["D2"].number_format == "yyyy-mm-dd"
    assert ws["A1"].font.bold


# --------------------------------------------------------------------------- output paths


def test_out_path_for_directory_and_file(tmp_path):
    assert out_path_for(tmp_path, "周报_2026-W47.xlsx") == tmp_path / "周报_2026-W47.xlsx"
    assert out_path_for(str(tmp_path) + os.sep, "周报_2026-W47.xlsx") == tmp_path / "周报_2026-W47.xlsx"
    assert out_path_for(tmp_path / "mine.xlsx", "周报_2026-W47.xlsx") == tmp_path / "mine.xlsx"


def test_out_path_for_missing_directories_name_the_flag(tmp_path):
    with pytest.raises(UsageError) as e:
        out_path_for(str(tmp_path / "nope") + "/", "x.xlsx")
    assert e.value.message.startswith("--out") and "does not exist" in e.value.message
    with pytest.raises(UsageError) as e:
        out_path_for(tmp_path / "nope" / "r.xlsx", "x.xlsx")
    assert e.value.message.startswith("--out") and "nope" in e.value.message


def test_default_file_names():
    assert default_file_name(make_report()) == "周报_2026-W47.xlsx"
    assert default_file_name(make_report("en")) == "weekly_2026-W47.xlsx"
    assert default_file_name(make_report(kind="monthly", period=parse_month("2026-11"))) == "月报_2026-11.xlsx"
    assert default_file_name(make_report(kind="crisis", period=None)) == "危机事件报告.xlsx"
    assert xlsx.safe_file_name("a/b:c.xlsx") == "a_b_c.xlsx"
