"""Reading and aggregating campus dorm-access exports (多源预警): `mhtool.io.campus.read_campus`.

Generates 门禁 exports shaped like the school's own (人员编号, 姓名, 部门, 设备名称,
进出方向, 通行时间, 验证方式; UTF-8 CSV sorted by time) for N students: every
student leaves and comes back a few times a day, and about 1 % of the nights
someone stays out. Each file is then read and aggregated into nights out per
student in a fresh interpreter (as `mhtool signals import` would), timed as a
subprocess with its peak RSS, and the read + aggregate time inside the process
is reported apart from start-up.

Sizes (issue 17): one week for 30,000 students (≈1.3 M passes; target < 10 s
for the whole `mhtool signals import`: read, facts sealed and stored, rules
evaluated), and a whole term (≈20 M passes; target < 120 s and < 2 GiB peak RSS
on a 2-core machine). Each file is imported into a store of the generator's
students (the term after the week, so it also merges an overlapping period).

    python benchmarks/bench_signals.py            # the week
    python benchmarks/bench_signals.py --term     # the week and the term (generating the term takes a minute)
    python benchmarks/bench_signals.py --quick    # 3,000 students, one week
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, ROOT, markdown_table, run_timed  # noqa: E402

COLLEGES = ["文学院", "理学院", "外国语学院", "计算机学院", "经济管理学院", "法学院", "医学院", "艺术学院", "体育学院", "化学化工学院"]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"
GIVEN = "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸"
HEADER = "人员编号,姓名,部门,设备名称,进出方向,通行时间,验证方式\n"
FIRST_DAY = date(2026, 9, 7)


def generate(path: Path, students: int, days: int, *, trips: float = 3.1, out_share: float = 0.01, seed: int = 2026) -> int:
    """Write one dorm-access export; return its number of data rows.

    Each student-day has 1–4 round trips (out then in; ``trips`` is the mean),
    at times between 06:30 and 23:15, written in time order across the school.
    On ``out_share`` of the student-nights the last entry is left out.
    """
    rng = np.random.default_rng(seed)
    prng = random.Random(seed)
    prefixes = []
    for i in range(students):
        name = prng.choice(SURNAMES) + prng.choice(GIVEN) + prng.choice(GIVEN)
        prefixes.append(f"2025{i:07d},{name},{COLLEGES[i % len(COLLEGES)]},{i % 40 + 1}栋东门闸机,")
    prefixes_arr = np.array(prefixes, dtype=object)
    clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d},人脸\n" for s in range(86400)]
    clock_arr = np.array(clock, dtype=object)
    directions = np.array(["出,", "进,"], dtype=object)
    # trips per student-day: 1..4 with the requested mean
    p = _trip_probabilities(trips)
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        for day in range(days):
            stamp = (FIRST_DAY + timedelta(days=day)).isoformat() + " "
            n_trips = rng.choice(4, size=students, p=p) + 1
            width = 8
            times = np.sort(rng.integers(6 * 3600 + 1800, 23 * 3600 + 900, size=(students, width)), axis=1)
            keep = np.arange(width)[None, :] < (2 * n_trips)[:, None]
            stays_out = rng.random(students) < out_share
            last = 2 * n_trips - 1
            keep[np.arange(students)[stays_out], last[stays_out]] = False
            student_idx, col = np.nonzero(keep)
            secs = times[student_idx, col]
            order = np.argsort(secs, kind="stable")
            student_idx, col, secs = student_idx[order], col[order], secs[order]
            lines = prefixes_arr[student_idx] + directions[col % 2] + stamp + clock_arr[secs]
            fh.write("".join(lines.tolist()))
            rows += len(lines)
    return rows


def _trip_probabilities(mean: float) -> list[float]:
    """P(1..4 trips) with the given mean (1 ≤ mean ≤ 4), mass on the two nearest counts."""
    mean = min(max(mean, 1.0), 4.0)
    low = int(mean)
    frac = mean - low
    p = [0.0] * 4
    p[low - 1] += 1 - frac
    if frac:
        p[low] += frac
    return p


_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from mhtool.io.campus import read_campus
t1 = time.perf_counter()
agg = read_campus(sys.argv[1], "dorm")
t2 = time.perf_counter()
out = sum(sum(p["nights"].values()) for p in agg["people"].values())
json.dump({"import_s": t1 - t0, "read_s": t2 - t1, "rows": agg["rows"], "people": len(agg["people"]),
           "nights_out": out, "first": agg["first_day"], "last": agg["last_day"]}, open(sys.argv[2], "w"))
"""


def measure(path: Path, repeat: int = 3) -> dict:
    """Median wall time and largest peak RSS of a fresh interpreter reading the file, and the median read + aggregate time inside it."""
    report = path.with_suffix(".json")
    walls, reads, peaks = [], [], []
    inner: dict = {}
    for _ in range(repeat):
        r = run_timed([PYTHON, "-c", _CHILD, str(path), str(report)], repeat=1, cwd=ROOT)
        inner = json.loads(report.read_text())
        walls.append(r["seconds"])
        reads.append(inner["read_s"])
        peaks.append(r["peak_rss_mib"])
    report.unlink()
    return {**inner, "seconds": statistics.median(walls), "read_s": statistics.median(reads), "peak_rss_mib": max(peaks)}


