"""Master-key rotation: every sealed row moves to the new generation, lookups and the audit chain
survive, and an interrupted rotation resumes to a consistent store."""

from __future__ import annotations

import json

import pytest

from mhtool.store import admin, schema
from mhtool.store.crypto import Credential, sealed_generation, write_key_file
from tests.store.storetools import add_students, raw


def _generations(path) -> dict[str, set[int]]:
    """The key generation named by every sealed blob, per table."""
    conn = raw(path)
    try:
        return {
            table: {sealed_generation(bytes(b)) for (b,) in conn.execute(f"SELECT data FROM {table}")}
            for table in schema.SEALED_TABLES
        }
    finally:
        conn.close()


def _populate(env, n=25):
    with env.open() as store:
        students = add_students(store, n, prefix="R", name="轮换")
        with store.write("test.entries") as txn:
            for s in students[:5]:
                txn.insert("entries", {"kind": "interview", "note": "约谈"}, columns={"student_id": s["id"], "on_date": "2026-11-20"})
            txn.insert("hospitals", {"name": "精神卫生中心"})
    return students


def _check_everything_opens(env, students, user=None, key=None):
    with env.open(user=user, key=key) as store:
        assert sorted(r["student_no"] for r in store.students.all()) == sorted(s["student_no"] for s in students)
        for s in students:
            # Student numbers are normalised before indexing: lower-case and full-width forms match too.
            for form in (s["student_no"], s["student_no"].lower(), " " + s["student_no"].translate({ord("R"): "Ｒ"}) + " "):
                found = store.find_student(form)
                assert found is not None and found["id"] == s["id"], form
        assert len(store.entries.all()) == min(5, len([s for s in students if s["student_no"].startswith("R")]))
        store.hospitals.all()
        store.staff_rows.all()


def test_rotate_key_reencrypts_every_row_and_keeps_everything_usable(store_env):
    store_env.add_staff("zhang", "counselor")
    students = _populate(store_env)
    head_before = store_env.cli.ok("audit", "head").stdout.strip()
    conn = raw(store_env.path)
    bi_before = dict(conn.execute("SELECT id, student_no_bi FROM students"))
    conn.close()
    assert {g for gens in _generations(store_env.path).values() for g in gens} == {1}

    store_env.cli.ok("staff", "rotate-key")

    gens = _generations(store_env.path)
    assert all(g == {2} for t, g in gens.items() if g), gens
    assert gens["students"] == gens["audit"] == gens["staff"] == gens["sealed_meta"] == {2}
    conn = raw(store_env.path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0] == "2"
    assert conn.execute("SELECT value FROM meta WHERE key = 'rotation_target'").fetchone()[0] is None
    assert {g for (g,) in conn.execute("SELECT DISTINCT generation FROM slot_masters")} == {2}
    bi_after = dict(conn.execute("SELECT id, student_no_bi FROM students"))
    conn.close()
    assert bi_after.keys() == bi_before.keys()
    assert all(bi_after[k] != bi_before[k] for k in bi_before), "blind indexes must be recomputed with the new key"

    _check_everything_opens(store_env, students)
    # The other staff member's slot received the new generation too.
    _check_everything_opens(store_env, students, user="zhang", key=store_env.tmp / "zhang.key")

    result = store_env.cli("audit", "verify", "--head", head_before, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["ok"]

    # A second rotation keeps the first generation's audit key archived.
    store_env.cli.ok("staff", "rotate-key")
    assert all(g == {3} for g in _generations(store_env.path).values() if g)
    _check_everything_opens(store_env, students)
    store_env.cli.ok("audit", "verify", "--head", head_before)


def test_audit_generation_column_cannot_be_swapped_after_rotation(store_env):
    _populate(store_env, 3)
    store_env.cli.ok("staff", "rotate-key")
    conn = raw(store_env.path)
    # Entry 2 was MACed under generation 1; claiming generation 2 must not verify.
    conn.execute("UPDATE audit SET generation = 2 WHERE seq = 2")
    conn.close()
    result = store_env.cli("audit", "verify", "--json")
    assert result.exit_code == 1 and json.loads(result.stdout)["broken_at"] == 2


class Interrupted(Exception):
    pass


def test_interrupted_rotation_resumes_and_ends_consistent(store_env, monkeypatch):
    students = _populate(store_env, 40)
    head_before = store_env.cli.ok("audit", "head").stdout.strip()
    monkeypatch.setattr(admin, "ROTATION_BATCH", 7)
    calls = []

    def crash_halfway_through_students(done, total):
        # Called after each committed batch; stop once the students table is half re-encrypted.
        calls.append((done, total))
        if _generations(store_env.path)["students"] == {1, 2}:
            raise Interrupted

    with store_env.open() as store:
        with pytest.raises(Interrupted):
            admin.rotate_master_key(store, progress=crash_halfway_through_students)
    assert calls and calls[-1][0] < calls[-1][1]

    gens = _generations(store_env.path)
    everything = {g for gs in gens.values() for g in gs}
    assert everything == {1, 2}, "the rotation must really be half done"
    assert store_env.cli.ok("info", "--json", env={"MHTOOL_KEY_FILE": None}).stdout.count('"rotation_in_progress": true') == 1

    # Mid-rotation the store stays fully usable: both generations open, both indexes match,
    # and new records go straight to the new generation.
    _check_everything_opens(store_env, students)
    with store_env.open() as store:
        (late,) = add_students(store, 1, prefix="MID", name="轮换中")
        blob = store.conn.execute("SELECT data FROM students WHERE id = ?", (late["id"],)).fetchone()[0]
        assert sealed_generation(bytes(blob)) == 2
    students.append(late)

    # A removal cannot start while a rotation is unfinished.
    store_env.add_staff("zhang", "counselor")
    result = store_env.cli("staff", "remove", "zhang")
    assert result.exit_code == 1 and "already in progress" in result.stderr

    monkeypatch.setattr(admin, "ROTATION_BATCH", 2000)
    store_env.cli.ok("staff", "rotate-key")

    assert all(g == {2} for g in _generations(store_env.path).values() if g)
    conn = raw(store_env.path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0] == "2"
    assert conn.execute("SELECT value FROM meta WHERE key = 'rotation_target'").fetchone()[0] is None
    assert {g for (g,) in conn.execute("SELECT DISTINCT generation FROM slot_masters")} == {2}
    conn.close()
    _check_everything_opens(store_env, students)
    _check_everything_opens(store_env, students, user="zhang", key=store_env.tmp / "zhang.key")
    store_env.cli.ok("audit", "verify", "--head", head_before)
    # The removal can go ahead now.
    store_env.cli.ok("staff", "remove", "zhang")
    _check_everything_opens(store_env, students)


def test_staff_added_after_a_rotation_in_the_same_session_get_only_the_current_key(store_env):
    students = _populate(store_env, 3)
    new_key = store_env.tmp / "late.key"
    with store_env.open() as store:
        admin.rotate_master_key(store)
        admin.add_staff(store, "late", "counselor", Credential(key_material=write_key_file(new_key), source="test"))
    conn = raw(store_env.path)
    # A retired master key would open every backup taken before the rotation.
    assert {g for (g,) in conn.execute("SELECT DISTINCT generation FROM slot_masters")} == {2}
    conn.close()
    _check_everything_opens(store_env, students, user="late", key=new_key)
