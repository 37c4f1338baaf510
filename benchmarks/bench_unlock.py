"""`mhtool cases show` with a key file, with a passphrase, and with the passphrase after `mhtool unlock` (target: unlocked ≤ 1.10 × key file).

The store is bench_cases' school (made-up students only). Its admin `bench`
opens it with a key file; `mhtool staff passwd` gives the same member a
passphrase slot too, so the three variants open the same keys as the same
person and differ only in how the slot key is reached: HKDF of the key file,
Argon2id of the passphrase on every command, or one exchange with the unlock
agent over its socket. The variants run interleaved, one of each per round in
a rotating order, so load on a shared machine (and the cold caches Argon2id
leaves behind) falls on all three alike.

    python benchmarks/bench_unlock.py --students 50000
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, markdown_table, mhtool_cmd, run_timed

sys.path.insert(0, str(ROOT))

PASSPHRASE = "bench passphrase for the unlock agent"
TARGET = 1.10


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def run(students: int = 50_000, repeat: int = 9) -> list[dict]:
    import bench_cases

    with tempfile.TemporaryDirectory(prefix="mhtool-bench-") as tmp:
        made = bench_cases.generate(Path(tmp), students)
        passphrase_file = Path(tmp) / "bench.pass"
        passphrase_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
        passphrase_file.chmod(0o600)
        # A runtime folder of the benchmark's own (and a short path: a socket's path is limited to ~100 bytes).
        runtime = tempfile.mkdtemp(prefix="mhb", dir="/tmp")
        common = {
            "MHTOOL_STORE": str(made["store"]),
            "MHTOOL_USER": "bench",
            "XDG_RUNTIME_DIR": runtime,
            # Timed as installed: bytecode cached in the temporary folder, not the work tree.
            "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"),
            "PYTHONDONTWRITEBYTECODE": "",
        }
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MHTOOL_")}
        key_file = {**common, "MHTOOL_KEY_FILE": str(made["key"])}
        passphrase = {**common, "MHTOOL_PASSPHRASE_FILE": str(passphrase_file)}
        subprocess.run(mhtool_cmd("staff", "passwd"), env={**clean, **key_file, "MHTOOL_NEW_PASSPHRASE_FILE": str(passphrase_file)}, check=True, capture_output=True)
        subprocess.run(mhtool_cmd("unlock", "--for", "1h"), env={**clean, **passphrase}, check=True, capture_output=True)
        variants = {"key file": key_file, "passphrase": passphrase, "passphrase after `mhtool unlock`": common}
        show = mhtool_cmd("cases", "show", made["watched_no"])
        try:
            for env in variants.values():  # warm the bytecode cache and the file cache
                run_timed(show, env={**clean, **env}, repeat=1)
            runs: dict[str, list[dict]] = {name: [] for name in variants}
            names = list(variants)
            for round_ in range(repeat):
                # Each round in another order: whichever command follows Argon2id's 64 MiB starts with cold caches.
                for name in names[round_ % 3 :] + names[: round_ % 3]:
                    runs[name].append(run_timed(show, env={**clean, **variants[name]}, repeat=1))
        finally:
            subprocess.run(mhtool_cmd("lock", "--all"), env={**clean, **common}, capture_output=True)
            shutil.rmtree(runtime, ignore_errors=True)
    base_s, base_cpu = _median(runs["key file"], "seconds"), _median(runs["key file"], "cpu")
    rows = []
    for name, timed in runs.items():
        seconds, cpu = _median(timed, "seconds"), _median(timed, "cpu")
        row = {
            "benchmark": f"cases show STUDENT, {name} ({students:,} students)",
            "variant": name,
            "seconds": seconds,
            "cpu": cpu,
            "peak_rss_mib": max(r["peak_rss_mib"] for r in timed),
            "target": "",
        }
        if name != "key file":
            row.update(baseline="the same with a key file", baseline_s=base_s, ratio=seconds / base_s, cpu_ratio=cpu / base_cpu)
        if name.endswith("unlock`"):
            row.update(target=f"ratio ≤ {TARGET:.2f}", met=seconds / base_s <= TARGET)
        rows.append(row)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    rows = run(args.students, args.repeat)
    print(
        markdown_table(
            rows,
            [("variant", "cases show with"), ("seconds", "median wall s"), ("cpu", "median CPU s"), ("ratio", "wall ratio"), ("cpu_ratio", "CPU ratio"), ("target", "target"), ("met", "met")],
        )
    )
