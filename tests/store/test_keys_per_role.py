"""Keys per role: a clerk's key and the cron key decrypt no clinical value, whatever code runs them.

Issue 14, first "Done when" line. The attacker is a clerk (or whoever holds the
cron job's key file) with read and write access to the store file: they use the
mhtool library with their own key, and python's ``sqlite3`` on the file. The
store is a real one, built by ``mhtool demo`` once for the module; a cron
account (a clerk, as the README sets it up), an auditor and a counselor's note
are added to it through the CLI.

What each role's slot should hold is written out here (:data:`EXPECTED_TIERS`)
and what is clinical is written out here (:data:`CLINICAL_ENTRY_FIELDS` …),
not read from ``access.ROLE_TIERS`` or ``domain.sensitivity``: a change there
that gives a clerk the clinical key, or keeps a clinical field in the
administrative part, must make these tests fail, not move their expectations.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mhtool.errors import IntegrityError, KeyUnavailable
from mhtool.store import access, crypto, schema
from mhtool.store.core import Store, bound_columns
from tests.conftest import Cli
from tests.store.storetools import key_credential, raw

ADMIN, COUNSELOR, CLERK, CRON, AUDITOR = "demo-admin", "demo-counselor", "demo-clerk", "cron", "demo-auditor"
NO_CLINICAL_KEY = (CLERK, CRON)

# What each role's key slot must hold, tier by tier (docs/design.md, "Keys per role").
EXPECTED_TIERS = {
    ADMIN: {"common", "roster", "clinical", "admin"},
    COUNSELOR: {"common", "roster", "clinical"},
    CLERK: {"common", "roster"},
    CRON: {"common", "roster"},
    AUDITOR: {"common"},
}

# The clinical fields of each restricted timeline entry kind, and the administrative ones
# a clerk's report counts with (they must survive in the part a clerk opens).
CLINICAL_ENTRY_FIELDS = {
    "interview": ("findings", "next_step"),
    "crisis": ("what", "where", "actions"),
    "note": ("text",),
    "guardian_contact": ("content",),
    "follow_up": ("content",),
    "level_change": ("reason",),
    "status_change": ("reason", "certificate"),
    "referral": ("summary",),
    "session": ("concern", "concern_text", "risk", "next_step", "outcome", "outcome_text"),
    "conference": ("decision", "notes"),
}
ADMIN_ENTRY_FIELDS = {
    "interview": ("mode", "duration", "confirmed_level"),
    "crisis": ("happened_at", "notified", "event_type", "reported_to", "reported_at"),
    "guardian_contact": ("guardian", "channel", "consent"),
    "follow_up": ("mode",),
    "level_change": ("from", "to"),
    "status_change": ("from", "to"),
    "referral": ("referral_id", "status"),
    "session": ("counselor", "mode", "minutes", "number"),
    "conference": ("conference_kind", "participants", "owner"),
}
CLINICAL_RECORD_FIELDS = {
    "students": ("level_reason",),
    "watches": ("reason", "close_reason"),
    "referrals": ("reason", "diagnosis", "note"),
}
# A referral step's summary can be status labels only ("已评估 → 门诊治疗"), which a clerk's report prints as
# the referral's progress: not searched for as text (its clinical parts, reason and diagnosis, are, from the referral).
NOT_CANARIES = {("referral", "summary")} | {("session", code) for code in ("concern", "risk", "outcome")}
# (A session's concern, risk and outcome are codes such as "academic" or "high", words other records use too:
# they are checked by field, not searched for as text.)
# A counselor's note added to the demo, so the "note" kind is covered too.
NOTE_TEXT = "咨询记录：学生提到童年经历与反复出现的噩梦（测试用）"
# Shorter clinical values ("复学" as a reason) are also words a report prints as labels.
MIN_CANARY = 4


@dataclass
class Demo:
    folder: Path
    store: Path
    xdg: Path
    sample_no: str
    sample_id: str
    canaries: set[str] = field(default_factory=set)
    sample_canaries: set[str] = field(default_factory=set)
    # First and last day the demo recorded anything: a report over it covers every change of its four weeks.
    period: tuple[str, str] = ("", "")

    def key(self, user: str) -> Path:
        return self.folder / ("cron.key" if user == CRON else f"{user}.key")

    def cli(self, user: str) -> Cli:
        return Cli(env={"MHTOOL_STORE": str(self.store), "MHTOOL_KEY_FILE": str(self.key(user)), "MHTOOL_USER": user, "XDG_DATA_HOME": str(self.xdg)})

    def open(self, user: str, store: Path | None = None) -> Store:
        return Store.open(store or self.store, key_credential(self.key(user)), user)


def _clinical_values(store: Store, student_id: str | None = None) -> set[str]:
    """The clinical texts the store holds (as a counselor reads them), optionally of one student."""
    found: list = []
    for entry in store.entries.all():
        if student_id is None or entry["student_id"] == student_id:
            found += [entry["fields"].get(f) for f in CLINICAL_ENTRY_FIELDS.get(entry["kind"], ()) if (entry["kind"], f) not in NOT_CANARIES]
    for table, fields in CLINICAL_RECORD_FIELDS.items():
        for record in getattr(store, table).all():
            if student_id is None or record.get("student_id", record["id"]) == student_id:
                found += [record.get(f) for f in fields]
    return {v for v in found if isinstance(v, str) and len(v) >= MIN_CANARY}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    base = tmp_path_factory.mktemp("keys-per-role")
    folder, xdg = base / "demo", base / "xdg"
    Cli(env={"XDG_DATA_HOME": str(xdg)}).ok("demo", "--dir", folder, "--students", "300", "--seed", "7")
    store = folder / "demo-store.db"
    d = Demo(folder=folder, store=store, xdg=xdg, sample_no="", sample_id="")
    admin = d.cli(ADMIN)
    admin.ok("staff", "add", CRON, "--role", "clerk", "--key-file", d.key(CRON), "--standing-purpose", "每周一例行周报")
    admin.ok("staff", "add", AUDITOR, "--role", "auditor", "--key-file", d.key(AUDITOR))
    # The sample: the student of the demo's first crisis (interviews, a guardian contact, a referral too).
    with d.open(COUNSELOR) as counselor:
        crisis = next(e for e in counselor.entries.all() if e["kind"] == "crisis")
        d.sample_id = crisis["student_id"]
        d.sample_no = counselor.students.get(d.sample_id)["student_no"]
        assert any(e["kind"] == "interview" for e in counselor.entries.for_student(d.sample_id))
    d.cli(COUNSELOR).ok("cases", "note", d.sample_no, "--text", NOTE_TEXT)
    with d.open(COUNSELOR) as counselor:
        d.canaries = _clinical_values(counselor)
        d.sample_canaries = _clinical_values(counselor, d.sample_id)
        days = sorted(e["on_date"] for e in counselor.entries.all())
        d.period = (days[0], days[-1])
    assert NOTE_TEXT in d.sample_canaries and len(d.sample_canaries) >= 6 and len(d.canaries) >= 25
    return d


def _rows(conn: sqlite3.Connection, table: str):
    cur = conn.execute(f"SELECT * FROM {table}")
    names = [c[0] for c in cur.description]
    for row in cur:
        yield dict(zip(names, row))


def _clin_values(path: Path):
    """(table, record id, sealed clinical part, bound columns) of every row that has one, read with plain sqlite3."""
    conn = raw(path)
    try:
        for table in ("students", "watches", "entries", "referrals"):
            for row in _rows(conn, table):
                if row["clin"] is not None:
                    yield table, row["id"], bytes(row["clin"]), bound_columns(table, row)
    finally:
        conn.close()


def _every_cipher(keyring: dict[int, crypto.GenerationKeys], store_id: str) -> list[AESGCM]:
    """Every AES-GCM key anyone could make of the tier keys a slot holds: each derived under every tier's label, and raw."""
    out = []
    for keys in keyring.values():
        for secret in keys.secrets.values():
            out.append(AESGCM(secret))
            for label in crypto.TIERS:
                info = f"mhtool/record/{label}/v2".encode()
                out.append(AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=store_id.encode(), info=info).derive(secret)))
    return out


