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

import base64
import hashlib
import hmac
import json
import operator
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property, lru_cache
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from mhtool.domain import sensitivity
from mhtool.errors import AuthenticationFailed, IntegrityError, KeyUnavailable, NotFound, PermissionDenied, StoreError, UsageError
from mhtool.i18n import N_, _
from mhtool.store import counseling_repos, crypto, repos, schema
from mhtool.store.access import PERMISSION_TEXT, ROLE_TIERS, ROLES, allowed, roles_with

BUSY_TIMEOUT_MS = 30_000
GENESIS_MAC = b"\x00" * 32


# What a college-scoped staff member reads about any record outside their colleges, whether it
# belongs to another college or does not exist at all (imports put it on the row's problem).
# Marked for the catalog: translate with _() where shown.
OUT_OF_SCOPE = N_("not found in your colleges")
STUDENT_OUT_OF_SCOPE = N_("student number not found in your colleges")
SCOPE_HINT = N_("only records of your own colleges can be reached: check the number, or ask an admin whether your --college scope should cover it")

# A task or watch episode whose open state changed outside mhtool (Store.check_open), by table and what happened.
_OPEN_CHANGED = {
    ("tasks", "closed"): N_("{table}/{record_id}: an open task was marked done outside mhtool"),
    ("tasks", "deleted"): N_("{table}/{record_id}: an open task was deleted outside mhtool"),
    ("tasks", "reopened"): N_("{table}/{record_id}: a task was reopened or added outside mhtool"),
    ("watches", "closed"): N_("{table}/{record_id}: an open watch episode was marked closed outside mhtool"),
    ("watches", "deleted"): N_("{table}/{record_id}: an open watch episode was deleted outside mhtool"),
    ("watches", "reopened"): N_("{table}/{record_id}: a watch episode was reopened or added outside mhtool"),
    ("signals", "closed"): N_("{table}/{record_id}: an open campus signal was marked reviewed outside mhtool"),
    ("signals", "deleted"): N_("{table}/{record_id}: an open campus signal was deleted outside mhtool"),
    ("signals", "reopened"): N_("{table}/{record_id}: a campus signal was reopened or added outside mhtool"),
    ("tasks", "edited"): N_("{table}/{record_id}: an open task's student or due date was changed outside mhtool"),
    ("watches", "edited"): N_("{table}/{record_id}: an open watch episode's student or start date was changed outside mhtool"),
    ("signals", "edited"): N_("{table}/{record_id}: an open campus signal's student or date was changed outside mhtool"),
}

# The counselors' inbox (Store.inbox_seal / inbox_open). Marked for the catalog: translate with _() where shown.
INBOX_MISSING = N_("this store's counselors' inbox is not set up yet, so peer reports naming students cannot be sealed")
INBOX_MISSING_HINT = N_("a counselor or admin must open the store once (any command, e.g. `mhtool cases tasks`), then run the import again")
INBOX_CLOSED = N_("only a counselor's or an admin's key opens the counselors' inbox")
INBOX_CLOSED_HINT = N_("ask a counselor to read it")

# Record ids given by prefix (Store._resolve_id), by the kind of record the caller names.
_ID_MESSAGES = {
    "entry": (
        N_("entry id {prefix!r} is too short; give at least 4 characters"),
        N_("no entry with id {prefix!r}"),
        N_("entry id {prefix!r} is ambiguous; give more characters"),
    ),
    "task": (
        N_("task id {prefix!r} is too short; give at least 4 characters"),
        N_("no task with id {prefix!r}"),
        N_("task id {prefix!r} is ambiguous; give more characters"),
    ),
    "batch": (
        N_("batch id {prefix!r} is too short; give at least 4 characters"),
        N_("no batch with id {prefix!r}"),
        N_("batch id {prefix!r} is ambiguous; give more characters"),
    ),
    "referral": (
        N_("referral id {prefix!r} is too short; give at least 4 characters"),
        N_("no referral with id {prefix!r}"),
        N_("referral id {prefix!r} is ambiguous; give more characters"),
    ),
    "signal": (
        N_("signal id {prefix!r} is too short; give at least 4 characters"),
        N_("no signal with id {prefix!r}"),
        N_("signal id {prefix!r} is ambiguous; give more characters"),
    ),
}
_ANY_ID_MESSAGES = (
    N_("{what} id {prefix!r} is too short; give at least 4 characters"),
    N_("no {what} with id {prefix!r}"),
    N_("{what} id {prefix!r} is ambiguous; give more characters"),
)


# Up to this much of the store file is read through a memory map (SQLite's default is none).
MMAP_BYTES = 256 * 1024 * 1024


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
    # Pages read from the mapped file rather than copied by a system call each: a list of
    # 3,000 watched students reads thousands of scattered pages. Writes still go through SQLite's journal.
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
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


def _column_value(value) -> str:
    # Typed, so NULL, "None", 1 and "1" stay distinct; ids, dates and hex never contain the separator.
    if value is None:
        return "n"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "x" + bytes(value).hex()
    if isinstance(value, int):
        return f"i{value}"
    return f"s{value}"


def _bound(values) -> bytes:
    # Text and NULL, nearly every bound value, inline; the rest as _column_value writes them.
    return "\x1f".join(["s" + v if type(v) is str else "n" if v is None else _column_value(v) for v in values]).encode()


def bound_columns(table: str, values: dict) -> bytes:
    """The plaintext columns of a row as the bytes its seal authenticates (:data:`schema.PLAIN_COLUMNS`)."""
    columns = schema.PLAIN_COLUMNS.get(table, ())
    if not columns:
        return b""
    return _bound(map(values.get, columns))


# A session without the clinical key rewriting a record leaves its clinical part as it is.
_KEEP = object()

_LEDGER = frozenset(schema.LEDGER_TABLES)
# Record ids drawn at once inside Txn.bulk().
_ID_RUN = 8192
# Blind indexes a session keeps (Store._index): a census of 50,000 twice over.
_INDEX_CACHE = 100_000

# A statement that changes the meta table (generation, rotation target): the transaction's write keys are read again.
_WRITES_META = re.compile(r"\s*(?:UPDATE|INSERT|REPLACE|DELETE)\b[^;]*?(?<![\w.])meta\b", re.IGNORECASE)


@lru_cache(maxsize=256)
def _insert_sql(table: str, names: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _name in names)})"


class _Settling:
    """The store's connection while Txn.bulk() holds rows: any use of it sends them first."""

    def __init__(self, conn: sqlite3.Connection, settle):
        self._conn = conn
        self._settle = settle

    def __getattr__(self, name: str):
        self._settle()
        return getattr(self._conn, name)


