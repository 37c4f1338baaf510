"""`mhtool network import-reports` and `network missing`: a term of weekly class reports, generated here.

8 colleges × 40 classes (made-up people), one 心理委员 each; 18 weeks of reports,
written as real files (one workbook per week with a combined sheet per college,
a CSV, a workbook with one sheet per class), with classes left out on purpose,
零报告 and 有情况 naming real students. `network missing` must list exactly the
classes left out; a named student has a peer-report signal and a 研判 task on
`cases show` for a counselor; a clerk imports and never sees a description.
The helpers at the top write the files; the other network tests import them.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import openpyxl
import pytest

from mhtool.domain.periods import week_period
from tests.cases.casekit import add_student

COLLEGES = ("计算机学院", "法学院", "外国语学院", "数学与统计学院", "物理科学与技术学院", "经济与管理学院", "文学院", "医学院")
CODES = ("计科", "法学", "英语", "数学", "物理", "经济", "汉语言", "临床")
CLASSES = 40
WEEKS = tuple(week_period(2025, w).label for w in range(35, 53))  # 18 weeks of an autumn term
REPORT_HEADER = ["学院", "班级", "周次", "填报人", "本期情况", "关注学生学号", "关注学生姓名", "情况描述", "是否已告知辅导员"]

# Made-up students the reports name: number → (name, college, class).
STUDENTS = {
    "2025010001": ("测甲", "计算机学院", "计科2501"),
    "2025020002": ("测乙", "法学院", "法学2502"),
    "2025070003": ("测丙", "文学院", "汉语言2503"),
    "2025080004": ("测丁", "医学院", "临床2504"),
}
DESCRIPTION = "近两周常独自哭泣，室友反映夜里睡不着"


def classes(college: str) -> list[str]:
    code = CODES[COLLEGES.index(college)]
    return [f"{code}25{n:02d}" for n in range(1, CLASSES + 1)]


def all_classes() -> list[tuple[str, str]]:
    return [(college, c) for college in COLLEGES for c in classes(college)]


def monitor(college: str, class_name: str) -> str:
    return f"委员{class_name}"


def roster_file(path: Path, units=None, *, extra_rows=()) -> Path:
    """The network roster: one 心理委员 per class (and any ``extra_rows``)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名册"
    ws.append(["学院", "班级", "宿舍", "角色", "学号", "姓名", "电话"])
    for i, (college, class_name) in enumerate(units or all_classes()):
        ws.append([college, class_name, None, "心理委员", f"{2025900000 + i}", monitor(college, class_name), f"1380000{i:04d}"])
    for row in extra_rows:
        ws.append(list(row))
    wb.save(path)
    return path


def row(college: str, class_name: str, week: str, status: str, named: str | None = None, *, told: str = "是") -> list:
    if status == "zero":
        return [college, class_name, week, monitor(college, class_name), "无异常", None, None, None, None]
    name = STUDENTS[named][0]
    return [college, class_name, week, monitor(college, class_name), "有情况", named, name, DESCRIPTION, told]


def write_xlsx(path: Path, sheets: dict[str, list[list]], header=REPORT_HEADER) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        ws.append(list(header))
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list], header=REPORT_HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def term(seed: int = 18) -> tuple[dict[str, list[list]], dict[str, set[tuple[str, str]]], list[tuple[str, str]]]:
    """18 weeks of rows: ``rows[week]``, the classes left out per week, and (week, student) of each 有情况."""
    rng = random.Random(seed)
    by_class = {s[2]: no for no, s in STUDENTS.items()}
    rows: dict[str, list[list]] = {}
    left_out: dict[str, set[tuple[str, str]]] = {}
    named: list[tuple[str, str]] = []
    for i, week in enumerate(WEEKS):
        rows[week], left_out[week] = [], set()
        for college, class_name in all_classes():
            if rng.random() < 0.02:
                left_out[week].add((college, class_name))
                continue
            no = by_class.get(class_name)
            if no is not None and i % 6 == 3:
                rows[week].append(row(college, class_name, week, "concern", no))
                named.append((week, no))
            else:
                rows[week].append(row(college, class_name, week, "zero"))
    return rows, left_out, named