# -- the store library: raw rows, slot bundles, every cipher a clerk's keys make ------------


@pytest.mark.parametrize("user", NO_CLINICAL_KEY)
def test_clerk_and_cron_keys_decrypt_no_clinical_value_through_the_store_library(demo, user):
    # Guards ROLE_TIERS / the slot bundles: with the clinical key in a clerk's slot, unseal would open them.
    with demo.open(user) as store, demo.open(COUNSELOR) as counselor:
        assert not store.tampering
        ciphers = _every_cipher(store.keyring, store.store_id)
        sealed = decrypted = opened_by_counselor = 0
        findings = []
        for table, rid, blob, bound in _clin_values(demo.store):
            sealed += 1
            assert crypto.sealed_tier(blob) == "clinical", f"{table}/{rid}"
            try:
                crypto.unseal(store.keyring, store.store_id, table, rid, blob, bound)
                decrypted += 1
            except KeyUnavailable:
                pass
            # Whatever code runs: no key the slot holds, however derived, under any tier's associated data, opens it.
            nonce, body = blob[6:18], blob[18:]
            for cipher in ciphers:
                for tier in crypto.TIERS:
                    with pytest.raises(InvalidTag):
                        cipher.decrypt(nonce, body, f"{store.store_id}|{table}|{rid}|{tier}|".encode() + bound)
            # The same value opens with a counselor's key, so "0 decrypted" is about the key, not the data.
            clinical = crypto.unseal(counselor.keyring, counselor.store_id, table, rid, blob, bound)
            opened_by_counselor += 1
            if table == "entries" and "findings" in clinical["fields"]:
                findings.append(clinical["fields"]["findings"])
        assert decrypted == 0
        assert sealed > 50 and opened_by_counselor == sealed
        assert len(findings) > 20 and all(findings)


