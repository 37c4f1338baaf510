"""Backup and restore: restore never clobbers without --force, and a damaged backup never replaces a store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.store.storetools import add_students, age, assert_unchanged, error_lines, snapshot


@pytest.fixture
def backed_up(store_env, tmp_path):
    """A store with 5 students, a backup of it, then 3 more students in the live store."""
    with store_env.open() as store:
        early = add_students(store, 5, prefix="EARLY", name="备份前")
    backup = tmp_path / "backups" / "store-backup.db"
    backup.parent.mkdir()
    store_env.cli.ok("backup", str(backup))
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    with store_env.open() as store:
        late = add_students(store, 3, prefix="LATE", name="备份后")
    return store_env, backup, early, late


def test_backup_refuses_to_overwrite_a_file(backed_up):
    env, backup, *_ = backed_up
    before = backup.read_bytes()
    result = env.cli("backup", str(backup))
    assert result.exit_code == 1 and "already exists" in result.stderr
    assert backup.read_bytes() == before


def test_restore_refuses_to_clobber_without_force(backed_up):
    env, backup, early, late = backed_up
    age(env.path)
    before = snapshot(env.path)
    result = env.cli("restore", str(backup))
    assert result.exit_code == 1
    assert "--force" in result.stderr
    assert_unchanged(env.path, before)
    with env.open() as store:
        assert store.find_student(late[0]["student_no"]) is not None


def test_restore_with_force_replaces_the_store(backed_up):
    env, backup, early, late = backed_up
    env.cli.ok("restore", "--force", str(backup))
    with env.open() as store:
        assert store.students.count() == len(early)
        for s in early:
            assert store.find_student(s["student_no"])["name"] == s["name"]
        assert store.find_student(late[0]["student_no"]) is None
    assert json.loads(env.cli.ok("audit", "verify", "--json").stdout)["ok"]
    actions = [e["action"] for e in json.loads(env.cli.ok("audit", "log", "--limit", "0", "--json").stdout)]
    assert "restore" in actions and actions.index("backup") < actions.index("restore")


def test_restore_into_a_new_path(backed_up, tmp_path):
    env, backup, early, _ = backed_up
    target = tmp_path / "restored" / "store.db"
    target.parent.mkdir()
    env.cli.ok("restore", str(backup), env={"MHTOOL_STORE": str(target)})
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    from mhtool.store.core import Store
    from mhtool.store.crypto import Credential, read_key_file

    with Store.open(target, Credential(key_material=read_key_file(env.admin_key)), "admin") as store:
        assert store.students.count() == len(early)


def _flip_at(path: Path, offset: int, mask: int = 0xFF) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= mask
    path.write_bytes(bytes(data))


def _offset_of_sealed_student(backup: Path, student_id: str) -> int:
    conn = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    blob = bytes(conn.execute("SELECT data FROM students WHERE id = ?", (student_id,)).fetchone()[0])
    conn.close()
    offset = backup.read_bytes().find(blob[20:52])
    assert offset > 0
    return offset + 5


def _page_size(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:18], "big")


def _offset_of_table_root(backup: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    conn.close()
    return (root - 1) * _page_size(backup)


CORRUPTIONS = {
    # A flipped bit inside a student's ciphertext: the file is a valid database.
    "sealed-student": lambda b, early: _offset_of_sealed_student(b, early[2]["id"]),
    "file-header": lambda b, early: 0,
    "page-size": lambda b, early: 16,
    "students-root-page": lambda b, early: _offset_of_table_root(b, "students"),
    "audit-root-page": lambda b, early: _offset_of_table_root(b, "audit") + 1,
    "staff-root-page-cell-pointers": lambda b, early: _offset_of_table_root(b, "staff") + 9,
}


@pytest.mark.parametrize("where", list(CORRUPTIONS))
def test_restore_refuses_a_damaged_backup_and_leaves_the_target_untouched(backed_up, where):
    env, backup, early, late = backed_up
    _flip_at(backup, CORRUPTIONS[where](backup, early))
    age(env.path)
    before = snapshot(env.path)

    result = env.cli("restore", "--force", str(backup))
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    errors = error_lines(result.stderr)
    assert len(errors) == 1, result.stderr
    assert str(backup) in errors[0]
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    assert_unchanged(env.path, before)
    with env.open() as store:
        assert store.find_student(late[0]["student_no"])["name"] == late[0]["name"]