class Txn:
    """A write transaction in progress; collects the record ids it touches and the digest of each version it writes."""

    def __init__(self, store: Store):
        self.store = store
        self.targets: list[str] = []
        self.details: dict = {}
        # (table, record id, digest or None for a deletion): what the audit entry commits to.
        self.writes: list[tuple[str, str, bytes | None]] = []
        # Table → record id → open now (the row's OPEN_COLUMNS), closed (False) or deleted (None): kept in the sealed open lists.
        self.opened: dict[str, dict[str, list | bool | None]] = {}
        # Run after the audit entry is appended and before COMMIT: publishing a
        # file here means a file exists only if its audit entry commits.
        self.before_commit: list = []
        # The keys new records are sealed with, read once under this transaction's lock (Store.write_keys):
        # a rotation committed by another process before BEGIN is seen, and none can start during it.
        self.keys: crypto.GenerationKeys | None = None
        # Inside bulk(): INSERT statement → rows not yet sent, and the store's own connection meanwhile.
        self._pending: dict[str, list[list]] = {}
        self._conn: sqlite3.Connection | None = None
        self._ids: list[str] = []

    def execute(self, sql: str, params: Sequence = ()) -> sqlite3.Cursor:
        if "meta" in sql and _WRITES_META.match(sql):
            # The generation or rotation target may change: the next seal reads them again.
            self.keys = None
        return self.store.conn.execute(sql, params)

    def flush(self) -> None:
        """Send every insert bulk() holds: then anything may read or write."""
        pending, self._pending = self._pending, {}
        conn = self._conn or self.store.conn
        for sql, rows in pending.items():
            conn.executemany(sql, rows)

    @contextmanager
    def bulk(self) -> Iterator[Txn]:
        """Inserts inside the block are sealed and remembered at once, and sent to SQLite in one executemany per statement.

        Rows go in each table's order, one table after another; foreign keys
        are checked at COMMIT (``defer_foreign_keys``), since the responses may
        reach SQLite before the students they refer to. While the block runs,
        any use of the store's connection (a read, another statement, the
        commit) first sends every row held, so nothing reads past them. An
        error in the block abandons the transaction (:meth:`Store.write` rolls
        it back).
        """
        store = self.store
        if self._conn is not None:
            yield self
            return
        conn = self._conn = store.conn
        conn.execute("PRAGMA defer_foreign_keys = ON")
        store.conn = _Settling(conn, self.flush)
        try:
            yield self
            self.flush()
        finally:
            store.conn = conn
            self._conn = None
            self._pending = {}

    def _new_id(self) -> str:
        if self._conn is None:
            return crypto.random_id()
        if not self._ids:
            # Random ids, handed out in sorted runs: SQLite inserts a run of rows into its indexes in order, a fifth faster.
            self._ids = crypto.random_ids(_ID_RUN)
        return self._ids.pop()

    def remember(
        self, table: str, record_id: str, bound: bytes, data: bytes | None, clinical: bytes | None = None, *, deleted: bool = False, plain: dict | None = None
    ) -> None:
        if table in _LEDGER:
            self.writes.append((table, str(record_id), None if deleted else crypto.record_digest(table, record_id, bound, data, clinical)))
        flag = schema.OPEN_FLAGS.get(table)
        if flag:
            plain = plain or {}
            # Open now (with the columns the sealed open list keeps of it), closed (False) or deleted (None).
            state = None if deleted else [plain.get(c) for c in schema.OPEN_COLUMNS[table]] if plain.get(flag) is None else False
            self.opened.setdefault(table, {})[str(record_id)] = state

    def insert(
        self, table: str, record: dict, *, columns: dict | None = None, record_id: str | None = None, audit: bool = True, finite: bool = False
    ) -> str:
        """Seal ``record`` into a new row of ``table``; ``finite``: it holds no NaN or infinity (see :func:`crypto.canonical_json`)."""
        rid = record_id or self._new_id()
        key_col = schema.SEALED_TABLES[table]
        cols = {key_col: rid, **(columns or {})}
        bound = bound_columns(table, cols)
        data, clinical = self.store._seal_parts(table, rid, record, bound, finite=finite)
        cols["data"] = data
        if table in schema.CLINICAL_TABLES:
            cols["clin"] = None if clinical is _KEEP else clinical
        sql = _insert_sql(table, tuple(cols))
        if self._conn is not None:
            self._pending.setdefault(sql, []).append(list(cols.values()))
        else:
            self.execute(sql, list(cols.values()))
        self.remember(table, rid, bound, data, cols.get("clin"), plain=cols)
        if audit:
            self.targets.append(f"{table}/{rid}")
        return rid

    def update(self, table: str, record_id: str, record: dict, *, columns: dict | None = None, audit: bool = True) -> None:
        key_col = schema.SEALED_TABLES[table]
        plain = schema.PLAIN_COLUMNS.get(table, ())
        has_clin = table in schema.CLINICAL_TABLES
        current = self.execute(
            f"SELECT {', '.join((key_col, *plain, *(('clin',) if has_clin else ())))} FROM {table} WHERE {key_col} = ?", (record_id,)
        ).fetchone()
        if current is None:
            raise NotFound(_("no {table} record {record_id}").format(table=table, record_id=record_id))
        before = dict(zip(plain, current[1 : 1 + len(plain)]))
        cols = dict(columns or {})
        after = {**before, **cols}
        bound = bound_columns(table, after)
        data, clinical = self.store._seal_parts(table, record_id, record, bound)
        if has_clin:
            if clinical is _KEEP:
                clinical = current[-1]
                if clinical is not None and bound != bound_columns(table, before):
                    raise KeyUnavailable(
                        _("{table}/{record_id} has clinical content that this key slot cannot re-seal, so its dates and links cannot change here").format(
                            table=table, record_id=record_id
                        ),
                        hint=_("ask a counselor or an admin to make this change"),
                    )
            cols["clin"] = clinical
        cols["data"] = data
        sets = ", ".join(f"{name} = ?" for name in cols)
        self.execute(f"UPDATE {table} SET {sets} WHERE {key_col} = ?", [*cols.values(), record_id])
        self.remember(table, record_id, bound, data, cols.get("clin"), plain=after)
        if audit:
            self.targets.append(f"{table}/{record_id}")

    def delete(self, table: str, record_id: str, *, audit: bool = True) -> None:
        key_col = schema.SEALED_TABLES[table]
        if self.execute(f"DELETE FROM {table} WHERE {key_col} = ?", (record_id,)).rowcount:
            self.remember(table, record_id, b"", None, deleted=True)
            if audit:
                self.targets.append(f"{table}/{record_id}")

    def put_value(self, key: str, value) -> None:
        """Create or replace the named sealed value ``key`` (settings, caches, export keys)."""
        exists = self.execute("SELECT 1 FROM sealed_meta WHERE key = ?", (key,)).fetchone()
        if exists:
            self.update("sealed_meta", key, value, audit=False)
        else:
            self.insert("sealed_meta", value, record_id=key, audit=False)

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
        self.readonly = False
        self._plain_columns: dict[str, set[str]] = {}
        # Table → (data_version when its open rows were last checked, the sealed open rows then, or None).
        self._open_checked: dict[str, tuple[int, dict[str, list] | None]] = {}
        self._txn: Txn | None = None
        # The session's own slot and key pair: a member re-wraps their own key with a new passphrase.
        self.slot_id: str | None = None
        self.private_key = None
        # What the open found changed outside mhtool in the staff directory and key slots (warned of by every command).
        self.tampering: list[str] = []
        # The inbox private keys as last read, with the data_version they were read at.
        self._inbox_keys: tuple[int, list[dict]] | None = None
        # Blind indexes computed in this session: (index key, kind, value) → index.
        self._indexes: dict[tuple[bytes | None, str, str], bytes] = {}

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike, credential: crypto.Credential, user: str | None = None, *, readonly: bool = False) -> Store:
        """Open the store at ``path`` as ``user``.

        Nothing is written before the credential has opened a key slot: a wrong
        passphrase leaves the file byte-for-byte as it was. The slot's keys must
        be bound to the staff member the tables name, with their role and
        colleges; anything else in the staff directory or the key slots that
        was changed outside mhtool is listed in :attr:`tampering`.
        """
        path = Path(path)
        if not path.exists():
            raise StoreError(
                _("no store at {path}").format(path=path), hint=_("create one with `mhtool init --admin NAME`, or pass --store / MHTOOL_STORE")
            )
        conn = None
        try:
            conn = _connect_to_inspect(path)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            version = schema.current_version(conn)
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise StoreError(_("{path} is not an mhtool store ({error})").format(path=path, error=exc)) from None
        try:
            if version < schema.FIRST_FORMAT_2_VERSION:
                raise StoreError(
                    _("{path} was written by an earlier mhtool that sealed every record with one key for all roles").format(path=path),
                    hint=_("this version keeps a key per role: an admin upgrades the store once with `mhtool upgrade` (a copy is kept beside it)"),
                )
            store_id = meta["store_id"]
            slots = _candidate_slots(conn, user, credential)
            private = None
            chosen = None
            last_error: Exception | None = None
            for slot in slots:
                try:
                    private = credential.unlocked or crypto.unlock_slot(credential, store_id, slot["id"], _slot_params(slot), slot["wrapped_private"])
                    chosen = slot
                    break
                except AuthenticationFailed as exc:
                    last_error = exc
            if private is None or chosen is None:
                raise AuthenticationFailed(
                    credential_refused(credential, user),
                    hint=_(
                        "check MHTOOL_USER/--user and the passphrase or key file; nothing was changed "
                        "(if they are right, the staff table may have been edited: ask an admin to run `mhtool audit verify --deep`)"
                    ),
                ) from last_error
            keyring: dict[int, crypto.GenerationKeys] = {}
            bindings: dict[int, dict] = {}
            for generation, sealed in conn.execute("SELECT generation, sealed FROM slot_masters WHERE slot_id = ?", (chosen["id"],)).fetchall():
                secrets, binding = crypto.open_bundle(private, sealed, generation, store_id, chosen["id"])
                keyring[generation] = crypto.derive_keys(secrets, generation, store_id)
                bindings[generation] = binding
            if not keyring:
                raise AuthenticationFailed(_("this key slot no longer holds a key to the store (access was revoked)"))
            staff_rows = conn.execute("SELECT id, name, active, data FROM staff").fetchall()
            all_slots = conn.execute("SELECT id, staff_id, public_key FROM keyslots").fetchall()
            saved_directory = conn.execute("SELECT data FROM sealed_meta WHERE key = 'directory'").fetchone()
            directory_mac = meta.get("directory_mac")
        finally:
            conn.close()
        directory = {}
        damaged: list[str] = []
        damaged_ids: set[str] = set()
        mine: dict = {}
        for staff_id, name, active, data in staff_rows:
            try:
                record = crypto.unseal(keyring, store_id, "staff", staff_id, data, bound_columns("staff", {"name": name, "active": active}))
            except IntegrityError as exc:
                if staff_id == chosen["staff_id"]:
                    raise
                # Someone else's damaged record must not lock the whole center out: it is reported, and trusted for nothing.
                damaged.append(exc.message)
                damaged_ids.add(staff_id)
                continue
            directory[staff_id] = crypto.directory_entry(staff_id, name, active, record.get("role"), record.get("colleges"), record.get("public_key") or "")
            if staff_id == chosen["staff_id"]:
                mine = record
        newest = max(keyring)
        binding = bindings[newest]
        entry = directory.get(chosen["staff_id"])
        if entry is None:
            raise IntegrityError(
                _("key slot {slot} names staff record {staff_id}, which does not exist (the key-slot table was edited)").format(
                    slot=chosen["id"], staff_id=chosen["staff_id"]
                )
            )
        _check_binding(chosen, entry, binding, private, set(keyring[newest].secrets))
        if not entry["active"]:
            raise AuthenticationFailed(_("this staff member has been removed from the store"))
        staff = StaffMember(
            id=entry["id"],
            name=entry["name"],
            role=entry["role"],
            colleges=list(entry["colleges"]),
            display_name=mine.get("display_name") or entry["name"],
            standing_purpose=mine.get("standing_purpose") or "",
        )
        conn = _connect(path, readonly=readonly)
        if readonly:
            # A store of an earlier version is migrated only when opened for writing; read-only, newer tables read as empty.
            schema.shadow_newer_tables(conn)
        store = cls(path, conn, store_id, keyring, staff, meta.get("timezone") or "Asia/Shanghai")
        store.readonly = readonly
        store.slot_id, store.private_key = chosen["id"], private
        trusted: list[dict] | None = None
        try:
            trusted = crypto.unseal(keyring, store_id, "sealed_meta", "directory", saved_directory[0])["entries"] if saved_directory else None
        except (IntegrityError, KeyError, TypeError):
            trusted = None
        store.tampering = damaged + directory_changes(list(directory.values()), binding.get("directory"), trusted, all_slots, skip=damaged_ids)
        if keyring[newest].directory_key is not None:
            try:
                trusted_directory(store)
            except IntegrityError as exc:
                store.tampering.append(exc.message)
        if not readonly:
            migrating = schema.current_version(store.conn) < schema.LATEST
            # The counselors' inbox of a store made before it existed: the first counselor or admin who
            # opens the store to write creates its key pair (a clerk cannot: its private half is clinical).
            needs_inbox = store.holds_clinical() and not store.inbox_ready()
            if migrating:
                with store.write("store.migrate", details={"to": schema.LATEST}) as txn:
                    schema.migrate(store.conn)
                    if needs_inbox:
                        ensure_inbox(txn)
            elif needs_inbox:
                with store.write("store.inbox", details={"inbox": "created"}) as txn:
                    ensure_inbox(txn)
            elif store.holds_clinical():
                problem = store.inbox_mismatch()
                if problem:
                    store.tampering.append(problem)
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
        """The keys of the generation new records are sealed with: read from meta, once per write transaction.

        Inside a transaction the lock is held, so the generation read after
        BEGIN stays right until the transaction itself writes meta (a rotation
        starting or ending), which makes :meth:`Txn.execute` read it again.
        """
        txn = self._txn
        if txn is not None and txn.keys is not None:
            return txn.keys
        gen = self.write_generation
        if gen not in self.keyring:
            raise StoreError(_("a key rotation is in progress that this session cannot take part in; reopen the store"))
        keys = self.keyring[gen]
        if txn is not None:
            txn.keys = keys
        return keys

    def seal(self, table: str, record_id: str, value, bound: bytes = b"", *, keys: crypto.GenerationKeys | None = None, finite: bool = False) -> bytes:
        tier = schema.tier_of(table, str(record_id))
        return crypto.seal(keys or self.write_keys, self.store_id, table, str(record_id), value, tier, bound, finite=finite)

    def _seal_parts(self, table: str, record_id: str, record: dict, bound: bytes, *, finite: bool = False):
        """The sealed administrative part and the sealed clinical part (None, or ``_KEEP`` without the clinical key)."""
        keys = self.write_keys
        if table not in schema.CLINICAL_TABLES:
            return self.seal(table, record_id, record, bound, keys=keys, finite=finite), None
        admin, clinical = sensitivity.split(table, record)
        data = self.seal(table, record_id, admin, bound, keys=keys)
        if clinical:
            return data, crypto.seal(keys, self.store_id, table, str(record_id), clinical, "clinical", bound)
        return data, (None if keys.holds("clinical") else _KEEP)

    def unseal(self, table: str, record_id: str, blob: bytes, bound: bytes = b"", *, tier: str | None = None):
        expected = tier or schema.tier_of(table, str(record_id))
        return crypto.unseal(self.keyring, self.store_id, table, str(record_id), blob, bound, tier=expected)

    def blind_index(self, value: str, kind: str = "student_no") -> bytes:
        return self._index(self.write_keys, value, kind)

    def _index(self, keys: crypto.GenerationKeys, value: str, kind: str) -> bytes:
        # An import looks its numbers up, then writes them: each index is computed once.
        # Keyed by the index key itself: a generation number can come back with other keys (a rotation that never began).
        cache = self._indexes
        found = cache.get((keys.index_key, kind, value))
        if found is None:
            if len(cache) >= _INDEX_CACHE:
                cache.clear()
            found = cache[keys.index_key, kind, value] = crypto.blind_index(keys, value, kind)
        return found

    # -- the counselors' inbox ------------------------------------------------------------
    #
    # A clerk imports peer reports that name students; the description is sealed to the inbox, whose
    # private key only the clinical tier opens (docs/design.md, "Keys per role"). Every role seals to
    # it; counselors and admins open it.

    def holds_clinical(self) -> bool:
        """Whether this session's key holds the clinical tier (counselors and admins)."""
        return any(keys.holds("clinical") for keys in self.keyring.values())

    def inbox_ready(self) -> bool:
        """Whether the inbox key pair exists (both halves)."""
        found = {r[0] for r in self.conn.execute("SELECT key FROM sealed_meta WHERE key IN ('inbox_public', 'inbox_private')")}
        return found == {"inbox_public", "inbox_private"}

    def inbox_private_keys(self) -> list[dict]:
        """The inbox key pairs, oldest first ({key_id, public, private} in hex); KeyUnavailable without the clinical key."""
        if not self.holds_clinical():
            raise KeyUnavailable(_(INBOX_CLOSED), hint=_(INBOX_CLOSED_HINT))
        version = self.data_version()
        cached = self._inbox_keys
        if cached is not None and cached[0] == version and not self._in_write:
            return cached[1]
        value = self.sealed_values.get("inbox_private") or {}
        keys = [k for k in value.get("keys") or [] if isinstance(k, dict)]
        if not self._in_write:
            self._inbox_keys = (version, keys)
        return keys

    def inbox_mismatch(self) -> str | None:
        """A tampering message when the inbox's public half is not the newest private half's (None when they match or are absent)."""
        try:
            keys = self.inbox_private_keys()
            public = self.sealed_values.get("inbox_public") or {}
        except (IntegrityError, KeyUnavailable) as exc:
            return getattr(exc, "message", str(exc))
        if keys and public.get("public") != keys[-1].get("public"):
            return _("the counselors' inbox public key differs from its private key: sealed_meta inbox_public was edited outside mhtool")
        return None

    def _inbox_public(self) -> bytes:
        if self.holds_clinical():
            keys = self.inbox_private_keys()
            if keys:
                return bytes.fromhex(keys[-1]["public"])
        value = self.sealed_values.get("inbox_public")
        if not value or not value.get("public"):
            raise StoreError(_(INBOX_MISSING), hint=_(INBOX_MISSING_HINT))
        return bytes.fromhex(value["public"])

    def _inbox_aad(self, aad_id: str) -> bytes:
        return f"{self.store_id}|inbox|{aad_id}".encode()

    def inbox_seal(self, obj, aad_id: str) -> str:
        """Seal ``obj`` (JSON) to the counselors' inbox, bound to the record ``aad_id`` names; base64 text. Any role.

        A store whose inbox was never set up (made before it existed and not yet
        opened by a counselor or admin) raises :class:`~mhtool.errors.StoreError`.
        """
        blob = crypto.seal_to_inbox(self._inbox_public(), crypto.canonical_json(obj), self._inbox_aad(aad_id))
        return base64.b64encode(blob).decode("ascii")

    def inbox_open(self, blob: str, aad_id: str):
        """What :meth:`inbox_seal` sealed for ``aad_id``: counselors and admins; KeyUnavailable for any other key."""
        keys = self.inbox_private_keys()
        try:
            raw = base64.b64decode(blob, validate=True) if isinstance(blob, str) else bytes(blob)
        except (ValueError, TypeError):
            raw = b""
        key_id = crypto.inbox_blob_key_id(raw)
        if key_id is None:
            raise IntegrityError(_("the inbox blob of {record} is malformed (tampered or corrupt)").format(record=aad_id))
        match = next((k for k in keys if k.get("key_id") == key_id.hex()), None)
        if match is None:
            raise IntegrityError(
                _("the inbox blob of {record} was sealed to a key this store does not hold (planted or copied from another store)").format(record=aad_id),
                hint=_("restore the store from a backup and run `mhtool audit verify --deep`"),
            )
        try:
            plain = crypto.open_inbox(bytes.fromhex(match["private"]), raw, self._inbox_aad(aad_id))
        except IntegrityError as exc:
            raise IntegrityError(
                _("the inbox blob of {record} failed its integrity check (tampered, or moved from another record)").format(record=aad_id), hint=exc.hint
            ) from None
        return json.loads(plain.decode("utf-8"))

    def blind_candidates(self, value: str, kind: str = "student_no") -> list[bytes]:
        return [self._index(keys, value, kind) for keys in self.keyring.values()]

    # -- transactions and audit -----------------------------------------------------------

    @contextmanager
    def write(self, action: str, *, targets: Iterable[str] = (), details: dict | None = None) -> Iterator[Txn]:
        """One BEGIN IMMEDIATE transaction; the audit entry is appended inside it."""
        if self._in_write:
            raise StoreError(_("nested write transactions are not supported"))
        self._in_write = True
        self.conn.execute("BEGIN IMMEDIATE")
        txn = Txn(self)
        self._txn = txn
        try:
            yield txn
            merged = {**(details or {}), **txn.details}
            self._save_open_lists(txn)
            self._append_audit(action, [*targets, *txn.targets], merged, txn.writes)
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
            self._txn = None

    def _save_open_lists(self, txn: Txn) -> None:
        for table, changes in txn.opened.items():
            rows, kept = self._open_value(table)
            rows = _with_changes(rows, changes)
            if rows and not kept:
                # A list written before open lists kept their rows' columns: they are read once, each row's seal checked.
                rows = self._open_columns_read(table, rows)
            txn.put_value(f"open:{table}", {"rows": dict(sorted(rows.items()))})
        txn.opened = {}

    def _open_value(self, table: str) -> tuple[dict[str, list | None], bool]:
        """The sealed open list of ``table``: each open row's id → its OPEN_COLUMNS, and whether the list keeps them.

        A list of an earlier version holds ids only: each maps to None.
        """
        value = self.sealed_values.get(f"open:{table}") or {}
        rows = value.get("rows")
        if isinstance(rows, dict):
            return rows, True
        return dict.fromkeys(value.get("ids") or []), False

    def _open_columns_read(self, table: str, ids) -> dict[str, list | None]:
        """Each of ``ids`` → its OPEN_COLUMNS as its row holds them, the row's seal checked; None where no open row has that id."""
        flag, columns = schema.OPEN_FLAGS[table], schema.OPEN_COLUMNS[table]
        found: dict[str, list | None] = dict.fromkeys(ids)
        for rid, closed, *values in self._plain(table, ("id", flag, *columns), "id IN (SELECT value FROM json_each(?))", (json.dumps(sorted(found)),)):
            if closed is None:
                found[rid] = values
        return found

    def open_list(self, table: str) -> list[str]:
        """The sealed list of ``table``'s open rows (tasks not done, watch episodes not closed)."""
        return list(self._open_value(table)[0])

    def check_open(self, table: str) -> dict[str, list] | None:
        """The rows SQL finds open must be the sealed list's: a row closed, reopened, deleted or moved outside mhtool is named.

        Returns the open rows (id → their OPEN_COLUMNS: whose, which day), now
        checked against SQL's, or None for a list written by an earlier
        version (its rows are then checked by id only, until the next write
        keeps their columns). The columns come from an index, so no row is
        read. Checked once per change of the database (``data_version``), so
        a command that asks several questions of the open tasks pays once.
        """
        version = self.data_version()
        checked = self._open_checked.get(table)
        if not self._in_write and checked is not None and checked[0] == version:
            return checked[1]
        flag = schema.OPEN_FLAGS[table]
        rows, kept = self._open_value(table)
        # Inside a write, this transaction's own changes are not in the sealed list until it commits.
        rows = _with_changes(rows, self._txn.opened.get(table, {}) if self._txn is not None else {})
        # A list that keeps no columns is compared by id.
        columns = "".join(f", {c}" for c in schema.OPEN_COLUMNS[table]) if kept else ""
        in_sql = {rid: values for rid, *values in self.conn.execute(f"SELECT id{columns} FROM {table} WHERE {flag} IS NULL")}
        found, sealed = set(in_sql), set(rows)
        edited = sorted(rid for rid, values in in_sql.items() if values != rows[rid]) if kept and found == sealed else []
        if edited:
            more = len(edited) - 1
            message = _(_OPEN_CHANGED[table, "edited"]).format(table=table, record_id=edited[0])
            raise IntegrityError(
                _("{problem} (and {more} more)").format(problem=message, more=more) if more else message,
                hint=_("restore the store from a backup and run `mhtool audit verify --deep`"),
            )
        if found != sealed:
            odd = sorted(sealed - found)
            if odd:
                rid = odd[0]
                exists = self.conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (rid,)).fetchone()
                message = _(_OPEN_CHANGED[table, "closed" if exists else "deleted"]).format(table=table, record_id=rid)
            else:
                message = _(_OPEN_CHANGED[table, "reopened"]).format(table=table, record_id=sorted(found - sealed)[0])
            more = len(sealed ^ found) - 1
            raise IntegrityError(
                _("{problem} (and {more} more)").format(problem=message, more=more) if more else message,
                hint=_("restore the store from a backup and run `mhtool audit verify --deep`"),
            )
        checked = rows if kept else None
        if not self._in_write:
            self._open_checked[table] = (version, checked)
        return checked

    def data_version(self) -> int:
        """A number that changes whenever another connection commits: records read before a write are stale if it moved."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def audit_read(self, action: str, targets: Iterable[str] = (), details: dict | None = None) -> None:
        """Record a read of personal data (its own small write transaction)."""
        with self.write(action, targets=targets, details=details):
            pass

    def _append_audit(self, action: str, targets: list[str], details: dict, writes: list[tuple[str, str, bytes | None]] = ()) -> None:
        row = self.conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, previous = (row[0] + 1, row[1]) if row else (1, GENESIS_MAC)
        at = _utcnow()
        entry = {"seq": seq, "at": at, "staff": self.staff.name, "action": action, "targets": targets, "details": details}
        if writes:
            # The chain commits to every version written: `audit verify --deep` finds rows edited, rolled back or deleted since.
            entry["writes"] = {"count": len(writes), "digest": ledger_digest(writes)}
            self.conn.executemany("INSERT INTO ledger (seq, tbl, rid, digest) VALUES (?, ?, ?, ?)", [(seq, t, r, d) for t, r, d in writes])
        keys = self.write_keys
        mac = crypto.audit_mac(keys, previous, entry)
        self.conn.execute(
            "INSERT INTO audit (seq, at, generation, data, mac) VALUES (?, ?, ?, ?, ?)",
            (seq, at, keys.generation, crypto.seal(keys, self.store_id, "audit", str(seq), entry, "common"), mac),
        )

    def audit_keys(self) -> dict[int, crypto.GenerationKeys | bytes]:
        """Audit MAC keys by generation: live generations plus archived old ones."""
        keys: dict[int, bytes] = {gen: k.audit_key for gen, k in self.keyring.items()}
        archive = self.sealed_values.get("audit_keys") or {}
        for gen, hexkey in archive.items():
            keys.setdefault(int(gen), bytes.fromhex(hexkey))
        return keys

    # -- permissions ------------------------------------------------------------------------

    def can(self, permission: str) -> bool:
        return allowed(self.staff.role, permission)

    def require(self, permission: str, *, action: str = "", targets: Iterable[str] = ()) -> None:
        if self.can(permission):
            return
        self._deny(f"permission:{permission}", action, list(targets))
        action_text = _(PERMISSION_TEXT[permission]) if permission in PERMISSION_TEXT else permission
        roles = ""
        for role in roles_with(permission):
            roles = _("{roles} or {role}").format(roles=roles, role=role) if roles else role
        raise PermissionDenied(
            _("{role} {name!r} may not {action}").format(role=self.staff.role, name=self.staff.name, action=action_text),
            hint=_("this needs the role {roles}").format(roles=roles),
        )

    def in_scope(self, college: str | None) -> bool:
        return not self.staff.colleges or (college or "") in self.staff.colleges

    def scope_refusal(self, what: str = "record", *, student_no: str | None = None) -> PermissionDenied:
        """The one answer a college-scoped staff member gets for a record outside their colleges.

        It names neither the record's college nor anything stored about it, and
        reads the same for a record of another college and for one that does
        not exist (:data:`OUT_OF_SCOPE`), so "not yours" tells nothing that "no
        such student" does not. ``student_no``: the refusal of a student number.
        """
        fields = {"name": self.staff.name, "colleges": ", ".join(self.staff.colleges)}
        if student_no is not None:
            message = _("student number {student_no} not found in your colleges ({name!r} is limited to {colleges})").format(student_no=student_no, **fields)
        elif what == "record":
            message = _("record not found in your colleges ({name!r} is limited to {colleges})").format(**fields)
        else:
            message = _("{what} not found in your colleges ({name!r} is limited to {colleges})").format(what=what, **fields)
        return PermissionDenied(message, hint=_(SCOPE_HINT))

    def require_college(self, college: str | None, *, action: str = "", targets: Iterable[str] = ()) -> None:
        if self.in_scope(college):
            return
        self._deny("scope:college", action, list(targets))
        if targets:
            raise self.scope_refusal("record")
        # A college the user named (--college): still said without repeating it.
        raise PermissionDenied(
            _("that college is not one of yours ({name!r} is limited to {colleges})").format(name=self.staff.name, colleges=", ".join(self.staff.colleges)),
            hint=_(SCOPE_HINT),
        )

    def require_student(self, record: dict | None, student_no: str, *, action: str = "") -> dict:
        """The stored student ``record`` found for ``student_no``, if a scoped staff member may reach it.

        For a scoped staff member a number of another college and a number
        nobody has are refused alike (and audited alike); the caller reports a
        missing number to an unscoped one.
        """
        if record is not None and self.in_scope(record.get("college")):
            return record
        self._deny("scope:college", action, [f"students/{record['id']}"] if record is not None else [])
        raise self.scope_refusal(student_no=student_no)

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
        cur = self.conn.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,))
        row = cur.fetchone()
        if row is None:
            raise NotFound(_("no {table} record {record_id}").format(table=table, record_id=record_id))
        return self._reader(table, cur.description)(row)

    def _select(self, table: str, where: str = "", params: Sequence = (), order: str = "", *, clinical: bool = True) -> list[dict]:
        sql = f"SELECT * FROM {table}"
        if where:
            sql += f" WHERE {where}"
        if order:
            sql += f" ORDER BY {order}"
        cur = self.conn.execute(sql, params)
        read = self._reader(table, cur.description, clinical=clinical)
        return [read(row) for row in cur]

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
        """Plaintext columns only (ids, foreign keys, dates), checked against each row's seal but not parsed.

        For lists that need, say, each student's earliest due date over
        thousands of rows: parsing records that only answer a date question is
        most of the cost, but an edited date must still fail, not answer.
        """
        if "data" in columns:
            raise StoreError(_("plain() reads plaintext columns only; use select() for sealed data"))
        key_col = schema.SEALED_TABLES[table]
        bound_cols = schema.PLAIN_COLUMNS[table]
        # Columns asked for that the seal binds anyway are read once, from the bound values.
        extra = [c for c in columns if c not in bound_cols]
        sql = f"SELECT {', '.join((key_col, 'data', *bound_cols, *extra))} FROM {table}" + (f" WHERE {where}" if where else "")
        width = len(bound_cols)
        at = [2 + bound_cols.index(c) if c in bound_cols else 2 + width + extra.index(c) for c in columns]
        pick = operator.itemgetter(*at) if len(at) > 1 else (lambda row: tuple(row[i] for i in at))
        verify = crypto.opener(self.keyring, self.store_id, table, schema.tier_of(table, ""), parse=False)
        out = []
        for row in self.conn.execute(sql, params):
            verify(str(row[0]), row[1], _bound(row[2 : 2 + width]) if width else b"")
            out.append(pick(row))
        return out

    def _versions(self, table: str, where: str, params: Sequence = ()) -> dict[str, bytes]:
        """Each row's id → the digest the audit ledger keeps of its current version, without opening it.

        The digest covers the row's plaintext columns and sealed bytes, and every
        write seals with a fresh nonce: a row unchanged since a copy was made
        from it has the same digest, and a row changed in any byte, by mhtool or
        not, has another.
        """
        key_col = schema.SEALED_TABLES[table]
        clin = "clin" if table in schema.CLINICAL_TABLES else "NULL"
        bound_cols = schema.PLAIN_COLUMNS[table]
        sql = f"SELECT {', '.join((key_col, 'data', clin, *bound_cols))} FROM {table} WHERE {where}"
        digest = crypto.record_digest
        return {str(row[0]): digest(table, row[0], _bound(row[3:]) if bound_cols else b"", row[1], row[2]) for row in self.conn.execute(sql, params)}

    def _resolve_id(self, table: str, prefix: str, what: str) -> str:
        """Accept a full record id or an unambiguous prefix of at least 4 characters."""
        prefix = (prefix or "").strip().lower()
        too_short, missing, ambiguous = _ID_MESSAGES.get(what, _ANY_ID_MESSAGES)
        if len(prefix) < 4:
            raise UsageError(_(too_short).format(what=what, prefix=prefix))
        rows = self.conn.execute(f"SELECT id FROM {table} WHERE id >= ? AND id < ? LIMIT 2", (prefix, prefix + "\uffff")).fetchall()
        if not rows:
            raise NotFound(_(missing).format(what=what, prefix=prefix))
        if len(rows) > 1:
            raise UsageError(_(ambiguous).format(what=what, prefix=prefix))
        return rows[0][0]

    def _reader(self, table: str, desc, *, clinical: bool = True):
        """A function turning one row of ``SELECT *`` into its record: the columns' places are worked out once per query.

        ``clinical=False`` leaves the clinical part sealed, as for a key without the clinical tier.
        """
        names = [d[0] for d in desc]
        data_at = names.index("data")
        clin_at = names.index("clin") if "clin" in names else None
        key_at = names.index(schema.SEALED_TABLES.get(table, "id"))
        plain_at = [names.index(c) for c in schema.PLAIN_COLUMNS.get(table, ())]
        keep = [(i, n) for i, n in enumerate(names) if i != data_at and i != clin_at]
        tier = schema.tier_of(table, "") if table != "sealed_meta" else None
        clinical_table = table in schema.CLINICAL_TABLES
        open_clinical = clinical
        keyring, store_id = self.keyring, self.store_id
        unseal = crypto.unseal
        open_data = crypto.opener(keyring, store_id, table, tier) if tier else None
        open_clin = crypto.opener(keyring, store_id, table, "clinical") if clinical_table and open_clinical else None
        split = sensitivity.split

        def read(row: tuple) -> dict:
            key = str(row[key_at])
            bound = _bound([row[i] for i in plain_at]) if plain_at else b""
            if open_data is not None:
                record = open_data(key, row[data_at], bound)
            else:
                record = unseal(keyring, store_id, table, key, row[data_at], bound, tier=schema.tier_of(table, key))
            if clinical_table:
                # The administrative part is sealed under a key clerks hold: whatever clinical-looking
                # fields someone put there are not read as clinical content.
                record = split(table, record)[0]
                clinical = row[clin_at] if open_clin is not None else None
                if clinical is not None:
                    try:
                        record = sensitivity.merge(record, open_clin(key, clinical, bound))
                    except KeyUnavailable:
                        # A clerk's or cron's key: the record is read without its clinical part, which it cannot decrypt.
                        pass
            for i, name in keep:
                record[name] = row[i]
            return record

        return read

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
    def signals(self) -> repos.Signals:
        return repos.Signals(self)

    @cached_property
    def signal_facts(self) -> repos.SignalFacts:
        return repos.SignalFacts(self)

    @cached_property
    def network_members(self) -> repos.NetworkMembers:
        return repos.NetworkMembers(self)

    @cached_property
    def network_reports(self) -> repos.NetworkReports:
        return repos.NetworkReports(self)

    @cached_property
    def appointments(self) -> counseling_repos.Appointments:
        return counseling_repos.Appointments(self)

    @cached_property
    def counseling_groups(self) -> counseling_repos.CounselingGroups:
        return counseling_repos.CounselingGroups(self)

    @cached_property
    def activities(self) -> counseling_repos.Activities:
        return counseling_repos.Activities(self)

    @cached_property
    def staff_rows(self) -> repos.StaffRows:
        return repos.StaffRows(self)

    @cached_property
    def sealed_values(self) -> repos.SealedValues:
        return repos.SealedValues(self)

    def find_student(self, student_no: str) -> dict | None:
        """The student record for a student number, or None."""
        return self.students.find(student_no)

    def student_no_index(self, student_no: str) -> bytes:
        return self.blind_index(crypto.normalise_student_no(student_no))

    # -- setting --------------------------------------------------------------------------

    def settings(self) -> dict:
        """Every store setting (policies, cadence); they live sealed like any record."""
        return self.sealed_values.get("settings") or {}

    def update_settings(self, txn: Txn, changes: dict) -> dict:
        """Merge ``changes`` into the sealed settings inside the caller's transaction; return the result."""
        settings = self.settings()
        for key, value in changes.items():
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
        txn.put_value("settings", settings)
        return settings

    def setting(self, key: str, default=None):
        return self.settings().get(key, default)


