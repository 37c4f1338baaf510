"""Cell-level normalisation: text folding, student numbers, dates, missing answers."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mhtool.io.cells import (
    SCIENTIFIC_NOTATION_MESSAGE,
    cell_text,
    column_letter,
    fold_text,
    is_formula_text,
    is_missing,
    parse_cell_date,
    phone_text,
    student_no,
)


@pytest.mark.parametrize(
    "raw, folded",
    [
        ("２０２６６０１０００", "2026601000"),
        ("Ｑ１", "Q1"),
        ("（跳过）", "(跳过)"),
        ("Ａ．是", "A.是"),
        ("学号：", "学号:"),
        ("\u3000姓名\u3000", "姓名"),
        ("学\u00a0号", "学 号"),
        ("  软件   工程 \n 2601 ", "软件 工程 2601"),
        ("\ufeff学号\u200b", "学号"),
        ("plain", "plain"),
        ("", ""),
        (None, ""),
    ],
)
def test_fold_text(raw, folded):
    assert fold_text(raw) == folded


@pytest.mark.parametrize(
    "cell, expected",
    [
        (2026601000.0, "2026601000"),  # a number typed into the cell, as Excel stores it
        (2026601000, "2026601000"),
        ("2026601000", "2026601000"),
        ("0012", "0012"),  # leading zeros survive when they come as text
        ("２０２６６０１０００", "2026601000"),
        (" 2026601000 ", "2026601000"),
        ("2026601000.0", "2026601000"),
        ("'0012", "0012"),
        ("S2026001", "S2026001"),
    ],
)
def test_student_no_kept_as_text(cell, expected):
    assert student_no(cell) == (expected, None)


@pytest.mark.parametrize("cell", ["2.0266E+09", "2.0266e+09", "２．０２６６Ｅ＋０９", "2E9", 1.2345678901234568e17, 2.0266e15])
def test_student_no_scientific_notation_is_refused_not_guessed(cell):
    value, problem = student_no(cell)
    assert value is None
    assert problem == SCIENTIFIC_NOTATION_MESSAGE


@pytest.mark.parametrize("cell", [None, "", "   ", "\u3000", "'"])
def test_student_no_empty_is_a_problem(cell):
    value, problem = student_no(cell)
    assert value is None and "empty" in problem


@pytest.mark.parametrize("cell", [2026601000.5, float("nan"), datetime(2026, 9, 10), True, "2026 601000"])
def test_student_no_other_bad_cells_are_problems(cell):
    value, problem = student_no(cell)
    assert value is None and problem


@given(st.integers(min_value=1000, max_value=10**15 - 1))
def test_student_no_whole_numbers_round_trip_as_int_float_and_text(n):
    assert student_no(n) == (str(n), None)
    assert student_no(float(n)) == (str(n), None)
    assert student_no(str(n)) == (str(n), None)


@given(st.text(alphabet="0123456789", min_size=4, max_size=20))
def test_student_no_digit_text_is_never_changed(digits):
    assert student_no(digits) == (digits, None)


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("2026/09/10 08:00:00", datetime(2026, 9, 10, 8, 0, 0)),
        ("2026-09-10 08:00", datetime(2026, 9, 10, 8, 0)),
        ("2026-09-10T08:00:05", datetime(2026, 9, 10, 8, 0, 5)),
        ("2026年9月10日", datetime(2026, 9, 10)),
        ("2026年09月10日 14:30", datetime(2026, 9, 10, 14, 30)),
        ("2026.9.10", datetime(2026, 9, 10)),
        ("20260910", datetime(2026, 9, 10)),
        ("２０２６－０９－１０", datetime(2026, 9, 10)),
        (datetime(2026, 9, 10, 8, 1), datetime(2026, 9, 10, 8, 1)),
        (date(2026, 9, 10), datetime(2026, 9, 10)),
        (46275, datetime(2026, 9, 10)),  # Excel serial number
        (46275.5, datetime(2026, 9, 10, 12, 0)),
        ("46275", datetime(2026, 9, 10)),
    ],
)
def test_parse_cell_date(cell, expected):
    assert parse_cell_date(cell) == expected


@pytest.mark.parametrize("cell", [None, "", "明天", "2026-13-01", "2026-02-30", "12", True, time(8, 0), -5, float("inf")])
def test_parse_cell_date_refuses_what_is_not_a_date(cell):
    assert parse_cell_date(cell) is None


@pytest.mark.parametrize("cell", [None, "", "  ", "(跳过)", "（跳过）", "-3", "-2", -3, -2.0, "(空)", "（空）", float("nan")])
def test_is_missing(cell):
    assert is_missing(cell)


@pytest.mark.parametrize("cell", ["是", "否", 0, 1, "0", "1", "完全不会", -1, "跳过了吗"])
def test_is_not_missing(cell):
    assert not is_missing(cell)


def test_cell_text_and_phone_text():
    assert cell_text(1.0) == "1"
    assert cell_text(2.5) == "2.5"
    assert cell_text(datetime(2026, 9, 10)) == "2026-09-10"
    assert cell_text(datetime(2026, 9, 10, 8, 5)) == "2026-09-10 08:05:00"
    assert cell_text(" 法学院\u3000") == "法学院"
    assert cell_text(None) == ""
    assert phone_text(13800138000.0) == "13800138000"
    assert phone_text("138 0013 8000") == "138 0013 8000"


def test_column_letter():
    assert [column_letter(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA",
    ]
    with pytest.raises(ValueError):
        column_letter(-1)


def test_is_formula_text():
    assert is_formula_text("=SUM(A1:A3)")
    assert is_formula_text("  =1+1")
    assert not is_formula_text("1=1")
    assert not is_formula_text(1)
