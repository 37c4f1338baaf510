"""`mhtool signals import` end to end: who may, the purpose, one audited transaction, re-imports, bad files.

Files are generated here (made-up students) and imported through the command line.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from tests.signals.test_signals_cli import (
    DORM_HEADER,
    STUDENTS,
    audit,
    card_file,
    dorm_file,
    dorm_rows,
    import_json,
    school,
    signals_json,
    today,
    write_csv,
)


def store_state(path: Path) -> tuple[bytes, bool]:
    """The store file's bytes, and whether a WAL beside it holds anything."""
    wal = Path(f"{path}-wal")
    return path.read_bytes(), wal.exists() and wal.stat().st_size > 0


def _week(env, name="门禁.csv", *, first=None, days=7, out=None):
    first = first or today() - timedelta(days=20)
    out = out if out is not None else {"2023010001": {first + timedelta(days=2), first + timedelta(days=5)}}
    return dorm_file(env.tmp / name, first, days, out), first


def test_only_counselors_and_admins_import_and_read_signals(store_env):
    couns = school(store_env)
    clerk = store_env.add_staff("clerk1", "clerk")
    auditor = store_env.add_staff("aud", "auditor")
    path, _first = _week(store_env)
    refused = clerk("signals", "import", str(path), "--source", "dorm")
    assert refused.exit_code == 5 and "counselor" in refused.stderr and "admin" in refused.stderr
    assert auditor("signals", "import", str(path), "--source", "dorm").exit_code == 5
    assert clerk("signals", "list").exit_code == 5 and clerk("cases", "radar").exit_code == 5
    assert clerk("signals", "review", "2023010001", "--outcome", "noted", "--reason", "x").exit_code == 5
    denied = [e for e in audit(store_env) if e["action"] == "denied"]
    assert {e["details"]["attempted"] for e in denied} >= {"signals.import", "signals.list", "signals.review"}
    import_json(couns, path, "dorm")
    assert import_json(store_env.cli, _week(store_env, "门禁2.csv", days=8)[0], "dorm")["matched"] == 5
    assert "signals" not in json.loads(clerk.ok("cases", "show", "2023010001", "--json").stdout)
    # A clerk's key cannot open the facts nor what triggered a signal: only that signals exist.
    with store_env.open("clerk1", store_env.tmp / "clerk1.key") as store:
        sid = store.students.find("2023010001")["id"]
        [signal] = store.signals.for_student(sid)
        assert signal["rule"] == "dorm_out" and "facts" not in signal and "explanation" not in signal
        try:
            store.signal_facts.for_student(sid)
        except Exception as exc:  # the clinical key is not in a clerk's bundle
            assert type(exc).__name__ in ("KeyUnavailable", "PermissionDenied"), exc
        else:
            raise AssertionError("a clerk read campus facts")


def test_purpose_is_asked_under_the_store_policy_and_audited(store_env):
    couns = school(store_env)
    store_env.cli.ok("settings", "set", "purpose_required_roles", "clerk,counselor")
    path, _first = _week(store_env)
    before = store_state(store_env.path)
    asked = couns("signals", "import", str(path), "--source", "dorm")
    assert asked.exit_code == 2 and "--purpose" in asked.stderr
    assert store_state(store_env.path) == before
    import_json(couns, path, "dorm", "--purpose", "学生工作例会：未归寝排查")
    [entry] = [e for e in audit(store_env) if e["action"] == "signals.import"]
    assert entry["details"]["purpose"] == "学生工作例会：未归寝排查"