# Where a credential came from, as messages name it (Credential.source); any other source is a path or a variable.
_SOURCES = (N_("input"), N_("the prompt"), N_("the caller"))


def credential_refused(credential: crypto.Credential, user: str | None) -> str:
    """The message for a credential that opens no slot of ``user`` (or, without one, no key-file slot)."""
    source = credential.source or _SOURCES[0]
    shown = _(source) if source in _SOURCES else source
    if credential.kind == "keyfile":
        message = _("the keyfile from {source} does not open staff member {user!r}") if user else _("the keyfile from {source} does not open any key-file slot")
    else:
        message = _("the passphrase from {source} does not open staff member {user!r}") if user else _("the passphrase from {source} does not open any key-file slot")
    return message.format(source=shown, user=user)


def _slot_params(slot: dict) -> dict:
    """A slot's KDF parameters, refusing anything that is not what mhtool wrote."""
    try:
        params = json.loads(slot["params"])
        if not isinstance(params, dict):
            raise ValueError("not an object")
        bytes.fromhex(params.get("salt", ""))
    except (ValueError, TypeError) as exc:
        raise StoreError(
            _("key slot {slot} has unreadable parameters ({error}); it was edited or is corrupt, so it was refused").format(slot=slot["id"], error=exc),
            hint=_("restore the store from a backup or ask an admin to re-add this staff member"),
        ) from None
    return params


