"""Helpers for the counseling tests: a store with a counselor, clerks, students and every day open for bookings (made-up people)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from mhtool.domain import dates
from tests.cases.casekit import add_student
from tests.conftest import Cli, StoreEnv

LAW, LIT = "法学院", "文学院"
# Student numbers of made-up students: name, college, class.
STUDENTS = {
    "2026010001": ("测试甲", LAW, "法学2601"),
    "2026010002": ("测试乙", LAW, "法学2601"),
    "2026020003": ("测试丙", LIT, "汉语言2601"),
    "2026020004": ("测试丁", LIT, "汉语言2602"),
}
A, B, C, D = STUDENTS
# Clinical words that must never reach a clerk, an advisor or a report.
CANARIES = ("反复梦见溺水的场景", "下周约见家长并评估用药", "决定请精神科会诊", "自述与室友冲突已缓和")
EVERY_DAY = [f"{day} 08:00-12:00" for day in ("周一", "周二", "周三", "周四", "周五", "周六", "周日")] + [
    f"{day} 14:00-21:00" for day in ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
]


def today() -> date:
    return dates.today("Asia/Shanghai")


def day(offset: int) -> str:
    return (today() + timedelta(days=offset)).isoformat()


@dataclass
class Desk:
    env: StoreEnv
    counselor: Cli
    clerk: Cli
    scoped: Cli  # a clerk limited to 文学院

    @property
    def admin(self) -> Cli:
        return self.env.cli

    def dump(self) -> list[str]:
        """Every row of every table, as SQL: equal dumps are an unchanged store."""
        conn = sqlite3.connect(self.env.path)
        try:
            return list(conn.iterdump())
        finally:
            conn.close()

    def open(self, user: str):
        return self.env.open(user, self.env.tmp / f"{user}.key")


@pytest.fixture
def desk(store_env) -> Desk:
    env = store_env
    counselor = env.add_staff("zhang", "counselor")
    env.cli.ok("staff", "edit", "zhang", "--display-name", "张华")
    clerk = env.add_staff("li", "clerk")
    scoped = env.add_staff("zhao", "clerk", LIT)
    for no, (name, college, class_name) in STUDENTS.items():
        add_student(env.cli, no, name, college, class_name)
    env.cli.ok("counseling", "slots", "set", "zhang", *[x for s in EVERY_DAY for x in ("--slot", s)])
    return Desk(env, counselor, clerk, scoped)


def as_json(result) -> dict | list:
    return json.loads(result.stdout)


def audit(env) -> list[dict]:
    return json.loads(env.cli.ok("audit", "log", "--limit", "0", "--json").stdout)


def roster_file(path: Path, rows: list[tuple]) -> Path:
    """A school roster workbook (学号, 姓名, 性别, 学院, 专业, 年级, 班级) as the registrar exports it."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名册"
    ws.append(["学号", "姓名", "性别", "学院", "专业", "年级", "班级"])
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path
