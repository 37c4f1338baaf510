"""Forms (mhtool.console.forms): what a command asks on a terminal, and that off a terminal it asks nothing.

The forms themselves run on a real pseudo-terminal in tests/console/test_forms_pty.py;
here: the command line without a terminal (CliRunner), the field specs of every
command, and the pieces of the engine that need no terminal.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import typer
from casekit import STUDENTS, add_student, show_json, today

from mhtool.cases import cli as cases_cli
from mhtool.console import forms
from mhtool.console.forms import Field
from mhtool.referral import cli as referral_cli

STUDENT = next(iter(STUDENTS))


# -- without a terminal: fail fast, naming the flag (the use case's message) -----------------------


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (("cases", "interview", STUDENT), "--findings"),
        (("cases", "interview", STUDENT, "--confirm", "red", "--mode", "面谈"), "--findings"),
        (("cases", "crisis", STUDENT, "--type", "self_harm"), "--what"),
        (("cases", "guardian", STUDENT, "--content", "电话沟通"), "--who"),
        (("cases", "note", STUDENT), "--text"),
        (("cases", "level", STUDENT, "red"), "--reason"),
    ],
)
def test_off_a_terminal_a_missing_value_is_a_usage_error_naming_its_flag(school, args, flag):
    r = school.cli(*args)
    assert r.exit_code == 2, r.stderr
    assert flag in r.stderr
    assert show_json(school.cli, STUDENT)["timeline"] == []


def test_all_values_given_records_without_asking(school):
    r = school.cli("cases", "interview", STUDENT, "--findings", "情绪平稳", "--confirm", "yellow", "--mode", "电话", "--risk", "低")
    assert r.exit_code == 0, r.stderr
    interview = next(i for i in show_json(school.cli, STUDENT)["timeline"] if i["kind"] == "interview")
    assert interview["fields"] == {"findings": "情绪平稳", "confirmed_level": "yellow", "mode": "电话", "risk": "低"}


def test_a_referral_without_hospital_off_a_terminal_names_the_flag_and_the_directory(store_env):
    add_student(store_env.cli, STUDENT, *STUDENTS[STUDENT])
    empty = store_env.cli("referral", "add", STUDENT, "--reason", "x")
    assert empty.exit_code == 2 and "--hospital" in empty.stderr and "directory is empty" in empty.stderr
    store_env.cli.ok("referral", "hospitals", "add", "示例市精神卫生中心", "--level", "三甲")
    r = store_env.cli("referral", "add", STUDENT, "--reason", "x")
    assert r.exit_code == 2 and "missing --hospital" in r.stderr and "示例市精神卫生中心" in r.stderr


# -- the field specs agree with the commands ----------------------------------------------------

FORMS = [
    (cases_cli.app, "add", cases_cli.ADD_FORM),
    (cases_cli.app, "interview", cases_cli.INTERVIEW_FORM),
    (cases_cli.app, "level", cases_cli.LEVEL_FORM),
    (cases_cli.app, "note", cases_cli.NOTE_FORM),
    (cases_cli.app, "measure", cases_cli.MEASURE_FORM),
    (cases_cli.app, "guardian", cases_cli.GUARDIAN_FORM),
    (cases_cli.app, "crisis", cases_cli.CRISIS_FORM),
    (cases_cli.app, "follow-up", cases_cli.FOLLOW_UP_FORM),
    (cases_cli.app, "close", cases_cli.CLOSE_FORM),
    (cases_cli.app, "reopen", cases_cli.REOPEN_FORM),
    (cases_cli.app, "status", cases_cli.STATUS_FORM),
    (cases_cli.app, "remind", cases_cli.REMIND_FORM),
    (referral_cli.app, "add", referral_cli.ADD_FORM),
    (referral_cli.app, "update", referral_cli.UPDATE_FORM),
]


@pytest.mark.parametrize(("app", "name", "form"), FORMS, ids=[f"{'cases' if a is cases_cli.app else 'referral'}-{n}" for a, n, _f in FORMS])
def test_every_field_is_a_parameter_of_its_command_with_its_flag(app, name, form):
    command = typer.main.get_command(app).commands[name]
    params = {p.name: p for p in command.params}
    for field in form:
        param = params.get(field.name)
        assert param is not None, f"{name}: no parameter {field.name}"
        names = list(getattr(param, "opts", ())) + [(param.metavar or param.name or "").upper()]
        assert field.flag in names, f"{name}: {field.name} is given by {names}, not {field.flag}"
        assert field.question.endswith(":"), field.question
        if field.kind == "choice" and field.labels:
            from mhtool.domain.labels import code_from_label

            assert all(code_from_label(field.labels, c) for c in field.choices), field.name
    assert any(f.required for f in form), name


# -- the engine, without a terminal -------------------------------------------------------------

FINDINGS = Field("findings", "--findings", "Findings:", required=True)
LEVEL = Field("confirm", "--confirm", "Confirmed level:", kind="choice", choices=("red", "orange", "yellow", "none"), labels="level")
DAY = Field("date", "--date", "Date:", kind="date", default="today")
DUE = Field("due", "--due", "Due:", kind="date", future=True)
AT = Field("at", "--happened-at", "When it happened:", kind="datetime")
MINUTES = Field("duration", "--duration", "Duration (minutes):", kind="int")
STATUS = Field("status", "--status", "New status:", kind="choice", choices=("closed", "cancelled"), required=True)
OUTCOME = Field("outcome", "--outcome", "How the referral ended:", required=True, when=("status", ("closed",)))


def test_only_required_values_that_apply_are_missing():
    assert forms.missing([FINDINGS, LEVEL, DAY], {"findings": None, "confirm": None}) == [FINDINGS]
    assert forms.missing([FINDINGS, LEVEL], {"findings": "  "}) == [FINDINGS]
    assert forms.missing([FINDINGS, LEVEL], {"findings": "睡眠差"}) == []
    assert forms.missing([STATUS, OUTCOME], {"status": "cancelled"}) == []
    assert forms.missing([STATUS, OUTCOME], {"status": "closed"}) == [OUTCOME]
    assert forms.missing(forms.changed([STATUS, OUTCOME], "status", required=False), {}) == []


def test_fill_off_a_terminal_or_in_a_correction_returns_what_was_given():
    given = {"findings": None, "confirm": "red"}
    assert forms.fill([FINDINGS, LEVEL], given) == given
    assert forms.fill([FINDINGS, LEVEL], given, correcting=True) == given
    assert not forms.wanted([FINDINGS], {}, correcting=True)
    assert not forms.wanted([FINDINGS], {"findings": "x"})


def test_dates_are_checked_as_they_are_typed_by_the_parsers_of_the_use_cases():
    assert forms.check(DAY, "2026-11-23") is None and forms.check(DAY, "yesterday") is None
    assert "--date" in forms.check(DAY, "23.11.") and "cannot read" in forms.check(DAY, "23.11.")
    tomorrow = (today() + timedelta(days=1)).isoformat()
    assert "in the future" in forms.check(DAY, tomorrow)
    assert forms.check(DUE, tomorrow) is None and forms.check(DUE, "+7d") is None
    assert forms.check(AT, "2026-11-23 22:10") is None
    assert "--happened-at" in forms.check(AT, f"{tomorrow} 08:00")
    assert forms.check(DAY, "") is None  # optional: Enter skips
    assert "required" in forms.check(FINDINGS, " ")
    assert forms.check(MINUTES, "50") is None and "--duration" in forms.check(MINUTES, "0")


def test_the_summary_shows_labels_and_resolved_dates():
    lines = forms.summary(
        [FINDINGS, LEVEL, DUE, AT, MINUTES, OUTCOME, STATUS],
        {"findings": "睡眠差", "confirm": "红色", "due": "+7d", "at": "2026/11/23 9:05", "duration": 50, "status": "cancelled", "outcome": None},
    )
    week = (today() + timedelta(days=7)).isoformat()
    assert lines == [
        "Findings: 睡眠差",
        "Confirmed level: Level 1 (red)",
        f"Due: {week}",
        "When it happened: 2026-11-23 09:05",
        "Duration (minutes): 50",
        "New status: cancelled",
    ]


def test_titles_of_ways_and_lists():
    mode = next(f for f in cases_cli.INTERVIEW_FORM if f.name == "mode")
    assert forms.title(mode, "面谈") == "面谈 (in person)"
    assert forms.title(mode, "步行") == "步行"
    groups = next(f for f in cases_cli.ADD_FORM if f.name == "group")
    assert forms.title(groups, ["hardship", "academic"]) == "financial hardship, academic difficulty"
    assert forms.title(groups, True) == "yes"


def test_the_choices_offered_are_the_codes_of_the_domain():
    from mhtool.cases.domain import model
    from mhtool.referral.domain import machine

    assert set(referral_cli.URGENCIES) == set(machine.URGENCIES)
    assert set(referral_cli.NEXT_STATUSES) == set(machine.STATUSES) - {"referred"}
    assert referral_cli.ADVICE == machine.ADVICE
    assert set(cases_cli.STATUS_ACTIONS) == set(model.STATUS_ACTIONS)
