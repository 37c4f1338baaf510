"""`mhtool settings`: the store's policies, changed by an admin, used by the commands."""

from __future__ import annotations

import json

from tests.survey.export_factory import FREQ4, labels, make_answers, make_students, write_tencent_csv


def test_show_defaults_and_change_governance_policy(store_env):
    shown = json.loads(store_env.cli.ok("settings", "show", "--json").stdout)
    assert shown["purpose_required_roles"] == ["clerk"] and shown["retention_years"] == 5
    assert shown["cadence"] == {"red": 7, "orange": 14, "yellow": 30}
    store_env.cli.ok("settings", "set", "retention_years", "7")
    store_env.cli.ok("settings", "set", "purpose_required_roles", "clerk,counselor")
    shown = json.loads(store_env.cli.ok("settings", "show", "--json").stdout)
    assert shown["retention_years"] == 7 and sorted(shown["purpose_required_roles"]) == ["clerk", "counselor"]
    # A value out of range on the command line is a usage error, like an unknown key.
    assert store_env.cli("settings", "set", "retention_years", "0").exit_code == 2
    assert store_env.cli("settings", "set", "colour", "blue").exit_code == 2
    clerk = store_env.add_staff("wen", "clerk")
    assert clerk("settings", "set", "retention_years", "9").exit_code == 5


def test_screening_policy_override_changes_what_import_proposes(store_env, tmp_path):
    students = make_students(3, seed=41)
    answers = [[2, 2, 2, 2, 2, 2, 2, 0, 0]] * 3  # PHQ-9 total 14: yellow by default
    write_tencent_csv(tmp_path / "a.csv", students, labels(answers, FREQ4))
    (tmp_path / "policy.toml").write_text('[phq9]\norange = [{score = "total", min = 12}]\n', "utf-8")
    store_env.cli.ok("settings", "screening-policy", tmp_path / "policy.toml")
    summary = json.loads(store_env.cli.ok("survey", "import", tmp_path / "a.csv", "-i", "phq9", "--json").stdout)
    assert summary["proposed"] == {"red": 0, "orange": 3, "yellow": 0}
    (tmp_path / "bad.toml").write_text('[phq9]\norange = [{score = "nonsense", min = 12}]\n', "utf-8")
    bad = store_env.cli("settings", "screening-policy", tmp_path / "bad.toml")
    assert bad.exit_code == 3 and "nonsense" in bad.stderr
    store_env.cli.ok("settings", "screening-policy", "--reset")
    assert json.loads(store_env.cli.ok("settings", "show", "--json").stdout)["screening_policy"] == {}
