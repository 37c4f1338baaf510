"""`mhtool network template`: one pre-filled sheet per class, data validation lists, and a round trip through import-reports.

The template is filled here with openpyxl as a 心理委员 would in Excel (made-up
people), and imported with no column mapping by hand.
"""

from __future__ import annotations

import json

import openpyxl

from tests.network.test_reports_import import DESCRIPTION, classes, missing_json, roster_file, school


def test_template_round_trips_through_import_reports(store_env):
    couns = school(store_env)
    out = store_env.tmp / "模板"
    out.mkdir()
    couns.ok("network", "template", "--college", "法学院", "--out", f"{out}/", "--period", "2025-W40")
    (path,) = out.glob("*.xlsx")
    assert path.name == "法学院_上报模板_2025-W40.xlsx"
    wb = openpyxl.load_workbook(path)
    law = classes("法学院")
    assert wb.sheetnames == law
    header = ["学院", "班级", "周次", "填报人", "本期情况", "关注学生学号", "关注学生姓名", "情况描述", "是否已告知辅导员"]
    for ws in wb.worksheets:
        assert [c.value for c in ws[1]] == header
        assert [ws.cell(2, c).value for c in (1, 2, 3)] == ["法学院", ws.title, "2025-W40"]
        lists = {dv.formula1: str(dv.sqref) for dv in ws.data_validations.dataValidation}
        assert lists == {'"无异常,有情况"': "E2:E6", '"是,否"': "I2:I6"}
        # Printed to fill by hand: landscape, one page wide, the header repeated.
        assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
        assert int(ws.page_setup.fitToWidth) == 1 and ws.print_title_rows == "$1:$1"
    # Filled in: most classes 无异常, one 有情况 naming a student, a few left untouched.
    for ws in wb.worksheets[:-3]:
        ws.cell(2, 4).value = "委员"
        ws.cell(2, 5).value = "无异常"
    ws = wb["法学2502"]
    ws.cell(2, 5).value = "有情况"
    for col, value in ((6, "2025020002"), (7, "测乙"), (8, DESCRIPTION), (9, "否")):
        ws.cell(2, col).value = value
    filled = store_env.tmp / "已填.xlsx"
    wb.save(filled)
    result = json.loads(couns.ok("network", "import-reports", str(filled), "--json").stdout)
    assert (result["reports"], result["zero"], result["concern"], result["named"]) == (37, 36, 1, 1)
    got = missing_json(couns, "2025-W40", "--college", "法学院")
    assert {u["unit"] for c in got["colleges"] for u in c["missing"]} == set(law[-3:])
    dossier = json.loads(couns.ok("cases", "show", "2025020002", "--json").stdout)
    assert [s["rule"] for s in dossier["signals"]] == ["peer_report"]


def test_template_without_period_and_with_dorms(store_env):
    cli = store_env.cli
    units = [("文学院", "汉语言2501"), ("文学院", "汉语言2502")]
    cli.ok("network", "import", str(roster_file(store_env.tmp / "r.xlsx", units, extra_rows=[("文学院", None, "1栋101", "寝室长", "2025000001", "舍长甲", None)])))
    path = store_env.tmp / "t.xlsx"
    cli.ok("network", "template", "--college", "文学院", "--out", str(path))
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["汉语言2501", "汉语言2502", "1栋101"]
    assert [c.value for c in wb["1栋101"][1]][:3] == ["学院", "宿舍", "周次"]
    assert wb["1栋101"].cell(2, 3).value is None
    # The classes fill in the week themselves; the dorm sheet reads as a dorm's report.
    for ws in wb.worksheets:
        ws.cell(2, 3).value = "2025年第40周"
        ws.cell(2, 5).value = "无异常"
    wb.save(path)
    result = json.loads(cli.ok("network", "import-reports", str(path), "--json").stdout)
    assert result["zero"] == 3 and result["files"][0]["periods"] == ["2025-W40"]
    assert missing_json(cli, "2025-W40")["missing"] == 0


def test_template_refusals(store_env):
    cli = store_env.cli
    cli.ok("network", "import", str(roster_file(store_env.tmp / "r.xlsx", [("文学院", "汉语言2501")])))
    nothing = cli("network", "template", "--college", "法学院", "--out", str(store_env.tmp / "t.xlsx"))
    assert nothing.exit_code == 1 and "法学院" in nothing.stderr
    assert cli("network", "template", "--college", "文学院").exit_code == 2
    assert cli("network", "template", "--college", "文学院", "--out", str(store_env.tmp / "t.xlsx"), "--period", "W40").exit_code == 2
    scoped = store_env.add_staff("li", "clerk", "法学院")
    refused = scoped("network", "template", "--college", "文学院", "--out", str(store_env.tmp / "t.xlsx"))
    assert refused.exit_code == 5
    assert not (store_env.tmp / "t.xlsx").exists()
