"""Numbered schema migrations.

Each table keeps in plaintext only what SQL must see: a random record id,
foreign keys, date columns for period queries, and blind indexes, each bound
to the row's seal. Everything else is sealed: the ``data`` BLOB under the
table's tier, and for dossier tables the clinical part in ``clin`` under the
clinical tier. ``PRAGMA user_version`` is the schema version.

Migrations run inside the caller's write transaction, so a failed migration
leaves the store at its previous version.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

# Tables whose rows carry a sealed ``data`` column, with their primary-key column.
# Key rotation walks exactly these.
SEALED_TABLES: dict[str, str] = {
    "sealed_meta": "key",
    "staff": "id",
    "audit": "seq",
    "students": "id",
    "watches": "id",
    "entries": "id",
    "tasks": "id",
    "batches": "id",
    "responses": "id",
    "hospitals": "id",
    "referrals": "id",
    "signals": "id",
    "signal_facts": "id",
    "network_members": "id",
    "network_reports": "id",
    "appointments": "id",
    "counseling_groups": "id",
    "activities": "id",
}


# The plaintext columns SQL filters on, per sealed table (besides the record id). Each
# is authenticated with the row's seal, so an edited column is an integrity error
# when the row is read, and the audit chain's record digests cover them too.
PLAIN_COLUMNS: dict[str, tuple[str, ...]] = {
    "sealed_meta": (),
    "staff": ("name", "active"),
    "audit": (),
    "students": ("student_no_bi",),
    "watches": ("student_id", "opened_on", "closed_on"),
    "entries": ("student_id", "on_date"),
    "tasks": ("student_id", "due_on", "done_on"),
    "batches": ("content_bi", "imported_on"),
    "responses": ("batch_id", "student_id", "on_date"),
    "hospitals": (),
    "referrals": ("student_id", "hospital_id", "referred_on"),
    "signals": ("student_id", "opened_on", "closed_on"),
    "signal_facts": ("student_id", "source"),
    "network_members": (),
    "network_reports": ("period",),
    "appointments": ("student_id", "on_date"),
    "counseling_groups": (),
    "activities": ("on_date",),
}
# Tables whose rows may carry a clinical part (the ``clin`` column, sealed under the clinical key).
CLINICAL_TABLES: frozenset[str] = frozenset({"students", "watches", "entries", "referrals", "signals"})
# Tables every written version of which the audit chain remembers (the audit table is the chain itself).
LEDGER_TABLES: tuple[str, ...] = tuple(t for t in SEALED_TABLES if t != "audit")
# Tables with an "open" state SQL filters on (a task not done, a watch episode not closed): the ids
# of the open rows are also kept sealed, so a row closed outside mhtool is caught by the lists that
# leave it out, not only when it is read.
OPEN_FLAGS: dict[str, str] = {"tasks": "done_on", "watches": "closed_on", "signals": "closed_on"}
# What the sealed open lists keep of each open row besides its id: its other plaintext columns
# (whose student, which day), so a list that goes by them (next due dates, who is watched) can
# check them against SQL's without opening the rows.
OPEN_COLUMNS: dict[str, tuple[str, ...]] = {table: tuple(c for c in PLAIN_COLUMNS[table] if c != flag) for table, flag in OPEN_FLAGS.items()}
# The tier each table's administrative part is sealed under; sealed_meta values name their own.
# A campus signal's facts (nights out, meals, spending, failed courses per day) are clinical as a whole:
# a clerk's key cannot open them at all.
TABLE_TIER: dict[str, str] = {"staff": "common", "audit": "common", "sealed_meta": "common", "signal_facts": "clinical"}
DEFAULT_TIER = "roster"
# Named sealed values every role reads (the others hold roster data, e.g. report caches).
# ``inbox_public``: the public half of the counselors' inbox, which every role may seal to.
COMMON_META_KEYS: frozenset[str] = frozenset({"settings", "audit_keys", "directory", "inbox_public"})
# Named sealed values only the clinical key opens: the counselors' inbox private keys (a clerk seals
# peer reports to the inbox and can never read them back).
CLINICAL_META_KEYS: frozenset[str] = frozenset({"inbox_private"})


def tier_of(table: str, record_id: str) -> str:
    if table == "sealed_meta":
        if record_id in CLINICAL_META_KEYS:
            return "clinical"
        return "common" if record_id in COMMON_META_KEYS else DEFAULT_TIER
    return TABLE_TIER.get(table, DEFAULT_TIER)


def _run(conn: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it commits first, which would break the caller's
    # transaction. Statements are split on ";" (the scripts have none in comments).
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE sealed_meta (key TEXT PRIMARY KEY, data BLOB NOT NULL);
        CREATE TABLE staff (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            active INTEGER NOT NULL DEFAULT 1,
            data BLOB NOT NULL
        );
        CREATE TABLE keyslots (
            id TEXT PRIMARY KEY,
            staff_id TEXT NOT NULL REFERENCES staff(id),
            params TEXT NOT NULL,
            public_key BLOB NOT NULL,
            wrapped_private BLOB NOT NULL
        );
        CREATE TABLE slot_masters (
            slot_id TEXT NOT NULL REFERENCES keyslots(id) ON DELETE CASCADE,
            generation INTEGER NOT NULL,
            sealed BLOB NOT NULL,
            PRIMARY KEY (slot_id, generation)
        );
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            generation INTEGER NOT NULL,
            data BLOB NOT NULL,
            mac BLOB NOT NULL
        );
        CREATE TABLE students (
            id TEXT PRIMARY KEY,
            student_no_bi BLOB NOT NULL UNIQUE,
            data BLOB NOT NULL
        );
        -- One row per watch episode (关注周期): opened when a counselor confirms a
        -- level, closed when the watch ends. The dates answer "who was watched on
        -- day D" without opening every student record.
        CREATE TABLE watches (
            id TEXT PRIMARY KEY,
            student_id TEXT NOT NULL REFERENCES students(id),
            opened_on TEXT NOT NULL,
            closed_on TEXT,
            data BLOB NOT NULL
        );
        CREATE INDEX watches_open ON watches(closed_on, opened_on);
        CREATE INDEX watches_student ON watches(student_id);
        CREATE TABLE entries (
            id TEXT PRIMARY KEY,
            student_id TEXT NOT NULL REFERENCES students(id),
            on_date TEXT NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX entries_student ON entries(student_id, on_date);
        CREATE INDEX entries_date ON entries(on_date);
        CREATE TABLE tasks (
            id TEXT PRIMARY KEY,
            student_id TEXT NOT NULL REFERENCES students(id),
            due_on TEXT NOT NULL,
            done_on TEXT,
            data BLOB NOT NULL
        );
        CREATE INDEX tasks_open ON tasks(done_on, due_on);
        CREATE INDEX tasks_student ON tasks(student_id);
        CREATE TABLE batches (
            id TEXT PRIMARY KEY,
            content_bi BLOB NOT NULL,
            imported_on TEXT NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX batches_content ON batches(content_bi);
        CREATE TABLE responses (
            id TEXT PRIMARY KEY,
            batch_id TEXT NOT NULL REFERENCES batches(id),
            student_id TEXT NOT NULL REFERENCES students(id),
            on_date TEXT NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX responses_batch ON responses(batch_id);
        CREATE INDEX responses_student ON responses(student_id);
        CREATE TABLE hospitals (id TEXT PRIMARY KEY, data BLOB NOT NULL);
        CREATE TABLE referrals (
            id TEXT PRIMARY KEY,
            student_id TEXT NOT NULL REFERENCES students(id),
            hospital_id TEXT REFERENCES hospitals(id),
            referred_on TEXT NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX referrals_student ON referrals(student_id);
        CREATE INDEX referrals_date ON referrals(referred_on);
        """
    )


