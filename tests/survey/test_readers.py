"""Reading exports and rosters: formats by content, header rows, columns → fields and items."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mhtool.errors import InvalidInput, UsageError
from mhtool.io.cells import SCIENTIFIC_NOTATION_MESSAGE, is_missing
from mhtool.io.readers import (
    RawSheet,
    describe_mapping,
    parse_export,
    parse_table,
    read_export,
    read_sheet,
    read_table,
)

try:
    from tests.survey import export_factory as ef
except ImportError:  # collected with tests/survey itself on sys.path
    import export_factory as ef

SAMPLES = Path("/work/shared/samples")
UPI = (60, 64)


@pytest.fixture(scope="module")
def students():
    return ef.make_students(12, seed=7)


def _upi(students, seed=1):
    return ef.labels(ef.make_answers(len(students), 60, (0, 1), seed=seed), ef.YES_NO)


# ---------------------------------------------------------------- formats


def test_wjx_text_mode_xlsx(tmp_path, students):
    answers = _upi(students)
    path = ef.write_wjx_xlsx(tmp_path / "upi.xlsx", students, answers, item_titles=[f"题{i}" for i in range(1, 61)])
    p = read_export(path, accepted_item_counts=UPI)
    assert (p.file, p.sheet, p.profile, p.header_row, p.data_rows) == ("upi.xlsx", "Sheet1", "wjx", 1, 12)
    assert list(p.roster.index) == list(range(2, 14))
    assert list(p.roster.columns) == ["student_no", "submitted_at", "name", "gender", "college", "major", "class_name"]
    assert list(p.roster["student_no"]) == [s["student_no"] for s in students]
    assert list(p.roster["name"]) == [s["name"] for s in students]
    assert list(p.answers.columns) == list(range(1, 61))
    assert p.answers.loc[2].tolist() == answers[0]
    assert p.answers.loc[13].tolist() == answers[11]
    # Roster questions come first, so question 7 is item 1.
    first, last = p.item_columns[0], p.item_columns[-1]
    assert (first.item, first.column_index, first.column_letter, first.header) == (1, 12, "M", "7、题1")
    assert (last.item, last.column_letter, last.header) == (60, "BT", "66、题60")
    assert p.submitted_at is not None and p.submitted_at.index.equals(p.roster.index)
    assert p.submitted_at.iloc[0] == pd.Timestamp(p.roster["submitted_at"].iloc[0])
    assert p.problems == []


def test_wjx_position_mode_with_total_column(tmp_path, students):
    values = ef.make_answers(len(students), 90, (1, 2, 3, 4, 5), seed=3)
    path = ef.write_wjx_xlsx(tmp_path / "scl.xlsx", students, values, total=True)
    p = read_export(path, accepted_item_counts=(90,))
    assert p.profile == "wjx" and len(p.item_columns) == 90
    assert [c.kind for c in p.columns if c.header == "总分"] == ["meta"]
    assert p.answers.loc[2].tolist() == values[0]  # option positions kept as read


@pytest.mark.parametrize("duplicate", [True, False], ids=["duplicated-row-labels", "numbered-row-labels"])
def test_wjx_matrix_question_bare_row_labels_are_items(tmp_path, students, duplicate):
    values = ef.make_answers(len(students), 90, (1, 2, 3, 4, 5), seed=4)
    rows = ef.wjx_rows(
        students,
        values,
        roster_fields=("student_no", "name", "gender", "grade", "college"),
        matrix_stem="以下列出了有些人可能会有的问题，请根据最近一星期以内下列问题影响你的程度选择",
        duplicate_row_labels=duplicate,
    )
    # A roster question after the matrix is still found by its title.
    rows[0].append("7、手机号")
    for r, s in zip(rows[1:], students):
        r.append(s["phone"])
    path = ef.write_xlsx(tmp_path / "scl90.xlsx", rows)
    p = read_export(path, accepted_item_counts=(90,))
    assert len(p.item_columns) == 90
    assert p.item_columns[0].header.startswith("6、以下列出了")
    assert p.item_columns[0].header.endswith("—症状描述" if duplicate else "—症状描述1")
    assert p.item_columns[1].header == ("症状描述" if duplicate else "症状描述2")
    assert p.item_columns[89].column_letter == "CW"
    assert p.answers.loc[5].tolist() == values[3]
    assert list(p.roster["phone"]) == [s["phone"] for s in students]
    assert list(p.roster["grade"]) == ["2026级"] * len(students)


def test_tencent_csv_bom_quoted_trailing_comma(tmp_path, students):
    answers = ef.labels(ef.make_answers(len(students), 9, (0, 1, 2, 3), seed=5), ef.FREQ4)
    path = ef.write_tencent_csv(tmp_path / "phq9.csv", students, answers)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf\"") and data.splitlines()[1].endswith(b'",')
    raw = read_sheet(path)
    assert raw.sheet == "" and raw.format == "csv"
    assert len(raw.rows[0]) == 8 + 3 + 9 and raw.rows[0][-1] == "12.条目9"  # the trailing comma adds no column
    p = parse_export(raw, accepted_item_counts=(9,))
    assert p.profile == "tencent"
    assert p.answers.loc[2].tolist() == answers[0]
    assert list(p.roster["college"]) == [s["college"] for s in students]
    assert p.roster.at[2, "submitted_at"] == raw.rows[1][2]  # 结束答题时间, not 开始答题时间
    assert isinstance(p.submitted_at.iloc[0], pd.Timestamp)


@pytest.mark.parametrize("encoding", ["gbk", "utf-8", "utf-8-sig", "utf-16"])
def test_csv_encodings(tmp_path, students, encoding):
    values = ef.make_answers(len(students), 7, (0, 1, 2, 3), seed=6)
    path = ef.write_csv(tmp_path / "gad7.csv", ef.generic_rows(students, values), encoding=encoding)
    p = read_export(path, accepted_item_counts=(7,))
    assert p.profile == "generic"
    assert list(p.roster["name"]) == [s["name"] for s in students]
    assert p.answers.loc[2].tolist() == [str(v) for v in values[0]]


def test_gbk_csv_helper_and_tsv(tmp_path, students):
    values = ef.make_answers(len(students), 7, (0, 1, 2, 3), seed=6)
    path = ef.write_gbk_csv(tmp_path / "gad7.csv", students, values)
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    assert read_export(path, accepted_item_counts=(7,)).roster.at[2, "college"] == students[0]["college"]
    tsv = ef.write_csv(tmp_path / "gad7.txt", ef.generic_rows(students, values), delimiter="\t")
    raw = read_sheet(tsv)
    assert raw.format == "tsv" and raw.rows[0][:2] == ["学号", "姓名"]


def test_undecodable_text_file_is_refused_naming_the_encodings(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\xff\xfe\xfd,\x80\x81\n" * 3)
    with pytest.raises(InvalidInput) as e:
        read_sheet(path)
    assert "garbage.csv" in e.value.message
    assert "UTF-8" in e.value.message and "GB18030" in e.value.message


def test_xls_that_is_really_xlsx(tmp_path, students):
    path = ef.write_generic_xlsx(tmp_path / "export.xls", students, ef.make_answers(len(students), 7, (0, 1), seed=2))
    raw = read_sheet(path)
    assert raw.format == "xlsx" and raw.file == "export.xls"
    assert parse_export(raw, accepted_item_counts=(7,)).data_rows == len(students)


def test_xls_that_is_really_html(tmp_path, students):
    answers = _upi(students)
    rows = ef.wjx_rows(students, answers)
    path = ef.write_html_xls(tmp_path / "wjx.xls", rows, title="2026级新生 UPI 普查 & 复查")
    raw = read_sheet(path)
    assert raw.format == "html"
    assert raw.rows[0][0] == "2026级新生 UPI 普查 & 复查" and raw.rows[0][1] is None  # colspan title
    p = parse_export(raw, accepted_item_counts=UPI)
    assert p.profile == "wjx" and p.header_row == 2
    assert list(p.roster.index[:2]) == [3, 4]
    assert p.answers.loc[3].tolist() == answers[0]
    assert list(p.roster["student_no"]) == [s["student_no"] for s in students]


def test_html_in_gbk_declared_in_meta(tmp_path, students):
    rows = ef.generic_rows(students, ef.make_answers(len(students), 7, (0, 1), seed=2))
    path = ef.write_html_xls(tmp_path / "g.xls", rows, charset="gbk")
    assert read_sheet(path).rows[1][1] == students[0]["name"]


def test_password_protected_workbook_is_refused(tmp_path):
    path = ef.write_encrypted_xlsx(tmp_path / "locked.xlsx")
    with pytest.raises(InvalidInput) as e:
        read_sheet(path)
    assert e.value.message == "locked.xlsx: the workbook is password-protected; save it without a password"


@pytest.mark.parametrize("truncated", [True, False], ids=["truncated", "zip-magic-garbage"])
def test_corrupt_workbook(tmp_path, students, truncated):
    good = ef.write_generic_xlsx(tmp_path / "good.xlsx", students, ef.make_answers(len(students), 7, (0, 1), seed=2))
    path = ef.write_corrupt_xlsx(tmp_path / "broken.xlsx", source=good if truncated else None)
    with pytest.raises(InvalidInput) as e:
        read_sheet(path)
    assert e.value.message.startswith("broken.xlsx: the workbook is damaged")


def test_ole2_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000))
    with pytest.raises(InvalidInput, match="old.xls: the workbook is damaged"):
        read_sheet(path)


@pytest.mark.parametrize("content", [b"", b"  \r\n\r\n", b"\xef\xbb\xbf"], ids=["zero-bytes", "blank-lines", "bom-only"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match="empty.csv: the file is empty"):
        read_sheet(path)


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(InvalidInput, match="nope.xlsx: file not found"):
        read_sheet(tmp_path / "nope.xlsx")
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100))
    with pytest.raises(InvalidInput, match="photo.xlsx: is not a spreadsheet"):
        read_sheet(path)


def test_sheet_selection_and_positions(tmp_path):
    path = ef.write_xlsx(
        tmp_path / "two.xlsx",
        [[None, None], [None, "学号"], [None, "2026"]],
        sheet="说明",
        extra_sheets={"数据": [["学号", "1"], ["0012", 1]]},
    )
    first = read_sheet(path)
    assert first.sheet == "说明"
    assert first.rows == [[None, None], [None, "学号"], [None, "2026"]]  # leading empty row and column kept
    assert read_sheet(path, "数据").rows == [["学号", "1"], ["0012", 1.0]]
    assert read_sheet(path, 1).sheet == "数据"
    # A sheet the file does not have is a wrong --sheet (exit 2), not bad file data.
    with pytest.raises(UsageError, match="--sheet '名单': two.xlsx has no sheet of that name; its sheets are: 说明, 数据"):
        read_sheet(path, "名单")
    with pytest.raises(UsageError, match="--sheet 5: two.xlsx has no sheet number 5"):
        read_sheet(path, 5)


# ---------------------------------------------------------------- normalisation of exports


def test_title_rows_above_the_header(tmp_path, students):
    answers = _upi(students)
    path = ef.write_wjx_xlsx(tmp_path / "t.xlsx", students, answers, title_rows=["华中某大学2026级新生心理普查", "导出时间：2026-09-15"])
    raw = read_sheet(path)
    assert raw.rows[0][0] == "华中某大学2026级新生心理普查"
    p = parse_export(raw, accepted_item_counts=UPI)
    assert p.header_row == 4
    assert p.roster.index[0] == 5
    assert p.answers.loc[5].tolist() == answers[0]


def test_full_width_headers_and_student_numbers(tmp_path, students):
    values = ef.make_answers(len(students), 7, (0, 1, 2, 3), seed=8)
    rows = ef.generic_rows(students, values, item_header=lambda n: "Ｑ" + chr(0xFF10 + n))
    rows[0][0] = "学号\u3000"
    rows[0][1] = "姓名 "
    rows[1][0] = "".join(chr(0xFF10 + int(d)) for d in students[0]["student_no"])
    path = ef.write_xlsx(tmp_path / "fw.xlsx", rows)
    p = read_export(path, accepted_item_counts=(7,))
    assert p.profile == "generic"
    assert [c.header for c in p.item_columns] == [f"Q{n}" for n in range(1, 8)]
    assert p.roster.at[2, "student_no"] == students[0]["student_no"]
    assert p.problems == []


def test_numbers_typed_into_student_number_cells(tmp_path, students):
    rows = ef.generic_rows(students[:3], ef.make_answers(3, 7, (0, 1), seed=9))
    rows[1][0] = 2026601000.0
    rows[2][0] = "0012"
    rows[3][0] = 2026601002
    p = read_export(ef.write_xlsx(tmp_path / "n.xlsx", rows), accepted_item_counts=(7,))
    assert list(p.roster["student_no"]) == ["2026601000", "0012", "2026601002"]
    assert p.problems == []


def test_scientific_notation_student_numbers_are_row_problems(tmp_path, students):
    rows = ef.wjx_rows(students[:4], _upi(students[:4]))
    rows[2][6] = "2.0266E+09"
    rows[3][6] = 1.2345678901234568e17
    p = read_export(ef.write_xlsx(tmp_path / "sci.xlsx", rows), accepted_item_counts=UPI)
    assert p.data_rows == 4  # kept: the importer rejects them with these reasons
    assert [(x.row, x.column, x.message) for x in p.problems] == [
        (3, "1、学号", SCIENTIFIC_NOTATION_MESSAGE),
        (4, "1、学号", SCIENTIFIC_NOTATION_MESSAGE),
    ]
    assert p.problems[0].file == "sci.xlsx" and p.problems[0].sheet == "Sheet1"
    assert p.problems[0].value == "2.0266E+09"
    assert p.roster.at[3, "student_no"] is None
    assert p.roster.at[2, "student_no"] == students[0]["student_no"]


def test_skipped_answers_stay_raw(tmp_path, students):
    answers = _upi(students[:3])
    answers[0][4] = "(跳过)"
    answers[1][9] = "（跳过）"
    answers[2][0] = "-3"
    p = read_export(ef.write_wjx_xlsx(tmp_path / "skip.xlsx", students[:3], answers), accepted_item_counts=UPI)
    assert p.answers.at[2, 5] == "(跳过)"
    assert p.answers.at[3, 10] == "(跳过)"  # only folded
    assert p.answers.at[4, 1] == "-3"
    assert all(is_missing(p.answers.at[r, i]) for r, i in ((2, 5), (3, 10), (4, 1)))
    assert p.problems == []


def test_formula_cells_are_problems_never_evaluated(tmp_path, students):
    rows = ef.generic_rows(students[:3], ef.make_answers(3, 7, (0, 1), seed=9))
    rows[1][6] = "=1+1"  # text that starts with '=' (a CSV or a text cell)
    path = ef.write_csv(tmp_path / "f.csv", rows)
    p = read_export(path, accepted_item_counts=(7,))
    assert [(x.row, x.column) for x in p.problems] == [(2, "2")]
    assert "formula" in p.problems[0].message
    assert p.answers.at[2, 2] == "=1+1"


def test_formula_saved_without_cached_value_is_reported(tmp_path, students):
    import openpyxl

    path = ef.write_generic_xlsx(tmp_path / "calc.xlsx", students[:3], ef.make_answers(3, 7, (0, 1), seed=9))
    wb = openpyxl.load_workbook(path)
    wb.active["H3"] = "=SUM(F3:G3)"  # a real formula: no cached value in a file openpyxl saved
    wb.save(path)
    assert read_sheet(path).rows[2][7] == "=SUM(F3:G3)"
    p = read_export(path, accepted_item_counts=(7,))
    assert [(x.row, x.column) for x in p.problems] == [(3, "3")]


def test_empty_rows_are_skipped_and_duplicates_kept(tmp_path, students):
    answers = _upi(students[:3])
    rows = ef.wjx_rows(students[:3] + [students[0]], answers + [answers[1]])
    rows.insert(3, [None] * len(rows[0]))
    p = read_export(ef.write_xlsx(tmp_path / "dup.xlsx", rows), accepted_item_counts=UPI)
    assert p.data_rows == 4
    assert list(p.roster.index) == [2, 3, 5, 6]
    assert list(p.roster["student_no"]).count(students[0]["student_no"]) == 2
    assert p.submitted_at.loc[6] > p.submitted_at.loc[2]


def test_header_only_file(tmp_path, students):
    rows = ef.wjx_rows(students[:1], _upi(students[:1]))[:1]
    with pytest.raises(InvalidInput) as e:
        read_export(ef.write_xlsx(tmp_path / "h.xlsx", rows), accepted_item_counts=UPI)
    assert e.value.message == "h.xlsx, sheet Sheet1: no data rows below the header (row 1)"


def test_missing_student_number_column(tmp_path, students):
    rows = ef.wjx_rows(students[:2], _upi(students[:2]), roster_fields=("name", "college"))
    with pytest.raises(InvalidInput) as e:
        read_export(ef.write_xlsx(tmp_path / "nosn.xlsx", rows), accepted_item_counts=UPI)
    msg = e.value.message
    assert msg.startswith("nosn.xlsx, sheet Sheet1: no student-number column in the header row (row 1)")
    assert "学号, 学生学号" in msg and "学籍号" in msg
    rows = ef.generic_rows(students[:2], ef.make_answers(2, 7, (0, 1)), roster_fields=("name",))
    with pytest.raises(InvalidInput, match=r"g.csv: no student-number column in the header row \(row 1\)"):
        read_export(ef.write_csv(tmp_path / "g.csv", rows), accepted_item_counts=(7,), profile="generic")


def test_wrong_item_count(tmp_path, students):
    answers = _upi(students[:2])
    path = ef.write_wjx_xlsx(tmp_path / "upi.xlsx", students[:2], answers, item_titles=[f"题{i}" for i in range(1, 61)])
    with pytest.raises(InvalidInput) as e:
        read_export(path, accepted_item_counts=(90,))
    msg = e.value.message
    assert "upi.xlsx, sheet Sheet1: found 60 item column(s)" in msg
    assert "the instrument has 90 items" in msg
    assert "M '7、题1'" in msg and "BT '66、题60'" in msg
    with pytest.raises(InvalidInput, match="instrument has 9 or 10 items"):
        read_export(path, accepted_item_counts=(10, 9))


def test_generic_numbering_gap_is_refused(tmp_path, students):
    rows = ef.generic_rows(students[:2], ef.make_answers(2, 7, (0, 1)))
    rows[0][5 + 2] = "8"
    with pytest.raises(InvalidInput, match="skip item"):
        read_export(ef.write_csv(tmp_path / "gap.csv", rows), accepted_item_counts=(7,))


def test_auto_detection_none_and_ambiguous(tmp_path):
    raw = RawSheet("x.csv", "", [["班级", "备注"], ["软工2601", "无"]])
    with pytest.raises(InvalidInput) as e:
        parse_export(raw, accepted_item_counts=(7,))
    assert "no import profile matches the header row (row 1; tried generic, tencent, wjx)" in e.value.message
    assert "--profile NAME" in e.value.hint
    (tmp_path / "p.toml").write_text(
        'name = "wjx-old"\nkind = "export"\ninherit = "roster"\nmarkers = ["序号"]\nmin_markers = 1\n'
        "[items]\nmode = \"questions\"\nquestion = '^(?P<n>\\d+)、(?P<title>.*)$'\n",
        encoding="utf-8",
    )
    raw = RawSheet("w.xlsx", "Sheet1", ef.wjx_rows(ef.make_students(1), [[1, 0]]))
    with pytest.raises(InvalidInput, match=r"several import profiles \(wjx, wjx-old\)"):
        parse_export(raw, accepted_item_counts=(2,), profiles_dirs=[tmp_path])
    assert parse_export(raw, accepted_item_counts=(2,), profile="wjx-old", profiles_dirs=[tmp_path]).profile == "wjx-old"


def test_explicit_profile_does_not_need_platform_markers(students):
    rows = ef.wjx_rows(students[:2], _upi(students[:2]), meta=())
    raw = RawSheet("bare.xlsx", "Sheet1", rows)
    assert parse_export(raw, accepted_item_counts=UPI, profile="wjx").data_rows == 2
    with pytest.raises(InvalidInput, match="describes a table"):
        parse_export(raw, accepted_item_counts=UPI, profile="roster")


def test_describe_mapping(tmp_path, students):
    rows = ef.wjx_rows(students[:4], _upi(students[:4]))
    rows[1][6] = 2026601000.0
    p = read_export(ef.write_xlsx(tmp_path / "m.xlsx", rows), accepted_item_counts=UPI)
    mapping = describe_mapping(p, rows=2)
    json.dumps(mapping, ensure_ascii=False)
    by_letter = {m["column"]: m for m in mapping}
    assert len(mapping) == len(rows[0])
    assert by_letter["A"]["kind"] == "meta" and by_letter["A"]["header"] == "序号"
    sn = by_letter["G"]
    assert (sn["header"], sn["kind"], sn["target"]) == ("1、学号", "field", "student_no")
    assert sn["values"][0] == {"row": 2, "raw": 2026601000.0, "value": "2026601000"}
    item1 = by_letter["M"]
    assert (item1["kind"], item1["target"]) == ("item", 1)
    assert [v["raw"] for v in item1["values"]] == [rows[1][12], rows[2][12]]
    assert by_letter["B"]["values"][0]["raw"] == rows[1][1]


def test_parse_table_roster_with_title_and_number_cells(tmp_path, students):
    rows = ef.roster_rows(students[:3], fields=("class_name", "name", "student_no", "college", "phone", "guardian_phone"))
    rows[1][4] = 13800138000.0
    path = ef.write_xlsx(tmp_path / "r.xlsx", ef.with_title_rows(rows, ["2026级学生名单"]), merge_title_rows=1)
    t = read_table(path, "roster")
    assert (t.profile, t.header_row, t.data_rows) == ("roster", 3, 3)
    assert list(t.roster.columns) == ["student_no", "class_name", "name", "college", "phone", "guardian_phone"]
    assert t.roster.at[4, "phone"] == "13800138000"
    assert t.roster.at[4, "student_no"] == students[0]["student_no"]
    assert t.problems == []


def test_roster_helper_and_missing_required_field(tmp_path, students):
    path = ef.write_roster_xlsx(tmp_path / "r.xlsx", students, title_rows=["名单"])
    t = read_table(path, "roster", required=("student_no", "name"))
    assert t.sheet == "学生名单" and t.data_rows == len(students)
    assert set(t.roster.columns) >= {"student_no", "name", "college", "major", "grade", "class_name", "dorm", "phone", "advisor"}
    raw = RawSheet("r.xlsx", "名单", [["学号", "专业"], ["2026", "法学"], [None, "英语"]])
    with pytest.raises(InvalidInput, match=r"r.xlsx, sheet 名单: the header row \(row 1\) has no column for name \(accepted: 姓名"):
        parse_table(raw, "roster", required=("student_no", "name"))
    t = parse_table(raw, "roster")
    assert [(x.row, x.column, x.message) for x in t.problems] == [(3, "学号", "student number is empty")]
    with pytest.raises(InvalidInput, match="no student-number column"):
        parse_table(RawSheet("r.csv", "", [["姓名"], ["张三"]]), "roster")


def test_parse_table_interviews(tmp_path, students):
    rows = ef.interview_rows(students[:3], seed=2)
    rows[2][2] = "2026年9月21日"
    rows[3][2] = "下周"
    t = read_table(ef.write_xlsx(tmp_path / "i.xlsx", rows), "interviews")
    assert t.profile == "interviews"
    assert set(t.roster.columns) == {"student_no", "name", "date", "interviewer", "summary", "level", "measures"}
    assert t.roster.at[2, "date"] == rows[1][2].date().isoformat()
    assert t.roster.at[3, "date"] == "2026-09-21"
    assert t.roster.at[4, "date"] == "下周"
    assert [(x.row, x.column, x.message) for x in t.problems] == [(4, "约谈日期", "cannot read date as a date")]


@pytest.mark.parametrize(
    "name, counts, profile, items",
    [
        ("wjx_upi_text_sample.xlsx", UPI, "wjx", 60),
        ("wjx_scl90_position_matrix_sample.xlsx", (90,), "wjx", 90),
        ("tencent_phq9_sample.csv", (9,), "tencent", 9),
        ("generic_gad7_sample.xlsx", (7,), "generic", 7),
    ],
)
def test_shared_samples(name, counts, profile, items):
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    p = read_export(path, accepted_item_counts=counts)
    assert (p.profile, len(p.item_columns), list(p.answers.columns)) == (profile, items, list(range(1, items + 1)))
    assert p.data_rows > 0 and p.problems == []
    assert p.roster["student_no"].notna().all()


def test_html_merged_cells_land_where_a_spreadsheet_puts_them(tmp_path):
    path = tmp_path / "spans.xls"
    path.write_text(
        "<html><body><table>"
        "<tr><td colspan='2'>a</td><td>b</td></tr>"
        "<tr><td rowspan=2>x</td><td>y<br>y2</td><td>z &amp; z</td></tr>"
        "<tr><td>w</td><td>v</td></tr>"
        "</table></body></html>",
        encoding="utf-8",
    )
    assert read_sheet(path).rows == [["a", None, "b"], ["x", "y\ny2", "z & z"], [None, "w", "v"]]


def test_workbook_with_broken_xml_is_damaged(tmp_path):
    import zipfile

    path = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types")
        zf.writestr("xl/workbook.xml", "<workbook><sheets><sheet name='S'")
    with pytest.raises(InvalidInput, match="bad.xlsx: the workbook is damaged"):
        read_sheet(path)


def test_problem_column_names_a_duplicated_header_by_letter(students):
    values = ef.make_answers(2, 90, (1, 2), seed=1)
    rows = ef.wjx_rows(students[:2], values, matrix_stem="请选择", duplicate_row_labels=True)
    rows[2][20] = "=A1"
    p = parse_export(RawSheet("m.xlsx", "Sheet1", rows), accepted_item_counts=(90,))
    assert [(x.row, x.column) for x in p.problems] == [(3, "U 症状描述")]


def test_unreadable_submission_time_is_kept_as_text_not_a_problem(students):
    rows = ef.wjx_rows(students[:2], _upi(students[:2]))
    rows[1][1] = "昨天下午"
    p = parse_export(RawSheet("t.xlsx", "Sheet1", rows), accepted_item_counts=UPI)
    assert p.problems == []
    assert p.roster.at[2, "submitted_at"] == "昨天下午"
    assert pd.isna(p.submitted_at.loc[2]) and not pd.isna(p.submitted_at.loc[3])


def test_ragged_hand_built_sheet_and_text_starting_with_pk(tmp_path):
    raw = RawSheet("r.csv", "", [["学号", "1", "2"], ["0012", "1"], ["0013", "2", "1", None]])
    p = parse_export(raw, accepted_item_counts=(2,))
    assert p.answers.loc[2].tolist() == ["1", None]
    path = tmp_path / "pk.csv"
    path.write_text("PKU学号,1\n2026,1\n", encoding="utf-8")
    assert read_sheet(path).rows == [["PKU学号", "1"], ["2026", "1"]]
