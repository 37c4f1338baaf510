"""The pure core of research exports: pseudonyms, date shifting, small-cell suppression, the table."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mhtool.governance.domain import research
from mhtool.governance.domain.research import MERGED_COLLEGE, build_table, suppress_small_cells

KEY_A = b"a" * 32
KEY_B = b"b" * 32


def test_pseudonym_is_keyed_prefixed_and_ignores_width_and_spaces():
    p = research.pseudonym(KEY_A, "2026990001")
    assert p.startswith("P-") and len(p) == 2 + research.PSEUDONYM_HEX
    assert research.pseudonym(KEY_A, " ２０２６９９０００１ ") == p
    assert research.pseudonym(KEY_B, "2026990001") != p
    assert "2026990001" not in p


def test_colliding_pseudonyms_are_lengthened(monkeypatch):
    monkeypatch.setattr(research, "PSEUDONYM_HEX", 1)
    names = research.assign_pseudonyms(KEY_A, [str(n) for n in range(40)])
    assert len(set(names.values())) == 40
    assert len({len(v) for v in names.values()}) == 1


def test_date_offset_is_never_zero_and_within_180_days():
    offsets = [research.date_offset(KEY_A, str(n)) for n in range(3000)]
    assert 0 not in offsets
    assert min(offsets) == -180 and max(offsets) == 180
    assert research.date_offset(KEY_A, "7") == research.date_offset(KEY_A, "7")


def rows(cells, start=0):
    """Plain rows, one student each, for (college, gender, grade, n) cells."""
    out, i = [], start
    for college, gender, grade, n in cells:
        for _ in range(n):
            out.append({"pseudonym": f"P-{i}", "college": college, "gender": gender, "grade": grade})
            i += 1
    return out


def cell_sizes(table):
    sizes = {}
    for r in table:
        sizes.setdefault((r["college"], r["gender"], r["grade"]), set()).add(r["pseudonym"])
    return {c: len(m) for c, m in sizes.items()}


def test_cells_of_k_or_more_are_kept_as_they_are():
    data = rows([("文学院", "男", "2026级", 5), ("法学院", "女", "2026级", 7)])
    out, report = suppress_small_cells(data, 5)
    assert out == data and report.cells_merged == 0 and report.rows_withheld == 0


def test_small_cells_merge_across_colleges_then_blank_then_withhold():
    data = rows(
        [
            ("文学院", "男", "2026级", 6),
            ("法学院", "男", "2026级", 3),  # merged with 医学院 into 5
            ("医学院", "男", "2026级", 2),
            ("理学院", "女", "2026级", 2),  # merged alone: 2 < 5, blanked
            ("理学院", "女", "2025级", 2),  # blanked too: 4 blanked < 5, withheld
        ]
    )
    out, report = suppress_small_cells(data, 5)
    sizes = cell_sizes(out)
    assert sizes == {("文学院", "男", "2026级"): 6, (MERGED_COLLEGE, "男", "2026级"): 5}
    assert report.cells_merged == 4 and report.cells_blanked == 2
    assert report.students_withheld == 4 and report.rows_withheld == 4
    assert data[6]["college"] == "法学院", "the input rows are not changed"


def test_blanked_rows_are_kept_when_together_they_reach_k():
    data = rows([("文学院", "男", "2026级", 9), ("理学院", "女", "2026级", 2), ("医学院", "男", "2025级", 3)])
    out, report = suppress_small_cells(data, 5)
    assert cell_sizes(out) == {("文学院", "男", "2026级"): 9, (MERGED_COLLEGE, "", ""): 5}
    assert report.rows_withheld == 0


def test_k_counts_students_not_rows():
    data = rows([("文学院", "男", "2026级", 6), ("法学院", "女", "2026级", 3)])
    doubled = data + [dict(r) for r in data]  # two responses per student
    out, _ = suppress_small_cells(doubled, 5)
    assert all(r["college"] != "法学院" for r in out)


@pytest.mark.parametrize("seed", range(20))
def test_every_released_cell_covers_at_least_k_students(seed):
    import random

    rng = random.Random(seed)
    cells = [(rng.choice("ABCDEFG"), rng.choice("男女"), rng.choice(("2024级", "2025级", "2026级")), rng.randint(1, 9)) for _ in range(15)]
    k = rng.randint(2, 8)
    out, _ = suppress_small_cells(rows(cells), k)
    assert all(n >= k for n in cell_sizes(out).values())
    assert research.smallest_cell(out) >= k or not out


def response(no, day, instrument="upi", college="文学院", **extra):
    return {
        "student_no": no,
        "on_date": day,
        "batch": "b1",
        "instrument": instrument,
        "version": "1.0",
        "scores": {"total": 12},
        "band": "C",
        "flags": [],
        "proposed_level": "none",
        "college": college,
        "gender": "男",
        "grade": "2026级",
        **extra,
    }


def test_table_keeps_intervals_and_moves_every_date():
    data = []
    for n in range(6):
        data.append(response(f"S{n}", "2026-09-10"))
        data.append(response(f"S{n}", "2026-10-20", instrument="phq9"))
    table = build_table(data, key=KEY_A)
    at = {h: i for i, h in enumerate(table.headers)}
    by_student = {}
    for row in table.rows:
        by_student.setdefault(row[at["pseudonym"]], {})[row[at["instrument"]]] = row[at["date"]]
    assert len(by_student) == 6
    for days in by_student.values():
        assert days["phq9"] - days["upi"] == timedelta(days=40)
        assert days["upi"] != date(2026, 9, 10)
        assert abs((days["upi"] - date(2026, 9, 10)).days) <= 180


def test_month_only_keeps_the_real_month_and_drops_the_day():
    table = build_table([response(f"S{n}", "2026-09-10") for n in range(5)], key=KEY_A, month_only=True)
    assert {row[table.headers.index("date")] for row in table.rows} == {"2026-09"}


def test_table_reads_only_whitelisted_fields():
    extra = {"name": "测雀甲", "phone": "19900000000", "dorm": "雀栋1", "answers": [1, 0], "note": "自由文本", "major": "雀专业"}
    table = build_table([response(f"S{n}", "2026-09-10", **extra) for n in range(5)], key=KEY_A)
    text = repr(table.headers) + repr(table.rows)
    for value in ("测雀甲", "19900000000", "雀", "自由文本", "S0", "answers"):
        assert value not in text
    assert table.headers[: len(research.BASE_HEADERS)] == list(research.BASE_HEADERS)
    assert table.headers[-1] == "score_total"


def test_rows_are_ordered_by_pseudonym_not_by_student_number():
    data = [response(f"{n:04d}", "2026-09-10") for n in range(30)]
    table = build_table(data, key=KEY_A)
    names = [row[0] for row in table.rows]
    assert names == sorted(names)
    mapping = research.assign_pseudonyms(KEY_A, [r["student_no"] for r in data])
    assert names != [mapping[r["student_no"]] for r in data]


def test_different_keys_give_unrelated_pseudonyms_and_offsets():
    data = [response(f"S{n}", "2026-09-10") for n in range(8)]
    a, b = build_table(data, key=KEY_A), build_table(data, key=KEY_B)
    assert not {r[0] for r in a.rows} & {r[0] for r in b.rows}
