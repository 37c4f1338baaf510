"""Helpers shared by the benchmark scripts: timing subprocesses, peak RSS, markdown tables."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def run_timed(cmd: list[str], *, env: dict | None = None, repeat: int = 5, cwd: Path | None = None) -> dict:
    """Median wall time, best wall time, median CPU time (user + system) and peak RSS (MiB) of ``repeat`` runs.

    CPU time is reported because wall time on a shared machine includes
    waiting for other processes. CPU and RSS are the command's own (``wait4``),
    not those of every child this process ever had.
    """
    times, cpus, peaks = [], [], []
    full_env = {**os.environ, **(env or {})}
    for _ in range(repeat):
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, env=full_env, cwd=cwd, stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.read().decode(errors='replace')[-2000:]}")
        times.append(elapsed)
        cpus.append(usage.ru_utime + usage.ru_stime)
        peaks.append(usage.ru_maxrss)
    return {"seconds": statistics.median(times), "min": min(times), "cpu": statistics.median(cpus), "peak_rss_mib": max(peaks) / 1024}


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
