"""`mhtool demo`: a synthetic school run through the whole routine, end to end.

It uses the same code paths as real work: exports in the platforms' shapes are
imported by the importer, the four simulated weeks are recorded through the
dossier and referral services, and the reports are built by the report
package. Only the data is made up (see :mod:`mhtool.demo_data`); the store is
a real encrypted store protected by a key file kept beside it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from mhtool.errors import UsageError

ADMIN = "demo-admin"
COUNSELOR = "demo-counselor"
CLERK = "demo-clerk"
STORE_NAME = "demo-store.db"
KEY_NOTE = """这是 mhtool 演示用的密钥文件，仅用于演示数据（合成数据，无真实学生信息）。
This folder holds an mhtool DEMO store with made-up data only. The *.key files open it.
Never use these keys or this store for real student records.
"""


@dataclass
class DemoResult:
    folder: Path
    store: Path
    keys: dict[str, Path]
    files: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    sample_student: str = ""
    sample_referral: str = ""
    sample_crisis: str = ""
    seconds: float = 0.0


def _open(store_path: Path, key: Path, user: str):
    from mhtool.store.core import Store
    from mhtool.store.crypto import Credential, read_key_file

    return Store.open(store_path, Credential(key_material=read_key_file(key), source=str(key)), user)


def build_demo(folder: Path, *, students: int = 3000, seed: int = 2026, today: date | None = None, progress=None) -> DemoResult:
    """Create the demo store, exports and reports in ``folder``; returns what was made."""
    from mhtool.domain import dates
    from mhtool import demo_data
    from mhtool.store import admin
    from mhtool.store.core import create_store
    from mhtool.store.crypto import Credential, write_key_file

    started = time.perf_counter()
    tick = progress or (lambda step: None)
    folder = Path(folder)
    store_path = folder / STORE_NAME
    if store_path.exists():
        raise UsageError(f"{folder} already holds a demo store", hint=f"remove the folder or choose another --dir (e.g. --dir {folder}-2)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "exports").mkdir(exist_ok=True)
    (folder / "reports").mkdir(exist_ok=True)
    (folder / "README-DEMO.txt").write_text(KEY_NOTE, "utf-8")
    today = today or dates.today()
    rng = random.Random(seed)

    tick("school")
    keys = {name: folder / f"{name}.key" for name in (ADMIN, COUNSELOR, CLERK)}
    for path in keys.values():
        if path.exists():
            path.unlink()
    create_store(store_path, ADMIN, Credential(key_material=write_key_file(keys[ADMIN]), source="demo"))
    with _open(store_path, keys[ADMIN], ADMIN) as store:
        admin.add_staff(store, COUNSELOR, "counselor", Credential(key_material=write_key_file(keys[COUNSELOR]), source="demo"))
        admin.add_staff(store, CLERK, "clerk", Credential(key_material=write_key_file(keys[CLERK]), source="demo"))
    result = DemoResult(folder=folder, store=store_path, keys=keys)

    school = demo_data.build_school(students, seed=seed)
    census_day = today - timedelta(weeks=4)
    start = demo_data.census_start(today)
    exports = folder / "exports"
    files = {
        "roster": demo_data.write_roster(exports / "学生名册.xlsx", school),
        "upi": demo_data.write_wjx_upi(exports / "问卷星_UPI_按选项文本.xlsx", school, start, rng=random.Random(seed + 1)),
        "scl90": demo_data.write_wjx_scl90(exports / "问卷星_SCL-90_按选项序号.xlsx", school, start + timedelta(days=2), rng=random.Random(seed + 2)),
        "phq9": demo_data.write_tencent_phq9(exports / "腾讯问卷_PHQ-9.csv", school, start + timedelta(days=4), rng=random.Random(seed + 3)),
    }
    result.files.extend(files.values())

    tick("import")
    with _open(store_path, keys[ADMIN], ADMIN) as store:
        _import_all(store, files, census_day, folder)
    result.files.extend(sorted(exports.glob("*_rejected.xlsx")))
    with _open(store_path, keys[ADMIN], ADMIN) as store:
        result.counts["students"] = store.count("students")
        result.counts["responses"] = store.count("responses")

    tick("four weeks")
    with _open(store_path, keys[COUNSELOR], COUNSELOR) as store:
        sample = _simulate(store, school, census_day, today, rng)
        result.sample_student, result.sample_referral, result.sample_crisis = sample
        result.counts["watched"] = store.count("watches", "closed_on IS NULL")
        result.counts["entries"] = store.count("entries")
        result.counts["referrals"] = store.count("referrals")
        result.counts["open_tasks"] = store.count("tasks", "done_on IS NULL")

    tick("reports")
    with _open(store_path, keys[COUNSELOR], COUNSELOR) as store:
        result.files.extend(_reports(store, folder / "reports", today, result.sample_student, result.sample_crisis))
    result.seconds = time.perf_counter() - started
    return result


def _import_all(store, files: dict[str, Path], census_day: date, folder: Path) -> None:
    from mhtool.survey.usecases import importer

    importer.import_roster(store, files["roster"])
    for offset, code in enumerate(("upi", "scl90", "phq9")):
        plan = importer.plan_import(files[code], code)
        importer.apply_import(
            store,
            plan,
            batch_name=f"{census_day.year}秋季新生普查-{code.upper()}",
            skip_invalid=True,
            rejects=folder / "exports" / f"{files[code].stem}_rejected.xlsx",
            on=census_day + timedelta(days=2 * offset + 1),
        )


def _simulate(store, school, census_day: date, today: date, rng: random.Random) -> tuple[str, str, str]:
    """Four weeks of the center's work, recorded through the dossier and referral services."""
    from mhtool.cases.domain import model
    from mhtool.cases.usecases import service
    from mhtool.referral.usecases import service as referrals

    cadence = service.cadence(store)
    by_no = {s.student_no: s for s in school.students}
    tasks = sorted((t for t in service.open_tasks(store) if t["kind"] == "interview"), key=lambda t: (t["due_on"], t["id"]))
    students = {s["id"]: s for s in store.select("students")}
    confirmed: list[dict] = []
    for i, task in enumerate(tasks):
        due = date.fromisoformat(task["due_on"])
        # Most interviews happen on time, a few late, and some are still pending (overdue) today.
        if rng.random() < 0.12:
            continue
        on = min(today - timedelta(days=1), due + timedelta(days=rng.choice((0, 0, 0, 1, 2, 5))))
        if on < census_day:
            on = census_day
        student = students[task["student_id"]]
        proposed = task.get("proposed_level") or "yellow"
        roll = rng.random()
        level = "none" if roll < 0.35 else proposed if roll < 0.85 else {"red": "orange", "orange": "yellow", "yellow": "yellow"}[proposed]
        findings = {
            "none": ("情绪较稳定，适应良好，筛查结果与近期考试压力有关", "作答时理解有偏差，访谈未见明显困扰"),
            "yellow": ("自述入学后睡眠差、想家，情绪低落两周", "人际关系紧张，宿舍矛盾，偶有失眠"),
            "orange": ("学业压力大，对专业不适应，自我评价偏低，持续一个月", "家庭变故后情绪波动明显，愿意接受定期谈话"),
            "red": ("近两周情绪持续低落，有消极念头但无具体计划", "失眠加重伴自伤想法，需密切关注并联系家长"),
        }
        fields = {
            "findings": rng.choice(findings[level]),
            "mode": rng.choice(("面谈", "面谈", "电话")),
            "duration": rng.choice((30, 40, 50)),
            "risk": {"red": "高风险", "orange": "中风险", "yellow": "低风险", "none": "低风险"}[level],
            "confirmed_level": level,
            "next_step": "按周期回访" if level != "none" else "不纳入关注，告知可随时预约咨询",
        }
        effects = model.record_interview(student, fields, on, cadence=cadence)
        if level != "none" and not effects.student.get("counselor"):
            effects.student["counselor"] = store.staff.name  # the interviewing counselor takes the case
        service.record_effects(store, "cases.interview", student, effects, on)
        student = store.get("students", student["id"])
        students[student["id"]] = student
        if level != "none":
            confirmed.append(student)
    # Measures, guardian contacts and follow-ups for the watched students.
    for student in confirmed:
        student = store.get("students", student["id"])
        if (student.get("level") or "none") == "none":
            continue
        since = date.fromisoformat(student["level_since"])
        if rng.random() < 0.8:
            kind = rng.choice(("定期谈话", "学业帮扶", "朋辈支持", "资助"))
            effects = model.Effects(dict(student), entries=[("measure", model.validate_entry("measure", {
                "measure_kind": kind, "description": "由辅导员与心理委员协同落实，每两周沟通一次", "responsible": by_no[student["student_no"]].advisor if student["student_no"] in by_no else "辅导员",
                "start": since.isoformat()}))])
            service.record_effects(store, "cases.measure", student, effects, since)
        if student["level"] in ("red", "orange"):
            effects = model.Effects(dict(student), entries=[("guardian_contact", model.validate_entry("guardian_contact", {
                "guardian": "母亲", "content": "告知学生近况与学校支持措施，家长表示配合", "channel": "电话",
                "consent": "signed" if student["level"] == "red" else "not_needed"}))])
            service.record_effects(store, "cases.guardian", student, effects, min(today - timedelta(days=1), since + timedelta(days=1)))
        day = since + timedelta(days=cadence[student["level"]])
        while day < today and rng.random() < 0.85:
            student = store.get("students", student["id"])
            if (student.get("level") or "none") == "none":
                break
            effects = model.record_follow_up(student, {"content": rng.choice(("状态平稳", "睡眠改善", "仍有焦虑，继续观察")), "mode": "面谈"}, day, cadence=cadence)
            service.record_effects(store, "cases.follow-up", student, effects, day)
            day += timedelta(days=cadence[student["level"]])
    sample_student, sample_referral, sample_crisis = _referrals_and_crises(store, confirmed, census_day, today, rng, referrals)
    return sample_student, sample_referral, sample_crisis


