"""Several OS processes writing at once, and a writer killed mid-transaction."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from mhtool.store import admin
from tests.store.storetools import PYTHON, add_students, raw

pytestmark = pytest.mark.slow

WORKERS = 4
WRITES = 100

_WRITER = r"""
import json, os, sys, time
from pathlib import Path
from mhtool.store.core import Store
from mhtool.store.crypto import Credential, read_key_file
path, key, worker, writes, go = sys.argv[1:6]
store = Store.open(path, Credential(key_material=read_key_file(key), source="test"), "admin")
Path(f"{go}.ready{worker}").touch()
deadline = time.monotonic() + 60
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit("never got the go signal")
    time.sleep(0.002)
Path(f"{go}.started{worker}").touch()
first_commit = None
for i in range(int(writes)):
    no = f"P{worker}-{i:04d}"
    with store.write("test.concurrent", details={"worker": worker}) as txn:
        # Read, then write, inside one transaction, as an import does for each row.
        if store.find_student(no) is not None:
            sys.exit(f"{no} already exists")
        txn.insert("students", {"student_no": no, "name": f"并发{worker}-{i}"}, columns={"student_no_bi": store.student_no_index(no)})
    if first_commit is None:
        first_commit = time.time()
store.close()
print(json.dumps({"first_commit": first_commit}))
"""


def _wait_for(paths, timeout, procs=()):
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        for proc in procs:
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"worker exited early ({proc.returncode}): {err}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {[str(p) for p in paths if not p.exists()]}")
        time.sleep(0.01)


def _env():
    return {k: v for k, v in os.environ.items() if not k.startswith("MHTOOL_")}


def test_four_processes_writing_at_once_lose_nothing_and_keep_the_chain(store_env, tmp_path):
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [PYTHON, "-c", _WRITER, str(store_env.path), str(store_env.admin_key), str(w), str(WRITES), str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        )
        for w in range(WORKERS)
    ]
    blocker = raw(store_env.path)
    try:
        _wait_for([Path(f"{go}.ready{w}") for w in range(WORKERS)], 60, procs)
        # Hold the write lock while all four start, so that every one of them must
        # wait for it (and then for each other) instead of failing with "database is locked".
        blocker.execute("BEGIN IMMEDIATE")
        go.touch()
        _wait_for([Path(f"{go}.started{w}") for w in range(WORKERS)], 60, procs)
        time.sleep(0.3)
        released = time.time()
        blocker.execute("ROLLBACK")
        results = [p.communicate(timeout=120) for p in procs]
    finally:
        blocker.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0, err
        assert "locked" not in err.lower() and "busy" not in err.lower()

    with store_env.open() as store:
        assert store.students.count() == WORKERS * WRITES
        for w in range(WORKERS):
            for i in (0, WRITES // 2, WRITES - 1):
                assert store.find_student(f"P{w}-{i:04d}")["name"] == f"并发{w}-{i}"
        report = admin.verify_audit(store, record=False)
        assert report.ok, report
        entries = admin.audit_entries(store)
    writes = [e for e in entries if e["action"] == "test.concurrent"]
    assert len(writes) == WORKERS * WRITES
    assert sorted(e["details"]["worker"] for e in writes) == sorted(str(w) for w in range(WORKERS) for _ in range(WRITES))
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1)), "the chain has no gaps"
    # Every worker's first write waited for the lock rather than failing.
    assert all(json.loads(out)["first_commit"] >= released for out, _ in results)
    result = store_env.cli("audit", "verify", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["entries"] == len(entries) + 1


_CRASHER = r"""
import sys, time
from pathlib import Path
from mhtool.store.core import Store
from mhtool.store.crypto import Credential, read_key_file
path, key, rows, ready = sys.argv[1:5]
store = Store.open(path, Credential(key_material=read_key_file(key), source="test"), "admin")
with store.write("test.crash") as txn:
    for i in range(int(rows)):
        no = f"CRASH{i:05d}"
        # Large enough rows that SQLite spills uncommitted pages into the WAL before the kill.
        txn.insert("students", {"student_no": no, "name": "中断", "note": "x" * 1500}, columns={"student_no_bi": store.student_no_index(no)})
    Path(ready).write_text("inside the transaction")
    time.sleep(120)
"""


def test_writer_killed_mid_transaction_leaves_a_consistent_store(store_env, tmp_path):
    with store_env.open() as store:
        committed = add_students(store, 5, prefix="KEEP")
    head = store_env.cli.ok("audit", "head").stdout.strip()
    ready = tmp_path / "ready"
    rows = 3000
    proc = subprocess.Popen(
        [PYTHON, "-c", _CRASHER, str(store_env.path), str(store_env.admin_key), str(rows), str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )
    try:
        _wait_for([ready], 60, [proc])
        wal = Path(f"{store_env.path}-wal")
        assert wal.exists() and wal.stat().st_size > 1_000_000, "uncommitted pages should have reached the WAL"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    with store_env.open() as store:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.students.count() == len(committed)
        assert store.find_student("CRASH00000") is None
        assert store.find_student(f"CRASH{rows - 1:05d}") is None
        for s in committed:
            assert store.find_student(s["student_no"])["name"] == s["name"]
        assert admin.verify_audit(store, head, record=False).ok
        assert all(e["action"] != "test.crash" for e in admin.audit_entries(store))
        # The store takes writes again.
        add_students(store, 1, prefix="AFTER")
    conn = raw(store_env.path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM students").fetchone()[0] == len(committed) + 1
    conn.close()
    store_env.cli.ok("audit", "verify", "--head", head)
