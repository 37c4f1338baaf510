"""The write path of bulk work: keys read once per transaction, inserts sent in batches, and nothing lost by either.

A survey import seals tens of thousands of records in one transaction. The
generation it seals with is read once under the transaction's lock (not twice
per record), yet a rotation another process started is still refused, and a
transaction that starts a rotation itself seals what follows with the new
keys. Inserts inside ``Txn.bulk()`` go to SQLite with executemany, and every
read of the store inside the transaction still sees them.
"""

from __future__ import annotations

from datetime import date

import pytest

from mhtool.errors import StoreError
from mhtool.store import admin, crypto
from mhtool.store.crypto import sealed_generation
from tests.store.storetools import add_students, raw


class Interrupted(Exception):
    pass


def _meta_reads(store):
    statements = []
    store.conn.set_trace_callback(statements.append)
    return statements


def test_a_transaction_reads_the_write_generation_once_however_many_records_it_seals(store_env):
    with store_env.open() as store:
        statements = _meta_reads(store)
        with store.write("test.many") as txn:
            for i in range(60):
                txn.insert("hospitals", {"name": f"医院{i}"}, audit=False)
        store.conn.set_trace_callback(None)
    reads = [s for s in statements if "FROM meta" in s]
    # Without the cache: two reads (rotation target, generation) per seal, 120 and more.
    assert 1 <= len(reads) <= 2, reads


def test_a_rotation_started_by_another_process_is_refused_not_sealed_under_the_old_key(store_env, monkeypatch):
    with store_env.open() as store:
        add_students(store, 3, prefix="K")
    monkeypatch.setattr(admin, "ROTATION_BATCH", 1)
    with store_env.open() as early:
        with early.write("test.before") as txn:
            txn.insert("hospitals", {"name": "第一医院"})

        def stop(done, total):
            raise Interrupted

        with store_env.open() as other, pytest.raises(Exception):
            admin.rotate_master_key(other, progress=stop)
        conn = raw(store_env.path)
        assert conn.execute("SELECT value FROM meta WHERE key = 'rotation_target'").fetchone()[0] == "2"
        count = conn.execute("SELECT count(*) FROM hospitals").fetchone()[0]
        conn.close()

        # The session opened before the rotation holds no key of generation 2: it must not seal under generation 1.
        with pytest.raises(StoreError, match="rotation is in progress"):
            with early.write("test.after") as txn:
                txn.insert("hospitals", {"name": "第二医院"})
    conn = raw(store_env.path)
    assert conn.execute("SELECT count(*) FROM hospitals").fetchone()[0] == count
    conn.close()


def test_a_transaction_that_starts_a_rotation_seals_what_follows_with_the_new_keys(store_env):
    with store_env.open() as store:
        store.keyring[2] = crypto.derive_keys(crypto.new_generation_secrets(), 2, store.store_id)
        with store.write("test.rotation-start") as txn:
            first = txn.insert("hospitals", {"name": "旧钥匙"})
            txn.execute("UPDATE meta SET value = '2' WHERE key = 'rotation_target'")
            second = txn.insert("hospitals", {"name": "新钥匙"})
            blobs = dict(txn.execute("SELECT id, data FROM hospitals").fetchall())
            txn.execute("UPDATE meta SET value = NULL WHERE key = 'rotation_target'")
            third = txn.insert("hospitals", {"name": "又是旧钥匙"})
            blobs.update(txn.execute("SELECT id, data FROM hospitals WHERE id = ?", (third,)).fetchall())
        assert sealed_generation(bytes(blobs[first])) == 1
        assert sealed_generation(bytes(blobs[second])) == 2
        assert sealed_generation(bytes(blobs[third])) == 1


def test_inserts_held_by_bulk_are_seen_by_every_read_inside_the_transaction(store_env):
    with store_env.open() as store:
        with store.write("test.bulk") as txn:
            with txn.bulk():
                ids = [txn.insert("hospitals", {"name": f"医院{i}"}, audit=False) for i in range(5)]
                assert store.hospitals.count() == 5
                assert store.hospitals.get(ids[3])["name"] == "医院3"
                student = store.students.add(txn, "B20260001", {"student_no": "B20260001", "name": "批量"}, audit=False)
                task = store.tasks.add(txn, student, "interview", date(2026, 12, 1), {"proposed_level": "yellow"})
                assert store.find_student("B20260001")["id"] == student
                assert [t["id"] for t in store.tasks.open()] == [task]
        assert {h["name"] for h in store.hospitals.all()} == {f"医院{i}" for i in range(5)}
    store_env.cli.ok("audit", "verify", "--deep")


def test_an_error_inside_bulk_writes_nothing(store_env):
    with store_env.open() as store:
        before = store.hospitals.count()
        with pytest.raises(RuntimeError), store.write("test.bulk-error") as txn, txn.bulk():
            for i in range(4):
                txn.insert("hospitals", {"name": f"医院{i}"})
            raise RuntimeError("stop")
        assert store.hospitals.count() == before
    store_env.cli.ok("audit", "verify", "--deep")
