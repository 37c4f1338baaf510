"""`mhtool demo`: a synthetic school run through the whole routine, end to end.

It uses the same code paths as real work: every step goes through the
use-case layer (:class:`mhtool.app.Center`), exactly as the commands do, so
exports in the platforms' shapes are imported by the importer, the four
simulated weeks are recorded as a counselor would record them, and the
reports are built and audited as on the command line. Only the data is made up (see :mod:`mhtool.demo_data`); the store is
a real encrypted store protected by a key file kept beside it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from mhtool.errors import UsageError
from mhtool.domain.labels import network_period_name
from mhtool.i18n import N_, _, current

ADMIN = "demo-admin"
COUNSELOR = "demo-counselor"
CLERK = "demo-clerk"
STORE_NAME = "demo-store.db"
DISPLAY_NAMES = {ADMIN: "王立", COUNSELOR: "张华", CLERK: "李青"}
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
    sample_signal: str = ""  # the student the radar ranks first (most sources)
    network_week: str = ""  # the week of the weekly report, for which one class has not reported
    network_missing: list[str] = field(default_factory=list)  # that class
    signals: dict[str, int] = field(default_factory=dict)  # rule → signals the campus imports raised
    seconds: float = 0.0


def _open(store_path: Path, key: Path, user: str):
    from mhtool.app.center import Center, credential_from_key_file

    return Center.open(store_path, credential_from_key_file(key), user)


def build_demo(folder: Path, *, students: int = 3000, seed: int = 2026, today: date | None = None, progress=None) -> DemoResult:
    """Create the demo store, exports and reports in ``folder``; returns what was made."""
    from mhtool import demo_data
    from mhtool.app.center import Center
    from mhtool.domain import dates
    from mhtool.store.crypto import Credential, write_key_file

    started = time.perf_counter()
    tick = progress or (lambda step: None)
    folder = Path(folder)
    store_path = folder / STORE_NAME
    if store_path.exists():
        raise UsageError(
            _("{folder} already holds a demo store").format(folder=folder),
            hint=_("remove the folder or choose another --dir (e.g. --dir {folder}-2)").format(folder=folder),
        )
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
    Center.create(store_path, ADMIN, Credential(key_material=write_key_file(keys[ADMIN]), source="demo"))
    with _open(store_path, keys[ADMIN], ADMIN) as center:
        # Reports print display names (负责咨询师 张华), as a center's staff would be set up.
        center.admin.staff_edit(ADMIN, display_name=DISPLAY_NAMES[ADMIN])
        center.admin.staff_add(COUNSELOR, "counselor", Credential(key_material=write_key_file(keys[COUNSELOR]), source="demo"), display_name=DISPLAY_NAMES[COUNSELOR])
        center.admin.staff_add(CLERK, "clerk", Credential(key_material=write_key_file(keys[CLERK]), source="demo"), display_name=DISPLAY_NAMES[CLERK])
    result = DemoResult(folder=folder, store=store_path, keys=keys)

    school = demo_data.build_school(students, seed=seed)
    # A few final-year students (毕业年级) in the roster, for 毕业欠学分; the census is of the freshmen.
    demo_data.add_seniors(school, max(8, students // 100), demo_data.final_year_cohort(today), seed=seed)
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
    with _open(store_path, keys[ADMIN], ADMIN) as center:
        _import_all(center, files, census_day, folder)
    result.files.extend(sorted(exports.glob("*_rejected.xlsx")))

    tick("four weeks")
    with _open(store_path, keys[COUNSELOR], COUNSELOR) as center:
        sample = _simulate(center, school, census_day, today, rng)
        result.sample_student, result.sample_referral, result.sample_crisis = sample
        result.counts["watched"] = len(center.cases.list())
        result.counts["open_tasks"] = len(center.cases.tasks())

    tick("campus")
    campus = _campus_exports(exports, school, today, seed)
    result.files.extend(campus.values())
    with _open(store_path, keys[COUNSELOR], COUNSELOR) as center:
        result.signals, result.counts["signal_students"], result.sample_signal = _campus_signals(center, campus, today)
        result.counts["open_tasks"] = len(center.cases.tasks())

    tick("network")
    with _open(store_path, keys[CLERK], CLERK) as center:
        result.files.extend(_network(center, exports, school, today, seed, result))
    tick("counseling")
    result.counts.update(_counseling(store_path, keys, school, today, seed))
    records = Center.info(store_path)["records"]
    result.counts.update(students=records["students"], responses=records["responses"], entries=records["entries"], referrals=records["referrals"])

    tick("reports")
    with _open(store_path, keys[COUNSELOR], COUNSELOR) as center:
        # The peer reports' 研判 tasks are the counselor's too.
        result.counts["open_tasks"] = len(center.cases.tasks())
        result.files.extend(_reports(center, folder / "reports", today, result.sample_student, result.sample_crisis))
    result.seconds = time.perf_counter() - started
    return result


def _import_all(center, files: dict[str, Path], census_day: date, folder: Path) -> None:
    center.cases.import_roster(files["roster"])
    for offset, code in enumerate(("upi", "scl90", "phq9")):
        center.survey.import_file(
            files[code],
            code,
            batch_name=f"{census_day.year}秋季新生普查-{center.survey.instrument(code).display_name}",
            skip_invalid=True,
            rejects=folder / "exports" / f"{files[code].stem}_rejected.xlsx",
            on=census_day + timedelta(days=2 * offset + 1),
        )


def _campus_exports(exports: Path, school, today: date, seed: int) -> dict[str, Path]:
    """A week of dorm passes, ten weeks of card transactions and the course results, in the systems' shapes.

    The week and the ten weeks end yesterday (the morning after the last night
    closes it); a few students trip each rule (:func:`mhtool.demo_data.campus_plan`).
    """
    from mhtool import demo_data

    plan = demo_data.campus_plan(school, seed=seed)
    yesterday = today - timedelta(days=1)
    return {
        "dorm": demo_data.write_dorm_passes(exports / "门禁通行记录.csv", school, yesterday - timedelta(days=6), plan, rng=random.Random(seed + 5)),
        "card": demo_data.write_card_transactions(exports / "一卡通交易流水.csv", school, yesterday, plan, rng=random.Random(seed + 6)),
        "academic": demo_data.write_academic_results(exports / "教务成绩.xlsx", school, today, plan, rng=random.Random(seed + 7)),
    }


CAMPUS_PURPOSE = "mhtool 演示：多源预警（门禁、一卡通、教务数据）"


def _campus_signals(center, files: dict[str, Path], today: date) -> tuple[dict[str, int], int, str]:
    """Import the campus exports as the counselor and review one signal as a counselor would.

    Returns the open signals by rule before that review, the students on the
    radar, and the student it ranks first (the most sources).
    """
    for source in ("dorm", "card", "academic"):
        center.signals.import_file(files[source], source, purpose=CAMPUS_PURPOSE)
    radar = center.signals.list()
    raised: dict[str, int] = {}
    for row in radar:
        for rule in row.get("rules") or ():
            raised[rule] = raised.get(rule, 0) + 1
    raised_students = len(radar)
    # 隐性困难 is a hint for the 资助 office: the counselor passes it on and notes it.
    hardship = next((row for row in reversed(radar) if "hidden_hardship" in (row.get("rules") or ())), None)
    if hardship is not None:
        signal = next(s for s in center.signals.for_student(hardship["student_no"], audit=False) if s["rule"] == "hidden_hardship" and s["status"] == "open")
        center.signals.review(signal["id"], "noted", "已转学生资助中心核实，暂无心理方面的担忧", on=today)
    return raised, raised_students, radar[0]["student_no"] if radar else ""


# The autumn term so far: the class network reports weekly from the term's second week.
NETWORK_WEEKS = 12


def _network(center, exports: Path, school, today: date, seed: int, result: DemoResult) -> list[Path]:
    """The 五级网络 as the demo clerk keeps it: a 心理委员 per class, and the weekly sheets of the term so far.

    Every class sends its 班级心理晴雨表 each week (a 零报告 when nothing is
    wrong) except one class in the week the weekly report covers; two 心理委员
    name a classmate that week, which opens a 同伴报告 signal and a 研判 task
    for the counselor (the clerk imports them, and cannot read them back).
    """
    from mhtool import demo_data
    from mhtool.domain.periods import last_complete_week

    last = last_complete_week(today)
    weeks = [(last.start - timedelta(weeks=k)).isocalendar() for k in range(NETWORK_WEEKS - 1, -1, -1)]
    labels = [f"{year}-W{week:02d}" for year, week, _day in weeks]
    plan = demo_data.network_plan(school, labels, seed=seed)
    rng = random.Random(seed + 29)
    roster = demo_data.write_network_roster(exports / "五级网络名册.xlsx", plan)
    sheets = [demo_data.write_class_reports(exports / f"班级心理晴雨表_{label}.xlsx", plan, label, rng=rng) for label in labels]
    center.network.import_members(roster)
    center.network.import_reports(sheets)
    result.counts["network_classes"] = len(plan.monitors)
    result.network_week, result.network_missing = labels[-1], list(plan.missing[labels[-1]])
    return [roster, *sheets]


# The demo counselors' weekly slots (the admin sees students too: 王立 acting as a counselor).
DEMO_SLOTS = [f"{day} {span}" for day in ("周一", "周二", "周三", "周四", "周五") for span in ("09:00-12:00", "14:00-17:00")]


def _counseling(store_path: Path, keys: dict[str, Path], school, today: date, seed: int) -> dict[str, int]:
    """A month of the counseling desk: the clerk books and keeps the group and activities, the counselors record.

    Bookings of the last four weeks (most attended, a few no-shows and
    cancellations) and the next days', sessions in series (one high risk,
    some closing), two walk-ins, one group with weekly attendance, two
    activities and a case conference (:func:`mhtool.demo_data.counseling_plan`).
    """
    from mhtool import demo_data

    plan = demo_data.counseling_plan(school, today, (COUNSELOR, ADMIN), seed=seed)
    booked: list[tuple[dict, str]] = []
    with _open(store_path, keys[CLERK], CLERK) as desk:
        for counselor in (COUNSELOR, ADMIN):
            desk.counseling.set_slots(counselor, DEMO_SLOTS)
        for b in plan.bookings:
            row = desk.counseling.book(b["student_no"], at=b["at"].strftime("%Y-%m-%d %H:%M"), counselor=b["counselor"], minutes=b["minutes"], mode=b["mode"])
            booked.append((b, row["id"]))
        for b, appointment in booked:
            if b["outcome"] == "no_show":
                desk.counseling.no_show(appointment)
            elif b["outcome"] == "cancelled":
                desk.counseling.cancel(appointment, reason="学生改约")
        group = desk.counseling.add_group("人际交往成长小组", leaders=[COUNSELOR], theme="学会倾听与表达", meetings=8)
        first = plan.group_meetings[0][0] if plan.group_meetings else today
        desk.counseling.group_members(group["id"], add=plan.group_members, on=first)
        for day, absent in plan.group_meetings:
            desk.counseling.group_meeting(group["id"], on=day, absent=absent, minutes=90, topic="团体活动与分享")
        for a in plan.activities:
            desk.counseling.add_activity(kind=a["kind"], title=a["title"], on=a["on"], audience=a["audience"], count=a["count"])
    sessions = 0
    for who in (COUNSELOR, ADMIN):
        with _open(store_path, keys[who], who) as center:
            for b, appointment in booked:
                if b["outcome"] != "attended" or b["counselor"] != who:
                    continue
                center.counseling.session(
                    b["student_no"], appointment=appointment, on=b["at"].date(), concern=b["concern"], risk=b["risk"],
                    concern_text=demo_data.SESSION_NOTES[b["concern"]][sessions % 2], next_step="两周后复谈" if not b["close"] else None,
                    close=b["close"], outcome_text="情绪与睡眠明显改善" if b["close"] else None,
                )  # fmt: skip
                sessions += 1
            if who == COUNSELOR:
                for w in plan.walk_ins:
                    center.counseling.session(w["student_no"], walk_in=True, on=w["on"], concern=w["concern"], risk=w["risk"], concern_text="值班时来访，倾诉近期压力")
                    sessions += 1
                if plan.conference:
                    center.counseling.conference(
                        plan.conference, kind="case_conference", participants=[DISPLAY_NAMES[COUNSELOR], DISPLAY_NAMES[ADMIN]],
                        decision="维持每周一次个体咨询，两周后复评风险", owner=COUNSELOR, on=today - timedelta(days=3),
                    )  # fmt: skip
    return {"bookings": len(plan.bookings), "sessions": sessions, "group_meetings": len(plan.group_meetings), "activities": len(plan.activities)}


FINDINGS = {
    "none": ("情绪较稳定，适应良好，筛查结果与近期考试压力有关", "作答时理解有偏差，访谈未见明显困扰"),
    "yellow": ("自述入学后睡眠差、想家，情绪低落两周", "人际关系紧张，宿舍矛盾，偶有失眠"),
    "orange": ("学业压力大，对专业不适应，自我评价偏低，持续一个月", "家庭变故后情绪波动明显，愿意接受定期谈话"),
    "red": ("近两周情绪持续低落，有消极念头但无具体计划", "失眠加重伴自伤想法，需密切关注并联系家长"),
}
RISK = {"red": "高风险", "orange": "中风险", "yellow": "低风险", "none": "低风险"}


def _simulate(center, school, census_day: date, today: date, rng: random.Random) -> tuple[str, str, str]:
    """Four weeks of the center's work, recorded through the same use cases as the commands."""
    cases = center.cases
    cadence = cases.cadence()
    by_no = {s.student_no: s for s in school.students}
    tasks = sorted((t for t in cases.tasks() if t["kind"] == "interview"), key=lambda t: (t["due"], t["id"]))
    confirmed: list[str] = []
    for task in tasks:
        due = date.fromisoformat(task["due"])
        # Most interviews happen on time, a few late, and some are still pending (overdue) today.
        if rng.random() < 0.12:
            continue
        on = max(census_day, min(today - timedelta(days=1), due + timedelta(days=rng.choice((0, 0, 0, 1, 2, 5)))))
        proposed = task.get("proposed_level") or "yellow"
        roll = rng.random()
        level = "none" if roll < 0.35 else proposed if roll < 0.85 else {"red": "orange", "orange": "yellow", "yellow": "yellow"}[proposed]
        no = task["student_no"]
        cases.interview(
            no,
            findings=rng.choice(FINDINGS[level]),
            mode=rng.choice(("面谈", "面谈", "电话")),
            duration=rng.choice((30, 40, 50)),
            risk=RISK[level],
            confirm=level,
            next_step="按周期回访" if level != "none" else "不纳入关注，告知可随时预约咨询",
            on=on,
        )
        if level != "none":
            confirmed.append(no)  # the interviewing counselor took the case (负责咨询师)
    # Measures, guardian contacts and follow-ups for the watched students.
    watched = {row["student_no"]: row for row in cases.list()}
    for no in confirmed:
        row = watched.get(no)
        if row is None:
            continue
        since = date.fromisoformat(row["level_since"])
        if rng.random() < 0.8:
            cases.measure(
                no,
                kind=rng.choice(("定期谈话", "学业帮扶", "朋辈支持", "资助")),
                description="由辅导员与心理委员协同落实，每两周沟通一次",
                responsible=by_no[no].advisor if no in by_no else "辅导员",
                start=since,
                on=since,
            )
        if row["level"] in ("red", "orange"):
            cases.guardian(
                no,
                who="母亲",
                content="告知学生近况与学校支持措施，家长表示配合",
                channel="电话",
                consent="signed" if row["level"] == "red" else "not_needed",
                on=min(today - timedelta(days=1), since + timedelta(days=1)),
            )
        day = since + timedelta(days=cadence[row["level"]])
        while day < today and rng.random() < 0.85:
            cases.follow_up(no, content=rng.choice(("状态平稳", "睡眠改善", "仍有焦虑，继续观察")), mode="面谈", on=day)
            day += timedelta(days=cadence[row["level"]])
    pool = [no for no in confirmed if watched.get(no, {}).get("level") == "red"]
    pool += [no for no in confirmed if watched.get(no, {}).get("level") == "orange"]
    return _referrals_and_crises(center, pool, census_day, today)