@pytest.mark.parametrize("user", sorted(EXPECTED_TIERS))
def test_each_role_slot_holds_exactly_its_tiers(demo, user):
    # Guards ROLE_TIERS and publish_directory: a slot with a tier its role lacks fails here.
    with demo.open(user) as store:
        assert store.keyring
        for keys in store.keyring.values():
            assert set(keys.secrets) == EXPECTED_TIERS[user]
            assert set(keys.ciphers) == EXPECTED_TIERS[user]
            assert (keys.directory_key is not None) == ("admin" in EXPECTED_TIERS[user])
            assert (keys.index_key is not None) == ("roster" in EXPECTED_TIERS[user])


@pytest.mark.parametrize("user", (CLERK, CRON, AUDITOR))
def test_the_bundles_a_clerk_slot_opens_hold_no_clinical_or_admin_key(demo, user):
    # Guards what is sealed to the slot: the keys are checked where they are stored, opened by hand from the
    # slot's rows, so no check in Store.open stands between the attacker and what the bundle holds.
    with demo.open(COUNSELOR) as counselor, demo.open(ADMIN) as admin:
        store_id = admin.store_id
        withheld = {
            "clinical": [k.secrets["clinical"] for k in counselor.keyring.values()],
            "admin": [k.secrets["admin"] for k in admin.keyring.values()],
        }
    credential = key_credential(demo.key(user))
    conn = raw(demo.store)
    try:
        slots = conn.execute(
            "SELECT k.id, k.params, k.wrapped_private FROM keyslots k JOIN staff s ON s.id = k.staff_id WHERE s.name = ?", (user,)
        ).fetchall()
        assert slots
        bundles = 0
        for slot_id, params, wrapped in slots:
            private = crypto.unlock_slot(credential, store_id, slot_id, json.loads(params), wrapped)
            for generation, sealed in conn.execute("SELECT generation, sealed FROM slot_masters WHERE slot_id = ?", (slot_id,)):
                secrets, binding = crypto.open_bundle(private, sealed, generation, store_id, slot_id)
                assert set(secrets) == EXPECTED_TIERS[user] and binding["name"] == user
                # The whole plaintext of the bundle, not only the tiers open_bundle passes on.
                shared = private.exchange(X25519PublicKey.from_public_bytes(sealed[:32]))
                key = crypto._share_key(shared, store_id, slot_id, generation)
                payload = AESGCM(key).decrypt(sealed[32:44], sealed[44:], crypto._bundle_aad(store_id, slot_id, generation))
                assert set(json.loads(payload)["keys"]) == EXPECTED_TIERS[user]
                for tier, keys in withheld.items():
                    for secret in keys:
                        assert secret.hex().encode() not in payload and secret not in payload, (tier, generation)
                bundles += 1
            # Nor does their private key open what is sealed to anyone else's slot, under either slot's name.
            others = conn.execute("SELECT slot_id, generation, sealed FROM slot_masters WHERE slot_id != ?", (slot_id,)).fetchall()
            assert len(others) >= 4
            for other, generation, sealed in others:
                for label in (other, slot_id):
                    with pytest.raises(IntegrityError):
                        crypto.open_bundle(private, sealed, generation, store_id, label)
        assert bundles >= 1
    finally:
        conn.close()


