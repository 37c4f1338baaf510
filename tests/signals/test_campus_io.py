"""Reading campus exports (门禁, 一卡通, 教务) into per-person facts: mhtool.io.campus.

Every file is generated here with made-up people; nothing is mocked. The
night rule is checked at its edges and against a plain-Python statement of it
on random passes, through both engines' ways in (DuckDB's CSV reader and
Python-decoded chunks).
"""

from __future__ import annotations

import csv
import os
import random
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from mhtool.errors import InvalidInput, UsageError
from mhtool.io import campus
from mhtool.io.campus import load_campus_profiles, plan, read_campus

DORM_HEADER = ["人员编号", "姓名", "部门", "设备名称", "进出方向", "通行时间", "验证方式"]


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "导出"
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def passes(*items: tuple[str, str, str]) -> list[list]:
    """(code, direction, time) → rows of a dorm export in the sample's layout."""
    return [DORM_HEADER] + [[code, "张三", "文学院", "3栋东门闸机", d, t, "人脸"] for code, d, t in items]


def problems_of(exc: pytest.ExceptionInfo) -> list[tuple]:
    return [(p.row, p.column, p.value) for p in exc.value.problems]


# ---------------------------------------------------------------- layouts


def test_dorm_export_in_the_samples_layout_is_read_by_duckdb(tmp_path):
    path = write_csv(tmp_path / "门禁.csv", passes(
        ("20250100001", "出", "2026-11-17 07:00:00"),
        ("20250100001", "进", "2026-11-17 21:00:00"),
        ("20250100002", "出", "2026-11-17 20:00:00"),
        ("20250100002", "进", "2026-11-18 12:00:00"),
        ("20250100001", "出", "2026-11-19 06:00:00"),
    ), encoding="utf-8-sig")
    p = plan(path, "dorm")
    assert p["engine"] == "duckdb read_csv" and p["encoding"] == "UTF-8 with BOM"
    assert p["profile"] == "dorm" and p["header_row"] == 1 and p["key"] == "card_no"
    assert p["fields"] == {"card_no": "人员编号", "name": "姓名", "device": "设备名称", "direction": "进出方向", "time": "通行时间"}
    assert [c["read"] for c in p["columns"]] == [True, False, False, False, True, True, False]
    agg = read_campus(path, "dorm")
    assert set(agg) == {"source", "first_day", "last_day", "rows", "people", "school", "unmatched_note"}
    assert agg["source"] == "dorm" and agg["rows"] == 5 and agg["school"] == {} and agg["unmatched_note"] is None
    # last pass 11-19 06:00 covers night 11-18 (to 05:00 on 11-19), not 11-19
    assert (agg["first_day"], agg["last_day"]) == ("2026-11-17", "2026-11-18")
    assert agg["people"] == {
        "20250100001": {"nights": {"2026-11-17": 0, "2026-11-18": 0}},
        "20250100002": {"nights": {"2026-11-17": 1, "2026-11-18": 0}},
    }


def test_gbk_csv_with_separate_date_and_time_columns_and_1_0_directions(tmp_path):
    rows = [["卡号", "姓名", "楼栋", "方向", "日期", "时间"],
            ["0012345", "李四", "1栋", "1", "2026-11-17", "07:00:00"],
            ["0012345", "李四", "1栋", "0", "2026/11/17", "23:30"],
            ["0012345", "李四", "1栋", "1", "20261118", "05:00:00"],
            ["0012345", "李四", "1栋", "0", "2026年11月18日", "23:29:00"],
            ["0012345", "李四", "1栋", "1", "2026-11-19", "04:59:00"],
            ["0012345", "李四", "1栋", "1", "2026-11-20", "22:00:00"]]
    path = write_csv(tmp_path / "access_gbk.csv", rows, encoding="gbk")
    p = plan(path, "dorm")
    assert p["encoding"] == "GB18030 (GBK)" and p["engine"] == "python → duckdb"
    assert p["fields"]["date"] == "日期" and p["fields"]["time"] == "时间"
    agg = read_campus(path, "dorm")
    assert agg["people"] == {"0012345": {"nights": {"2026-11-17": 1, "2026-11-18": 0, "2026-11-19": 0}}}
    # the same file in UTF-8 (DuckDB's reader) gives the same facts
    assert read_campus(write_csv(tmp_path / "access_utf8.csv", rows), "dorm")["people"] == agg["people"]


