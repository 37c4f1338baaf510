import json
from datetime import date, datetime, timedelta, timezone

import pytest

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
    json_value,
)
from mhtool.domain.periods import parse_week

COLS = [
    field_column("college"),
    Column("watched", "关注人数", "Watched", "int"),
    Column("rate", "阳性率", "Positive rate", "percent"),
    Column("mean", "均分", "Mean", "float"),
    field_column("level", "level"),
    field_column("status", "status"),
    field_column("level_since", "date"),
    Column("last_at", "最近记录", "Last entry", "datetime"),
]
ROW = ["信息学院", 3, 0.125, 2.5, "red", "leave", date(2026, 11, 16), datetime(2026, 11, 20, 9, 30)]


def sheet(**kw):
    args = dict(key="summary", name_zh="汇总", name_en="Summary", title_zh="各学院汇总", title_en="By college", columns=COLS, rows=[ROW])
    args.update(kw)
    return Sheet(**args)


def report(*sheets, **kw):
    args = dict(
        kind="weekly",
        title_zh="心理健康周报",
        title_en="Weekly report",
        period=parse_week("2026-W47"),
        generated_at=datetime(2026, 11, 23, 8, 0, tzinfo=timezone(timedelta(hours=8))),
        sheets=list(sheets) or [sheet()],
    )
    args.update(kw)
    return Report(**args)


def test_field_column_takes_both_headers_from_the_shared_labels():
    c = field_column("student_no", pii="student_no")
    assert (c.header("zh"), c.header("en"), c.kind, c.pii) == ("学号", "Student no.", "text", "student_no")


def test_column_rejects_unknown_kind_and_pii():
    with pytest.raises(ValueError):
        Column("x", "x", "x", "money")
    with pytest.raises(ValueError):
        Column("x", "x", "x", pii="phone")


def test_json_has_codes_iso_dates_and_fractions():
    out = report().to_json()
    assert out["report"] == "weekly"
    assert out["period"] == {"kind": "week", "label": "2026-W47", "start": "2026-11-16", "end": "2026-11-22"}
    assert out["generated_at"] == "2026-11-23T08:00:00+08:00"
    assert out["sheets"]["summary"] == [
        {
            "college": "信息学院",
            "watched": 3,
            "rate": 0.125,
            "mean": 2.5,
            "level": "red",
            "status": "leave",
            "level_since": "2026-11-16",
            "last_at": "2026-11-20T09:30:00",
        }
    ]
    json.dumps(out)  # plain JSON, no custom encoder needed


def test_json_keeps_codes_whatever_the_language():
    assert report(lang="en").to_json()["sheets"] == report(lang="zh").to_json()["sheets"]


def test_total_row_and_meta_in_json():
    s = sheet(total_row=["合计", 3, None, None, None, None, None, None])
    out = report(s, meta={"colleges": {"信息学院"}, "batch": 7, "as_of": date(2026, 11, 22)}).to_json()
    assert out["totals"]["summary"]["college"] == "合计"
    assert out["totals"]["summary"]["watched"] == 3
    assert out["meta"] == {"colleges": ["信息学院"], "batch": 7, "as_of": "2026-11-22"}


def test_no_period_and_empty_sheet():
    out = report(sheet(rows=[]), kind="crisis", period=None).to_json()
    assert out["period"] is None
    assert out["sheets"] == {"summary": []}
    assert "totals" not in out


def test_nan_becomes_null_and_numpy_like_integrals_become_int():
    np = pytest.importorskip("numpy")
    assert json_value(float("nan")) is None
    v = json_value(np.int64(5))
    assert v == 5 and type(v) is int
    s = sheet(rows=[["a", np.int64(2), np.float64(0.5), None, None, None, None, None]])
    assert json.dumps(report(s).to_json())


def test_row_length_must_match_columns():
    with pytest.raises(ValueError, match="row 1"):
        sheet(rows=[ROW[:-1]])


