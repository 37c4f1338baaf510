"""Issue 15 item 7: 参与率 against the batch's expected cohort, with grades in one form.

The cohort is explicit (`survey import --cohort 2026级`), defaults to the
grades of the export (or, without a 年级 column, the matched students'
dossiers), is stored on the batch and shown by `survey batch` and the census
report. `2026`, `2026级` and `２０２６` are one grade.
"""

from __future__ import annotations

import json

import openpyxl
import pytest

from tests.survey.export_factory import make_answers, make_students, write_generic_xlsx, write_roster_xlsx

ROSTER_FIELDS = ("student_no", "name", "gender", "college", "major", "grade", "class_name")


def _people(n: int, college: str, grade: str, *, first_no: int, seed: int) -> list[dict]:
    return [dict(s, college=college, grade=grade) for s in make_students(n, seed=seed, first_no=first_no)]


def _colleges(env, batch: str) -> dict[str, dict]:
    data = json.loads(env.cli.ok("report", "census", batch, "--json").stdout)
    return {r["college"]: r for r in data["sheets"]["colleges"]}


def _export(path, students, *, grade_column: bool):
    fields = ("student_no", "name", "college", "grade") if grade_column else ("student_no", "name", "college")
    return write_generic_xlsx(path, students, make_answers(len(students), 7, (0,), seed=2), roster_fields=fields)


@pytest.mark.parametrize(
    ("written", "normal"),
    [("2026", "2026级"), ("2026级", "2026级"), (" 2026 级 ", "2026级"), ("２０２６", "2026级"), ("2026.0", "2026级"), ("2026年级", "2026级"),
     ("研一", "研一"), ("", None), (None, None)],
)
def test_grades_have_one_normal_form(written, normal):
    from mhtool.domain.vocabulary import normalise_grade

    assert normalise_grade(written) == normal


def test_grades_written_differently_are_one_cohort(store_env, tmp_path):
    on_roster = _people(2, "文学院", "2026级", first_no=2026100001, seed=1)  # B, C
    senior = _people(1, "文学院", "2022级", first_no=2022100001, seed=2)
    law = _people(1, "法学院", "2026", first_no=2026200001, seed=3)  # the roster writes the bare year
    write_roster_xlsx(tmp_path / "roster.xlsx", on_roster + senior + law, fields=ROSTER_FIELDS)
    store_env.cli.ok("cases", "import-roster", tmp_path / "roster.xlsx")
    # The export writes "2026" too: two freshmen missing from the roster and the law student take part.
    newcomers = _people(2, "文学院", "2026", first_no=2026100101, seed=4)
    path = _export(tmp_path / "gad7.xlsx", newcomers + law, grade_column=True)
    summary = json.loads(store_env.cli.ok("survey", "import", path, "-i", "gad7", "--batch", "B1", "--json").stdout)

    rows = _colleges(store_env, "B1")
    # 文学院 expects its two roster freshmen and the two who took part: 2 of 4, not 2 of 2.
    assert (rows["文学院"]["roster"], rows["文学院"]["respondents"]) == (4, 2)
    assert rows["文学院"]["participation"] == pytest.approx(0.5)
    assert (rows["法学院"]["roster"], rows["法学院"]["respondents"]) == (1, 1)
    assert summary["cohort"] == ["2026级"]
    with store_env.open() as store:
        assert store.students.find(newcomers[0]["student_no"])["grade"] == "2026级"
        assert store.students.find(law[0]["student_no"])["grade"] == "2026级"
    data = json.loads(store_env.cli.ok("report", "census", "B1", "--json").stdout)
    assert [r["group"] for r in data["sheets"]["groups"] if r["dimension"] == "grade"] == ["2026级"]


@pytest.fixture
def no_grade_column(store_env, tmp_path):
    """文学院 on the roster: one 2026级 freshman and five 2022级 seniors; the exports carry no 年级 column."""
    store_env.freshman = _people(1, "文学院", "2026级", first_no=2026100001, seed=5)[0]
    seniors = _people(5, "文学院", "2022级", first_no=2022100001, seed=6)
    write_roster_xlsx(tmp_path / "roster.xlsx", [store_env.freshman] + seniors, fields=ROSTER_FIELDS)
    store_env.cli.ok("cases", "import-roster", tmp_path / "roster.xlsx")
    store_env.newcomer = _people(1, "文学院", "", first_no=2026100101, seed=7)[0]  # not on the roster
    return store_env


def test_an_explicit_cohort_is_stored_and_shown(no_grade_column, tmp_path):
    env = no_grade_column
    path = _export(tmp_path / "gad7.xlsx", [env.newcomer], grade_column=False)
    dry = json.loads(env.cli.ok("survey", "import", path, "-i", "gad7", "--cohort", "2026", "--dry-run", "--json").stdout)
    assert dry["cohort"] == ["2026级"]
    summary = json.loads(env.cli.ok("survey", "import", path, "-i", "gad7", "--batch", "B2", "--cohort", "2026级", "--json").stdout)
    assert summary["cohort"] == ["2026级"]
    assert json.loads(env.cli.ok("survey", "batch", summary["batch"], "--json").stdout)["cohort"] == ["2026级"]
    assert "2026级" in env.cli.ok("survey", "batch", summary["batch"]).stdout
    rows = _colleges(env, "B2")
    # The seniors are not expected: 1 of 2 (the roster freshman and the newcomer), not 1 of 7.
    assert (rows["文学院"]["roster"], rows["文学院"]["respondents"]) == (2, 1)
    path = env.cli.ok("report", "census", "B2", "--out", f"{tmp_path}/", "--print-path").stdout.strip()
    sheet = openpyxl.load_workbook(path)["参与情况"]
    notes = [c for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str) and "2026级" in c]
    assert notes and any("应参与" in n for n in notes)
    assert json.loads(env.cli.ok("report", "census", "B2", "--json").stdout)["meta"]["cohort"] == ["2026级"]


def test_without_a_grade_column_the_matched_dossiers_give_the_cohort(no_grade_column, tmp_path):
    env = no_grade_column
    path = _export(tmp_path / "gad7.xlsx", [env.freshman, env.newcomer], grade_column=False)
    summary = json.loads(env.cli.ok("survey", "import", path, "-i", "gad7", "--batch", "B3", "--json").stdout)
    assert summary["cohort"] == ["2026级"]
    rows = _colleges(env, "B3")
    assert (rows["文学院"]["roster"], rows["文学院"]["respondents"]) == (2, 2)


def test_an_unknown_cohort_is_said_and_never_guessed_as_every_grade(no_grade_column, tmp_path):
    env = no_grade_column
    path = _export(tmp_path / "gad7.xlsx", [env.newcomer], grade_column=False)
    result = env.cli.ok("survey", "import", path, "-i", "gad7", "--batch", "B4", "--json")
    rows = _colleges(env, "B4")
    # Not "1 of 7": without a cohort there is no expected count to divide by.
    assert rows["文学院"]["roster"] is None and rows["文学院"]["participation"] is None
    assert json.loads(result.stdout)["cohort"] == [] and "--cohort" in result.stderr