@pytest.mark.parametrize("user", (CLERK, CRON, AUDITOR))
def test_nothing_a_clerk_key_opens_holds_clinical_text_or_the_clinical_key(demo, user):
    # Guards sensitivity.split and every copy of clinical text outside the clinical part (audit details, tasks,
    # caches, settings, the directory): every sealed value the key opens, and the plaintext meta, are scanned.
    with demo.open(COUNSELOR) as counselor:
        clinical_keys = [k.secrets["clinical"] for k in counselor.keyring.values()]
    with demo.open(user) as store:
        opened, texts = 0, []
        conn = raw(demo.store)
        try:
            for table, key_col in schema.SEALED_TABLES.items():
                for row in _rows(conn, table):
                    try:
                        value = crypto.unseal(store.keyring, store.store_id, table, str(row[key_col]), row["data"], bound_columns(table, row))
                    except KeyUnavailable:
                        continue
                    opened += 1
                    texts.append(json.dumps(value, ensure_ascii=False))
            texts += [f"{k}={v}" for k, v in conn.execute("SELECT key, value FROM meta")]
        finally:
            conn.close()
    everything = "\n".join(texts)
    assert opened > (50 if user == AUDITOR else 1000)
    assert [c for c in demo.canaries if c in everything] == []
    for secret in clinical_keys:
        assert secret.hex() not in everything


# -- the repositories -------------------------------------------------------------------------


@pytest.mark.parametrize("user", NO_CLINICAL_KEY)
def test_repositories_give_a_clerk_restricted_records_without_their_clinical_fields(demo, user):
    # Guards the split of each record into parts: a clinical field left in the administrative part shows
    # here for the clerk; an administrative field moved into the clinical part goes missing for them.
    with demo.open(user) as store, demo.open(COUNSELOR) as counselor:
        theirs = {e["id"]: e for e in counselor.entries.all()}
        mine = {e["id"]: e for e in store.entries.all()}
        assert set(mine) == set(theirs)
        seen = {kind: 0 for kind in CLINICAL_ENTRY_FIELDS}
        for rid, entry in mine.items():
            kind = entry["kind"]
            if kind not in CLINICAL_ENTRY_FIELDS:
                assert entry["fields"] == theirs[rid]["fields"], rid
                continue
            seen[kind] += 1
            full = theirs[rid]["fields"]
            assert not set(entry["fields"]) & set(CLINICAL_ENTRY_FIELDS[kind]), (kind, rid, entry["fields"])
            # What the clerk does read is the counselor's, unchanged.
            assert {k: full[k] for k in entry["fields"]} == entry["fields"], rid
            for name in ADMIN_ENTRY_FIELDS.get(kind, ()):
                if name in full:
                    assert entry["fields"][name] == full[name], (kind, name)
        # The counselor does read the clinical fields (the demo's entries all carry them).
        checks = (("interview", "findings"), ("crisis", "what"), ("note", "text"), ("guardian_contact", "content"), ("level_change", "reason"))
        for kind, name in checks:
            assert seen[kind] >= 1, kind
            assert all(e["fields"].get(name) for e in theirs.values() if e["kind"] == kind), kind
        crises = [e for e in mine.values() if e["kind"] == "crisis"]
        assert all(e["fields"]["happened_at"] and e["fields"]["notified"] for e in crises)
        changes = [e for e in mine.values() if e["kind"] == "level_change"]
        assert changes and all(e["fields"]["to"] == theirs[e["id"]]["fields"]["to"] for e in changes)
        for table, names in CLINICAL_RECORD_FIELDS.items():
            clerk_rows = getattr(store, table).all()
            counselor_rows = getattr(counselor, table).all()
            assert len(clerk_rows) == len(counselor_rows)
            assert not [r["id"] for r in clerk_rows if any(r.get(n) for n in names)], table
            assert any(r.get(n) for r in counselor_rows for n in names), table
        referrals = {r["id"]: r for r in counselor.referrals.all()}
        for r in store.referrals.all():
            assert (r["status"], r["referred_on"]) == (referrals[r["id"]]["status"], referrals[r["id"]]["referred_on"])


