"""Concurrent commands on the same dossiers lose nothing: every read-modify-write happens under the write lock."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.cases.casekit import add_student, show_json

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NUMBERS = [f"20240300{i:02d}" for i in range(10)]
# Each worker owns one header field, so the last value it wrote is the one that must be stored.
FIELDS = ("phone", "dorm", "major", "class_name")

WORKER = textwrap.dedent(
    """
    import json, random, sys
    from mhtool.app import Center, credential_from_key_file

    store, key, worker, field, numbers, writes = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], json.loads(sys.argv[5]), int(sys.argv[6])
    rng = random.Random(worker)
    last = {}
    notes = []
    with Center.open(store, credential_from_key_file(key), "admin") as center:
        for i in range(writes):
            no = rng.choice(numbers)
            if i % 2:
                text = f"w{worker}-{i}"
                center.cases.note(no, text)
                notes.append(text)
            else:
                value = f"{field}-{worker}-{i}"
                center.cases.edit(no, **{field: value})
                last[no] = value
    print(json.dumps({"last": last, "notes": notes}))
    """
)


def _hold_lock_at_random(path: Path, stop: threading.Event) -> None:
    import random

    rng = random.Random(99)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    while not stop.is_set():
        conn.execute("BEGIN IMMEDIATE")
        time.sleep(rng.uniform(0.02, 0.2))
        conn.execute("ROLLBACK")
        time.sleep(rng.uniform(0.0, 0.2))
    conn.close()


def _school(env) -> None:
    for i, no in enumerate(NUMBERS):
        add_student(env.cli, no, f"并发{i}", "文学院", "汉语言2401")


def test_two_edits_racing_behind_a_held_lock_both_survive(store_env):
    add_student(store_env.cli, NUMBERS[0], "并发甲", "文学院", "汉语言2401")
    env = {**os.environ, "MHTOOL_STORE": str(store_env.path), "MHTOOL_KEY_FILE": str(store_env.admin_key), "MHTOOL_USER": "admin"}
    holder = sqlite3.connect(store_env.path, isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")
    cmd = [sys.executable, "-m", "mhtool"]
    phone = subprocess.Popen([*cmd, "cases", "edit", NUMBERS[0], "--phone", "13911112222"], env=env, cwd=ROOT, stderr=subprocess.PIPE)
    dorm = subprocess.Popen([*cmd, "cases", "edit", NUMBERS[0], "--dorm", "5号楼302"], env=env, cwd=ROOT, stderr=subprocess.PIPE)
    time.sleep(2.0)  # both have read the dossier and wait for the write lock
    holder.execute("ROLLBACK")
    holder.close()
    assert phone.wait(60) == 0, phone.stderr.read()
    assert dorm.wait(60) == 0, dorm.stderr.read()
    header = show_json(store_env.cli, NUMBERS[0])["student"]
    assert header["phone"] == "13911112222"
    assert header["dorm"] == "5号楼302"


def test_four_processes_a_hundred_mixed_writes_each_lose_nothing(store_env):
    _school(store_env)
    stop = threading.Event()
    locker = threading.Thread(target=_hold_lock_at_random, args=(store_env.path, stop))
    locker.start()
    try:
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, str(store_env.path), str(store_env.admin_key), str(k), field, json.dumps(NUMBERS), "100"],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for k, field in enumerate(FIELDS)
        ]
        results = []
        for w in workers:
            out, err = w.communicate(timeout=600)
            assert w.returncode == 0, err
            results.append(json.loads(out))
    finally:
        stop.set()
        locker.join()
    notes: set[str] = set()
    for no in NUMBERS:
        d = show_json(store_env.cli, no)
        for field, result in zip(FIELDS, results):
            if no in result["last"]:
                assert d["student"][field] == result["last"][no], (no, field)
        notes |= {e["fields"]["text"] for e in d["timeline"] if e["kind"] == "note"}
    assert notes == {n for r in results for n in r["notes"]}
    assert "ok" in store_env.cli.ok("audit", "verify").stdout


def test_a_referral_changed_while_an_update_was_prepared_is_not_overwritten(store_env):
    """The update re-checks the referral under the write lock and refuses, saving nothing, rather than undo the other change."""
    from mhtool.app import Center, credential_from_key_file
    from mhtool.errors import ChangedMeanwhile
    from mhtool.referral.domain import machine

    add_student(store_env.cli, NUMBERS[0], "并发甲", "文学院", "汉语言2401")
    store_env.cli.ok("referral", "hospitals", "add", "示例市精神卫生中心")
    ref = json.loads(store_env.cli.ok("referral", "add", NUMBERS[0], "--hospital", "示例市精神卫生中心", "--reason", "评估", "--json").stdout)["id"]
    real_update = machine.update

    def update_then_someone_else_writes(record, *args, **kwargs):
        result = real_update(record, *args, **kwargs)
        machine.update = real_update  # the other counselor's command runs unhindered
        store_env.cli.ok("referral", "update", ref, "--note", "另一位咨询师的补充")
        return result

    machine.update = update_then_someone_else_writes
    try:
        with Center.open(store_env.path, credential_from_key_file(store_env.admin_key), "admin") as center:
            with pytest.raises(ChangedMeanwhile):
                center.referrals.update(ref, status="attended", when="today")
    finally:
        machine.update = real_update
    shown = json.loads(store_env.cli.ok("referral", "show", ref, "--json").stdout)
    assert shown["status"] == "referred"
    assert "另一位咨询师的补充" in json.dumps(shown, ensure_ascii=False)


def test_a_roster_import_keeps_an_edit_committed_while_it_was_checking_rows(store_env, tmp_path):
    """The dossiers read to check the rows are read again under the write lock when anyone committed meanwhile."""
    from mhtool.app import Center, credential_from_key_file
    from mhtool.cases.usecases import roster
    from tests.survey.export_factory import make_students, write_roster_xlsx

    fields = ("student_no", "name", "gender", "college", "major", "grade", "class_name", "dorm", "phone")
    students = make_students(3, seed=5)
    write_roster_xlsx(tmp_path / "a.xlsx", students, fields=fields)
    store_env.cli.ok("cases", "import-roster", tmp_path / "a.xlsx")
    moved = [dict(students[0], dorm="新宿舍9-999", phone=None)] + students[1:]
    write_roster_xlsx(tmp_path / "b.xlsx", moved, fields=fields)
    real_check = roster.stored_student_problems
    done = []

    def check_then_someone_edits(*args, **kwargs):
        if not done:
            done.append(True)
            store_env.cli.ok("cases", "edit", students[0]["student_no"], "--counselor", "admin", "--advisor", "新辅导员")
        return real_check(*args, **kwargs)

    roster.stored_student_problems = check_then_someone_edits
    try:
        with Center.open(store_env.path, credential_from_key_file(store_env.admin_key), "admin") as center:
            center.cases.import_roster(tmp_path / "b.xlsx")
    finally:
        roster.stored_student_problems = real_check
    header = show_json(store_env.cli, students[0]["student_no"])["student"]
    assert header["dorm"] == "新宿舍9-999"
    assert header["advisor"] == "新辅导员" and header["counselor"] == "admin"