def test_one_audited_transaction_with_source_period_rows_and_counts(store_env):
    couns = school(store_env)
    first = today() - timedelta(days=20)
    rows = dorm_rows(first, 7, {"2023010001": {first + timedelta(days=1), first + timedelta(days=3)}})
    rows += [["2099990001", "外校甲", "1栋东门闸机", "出", f"{first} 09:00:00"], ["2099990001", "外校甲", "1栋东门闸机", "进", f"{first} 20:00:00"]]
    path = write_csv(store_env.tmp / "门禁.csv", DORM_HEADER, sorted(rows, key=lambda r: r[4]))
    result = couns.ok("signals", "import", str(path), "--source", "dorm")
    assert "1 people in the file match no student" in result.stderr and "2099990001" in result.stderr
    [entry] = [e for e in audit(store_env) if e["action"] == "signals.import"]
    d = entry["details"]
    assert (d["source"], d["first_day"], d["last_day"]) == ("dorm", first.isoformat(), (first + timedelta(days=6)).isoformat())
    assert d["rows"] == len(rows) and d["matched"] == 5 and d["unmatched"] == 1 and d["signals_new"] == 1
    assert entry["staff"] == "zhang" and any(t.startswith("signals/") for t in entry["targets"]) and any(t.startswith("tasks/") for t in entry["targets"])
    # The raw code of the unmatched person is reported to the importer, never stored in the audit.
    assert "2099990001" not in json.dumps(entry, ensure_ascii=False)
    as_json = import_json(couns, dorm_file(store_env.tmp / "门禁2.csv", first, 8, {}), "dorm")
    assert set(as_json) >= {"file", "source", "first_day", "last_day", "as_of", "rows", "people", "matched", "unmatched", "signals_new", "signals_extended", "new_signals"}


def test_dry_run_shows_the_mapping_and_writes_nothing(store_env):
    couns = school(store_env)
    path, _first = _week(store_env)
    before = store_state(store_env.path)
    shown = couns.ok("signals", "import", str(path), "--source", "dorm", "--dry-run")
    assert "进出方向" in shown.stdout and "direction" in shown.stdout and "通行时间" in shown.stdout
    assert "would raise 1 signals" in shown.stderr and "Nothing was written" in shown.stderr
    assert store_state(store_env.path) == before
    summary = import_json(couns, path, "dorm", "--dry-run")
    assert summary["dry_run"] and summary["signals_new"] == 1 and summary["layout"]["profile"] == "dorm"
    assert store_state(store_env.path) == before
    assert signals_json(couns) == []


def test_the_same_file_again_adds_nothing(store_env):
    couns = school(store_env)
    path, _first = _week(store_env)
    import_json(couns, path, "dorm")
    before = store_state(store_env.path)
    again = couns.ok("signals", "import", str(path), "--source", "dorm")
    assert "already imported" in again.stderr
    assert store_state(store_env.path) == before
    assert import_json(couns, path, "dorm")["already_imported"] is True
    copy = store_env.tmp / "改名.csv"
    copy.write_bytes(path.read_bytes())
    assert import_json(couns, copy, "dorm")["already_imported"] is True  # the content is what counts, not the name


def test_an_overlapping_period_adds_no_facts_or_signals_twice(store_env):
    couns = school(store_env)
    first = today() - timedelta(days=20)
    night = lambda i: first + timedelta(days=i)  # noqa: E731
    out = {"2023010001": {night(5), night(6)}}
    import_json(couns, dorm_file(store_env.tmp / "门禁_1.csv", first, 7, out), "dorm")
    with store_env.open() as store:
        sid = store.students.find("2023010001")["id"]
        before_facts = store.signal_facts.for_student(sid)
        before_signals = store.signals.for_student(sid)
    # Nights 3 … 8: four of them again, the same two out, two new ones.
    second = import_json(couns, dorm_file(store_env.tmp / "门禁_2.csv", night(3), 6, {"2023010001": {night(5), night(6)}}), "dorm")
    assert second["signals_new"] == 0 and second["signals_extended"] == 0
    with store_env.open() as store:
        [facts] = store.signal_facts.for_student(sid)
        [signal] = store.signals.for_student(sid)
        assert len(store.signal_facts.all()) == len(STUDENTS)
    assert len(before_facts) == 1 and len(before_signals) == 1
    assert sorted(facts["nights"]) == [night(i).isoformat() for i in range(9)]
    assert [d for d, v in facts["nights"].items() if v] == [night(5).isoformat(), night(6).isoformat()]
    assert signal["id"] == before_signals[0]["id"] and signal["hits"] == 1
    # Card days: a day imported twice is stored once, the latest import's.
    card = {"2023010002": {night(0): 2, night(1): 2}}
    import_json(couns, card_file(store_env.tmp / "卡1.csv", card), "card")
    import_json(couns, card_file(store_env.tmp / "卡2.csv", {"2023010002": {night(1): 3, night(2): 1}}), "card")
    with store_env.open() as store:
        sid2 = store.students.find("2023010002")["id"]
        days = store.signal_facts.of_source([sid2], "card")[sid2]
    assert days["days"] == {night(0).isoformat(): [2, 2400], night(1).isoformat(): [3, 3600], night(2).isoformat(): [1, 1200]}


