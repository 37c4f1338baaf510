"""Helpers shared by the benchmark scripts: timing subprocesses, peak RSS, markdown tables."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def run_timed(cmd: list[str], *, env: dict | None = None, repeat: int = 5, cwd: Path | None = None) -> dict:
    """Median wall time and peak RSS (MiB) of a command run ``repeat`` times."""
    times, peaks = [], []
    full_env = {**os.environ, **(env or {})}
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=full_env, cwd=cwd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        times.append(elapsed)
        peaks.append(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
    return {"seconds": statistics.median(times), "min": min(times), "peak_rss_mib": max(peaks) / 1024}


def mhtool_cmd(*args: str) -> list[str]:
    return [PYTHON, "-m", "mhtool", *args]


def markdown_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    lines = ["| " + " | ".join(h for _, h in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key, "")
            cells.append(f"{value:.3f}" if isinstance(value, float) else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
