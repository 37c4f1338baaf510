"""Shared fixtures: a real store in a temporary directory and a CLI runner with a clean environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mhtool.cli import app

# Variables the tests must not inherit from the developer's shell.
_CLEARED = [k for k in os.environ if k.startswith("MHTOOL_")] + ["NO_COLOR", "COLUMNS", "XDG_DATA_HOME"]


@dataclass
class Cli:
    """Runs the real `mhtool` command in-process with a controlled environment."""

    env: dict = field(default_factory=dict)

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None):
        runner = CliRunner()
        full_env = {"COLUMNS": "120", "NO_COLOR": "1", **{k: None for k in _CLEARED}, "MHTOOL_LANG": "en", **self.env, **(env or {})}
        return runner.invoke(app, [str(a) for a in args], input=input, env=full_env, catch_exceptions=True)

    def ok(self, *args: str, **kw):
        result = self(*args, **kw)
        assert result.exit_code == 0, f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{result.exception!r}"
        return result


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for key in _CLEARED:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    # The suite reads English messages; tests of the Chinese interface ask for it (tests/test_i18n.py).
    monkeypatch.setenv("MHTOOL_LANG", "en")


@dataclass
class StoreEnv:
    path: Path
    admin_key: Path
    cli: Cli
    tmp: Path

    def open(self, user: str | None = None, key: Path | None = None):
        """Open the store in-process as a staff member (admin by default)."""
        from mhtool.store.core import Store
        from mhtool.store.crypto import Credential, read_key_file

        return Store.open(self.path, Credential(key_material=read_key_file(key or self.admin_key), source="test"), user)

    def add_staff(self, name: str, role: str, *colleges: str) -> Cli:
        """Add a staff member with a key file; return a Cli that runs as them."""
        key = self.tmp / f"{name}.key"
        args = ["staff", "add", name, "--role", role, "--key-file", str(key)]
        for c in colleges:
            args += ["--college", c]
        self.cli.ok(*args)
        return Cli(env={"MHTOOL_STORE": str(self.path), "MHTOOL_KEY_FILE": str(key), "MHTOOL_USER": name})


@pytest.fixture
def store_env(tmp_path) -> StoreEnv:
    """A fresh store with admin `admin` (key-file slot); `store_env.cli` runs as admin."""
    path = tmp_path / "store.db"
    key = tmp_path / "admin.key"
    Cli(env={"MHTOOL_STORE": str(path)}).ok("init", "--admin", "admin", "--key-file", str(key))
    cli = Cli(env={"MHTOOL_STORE": str(path), "MHTOOL_KEY_FILE": str(key), "MHTOOL_USER": "admin"})
    return StoreEnv(path=path, admin_key=key, cli=cli, tmp=tmp_path)


@pytest.fixture
def cli() -> Cli:
    return Cli()