def test_xlsx_with_excel_dates_serial_numbers_and_in_out_codes(tmp_path):
    path = write_xlsx(tmp_path / "passes.xlsx", [
        ["学号", "姓名", "门禁点", "direction", "刷卡时间"],
        ["2026001", "王五", "2栋", "in", datetime(2026, 11, 17, 7, 0)],
        ["2026001", "王五", "2栋", "OUT", 46343.979166666664],  # 2026-11-17 23:30 as an Excel serial number
        ["2026001", "王五", "2栋", "In", datetime(2026, 11, 18, 12, 0)],
        [2026002, "赵六", "2栋", "out", "2026-11-17 08:00"],
        ["2026001", "王五", "2栋", "out", datetime(2026, 11, 19, 6, 0)],
    ])
    p = plan(path, "dorm")
    assert (p["format"], p["sheet"], p["key"]) == ("xlsx", "导出", "student_no")
    agg = read_campus(path, "dorm")
    assert agg["people"] == {
        "2026001": {"nights": {"2026-11-17": 1, "2026-11-18": 0}},
        "2026002": {"nights": {"2026-11-17": 1, "2026-11-18": 1}},
    }


def test_title_rows_above_the_header_and_blank_lines_keep_spreadsheet_row_numbers(tmp_path):
    text = ("门禁通行记录导出 2026-11-17 至 2026-11-19\n\n" + ",".join(DORM_HEADER) + "\n"
            "20250100001,张三,文学院,3栋,出,2026-11-17 07:00:00,人脸\n\n"
            "20250100001,张三,文学院,3栋,进,2026-11-17 25:00:00,人脸\n"
            "20250100001,张三,文学院,3栋,回,2026-11-18 07:00:00,人脸\n")
    path = tmp_path / "titled.csv"
    path.write_text(text, encoding="utf-8")
    assert plan(path, "dorm")["header_row"] == 3
    with pytest.raises(InvalidInput) as exc:
        read_campus(path, "dorm")
    assert problems_of(exc) == [(6, "通行时间", "2026-11-17 25:00:00"), (7, "进出方向", "回")]
    gbk = tmp_path / "titled_gbk.csv"
    gbk.write_bytes(text.encode("gbk"))
    with pytest.raises(InvalidInput) as exc2:
        read_campus(gbk, "dorm")
    assert problems_of(exc2) == problems_of(exc)


def test_empty_rows_are_skipped_and_a_broken_quote_is_named_by_line_in_every_text_reader(tmp_path):
    head = ",".join(DORM_HEADER) + "\n"
    good = "20250100001,张三,文学院,3栋,出,2026-11-17 07:00:00,人脸\n"
    text = head + good + ",,,,,,\n" + ",李四,,,,,\n\n" + good.replace("07:00", "25:00")  # the name alone is not a pass
    broken = head + good * 3 + '20250100001,"张三,文学院,3栋,出,2026-11-17 07:00:00,人脸\n' + good * 3
    for encoding in ("utf-8", "gbk", "utf-16"):
        path = tmp_path / f"rows_{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        with pytest.raises(InvalidInput) as exc:
            read_campus(path, "dorm")
        assert problems_of(exc) == [(6, "通行时间", "2026-11-17 25:00:00")], encoding
        path.write_bytes(broken.encode(encoding))
        with pytest.raises(InvalidInput, match="line 5 is not a well-formed CSV row"):
            read_campus(path, "dorm")