# -- the CLI and the reports ------------------------------------------------------------------


def _hits(text: str, canaries) -> list[str]:
    return sorted(c for c in canaries if c in text)


@pytest.mark.parametrize("user", NO_CLINICAL_KEY)
def test_cases_show_as_clerk_or_cron_prints_no_clinical_text(demo, user):
    # Guards the keys and the split end to end, as a clerk runs the command. The header's level_reason rests on
    # the key alone; the timeline's entries also on the program's own check, which the patched-program test
    # at the end takes away.
    counselor = demo.cli(COUNSELOR).ok("cases", "show", demo.sample_no, "--json").stdout
    assert _hits(counselor, demo.sample_canaries) == sorted(demo.sample_canaries)
    out = demo.cli(user).ok("cases", "show", demo.sample_no, "--json").stdout
    shown = json.loads(out)
    assert shown["student"]["student_no"] == demo.sample_no
    assert _hits(out, demo.canaries) == []
    assert _hits(json.dumps(shown, ensure_ascii=False), demo.canaries) == []
    restricted = [e for e in shown["timeline"] if e["kind"] in ("interview", "crisis", "note", "guardian_contact")]
    assert {e["kind"] for e in restricted} == {"interview", "crisis", "note", "guardian_contact"}


def _cells(path: Path) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}
    finally:
        book.close()


def _text(cells: dict[str, list[tuple]]) -> str:
    return "\n".join(str(v) for rows in cells.values() for row in rows for v in row if v is not None)


