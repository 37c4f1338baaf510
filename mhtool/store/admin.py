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
from mhtool.i18n import _
from mhtool.store import crypto, schema
from mhtool.store.access import ROLES
from mhtool.store.repos import index_columns
from mhtool.store.core import GENESIS_MAC, Store, Txn, _connect, _utcnow, add_slot, bound_columns, ledger_digest, publish_directory, renew_inbox, seal_own_bundles

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
        raise UsageError(_("{option} is empty").format(option=option), hint=_("e.g. {option} 张华").format(option=option))
    if len(shown) > DISPLAY_NAME_MAX:
        raise UsageError(_("{option} is longer than {limit} characters").format(option=option, limit=DISPLAY_NAME_MAX))
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
        raise UsageError(_("--role {role!r} is not a role").format(role=role), hint=_("choose one of {roles}").format(roles=", ".join(ROLES)))
    name = name.strip()
    if not name:
        raise UsageError(_("the staff member needs a name"))
    shown = _display_name(display_name)
    if store.conn.execute("SELECT 1 FROM staff WHERE name = ?", (name,)).fetchone():
        raise ConflictError(_("a staff member named {name!r} already exists").format(name=name), hint=_("choose another name, or `mhtool staff passwd`"))
    private = crypto.new_staff_key()
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
                "public_key": crypto.public_bytes(private).hex(),
                **({"standing_purpose": standing_purpose.strip()} if standing_purpose and standing_purpose.strip() else {}),
            },
            columns={"name": name, "active": 1},
        )
        add_slot(txn, staff_id, credential, private)
        entry = crypto.directory_entry(staff_id, name, True, role, colleges, crypto.public_bytes(private).hex())
        _publish(txn, lambda directory: directory.__setitem__(staff_id, entry))
    return staff_id


def _publish(txn: Txn, change=None) -> None:
    """Re-authenticate the directory with ``change``; slots found planted or re-pointed are dropped and the drop is audited."""
    dropped = publish_directory(txn, change)
    if dropped:
        txn.details["untrusted_slots_dropped"] = dropped
    txn.store.tampering = []


def edit_staff(store: Store, name: str, *, display_name: str | None = None) -> dict:
    """Change a staff member's display name; returns the member as ``list_staff`` shows them (without key slots)."""
    shown = _display_name(display_name)
    if shown is None:
        raise UsageError(_("nothing to change"), hint=_("pass --display-name, e.g. --display-name 张华"))
    record = _staff_by_name(store, name)
    if record is None:
        raise NotFound(_("no staff member named {name!r}").format(name=name), hint=_("see `mhtool staff list`"))
    staff_id = record["id"]
    record = store.staff_rows.sealed(record)
    # The audit entry says what changed, not the new value (the staff record holds it, sealed).
    with store.write("staff.edit", targets=[f"staff/{staff_id}"], details={"name": name, "fields": ["display_name"]}) as txn:
        record = {**record, "display_name": shown, "edited_at": _utcnow(), "edited_by": store.staff.name}
        txn.update("staff", staff_id, record, audit=False)
    return {"name": name, "display_name": shown, "role": record.get("role")}


def _staff_by_name(store: Store, name: str, *, active_only: bool = False) -> dict | None:
    for row in store.staff_rows.all():
        if row["name"] == name and (row["active"] or not active_only):
            return row
    return None