def _candidate_slots(conn: sqlite3.Connection, user: str | None, credential: crypto.Credential) -> list[dict]:
    cols = "k.id, k.staff_id, k.params, k.wrapped_private, k.public_key"
    if user:
        rows = conn.execute(
            f"SELECT {cols} FROM keyslots k JOIN staff s ON s.id = k.staff_id WHERE s.name = ?", (user,)
        ).fetchall()
        if not rows and credential.unlocked is None:
            raise AuthenticationFailed(_("no staff member named {user!r} has a key slot in this store").format(user=user), hint=_("check --user / MHTOOL_USER"))
    elif credential.kind == "keyfile":
        rows = conn.execute(f"SELECT {cols} FROM keyslots k").fetchall()
    else:
        raise AuthenticationFailed(_("which staff member? a passphrase opens one person's slot"), hint=_("pass --user NAME or set MHTOOL_USER"))
    slots = [dict(zip(("id", "staff_id", "params", "wrapped_private", "public_key"), r)) for r in rows]
    if credential.unlocked is not None:
        # An already-unwrapped key opens the slots holding its public key (an admin's reset gives a new one).
        public = crypto.public_bytes(credential.unlocked)
        matching = [s for s in slots if bytes(s["public_key"]) == public]
        if not matching:
            raise AuthenticationFailed(
                _("the unlock agent holds a key that opens no key slot of {user!r} (the slot was reset or removed since `mhtool unlock`)").format(user=user),
                hint=_("run `mhtool lock`, then `mhtool unlock` again"),
            )
        return matching
    wanted = "keyfile" if credential.kind == "keyfile" else None
    matching = [s for s in slots if (_slot_params(s).get("kdf") == "keyfile") == (wanted == "keyfile")]
    if not matching:
        keyfile = credential.kind == "keyfile"
        if user:
            message = _("staff member {user!r} has no keyfile slot") if keyfile else _("staff member {user!r} has no passphrase slot")
        else:
            message = _("this store has no keyfile slot") if keyfile else _("this store has no passphrase slot")
        raise AuthenticationFailed(
            message.format(user=user),
            hint=_("use MHTOOL_KEY_FILE for key-file slots, a passphrase (prompt or MHTOOL_PASSPHRASE_FILE) otherwise"),
        )
    return matching


