"""Issue 15 item 6: a college-scoped user learns nothing about other colleges' students, and every refusal is audited.

A clerk limited to 法学院 who meets a 计算机学院 student's number — in a
screening export, in a roster, or typed at `cases show` — gets the same words
as for a number that does not exist at all: no college, no stored name. Each
refused attempt leaves a ``denied`` audit entry naming the records, even on a
dry run (the one write a dry run makes).
"""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from tests.cases.casekit import audit
from tests.survey.export_factory import make_answers, make_students, write_generic_xlsx, write_roster_xlsx

OTHER_NO, OTHER_NAME, OTHER_COLLEGE = "2026601001", "黄娴瑗", "计算机学院"
MINE_NO, MINE_NAME = "2026601002", "张律"
MISSING_NO = "2026609999"
SCOPE_WORDS = "student number not found in your colleges"


def _counts(path) -> dict:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("batches", "responses", "students", "tasks", "entries")}
    finally:
        conn.close()


def _student(no: str, name: str, college: str, *, seed: int) -> dict:
    return dict(make_students(1, seed=seed)[0], student_no=no, name=name, college=college)


@pytest.fixture
def school(store_env, tmp_path):
    """The admin has imported a roster with one 计算机学院 and one 法学院 student; a clerk is limited to 法学院."""
    write_roster_xlsx(tmp_path / "roster.xlsx", [_student(OTHER_NO, OTHER_NAME, OTHER_COLLEGE, seed=1), _student(MINE_NO, MINE_NAME, "法学院", seed=2)])
    store_env.cli.ok("cases", "import-roster", tmp_path / "roster.xlsx")
    store_env.clerk = store_env.add_staff("liqing", "clerk", "法学院")
    with store_env.open() as store:
        store_env.other_id = store.students.find(OTHER_NO)["id"]
    return store_env


def _leaks(text: str) -> list[str]:
    return [w for w in (OTHER_COLLEGE, OTHER_NAME, "stored as") if w in text]


def _scope_lines(stderr: str) -> list[str]:
    """The problem lines about scope, with their row numbers blanked so two rows can be compared."""
    return [re.sub(r"row \d+", "row N", line.strip()) for line in stderr.splitlines() if "not found in your colleges" in line]


def _denials(env, attempted: str) -> list[dict]:
    return [e for e in audit(env) if e["action"] == "denied" and e["staff"] == "liqing" and e["details"].get("attempted") == attempted]


def _export(tmp_path, name="upi.xlsx"):
    """No college column: the store decides whose student a number is."""
    rows = [_student(OTHER_NO, "冒名顶替", "", seed=3), _student(MISSING_NO, "查无此人", "", seed=4), _student(MINE_NO, MINE_NAME, "", seed=5)]
    return write_generic_xlsx(tmp_path / name, rows, make_answers(3, 7, (0,), seed=1), roster_fields=("student_no", "name"))


def test_survey_dry_run_says_nothing_about_another_colleges_student_and_is_audited(school, tmp_path):
    path = _export(tmp_path)
    before = _counts(school.path)
    result = school.clerk("survey", "import", path, "-i", "gad7", "--dry-run")
    assert result.exit_code == 3
    assert _leaks(result.stderr) == [], result.stderr
    # The 计算机学院 student's row and the row of a number nobody has read the same.
    lines = _scope_lines(result.stderr)
    assert len(lines) == 2 and lines[0] == lines[1] and SCOPE_WORDS in lines[0], result.stderr
    assert _counts(school.path) == before  # a dry run writes nothing but its audit entry
    (denied,) = _denials(school, "survey.import")
    assert denied["targets"] == [f"students/{school.other_id}"]
    assert denied["details"]["reason"] == "scope:college" and denied["details"]["dry_run"] is True and denied["details"]["rows"] == 2


def test_survey_import_with_skip_invalid_imports_the_clerks_row_only_and_audits_the_refusal(school, tmp_path):
    path = _export(tmp_path)
    result = school.clerk("survey", "import", path, "-i", "gad7", "--skip-invalid", "--rejects", tmp_path / "rejects.xlsx", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["imported"], summary["rejected"]) == (1, 2)
    assert _leaks(result.stderr) == []
    import openpyxl

    cells = " ".join(str(c) for row in openpyxl.load_workbook(tmp_path / "rejects.xlsx").active.iter_rows(values_only=True) for c in row if c)
    assert _leaks(cells) == [] and cells.count(SCOPE_WORDS) == 2
    (denied,) = _denials(school, "survey.import")
    assert denied["targets"] == [f"students/{school.other_id}"] and denied["details"]["dry_run"] is False
    with school.open() as store:
        assert store.students.find(OTHER_NO)["name"] == OTHER_NAME
        assert store.students.find(MISSING_NO) is None


@pytest.mark.parametrize("dry_run", [True, False])
def test_roster_import_refuses_other_colleges_numbers_in_one_neutral_message(school, tmp_path, dry_run):
    rows = [_student(OTHER_NO, "冒名顶替", "法学院", seed=6), _student(MISSING_NO, "新来的", OTHER_COLLEGE, seed=7)]
    path = write_roster_xlsx(tmp_path / "roster2.xlsx", rows)
    before = _counts(school.path)
    result = school.clerk("cases", "import-roster", path, *(["--dry-run"] if dry_run else []))
    assert result.exit_code == 3
    assert _leaks(result.stderr) == [], result.stderr
    lines = _scope_lines(result.stderr)
    assert len(lines) == 2 and lines[0] == lines[1], result.stderr
    assert _counts(school.path) == before
    (denied,) = _denials(school, "cases.import-roster")
    assert denied["targets"] == [f"students/{school.other_id}"] and denied["details"]["dry_run"] is dry_run


def test_scope_denials_name_no_other_college_and_read_like_a_missing_number(school):
    other = school.clerk("cases", "show", OTHER_NO)
    missing = school.clerk("cases", "show", MISSING_NO)
    assert other.exit_code == missing.exit_code == 5
    assert other.stdout == missing.stdout == ""
    assert other.stderr.replace(OTHER_NO, "N") == missing.stderr.replace(MISSING_NO, "N")
    assert _leaks(other.stderr) == [] and "limited to 法学院" in other.stderr
    edit = school.clerk("cases", "edit", OTHER_NO, "--dorm", "1-101")
    assert edit.exit_code == 5 and _leaks(edit.stderr) == []
    assert [e["targets"] for e in _denials(school, "cases.show")] == [[f"students/{school.other_id}"], []]
    # An unscoped user still hears that the number does not exist.
    assert school.cli("cases", "show", MISSING_NO).exit_code == 1
    # The store's own check names no other college either.
    from mhtool.errors import PermissionDenied

    with school.open("liqing", school.tmp / "liqing.key") as store, pytest.raises(PermissionDenied) as denied:
        store.require_college(OTHER_COLLEGE, action="test.scope", targets=[f"students/{school.other_id}"])
    assert OTHER_COLLEGE not in denied.value.message and OTHER_COLLEGE not in (denied.value.hint or "")


def test_adding_a_number_another_college_holds_reveals_nothing_about_it(store_env):
    from tests.cases.casekit import add_student

    add_student(store_env.cli, "2026990001", "黄娴瑗", "计算机学院", "计科2601")
    clerk = store_env.add_staff("liqing", "clerk", "法学院")
    result = clerk("cases", "add", "2026990001", "--name", "别人", "--college", "法学院")
    assert result.exit_code == 5
    assert "计算机学院" not in result.stderr and "黄娴瑗" not in result.stderr and "already" not in result.stderr
