"""Helpers for dossier tests (made-up students only)."""

from __future__ import annotations

import json
from datetime import timedelta

from mhtool.domain import dates

STUDENTS = {
    "2024010001": ("测试甲", "文学院", "汉语言2401"),
    "2024020002": ("测试乙", "理学院", "数学2402"),
    "2024010003": ("测试丙", "文学院", "汉语言2402"),
}


def today():
    return dates.today("Asia/Shanghai")


def day(offset: int) -> str:
    """An ISO date ``offset`` days from today (negative = in the past)."""
    return (today() + timedelta(days=offset)).isoformat()


def add_student(cli, no: str, name: str, college: str, class_name: str, *extra: str):
    return cli.ok(
        "cases", "add", no, "--name", name, "--college", college, "--class", class_name, "--gender", "女",
        "--phone", "13800000000", "--advisor", "辅导员甲", "--guardian", "母亲,家长甲,13900000000", *extra,
    )


def show_json(cli, no: str) -> dict:
    return json.loads(cli.ok("cases", "show", no, "--json").stdout)


def audit(env) -> list[dict]:
    return json.loads(env.cli.ok("audit", "log", "--limit", "0", "--json").stdout)