def _v2(conn: sqlite3.Connection) -> None:
    # Keys per role: clinical parts, the ledger of record digests the audit chain commits to.
    _run(
        conn,
        """
        ALTER TABLE students ADD COLUMN clin BLOB;
        ALTER TABLE watches ADD COLUMN clin BLOB;
        ALTER TABLE entries ADD COLUMN clin BLOB;
        ALTER TABLE referrals ADD COLUMN clin BLOB;
        CREATE TABLE ledger (
            seq INTEGER NOT NULL,
            tbl TEXT NOT NULL,
            rid TEXT NOT NULL,
            digest BLOB
        )
        """
    )


def _v3(conn: sqlite3.Connection) -> None:
    # 多源预警: campus signals (one row per signal episode of one rule, open until a counselor's review)
    # and the per-student daily facts the rules read (one row per student and source; no raw row is kept).
    _run(conn, _V3_TABLES)


_V3_TABLES = """
        CREATE TABLE signals (
            id TEXT PRIMARY KEY,
            student_id TEXT NOT NULL REFERENCES students(id),
            opened_on TEXT NOT NULL,
            closed_on TEXT,
            data BLOB NOT NULL,
            clin BLOB
        );
        CREATE INDEX signals_open ON signals(closed_on, opened_on);
        CREATE INDEX signals_student ON signals(student_id);
        CREATE TABLE signal_facts (
            id TEXT PRIMARY KEY,
            student_id TEXT NOT NULL REFERENCES students(id),
            source TEXT NOT NULL,
            data BLOB NOT NULL,
            UNIQUE (student_id, source)
        )
        """