def term_files(folder: Path, rows: dict[str, list[list]]) -> list[Path]:
    """One file per week, in three shapes: a workbook with a combined sheet per college, a CSV, a sheet per class."""
    files = []
    for i, week in enumerate(WEEKS):
        if i % 3 == 0:
            files.append(write_csv(folder / f"全校_{week}.csv", rows[week]))
        elif i % 3 == 1:
            sheets = {college: [r for r in rows[week] if r[0] == college] for college in COLLEGES}
            files.append(write_xlsx(folder / f"各学院_{week}.xlsx", sheets))
        else:
            sheets = {r[1]: [r] for r in rows[week]}
            files.append(write_xlsx(folder / f"各班_{week}.xlsx", sheets))
    return files


def school(env, *, counselor: str = "zhang"):
    """The named students (counselor ``counselor``), the roster through the CLI, a counselor's CLI."""
    couns = env.add_staff(counselor, "counselor")
    for no, (name, college, class_name) in STUDENTS.items():
        add_student(env.cli, no, name, college, class_name, "--counselor", counselor)
    env.cli.ok("network", "import", str(roster_file(env.tmp / "名册.xlsx")))
    return couns


def import_json(cli, *files, ok: bool = True, args=()) -> tuple[int, dict]:
    result = cli("network", "import-reports", *map(str, files), "--json", *args)
    if ok:
        assert result.exit_code == 0, result.stdout + result.stderr
    return result.exit_code, json.loads(result.stdout)


def missing_json(cli, period: str, *args) -> dict:
    return json.loads(cli.ok("network", "missing", "--period", period, "--json", *args).stdout)


def missing_set(result: dict) -> set[tuple[str, str]]:
    return {(c["college"], u["unit"]) for c in result["colleges"] for u in c["missing"]}


# -- a term of weekly reports --------------------------------------------------------------------------


def test_a_term_imports_and_missing_lists_exactly_the_classes_left_out(store_env):
    couns = school(store_env)
    clerk = store_env.add_staff("li", "clerk")
    rows, left_out, named = term()
    files = term_files(store_env.tmp, rows)
    # The clerk imports the term (the office's routine); every file goes in.
    result = clerk("network", "import-reports", *map(str, files))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert DESCRIPTION not in result.stdout + result.stderr
    for week in WEEKS:
        got = missing_json(couns, week)
        assert missing_set(got) == left_out[week], week
        assert got["expected"] == len(COLLEGES) * CLASSES
        assert got["reported"] == got["expected"] - len(left_out[week])
        # The contacts of a missing class: its 心理委员.
        for c in got["colleges"]:
            for u in c["missing"]:
                assert u["contacts"][0]["name"] == monitor(c["college"], u["unit"])
    assert sum(len(v) for v in left_out.values()) > 0 and named
    # A college filter, and the clerk may ask too.
    week = next(w for w in WEEKS if any(c == "法学院" for c, _u in left_out[w]))
    law = missing_json(clerk, week, "--college", "法学院")
    assert [c["college"] for c in law["colleges"]] == ["法学院"]
    assert missing_set(law) == {x for x in left_out[week] if x[0] == "法学院"}
    # A named student: a signal and a 研判 task on the dossier, for the counselor.
    no = named[0][1]
    dossier = json.loads(couns.ok("cases", "show", no, "--json").stdout)
    peer = [s for s in dossier["signals"] if s["rule"] == "peer_report"]
    weeks_named = sorted({w for w, n in named if n == no})
    assert {r["period"] for s in peer for r in s["facts"]["reports"]} == set(weeks_named)
    assert any(DESCRIPTION in json.dumps(s, ensure_ascii=False) for s in peer), json.dumps(peer, ensure_ascii=False)[:1500]
    assert any(t["kind"] == "signal_review" for t in dossier["tasks"])
    # The clerk: no signals, no 研判 task, no description anywhere.
    shown = clerk.ok("cases", "show", no, "--json").stdout
    assert "signals" not in json.loads(shown)
    assert DESCRIPTION not in shown
    assert all(t["kind"] != "signal_review" for t in json.loads(shown)["tasks"])
    refused = clerk("signals", "list", "--json")
    assert refused.exit_code == 5
    assert DESCRIPTION not in refused.stdout + refused.stderr


