"""The workbook writer's own XML for rows and data cells is the XML openpyxl writes.

Reports keep a table's data cells out of openpyxl's cells and write every
plain row as XML text (:class:`mhtool.io.xlsx._SheetWriter`). Where that text
cannot be written (lxml's stream, or a cell of another shape) the same rows
go through openpyxl. Both ways must give the same workbook, byte for byte.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from datetime import date, datetime

import openpyxl

from mhtool.domain.document import Chart, Column, FormField, FormSection, FormText, Report, Sheet, SignatureLine, field_column
from mhtool.domain.periods import months_back, parse_month, parse_week
from mhtool.io import xlsx
from mhtool.io.xlsx import write_report

TRICKY = [
    "  前后有空格  ",
    "a & b < c > d \"引号\" 'x'",
    "第一行\n第二行\n第三行",
    "=SUM(A1:A9)",
    "",
    "长" * 60,
    "tab\there",
    "控制\x01字符",
]


def _report() -> Report:
    columns = [
        field_column("college"),
        Column("code", "代码", "Code", "code", labels=(("a", "甲", "A"), ("b", "乙", "B"))),
        Column("count", "人数", "Count", "int"),
        Column("rate", "阳性率", "Rate", "percent"),
        Column("mean", "均分", "Mean", "float"),
        field_column("level", "level"),
        field_column("status", "status"),
        field_column("level_since", "date"),
        Column("at", "时间", "At", "datetime"),
        field_column("summary"),
    ]
    rows = []
    for i, text in enumerate(TRICKY):
        rows.append(
            [
                f"学院{i % 3}",
                "a" if i % 2 else "b",
                i * 7,
                i / 9 if i % 3 else None,
                1.0 / 3 + i if i % 4 else None,
                ("red", "orange", "yellow", "none")[i % 4],
                ("enrolled", "leave", "returned")[i % 3],
                date(2026, 11, 1 + i) if i % 5 else None,
                datetime(2026, 11, 2 + i, 9, 30) if i % 2 else None,
                text,
            ]
        )
    table = Sheet(
        key="summary",
        name_zh="汇总",
        name_en="Summary",
        title_zh="各学院情况",
        title_en="By college",
        columns=columns,
        rows=rows,
        total_row=["合计", None, sum(r[2] for r in rows), 0.5, None, None, None, None, None, "  合计说明  "],
        notes=["注：阳性率 = 阳性人数 / 参测人数", "第二条说明 & <备注>"],
        signatures=True,
    )
    months = months_back(parse_month("2026-11"), 6)
    trend = Sheet(
        "trend",
        "趋势",
        "Trend",
        "六个月趋势",
        "Six-month trend",
        columns=[Column("month", "月份", "Month"), Column("red", "红色", "Red", "int"), Column("rate", "阳性率", "Rate", "percent")],
        rows=[[m.label, i, i / 100] for i, m in enumerate(months)],
        charts=[Chart("line", "关注人数趋势", "Watched trend", "month", ["red"], anchor="F2")],
    )
    empty = Sheet("empty", "空表", "Empty", "没有记录", "Nothing", columns=columns[:3], rows=[])
    form = Sheet(
        "form",
        "登记表",
        "Form",
        "危机事件登记表",
        "Crisis form",
        kind="form",
        form=[
            FormSection("event", "事件", "Event"),
            FormField("what", "经过", "What", "  晚上在宿舍 & 楼道\n多人在场  "),
            FormField("on", "日期", "Date", date(2026, 11, 20), "date"),
            FormField("level", "关注等级", "Level", "red", "level"),
            FormText("以上情况属实。"),
            SignatureLine(),
        ],
    )
    return Report(
        kind="weekly",
        title_zh="心理健康工作周报",
        title_en="Weekly report",
        period=parse_week("2026-W47"),
        generated_at=datetime(2026, 11, 24, 8, 0),
        lang="zh",
        sheets=[table, trend, empty, form],
        meta={"unit": "示例大学心理健康教育中心 & <test>"},
    )


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        # docProps/core.xml holds the moment the file was saved.
        return {name: z.read(name) for name in z.namelist() if name != "docProps/core.xml"}


def test_rows_written_as_text_are_the_xml_openpyxl_writes(tmp_path, monkeypatch):
    written = []
    row_xml = xlsx._row_xml

    def counting(*args):
        text = row_xml(*args)
        written.append(text is not None)
        return text

    monkeypatch.setattr(xlsx, "_row_xml", counting)
    fast = write_report(_report(), tmp_path / "fast.xlsx")
    assert sum(written) > len(TRICKY), "the data rows were written as text"
    monkeypatch.setattr(xlsx, "_text_writer", lambda xf: None)
    slow = write_report(_report(), tmp_path / "openpyxl.xlsx")
    assert _members(fast) == _members(slow)


def test_a_data_cell_of_another_shape_is_written_by_openpyxl(tmp_path, monkeypatch):
    """A row the text writer declines (here: every one) is written whole by openpyxl, its data cells included."""
    expected = _members(write_report(_report(), tmp_path / "fast.xlsx"))
    monkeypatch.setattr(xlsx, "_row_xml", lambda *args: None)
    assert _members(write_report(_report(), tmp_path / "declined.xlsx")) == expected


def test_data_cells_read_back_with_their_values_and_styles(tmp_path):
    path = write_report(_report(), tmp_path / "report.xlsx")
    ws = openpyxl.load_workbook(path)["汇总"]
    first = xlsx.FIRST_DATA_ROW
    assert ws.dimensions == f"A1:J{ws.max_row}" and ws.freeze_panes == f"A{first}"
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=first, max_row=first + len(TRICKY) - 1)]
    # Control characters a workbook cannot hold are dropped; everything else is kept as typed, as text.
    assert [r[9] for r in values] == [t.replace("\x01", "") if t else None for t in TRICKY]
    assert ws.cell(first + 3, 10).data_type == "s" and ws.cell(first + 3, 10).value == "=SUM(A1:A9)"
    assert [r[1] for r in values[:2]] == ["乙", "甲"]
    assert values[1][7] == datetime(2026, 11, 2) and ws.cell(first + 1, 8).number_format == "yyyy-mm-dd"
    assert values[1][8] == datetime(2026, 11, 3, 9, 30) and ws.cell(first + 1, 9).number_format == "yyyy-mm-dd hh:mm"
    assert ws.cell(first + 1, 4).number_format == "0.0%" and ws.cell(first, 4).value is None
    assert ws.cell(first, 6).fill.fgColor.rgb.endswith(xlsx._LEVEL_FILLS["red"].fgColor.rgb[-6:])
    assert ws.cell(first, 1).border.left.style == "thin" and ws.cell(first, 1).font.name == xlsx.BODY_FONT
    # The three-line note wraps; the other cells of its row line up with its first line.
    tall = first + 2
    assert ws.cell(tall, 10).alignment.wrap_text and ws.cell(tall, 10).alignment.vertical == "top"
    assert ws.cell(tall, 3).alignment.vertical == "top" and not ws.cell(tall, 3).alignment.wrap_text
    assert ws.row_dimensions[tall].height > ws.row_dimensions[first].height
    # The sheet's <dimension> counts the data rows, also where no total row or note follows them.
    with zipfile.ZipFile(path) as z:
        dimensions = [re.search(r'<dimension ref="([^"]+)"', z.read(f"xl/worksheets/sheet{n}.xml").decode())[1] for n in (1, 2)]
    assert dimensions == [f"A1:J{ws.max_row}", f"A1:C{first + 5}"]


def test_openpyxl_is_loaded_without_numpy():
    """numpy costs a report a tenth of a second and writes no cell; it stays importable for the rest."""
    code = (
        "import sys; import mhtool.io.xlsx; print('numpy' in sys.modules); "
        "import openpyxl.compat.numbers as n; print(n.NUMPY); import numpy; print('numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True"]
