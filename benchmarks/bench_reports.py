"""`mhtool report weekly` and `report monthly` on a synthetic school (targets: under 1 s and 1.5 s).

The school: ``students`` students in five yearly cohorts over 24 colleges, a
UPI screening of every cohort in the September it arrived (``years`` of
screening), the interviews those screenings led to, ``watched`` students on
the watch list today with their whole timelines (level changes, follow-ups at
their level's cadence, help measures, guardian contacts, crises, referrals),
and as many again whose watch was closed in the past. Every name and number is
made up.

``build_store`` writes it straight through the store API (sealed rows inserted
in one transaction), so other benchmarks can reuse it::

    from bench_reports import build_store
    store_path, key_file = build_store(Path("/tmp/school"), students=50_000, years=5, watched=3_000, seed=7)

Run: python benchmarks/bench_reports.py [--students 50000] [--repeat 5] [--dir DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from common import ROOT, markdown_table, mhtool_cmd, run_timed

sys.path.insert(0, str(ROOT))

from mhtool.domain import dates  # noqa: E402
from mhtool.cases.domain import model  # noqa: E402
from mhtool.domain import rules  # noqa: E402
from mhtool.referral.domain import machine  # noqa: E402
from mhtool.store import crypto  # noqa: E402
from mhtool.store.core import Store, create_store  # noqa: E402

ADMIN = "bench"
COLLEGES = [
    "文学院", "历史文化学院", "外国语学院", "新闻传播学院", "法学院", "马克思主义学院", "经济学院", "管理学院",
    "数学与统计学院", "物理学院", "化学学院", "生命科学学院", "地理科学学院", "计算机学院", "电子信息学院", "机械工程学院",
    "土木工程学院", "材料学院", "医学院", "药学院", "护理学院", "艺术学院", "音乐学院", "体育学院",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建红鹏飞宇浩然子涵欣怡梓轩思远雨桐嘉怡晨曦文博一诺俊熙可馨"
MEASURES = [("定期谈话", "每两周谈话一次"), ("学业帮扶", "学业导师一对一辅导"), ("资助", "临时困难补助"), ("家长陪读", "家长陪读一个月"), ("朋辈支持", "心理委员每日关注")]
STATE_TEXT = ["情绪平稳，按时上课", "睡眠改善，仍有焦虑", "与室友关系缓和", "学业压力大，已联系导师", "情绪低落，继续观察"]
BAND_OF = {"red": "A", "orange": "A", "yellow": "B", "none": "C"}
WEIGHTS = {"yellow": 0.6, "orange": 0.3, "red": 0.1}


def _stamp(d: date) -> str:
    """A recording time on day ``d`` (10:00 in the store's zone, as UTC)."""
    return datetime(d.year, d.month, d.day, 2, 0, tzinfo=timezone.utc).isoformat(timespec="seconds")


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


class _Writer:
    """Rows to write, in order, with the bookkeeping the domain keeps.

    Rows are collected first and inserted after the student records they
    point to (the store enforces foreign keys), each with its id made up front.
    """

    def __init__(self):
        self.rows: list[tuple[str, str, dict, dict]] = []

    def add(self, table: str, record: dict, columns: dict) -> str:
        rid = crypto.random_id()
        self.rows.append((table, rid, record, columns))
        return rid

    def entry(self, sid: str, kind: str, on: date, fields: dict, author: str) -> str:
        data = {"kind": kind, "date": on.isoformat(), "author": author, "recorded_at": _stamp(on), "fields": fields}
        return self.add("entries", data, {"student_id": sid, "on_date": on.isoformat()})

    def task(self, sid: str, kind: str, created: date, due: date, done: date | None, author: str, **data) -> str:
        record = {"kind": kind, "created_by": author, "created_at": _stamp(created), **data}
        if done is not None:
            record["done_by"] = author
        return self.add("tasks", record, {"student_id": sid, "due_on": due.isoformat(), "done_on": done.isoformat() if done else None})

    def watch(self, sid: str, level: str, opened: date, closed: date | None, author: str) -> None:
        data = {"level": level, "opened_by": author, "reason": "约谈评估确认"}
        if closed:
            data.update(closed_by=author, close_reason="状态稳定，解除关注")
        self.add("watches", data, {"student_id": sid, "opened_on": opened.isoformat(), "closed_on": closed.isoformat() if closed else None})

    def flush(self, txn) -> None:
        for table, rid, record, columns in self.rows:
            txn.insert(table, record, columns=columns, record_id=rid, audit=False)
        self.rows.clear()


def _episode(w: _Writer, sid: str, student: dict, opened: date, end: date, today: date, counselor: str, rng: random.Random) -> str:
    """One watch episode's timeline from ``opened`` to ``end`` (``end == today`` means still open); returns its first level."""
    level = first = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
    w.entry(sid, "interview", opened, {"findings": rng.choice(STATE_TEXT), "confirmed_level": level}, counselor)
    w.entry(sid, "level_change", opened, {"from": "none", "to": level, "reason": "约谈评估确认"}, counselor)
    kind, text = rng.choice(MEASURES)
    w.entry(sid, "measure", opened, {"measure_kind": kind, "description": text, "responsible": counselor}, counselor)
    if rng.random() < 0.7:
        w.entry(sid, "guardian_contact", opened + timedelta(days=1), {"guardian": "母亲", "content": "告知关注情况", "consent": "signed"}, counselor)
    changes = sorted(opened + timedelta(days=rng.randint(10, max(11, (end - opened).days))) for _ in range(rng.choice((0, 0, 1, 1, 2, 3))))
    day = since = opened
    while True:
        due = day + timedelta(days=rules.DEFAULT_CADENCE[level])
        if changes and changes[0] <= due and changes[0] < end:
            on = changes.pop(0)
            new = rng.choice([lv for lv in WEIGHTS if lv != level])
            w.entry(sid, "level_change", on, {"from": level, "to": new, "reason": "回访评估调整"}, counselor)
            w.task(sid, "follow_up", day, due, on, counselor, level=level, cancelled=True, cancel_reason="superseded")
            level, day = new, on
            since = on
            continue
        if due >= end:
            if end == today:
                # Still watched: one open follow-up; about one in ten is late.
                late = rng.random() < 0.1
                w.task(sid, "follow_up", day, today - timedelta(days=rng.randint(1, 20)) if late else max(due, today), None, counselor, level=level)
            break
        done = due if rng.random() < 0.85 else due + timedelta(days=rng.randint(1, 10))
        if done >= end:
            done = due
        kind = "interview" if rng.random() < 0.2 else "follow_up"
        fields = {"findings": rng.choice(STATE_TEXT)} if kind == "interview" else {"content": rng.choice(STATE_TEXT), "mode": rng.choice(("面谈", "电话"))}
        w.entry(sid, kind, done, fields, counselor)
        w.task(sid, "follow_up", day, due, done, counselor, level=level)
        day = done
    if end != today:
        w.entry(sid, "level_change", end, {"from": level, "to": "none", "reason": "状态稳定，解除关注"}, counselor)
        w.entry(sid, "close", end, {"reason": "状态稳定，解除关注"}, counselor)
        level = "none"
    student.update(level=level, level_since=(since if level != "none" else end).isoformat(), level_reason="约谈评估确认" if level != "none" else None)
    return first


def build_store(path: Path, students: int = 50_000, years: int = 5, watched: int | None = None, seed: int = 2026) -> tuple[Path, Path]:
    """Create a synthetic school store in directory ``path``; return (store file, admin key file).

    ``watched`` defaults to 6 % of the students (3,000 of 50,000). The admin
    is ``bench``; open the store with ``MHTOOL_KEY_FILE=<key file> MHTOOL_USER=bench``.
    """
    if watched is None:
        watched = round(students * 0.06)
    rng = random.Random(seed)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    store_path, key_file = path / "store.db", path / "bench.key"
    for p in (store_path, key_file, Path(f"{store_path}-wal"), Path(f"{store_path}-shm")):
        p.unlink(missing_ok=True)
    material = crypto.write_key_file(key_file)
    credential = crypto.Credential(key_material=material, source=str(key_file))
    create_store(store_path, ADMIN, credential)
    store = Store.open(store_path, credential, ADMIN)
    today = dates.today(store.tz)
    counselors = [f"咨询师{i:02d}" for i in range(1, 13)]

    # Students: five cohorts, the newest arrived this autumn (or last autumn before September).
    newest = today.year if today.month >= 9 else today.year - 1
    cohorts = [newest - i for i in range(5)]
    records: list[dict] = []
    for i in range(students):
        year = cohorts[i % len(cohorts)]
        college = rng.choice(COLLEGES)
        cls = f"{str(year)[2:]}级{rng.randint(1, 8)}班"
        records.append(
            {
                "student_no": f"{year}{i:06d}",
                "name": _name(rng),
                "gender": rng.choice(("男", "女")),
                "college": college,
                "major": college[:-2] + "专业",
                "grade": str(year),
                "class_name": cls,
                "dorm": f"{rng.choice('东西南北')}区{rng.randint(1, 20)}-{rng.randint(101, 620)}",
                "phone": f"138{rng.randint(0, 99_999_999):08d}",
                "advisor": f"{college[:2]}辅导员{rng.randint(1, 6)}",
                "advisor_phone": f"139{rng.randint(0, 99_999_999):08d}",
                "guardians": [{"name": _name(rng), "relation": rng.choice(("父亲", "母亲")), "phone": f"137{rng.randint(0, 99_999_999):08d}"}],
                "groups": ["hardship"] if rng.random() < 0.1 else [],
                "tags": [],
                "status": "enrolled",
                "level": "none",
                "level_since": None,
                "level_reason": None,
                "counselor": rng.choice(counselors),
                "created_at": _stamp(date(year, 9, 1)),
                "updated_at": _stamp(date(year, 9, 1)),
                "source": "roster",
            }
        )
    ids = [crypto.random_id() for _ in records]

    w = _Writer()
    # Screening: each cohort answered the UPI in the September it arrived.
    hospital = w.add("hospitals", {"name": "示例市精神卫生中心", "department": "心理门诊", "level": "3A", "green_channel": True}, {})
    for year in sorted(cohorts)[-years:]:
        on = date(year, 9, 10)
        if on > today:
            continue
        members = [k for k in range(students) if records[k]["grade"] == str(year)]
        proposed = {"red": 0, "orange": 0, "yellow": 0}
        levels = rng.choices(("none", "yellow", "orange", "red"), weights=(85, 10, 4, 1), k=len(members))
        for lv in levels:
            if lv != "none":
                proposed[lv] += 1
        batch = w.add(
            "batches",
            {
                "name": f"{year}秋季新生UPI", "instrument": "upi", "version": "1.0", "file": f"{year}_upi.xlsx", "sheet": "Sheet1",
                "profile": "wjx", "imported_at": _stamp(on), "imported_by": ADMIN, "rows": len(members), "imported": len(members),
                "superseded": 0, "rejected": 0, "proposed": proposed, "voided": False,
            },
            {"content_bi": crypto.random_id(16).encode(), "imported_on": on.isoformat()},
        )
        for k, lv in zip(members, levels):
            r = records[k]
            answers = {str(n): int(rng.random() < (0.35 if lv != "none" else 0.1)) for n in range(1, 61)}
            total = sum(v for n, v in answers.items() if n not in ("5", "20", "35", "50"))
            rid = w.add(
                "responses",
                {
                    "instrument": "upi", "version": "1.0", "row": k + 2, "submitted_at": f"{on.isoformat()} 20:00:00",
                    "scores": {"total": total}, "band": BAND_OF[lv], "flags": ["item25"] if lv == "red" else [], "proposed_level": lv,
                    "answers": answers, "student_no": r["student_no"],
                    **{f: r[f] for f in ("name", "gender", "college", "major", "grade", "class_name")},
                },
                {"batch_id": batch, "student_id": ids[k], "on_date": on.isoformat()},
            )
            if lv != "none":
                due = on + timedelta(days=rules.INTERVIEW_DUE_DAYS[lv])
                done = on + timedelta(days=rng.randint(1, rules.INTERVIEW_DUE_DAYS[lv] + 3))
                if done > today:
                    done = None
                w.task(ids[k], "interview", on, due, done, ADMIN, proposed_level=lv, batch_id=batch, response_id=rid, instrument="upi")
                if done:
                    w.entry(ids[k], "interview", done, {"findings": rng.choice(STATE_TEXT), "confirmed_level": "none"}, records[k]["counselor"])

    # The watch list today, and as many past watches that were closed.
    chosen = rng.sample(range(students), min(students, watched * 2))
    for n, k in enumerate(chosen):
        r, sid = records[k], ids[k]
        start = max(date(int(r["grade"]), 9, 15), today - timedelta(days=730))
        if start >= today - timedelta(days=2):
            start = today - timedelta(days=30)
        if n < watched:
            opened, end = start + timedelta(days=rng.randint(0, max(0, (today - start).days - 1))), today
        else:
            # A past watch, closed on some day since the student arrived.
            end = min(start + timedelta(days=rng.randint(20, max(20, (today - start).days - 1))), today - timedelta(days=1))
            opened = max(start, end - timedelta(days=rng.randint(20, 300)))
        first = _episode(w, sid, r, opened, end, today, r["counselor"], rng)
        w.watch(sid, first, opened, None if end == today else end, r["counselor"])
        if rng.random() < 0.03:
            on = opened + timedelta(days=rng.randint(0, max(0, (end - opened).days)))
            w.entry(sid, "crisis", on, {"what": "情绪激动，有自伤言语", "where": "宿舍", "actions": "辅导员陪同，联系家长", "happened_at": f"{on.isoformat()} 22:30"}, r["counselor"])
        if rng.random() < 0.05:
            on = opened + timedelta(days=rng.randint(0, max(0, (end - opened).days)))
            at = datetime.combine(on, datetime.min.time()).replace(hour=15)
            record, _ = machine.new_referral(
                {"hospital_id": hospital, "hospital": "示例市精神卫生中心", "referred_on": on, "reason": "持续失眠伴消极想法", "urgency": "routine"},
                today=today, by=r["counselor"], at=at,
            )
            visit = on + timedelta(days=rng.randint(1, 6))
            if visit <= today:
                seen = datetime.combine(visit, datetime.min.time()).replace(hour=15)
                record, _ = machine.update(record, "attended", {"visit_date": visit}, on=visit, today=today, by=r["counselor"], at=seen)
            ref = w.add("referrals", record, {"student_id": sid, "hospital_id": hospital, "referred_on": record["referred_on"]})
            w.entry(sid, "referral", on, {"referral_id": ref, "status": "referred", "hospital": "示例市精神卫生中心"}, r["counselor"])

    with store.write("bench.generate", details={"students": students}) as txn:
        for k, r in enumerate(records):
            txn.insert("students", r, columns={"student_no_bi": store.student_no_index(r["student_no"])}, record_id=ids[k], audit=False)
        w.flush(txn)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return store_path, key_file


def run(students: int = 50_000, *, repeat: int = 5, directory: Path | None = None, years: int = 5, watched: int | None = None, seed: int = 2026) -> list[dict]:
    """Build the school, then time `report weekly` and `report monthly` as cron runs them (median of ``repeat``)."""
    own = directory is None
    base = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="mhtool-bench-reports-"))
    try:
        started = time.perf_counter()
        # Generated in a process of its own: the timed commands are started from
        # this one, and would otherwise be charged its memory as their peak RSS.
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            store_path, key_file = pool.submit(build_store, base / "school", students, years, watched, seed).result()
        built = time.perf_counter() - started
        watched = round(students * 0.06) if watched is None else watched
        out = base / "reports"
        out.mkdir(exist_ok=True)
        # Bytecode as installed: common.run_timed compiles mhtool and clears the bytecode variables.
        env = {"MHTOOL_STORE": str(store_path), "MHTOOL_KEY_FILE": str(key_file), "MHTOOL_USER": ADMIN, "NO_COLOR": "1"}
        size = store_path.stat().st_size / 2**20
        rows = [
            {
                "benchmark": f"generate the school ({students:,} students, {years} years of screening, {watched:,} watched; store {size:.0f} MiB)",
                "seconds": built,
                "target": "",
                "met": "",
            }
        ]
        # The first report on a store opens every watched timeline (and every dossier, for the
        # counts by college) and keeps sealed copies; later ones open only what was written since.
        # Each kind's first report is timed once on a copy of the store as generated.
        pristine = base / "as-generated.db"
        shutil.copy2(store_path, pristine)
        for kind, target in (("weekly", 1.0), ("monthly", 1.5)):
            cmd = mhtool_cmd("report", kind, "--out", f"{out}/")
            first = base / "first-report"
            first.mkdir(exist_ok=True)
            shutil.copy2(pristine, first / store_path.name)
            cold = run_timed(cmd, env={**env, "MHTOOL_STORE": str(first / store_path.name)}, repeat=1)
            shutil.rmtree(first)
            rows.append({"benchmark": f"mhtool report {kind} --out DIR ({students:,} students), the store's first report", **cold, "target": "(reported)", "met": ""})
            run_timed(cmd, env=env, repeat=1)
            timed = run_timed(cmd, env=env, repeat=repeat)
            rows.append(
                {
                    "benchmark": f"mhtool report {kind} --out DIR ({students:,} students)",
                    **timed,
                    "target": f"< {target:g} s wall",
                    "met": timed["seconds"] < target,
                }
            )
        pristine.unlink()
        return rows
    finally:
        if own:
            shutil.rmtree(base, ignore_errors=True)


COLUMNS = [("benchmark", "benchmark"), ("seconds", "median wall s"), ("min", "best wall s"), ("cpu", "median CPU s"), ("peak_rss_mib", "peak RSS MiB"), ("target", "target"), ("met", "met")]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--watched", type=int, default=None, help="Watched students (default: 6 %% of --students).")
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="Keep the store and reports here (default: a temporary directory, removed).")
    args = parser.parse_args()
    print(markdown_table(run(args.students, repeat=args.repeat, directory=args.dir, years=args.years, watched=args.watched), COLUMNS))