def test_a_zero_report_counts_and_a_reimport_replaces_without_double_counting(store_env):
    couns = school(store_env)
    week = WEEKS[0]
    law = classes("法学院")
    first = write_csv(store_env.tmp / "a.csv", [row("法学院", c, week, "zero") for c in law[:30]])
    _code, result = import_json(couns, first)
    assert result["imported"] == ["a.csv"] and result["zero"] == 30 and result["replaced"] == 0
    got = missing_json(couns, week, "--college", "法学院")
    assert got["reported"] == 30 and missing_set(got) == {("法学院", c) for c in law[30:]}
    # The same classes again, one now 有情况: replaced, not added.
    again = [row("法学院", c, week, "zero") for c in law[:30]]
    again[1] = row("法学院", "法学2502", week, "concern", "2025020002", told="否")
    _code, result = import_json(couns, write_csv(store_env.tmp / "b.csv", again))
    assert result["replaced"] == 30 and result["concern"] == 1 and result["named"] == 1
    assert missing_json(couns, week, "--college", "法学院")["reported"] == 30
    # The same file once more: still one signal for the student and that week.
    import_json(couns, store_env.tmp / "b.csv")
    dossier = json.loads(couns.ok("cases", "show", "2025020002", "--json").stdout)
    assert len([s for s in dossier["signals"] if s["rule"] == "peer_report"]) == 1
    assert len([t for t in dossier["tasks"] if t["kind"] == "signal_review"]) == 1


def test_period_from_the_command_line_and_a_month(store_env):
    couns = school(store_env)
    header = [h for h in REPORT_HEADER if h != "周次"]
    rows = [[r[0], r[1], *r[3:]] for r in (row("文学院", c, "", "zero") for c in classes("文学院"))]
    _code, result = import_json(couns, write_csv(store_env.tmp / "月报.csv", rows, header=header), args=("--period", "2025-11"))
    assert result["files"][0]["periods"] == ["2025-11"]
    assert missing_json(couns, "2025-11", "--college", "文学院")["missing"] == 0
    # For a month, a weekly report of a week whose Monday lies in it counts too, as in the monthly report:
    # 计算机学院 sends the week of Monday 10 November (counted for November); 医学院 sends the week of
    # Monday 1 December (not counted).
    computing = classes("计算机学院")
    import_json(couns, write_csv(store_env.tmp / "计算机学院_W46.csv", [row("计算机学院", c, "2025-W46", "zero") for c in computing]))
    medicine = classes("医学院")
    import_json(couns, write_csv(store_env.tmp / "医学院_W49.csv", [row("医学院", c, "2025-W49", "zero") for c in medicine]))
    assert missing_json(couns, "2025-11", "--college", "计算机学院")["missing"] == 0
    assert missing_json(couns, "2025-11", "--college", "医学院")["missing"] == len(medicine)
    assert missing_json(couns, "2025-W46", "--college", "计算机学院")["missing"] == 0
    # A sheet without 周次/月份 and no --period is refused with the reason.
    code, result = import_json(couns, store_env.tmp / "月报.csv", ok=False)
    assert code == 3 and "周次" in result["files"][0]["problems"][0]["message"]
    # A bad --period is a usage error naming the flag.
    bad = couns("network", "missing", "--period", "2025-13")
    assert bad.exit_code == 2 and "--period" in bad.stderr


# -- bad input: file, sheet, row, column; all-or-nothing per file ---------------------------------------


def test_bad_files_are_refused_whole_and_the_good_ones_go_in(store_env):
    couns = school(store_env)
    week = WEEKS[2]
    good = write_csv(store_env.tmp / "好.csv", [row("计算机学院", c, week, "zero") for c in classes("计算机学院")])
    bad_rows = {
        "计算机学院": [row("计算机学院", c, week, "zero") for c in classes("计算机学院")[:3]],
        "其他": [
            row("计算机学院", "计科2599", week, "zero"),  # not in the roster
            ["计算机学院", "计科2504", "第五周", "委员", "无异常", None, None, None, None],  # period does not parse
            ["计算机学院", "计科2505", week, "委员", "有情况", "2099999999", "某某", "描述", "是"],  # unknown student
            ["法学院", "计科2506", week, "委员", "无异常", None, None, None, None],  # the wrong college
        ],
    }
    bad = write_xlsx(store_env.tmp / "坏.xlsx", bad_rows)
    code, result = import_json(couns, bad, good, ok=False)
    assert code == 3
    assert result["imported"] == ["好.csv"] and result["refused"] == ["坏.xlsx"]
    problems = result["files"][0]["problems"]
    where = {(p["sheet"], p["row"], p["column"]) for p in problems}
    assert where == {("其他", 2, "班级"), ("其他", 3, "周次"), ("其他", 4, "关注学生学号"), ("其他", 5, "学院")}
    assert all(p["file"] == "坏.xlsx" for p in problems)
    # Nothing of the bad file went in, not even its good sheet; the good file did.
    got = missing_json(couns, week, "--college", "计算机学院")
    assert got["missing"] == 0
    # The terminal summary says which file went in, and lists the problems with their place.
    text = couns("network", "import-reports", str(bad), str(good))
    assert text.exit_code == 3
    assert "好.csv: imported" in text.stderr and "坏.xlsx: refused" in text.stderr
    assert "坏.xlsx, sheet 其他, row 5, column 学院" in text.stderr
    assert "wrong college" in text.stderr


