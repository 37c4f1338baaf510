"""`mhtool survey import` end to end: real exports written by the tests, a real store, then the database."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta

import pytest

from tests.survey.export_factory import (
    FREQ4,
    SCL5,
    YES_NO,
    labels,
    make_answers,
    make_students,
    write_csv,
    write_encrypted_xlsx,
    write_gbk_csv,
    write_generic_xlsx,
    write_tencent_csv,
    write_wjx_xlsx,
    write_xlsx,
    wjx_rows,
)


def snapshot(path) -> dict:
    """Every row of every table: what 'the store exactly as it was' means."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    finally:
        conn.close()


def counts(path) -> dict:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("batches", "responses", "students", "tasks")}
    finally:
        conn.close()


def upi_all_no(n):
    return [[0] * 60 for _ in range(n)]


@pytest.fixture
def students():
    return make_students(12, seed=7)


def test_wjx_text_mode_import_creates_dossiers_responses_and_tasks(store_env, students, tmp_path):
    answers = upi_all_no(len(students))
    answers[0][24] = 1  # item 25 yes: critical → red
    plain_items = [i for i in range(1, 61) if i not in (5, 20, 35, 50, 25, 8, 16, 26)]
    for item in plain_items[:25]:  # total exactly 25 → class A → orange
        answers[1][item - 1] = 1
    answers[2][7] = 1  # item 8 yes → class B → yellow
    path = write_wjx_xlsx(tmp_path / "upi.xlsx", students, labels(answers, YES_NO))
    result = store_env.cli.ok("survey", "import", path, "--instrument", "upi", "--batch", "2026秋季普查", "--json")
    summary = json.loads(result.stdout)
    assert summary["rows"] == 12 and summary["imported"] == 12 and summary["rejected"] == 0
    assert summary["students_created"] == 12
    assert summary["proposed"] == {"red": 1, "orange": 1, "yellow": 1}
    assert set(summary) >= {"batch", "rows", "imported", "superseded", "rejected", "students_created", "students_updated", "proposed"}
    assert counts(store_env.path) == {"batches": 1, "responses": 12, "students": 12, "tasks": 3}
    with store_env.open() as store:
        red = store.students.find(students[0]["student_no"])
        assert red["name"] == students[0]["name"]
        tasks = store.tasks.for_student(red["id"])
        assert len(tasks) == 1 and tasks[0]["kind"] == "interview" and tasks[0]["proposed_level"] == "red"
        imported_on = date.fromisoformat(store.batches.all()[0]["imported_on"])
        assert date.fromisoformat(tasks[0]["due_on"]) == imported_on + timedelta(days=1)
        orange = store.students.find(students[1]["student_no"])
        due = store.tasks.for_student(orange["id"])[0]["due_on"]
        assert date.fromisoformat(due) == imported_on + timedelta(days=7)
        response = store.responses.for_student(red["id"])[0]
        assert response["flags"] == ["item25"] and response["band"] == "A" and response["answers"]["25"] == 1


def test_same_file_twice_adds_nothing_and_names_the_batch(store_env, students, tmp_path):
    path = write_wjx_xlsx(tmp_path / "upi.xlsx", students, labels(upi_all_no(len(students)), YES_NO))
    first = json.loads(store_env.cli.ok("survey", "import", path, "-i", "upi", "--json").stdout)
    before = counts(store_env.path)
    again = store_env.cli.ok("survey", "import", path, "-i", "upi", "--json")
    assert json.loads(again.stdout)["already_imported"] == first["batch"]
    assert first["batch"] in again.stderr
    assert counts(store_env.path) == before


def test_wjx_position_mode_scl90_matrix_with_duplicated_row_labels(store_env, tmp_path):
    students = make_students(6, seed=3)
    answers = make_answers(6, 90, (1, 2), seed=3)
    answers[0] = [3] * 90  # mean 3.0: every factor ≥ 3 → orange; item 15 ≥ 2 → red
    rows = wjx_rows(students, answers, matrix_stem="以下列出了有些人可能会有的问题", row_labels=["症状描述"] * 90, duplicate_row_labels=True, total=True)
    path = write_xlsx(tmp_path / "scl90.xlsx", rows)
    dry = store_env.cli.ok("survey", "import", path, "-i", "scl90", "--dry-run")
    assert "第1题" in dry.stdout and "第90题" in dry.stdout and "position" in dry.stderr
    assert counts(store_env.path)["responses"] == 0  # dry run wrote nothing
    summary = json.loads(store_env.cli.ok("survey", "import", path, "-i", "scl90", "--json").stdout)
    assert summary["imported"] == 6
    with store_env.open() as store:
        top = store.students.find(students[0]["student_no"])
        response = store.responses.for_student(top["id"])[0]
        assert response["scores"]["total"] == 270 and response["proposed_level"] == "red"


