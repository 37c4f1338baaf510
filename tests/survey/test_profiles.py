"""Import profiles: built-in data, validation of user profiles, header layouts, auto-detection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mhtool.errors import InvalidInput
from mhtool.io.profiles import detect_profile, get_profile, load_profile_file, load_profiles

ROSTER_FIELDS = {
    "student_no", "name", "gender", "college", "major", "grade", "class_name", "dorm", "phone",
    "advisor", "advisor_phone", "guardian_name", "guardian_relation", "guardian_phone", "submitted_at",
}

WJX_HEADER = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、学号", "2、姓名", "3、食欲不振", "4、恶心"]
TENCENT_HEADER = ["编号", "开始答题时间", "结束答题时间", "答题时长", "地理位置国家和地区", "自定义字段", "1.学号", "2.姓名", "3.做事时提不起劲"]
GENERIC_HEADER = ["学号", "姓名", "学院", "1", "2", "3"]


def test_builtin_profiles_load_with_their_fields():
    profiles = load_profiles()
    assert set(profiles) == {"generic", "wjx", "tencent", "roster", "interviews"}
    assert {n for n, p in profiles.items() if p.kind == "export"} == {"generic", "wjx", "tencent"}
    for name in ("generic", "wjx", "tencent", "roster"):
        assert set(profiles[name].fields) == ROSTER_FIELDS, name
    roster = profiles["roster"]
    assert roster.aliases("student_no")[:2] == ("学号", "学生学号")
    assert "学籍号" in roster.aliases("student_no")
    assert {"学院", "院系", "所在学院"} <= set(roster.aliases("college"))
    assert {"手机", "手机号", "联系电话"} <= set(roster.aliases("phone"))
    assert {"宿舍", "宿舍号"} <= set(roster.aliases("dorm"))
    assert {"提交答卷时间", "结束答题时间", "提交时间"} <= set(roster.aliases("submitted_at"))
    assert roster.fields["student_no"].type == "student_no"
    assert roster.fields["submitted_at"].type == "datetime"
    interviews = profiles["interviews"]
    assert set(interviews.fields) >= {"student_no", "name", "date", "interviewer", "summary", "level", "measures"}
    assert interviews.aliases("date")[0] == "约谈日期"
    assert interviews.fields["date"].type == "date"
    # A platform's own name for the submission time comes first.
    assert profiles["wjx"].aliases("submitted_at")[0] == "提交答卷时间"
    assert profiles["tencent"].aliases("submitted_at")[0] == "结束答题时间"


@pytest.mark.parametrize(
    "header, expected",
    [(WJX_HEADER, "wjx"), (TENCENT_HEADER, "tencent"), (GENERIC_HEADER, "generic")],
)
def test_detect_profile(header, expected):
    assert detect_profile(header, load_profiles()).name == expected


def test_detect_profile_accepts_any_order_of_wjx_meta_and_full_width_headers():
    header = ["来自IP", "序号 ", "来源", "１、学号", "２、食欲不振"]
    assert detect_profile(header, load_profiles()).name == "wjx"
    assert detect_profile(["学号", "Ｑ１", "Ｑ２"], load_profiles()).name == "generic"


def test_detect_profile_none_says_so_and_names_the_flag():
    with pytest.raises(InvalidInput) as e:
        detect_profile(["姓名", "班级", "备注"], load_profiles())
    assert "no import profile matches" in e.value.message
    assert "generic" in e.value.message and "wjx" in e.value.message
    assert "--profile NAME" in e.value.hint


def test_detect_profile_ambiguous_names_the_matches(tmp_path):
    (tmp_path / "wjx2.toml").write_text(
        'name = "wjx-copy"\nkind = "export"\ninherit = "roster"\nmarkers = ["序号", "来自IP"]\nmin_markers = 1\n'
        "[items]\nmode = \"questions\"\nquestion = '^(?P<n>\\d+)、(?P<title>.*)$'\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as e:
        detect_profile(WJX_HEADER, load_profiles(tmp_path))
    assert "several import profiles (wjx, wjx-copy)" in e.value.message
    assert "--profile NAME" in e.value.hint


def test_wjx_layout_roster_questions_by_title_and_matrix_rows():
    wjx = get_profile("wjx")
    header = [
        "序号", "来源", "提交答卷时间", "总分",
        "1、请输入您的学号", "2、姓名",
        "3、以下问题请根据最近一星期的情况选择—头痛", "神经过敏", "神经过敏", "头晕",
        "4、所在学院",
        "5、单独的一题",
    ]
    lay = wjx.layout(header)
    assert lay.fields == {"submitted_at": 2, "student_no": 4, "name": 5, "college": 10}
    assert [j for _, j in lay.items] == [6, 7, 8, 9, 11]
    assert [n for n, _ in lay.items] == [1, 2, 3, 4, 5]
    assert lay.meta == [0, 1, 3]
    assert wjx.matches(lay)


def test_wjx_bare_columns_before_the_first_question_are_not_items():
    lay = get_profile("wjx").layout(["序号", "提交答卷时间", "微信昵称", "自定义", "1、学号", "2、题一", "3、题二"])
    assert len(lay.items) == 2
    assert 3 in lay.unmapped


def test_generic_layout_item_numbers_from_headers():
    generic = get_profile("generic")
    lay = generic.layout(["学号", "姓名", "Q2", "q1", "第3题", "4、题干", "5.题干", 6.0, "备注"])
    assert lay.fields == {"student_no": 0, "name": 1}
    assert sorted(lay.items) == [(1, 3), (2, 2), (3, 4), (4, 5), (5, 6), (6, 7)]
    assert not lay.numbering_problems
    dup = generic.layout(["学号", "1", "Q1", "2"])
    assert dup.numbering_problems == ["item 1 has two columns (B and C)"]
    gap = generic.layout(["学号", "1", "3"])
    assert gap.numbering_problems == ["the item columns skip item(s) 2"]


def test_first_alias_wins_when_two_columns_mean_one_field():
    lay = get_profile("roster").layout(["学籍号", "学号", "姓名"])
    assert lay.fields["student_no"] == 1
    assert lay.unmapped == [0]


def _write(d: Path, name: str, text: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{name}.toml"
    p.write_text(text, encoding="utf-8")
    return p


CAMPUS = """
name = "campus"
kind = "export"
title = "校园心理测评系统"
inherit = "roster"
markers = ["测评编号"]
min_markers = 1
meta = ["测评编号"]

