"""After erasure and the scrub, nothing of the erased student is left in the store file, its WAL or free pages.

Every value in the store is encrypted, so the plaintext canaries are never in
the file in the first place; what erasure must remove are the student's
sealed blobs, which anyone holding a key (or a key leaked later) could open.
The test captures those blobs before the erasure, shows that a byte scan
finds them (the control), erases, and scans again.
"""

from __future__ import annotations

import sqlite3

import pytest

from mhtool.store.repos import STUDENT_TABLES
from tests.governance import kit

HOSPITAL = "示例市精神卫生中心"
TABLES = [repository.table for repository in STUDENT_TABLES]


def sealed_blobs(path, student_id: str) -> list[bytes]:
    conn = sqlite3.connect(path)
    try:
        blobs = [conn.execute("SELECT data FROM students WHERE id = ?", (student_id,)).fetchone()[0]]
        for table in TABLES:
            blobs += [row[0] for row in conn.execute(f"SELECT data FROM {table} WHERE student_id = ?", (student_id,))]
        return blobs
    finally:
        conn.close()


def fingerprints(blob: bytes) -> list[bytes]:
    """Slices of a sealed value that no other value can share: nonce and ciphertext at the start, the tag at the end."""
    return [blob[5:37], blob[-32:]]


def found(data: bytes, blobs: list[bytes]) -> list[int]:
    return [i for i, blob in enumerate(blobs) if any(f in data for f in fingerprints(blob))]


@pytest.fixture
def victim(school_env, school):
    """The first canary student, with a watch, a note, a referral and two screening responses."""
    env = school_env
    s = school[0]
    env.cli.ok("referral", "hospitals", "add", HOSPITAL, "--department", "心理门诊")
    env.cli.ok("cases", "level", s["student_no"], "orange", "--reason", "约谈确认")
    env.cli.ok("cases", "note", s["student_no"], "--text", f"{s['name']} 宿舍 {s['dorm']} 监护人 {s['guardians'][0]['phone']}")
    env.cli.ok("referral", "add", s["student_no"], "--hospital", HOSPITAL, "--reason", "持续失眠")
    with env.open() as store:
        return s, store.students.find(s["student_no"])["id"]


@pytest.mark.parametrize("how", ["erase", "retention"])
def test_erased_blobs_are_gone_from_file_wal_and_free_pages(school_env, school, victim, how):
    env = school_env
    s, sid = victim
    blobs = sealed_blobs(env.path, sid)
    assert len(blobs) >= 8  # student, 2 responses, entries, tasks, watch, referral
    # Control: the scan does find the blobs while they are live, in the file or its WAL.
    assert found(kit.store_bytes(env.path), blobs) == list(range(len(blobs)))
    # And plaintext never reaches the disk at all.
    raw = kit.store_bytes(env.path)
    for canary in (s["name"], s["phone"], s["dorm"], s["student_no"], s["guardians"][0]["phone"]):
        assert canary.encode() not in raw

    if how == "erase":
        env.cli.ok("erase", s["student_no"], "--reason", "本人书面申请", "--yes")
    else:
        env.cli.ok("cases", "status", s["student_no"], "graduate", "--on", "2019-07-01")
        # Graduation re-seals the student row: capture that blob too.
        blobs += sealed_blobs(env.path, sid)
        env.cli.ok("retention", "apply", "--yes")

    raw = kit.store_bytes(env.path)
    assert found(raw, blobs) == []
    for canary in (s["name"], s["phone"], s["dorm"], s["student_no"]):
        assert canary.encode() not in raw
    conn = sqlite3.connect(env.path)
    try:
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    wal = env.path.with_name(env.path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    # Other students' data is still there and readable.
    with env.open() as store:
        other = store.students.find(school[1]["student_no"])
        assert other["name"] == school[1]["name"]
        assert len(store.responses.for_student(other["id"])) == 2


def test_without_the_scrub_the_old_blobs_would_survive(school_env, victim):
    """Why the scrub exists: a plain DELETE leaves the sealed blobs in the WAL."""
    env = school_env
    _, sid = victim
    blobs = sealed_blobs(env.path, sid)
    conn = sqlite3.connect(env.path, isolation_level=None)
    try:
        conn.execute("PRAGMA secure_delete = OFF")
        conn.execute("BEGIN")
        for table in TABLES:
            conn.execute(f"DELETE FROM {table} WHERE student_id = ?", (sid,))
        conn.execute("COMMIT")
        assert found(kit.store_bytes(env.path), blobs)
    finally:
        conn.close()
