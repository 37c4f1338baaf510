"""``mhtool referral …``: the hospitals directory and the referral lifecycle (转介)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mhtool.console.apps import make_subapp
from mhtool.console.options import CollegeOpt, JsonOpt, LangOpt, PurposeOpt, check_date, checked, date_value, datetime_value, usage_for
from mhtool.domain.rules import GUARDIAN_NOTICE_HOURS, REFERRAL_ATTEND_DAYS
from mhtool.domain.vocabulary import CONSENT

app = make_subapp()
hospitals_app = make_subapp()
app.add_typer(hospitals_app, name="hospitals", help="The hospitals directory (医院名录): where students are referred.")

RefArg = Annotated[str, typer.Argument(help="The referral id (the first 8 characters shown by `referral list` are enough).")]
HospitalOpt = Annotated[Optional[str], typer.Option("--hospital", help="Hospital name as in `referral hospitals list` (or its id).")]
DepartmentOpt = Annotated[Optional[str], typer.Option("--department", help="Department (科室), e.g. 心理门诊 (default: the directory's).")]
EscortOpt = Annotated[Optional[str], typer.Option("--escort", help="Who went with the student (陪同人员).")]
GuardianAtOpt = Annotated[
    Optional[str],
    typer.Option(
        "--guardian-informed", callback=datetime_value,
        help=f'When the guardian was informed: "2026-11-23 14:30" (or a date). Required within {GUARDIAN_NOTICE_HOURS} h for urgent/emergency.',
    ),
]
GuardianHowOpt = Annotated[Optional[str], typer.Option("--guardian-how", help="How the guardian was informed, e.g. 电话 / 面谈.")]
GuardianByOpt = Annotated[Optional[str], typer.Option("--guardian-by", help="Who informed the guardian (default: you).")]
ConsentOpt = Annotated[Optional[str], typer.Option("--consent", help=f"Consent form (知情同意书): {', '.join(CONSENT[:-1])} or {CONSENT[-1]}.")]
def _parse_next_review(value: str) -> None:
    if value.strip().lower() not in ("none", "无"):
        check_date(value, "--next-review")


def _parse_icd10(value: str) -> None:
    from mhtool.referral.domain import machine

    machine.parse_icd10(value)


NextReviewOpt = Annotated[Optional[str], typer.Option("--next-review", callback=checked(_parse_next_review), help="Next review date (下次复查); `none` clears it.")]
NoteOpt = Annotated[Optional[str], typer.Option("--note", help="A note kept with this step, as typed.")]
WhenOpt = Annotated[
    Optional[str],
    typer.Option("--date", callback=datetime_value, help="When it happened: 2026-11-23 (a time may follow: \"2026-11-23 14:30\"), today or yesterday (default today)."),
]


# -- hospitals ------------------------------------------------------------------------------------


def _hospital_rows(rows: list[dict]) -> list[dict]:
    from mhtool.domain.labels import label

    for r in rows:
        r["level_label"] = label("hospital_level", r["level"]) if r.get("level") else ""
        r["green"] = label("referral_text", "yes") if r.get("green_channel") else ""
    return rows


_HOSPITAL_COLUMNS = [
    ("name", "医院"),
    ("department", "科室"),
    ("level_label", "等级"),
    ("phone", "电话"),
    ("address", "地址"),
    ("green", "绿色通道"),
]


@hospitals_app.command("add")
def hospitals_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Hospital name, e.g. 示例市精神卫生中心.")],
    department: DepartmentOpt = None,
    level: Annotated[Optional[str], typer.Option("--level", help="Grade: 三甲, 三乙, 二甲, 二乙 … or 未定级 (also 3A, 2A …).")] = None,
    phone: Annotated[Optional[str], typer.Option("--phone", help="Phone of the clinic or its appointment line.")] = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Address.")] = None,
    green_channel: Annotated[bool, typer.Option("--green-channel", help="The hospital has a green channel (绿色通道) for the school.")] = False,
    note: NoteOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add a hospital to the directory.

    Example: mhtool referral hospitals add 示例市精神卫生中心 --department 心理门诊 --level 三甲 --green-channel
    """
    from mhtool.console import output, session
    from mhtool.referral.usecases.service import short

    with session.open_center(ctx) as center:
        hosp = center.referrals.add_hospital(
            name, department=department, level=level, phone=phone, address=address, green_channel=green_channel, note=note
        )
    output.success(f"added hospital {hosp['name']}")
    if json:
        output.emit_json(hosp)
    else:
        output.emit_line(short(hosp["id"]))


