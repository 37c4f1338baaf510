"""`mhtool survey import` end to end against pandas.read_excel(engine="openpyxl") of the same file.

Generates 问卷星-shaped exports (UPI with items 61–64 in text mode; SCL-90 as a position-mode matrix
question) for N students, imports each into a fresh store as a subprocess (read, normalise, score,
seal, write, tasks), and compares with the time pandas+openpyxl needs just to read the file, and with
python-calamine's raw read (the floor). Target: ratio to pandas ≤ 1.0, peak RSS < 1 GiB.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, markdown_table, mhtool_cmd, run_timed  # noqa: E402


def _timed_python(code: str, path: Path, repeat: int) -> float:
    """Median seconds of one call, measured inside a fresh interpreter (imports excluded)."""
    script = (
        "import time, sys\n" + code.split("\n#CALL\n")[0] +
        "\nt=time.perf_counter()\n" + code.split("\n#CALL\n")[1] + "\nprint(time.perf_counter()-t)\n"
    )
    times = []
    for _ in range(repeat):
        out = subprocess.run([PYTHON, "-c", script, str(path)], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return sorted(times)[len(times) // 2]


PANDAS = "import pandas as pd\n#CALL\npd.read_excel(sys.argv[1], engine='openpyxl')"
CALAMINE = "from python_calamine import CalamineWorkbook\n#CALL\nCalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_index(0).to_python()"


def make_exports(folder: Path, students: int, seed: int = 7) -> dict[str, Path]:
    from mhtool import demo_data

    school = demo_data.build_school(students, seed=seed)
    start = demo_data.census_start(date(2026, 11, 23))
    return {
        "upi": demo_data.write_wjx_upi(folder / f"upi_{students}.xlsx", school, start, rng=random.Random(seed), supplementary=True, dirty=False),
        "scl90": demo_data.write_wjx_scl90(folder / f"scl90_{students}.xlsx", school, start, rng=random.Random(seed + 1)),
    }


def run(students: int = 10_000, repeat: int = 1, work: Path | None = None) -> list[dict]:
    work = Path(work or tempfile.mkdtemp(prefix="mhtool-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    files = make_exports(work, students)
    rows = []
    for instrument, path in files.items():
        pandas_s = _timed_python(PANDAS, path, repeat)
        calamine_s = _timed_python(CALAMINE, path, repeat)
        results = []
        for attempt in range(repeat):
            store = work / f"store_{instrument}_{attempt}.db"
            key = work / f"key_{instrument}_{attempt}"
            subprocess.run(mhtool_cmd("--store", str(store), "init", "--admin", "bench", "--key-file", str(key)), check=True, capture_output=True)
            results.append(run_timed(mhtool_cmd("--store", str(store), "survey", "import", str(path), "--instrument", instrument), env={"MHTOOL_KEY_FILE": str(key)}, repeat=1))
        best = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]
        rows.append(
            {
                "benchmark": f"survey import {instrument} ({students:,} rows, wjx xlsx)",
                "seconds": best["seconds"],
                "pandas_openpyxl_s": pandas_s,
                "ratio_vs_pandas": best["seconds"] / pandas_s,
                "calamine_s": calamine_s,
                "ratio_vs_calamine": best["seconds"] / calamine_s,
                "peak_rss_mib": best["peak_rss_mib"],
                "target": "ratio vs pandas ≤ 1.0; RSS < 1024",
            }
        )
    return rows


COLUMNS = [("benchmark", "benchmark"), ("seconds", "import s"), ("pandas_openpyxl_s", "pandas read s"), ("ratio_vs_pandas", "ratio vs pandas"),
           ("calamine_s", "calamine read s"), ("ratio_vs_calamine", "ratio vs calamine"), ("peak_rss_mib", "peak RSS MiB"), ("target", "target")]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    started = time.time()
    print(markdown_table(run(args.students, args.repeat), COLUMNS))
    print(f"\n({time.time() - started:.0f} s)")
