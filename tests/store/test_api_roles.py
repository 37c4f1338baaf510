"""`center.admin` from Python: every role is refused exactly as on the command line, and a refusal changes nothing."""

from __future__ import annotations

import pytest

from mhtool.app import Center
from mhtool.errors import PermissionDenied
from mhtool.store.crypto import Credential, write_key_file
from tests.store.storetools import add_students, key_credential, raw

# A counselor with a college scope, so "a counselor" is never mistaken for an unscoped one.
OTHERS = {"clerk": (), "counselor": ("理学院",), "auditor": ()}


@pytest.fixture
def center_as(store_env):
    """Open the store through the Center as a staff member of a given role (added on first use)."""
    opened: list[Center] = []

    def open_as(role: str) -> Center:
        name = f"{role}1"
        key = store_env.tmp / f"{name}.key"
        if not key.exists():
            store_env.add_staff(name, role, *OTHERS.get(role, ()))
        center = Center.open(store_env.path, key_credential(key), name)
        opened.append(center)
        return center

    yield open_as
    for center in opened:
        center.close()


@pytest.fixture
def admin_center(store_env):
    with Center.open(store_env.path, key_credential(store_env.admin_key), "admin") as center:
        yield center


def _state(env) -> dict:
    """What an admin operation could change: staff, key slots, key generation, settings, audit entries."""
    conn = raw(env.path)
    try:
        state = {
            "staff": conn.execute("SELECT id, name, active, data FROM staff ORDER BY id").fetchall(),
            "slots": conn.execute("SELECT id, staff_id FROM keyslots ORDER BY id").fetchall(),
            "meta": conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall(),
            "audit": conn.execute("SELECT seq FROM audit ORDER BY seq").fetchall(),
        }
    finally:
        conn.close()
    with env.open() as store:
        state["settings"] = store.settings()
    return state


def _new_audit_actions(env, since: dict) -> list[tuple[str, dict]]:
    """(action, details) of the audit entries written after the ``since`` state."""
    seen = len(since["audit"])
    conn = raw(env.path)
    rows = conn.execute("SELECT seq, data FROM audit WHERE seq > ? ORDER BY seq", (seen,)).fetchall()
    conn.close()
    with env.open() as store:
        entries = [store.unseal("audit", str(seq), data) for seq, data in rows]
    return [(e["action"], e["details"]) for e in entries]


def _assert_refused_and_unchanged(env, before: dict, permission: str, attempted: str) -> None:
    """Nothing changed but one audit entry: the refusal itself, recorded by the use case under the command's action."""
    after = _state(env)
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
    assert _new_audit_actions(env, before) == [("denied", {"reason": f"permission:{permission}", "attempted": attempted})]


def _new_key(env, name: str) -> Credential:
    return Credential(key_material=write_key_file(env.tmp / name), source="test")


# -- staff and keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(OTHERS))
def test_only_an_admin_adds_staff_and_no_key_is_made_for_a_refused_caller(store_env, center_as, role):
    center = center_as(role)
    asked = []
    before = _state(store_env)
    with pytest.raises(PermissionDenied):
        center.admin.staff_add("sneaky", "admin", lambda: asked.append(1) or _new_key(store_env, "sneaky.key"))
    assert asked == [] and not (store_env.tmp / "sneaky.key").exists()
    _assert_refused_and_unchanged(store_env, before, "staff", "staff.add")


@pytest.mark.parametrize("role", list(OTHERS))
def test_only_an_admin_removes_staff(store_env, center_as, role):
    center = center_as(role)
    before = _state(store_env)
    with pytest.raises(PermissionDenied):
        center.admin.staff_remove("admin")
    _assert_refused_and_unchanged(store_env, before, "staff", "staff.remove")


@pytest.mark.parametrize("role", list(OTHERS))
def test_only_an_admin_rotates_the_master_key(store_env, center_as, role):
    with store_env.open() as store:
        add_students(store, 3)
    center = center_as(role)
    before = _state(store_env)
    with pytest.raises(PermissionDenied):
        center.admin.rotate_key()
    _assert_refused_and_unchanged(store_env, before, "staff", "staff.rotate-key")


@pytest.mark.parametrize("role", list(OTHERS))
def test_only_an_admin_changes_someone_elses_key(store_env, center_as, role):
    center = center_as(role)
    asked = []
    before = _state(store_env)
    with pytest.raises(PermissionDenied):
        center.admin.staff_passwd(lambda: asked.append(1) or _new_key(store_env, "admins-new.key"), "admin")
    assert asked == [] and not (store_env.tmp / "admins-new.key").exists()
    _assert_refused_and_unchanged(store_env, before, "staff", "staff.passwd")


@pytest.mark.parametrize("role", list(OTHERS))
def test_only_an_admin_lists_staff(store_env, center_as, role):
    center = center_as(role)
    before = _state(store_env)
    with pytest.raises(PermissionDenied):
        center.admin.staff_list()
    _assert_refused_and_unchanged(store_env, before, "staff", "staff.list")


