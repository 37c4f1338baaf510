"""`mhtool cases show`, `cases list` and `cases tasks --overdue` beside `python -c "import typer"`.

Targets: each ≤ 2.5× the baseline on a store the size of the demo school
(3,000 students) and < 0.15 s on a store of 50,000 students.

Each store is generated through the store API (made-up students only): N
students, about 6 % of them watched with a timeline of screening, interview,
level change, follow-ups, a measure and a note, plus open interview tasks for
some unwatched students. The commands then run as subprocesses with a key
file and their output piped, as a script or cron job runs them, taking turns
with the baseline so that both see the same machine.

    python benchmarks/bench_cases.py --students 50000
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from common import PYTHON, ROOT, markdown_table, mhtool_cmd, run_timed

sys.path.insert(0, str(ROOT))

COLLEGES = ["文学院", "理学院", "外国语学院", "计算机学院", "经济管理学院", "法学院", "医学院", "艺术学院", "体育学院", "化学化工学院"]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"
GIVEN = "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸"


def generate(directory: Path, students: int, *, watched_share: float = 0.06, seed: int = 2026) -> dict:
    """Create the store; return the paths and a watched student's number."""
    from mhtool.cases.domain import model
    from mhtool.domain import rules
    from mhtool.cases.usecases import service
    from mhtool.store.core import Store, create_store
    from mhtool.store.crypto import Credential, read_key_file, write_key_file

    rng = random.Random(seed)
    path, key = directory / "bench.db", directory / "bench.key"
    create_store(path, "bench", Credential(key_material=write_key_file(key), source="bench"))
    store = Store.open(path, Credential(key_material=read_key_file(key), source="bench"), "bench")
    today = service.today(store)
    rows = []
    for i in range(students):
        college = COLLEGES[i % len(COLLEGES)]
        rows.append(
            {
                "student_no": f"2024{i:06d}",
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                "gender": rng.choice("男女"),
                "college": college,
                "major": f"{college[:2]}专业",
                "grade": "2024",
                "class_name": f"{college[:2]}24{i % 40:02d}",
                "dorm": f"{i % 30}-{i % 500}",
                "phone": f"138{i:08d}",
                "advisor": f"辅导员{i % 50}",
                "advisor_phone": f"139{i % 50:08d}",
                "guardians": [{"relation": "母亲", "name": "家长", "phone": f"137{i:08d}"}],
            }
        )
    with store.write("bench.roster") as txn:
        ids = service.upsert_students(txn, rows, source="bench").ids
    numbers = list(ids)
    watched = rng.sample(numbers, int(students * watched_share))
    unwatched_tasks = rng.sample([n for n in numbers if n not in set(watched)], min(1000, students // 20))
    cadence = rules.DEFAULT_CADENCE
    with store.write("bench.timelines") as txn:
        batch = store.batches.add(txn, {"instrument": "upi", "file": "bench.xlsx"}, "bench", today - timedelta(days=60))
        for n, no in enumerate(watched):
            sid = ids[no]
            level = ("red", "orange", "yellow", "yellow")[n % 4]
            student = {**rows[int(no[4:])], "id": sid, "level": "none", "status": "enrolled", "groups": [], "tags": [], "counselor": f"counselor{n % 8}"}
            start = today - timedelta(days=rng.randint(20, 90))
            store.responses.add(
                txn, batch, sid, (start - timedelta(days=3)).isoformat(),
                {"instrument": "upi", "version": "1", "scores": {"total": 30}, "band": "A", "flags": [], "proposed_level": level, "answers": {}},
            )  # fmt: skip
            eff = model.record_interview(student, {"findings": "约谈记录（合成数据）", "confirmed_level": level, "mode": "面谈"}, start)
            service.apply_effects(txn, student, eff, start)
            student = {**eff.student, "id": sid}
            service.add_entry(txn, sid, "measure", {"measure_kind": "定期谈话", "description": "每两周一次"}, start)
            # Follow-ups kept up to date, except for about one student in ten.
            on = start
            behind = rng.random() < 0.1
            while on + timedelta(days=cadence[level] * (2 if behind else 1)) < today:
                on = on + timedelta(days=cadence[level])
                eff = model.record_follow_up(student, {"content": "回访（合成数据）", "mode": "面谈"}, on)
                service.apply_effects(txn, student, eff, on)
            service.add_entry(txn, sid, "note", {"text": "备注（合成数据）"}, on)
        for no in unwatched_tasks:
            service.schedule_screening_interview(txn, ids[no], "yellow", today - timedelta(days=rng.randint(0, 20)), batch_id=batch)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return {"store": path, "key": key, "watched_no": watched[0], "watched": len(watched)}


# What a counselor types and waits for; each is timed as a script or cron job runs it (key file, output piped).
COMMANDS = {
    "cases show STUDENT": ("cases", "show", "{student}"),
    "cases list": ("cases", "list"),
    "cases tasks --overdue": ("cases", "tasks", "--overdue"),
}
# Also timed on the large store, for the record.
REPORTED = {
    "cases show STUDENT --json": ("cases", "show", "{student}", "--json"),
    "cases list --json": ("cases", "list", "--json"),
}
BASELINE = "python -c 'import typer'"
RATIO_TARGET = 2.5  # × the baseline, on a store the size of the demo school
LARGE_TARGET_S = 0.15  # wall seconds, on the large store


def _interleaved(commands: dict[str, list[str]], env: dict, repeat: int) -> dict[str, dict]:
    """Each command ``repeat`` times, taking turns, so that a busy moment of the machine falls on all of them alike."""
    runs: dict[str, list[dict]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            runs[name].append(run_timed(cmd, env=env, repeat=1))
    return {
        name: {
            "seconds": statistics.median(r["seconds"] for r in timed),
            "min": min(r["seconds"] for r in timed),
            "cpu": statistics.median(r["cpu"] for r in timed),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in timed),
        }
        for name, timed in runs.items()
    }


def run(students: int = 50_000, repeat: int = 9, *, small: int = 3_000) -> list[dict]:
    """The commands on a store of ``small`` students (the demo school's size) and of ``students``, beside the baseline."""
    rows: list[dict] = []
    for size in dict.fromkeys((small, students)):
        large = size == students and size > small
        with tempfile.TemporaryDirectory(prefix="mhtool-bench-") as tmp:
            started = time.perf_counter()
            made = generate(Path(tmp), size)
            generated = time.perf_counter() - started
            env = {"MHTOOL_STORE": str(made["store"]), "MHTOOL_KEY_FILE": str(made["key"]), "MHTOOL_USER": "bench"}
            chosen = {**COMMANDS, **(REPORTED if large else {})}
            commands = {BASELINE: [PYTHON, "-c", "import typer"]}
            commands.update({name: mhtool_cmd(*(a.format(student=made["watched_no"]) for a in args)) for name, args in chosen.items()})
            _interleaved(commands, env, 1)  # warm the file cache; not counted
            timed = _interleaved(commands, env, repeat)
            baseline = timed.pop(BASELINE)
            school = f"{size:,} students, {made['watched']:,} watched"
            rows.append({"benchmark": f"{BASELINE} (baseline beside the store of {school})", "students": size, "generate_s": generated, **baseline})
            for name, result in timed.items():
                ratio = result["seconds"] / baseline["seconds"]
                if name not in COMMANDS:
                    target, met = "(reported)", ""
                elif large:
                    target, met = f"< {LARGE_TARGET_S} s", result["seconds"] < LARGE_TARGET_S
                else:
                    target, met = f"ratio ≤ {RATIO_TARGET}", ratio <= RATIO_TARGET
                rows.append(
                    {
                        **result,
                        "command": name,
                        "benchmark": f"{name} ({school})",
                        "students": size,
                        "watched": made["watched"],
                        "generate_s": generated,
                        "baseline": BASELINE,
                        "baseline_s": baseline["seconds"],
                        "ratio": ratio,
                        "target": target,
                        "met": met,
                    }
                )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--small", type=int, default=3_000, help="students of the smaller store (the demo school's size)")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    rows = run(args.students, args.repeat, small=args.small)
    print(
        markdown_table(
            rows,
            [("benchmark", "benchmark"), ("seconds", "median wall s"), ("min", "best wall s"), ("cpu", "median CPU s"), ("ratio", "ratio"), ("target", "target"), ("met", "met")],
        )
    )
