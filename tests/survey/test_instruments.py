"""Instrument definitions (loading, validation, overrides) and answer decoding."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mhtool.errors import InvalidInput, NotFound
from mhtool.survey.domain import psqi
from mhtool.survey.domain.instruments import (
    BUILTIN_DIR,
    InstrumentDefinitionError,
    get_instrument,
    instrument_dirs_from_env,
    load_definition,
    load_instruments,
)

BUILTIN_CODES = {"upi", "scl90", "phq9", "gad7", "sds", "sas", "k10", "psqi"}


def sheet(rows: dict[int, list], first_item: int = 1) -> pd.DataFrame:
    """Answer table: {sheet row: [cells for items first_item…]}."""
    width = max(len(v) for v in rows.values())
    return pd.DataFrame(
        [list(v) for v in rows.values()],
        index=list(rows),
        columns=list(range(first_item, first_item + width)),
        dtype=object,
    )


# --------------------------------------------------------------------------- built-ins


def test_every_builtin_definition_loads_and_describes_as_json():
    instruments = load_instruments()
    assert set(instruments) == BUILTIN_CODES
    assert {p.stem for p in BUILTIN_DIR.glob("*.toml")} == BUILTIN_CODES
    for code, inst in instruments.items():
        assert inst.code == code
        assert inst.name_zh and inst.name_en and isinstance(inst.version, str)
        d = inst.describe()
        assert json.loads(json.dumps(d, ensure_ascii=False)) == d
        assert d["code"] == code and [s["key"] for s in d["scales"]] == list(inst.score_keys)


def test_summary_attributes_match_the_design_table():
    inst = load_instruments()
    upi = inst["upi"]
    assert upi.item_count == 60
    assert upi.optional_items == (61, 62, 63, 64)
    assert upi.accepted_item_counts == (60, 61, 62, 63, 64)  # all, part or none of the supplementary block
    assert upi.items == tuple(range(1, 65))
    assert upi.bands == ("A", "B", "C")
    assert upi.flags == ("item25",) and upi.critical_flags == ("item25",)
    assert upi.options["default"]["options"][0] == {"value": 1, "position": 1, "labels": ["是", "是的", "Yes"]}

    scl = inst["scl90"]
    assert scl.score_keys == (
        "total", "mean", "positive_items", "positive_mean", "somatization", "obsessive_compulsive",
        "interpersonal_sensitivity", "depression", "anxiety", "hostility", "phobic_anxiety",
        "paranoid_ideation", "psychoticism", "additional",
    )
    assert scl.bands == ("positive", "negative")
    assert inst["phq9"].bands == ("minimal", "mild", "moderate", "moderately_severe", "severe")
    assert inst["gad7"].bands == ("minimal", "mild", "moderate", "severe")
    assert inst["sds"].reverse_items == (2, 5, 6, 11, 12, 14, 16, 17, 18, 20)
    assert inst["sas"].reverse_items == (5, 9, 13, 17, 19)
    assert inst["sds"].score_keys == ("raw", "index") == inst["sas"].score_keys
    assert inst["k10"].bands == ("low", "moderate", "high", "very_high")
    assert inst["psqi"].score_keys == ("c1", "c2", "c3", "c4", "c5", "c6", "c7", "global")
    assert inst["psqi"].bands == ("good", "poor")
    assert inst["psqi"].tiers == ()
    assert (inst["phq9"].band_label("moderately_severe"), inst["phq9"].band_label("mild", "en")) == ("中重度", "mild")
    assert (upi.band_label("A"), upi.band_label("C", "en"), scl.band_label("negative")) == ("A类", "C", "阴性")
    assert upi.band_label("Z") == "Z"
    assert inst["psqi"].item_label(5) == "第5题"
    assert inst["psqi"].item_specs[5].display == "第5题(5a)"
    assert inst["psqi"].item_specs[2].display == "第2题"
    assert {c: i.critical_flags for c, i in inst.items() if i.critical_flags} == {
        "upi": ("item25",), "scl90": ("item15",), "phq9": ("item9",), "sds": ("item19",)
    }


def test_scl90_factor_items_are_the_design_lists():
    scl = get_instrument("scl90")
    items = {s.key: s.items for s in scl.scales}
    assert items["hostility"] == (11, 24, 63, 67, 74, 81)
    assert items["additional"] == (19, 44, 59, 60, 64, 66, 89)
    assert items["depression"] == (5, 14, 15, 20, 22, 26, 29, 30, 31, 32, 54, 71, 79)
    factors = [k for k in items if k not in ("total", "mean", "positive_items", "positive_mean")]
    assert sorted(i for k in factors for i in items[k]) == list(range(1, 91))


def test_get_instrument_is_case_insensitive_and_unknown_codes_list_the_known_ones():
    assert get_instrument(" PHQ9 ").code == "phq9"
    with pytest.raises(NotFound) as exc:
        get_instrument("bdi")
    assert "bdi" in exc.value.message
    assert "gad7" in exc.value.hint and "upi" in exc.value.hint


# --------------------------------------------------------------------------- extra directories

MINI = """\
code = "mini"
version = "1"
item_count = 3

