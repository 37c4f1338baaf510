"""`mhtool upgrade`: a first-format store (one key for every role) becomes keys per role, with nothing lost."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.store.storetools import error_lines, raw

FIXTURE = Path(__file__).parent.parent / "fixtures" / "format1"


@pytest.fixture
def old_store(tmp_path) -> Path:
    for name in ("store.db", "admin.key", "clerk.key", "counselor.key"):
        shutil.copy(FIXTURE / name, tmp_path / name)
        os.chmod(tmp_path / name, 0o600)
    return tmp_path


def as_(folder: Path, who: str) -> Cli:
    return Cli(env={"MHTOOL_STORE": str(folder / "store.db"), "MHTOOL_KEY_FILE": str(folder / f"{who}.key"), "MHTOOL_USER": f"demo-{who}"})


def _rows(path: Path, table: str) -> int:
    conn = raw(path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def test_a_first_format_store_is_refused_with_the_way_forward_and_left_alone(old_store):
    before = (old_store / "store.db").read_bytes()
    result = as_(old_store, "counselor")("cases", "list")
    assert result.exit_code == 1 and "mhtool upgrade" in result.stderr and "Traceback" not in result.stderr
    clerk = as_(old_store, "clerk")("upgrade")
    assert clerk.exit_code == 5 and "only an admin" in clerk.stderr
    assert (old_store / "store.db").read_bytes() == before
    assert not (old_store / "store.db.format1-backup").exists()


def test_the_upgrade_keeps_every_record_and_every_key_and_splits_the_clinical_part(old_store):
    store = old_store / "store.db"
    counts = {t: _rows(store, t) for t in ("students", "entries", "tasks", "watches", "responses", "referrals", "audit")}
    result = as_(old_store, "admin")("upgrade")
    assert result.exit_code == 0, result.stderr
    backup = old_store / "store.db.format1-backup"
    assert backup.exists() and oct(backup.stat().st_mode & 0o777) == "0o600"
    conn = sqlite3.connect(backup)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    # Nothing lost: the same rows, one audit entry more (the upgrade), and the old entries' MACs still verify.
    assert _rows(store, "audit") == counts["audit"] + 1
    for t in ("students", "entries", "tasks", "watches", "responses", "referrals"):
        assert _rows(store, t) == counts[t]
    check = as_(old_store, "admin")("check", "--json")
    assert check.exit_code == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["records_checked"] >= sum(counts[t] for t in counts if t != "audit")
    # Every staff member's existing key file still opens the store, with their role's keys only.
    counselor = json.loads(as_(old_store, "counselor").ok("cases", "list", "--json").stdout)
    assert counselor
    student = counselor[0]["student_no"]
    seen = json.loads(as_(old_store, "counselor").ok("cases", "show", student, "--json").stdout)
    interviews = [i for i in seen["timeline"] if i["kind"] == "interview"]
    assert interviews and all(i["fields"].get("findings") for i in interviews)
    from mhtool.store.core import Store
    from tests.store.storetools import key_credential

    with Store.open(store, key_credential(old_store / "clerk.key"), "demo-clerk") as clerk:
        assert "clinical" not in clerk.write_keys.secrets
        findings = [e for e in clerk.entries.all() if e["kind"] == "interview" and e["fields"].get("findings")]
        assert findings == []
    conn = raw(store)
    assert conn.execute("SELECT count(*) FROM entries WHERE clin IS NOT NULL").fetchone()[0] > 0
    conn.close()


def test_a_damaged_record_stops_the_upgrade_and_leaves_the_store_as_it_was(old_store):
    store = old_store / "store.db"
    conn = raw(store)
    rid, blob = conn.execute("SELECT id, data FROM entries ORDER BY rowid DESC LIMIT 1").fetchone()
    damaged = bytearray(blob)
    damaged[30] ^= 0x01
    conn.execute("UPDATE entries SET data = ? WHERE id = ?", (bytes(damaged), rid))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = store.read_bytes()
    result = as_(old_store, "admin")("upgrade")
    assert result.exit_code == 1 and f"entries/{rid}" in error_lines(result.stderr)[0]
    conn = raw(store)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    assert store.read_bytes() == before
    assert not (old_store / "store.db.format1-backup").exists()
