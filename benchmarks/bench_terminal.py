"""`mhtool cases list` at a terminal: time to the first output and to the end (targets < 0.3 s / < 0.5 s, 3,000 watched).

The school is bench_cases' (same generator, same seed). The command runs in a
pseudo-terminal of 40 rows and 160 or 80 columns, as a counselor's terminal
window, through a small launcher that starts it with pty.fork, reads the
terminal and notes when the first byte arrives and when the command has
ended. Two ways:

- no pager (MHTOOL_PAGER=cat), at 160 and at 80 columns: all rows drawn to
  the terminal, the whole command is the time until the last row is out;
- with `less -FRX` (the default pager), at 160 columns, `q` pressed as soon as
  the first screen is complete: what a counselor who glances at the top waits for.

The piped `cases list` on the same store is the baseline: what the terminal
costs beyond it.

    python benchmarks/bench_terminal.py --students 50000 --watched 3000
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PYTHON, ROOT, command_env, compile_mhtool, markdown_table, mhtool_cmd, run_timed

sys.path.insert(0, str(ROOT))

import bench_cases  # noqa: E402

# Runs one command in a pseudo-terminal; prints seconds to the first byte, to the end, the
# command's CPU seconds and its exit code. With "q", presses q once a screen of lines has arrived.
_LAUNCHER = r"""
import fcntl, os, pty, struct, sys, termios, time
rows, cols, press_q, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "q", sys.argv[4:]
start = time.perf_counter()
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(cmd[0], cmd)
first, lines, pressed = None, 0, False
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:  # EIO: the command closed the terminal
        break
    if not chunk:
        break
    if first is None:
        first = time.perf_counter() - start
    lines += chunk.count(b"\n")
    if press_q and not pressed and lines >= rows - 1:
        os.write(fd, b"q")
        pressed = True
_, status, usage = os.wait4(pid, 0)
print(first, time.perf_counter() - start, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status))
"""

SCREEN_ROWS = 40


def in_terminal(cmd: list[str], *, columns: int, env: dict, press_q: bool = False, repeat: int = 5) -> dict:
    """Medians of the first output, the whole command and its CPU time over ``repeat`` runs."""
    compile_mhtool()
    firsts, totals, cpus = [], [], []
    for _ in range(repeat):
        out = subprocess.run(
            [PYTHON, "-c", _LAUNCHER, str(SCREEN_ROWS), str(columns), "q" if press_q else "-", *cmd],
            env=env, capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
        first, total, cpu, code = out.stdout.split()
        if int(code) != 0 or first == "None":
            raise RuntimeError(f"{' '.join(cmd)} in a terminal failed ({code}): {out.stderr[-2000:]}")
        firsts.append(float(first))
        totals.append(float(total))
        cpus.append(float(cpu))
    return {"first_s": statistics.median(firsts), "seconds": statistics.median(totals), "cpu": statistics.median(cpus)}


def run(students: int = 50_000, watched: int = 3_000, repeat: int = 5) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="mhtool-bench-") as tmp:
        started = time.perf_counter()
        made = bench_cases.generate(Path(tmp), students, watched_share=watched / students)
        generated = time.perf_counter() - started
        # Bytecode as every benchmark reads it (common.command_env); a Chinese reader's terminal.
        env = command_env(
            {"MHTOOL_STORE": str(made["store"]), "MHTOOL_KEY_FILE": str(made["key"]), "MHTOOL_USER": "bench", "MHTOOL_LANG": "zh", "TERM": "xterm-256color"}
        )
        for variable in ("COLUMNS", "LINES", "NO_COLOR", "PAGER", "LESS", "FORCE_TERMINAL"):
            env.pop(variable, None)
        cmd = mhtool_cmd("cases", "list")
        piped = run_timed(cmd, env=env, repeat=repeat)
        base = {"students": students, "watched": made["watched"], "generate_s": generated, "baseline": "cases list, piped", "baseline_s": piped["seconds"]}
        rows = []
        ways = [(160, "cat", False), (80, "cat", False)]
        if shutil.which("less"):
            ways.append((160, "less -FRX", True))
        for columns, pager, press_q in ways:
            timed = in_terminal(cmd, columns=columns, env={**env, "MHTOOL_PAGER": pager}, press_q=press_q, repeat=repeat)
            how = f"{columns} columns, " + ("less -FRX, q after the first screen" if press_q else "no pager")
            name = f"cases list at a terminal ({how}; {made['watched']:,} watched, {students:,} students)"
            rows.append({**base, **timed, "how": how, "what": "first output", "benchmark": f"{name}: first output", "seconds": timed["first_s"], "target": "< 0.3 s", "met": timed["first_s"] < 0.3})
            whole = "until q" if press_q else "whole command"
            rows.append(
                {
                    **base, **timed, "how": how, "what": whole, "benchmark": f"{name}: {whole}",
                    "ratio": timed["seconds"] / piped["seconds"],
                    "target": "< 0.5 s", "met": timed["seconds"] < 0.5,
                }
            )  # fmt: skip
        return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--watched", type=int, default=3_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = run(args.students, args.watched, args.repeat)
    print(
        markdown_table(
            rows,
            [("how", "way"), ("what", "measured"), ("seconds", "median wall s"), ("cpu", "median CPU s"), ("baseline_s", "piped wall s"), ("target", "target"), ("met", "met")],
        )
    )
    print(f"\nstore generated in {rows[0]['generate_s']:.1f} s")