def test_legacy_xls_workbook(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook()
    ws = wb.add_sheet("流水")
    for i, row in enumerate([["学号", "交易时间", "交易地点", "交易金额", "交易类型"],
                             ["2026001", "2026-11-17 12:00", "一食堂", -8.5, "消费"],
                             ["2026001", "2026-11-18 12:00", "一食堂", "oops", "消费"]]):
        for j, value in enumerate(row):
            ws.write(i, j, value)
    wb.save(str(tmp_path / "card.xls"))
    with pytest.raises(InvalidInput) as exc:
        read_campus(tmp_path / "card.xls", "card")
    (p,) = exc.value.problems
    assert (p.file, p.sheet, p.row, p.column, p.value) == ("card.xls", "流水", 3, "交易金额", "oops")


# ---------------------------------------------------------------- the night rule


def test_night_rule_at_its_edges(tmp_path):
    rows = passes(
        # A: out at 23:29, back at 04:59 → in; out at 23:30, back at 05:00 → out
        ("A0001", "出", "2026-11-17 23:29:00"), ("A0001", "进", "2026-11-18 04:59:00"),
        ("A0001", "出", "2026-11-18 23:30:00"), ("A0001", "进", "2026-11-19 05:00:00"),
        # B: left on the 17th and no pass since: the exit is carried, every night is out
        ("B0001", "进", "2026-11-17 08:00:00"), ("B0001", "出", "2026-11-17 09:00:00"),
        # C: came in on the 17th and no pass since: in, carried
        ("C0001", "进", "2026-11-17 10:00:00"),
        # D: first pass after the cut-off of the 17th: not judged that night
        ("D0001", "出", "2026-11-17 23:45:00"), ("D0001", "进", "2026-11-18 01:00:00"),
        # E: exit after the cut-off (00:30) does not make the night out; an entry and exit in the same second: entry wins
        ("E0001", "进", "2026-11-17 23:00:00"), ("E0001", "出", "2026-11-18 00:30:00"),
        ("E0001", "出", "2026-11-18 22:00:00"), ("E0001", "进", "2026-11-18 22:00:00"),
        # the file's last pass: 2026-11-20 05:00, so nights 17, 18, 19 are covered
        ("Z0001", "进", "2026-11-20 05:00:00"),
    )
    agg = read_campus(write_csv(tmp_path / "edges.csv", rows), "dorm")
    nights = {k: v["nights"] for k, v in agg["people"].items()}
    assert (agg["first_day"], agg["last_day"]) == ("2026-11-17", "2026-11-19")
    assert nights["A0001"] == {"2026-11-17": 0, "2026-11-18": 1, "2026-11-19": 0}
    assert nights["B0001"] == {"2026-11-17": 1, "2026-11-18": 1, "2026-11-19": 1}
    assert nights["C0001"] == {"2026-11-17": 0, "2026-11-18": 0, "2026-11-19": 0}
    assert nights["D0001"] == {"2026-11-18": 0, "2026-11-19": 0}
    assert nights["E0001"] == {"2026-11-17": 0, "2026-11-18": 0, "2026-11-19": 0}
    assert nights["Z0001"] == {}


def _reference_nights(events: list[tuple[str, datetime, int]]) -> tuple[dict, str | None, str | None]:
    """The rule as the issue states it, person by person and night by night."""
    tmin = min(t for _k, t, _d in events)
    tmax = max(t for _k, t, _d in events)
    first = (tmin + timedelta(minutes=30) - timedelta(microseconds=1)).date()
    last = (tmax - timedelta(hours=29)).date()
    out: dict[str, dict] = {}
    for key in {k for k, _t, _d in events}:
        mine = sorted((t, d) for k, t, d in events if k == key)
        nights = {}
        day = first
        while day <= last:
            cut = datetime.combine(day, datetime.min.time()) + timedelta(hours=23, minutes=30)
            before = [(t, d) for t, d in mine if t <= cut]
            if before:
                latest = max(before)
                back = any(d == 1 and cut < t < cut + timedelta(hours=5, minutes=30) for t, d in mine)
                nights[day.isoformat()] = int(latest[1] == 0 and not back)
            day += timedelta(days=1)
        out[key] = {"nights": nights}
    return out, first.isoformat() if first <= last else None, last.isoformat() if first <= last else None


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_nights_agree_with_the_rule_on_random_passes(tmp_path, encoding):
    rng = random.Random(17)
    start = datetime(2026, 11, 16, 0, 0)
    edges = [timedelta(hours=h, minutes=m) for h, m in ((23, 29), (23, 30), (23, 31), (4, 59), (5, 0), (5, 1), (0, 0), (12, 0))]
    events = []
    for i in range(40):
        key = f"2026{i:04d}"
        for _n in range(rng.randint(0, 14)):
            day = start + timedelta(days=rng.randint(0, 6))
            t = day + (rng.choice(edges) if rng.random() < 0.6 else timedelta(minutes=rng.randint(0, 1439)))
            events.append((key, t, rng.randint(0, 1)))
    events.append(("20269999", start + timedelta(days=7, hours=6), 1))
    rng.shuffle(events)
    rows = [DORM_HEADER] + [[k, "某某", "学院", "1栋", "进" if d else "出", t.strftime("%Y-%m-%d %H:%M:%S"), "刷卡"] for k, t, d in events]
    agg = read_campus(write_csv(tmp_path / f"random_{encoding}.csv", rows, encoding=encoding), "dorm")
    expected, first, last = _reference_nights(events)
    assert (agg["first_day"], agg["last_day"]) == (first, last)
    assert agg["people"] == expected


# ---------------------------------------------------------------- campus card


def test_canteen_meals_against_recharges_and_other_spending(tmp_path):
    rows = [["学号", "姓名", "交易时间", "交易地点", "交易金额", "交易类型"],
            ["2026001", "甲", "2026-11-17 07:10:00", "一食堂", "-5.50", "消费"],
            ["2026001", "甲", "2026-11-17 11:50:00", "清真餐厅", "-12.00", "扫码消费"],
            ["2026001", "甲", "2026-11-17 12:30:00", "校园超市", "-30.00", "消费"],
            ["2026001", "甲", "2026-11-17 13:00:00", "圈存机", "200.00", "充值"],
            ["2026001", "甲", "2026-11-17 13:05:00", "一食堂", "5.50", "消费冲正"],
            ["2026002", "乙", "2026-11-17 12:00:00", "二食堂", "20", "消费"],
            ["2026002", "乙", "2026-11-17 18:00:00", "二食堂", "¥8.00", "消费"],
            ["2026003", "丙", "2026-11-17 12:00:00", "三食堂", "4.00", "消费"],
            ["2026003", "丙", "2026-11-19 12:00:00", "打印店", "1.00", "消费"]]
    agg = read_campus(write_csv(tmp_path / "card.csv", rows), "card")
    assert (agg["first_day"], agg["last_day"], agg["rows"]) == ("2026-11-17", "2026-11-19", 9)
    days = ["2026-11-17", "2026-11-18", "2026-11-19"]
    assert agg["people"]["2026001"] == {"days": dict(zip(days, [[2, 1750], [0, 0], [0, 0]]))}
    assert agg["people"]["2026002"] == {"days": dict(zip(days, [[2, 2800], [0, 0], [0, 0]]))}
    assert agg["people"]["2026003"] == {"days": dict(zip(days, [[1, 400], [0, 0], [0, 0]]))}
    # per person that day: 875, 1400 and 400 cents a meal; the median is 875
    assert agg["school"] == {"days": {"2026-11-17": 875}}


def test_school_median_per_day_is_over_people_and_rounded_to_cents(tmp_path):
    rows = [["卡号", "交易时间", "商户名称", "金额", "交易类型"]]
    spend = {"2026-11-17": [300, 500, 1000, 1001], "2026-11-18": [700]}
    for day, amounts in spend.items():
        for i, cents in enumerate(amounts):
            rows.append([f"C{i:04d}", f"{day} 12:00:00", "学生餐厅", f"{cents / 100:.2f}", "消费"])
    agg = read_campus(write_csv(tmp_path / "card2.csv", rows), "card")
    assert agg["school"] == {"days": {"2026-11-17": 750, "2026-11-18": 700}}  # (500 + 1000) / 2; one person
    assert agg["people"]["C0003"]["days"] == {"2026-11-17": [1, 1001], "2026-11-18": [0, 0]}


def test_card_workbook_and_daily_summary_layout(tmp_path):
    wb = write_xlsx(tmp_path / "card.xlsx", [
        ["学号", "持卡人", "消费时间", "商户", "发生额", "交易名称"],
        ["2026001", "甲", datetime(2026, 11, 17, 12, 0), "一食堂", -9.5, "POS消费"],
        ["2026001", "甲", 46344.5, "一食堂", -10, "POS消费"],  # 2026-11-18 12:00
    ])
    agg = read_campus(wb, "card")
    assert agg["people"] == {"2026001": {"days": {"2026-11-17": [1, 950], "2026-11-18": [1, 1000]}}}
    daily = write_csv(tmp_path / "daily.csv", [["学号", "日期", "就餐次数", "就餐金额"],
                                               ["2026001", "2026-11-17", "3", "35.5"],
                                               ["2026001", "2026-11-18", "0", "0"],
                                               ["2026002", "2026-11-17", "1", "-6"]])
    assert plan(daily, "card")["profile"] == "card-daily"
    agg = read_campus(daily, "card")
    assert agg["people"] == {"2026001": {"days": {"2026-11-17": [3, 3550], "2026-11-18": [0, 0]}},
                             "2026002": {"days": {"2026-11-17": [1, 600], "2026-11-18": [0, 0]}}}
    assert agg["school"] == {"days": {"2026-11-17": 892}}  # median of 1183.3 and 600


# ---------------------------------------------------------------- card numbers and the mapping file


def test_mapping_translates_card_numbers_before_nights_are_judged(tmp_path):
    card_file = write_csv(tmp_path / "passes.csv", [
        ["卡号", "姓名", "设备名称", "进出方向", "通行时间"],
        ["00880001", "甲", "1栋", "出", "2026-11-17 20:00:00"],   # old card, lost outside
        ["00880009", "甲", "1栋", "进", "2026-11-18 01:00:00"],   # the new card, same student: back at 01:00
        ["00880002", "乙", "1栋", "出", "2026-11-17 20:00:00"],
        ["77770000", "丙", "1栋", "进", "2026-11-19 06:00:00"],   # not in the mapping
    ])
    mapping = write_xlsx(tmp_path / "名单.xlsx", [
        ["学号", "姓名", "卡号"],
        ["2026001", "甲", 880001],        # stored as a number: the leading zeros are gone
        ["2026001", "甲", "00880009"],
        ["2026002", "乙", "00880002"],
        ["2026003", "丁", None],          # no card
    ])
    agg = read_campus(card_file, "dorm", mapping=mapping)
    assert agg["people"] == {
        "2026001": {"nights": {"2026-11-17": 0, "2026-11-18": 0}},
        "2026002": {"nights": {"2026-11-17": 1, "2026-11-18": 1}},
        "77770000": {"nights": {}},
    }
    assert agg["unmatched_note"] == "1 card number (1 rows) is not in the mapping file 名单.xlsx; its facts are kept under the card number"
    # without the mapping the codes are the card numbers as written
    assert set(read_campus(card_file, "dorm")["people"]) == {"00880001", "00880009", "00880002", "77770000"}


def test_a_card_mapped_to_two_students_names_the_mapping_file_row_and_column(tmp_path):
    card_file = write_csv(tmp_path / "card.csv", [["卡号", "交易时间", "交易地点", "交易金额", "交易类型"],
                                                   ["00880001", "2026-11-17 12:00", "一食堂", "-8", "消费"]])
    mapping = write_csv(tmp_path / "mapping.csv", [["学号", "人员编号"], ["2026001", "00880001"], ["2026002", "0880001"]])
    with pytest.raises(InvalidInput) as exc:
        read_campus(card_file, "card", mapping=mapping)
    (p,) = exc.value.problems
    assert (p.file, p.row, p.column, p.value) == ("mapping.csv", 3, "人员编号", "0880001")
    assert "2026001" in p.message and "2026002" in p.message and "row 2" in p.message
    assert exc.value.exit_code == 3


# ---------------------------------------------------------------- bad input


def test_every_bad_cell_is_named_by_row_and_column_in_both_readers(tmp_path):
    rows = passes(
        ("20250100001", "出", "2026-11-17 07:00:00"),
        ("20250100001", "出入", "2026-11-17 08:00:00"),    # row 3: unknown direction
        ("20250100001", "进", "17/11/2026 08:00"),         # row 4: time does not parse
        ("", "进", "2026-11-17 09:00:00"),                 # row 5: no person
        ("2.0251E+10", "进", "2026-11-17 09:00:00"),       # row 6: sits in a card-number column: refused shape
        ("20250100001", "", "2150-01-01 00:00:00"),        # row 7: no direction, date out of range
    )
    for encoding in ("utf-8", "gbk"):
        with pytest.raises(InvalidInput) as exc:
            read_campus(write_csv(tmp_path / f"bad_{encoding}.csv", rows, encoding=encoding), "dorm")
        assert exc.value.exit_code == 3
        assert "5 rows have problems" in exc.value.message
        assert problems_of(exc) == [
            (3, "进出方向", "出入"),
            (4, "通行时间", "17/11/2026 08:00"),
            (5, "人员编号", None),
            (6, "人员编号", "2.0251E+10"),
            (7, "进出方向", None),
            (7, "通行时间", "2150-01-01 00:00:00"),
        ], encoding
        assert all(p.file == f"bad_{encoding}.csv" and p.sheet is None for p in exc.value.problems)


def test_student_numbers_are_checked_and_normalised(tmp_path):
    rows = [["学号", "进出方向", "通行时间"], ["ｓ2026001", "进", "2026-11-17 07:00"], ["s2026001", "出", "2026-11-17 22:00"],
            ["2.0266E+09", "进", "2026-11-17 07:00"]]
    with pytest.raises(InvalidInput) as exc:
        read_campus(write_csv(tmp_path / "nos.csv", rows), "dorm")
    (p,) = exc.value.problems
    assert (p.row, p.column, p.value) == (4, "学号", "2.0266E+09") and "scientific notation" in p.message
    agg = read_campus(write_csv(tmp_path / "nos2.csv", rows[:3] + [["S2026001", "进", "2026-11-19 06:00"]]), "dorm")
    assert agg["people"] == {"S2026001": {"nights": {"2026-11-17": 1, "2026-11-18": 1}}}


def test_card_amounts_types_and_meal_counts_that_do_not_parse(tmp_path):
    rows = [["学号", "交易时间", "交易地点", "交易金额", "交易类型"],
            ["2026001", "2026-11-17 12:00", "一食堂", "十元", "消费"],
            ["2026001", "2026-11-17 12:00", "一食堂", "-8", ""],
            ["2026001", "yesterday", "一食堂", "-8", "消费"]]
    with pytest.raises(InvalidInput) as exc:
        read_campus(write_csv(tmp_path / "card_bad.csv", rows), "card")
    assert problems_of(exc) == [(2, "交易金额", "十元"), (3, "交易类型", None), (4, "交易时间", "yesterday")]
    daily = write_xlsx(tmp_path / "daily_bad.xlsx", [["学号", "日期", "就餐次数", "就餐金额"],
                                                     ["2026001", "2026-11-17", -1, 0],
                                                     ["2026001", "2026-11-18", 1.5, 10],
                                                     ["2026001", "2026-11-19", "两次", "x"]])
    with pytest.raises(InvalidInput) as exc:
        read_campus(daily, "card")
    assert [(p.row, p.column, p.message) for p in exc.value.problems] == [
        (2, "就餐次数", "meal count is negative"),
        (3, "就餐次数", "meal count is not a whole number"),
        (4, "就餐次数", "meal count is not a number"),
        (4, "就餐金额", "amount is not a number"),
    ]
    assert all(p.sheet == "导出" for p in exc.value.problems)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_numbers_and_times_beyond_any_real_one_are_named_not_summed(tmp_path, kind):
    """An amount or count no card moves, NaN, infinity, a time in the year 290000: each row is refused
    by row and column (no 64-bit sum or time arithmetic is tried on it, even for a row left out)."""
    write = write_csv if kind == "csv" else write_xlsx
    card = write(tmp_path / f"card_far.{kind}", [["学号", "交易时间", "交易地点", "交易金额", "交易类型"],
                                                 ["2026001", "2026-11-17 12:00", "一食堂", "-8", "消费"],
                                                 ["2026001", "2026-11-17 12:30", "一食堂", "1e22", "消费"],
                                                 ["2026001", "2026-11-17 12:40", "一食堂", "nan", "消费"],
                                                 ["2026001", "2026-11-17 12:50", "一食堂", "-inf", "消费"],
                                                 ["2026001", "2026-11-17 13:00", "一食堂", str(campus.MAX_AMOUNT), "消费"]])
    with pytest.raises(InvalidInput) as exc:
        read_campus(card, "card")
    assert [(p.row, p.column) for p in exc.value.problems] == [(3, "交易金额"), (4, "交易金额"), (5, "交易金额"), (6, "交易金额")]
    assert "too large" in exc.value.problems[0].message and "too large" in exc.value.problems[3].message
    daily = write(tmp_path / f"daily_far.{kind}", [["学号", "日期", "就餐次数", "就餐金额"],
                                                   ["2026001", "2026-11-17", "3", "30"],
                                                   ["2026001", "2026-11-18", "1e22", "30"],
                                                   ["2026001", "2026-11-19", "2", "1e22"]])
    with pytest.raises(InvalidInput) as exc:
        read_campus(daily, "card")
    assert [(p.row, p.column) for p in exc.value.problems] == [(3, "就餐次数"), (4, "就餐金额")]
    far = write(tmp_path / f"passes_far.{kind}", passes(("20250100001", "进", "2026-11-17 22:00:00"), ("20250100001", "出", "290000-01-01 00:00:00")))
    with pytest.raises(InvalidInput) as exc:
        read_campus(far, "dorm")
    assert problems_of(exc) == [(3, "通行时间", "290000-01-01 00:00:00")]


def test_problems_are_capped_and_counted(tmp_path):
    rows = passes(*[("20250100001", "?", f"2026-11-17 0{i % 10}:00:00") for i in range(120)])
    with pytest.raises(InvalidInput) as exc:
        read_campus(write_csv(tmp_path / "many.csv", rows), "dorm")
    assert len(exc.value.problems) == campus.MAX_PROBLEMS
    assert "120 rows have problems" in exc.value.message
    assert [p.row for p in exc.value.problems] == list(range(2, 52))


def test_missing_columns_empty_files_and_header_only(tmp_path):
    with pytest.raises(InvalidInput) as exc:
        read_campus(write_csv(tmp_path / "nodir.csv", [["学号", "姓名", "通行时间"], ["2026001", "甲", "2026-11-17 07:00"]]), "dorm")
    assert "missing" in exc.value.message and "进出方向" in exc.value.message
    assert [(p.row, p.message.split(":")[0]) for p in exc.value.problems] == [(1, "missing column")]
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "blank.csv").write_bytes(b"\xef\xbb\xbf\r\n\r\n")
    for name in ("empty.csv", "blank.csv"):
        with pytest.raises(InvalidInput, match="the file is empty"):
            read_campus(tmp_path / name, "card")
    with pytest.raises(InvalidInput, match="no data rows below the header"):
        read_campus(write_csv(tmp_path / "header.csv", [DORM_HEADER]), "dorm")
    with pytest.raises(InvalidInput, match="file not found"):
        read_campus(tmp_path / "nowhere.csv", "dorm")


