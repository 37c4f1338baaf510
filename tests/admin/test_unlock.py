"""`mhtool unlock` and `mhtool lock` as a counselor uses them: the passphrase once, then commands that ask nothing.

Real processes throughout: the command runs as a subprocess (or at a
pseudo-terminal under pexpect), the agent it starts is a real process on a
real Unix socket, and the audit log is read back from the real store file.
"""

from __future__ import annotations

import os
import sys

import pexpect
import pytest

from mhtool.store import agent
from tests.store.agenttools import PASSPHRASE, add_passphrase_member, agent_env, gone, wait_until  # noqa: F401
from tests.store.storetools import assert_unchanged, snapshot

pytestmark = pytest.mark.skipif(not agent.supported(), reason="the unlock agent needs Unix sockets with SO_PEERCRED")


def test_after_unlock_commands_need_no_credential_until_lock(agent_env):
    assert agent_env.mhtool("cases", "list").returncode == 4  # before: no credential, no terminal

    unlocked = agent_env.unlock("--for", "10m")
    assert unlocked.returncode == 0, unlocked.stderr
    assert f"unlocked {agent_env.store.path} for zhang until" in unlocked.stderr
    assert unlocked.stdout == ""

    listed = agent_env.mhtool("cases", "list")
    assert listed.returncode == 0, listed.stderr
    assert "error" not in listed.stderr and "assphrase" not in listed.stderr

    locked = agent_env.mhtool("lock")
    assert locked.returncode == 0, locked.stderr
    assert f"locked {agent_env.store.path} for zhang" in locked.stderr
    assert not list(agent_env.folder.glob("*.sock"))

    after = agent_env.mhtool("cases", "list")
    assert after.returncode == 4
    assert "no credential" in after.stderr

    again = agent_env.mhtool("lock")
    assert again.returncode == 0
    assert f"nothing is unlocked for zhang on {agent_env.store.path}" in again.stderr

    trail = [(e["staff"], e["action"]) for e in agent_env.audit() if e["action"] in ("agent.unlock", "cases.list", "agent.lock")]
    assert trail == [("zhang", "agent.unlock"), ("zhang", "cases.list"), ("zhang", "agent.lock")]


@pytest.mark.parametrize("value", ["0s", "13h", "30", "abc", "2d", "-5m"])
def test_a_bad_duration_is_a_usage_error_naming_the_flag(store_env, value):
    before = snapshot(store_env.path)
    result = store_env.cli("unlock", "--for", value, env={"MHTOOL_KEY_FILE": None, "MHTOOL_USER": "zhang"})
    assert result.exit_code == 2, result.stderr
    assert "--for" in result.stderr
    assert "Traceback" not in result.stderr
    assert_unchanged(store_env.path, before)


def test_durations_are_read_with_their_units():
    from mhtool.admin.usecases.unlock import duration_seconds

    assert [duration_seconds(v) for v in ("90s", "30m", "2h", "1h30m", "12h", "1s")] == [90, 1800, 7200, 5400, 43200, 1]


def test_a_key_file_user_is_told_there_is_nothing_to_unlock(store_env, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    result = store_env.cli("unlock")
    assert result.exit_code == 0
    assert "nothing to unlock" in result.stderr
    assert agent.running() == []


def test_changing_ones_own_passphrase_needs_the_current_one(agent_env):
    assert agent_env.unlock("--for", "5m").returncode == 0
    new = agent_env.store.tmp / "new.pass"
    new.write_text("a brand new passphrase\n", encoding="utf-8")
    new.chmod(0o600)
    before = snapshot(agent_env.store.path)
    result = agent_env.mhtool("staff", "passwd", env={"MHTOOL_NEW_PASSPHRASE_FILE": str(new)})
    assert result.returncode == 4
    assert "never hands out your key" in result.stderr
    assert_unchanged(agent_env.store.path, before)


def test_any_role_unlocks_and_lock_without_a_user_ends_every_unlock_of_the_store(agent_env):
    add_passphrase_member(agent_env.store, "li", "auditor", agent_env.passphrase_file)
    assert agent_env.unlock("--for", "5m").returncode == 0
    assert agent_env.unlock("--for", "5m", user="li").returncode == 0
    verified = agent_env.mhtool("audit", "verify", user="li")
    assert verified.returncode == 0, verified.stderr

    locked = agent_env.mhtool("lock", user=None)
    assert locked.returncode == 0, locked.stderr
    assert "for zhang" in locked.stderr and "for li" in locked.stderr
    assert agent.running() == []
    assert sorted(e["staff"] for e in agent_env.audit() if e["action"] == "agent.lock") == ["li", "zhang"]


def test_lock_all_ends_an_unlock_whose_store_is_gone_and_says_it_went_unrecorded(agent_env):
    assert agent_env.unlock("--for", "5m").returncode == 0
    [found] = agent.running()
    moved = agent_env.store.path.with_name("moved.db")
    agent_env.store.path.rename(moved)
    result = agent_env.mhtool("lock", "--all", user=None)
    assert result.returncode == 0, result.stderr
    assert "for zhang" in result.stderr
    assert "not in the store's audit log" in result.stderr
    wait_until(lambda: gone(found["pid"]), what="the agent to end")
    assert agent.running() == []


def test_the_passphrase_is_asked_once_at_a_terminal(agent_env):
    variables = {k: v for k, v in os.environ.items() if not k.startswith("MHTOOL_")}
    variables.update(
        MHTOOL_LANG="en", NO_COLOR="1", TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", XDG_RUNTIME_DIR=str(agent_env.runtime),
        MHTOOL_STORE=str(agent_env.store.path), MHTOOL_USER="zhang",
    )  # fmt: skip

    def spawn(*args: str):
        return pexpect.spawn(sys.executable, ["-m", "mhtool", *args], env=variables, encoding="utf-8", dimensions=(40, 120), timeout=60)

    child = spawn("unlock", "--for", "5m")
    child.expect_exact("Passphrase for zhang:")
    child.sendline(PASSPHRASE)
    child.expect_exact("unlocked")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    child = spawn("cases", "list")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "Passphrase" not in child.before