def test_title_rows_tencent_csv_and_gbk_csv(store_env, tmp_path):
    students = make_students(5, seed=11)
    phq = make_answers(5, 9, (0, 1), seed=2)
    for row in phq:
        row[8] = 0
    write_tencent_csv(tmp_path / "phq9.csv", students, labels(phq, FREQ4))
    assert json.loads(store_env.cli.ok("survey", "import", tmp_path / "phq9.csv", "-i", "phq9", "--json").stdout)["imported"] == 5
    gad = make_answers(5, 7, (0, 1, 2), seed=4)
    write_gbk_csv(tmp_path / "gad7.csv", students, gad)
    assert json.loads(store_env.cli.ok("survey", "import", tmp_path / "gad7.csv", "-i", "gad7", "--profile", "generic", "--json").stdout)["imported"] == 5
    write_generic_xlsx(tmp_path / "gad7b.xlsx", students, gad, title_rows=["2026级新生心理健康普查", "导出时间：2026-09-20"])
    summary = json.loads(store_env.cli.ok("survey", "import", tmp_path / "gad7b.xlsx", "-i", "gad7", "--json").stdout)
    assert summary["imported"] == 5 and summary["students_created"] == 0


def test_duplicate_submissions_keep_the_latest(store_env, tmp_path):
    students = make_students(3, seed=5)
    twice = students + [students[1]]
    answers = upi_all_no(4)
    answers[3][24] = 1  # the later submission flags item 25
    path = write_wjx_xlsx(tmp_path / "upi.xlsx", twice, labels(answers, YES_NO))
    result = store_env.cli.ok("survey", "import", path, "-i", "upi", "--json")
    summary = json.loads(result.stdout)
    assert summary["superseded"] == 1 and summary["imported"] == 3
    assert "row 3" in result.stderr and "row 5" in result.stderr
    with store_env.open() as store:
        sid = store.students.find(students[1]["student_no"])["id"]
        (response,) = store.responses.for_student(sid)
        assert response["flags"] == ["item25"] and response["row"] == 5


BAD_CASES = ["no_student_no", "unknown_instrument", "column_count", "out_of_options", "wrong_mode", "empty", "header_only",
             "password", "corrupt", "encoding", "two_names", "formula"]


