"""Sealed records: tampering and moved ciphertexts are caught, and nothing personal is ever at rest in clear."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import pytest

from mhtool.errors import IntegrityError
from tests.store.storetools import add_students, companions, error_lines, raw, scan


def _blob(path: Path, table: str, record_id: str) -> bytes:
    conn = raw(path)
    try:
        return bytes(conn.execute(f"SELECT data FROM {table} WHERE id = ?", (record_id,)).fetchone()[0])
    finally:
        conn.close()


def _set_blob(path: Path, table: str, record_id: str, value) -> None:
    conn = raw(path)
    try:
        assert conn.execute(f"UPDATE {table} SET data = ? WHERE id = ?", (value, record_id)).rowcount == 1
    finally:
        conn.close()


def _flip(blob: bytes, position: int) -> bytes:
    b = bytearray(blob)
    b[position] ^= 0x01
    return bytes(b)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: _flip(b, 0),  # format version
        lambda b: _flip(b, 4),  # key generation
        lambda b: _flip(b, 9),  # nonce
        lambda b: _flip(b, 17),  # first ciphertext byte
        lambda b: _flip(b, len(b) // 2),
        lambda b: _flip(b, len(b) - 1),  # GCM tag
        lambda b: b[:-1],  # truncated
        lambda b: b[:20],
        lambda b: "not a blob",
    ],
    ids=["version", "generation", "nonce", "ciphertext-start", "ciphertext-middle", "tag", "truncated-1", "truncated-20", "text"],
)
def test_tampered_student_record_raises_integrity_error_naming_it(store_env, tamper):
    with store_env.open() as store:
        students = add_students(store, 3, name="篡改测试")
    victim = students[1]
    _set_blob(store_env.path, "students", victim["id"], tamper(_blob(store_env.path, "students", victim["id"])))

    with store_env.open() as store:
        where = f"students/{victim['id']}"
        with pytest.raises(IntegrityError, match=where):
            store.students.get(victim["id"])
        with pytest.raises(IntegrityError, match=where):
            sorted(store.students.all(), key=lambda r: r["id"])
        with pytest.raises(IntegrityError, match=where):
            store.find_student(victim["student_no"])
        # The damage is confined to that one record.
        for other in (students[0], students[2]):
            assert store.students.get(other["id"])["name"] == other["name"]
            assert store.find_student(other["student_no"])["id"] == other["id"]


def test_select_returns_no_partial_list_when_one_row_is_damaged(store_env):
    with store_env.open() as store:
        students = add_students(store, 10)
    # Damage a row in the middle of the result order so a partial result would have content.
    victim = sorted(students, key=lambda s: s["id"])[5]
    _set_blob(store_env.path, "students", victim["id"], _flip(_blob(store_env.path, "students", victim["id"]), 30))
    with store_env.open() as store:
        got = "not assigned"
        with pytest.raises(IntegrityError):
            got = sorted(store.students.all(), key=lambda r: r["id"])
        assert got == "not assigned"


def test_cli_reports_a_damaged_record_in_one_line_with_exit_1(store_env):
    store_env.add_staff("bob", "counselor")
    conn = raw(store_env.path)
    bob_id = conn.execute("SELECT id FROM staff WHERE name = 'bob'").fetchone()[0]
    conn.close()
    _set_blob(store_env.path, "staff", bob_id, _flip(_blob(store_env.path, "staff", bob_id), 25))

    result = store_env.cli("staff", "list")
    assert result.exit_code == 1
    assert result.stdout == "", "no partial table may be printed"
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    errors = error_lines(result.stderr)
    assert len(errors) == 1 and f"staff/{bob_id}" in errors[0], result.stderr
    assert "unexpected" not in result.stderr
    # The message and its hint, after the warning every command gives while a staff record is damaged.
    lines = result.stderr.strip().splitlines()
    warnings = [line for line in lines if line.startswith("warning: tampering")]
    assert len(warnings) == 1 and f"staff/{bob_id}" in warnings[0]
    assert len([line for line in lines if not line.startswith("warning:")]) <= 2

    # The same for a damaged audit entry read by `audit log`.
    conn = raw(store_env.path)
    seq, data = conn.execute("SELECT seq, data FROM audit ORDER BY seq LIMIT 1").fetchone()
    conn.execute("UPDATE audit SET data = ? WHERE seq = ?", (_flip(bytes(data), 40), seq))
    conn.close()
    result = store_env.cli("audit", "log", "--limit", "0")
    assert result.exit_code == 1 and result.stdout == ""
    errors = error_lines(result.stderr)
    assert len(errors) == 1 and f"audit/{seq}" in errors[0] and "Traceback" not in result.stderr


def test_ciphertext_moved_to_another_row_or_table_fails_to_open(store_env):
    with store_env.open() as store:
        a, b = add_students(store, 2, name="搬家")
        with store.write("test.entry") as txn:
            entry_id = txn.insert("entries", {"kind": "interview", "note": "谈话记录"}, columns={"student_id": a["id"], "on_date": "2026-11-20"})
    a_blob = _blob(store_env.path, "students", a["id"])

    # Same table, another row.
    _set_blob(store_env.path, "students", b["id"], a_blob)
    # Another table.
    _set_blob(store_env.path, "entries", entry_id, a_blob)
    with store_env.open() as store:
        with pytest.raises(IntegrityError, match=f"students/{b['id']}"):
            store.students.get(b["id"])
        with pytest.raises(IntegrityError, match=f"entries/{entry_id}"):
            store.entries.get(entry_id)
        with pytest.raises(IntegrityError):
            store.entries.all()
        # The original row is intact and still opens in place.
        assert store.students.get(a["id"])["name"] == a["name"]

    # A row whose id is changed to match a copied ciphertext does not open either.
    conn = raw(store_env.path)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("DELETE FROM entries")
    conn.execute("UPDATE students SET id = ? WHERE id = ?", ("f" * 16, a["id"]))
    conn.close()
    with store_env.open() as store:
        with pytest.raises(IntegrityError, match="students/" + "f" * 16):
            store.students.get("f" * 16)


def test_ciphertext_moved_into_another_store_fails_to_open(store_env, tmp_path):
    from mhtool.store.core import Store, create_store
    from mhtool.store.crypto import Credential, read_key_file

    with store_env.open() as store:
        (a,) = add_students(store, 1)
    a_row = raw(store_env.path).execute("SELECT id, student_no_bi, data FROM students").fetchone()
    other_path = tmp_path / "other" / "store.db"
    # The same key file opens both stores, yet each has its own store id and master key.
    create_store(other_path, "admin", Credential(key_material=read_key_file(store_env.admin_key)))
    conn = raw(other_path)
    conn.execute("INSERT INTO students (id, student_no_bi, data) VALUES (?, ?, ?)", a_row)
    conn.close()
    with Store.open(other_path, Credential(key_material=read_key_file(store_env.admin_key)), "admin") as other:
        with pytest.raises(IntegrityError, match=f"students/{a['id']}"):
            other.students.get(a["id"])


# -- no plaintext at rest -------------------------------------------------------------------------


def _canaries(n: int) -> tuple[list[dict], list[str]]:
    tag = secrets.token_hex(4).upper()
    people = []
    for i in range(n):
        people.append(
            {
                "student_no": f"CANARY{tag}{i:04d}",
                "name": f"金丝雀{'甲乙丙丁戊己庚辛壬癸'[i % 10]}{tag}",
                "college": "隐私测试学院",
                "phone": f"139{secrets.randbelow(10**8):08d}",
                "note": f"家长电话已联系，情绪低落{tag}",
            }
        )
    strings = [s for p in people for s in (p["student_no"], p["name"], p["phone"], p["note"])] + ["隐私测试学院"]
    return people, strings


def _write_canaries(store, people) -> list[str]:
    ids = []
    with store.write("test.add") as txn:
        for p in people:
            ids.append(txn.insert("students", p, columns={"student_no_bi": store.student_no_index(p["student_no"])}))
    return ids


def test_scan_finds_plaintext_when_it_is_there(tmp_path, store_env):
    """Control: the same scan does see a canary written without encryption, in every encoding."""
    _, strings = _canaries(3)
    plain = tmp_path / "plain.db"
    conn = sqlite3.connect(plain)
    conn.execute("CREATE TABLE t (v TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", (strings[1],))
    conn.commit()
    conn.close()
    assert (plain.name, strings[1], "utf-8") in scan([plain], strings)
    for enc in ("utf-16-le", "utf-16-be"):
        f = tmp_path / f"plain-{enc}.bin"
        f.write_bytes(b"\x00junk" + strings[0].encode(enc) + b"junk")
        assert (f.name, strings[0], enc) in scan([f], strings)

    # And inside an mhtool store file, in a column SQL keeps in the clear.
    conn = raw(store_env.path)
    conn.execute("INSERT INTO meta (key, value) VALUES ('leak', ?)", (strings[2],))
    conn.close()
    assert any(hit[1] == strings[2] for hit in scan(companions(store_env.path), strings))


def test_no_plaintext_in_store_wal_shm_or_backup(store_env, tmp_path):
    people, strings = _canaries(30)
    store = store_env.open()
    try:
        ids = _write_canaries(store, people)
        # Updates and reads leave older page images in the WAL; they are sealed too.
        with store.write("test.update") as txn:
            for rid, p in zip(ids[:10], people[:10]):
                txn.update("students", rid, {**p, "level": "red", "note": p["note"] + "（复评）"})
        assert store.find_student(people[3]["student_no"])["name"] == people[3]["name"]
        store.audit_read("test.read", targets=[f"students/{ids[3]}"], details={"why": "回访"})

        wal = Path(f"{store_env.path}-wal")
        assert wal.exists() and wal.stat().st_size > 0, "the scan must cover a live WAL"
        files = companions(store_env.path)
        assert len(files) == 3
        assert scan(files, strings) == []

        assert store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
        assert scan(companions(store_env.path), strings) == []
    finally:
        store.close()
    assert scan(companions(store_env.path), strings) == []

    backup = tmp_path / "backup.db"
    store_env.cli.ok("backup", str(backup))
    assert backup.stat().st_size > 0
    assert scan([backup, *companions(backup)[1:]], strings) == []
    # The backup does hold the records (sealed): it opens and finds them.
    from mhtool.store.core import Store
    from mhtool.store.crypto import Credential, read_key_file

    with Store.open(backup, Credential(key_material=read_key_file(store_env.admin_key)), "admin", readonly=True) as copy:
        assert copy.find_student(people[7]["student_no"])["name"] == people[7]["name"]
    assert scan(companions(store_env.path), strings) == []
