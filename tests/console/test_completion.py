"""Shell completion of student numbers and hospitals, run as the shell runs it: the real program with the completion variables set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cases.casekit import add_student

WATCHED, UNWATCHED = "2024010001", "2024010002"


@pytest.fixture
def center(store_env):
    add_student(store_env.cli, WATCHED, "测试甲", "文学院", "汉语言2401")
    add_student(store_env.cli, UNWATCHED, "测试乙", "文学院", "汉语言2401")
    store_env.cli.ok("cases", "level", WATCHED, "orange", "--reason", "约谈中表达消极想法")
    store_env.cli.ok("referral", "hospitals", "add", "示例市精神卫生中心")
    store_env.cli.ok("referral", "hospitals", "add", "示例大学附属医院")
    return store_env


def complete(center, words: str, *, key_file=True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MHTOOL_")}
    env.update(MHTOOL_STORE=str(center.path), MHTOOL_USER="admin", _MHTOOL_COMPLETE="complete_bash", COMP_WORDS=words)
    env["COMP_CWORD"] = str(len(words.split()) - (0 if words.endswith(" ") else 1))
    if key_file:
        env["MHTOOL_KEY_FILE"] = str(center.admin_key)
    # The shell calls the installed program; its name gives the completion variable (_MHTOOL_COMPLETE).
    return subprocess.run([str(Path(sys.executable).parent / "mhtool")], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def _reads(center) -> list[str]:
    # The copy of the watch list a first list writes is an entry of its own (cache.watch-list), not a read.
    return [e["action"] for e in json.loads(center.cli.ok("audit", "log", "--json").stdout) if e["action"] != "cache.watch-list"]


def test_student_numbers_of_watched_students_only(center):
    before = _reads(center)
    done = complete(center, "mhtool cases show 20240")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.split() == [WATCHED]
    # Listing the watched students is a read like `cases list`, and is audited as one
    # (after the entry the first reading of the log added for itself).
    assert _reads(center) == before + ["audit.log", "cases.list"]


def test_a_prefix_that_matches_no_one_offers_nothing(center):
    assert complete(center, "mhtool cases show 2099").stdout.split() == []


def test_hospital_names_from_the_directory(center):
    done = complete(center, "mhtool referral add 2024010001 --hospital 示例市")
    assert done.returncode == 0
    assert done.stdout.split() == ["示例市精神卫生中心"]


def test_without_a_credential_that_needs_no_prompt_nothing_is_offered_and_nothing_asked(center):
    before = len(json.loads(center.cli.ok("audit", "log", "--json").stdout))
    done = complete(center, "mhtool cases show 20240", key_file=False)
    assert done.returncode == 0 and done.stdout.strip() == "" and done.stderr == ""
    assert len(json.loads(center.cli.ok("audit", "log", "--json").stdout)) == before + 1


def test_a_store_that_does_not_open_offers_nothing_and_prints_nothing(center, tmp_path):
    from mhtool.store import crypto

    stranger = tmp_path / "stranger.key"
    crypto.write_key_file(stranger)
    env_key = center.admin_key
    center.admin_key = stranger
    try:
        done = complete(center, "mhtool cases show 20240")
    finally:
        center.admin_key = env_key
    assert done.returncode == 0 and done.stdout.strip() == "" and done.stderr == ""
