"""Helpers shared by the store tests: raw access to store files for tampering, snapshots, scans."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from mhtool.store.crypto import Credential, read_key_file

PYTHON = sys.executable

# A fixed, old modification time: any write after it is visible even on file
# systems with coarse timestamps.
OLD_MTIME_NS = 1_000_000_000 * 1_000_000_000


def companions(path: Path) -> list[Path]:
    """The store file and whichever of its -wal / -shm files exist."""
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def age(path: Path) -> None:
    """Set the store file (and its -wal, if any) to an old mtime before an operation that must not write."""
    for p in (path, Path(f"{path}-wal")):
        if p.exists():
            os.utime(p, ns=(OLD_MTIME_NS, OLD_MTIME_NS))


def snapshot(path: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of the store file and of its -wal, if present."""
    out = {}
    for p in (path, Path(f"{path}-wal")):
        if p.exists():
            out[p.name] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


def assert_unchanged(path: Path, before: dict[str, tuple[bytes, int]]) -> None:
    after = snapshot(path)
    for name, (data, mtime) in before.items():
        assert name in after, f"{name} disappeared"
        assert after[name][0] == data, f"{name} bytes changed"
        assert after[name][1] == mtime, f"{name} mtime changed"
    wal = Path(f"{path}-wal")
    if wal.name not in before and wal.exists():
        # A read-only SQLite connection may create an empty -wal; it must hold no frames.
        assert wal.stat().st_size == 0, "a -wal with content appeared"


def raw(path: Path) -> sqlite3.Connection:
    """A plain SQLite connection for editing the store behind mhtool's back."""
    return sqlite3.connect(path, isolation_level=None)


def key_credential(key: Path) -> Credential:
    return Credential(key_material=read_key_file(key), source="test")


def add_students(store, count: int, prefix: str = "S", name: str = "学生", **extra) -> list[dict]:
    """Insert students in one transaction; return [{id, student_no, name}]."""
    out = []
    with store.write("test.add") as txn:
        for i in range(count):
            no = f"{prefix}{i:05d}"
            record = {"student_no": no, "name": f"{name}{i}", **extra}
            rid = txn.insert("students", record, columns={"student_no_bi": store.student_no_index(no)})
            out.append({"id": rid, "student_no": no, "name": record["name"]})
    return out


def encodings(text: str) -> list[bytes]:
    return [text.encode("utf-8"), text.encode("utf-16-le"), text.encode("utf-16-be")]


def scan(paths, canaries) -> list[tuple[str, str, str]]:
    """Every (file, canary, encoding) where a canary occurs in a file's raw bytes."""
    hits = []
    for p in paths:
        data = Path(p).read_bytes()
        for canary in canaries:
            for enc, needle in zip(("utf-8", "utf-16-le", "utf-16-be"), encodings(canary)):
                if needle in data:
                    hits.append((Path(p).name, canary, enc))
    return hits


def run_python(code: str, *args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MHTOOL_")}
    full_env.update(env or {})
    return subprocess.run([PYTHON, "-c", code, *args], capture_output=True, text=True, timeout=timeout, env=full_env)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]
