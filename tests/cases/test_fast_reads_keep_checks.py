"""The task list reads only the students it shows, and still checks every open task it filters.

`cases tasks --overdue` and `cases list` decide from plaintext dates which rows to
show; a date edited with SQL to hide an overdue task must fail the command, not
quietly drop the task.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
from casekit import STUDENTS, today

from mhtool.cases.usecases import service


@pytest.fixture
def overdue(school):
    """2024010001 watched with an overdue follow-up; 2024020002 with an interview task due three weeks ago; 2024010003 with none."""
    counselor = school.add_staff("counselor1", "counselor")
    counselor.ok("cases", "interview", "2024010001", "--findings", "情绪低落（合成数据）", "--confirm", "yellow", "--date", (today() - timedelta(days=60)).isoformat())
    with school.open() as store, store.write("test.screening") as txn:
        student = store.students.find("2024020002")
        service.schedule_screening_interview(txn, student["id"], "yellow", today() - timedelta(days=30))
    return school, counselor


def _due(school, no: str) -> list[str]:
    with school.open() as store:
        sid = store.students.find(no)["id"]
        return [t["id"] for t in store.tasks.open(sid)]


def _edit_due(path, task_id: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        assert conn.execute("UPDATE tasks SET due_on = '2099-12-31' WHERE id = ?", (task_id,)).rowcount == 1
    conn.close()


def test_the_overdue_list_reads_only_its_students_and_shows_them_all(overdue):
    _school, counselor = overdue
    rows = json.loads(counselor.ok("cases", "tasks", "--overdue", "--json").stdout)
    assert sorted(r["student_no"] for r in rows) == ["2024010001", "2024020002"]
    assert {r["name"] for r in rows} == {STUDENTS["2024010001"][0], STUDENTS["2024020002"][0]}
    assert all(r["overdue"] and r["overdue_days"] > 0 for r in rows)
    mine = json.loads(counselor.ok("cases", "tasks", "--overdue", "--mine", "--json").stdout)
    assert [r["student_no"] for r in mine] == ["2024010001"]


@pytest.mark.parametrize(
    ("student_no", "command"),
    [("2024020002", ("cases", "tasks", "--overdue")), ("2024010001", ("cases", "list", "--overdue"))],
    ids=["the overdue task list", "the watch list"],
)
def test_a_due_date_moved_with_sql_to_hide_an_overdue_task_fails_the_list(overdue, student_no, command):
    school, counselor = overdue
    [hidden] = _due(school, student_no)
    _edit_due(school.path, hidden)
    result = counselor(*command)
    assert result.exit_code == 1 and result.stdout == "" and f"tasks/{hidden}" in result.stderr

