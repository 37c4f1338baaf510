"""A store with a passphrase member and a private runtime folder, for the unlock agent's tests.

Everything is real: `mhtool` runs as a subprocess, `mhtool unlock` starts a
real agent process listening on a real Unix socket, and the store is a real
file. Every agent a test started is ended when the test ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from mhtool.store import agent
from tests.conftest import StoreEnv

PYTHON = sys.executable
PASSPHRASE = "zhang 的口令 2026 autumn"


@dataclass
class AgentEnv:
    store: StoreEnv
    runtime: Path
    passphrase_file: Path

    @property
    def folder(self) -> Path:
        return self.runtime / "mhtool"

    def mhtool(self, *args: str, user: str | None = "zhang", store: Path | None = None, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
        """The real command in a process of its own, with no credential in its environment unless ``env`` gives one."""
        variables = {k: v for k, v in os.environ.items() if not k.startswith("MHTOOL_")}
        variables.update(MHTOOL_LANG="en", NO_COLOR="1", XDG_RUNTIME_DIR=str(self.runtime), MHTOOL_STORE=str(store or self.store.path))
        if user:
            variables["MHTOOL_USER"] = user
        variables.update(env or {})
        return subprocess.run([PYTHON, "-m", "mhtool", *args], env=variables, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, **kw)

    def unlock(self, *args: str, user: str = "zhang", passphrase_file: Path | None = None, **kw) -> subprocess.CompletedProcess:
        return self.mhtool("unlock", *args, user=user, env={"MHTOOL_PASSPHRASE_FILE": str(passphrase_file or self.passphrase_file)}, **kw)

    def audit(self, store: Path | None = None) -> list[dict]:
        """The audit entries, read in-process with the admin's key file."""
        from mhtool.store import admin as store_admin
        from mhtool.store.core import Store
        from tests.store.storetools import key_credential

        with Store.open(store or self.store.path, key_credential(self.store.admin_key), "admin") as opened:
            return store_admin.audit_entries(opened)

    def actions(self, store: Path | None = None) -> list[str]:
        return [e["action"] for e in self.audit(store)]


def add_passphrase_member(store_env: StoreEnv, name: str, role: str, passphrase_file: Path) -> None:
    store_env.cli.ok("staff", "add", name, "--role", role, env={"MHTOOL_NEW_PASSPHRASE_FILE": str(passphrase_file)})


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def gone(pid: int) -> bool:
    """Whether a process has ended (a zombie no one has reaped yet counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


@pytest.fixture
def agent_env(store_env, monkeypatch):
    """The conftest store plus counselor `zhang` with a passphrase slot, and a runtime folder short enough for a socket path."""
    runtime = Path(tempfile.mkdtemp(prefix="mh", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    passphrase_file = store_env.tmp / "zhang.pass"
    passphrase_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
    passphrase_file.chmod(0o600)
    add_passphrase_member(store_env, "zhang", "counselor", passphrase_file)
    yield AgentEnv(store=store_env, runtime=runtime, passphrase_file=passphrase_file)
    for found in agent.running():
        agent.stop(found["socket"])
        wait_until(lambda: gone(found["pid"]), timeout=30, what="the agent to end")
    shutil.rmtree(runtime, ignore_errors=True)