def _with_changes(rows: dict[str, list | None], changes: dict[str, list | bool | None]) -> dict[str, list | None]:
    """An open list's rows with a transaction's changes applied (record id → its columns while open, or closed or deleted)."""
    if not changes:
        return rows
    out = dict(rows)
    for record_id, state in changes.items():
        if state:
            out[record_id] = state
        else:
            out.pop(record_id, None)
    return out


def _trusted_slot(entry: dict | None, public_key: bytes) -> bool:
    """A slot is trusted when its staff member is active in the directory and it holds that member's key."""
    return entry is not None and entry["active"] and bytes(public_key).hex() == entry["public_key"]


def _check_binding(slot: dict, entry: dict, binding: dict, private, tiers: set[str]) -> None:
    """The slot's keys must be bound to the staff member, role and colleges the tables name, and hold exactly that role's tiers."""
    where = {"slot": slot["id"], "name": entry["name"]}
    if binding.get("staff_id") != slot["staff_id"]:
        raise IntegrityError(
            _("key slot {slot} (staff member {name!r}) holds keys issued to another staff record: the key-slot table was edited outside mhtool").format(
                **where
            ),
            hint=_("do not use this store until an admin has run `mhtool audit verify --deep`"),
        )
    if binding.get("name") != entry["name"] or binding.get("role") != entry["role"] or sorted(binding.get("colleges") or []) != entry["colleges"]:
        raise IntegrityError(
            _(
                "key slot {slot} (staff member {name!r}) holds keys issued to {issued_to!r} as {issued_role}: "
                "the staff table was edited outside mhtool"
            ).format(issued_to=binding.get("name"), issued_role=binding.get("role"), **where),
            hint=_("do not use this store until an admin has run `mhtool audit verify --deep`"),
        )
    if crypto.public_bytes(private).hex() != entry["public_key"]:
        raise IntegrityError(
            _("key slot {slot} (staff member {name!r}) does not hold this staff member's key: the slot was planted or moved outside mhtool").format(**where)
        )
    if tiers != set(ROLE_TIERS.get(entry["role"], ())):
        raise IntegrityError(_("key slot {slot} (staff member {name!r}) holds the keys of another role than {role}").format(role=entry["role"], **where))


