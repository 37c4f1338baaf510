"""Staff, keys, audit verification, backup and restore: the store's own services.

The caller checks the role: :class:`mhtool.admin.usecases.api.Admin` does so
before each of these, so a refusal is audited once, under the command's action.
Restore is the exception: only the backup can say who may restore it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mhtool.errors import ConflictError, IntegrityError, Interrupted, NotFound, RefusedChange, StoreError, UsageError
from mhtool.store import crypto, schema
from mhtool.store.access import ROLES
from mhtool.store.core import GENESIS_MAC, Store, _add_slot, _connect, _utcnow

ROTATION_BATCH = 2000


# -- staff --------------------------------------------------------------------------------------


def list_staff(store: Store) -> list[dict]:
    rows = sorted(store.staff_rows.all(), key=lambda r: r["name"])
    slots = dict(store.conn.execute("SELECT staff_id, group_concat(json_extract(params, '$.kdf')) FROM keyslots GROUP BY staff_id").fetchall())
    out = []
    for r in rows:
        out.append(
            {
                "name": r["name"],
                "display_name": r.get("display_name") or r["name"],
                "role": r["role"],
                "colleges": r.get("colleges") or [],
                "active": bool(r["active"]),
                "slots": sorted((slots.get(r["id"]) or "").split(",")) if slots.get(r["id"]) else [],
                "created_at": r.get("created_at"),
            }
        )
    store.audit_read("staff.list")
    return out


DISPLAY_NAME_MAX = 40


def _display_name(value: str | None, option: str = "--display-name") -> str | None:
    """A display name as given, trimmed; None when none was given."""
    if value is None:
        return None
    shown = " ".join(value.split())
    if not shown:
        raise UsageError(f"{option} is empty", hint=f'e.g. {option} 张华')
    if len(shown) > DISPLAY_NAME_MAX:
        raise UsageError(f"{option} is longer than {DISPLAY_NAME_MAX} characters")
    return shown


def add_staff(
    store: Store,
    name: str,
    role: str,
    credential: crypto.Credential,
    colleges: list[str] | None = None,
    *,
    standing_purpose: str | None = None,
    display_name: str | None = None,
) -> str:
    if role not in ROLES:
        raise UsageError(f"--role {role!r} is not a role", hint=f"choose one of {', '.join(ROLES)}")
    name = name.strip()
    if not name:
        raise UsageError("the staff member needs a name")
    shown = _display_name(display_name)
    if store.conn.execute("SELECT 1 FROM staff WHERE name = ?", (name,)).fetchone():
        raise ConflictError(f"a staff member named {name!r} already exists", hint="choose another name, or `mhtool staff passwd`")
    masters = _live_masters(store)
    with store.write("staff.add", details={"name": name, "role": role}) as txn:
        staff_id = txn.insert(
            "staff",
            {
                "role": role,
                "colleges": list(colleges or []),
                # The name reports print for this member (负责咨询师, 记录人); the login name until one is given.
                "display_name": shown or name,
                "created_at": _utcnow(),
                "created_by": store.staff.name,
                **({"standing_purpose": standing_purpose.strip()} if standing_purpose and standing_purpose.strip() else {}),
            },
            columns={"name": name, "active": 1},
        )
        _add_slot(store.conn, store.store_id, staff_id, credential, masters)
    return staff_id


def edit_staff(store: Store, name: str, *, display_name: str | None = None) -> dict:
    """Change a staff member's display name; returns the member as ``list_staff`` shows them (without key slots)."""
    shown = _display_name(display_name)
    if shown is None:
        raise UsageError("nothing to change", hint="pass --display-name, e.g. --display-name 张华")
    row = store.conn.execute("SELECT id, data FROM staff WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFound(f"no staff member named {name!r}", hint="see `mhtool staff list`")
    staff_id = row[0]
    record = store.unseal("staff", staff_id, row[1])
    # The audit entry says what changed, not the new value (the staff record holds it, sealed).
    with store.write("staff.edit", targets=[f"staff/{staff_id}"], details={"name": name, "fields": ["display_name"]}) as txn:
        record = {**record, "display_name": shown, "edited_at": _utcnow(), "edited_by": store.staff.name}
        txn.update("staff", staff_id, record, audit=False)
    return {"name": name, "display_name": shown, "role": record.get("role")}


def _live_masters(store: Store) -> dict[int, bytes]:
    """Master keys by generation, recovered through this session's slot."""
    # The keyring holds derived keys only; to seal masters to a new slot we reopen
    # them through the session's own slot, which the session proved it can open.
    return dict(store._masters)


def change_credential(store: Store, credential: crypto.Credential, name: str | None = None) -> None:
    """Replace a staff member's slot of the same kind (own slot, or anyone's for an admin)."""
    target = name or store.staff.name
    row = store.conn.execute("SELECT id FROM staff WHERE name = ? AND active = 1", (target,)).fetchone()
    if row is None:
        raise NotFound(f"no active staff member named {target!r}")
    staff_id = row[0]
    masters = _live_masters(store)
    kind = "keyfile" if credential.kind == "keyfile" else None
    with store.write("staff.passwd", targets=[f"staff/{staff_id}"], details={"kind": credential.kind}):
        for slot_id, params in store.conn.execute("SELECT id, params FROM keyslots WHERE staff_id = ?", (staff_id,)).fetchall():
            if (json.loads(params).get("kdf") == "keyfile") == (kind == "keyfile"):
                store.conn.execute("DELETE FROM keyslots WHERE id = ?", (slot_id,))
        _add_slot(store.conn, store.store_id, staff_id, credential, masters)


def remove_staff(store: Store, name: str, progress: Callable[[int, int], None] | None = None) -> dict:
    """Remove a staff member's slots and rotate the master key so they can read nothing new."""
    if name == store.staff.name:
        raise RefusedChange("you cannot remove yourself; ask another admin")
    row = store.conn.execute("SELECT id, data FROM staff WHERE name = ? AND active = 1", (name,)).fetchone()
    if row is None:
        raise NotFound(f"no active staff member named {name!r}")
    staff_id = row[0]
    record = store.unseal("staff", staff_id, row[1])
    if record["role"] == "admin":
        admins = [r for r in store.staff_rows.all() if r["active"] and r["role"] == "admin" and r["id"] != staff_id]
        if not admins:
            raise RefusedChange("this is the last admin; add another admin before removing this one")
    record.update(removed_at=_utcnow(), removed_by=store.staff.name)
    return rotate_master_key(store, remove=(staff_id, record), progress=progress)


def rotate_master_key(store: Store, remove: tuple[str, dict] | None = None, progress: Callable[[int, int], None] | None = None) -> dict:
    """Start (or resume) a rotation to a new master key generation and re-encrypt every record.

    Resumable: each batch commits on its own, and rows already sealed with the
    new generation are skipped, so an interrupted rotation continues where it
    stopped the next time this runs. A Ctrl-C (``KeyboardInterrupt``, also from
    ``progress``) becomes :class:`~mhtool.errors.Interrupted`, whose message
    says what state the rotation is in and how to finish it.
    """
    removed = _staff_name(store, remove[0]) if remove else None
    target = store.meta("rotation_target")
    if target is None:
        old = int(store.meta("generation"))
        new = old + 1
        master = crypto.new_master_key()
        store.keyring[new] = crypto.derive_keys(master, new, store.store_id)
        store._masters[new] = master
        try:
            with store.write("staff.rotate-key.start", details={"from": old, "to": new, "removed": remove[0] if remove else None}) as txn:
                if remove:
                    staff_id, record = remove
                    txn.execute("DELETE FROM keyslots WHERE staff_id = ?", (staff_id,))
                    txn.update("staff", staff_id, record, columns={"active": 0})
                for slot_id, public in txn.execute("SELECT id, public_key FROM keyslots").fetchall():
                    txn.execute(
                        "INSERT INTO slot_masters (slot_id, generation, sealed) VALUES (?, ?, ?)",
                        (slot_id, new, crypto.seal_master_to_slot(master, new, public, store.store_id, slot_id)),
                    )
                txn.execute("UPDATE meta SET value = ? WHERE key = 'rotation_target'", (str(new),))
        except KeyboardInterrupt:
            if store.meta("rotation_target") is None:
                store.keyring.pop(new, None)
                store._masters.pop(new, None)
                kept = f"; {removed} is still a staff member with their key slot" if removed else ""
                raise Interrupted(f"interrupted before the key rotation began; nothing was changed{kept}", hint="run the command again") from None
            message, hint = _rotation_state(store, new, removed)
            raise Interrupted(message, hint=hint) from None
    elif remove:
        raise StoreError("a key rotation is already in progress; finish it with `mhtool staff rotate-key` first")
    new = store.write_generation
    if new not in store.keyring:
        raise StoreError("a key rotation is in progress; reopen the store to continue it")
    try:
        return _reencrypt(store, new, progress)
    except KeyboardInterrupt:
        message, hint = _rotation_state(store, new, removed)
        raise Interrupted(message, hint=hint) from None


def _staff_name(store: Store, staff_id: str) -> str:
    row = store.conn.execute("SELECT name FROM staff WHERE id = ?", (staff_id,)).fetchone()
    return row[0] if row else staff_id


def _rotation_state(store: Store, new: int, removed: str | None) -> tuple[str, str | None]:
    """What an interrupted rotation left, as a message and a hint: what is done, what is not, how to finish."""
    gone = f"{removed} was removed (their key slot is deleted, so they can no longer open this store); " if removed else ""
    if store.meta("rotation_target") is None:
        return f"interrupted as the key rotation ended: {gone}it is complete and the master key is now generation {store.meta('generation')}", None
    old = int(store.meta("generation"))
    stale = sum(_stale_count(store, table, new) for table in schema.SEALED_TABLES)
    total = sum(store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in schema.SEALED_TABLES)
    copy = f"; until then, a copy of {removed}'s old key slot (in an earlier backup) still opens the {stale} records not yet re-encrypted" if removed else ""
    return (
        f"interrupted during the key rotation: {gone}the master key is being changed from generation {old} to {new}, "
        f"and {total - stale} of {total} records are sealed with generation {new}, {stale} still with generation {old}. "
        "Every committed batch is kept; the store is consistent and usable meanwhile, and new records are sealed with the new key",
        f"finish it with `mhtool staff rotate-key` (it resumes where it stopped){copy}",
    )


def _reencrypt(store: Store, new: int, progress: Callable[[int, int], None] | None) -> dict:
    """Re-encrypt every row still sealed with an older generation, batch by batch, then retire the old generations."""
    total = sum(_stale_count(store, table, new) for table in schema.SEALED_TABLES)
    done = 0
    for table, key_col in schema.SEALED_TABLES.items():
        while _stale_count(store, table, new):
            with store.write("staff.rotate-key.batch", details={"table": table}):
                rows = store.conn.execute(
                    f"SELECT {key_col}, data FROM {table} WHERE substr(data, 2, 4) != ? LIMIT ?",
                    (new.to_bytes(4, "big"), ROTATION_BATCH),
                ).fetchall()
                for key, blob in rows:
                    value = store.unseal(table, key, blob)
                    sets = {"data": store.seal(table, key, value)}
                    # An erased student's placeholder keeps its random index: it must stay unfindable.
                    if table == "students" and not value.get("erased"):
                        sets["student_no_bi"] = store.blind_index(crypto.normalise_student_no(value["student_no"]))
                    elif table == "batches":
                        sets["content_bi"] = store.blind_index(value["content_key"], "batch")
                    assignments = ", ".join(f"{c} = ?" for c in sets)
                    store.conn.execute(f"UPDATE {table} SET {assignments} WHERE {key_col} = ?", (*sets.values(), key))
            done += len(rows)
            if progress:
                progress(done, total)
    with store.write("staff.rotate-key.finish", details={"generation": new}):
        archive = {}
        row = store.conn.execute("SELECT data FROM sealed_meta WHERE key = 'audit_keys'").fetchone()
        if row:
            archive = store.unseal("sealed_meta", "audit_keys", row[0])
        for gen, keys in store.keyring.items():
            if gen != new:
                archive[str(gen)] = keys.audit_key.hex()
        store.conn.execute(
            "INSERT OR REPLACE INTO sealed_meta (key, data) VALUES ('audit_keys', ?)",
            (store.seal("sealed_meta", "audit_keys", archive),),
        )
        store.conn.execute("DELETE FROM slot_masters WHERE generation != ?", (new,))
        store.conn.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (str(new),))
        store.conn.execute("UPDATE meta SET value = NULL WHERE key = 'rotation_target'")
    for gen in [g for g in store.keyring if g != new]:
        del store.keyring[gen]
    # Retired master keys must not be sealed into slots added later in this session.
    for gen in [g for g in store._masters if g != new]:
        del store._masters[gen]
    return {"generation": new, "records_reencrypted": done}