[name]
zh = "测试量表"
en = "Mini"

[[options]]
value = 0
position = 1
labels = ["否"]

[[options]]
value = 1
position = 2
labels = ["是"]

[[scales]]
key = "total"
method = "sum"
items = "all"

[bands]
scale = "total"
ranges = [
  { name = "low", min = 0, max = 1 },
  { name = "high", min = 2, max = 3 },
]

[[tiers]]
level = "yellow"
any = [{ score = "total", min = 2 }]
"""


def write(dirpath: Path, name: str, text: str) -> Path:
    dirpath.mkdir(parents=True, exist_ok=True)
    path = dirpath / name
    path.write_text(text, encoding="utf-8")
    return path


def test_extra_directory_adds_and_overrides_without_touching_builtins(tmp_path):
    write(tmp_path / "center", "mini.toml", MINI)
    phq = (BUILTIN_DIR / "phq9.toml").read_text(encoding="utf-8").replace('version = "1.0"', 'version = "center-2"')
    write(tmp_path / "center", "phq9_local.toml", phq)

    merged = load_instruments([tmp_path / "center"])
    assert merged["mini"].item_count == 3
    assert merged["phq9"].version == "center-2"
    assert get_instrument("phq9", extra_dirs=[tmp_path / "center"]).version == "center-2"
    assert load_instruments()["phq9"].version == "1.0"
    assert "mini" not in load_instruments()


def test_later_extra_directories_win(tmp_path):
    write(tmp_path / "a", "mini.toml", MINI)
    write(tmp_path / "b", "mini.toml", MINI.replace('version = "1"', 'version = "2"'))
    assert load_instruments([tmp_path / "a", tmp_path / "b"])["mini"].version == "2"
    assert load_instruments([tmp_path / "b", tmp_path / "a"])["mini"].version == "1"


def test_one_code_twice_in_one_directory_is_an_error(tmp_path):
    write(tmp_path, "a.toml", MINI)
    write(tmp_path, "b.toml", MINI)
    with pytest.raises(InstrumentDefinitionError, match=r"b\.toml: code: 'mini' is also defined by .*a\.toml"):
        load_instruments([tmp_path])


def test_missing_extra_directory_is_reported(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        load_instruments([tmp_path / "nope"])


def test_instrument_dirs_from_env():
    env = {"MHTOOL_INSTRUMENTS": f"/srv/a{os.pathsep}{os.pathsep}/srv/b"}
    assert instrument_dirs_from_env(env) == [Path("/srv/a"), Path("/srv/b")]
    assert instrument_dirs_from_env({}) == []


# --------------------------------------------------------------------------- broken definitions


def broken(tmp_path: Path, text: str) -> InstrumentDefinitionError:
    path = write(tmp_path, "broken.toml", text)
    with pytest.raises(InstrumentDefinitionError) as exc:
        load_definition(path)
    assert str(path) in str(exc.value), "the message must name the file"
    assert isinstance(exc.value, InvalidInput)
    return exc.value


def test_mini_definition_is_valid(tmp_path):
    inst = load_definition(write(tmp_path, "mini.toml", MINI))
    assert inst.code == "mini" and inst.bands == ("low", "high")


def test_unknown_top_level_key(tmp_path):
    err = broken(tmp_path, MINI.replace('item_count = 3', 'item_count = 3\ncolour = "red"'))
    assert ": colour: unknown key" in str(err)


def test_unknown_key_inside_an_option(tmp_path):
    err = broken(tmp_path, MINI.replace('labels = ["否"]', 'labels = ["否"]\nscore = 0'))
    assert ": options[0].score: unknown key" in str(err)


def test_unknown_key_inside_a_condition(tmp_path):
    err = broken(tmp_path, MINI.replace('{ score = "total", min = 2 }', '{ score = "total", minimum = 2 }'))
    assert "tiers[0].any[0].minimum: unknown key" in str(err)


def test_duplicate_item_in_a_scale(tmp_path):
    err = broken(tmp_path, MINI.replace('items = "all"', "items = [1, 2, 2]"))
    assert ": scales[0].items: duplicate item 2" in str(err)


def test_duplicate_item_in_two_groups(tmp_path):
    text = MINI + '\n[[item_groups]]\nitems = [1, 2]\noptions = "default"\n\n[[item_groups]]\nitems = [2]\noptions = "default"\n'
    err = broken(tmp_path, text)
    assert ": item_groups[1].items: duplicate item 2" in str(err)


def test_band_gap(tmp_path):
    err = broken(tmp_path, MINI.replace('{ name = "high", min = 2, max = 3 }', '{ name = "high", min = 3, max = 3 }'))
    assert ": bands.ranges[1]: gap: no band covers 2–2" in str(err)


def test_band_overlap(tmp_path):
    err = broken(tmp_path, MINI.replace('{ name = "high", min = 2, max = 3 }', '{ name = "high", min = 1, max = 3 }'))
    assert ": bands.ranges[1]: overlap: high 1–3 overlaps low 0–1" in str(err)


def test_band_not_reaching_the_highest_possible_score(tmp_path):
    err = broken(tmp_path, MINI.replace('{ name = "high", min = 2, max = 3 }', '{ name = "high", min = 2, max = 2 }'))
    assert "bands.ranges[1]: gap: no band covers 3–3 (highest possible total is 3)" in str(err)


def test_reverse_item_out_of_range(tmp_path):
    err = broken(tmp_path, MINI.replace('item_count = 3', "item_count = 3\nreverse_items = [1, 4]"))
    assert ": reverse_items: item 4 is out of range" in str(err)


def test_reverse_items_placed_inside_an_options_table_are_caught(tmp_path):
    # a classic TOML slip: a key after [[options]] belongs to that option
    err = broken(tmp_path, MINI.replace('labels = ["是"]', 'labels = ["是"]\nreverse_items = [1]'))
    assert ": options[1].reverse_items: unknown key" in str(err)


def test_tier_naming_an_unknown_score(tmp_path):
    err = broken(tmp_path, MINI.replace('{ score = "total", min = 2 }', '{ score = "sum", min = 2 }'))
    assert ": tiers[0].any[0].score: unknown score 'sum'" in str(err)


def test_unknown_level(tmp_path):
    err = broken(tmp_path, MINI.replace('level = "yellow"', 'level = "amber"'))
    assert ": tiers[0].level: 'amber' is not one of red, orange, yellow" in str(err)


def test_version_must_be_a_string(tmp_path):
    err = broken(tmp_path, MINI.replace('version = "1"', "version = 1"))
    assert ": version: must be a quoted string" in str(err)


def test_missing_required_key(tmp_path):
    text = MINI[: MINI.index("[[scales]]")] + MINI[MINI.index("[bands]"):]
    err = broken(tmp_path, text)
    assert ": scales: is required" in str(err)


def test_option_positions_must_be_one_to_k(tmp_path):
    err = broken(tmp_path, MINI.replace("position = 2", "position = 3"))
    assert ": options: option positions must be 1–2 once each" in str(err)


def test_duplicate_option_label(tmp_path):
    err = broken(tmp_path, MINI.replace('labels = ["是"]', 'labels = ["是", " 否 "]'))
    assert "options[1].labels[1]: label ' 否 ' is already used by '否'" in str(err)


def test_toml_syntax_error_names_the_file(tmp_path):
    err = broken(tmp_path, MINI.replace('code = "mini"', "code = mini"))
    assert "not valid TOML" in str(err)


# --------------------------------------------------------------------------- decoding


def test_position_mode_maps_positions_to_form_values():
    phq = get_instrument("phq9")
    dec = phq.decode(sheet({2: [1, 2, 3, 4, 1, 1, 1, 1, 1]}), mode="position")
    assert dec.values.loc[2].tolist() == [0, 1, 2, 3, 0, 0, 0, 0, 0]
    upi = get_instrument("upi")
    dec = upi.decode(pd.DataFrame([[1] * 30 + [2] * 30], index=[9], columns=range(1, 61)), mode="position")
    assert dec.values.loc[9, 1] == 1 and dec.values.loc[9, 60] == 0  # 是 is option 1, 否 option 2


def test_position_mode_rejects_positions_out_of_range():
    phq = get_instrument("phq9")
    dec = phq.decode(sheet({5: [0, 5, 1, 1, 1, 1, 1, 1, "完全不会"]}), mode="position")
    assert [(p.row, p.column, p.value) for p in dec.problems] == [
        (5, "第1题", "0"), (5, "第2题", "5"), (5, "第9题", "完全不会")
    ]
    assert dec.problems[0].message == "invalid answer to 第1题: expected an option position 1–4"


def test_text_labels_with_letters_full_width_forms_and_stray_spaces():
    scl = get_instrument("scl90")
    cells = ["Ａ．没有", "B、很轻", "C 中等", " 偏重 ", "E.严重", "ｅ．严重", "（跳过）", "A)没有"] + ["没有"] * 82
    dec = scl.decode(sheet({3: cells}), mode="text")
    assert dec.problems == []
    got = dec.values.loc[3].tolist()[:8]
    assert got[:6] == [1, 2, 3, 4, 5, 5] and math.isnan(got[6]) and got[7] == 1

    upi = get_instrument("upi")
    dec = upi.decode(sheet({4: ["是 ", " 否", "Ａ、是", "B.否"] + ["否"] * 56}), mode="text")
    assert dec.problems == [] and dec.values.loc[4].tolist()[:4] == [1, 0, 1, 0]


def test_text_mode_refuses_numbers_and_value_mode_refuses_labels():
    gad = get_instrument("gad7")
    dec = gad.decode(sheet({2: [1, "完全不会", 0, 0, 0, 0, 0]}), mode="text")
    assert [(p.column, p.value) for p in dec.problems] == [("第1题", "1"), ("第3题", "0"), ("第4题", "0"),
                                                          ("第5题", "0"), ("第6题", "0"), ("第7题", "0")]
    assert dec.problems[0].message.endswith("expected one of 完全不会/好几天/一半以上的天数/几乎每天")
    dec = gad.decode(sheet({2: ["好几天", 1, "1", "1.0", 2.0, "３", 0]}), mode="value")
    assert [(p.column, p.value) for p in dec.problems] == [("第1题", "好几天")]
    assert dec.values.loc[2].tolist()[1:] == [1, 1, 1, 2, 3, 0]


def test_auto_mode_reads_labels_as_labels_and_numbers_as_form_values():
    phq = get_instrument("phq9")
    dec = phq.decode(sheet({7: ["几乎每天", 3, "2", 1.0, "A.完全不会", "一半以上的天数", 0, 0, "好几天"]}))
    assert dec.mode == "auto" and dec.problems == []
    assert dec.values.loc[7].tolist() == [3, 3, 2, 1, 0, 2, 0, 0, 1]


def test_values_in_the_wrong_mode_are_problems_never_coerced():
    upi = get_instrument("upi")
    cells = [3] + [0] * 59
    dec = upi.decode(sheet({12: cells}))
    (p,) = dec.problems
    assert (p.row, p.column, p.value) == (12, "第1题", "3")
    assert p.message == "invalid answer to 第1题: expected 0/1 or one of 是/否"
    assert math.isnan(dec.values.loc[12, 1])

    scl = get_instrument("scl90")
    dec = scl.decode(sheet({8: [6, 0, 2.5, "很重", True] + [1] * 85}))
    assert [(p.column, p.value) for p in dec.problems] == [
        ("第1题", "6"), ("第2题", "0"), ("第3题", "2.5"), ("第4题", "很重"), ("第5题", "True")
    ]
    assert dec.problems[0].message == "invalid answer to 第1题: expected 1–5 or one of 没有/很轻/中等/偏重/严重"


def test_missing_tokens_decode_to_nan_without_a_decode_problem():
    k10 = get_instrument("k10")
    tokens = [None, np.nan, "", "(跳过)", "（跳过）", "-3", "-2", "(空)", -3, -2.0]
    dec = k10.decode(sheet({2: tokens}))
    assert dec.problems == []
    assert dec.values.loc[2].isna().all()


def test_numeric_dtype_columns_decode_like_object_columns():
    rng = np.random.default_rng(7)
    scl = get_instrument("scl90")
    data = rng.integers(0, 7, size=(40, 90)).astype(float)
    data[rng.random(data.shape) < 0.05] = np.nan
    data[0, 0] = -3
    numeric = pd.DataFrame(data, index=range(2, 42), columns=range(1, 91))
    as_object = numeric.astype(object)
    for mode in ("value", "position", "auto", "text"):
        a = scl.decode(numeric, mode)
        b = scl.decode(as_object, mode)
        pd.testing.assert_frame_equal(a.values, b.values)
        assert a.problems == b.problems


def test_problem_rows_are_sheet_rows_and_values_raw_text():
    phq = get_instrument("phq9")
    dec = phq.decode(pd.DataFrame([[0] * 9, [0] * 8 + ["sometimes"]], index=[17, 23], columns=range(1, 10), dtype=object))
    (p,) = dec.problems
    assert (p.row, p.column, p.value) == (23, "第9题", "sometimes")


def test_column_layout_errors():
    phq = get_instrument("phq9")
    with pytest.raises(InvalidInput, match="no column for item 9"):
        phq.decode(pd.DataFrame([[0] * 8], columns=range(1, 9)))
    with pytest.raises(InvalidInput, match="no item 10"):
        phq.decode(pd.DataFrame([[0] * 10], columns=range(1, 11)))
    with pytest.raises(InvalidInput, match="not an item number"):
        phq.decode(pd.DataFrame([[0] * 9], columns=[str(i) for i in range(1, 10)]))
    with pytest.raises(InvalidInput, match="appears twice"):
        phq.decode(pd.DataFrame([[0] * 9, [0] * 9], index=[3, 3], columns=range(1, 10)))
    with pytest.raises(InvalidInput, match="unknown answer mode"):
        phq.decode(pd.DataFrame([[0] * 9], columns=range(1, 10)), mode="label")
    upi = get_instrument("upi")
    with pytest.raises(InvalidInput, match="no column for item 60"):
        upi.decode(pd.DataFrame([[0] * 59], columns=range(1, 60)))
    assert upi.decode(pd.DataFrame([[0] * 62], columns=range(1, 63))).items == tuple(range(1, 63))  # a partial block
    assert upi.decode(pd.DataFrame([[0] * 64], columns=range(1, 65))).items == tuple(range(1, 65))


# --------------------------------------------------------------------------- PSQI free answers


@pytest.mark.parametrize(
    ("cell", "minutes"),
    [
        ("23:30", 23 * 60 + 30),
        ("23：30", 23 * 60 + 30),
        ("23点30分", 23 * 60 + 30),
        ("23点半", 23 * 60 + 30),
        ("23点", 23 * 60),
        ("0点15分", 15),
        ("晚上11点", 23 * 60),
        ("晚上12点", 0),
        ("凌晨1点", 60),
        ("11:30 PM", 23 * 60 + 30),
        ("6:45", 6 * 60 + 45),
        ("早上6点半", 6 * 60 + 30),
        ("23.30", 23 * 60 + 30),
        (0.9375, 22 * 60 + 30),  # Excel time fraction
        ("0.25", 6 * 60),
        (dt.time(22, 45), 22 * 60 + 45),
        (dt.datetime(1899, 12, 30, 7, 5), 7 * 60 + 5),
    ],
)
def test_clock_times(cell, minutes):
    assert psqi.parse_clock(cell) == pytest.approx(minutes)


@pytest.mark.parametrize("cell", ["25:00", "23:75", "十一点", "11", 11, 1.5, "上午15点", "abc", True])
def test_not_clock_times(cell):
    assert psqi.parse_clock(cell) is None


def test_psqi_free_answer_columns_decode_in_every_mode():
    inst = get_instrument("psqi")
    row = ["23点30分", "20分钟", 0.2916666666666667, "7.5小时"] + ["无"] * 10 + ["较好", "无", "无", "偶尔有"]
    # clock times decode to fractions of a day (23:30 = 1410 / 1440), like Excel's
    expected = [1410 / 1440, 20, 420 / 1440, 7.5] + [0] * 10 + [1, 0, 0, 1]
    for mode in ("auto", "text"):
        dec = inst.decode(sheet({2: row}), mode)
        assert dec.problems == []
        assert dec.values.loc[2].tolist() == pytest.approx(expected, abs=1e-12)
    positions = ["23:30", 20, "7:00", 7.5] + [1] * 10 + [2, 1, 1, 2]
    dec = inst.decode(sheet({2: positions}), "position")
    assert dec.problems == [] and dec.values.loc[2].tolist() == pytest.approx(expected, abs=1e-12)
    again = inst.decode(dec.values, "value")
    assert again.problems == [] and again.values.loc[2].tolist() == dec.values.loc[2].tolist()


def test_psqi_free_answer_problems():
    inst = get_instrument("psqi")
    row = ["25点", -5, "7:00", 30] + [0] * 10 + [9, 0, 0, 0]
    dec = inst.decode(sheet({6: row}))
    assert [(p.column, p.value) for p in dec.problems] == [
        ("第1题", "25点"), ("第2题", "-5"), ("第4题", "30"), ("第15题", "9")
    ]
    assert dec.problems[0].message.startswith("invalid answer to 第1题: expected a clock time")
    assert dec.problems[1].message.endswith("expected a number of minutes from 0 to 1440")
    assert dec.problems[2].message.endswith("expected a number of hours from 0 to 24")
    assert dec.problems[3].column == "第15题"
    assert dec.problems[3].message.startswith("invalid answer to 第15题(6): expected 0–3 or one of 很好/")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([-3.0, -2.0, 0.0, -0.0])), max_size=40),
    st.lists(st.sampled_from([-3.0, -2.0, 1.0, math.inf, math.nan]), max_size=3),
    st.lists(st.sampled_from(["", "正常", "轻度", "中度", "重度", "阳性"]), max_size=40),
    st.lists(st.sampled_from(["正常", "中度", "阳性", "无"]), max_size=3),
)
def test_among_marks_what_isin_marks(numbers, wanted_numbers, bands, wanted_bands):
    # The few-value membership the scorer uses instead of np.isin: NaN equals nothing, -0.0 equals 0.0, objects compare by ==.
    from mhtool.survey.domain.instruments import among

    arr = np.array(numbers, dtype=float)
    assert among(arr, wanted_numbers).tolist() == np.isin(arr, wanted_numbers).tolist()
    labels = np.array(bands, dtype=object)
    assert among(labels, wanted_bands).tolist() == np.isin(labels, wanted_bands).tolist()