@pytest.mark.parametrize(
    "index,bad",
    [
        (1, "3"),  # int column with text
        (1, True),  # bool is not a count
        (1, 2.5),
        (2, "12%"),
        (6, datetime(2026, 11, 16, 8)),  # date column with a datetime
        (7, date(2026, 11, 16)),
        (4, 1),  # level column with a number
    ],
)
def test_values_must_fit_their_column_kind(index, bad):
    row = list(ROW)
    row[index] = bad
    with pytest.raises(TypeError, match=COLS[index].key):
        sheet(rows=[row])


def test_total_row_may_label_any_column_but_is_otherwise_typed():
    sheet(total_row=["合计", "合计", None, None, None, None, None, None])
    with pytest.raises(TypeError):
        sheet(total_row=["合计", 1.5, None, None, None, None, None, None])


def test_duplicate_keys_are_refused():
    with pytest.raises(ValueError):
        sheet(columns=[COLS[0], COLS[0]], rows=[])
    with pytest.raises(ValueError):
        report(sheet(), sheet())


def test_charts_must_point_at_numeric_columns_of_the_sheet():
    sheet(charts=[Chart("bar", "人数", "Count", "college", ["watched", "rate"])])
    with pytest.raises(ValueError, match="unknown column"):
        sheet(charts=[Chart("bar", "人数", "Count", "college", ["missing"])])
    with pytest.raises(ValueError, match="numeric"):
        sheet(charts=[Chart("line", "x", "x", "college", ["level"])])
    with pytest.raises(ValueError):
        Chart("pie", "x", "x", "college", ["watched"])
    with pytest.raises(ValueError):
        Chart("bar", "x", "x", "college", [])


def form_sheet():
    return Sheet(
        "record",
        "约谈记录",
        "Interview",
        "约谈记录表",
        "Interview record",
        kind="form",
        form=[
            FormSection("student", "学生信息", "Student"),
            FormField("name", "姓名", "Name", "测试学生甲", pii="name"),
            FormField("level", "关注等级", "Level", "orange", "level"),
            FormSection("talk", "谈话情况", "Conversation"),
            FormField("date", "日期", "Date", date(2026, 11, 20), "date"),
            FormText("学生自述近期睡眠差。", key="account"),
            FormText("（以下由咨询师填写）"),
            SignatureLine(),
        ],
    )


def test_form_sheet_json_lists_fields_by_section():
    out = report(form_sheet()).to_json()
    assert out["sheets"]["record"] == [
        {"section": "student", "key": "name", "value": "测试学生甲"},
        {"section": "student", "key": "level", "value": "orange"},
        {"section": "talk", "key": "date", "value": "2026-11-20"},
        {"section": "talk", "key": "account", "value": "学生自述近期睡眠差。"},
    ]


def test_form_sheet_takes_no_table_parts_and_fields_are_typed():
    with pytest.raises(ValueError):
        Sheet("f", "f", "f", "f", "f", columns=COLS, kind="form")
    with pytest.raises(ValueError):
        sheet(form=[FormText("x")])
    with pytest.raises(TypeError):
        FormField("d", "日期", "Date", "2026-11-20", "date")


def test_signature_line_text_in_both_languages():
    s = SignatureLine()
    assert s.text("zh") == "咨询师签字：________  日期：________"
    assert s.text("en") == "Counselor signature: ________  Date: ________"
    custom = SignatureLine((("学生签字", "Student signature"),))
    assert custom.text("zh") == "学生签字：________"


def test_report_validates_lang_and_generated_at():
    with pytest.raises(ValueError):
        report(lang="fr")
    with pytest.raises(TypeError):
        report(generated_at=date(2026, 11, 23))


def test_labels_fall_back_to_chinese_when_english_is_empty():
    s = sheet(name_en="", title_en="")
    assert s.name("en") == "汇总"
    assert s.title("en") == "各学院汇总"
    assert report(s).sheet("summary") is s