def _bad_file(case, tmp_path):
    students = make_students(4, seed=9)
    ok = labels(upi_all_no(4), YES_NO)
    if case == "no_student_no":
        return write_wjx_xlsx(tmp_path / "x.xlsx", students, ok, roster_fields=("name", "gender", "college")), "upi", "学号"
    if case == "unknown_instrument":
        return write_wjx_xlsx(tmp_path / "x.xlsx", students, ok), "bdi2", "bdi2"
    if case == "column_count":
        return write_wjx_xlsx(tmp_path / "x.xlsx", students, [r[:58] for r in ok]), "upi", "58"
    if case == "out_of_options":
        bad = [list(r) for r in ok]
        bad[2][10] = "有时"
        return write_wjx_xlsx(tmp_path / "x.xlsx", students, bad), "upi", "row 4"
    if case == "wrong_mode":
        bad = [[0] * 60 for _ in range(4)]
        bad[1][3] = 3  # 3 is no value of a yes/no item in any mode
        return write_generic_xlsx(tmp_path / "x.xlsx", students, bad), "upi", "row 3"
    if case == "empty":
        (tmp_path / "x.csv").write_bytes(b"")
        return tmp_path / "x.csv", "upi", "x.csv"
    if case == "header_only":
        rows = wjx_rows(students, ok)[:1]
        return write_xlsx(tmp_path / "x.xlsx", rows), "upi", "x.xlsx"
    if case == "password":
        return write_encrypted_xlsx(tmp_path / "x.xlsx"), "upi", "password"
    if case == "corrupt":
        path = tmp_path / "x.xlsx"
        path.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
        return path, "upi", "x.xlsx"
    if case == "encoding":
        path = tmp_path / "x.csv"
        path.write_bytes(bytes(range(128, 256)) * 20)
        return path, "upi", "x.csv"
    if case == "two_names":
        twins = students + [dict(students[0], name="另一个名字")]
        return write_wjx_xlsx(tmp_path / "x.xlsx", twins, labels(upi_all_no(5), YES_NO)), "upi", "另一个名字"
    if case == "formula":
        rows = wjx_rows(students, ok)
        rows[2][12] = "=1+1"
        return write_xlsx(tmp_path / "x.xlsx", rows), "upi", "row 3"
    raise AssertionError(case)


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_refused_clearly_and_changes_nothing(store_env, tmp_path, case):
    store_env.cli.ok("survey", "batches")  # the store has an audit entry or two already
    path, instrument, expected = _bad_file(case, tmp_path)
    before = snapshot(store_env.path)
    result = store_env.cli("survey", "import", path, "-i", instrument)
    assert result.exit_code == (2 if case == "unknown_instrument" else 3), (case, result.exit_code, result.stderr)
    assert expected in result.stderr, (case, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    if case not in ("unknown_instrument",):
        assert "x." in result.stderr  # the file is named
    assert snapshot(store_env.path) == before


def test_row_problems_name_file_sheet_row_and_column(store_env, tmp_path):
    students = make_students(4, seed=9)
    bad = labels(upi_all_no(4), YES_NO)
    bad[2][10] = "有时"
    path = write_wjx_xlsx(tmp_path / "upi.xlsx", students, bad)
    result = store_env.cli("survey", "import", path, "-i", "upi")
    assert result.exit_code == 3
    line = next(line for line in result.stderr.splitlines() if "有时" in line)
    assert "upi.xlsx" in line and "sheet" in line and "row 4" in line and "column" in line and "第11题" in line


def test_skip_invalid_imports_valid_rows_and_writes_rejects(store_env, tmp_path):
    import openpyxl

    students = make_students(5, seed=12)
    bad = labels(upi_all_no(5), YES_NO)
    bad[1][5] = "(跳过)"
    path = write_wjx_xlsx(tmp_path / "upi.xlsx", students, bad)
    rejects = tmp_path / "rejects.xlsx"
    summary = json.loads(store_env.cli.ok("survey", "import", path, "-i", "upi", "--skip-invalid", "--rejects", rejects, "--json").stdout)
    assert summary["imported"] == 4 and summary["rejected"] == 1 and summary["rejects_file"] == str(rejects)
    ws = openpyxl.load_workbook(rejects).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][0] == 3 and rows[1][1] == students[1]["student_no"] and "第6题" in rows[1][5]
    assert counts(store_env.path)["responses"] == 4
    with store_env.open() as store:
        assert store.students.find(students[1]["student_no"]) is None


def test_a_different_name_for_a_stored_student_is_a_conflict_not_an_overwrite(store_env, tmp_path):
    students = make_students(3, seed=13)
    write_wjx_xlsx(tmp_path / "a.xlsx", students, labels(upi_all_no(3), YES_NO))
    store_env.cli.ok("survey", "import", tmp_path / "a.xlsx", "-i", "upi")
    renamed = [dict(students[0], name="改名字")] + students[1:]
    write_generic_xlsx(tmp_path / "b.xlsx", renamed, make_answers(3, 7, (0,), seed=1))
    before = snapshot(store_env.path)
    result = store_env.cli("survey", "import", tmp_path / "b.xlsx", "-i", "gad7")
    assert result.exit_code == 3 and "改名字" in result.stderr and students[0]["name"] in result.stderr
    assert snapshot(store_env.path) == before


def test_scientific_notation_student_number_is_rejected_not_guessed(store_env, tmp_path):
    students = make_students(3, seed=14)
    rows = wjx_rows(students, labels(upi_all_no(3), YES_NO))
    rows[1][6] = "2.0266E+09"
    path = write_xlsx(tmp_path / "upi.xlsx", rows)
    result = store_env.cli("survey", "import", path, "-i", "upi")
    assert result.exit_code == 3 and "scientific" in result.stderr


