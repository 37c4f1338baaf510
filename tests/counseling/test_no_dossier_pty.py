"""On a real terminal (a pseudo-terminal), a session for a student with no dossier offers to create it from the roster.

Nothing is mocked: the real `mhtool` runs under pexpect with a counselor's key
file; the test answers the confirmation and types the roster's path, or says
no, then reads the store back through the CLI.
"""

from __future__ import annotations


import pexpect

from tests.console.ptykit import FORMS, spawn_mhtool, terminal_env
from tests.counseling.kit import desk, roster_file  # noqa: F401  (desk is a fixture)

NEW = "2026030021"
ENTER = "\r"


def spawn(desk, *args: str):
    return spawn_mhtool(terminal_env(desk.env.tmp, desk.env.path, desk.env.tmp / "zhang.key", "zhang", "en", **FORMS), *args)


def finish(child) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def test_at_a_terminal_the_dossier_is_created_from_the_roster_when_the_counselor_says_yes(desk):
    roster = roster_file(desk.env.tmp / "学生名册.xlsx", [(NEW, "测试辛", "女", "理学院", "数学", "2026", "数学2601")])
    child = spawn(desk, "counseling", "session", NEW, "--concern", "环境适应", "--risk", "低")
    child.expect_exact("has no dossier. Create it from the school roster?")
    child.send("y")
    child.expect_exact("The school roster (.xlsx or .csv):")
    child.send(str(roster) + ENTER)
    status, out = finish(child)
    assert status == 0, out
    assert "created the dossier" in out and "session 1 of" in out
    shown = desk.counselor.ok("cases", "show", NEW, "--json").stdout
    assert "测试辛" in shown and '"kind": "session"' in shown


def test_at_a_terminal_no_writes_nothing(desk):
    before = desk.dump()
    child = spawn(desk, "counseling", "session", NEW, "--concern", "环境适应", "--risk", "低")
    child.expect_exact("has no dossier. Create it from the school roster?")
    child.send("n")
    status, out = finish(child)
    assert status == 2 and "no dossier for student" in out
    assert desk.dump() == before
