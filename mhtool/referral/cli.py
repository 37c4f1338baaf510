"""``mhtool referral …``: the hospitals directory and the referral lifecycle (转介)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mhtool.console.apps import make_subapp
from mhtool.console.completion import hospitals as hospital_names
from mhtool.console.completion import watched_students
from mhtool.console.forms import URGENCY_STYLES, Field
from mhtool.console.options import CollegeOpt, JsonOpt, LangOpt, PurposeOpt, check_date, checked, date_value, datetime_value, usage_for
from mhtool.domain.rules import GUARDIAN_NOTICE_HOURS, REFERRAL_ATTEND_DAYS
from mhtool.domain.vocabulary import CONSENT
from mhtool.i18n import N_, _

app = make_subapp()
hospitals_app = make_subapp()
app.add_typer(hospitals_app, name="hospitals", help="The hospitals directory (医院名录): where students are referred.")

RefArg = Annotated[str, typer.Argument(help="The referral id (the first 8 characters shown by `referral list` are enough).")]
HospitalOpt = Annotated[
    Optional[str], typer.Option("--hospital", help="Hospital name as in `referral hospitals list` (or its id).", autocompletion=hospital_names)
]
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


def _shown() -> str:
    """The language of labels and table headers: the reader's on a terminal, Chinese for scripts (mhtool.i18n.in_language)."""
    from mhtool.i18n import in_language

    return in_language(None)


def _text(key: str, lang: str) -> str:
    """A heading or title of the tables below: a label of "referral_table" (mhtool/domain/labels.py).

    A table takes the language of the labels in its cells, which is Chinese off a terminal
    whoever reads, so these cannot go through _() (always the reader's language).
    """
    from mhtool.domain.labels import label

    return label("referral_table", key, lang)


# -- hospitals ------------------------------------------------------------------------------------


def _hospital_rows(rows: list[dict]) -> list[dict]:
    from mhtool.domain.labels import label

    lang = _shown()
    for r in rows:
        r["level_label"] = label("hospital_level", r["level"], lang) if r.get("level") else ""
        r["green"] = label("answer", "yes", lang) if r.get("green_channel") else ""
    return rows


_HOSPITAL_COLUMNS = [("name", "hospital"), ("department", "department"), ("level_label", "grade"), ("phone", "phone"), ("address", "address"), ("green", "green")]


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
    output.success(_("added hospital {name}").format(name=hosp["name"]))
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
    lang = _shown()
    columns = [(key, _text(code, lang)) for key, code in _HOSPITAL_COLUMNS]
    output.emit_table(_hospital_rows(rows), columns, title=_text("directory", lang))


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
    output.success(_("updated hospital {name}").format(name=hosp["name"]))
    if json:
        output.emit_json(hosp)


# -- referrals ------------------------------------------------------------------------------------

# What `referral add` and `referral update` ask on a terminal when a required value is missing
# (mhtool.console.forms; off a terminal the flag is named instead).
URGENCIES = ("routine", "urgent", "emergency")
NEXT_STATUSES = ("attended", "assessed", "treatment_outpatient", "hospitalized", "closed", "declined", "cancelled")
ADVICE = ("continue_study", "outpatient", "leave", "hospitalize", "other")

