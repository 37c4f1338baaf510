"""The sealed open lists keep each open row's student and day, checked against SQL without reading a row.

`cases list` takes the watched students and their next due dates from the rows SQL finds
open. Those columns are compared with the sealed open lists (read from an index), so a
watch episode or a task moved to another student, or a due date moved, fails the list
by name; a store whose lists predate the columns is checked as before and gains them
with its next write.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
from casekit import today

from mhtool.store import schema


@pytest.fixture
def watched(school):
    """2024010001 and 2024020002 watched with open follow-up tasks; 2024010003 not watched."""
    counselor = school.add_staff("counselor1", "counselor")
    for no in ("2024010001", "2024020002"):
        counselor.ok("cases", "interview", no, "--findings", "情绪低落（合成数据）", "--confirm", "yellow", "--date", (today() - timedelta(days=20)).isoformat())
    return school, counselor


def _ids(school, no: str) -> tuple[str, str, str]:
    """(student id, open watch id, first open task id) of a watched student."""
    with school.open() as store:
        sid = store.students.find(no)["id"]
        return sid, store.watches.open_for(sid)[0]["id"], store.tasks.open(sid)[0]["id"]


def _sql(path, statement: str, params=()) -> int:
    conn = sqlite3.connect(path)
    with conn:
        count = conn.execute(statement, params).rowcount
    conn.close()
    return count


def _open_value(school, table: str) -> dict:
    with school.open() as store:
        return store.sealed_values.get(f"open:{table}")


def test_the_open_lists_keep_each_rows_student_and_day(watched):
    school, counselor = watched
    sid, watch, task = _ids(school, "2024010001")
    with school.open() as store:
        due = store.tasks.get(task)["due_on"]
        opened_on = store.watches.get(watch)["opened_on"]
    assert _open_value(school, "tasks")["rows"][task] == [sid, due]
    assert _open_value(school, "watches")["rows"][watch] == [sid, opened_on]
    rows = json.loads(counselor.ok("cases", "list", "--json").stdout)
    assert {r["student_no"]: r["next_due"] for r in rows}["2024010001"] == due


def test_a_watch_episode_moved_to_another_student_fails_the_list(watched):
    school, counselor = watched
    _sid, watch, _task = _ids(school, "2024010001")
    with school.open() as store:
        other = store.students.find("2024010003")["id"]
    assert _sql(school.path, "UPDATE watches SET student_id = ? WHERE id = ?", (other, watch)) == 1
    result = counselor("cases", "list")
    assert result.exit_code == 1 and result.stdout == "" and f"watches/{watch}" in result.stderr


def test_a_task_moved_to_another_student_fails_the_list(watched):
    school, counselor = watched
    _sid, _watch, task = _ids(school, "2024010001")
    other, _w, _t = _ids(school, "2024020002")
    assert _sql(school.path, "UPDATE tasks SET student_id = ? WHERE id = ?", (other, task)) == 1
    result = counselor("cases", "list")
    assert result.exit_code == 1 and result.stdout == "" and f"tasks/{task}" in result.stderr


def test_the_open_rows_are_read_from_an_index_not_the_table(watched):
    school, _counselor = watched
    conn = sqlite3.connect(school.path)
    try:
        for table, flag in schema.OPEN_FLAGS.items():
            columns = ", ".join(schema.OPEN_COLUMNS[table])
            plan = " ".join(r[-1] for r in conn.execute(f"EXPLAIN QUERY PLAN SELECT id, {columns} FROM {table} WHERE {flag} IS NULL"))
            assert "COVERING INDEX" in plan, (table, plan)
    finally:
        conn.close()


def test_lists_written_before_they_kept_columns_are_checked_by_id_and_gain_them_on_the_next_write(watched):
    school, counselor = watched
    _sid, _watch, task = _ids(school, "2024010001")
    # The open lists as the previous version wrote them: ids only.
    with school.open() as store, store.write("test.old-lists") as txn:
        for table in schema.OPEN_FLAGS:
            rows = (store.sealed_values.get(f"open:{table}") or {}).get("rows") or {}
            store.sealed_values.put(txn, f"open:{table}", {"ids": sorted(rows)})
    assert "rows" not in _open_value(school, "tasks")
    before = json.loads(counselor.ok("cases", "list", "--json").stdout)
    assert sorted(r["student_no"] for r in before) == ["2024010001", "2024020002"]
    due_soon = json.loads(counselor.ok("cases", "tasks", "--due-within", "400", "--json").stdout)
    assert {r["student_no"] for r in due_soon} == {"2024010001", "2024020002"}
    # Checked by id as before: a task closed with SQL is named.
    assert _sql(school.path, "UPDATE tasks SET done_on = '2026-01-01' WHERE id = ?", (task,)) == 1
    result = counselor("cases", "list")
    assert result.exit_code == 1 and f"tasks/{task}" in result.stderr
    assert _sql(school.path, "UPDATE tasks SET done_on = NULL WHERE id = ?", (task,)) == 1
    # The next write that touches the open tasks keeps their columns, each row's seal checked.
    counselor.ok("cases", "level", "2024020002", "orange", "--reason", "复评（合成数据）")
    rows = _open_value(school, "tasks")["rows"]
    assert set(rows) == {t for no in ("2024010001", "2024020002") for t in _task_ids(school, no)}
    again = json.loads(counselor.ok("cases", "tasks", "--due-within", "400", "--json").stdout)
    assert [r for r in again if r["student_no"] == "2024010001"] == [r for r in due_soon if r["student_no"] == "2024010001"]
    after = json.loads(counselor.ok("cases", "list", "--json").stdout)
    assert {r["student_no"]: r["next_due"] for r in after}["2024010001"] == {r["student_no"]: r["next_due"] for r in before}["2024010001"]


def _task_ids(school, no: str) -> list[str]:
    with school.open() as store:
        return [t["id"] for t in store.tasks.open(store.students.find(no)["id"])]


def test_a_store_of_the_previous_version_gains_the_indexes_when_opened_to_write(watched):
    school, counselor = watched
    conn = sqlite3.connect(school.path)
    with conn:
        for name in ("tasks_open_rows", "watches_open_rows", "signals_open_rows"):
            conn.execute(f"DROP INDEX {name}")
        conn.execute("PRAGMA user_version = 5")
    conn.close()
    counselor.ok("cases", "list")
    conn = sqlite3.connect(school.path)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"tasks_open_rows", "watches_open_rows", "signals_open_rows"} <= names
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
    finally:
        conn.close()
