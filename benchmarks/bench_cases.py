"""`mhtool cases show` and `mhtool cases list` on a store of N students (target: each < 0.3 s at 50,000).

The store is generated through the store API (made-up students only): N
students, about 6 % of them watched with a timeline of screening, interview,
level change, follow-ups, a measure and a note, plus open interview tasks for
some unwatched students. Both commands then run as subprocesses with a key
file, as a counselor's terminal or a cron job would run them.

    python benchmarks/bench_cases.py --students 50000
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from common import ROOT, markdown_table, mhtool_cmd, run_timed

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


def run(students: int = 50_000, repeat: int = 5) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="mhtool-bench-") as tmp:
        started = time.perf_counter()
        made = generate(Path(tmp), students)
        generated = time.perf_counter() - started
        env = {"MHTOOL_STORE": str(made["store"]), "MHTOOL_KEY_FILE": str(made["key"]), "MHTOOL_USER": "bench"}
        # Timed as installed: with bytecode cached (kept in the temporary
        # folder, not the work tree), even where PYTHONDONTWRITEBYTECODE is set.
        env.update(PYTHONPYCACHEPREFIX=str(Path(tmp) / "pycache"), PYTHONDONTWRITEBYTECODE="")
        run_timed(mhtool_cmd("cases", "list"), env=env, repeat=1)
        run_timed(mhtool_cmd("cases", "show", made["watched_no"]), env=env, repeat=1)
        baseline = run_timed(mhtool_cmd("info"), env=env, repeat=repeat)
        show = run_timed(mhtool_cmd("cases", "show", made["watched_no"]), env=env, repeat=repeat)
        show_json = run_timed(mhtool_cmd("cases", "show", made["watched_no"], "--json"), env=env, repeat=repeat)
        listed = run_timed(mhtool_cmd("cases", "list"), env=env, repeat=repeat)
        listed_json = run_timed(mhtool_cmd("cases", "list", "--json"), env=env, repeat=repeat)
        overdue = run_timed(mhtool_cmd("cases", "list", "--overdue"), env=env, repeat=repeat)
        base = {"students": students, "watched": made["watched"], "generate_s": generated}
        rows = [{**base, "command": "info (startup baseline: no key, no dossier)", **baseline, "target": ""}]
        for command, timed in (
            ("cases show STUDENT", show),
            ("cases show STUDENT --json", show_json),
            ("cases list", listed),
            ("cases list --json", listed_json),
            ("cases list --overdue", overdue),
        ):
            rows.append(
                {
                    **base,
                    **timed,
                    "command": command,
                    "benchmark": f"{command} ({students:,} students, {made['watched']:,} watched)",
                    "baseline": "mhtool info",
                    "baseline_s": baseline["seconds"],
                    "ratio": timed["seconds"] / baseline["seconds"],
                    "target": "< 0.3 s",
                    "met": timed["seconds"] < 0.3,
                }
            )
        rows[0]["benchmark"] = f"mhtool info (start-up baseline, {students:,} students)"
        return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = run(args.students, args.repeat)
    print(
        markdown_table(
            rows,
            [("command", "command"), ("students", "students"), ("watched", "watched"), ("seconds", "median wall s"), ("min", "best wall s"), ("cpu", "median CPU s"), ("target", "target")],
        )
    )
    print(f"\nstore generated in {rows[0]['generate_s']:.1f} s")
