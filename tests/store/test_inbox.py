"""The counselors' inbox (issue 18): a clerk seals peer reports naming students and can never read them back.

Real store, real keys, staff added through the CLI. What a clerk could try is
tried: the store API (inbox_open, the sealed value, the signal repository),
and by hand with the clerk's own slot and bundle and python's ``sqlite3`` on
the file. The tier the inbox private key is sealed under is read from the
sealed bytes themselves, not from ``schema``: a change that seals it under
the roster tier must fail here.
"""

from __future__ import annotations

import base64
import json
from datetime import date

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mhtool.errors import IntegrityError, KeyUnavailable, PermissionDenied, StoreError
from mhtool.signals.usecases.peer import open_peer_signal
from mhtool.store import access, crypto
from mhtool.store.repos import inbox_aad_id
from tests.cases.casekit import add_student
from tests.store.storetools import key_credential, raw

# The tier bytes of the sealed-value header (docs/design.md, "Sealed values"), written out here on purpose.
COMMON, ROSTER, CLINICAL = 1, 2, 3
DESCRIPTION = "近两周情绪低落，夜里常哭，室友担心"
DESCRIPTION_2 = "宿舍反映其连续三晚未眠"
STUDENT, OTHER = "2024010001", "2024010003"


def _content(description=DESCRIPTION, *, role="peer_monitor", unit="汉语言2401", period="2026-W48", reporter="李同学") -> dict:
    return {"description": description, "reporter": reporter, "role": role, "unit": unit, "period": period, "told_advisor": True}


@pytest.fixture
def center(store_env):
    store_env.add_staff("wang", "counselor")
    store_env.add_staff("zhao", "clerk")
    store_env.add_staff("audi", "auditor")
    add_student(store_env.cli, STUDENT, "测试甲", "文学院", "汉语言2401")
    add_student(store_env.cli, OTHER, "测试丙", "文学院", "汉语言2402")
    return store_env


def _open(env, user):
    return env.open(user, env.tmp / f"{user}.key")


def _student_id(store, number) -> str:
    return store.students.find(number)["id"]


def _clerk_report(env, number=STUDENT, content=None, *, on=date(2026, 11, 27), period="2026-W48", unit="汉语言2401") -> str:
    with _open(env, "zhao") as clerk:
        with clerk.write("network.import-reports") as txn:
            return open_peer_signal(txn, _student_id(clerk, number), on, "文学院", period, unit, content or _content(period=period, unit=unit))


def _sealed_meta(env, key: str) -> bytes:
    conn = raw(env.path)
    try:
        return bytes(conn.execute("SELECT data FROM sealed_meta WHERE key = ?", (key,)).fetchone()[0])
    finally:
        conn.close()


def _signal_data(env, signal_id: str) -> tuple[bytes, bytes | None]:
    conn = raw(env.path)
    try:
        data, clin = conn.execute("SELECT data, clin FROM signals WHERE id = ?", (signal_id,)).fetchone()
        return bytes(data), (bytes(clin) if clin is not None else None)
    finally:
        conn.close()


# -- the key pair --------------------------------------------------------------------------------


def test_the_inbox_private_key_is_sealed_under_the_clinical_tier_and_the_public_one_under_common(center):
    # Read from the header of the sealed bytes: sealing the private key under roster (which clerks hold) fails here.
    private_blob, public_blob = _sealed_meta(center, "inbox_private"), _sealed_meta(center, "inbox_public")
    assert private_blob[5] == CLINICAL
    assert public_blob[5] == COMMON
    with _open(center, "wang") as counselor:
        keys = counselor.inbox_private_keys()
        public = counselor.sealed_values.get("inbox_public")
    assert len(keys) == 1 and keys[0]["public"] == public["public"]
    assert crypto.inbox_public_of(bytes.fromhex(keys[0]["private"])).hex() == public["public"]


def test_network_permission_is_for_admins_counselors_and_clerks():
    assert [r for r in access.ROLES if access.allowed(r, "network")] == ["admin", "counselor", "clerk"]


# -- a clerk seals, a counselor opens ---------------------------------------------------------------