def _referrals_and_crises(store, confirmed, census_day, today, rng, referrals) -> tuple[str, str, str]:
    from mhtool.cases.domain import model
    from mhtool.cases.usecases import service

    reds = [s for s in (store.get("students", c["id"]) for c in confirmed) if s.get("level") == "red"]
    oranges = [s for s in (store.get("students", c["id"]) for c in confirmed) if s.get("level") == "orange"]
    pool = reds + oranges
    if len(pool) < 4:
        return (pool[0]["student_no"] if pool else "", "", "")
    hospital = referrals.add_hospital(store, "示例市精神卫生中心", department="心理科", level="三甲", phone="0000-0000000", green_channel=True)
    referrals.add_hospital(store, "示例大学附属医院", department="精神科门诊", level="三甲")
    # Two crises, each reported to the guardian within hours.
    crisis_ids = []
    for student, offset in ((pool[0], 16), (pool[1], 6)):
        on = today - timedelta(days=offset)
        fields = model.validate_entry("crisis", {
            "what": "深夜在宿舍情绪崩溃，室友报告辅导员", "where": "学生宿舍", "actions": "辅导员与咨询师到场陪伴，评估自伤风险，联系家长",
            "notified": [{"who": "家长", "at": f"{on.isoformat()} 23:40"}, {"who": "学院副书记", "at": f"{on.isoformat()} 23:55"}],
            "happened_at": f"{on.isoformat()} 22:50"})
        ids = service.record_effects(store, "cases.crisis", student, model.Effects(dict(student), entries=[("crisis", fields)]), on)
        crisis_ids.append(ids[0])
    # Referrals in different states.
    states = (
        (pool[0], 15, "urgent", ("attended", "assessed")),
        (pool[1], 5, "emergency", ("attended",)),
        (pool[2], 20, "routine", ("attended", "assessed", "treatment_outpatient")),
        (pool[3], 3, "routine", ()),
    )
    first_ref = ""
    for student, days_ago, urgency, steps in states:
        on = today - timedelta(days=days_ago)
        view = referrals.add_referral(
            store, student["student_no"], hospital=hospital["name"], reason="持续情绪低落伴睡眠障碍，需专科评估", urgency=urgency,
            escort="辅导员" if urgency != "routine" else None, guardian_informed=f"{on.isoformat()} 10:00", guardian_how="电话", guardian_by="咨询师",
            consent="signed", when=on.isoformat(),
        )
        ref = view["id"]
        first_ref = first_ref or ref
        step_day = on
        for status in steps:
            step_day = min(today - timedelta(days=1), step_day + timedelta(days=2))
            extra = {}
            if status == "attended":
                extra["visit_date"] = step_day.isoformat()
            if status == "assessed":
                extra.update(diagnosis="抑郁状态（医院告知）", advice="leave" if student is pool[0] else "outpatient", medication=True,
                             next_review=(step_day + timedelta(days=28)).isoformat())
            referrals.update_referral(store, ref, status=status, when=step_day.isoformat(), **extra)
    # One leave of absence and one return with a certificate.
    leaver = store.get("students", pool[0]["id"])
    leave_day = today - timedelta(days=8)
    service.record_effects(store, "cases.status", leaver, model.change_status(leaver, "leave", {"reason": "遵医嘱休学治疗", "from_date": leave_day.isoformat()}, leave_day), leave_day)
    returner = store.get("students", pool[3]["id"])
    away = census_day + timedelta(days=1)
    service.record_effects(store, "cases.status", returner, model.change_status(returner, "leave", {"reason": "因病休学", "from_date": away.isoformat()}, away), away)
    returner = store.get("students", returner["id"])
    back = today - timedelta(days=2)
    service.record_effects(
        store, "cases.status", returner,
        model.change_status(returner, "returned", {"reason": "复学", "on": back.isoformat(), "certificate": f"示例市精神卫生中心, {back.isoformat()}, 病情稳定可复学"}, back),
        back,
    )
    return pool[0]["student_no"], first_ref, crisis_ids[0]