def directory_changes(entries: list[dict], bound_digest: str | None, trusted: list[dict] | None, slots: list[tuple], *, skip: set[str] = frozenset()) -> list[str]:
    """What differs between the staff directory and key slots as stored and as the session's key was issued with them.

    ``skip``: staff records already reported as damaged, whose slots and absence need no second line.
    """
    found: list[str] = []
    by_id = {e["id"]: e for e in entries}
    if crypto.directory_digest(entries) != bound_digest:
        trusted = trusted or []
        if crypto.directory_digest(trusted) != bound_digest:
            found.append(_("the staff directory differs from the one this key was issued with, and its record was edited too"))
        else:
            was = {e["id"]: e for e in trusted}
            for sid in sorted((set(was) | set(by_id)) - skip):
                old, new = was.get(sid), by_id.get(sid)
                if old != new:
                    name = (new or old)["name"]
                    if old is None:
                        message = _("staff record {staff_id} ({name!r}) was added outside mhtool")
                    elif new is None:
                        message = _("staff record {staff_id} ({name!r}) was deleted outside mhtool")
                    else:
                        message = _("staff record {staff_id} ({name!r}) was changed outside mhtool")
                    found.append(message.format(staff_id=sid, name=name))
    for slot_id, staff_id, public_key in slots:
        if staff_id in skip:
            continue
        entry = by_id.get(staff_id)
        if not _trusted_slot(entry, public_key):
            if entry:
                message = _("key slot {slot} on {name!r}'s row was added or re-pointed outside mhtool; it is not trusted and gets no new keys")
            else:
                message = _("key slot {slot} on staff record {staff_id} was added or re-pointed outside mhtool; it is not trusted and gets no new keys")
            found.append(message.format(slot=slot_id, name=entry["name"] if entry else None, staff_id=staff_id))
    return found


