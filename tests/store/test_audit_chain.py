"""The audit chain: any edit, deletion or reordering is reported at its first broken position;
a saved head catches a truncated tail or an older copy put back in place."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.store.storetools import add_students, error_lines, raw

WRITES = 7  # entries 2..8 after `init` wrote entry 1


@pytest.fixture
def chain(store_env):
    with store_env.open() as store:
        for i in range(WRITES):
            add_students(store, 1, prefix=f"A{i}-")
    conn = raw(store_env.path)
    assert [r[0] for r in conn.execute("SELECT seq FROM audit ORDER BY seq")] == list(range(1, WRITES + 2))
    conn.close()
    return store_env


def _row(conn, seq):
    return conn.execute("SELECT seq, at, generation, data, mac FROM audit WHERE seq = ?", (seq,)).fetchone()


def _flip(value: bytes, i: int) -> bytes:
    b = bytearray(value)
    b[i] ^= 0x80
    return bytes(b)


def flip_mac(conn, seq):
    conn.execute("UPDATE audit SET mac = ? WHERE seq = ?", (_flip(_row(conn, seq)[4], 7), seq))


def flip_data(conn, seq):
    conn.execute("UPDATE audit SET data = ? WHERE seq = ?", (_flip(_row(conn, seq)[3], 30), seq))


def swap_data(conn, seq):
    a, b = _row(conn, seq), _row(conn, seq + 1)
    conn.execute("UPDATE audit SET data = ? WHERE seq = ?", (b[3], seq))
    conn.execute("UPDATE audit SET data = ? WHERE seq = ?", (a[3], seq + 1))


def swap_entries(conn, seq):
    # Data and MAC move together: each entry is whole, only the order is wrong.
    a, b = _row(conn, seq), _row(conn, seq + 1)
    conn.execute("UPDATE audit SET at = ?, generation = ?, data = ?, mac = ? WHERE seq = ?", (*b[1:], seq))
    conn.execute("UPDATE audit SET at = ?, generation = ?, data = ?, mac = ? WHERE seq = ?", (*a[1:], seq + 1))


def swap_seq(conn, seq):
    conn.execute("UPDATE audit SET seq = -1 WHERE seq = ?", (seq,))
    conn.execute("UPDATE audit SET seq = ? WHERE seq = ?", (seq, seq + 1))
    conn.execute("UPDATE audit SET seq = ? WHERE seq = -1", (seq + 1,))


def change_generation(conn, seq):
    conn.execute("UPDATE audit SET generation = 2 WHERE seq = ?", (seq,))


def delete_entry(conn, seq):
    conn.execute("DELETE FROM audit WHERE seq = ?", (seq,))


def replace_with_copy_of_previous(conn, seq):
    # An attacker cannot seal a new entry, but can duplicate an old one over the one they dislike.
    prev = _row(conn, seq - 1)
    conn.execute("UPDATE audit SET at = ?, generation = ?, data = ?, mac = ? WHERE seq = ?", (*prev[1:], seq))


TAMPERINGS = [flip_mac, flip_data, swap_data, swap_entries, swap_seq, change_generation, delete_entry, replace_with_copy_of_previous]


def _verify(env, *args):
    result = env.cli("audit", "verify", "--json", *args)
    report = json.loads(result.stdout) if result.stdout.strip() else None
    return result, report


def test_untouched_chain_verifies(chain):
    result, report = _verify(chain)
    assert result.exit_code == 0, result.stderr
    assert report["ok"] is True and report["entries"] == WRITES + 1 and report["broken_at"] is None
    # Verifying is itself audited, and the chain stays valid after it.
    result, report = _verify(chain)
    assert report["ok"] and report["entries"] == WRITES + 2


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=[t.__name__ for t in TAMPERINGS])
@pytest.mark.parametrize("position", [2, 5])
def test_tampering_is_reported_at_the_first_broken_position(chain, tamper, position):
    conn = raw(chain.path)
    tamper(conn, position)
    # A second, later break must not hide the first one.
    flip_mac(conn, position + 2)
    conn.close()

    result, report = _verify(chain)
    assert result.exit_code == 1
    assert report["ok"] is False and report["broken_at"] == position, report
    errors = error_lines(result.stderr)
    assert len(errors) == 1 and f"broken at entry {position}" in errors[0], result.stderr
    assert "Traceback" not in result.stderr

    if position == 5:
        # Without --json the verdict is the same.
        plain = chain.cli("audit", "verify")
        assert plain.exit_code == 1 and f"entry {position}" in plain.stderr and "ok" not in plain.stdout


def test_truncated_tail_passes_plain_verify_but_not_the_saved_head(chain):
    head = chain.cli.ok("audit", "head").stdout.strip()
    seq, mac = head.split(":")
    assert int(seq) == WRITES + 1 and len(mac) == 64

    conn = raw(chain.path)
    conn.execute("DELETE FROM audit WHERE seq >= ?", (WRITES,))
    conn.commit()
    conn.close()
    # The record digests those entries committed to still name them: the cut shows without a saved head.
    result, report = _verify(chain)
    assert result.exit_code == 1 and report["ok"] is False
    assert f"audit entry {WRITES}, which the chain does not hold" in report["reason"]

    # An attacker who also removes those digests leaves a chain that is internally consistent...
    conn = raw(chain.path)
    conn.execute("DELETE FROM ledger WHERE seq >= ?", (WRITES,))
    conn.commit()
    conn.close()
    result, report = _verify(chain)
    assert result.exit_code == 0 and report["ok"]
    # ...but the head kept outside the store shows that entries are gone.
    result, report = _verify(chain, "--head", head)
    assert result.exit_code == 1
    assert report["ok"] is False
    assert "removed from the end or an older copy" in result.stderr or "differs from the saved head" in result.stderr

    # Even once new entries fill the gap, the saved head no longer matches.
    with chain.open() as store:
        for _ in range(4):
            store.audit_read("test.read")
    result, report = _verify(chain, "--head", head)
    assert result.exit_code == 1 and report["broken_at"] == int(seq)
    assert f"entry {seq} differs from the saved head" in result.stderr


def test_current_head_verifies_and_a_malformed_head_is_a_usage_error(chain):
    head = chain.cli.ok("audit", "head").stdout.strip()
    result, report = _verify(chain, "--head", head)
    assert result.exit_code == 0 and report["ok"]
    assert chain.cli("audit", "verify", "--head", "not-a-head").exit_code == 2
    seq, mac = head.split(":")
    wrong = f"{seq}:{'0' * 64}"
    result, report = _verify(chain, "--head", wrong)
    assert result.exit_code == 1 and report["broken_at"] == int(seq)


def test_older_copy_put_back_is_caught_by_the_saved_head(chain, tmp_path):
    old = tmp_path / "old-backup.db"
    chain.cli.ok("backup", str(old))
    with chain.open() as store:
        add_students(store, 3, prefix="LATER")
    head = chain.cli.ok("audit", "head").stdout.strip()

    # Put back by copying files (what someone hiding the later work would do)...
    live = chain.path
    for suffix in ("-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(old, live)
    result, report = _verify(chain)
    assert result.exit_code == 0 and report["ok"], "an older copy is a valid chain by itself"
    result, report = _verify(chain, "--head", head)
    assert result.exit_code == 1 and report["ok"] is False
    with chain.open() as store:
        assert store.find_student("LATER00000") is None


def test_restore_of_an_older_backup_is_caught_by_the_saved_head(chain, tmp_path):
    old = tmp_path / "old-backup.db"
    chain.cli.ok("backup", str(old))
    with chain.open() as store:
        add_students(store, 3, prefix="LATER")
        for _ in range(10):
            store.audit_read("test.read")
    head = chain.cli.ok("audit", "head").stdout.strip()
    chain.cli.ok("restore", "--force", str(old))
    result, report = _verify(chain)
    assert result.exit_code == 0 and report["ok"]
    result, report = _verify(chain, "--head", head)
    assert result.exit_code == 1 and report["ok"] is False
