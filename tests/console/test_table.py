"""The terminal table drawn line by line: display widths, fitting a narrow terminal, colours, unsafe text."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from mhtool.console import table
from tests.console.tablekit import columns_of, read_table, squashed

HEADERS = ["学号", "姓名", "学院", "关注等级", "Note"]
ROWS = [
    ["2024000028", "孙九己", "化学化工学院", "一级(红色)", "sleeps badly"],
    ["2024004159", "Li Lei", "文学院", "三级(黄色)", ""],
    ["2024005769", "欧阳娜娜", "Foreign Languages", "二级(橙色)", "约谈后情绪平稳，继续回访"],
]


def drawn(rows=ROWS, headers=HEADERS, **kw) -> str:
    return "".join(table.render(headers, rows, colour=False, **kw))


def test_columns_line_up_by_display_width():
    text = drawn(room=200)
    assert read_table(text) == (HEADERS, ROWS)
    lines = text.splitlines()
    # The third column starts at the same screen column on every line, whatever the names' widths.
    starts = {len(columns_of(line[: line.index(college)])) for line, college in zip(lines[2:], ["化学化工学院", "文学院", "Foreign"])}
    assert len(starts) == 1


def test_a_narrow_terminal_wraps_text_columns_and_keeps_numbers_whole():
    text = drawn(room=60)
    assert max(len(columns_of(line)) for line in text.splitlines()) <= 60
    assert squashed(read_table(text)) == squashed((HEADERS, ROWS))
    assert all(row[0] in text for row in ROWS)


def test_the_widest_columns_give_way_first_and_floors_hold():
    assert table.fit([10, 30, 6], [10, 4, 6], 40) == [10, 24, 6]
    assert table.fit([10, 12, 12], [4, 4, 4], 30) == [10, 10, 10]
    assert table.fit([10, 8, 6], [10, 8, 6], 20) == [10, 8, 6]  # nothing may give: wider than the room
    # Between two columns as wide, the one already wrapped (more to show) gives first.
    assert table.fit([6, 6], [2, 2], 11, natural=[6, 12]) == [6, 5]


def test_colours_wrap_the_styled_cells_and_the_header_only():
    lines = list(table.render(["学号", "关注等级"], [["1", "red"], ["2", "none"]], styles=[None, lambda v: {"red": "bold red"}.get(v, "")], room=80))
    assert lines[0] == "\x1b[1m学号\x1b[0m  \x1b[1m关注等级\x1b[0m\n"
    assert lines[2] == "1     \x1b[1;31mred\x1b[0m\n"
    assert lines[3] == "2     none\n"
    assert not any("\x1b" in line for line in table.render(["a"], [["red"]], styles=[lambda v: "bold red"], colour=False))


def test_style_names_become_escape_codes():
    assert table.sgr("bold red") == "\x1b[1;31m"
    assert table.sgr("bold dark_orange") == "\x1b[1;38;5;208m"
    assert table.sgr("yellow") == "\x1b[33m"
    assert table.sgr("") == "" and table.sgr("blink-ish") == ""


def test_control_characters_are_shown_not_obeyed():
    text = drawn([["1", "坏\x1b[2J人\x07", "a\tb", "x\u202ey", "line one\nline two"]], room=200)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text and "\t" not in text
    assert "坏\ufffd[2J人\ufffd" in text and "x\ufffdy" in text
    assert "line one" in text and "line two" in text.splitlines()[3]  # a line break in a note stays in its column


def test_the_title_comes_first_and_an_empty_table_keeps_its_header():
    lines = list(table.render(["a", "b"], [], title="mhtool store", colour=False))
    assert lines == ["mhtool store\n", "a  b\n", "─  ─\n"]


def test_rows_are_drawn_only_as_they_are_read():
    styled = []

    def style(value):
        styled.append(value)
        return "yellow"

    lines = table.render(["n"], [[i] for i in range(3000)], styles=[style])
    first = list(itertools.islice(lines, 5))  # a header, its rule, three rows
    assert first[2] == "\x1b[33m0\x1b[0m\n"
    assert styled == [0, 1, 2]  # the other 2,997 rows are not formatted before the first screen is out
    assert len(list(lines)) == 2997


PIECES = ["a", "xyz", " ", "-", "学", "院", "张华", "（", "）", "。", "2024000028", "Level 1 (red)", "counselor4"]
cell = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.lists(cell, min_size=4, max_size=4), min_size=1, max_size=6),
    room=st.integers(min_value=30, max_value=140),
)
def test_any_table_fits_the_room_and_loses_nothing(rows, room):
    headers = ["学号", "姓名 name", "关注等级", "备注"]
    rows = [["n" + str(i)] + row[1:] for i, row in enumerate(rows)]  # a first column that is never empty
    text = "".join(table.render(headers, rows, colour=False, room=room))
    assert max(len(columns_of(line)) for line in text.splitlines()) <= room
    assert squashed(read_table(text)) == squashed((headers, rows))
