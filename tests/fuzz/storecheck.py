"""The scratch store of the fuzz campaign, checked from outside: SQLite's own integrity check, row counts.

A test helper, so it may speak SQL; the campaign itself goes through mhtool's store tools.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)


def integrity(path: Path) -> str:
    """``"ok"``, or what ``PRAGMA integrity_check`` found."""
    conn = _connect(path)
    try:
        return " ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


def counts(path: Path) -> dict[str, int]:
    conn = _connect(path)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("batches", "responses", "students", "tasks", "audit")}
    finally:
        conn.close()