def test_batches_batch_void_and_rescore(store_env, students, tmp_path):
    answers = upi_all_no(len(students))
    answers[0][24] = 1
    path = write_wjx_xlsx(tmp_path / "upi.xlsx", students, labels(answers, YES_NO))
    batch = json.loads(store_env.cli.ok("survey", "import", path, "-i", "upi", "--json").stdout)["batch"]
    listed = json.loads(store_env.cli.ok("survey", "batches", "--json").stdout)
    assert [b["id"] for b in listed] == [batch]
    assert {"id", "instrument", "file", "imported_at", "rows", "imported"} <= set(listed[0])
    detail = json.loads(store_env.cli.ok("survey", "batch", batch[:6], "--json").stdout)
    assert detail["proposed_levels"]["red"] == 1 and detail["imported_by"] == "admin"
    rescored = json.loads(store_env.cli.ok("survey", "rescore", batch, "--json").stdout)
    assert rescored["rescored"] == 12 and rescored["changed"] == 0
    assert store_env.cli("survey", "void", batch).exit_code == 2  # a reason is required
    store_env.cli.ok("survey", "void", batch, "--reason", "导错了文件")
    with store_env.open() as store:
        (task,) = store.tasks.all()
        assert task["done_on"] is not None and task["cancelled"] is True
    # A void batch no longer blocks a corrected re-import of the same file.
    again = json.loads(store_env.cli.ok("survey", "import", path, "-i", "upi", "--json").stdout)
    assert again["imported"] == 12 and again["batch"] != batch


def test_clerk_may_import_auditor_may_not(store_env, students, tmp_path):
    path = write_wjx_xlsx(tmp_path / "upi.xlsx", students, labels(upi_all_no(len(students)), YES_NO))
    auditor = store_env.add_staff("shen", "auditor")
    before = counts(store_env.path)
    assert auditor("survey", "import", path, "-i", "upi").exit_code == 5
    assert counts(store_env.path) == before
    clerk = store_env.add_staff("li", "clerk")
    clerk.ok("survey", "import", path, "-i", "upi")


def test_score_without_store_prints_json_and_exit_3_on_problems(cli, tmp_path):
    students = make_students(4, seed=21)
    answers = make_answers(4, 7, (0, 1, 2, 3), seed=21)
    answers[0] = [3, 3, 3, 3, 3, 0, 0]  # total 15 → severe
    write_generic_xlsx(tmp_path / "gad7.xlsx", students, answers)
    records = json.loads(cli.ok("survey", "score", tmp_path / "gad7.xlsx", "--instrument", "gad7", "--json").stdout)
    assert records[0] == {
        "row": 2, "student_no": students[0]["student_no"], "instrument": "gad7", "version": records[0]["version"],
        "scores": {"total": 15}, "band": "severe", "flags": [], "proposed_level": "orange",
    }
    answers[2][1] = 7
    write_generic_xlsx(tmp_path / "bad.xlsx", students, answers)
    result = cli("survey", "score", tmp_path / "bad.xlsx", "--instrument", "gad7", "--json")
    assert result.exit_code == 3
    assert len(json.loads(result.stdout)) == 3
    assert "row 4" in result.stderr


def test_score_writes_a_workbook(cli, tmp_path):
    import openpyxl

    students = make_students(3, seed=2)
    write_generic_xlsx(tmp_path / "scl.xlsx", students, labels(make_answers(3, 90, (1, 2), seed=2), SCL5))
    cli.ok("survey", "score", tmp_path / "scl.xlsx", "-i", "scl90", "--out", tmp_path / "scores.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "scores.xlsx").active
    header = [c.value for c in ws[1]]
    assert "total" in header and "positive_items" in header and ws.max_row == 4


def test_instruments_listing(cli):
    rows = json.loads(cli.ok("survey", "instruments", "--json").stdout)
    assert {r["code"] for r in rows} >= {"upi", "scl90", "phq9", "gad7", "sds", "sas", "k10", "psqi"}
    # The table names each band as the instrument does (JSON keeps the codes beside the names).
    table = {line.split("\t")[0]: line.split("\t") for line in cli.ok("survey", "instruments").stdout.splitlines()}
    assert table["upi"][-1] == "A类、B类、C类" and table["scl90"][-1] == "阳性、阴性" and table["代码"][-1] == "分级"
    upi = next(r for r in rows if r["code"] == "upi")
    assert upi["bands"] == ["A", "B", "C"] and upi["band_names"] == ["A类", "B类", "C类"]
    detail = json.loads(cli.ok("survey", "instrument", "sds", "--json").stdout)
    assert detail["code"] == "sds"
    assert cli("survey", "instrument", "nope").exit_code == 1


def test_one_instruments_definition_piped_has_chinese_headers_whatever_the_readers_language(cli):
    for lang in ("zh", "en"):
        assert cli.ok("survey", "instrument", "upi", env={"MHTOOL_LANG": lang}).stdout.splitlines()[0] == "项目\t值"