def _referrals_and_crises(center, pool: list[str], census_day: date, today: date) -> tuple[str, str, str]:
    if len(pool) < 4:
        return (pool[0] if pool else "", "", "")
    cases, referrals = center.cases, center.referrals
    hospital = referrals.add_hospital("示例市精神卫生中心", department="心理科", level="三甲", phone="0000-0000000", green_channel=True)
    referrals.add_hospital("示例大学附属医院", department="精神科门诊", level="三甲")
    # Two crises, each reported to the guardian within hours.
    crisis_ids = []
    for no, offset in ((pool[0], 16), (pool[1], 6)):
        on = today - timedelta(days=offset)
        recorded = cases.crisis(
            no,
            what="深夜在宿舍情绪崩溃，室友报告辅导员",
            event_type="acute_distress",
            risk="high",
            where="学生宿舍",
            actions="辅导员与咨询师到场陪伴，评估自伤风险，联系家长",
            notified=[{"who": "家长", "at": f"{on.isoformat()} 23:40"}, {"who": "学院副书记", "at": f"{on.isoformat()} 23:55"}],
            reported_to="学生工作部值班领导",
            reported_at=f"{on.isoformat()} 23:50",
            reported_how="电话",
            happened_at=f"{on.isoformat()} 22:50",
            on=on,
        )
        crisis_ids.append(recorded.entry_ids[0])
    # Referrals in different states.
    states = (
        (pool[0], 15, "urgent", ("attended", "assessed")),
        (pool[1], 5, "emergency", ("attended",)),
        (pool[2], 20, "routine", ("attended", "assessed", "treatment_outpatient")),
        (pool[3], 3, "routine", ()),
    )
    first_ref = ""
    for no, days_ago, urgency, steps in states:
        on = today - timedelta(days=days_ago)
        view = referrals.add(
            no, hospital=hospital["name"], reason="持续情绪低落伴睡眠障碍，需专科评估", urgency=urgency,
            escort="辅导员" if urgency != "routine" else None, guardian_informed=f"{on.isoformat()} 10:00", guardian_how="电话", guardian_by="咨询师",
            consent="signed", when=on.isoformat(),
        )  # fmt: skip
        first_ref = first_ref or view["id"]
        step_day = on
        for status in steps:
            step_day = min(today - timedelta(days=1), step_day + timedelta(days=2))
            extra = {}
            if status == "attended":
                extra["visit_date"] = step_day.isoformat()
            if status == "assessed":
                extra.update(diagnosis="抑郁状态（医院告知）", advice="leave" if no == pool[0] else "outpatient", medication=True,
                             next_review=(step_day + timedelta(days=28)).isoformat())  # fmt: skip
            referrals.update(view["id"], status=status, when=step_day.isoformat(), **extra)
    # One leave of absence and one return with a certificate.
    leave_day = today - timedelta(days=8)
    cases.status(pool[0], "leave", from_=leave_day, reason="遵医嘱休学治疗")
    away, back = census_day + timedelta(days=1), today - timedelta(days=2)
    cases.status(pool[3], "leave", from_=away, reason="因病休学")
    cases.status(pool[3], "return", on=back, reason="复学", certificate=f"示例市精神卫生中心, {back.isoformat()}, 病情稳定可复学")
    return pool[0], first_ref, crisis_ids[0]


