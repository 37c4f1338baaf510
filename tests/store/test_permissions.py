"""Roles, college scopes and revocation: every denial is refused, audited, and revocation is real."""

from __future__ import annotations

import json

import pytest

from mhtool.errors import AuthenticationFailed, IntegrityError, PermissionDenied, StoreError
from mhtool.store import crypto
from mhtool.store.core import Store
from mhtool.store.crypto import Credential
from tests.store.storetools import add_students, key_credential, raw


def _audit(env) -> list[dict]:
    return json.loads(env.cli.ok("audit", "log", "--limit", "0", "--json").stdout)


def _denials(env, staff: str) -> list[dict]:
    return [e for e in _audit(env) if e["action"] == "denied" and e["staff"] == staff]


def test_clerk_cannot_add_staff_and_the_attempt_is_audited(store_env):
    clerk = store_env.add_staff("clerk1", "clerk")
    new_key = store_env.tmp / "sneaky.key"
    result = clerk("staff", "add", "sneaky", "--role", "admin", "--key-file", str(new_key))
    assert result.exit_code == 5, result.stderr
    assert "may not manage staff" in result.stderr
    assert not new_key.exists(), "no key file is issued on a denied request"
    names = [s["name"] for s in json.loads(store_env.cli.ok("staff", "list", "--json").stdout)]
    assert "sneaky" not in names
    denials = _denials(store_env, "clerk1")
    assert len(denials) == 1
    assert denials[0]["details"] == {"reason": "permission:staff", "attempted": "staff.add"}


def test_clerk_counselor_and_auditor_cannot_run_admin_commands(store_env):
    made = [store_env.tmp / "x.db", store_env.tmp / "admins-new.key"]
    commands = [
        ["staff", "list"],
        ["staff", "rotate-key"],
        ["staff", "remove", "admin"],
        ["staff", "passwd", "admin", "--key-file", str(made[1])],
        ["staff", "passwd", "admin"],
        ["backup", str(made[0])],
    ]
    for name, role in (("c1", "clerk"), ("c2", "counselor"), ("c3", "auditor")):
        as_them = store_env.add_staff(name, role)
        for command in commands:
            result = as_them(*command)
            assert result.exit_code == 5, (role, command, result.stderr)
            assert result.stdout == ""
            assert not any(p.exists() for p in made), (role, command)
        assert len(_denials(store_env, name)) == len(commands)
    with store_env.open() as store:
        assert store.meta("generation") == "1" and store.meta("rotation_target") is None


def test_auditor_cannot_read_students_but_can_read_the_audit_log(store_env):
    with store_env.open() as store:
        add_students(store, 2)
    auditor = store_env.add_staff("aud", "auditor")
    with store_env.open(user="aud", key=store_env.tmp / "aud.key") as store:
        for permission in ("dossier", "clinical", "record", "import", "report", "backup", "staff"):
            with pytest.raises(PermissionDenied):
                store.require(permission, action=f"test.{permission}")
        store.require("audit")  # allowed: no exception
    result = auditor("staff", "list")
    assert result.exit_code == 5 and result.stdout == ""
    auditor.ok("audit", "verify")
    auditor.ok("audit", "log")
    attempted = [d["details"]["attempted"] for d in _denials(store_env, "aud")]
    assert attempted == [f"test.{p}" for p in ("dossier", "clinical", "record", "import", "report", "backup", "staff")] + ["staff.list"]


def test_counselor_scoped_to_one_college_is_denied_another_and_it_is_audited(store_env):
    store_env.add_staff("zhang", "counselor", "信息学院")
    with store_env.open() as store:
        (student,) = add_students(store, 1, college="外国语学院")
    with store_env.open(user="zhang", key=store_env.tmp / "zhang.key") as store:
        assert store.staff.colleges == ["信息学院"]
        store.require("dossier")
        store.require_college("信息学院")  # own college: allowed
        for college in ("外国语学院", None, ""):
            with pytest.raises(PermissionDenied, match="limited to 信息学院"):
                store.require_college(college, action="cases.show", targets=[f"students/{student['id']}"])
    denials = _denials(store_env, "zhang")
    assert len(denials) == 3
    assert denials[0]["details"] == {"reason": "scope:college", "attempted": "cases.show"}
    assert denials[0]["targets"] == [f"students/{student['id']}"]
    # An unscoped counselor sees every college.
    store_env.add_staff("li", "counselor")
    with store_env.open(user="li", key=store_env.tmp / "li.key") as store:
        store.require_college("外国语学院")
        store.require_college(None)