def test_a_clerk_seals_a_peer_report_and_cannot_open_it_through_the_store(center):
    signal_id = _clerk_report(center)
    with _open(center, "zhao") as clerk:
        signal = clerk.signals.get(signal_id)
        assert signal["rule"] == "peer_report" and signal["source"] == "peer" and signal["period"] == "2026-W48"
        assert signal["unit"] == "汉语言2401" and signal["college"] == "文学院" and signal["hits"] == 1
        assert "explanation" not in signal and "facts" not in signal and "history" not in signal
        (item,) = signal["inbox"]
        assert DESCRIPTION not in json.dumps(signal, ensure_ascii=False) and "李同学" not in json.dumps(signal, ensure_ascii=False)
        with pytest.raises(KeyUnavailable):
            clerk.inbox_open(item["blob"], inbox_aad_id(signal_id, 0, item["unit"], item["role"]))
        with pytest.raises(KeyUnavailable):
            clerk.inbox_private_keys()
        with pytest.raises(KeyUnavailable):
            clerk.sealed_values.get("inbox_private")
        # Every read of the signal repository leaves the blob sealed for a clerk.
        assert all("explanation" not in s for s in clerk.signals.open(_student_id(clerk, STUDENT)))
        # A 研判 task for the counselor, as for campus signals.
        (task,) = clerk.tasks.open(_student_id(clerk, STUDENT))
        assert task["kind"] == "signal_review" and task["signal_id"] == signal_id and task["due_on"] == "2026-11-30"
        with pytest.raises(PermissionDenied):
            clerk.require("signals")
    # Nor does the clerk's dossier show the signal or its description.
    shown = center.cli.ok("cases", "show", STUDENT, "--json", env={"MHTOOL_USER": "zhao", "MHTOOL_KEY_FILE": str(center.tmp / "zhao.key")}).stdout
    assert DESCRIPTION not in shown and "peer_report" not in shown


def test_a_counselor_opens_it_everywhere_signals_are_read(center):
    signal_id = _clerk_report(center)
    with _open(center, "wang") as counselor:
        signal = counselor.signals.get(signal_id)
        assert "inbox" not in signal
        assert signal["facts"]["reports"][0]["description"] == DESCRIPTION
        assert signal["explanation"] == f"心理委员李同学（汉语言2401，2026年第48周）报告：{DESCRIPTION}（已告知辅导员）"
        assert signal["explanation_en"].startswith("Peer monitor 李同学 (汉语言2401, 2026-W48) reported: ")
        assert [s["id"] for s in counselor.signals.open()] == [signal_id]
        assert counselor.signals.open()[0]["explanation"] == signal["explanation"]
    counselor_cli = {"MHTOOL_USER": "wang", "MHTOOL_KEY_FILE": str(center.tmp / "wang.key")}
    radar = json.loads(center.cli.ok("signals", "list", "--json", env=counselor_cli).stdout)
    (row,) = radar if isinstance(radar, list) else radar["students"]
    assert DESCRIPTION in row["explanation"] and row["rules"] == ["peer_report"]
    filtered = center.cli.ok("signals", "list", "--rule", "peer_report", "--source", "peer", "--json", env=counselor_cli).stdout
    assert DESCRIPTION in filtered
    dossier = json.loads(center.cli.ok("cases", "show", STUDENT, "--json", env=counselor_cli).stdout)
    (shown,) = dossier["signals"]
    assert DESCRIPTION in shown["explanation"] and shown["rule"] == "peer_report"
    # The review closes it and its task, and moves the report into the clinical part for good.
    center.cli.ok("signals", "review", signal_id[:8], "--outcome", "noted", "--reason", "已联系辅导员", env=counselor_cli)
    data, clin = _signal_data(center, signal_id)
    assert clin is not None and clin[5] == CLINICAL
    with _open(center, "zhao") as clerk:
        reviewed = clerk.signals.get(signal_id)
        assert "inbox" not in reviewed and reviewed["closed_on"] and "explanation" not in reviewed
        assert clerk.tasks.open(_student_id(clerk, STUDENT)) == []