def _stale_count(store: Store, table: str, generation: int) -> int:
    return store.conn.execute(f"SELECT count(*) FROM {table} WHERE substr(data, 2, 4) != ?", (generation.to_bytes(4, "big"),)).fetchone()[0]


# -- audit ----------------------------------------------------------------------------------------


@dataclass
class AuditReport:
    ok: bool
    entries: int
    head_seq: int
    head_mac: str
    broken_at: int | None = None
    reason: str = ""

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": f"{self.head_seq}:{self.head_mac}",
            "broken_at": self.broken_at,
            "reason": self.reason,
        }


def audit_entries(store: Store, limit: int | None = None) -> list[dict]:
    sql = "SELECT seq, data FROM audit ORDER BY seq DESC" + (f" LIMIT {int(limit)}" if limit else "")
    rows = store.conn.execute(sql).fetchall()
    entries = [store.unseal("audit", str(seq), data) for seq, data in reversed(rows)]
    store.audit_read("audit.log", details={"entries": len(entries)})
    return entries


def verify_audit(store: Store, expected_head: str | None = None, *, record: bool = True) -> AuditReport:
    """Recompute the chain; report the first broken position.

    ``expected_head`` (``SEQ:MAC`` from an earlier `audit head`, kept outside the
    store) catches what the chain alone cannot: a truncated tail or an older copy.
    """
    keys = store.audit_keys()
    previous = GENESIS_MAC
    count = 0
    macs: dict[int, str] = {}
    last_seq = 0
    for position, (seq, at, generation, data, mac) in enumerate(
        store.conn.execute("SELECT seq, at, generation, data, mac FROM audit ORDER BY seq"), start=1
    ):
        count = position
        if seq != position:
            return AuditReport(False, count, last_seq, previous.hex(), position, f"entry {position} is missing (next entry is {seq})")
        try:
            entry = store.unseal("audit", str(seq), data)
        except IntegrityError:
            return AuditReport(False, count, last_seq, previous.hex(), position, f"entry {position} was altered (seal broken)")
        key = keys.get(generation)
        if key is None or entry.get("seq") != seq or entry.get("at") != at:
            return AuditReport(False, count, last_seq, previous.hex(), position, f"entry {position} is out of place")
        expected = hmac.new(key, previous + b"|" + crypto.canonical_json(entry), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, bytes(mac)):
            return AuditReport(False, count, last_seq, previous.hex(), position, f"entry {position} does not follow from entry {position - 1}")
        previous = bytes(mac)
        last_seq = seq
        macs[seq] = previous.hex()
    report = AuditReport(True, count, last_seq, previous.hex())
    if expected_head:
        try:
            seq_text, mac_text = expected_head.strip().split(":", 1)
            head_seq = int(seq_text)
        except ValueError:
            raise UsageError(f"--head {expected_head!r} is not of the form SEQ:MAC printed by `mhtool audit head`") from None
        if head_seq > last_seq:
            report = AuditReport(False, count, last_seq, previous.hex(), last_seq + 1,
                                 f"the saved head is entry {head_seq} but the chain ends at {last_seq}: entries were removed from the end or an older copy was restored")
        elif macs.get(head_seq) != mac_text.lower():
            report = AuditReport(False, count, last_seq, previous.hex(), head_seq, f"entry {head_seq} differs from the saved head")
    if record:
        store.audit_read("audit.verify", details={"ok": report.ok})
    return report