def change_credential(store: Store, credential: crypto.Credential, name: str | None = None) -> None:
    """Replace a staff member's slot of the credential's kind.

    One's own: the same key pair is wrapped under the new passphrase or key
    file, so no admin is needed and the directory is unchanged. Someone
    else's (an admin resetting a forgotten passphrase): the admin cannot know
    their key, so the member gets a new key pair and this one slot, every
    other slot of theirs is removed, and the directory is re-authenticated.
    """
    target = name or store.staff.name
    row = _staff_by_name(store, target, active_only=True)
    if row is None:
        raise NotFound(_("no active staff member named {name!r}").format(name=target))
    staff_id = row["id"]
    is_keyfile = credential.kind == "keyfile"
    with store.write("staff.passwd", targets=[f"staff/{staff_id}"], details={"kind": credential.kind, "own": staff_id == store.staff.id}) as txn:
        if staff_id == store.staff.id:
            for slot_id, params in txn.execute("SELECT id, params FROM keyslots WHERE staff_id = ?", (staff_id,)).fetchall():
                if (json.loads(params).get("kdf") == "keyfile") == is_keyfile and slot_id != store.slot_id:
                    txn.execute("DELETE FROM slot_masters WHERE slot_id = ?", (slot_id,))
                    txn.execute("DELETE FROM keyslots WHERE id = ?", (slot_id,))
            current = txn.execute("SELECT params FROM keyslots WHERE id = ?", (store.slot_id,)).fetchone()
            if current and (json.loads(current[0]).get("kdf") == "keyfile") == is_keyfile:
                material = crypto.make_slot(credential, store.store_id, store.slot_id, store.private_key)
                txn.execute(
                    "UPDATE keyslots SET params = ?, wrapped_private = ? WHERE id = ?",
                    (json.dumps(material.params), material.wrapped_private, store.slot_id),
                )
            else:
                seal_own_bundles(txn, add_slot(txn, staff_id, credential, store.private_key))
            return
        private = crypto.new_staff_key()
        txn.execute("DELETE FROM slot_masters WHERE slot_id IN (SELECT id FROM keyslots WHERE staff_id = ?)", (staff_id,))
        txn.execute("DELETE FROM keyslots WHERE staff_id = ?", (staff_id,))
        record = store.staff_rows.sealed(row)
        record["public_key"] = crypto.public_bytes(private).hex()
        txn.update("staff", staff_id, record, audit=False)
        add_slot(txn, staff_id, credential, private)
        _publish(txn, lambda directory: directory[staff_id].update(public_key=record["public_key"]))


def remove_staff(store: Store, name: str, progress: Callable[[int, int], None] | None = None) -> dict:
    """Remove a staff member's slots and rotate every key so they can read nothing new."""
    if name == store.staff.name:
        raise RefusedChange(_("you cannot remove yourself; ask another admin"))
    row = _staff_by_name(store, name, active_only=True)
    if row is None:
        raise NotFound(_("no active staff member named {name!r}").format(name=name))
    staff_id = row["id"]
    if row["role"] == "admin":
        admins = [r for r in store.staff_rows.all() if r["active"] and r["role"] == "admin" and r["id"] != staff_id]
        if not admins:
            raise RefusedChange(_("this is the last admin; add another admin before removing this one"))
    record = store.staff_rows.sealed(row)
    record.update(removed_at=_utcnow(), removed_by=store.staff.name)
    return rotate_master_key(store, remove=(staff_id, record), progress=progress)


