"""Settings: flag > MHTOOL_* environment variable > default, recording where each came from."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path


def default_store_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mhtool" / "store.db"


@dataclass
class Settings:
    store: Path
    user: str | None
    key_file: Path | None
    passphrase_file: Path | None
    debug: bool
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def interactive(self) -> bool:
        """Prompts only when a person is at both ends of the terminal."""
        return sys.stdin.isatty() and sys.stdout.isatty()


def resolve(store: Path | None = None, user: str | None = None, env: dict | None = None) -> Settings:
    env = os.environ if env is None else env
    sources = {}
    if store is not None:
        store_path, sources["store"] = Path(store), "--store"
    elif env.get("MHTOOL_STORE"):
        store_path, sources["store"] = Path(env["MHTOOL_STORE"]), "MHTOOL_STORE"
    else:
        store_path, sources["store"] = default_store_path(), "default"
    if user:
        sources["user"] = "--user"
    elif env.get("MHTOOL_USER"):
        user, sources["user"] = env["MHTOOL_USER"], "MHTOOL_USER"
    key_file = Path(env["MHTOOL_KEY_FILE"]) if env.get("MHTOOL_KEY_FILE") else None
    passphrase_file = Path(env["MHTOOL_PASSPHRASE_FILE"]) if env.get("MHTOOL_PASSPHRASE_FILE") else None
    return Settings(
        store=store_path.expanduser(),
        user=user,
        key_file=key_file,
        passphrase_file=passphrase_file,
        debug=env.get("MHTOOL_DEBUG") == "1",
        sources=sources,
    )