def test_bad_input_names_file_row_and_column_and_writes_nothing(store_env):
    couns = school(store_env)
    first = today() - timedelta(days=20)
    rows = dorm_rows(first, 3, {})
    rows.insert(4, ["2023010001", "测甲", "1栋东门闸机", "飞", f"{first} 12:00:00"])
    bad = write_csv(store_env.tmp / "坏门禁.csv", DORM_HEADER, rows)
    before = store_state(store_env.path)
    result = couns("signals", "import", str(bad), "--source", "dorm")
    assert result.exit_code == 3
    assert "坏门禁.csv" in result.stderr and "row 6" in result.stderr and "进出方向" in result.stderr and "飞" in result.stderr
    assert store_state(store_env.path) == before
    times = write_csv(store_env.tmp / "坏时间.csv", DORM_HEADER, [["2023010001", "测甲", "1栋", "进", "昨天晚上"]])
    result = couns("signals", "import", str(times), "--source", "dorm")
    assert result.exit_code == 3 and "通行时间" in result.stderr and "row 2" in result.stderr
    wrong_source = card_file(store_env.tmp / "一卡通.csv", {"2023010001": {first: 2}})
    result = couns("signals", "import", str(wrong_source), "--source", "dorm")
    assert result.exit_code == 3 and "一卡通.csv" in result.stderr
    negative = write_csv(store_env.tmp / "日汇总.csv", ["学号", "日期", "就餐次数", "就餐金额"], [["2023010001", str(first), "-2", "24.00"]])
    result = couns("signals", "import", str(negative), "--source", "card")
    assert result.exit_code == 3 and "就餐次数" in result.stderr and "row 2" in result.stderr
    assert couns("signals", "import", str(store_env.tmp / "nope.csv"), "--source", "dorm").exit_code == 3
    missing_source = couns("signals", "import", str(bad))
    assert missing_source.exit_code == 2 and "--source" in missing_source.stderr
    assert couns("signals", "import", str(bad), "--source", "wifi").exit_code == 2
    assert store_state(store_env.path) == before


def test_card_numbers_through_a_mapping_file_and_a_card_of_two_students(store_env):
    couns = school(store_env)
    first = today() - timedelta(days=10)
    mapping = write_csv(store_env.tmp / "卡号对照.csv", ["学号", "卡号"], [["2023010001", "00880001"], ["2023010002", "00880002"]])
    rows = [["00880001", "测甲", f"{first} 12:00:00", "二食堂", "-11.50", "消费"], ["00880009", "某人", f"{first} 12:05:00", "二食堂", "-9.00", "消费"]]
    path = write_csv(store_env.tmp / "一卡通_卡号.csv", ["卡号", "姓名", "交易时间", "交易地点", "交易金额", "交易类型"], rows)
    result = import_json(couns, path, "card", "--mapping", str(mapping))
    assert result["matched"] == 1 and result["unmatched"] == 1 and result.get("note")
    with store_env.open() as store:
        [facts] = store.signal_facts.for_student(store.students.find("2023010001")["id"])
    assert facts["days"][first.isoformat()] == [1, 1150]
    twice = write_csv(store_env.tmp / "坏对照.csv", ["学号", "卡号"], [["2023010001", "00880001"], ["2023010002", "00880001"]])
    before = store_state(store_env.path)
    refused = couns("signals", "import", str(path), "--source", "card", "--mapping", str(twice))
    assert refused.exit_code == 3 and "坏对照.csv" in refused.stderr and "row 3" in refused.stderr and "two students" in refused.stderr
    assert store_state(store_env.path) == before


