"""No raw pass or transaction reaches disk, and facts past their period are removed.

Exports are written with values found nowhere else (device and merchant names,
an amount of 87.31 at one unique second, a person's name in the file) and
imported by a real `mhtool` process whose TMPDIR is a folder of the test. None of
those values may appear in the store file, its WAL (kept alive by a second
connection, so it is not checkpointed away), a backup made with `mhtool backup`, or
any file under that TMPDIR. The facts themselves are there, sealed: the admin reads
them back. Then `retention apply` removes the days older than signal_fact_days.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from tests.signals.test_signals_cli import CARD_HEADER, DORM_HEADER, dorm_rows, school, today, write_csv

CANARY_DEVICE = "金丝雀闸机QZ7X"
CANARY_MERCHANT = "雀鸣食堂KW93"
CANARY_NAME = "雀名甲VV"
CANARY_AMOUNT = "87.31"
CANARY_SECOND = "13:37:41"


def _run(env, tmpdir: Path, *args: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MHTOOL_")}
    environ.update(
        MHTOOL_STORE=str(env.path), MHTOOL_KEY_FILE=str(env.tmp / "zhang.key"), MHTOOL_USER="zhang", MHTOOL_LANG="en",
        TMPDIR=str(tmpdir), TEMP=str(tmpdir), TMP=str(tmpdir),
    )  # fmt: skip
    return subprocess.run([sys.executable, "-m", "mhtool", *args], env=environ, capture_output=True, text=True, timeout=300, cwd=env.tmp)


def _needles() -> list[bytes]:
    texts = [CANARY_DEVICE, CANARY_MERCHANT, CANARY_NAME, CANARY_AMOUNT, CANARY_SECOND]
    out = []
    for text in texts:
        out += [text.encode("utf-8"), text.encode("utf-16-le")]
        try:
            out.append(text.encode("gb18030"))
        except UnicodeEncodeError:
            pass
    return sorted(set(out))


def _leaks(path: Path) -> list[str]:
    data = path.read_bytes()
    return [repr(n) for n in _needles() if n in data]


def test_no_raw_row_reaches_the_store_its_wal_a_backup_or_a_temporary_file(store_env, tmp_path):
    school(store_env)
    first = today() - timedelta(days=15)
    dorm = dorm_rows(first, 5, {"2023010001": {first + timedelta(days=1), first + timedelta(days=2)}}, device=CANARY_DEVICE)
    dorm.append(["2023010002", CANARY_NAME, CANARY_DEVICE, "出", f"{first + timedelta(days=1)} {CANARY_SECOND}"])
    dorm.sort(key=lambda r: r[4])
    card = [["2023010001", CANARY_NAME, f"{first + timedelta(days=d)} 12:0{d}:00", CANARY_MERCHANT, "-12.40", "消费"] for d in range(5)]
    card.append(["2023010002", CANARY_NAME, f"{first + timedelta(days=2)} {CANARY_SECOND}", CANARY_MERCHANT, f"-{CANARY_AMOUNT}", "消费"])
    files = {
        "dorm": write_csv(tmp_path / "门禁.csv", DORM_HEADER, dorm),
        "card": write_csv(tmp_path / "一卡通_gbk.csv", CARD_HEADER, card, encoding="gb18030"),  # decoded in Python, then DuckDB
    }
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    # A second connection keeps the WAL from being checkpointed and removed when mhtool exits.
    holder = sqlite3.connect(store_env.path)
    holder.execute("SELECT count(*) FROM students").fetchone()
    try:
        for source, path in files.items():
            done = _run(store_env, tmpdir, "signals", "import", str(path), "--source", source, "--json")
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["matched"] >= 2
        wal = Path(f"{store_env.path}-wal")
        assert wal.exists() and wal.stat().st_size > 0
        assert _leaks(wal) == []
        assert _leaks(store_env.path) == []
    finally:
        holder.close()
    backup = tmp_path / "备份.db"
    store_env.cli.ok("backup", str(backup))
    assert _leaks(backup) == []
    assert _leaks(store_env.path) == []
    for found in tmpdir.rglob("*"):
        if found.is_file():
            assert _leaks(found) == [], found
    # The facts are there, sealed: 87.31 became 8731 cents of one meal that day.
    with store_env.open() as store:
        sid = store.students.find("2023010002")["id"]
        card_facts = store.signal_facts.of_source([sid], "card")[sid]
        assert card_facts["days"][(first + timedelta(days=2)).isoformat()] == [1, 8731]
        assert store.signal_facts.of_source([store.students.find("2023010001")["id"]], "dorm")


def test_retention_apply_removes_facts_past_signal_fact_days(store_env, tmp_path):
    couns = school(store_env)
    store_env.cli.ok("settings", "set", "signal_fact_days", "30")
    old_day, recent_day = today() - timedelta(days=50), today() - timedelta(days=5)
    # Two exports: one of an old day (both students), one of a recent day (测甲 only).
    old_rows = [["2023010001", "测甲", f"{old_day} 12:00:00", "一食堂", "-10.00", "消费"], ["2023010002", "测乙", f"{old_day} 12:30:00", "一食堂", "-9.00", "消费"]]
    recent_rows = [["2023010001", "测甲", f"{recent_day} 12:00:00", "一食堂", "-11.00", "消费"]]
    couns.ok("signals", "import", str(write_csv(tmp_path / "一卡通_旧.csv", CARD_HEADER, old_rows)), "--source", "card")
    couns.ok("signals", "import", str(write_csv(tmp_path / "一卡通_新.csv", CARD_HEADER, recent_rows)), "--source", "card")
    with store_env.open() as store:
        ids = {no: store.students.find(no)["id"] for no in ("2023010001", "2023010002")}
        before = {no: store.signal_facts.of_source([sid], "card").get(sid) for no, sid in ids.items()}
        school_before = store.sealed_values.get("signal_school")["card"]["days"]
    assert old_day.isoformat() in before["2023010001"]["days"] and recent_day.isoformat() in before["2023010001"]["days"]
    assert old_day.isoformat() in before["2023010002"]["days"] and old_day.isoformat() in school_before
    planned = store_env.cli.ok("retention", "plan", "--json")
    assert json.loads(planned.stdout) == []
    said = store_env.cli.ok("retention", "plan").stderr
    assert "2 student-days in 2 records would be removed" in said and (today() - timedelta(days=30)).isoformat() in said
    result = json.loads(store_env.cli.ok("retention", "apply", "--yes", "--json").stdout)
    facts = result["signal_facts"]
    cutoff = (today() - timedelta(days=30)).isoformat()
    assert facts["before"] == cutoff and facts["records"] == 2 and facts["records_emptied"] == 1 and facts["days"] == 2
    with store_env.open() as store:
        kept = store.signal_facts.of_source([ids["2023010001"]], "card")[ids["2023010001"]]
        assert all(day >= cutoff for day in kept["days"]) and recent_day.isoformat() in kept["days"]
        assert store.signal_facts.of_source([ids["2023010002"]], "card") == {}
        assert all(day >= cutoff for day in store.sealed_values.get("signal_school")["card"]["days"])
    entry = [e for e in json.loads(store_env.cli.ok("audit", "log", "--limit", "0", "--json").stdout) if e["action"] == "retention.signal-facts"]
    assert len(entry) == 1 and entry[0]["details"]["records_emptied"] == 1
    # Nothing left to remove: a second run changes no fact.
    again = json.loads(store_env.cli.ok("retention", "apply", "--yes", "--json").stdout)
    assert again["signal_facts"] is None
    assert json.loads(store_env.cli.ok("audit", "verify", "--deep", "--json").stdout)["ok"]
