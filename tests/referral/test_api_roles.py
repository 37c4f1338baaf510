"""`center.referrals` from Python: each role is refused exactly as on the command line, and a refusal changes nothing."""

from __future__ import annotations

import pytest

from mhtool.app import Center
from mhtool.errors import PermissionDenied, UsageError
from tests.referral.conftest import COLLEGE, HOSPITAL, OTHER_COLLEGE, STUDENT
from tests.store.storetools import key_credential, raw

# The sealed tables a referral operation writes: a refusal must leave every row as it was.
TABLES = ("hospitals", "referrals", "entries", "tasks")


def _rows(env) -> dict[str, list]:
    conn = raw(env.path)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}
    finally:
        conn.close()


def _actions_since(env, seq: int) -> list[str]:
    with env.open() as store:
        from mhtool.store.admin import audit_entries

        return [e["action"] for e in audit_entries(store) if e["seq"] > seq]


def _last_seq(env) -> int:
    conn = raw(env.path)
    try:
        return conn.execute("SELECT max(seq) FROM audit").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def center_as(ref_env):
    """Open the store through the Center as a new staff member (role, colleges…)."""
    opened: list[Center] = []

    def open_as(name: str, role: str, *colleges: str) -> Center:
        ref_env.add_staff(name, role, *colleges)
        center = Center.open(ref_env.path, key_credential(ref_env.tmp / f"{name}.key"), name)
        opened.append(center)
        return center

    yield open_as
    for center in opened:
        center.close()


def refused(env, call) -> list[str]:
    """Run ``call``, expect PermissionDenied, check no row changed; return the audit actions it wrote."""
    before, seq = _rows(env), _last_seq(env)
    with pytest.raises(PermissionDenied):
        call()
    assert _rows(env) == before
    return _actions_since(env, seq)


CLERK_REFUSALS = {
    "add": lambda c, ref, tmp: c.referrals.add(STUDENT, hospital=HOSPITAL, reason="持续失眠"),
    "update": lambda c, ref, tmp: c.referrals.update(ref, status="attended", visit_date=None, note="已就诊"),
    "show": lambda c, ref, tmp: c.referrals.show(ref),
    "list": lambda c, ref, tmp: c.referrals.list(),
    "export": lambda c, ref, tmp: c.referrals.export(ref, tmp / "转介记录表.xlsx", purpose="存档"),
    "add_hospital": lambda c, ref, tmp: c.referrals.add_hospital("示例大学校医院"),
    "edit_hospital": lambda c, ref, tmp: c.referrals.edit_hospital(HOSPITAL, phone="010-1"),
}


@pytest.mark.parametrize("operation", list(CLERK_REFUSALS))
def test_clerk_may_not_add_update_or_read_referral_details(ref_env, referral, center_as, operation):
    clerk = center_as("clerk1", "clerk")
    actions = refused(ref_env, lambda: CLERK_REFUSALS[operation](clerk, referral, ref_env.tmp))
    assert actions[0] == "denied" and not [a for a in actions if a.startswith("referral.")]
    assert not (ref_env.tmp / "转介记录表.xlsx").exists()


def test_clerk_may_still_read_the_hospitals_directory(ref_env, center_as):
    clerk = center_as("clerk1", "clerk")
    assert [h["name"] for h in clerk.referrals.hospitals()] == [HOSPITAL]


AUDITOR_REFUSALS = {
    "hospitals": lambda c, ref: c.referrals.hospitals(),
    "show": lambda c, ref: c.referrals.show(ref),
    "list": lambda c, ref: c.referrals.list(overdue_only=True),
    "add": lambda c, ref: c.referrals.add(STUDENT, hospital=HOSPITAL, reason="持续失眠"),
    "update": lambda c, ref: c.referrals.update(ref, note="x"),
}


@pytest.mark.parametrize("operation", list(AUDITOR_REFUSALS))
def test_auditor_may_not_read_or_write_referrals(ref_env, referral, center_as, operation):
    auditor = center_as("aud", "auditor")
    actions = refused(ref_env, lambda: AUDITOR_REFUSALS[operation](auditor, referral))
    assert actions[0] == "denied"


def test_counselor_of_another_college_may_not_refer_that_student(ref_env, center_as):
    liu = center_as("liu", "counselor", OTHER_COLLEGE)
    refused(ref_env, lambda: liu.referrals.add(STUDENT, hospital=HOSPITAL, reason="持续失眠"))


@pytest.mark.parametrize("operation", ["show", "update", "export"])
def test_counselor_of_another_college_may_not_reach_that_students_referral(ref_env, referral, center_as, operation):
    liu = center_as("liu", "counselor", OTHER_COLLEGE)
    call = {
        "show": lambda: liu.referrals.show(referral),
        "update": lambda: liu.referrals.update(referral, note="x"),
        "export": lambda: liu.referrals.export(referral, ref_env.tmp / "x.xlsx"),
    }[operation]
    refused(ref_env, call)
    assert not (ref_env.tmp / "x.xlsx").exists()


def test_counselor_of_another_college_lists_nothing_and_may_not_ask_for_that_college(ref_env, referral, center_as):
    liu = center_as("liu", "counselor", OTHER_COLLEGE)
    assert liu.referrals.list() == []
    refused(ref_env, lambda: liu.referrals.list(college=COLLEGE))


def test_counselor_of_the_college_refers_and_exports(ref_env, center_as):
    wang = center_as("wang", "counselor", COLLEGE)
    view = wang.referrals.add(STUDENT, hospital=HOSPITAL, reason="持续失眠")
    assert view["status"] == "referred" and view["created_by"] == "wang"
    out = wang.referrals.export(view["short_id"], ref_env.tmp)
    assert out.exists() and STUDENT in out.name


def test_an_export_the_policy_wants_a_purpose_for_leaves_no_file_and_no_audit_entry(ref_env, referral, center_as):
    with Center.open(ref_env.path, key_credential(ref_env.admin_key), "admin") as admin:
        admin.governance.set_policy(purpose_required_roles=["counselor"])
    wang = center_as("wang", "counselor", COLLEGE)
    out = ref_env.tmp / "转介记录表.xlsx"
    seq = _last_seq(ref_env)
    with pytest.raises(UsageError, match="--purpose"):
        wang.referrals.export(referral, out)
    assert not out.exists() and _last_seq(ref_env) == seq
    assert [p.name for p in ref_env.tmp.iterdir() if p.suffix == ".xlsx"] == []
    wang.referrals.export(referral, out, purpose="转介医院需要")
    assert out.exists()
    assert _actions_since(ref_env, seq)[0] == "referral.export"