def test_a_college_scoped_counselor_touches_only_their_colleges(store_env):
    school(store_env)
    scoped = store_env.add_staff("li", "counselor", "理学院")
    first = today() - timedelta(days=20)
    out = {"2023010001": {first + timedelta(days=1), first + timedelta(days=2)}, "2023020004": {first + timedelta(days=1), first + timedelta(days=2)}}
    result = import_json(scoped, dorm_file(store_env.tmp / "门禁.csv", first, 7, out), "dorm")
    # 文学院's students read as "not found in your colleges": unmatched, like numbers nobody has.
    assert result["matched"] == 2 and result["unmatched"] == 3
    assert [(s["student_no"], s["rule"]) for s in result["new_signals"]] == [("2023020004", "dorm_out")]
    assert [r["student_no"] for r in signals_json(scoped)] == ["2023020004"]
    with store_env.open() as store:
        assert store.signal_facts.for_student(store.students.find("2023010001")["id"]) == []
    assert any(e["action"] == "denied" and e["details"]["attempted"] == "signals.import" for e in audit(store_env))


def test_students_who_left_are_not_kept(store_env):
    couns = school(store_env)
    couns.ok("cases", "status", "2023010002", "withdraw", "--on", (today() - timedelta(days=60)).isoformat(), "--reason", "退学")
    path, _first = _week(store_env, out={"2023010002": {today() - timedelta(days=18), today() - timedelta(days=17)}})
    result = import_json(couns, path, "dorm")
    assert result["left_school"] == 1 and result["matched"] == 4 and result["signals_new"] == 0
    with store_env.open() as store:
        assert store.signal_facts.for_student(store.students.find("2023010002")["id"]) == []


def test_the_python_api_gives_the_same(store_env):
    from mhtool.app import Center
    from mhtool.app.center import credential_from_key_file

    school(store_env)
    path, _first = _week(store_env)
    with Center.open(store_env.path, credential_from_key_file(store_env.tmp / "zhang.key"), "zhang") as center:
        result = center.signals.import_file(path, "dorm")
        assert result["signals_new"] == 1
        [row] = center.signals.list()
        student = center.store.students.find(row["student_no"])
        [signal] = center.signals.for_student(row["student_no"])
        assert signal["explanation"] == row["explanation"] and signal["status"] == "open"
        assert center.signals.for_student(student["id"], audit=False) == [signal]
        assert len(center.signals.rules()) == 6


def test_a_backup_made_before_the_signal_tables_still_restores(store_env):
    """A backup of schema version 2 (no signal tables) passes the restore's checks and is migrated afterwards."""
    import sqlite3

    school(store_env)
    backup = store_env.tmp / "旧备份.db"
    store_env.cli.ok("backup", str(backup))
    conn = sqlite3.connect(backup)
    conn.execute("DROP TABLE signals")
    conn.execute("DROP TABLE signal_facts")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    before = backup.read_bytes()
    store_env.cli.ok("restore", str(backup), "--force")
    assert backup.read_bytes() == before
    path, _first = _week(store_env)
    assert import_json(store_env.cli, path, "dorm")["signals_new"] == 1
    from mhtool.store import schema

    assert json.loads(store_env.cli.ok("info", "--json").stdout)["schema_version"] == schema.LATEST
    assert json.loads(store_env.cli.ok("audit", "verify", "--deep", "--json").stdout)["ok"]