_DATE = Field("when", "--date", N_("Date:"), kind="datetime", default="today")
_GUARDIAN_FIELDS = (
    Field("guardian_informed", "--guardian-informed", N_("Guardian informed at:"), kind="datetime", ask=False),
    Field("guardian_how", "--guardian-how", N_("Guardian informed how:"), ask=False),
    Field("guardian_by", "--guardian-by", N_("Guardian informed by:"), ask=False),
    Field("consent", "--consent", N_("Consent form:"), kind="choice", choices=CONSENT, labels="consent", ask=False),
)
ADD_FORM = (
    Field("student", "STUDENT", N_("Student number:"), ask=False),
    Field("hospital", "--hospital", N_("Hospital:"), kind="choice", required=True),
    Field("reason", "--reason", N_("Reason for the referral:"), required=True),
    Field("urgency", "--urgency", N_("Urgency:"), kind="choice", choices=URGENCIES, labels="urgency", styles=URGENCY_STYLES, default="routine"),
    Field("department", "--department", N_("Department:"), ask=False),
    Field("escort", "--escort", N_("Escort:"), ask=False),
    *_GUARDIAN_FIELDS,
    Field("next_review", "--next-review", N_("Next review:"), kind="date", future=True, ask=False),
    _DATE,
    Field("note", "--note", N_("Note:"), ask=False),
)
UPDATE_FORM = (
    Field("ref", "REF", N_("Referral:"), ask=False),
    Field("status", "--status", N_("New status:"), kind="choice", choices=NEXT_STATUSES, labels="referral_status", required=True),
    Field("visit_date", "--visit-date", N_("Visit date:"), kind="date", ask=False),
    Field("diagnosis", "--diagnosis", N_("Diagnosis (as told by the hospital):"), when=("status", ("assessed",))),
    Field("icd10", "--icd10", N_("ICD-10 code:"), ask=False),
    Field("advice", "--advice", N_("The hospital's advice:"), kind="choice", choices=ADVICE, labels="advice", required=True, when=("status", ("assessed",))),
    Field("advice_detail", "--advice-detail", N_("What the hospital advised:"), required=True, when=("advice", ("other",))),
    Field("medication", "--medication", N_("Medication:"), ask=False),
    Field("next_review", "--next-review", N_("Next review:"), ask=False),
    Field("outcome", "--outcome", N_("How the referral ended:"), required=True, when=("status", ("closed", "cancelled"))),
    Field("hospital", "--hospital", N_("Hospital:"), ask=False),
    Field("department", "--department", N_("Department:"), ask=False),
    Field("escort", "--escort", N_("Escort:"), ask=False),
    *_GUARDIAN_FIELDS,
    _DATE,
    Field("note", "--note", N_("Note:"), ask=False),
)


def _missing_hospital(center) -> None:
    """Off a terminal (or with no answer), a referral without --hospital is refused, naming the directory's hospitals."""
    from mhtool.errors import UsageError

    names = [h["name"] for h in center.referrals.hospitals()]
    if not names:
        raise UsageError(_("missing --hospital, and the directory is empty"), hint=_("add one first: mhtool referral hospitals add NAME --level 三甲"))
    raise UsageError(_("missing --hospital"), hint=_("pass --hospital with one of: {names}").format(names=", ".join(names)))


_ADD_HELP = f"""Refer a student to a hospital. Prints the referral id.

    Urgent and emergency referrals need --guardian-informed; without it they
    are flagged {GUARDIAN_NOTICE_HOURS} hours after the referral.

    Example: mhtool referral add 2024010001 --hospital 示例市精神卫生中心 --reason "持续失眠伴消极想法" --urgency urgent --guardian-informed "2026-11-23 15:00" --guardian-how 电话
    """