@hospitals_app.command("list")
def hospitals_list(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List the hospitals directory."""
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        rows = center.referrals.hospitals()
    if json:
        output.emit_json(rows)
        return
    output.emit_table(_hospital_rows(rows), _HOSPITAL_COLUMNS, title="医院名录")


@hospitals_app.command("edit")
def hospitals_edit(
    ctx: typer.Context,
    hospital: Annotated[str, typer.Argument(help="The hospital's current name (or id).")],
    name: Annotated[Optional[str], typer.Option("--name", help="A new name.")] = None,
    department: DepartmentOpt = None,
    level: Annotated[Optional[str], typer.Option("--level", help="Grade: 三甲, 二甲 … (also 3A, 2A …).")] = None,
    phone: Annotated[Optional[str], typer.Option("--phone", help="Phone.")] = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Address.")] = None,
    green_channel: Annotated[Optional[bool], typer.Option("--green-channel/--no-green-channel", help="Whether there is a green channel.")] = None,
    note: NoteOpt = None,
    json: JsonOpt = False,
) -> None:
    """Change a hospital's entry. Referrals already made keep the name they were made with.

    Example: mhtool referral hospitals edit 示例市精神卫生中心 --phone 010-00000000
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        hosp = center.referrals.edit_hospital(
            hospital, name=name, department=department, level=level, phone=phone, address=address, green_channel=green_channel, note=note
        )
    output.success(f"updated hospital {hosp['name']}")
    if json:
        output.emit_json(hosp)


# -- referrals ------------------------------------------------------------------------------------


def _ask_hospital(center) -> str:
    from mhtool.console.prompts import select

    names = [h["name"] for h in center.referrals.hospitals()]
    if not names:
        from mhtool.errors import UsageError

        raise UsageError("missing --hospital, and the directory is empty", hint="add one first: mhtool referral hospitals add NAME --level 三甲")
    return select("转介医院 / hospital:", names, flag="--hospital")


_ADD_HELP = f"""Refer a student to a hospital. Prints the referral id.

    Urgent and emergency referrals need --guardian-informed; without it they
    are flagged {GUARDIAN_NOTICE_HOURS} hours after the referral.

    Example: mhtool referral add 2024010001 --hospital 示例市精神卫生中心 --reason "持续失眠伴消极想法" --urgency urgent --guardian-informed "2026-11-23 15:00" --guardian-how 电话
    """


@app.command("add", help=_ADD_HELP)
def add(
    ctx: typer.Context,
    student: Annotated[str, typer.Argument(help="Student number (学号).")],
    hospital: HospitalOpt = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why the student is referred (转介原因).")] = None,
    department: DepartmentOpt = None,
    urgency: Annotated[Optional[str], typer.Option("--urgency", help="emergency (紧急), urgent (加急) or routine (常规, default).")] = None,
    escort: EscortOpt = None,
    guardian_informed: GuardianAtOpt = None,
    guardian_how: GuardianHowOpt = None,
    guardian_by: GuardianByOpt = None,
    consent: ConsentOpt = None,
    next_review: NextReviewOpt = None,
    when: WhenOpt = None,
    note: NoteOpt = None,
    json: JsonOpt = False,
) -> None:
    from mhtool.console import output, prompts, session

    with session.open_center(ctx) as center, usage_for("--hospital"):
        if hospital is None:
            hospital = _ask_hospital(center)
        if reason is None:
            reason = prompts.text("转介原因 / reason:", flag="--reason")
        view = center.referrals.add(
            student,
            hospital=hospital,
            reason=reason,
            department=department,
            urgency=urgency,
            escort=escort,
            guardian_informed=guardian_informed,
            guardian_how=guardian_how,
            guardian_by=guardian_by,
            consent=consent,
            next_review=next_review,
            when=when,
            note=note,
        )
    _report_added(view)
    if json:
        output.emit_json(view)
    else:
        output.emit_line(view["short_id"])


def _report_added(view: dict) -> None:
    from mhtool.console import output
    from mhtool.domain.labels import label

    s = view["student"]
    output.success(
        f"referral {view['short_id']}: {s['student_no']} {s.get('name') or ''} → {view['hospital']} ({label('urgency', view['urgency'])})"
    )
    if view["urgency"] in ("urgent", "emergency") and not view.get("guardian_informed"):
        output.warn(
            f"{label('urgency', view['urgency'])} referral without --guardian-informed: "
            f"inform the guardian and record it within {GUARDIAN_NOTICE_HOURS} hours "
            f"(mhtool referral update {view['short_id']} --guardian-informed \"DATE TIME\" --guardian-how 电话), or it is flagged"
        )


@app.command("update")
def update(
    ctx: typer.Context,
    ref: RefArg,
    status: Annotated[
        Optional[str],
        typer.Option(
            "--status",
            help="Next step: attended, assessed, treatment_outpatient, hospitalized, closed, declined, cancelled (omit to only record fields).",
        ),
    ] = None,
    when: WhenOpt = None,
    visit_date: Annotated[Optional[str], typer.Option("--visit-date", callback=date_value, help="The day the student saw the doctor (default --date).")] = None,
    diagnosis: Annotated[Optional[str], typer.Option("--diagnosis", help="Assessment/diagnosis as told by the hospital (free text).")] = None,
    icd10: Annotated[Optional[str], typer.Option("--icd10", callback=checked(_parse_icd10), help="ICD-10 code if the hospital gave one, e.g. F32.1.")] = None,
    advice: Annotated[Optional[str], typer.Option("--advice", help="continue_study, outpatient, leave, hospitalize or other.")] = None,
    advice_detail: Annotated[Optional[str], typer.Option("--advice-detail", help="What the hospital advised, in words (needed with --advice other).")] = None,
    medication: Annotated[Optional[bool], typer.Option("--medication/--no-medication", help="Whether medication was prescribed.")] = None,
    next_review: NextReviewOpt = None,
    outcome: Annotated[Optional[str], typer.Option("--outcome", help="How the referral ended (needed for closed and cancelled).")] = None,
    hospital: HospitalOpt = None,
    department: DepartmentOpt = None,
    escort: EscortOpt = None,
    guardian_informed: GuardianAtOpt = None,
    guardian_how: GuardianHowOpt = None,
    guardian_by: GuardianByOpt = None,
    consent: ConsentOpt = None,
    note: NoteOpt = None,
    json: JsonOpt = False,
) -> None:
    """Record the next step of a referral, or fields learned later. Each call is a dossier timeline entry.

    Invalid steps are refused with the list of valid ones. `declined` needs a
    guardian contact with --consent refused recorded first (`mhtool cases guardian`).

    \b
    Examples:
      mhtool referral update 1a2b3c4d --status attended --visit-date 2026-11-24 --escort 李老师
      mhtool referral update 1a2b3c4d --status assessed --diagnosis "抑郁发作" --icd10 F32.1 --advice leave --medication --next-review 2026-12-08
    """
    from mhtool.console import output, session
    from mhtool.domain.labels import label

    with session.open_center(ctx) as center, usage_for("--hospital"):
        view = center.referrals.update(
            ref,
            status=status,
            when=when,
            hospital=hospital,
            department=department,
            escort=escort,
            guardian_informed=guardian_informed,
            guardian_how=guardian_how,
            guardian_by=guardian_by,
            consent=consent,
            visit_date=visit_date,
            diagnosis=diagnosis,
            icd10=icd10,
            advice=advice,
            advice_detail=advice_detail,
            medication=medication,
            next_review=next_review,
            outcome=outcome,
            note=note,
        )
    step = view["history"][-1]
    if step["step"] == "edit":
        output.success(f"referral {view['short_id']}: recorded ({label('referral_status', view['status'])})")
    else:
        output.success(
            f"referral {view['short_id']}: {label('referral_status', step['from'])} → {label('referral_status', step['status'])} on {step['on']}"
        )
    for hint in view.get("hints") or []:
        output.info(hint)
    if json:
        output.emit_json(view)


_SHOW_FIELDS = (
    "status",
    "hospital",
    "department",
    "referred_at",
    "urgency",
    "reason",
    "created_by",
    "escort",
    "guardian_informed",
    "consent",
    "visit_date",
    "diagnosis",
    "icd10",
    "advice",
    "advice_detail",
    "medication",
    "next_review",
    "outcome",
)


@app.command("show")
def show(ctx: typer.Context, ref: RefArg, json: JsonOpt = False) -> None:
    """Show one referral with every step, its author and date (needs clinical access)."""
    from mhtool.console import output, session
    from mhtool.domain.labels import label
    from mhtool.referral.domain import machine

    with session.open_center(ctx) as center:
        view = center.referrals.show(ref)
    if json:
        output.emit_json(view)
        return
    s = view["student"]
    rows = [
        {"k": label("referral_field", "id"), "v": view["short_id"]},
        {"k": label("field", "student_no"), "v": s.get("student_no")},
        {"k": label("field", "name"), "v": s.get("name")},
        {"k": label("field", "college"), "v": s.get("college")},
    ]
    rows += [{"k": label("referral_field", f), "v": machine.field_text(f, view.get(f))} for f in _SHOW_FIELDS]
    rows.append({"k": label("referral_field", "alerts"), "v": "、".join(label("referral_alert", a) for a in view["alerts"])})
    nexts = "、".join(f"{n} ({label('referral_status', n)})" for n in view["valid_next"]) or "—"
    rows.append({"k": "可进入状态", "v": nexts})
    output.emit_table(rows, [("k", "项目"), ("v", "内容")], title=f"转介 {view['short_id']}")
    steps = [{"on": i["on"], "summary": machine.summary(i), "by": i["by"]} for i in view["history"]]
    output.emit_table(steps, [("on", "日期"), ("summary", "过程"), ("by", "记录人")], title="过程记录")


@app.command("list")
def list_(
    ctx: typer.Context,
    open_: Annotated[bool, typer.Option("--open", help="Only referrals not yet closed, declined or cancelled.")] = False,
    overdue: Annotated[
        bool,
        typer.Option(
            "--overdue",
            help=f"Only referrals needing attention: not attended after {REFERRAL_ATTEND_DAYS} days, past the next review, "
            f"or urgent without the guardian informed after {GUARDIAN_NOTICE_HOURS} h.",
        ),
    ] = False,
    hospital: HospitalOpt = None,
    college: CollegeOpt = None,
    json: JsonOpt = False,
) -> None:
    """List referrals, newest first (no diagnoses are shown here)."""
    from mhtool.console import output, session
    from mhtool.domain.labels import label

    with session.open_center(ctx) as center, usage_for("--hospital"):
        rows = center.referrals.list(open_only=open_, overdue_only=overdue, hospital=hospital, college=college)
    if json:
        output.emit_json(rows)
        return
    for r in rows:
        r["status_label"] = label("referral_status", r["status"])
        r["urgency_label"] = label("urgency", r["urgency"])
        r["alert_labels"] = "、".join(label("referral_alert", a) for a in r["alerts"])
    output.emit_table(
        rows,
        [
            ("short_id", "编号"),
            ("student_no", "学号"),
            ("name", "姓名"),
            ("college", "学院"),
            ("hospital", "医院"),
            ("status_label", "状态"),
            ("urgency_label", "紧急程度"),
            ("referred_on", "转介日期"),
            ("next_review", "下次复查"),
            ("alert_labels", "提醒"),
        ],
        title="转介",
    )


@app.command("export")
def export(
    ctx: typer.Context,
    ref: RefArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="The workbook to write (.xlsx), or a directory for the default name.")],
    lang: LangOpt = "zh",
    purpose: PurposeOpt = None,
) -> None:
    """Write the referral record sheet (转介记录表) for printing and filing, with signature lines.

    Example: mhtool referral export 1a2b3c4d --out 转介记录表.xlsx
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        path = center.referrals.export(ref, out, lang=lang, purpose=purpose)
    output.success(f"wrote {path}")
    output.emit_line(str(path))