def _reports(store, out: Path, today: date, student_no: str, crisis_id: str) -> list[Path]:
    """Weekly, monthly, census and crisis workbooks and one dossier export, as a center would file them."""
    from mhtool.domain import dates
    from mhtool.cases.usecases import dossier
    from mhtool.report.domain import builders
    from mhtool.report.usecases import gather, service
    from mhtool.domain.periods import last_complete_week, parse_month
    from mhtool.io.xlsx import default_file_name, safe_file_name, write_report

    generated = dates.now(store.tz).replace(tzinfo=None, microsecond=0)
    purpose = {"purpose": "mhtool demo"}
    written = []
    for kind, period in (("weekly", last_complete_week(today)), ("monthly", parse_month(today.strftime("%Y-%m")))):
        report, data = service.case_report(store, kind, period, today=today, generated_at=generated)
        written.append(write_report(report, out / default_file_name(report)))
        gather.record_read(store, f"report.{kind}", data.students, details={"period": period.label, **purpose})
    for batch in store.select("batches", order="imported_on"):
        report, data = service.census_report(store, batch["id"], today=today, generated_at=generated)
        written.append(write_report(report, out / safe_file_name(f"普查报告_{batch['name']}.xlsx")))
        gather.record_read(store, "report.census", service.interviewed_students(data), details={"batch": batch["id"], **purpose})
    if crisis_id:
        data = gather.crisis_data(store, crisis_id, today=today)
        report = builders.crisis_report(data, generated_at=generated, lang="zh", contacts=True)
        written.append(write_report(report, out / safe_file_name(f"危机事件报告_{data.entry['date']}_{crisis_id[:8]}.xlsx")))
        gather.record_read(store, "report.crisis", [data.student["id"]], details={"entry": crisis_id, **purpose})
    if student_no:
        d = dossier.dossier(store, student_no, action="cases.export", details=purpose)
        written.append(write_report(dossier.export_report(d, lang="zh", generated_at=generated), out / safe_file_name(f"档案_{student_no}.xlsx")))
    return written


