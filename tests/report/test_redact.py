import copy
from datetime import date, datetime

import pytest

from mhtool.domain.document import Column, FormField, FormText, Report, Sheet, SignatureLine, field_column
from mhtool.domain.periods import parse_week
from mhtool.report.domain.redact import KnownPeople, redact_report


def _report():
    roster = Sheet(
        "roster",
        "名单",
        "Roster",
        "关注学生名单",
        "Watch list",
        columns=[
            field_column("student_no", pii="student_no"),
            field_column("name", pii="name"),
            field_column("level", "level"),
            field_column("summary"),
            Column("guardian", "监护人", "Guardian", "text"),
            Column("interviews", "约谈次数", "Interviews", "int"),
        ],
        rows=[
            ["2024123434", "张三", "red", "与张三约谈，学号2024123434，情绪低落", "张父", 2],
            ["2024000101", "欧阳娜娜", "yellow", "欧阳娜娜按时复诊", None, 1],
            [None, None, "none", None, None, 0],
        ],
        notes=["张三 需重点关注"],
    )
    record = Sheet(
        "record",
        "记录",
        "Record",
        "张三 约谈记录",
        "Interview record",
        kind="form",
        form=[
            FormField("student_no", "学号", "Student no.", "2024123434", pii="student_no"),
            FormField("name", "姓名", "Name", "张三", pii="name"),
            FormField("summary", "内容", "Summary", "张三自述失眠"),
            FormField("date", "日期", "Date", date(2026, 11, 20), "date"),
            FormText("由张三本人签字确认"),
            SignatureLine(),
        ],
    )
    return Report(
        "weekly",
        "心理健康周报",
        "Weekly",
        parse_week("2026-W47"),
        datetime(2026, 11, 23, 8),
        sheets=[roster, record],
        meta={"subject": "张三", "scope": ["信息学院"]},
    )


# The names and numbers the store knows (the use case reads them through the repositories).
KNOWN = KnownPeople(students=["张三", "欧阳娜娜", "张三丰"], guardians=["张父"], student_numbers=["2024123434", "2024000101"])


def test_redact_drops_declared_columns_and_form_fields():
    # Issue 13: a masked name next to a masked number still pointed at one student, so both go.
    r = redact_report(_report(), KNOWN, k=1)
    roster = r.sheet("roster")
    assert [c.key for c in roster.columns] == ["level", "summary", "guardian", "interviews"]
    # Codes and counts are untouched.
    assert [row[0] for row in roster.rows] == ["red", "yellow", "none"]
    assert [row[3] for row in roster.rows] == [2, 1, 0]
    form = {item.key: item.value for item in r.sheet("record").form if isinstance(item, FormField)}
    assert "student_no" not in form and "name" not in form
    assert form["date"] == date(2026, 11, 20)
    assert r.meta["redacted"] is True


def test_redact_masks_every_known_name_in_free_text():
    r = redact_report(_report(), KNOWN, k=1)
    roster = r.sheet("roster")
    assert roster.rows[0][1] == "与[学生]约谈，学号[学号]，情绪低落"
    assert roster.rows[1][1] == "[学生]按时复诊"
    assert roster.rows[0][2] == "[家长]"
    assert roster.notes == ["[学生] 需重点关注"]
    record = r.sheet("record")
    assert record.title_zh == "[学生] 约谈记录"
    form = {item.key: item.value for item in record.form if isinstance(item, FormField)}
    assert form["summary"] == "[学生]自述失眠"
    assert [i.text for i in record.form if isinstance(i, FormText)] == ["由[学生]本人签字确认"]
    assert r.meta["subject"] == "[学生]"
    assert "张三" not in str(r.to_json())
    assert "2024123434" not in str(r.to_json())


def test_extra_keys_drop_undeclared_columns():
    r = redact_report(_report(), KNOWN, name_keys=["guardian"], k=1)
    assert "guardian" not in [c.key for c in r.sheet("roster").columns]


def test_redact_leaves_the_original_untouched():
    original = _report()
    before = copy.deepcopy(original.to_json())
    redact_report(original, KNOWN, k=1)
    assert original.to_json() == before
    assert "redacted" not in original.meta


def test_a_list_row_that_is_alone_after_every_rung_is_withheld():
    # Three rows, three levels: merging 一级 and 三级 into 关注 still leaves the one row without a level alone.
    roster = redact_report(_report(), KNOWN).sheet("roster")
    assert len(roster.rows) == len(_report().sheet("roster").rows) - 1
    assert any("未列出" in n for n in roster.notes)


def test_longer_names_are_replaced_whole_before_shorter_ones():
    s = Sheet(
        "s",
        "s",
        "s",
        "s",
        "s",
        columns=[field_column("name", pii="name"), field_column("summary")],
        rows=[["张三", "见张三丰"], ["张三丰", "见张三"]],
    )
    known = KnownPeople(students=["张三", "张三丰"], guardians=["张三丰"])
    r = redact_report(Report("weekly", "t", "t", None, datetime(2026, 11, 23), sheets=[s]), known)
    # 张三丰 is a student (the first kind wins) and is masked whole, not as 张三 + 丰.
    assert [row[0] for row in r.sheet("s").rows] == ["见[学生]", "见[学生]"]


def test_total_row_label_is_kept():
    s = Sheet(
        "s",
        "s",
        "s",
        "s",
        "s",
        columns=[field_column("name", pii="name"), Column("n", "次数", "Count", "int"), field_column("summary")],
        rows=[["张三", 1, "x"], ["李四", 1, "y"]],
        total_row=["合计", 2, "合计"],
    )
    r = redact_report(Report("weekly", "t", "t", None, datetime(2026, 11, 23), sheets=[s]), KNOWN)
    assert r.sheet("s").rows == [[1, "x"], [1, "y"]]
    assert r.sheet("s").total_row == [2, "合计"]