def _numbers(cells: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    return {
        sheet: [(r, c, v) for r, row in enumerate(rows) for c, v in enumerate(row) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        for sheet, rows in cells.items()
    }


def _weekly(demo: Demo, user: str, folder: Path, *args) -> dict[str, list[tuple]]:
    folder.mkdir(parents=True)
    extra = () if user == CRON else ("--purpose", "学院心理工作例会")
    demo.cli(user).ok("report", "weekly", "--out", folder, *args, *extra)
    (book,) = folder.glob("周报_*.xlsx")
    return _cells(book)


@pytest.fixture(scope="module")
def weekly(demo, tmp_path_factory) -> dict[str, dict[str, list[tuple]]]:
    """The weekly report as each role writes it, over the whole period the demo recorded (every level and
    status change, crisis and referral of its four weeks falls in it, whatever day the module runs)."""
    base = tmp_path_factory.mktemp("weekly")
    return {user: _weekly(demo, user, base / user, "--from", demo.period[0], "--to", demo.period[1]) for user in (CRON, CLERK, COUNSELOR)}


def test_the_cron_weekly_report_holds_no_clinical_text(demo, weekly, tmp_path):
    # Guards the cron job's real run: its report carries no clinical text, while the counselor's report of the
    # same period prints some (reasons of level and status changes), so the check has teeth. Both the key and
    # the report's own check stand in the way here; the patched-program test at the end leaves only the key.
    assert _hits(_text(weekly[COUNSELOR]), demo.canaries)
    # As cron runs it: no option but --out, its standing purpose stands for --purpose.
    assert _hits(_text(_weekly(demo, CRON, tmp_path / "cron")), demo.canaries) == []
    for user in (CRON, CLERK):
        assert _hits(_text(weekly[user]), demo.canaries) == [], user


def test_clerk_and_counselor_weekly_reports_count_the_same(weekly):
    # Guards the line between the parts from the other side: an administrative fact a report counts
    # (a level's from/to, a crisis time, a referral's status) moved under the clinical key would change a clerk's figures.
    counselor = _numbers(weekly[COUNSELOR])
    assert sum(len(cells) for cells in counselor.values()) > 30
    assert any(v for _, _, v in counselor[next(iter(counselor))])
    for user in (CRON, CLERK):
        assert list(weekly[user]) == list(weekly[COUNSELOR])
        assert _numbers(weekly[user]) == counselor, user


# -- writing ----------------------------------------------------------------------------------


def _state(path: Path) -> dict:
    conn = raw(path)
    try:
        state = {t: conn.execute(f"SELECT count(*), total(length(data)) FROM {t}").fetchone() for t in ("entries", "audit")}
        state["ledger"] = conn.execute("SELECT count(*) FROM ledger").fetchone()
        state["clin"] = conn.execute("SELECT count(clin), total(length(clin)) FROM entries").fetchone()
        return state
    finally:
        conn.close()


def _copy_store(demo: Demo, tmp_path: Path) -> Path:
    """A copy of the demo store for a test that tries to write (the module's store stays as built)."""
    conn = raw(demo.store)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    copy = tmp_path / "store.db"
    shutil.copy(demo.store, copy)
    return copy


@pytest.mark.parametrize("user", NO_CLINICAL_KEY)
def test_a_clerk_key_cannot_write_clinical_content_even_through_the_library(demo, user, tmp_path):
    # Guards ROLE_TIERS on the writing side: with the clinical key a clerk could plant notes and findings
    # that counselors would read as their colleagues'.
    copy = _copy_store(demo, tmp_path)
    before = _state(copy)
    with demo.open(user, copy) as store:
        interview = next(e for e in store.entries.for_student(demo.sample_id) if e["kind"] == "interview")
        with pytest.raises(KeyUnavailable):
            with store.write("test.plant") as txn:
                txn.insert(
                    "entries",
                    {"kind": "note", "date": "2026-11-01", "author": user, "fields": {"text": "x"}},
                    columns={"student_id": demo.sample_id, "on_date": "2026-11-01"},
                )
        with pytest.raises(KeyUnavailable):
            with store.write("test.rewrite") as txn:
                record = store.sealed_part("entries", interview)
                txn.update("entries", interview["id"], {**record, "fields": {**record["fields"], "findings": "x"}})
        with pytest.raises(KeyUnavailable):
            crypto.seal(store.write_keys, store.store_id, "entries", "any", {"fields": {"text": "x"}}, "clinical")
    assert _state(copy) == before


# -- whatever code it runs ----------------------------------------------------------------------


@pytest.mark.parametrize("user", NO_CLINICAL_KEY)
def test_mhtool_patched_to_let_clerks_read_clinical_content_still_shows_them_none(demo, user, monkeypatch, tmp_path):
    # Guards the key, not the program: the attacker runs an mhtool whose permission table gives clerks the
    # clinical and record permissions (the program's own check is gone); only the missing key stops them.
    monkeypatch.setitem(access.PERMISSIONS, "clerk", access.PERMISSIONS["clerk"] | {"clinical", "record"})
    clerk = demo.cli(user)
    shown = json.loads(clerk.ok("cases", "show", demo.sample_no, "--json").stdout)
    restricted = [e for e in shown["timeline"] if e["kind"] in ("interview", "crisis", "note", "guardian_contact")]
    # The patched program no longer withholds these entries from a clerk ...
    assert restricted and not any(e["restricted"] for e in restricted)
    # ... and still has no clinical text to show.
    assert _hits(json.dumps(shown, ensure_ascii=False), demo.canaries) == []
    assert all(e["fields"] and not set(e["fields"]) & set(CLINICAL_ENTRY_FIELDS[e["kind"]]) for e in restricted if e["kind"] != "note")
    assert _hits(_text(_weekly(demo, user, tmp_path / "weekly", "--from", demo.period[0], "--to", demo.period[1])), demo.canaries) == []
    # Writing clinical content is refused by the cipher, on a copy of the store.
    copy = _copy_store(demo, tmp_path)
    before = _state(copy)
    result = clerk("cases", "note", demo.sample_no, "--text", "x", env={"MHTOOL_STORE": str(copy)})
    assert result.exit_code == 5 and "clinical key" in result.stderr, result.stderr
    assert _state(copy) == before
