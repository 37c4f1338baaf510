"""`center.governance` from Python: each role is refused exactly as on the command line, and a refusal changes nothing."""

from __future__ import annotations

import pytest

from mhtool.app import Center
from mhtool.errors import PermissionDenied, UsageError
from mhtool.governance.usecases.exports import STABLE_KEY
from tests.governance import kit
from tests.store.storetools import key_credential, raw

PURPOSE = "新生心理健康状况研究（伦理审批 2026-01）"
# Every table erasure or an export could touch, and the audit chain.
TABLES = ("students", "entries", "tasks", "watches", "responses", "referrals", "sealed_meta", "audit")


def _rows(env, tables=TABLES) -> dict[str, list]:
    conn = raw(env.path)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    finally:
        conn.close()


def _audit_actions(env, after: dict) -> list[str]:
    seen = len(after["audit"])
    with env.open() as store:
        from mhtool.store.admin import audit_entries

        return [e["action"] for e in audit_entries(store)[seen:]]


@pytest.fixture
def center_as(school_env):
    """Open the store through the Center as a staff member (added on first use)."""
    opened: list[Center] = []

    def open_as(name: str, role: str | None = None, *colleges: str) -> Center:
        key = school_env.admin_key if name == "admin" else school_env.tmp / f"{name}.key"
        if not key.exists():
            school_env.add_staff(name, role, *colleges)
        center = Center.open(school_env.path, key_credential(key), name)
        opened.append(center)
        return center

    yield open_as
    for center in opened:
        center.close()


def refused(env, call) -> list[str]:
    """Run ``call``, expect PermissionDenied; no data row changed; return the audit actions written."""
    before = _rows(env)
    with pytest.raises(PermissionDenied):
        call()
    after = _rows(env)
    assert {t: rows for t, rows in after.items() if t != "audit"} == {t: rows for t, rows in before.items() if t != "audit"}
    return _audit_actions(env, before)


ERASURES = {
    "erase": lambda c, no: c.governance.erase(no, reason="本人书面申请"),
    "retention_plan": lambda c, no: c.governance.retention_plan(),
    "retention_apply": lambda c, no: c.governance.retention_apply(),
    "erased": lambda c, no: c.governance.erased(),
}


@pytest.mark.parametrize("role", ["counselor", "clerk", "auditor"])
@pytest.mark.parametrize("operation", list(ERASURES))
def test_only_admin_may_plan_apply_or_erase(school_env, school, center_as, role, operation):
    other = center_as(f"{role}甲", role)
    actions = refused(school_env, lambda: ERASURES[operation](other, school[0]["student_no"]))
    assert actions == ["denied"]
    with school_env.open() as store:
        assert store.students.find(school[0]["student_no"])["name"] == school[0]["name"]


def test_admin_erases_on_request(school_env, school, center_as):
    admin = center_as("admin")
    no = school[0]["student_no"]
    assert admin.governance.erase(no, reason="本人书面申请", confirm=lambda: False) is None
    with school_env.open() as store:
        assert store.students.find(no) is not None
    result = admin.governance.erase(no, reason="本人书面申请")
    assert result["pseudonym"].startswith("P-") and result["records"]["responses"] == 2
    assert [p["pseudonym"] for p in admin.governance.erased()] == [result["pseudonym"]]


def test_stable_pseudonyms_need_the_admin_permission(school_env, center_as, tmp_path):
    counselor = center_as("咨询师甲", "counselor")
    out = tmp_path / "r.xlsx"
    actions = refused(school_env, lambda: counselor.governance.research_export(out, purpose=PURPOSE, stable_pseudonyms=True))
    assert actions == ["denied"]
    assert not out.exists()
    with school_env.open() as store:
        assert store.sealed_values.get(STABLE_KEY) is None
    assert counselor.governance.research_export(out, purpose=PURPOSE)["pseudonyms"] == "per-export"


@pytest.mark.parametrize("role", ["clerk", "auditor"])
def test_clerk_and_auditor_may_make_no_research_export(school_env, center_as, tmp_path, role):
    other = center_as(f"{role}甲", role)
    out = tmp_path / "r.csv"
    assert refused(school_env, lambda: other.governance.research_export(out, purpose=PURPOSE)) == ["denied"]
    assert not out.exists()


@pytest.mark.parametrize("purpose", [None, "  "])
def test_research_export_without_purpose_is_refused_and_leaves_no_file_and_no_audit_entry(school_env, center_as, tmp_path, purpose):
    admin = center_as("admin")
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "r.xlsx"
    before = _rows(school_env)
    with pytest.raises(UsageError, match="--purpose"):
        admin.governance.research_export(out, purpose=purpose, stable_pseudonyms=True)
    assert _rows(school_env) == before
    assert list(folder.iterdir()) == []
    result = admin.governance.research_export(out, purpose=PURPOSE, stable_pseudonyms=True)
    assert out.exists() and result["pseudonyms"] == "stable"
    entry = [e for e in kit.audit(school_env) if e["action"] == "export.research"][-1]
    assert entry["details"]["purpose"] == PURPOSE and entry["details"]["rows"] == result["rows"] and entry["details"]["out"] == "r.xlsx"


def test_only_admin_changes_the_policies(school_env, center_as):
    counselor = center_as("咨询师甲", "counselor")
    assert refused(school_env, lambda: counselor.governance.set_policy(retention_years=1)) == ["denied"]
    assert counselor.governance.policy() == {"purpose_required_roles": ["clerk"], "retention_years": 5, "research_min_cell": 5}
    admin = center_as("admin")
    assert admin.governance.set_policy(retention_years=7) == {"retention_years": 7}
    assert counselor.governance.policy()["retention_years"] == 7


def test_an_unknown_instrument_is_a_usage_error_not_an_empty_export(store_env, tmp_path):
    result = store_env.cli("export", "research", "--out", tmp_path / "r.csv", "--instrument", "scl-91", "--purpose", "研究")
    assert result.exit_code == 2 and "--instrument" in result.stderr and "scl90" in result.stderr
    assert not (tmp_path / "r.csv").exists()