def build_store(directory: Path, students: int) -> dict:
    """A store holding the generator's students (numbers 2025NNNNNNN), opened by an admin's key file."""
    from mhtool.cases.usecases import service
    from mhtool.store.core import Store, create_store
    from mhtool.store.crypto import Credential, read_key_file, write_key_file

    path, key = directory / "signals-bench.db", directory / "signals-bench.key"
    for stale in (path, key):
        stale.unlink(missing_ok=True)
    create_store(path, "bench", Credential(key_material=write_key_file(key), source="bench"))
    store = Store.open(path, Credential(key_material=read_key_file(key), source="bench"), "bench")
    prng = random.Random(7)
    rows = [
        {
            "student_no": f"2025{i:07d}",
            "name": prng.choice(SURNAMES) + prng.choice(GIVEN) + prng.choice(GIVEN),
            "college": COLLEGES[i % len(COLLEGES)],
            "grade": "2025级",
            "class_name": f"{COLLEGES[i % len(COLLEGES)][:2]}25{i % 40:02d}",
            "advisor": f"辅导员{i % 50}",
        }
        for i in range(students)
    ]
    with store.write("bench.roster") as txn:
        service.upsert_students(txn, rows, source="bench")
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return {"MHTOOL_STORE": str(path), "MHTOOL_KEY_FILE": str(key), "MHTOOL_USER": "bench", "MHTOOL_LANG": "en"}


def import_end_to_end(path: Path, env: dict) -> dict:
    """`mhtool signals import FILE --source dorm` on the store: read, aggregate, store the facts, evaluate the rules, one transaction."""
    cmd = [PYTHON, "-m", "mhtool", "signals", "import", str(path), "--source", "dorm", "--purpose", "benchmark", "--json"]
    return run_timed(cmd, env=env, repeat=1, cwd=ROOT)


def run(students: int = 30_000, *, term: bool = False, work: Path | None = None, repeat: int = 3) -> list[dict]:
    if work is None:
        with tempfile.TemporaryDirectory(prefix="mhtool-bench-signals-") as folder:
            return run(students, term=term, work=Path(folder), repeat=repeat)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    sizes = [("one week", 7, 3.1, "< 10 s incl. evaluation", 10.0, None)]
    if term:
        sizes.append(("a term", 140, 2.4, "< 120 s, < 2 GiB RSS", 120.0, 2048.0))
    rows = []
    env = build_store(work, students)
    for label, days, trips, target, limit_s, limit_mib in sizes:
        path = work / f"dorm_{students}_{days}d.csv"
        started = time.perf_counter()
        n = generate(path, students, days, trips=trips)
        generated = time.perf_counter() - started
        m = measure(path, repeat=repeat if days <= 7 else 1)
        size_mib = path.stat().st_size / 2**20
        whole = import_end_to_end(path, env)
        path.unlink()
        rows.append(
            {
                "benchmark": f"read + aggregate dorm passes, {label} ({students:,} students, {n:,} rows, {size_mib:,.0f} MiB UTF-8 CSV)",
                "seconds": m["seconds"],
                "read_s": m["read_s"],
                "rows_per_s": round(n / m["read_s"]),
                "peak_rss_mib": m["peak_rss_mib"],
                "nights_out": m["nights_out"],
                "generate_s": generated,
                "target": "(reported)",
                "met": "",
            }
        )
        met = whole["seconds"] < limit_s and (limit_mib is None or whole["peak_rss_mib"] < limit_mib)
        rows.append(
            {
                "benchmark": f"signals import --source dorm, {label} ({students:,} students, {n:,} rows): read, facts stored, rules evaluated",
                "seconds": whole["seconds"],
                "rows_per_s": round(n / whole["seconds"]),
                "peak_rss_mib": whole["peak_rss_mib"],
                "target": target,
                "met": met,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=30_000)
    parser.add_argument("--term", action="store_true", help="also a whole term (≈20 M rows for 30,000 students)")
    parser.add_argument("--quick", action="store_true", help="3,000 students, one week")
    parser.add_argument("--work", type=Path, default=None, help="folder for the generated file (default: a temporary folder)")
    args = parser.parse_args()
    students = 3_000 if args.quick else args.students
    rows = run(students, term=args.term and not args.quick, work=args.work)
    print(markdown_table(rows, [("benchmark", "benchmark"), ("seconds", "wall s"), ("read_s", "read+aggregate s"), ("rows_per_s", "rows/s"),
                                ("peak_rss_mib", "peak RSS MiB"), ("nights_out", "nights out"), ("target", "target"), ("met", "met")]))


if __name__ == "__main__":
    main()