def test_a_file_from_the_wrong_source_is_refused(tmp_path):
    card = write_csv(tmp_path / "一卡通.csv", [["学号", "交易时间", "交易地点", "交易金额", "交易类型"],
                                             ["2026001", "2026-11-17 12:00", "一食堂", "-8", "消费"]])
    with pytest.raises(InvalidInput) as exc:
        read_campus(card, "dorm")
    assert exc.value.exit_code == 3
    assert "campus card (一卡通) export" in exc.value.message and "not a dorm access (门禁) export" in exc.value.message
    assert "--source card" in exc.value.hint
    dorm = write_csv(tmp_path / "门禁.csv", passes(("2026001", "进", "2026-11-17 07:00")))
    with pytest.raises(InvalidInput, match="dorm access"):
        read_campus(dorm, "academic")
    with pytest.raises(UsageError, match="--profile card reads"):
        read_campus(dorm, "dorm", profile="card")
    with pytest.raises(UsageError, match="--source must be one of"):
        read_campus(dorm, "gym")
    assert read_campus(dorm, "dorm", profile="dorm")["rows"] == 1


# ---------------------------------------------------------------- academic results


def test_academic_results_with_year_and_semester_columns_grades_and_kinds(tmp_path):
    path = write_xlsx(tmp_path / "成绩.xlsx", [
        ["学号", "姓名", "学年", "学期", "课程名称", "学分", "成绩", "考试性质"],
        ["2026001", "甲", "2025-2026", "1", "高等数学", 5, 58, "正常考试"],
        ["2026001", "甲", "2025-2026", "第二学期", "高等数学", 5, 61, "补考"],
        ["2026001", "甲", "2025-2026学年", "2", "大学英语", 3, "良", None],
        ["2026001", "甲", "2025-2026", "2", "体育", 1, "缓考", "正常"],
        ["2026002", "乙", "2025-2026", "1", "程序设计", 4.5, "不及格", "重修"],
    ])
    agg = read_campus(path, "academic")
    assert (agg["source"], agg["rows"], agg["first_day"], agg["school"]) == ("academic", 5, None, {})
    assert agg["people"]["2026001"]["courses"] == [
        {"term": "2025-2026-1", "course": "高等数学", "credits": 5.0, "score": "58", "passed": False, "kind": "正常"},
        {"term": "2025-2026-2", "course": "高等数学", "credits": 5.0, "score": "61", "passed": True, "kind": "补考"},
        {"term": "2025-2026-2", "course": "大学英语", "credits": 3.0, "score": "良", "passed": True, "kind": "正常"},
    ]
    assert agg["people"]["2026002"]["courses"] == [
        {"term": "2025-2026-1", "course": "程序设计", "credits": 4.5, "score": "不及格", "passed": False, "kind": "重修"}]
    one = write_csv(tmp_path / "grades.csv", [["学号", "学年学期", "课程", "学分", "成绩"],
                                              ["2026003", "2025-2026学年第一学期", "线性代数", "3", "60"],
                                              ["2026003", "2025年秋季学期", "概率论", "3", "59.5"]], encoding="gbk")
    courses = read_campus(one, "academic")["people"]["2026003"]["courses"]
    assert [(c["term"], c["passed"], c["score"]) for c in courses] == [("2025-2026-1", True, "60"), ("2025-2026-1", False, "59.5")]