def rotate_master_key(store: Store, remove: tuple[str, dict] | None = None, progress: Callable[[int, int], None] | None = None) -> dict:
    """Start (or resume) a rotation to a new key generation and re-encrypt every record.

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
        store.keyring[new] = crypto.derive_keys(crypto.new_generation_secrets(), new, store.store_id)
        try:
            with store.write("staff.rotate-key.start", details={"from": old, "to": new, "removed": remove[0] if remove else None}) as txn:
                txn.execute("UPDATE meta SET value = ? WHERE key = 'rotation_target'", (str(new),))
                if remove:
                    staff_id, record = remove
                    txn.execute("DELETE FROM slot_masters WHERE slot_id IN (SELECT id FROM keyslots WHERE staff_id = ?)", (staff_id,))
                    txn.execute("DELETE FROM keyslots WHERE staff_id = ?", (staff_id,))
                    txn.update("staff", staff_id, record, columns={"active": 0})
                # Only slots the directory trusts get the new keys; a planted one is dropped here.
                _publish(txn, (lambda directory: directory[remove[0]].update(active=False)) if remove else None)
                # A new inbox key pair too: what is sealed to the inbox from now on no copy of the old
                # private keys opens (they stay, sealed under the new clinical key, for earlier blobs).
                renew_inbox(txn)
        except KeyboardInterrupt:
            if store.meta("rotation_target") is None:
                store.keyring.pop(new, None)
                if removed:
                    message = _("interrupted before the key rotation began; nothing was changed; {name} is still a staff member with their key slot")
                else:
                    message = _("interrupted before the key rotation began; nothing was changed")
                raise Interrupted(message.format(name=removed), hint=_("run the command again")) from None
            message, hint = _rotation_state(store, new, removed)
            raise Interrupted(message, hint=hint) from None
    elif remove:
        raise StoreError(_("a key rotation is already in progress; finish it with `mhtool staff rotate-key` first"))
    new = store.write_generation
    if new not in store.keyring:
        raise StoreError(_("a key rotation is in progress; reopen the store to continue it"))
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
    if store.meta("rotation_target") is None:
        if removed:
            message = _(
                "interrupted as the key rotation ended: {name} was removed (their key slot is deleted, so they can no longer open this store); "
                "it is complete and the keys are now generation {generation}"
            )
        else:
            message = _("interrupted as the key rotation ended: it is complete and the keys are now generation {generation}")
        return message.format(name=removed, generation=store.meta("generation")), None
    old = int(store.meta("generation"))
    stale = sum(_stale_count(store, table, new) for table in schema.SEALED_TABLES)
    total = sum(store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in schema.SEALED_TABLES)
    if removed:
        message = _(
            "interrupted during the key rotation: {name} was removed (their key slot is deleted, so they can no longer open this store); "
            "the keys are being changed from generation {old} to {new}, "
            "and {done} of {total} records are sealed with generation {new}, {stale} still with generation {old}. "
            "Every committed batch is kept; the store is consistent and usable meanwhile, and new records are sealed with the new key"
        )
        hint = _(
            "finish it with `mhtool staff rotate-key` (it resumes where it stopped); until then, a copy of {name}'s old key slot "
            "(in an earlier backup) still opens the {stale} records not yet re-encrypted"
        )
    else:
        message = _(
            "interrupted during the key rotation: the keys are being changed from generation {old} to {new}, "
            "and {done} of {total} records are sealed with generation {new}, {stale} still with generation {old}. "
            "Every committed batch is kept; the store is consistent and usable meanwhile, and new records are sealed with the new key"
        )
        hint = _("finish it with `mhtool staff rotate-key` (it resumes where it stopped)")
    fields = {"name": removed, "old": old, "new": new, "done": total - stale, "total": total, "stale": stale}
    return message.format(**fields), hint.format(**fields)


def _reencrypt(store: Store, new: int, progress: Callable[[int, int], None] | None) -> dict:
    """Re-encrypt every row still sealed with an older generation, batch by batch, then retire the old generations."""
    total = sum(_stale_count(store, table, new) for table in schema.SEALED_TABLES)
    done = 0
    for table in schema.SEALED_TABLES:
        while _stale_count(store, table, new):
            with store.write("staff.rotate-key.batch", details={"table": table}) as txn:
                rows = _reseal_batch(txn, table, new)
            done += rows
            if progress:
                progress(done, total)
    with store.write("staff.rotate-key.finish", details={"generation": new}) as txn:
        archive = store.sealed_values.get("audit_keys") or {}
        for gen, keys in store.keyring.items():
            if gen != new:
                archive[str(gen)] = keys.audit_key.hex()
        txn.put_value("audit_keys", archive)
        store.conn.execute("DELETE FROM slot_masters WHERE generation != ?", (new,))
        store.conn.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (str(new),))
        store.conn.execute("UPDATE meta SET value = NULL WHERE key = 'rotation_target'")
    # Retired keys must not be sealed into slots added later in this session.
    for gen in [g for g in store.keyring if g != new]:
        del store.keyring[gen]
    # No copy of a record sealed with a retired key may survive in free pages or the WAL.
    scrubbed = scrub(store)
    return {"generation": new, "records_reencrypted": done, "scrubbed": scrubbed["complete"]}


def _reseal_batch(txn: Txn, table: str, new: int) -> int:
    """Re-seal up to ROTATION_BATCH rows of ``table`` with generation ``new``; returns how many."""
    store = txn.store
    key_col = schema.SEALED_TABLES[table]
    plain = schema.PLAIN_COLUMNS[table]
    has_clin = table in schema.CLINICAL_TABLES
    cols = (key_col, "data", *(("clin",) if has_clin else ()), *plain)
    stale = _stale_condition(table)
    rows = store.conn.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE {stale} LIMIT ?", (*_stale_params(table, new), ROTATION_BATCH)).fetchall()
    for row in rows:
        values = dict(zip(cols, row))
        key = values[key_col]
        bound = bound_columns(table, values)
        value = store.unseal(table, key, values["data"], bound)
        clinical = store.unseal(table, key, values["clin"], bound, tier="clinical") if has_clin and values["clin"] is not None else None
        sets = index_columns(store, table, value)
        bound = bound_columns(table, {**values, **sets})
        sets["data"] = store.seal(table, key, value, bound)
        if clinical is not None:
            sets["clin"] = crypto.seal(store.write_keys, store.store_id, table, str(key), clinical, "clinical", bound)
        assignments = ", ".join(f"{c} = ?" for c in sets)
        store.conn.execute(f"UPDATE {table} SET {assignments} WHERE {key_col} = ?", (*sets.values(), key))
        txn.remember(table, key, bound, sets["data"], sets.get("clin") if clinical is not None else None, plain={**values, **sets})
    return len(rows)


def _stale_condition(table: str) -> str:
    if table in schema.CLINICAL_TABLES:
        return "(substr(data, 2, 4) != ? OR (clin IS NOT NULL AND substr(clin, 2, 4) != ?))"
    return "substr(data, 2, 4) != ?"


def _stale_params(table: str, generation: int) -> tuple:
    marker = generation.to_bytes(4, "big")
    return (marker, marker) if table in schema.CLINICAL_TABLES else (marker,)


def _stale_count(store: Store, table: str, generation: int) -> int:
    return store.conn.execute(f"SELECT count(*) FROM {table} WHERE {_stale_condition(table)}", _stale_params(table, generation)).fetchone()[0]


# -- audit ----------------------------------------------------------------------------------------


@dataclass
class AuditReport:
    ok: bool
    entries: int
    head_seq: int
    head_mac: str
    broken_at: int | None = None
    reason: str = ""
    # With --deep: each finding names its table and record (empty when everything matches).
    problems: list[str] | None = None
    records_checked: int = 0

    def as_dict(self) -> dict:
        out = {
            "ok": self.ok,
            "entries": self.entries,
            "head": f"{self.head_seq}:{self.head_mac}",
            "broken_at": self.broken_at,
            "reason": self.reason,
        }
        if self.problems is not None:
            out.update(deep=True, records_checked=self.records_checked, problems=self.problems)
        return out


def audit_entries(store: Store, limit: int | None = None) -> list[dict]:
    # Any count asked for is served: beyond SQLite's integers, it means every entry.
    limited = limit is not None and 0 < limit < 2**63
    sql = "SELECT seq, data FROM audit ORDER BY seq DESC" + (" LIMIT ?" if limited else "")
    rows = store.conn.execute(sql, (int(limit),) if limited else ()).fetchall()
    entries = [store.unseal("audit", str(seq), data) for seq, data in reversed(rows)]
    store.audit_read("audit.log", details={"entries": len(entries)})
    return entries


def verify_audit(store: Store, expected_head: str | None = None, *, record: bool = True, deep: bool = False) -> AuditReport:
    """Recompute the chain; report the first broken position.

    ``expected_head`` (``SEQ:MAC`` from an earlier `audit head`, kept outside the
    store) catches what the chain alone cannot: a truncated tail or an older copy.
    ``deep`` also checks every record against the version the chain last
    committed to (:func:`verify_records`) and runs SQLite's integrity check.
    """
    report = _verify_chain(store, expected_head)
    if deep and report.ok:
        report.problems, report.records_checked = verify_records(store)
        if report.problems:
            report.ok = False
            report.reason = _("{count} record problem(s): {first}").format(count=len(report.problems), first=report.problems[0])
    elif deep:
        report.problems = [report.reason]
    if record:
        store.audit_read("audit.verify", details={"ok": report.ok, "deep": deep})
    return report


def verify_records(store: Store) -> tuple[list[str], int]:
    """Every record present is the latest version the audit chain committed to, and none it knows is missing.

    Needs no record key: the chain's ledger holds a digest of each version's
    plaintext columns and sealed bytes. Finds rows edited with sqlite3, rolled
    back to an older sealed copy, deleted, planted, and SQLite-level damage
    (a corrupt index answers queries wrongly without a sealed byte changing).
    """
    problems = list(store.tampering)
    check = [row[0] for row in store.conn.execute("PRAGMA integrity_check(20)").fetchall()]
    if check != ["ok"]:
        problems += [_("SQLite integrity check: {line}").format(line=line) for line in check]
    latest: dict[tuple[str, str], tuple[bytes | None, int]] = {}
    versions: dict[tuple[str, str], dict[bytes, int]] = {}
    for seq, table, rid, digest in store.conn.execute("SELECT seq, tbl, rid, digest FROM ledger ORDER BY seq, rowid"):
        key = (table, rid)
        if digest is not None:
            versions.setdefault(key, {})[bytes(digest)] = seq
        latest[key] = (bytes(digest) if digest is not None else None, seq)
    seen: set[tuple[str, str]] = set()
    checked = 0
    for table in schema.LEDGER_TABLES:
        key_col = schema.SEALED_TABLES[table]
        has_clin = table in schema.CLINICAL_TABLES
        cols = (key_col, "data", *(("clin",) if has_clin else ()), *schema.PLAIN_COLUMNS[table])
        # A full scan, not an index: a damaged index must not hide rows from the check.
        for row in store.conn.execute(f"SELECT {', '.join(cols)} FROM {table} NOT INDEXED"):
            values = dict(zip(cols, row))
            rid = str(values[key_col])
            key = (table, rid)
            seen.add(key)
            checked += 1
            digest = crypto.record_digest(table, rid, bound_columns(table, values), values["data"], values.get("clin"))
            known = latest.get(key)
            if known is None:
                problems.append(
                    _("{table}/{record_id}: present, but no audit entry ever wrote it (planted, or copied from another store)").format(table=table, record_id=rid)
                )
            elif known[0] is None:
                problems.append(
                    _("{table}/{record_id}: deleted by audit entry {entry}, but present again (restored from an older copy)").format(
                        table=table, record_id=rid, entry=known[1]
                    )
                )
            elif digest != known[0]:
                older = versions.get(key, {}).get(digest)
                if older is not None:
                    problems.append(
                        _("{table}/{record_id}: an older version (written by audit entry {older}) replaced the latest (entry {entry}): rolled back").format(
                            table=table, record_id=rid, older=older, entry=known[1]
                        )
                    )
                else:
                    problems.append(
                        _("{table}/{record_id}: differs from the version audit entry {entry} wrote (edited outside mhtool)").format(
                            table=table, record_id=rid, entry=known[1]
                        )
                    )
    for key, (digest, seq) in latest.items():
        if digest is not None and key not in seen:
            problems.append(
                _("{table}/{record_id}: written by audit entry {entry} but missing (deleted outside mhtool)").format(table=key[0], record_id=key[1], entry=seq)
            )
    return problems, checked


def _verify_chain(store: Store, expected_head: str | None) -> AuditReport:
    ledger: dict[int, list[tuple[str, str, bytes | None]]] = {}
    for seq, table, rid, digest in store.conn.execute("SELECT seq, tbl, rid, digest FROM ledger ORDER BY seq, rowid"):
        ledger.setdefault(seq, []).append((table, rid, bytes(digest) if digest is not None else None))
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
            return AuditReport(False, count, last_seq, previous.hex(), position, _("entry {entry} is missing (next entry is {next})").format(entry=position, next=seq))
        try:
            entry = store.unseal("audit", str(seq), data)
        except IntegrityError:
            return AuditReport(False, count, last_seq, previous.hex(), position, _("entry {entry} was altered (seal broken)").format(entry=position))
        key = keys.get(generation)
        if key is None or entry.get("seq") != seq or entry.get("at") != at:
            return AuditReport(False, count, last_seq, previous.hex(), position, _("entry {entry} is out of place").format(entry=position))
        expected = hmac.new(key, previous + b"|" + crypto.canonical_json(entry), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, bytes(mac)):
            return AuditReport(
                False, count, last_seq, previous.hex(), position,
                _("entry {entry} does not follow from entry {previous}").format(entry=position, previous=position - 1),
            )  # fmt: skip
        writes = entry.get("writes") or {}
        rows = ledger.pop(seq, [])
        if len(rows) != (writes.get("count") or 0) or (rows and ledger_digest(rows) != writes.get("digest")):
            return AuditReport(
                False, count, last_seq, previous.hex(), position, _("the record digests entry {entry} committed to were altered").format(entry=position)
            )
        previous = bytes(mac)
        last_seq = seq
        macs[seq] = previous.hex()
    if ledger:
        first = min(ledger)
        return AuditReport(
            False, count, last_seq, previous.hex(), first, _("record digests name audit entry {entry}, which the chain does not hold").format(entry=first)
        )
    report = AuditReport(True, count, last_seq, previous.hex())
    if expected_head:
        try:
            seq_text, mac_text = expected_head.strip().split(":", 1)
            head_seq = int(seq_text)
        except ValueError:
            raise UsageError(_("--head {head!r} is not of the form SEQ:MAC printed by `mhtool audit head`").format(head=expected_head)) from None
        if head_seq > last_seq:
            report = AuditReport(
                False, count, last_seq, previous.hex(), last_seq + 1,
                _(
                    "the saved head is entry {head} but the chain ends at {last}: "
                    "entries were removed from the end or an older copy was restored"
                ).format(head=head_seq, last=last_seq),
            )  # fmt: skip
        elif macs.get(head_seq) != mac_text.lower():
            report = AuditReport(False, count, last_seq, previous.hex(), head_seq, _("entry {entry} differs from the saved head").format(entry=head_seq))
    return report


def audit_head(store: Store) -> str:
    row = store.conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return f"{row[0]}:{bytes(row[1]).hex()}"


# -- backup and restore -------------------------------------------------------------------------


def backup(store: Store, out: str | os.PathLike) -> Path:
    """An encrypted copy made with VACUUM INTO (never a file copy of a live WAL store)."""
    out = Path(out)
    if out.is_symlink():
        raise StoreError(_("{path} is a symbolic link; mhtool never writes a backup through one").format(path=out), hint=_("choose a new file for the backup"))
    if out.exists():
        raise StoreError(_("{path} already exists; choose a new file for the backup").format(path=out))
    if not out.parent.is_dir():
        raise UsageError(_("folder {folder} does not exist").format(folder=out.parent))
    # The file is created empty, readable by its owner only and never through a link
    # (O_EXCL refuses anything already there); VACUUM INTO then fills it.
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        raise StoreError(_("{path} already exists; choose a new file for the backup").format(path=out)) from None
    except OSError as exc:
        raise StoreError(_("cannot create the backup {path}: {error}").format(path=out, error=exc.strerror or exc)) from None
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


def restore(
    source: str | os.PathLike,
    target: str | os.PathLike,
    credential: crypto.Credential,
    user: str | None,
    *,
    force: bool = False,
    reenable_removed: bool = False,
) -> dict:
    """Replace (or create) the store at ``target`` with the backup ``source``.

    The backup must open with the given credential and pass SQLite's integrity
    check, the audit-chain verification and the record check of ``audit verify
    --deep`` before anything at ``target`` changes. A backup older than the
    store it replaces must not quietly bring back staff removed since: that
    needs ``reenable_removed``, and the result lists who.
    """
    source, target = Path(source), Path(target)
    try:
        copy = Store.open(source, credential, user, readonly=True)
        try:
            copy.require("backup", action="restore")
            chain = verify_audit(copy, record=False, deep=True)
            if not chain.ok:
                raise IntegrityError(_("backup {backup} is damaged: {reason}; nothing was restored").format(backup=source, reason=chain.reason))
            backup_staff = {r["id"]: (r["name"], bool(r["active"])) for r in copy.staff_rows.all()}
            backup_generation = int(copy.meta("generation"))
        finally:
            copy.close()
    except sqlite3.DatabaseError as exc:
        raise IntegrityError(_("backup {backup} is damaged ({error}); nothing was restored").format(backup=source, error=exc)) from None
    if target.is_symlink():
        raise StoreError(_("{path} is a symbolic link; mhtool never writes a store through one").format(path=target), hint=_("pass the real path with --store"))
    if target.exists() and not force:
        raise StoreError(
            _("{path} exists; pass --force to replace it with {backup}").format(path=target, backup=source), hint=_("make a backup of it first with `mhtool backup`")
        )
    reenabled, current_generation = _reenabled_by(target, backup_staff)
    if reenabled and not reenable_removed:
        raise RefusedChange(
            _(
                "backup {backup} is older than the store: restoring it would give back access to {names}, "
                "removed since (key generation {backup_generation} in the backup, {current_generation} now); nothing was restored"
            ).format(backup=source, names=", ".join(reenabled), backup_generation=backup_generation, current_generation=current_generation),
            hint=_("pass --reenable-removed to restore it anyway, then remove them again with `mhtool staff remove`"),
        )
    if not target.exists():
        # Created readable by its owner only from the start, never through a link.
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
        except OSError as exc:
            raise StoreError(_("cannot create the store {path}: {error}; nothing was restored").format(path=target, error=exc.strerror or exc)) from None
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
        with restored.write("restore", details={"from": source.name, "reenabled": reenabled}):
            pass
    finally:
        restored.close()
    return {"restored": str(target), "from": str(source), "audit_entries": chain.entries, "reenabled": reenabled}


def _reenabled_by(target: Path, backup_staff: dict[str, tuple[str, bool]]) -> tuple[list[str], int | None]:
    """Staff active in the backup but removed in the store at ``target`` (read without a key: names and flags only)."""
    if not target.exists():
        return [], None
    try:
        conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
        try:
            current = {sid: bool(active) for sid, active in conn.execute("SELECT id, active FROM staff")}
            generation = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        # A damaged or foreign store has nothing to compare; --force already said to replace it.
        return [], None
    names = sorted(name for sid, (name, active) in backup_staff.items() if active and current.get(sid) is False)
    return names, int(generation[0]) if generation and generation[0] else None


# -- erasure support -----------------------------------------------------------------------------


def require_secure_delete(store) -> None:
    if store.conn.execute("PRAGMA secure_delete").fetchone()[0] != 1:
        raise StoreError(_("SQLite secure_delete is off on this connection; refusing to erase without it"))


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
        busy, _log, _checkpointed = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        result["wal_truncated"] = busy == 0
    except sqlite3.OperationalError as exc:
        result["error"] = str(exc)
    result["free_pages"] = conn.execute("PRAGMA freelist_count").fetchone()[0]
    result["complete"] = result["vacuumed"] and result["wal_truncated"] and result["free_pages"] == 0
    return result