def _add_passphrase_staff(env, name, role, passphrase):
    f = env.tmp / f"{name}.pass"
    f.write_text(passphrase + "\n", "utf-8")
    f.chmod(0o600)
    env.cli.ok("staff", "add", name, "--role", role, env={"MHTOOL_NEW_PASSPHRASE_FILE": str(f)})
    return type(env.cli)(env={"MHTOOL_STORE": str(env.path), "MHTOOL_PASSPHRASE_FILE": str(f), "MHTOOL_USER": name})


def test_removed_staff_can_no_longer_open_the_store(store_env):
    keyed = store_env.add_staff("bob", "admin")
    passed = _add_passphrase_staff(store_env, "carol", "admin", "carol's long passphrase")
    keyed.ok("audit", "head")
    passed.ok("audit", "head")

    store_env.cli.ok("staff", "remove", "bob")
    store_env.cli.ok("staff", "remove", "carol")

    for former in (keyed, passed):
        result = former("audit", "head")
        assert result.exit_code == 4, result.stderr
        assert result.stdout == ""
    # Without --user, a removed key file matches no slot either.
    result = keyed("audit", "head", env={"MHTOOL_USER": None})
    assert result.exit_code == 4
    with pytest.raises(AuthenticationFailed):
        Store.open(store_env.path, Credential(passphrase="carol's long passphrase"), "carol")
    staff = {s["name"]: s for s in json.loads(store_env.cli.ok("staff", "list", "--json").stdout)}
    assert staff["bob"]["active"] is False and staff["bob"]["slots"] == []
    # The table says it in words: 在职 是 / 否.
    table = {line.split("\t")[0]: line.split("\t") for line in store_env.cli.ok("staff", "list").stdout.splitlines()}
    assert table["姓名"][-1] == "在职" and table["bob"][-1] == "否" and table["admin"][-1] == "是"