@app.command("add", help=_ADD_HELP)
def add(
    ctx: typer.Context,
    student: Annotated[str, typer.Argument(help="Student number (学号).", autocompletion=watched_students)],
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
    from mhtool.console import forms, output, session

    v = forms.fill(ADD_FORM, {
        "student": student, "hospital": hospital, "reason": reason, "urgency": urgency, "department": department, "escort": escort,
        "guardian_informed": guardian_informed, "guardian_how": guardian_how, "guardian_by": guardian_by, "consent": consent,
        "next_review": next_review, "when": when, "note": note,
    }, choices={"hospital": lambda: hospital_names(ctx, "")})  # fmt: skip
    with session.open_center(ctx) as center, usage_for("--hospital"):
        if v["hospital"] is None:
            _missing_hospital(center)
        view = center.referrals.add(
            student,
            hospital=v["hospital"],
            reason=v["reason"],
            department=department,
            urgency=v["urgency"],
            escort=escort,
            guardian_informed=guardian_informed,
            guardian_how=guardian_how,
            guardian_by=guardian_by,
            consent=consent,
            next_review=next_review,
            when=v["when"],
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
    urgency = label("urgency", view["urgency"], _shown())
    output.success(
        _("referral {ref}: {student_no} {name} → {hospital} ({urgency})").format(
            ref=view["short_id"], student_no=s["student_no"], name=s.get("name") or "", hospital=view["hospital"], urgency=urgency
        )
    )
    if view["urgency"] in ("urgent", "emergency") and not view.get("guardian_informed"):
        output.warn(
            _(
                "{urgency} referral without --guardian-informed: inform the guardian and record it within {hours} hours "
                '(mhtool referral update {ref} --guardian-informed "DATE TIME" --guardian-how 电话), or it is flagged'
            ).format(urgency=urgency, hours=GUARDIAN_NOTICE_HOURS, ref=view["short_id"])
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
    from mhtool.console import forms, output, session
    from mhtool.domain.labels import label

    given = {
        "ref": ref, "status": status, "visit_date": visit_date, "diagnosis": diagnosis, "icd10": icd10, "advice": advice,
        "advice_detail": advice_detail, "medication": medication, "next_review": next_review, "outcome": outcome, "hospital": hospital,
        "department": department, "escort": escort, "guardian_informed": guardian_informed, "guardian_how": guardian_how,
        "guardian_by": guardian_by, "consent": consent, "when": when, "note": note,
    }  # fmt: skip
    # A step needs --status, unless fields learned later are all that is recorded.
    only_fields = any(not forms.empty(value) for name, value in given.items() if name not in ("ref", "status", "when"))
    v = forms.fill(forms.changed(UPDATE_FORM, "status", required=False) if only_fields else UPDATE_FORM, given)
    with session.open_center(ctx) as center, usage_for("--hospital"):
        view = center.referrals.update(
            ref,
            status=v["status"],
            when=v["when"],
            hospital=hospital,
            department=department,
            escort=escort,
            guardian_informed=guardian_informed,
            guardian_how=guardian_how,
            guardian_by=guardian_by,
            consent=consent,
            visit_date=visit_date,
            diagnosis=v["diagnosis"],
            icd10=icd10,
            advice=v["advice"],
            advice_detail=v["advice_detail"],
            medication=medication,
            next_review=next_review,
            outcome=v["outcome"],
            note=note,
        )
    step = view["history"][-1]
    lang = _shown()
    if step["step"] == "edit":
        output.success(
            _("referral {ref}: recorded ({status})").format(ref=view["short_id"], status=label("referral_status", view["status"], lang))
        )
    else:
        output.success(
            _("referral {ref}: {before} → {after} on {on}").format(
                ref=view["short_id"],
                before=label("referral_status", step["from"], lang),
                after=label("referral_status", step["status"], lang),
                on=step["on"],
            )
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
        names = center.staff_names()
    if json:
        output.emit_json(view)
        return
    from mhtool.domain.labels import staff_name

    lang = _shown()
    view = {**view, "created_by": staff_name(view.get("created_by"), names)}
    s = view["student"]
    rows = [
        {"k": label("referral_field", "id", lang), "v": view["short_id"]},
        {"k": label("field", "student_no", lang), "v": s.get("student_no")},
        {"k": label("field", "name", lang), "v": s.get("name")},
        {"k": label("field", "college", lang), "v": s.get("college")},
    ]
    rows += [{"k": label("referral_field", f, lang), "v": machine.field_text(f, view.get(f), lang)} for f in _SHOW_FIELDS]
    rows.append({"k": label("referral_field", "alerts", lang), "v": "、".join(label("referral_alert", a, lang) for a in view["alerts"])})
    nexts = "、".join(f"{n} ({label('referral_status', n, lang)})" for n in view["valid_next"]) or "—"
    rows.append({"k": _text("valid_next", lang), "v": nexts})
    output.emit_table(rows, [("k", _text("item", lang)), ("v", _text("value", lang))], title=_text("referral", lang).format(ref=view["short_id"]))
    steps = [{"on": i["on"], "summary": machine.summary(i, lang), "by": staff_name(i["by"], names)} for i in view["history"]]
    output.emit_table(
        steps, [("on", label("field", "date", lang)), ("summary", _text("step", lang)), ("by", label("field", "author", lang))], title=_text("steps", lang)
    )


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
    lang = _shown()
    for r in rows:
        r["status_label"] = label("referral_status", r["status"], lang)
        r["urgency_label"] = label("urgency", r["urgency"], lang)
        r["alert_labels"] = "、".join(label("referral_alert", a, lang) for a in r["alerts"])
    output.emit_table(
        rows,
        [
            ("short_id", _text("id", lang)),
            ("student_no", label("field", "student_no", lang)),
            ("name", label("field", "name", lang)),
            ("college", label("field", "college", lang)),
            ("hospital", _text("hospital", lang)),
            ("status_label", label("field", "status", lang)),
            ("urgency_label", _text("urgency", lang)),
            ("referred_on", _text("referred_on", lang)),
            ("next_review", _text("next_review", lang)),
            ("alert_labels", _text("alerts", lang)),
        ],
        title=_text("referrals", lang),
    )


@app.command("export")
def export(
    ctx: typer.Context,
    ref: RefArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="The workbook to write (.xlsx), or a directory for the default name.")],
    lang: LangOpt = None,
    purpose: PurposeOpt = None,
) -> None:
    """Write the referral record sheet (转介记录表) for printing and filing, with signature lines.

    Example: mhtool referral export 1a2b3c4d --out 转介记录表.xlsx
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        path = center.referrals.export(ref, out, lang=lang or "zh", purpose=purpose)
    output.success(_("wrote {path}").format(path=path))
    output.emit_line(str(path))