[items]
mode = "numbered"
patterns = ['^题目(?P<n>\\d+)$']

[fields.student_no]
aliases = ["学生证号"]
"""


def test_user_profiles_from_dirs_and_env(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a, "campus", CAMPUS)
    _write(b, "myroster", 'name = "myroster"\nkind = "table"\n[fields.student_no]\ntype = "student_no"\naliases = ["编号"]\n')
    monkeypatch.setenv("MHTOOL_PROFILES", os.pathsep.join([str(a), str(b)]))
    profiles = load_profiles()
    assert {"campus", "myroster"} <= set(profiles)
    campus = profiles["campus"]
    assert campus.aliases("student_no")[0] == "学生证号"
    assert "学号" in campus.aliases("student_no")  # inherited after its own
    assert detect_profile(["测评编号", "学生证号", "题目1", "题目2"], profiles).name == "campus"
    assert "campus" in load_profiles(env={}, dirs=[a])
    assert "campus" not in load_profiles(env={})


def test_user_profile_replaces_builtin_of_same_name(tmp_path):
    _write(tmp_path, "generic", 'name = "generic"\nkind = "export"\ninherit = "roster"\n[items]\nmode = "numbered"\npatterns = [\'^T(?P<n>\\d+)$\']\n')
    generic = load_profiles(tmp_path)["generic"]
    assert generic.source.endswith("generic.toml")
    assert detect_profile(["学号", "T1"], [generic]).name == "generic"


@pytest.mark.parametrize(
    "text, message",
    [
        ('name = "x"\nkind = "export"\ncolour = "red"\n', "unknown key(s) colour"),
        ('name = "X y"\n', "name must be lower-case"),
        ('name = "x"\nkind = "sheet"\n', "kind must be one of export, table"),
        ('name = "x"\nkind = "export"\ninherit = "roster"\n', "needs an [items] table"),
        ('name = "x"\nkind = "export"\ninherit = "roster"\n[items]\nmode = "numbered"\npatterns = ["(unclosed"]\n', "not a valid regular expression"),
        ('name = "x"\nkind = "export"\ninherit = "roster"\n[items]\nmode = "numbered"\npatterns = ["^Q\\\\d+$"]\n', "group named n"),
        ('name = "x"\nkind = "export"\ninherit = "roster"\n[items]\nmode = "sideways"\n', "mode must be one of"),
        ('name = "x"\nkind = "export"\ninherit = "roster"\n[items]\nmode = "questions"\nquestion = "^(?P<n>\\\\d+)、"\n', "group named title"),
        ('name = "x"\nkind = "table"\ninherit = "nobody"\n', "unknown profile 'nobody'"),
        ('name = "x"\nkind = "table"\ninherit = "x"\n', "loop"),
        ('name = "x"\nkind = "table"\n[items]\nmode = "numbered"\n', "a table profile has no [items]"),
        ('name = "x"\nkind = "table"\n[fields.student_no]\naliases = ["学号"]\n[fields.name]\naliases = ["学号"]\n', "listed for both"),
        ('name = "x"\nkind = "table"\n[fields.student_no]\naliases = ["学号"]\ntype = "uuid"\n', "type must be one of"),
        ('name = "x"\nkind = "table"\n[fields.student_no]\naliases = ["学号"]\ntype = "text"\n', 'must have type = "student_no"'),
        ('name = "x"\nkind = "table"\nmarkers = ["a"]\nmin_markers = 3\n', "min_markers is 3"),
        ('name = "x"\nkind = "table"\n[fields.nick]\n', "needs aliases"),
        ('name = "x"\nkind = "table"\ninherit = "roster"\ninherit_fields = ["shoe_size"]\n', "shoe_size"),
        ("name = 'x\n", "not valid TOML"),
    ],
)
def test_invalid_profiles_are_refused_with_the_file_and_the_reason(tmp_path, text, message):
    path = _write(tmp_path, "bad", text)
    with pytest.raises(InvalidInput) as e:
        load_profile_file(path)
    assert str(path) in e.value.message
    assert message in e.value.message
    with pytest.raises(InvalidInput):
        load_profiles(tmp_path)


def test_two_files_with_one_name_in_a_dir_are_refused(tmp_path):
    _write(tmp_path, "one", CAMPUS)
    _write(tmp_path, "two", CAMPUS)
    with pytest.raises(InvalidInput, match="also defined"):
        load_profiles(tmp_path)


def test_missing_profile_dir_and_unknown_profile_name(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        load_profiles(tmp_path / "nope")
    with pytest.raises(InvalidInput) as e:
        get_profile("qualtrics")
    assert "unknown import profile 'qualtrics'" in e.value.message
    assert "wjx" in e.value.hint
