"""The counseling tables in the store: a version 4 store upgrades to 5, erasure removes a student's bookings and attendance."""

from __future__ import annotations

import json
import sqlite3

from mhtool.store import schema
from tests.cases.casekit import add_student
from tests.counseling.kit import A, B, as_json, audit, day, desk  # noqa: F401  (desk is a fixture)

V5_TABLES = ("appointments", "counseling_groups", "activities")


def test_a_version_4_store_is_upgraded_when_opened_and_its_backup_still_restores(store_env):
    env = store_env
    counselor = env.add_staff("zhang", "counselor")
    clerk = env.add_staff("li", "clerk")
    add_student(env.cli, A, "测试甲", "法学院", "法学2601")
    backup = env.tmp / "v4.db"
    env.cli.ok("backup", str(backup))
    # Both made as version 4 made them: without the counseling tables.
    for path in (env.path, backup):
        conn = sqlite3.connect(path)
        for table in V5_TABLES:
            conn.execute(f"DROP TABLE {table}")
        conn.execute("PRAGMA user_version = 4")
        conn.commit()
        conn.close()
    # The backup of version 4 passes the restore's checks read-only (the new tables read as empty), and is not changed.
    before = backup.read_bytes()
    env.cli.ok("restore", str(backup), "--force")
    assert backup.read_bytes() == before
    # Opening the store to write migrates it, in a transaction of its own with an audit entry.
    env.cli.ok("audit", "verify", "--deep")
    conn = sqlite3.connect(env.path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST >= 5
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} >= set(V5_TABLES)
    conn.close()
    assert "store.migrate" in [e["action"] for e in json.loads(env.cli.ok("audit", "log", "--limit", "0", "--json").stdout)]
    assert json.loads(env.cli.ok("info", "--json").stdout)["schema_version"] == schema.LATEST
    # The upgraded store works: slots, a booking, a session.
    env.cli.ok("counseling", "slots", "set", "zhang", *[x for d in ("一", "二", "三", "四", "五", "六", "日") for x in ("--slot", f"周{d} 08:00-21:00")])
    clerk.ok("counseling", "book", A, "--at", f"{day(1)} 10:00", "--counselor", "zhang")
    counselor.ok("counseling", "session", A, "--concern", "other", "--risk", "low")
    assert json.loads(env.cli.ok("audit", "verify", "--deep", "--json").stdout)["ok"]


def test_erasure_removes_the_students_bookings_and_group_attendance(desk):
    desk.clerk.ok("counseling", "book", A, "--at", f"{day(1)} 10:00", "--counselor", "zhang")
    desk.clerk.ok("counseling", "group", "add", "小组", "--leader", "zhang")
    desk.clerk.ok("counseling", "group", "members", "小组", "--add", A, "--add", B, "--date", day(-7))
    desk.clerk.ok("counseling", "group", "meeting", "小组", "--date", day(-1))
    desk.counselor.ok("counseling", "session", A, "--concern", "other", "--risk", "low", "--walk-in")
    with desk.open("admin") as store:
        sid = store.students.find(A)["id"]
    desk.admin.ok("erase", A, "--reason", "本人书面申请删除", "--yes")
    conn = sqlite3.connect(desk.env.path)
    assert conn.execute("SELECT count(*) FROM appointments WHERE student_id = ?", (sid,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM entries WHERE student_id = ?", (sid,)).fetchone()[0] == 0
    conn.close()
    view = as_json(desk.clerk.ok("counseling", "group", "show", "小组", "--json"))
    assert [m["student_no"] for m in view["member_list"]] == [B]
    assert [m["present"] for m in view["meeting_list"]] == [1]
    with desk.open("admin") as store:
        (group,) = store.counseling_groups.all()
        assert sid not in json.dumps(group)
    assert json.loads(desk.admin.ok("audit", "verify", "--deep", "--json").stdout)["ok"]
