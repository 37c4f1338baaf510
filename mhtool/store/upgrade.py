"""Upgrade a store of the first format (one master key for every role) to keys per role, in place.

The first format sealed every record with keys derived from one master key
that every slot could unwrap. Upgrading needs an admin's credential, because
only an admin may hand out the new tiers. It keeps every staff member's key
slot (their passphrase or key file still opens it): the X25519 key pair each
slot wrapped becomes that member's key, and the new generation's tiers are
sealed to it with the member's binding. Every record is re-sealed in two parts
under the new keys, the audit chain keeps its MACs (the first format's audit
keys are archived so `audit verify` still checks the old entries), and the
ledger and open lists start from the upgraded rows.

One transaction: an interrupted upgrade leaves the store in the first format.
A copy of the store as it was is written beside it first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mhtool.errors import AuthenticationFailed, IntegrityError, PermissionDenied, StoreError
from mhtool.i18n import _
from mhtool.store import crypto, schema
from mhtool.store.core import Store, StaffMember, _connect, _slot_params, _utcnow, credential_refused, publish_directory
from mhtool.store.repos import index_columns

_V1_HEADER = 1 + 4 + 12


class _FirstFormat:
    """Just enough of the first format to read it: the master keys one slot unwraps, and its seals."""

    def __init__(self, store_id: str, masters: dict[int, bytes]):
        self.store_id = store_id

        def sub(master: bytes, info: bytes) -> bytes:
            return HKDF(algorithm=hashes.SHA256(), length=crypto.KEY_BYTES, salt=store_id.encode(), info=info).derive(master)

        self.record = {gen: AESGCM(sub(m, b"mhtool/record/v1")) for gen, m in masters.items()}
        self.audit_keys = {gen: sub(m, b"mhtool/audit/v1") for gen, m in masters.items()}

    def unseal(self, table: str, record_id: str, blob: bytes):
        blob = bytes(blob)
        cipher = self.record.get(int.from_bytes(blob[1:5], "big")) if len(blob) > _V1_HEADER and blob[0] == 1 else None
        if cipher is None:
            raise IntegrityError(
                _("sealed record {table}/{record_id} is not a readable first-format record; nothing was upgraded").format(table=table, record_id=record_id)
            )
        try:
            return json.loads(cipher.decrypt(blob[5:17], blob[17:], f"{self.store_id}|{table}|{record_id}".encode()))
        except InvalidTag:
            raise IntegrityError(
                _("sealed record {table}/{record_id} failed its integrity check; nothing was upgraded").format(table=table, record_id=record_id)
            ) from None


def _open_master(private, sealed: bytes, generation: int, store_id: str, slot_id: str) -> bytes:
    eph_pub, nonce, body = sealed[:32], sealed[32:44], sealed[44:]
    shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    info = f"mhtool/slot-master/{store_id}/{slot_id}/{generation}".encode()
    key = HKDF(algorithm=hashes.SHA256(), length=crypto.KEY_BYTES, salt=None, info=info).derive(shared)
    try:
        return AESGCM(key).decrypt(nonce, body, f"{store_id}|slot|{slot_id}|{generation}".encode())
    except InvalidTag:
        raise IntegrityError(
            _("key slot {slot} holds a damaged copy of master key generation {generation}").format(slot=slot_id, generation=generation)
        ) from None


def is_first_format(path: str | os.PathLike) -> bool:
    conn = _connect(Path(path), readonly=True)
    try:
        return schema.current_version(conn) < schema.FIRST_FORMAT_2_VERSION
    finally:
        conn.close()


def upgrade(path: str | os.PathLike, credential: crypto.Credential, user: str) -> dict:
    """Upgrade the first-format store at ``path`` as admin ``user``; returns what was done."""
    path = Path(path)
    conn = _connect(path)
    try:
        if schema.current_version(conn) >= schema.FIRST_FORMAT_2_VERSION:
            raise StoreError(_("{path} already keeps a key per role; there is nothing to upgrade").format(path=path))
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("rotation_target"):
            raise StoreError(_("a key rotation is in progress; finish it with the earlier mhtool first (`mhtool staff rotate-key`)"))
        store_id = meta["store_id"]
        old, masters, admin = _unlock(conn, store_id, credential, user)
        backup = path.with_name(path.name + ".format1-backup")
        if backup.exists():
            raise StoreError(_("{backup} already exists; move it away first (it is the copy an earlier upgrade attempt made)").format(backup=backup))
        conn.execute("VACUUM INTO ?", (str(backup),))
        os.chmod(backup, 0o600)
        generation = max(masters) + 1
        keys = crypto.derive_keys(crypto.new_generation_secrets(), generation, store_id)
        store = Store(path, conn, store_id, {generation: keys}, admin, meta.get("timezone") or "Asia/Shanghai")
        try:
            counts = _reseal_everything(store, old, generation)
        except BaseException:
            # The transaction rolled back: the store is as it was, so the copy is not needed.
            backup.unlink(missing_ok=True)
            raise
        from mhtool.store.admin import scrub

        scrub(store)
    finally:
        conn.close()
    return {"store": str(path), "generation": generation, "records": counts, "backup": str(backup), "slots_not_kept": counts.pop("_dropped")}


def _unlock(conn, store_id: str, credential: crypto.Credential, user: str) -> tuple[_FirstFormat, dict[int, bytes], StaffMember]:
    rows = conn.execute(
        "SELECT k.id, k.staff_id, k.params, k.wrapped_private FROM keyslots k JOIN staff s ON s.id = k.staff_id WHERE s.name = ?", (user,)
    ).fetchall()
    for slot_id, staff_id, params, wrapped in rows:
        slot = {"id": slot_id, "params": params}
        try:
            private = crypto.unlock_slot(credential, store_id, slot_id, _slot_params(slot), bytes(wrapped))
        except AuthenticationFailed:
            continue
        masters = {
            gen: _open_master(private, bytes(sealed), gen, store_id, slot_id)
            for gen, sealed in conn.execute("SELECT generation, sealed FROM slot_masters WHERE slot_id = ?", (slot_id,))
        }
        old = _FirstFormat(store_id, masters)
        data = conn.execute("SELECT data FROM staff WHERE id = ?", (staff_id,)).fetchone()[0]
        record = old.unseal("staff", staff_id, data)
        if record.get("role") != "admin":
            raise PermissionDenied(
                _("{user!r} is a {role}; only an admin may upgrade a store").format(user=user, role=record.get("role")), hint=_("run `mhtool upgrade` as an admin")
            )
        return old, masters, StaffMember(id=staff_id, name=user, role="admin", display_name=record.get("display_name") or user)
    raise AuthenticationFailed(credential_refused(credential, user))


def _reseal_everything(store: Store, old: _FirstFormat, generation: int) -> dict[str, int]:
    conn = store.conn
    counts: dict[str, int] = {}
    # Each member's key: the key pair their (first) slot wrapped; a second slot with another pair cannot be kept.
    member_key: dict[str, bytes] = {}
    for slot_id, staff_id, public in conn.execute("SELECT id, staff_id, public_key FROM keyslots ORDER BY rowid").fetchall():
        member_key.setdefault(staff_id, bytes(public))
    with store.write("store.upgrade", details={"to_generation": generation}) as txn:
        schema.migrate(conn)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (str(generation),))
        for table, key_col in schema.SEALED_TABLES.items():
            if table == "audit":
                continue
            plain = schema.PLAIN_COLUMNS[table]
            rows = conn.execute(f"SELECT {', '.join((key_col, 'data', *plain))} FROM {table}").fetchall()
            for row in rows:
                rid, blob = row[0], row[1]
                value = old.unseal(table, rid, blob)
                columns = index_columns(store, table, value)
                if table == "staff":
                    value["public_key"] = member_key.get(rid, b"").hex()
                elif table == "sealed_meta" and rid == "audit_keys":
                    value = {**value, **{str(g): k.hex() for g, k in old.audit_keys.items()}}
                txn.update(table, rid, value, columns=columns, audit=False)
            counts[table] = len(rows)
        if not conn.execute("SELECT 1 FROM sealed_meta WHERE key = 'audit_keys'").fetchone():
            txn.put_value("audit_keys", {str(g): k.hex() for g, k in old.audit_keys.items()})
        # The open lists start from the rows as they are.
        for table, flag in schema.OPEN_FLAGS.items():
            rows = conn.execute(f"SELECT id, {', '.join(schema.OPEN_COLUMNS[table])} FROM {table} WHERE {flag} IS NULL ORDER BY id")
            txn.put_value(f"open:{table}", {"rows": {r[0]: list(r[1:]) for r in rows}})
            txn.opened.pop(table, None)
        audit_rows = conn.execute("SELECT seq, data FROM audit").fetchall()
        for seq, blob in audit_rows:
            entry = old.unseal("audit", str(seq), blob)
            conn.execute("UPDATE audit SET data = ? WHERE seq = ?", (crypto.seal(store.write_keys, store.store_id, "audit", str(seq), entry, "common"), seq))
        counts["audit"] = len(audit_rows)
        owners = dict(conn.execute("SELECT k.id, s.name FROM keyslots k JOIN staff s ON s.id = k.staff_id").fetchall())
        dropped = publish_directory(txn, initial=True)
        txn.details["upgraded_at"] = _utcnow()
        if dropped:
            txn.details["slots_not_kept"] = dropped
    counts["_dropped"] = sorted({owners.get(slot, slot) for slot in dropped})
    return counts