def test_anyone_changes_their_own_key(store_env, center_as):
    center = center_as("clerk")
    assert center.admin.staff_passwd(_new_key(store_env, "clerk1-new.key")) == "clerk1"
    Center.open(store_env.path, key_credential(store_env.tmp / "clerk1-new.key"), "clerk1").close()


# -- policies ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(OTHERS))
def test_only_an_admin_changes_a_governance_policy(store_env, center_as, role):
    center = center_as(role)
    before = _state(store_env)
    with pytest.raises(PermissionDenied):
        center.admin.settings_set("retention_years", 9)
    _assert_refused_and_unchanged(store_env, before, "staff", "governance.policy")


@pytest.mark.parametrize("role", list(OTHERS))
def test_only_an_admin_changes_the_screening_policy(store_env, center_as, role):
    center = center_as(role)
    before = _state(store_env)
    with pytest.raises(PermissionDenied):
        center.admin.set_screening_policy({"phq9": {"orange": [{"score": "total", "min": 12}]}})
    _assert_refused_and_unchanged(store_env, before, "staff", "settings.screening-policy")


@pytest.mark.parametrize("role", list(OTHERS))
def test_every_role_reads_the_policies(store_env, center_as, role):
    shown = center_as(role).admin.settings_show()
    assert shown["retention_years"] == 5 and shown["purpose_required_roles"] == ["clerk"]


# -- backup and restore -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(OTHERS))
def test_only_an_admin_makes_a_backup(store_env, center_as, role):
    center = center_as(role)
    out = store_env.tmp / "copy.db"
    before = _state(store_env)
    with pytest.raises(PermissionDenied):
        center.admin.backup(out)
    assert not out.exists()
    _assert_refused_and_unchanged(store_env, before, "backup", "backup")


@pytest.mark.parametrize("role", list(OTHERS))
def test_only_an_admin_restores_a_backup(store_env, center_as, admin_center, role):
    center = center_as(role)
    backup = admin_center.admin.backup(store_env.tmp / "copy.db")
    with store_env.open() as store:
        (late,) = add_students(store, 1, prefix="LATE")
    before = _state(store_env)
    with pytest.raises(PermissionDenied):
        center.admin.restore(backup, key_credential(store_env.tmp / f"{role}1.key"), force=True)
    _assert_refused_and_unchanged(store_env, before, "backup", "restore")
    with store_env.open() as store:
        assert store.find_student(late["student_no"]) is not None


# -- the audit log --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clerk", "counselor"])
@pytest.mark.parametrize("operation", ["audit_verify", "audit_log", "audit_head"])
def test_only_an_auditor_or_admin_reads_the_audit_log(store_env, center_as, role, operation):
    center = center_as(role)
    before = _state(store_env)
    with pytest.raises(PermissionDenied):
        getattr(center.admin, operation)()
    _assert_refused_and_unchanged(store_env, before, "audit", f"audit.{operation.removeprefix('audit_')}")


def test_an_auditor_verifies_and_reads_the_audit_log(store_env, center_as):
    admin = center_as("auditor").admin
    report = admin.audit_verify()
    assert report.ok and report.entries >= 2
    assert admin.audit_verify(admin.audit_head()).ok
    assert [(e["staff"], e["action"]) for e in admin.audit_log(2)] == [("auditor1", "audit.verify")] * 2


# -- an admin through the same API ----------------------------------------------------------------


def test_an_admin_does_all_of_it_through_the_api(store_env, admin_center, tmp_path):
    admin = admin_center.admin
    added = admin.staff_add("zhou", "counselor", lambda: _new_key(store_env, "zhou.key"), ["文学院"])
    assert added["name"] == "zhou"
    assert {"zhou", "admin"} <= {s["name"] for s in admin.staff_list()}
    assert admin.settings_set("retention_years", 7)["retention_years"] == 7
    assert admin.set_screening_policy({"phq9": {"orange": [{"score": "total", "min": 12}]}})["phq9"]
    assert admin.settings_show()["screening_policy"]["phq9"]
    assert admin.set_screening_policy(None) is None and admin.settings_show()["screening_policy"] == {}
    removed = admin.staff_remove("zhou")
    assert removed["generation"] == 2
    assert admin.rotate_key()["generation"] == 3
    backup = admin.backup(tmp_path / "copy.db")
    assert admin.audit_verify().ok
    restored = admin.restore(backup, key_credential(store_env.admin_key), force=True)
    assert restored["from"] == str(backup)
    admin_center.close()
    with Center.open(store_env.path, key_credential(store_env.admin_key), "admin") as again:
        actions = [e["action"] for e in again.admin.audit_log()]
        assert actions.index("backup") < actions.index("restore")
        assert again.admin.audit_verify().ok
