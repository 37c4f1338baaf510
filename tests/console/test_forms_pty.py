"""Forms on a real terminal (a pseudo-terminal): what `cases interview`, `cases crisis` and `referral add` ask when a required value is missing.

Nothing is mocked: the real `mhtool` runs under pexpect with a key-file slot
(no passphrase prompt) and Chinese as the reader's language; the test types
as a counselor would (text, arrow keys, Enter, Ctrl-C) and then reads the
store back through the CLI.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pexpect
import pytest

from mhtool.i18n import _
from tests.cases.casekit import add_student, show_json, today
from tests.console.ptykit import FORMS, spawn_mhtool, terminal_env

STUDENT = "2024010001"
HOSPITAL = "示例市精神卫生中心"
DOWN = "\x1b[B"
ENTER = "\r"
CTRL_C = "\x03"
CTRL_D = "\x04"


def zh(message: str) -> str:
    """``message`` as the Chinese reader sees it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MHTOOL_LANG", "zh")
        return _(message)


@pytest.fixture
def env(store_env):
    add_student(store_env.cli, STUDENT, "测试甲", "文学院", "汉语言2401")
    return store_env


def spawn(env, *args: str):
    return spawn_mhtool(terminal_env(env.tmp, env.path, env.admin_key, "admin", "zh", **FORMS), *args, timeout=20)


def answer(child, question: str, keys: str) -> None:
    child.expect_exact(zh(question))
    child.send(keys)


def finish(child) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def fingerprint(path: Path) -> dict:
    """The bytes of the store and of its WAL companions, if any."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.parent.glob(path.name + "*"))}


def audit_actions(env) -> list[str]:
    return [e["action"] for e in json.loads(env.cli.ok("audit", "log", "--limit", "0", "--json").stdout)]


def test_the_interview_form_asks_for_what_is_missing_and_records_it(env):
    child = spawn(env, "cases", "interview", STUDENT, "--next-step", "一月后回访")
    answer(child, "Findings:", "睡眠差，情绪低落，担心考试" + ENTER)
    answer(child, "Confirmed level:", DOWN + DOWN + ENTER)  # (skip) → 一级(红色) → 二级(橙色)
    answer(child, "Risk assessment:", DOWN + DOWN + ENTER)  # (skip) → 高风险 → 中风险
    answer(child, "Mode:", DOWN + ENTER)  # (skip) → 面谈
    answer(child, "Date:", ENTER)  # today, as offered
    child.expect_exact(zh("To be recorded:"))
    child.expect_exact("一月后回访")  # a value given as a flag is in the summary, and was not asked
    answer(child, "Record this?", ENTER)
    status, rest = finish(child)
    assert status == 0, rest
    assert zh("Next step:") not in rest

    d = show_json(env.cli, STUDENT)
    interview = next(i for i in d["timeline"] if i["kind"] == "interview")
    assert interview["fields"] == {
        "findings": "睡眠差，情绪低落，担心考试", "confirmed_level": "orange", "risk": "中风险", "mode": "面谈", "next_step": "一月后回访",
    }  # fmt: skip
    assert interview["date"] == today().isoformat()
    assert d["student"]["level"] == "orange"


def test_ctrl_c_in_the_middle_leaves_the_store_untouched(env):
    actions = audit_actions(env)  # reading the audit log is itself audited: before the fingerprint
    before = fingerprint(env.path)
    child = spawn(env, "cases", "interview", STUDENT)
    answer(child, "Findings:", "说到一半" + ENTER)
    answer(child, "Confirmed level:", DOWN + CTRL_C)
    status, rest = finish(child)
    assert status == 130
    assert zh("cancelled; nothing was changed") in rest
    assert fingerprint(env.path) == before
    assert show_json(env.cli, STUDENT)["timeline"] == []
    assert "cases.interview" not in audit_actions(env)[len(actions):]


@pytest.mark.parametrize("where", ["Findings:", "Confirmed level:"])
def test_ctrl_d_cancels_a_text_question_and_a_list(env, where):
    before = fingerprint(env.path)
    child = spawn(env, "cases", "interview", STUDENT)
    if where != "Findings:":
        answer(child, "Findings:", "说到一半" + ENTER)
    answer(child, where, CTRL_D)
    status, rest = finish(child)
    assert status == 130
    assert fingerprint(env.path) == before


def test_declining_the_summary_records_nothing(env):
    before = fingerprint(env.path)
    child = spawn(env, "cases", "interview", STUDENT, "--confirm", "red")
    answer(child, "Findings:", "填完又不记了" + ENTER)
    answer(child, "Risk assessment:", ENTER)
    answer(child, "Mode:", ENTER)
    answer(child, "Next step:", ENTER)
    answer(child, "Date:", ENTER)
    child.expect_exact("一级(红色)")  # the level given as a flag, shown as its label
    answer(child, "Record this?", "n")
    status, rest = finish(child)
    assert status == 130
    assert fingerprint(env.path) == before
    assert show_json(env.cli, STUDENT)["timeline"] == []


def test_all_required_values_given_means_no_form(env):
    child = spawn(env, "cases", "interview", STUDENT, "--findings", "情绪平稳")
    status, rest = finish(child)
    assert status == 0, rest
    assert zh("Record this?") not in rest and zh("Confirmed level:") not in rest
    assert [i["fields"] for i in show_json(env.cli, STUDENT)["timeline"]] == [{"findings": "情绪平稳"}]


def test_the_crisis_form(env):
    child = spawn(env, "cases", "crisis", STUDENT)
    answer(child, "What happened:", "宿舍内自伤" + ENTER)
    answer(child, "Type of event:", DOWN + DOWN + ENTER)  # (skip) → 自伤/自杀意念 → 自伤行为
    answer(child, "Risk level:", DOWN + ENTER)  # (skip) → 高风险
    answer(child, "When it happened:", ENTER)  # now
    answer(child, "Where:", "3号楼" + ENTER)
    answer(child, "Actions taken:", ENTER)
    answer(child, "Also set the watch level:", DOWN + ENTER)  # 一级(红色)
    answer(child, "Record this?", ENTER)
    status, rest = finish(child)
    assert status == 0, rest

    d = show_json(env.cli, STUDENT)
    crisis = next(i for i in d["timeline"] if i["kind"] == "crisis")
    assert crisis["fields"]["what"] == "宿舍内自伤" and crisis["fields"]["event_type"] == "self_harm" and crisis["fields"]["risk"] == "high"
    assert crisis["fields"]["where"] == "3号楼" and crisis["fields"]["happened_at"].startswith(today().isoformat())
    assert d["student"]["level"] == "red"


def test_the_referral_form_offers_the_directory(env):
    env.cli.ok("referral", "hospitals", "add", HOSPITAL, "--level", "三甲")
    child = spawn(env, "referral", "add", STUDENT)
    child.expect_exact(zh("Hospital:"))
    child.expect_exact(HOSPITAL)
    child.send(ENTER)
    answer(child, "Reason for the referral:", "持续失眠伴消极想法" + ENTER)
    answer(child, "Urgency:", DOWN + ENTER)  # 常规 (preselected) → 加急
    answer(child, "Date:", ENTER)
    answer(child, "Record this?", ENTER)
    status, rest = finish(child)
    assert status == 0, rest

    rows = json.loads(env.cli.ok("referral", "list", "--json").stdout)
    assert [(r["student_no"], r["hospital"], r["urgency"]) for r in rows] == [(STUDENT, HOSPITAL, "urgent")]