def run_demo(folder: Path, *, students: int = 3000, seed: int = 2026) -> None:
    """The `mhtool demo` command: build, then tell the user what was made and what to try."""
    from mhtool.console import output

    steps = {"school": "building the school and the exports", "import": "importing the census exports",
             "four weeks": "simulating four weeks of interviews, follow-ups, crises and referrals", "reports": "writing the reports"}
    result = build_demo(folder, students=students, seed=seed, progress=lambda step: output.info(f"… {steps[step]}"))
    env = f"MHTOOL_STORE={result.store} MHTOOL_KEY_FILE={result.keys[COUNSELOR]} MHTOOL_USER={COUNSELOR}"
    output.success(
        f"demo ready in {result.seconds:.0f} s: {result.counts['students']} made-up students, {result.counts['responses']} screening responses, "
        f"{result.counts['watched']} on the watch list, {result.counts['referrals']} referrals, {result.counts['open_tasks']} open tasks"
    )
    output.info(f"folder: {result.folder} (a DEMO store with synthetic data; keys are the *.key files beside it)")
    output.info("files:")
    for path in result.files:
        output.info(f"  {path}")
    output.info("\nnext, try (as the demo counselor):")
    for cmd in (
        f"export {env}",
        "mhtool cases tasks --overdue",
        "mhtool cases list --level red",
        f"mhtool cases show {result.sample_student}",
        "mhtool cases check",
        f"mhtool referral show {result.sample_referral}",
        "mhtool survey batches",
        "mhtool report weekly --out " + str(result.folder / "reports"),
        f"MHTOOL_KEY_FILE={result.keys[CLERK]} MHTOOL_USER={CLERK} mhtool cases show {result.sample_student}   # a clerk sees no clinical detail",
        f"MHTOOL_KEY_FILE={result.keys[ADMIN]} MHTOOL_USER={ADMIN} mhtool audit verify",
    ):
        output.info(f"  {cmd}")
    output.emit_line(str(result.store))