def ledger_digest(writes: Iterable[tuple[str, str, bytes | None]]) -> str:
    """One digest of a transaction's writes, in order: what its audit entry commits to."""
    h = hashlib.blake2b(digest_size=16)
    for table, record_id, digest in writes:
        h.update(f"{table}|{record_id}|".encode())
        h.update(digest if digest is not None else b"deleted")
        h.update(b";")
    return h.hexdigest()


def create_store(path: str | os.PathLike, admin: str, credential: crypto.Credential, *, timezone_name: str = "Asia/Shanghai") -> Path:
    """Create a new store with one admin. Refuses to overwrite anything."""
    path = Path(path)
    if path.exists():
        raise StoreError(_("{path} already exists; mhtool never overwrites a store").format(path=path), hint=_("choose another --store path"))
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    store_id = crypto.random_id(16)
    keys = crypto.derive_keys(crypto.new_generation_secrets(), 1, store_id)
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
        conn.execute("COMMIT")
        private = crypto.new_staff_key()
        founder = StaffMember(id=crypto.random_id(), name=admin, role="admin", display_name=admin)
        store = Store(tmp, conn, store_id, {1: keys}, founder, timezone_name)
        with store.write("store.init") as txn:
            staff_data = {
                "role": "admin", "colleges": [], "display_name": admin, "created_at": created, "created_by": admin,
                "public_key": crypto.public_bytes(private).hex(),
            }
            txn.insert("staff", staff_data, columns={"name": admin, "active": 1}, record_id=founder.id)
            add_slot(txn, founder.id, credential, private)
            txn.put_value("settings", {})
            ensure_inbox(txn)
            publish_directory(txn, initial=True)
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


def ensure_inbox(txn: Txn) -> bool:
    """Create the counselors' inbox key pair if the store has none (a session with the clinical key); True when created."""
    store = txn.store
    if not store.holds_clinical() or store.inbox_ready():
        return False
    renew_inbox(txn)
    return True


def renew_inbox(txn: Txn) -> str:
    """A new inbox key pair: new blobs are sealed to it, the older private keys stay (their blobs still open); returns its key id.

    The private halves are sealed under the clinical tier (sealed_meta
    ``inbox_private``), the newest public half under the common tier
    (``inbox_public``). A key rotation starts a new pair, so a member removed
    with it cannot read what is sealed to the inbox afterwards even with an old
    copy of the private keys.
    """
    store = txn.store
    if not store.holds_clinical():
        raise KeyUnavailable(_(INBOX_CLOSED), hint=_(INBOX_CLOSED_HINT))
    exists = txn.execute("SELECT 1 FROM sealed_meta WHERE key = 'inbox_private'").fetchone()
    keys = list(store.inbox_private_keys()) if exists else []
    public, private = crypto.new_inbox_pair()
    key_id = crypto.inbox_key_id(public).hex()
    keys.append({"key_id": key_id, "public": public.hex(), "private": private.hex(), "created_at": _utcnow(), "created_by": store.staff.name})
    txn.put_value("inbox_private", {"keys": keys})
    txn.put_value("inbox_public", {"key_id": key_id, "public": public.hex()})
    store._inbox_keys = None
    return key_id


