"""Roles, links and history protected by keys: the attacker has their own key, write access to the file and sqlite3.

Each test edits a real store (a small demo school) behind mhtool's back and
shows that the edit is caught: at the next open, when the record is read,
or by `mhtool audit verify --deep` / `mhtool check`, naming the table and record.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
import sqlite3
from pathlib import Path

import pytest

from mhtool.errors import IntegrityError
from mhtool.store import crypto
from mhtool.store.core import Store, bound_columns
from tests.conftest import Cli
from tests.store.storetools import error_lines, key_credential, raw

ADMIN, COUNSELOR, CLERK = "demo-admin", "demo-counselor", "demo-clerk"


@pytest.fixture(scope="module")
def school(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("school")
    Cli().ok("demo", "--dir", folder / "demo", "--students", "160", "--seed", "11")
    store = folder / "demo" / "demo-store.db"
    conn = sqlite3.connect(store)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return folder / "demo"


class School:
    """A private copy of the demo school; ``as_(name)`` runs the CLI as a staff member."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / "demo-store.db"

    def key(self, name: str) -> Path:
        return self.folder / f"{name}.key"

    def as_(self, name: str, key: str | None = None) -> Cli:
        return Cli(env={"MHTOOL_STORE": str(self.path), "MHTOOL_KEY_FILE": str(self.key(key or name)), "MHTOOL_USER": name})

    def open(self, name: str = ADMIN, key: str | None = None) -> Store:
        return Store.open(self.path, key_credential(self.key(key or name)), name)

    def sql(self, statement: str, params=()) -> int:
        conn = raw(self.path)
        try:
            return conn.execute(statement, params).rowcount
        finally:
            conn.close()

    def one(self, query: str, params=()):
        conn = raw(self.path)
        try:
            return conn.execute(query, params).fetchone()
        finally:
            conn.close()

    def deep(self, name: str = ADMIN) -> tuple[int, dict]:
        result = self.as_(name)("audit", "verify", "--deep", "--json")
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def school_copy(school, tmp_path) -> School:
    target = tmp_path / "demo"
    shutil.copytree(school, target, ignore=shutil.ignore_patterns("reports", "exports"))
    return School(target)


def staff_id(s: School, name: str) -> str:
    return s.one("SELECT id FROM staff WHERE name = ?", (name,))[0]


def test_the_untouched_school_passes_the_deep_check(school_copy):
    # Without this, every "reported" below could be a check that always fails.
    code, report = school_copy.deep()
    assert code == 0 and report["ok"] and report["problems"] == [] and report["records_checked"] > 500
    # The weekly check is silent when all is well (cron mails only problems).
    checker = school_copy.as_(ADMIN)("check")
    assert checker.exit_code == 0 and checker.stdout == "" and checker.stderr == ""


# -- the staff directory and key slots ------------------------------------------------------------


def test_a_clerk_slot_repointed_at_the_admin_is_refused_and_reported(school_copy):
    s = school_copy
    s.sql("UPDATE keyslots SET staff_id = ? WHERE staff_id = ?", (staff_id(s, ADMIN), staff_id(s, CLERK)))
    before = s.one("SELECT count(*) FROM staff")[0]
    # The clerk's key now sits on the admin's row: acting "as the admin" fails at open (the binding names the clerk).
    sneak = s.as_(ADMIN, key=CLERK)("staff", "add", "evil", "--role", "admin", "--key-file", s.folder / "evil.key")
    assert sneak.exit_code == 1 and "issued to another staff record" in sneak.stderr
    assert s.one("SELECT count(*) FROM staff")[0] == before and not (s.folder / "evil.key").exists()
    # The admin's own open warns, and the deep check fails, naming the slot.
    info = s.as_(ADMIN)("staff", "list")
    assert info.exit_code == 0 and "warning: tampering: key slot" in info.stderr
    code, report = s.deep()
    assert code == 1 and any("re-pointed outside mhtool" in p for p in report["problems"])