def test_academic_bad_rows(tmp_path):
    path = write_csv(tmp_path / "bad_grades.csv", [["学号", "学年学期", "课程名称", "学分", "成绩", "考试性质"],
                                                   ["2026001", "2025-2026-1", "高数", "5", "A+", "正常"],
                                                   ["2026001", "二〇二五", "高数", "x", "105", "期中"],
                                                   ["2026001", "2025-2026-1", "", "2", "", "正常"]])
    with pytest.raises(InvalidInput) as exc:
        read_campus(path, "academic")
    assert [(p.row, p.column) for p in exc.value.problems] == [
        (2, "成绩"), (3, "学年学期"), (3, "学分"), (3, "成绩"), (3, "考试性质"), (4, "课程名称"), (4, "成绩")]


# ---------------------------------------------------------------- data minimisation


def _files_under(folder: Path) -> list[Path]:
    return [Path(root) / name for root, _dirs, names in os.walk(folder) for name in names]


class _Watcher(threading.Thread):
    """Lists a folder over and over while a read runs: a spill file lives only as long as its query."""

    def __init__(self, folder: Path):
        super().__init__(daemon=True)
        self.folder = folder
        self.seen: set[str] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for top in self.folder.iterdir():
                for root, dirs, names in os.walk(top):
                    self.seen.update(os.path.join(root, n) for n in (*dirs, *names))