def test_by_hand_the_clerks_own_bundle_holds_nothing_that_opens_the_inbox(center):
    signal_id = _clerk_report(center)
    with _open(center, "admin") as admin:
        store_id = admin.store_id
        clinical = [k.secrets["clinical"] for k in admin.keyring.values()]
        inbox_private = [bytes.fromhex(k["private"]) for k in admin.inbox_private_keys()]
        item = admin.signals._rows("id = ?", (signal_id,), clinical=False)[0]["inbox"][0]
    blob = base64.b64decode(item["blob"])
    aad = f"{store_id}|inbox|{inbox_aad_id(signal_id, 0, item['unit'], item['role'])}".encode()
    # The clerk unlocks their own slot and opens their own bundles: every key their credential reaches.
    conn = raw(center.path)
    try:
        slots = conn.execute("SELECT k.id, k.params, k.wrapped_private FROM keyslots k JOIN staff s ON s.id = k.staff_id WHERE s.name = 'zhao'").fetchall()
        secrets_seen: list[bytes] = []
        for slot_id, params, wrapped in slots:
            private = crypto.unlock_slot(key_credential(center.tmp / "zhao.key"), store_id, slot_id, json.loads(params), wrapped)
            secrets_seen.append(crypto.public_bytes(private))
            for generation, sealed in conn.execute("SELECT generation, sealed FROM slot_masters WHERE slot_id = ?", (slot_id,)):
                secrets, _binding = crypto.open_bundle(private, sealed, generation, store_id, slot_id)
                assert set(secrets) == {"common", "roster"}
                secrets_seen += list(secrets.values())
                keyring = {generation: crypto.derive_keys(secrets, generation, store_id)}
                private_blob = bytes(conn.execute("SELECT data FROM sealed_meta WHERE key = 'inbox_private'").fetchone()[0])
                with pytest.raises(KeyUnavailable):
                    crypto.unseal(keyring, store_id, "sealed_meta", "inbox_private", private_blob)
                # Nor any cipher made of the keys they hold, under any tier's associated data.
                for secret in secrets.values():
                    for info in [f"mhtool/record/{t}/v2".encode() for t in crypto.TIERS]:
                        cipher = AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=store_id.encode(), info=info).derive(secret))
                        for tier in crypto.TIERS:
                            with pytest.raises(InvalidTag):
                                cipher.decrypt(private_blob[6:18], private_blob[18:], f"{store_id}|sealed_meta|inbox_private|{tier}|".encode())
            # Their own private key opens no inbox blob.
            with pytest.raises(IntegrityError):
                crypto.open_inbox(private.private_bytes_raw(), blob, aad)
    finally:
        conn.close()
    assert secrets_seen
    # The inbox private key and the clinical key are among nothing the clerk reached.
    for secret in (*clinical, *inbox_private):
        assert all(secret != seen for seen in secrets_seen)
    # Whereas the inbox private key opens it: the test is about the key, not the blob.
    assert DESCRIPTION in crypto.open_inbox(inbox_private[-1], blob, aad).decode()


# -- binding, rotation ------------------------------------------------------------------------------


def test_a_blob_moved_to_another_signal_or_place_does_not_open(center):
    first = _clerk_report(center, STUDENT)
    second = _clerk_report(center, OTHER, unit="汉语言2402")
    # The clerk (who holds the roster key) copies the first signal's blob into the second one's record.
    with _open(center, "zhao") as clerk:
        stolen = clerk.signals.get(first)["inbox"][0]
        target = clerk.signals.get(second)
        with clerk.write("tamper") as txn:
            target["inbox"] = [{**stolen, "unit": "汉语言2402"}]
            clerk.signals.save(txn, target)
    with _open(center, "wang") as counselor:
        assert DESCRIPTION in counselor.signals.get(first)["explanation"]
        with pytest.raises(IntegrityError):
            counselor.signals.get(second)
    # Put back under its own unit label it still does not open: the signal id is bound too.
    with _open(center, "zhao") as clerk:
        target = clerk.signals.get(second)
        with clerk.write("tamper") as txn:
            target["inbox"] = [stolen]
            clerk.signals.save(txn, target)
    with _open(center, "wang") as counselor:
        with pytest.raises(IntegrityError):
            counselor.signals.get(second)


