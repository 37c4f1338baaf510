"""The unlock agent's protections: who may reach it, for which store, how long, and what it leaves behind.

Real agents (started by the real `mhtool unlock` in a process of its own), real
Unix sockets and real store files; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from mhtool.store import agent
from mhtool.store.core import Store
from tests.store.agenttools import PASSPHRASE, PYTHON, add_passphrase_member, agent_env, gone, wait_until  # noqa: F401
from tests.store.storetools import assert_unchanged, snapshot

pytestmark = pytest.mark.skipif(not agent.supported(), reason="the unlock agent needs Unix sockets with SO_PEERCRED")


def _serving(env) -> list[dict]:
    return [a for a in agent.running() if agent.serves(a, env.store.path, "zhang")]


def test_socket_is_0600_and_its_folder_0700_whatever_the_umask(agent_env):
    # A folder left world-readable by someone earlier, and a umask that would make the socket world-writable.
    agent_env.folder.mkdir(mode=0o755)
    agent_env.folder.chmod(0o755)
    result = agent_env.unlock("--for", "1m", preexec_fn=lambda: os.umask(0))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(os.stat(agent_env.folder).st_mode) == 0o700
    sockets = list(agent_env.folder.glob("*.sock"))
    assert len(sockets) == 1
    info = os.stat(sockets[0])
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_uid == os.getuid()


def test_a_folder_owned_by_someone_else_or_a_link_is_refused(agent_env, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    agent_env.folder.symlink_to(elsewhere)
    result = agent_env.unlock("--for", "1m")
    assert result.returncode == 1
    assert "is not a private folder of yours" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(elsewhere.iterdir())


def test_the_peer_check_refuses_another_uid(tmp_path):
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        assert agent.peer_uid(left) == os.getuid()
        assert agent.peer_allowed(left, os.getuid())
        assert not agent.peer_allowed(left, os.getuid() + 1)


@pytest.mark.parametrize("serves_uid, answered", [("own", True), ("other", False)])
def test_the_agent_answers_only_a_peer_of_the_uid_it_serves(serves_uid, answered):
    """The request path itself checks the peer: an agent told to serve another uid gives this process nothing."""
    private = X25519PrivateKey.generate()
    key = bytearray(private.private_bytes_raw())
    peer = X25519PrivateKey.generate().public_key()
    info = {
        "store": "/nowhere/store.db", "store_id": "s1", "user": "zhang", "public_key": private.public_key().public_bytes_raw().hex(),
        "until": 4102444800.0, "pid": os.getpid(), "uid": os.getuid() if serves_uid == "own" else os.getuid() + 1,
    }  # fmt: skip
    server, client = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with server, client:
        client.sendall(json.dumps({"op": "exchange", "store_id": "s1", "peer": peer.public_bytes_raw().hex()}).encode() + b"\n")
        agent._answer(server, key, info, on_stop=lambda: None)
        answer = json.loads(client.recv(4096))
    if answered:
        assert bytes.fromhex(answer["shared"]) == private.exchange(peer)
    else:
        assert "shared" not in answer and "own user only" in answer["error"]


def test_an_agent_answers_for_its_own_store_only(agent_env, tmp_path):
    """Store B, with a member of the same name and passphrase, is never opened by the agent of store A."""
    from tests.conftest import Cli

    other = tmp_path / "b" / "store.db"
    other.parent.mkdir()
    other_key = tmp_path / "b" / "admin.key"
    Cli(env={"MHTOOL_STORE": str(other)}).ok("init", "--admin", "admin", "--key-file", str(other_key))
    other_cli = Cli(env={"MHTOOL_STORE": str(other), "MHTOOL_KEY_FILE": str(other_key), "MHTOOL_USER": "admin"})
    other_cli.ok("staff", "add", "zhang", "--role", "counselor", env={"MHTOOL_NEW_PASSPHRASE_FILE": str(agent_env.passphrase_file)})

    assert agent_env.unlock("--for", "2m").returncode == 0
    assert agent_env.mhtool("cases", "list").returncode == 0
    before = snapshot(other)
    result = agent_env.mhtool("cases", "list", store=other)
    assert result.returncode == 4, result.stderr
    assert "no credential" in result.stderr
    assert_unchanged(other, before)

    # Asked directly with B's store id, A's agent refuses the exchange.
    [found] = _serving(agent_env)
    b_id = agent._store_id(other)
    assert b_id != found["store_id"]
    peer = X25519PrivateKey.generate().public_key()
    answer = agent._ask(found["socket"], {"op": "exchange", "store_id": b_id, "peer": peer.public_bytes_raw().hex()})
    assert "shared" not in answer and "another store" in answer["error"]

    # B copied over A's path: A's agent is not found for the file now there.
    shutil.copyfile(other, agent_env.store.path)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{agent_env.store.path}{suffix}"):
            os.unlink(f"{agent_env.store.path}{suffix}")
    assert agent.find(agent_env.store.path, "zhang") is None
    assert agent_env.mhtool("cases", "list").returncode == 4


def test_a_wrong_passphrase_starts_no_agent_and_changes_nothing(agent_env):
    wrong = agent_env.store.tmp / "wrong.pass"
    wrong.write_text("not the passphrase at all\n", encoding="utf-8")
    wrong.chmod(0o600)
    before = snapshot(agent_env.store.path)
    result = agent_env.unlock("--for", "1m", passphrase_file=wrong)
    assert result.returncode == 4
    assert "does not open staff member 'zhang'" in result.stderr
    assert "Traceback" not in result.stderr
    assert agent.running() == []
    assert not agent_env.folder.exists() or not list(agent_env.folder.glob("*.sock"))
    assert_unchanged(agent_env.store.path, before)


def test_the_agent_ends_on_time_and_records_it(agent_env):
    result = agent_env.unlock("--for", "4s")
    assert result.returncode == 0, result.stderr
    unlocked = agent.credential(agent_env.store.path, "zhang")
    assert unlocked is not None
    with Store.open(agent_env.store.path, unlocked, "zhang") as opened:
        assert opened.staff.name == "zhang"
    wait_until(lambda: not list(agent_env.folder.glob("*.sock")), timeout=60, what="the agent to end on time")
    wait_until(lambda: "agent.expire" in agent_env.actions(), timeout=60, interval=0.5, what="the end to be recorded")
    result = agent_env.mhtool("cases", "list")
    assert result.returncode == 4 and "no credential" in result.stderr
    [ended] = [e for e in agent_env.audit() if e["action"] == "agent.expire"]
    assert ended["staff"] == "zhang" and ended["details"]["reason"] == "timeout"


def test_the_agent_ends_with_the_session_it_was_started_in(agent_env):
    # A shell that leads a session of its own runs `mhtool unlock`, then ends: so does the agent, long before --for.
    variables = {k: v for k, v in os.environ.items() if not k.startswith("MHTOOL_")}
    variables.update(
        MHTOOL_LANG="en", XDG_RUNTIME_DIR=str(agent_env.runtime), MHTOOL_STORE=str(agent_env.store.path), MHTOOL_USER="zhang",
        MHTOOL_PASSPHRASE_FILE=str(agent_env.passphrase_file),
    )  # fmt: skip
    shell = subprocess.run(
        ["sh", "-c", f'"{PYTHON}" -m mhtool unlock --for 1h; echo started'], env=variables, start_new_session=True, capture_output=True, text=True, timeout=120
    )
    assert shell.returncode == 0 and "started" in shell.stdout, shell.stderr
    wait_until(lambda: not list(agent_env.folder.glob("*.sock")), timeout=60, what="the agent to end with its session")
    wait_until(lambda: "agent.expire" in agent_env.actions(), timeout=60, interval=0.5, what="the end to be recorded")
    [ended] = [e for e in agent_env.audit() if e["action"] == "agent.expire"]
    assert ended["details"]["reason"] == "session ended"


def test_unlocking_again_replaces_the_agent(agent_env):
    assert agent_env.unlock("--for", "1m").returncode == 0
    [first] = _serving(agent_env)
    again = agent_env.unlock("--for", "2h")
    assert again.returncode == 0, again.stderr
    assert "is replaced" in again.stderr
    [second] = _serving(agent_env)
    assert second["pid"] != first["pid"] and second["until"] > first["until"] + 3000
    wait_until(lambda: gone(first["pid"]), timeout=30, what="the replaced agent to end")
    unlocks = [e for e in agent_env.audit() if e["action"] == "agent.unlock"]
    assert len(unlocks) == 2 and "replaced" in unlocks[1]["details"]


def test_the_agent_process_closes_its_memory_to_the_users_other_processes():
    """No core dump, and (Linux) not dumpable: /proc/PID/mem and ptrace are closed to processes of the same user."""
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_DUMPABLE is Linux")
    code = (
        "import ctypes, resource\n"
        "from mhtool.store import agent\n"
        "agent._protect(bytearray(32))\n"
        "print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0), resource.getrlimit(resource.RLIMIT_CORE)[0])\n"
    )
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "0"]


def test_a_stale_socket_is_cleared_and_a_new_agent_starts(agent_env):
    """An agent killed outright leaves its socket: commands fall back as if none ran, and `mhtool unlock` starts afresh."""
    import signal

    assert agent_env.unlock("--for", "1m").returncode == 0
    [found] = _serving(agent_env)
    os.kill(found["pid"], signal.SIGKILL)
    wait_until(lambda: gone(found["pid"]), what="the agent to die")
    assert list(agent_env.folder.glob("*.sock"))  # left behind
    assert agent_env.mhtool("cases", "list").returncode == 4
    assert agent_env.unlock("--for", "1m").returncode == 0
    assert agent_env.mhtool("cases", "list").returncode == 0