def test_swapped_staff_names_are_caught_at_open_and_by_an_auditor_check(school_copy):
    s = school_copy
    s.as_(ADMIN).ok("staff", "add", "checker", "--role", "auditor", "--key-file", s.folder / "checker.key")
    admin_id, clerk_id = staff_id(s, ADMIN), staff_id(s, CLERK)
    s.sql("UPDATE staff SET name = 'x' WHERE id = ?", (admin_id,))
    s.sql("UPDATE staff SET name = ? WHERE id = ?", (ADMIN, clerk_id))
    s.sql("UPDATE staff SET name = ? WHERE id = ?", (CLERK, admin_id))
    # Whoever logs in under either name gets no session, so nothing can be attributed to the wrong person.
    for user, key in ((ADMIN, ADMIN), (CLERK, ADMIN), (CLERK, CLERK), (ADMIN, CLERK)):
        result = s.as_(user, key=key)("audit", "head")
        assert result.exit_code in (1, 4) and result.stdout == ""
    # An auditor's check names both records.
    result = s.as_("checker")("check", "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert any(f"staff/{admin_id}" in p for p in problems) and any(f"staff/{clerk_id}" in p for p in problems)


def _plant_slot(s: School, victim: str) -> Path:
    """What a clerk can do with the library and their own key: add a key-file slot to ``victim``'s row."""
    planted_key = s.folder / "planted.key"
    material = crypto.write_key_file(planted_key)
    with s.open(CLERK) as clerk:
        private = crypto.new_staff_key()
        slot_id = crypto.random_id()
        slot = crypto.make_slot(crypto.Credential(key_material=material), clerk.store_id, slot_id, private)
        victim_id = staff_id(s, victim)
        conn = raw(s.path)
        conn.execute(
            "INSERT INTO keyslots (id, staff_id, params, public_key, wrapped_private) VALUES (?, ?, ?, ?, ?)",
            (slot_id, victim_id, json.dumps(slot.params), slot.public_key, slot.wrapped_private),
        )
        for generation, keys in clerk.keyring.items():
            binding = {"staff_id": victim_id, "name": victim, "role": "admin", "colleges": [], "directory": "forged"}
            sealed = crypto.seal_bundle(keys.secrets, binding, generation, slot.public_key, clerk.store_id, slot_id)
            conn.execute("INSERT INTO slot_masters (slot_id, generation, sealed) VALUES (?, ?, ?)", (slot_id, generation, sealed))
        conn.close()
    return planted_key


def test_a_planted_slot_opens_nothing_and_gets_no_key_when_the_clerk_is_removed(school_copy):
    s = school_copy
    planted = _plant_slot(s, ADMIN)
    slot_id = s.one("SELECT id FROM keyslots WHERE staff_id = ? ORDER BY rowid DESC LIMIT 1", (staff_id(s, ADMIN),))[0]
    # Logging in through it as the admin: the slot does not hold the admin's key.
    result = Cli(env={"MHTOOL_STORE": str(s.path), "MHTOOL_KEY_FILE": str(planted), "MHTOOL_USER": ADMIN})("audit", "head")
    assert result.exit_code == 1 and "planted or moved" in result.stderr
    # The admin is warned at every open, and the deep check names the slot.
    assert f"key slot {slot_id}" in s.as_(ADMIN).ok("staff", "list").stderr
    code, report = s.deep()
    assert code == 1 and any(slot_id in p for p in report["problems"])
    # Removing the clerk rotates every key; the planted slot is dropped, not given the new generation.
    s.as_(ADMIN).ok("staff", "remove", CLERK)
    assert s.one("SELECT count(*) FROM keyslots WHERE id = ?", (slot_id,))[0] == 0
    assert s.one("SELECT count(*) FROM slot_masters WHERE slot_id = ?", (slot_id,))[0] == 0
    dropped = [e for e in json.loads(s.as_(ADMIN).ok("audit", "log", "--json").stdout) if e["details"].get("untrusted_slots_dropped")]
    assert dropped and slot_id in dropped[-1]["details"]["untrusted_slots_dropped"]
    assert "tampering" not in s.as_(ADMIN).ok("staff", "list").stderr
    assert s.deep()[0] == 0


# -- plaintext columns bound to their record --------------------------------------------------------


def _sample(s: School, query: str, n: int = 3) -> list[tuple]:
    conn = raw(s.path)
    try:
        return conn.execute(query + f" LIMIT {n}").fetchall()
    finally:
        conn.close()


COLUMN_EDITS = {
    # (class, table, column, rows to edit, new value expression)
    "foreign key": ("entries", "student_id", "SELECT id FROM entries WHERE student_id != (SELECT min(id) FROM students)", "(SELECT min(id) FROM students)"),
    "date": ("entries", "on_date", "SELECT id FROM entries", "'2020-01-01'"),
    "due date": ("tasks", "due_on", "SELECT id FROM tasks WHERE done_on IS NULL", "'2099-12-31'"),
    "flag": ("tasks", "done_on", "SELECT id FROM tasks WHERE done_on IS NOT NULL", "NULL"),
    "blind index": ("students", "student_no_bi", "SELECT id FROM students WHERE substr(student_no_bi, 1, 7) != CAST('erased:' AS BLOB)", "randomblob(32)"),
    "link to hospital": ("referrals", "hospital_id", "SELECT id FROM referrals", "'0000000000000000'"),
}


@pytest.mark.parametrize("kind", sorted(COLUMN_EDITS))
def test_an_edited_plaintext_column_is_an_integrity_error_naming_the_record(school_copy, kind):
    s = school_copy
    table, column, rows, value = COLUMN_EDITS[kind]
    sample = [r[0] for r in _sample(s, rows)]
    assert sample, f"the demo school has no {table} rows to edit"
    conn = raw(s.path)
    conn.execute("PRAGMA foreign_keys = OFF")
    for rid in sample:
        assert conn.execute(f"UPDATE {table} SET {column} = {value} WHERE id = ?", (rid,)).rowcount == 1
    conn.close()
    with s.open() as store:
        repo = {"entries": store.entries, "tasks": store.tasks, "students": store.students, "referrals": store.referrals}[table]
        for rid in sample:
            with pytest.raises(IntegrityError, match=f"{table}/{rid}"):
                repo.get(rid)
    code, report = s.deep()
    assert code == 1 and all(any(f"{table}/{rid}" in p for p in report["problems"]) for rid in sample)


def test_swapped_blind_indexes_do_not_show_one_student_under_anothers_number(school_copy):
    s = school_copy
    with s.open(COUNSELOR) as store:
        a, b = [st for st in store.students.all() if not st.get("erased")][:2]
    conn = raw(s.path)
    conn.execute("UPDATE students SET student_no_bi = ? WHERE id = ?", (b"swap", a["id"]))
    conn.execute("UPDATE students SET student_no_bi = ? WHERE id = ?", (bytes(a["student_no_bi"]), b["id"]))
    conn.execute("UPDATE students SET student_no_bi = ? WHERE id = ?", (bytes(b["student_no_bi"]), a["id"]))
    conn.close()
    result = s.as_(COUNSELOR)("cases", "show", a["student_no"], "--json")
    assert result.exit_code == 1 and result.stdout == "" and f"students/{b['id']}" in error_lines(result.stderr)[0]


def test_closing_open_watches_or_tasks_outside_mhtool_does_not_empty_the_weekly_report(school_copy, tmp_path):
    s = school_copy
    watches = s.sql("UPDATE watches SET closed_on = '2020-01-01' WHERE closed_on IS NULL")
    assert watches > 5
    weekly = s.as_(COUNSELOR)("report", "weekly", "--out", tmp_path)
    assert weekly.exit_code == 1 and "outside mhtool" in weekly.stderr and not list(tmp_path.glob("*.xlsx"))
    listing = s.as_(COUNSELOR)("cases", "list", "--json")
    assert listing.exit_code == 1 and listing.stdout == "" and "watches/" in listing.stderr


def test_tasks_marked_done_outside_mhtool_are_not_hidden_from_the_overdue_list(school_copy):
    s = school_copy
    open_tasks = [r[0] for r in _sample(s, "SELECT id FROM tasks WHERE done_on IS NULL", 2)]
    for rid in open_tasks:
        s.sql("UPDATE tasks SET done_on = '2026-01-01' WHERE id = ?", (rid,))
    result = s.as_(COUNSELOR)("cases", "tasks", "--overdue", "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert any(f"tasks/{rid}" in result.stderr for rid in open_tasks)


# -- history: deletion, rollback and a damaged index --------------------------------------------------


def test_a_deleted_crisis_entry_and_a_deleted_referral_are_reported(school_copy):
    s = school_copy
    with s.open(COUNSELOR) as store:
        crisis = next(e["id"] for e in store.entries.all() if e["kind"] == "crisis")
        referral = store.referrals.all()[0]["id"]
    conn = raw(s.path)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("DELETE FROM entries WHERE id = ?", (crisis,))
    conn.execute("DELETE FROM referrals WHERE id = ?", (referral,))
    conn.close()
    code, report = s.deep()
    assert code == 1
    assert any(f"entries/{crisis}" in p and "missing" in p for p in report["problems"])
    assert any(f"referrals/{referral}" in p and "missing" in p for p in report["problems"])


def test_an_older_sealed_row_put_back_is_reported_as_a_rollback(school_copy):
    s = school_copy
    with s.open(COUNSELOR) as store:
        task = store.tasks.open()[0]
    old = s.one("SELECT student_id, due_on, done_on, data FROM tasks WHERE id = ?", (task["id"],))
    # A newer version: the counselor closes the task through mhtool.
    _finish(s, task["id"])
    assert s.one("SELECT done_on FROM tasks WHERE id = ?", (task["id"],))[0] is not None
    # The attacker puts the old row back, byte for byte: it opens (its seal is genuine) but is not the latest.
    s.sql("UPDATE tasks SET student_id = ?, due_on = ?, done_on = ?, data = ? WHERE id = ?", (*old, task["id"]))
    code, report = s.deep()
    assert code == 1 and any(f"tasks/{task['id']}" in p and "rolled back" in p for p in report["problems"])


def _finish(s: School, task_id: str) -> None:
    with s.open(COUNSELOR) as store:
        task = store.tasks.get(task_id)
        with store.write("test.finish") as txn:
            store.tasks.finish(txn, task, date(2026, 11, 30), {"outcome": "done"})


def test_a_damaged_index_is_reported_with_the_table(school_copy):
    s = school_copy
    # Drop the rows of one batch from the index over responses: queries through it then miss them.
    conn = raw(s.path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'responses_batch'").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(s.path.read_bytes())
    start = (root - 1) * page_size
    # Flip one bit in the last cell of the index's root page (the cell area grows from the page's end).
    data[start + page_size - 3] ^= 0x01
    s.path.write_bytes(bytes(data))
    code, report = s.deep()
    assert code == 1 and any("integrity check" in p and "responses_batch" in p for p in report["problems"])


# -- restore and rotation ---------------------------------------------------------------------------


def test_an_old_backup_that_would_reenable_a_removed_member_is_refused_without_the_flag(school_copy):
    s = school_copy
    admin = s.as_(ADMIN)
    backup = s.folder / "before-removal.db"
    admin.ok("backup", backup)
    admin.ok("staff", "remove", CLERK)
    refused = admin("restore", backup, "--force")
    assert refused.exit_code == 1 and CLERK in refused.stderr and "--reenable-removed" in refused.stderr
    assert s.as_(CLERK)("audit", "head").exit_code == 4, "the refused restore must not bring the clerk back"
    done = admin("restore", backup, "--force", "--reenable-removed")
    assert done.exit_code == 0 and f"removed since the backup: {CLERK}" in done.stderr
    assert s.as_(CLERK)("audit", "head").exit_code in (0, 5)


def test_no_ciphertext_of_the_old_generation_survives_a_rotation(school_copy):
    s = school_copy
    fragments = []
    conn = raw(s.path)
    # The newest audit entries and the sealed lists share pages that every transaction of the
    # rotation rewrites, so copies of their old ciphertext land in the WAL before they are re-sealed.
    for query in (
        "SELECT data FROM entries LIMIT 40",
        "SELECT data FROM students LIMIT 40",
        "SELECT data FROM audit ORDER BY seq DESC LIMIT 40",
        "SELECT data FROM sealed_meta",
    ):
        for (blob,) in conn.execute(query):
            fragments.append(bytes(blob)[18:42])
    for (blob,) in conn.execute("SELECT clin FROM entries WHERE clin IS NOT NULL LIMIT 40"):
        fragments.append(bytes(blob)[18:42])
    conn.close()
    assert len(fragments) > 100
    # Another program has the store open (idle), as on a shared machine: the WAL then outlives
    # the command, and SQLite would keep old page images in it and in free pages.
    bystander = raw(s.path)
    bystander.execute("SELECT count(*) FROM meta").fetchone()
    try:
        s.as_(ADMIN).ok("staff", "remove", CLERK)
        files = [p for p in (s.path, Path(f"{s.path}-wal")) if p.exists()]
        found = [f for f in fragments if any(f in p.read_bytes() for p in files)]
        assert found == []
        assert bystander.execute("PRAGMA freelist_count").fetchone()[0] == 0
    finally:
        bystander.close()


def test_every_record_reads_back_after_a_rotation_with_its_clinical_part(school_copy):
    s = school_copy
    with s.open(COUNSELOR) as store:
        before = {e["id"]: e.get("fields") for e in store.entries.all()}
    s.as_(ADMIN).ok("staff", "remove", CLERK)
    with s.open(COUNSELOR) as store:
        after = {e["id"]: e.get("fields") for e in store.entries.all()}
        assert after == before
        assert store.open_list("tasks") and set(store.open_list("tasks")) == {t["id"] for t in store.tasks.open()}
    assert s.deep()[0] == 0


def test_bound_columns_cover_every_plain_column_of_the_sealed_tables(school_copy):
    # A column added to a table but not to schema.PLAIN_COLUMNS would be editable without notice.
    from mhtool.store import schema

    conn = raw(school_copy.path)
    for table, key in schema.SEALED_TABLES.items():
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")} - {key, "data", "clin"}
        if table == "audit":
            continue  # the chain: seq, at, generation and mac are checked by audit verify
        assert columns == set(schema.PLAIN_COLUMNS[table]), table
    conn.close()
    assert bound_columns("tasks", {"student_id": "a", "due_on": "2026-01-01", "done_on": None}) != bound_columns(
        "tasks", {"student_id": "a", "due_on": "2026-01-01", "done_on": "2026-01-02"}
    )


def test_the_weekly_check_keeps_the_head_outside_and_catches_a_cut_history(school_copy):
    s = school_copy
    s.as_(ADMIN).ok("staff", "add", "checker", "--role", "auditor", "--key-file", s.folder / "checker.key")
    head_file = s.folder / "audit.head"
    first = s.as_("checker").ok("check", "--head-file", head_file, "--json")
    assert json.loads(first.stdout)["ok"] and head_file.read_text().count(":") == 1
    s.as_(COUNSELOR).ok("cases", "list")
    s.as_("checker").ok("check", "--head-file", head_file)
    saved = head_file.read_text().strip()
    # Someone removes the newest entries together with the digests they committed to: the chain alone looks whole.
    last = int(saved.split(":")[0])
    s.sql("DELETE FROM audit WHERE seq >= ?", (last - 1,))
    s.sql("DELETE FROM ledger WHERE seq >= ?", (last - 1,))
    assert s.as_("checker").ok("audit", "verify").stdout.startswith("ok ")
    cut = s.as_("checker")("check", "--head-file", head_file)
    assert cut.exit_code == 1 and "removed from the end" in cut.stderr
    assert head_file.read_text().strip() == saved, "a failed check must not overwrite the head it was compared with"


def test_a_staff_record_resealed_by_a_clerk_as_counselor_never_gets_the_clinical_key(school_copy):
    s = school_copy
    clerk_id = staff_id(s, CLERK)
    # Staff records are sealed under the common key every role holds: the clerk can re-seal their own.
    with s.open(CLERK) as clerk:
        row = clerk.staff_rows.get(clerk_id)
        forged = {**clerk.staff_rows.sealed(row), "role": "counselor"}
        bound = bound_columns("staff", {"name": CLERK, "active": 1})
        blob = crypto.seal(clerk.write_keys, clerk.store_id, "staff", clerk_id, forged, "common", bound)
    s.sql("UPDATE staff SET data = ? WHERE id = ?", (blob, clerk_id))
    assert "tampering" in s.as_(ADMIN).ok("staff", "list").stderr
    # An admin who rotates (or adds or removes someone) publishes the directory admins authenticated, not the table.
    s.as_(ADMIN).ok("staff", "rotate-key")
    with s.open(CLERK) as clerk:
        assert clerk.staff.role == "clerk" and "clinical" not in clerk.write_keys.secrets
        assert clerk.staff_rows.get(clerk_id)["role"] == "clerk"
    log = json.loads(s.as_(ADMIN).ok("audit", "log", "--json").stdout)
    assert any(clerk_id in (e["details"].get("staff_records_repaired") or []) for e in log)
    assert "tampering" not in s.as_(ADMIN).ok("staff", "list").stderr


def test_clinical_text_forged_into_the_administrative_part_is_not_read_as_clinical(school_copy):
    s = school_copy
    with s.open(CLERK) as clerk:
        entry = next(e for e in clerk.entries.all() if e["kind"] == "interview")
        forged = clerk.entries.sealed(entry)
        forged["fields"] = {**forged["fields"], "findings": "FORGED FINDINGS"}
        values = {"student_id": entry["student_id"], "on_date": entry["on_date"]}
        blob = crypto.seal(clerk.write_keys, clerk.store_id, "entries", entry["id"], forged, "roster", bound_columns("entries", values))
    s.sql("UPDATE entries SET data = ?, clin = NULL WHERE id = ?", (blob, entry["id"]))
    with s.open(COUNSELOR) as counselor:
        assert "findings" not in counselor.entries.get(entry["id"])["fields"]
    code, report = s.deep()
    assert code == 1 and any(f"entries/{entry['id']}" in p for p in report["problems"])


def test_plain_column_reads_answer_in_the_order_asked_and_still_open_every_seal(school_copy):
    s = school_copy
    with s.open(COUNSELOR) as store:
        rows = {t["id"]: t for t in store.tasks.open()}
        assert rows
        answered = store._plain("tasks", ("due_on", "id", "student_id"), "done_on IS NULL")
        assert sorted(answered) == sorted((t["due_on"], t["id"], t["student_id"]) for t in rows.values())
        assert sorted(store._plain("tasks", ("student_id",), "done_on IS NULL")) == sorted((t["student_id"],) for t in rows.values())
        moved = next(iter(rows))
    s.sql("UPDATE tasks SET due_on = '2099-12-31' WHERE id = ?", (moved,))
    with s.open(COUNSELOR) as store, pytest.raises(IntegrityError, match=f"tasks/{moved}"):
        store._plain("tasks", ("student_id", "due_on"), "done_on IS NULL")