def test_blobs_still_open_after_rotate_key_and_new_ones_use_a_new_pair(center):
    before = _clerk_report(center, STUDENT)
    with _open(center, "wang") as counselor:
        (old,) = counselor.inbox_private_keys()
    center.cli.ok("staff", "rotate-key")
    assert _sealed_meta(center, "inbox_private")[5] == CLINICAL
    assert int.from_bytes(_sealed_meta(center, "inbox_private")[1:5], "big") == 2
    after = _clerk_report(center, OTHER, unit="汉语言2402")
    with _open(center, "wang") as counselor:
        keys = counselor.inbox_private_keys()
        assert [k["key_id"] for k in keys][0] == old["key_id"] and len(keys) == 2
        assert counselor.sealed_values.get("inbox_public")["key_id"] == keys[-1]["key_id"]
        assert DESCRIPTION in counselor.signals.get(before)["explanation"]
        assert DESCRIPTION in counselor.signals.get(after)["explanation"]
        assert not counselor.tampering
    # The new blob is sealed to the new pair: the old private key alone does not open it.
    with _open(center, "admin") as admin:
        store_id = admin.store_id
        item = admin.signals._rows("id = ?", (after,), clinical=False)[0]["inbox"][0]
    aad = f"{store_id}|inbox|{inbox_aad_id(after, 0, item['unit'], item['role'])}".encode()
    with pytest.raises(IntegrityError):
        crypto.open_inbox(bytes.fromhex(old["private"]), base64.b64decode(item["blob"]), aad)
    assert json.loads(center.cli.ok("audit", "verify", "--deep", "--json").stdout)["ok"]


def test_an_edited_public_key_is_reported_and_not_used_by_counselors(center):
    with _open(center, "zhao") as clerk:
        with clerk.write("tamper") as txn:
            txn.put_value("inbox_public", {"key_id": "00" * 8, "public": crypto.new_inbox_pair()[0].hex()})
    with _open(center, "wang") as counselor:
        assert any("inbox public key" in t for t in counselor.tampering)
        # A counselor's own import seals to the key the clinical part names.
        assert counselor.inbox_open(counselor.inbox_seal({"x": 1}, "t"), "t") == {"x": 1}


# -- one signal per student and period -------------------------------------------------------------


def test_reports_of_one_period_extend_one_signal_and_a_repeat_replaces(center):
    first = _clerk_report(center)
    dorm = _content(DESCRIPTION_2, role="dorm_head", unit="3号楼201", reporter="王室长")
    with _open(center, "zhao") as clerk:
        with clerk.write("network.import-reports") as txn:
            second = open_peer_signal(txn, _student_id(clerk, STUDENT), date(2026, 11, 28), "文学院", "2026-W48", "3号楼201", dorm)
        with clerk.write("network.import-reports") as txn:  # the class sends its sheet again, corrected
            third = open_peer_signal(txn, _student_id(clerk, STUDENT), date(2026, 11, 28), "文学院", "2026-W48", "汉语言2401", _content("更正：情绪好转"))
        assert first == second == third
        signal = clerk.signals.get(first)
        assert signal["hits"] == 2 and len(signal["inbox"]) == 2 and signal["last_hit_on"] == "2026-11-28"
        assert len(clerk.tasks.open(_student_id(clerk, STUDENT))) == 1
    with _open(center, "wang") as counselor:
        signal = counselor.signals.get(first)
        descriptions = [r["description"] for r in signal["facts"]["reports"]]
        assert sorted(descriptions) == sorted([DESCRIPTION_2, "更正：情绪好转"])
        # A counselor's own report for the period joins the same signal, in the clinical part.
        with counselor.write("network.import-reports") as txn:
            again = open_peer_signal(txn, _student_id(counselor, STUDENT), date(2026, 11, 29), "文学院", "2026-W48", "文学院", _content("二级站核实", role="station_head", unit="文学院"))
        assert again == first
    data, clin = _signal_data(center, first)
    assert clin is not None
    with _open(center, "zhao") as clerk:
        signal = clerk.signals.get(first)
        assert "inbox" not in signal and signal["hits"] == 3
    with _open(center, "wang") as counselor:
        assert len(counselor.signals.get(first)["history"]) == 3
        # Another period is another signal.
        with counselor.write("network.import-reports") as txn:
            other = open_peer_signal(txn, _student_id(counselor, STUDENT), date(2026, 12, 4), "文学院", "2026-W49", "汉语言2401", _content(period="2026-W49"))
        assert other != first


