"""Run every benchmark and write the results table into benchmarks/README.md.

    python benchmarks/run.py            # full sizes (census 10,000 and 50,000 rows; 50,000-student store; a term of dorm passes)
    python benchmarks/run.py --quick    # small sizes, under two minutes; for a smoke check

Each script generates its own data; nothing here reads real exports.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import markdown_table  # noqa: E402

COLUMNS = [
    ("benchmark", "benchmark"),
    ("seconds", "wall s"),
    ("baseline", "baseline"),
    ("baseline_s", "baseline s"),
    ("ratio", "ratio"),
    ("rows_per_s", "rows/s"),
    ("peak_rss_mib", "peak RSS MiB"),
    ("target", "target"),
    ("met", "met"),
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def collect(quick: bool) -> list[dict]:
    import bench_cases
    import bench_import
    import bench_reports
    import bench_scoring
    import bench_signals
    import bench_startup
    import bench_terminal

    rows: list[dict] = []
    work = Path(tempfile.mkdtemp(prefix="mhtool-bench-"))

    typer_s = None
    for r in bench_startup.run(repeat=7 if quick else 15):
        if r.get("target"):
            typer_s = r["seconds"] / r["ratio"]
            rows.append({**r, "baseline": "python -c 'import typer'", "baseline_s": typer_s, "met": r["ratio"] <= 1.5})

    for r in bench_scoring.run(5_000 if quick else 50_000):
        rows.append(
            {
                "benchmark": f"score {r.get('instrument')} {r.get('input', '')} ({r.get('rows'):,} rows)",
                "seconds": r.get("cpu_s"),
                "rows_per_s": r.get("rows_per_s"),
                "target": "50,000 SCL-90 rows < 1 s CPU" if r.get("instrument") == "scl90" else "",
                "met": (r.get("cpu_s", 0) < 1.0) if r.get("instrument") == "scl90" and r.get("rows") == 50_000 else "",
            }
        )

    # Each instrument at both sizes against python-calamine's raw read, and the growth from one size to the other.
    rows.extend(bench_import.run((1_000, 5_000) if quick else (10_000, 50_000), repeat=1 if quick else 3, work=work / "import"))

    students = 5_000 if quick else 50_000
    # Interactive commands against their yardstick, importing typer alone, timed in turns beside them.
    rows.extend(bench_cases.run(students))
    # The same list at a pseudo-terminal: first output and whole command, 3,000 watched (quick: 300).
    rows.extend(bench_terminal.run(students, 300 if quick else 3_000))
    # cases show with a key file, a passphrase, and the passphrase after `mhtool unlock`, interleaved.
    import bench_unlock

    rows.extend(bench_unlock.run(students))
    for r in bench_reports.run(students):
        rows.append(r)

    # 门禁 passes of 30,000 students: a week (quick: 3,000 students) and, in a full run, a whole term.
    for r in bench_signals.run(3_000 if quick else 30_000, term=not quick, work=work / "signals"):
        rows.append({k: r[k] for k in ("benchmark", "seconds", "rows_per_s", "peak_rss_mib", "target", "met")})
        if "read_s" in r:
            rows.append({"benchmark": r["benchmark"] + " (inside the process)", "seconds": r["read_s"], "target": "(reported)"})
    return rows


def write_readme(rows: list[dict], quick: bool, elapsed: float) -> None:
    readme = HERE / "README.md"
    text = readme.read_text("utf-8") if readme.exists() else "# Benchmarks\n"
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    block = (
        f"<!-- results:start -->\n## Results ({'quick' if quick else 'full'} run, {stamp})\n\n"
        f"Machine: {machine()}. Run took {elapsed:.0f} s.\n\n"
        + markdown_table(rows, COLUMNS)
        + "\n<!-- results:end -->"
    )
    if "<!-- results:start -->" in text:
        text = re.sub(r"<!-- results:start -->.*<!-- results:end -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text, "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (under two minutes)")
    parser.add_argument("--no-write", action="store_true", help="print the table only; leave README.md alone")
    args = parser.parse_args()
    started = time.time()
    rows = collect(args.quick)
    elapsed = time.time() - started
    print(markdown_table(rows, COLUMNS))
    print(f"\n({elapsed:.0f} s on {machine()})")
    if not args.no_write:
        write_readme(rows, args.quick, elapsed)


if __name__ == "__main__":
    main()