def _v4(conn: sqlite3.Connection) -> None:
    # 五级网络: the network roster (心理委员, 寝室长, 辅导员, 二级站负责人) and the reports its units send
    # (one per unit and period; a 零报告 is a report). Everything but the period is sealed under the roster key.
    _run(conn, _V4_TABLES)


_V4_TABLES = """
        CREATE TABLE IF NOT EXISTS network_members (
            id TEXT PRIMARY KEY,
            data BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS network_reports (
            id TEXT PRIMARY KEY,
            period TEXT NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS network_reports_period ON network_reports(period)
        """


def _v5(conn: sqlite3.Connection) -> None:
    # 个体咨询与团体辅导: appointments (one row per booking, its day plain for the agenda), groups with their
    # members and attendance, and activities (讲座, 5·25 events, 班会). Sessions and case conferences are
    # timeline entries. Everything but the ids, the student link and the days is sealed under the roster key.
    _run(conn, _V5_TABLES)


_V5_TABLES = """
        CREATE TABLE IF NOT EXISTS appointments (
            id TEXT PRIMARY KEY,
            student_id TEXT NOT NULL REFERENCES students(id),
            on_date TEXT NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS appointments_date ON appointments(on_date);
        CREATE INDEX IF NOT EXISTS appointments_student ON appointments(student_id);
        CREATE TABLE IF NOT EXISTS counseling_groups (
            id TEXT PRIMARY KEY,
            data BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS activities (
            id TEXT PRIMARY KEY,
            on_date TEXT NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS activities_date ON activities(on_date)
        """


def _v6(conn: sqlite3.Connection) -> None:
    # The open rows' ids and plaintext columns straight from an index: a list of the watched
    # students or of their next due dates checks them against the sealed open lists without
    # reading one table row (see OPEN_COLUMNS).
    _run(conn, _V6_INDEXES)


_V6_INDEXES = """
        CREATE INDEX IF NOT EXISTS tasks_open_rows ON tasks(done_on, id, student_id, due_on);
        CREATE INDEX IF NOT EXISTS watches_open_rows ON watches(closed_on, id, student_id, opened_on);
        CREATE INDEX IF NOT EXISTS signals_open_rows ON signals(closed_on, id, student_id, opened_on)
        """


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6]
# The tables each version after the second added (version 6 added indexes only).
_TABLES_ADDED: dict[int, str] = {3: _V3_TABLES, 4: _V4_TABLES, 5: _V5_TABLES}
# Stores of the first format sealed with one master key for every role: `mhtool upgrade` (store/upgrade.py) re-seals them.
FIRST_FORMAT_2_VERSION = 2
LATEST = len(MIGRATIONS)


def current_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def shadow_newer_tables(conn: sqlite3.Connection) -> None:
    """Empty TEMP stand-ins for the tables of later versions, for a store of an earlier version opened read-only.

    A backup of version 2, 3 or 4 is checked before a restore (``audit verify --deep``)
    and cannot be migrated while it is open read-only: its campus-signal,
    network and counseling tables read as empty, in memory, and the file is not touched.
    """
    version = current_version(conn)
    scripts = [script for added_in, script in _TABLES_ADDED.items() if added_in > version]
    if not scripts:
        return
    conn.execute("PRAGMA temp_store = MEMORY")
    for script in scripts:
        for statement in script.split(";"):
            text = statement.strip()
            if text.startswith("CREATE TABLE"):
                conn.execute("CREATE TEMP TABLE" + text[len("CREATE TABLE") :])


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every pending migration; the caller holds the write transaction."""
    version = current_version(conn)
    for number in range(version + 1, LATEST + 1):
        MIGRATIONS[number - 1](conn)
        conn.execute(f"PRAGMA user_version = {number}")
    return LATEST
