"""`mhtool demo`: the whole routine on a small synthetic school, deterministic for a seed."""

from __future__ import annotations

import json
from datetime import date

import openpyxl

from mhtool import demo_data
from tests.conftest import Cli


def _cells(path):
    ws = openpyxl.load_workbook(path, read_only=True).active
    return [tuple(row) for row in ws.iter_rows(values_only=True)]


def test_demo_builds_a_store_exports_and_reports_a_new_user_can_explore(tmp_path):
    folder = tmp_path / "demo"
    result = Cli().ok("demo", "--dir", folder, "--students", "240", "--seed", "7")
    store = folder / "demo-store.db"
    assert result.stdout.strip() == str(store)
    assert "DEMO" in (folder / "README-DEMO.txt").read_text("utf-8")
    reports = sorted(p.name for p in (folder / "reports").iterdir())
    assert any(n.startswith("周报_") for n in reports) and any(n.startswith("月报_") for n in reports)
    assert sum(n.startswith("普查报告_") for n in reports) == 3
    assert any(n.startswith("危机事件报告_") for n in reports) and any(n.startswith("档案_") for n in reports)
    for name in reports:
        assert openpyxl.load_workbook(folder / "reports" / name).sheetnames
    # The suggested next commands work against the demo store.
    counselor = Cli(env={"MHTOOL_STORE": str(store), "MHTOOL_KEY_FILE": str(folder / "demo-counselor.key"), "MHTOOL_USER": "demo-counselor"})
    watched = json.loads(counselor.ok("cases", "list", "--json").stdout)
    assert watched and {w["level"] for w in watched} <= {"red", "orange", "yellow"}
    # The interviewing counselor took each case (负责咨询师), so their follow-ups are theirs.
    mine = json.loads(counselor.ok("cases", "tasks", "--mine", "--json").stdout)
    assert {t["kind"] for t in mine} >= {"follow_up"}
    assert json.loads(counselor.ok("survey", "batches", "--json").stdout)[0]["imported"] > 200
    referrals = json.loads(counselor.ok("referral", "list", "--json").stdout)
    assert len(referrals) == 4 and len({r["status"] for r in referrals}) == 4
    admin = Cli(env={"MHTOOL_STORE": str(store), "MHTOOL_KEY_FILE": str(folder / "demo-admin.key"), "MHTOOL_USER": "demo-admin"})
    assert "ok" in admin.ok("audit", "verify").stdout
    # A second demo into the same folder is refused rather than mixed in.
    again = Cli()("demo", "--dir", folder, "--students", "240")
    assert again.exit_code == 2 and "already holds a demo" in again.stderr


def test_same_seed_same_school_and_exports(tmp_path):
    a, b = demo_data.build_school(120, seed=3), demo_data.build_school(120, seed=3)
    assert [s.roster() for s in a.students] == [s.roster() for s in b.students]
    assert demo_data.build_school(120, seed=4).students[0].name != a.students[0].name or \
        demo_data.build_school(120, seed=4).students[5].name != a.students[5].name
    start = demo_data.census_start(date(2026, 11, 23))
    import random

    demo_data.write_wjx_scl90(tmp_path / "a.xlsx", a, start, rng=random.Random(1))
    demo_data.write_wjx_scl90(tmp_path / "b.xlsx", b, start, rng=random.Random(1))
    assert _cells(tmp_path / "a.xlsx") == _cells(tmp_path / "b.xlsx")


def test_synthetic_answers_look_like_a_census(tmp_path):
    """Most students score low, a minority is flagged: the demo must not call in half the school."""
    import random

    from mhtool.survey.usecases import importer

    school = demo_data.build_school(1500, seed=11)
    start = demo_data.census_start(date(2026, 11, 23))
    path = demo_data.write_wjx_upi(tmp_path / "upi.xlsx", school, start, rng=random.Random(2), dirty=False)
    plan = importer.plan_import(path, "upi")
    flagged = sum(1 for o in plan.accepted if o.result["proposed_level"] != "none")
    assert 0.03 < flagged / len(plan.accepted) < 0.25
