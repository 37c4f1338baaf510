"""`cases import-interviews`: advisors' interview-record sheets become interview entries."""

import json

import openpyxl
from casekit import day, show_json

HEADER = ["学号", "姓名", "约谈日期", "约谈人", "情况描述", "评估等级", "后续措施"]


def write_csv(path, rows, header=HEADER):
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def good_rows():
    return [
        ["2024010001", "测试甲", day(-2), "辅导员甲", "情绪低落，睡眠差", "橙色", "两周后回访"],
        ["2024010003", "测试丙", day(-1), "辅导员甲", "状态良好", "无", ""],
        ["2024010001", "测试甲", day(-1), "辅导员甲", "再次约谈，情况好转", "", "继续观察"],
    ]


def test_import_good_sheet_then_again(school, tmp_path):
    path = write_csv(tmp_path / "约谈记录.csv", good_rows())
    r = school.cli.ok("cases", "import-interviews", str(path))
    assert r.stdout.strip() == "3\t0\t0"
    assert "imported 3 interview(s), 1 level change(s)" in r.stderr
    d = show_json(school.cli, "2024010001")
    interviews = [i for i in d["timeline"] if i["kind"] == "interview"]
    assert [(i["date"], i["fields"]["findings"], i["fields"].get("interviewer")) for i in interviews] == [
        (day(-2), "情绪低落，睡眠差", "辅导员甲"),
        (day(-1), "再次约谈，情况好转", "辅导员甲"),
    ]
    assert interviews[0]["fields"]["next_step"] == "两周后回访"
    assert d["student"]["level"] == "orange" and d["student"]["level_since"] == day(-2)
    # The later interview reschedules the follow-up from its own date.
    assert [(t["kind"], t["due"]) for t in d["tasks"]] == [("follow_up", day(13))]
    assert show_json(school.cli, "2024010003")["student"]["level"] == "none"

    r = school.cli.ok("cases", "import-interviews", str(path), "--json")
    result = json.loads(r.stdout)
    assert (result["imported"], result["duplicates"], result["rejected"]) == (0, 3, 0)
    assert len([i for i in show_json(school.cli, "2024010001")["timeline"] if i["kind"] == "interview"]) == 2


def test_import_completes_screening_interview_task(school, tmp_path):
    from test_routine import screen

    screen(school, "2024010003", "yellow")
    assert [t["kind"] for t in show_json(school.cli, "2024010003")["tasks"]] == ["interview"]
    path = write_csv(tmp_path / "a.csv", [["2024010003", "测试丙", day(0), "辅导员甲", "已约谈", "黄色", ""]])
    school.cli.ok("cases", "import-interviews", str(path))
    d = show_json(school.cli, "2024010003")
    assert [(t["kind"], t["due"]) for t in d["tasks"]] == [("follow_up", day(30))]


def test_bad_rows_reject_the_whole_file(school, tmp_path):
    rows = good_rows() + [
        ["2099000000", "无名", day(-1), "辅导员甲", "x", "红色", ""],
        ["2024010001", "测试甲", day(5), "辅导员甲", "x", "红色", ""],
        ["2024010001", "测试甲", day(-1), "辅导员甲", "x", "紫色", ""],
        ["2024010001", "别人", day(-1), "辅导员甲", "x", "红色", ""],
        ["2024010001", "测试甲", "昨天下午", "辅导员甲", "x", "红色", ""],
        ["2024010001", "测试甲", day(-1), "辅导员甲", "", "红色", ""],
    ]
    path = write_csv(tmp_path / "bad.csv", rows)
    r = school.cli("cases", "import-interviews", str(path))
    assert r.exit_code == 3
    assert r.stdout == ""
    assert "nothing was imported" in r.stderr
    for row in (5, 6, 7, 8, 9, 10):
        assert f"row {row}" in r.stderr
    assert "no student with number 2099000000" in r.stderr
    assert "in the future" in r.stderr and "'紫色' is not a level" in r.stderr and "stored as '测试甲'" in r.stderr
    assert [i for i in show_json(school.cli, "2024010001")["timeline"]] == []


def test_skip_invalid_with_rejects(school, tmp_path):
    rows = good_rows() + [["2099000000", "无名", day(-1), "辅导员甲", "x", "红色", ""]]
    path = write_csv(tmp_path / "mixed.csv", rows)
    rejects = tmp_path / "rejects.xlsx"
    r = school.cli.ok("cases", "import-interviews", str(path), "--skip-invalid", "--rejects", str(rejects), "--json")
    result = json.loads(r.stdout)
    assert (result["imported"], result["rejected"]) == (3, 1)
    assert result["problems"][0]["row"] == 5
    ws = openpyxl.load_workbook(rejects).active
    assert [c.value for c in ws[2]][0] == 5


def test_dry_run_writes_nothing(school, tmp_path):
    path = write_csv(tmp_path / "a.csv", good_rows())
    r = school.cli.ok("cases", "import-interviews", str(path), "--dry-run", "--json")
    result = json.loads(r.stdout)
    assert result["dry_run"] and result["imported"] == 3 and result["level_changes"] == 1
    assert show_json(school.cli, "2024010001")["timeline"] == []


def test_xlsx_with_title_row_and_date_cells(school, tmp_path):
    from datetime import date

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["文学院心理约谈记录表"])
    ws.append(HEADER)
    ws.append(["2024010001", "测试甲", date.fromisoformat(day(-3)), "辅导员甲", "=情况稳定", "三级", "每月回访"])
    path = tmp_path / "约谈.xlsx"
    wb.save(path)
    r = school.cli("cases", "import-interviews", str(path))
    # A cell starting with "=" is refused, as in survey import: the source must hold the value itself.
    assert r.exit_code == 3 and "formula" in r.stderr
    ws["E3"] = "情况稳定"
    wb.save(path)
    school.cli.ok("cases", "import-interviews", str(path))
    d = show_json(school.cli, "2024010001")
    assert d["student"]["level"] == "yellow"
    assert [i["date"] for i in d["timeline"] if i["kind"] == "interview"] == [day(-3)]


def test_missing_columns_and_permissions(school, tmp_path):
    path = write_csv(tmp_path / "a.csv", [["2024010001", "x"]], header=["学号", "备注"])
    r = school.cli("cases", "import-interviews", str(path))
    assert r.exit_code == 3 and "no column for" in r.stderr
    r = school.cli("cases", "import-interviews", str(tmp_path / "missing.csv"))
    assert r.exit_code == 3 and "not found" in r.stderr
    clerk = school.add_staff("clerk1", "clerk")
    path = write_csv(tmp_path / "b.csv", good_rows())
    assert clerk("cases", "import-interviews", str(path)).exit_code == 5
    advisor = school.add_staff("advisor_li", "counselor", "理学院")
    r = advisor("cases", "import-interviews", str(path))
    # Another college's students read like numbers nobody has: no college, no stored name (issue 15 item 6).
    assert r.exit_code == 3 and "student number not found in your colleges" in r.stderr and "文学院" not in r.stderr
    r = school.cli("cases", "import-interviews", str(path), "--rejects", str(tmp_path / "r.xlsx"))
    assert r.exit_code == 2
