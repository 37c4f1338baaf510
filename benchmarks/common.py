"""Helpers shared by the benchmark scripts: timing subprocesses, peak RSS, markdown tables."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# Every command, baselines included, runs as installed: Python reads the bytecode compiled in the
# packages' own __pycache__ folders (pip compiles site-packages when it installs; mhtool is compiled
# below, once, before anything is timed). The variables that would change where bytecode is read or
# whether it is written are cleared for every command, whatever a script passes, so no script times
# a process that compiles its modules and another one that does not.
BYTECODE_VARIABLES = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")


def command_env(env: dict | None = None) -> dict:
    """The environment a timed command runs in: this one, plus ``env``, without the bytecode variables."""
    full = {**os.environ, **(env or {})}
    for name in BYTECODE_VARIABLES:
        full.pop(name, None)
    return full


_compiled = False


def compile_mhtool() -> None:
    """Bring mhtool's bytecode up to date, once per run, as installing the package would."""
    global _compiled
    if not _compiled:
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "mhtool")], env=command_env(), check=True, stdout=subprocess.DEVNULL)
        _compiled = True


# Each command runs under this small launcher, which times it and reads its own
# rusage. Forking the command straight from the benchmark driver would make
# ru_maxrss report the driver's memory (a forked child starts with the parent's
# pages until exec), and the driver holds generated data sets of gigabytes.
_LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=open(sys.argv[1], "w"))
_, status, usage = os.wait4(proc.pid, 0)
elapsed = time.perf_counter() - start
print(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def run_timed(cmd: list[str], *, env: dict | None = None, repeat: int = 5, cwd: Path | None = None) -> dict:
    """Median wall time, best wall time, median CPU time (user + system) and peak RSS (MiB) of ``repeat`` runs.

    CPU time is reported because wall time on a shared machine includes
    waiting for other processes. CPU and RSS are the command's own.
    """
    compile_mhtool()
    times, cpus, peaks = [], [], []
    full_env = command_env(env)
    for _ in range(repeat):
        with tempfile.NamedTemporaryFile("r", suffix=".err") as err:
            out = subprocess.run([PYTHON, "-c", _LAUNCHER, err.name, *cmd], env=full_env, cwd=cwd, capture_output=True, text=True, check=True)
            elapsed, cpu, maxrss, code = out.stdout.split()
            if int(code) != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed ({code}): {err.read()[-2000:]}")
        times.append(float(elapsed))
        cpus.append(float(cpu))
        peaks.append(int(maxrss))
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