def test_no_raw_row_reaches_disk_canary(tmp_path, monkeypatch):
    canary = "CANARY-7f3a9c-金丝雀"
    sandbox = tmp_path / "sandbox"
    (sandbox / "tmp").mkdir(parents=True)
    (sandbox / "cwd").mkdir()
    (sandbox / "home").mkdir()
    monkeypatch.setenv("TMPDIR", str(sandbox / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(sandbox / "tmp"))
    monkeypatch.setenv("HOME", str(sandbox / "home"))
    monkeypatch.chdir(sandbox / "cwd")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    rows = [DORM_HEADER] + [[f"2025{i % 300:07d}", f"{canary}姓名", "文学院", f"{canary}-{i % 7}栋", "进出"[i % 2], f"2026-11-{17 + i % 5} {i % 24:02d}:{i % 60:02d}:00", "人脸"]
                            for i in range(30_000)]
    files = [
        (write_csv(inputs / "dorm.csv", rows), "dorm"),
        (write_csv(inputs / "dorm_gbk.csv", rows, encoding="gbk"), "dorm"),
        (write_xlsx(inputs / "card.xlsx", [["卡号", "姓名", "交易时间", "商户名称", "交易金额", "交易类型"]] +
                    [[f"C{i % 50:05d}", canary, f"2026-11-17 {i % 24:02d}:00:00", f"{canary}食堂", "-7.5", "消费"] for i in range(3000)]), "card"),
    ]
    watcher = _Watcher(sandbox)
    watcher.start()
    try:
        for path, source in files:
            agg = read_campus(path, source)
            assert agg["rows"] in (30_000, 3000)
            assert canary not in repr(agg)  # names, devices and merchants are not kept
        # DuckDB refuses to go past its memory limit rather than spill to a temporary file
        monkeypatch.setattr(campus, "MEMORY_LIMIT", "4MB")
        with pytest.raises(InvalidInput, match="too large to aggregate within the memory limit"):
            read_campus(files[0][0], "dorm")
    finally:
        watcher.stop.set()
        watcher.join()
    assert watcher.seen == set()
    assert _files_under(sandbox) == []


def test_the_engine_is_locked_down(tmp_path):
    target = tmp_path / "x.csv"
    target.write_text("a\n1\n", encoding="utf-8")
    with campus._Engine([str(target)]) as eng:
        settings = dict(eng.run("SELECT name, value FROM duckdb_settings() WHERE name IN "
                                "('temp_directory', 'enable_external_access', 'threads', 'lock_configuration', 'memory_limit')").fetchall())
        assert settings["temp_directory"] == ""
        assert settings["enable_external_access"] == "false"
        assert settings["lock_configuration"] == "true"
        assert settings["threads"] == "2"
        assert eng.run(f"SELECT count(*) FROM read_csv('{target}')").fetchall() == [(1,)]
        for sql in (f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'", f"SELECT * FROM read_csv('{tmp_path / 'other.csv'}')",
                    f"SET temp_directory = '{tmp_path}'", "INSTALL httpfs"):
            with pytest.raises(Exception):
                eng.run(sql).fetchall()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


# ---------------------------------------------------------------- profiles and progress


def test_user_profiles_add_layouts_and_bad_ones_are_refused(tmp_path, monkeypatch):
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "gate.toml").write_text(
        'name = "gate"\nsource = "dorm"\nlayout = "passes"\nrequired = [["card_no"], ["direction"], ["time"]]\n'
        '[fields.card_no]\naliases = ["PersonID"]\n[fields.direction]\naliases = ["Dir"]\n[fields.time]\naliases = ["When"]\n'
        '[codes]\nin = ["I"]\nout = ["O"]\n', encoding="utf-8")
    monkeypatch.setenv(campus.ENV_VAR, str(folder))
    assert "gate" in load_campus_profiles() and "dorm" in load_campus_profiles()
    path = write_csv(tmp_path / "gate.csv", [["PersonID", "Dir", "When"], ["P0001", "O", "2026-11-17 20:00"], ["P0001", "I", "2026-11-19 06:00"]])
    assert plan(path, "dorm")["profile"] == "gate"
    assert read_campus(path, "dorm")["people"] == {"P0001": {"nights": {"2026-11-17": 1, "2026-11-18": 1}}}  # 06:00 is too late
    (folder / "broken.toml").write_text('name = "broken"\nsource = "card"\nlayout = "passes"\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match="broken.toml"):
        load_campus_profiles()


def test_progress_reports_rows_read(tmp_path):
    rows = passes(*[(f"2025{i % 10:07d}", "进出"[i % 2], f"2026-11-17 {i % 24:02d}:00:00") for i in range(500)])
    seen: list[int] = []
    read_campus(write_csv(tmp_path / "p.csv", rows), "dorm", progress=seen.append)
    assert seen and seen[-1] == 500
    seen.clear()
    read_campus(write_csv(tmp_path / "p_gbk.csv", rows, encoding="gbk"), "dorm", progress=seen.append)
    assert seen and seen[-1] == 500


def test_builtin_profiles_cover_every_source():
    profiles = load_campus_profiles()
    assert {p.source for p in profiles.values()} == {"dorm", "card", "academic", "mapping"}