def _reports(center, out: Path, today: date, student_no: str, crisis_id: str) -> list[Path]:
    """Weekly, monthly, census and crisis workbooks and one dossier export, as a center would file them."""
    from mhtool.domain.periods import last_complete_week, month_of

    purpose = "mhtool demo"
    reports = center.reports
    written = [
        reports.weekly(week=last_complete_week(today).label, out=out, purpose=purpose).path,
        # The month that holds most of the simulated four weeks: early in a month, the one just ended.
        reports.monthly(month=month_of(today - timedelta(weeks=2)).label, out=out, purpose=purpose).path,
    ]
    for batch in center.survey.batches():
        written.append(reports.census(batch["id"], out=out, purpose=purpose).path)
    if crisis_id:
        written.append(reports.crisis(crisis_id, out=out, purpose=purpose).path)
    if student_no:
        written.append(center.cases.export(student_no, out, purpose=purpose).path)
    return written


# What `mhtool demo` says while it works, one line per step of :func:`build_demo`.
STEPS = {
    "school": N_("… building the school and the exports"),
    "import": N_("… importing the census exports"),
    "four weeks": N_("… simulating four weeks of interviews, follow-ups, crises and referrals"),
    "campus": N_("… importing a week of dorm passes, ten weeks of card transactions and the course results (多源预警)"),
    "network": N_("… importing the class network (五级网络) and a term of weekly class reports, as the clerk"),
    "counseling": N_("… a month of the counseling desk: bookings, sessions, a group, activities and a case conference"),
    "reports": N_("… writing the reports"),
}