def test_row_checks(store_env):
    couns = school(store_env)
    week = WEEKS[0]
    rows = [
        ["医学院", "临床2501", week, "委员", "还行", None, None, None, None],  # status not a word
        ["医学院", "临床2502", week, "委员", "有情况", None, "某某", "描述", "是"],  # 有情况 without a number
        ["医学院", "临床2503", week, "委员", "无异常", "2025080004", "测丁", None, None],  # 无异常 naming a student
        ["医学院", "临床2504", week, "委员", "有情况", "2025080004", "别人", "描述", "是"],  # the name does not match
        ["医学院", "临床2505", week, "委员", "有情况", "2025080004", "测丁", "描述", "也许"],  # told: not 是/否
    ]
    code, result = import_json(couns, write_csv(store_env.tmp / "x.csv", rows), ok=False)
    assert code == 3
    got = [(p["row"], p["column"]) for p in result["files"][0]["problems"]]
    assert got == [(2, "本期情况"), (3, "关注学生学号"), (4, "本期情况"), (6, "是否已告知辅导员"), (5, "关注学生姓名")]
    assert result["reports"] == 0


def test_an_unreadable_file_is_refused_and_named(store_env):
    couns = school(store_env)
    empty = store_env.tmp / "空.xlsx"
    empty.write_bytes(b"")
    code, result = import_json(couns, empty, ok=False)
    assert code == 3 and result["refused"] == ["空.xlsx"] and "空.xlsx" in result["files"][0]["problems"][0]["message"]


def test_the_sample_shape_reads(store_env):
    """The columns of the shared sample (月份, 心理委员, 本月情况) with its classes in the roster."""
    couns = store_env.add_staff("zhang", "counselor")
    add_student(store_env.cli, "2025040003", "何芳", "医学院", "医学2501", "--counselor", "zhang")
    units = [("医学院", f"医学25{n:02d}") for n in range(1, 7)]
    couns.ok("network", "import", str(roster_file(store_env.tmp / "r.xlsx", units)))
    header = ["学院", "班级", "月份", "心理委员", "本月情况", "关注学生学号", "关注学生姓名", "情况描述", "是否已告知辅导员"]
    rows = [["医学院", "医学2501", "2026-11", "郭军", "有情况", "2025040003", "何芳", DESCRIPTION, "是"]]
    rows += [["医学院", f"医学25{n:02d}", "2026-11", "某", "无异常", None, None, None, None] for n in range(2, 6)]
    _code, result = import_json(couns, write_xlsx(store_env.tmp / "s.xlsx", {"Sheet1": rows}, header=header))
    assert (result["zero"], result["concern"], result["named"]) == (4, 1, 1)
    got = missing_json(couns, "2026-11")
    assert missing_set(got) == {("医学院", "医学2506")}


@pytest.mark.parametrize("role", ["admin", "counselor", "clerk"])
def test_every_network_role_may_import(store_env, role):
    school(store_env)
    cli = store_env.cli if role == "admin" else store_env.add_staff(f"x{role}", role)
    week = WEEKS[1]
    rows = [row("文学院", "汉语言2503", week, "concern", "2025070003")]
    _code, result = import_json(cli, write_csv(store_env.tmp / "r.csv", rows))
    assert result["signals"] == 1
    assert DESCRIPTION not in json.dumps(result, ensure_ascii=False)
    auditor = store_env.add_staff("aud", "auditor")
    assert auditor("network", "import-reports", str(store_env.tmp / "r.csv")).exit_code == 5
