"""Fixtures for referral tests: a store with two made-up students and one made-up hospital."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from mhtool.domain import dates

HOSPITAL = "示例市精神卫生中心"
STUDENT = "2024010001"
OTHER = "2024020002"
COLLEGE = "计算机学院"
OTHER_COLLEGE = "文学院"

ROSTER = [
    {
        "student_no": STUDENT,
        "name": "张示例",
        "gender": "女",
        "college": COLLEGE,
        "major": "软件工程",
        "class_name": "软件2401",
        "advisor": "赵老师",
        "phone": "13800000001",
        "guardians": [{"name": "张父", "relation": "父亲", "phone": "13900000001"}],
    },
    {"student_no": OTHER, "name": "李示例", "gender": "男", "college": OTHER_COLLEGE, "class_name": "汉语言2402"},
]


def store_today() -> date:
    return dates.today("Asia/Shanghai")


def days_ago(n: int) -> str:
    return (store_today() - timedelta(days=n)).isoformat()


def add_students(env, rows=ROSTER) -> None:
    from mhtool.cases.usecases.service import upsert_students

    with env.open() as store, store.write("test.roster") as txn:
        upsert_students(txn, [dict(r) for r in rows], source="test")


def add_guardian_contact(env, student_no: str, consent: str, on: date) -> None:
    """A guardian contact in the dossier, through the dossier service (as `cases guardian` records it)."""
    from mhtool.cases.usecases.service import add_entry

    with env.open() as store:
        student = store.students.find(student_no)
        with store.write("test.guardian") as txn:
            add_entry(txn, student["id"], "guardian_contact", {"guardian": "张父", "content": "电话沟通转介事宜", "consent": consent}, on)


def as_json(result):
    return json.loads(result.stdout)


@pytest.fixture
def ref_env(store_env):
    """A store with two students and the hospital 示例市精神卫生中心; `ref_env.cli` runs as admin."""
    add_students(store_env)
    store_env.cli.ok("referral", "hospitals", "add", HOSPITAL, "--department", "心理门诊", "--level", "三甲", "--phone", "010-00000000")
    return store_env


@pytest.fixture
def referral(ref_env):
    """A routine referral of STUDENT made 3 days ago; returns its short id."""
    result = ref_env.cli.ok("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "持续失眠伴消极想法", "--date", days_ago(3))
    return result.stdout.strip()