def run_demo(folder: Path, *, students: int = 3000, seed: int = 2026) -> None:
    """The `mhtool demo` command: build, then tell the user what was made and what to try."""
    from mhtool.console import output

    result = build_demo(folder, students=students, seed=seed, progress=lambda step: output.info(_(STEPS[step])))
    env = f"MHTOOL_STORE={result.store} MHTOOL_KEY_FILE={result.keys[COUNSELOR]} MHTOOL_USER={COUNSELOR}"
    counts = result.counts
    output.success(
        _(
            "demo ready in {seconds} s: {students} made-up students, {responses} screening responses, "
            "{watched} on the watch list, {referrals} referrals, {open_tasks} open tasks"
        ).format(
            seconds=f"{result.seconds:.0f}",
            students=counts["students"],
            responses=counts["responses"],
            watched=counts["watched"],
            referrals=counts["referrals"],
            open_tasks=counts["open_tasks"],
        )
    )
    raised = sum(result.signals.values())
    if raised:
        output.info(
            _("campus signals (多源预警): {signals} open signals of {students} students from dorm passes, card transactions and course results").format(
                signals=raised, students=result.counts.get("signal_students", 0)
            )
        )
    if result.network_missing:
        output.info(
            _("class network (五级网络): {classes} classes with a 心理委员; {missing} has not reported for {week}").format(
                classes=result.counts.get("network_classes", 0), missing="、".join(result.network_missing),
                week=network_period_name(result.network_week, current()),
            )
        )
    output.info(_("folder: {folder} (a DEMO store with synthetic data; keys are the *.key files beside it)").format(folder=result.folder))
    output.info(_("files:"))
    for path in result.files:
        output.info(f"  {path}")
    output.info("\n" + _("next, try (as the demo counselor):"))
    for cmd in (
        f"export {env}",
        "mhtool cases tasks --overdue",
        "mhtool cases list --level red",
        f"mhtool cases show {result.sample_student}",
        "mhtool cases check",
        _("{command}   # the radar: students with campus signals, most sources first").format(command="mhtool signals list"),
        *([f"mhtool cases show {result.sample_signal}"] if result.sample_signal else []),
        f"mhtool referral show {result.sample_referral}",
        "mhtool survey batches",
        "mhtool report weekly --out " + str(result.folder / "reports"),
        *([f"mhtool network missing --period {result.network_week}"] if result.network_week else []),
        "mhtool counseling sessions",
        "mhtool counseling agenda --day tomorrow",
        _("{command}   # a clerk sees no clinical detail").format(
            command=f"MHTOOL_KEY_FILE={result.keys[CLERK]} MHTOOL_USER={CLERK} mhtool cases show {result.sample_student}"
        ),
        f"MHTOOL_KEY_FILE={result.keys[ADMIN]} MHTOOL_USER={ADMIN} mhtool audit verify",
    ):
        output.info(f"  {cmd}")
    output.emit_line(str(result.store))
