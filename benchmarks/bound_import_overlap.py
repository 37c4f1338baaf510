"""How fast `survey import` could be if its two halves ran side by side on the two cores.

The import reads, normalises and scores the sheet (the plan), then checks it against the store
and writes it in one transaction. A design that overlaps the two (a second process reading and
scoring chunks while this one seals and writes the chunks before them) can at best finish when
the slower half does, with both halves sharing the machine. This script measures that bound
directly, with no such design built: the plan of an export alone, as a whole process; the check
and write of the same plan, handed over as a file, alone; and the two processes started at the
same moment (the write from the plan file made before). Their joint wall time is the best an
overlapped import could do: it leaves out that a pipelined write can only start after the first
chunk and must end after the last, and what handing the chunks over costs.

Each figure is set beside the whole import and beside the import target (2.0 × python-calamine's
raw read as a whole process, from ``bench_import.py``).

    python benchmarks/bound_import_overlap.py [--sizes 10000 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_import  # noqa: E402
from common import PYTHON, command_env, compile_mhtool, markdown_table, mhtool_cmd  # noqa: E402

PLAN = """
import pickle, sys
from mhtool.survey.usecases import importer
plan = importer.plan_import(sys.argv[1], sys.argv[2])
if len(sys.argv) > 3:
    with open(sys.argv[3], "wb") as fh:
        pickle.dump(plan, fh, protocol=5)
"""

WRITE = """
import pickle, sys
from datetime import date
from mhtool.app import Center, credential_from_key_file
from mhtool.survey.usecases import importer
with Center.open(sys.argv[1], credential_from_key_file(sys.argv[2]), "bench") as center:
    with open(sys.argv[3], "rb") as fh:
        plan = pickle.load(fh)
    check = importer.check_import(center.store, plan)
    importer.write_import(center.store, plan, check, today=date.today())
"""


def _store(work: Path, name: str) -> tuple[Path, Path]:
    store, key = work / f"{name}.db", work / f"{name}.key"
    for p in work.glob(f"{name}.db*"):
        p.unlink()
    key.unlink(missing_ok=True)
    subprocess.run(mhtool_cmd("--store", str(store), "init", "--admin", "bench", "--key-file", str(key)), check=True, capture_output=True, env=command_env())
    return store, key


def _wall(*commands: list[str]) -> float:
    """Seconds from starting every command at once until the last one ends."""
    # Each one's messages go to a file of its own: a full pipe nobody reads yet would stall it.
    errors = [tempfile.TemporaryFile() for _ in commands]
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd, env=command_env(), stdout=subprocess.DEVNULL, stderr=err) for cmd, err in zip(commands, errors)]
    codes = [proc.wait() for proc in procs]
    elapsed = time.perf_counter() - start
    for code, cmd, err in zip(codes, commands, errors):
        if code:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd[:3])} failed: {err.read().decode()[-2000:]}")
        err.close()
    return elapsed


def run(sizes=(10_000, 50_000), repeat: int = 3, work: Path | None = None) -> list[dict]:
    compile_mhtool()
    work = Path(work or tempfile.mkdtemp(prefix="mhtool-bound-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in sorted(sizes):
        files = bench_import.make_exports(work, size)
        for instrument, path in files.items():
            plan_file = work / f"{instrument}_{size}.plan"
            subprocess.run([PYTHON, "-c", PLAN, str(path), instrument, str(plan_file)], check=True, env=command_env())
            plan_cmd = [PYTHON, "-c", PLAN, str(path), instrument]
            floor = bench_import.raw_read_seconds(path, repeat)
            whole = bench_import.timed_import(path, instrument, work, repeat)["seconds"]
            alone_plan, alone_write, both = [], [], []
            for attempt in range(repeat):
                alone_plan.append(_wall(plan_cmd))
                store, key = _store(work, f"w{attempt}")
                alone_write.append(_wall([PYTHON, "-c", WRITE, str(store), str(key), str(plan_file)]))
                store, key = _store(work, f"b{attempt}")
                both.append(_wall(plan_cmd, [PYTHON, "-c", WRITE, str(store), str(key), str(plan_file)]))
            bound = statistics.median(both)
            rows.append(
                {
                    "export": f"{instrument} {size:,} rows",
                    "floor_s": floor,
                    "target_s": bench_import.RATIO * floor,
                    "import_s": whole,
                    "plan_s": statistics.median(alone_plan),
                    "write_s": statistics.median(alone_write),
                    "both_s": bound,
                    "bound_ratio": bound / floor,
                    "reachable": bound <= bench_import.RATIO * floor,
                }
            )
    return rows


COLUMNS = [
    ("export", "export"),
    ("floor_s", "raw read s"),
    ("target_s", "target s (2.0×)"),
    ("import_s", "import s"),
    ("plan_s", "plan alone s"),
    ("write_s", "check + write alone s"),
    ("both_s", "both at once s (the bound)"),
    ("bound_ratio", "bound ÷ raw read"),
    ("reachable", "target within the bound"),
]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    started = time.time()
    print(markdown_table(run(args.sizes, args.repeat), COLUMNS))
    print(f"\n({time.time() - started:.0f} s)")
