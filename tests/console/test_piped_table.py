"""A table written to a pipe: tab-separated lines, one per row, every cell as safe as a CSV cell."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from mhtool.console import output

COLUMNS = [("a", "A"), ("b", "B"), ("c", "C")]


def piped(capsys, rows) -> list[str]:
    output.emit_table(rows, COLUMNS)
    return capsys.readouterr().out.splitlines()[1:]


def test_cells_that_would_break_a_line_or_run_as_a_formula_are_changed(capsys, monkeypatch):
    monkeypatch.delenv("FORCE_TERMINAL", raising=False)
    rows = [
        {"a": "=cmd|' /C calc'!A0", "b": "plain", "c": "fine"},
        {"a": "ok", "b": "two\tcells", "c": "x"},
        {"a": "ok", "b": "a\nline", "c": "-3"},
        {"a": "ok", "b": "", "c": "@SUM(1)"},
        {"a": "ok", "b": None, "c": 7},
        {"a": "2024010001", "b": "张三", "c": date(2026, 11, 24)},
    ]
    assert piped(capsys, rows) == [
        "'=cmd|' /C calc'!A0\tplain\tfine",
        "ok\ttwo cells\tx",
        "ok\ta line\t'-3",
        "ok\t\t'@SUM(1)",
        "ok\t\t7",
        "2024010001\t张三\t2026-11-24",
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({k: st.one_of(st.none(), st.integers(), st.text(alphabet="ab=+-@\t\r\n 张'", max_size=4)) for k, _h in COLUMNS}), max_size=5))
def test_every_line_is_the_cells_made_safe_one_by_one(rows):
    import io
    import sys

    real, sys.stdout = sys.stdout, io.StringIO()
    try:
        output.emit_table(rows, COLUMNS)
        lines = sys.stdout.getvalue().split("\n")[1:-1]
    finally:
        sys.stdout = real
    assert lines == ["\t".join(output._plain_cell(row[k]) for k, _h in COLUMNS) for row in rows]