def audit_head(store: Store) -> str:
    row = store.conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return f"{row[0]}:{bytes(row[1]).hex()}"


# -- backup and restore -------------------------------------------------------------------------


def backup(store: Store, out: str | os.PathLike) -> Path:
    """An encrypted copy made with VACUUM INTO (never a file copy of a live WAL store)."""
    out = Path(out)
    if out.is_symlink():
        raise StoreError(f"{out} is a symbolic link; mhtool never writes a backup through one", hint="choose a new file for the backup")
    if out.exists():
        raise StoreError(f"{out} already exists; choose a new file for the backup")
    if not out.parent.is_dir():
        raise UsageError(f"folder {out.parent} does not exist")
    # The file is created empty, readable by its owner only and never through a link
    # (O_EXCL refuses anything already there); VACUUM INTO then fills it.
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        raise StoreError(f"{out} already exists; choose a new file for the backup") from None
    except OSError as exc:
        raise StoreError(f"cannot create the backup {out}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        with store.write("backup", details={"to": out.name}):
            pass
        store.conn.execute("VACUUM INTO ?", (str(out),))
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    os.chmod(out, 0o600)
    return out


def restore(source: str | os.PathLike, target: str | os.PathLike, credential: crypto.Credential, user: str | None, *, force: bool = False) -> dict:
    """Replace (or create) the store at ``target`` with the backup ``source``.

    The backup must open with the given credential and pass SQLite's integrity
    check and the audit-chain verification before anything at ``target`` changes.
    """
    source, target = Path(source), Path(target)
    try:
        copy = Store.open(source, credential, user, readonly=True)
        try:
            copy.require("backup", action="restore")
            check = copy.conn.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise IntegrityError(f"backup {source} fails SQLite's integrity check: {' '.join(check.split())}")
            chain = verify_audit(copy, record=False)
            if not chain.ok:
                raise IntegrityError(f"backup {source}: audit chain broken at entry {chain.broken_at}: {chain.reason}")
            # SQLite's check cannot see inside sealed values: open every one of them.
            for table, key_col in schema.SEALED_TABLES.items():
                for key, blob in copy.conn.execute(f"SELECT {key_col}, data FROM {table}"):
                    try:
                        copy.unseal(table, key, blob)
                    except IntegrityError as exc:
                        raise IntegrityError(f"backup {source} is damaged: {exc.message}") from None
        finally:
            copy.close()
    except sqlite3.DatabaseError as exc:
        raise IntegrityError(f"backup {source} is damaged ({exc}); nothing was restored") from None
    if target.is_symlink():
        raise StoreError(f"{target} is a symbolic link; mhtool never writes a store through one", hint="pass the real path with --store")
    if target.exists() and not force:
        raise StoreError(f"{target} exists; pass --force to replace it with {source}", hint="make a backup of it first with `mhtool backup`")
    if not target.exists():
        # Created readable by its owner only from the start, never through a link.
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
        except OSError as exc:
            raise StoreError(f"cannot create the store {target}: {exc.strerror or exc}; nothing was restored") from None
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = _connect(target)
    try:
        dst.execute("PRAGMA journal_mode = WAL")
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    os.chmod(target, 0o600)
    restored = Store.open(target, credential, user)
    try:
        with restored.write("restore", details={"from": source.name}):
            pass
    finally:
        restored.close()
    return {"restored": str(target), "from": str(source), "audit_entries": chain.entries}


# -- erasure support -----------------------------------------------------------------------------


def require_secure_delete(store) -> None:
    if store.conn.execute("PRAGMA secure_delete").fetchone()[0] != 1:
        raise StoreError("SQLite secure_delete is off on this connection; refusing to erase without it")


def scrub(store) -> dict:
    """Push erased content out of the file: checkpoint and truncate the WAL, VACUUM, checkpoint again.

    Another process reading the store at the same time can keep old pages
    alive; then this reports ``complete: False`` and is safe to run again.
    """
    conn = store.conn
    result = {"vacuumed": False, "wal_truncated": False, "free_pages": None}
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        conn.execute("VACUUM")
        result["vacuumed"] = True
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        result["wal_truncated"] = busy == 0
    except sqlite3.OperationalError as exc:
        result["error"] = str(exc)
    result["free_pages"] = conn.execute("PRAGMA freelist_count").fetchone()[0]
    result["complete"] = result["vacuumed"] and result["wal_truncated"] and result["free_pages"] == 0
    return result
