"""Issue 15 item 8: a 学号 twice in one roster file is reported as survey import reports a student's second submission.

Identical rows (empty cells aside) are one student: the later row is kept, the
earlier one reported as superseded. Rows that disagree — another name, another
dorm — are all rejected: the later row never silently wins. A dry run says
exactly what the real run does.
"""

from __future__ import annotations

import json

from tests.survey.export_factory import make_students, write_roster_xlsx


def _import(env, path, *flags):
    return env.cli("cases", "import-roster", path, *flags, "--json")


def _same(result: dict) -> dict:
    return {k: result[k] for k in ("rows", "valid", "rejected", "superseded", "superseded_rows", "students_created")}


def test_a_repeated_row_is_one_student_reported_as_superseded_and_dry_run_agrees(store_env, tmp_path):
    students = make_students(4, seed=41)
    again = dict(students[1], dorm=None)  # the same student, a cell left empty
    path = write_roster_xlsx(tmp_path / "roster.xlsx", students[:3] + [again] + students[3:])
    dry = _import(store_env, path, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    real = _import(store_env, path)
    assert real.exit_code == 0, real.stderr
    dry_result, real_result = json.loads(dry.stdout), json.loads(real.stdout)
    assert _same(dry_result) == _same(real_result)
    assert (real_result["rows"], real_result["valid"], real_result["superseded"], real_result["students_created"]) == (5, 4, 1, 4)
    assert real_result["superseded_rows"] == [{"row": 3, "student_no": students[1]["student_no"], "kept_row": 5}]
    assert real_result["students_updated"] == 0
    # Said on stderr like a survey's earlier submission: which row, whose, which row is kept.
    for result in (dry, real):
        assert "row 3" in result.stderr and "row 5" in result.stderr and students[1]["student_no"] in result.stderr
    with store_env.open() as store:
        assert store.students.find(students[1]["student_no"])["dorm"] == students[1]["dorm"]  # the empty cell took nothing away


def test_rows_that_disagree_are_all_rejected_never_last_one_wins(store_env, tmp_path):
    students = make_students(3, seed=42)
    moved = dict(students[0], dorm="9栋999")
    path = write_roster_xlsx(tmp_path / "roster.xlsx", students + [moved])
    for flags in (("--dry-run",), ()):
        result = _import(store_env, path, *flags)
        assert result.exit_code == 3
        assert "row 2" in result.stderr and "row 5" in result.stderr and "宿舍" in result.stderr
    with store_env.open() as store:
        assert store.students.count() == 0
    dry = _import(store_env, path, "--skip-invalid", "--dry-run")
    real = _import(store_env, path, "--skip-invalid")
    assert dry.exit_code == real.exit_code == 0
    assert _same(json.loads(dry.stdout)) == _same(json.loads(real.stdout))
    assert (json.loads(real.stdout)["valid"], json.loads(real.stdout)["rejected"]) == (2, 2)
    with store_env.open() as store:
        assert store.students.find(students[0]["student_no"]) is None


def test_two_names_for_one_number_reject_both_rows_as_in_survey_import(store_env, tmp_path):
    students = make_students(3, seed=43)
    path = write_roster_xlsx(tmp_path / "roster.xlsx", students + [dict(students[2], name="另一个名字")])
    result = _import(store_env, path, "--skip-invalid")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["valid"], summary["rejected"], summary["students_created"]) == (2, 2, 2)
    assert "appears with different names" in result.stderr and "另一个名字" in result.stderr
    with store_env.open() as store:
        assert store.students.find(students[2]["student_no"]) is None
