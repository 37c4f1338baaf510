"""The encrypted store: the one place that talks to SQLite.

Other packages use the small API here:

* :func:`create_store` and :meth:`Store.open` — create, or open as a staff member;
* :meth:`Store.write` — one ``BEGIN IMMEDIATE`` transaction that also appends
  the audit entry, so a change and its audit record land together or not at all;
* :meth:`Store.audit_read` — record that personal data was read;
* :meth:`Txn.insert`, :meth:`Txn.update`, :meth:`Store.get`, :meth:`Store.select`
  — sealed rows in, plain dicts out;
* :meth:`Store.find_student` — lookup by student number through the blind index;
* :meth:`Store.require` and :meth:`Store.require_college` — role and scope checks
  whose denials are themselves audited.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from mhtool.errors import AuthenticationFailed, IntegrityError, NotFound, PermissionDenied, StoreError, UsageError
from mhtool.store import crypto, repos, schema
from mhtool.store.access import PERMISSION_TEXT, ROLES, allowed, roles_with

BUSY_TIMEOUT_MS = 30_000
GENESIS_MAC = b"\x00" * 32


# What a college-scoped staff member reads about any record outside their colleges, whether it
# belongs to another college or does not exist at all (imports put it on the row's problem).
OUT_OF_SCOPE = "not found in your colleges"
STUDENT_OUT_OF_SCOPE = f"student number {OUT_OF_SCOPE}"
SCOPE_HINT = "only records of your own colleges can be reached: check the number, or ask an admin whether your --college scope should cover it"


def _utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    else:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def _connect_to_inspect(path: Path) -> sqlite3.Connection:
    """A connection that only reads, for checking a credential (or showing `info`) before anything is written.

    Reading a WAL store makes SQLite create its -wal and -shm files, and a
    read-only connection never removes them. So when neither exists (no other
    connection has the store open) the connection is opened read-write, and
    SQLite, closing the last connection, removes the side files it created:
    a refused login leaves nothing behind. When they exist, another process has
    the store open (or left them), so it opens read-only and creates nothing.
    Either way nothing is written to the store file itself.
    """
    busy = any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm"))
    return _connect(path, readonly=busy)


@dataclass
class StaffMember:
    id: str
    name: str
    role: str
    colleges: list[str] = field(default_factory=list)
    display_name: str = ""
    # Set by an admin for an unattended job's account (e.g. the weekly cron
    # report): the purpose its identifiable exports are made for.
    standing_purpose: str = ""

    def scoped(self) -> bool:
        return bool(self.colleges)


class Txn:
    """A write transaction in progress; collects the record ids it touches for the audit entry."""

    def __init__(self, store: Store):
        self.store = store
        self.targets: list[str] = []
        self.details: dict = {}
        # Run after the audit entry is appended and before COMMIT: publishing a
        # file here means a file exists only if its audit entry commits.
        self.before_commit: list = []

    def execute(self, sql: str, params: Sequence = ()) -> sqlite3.Cursor:
        return self.store.conn.execute(sql, params)

    def insert(self, table: str, record: dict, *, columns: dict | None = None, record_id: str | None = None, audit: bool = True) -> str:
        rid = record_id or crypto.random_id()
        cols = {"id": rid, **(columns or {})}
        cols["data"] = self.store.seal(table, rid, record)
        names = ", ".join(cols)
        marks = ", ".join("?" for _ in cols)
        self.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(cols.values()))
        if audit:
            self.targets.append(f"{table}/{rid}")
        return rid

    def update(self, table: str, record_id: str, record: dict, *, columns: dict | None = None, audit: bool = True) -> None:
        cols = dict(columns or {})
        cols["data"] = self.store.seal(table, record_id, record)
        sets = ", ".join(f"{name} = ?" for name in cols)
        cur = self.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*cols.values(), record_id])
        if cur.rowcount != 1:
            raise NotFound(f"no {table} record {record_id}")
        if audit:
            self.targets.append(f"{table}/{record_id}")

    def target(self, *ids: str) -> None:
        self.targets.extend(ids)


class Store:
    """An open store, unlocked for one staff member."""

    def __init__(self, path: Path, conn: sqlite3.Connection, store_id: str, keyring: dict, staff: StaffMember, tz: str):
        self.path = path
        self.conn = conn
        self.store_id = store_id
        self.keyring: dict[int, crypto.GenerationKeys] = keyring
        self.staff = staff
        self.tz = tz
        self._in_write = False
        self._masters: dict[int, bytes] = {}
        self.readonly = False
        self._plain_columns: dict[str, set[str]] = {}

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike, credential: crypto.Credential, user: str | None = None, *, readonly: bool = False) -> Store:
        """Open the store at ``path`` as ``user``.

        Nothing is written before the credential has opened a key slot: a wrong
        passphrase leaves the file byte-for-byte as it was.
        """
        path = Path(path)
        if not path.exists():
            raise StoreError(f"no store at {path}", hint="create one with `mhtool init --admin NAME`, or pass --store / MHTOOL_STORE")
        conn = None
        try:
            conn = _connect_to_inspect(path)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise StoreError(f"{path} is not an mhtool store ({exc})") from None
        try:
            store_id = meta["store_id"]
            slots = _candidate_slots(conn, user, credential)
            private = None
            chosen = None
            last_error: Exception | None = None
            for slot in slots:
                try:
                    private = crypto.unlock_slot(credential, store_id, slot["id"], _slot_params(slot), slot["wrapped_private"])
                    chosen = slot
                    break
                except AuthenticationFailed as exc:
                    last_error = exc
            if private is None or chosen is None:
                who = f"staff member {user!r}" if user else "any key-file slot"
                raise AuthenticationFailed(
                    f"the {credential.kind} from {credential.source or 'input'} does not open {who}",
                    hint="check MHTOOL_USER/--user and the passphrase or key file; nothing was changed",
                ) from last_error
            keyring = {}
            masters: dict[int, bytes] = {}
            for generation, sealed in conn.execute(
                "SELECT generation, sealed FROM slot_masters WHERE slot_id = ?", (chosen["id"],)
            ).fetchall():
                master = crypto.open_master_from_slot(private, sealed, generation, store_id, chosen["id"])
                masters[generation] = master
                keyring[generation] = crypto.derive_keys(master, generation, store_id)
            if not keyring:
                raise AuthenticationFailed("this key slot no longer holds a key to the store (access was revoked)")
            staff_row = conn.execute("SELECT id, name, active, data FROM staff WHERE id = ?", (chosen["staff_id"],)).fetchone()
        finally:
            conn.close()
        if staff_row is None or not staff_row[2]:
            raise AuthenticationFailed("this staff member has been removed from the store")
        staff_data = crypto.unseal(keyring, store_id, "staff", staff_row[0], staff_row[3])
        staff = StaffMember(
            id=staff_row[0],
            name=staff_row[1],
            role=staff_data["role"],
            colleges=list(staff_data.get("colleges") or []),
            display_name=staff_data.get("display_name") or staff_row[1],
            standing_purpose=staff_data.get("standing_purpose") or "",
        )
        conn = _connect(path, readonly=readonly)
        store = cls(path, conn, store_id, keyring, staff, meta.get("timezone") or "Asia/Shanghai")
        store._masters = masters
        store.readonly = readonly
        if not readonly and schema.current_version(conn) < schema.LATEST:
            with store.write("store.migrate", details={"to": schema.LATEST}):
                schema.migrate(conn)
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- keys -----------------------------------------------------------------------------

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row and row[0] is not None else default

    @property
    def write_generation(self) -> int:
        """New records are sealed with the rotation target while a rotation runs."""
        target = self.meta("rotation_target")
        return int(target) if target else int(self.meta("generation"))

    @property
    def write_keys(self) -> crypto.GenerationKeys:
        gen = self.write_generation
        if gen not in self.keyring:
            raise StoreError("a key rotation is in progress that this session cannot take part in; reopen the store")
        return self.keyring[gen]

    def seal(self, table: str, record_id: str, value) -> bytes:
        return crypto.seal(self.write_keys, self.store_id, table, str(record_id), value)

    def unseal(self, table: str, record_id: str, blob: bytes):
        return crypto.unseal(self.keyring, self.store_id, table, str(record_id), blob)

    def blind_index(self, value: str, kind: str = "student_no") -> bytes:
        return crypto.blind_index(self.write_keys, value, kind)

    def blind_candidates(self, value: str, kind: str = "student_no") -> list[bytes]:
        return [crypto.blind_index(keys, value, kind) for keys in self.keyring.values()]

    # -- transactions and audit -----------------------------------------------------------

    @contextmanager
    def write(self, action: str, *, targets: Iterable[str] = (), details: dict | None = None) -> Iterator[Txn]:
        """One BEGIN IMMEDIATE transaction; the audit entry is appended inside it."""
        if self._in_write:
            raise StoreError("nested write transactions are not supported")
        self._in_write = True
        self.conn.execute("BEGIN IMMEDIATE")
        txn = Txn(self)
        try:
            yield txn
            merged = {**(details or {}), **txn.details}
            self._append_audit(action, [*targets, *txn.targets], merged)
            for publish in txn.before_commit:
                publish()
            self.conn.execute("COMMIT")
        except BaseException:
            # A Ctrl-C that lands just after COMMIT finds no transaction left to roll back.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            self._in_write = False

    def data_version(self) -> int:
        """A number that changes whenever another connection commits: records read before a write are stale if it moved."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def audit_read(self, action: str, targets: Iterable[str] = (), details: dict | None = None) -> None:
        """Record a read of personal data (its own small write transaction)."""
        with self.write(action, targets=targets, details=details):
            pass

    def _append_audit(self, action: str, targets: list[str], details: dict) -> None:
        row = self.conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, previous = (row[0] + 1, row[1]) if row else (1, GENESIS_MAC)
        at = _utcnow()
        entry = {"seq": seq, "at": at, "staff": self.staff.name, "action": action, "targets": targets, "details": details}
        keys = self.write_keys
        mac = crypto.audit_mac(keys, previous, entry)
        self.conn.execute(
            "INSERT INTO audit (seq, at, generation, data, mac) VALUES (?, ?, ?, ?, ?)",
            (seq, at, keys.generation, crypto.seal(keys, self.store_id, "audit", str(seq), entry), mac),
        )

    def audit_keys(self) -> dict[int, crypto.GenerationKeys | bytes]:
        """Audit MAC keys by generation: live generations plus archived old ones."""
        keys: dict[int, bytes] = {gen: k.audit_key for gen, k in self.keyring.items()}
        row = self.conn.execute("SELECT data FROM sealed_meta WHERE key = 'audit_keys'").fetchone()
        if row:
            for gen, hexkey in self.unseal("sealed_meta", "audit_keys", row[0]).items():
                keys.setdefault(int(gen), bytes.fromhex(hexkey))
        return keys

    # -- permissions ------------------------------------------------------------------------

    def can(self, permission: str) -> bool:
        return allowed(self.staff.role, permission)

    def require(self, permission: str, *, action: str = "", targets: Iterable[str] = ()) -> None:
        if self.can(permission):
            return
        self._deny(f"permission:{permission}", action, list(targets))
        raise PermissionDenied(
            f"{self.staff.role} {self.staff.name!r} may not {PERMISSION_TEXT.get(permission, permission)}",
            hint=f"this needs the role {' or '.join(roles_with(permission))}",
        )

    def in_scope(self, college: str | None) -> bool:
        return not self.staff.colleges or (college or "") in self.staff.colleges

    def scope_refusal(self, what: str = "record") -> PermissionDenied:
        """The one answer a college-scoped staff member gets for a record outside their colleges.

        It names neither the record's college nor anything stored about it, and
        reads the same for a record of another college and for one that does
        not exist (:data:`OUT_OF_SCOPE`), so "not yours" tells nothing that "no
        such student" does not.
        """
        return PermissionDenied(f"{what} {OUT_OF_SCOPE} ({self.staff.name!r} is limited to {', '.join(self.staff.colleges)})", hint=SCOPE_HINT)

    def require_college(self, college: str | None, *, action: str = "", targets: Iterable[str] = ()) -> None:
        if self.in_scope(college):
            return
        self._deny("scope:college", action, list(targets))
        if targets:
            raise self.scope_refusal("record")
        # A college the user named (--college): still said without repeating it.
        raise PermissionDenied(f"that college is not one of yours ({self.staff.name!r} is limited to {', '.join(self.staff.colleges)})", hint=SCOPE_HINT)

    def require_student(self, record: dict | None, student_no: str, *, action: str = "") -> dict:
        """The stored student ``record`` found for ``student_no``, if a scoped staff member may reach it.

        For a scoped staff member a number of another college and a number
        nobody has are refused alike (and audited alike); the caller reports a
        missing number to an unscoped one.
        """
        if record is not None and self.in_scope(record.get("college")):
            return record
        self._deny("scope:college", action, [f"students/{record['id']}"] if record is not None else [])
        raise self.scope_refusal(f"student number {student_no}")

    def audit_denial(self, action: str, targets: Iterable[str] = (), *, reason: str = "scope:college", details: dict | None = None) -> None:
        """A refused attempt as a ``denied`` audit entry (its own transaction, so it survives the refusal).

        Written even by a dry run: the refusal is the one thing a dry run records.
        """
        if not self._in_write and not self.readonly:
            with self.write("denied", targets=list(targets), details={"reason": reason, "attempted": action, **(details or {})}):
                pass

    def _deny(self, reason: str, action: str, targets: list[str]) -> None:
        # Denials are audited in their own transaction so they survive the error.
        self.audit_denial(action, targets, reason=reason)

    # -- reading ----------------------------------------------------------------------------

    def _get(self, table: str, record_id: str) -> dict:
        row = self.conn.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise NotFound(f"no {table} record {record_id}")
        return self._row_to_record(table, row, self.conn.execute(f"SELECT * FROM {table} LIMIT 0").description)

    def _select(self, table: str, where: str = "", params: Sequence = (), order: str = "") -> list[dict]:
        sql = f"SELECT * FROM {table}"
        if where:
            sql += f" WHERE {where}"
        if order:
            sql += f" ORDER BY {order}"
        cur = self.conn.execute(sql, params)
        desc = cur.description
        return [self._row_to_record(table, row, desc) for row in cur]

    def sealed_part(self, table: str, record: dict) -> dict:
        """A record read with :meth:`get`/:meth:`select`, without its plaintext columns: what goes back into ``data``."""
        plain = self._plain_columns.get(table)
        if plain is None:
            plain = {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")} - {"data"}
            self._plain_columns[table] = plain
        return {k: v for k, v in record.items() if k not in plain}

    def _count(self, table: str, where: str = "", params: Sequence = ()) -> int:
        sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        return self.conn.execute(sql, params).fetchone()[0]

    def _plain(self, table: str, columns: Sequence[str], where: str = "", params: Sequence = ()) -> list[tuple]:
        """Plaintext columns only (ids, foreign keys, dates), without opening the sealed data.

        For lists that need, say, each student's earliest due date over
        thousands of rows: unsealing rows that only answer a date question is
        most of the cost.
        """
        if "data" in columns:
            raise StoreError("plain() reads plaintext columns only; use select() for sealed data")
        sql = f"SELECT {', '.join(columns)} FROM {table}" + (f" WHERE {where}" if where else "")
        return self.conn.execute(sql, params).fetchall()

    def _resolve_id(self, table: str, prefix: str, what: str) -> str:
        """Accept a full record id or an unambiguous prefix of at least 4 characters."""
        prefix = (prefix or "").strip().lower()
        if len(prefix) < 4:
            raise UsageError(f"{what} id {prefix!r} is too short; give at least 4 characters")
        rows = self.conn.execute(f"SELECT id FROM {table} WHERE id >= ? AND id < ? LIMIT 2", (prefix, prefix + "\uffff")).fetchall()
        if not rows:
            raise NotFound(f"no {what} with id {prefix!r}")
        if len(rows) > 1:
            raise UsageError(f"{what} id {prefix!r} is ambiguous; give more characters")
        return rows[0][0]

    def _row_to_record(self, table: str, row: tuple, desc) -> dict:
        names = [d[0] for d in desc]
        values = dict(zip(names, row))
        blob = values.pop("data")
        key = values[schema.SEALED_TABLES.get(table, "id")]
        record = self.unseal(table, key, blob)
        record.update(values)
        return record

    # -- repositories: the tables as the rest of mhtool sees them ---------------------------

    @cached_property
    def students(self) -> repos.Students:
        return repos.Students(self)

    @cached_property
    def entries(self) -> repos.Entries:
        return repos.Entries(self)

    @cached_property
    def tasks(self) -> repos.Tasks:
        return repos.Tasks(self)

    @cached_property
    def watches(self) -> repos.Watches:
        return repos.Watches(self)

    @cached_property
    def batches(self) -> repos.Batches:
        return repos.Batches(self)

    @cached_property
    def responses(self) -> repos.Responses:
        return repos.Responses(self)

    @cached_property
    def hospitals(self) -> repos.Hospitals:
        return repos.Hospitals(self)

    @cached_property
    def referrals(self) -> repos.Referrals:
        return repos.Referrals(self)

    @cached_property
    def staff_rows(self) -> repos.StaffRows:
        return repos.StaffRows(self)

    @cached_property
    def sealed_values(self) -> repos.SealedValues:
        return repos.SealedValues(self)

    def find_student(self, student_no: str) -> dict | None:
        """The student record for a student number, or None."""
        normalised = crypto.normalise_student_no(student_no)
        candidates = self.blind_candidates(normalised)
        marks = ",".join("?" for _ in candidates)
        row = self.conn.execute(f"SELECT * FROM students WHERE student_no_bi IN ({marks})", candidates).fetchone()
        if row is None:
            return None
        return self._row_to_record("students", row, self.conn.execute("SELECT * FROM students LIMIT 0").description)

    def student_no_index(self, student_no: str) -> bytes:
        return self.blind_index(crypto.normalise_student_no(student_no))

    # -- setting --------------------------------------------------------------------------

    def settings(self) -> dict:
        """Every store setting (policies, cadence); they live sealed like any record."""
        row = self.conn.execute("SELECT data FROM sealed_meta WHERE key = 'settings'").fetchone()
        return self.unseal("sealed_meta", "settings", row[0]) if row else {}

    def update_settings(self, txn: Txn, changes: dict) -> dict:
        """Merge ``changes`` into the sealed settings inside the caller's transaction; return the result."""
        row = txn.execute("SELECT data FROM sealed_meta WHERE key = 'settings'").fetchone()
        settings = self.unseal("sealed_meta", "settings", row[0]) if row else {}
        for key, value in changes.items():
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
        txn.execute(
            "INSERT INTO sealed_meta (key, data) VALUES ('settings', ?) ON CONFLICT(key) DO UPDATE SET data = excluded.data",
            (self.seal("sealed_meta", "settings", settings),),
        )
        return settings

    def setting(self, key: str, default=None):
        return self.settings().get(key, default)


def _slot_params(slot: dict) -> dict:
    """A slot's KDF parameters, refusing anything that is not what mhtool wrote."""
    try:
        params = json.loads(slot["params"])
        if not isinstance(params, dict):
            raise ValueError("not an object")
        bytes.fromhex(params.get("salt", ""))
    except (ValueError, TypeError) as exc:
        raise StoreError(
            f"key slot {slot['id']} has unreadable parameters ({exc}); it was edited or is corrupt, so it was refused",
            hint="restore the store from a backup or ask an admin to re-add this staff member",
        ) from None
    return params


def _candidate_slots(conn: sqlite3.Connection, user: str | None, credential: crypto.Credential) -> list[dict]:
    cols = "k.id, k.staff_id, k.params, k.wrapped_private"
    if user:
        rows = conn.execute(
            f"SELECT {cols} FROM keyslots k JOIN staff s ON s.id = k.staff_id WHERE s.name = ?", (user,)
        ).fetchall()
        if not rows:
            raise AuthenticationFailed(f"no staff member named {user!r} has a key slot in this store", hint="check --user / MHTOOL_USER")
    elif credential.kind == "keyfile":
        rows = conn.execute(f"SELECT {cols} FROM keyslots k").fetchall()
    else:
        raise AuthenticationFailed("which staff member? a passphrase opens one person's slot", hint="pass --user NAME or set MHTOOL_USER")
    slots = [dict(zip(("id", "staff_id", "params", "wrapped_private"), r)) for r in rows]
    wanted = "keyfile" if credential.kind == "keyfile" else None
    matching = [s for s in slots if (_slot_params(s).get("kdf") == "keyfile") == (wanted == "keyfile")]
    if not matching:
        raise AuthenticationFailed(
            f"{'staff member ' + repr(user) if user else 'this store'} has no {credential.kind} slot",
            hint="use MHTOOL_KEY_FILE for key-file slots, a passphrase (prompt or MHTOOL_PASSPHRASE_FILE) otherwise",
        )
    return matching


def create_store(path: str | os.PathLike, admin: str, credential: crypto.Credential, *, timezone_name: str = "Asia/Shanghai") -> Path:
    """Create a new store with one admin. Refuses to overwrite anything."""
    path = Path(path)
    if path.exists():
        raise StoreError(f"{path} already exists; mhtool never overwrites a store", hint="choose another --store path")
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    store_id = crypto.random_id(16)
    master = crypto.new_master_key()
    keys = crypto.derive_keys(master, 1, store_id)
    tmp = path.with_name(path.name + ".creating")
    if tmp.exists() or tmp.is_symlink():
        tmp.unlink()
    # Readable by its owner only from the start (the -wal and -shm take its mode), never through a link.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
    conn = _connect(tmp)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        schema.migrate(conn)
        created = _utcnow()
        for key, value in (("store_id", store_id), ("generation", "1"), ("created_at", created), ("timezone", timezone_name)):
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
        conn.execute("INSERT INTO meta (key, value) VALUES ('rotation_target', NULL)")
        staff_id = crypto.random_id()
        staff_data = {"role": "admin", "colleges": [], "display_name": admin, "created_at": created, "created_by": admin}
        conn.execute(
            "INSERT INTO staff (id, name, active, data) VALUES (?, ?, 1, ?)",
            (staff_id, admin, crypto.seal(keys, store_id, "staff", staff_id, staff_data)),
        )
        _add_slot(conn, store_id, staff_id, credential, {1: master})
        conn.execute(
            "INSERT INTO sealed_meta (key, data) VALUES ('settings', ?)",
            (crypto.seal(keys, store_id, "sealed_meta", "settings", {}),),
        )
        entry = {"seq": 1, "at": created, "staff": admin, "action": "store.init", "targets": [f"staff/{staff_id}"], "details": {}}
        conn.execute(
            "INSERT INTO audit (seq, at, generation, data, mac) VALUES (1, ?, 1, ?, ?)",
            (created, crypto.seal(keys, store_id, "audit", "1", entry), crypto.audit_mac(keys, GENESIS_MAC, entry)),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except BaseException:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
        raise
    conn.close()
    os.chmod(tmp, 0o600)
    # Link rather than rename: link fails if a store appeared meanwhile.
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
    return path


def _add_slot(conn: sqlite3.Connection, store_id: str, staff_id: str, credential: crypto.Credential, masters: dict[int, bytes]) -> str:
    slot_id = crypto.random_id()
    material, _ = crypto.make_slot(credential, store_id, slot_id)
    conn.execute(
        "INSERT INTO keyslots (id, staff_id, params, public_key, wrapped_private) VALUES (?, ?, ?, ?, ?)",
        (slot_id, staff_id, json.dumps(material.params), material.public_key, material.wrapped_private),
    )
    for generation, master in masters.items():
        conn.execute(
            "INSERT INTO slot_masters (slot_id, generation, sealed) VALUES (?, ?, ?)",
            (slot_id, generation, crypto.seal_master_to_slot(master, generation, material.public_key, store_id, slot_id)),
        )
    return slot_id


def store_info(path: str | os.PathLike) -> dict:
    """Facts about a store that need no key and reveal no personal data."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"no store at {path}", hint="create one with `mhtool init --admin NAME`")
    conn = _connect_to_inspect(path)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in schema.SEALED_TABLES if table != "sealed_meta"}
        active_staff = conn.execute("SELECT count(*) FROM staff WHERE active = 1").fetchone()[0]
        version = schema.current_version(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not an mhtool store ({exc})") from None
    finally:
        conn.close()
    return {
        "store": str(path),
        "store_id": meta.get("store_id"),
        "schema_version": version,
        "created_at": meta.get("created_at"),
        "key_generation": int(meta.get("generation") or 0),
        "rotation_in_progress": bool(meta.get("rotation_target")),
        "staff": active_staff,
        "records": {k: v for k, v in counts.items() if k != "staff"},
        "size_bytes": path.stat().st_size,
    }


__all__ = ["Store", "Txn", "StaffMember", "create_store", "store_info", "ROLES", "IntegrityError"]