def test_removed_member_with_a_copy_of_their_old_slot_cannot_read_new_data(store_env):
    store_env.add_staff("bob", "counselor")
    bob_key = store_env.tmp / "bob.key"
    with store_env.open() as store:
        (before,) = add_students(store, 1, prefix="OLD", name="旧记录")

    # bob keeps copies of his slot rows (and his staff row) before he is removed.
    conn = raw(store_env.path)
    bob_id = conn.execute("SELECT id FROM staff WHERE name = 'bob'").fetchone()[0]
    kept_slots = conn.execute("SELECT * FROM keyslots WHERE staff_id = ?", (bob_id,)).fetchall()
    kept_masters = conn.execute(
        "SELECT m.* FROM slot_masters m JOIN keyslots k ON k.id = m.slot_id WHERE k.staff_id = ?", (bob_id,)
    ).fetchall()
    kept_staff = conn.execute("SELECT * FROM staff WHERE id = ?", (bob_id,)).fetchone()
    conn.close()
    assert kept_slots and kept_masters

    store_env.cli.ok("staff", "remove", "bob")
    with store_env.open() as store:
        (after,) = add_students(store, 1, prefix="NEW", name="移除后的新记录")
        new_blob = bytes(store.conn.execute("SELECT data FROM students WHERE id = ?", (after["id"],)).fetchone()[0])

    # He puts his old rows back, and even re-activates himself.
    conn = raw(store_env.path)
    conn.executemany("INSERT INTO keyslots VALUES (?, ?, ?, ?, ?)", kept_slots)
    conn.executemany("INSERT OR REPLACE INTO slot_masters VALUES (?, ?, ?)", kept_masters)
    conn.execute("UPDATE staff SET active = 1 WHERE id = ?", (bob_id,))
    conn.close()
    with pytest.raises((AuthenticationFailed, IntegrityError)):
        Store.open(store_env.path, key_credential(bob_key), "bob")
    # ...and with his old staff row too: the slot then opens, but only onto the retired
    # generation, so every record written or re-encrypted since stays closed to him.
    conn = raw(store_env.path)
    conn.execute("UPDATE staff SET data = ? WHERE id = ?", (kept_staff[3], bob_id))
    conn.close()
    try:
        revived = Store.open(store_env.path, key_credential(bob_key), "bob")
    except (AuthenticationFailed, IntegrityError):
        revived = None
    if revived is not None:
        with revived:
            assert list(revived.keyring) == [1]
            for record in (after, before):
                with pytest.raises(IntegrityError):
                    revived.students.get(record["id"])
            with pytest.raises(IntegrityError):
                revived.students.all()
            assert revived.find_student(after["student_no"]) is None
            with pytest.raises(StoreError):
                with revived.write("test.sneak") as txn:
                    txn.insert("students", {"student_no": "X", "name": "x"}, columns={"student_no_bi": b"x"})
    result = type(store_env.cli)(env={"MHTOOL_STORE": str(store_env.path), "MHTOOL_KEY_FILE": str(bob_key), "MHTOOL_USER": "bob"})(
        "audit", "head"
    )
    assert result.exit_code in (1, 4, 5) and result.stdout == ""

    # Going around Store.open: his slot still yields the old master key, which opens nothing new.
    conn = raw(store_env.path)
    store_id = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()[0]
    slot_id, _, params, _, wrapped = kept_slots[0]
    private = crypto.unlock_slot(key_credential(bob_key), store_id, slot_id, json.loads(params), wrapped)
    keyring = {}
    for _, generation, sealed in kept_masters:
        secrets, _binding = crypto.open_bundle(private, sealed, generation, store_id, slot_id)
        keyring[generation] = crypto.derive_keys(secrets, generation, store_id)
    assert list(keyring) == [1]
    with pytest.raises(IntegrityError):
        crypto.unseal(keyring, store_id, "students", after["id"], new_blob)
    # Relabelling the ciphertext as generation 1 does not help.
    relabelled = new_blob[:1] + (1).to_bytes(4, "big") + new_blob[5:]
    with pytest.raises(IntegrityError):
        crypto.unseal(keyring, store_id, "students", after["id"], relabelled)
    # Records from before the removal were re-encrypted as well.
    old_blob = conn.execute("SELECT data FROM students WHERE id = ?", (before["id"],)).fetchone()[0]
    with pytest.raises(IntegrityError):
        crypto.unseal(keyring, store_id, "students", before["id"], old_blob)
    # His old blind-index key does not find students either.
    old_bi = crypto.blind_index(keyring[1], crypto.normalise_student_no(after["student_no"]))
    assert conn.execute("SELECT count(*) FROM students WHERE student_no_bi = ?", (old_bi,)).fetchone()[0] == 0
    conn.close()


def test_admin_cannot_remove_the_last_admin_or_themselves(store_env):
    store_env.add_staff("clerk1", "clerk")
    result = store_env.cli("staff", "remove", "admin")
    assert result.exit_code == 1 and "cannot remove yourself" in result.stderr
    with store_env.open() as store:
        assert store.meta("generation") == "1"


def test_own_credential_change_retires_the_old_key_file(store_env):
    clerk = store_env.add_staff("clerk1", "clerk")
    new_key = store_env.tmp / "clerk1-new.key"
    clerk.ok("staff", "passwd", "--key-file", str(new_key))
    assert clerk("audit", "head").exit_code == 4, "the old key file must stop working"
    renewed = type(clerk)(env={**clerk.env, "MHTOOL_KEY_FILE": str(new_key)})
    assert renewed("audit", "head").exit_code == 5  # opens the store; clerks may not read the audit log
    assert [d["details"]["attempted"] for d in _denials(store_env, "clerk1")] == ["audit.head"]
