"""The real `mhtool` on a pseudo-terminal, in the environment of a counselor's terminal and nothing else inherited."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect

# What a form (questionary) needs besides: a known width, and no cursor-position requests,
# which a pseudo-terminal does not answer (a real one does at once).
FORMS = {"COLUMNS": "100", "PROMPT_TOOLKIT_NO_CPR": "1"}


def terminal_env(home: Path, store: Path, key: Path, user: str, lang: str, **extra: str | None) -> dict:
    """The variables `mhtool` sees at a plain terminal opened on ``store`` as ``user``; in ``extra`` a None removes one."""
    variables: dict[str, str | None] = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "xdg"),
        "LANG": "C.UTF-8",
        "MHTOOL_STORE": str(store),
        "MHTOOL_KEY_FILE": str(key),
        "MHTOOL_USER": user,
        "MHTOOL_LANG": lang,
        "TERM": "xterm",
        "NO_COLOR": "1",
        **extra,
    }
    return {k: v for k, v in variables.items() if v is not None}


def spawn_mhtool(env: dict, *args: str, dimensions: tuple[int, int] = (40, 120), timeout: int = 30) -> pexpect.spawn:
    return pexpect.spawn(sys.executable, ["-m", "mhtool", *args], env=env, encoding="utf-8", dimensions=dimensions, timeout=timeout)