def test_a_counselor_import_puts_the_content_in_clin(center):
    with _open(center, "wang") as counselor:
        with counselor.write("network.import-reports") as txn:
            signal_id = open_peer_signal(txn, _student_id(counselor, STUDENT), date(2026, 11, 27), "文学院", "2026-W48", "汉语言2401", _content())
    data, clin = _signal_data(center, signal_id)
    assert clin is not None and clin[5] == CLINICAL and data[5] == ROSTER
    with _open(center, "zhao") as clerk:
        signal = clerk.signals.get(signal_id)
        assert "inbox" not in signal and "explanation" not in signal and signal["rule"] == "peer_report"


# -- stores made before the inbox -------------------------------------------------------------------


def test_an_older_store_gets_its_inbox_from_the_first_counselor_and_a_clerk_before_that_is_told(center):
    conn = raw(center.path)
    conn.execute("DELETE FROM sealed_meta WHERE key IN ('inbox_public', 'inbox_private')")
    conn.execute("DROP TABLE network_members")
    conn.execute("DROP TABLE network_reports")
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    with _open(center, "zhao") as clerk:  # migrates (the tables), but cannot make the clinical half
        assert not clerk.inbox_ready()
        assert clerk.network_reports.all() == [] and clerk.network_members.all() == []
        with pytest.raises(StoreError) as refused:
            with clerk.write("network.import-reports") as txn:
                open_peer_signal(txn, _student_id(clerk, STUDENT), date(2026, 11, 27), "文学院", "2026-W48", "汉语言2401", _content())
        assert "a counselor or admin must open the store once" in (refused.value.hint or "")
        assert clerk.signals.open() == []  # nothing half-written
    with _open(center, "wang") as counselor:
        assert counselor.inbox_ready()
    assert _sealed_meta(center, "inbox_private")[5] == CLINICAL
    signal_id = _clerk_report(center)
    with _open(center, "wang") as counselor:
        assert DESCRIPTION in counselor.signals.get(signal_id)["explanation"]
    actions = [e["action"] for e in json.loads(center.cli.ok("audit", "log", "--limit", "0", "--json").stdout)]
    assert "store.migrate" in actions and "store.inbox" in actions


# -- the network tables -------------------------------------------------------------------------------


def test_network_rows_are_sealed_under_the_roster_tier_and_a_report_per_unit_and_period(center):
    with _open(center, "zhao") as clerk:
        with clerk.write("network.import") as txn:
            member = clerk.network_members.add(
                txn, {"college": "文学院", "unit_kind": "class", "unit": "汉语言2401", "role": "peer_monitor", "person_no": STUDENT, "name": "李同学", "phone": "13800000001"}
            )
        report = {"college": "文学院", "unit_kind": "class", "unit": "汉语言2401", "period": "2026-W48", "reporter": "李同学", "status": "zero", "named": 0}
        with clerk.write("network.import-reports") as txn:
            first = clerk.network_reports.put(txn, report)
        with clerk.write("network.import-reports") as txn:
            again = clerk.network_reports.put(txn, {**report, "status": "concern", "named": 1})
            clerk.network_reports.put(txn, {**report, "period": "2026-W49"})
        assert first == again
        (row,) = clerk.network_reports.for_period("2026-W48")
        assert row["status"] == "concern" and row["named"] == 1 and row["period"] == "2026-W48"
        assert clerk.network_reports.find("class", "汉语言2401", "2026-W48")["id"] == first
        assert clerk.network_reports.find("dorm", "汉语言2401", "2026-W48") is None
        assert len(clerk.network_reports.for_periods(["2026-W48", "2026-W49"])) == 2
        assert clerk.network_members.get(member)["name"] == "李同学"
        with clerk.write("network.remove") as txn:
            clerk.network_members.remove(txn, member)
        assert clerk.network_members.all() == []
    conn = raw(center.path)
    try:
        for (blob,) in conn.execute("SELECT data FROM network_reports"):
            assert bytes(blob)[5] == ROSTER
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 4  # the network tables came with version 4
    finally:
        conn.close()
    # The period column is bound to the seal: an edited period fails to open.
    conn = raw(center.path)
    conn.execute("UPDATE network_reports SET period = '2026-W50' WHERE period = '2026-W49'")
    conn.close()
    with _open(center, "zhao") as clerk:
        with pytest.raises(IntegrityError):
            clerk.network_reports.for_period("2026-W50")