def add_slot(txn: Txn, staff_id: str, credential: crypto.Credential, private) -> str:
    """A new key slot wrapping the staff member's key; :func:`publish_directory` (or :func:`seal_own_bundles`) gives it keys."""
    store = txn.store
    slot_id = crypto.random_id()
    material = crypto.make_slot(credential, store.store_id, slot_id, private)
    txn.execute(
        "INSERT INTO keyslots (id, staff_id, params, public_key, wrapped_private) VALUES (?, ?, ?, ?, ?)",
        (slot_id, staff_id, json.dumps(material.params), material.public_key, material.wrapped_private),
    )
    return slot_id


def directory_entries(store: Store) -> list[dict]:
    return [
        crypto.directory_entry(r["id"], r["name"], r["active"], r["role"], r.get("colleges"), r.get("public_key") or "")
        for r in store.staff_rows.all()
    ]


def trusted_directory(store: Store) -> dict[str, dict]:
    """The staff directory as admins last authenticated it, by staff id; an IntegrityError if its authentication fails.

    This, not the staff table, says who holds which role: a staff record
    re-sealed by someone who holds the common key must not become trusted.
    """
    saved = store.sealed_values.get("directory") or {}
    entries = list(saved.get("entries") or [])
    generation, _sep, mac = (store.meta("directory_mac") or "").partition(":")
    keys = store.keyring.get(int(generation)) if generation.isdigit() else None
    if keys is None or not hmac.compare_digest(mac, crypto.directory_mac(keys, crypto.directory_digest(entries))):
        raise IntegrityError(
            _("the staff directory's authentication does not verify: staff or key records were edited outside mhtool"),
            hint=_("restore the last backup that passes `mhtool audit verify --deep`"),
        )
    return {e["id"]: e for e in entries}


def publish_directory(txn: Txn, change=None, *, initial: bool = False) -> list[str]:
    """Authenticate the staff directory and seal every generation's keys to each trusted slot (admins only).

    The new directory is the trusted one (:func:`trusted_directory`) with
    ``change`` applied (a function that edits the entries by staff id), or,
    for a new store (``initial``), the staff table. Staff records that differ
    from it are re-sealed to match and reported; a slot is trusted when its
    member is active and it holds that member's key, and any other slot
    (planted or re-pointed outside mhtool) is deleted and its id returned, so
    it can never receive a key.
    """
    store = txn.store
    newest = store.write_keys
    if initial:
        by_id = {e["id"]: e for e in directory_entries(store)}
    else:
        by_id = trusted_directory(store)
        if change is not None:
            change(by_id)
        _match_staff_records(txn, by_id)
    entries = sorted(by_id.values(), key=lambda e: e["id"])
    digest = crypto.directory_digest(entries)
    dropped = []
    txn.execute("DELETE FROM slot_masters")
    for slot_id, staff_id, public_key in txn.execute("SELECT id, staff_id, public_key FROM keyslots").fetchall():
        entry = by_id.get(staff_id)
        if not _trusted_slot(entry, public_key):
            txn.execute("DELETE FROM keyslots WHERE id = ?", (slot_id,))
            dropped.append(slot_id)
            continue
        binding = {"staff_id": staff_id, "name": entry["name"], "role": entry["role"], "colleges": entry["colleges"], "directory": digest}
        tiers = ROLE_TIERS[entry["role"]]
        for generation, keys in store.keyring.items():
            secrets = {t: keys.secrets[t] for t in tiers}
            txn.execute(
                "INSERT INTO slot_masters (slot_id, generation, sealed) VALUES (?, ?, ?)",
                (slot_id, generation, crypto.seal_bundle(secrets, binding, generation, bytes(public_key), store.store_id, slot_id)),
            )
    txn.put_value("directory", {"entries": entries})
    txn.execute(
        "INSERT INTO meta (key, value) VALUES ('directory_mac', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (f"{newest.generation}:{crypto.directory_mac(newest, digest)}",),
    )
    return dropped


def _match_staff_records(txn: Txn, by_id: dict[str, dict]) -> None:
    """Re-seal staff records that differ from the directory (a forged role, scope, name or key) to what it says."""
    store = txn.store
    rows = {r["id"]: r for r in store.staff_rows.all()}
    repaired, untrusted = [], []
    wrong = []
    for staff_id, row in rows.items():
        want = by_id.get(staff_id)
        have = crypto.directory_entry(staff_id, row["name"], row["active"], row["role"], row.get("colleges"), row.get("public_key") or "")
        if want is None:
            if row["active"]:
                untrusted.append(staff_id)
                wrong.append((row, {**have, "active": False}))
        elif have != want:
            repaired.append(staff_id)
            wrong.append((row, want))
    # Names are unique: move every name being changed out of the way first (a swap would collide).
    for row, want in wrong:
        if row["name"] != want["name"]:
            txn.update("staff", row["id"], store.staff_rows.sealed(row), columns={"name": f"~{row['id']}"}, audit=False)
    for row, want in wrong:
        record = {**store.staff_rows.sealed(row), "role": want["role"], "colleges": list(want["colleges"]), "public_key": want["public_key"]}
        txn.update("staff", row["id"], record, columns={"name": want["name"], "active": int(want["active"])}, audit=False)
    if repaired:
        txn.details["staff_records_repaired"] = repaired
    if untrusted:
        txn.details["staff_records_untrusted"] = untrusted


def seal_own_bundles(txn: Txn, slot_id: str) -> None:
    """Give a member's new slot the keys their current slot holds, with the same binding (no admin needed)."""
    store = txn.store
    for generation, sealed in txn.execute("SELECT generation, sealed FROM slot_masters WHERE slot_id = ?", (store.slot_id,)).fetchall():
        secrets, binding = crypto.open_bundle(store.private_key, sealed, generation, store.store_id, store.slot_id)
        txn.execute(
            "INSERT INTO slot_masters (slot_id, generation, sealed) VALUES (?, ?, ?)",
            (slot_id, generation, crypto.seal_bundle(secrets, binding, generation, crypto.public_bytes(store.private_key), store.store_id, slot_id)),
        )


def store_info(path: str | os.PathLike) -> dict:
    """Facts about a store that need no key and reveal no personal data."""
    path = Path(path)
    if not path.exists():
        raise StoreError(_("no store at {path}").format(path=path), hint=_("create one with `mhtool init --admin NAME`"))
    conn = _connect_to_inspect(path)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        # A store of an earlier schema version (not yet migrated: opened only to read) lacks the newer tables.
        present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in schema.SEALED_TABLES if table != "sealed_meta" and table in present
        }
        active_staff = conn.execute("SELECT count(*) FROM staff WHERE active = 1").fetchone()[0]
        version = schema.current_version(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreError(_("{path} is not an mhtool store ({error})").format(path=path, error=exc)) from None
    finally:
        conn.close()
    return {
        "store": str(path),
        "store_id": meta.get("store_id"),
        "schema_version": version,
        "created_at": meta.get("created_at"),
        "timezone": meta.get("timezone") or "Asia/Shanghai",
        "key_generation": int(meta.get("generation") or 0),
        "rotation_in_progress": bool(meta.get("rotation_target")),
        "staff": active_staff,
        "records": {k: v for k, v in counts.items() if k != "staff"},
        "size_bytes": path.stat().st_size,
    }


__all__ = ["Store", "Txn", "StaffMember", "create_store", "store_info", "ROLES", "IntegrityError"]
