"""`mhtool cases …`: one dossier per student (一人一档).

Commands are thin: they read options (or, on a terminal only, ask for what was
not given), call one method of ``center.cases``
(:class:`mhtool.cases.usecases.api.Cases`) and print its result. The use case
checks role and scope, applies the rules, writes and audits; a value still
missing when it is needed is refused there, naming the flag. Heavy modules are
imported inside the commands so that ``mhtool --help`` stays quick.

No ``from __future__ import annotations`` here: Typer would then evaluate every
option's annotation string each time the command tree is built, which costs
about 50 ms per run with this many options; real annotations are built once.
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from mhtool.console.apps import make_subapp
from mhtool.console.options import CollegeOpt, CsvOpt, DateOpt, JsonOpt, LangOpt, OutFileOpt, PurposeOpt, ReasonOpt
from mhtool.console.options import check_datetime, checked, date_value, datetime_value, profile_value, student_no_value
from mhtool.domain import rules
from mhtool.domain.vocabulary import CRISIS_RISKS, CRISIS_TYPES, GROUPS, STATUSES

app = make_subapp()

StudentArg = Annotated[str, typer.Argument(metavar="STUDENT", help="Student number (学号).", callback=checked(student_no_value))]
CorrectsOpt = Annotated[
    Optional[str],
    typer.Option("--corrects", metavar="ENTRY", help="Record this as a correction of an earlier entry (its id or first 4+ characters, shown by `cases show`); what is not restated comes from that entry."),
]
MultiOpt = Optional[list[str]]
LateYesOpt = Annotated[
    bool,
    typer.Option("--yes", help="A late entry (补录, dated before later entries) that changes the current level: record it without asking (needed when not on a terminal)."),
]


# -- helpers ----------------------------------------------------------------------------------


def _lang(lang: str) -> str:
    from mhtool.errors import UsageError

    if lang not in ("zh", "en"):
        raise UsageError(f"--lang {lang!r}: use zh or en")
    return lang


# Flag values checked while the command line is parsed (a refused value is exit 2, naming the
# flag), by the same parsers the use cases apply.


def _parse_level(value: str, flag: str) -> None:
    from mhtool.cases.domain import model

    model.parse_level(value, option=flag)


def _parse_group(value: str) -> None:
    from mhtool.cases.domain import model

    model.parse_groups([value])


def _parse_guardian(value: str) -> None:
    from mhtool.cases.domain import model

    if value.strip().lower() not in ("none", "无"):
        model.parse_guardian(value)


def _parse_consent(value: str) -> None:
    from mhtool.cases.domain import model

    model.parse_consent(value)


def _parse_notified(value: str) -> None:
    from mhtool.errors import UsageError

    who, sep, at = value.partition("@")
    if not sep or not who.strip():
        raise UsageError(f"--notified {value!r}: expected WHO@WHEN", hint='e.g. --notified "学院书记@2026-11-23 22:30"')
    check_datetime(at, "--notified")


level_value = checked(_parse_level, pass_flag=True)


def _ask(value, message: str, *, correcting: bool = False):
    """The given value, or on a terminal the answer to a question.

    Off a terminal, and in a correction (the corrected entry supplies what is
    not restated), nothing is asked: the use case names a flag still missing.
    """
    from mhtool.console import prompts

    if value not in (None, "") or correcting or not prompts.is_interactive():
        return value
    return prompts.text(message, flag="").strip() or None


SKIP = "（跳过 / skip）"


def _maybe(value, message: str, *, choices: list[str] | None = None, correcting: bool = False):
    """An optional value: asked only on a terminal, and left empty when the answer is empty."""
    from mhtool.console.prompts import is_interactive, select, text

    if value not in (None, "") or correcting or not is_interactive():
        return value
    if choices:
        answer = select(message, [*choices, SKIP], flag="")
        return None if answer == SKIP else answer
    return text(message, flag="").strip() or None


def _late_ask():
    """On a terminal, the question a late entry that changes the current level asks; elsewhere None (the use case then names --yes)."""
    from mhtool.console import prompts

    if not prompts.is_interactive():
        return None
    return lambda change: prompts.confirm(f"{change}. 仍然记录 / record it?")


def _recorded(recorded) -> None:
    """What recording an event wrote: warnings, a summary and the next tasks on stderr, the new entry ids on stdout."""
    from mhtool.console import output
    from mhtool.domain.labels import label

    if recorded is None:
        output.info("not confirmed; nothing was recorded")
        return
    for w in recorded.warnings:
        output.warn(w)
    for n in recorded.notices:
        output.info(n)
    kinds = "、".join(label("entry", k) for k in recorded.kinds)
    output.success(f"{recorded.student_no} {recorded.name}: {kinds or 'nothing changed'} ({recorded.on.isoformat()})")
    if recorded.corrects:
        output.info(f"corrects entry {recorded.corrects[:8]}; the original stays in the file, marked as corrected")
    for kind, due in recorded.next_tasks:
        output.info(f"next {label('task', kind, 'en')} due {due.isoformat()}")
    for i in recorded.entry_ids:
        output.emit_line(i)


def _warn_unknown_counselor(saved, name: str | None) -> None:
    from mhtool.console import output

    if saved.unknown_counselor:
        output.warn(f"{name!r} is not a staff member of this store; `cases tasks --mine` will not find these tasks for anyone")


# -- reading ----------------------------------------------------------------------------------


@app.command("show")
def show(
    ctx: typer.Context,
    student: StudentArg,
    kind: Annotated[MultiOpt, typer.Option("--kind", help="Only timeline entries of this kind (repeatable): interview, note, crisis, measure, …")] = None,
    json: JsonOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """Open a dossier: header, level badge, groups, measures, open tasks and the timeline.

    Clerks see headers, measures and tasks; the content of interviews, notes,
    crises and guardian conversations is for counselors. The read is audited.
    For an erased student it says when, by whom and why the dossier was erased.

    Example: mhtool cases show 2024010203
    """
    from mhtool.console import output, session

    lang = _lang(lang)
    with session.open_center(ctx) as center:
        d = center.cases.show(student, kinds=kind)
    if "erased" in d:
        from mhtool.cases.domain.views import erased_text

        if json:
            output.emit_json(d)
        else:
            output.emit_line(erased_text(d, lang))
        return
    if json:
        output.emit_json({k: d[k] for k in ("student", "timeline", "tasks", "measures", "missing")})
        return
    from mhtool.cases.render import dossier_panel

    output.emit_renderable(dossier_panel(d, lang))


def _list_columns(lang: str) -> list[tuple[str, str]]:
    from mhtool.domain.labels import label

    return [
        ("student_no", label("field", "student_no", lang)),
        ("name", label("field", "name", lang)),
        ("college", label("field", "college", lang)),
        ("class_name", label("field", "class_name", lang)),
        ("level_label", label("field", "level", lang)),
        ("level_since", label("field", "level_since", lang)),
        ("status_label", label("field", "status", lang)),
        ("counselor", label("field", "counselor", lang)),
        ("next_due", label("dossier", "next_due", lang)),
        ("overdue_text", label("dossier", "overdue", lang)),
    ]


def _emit_rows(rows: list[dict], *, json: bool, csv: bool, lang: str, columns) -> None:
    from mhtool.cases.domain.views import missing_text
    from mhtool.console import output
    from mhtool.domain.labels import label
    from mhtool.domain.vocabulary import LEVELS

    if json:
        output.emit_json(rows)
        return
    by_label = {label("level", c, lang): c for c in LEVELS}
    for r in rows:
        r["level_label"] = label("level", r.get("level"), lang)
        r["status_label"] = label("status", r.get("status"), lang)
        if "overdue_days" in r:
            r["overdue_text"] = f"{r['overdue_days']} {label('dossier', 'days', lang)}" if r.get("overdue") else ""
        if "kind" in r:
            r["kind_label"] = label("task", r["kind"], lang)
        if "missing" in r:
            r["missing_text"] = missing_text(r["missing"], lang)
    if csv:
        output.emit_csv(rows, columns)
        return
    output.emit_table(rows, columns, styles={"level_label": lambda v: output.level_style(by_label.get(v))})
    if not rows:
        output.info(label("dossier", "none", lang))


@app.command("list")
def list_(
    ctx: typer.Context,
    level: Annotated[Optional[str], typer.Option("--level", callback=level_value, help="Only this level: red, orange, yellow (or 红色/橙色/黄色).")] = None,
    college: CollegeOpt = None,
    group: Annotated[Optional[str], typer.Option("--group", callback=checked(_parse_group), help="Only students in this special group (hardship, academic, … or its Chinese name).")] = None,
    status: Annotated[Optional[str], typer.Option("--status", help=f"Only this status: {', '.join(STATUSES)}.")] = None,
    counselor: Annotated[Optional[str], typer.Option("--counselor", help="Only students assigned to this counselor.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only students with an overdue task.")] = False,
    due_within: Annotated[Optional[int], typer.Option("--due-within", min=0, metavar="DAYS", help="Only students with a task due within DAYS days (overdue included).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include students who are not on the watch list (reads every dossier).")] = False,
    json: JsonOpt = False,
    csv: CsvOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """List watched students (关注学生) with level, status, counselor and next due task.

    Example: mhtool cases list --level red --overdue
    """
    from mhtool.console import session

    lang = _lang(lang)
    with session.open_center(ctx) as center:
        rows = center.cases.list(
            level=level, college=college, group=group, status=status, counselor=counselor,
            overdue=overdue, due_within=due_within, include_unwatched=all_,
        )
    _emit_rows(rows, json=json, csv=csv, lang=lang, columns=_list_columns(lang))


@app.command("find")
def find(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Part of a name or of a student number.")],
    json: JsonOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """Find students by name or number fragment (watched or not).

    Example: mhtool cases find 0423
    """
    from mhtool.console import session

    lang = _lang(lang)
    with session.open_center(ctx) as center:
        rows = center.cases.find(text)
    _emit_rows(rows, json=json, csv=False, lang=lang, columns=_list_columns(lang))


@app.command("tasks")
def tasks(
    ctx: typer.Context,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue tasks.")] = False,
    mine: Annotated[bool, typer.Option("--mine", help="Only tasks assigned to me, or of students I am the counselor of.")] = False,
    due_within: Annotated[Optional[int], typer.Option("--due-within", min=0, metavar="DAYS", help="Only tasks due within DAYS days (overdue included).")] = None,
    json: JsonOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """Open tasks, earliest first: interviews from screening, follow-ups, return reviews, reminders.

    Example: mhtool cases tasks --mine --due-within 7
    """
    from mhtool.console import session
    from mhtool.domain.labels import label

    lang = _lang(lang)
    with session.open_center(ctx) as center:
        rows = center.cases.tasks(overdue=overdue, mine=mine, due_within=due_within)
    for r in rows:
        r["id_short"] = r["id"][:8]
        r["proposed_label"] = label("level", r["proposed_level"], lang) if r.get("proposed_level") else ""
    columns = [
        ("due", label("field", "due", lang)),
        ("kind_label", label("field", "task", lang)),
        ("student_no", label("field", "student_no", lang)),
        ("name", label("field", "name", lang)),
        ("college", label("field", "college", lang)),
        ("proposed_label", label("field", "proposed_level", lang)),
        ("level_label", label("field", "level", lang)),
        ("counselor", label("field", "counselor", lang)),
        ("note", label("dossier", "note", lang)),
        ("overdue_text", label("dossier", "overdue", lang)),
        ("id_short", "#"),
    ]
    if json:
        for r in rows:
            r.pop("id_short", None)
            r.pop("proposed_label", None)
            r.pop("student_id", None)
    _emit_rows(rows, json=json, csv=False, lang=lang, columns=columns)


@app.command("check")
def check(
    ctx: typer.Context,
    college: CollegeOpt = None,
    json: JsonOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """三个明确: list every watched student lacking basic information, a recent state, or a help measure.

    Example: mhtool cases check --college 文学院
    """
    from mhtool.console import output, session
    from mhtool.domain.labels import label

    lang = _lang(lang)
    with session.open_center(ctx) as center:
        rows = center.cases.check(college=college)
    columns = [
        ("student_no", label("field", "student_no", lang)),
        ("name", label("field", "name", lang)),
        ("college", label("field", "college", lang)),
        ("level_label", label("field", "level", lang)),
        ("counselor", label("field", "counselor", lang)),
        ("missing_text", label("dossier", "missing", lang)),
    ]
    _emit_rows(rows, json=json, csv=False, lang=lang, columns=columns)
    if not json:
        if rows:
            output.warn(f"{len(rows)} watched student(s) lack part of the three clarities (三个明确)")
        else:
            output.success("every watched student has basic information, a recent state and a help measure")


@app.command("export")
def export(
    ctx: typer.Context,
    student: StudentArg,
    out: OutFileOpt = None,
    lang: LangOpt = "zh",
    purpose: PurposeOpt = None,
) -> None:
    """Write the whole dossier as a printable workbook: a profile sheet and a timeline sheet.

    --purpose (kept in the audit log) is required where the store's policy asks
    for it (by default: for clerks).

    Example: mhtool cases export 2024010203 --out 档案.xlsx --purpose "转介医院需要"
    """
    from mhtool.console import output, session
    from mhtool.errors import UsageError

    lang = _lang(lang)
    if out is None:
        raise UsageError("missing --out", hint="pass --out FILE.xlsx (or an existing folder)")
    with session.open_center(ctx) as center:
        exported = center.cases.export(student, out, lang=lang, purpose=purpose)
    output.success(f"dossier of {student} written to {exported.path} ({exported.timeline_entries} timeline entries)")
    output.emit_line(str(exported.path))


# -- dossier headers --------------------------------------------------------------------------


def _parse_name(value: str) -> None:
    from mhtool.errors import UsageError

    if not value.strip():
        raise UsageError("--name cannot be empty")


NameOpt = Annotated[Optional[str], typer.Option("--name", callback=checked(_parse_name), help="姓名.")]
GenderOpt = Annotated[Optional[str], typer.Option("--gender", help="性别.")]
MajorOpt = Annotated[Optional[str], typer.Option("--major", help="专业.")]
GradeOpt = Annotated[Optional[str], typer.Option("--grade", help="年级, e.g. 2024.")]
ClassOpt = Annotated[Optional[str], typer.Option("--class", help="班级.")]
DormOpt = Annotated[Optional[str], typer.Option("--dorm", help="宿舍.")]
PhoneOpt = Annotated[Optional[str], typer.Option("--phone", help="The student's phone.")]
AdvisorOpt = Annotated[Optional[str], typer.Option("--advisor", help="辅导员 (the college advisor).")]
AdvisorPhoneOpt = Annotated[Optional[str], typer.Option("--advisor-phone", help="The advisor's phone.")]
GuardianOpt = Annotated[MultiOpt, typer.Option("--guardian", metavar="RELATION,NAME,PHONE", callback=checked(_parse_guardian), help="A guardian, e.g. \"母亲,李某,13800000000\" (repeatable; replaces the list; none clears it).")]
GroupOpt = Annotated[MultiOpt, typer.Option("--group", callback=checked(_parse_group), help=f"Special group: {', '.join(GROUPS)} (repeatable; replaces the list; none clears it).")]
TagOpt = Annotated[MultiOpt, typer.Option("--tag", help="A free tag (repeatable; replaces the list; none clears it).")]
CounselorOpt = Annotated[Optional[str], typer.Option("--counselor", help="The assigned counselor (a staff name).")]


@app.command("add")
def add(
    ctx: typer.Context,
    student: StudentArg,
    name: NameOpt = None,
    gender: GenderOpt = None,
    college: CollegeOpt = None,
    major: MajorOpt = None,
    grade: GradeOpt = None,
    class_name: ClassOpt = None,
    dorm: DormOpt = None,
    phone: PhoneOpt = None,
    advisor: AdvisorOpt = None,
    advisor_phone: AdvisorPhoneOpt = None,
    guardian: GuardianOpt = None,
    group: GroupOpt = None,
    tag: TagOpt = None,
    counselor: CounselorOpt = None,
) -> None:
    """Create a dossier by hand (students from rosters and screening imports get one automatically).

    Example: mhtool cases add 2024010203 --name 张三 --college 文学院 --class 汉语言2401
    """
    from mhtool.console import output, session

    name = _ask(name, "姓名 / name:")
    college = _ask(college, "学院 / college:")
    gender = _maybe(gender, "性别 / gender:", choices=["男", "女"])
    class_name = _maybe(class_name, "班级 / class:")
    phone = _maybe(phone, "手机 / phone:")
    advisor = _maybe(advisor, "辅导员 / advisor:")
    with session.open_center(ctx) as center:
        saved = center.cases.add(
            student, name=name, gender=gender, college=college, major=major, grade=grade, class_name=class_name, dorm=dorm, phone=phone,
            advisor=advisor, advisor_phone=advisor_phone, counselor=counselor, groups=group, tags=tag, guardians=guardian,
        )
    _warn_unknown_counselor(saved, counselor)
    output.success(f"dossier created for {saved.student_no} {saved.name}")
    output.emit_line(saved.student_no)


@app.command("edit")
def edit(
    ctx: typer.Context,
    student: StudentArg,
    name: NameOpt = None,
    gender: GenderOpt = None,
    college: CollegeOpt = None,
    major: MajorOpt = None,
    grade: GradeOpt = None,
    class_name: ClassOpt = None,
    dorm: DormOpt = None,
    phone: PhoneOpt = None,
    advisor: AdvisorOpt = None,
    advisor_phone: AdvisorPhoneOpt = None,
    guardian: GuardianOpt = None,
    group: GroupOpt = None,
    tag: TagOpt = None,
    counselor: CounselorOpt = None,
) -> None:
    """Change a dossier's basic information, groups, tags, guardians or counselor.

    Level and status have their own commands (`cases level`, `cases status`), which record why.

    Example: mhtool cases edit 2024010203 --dorm 3-402 --group hardship --group academic
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        saved = center.cases.edit(
            student, name=name, gender=gender, college=college, major=major, grade=grade, class_name=class_name, dorm=dorm, phone=phone,
            advisor=advisor, advisor_phone=advisor_phone, counselor=counselor, groups=group, tags=tag, guardians=guardian,
        )
    _warn_unknown_counselor(saved, counselor)
    if saved.changed:
        output.success(f"{saved.student_no}: changed {', '.join(saved.changed)}")
    else:
        output.info(f"{saved.student_no}: nothing changed (the dossier already says so)")
    output.emit_line(saved.student_no)


# -- recording events -------------------------------------------------------------------------


@app.command(
    "interview",
    help=f"""Record an interview (约谈). Completes the open interview task and schedules the next follow-up.

    A confirmed level changes the watch (follow-up {rules.cadence_text()}).

    Example: mhtool cases interview 2024010203 --findings "睡眠差，情绪低落" --risk 中 --confirm orange --mode 面谈 --duration 50
    """,
)
def interview(
    ctx: typer.Context,
    student: StudentArg,
    findings: Annotated[Optional[str], typer.Option("--findings", help="What was found in the conversation.")] = None,
    confirm: Annotated[Optional[str], typer.Option("--confirm", callback=level_value, help="The level the interview confirms: red, orange, yellow or none (sets the watch level).")] = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="How: 面谈 (in person), 电话 (phone), 视频 (video) …")] = None,
    duration: Annotated[Optional[int], typer.Option("--duration", min=1, metavar="MINUTES", help="How long, in minutes.")] = None,
    risk: Annotated[Optional[str], typer.Option("--risk", help="Risk assessment (风险评估).")] = None,
    next_step: Annotated[Optional[str], typer.Option("--next-step", help="What happens next (后续安排).")] = None,
    date: DateOpt = None,
    corrects: CorrectsOpt = None,
    yes: LateYesOpt = False,
) -> None:
    from mhtool.console import session
    from mhtool.domain.vocabulary import LEVELS

    correcting = bool(corrects)
    findings = _ask(findings, "约谈情况 / findings:", correcting=correcting)
    confirm = _maybe(confirm, "确认等级 / confirmed level:", choices=list(LEVELS), correcting=correcting)
    mode = _maybe(mode, "方式 / mode:", correcting=correcting)
    risk = _maybe(risk, "风险评估 / risk:", correcting=correcting)
    next_step = _maybe(next_step, "下一步 / next step:", correcting=correcting)
    with session.open_center(ctx) as center:
        recorded = center.cases.interview(
            student, findings=findings, confirm=confirm, mode=mode, duration=duration, risk=risk, next_step=next_step, on=date, corrects=corrects,
            yes=yes, ask=_late_ask(),
        )
    _recorded(recorded)


@app.command("level")
def level(
    ctx: typer.Context,
    student: StudentArg,
    to: Annotated[Optional[str], typer.Argument(metavar="LEVEL", callback=level_value, help="red, orange, yellow or none (红色/橙色/黄色/无).")] = None,
    reason: ReasonOpt = None,
    date: DateOpt = None,
    yes: LateYesOpt = False,
) -> None:
    """Set the watch level (关注等级). Every change needs --reason.

    Example: mhtool cases level 2024010203 red --reason "约谈中表达自伤想法"
    """
    from mhtool.console import session

    to = _ask(to, "关注等级 / level (red/orange/yellow/none):")
    reason = _ask(reason, "原因 / reason:")
    with session.open_center(ctx) as center:
        recorded = center.cases.level(student, to, reason=reason, on=date, yes=yes, ask=_late_ask())
    _recorded(recorded)


@app.command("note")
def note(
    ctx: typer.Context,
    student: StudentArg,
    text: Annotated[Optional[str], typer.Option("--text", help="The note, stored and shown exactly as typed.")] = None,
    date: DateOpt = None,
    corrects: CorrectsOpt = None,
) -> None:
    """Add a note (记录) to the timeline.

    Example: mhtool cases note 2024010203 --text "室友反映近期作息规律"
    """
    from mhtool.console import session

    text = _ask(text, "记录 / note:", correcting=bool(corrects))
    with session.open_center(ctx) as center:
        recorded = center.cases.note(student, text, on=date, corrects=corrects)
    _recorded(recorded)


@app.command("measure")
def measure(
    ctx: typer.Context,
    student: StudentArg,
    kind: Annotated[Optional[str], typer.Option("--kind", help="What kind of help: 学业帮扶, 资助, 定期谈话, 家长陪读 …")] = None,
    description: Annotated[Optional[str], typer.Option("--description", help="What is done.")] = None,
    responsible: Annotated[Optional[str], typer.Option("--responsible", help="Who is responsible.")] = None,
    start: Annotated[Optional[str], typer.Option("--start", callback=date_value, help="Start date (default: --date).")] = None,
    end: Annotated[Optional[str], typer.Option("--end", callback=date_value, help="End date, if known (may be in the future).")] = None,
    date: DateOpt = None,
    corrects: CorrectsOpt = None,
) -> None:
    """Record a help measure (帮扶举措). To end one, correct it with --corrects ENTRY --end DATE.

    Example: mhtool cases measure 2024010203 --kind 定期谈话 --description "每两周一次咨询" --responsible 王老师
    """
    from mhtool.console import session

    correcting = bool(corrects)
    kind = _ask(kind, "举措类型 / kind:", correcting=correcting)
    description = _ask(description, "举措内容 / description:", correcting=correcting)
    responsible = _maybe(responsible, "负责人 / responsible:", correcting=correcting)
    with session.open_center(ctx) as center:
        recorded = center.cases.measure(
            student, kind=kind, description=description, responsible=responsible, start=start, end=end, on=date, corrects=corrects
        )
    _recorded(recorded)


@app.command("guardian")
def guardian(
    ctx: typer.Context,
    student: StudentArg,
    who: Annotated[Optional[str], typer.Option("--who", help="Which guardian, e.g. 母亲 李某.")] = None,
    content: Annotated[Optional[str], typer.Option("--content", help="What was said.")] = None,
    channel: Annotated[Optional[str], typer.Option("--channel", help="How: 电话, 面谈, 微信 …")] = None,
    consent: Annotated[Optional[str], typer.Option("--consent", callback=checked(_parse_consent), help="Consent form (知情同意书): signed, refused or not_needed.")] = None,
    date: DateOpt = None,
    corrects: CorrectsOpt = None,
) -> None:
    """Record a guardian contact (家校沟通), with the consent-form status.

    Example: mhtool cases guardian 2024010203 --who 母亲 --channel 电话 --content "告知约谈情况，建议就医" --consent signed
    """
    from mhtool.console import session

    correcting = bool(corrects)
    who = _ask(who, "监护人 / guardian:", correcting=correcting)
    content = _ask(content, "沟通内容 / what was said:", correcting=correcting)
    channel = _maybe(channel, "方式 / channel:", correcting=correcting)
    consent = _maybe(consent, "知情同意书 / consent:", choices=["signed", "refused", "not_needed"], correcting=correcting)
    with session.open_center(ctx) as center:
        recorded = center.cases.guardian(student, who=who, content=content, channel=channel, consent=consent, on=date, corrects=corrects)
    _recorded(recorded)


@app.command("crisis")
def crisis(
    ctx: typer.Context,
    student: StudentArg,
    what: Annotated[Optional[str], typer.Option("--what", help="What happened.")] = None,
    where: Annotated[Optional[str], typer.Option("--where", help="Where it happened.")] = None,
    happened_at: Annotated[Optional[str], typer.Option("--happened-at", callback=datetime_value, help="When: 2026-11-23 22:10 (default: --date).")] = None,
    actions: Annotated[Optional[str], typer.Option("--actions", help="What was done (处置).")] = None,
    parents_notified_at: Annotated[
        Optional[str], typer.Option("--parents-notified-at", callback=datetime_value, help=f"When the parents were told (the norm is within {rules.GUARDIAN_NOTICE_HOURS} hours).")
    ] = None,
    notified: Annotated[
        MultiOpt,
        typer.Option(
            "--notified", metavar="WHO@WHEN", callback=checked(_parse_notified),
            help="Someone else told, e.g. \"学院书记@2026-11-23 22:30\" (repeatable); \"家长@…\" also records when the parents knew.",
        ),
    ] = None,
    event_type: Annotated[
        Optional[str],
        typer.Option("--type", metavar="TYPE", help=f"事件类型, code or label: {', '.join(CRISIS_TYPES)}; e.g. --type self_harm or --type 自伤行为."),
    ] = None,
    risk: Annotated[
        Optional[str], typer.Option("--risk", help=f"风险等级 as assessed on the spot: {', '.join(CRISIS_RISKS)}; e.g. --risk high or --risk 高风险.")
    ] = None,
    reported_to: Annotated[
        Optional[str], typer.Option("--reported-to", help="向上级报告: to whom it was reported, e.g. --reported-to \"学生工作部（处）值班领导\".")
    ] = None,
    reported_at: Annotated[Optional[str], typer.Option("--reported-at", callback=datetime_value, help="When it was reported upward, e.g. --reported-at \"2026-11-23 23:10\".")] = None,
    reported_how: Annotated[Optional[str], typer.Option("--reported-how", help="How it was reported upward, e.g. --reported-how 电话 (or 书面, 当面).")] = None,
    level: Annotated[Optional[str], typer.Option("--level", callback=level_value, help="Also set the watch level (usually red).")] = None,
    reason: ReasonOpt = None,
    date: DateOpt = None,
    corrects: CorrectsOpt = None,
    yes: LateYesOpt = False,
) -> None:
    """Record a crisis event (危机事件): what, type, risk, where, actions, who was notified and when, and the report upward.

    Produce the immediate report with `mhtool report crisis`.

    Example: mhtool cases crisis 2024010203 --what "宿舍内自伤" --type self_harm --risk high --where "3号楼" --happened-at "2026-11-23 22:10" --actions "送医" --notified "家长@2026-11-23 23:00" --reported-to "学生工作部" --reported-at "2026-11-23 22:40" --reported-how 电话 --level red
    """
    from mhtool.console import session

    correcting = bool(corrects)
    what = _ask(what, "发生了什么 / what happened:", correcting=correcting)
    event_type = _maybe(event_type, "事件类型 / type:", choices=list(CRISIS_TYPES), correcting=correcting)
    risk = _maybe(risk, "风险等级 / risk:", choices=list(CRISIS_RISKS), correcting=correcting)
    where = _maybe(where, "地点 / where:", correcting=correcting)
    actions = _maybe(actions, "处置 / actions taken:", correcting=correcting)
    with session.open_center(ctx) as center:
        recorded = center.cases.crisis(
            student, what=what, where=where, happened_at=happened_at, actions=actions, parents_notified_at=parents_notified_at,
            notified=notified or (), level=level, reason=reason, on=date, corrects=corrects,
            event_type=event_type, risk=risk, reported_to=reported_to, reported_at=reported_at, reported_how=reported_how,
            yes=yes, ask=_late_ask(),
        )
    _recorded(recorded)


@app.command("follow-up")
def follow_up(
    ctx: typer.Context,
    student: StudentArg,
    content: Annotated[Optional[str], typer.Option("--content", help="How the student is doing; what was done.")] = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="How: 面谈, 电话, 辅导员反馈 …")] = None,
    date: DateOpt = None,
    corrects: CorrectsOpt = None,
) -> None:
    """Record a follow-up (回访). Completes the due follow-up and schedules the next from the level's cadence.

    Example: mhtool cases follow-up 2024010203 --content "情绪平稳，按时上课" --mode 面谈
    """
    from mhtool.console import session

    correcting = bool(corrects)
    content = _ask(content, "回访情况 / follow-up:", correcting=correcting)
    mode = _maybe(mode, "方式 / mode:", correcting=correcting)
    with session.open_center(ctx) as center:
        recorded = center.cases.follow_up(student, content=content, mode=mode, on=date, corrects=corrects)
    _recorded(recorded)


@app.command("close")
def close(
    ctx: typer.Context,
    student: StudentArg,
    reason: ReasonOpt = None,
    date: DateOpt = None,
    yes: LateYesOpt = False,
) -> None:
    """End the watch (结案): level none, open follow-ups cancelled. Needs --reason.

    Example: mhtool cases close 2024010203 --reason "连续三次回访状态稳定，经评估解除关注"
    """
    from mhtool.console import session

    reason = _ask(reason, "结案原因 / reason:")
    with session.open_center(ctx) as center:
        recorded = center.cases.close(student, reason=reason, on=date, yes=yes, ask=_late_ask())
    _recorded(recorded)


@app.command("reopen")
def reopen(
    ctx: typer.Context,
    student: StudentArg,
    level: Annotated[Optional[str], typer.Option("--level", callback=level_value, help="The level to watch at: red, orange or yellow.")] = None,
    reason: ReasonOpt = None,
    date: DateOpt = None,
    yes: LateYesOpt = False,
) -> None:
    """Put a student back on the watch list (重新关注). Needs --level and --reason.

    Example: mhtool cases reopen 2024010203 --level yellow --reason "期末压力大，辅导员反映情绪波动"
    """
    from mhtool.console import session

    level = _ask(level, "关注等级 / level:")
    reason = _ask(reason, "原因 / reason:")
    with session.open_center(ctx) as center:
        recorded = center.cases.reopen(student, level=level, reason=reason, on=date, yes=yes, ask=_late_ask())
    _recorded(recorded)


@app.command(
    "status",
    help=f"""Change a student's status: 休学 leave, 复学 return, 退学 withdraw, 毕业 graduate.

    A return needs a certificate (or --without-certificate --reason); it keeps
    the watch level and schedules reviews at {' and '.join(f'+{d}' for d in rules.RETURN_REVIEW_DAYS)} days.

    \b
    Examples:
      mhtool cases status 2024010203 leave --from 2026-11-01 --until 2027-02-28 --reason "抑郁发作，遵医嘱休学"
      mhtool cases status 2024010203 return --on 2027-03-01 --certificate "市精神卫生中心, 2027-02-20, 可复学"
    """,
)
def status(
    ctx: typer.Context,
    student: StudentArg,
    action: Annotated[Optional[str], typer.Argument(metavar="ACTION", help="leave (休学), return (复学), withdraw (退学) or graduate (毕业).")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", callback=date_value, help="leave: first day of the leave (default today).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", callback=date_value, help="leave: planned last day (may be in the future).")] = None,
    on: Annotated[Optional[str], typer.Option("--on", callback=date_value, help="return/withdraw/graduate: the day it took effect (default today).")] = None,
    reason: ReasonOpt = None,
    certificate: Annotated[Optional[str], typer.Option("--certificate", help="return: the medical certificate, \"hospital, date, conclusion\".")] = None,
    assessed_by: Annotated[Optional[str], typer.Option("--assessed-by", help="return: who assessed the student's fitness to return.")] = None,
    without_certificate: Annotated[bool, typer.Option("--without-certificate", help="return: there is no certificate (needs --reason).")] = False,
    document: Annotated[MultiOpt, typer.Option("--document", help="A supporting document, e.g. 休学审批表 (repeatable).")] = None,
    yes: LateYesOpt = False,
) -> None:
    from mhtool.console import session

    action = _ask(action, "变动 / action (leave/return/withdraw/graduate):")
    if action in ("leave", "withdraw") or without_certificate:
        reason = _ask(reason, "原因 / reason:")
    with session.open_center(ctx) as center:
        recorded = center.cases.status(
            student, action, from_=from_, until=until, on=on, reason=reason, certificate=certificate,
            assessed_by=assessed_by, without_certificate=without_certificate, documents=document or (),
            yes=yes, ask=_late_ask(),
        )
    _recorded(recorded)


@app.command("remind")
def remind(
    ctx: typer.Context,
    student: StudentArg,
    due: Annotated[Optional[str], typer.Option("--due", callback=date_value, help="When: 2026-12-01, tomorrow, +7d …")] = None,
    note_: Annotated[Optional[str], typer.Option("--note", help="What to do.")] = None,
    assign: Annotated[Optional[str], typer.Option("--assign", help="Whose task (default: the student's counselor).")] = None,
) -> None:
    """Add a reminder task to a dossier (shows in `cases tasks` and in the dossier).

    Example: mhtool cases remind 2024010203 --due +7d --note "期末考试前再约谈一次"
    """
    from mhtool.console import output, session

    due = _ask(due, "日期 / due:")
    note_ = _ask(note_, "提醒内容 / note:")
    with session.open_center(ctx) as center:
        reminded = center.cases.remind(student, due=due, note=note_, assign=assign)
    _warn_unknown_counselor(reminded, assign)
    output.success(f"reminder for {reminded.student_no} due {reminded.due.isoformat()}")
    output.emit_line(reminded.task_id)


@app.command("done")
def done(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(metavar="TASK", help="The task id (or its first 4+ characters, shown by `cases tasks`).")],
    note_: Annotated[Optional[str], typer.Option("--note", help="What was done.")] = None,
) -> None:
    """Mark a task done by hand (reminders; interviews and follow-ups complete themselves when recorded).

    Example: mhtool cases done 3fa9c2 --note "已电话确认"
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        result = center.cases.done(task, note=note_ or "")
    output.success(f"task {result['id'][:8]} ({result['kind']}) of {result['student_no']} done")
    output.emit_line(result["id"])


@app.command("import-interviews")
def import_interviews(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The interview-record sheet (.xlsx, .xls or .csv): 学号, 约谈日期, 约谈人, 情况描述, 评估等级, 后续措施.")],
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="Sheet name or 0-based index (default: the first with data).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and show what would happen; write nothing.")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the good rows and leave out the bad ones (default: all or nothing).")] = False,
    rejects: Annotated[Optional[Path], typer.Option("--rejects", help="With --skip-invalid: write the rejected rows and reasons to this workbook.")] = None,
    yes: LateYesOpt = False,
    json: JsonOpt = False,
) -> None:
    """Import interview records filled in by college advisors; each row becomes an interview entry.

    Same rules as survey import: every problem reported at once, all or nothing
    unless --skip-invalid, and the same sheet imported twice adds nothing. A row
    not filled in yet (no 情况描述 and no 评估等级) is skipped and counted as not yet done.

    Example: mhtool cases import-interviews 文学院约谈记录.xlsx --dry-run
    """
    from mhtool.console import output, session

    sheet_arg = int(sheet) if sheet and sheet.isdigit() else sheet
    with session.open_center(ctx) as center:
        imported = center.cases.import_interviews(file, sheet=sheet_arg, dry_run=dry_run, skip_invalid=skip_invalid, rejects=rejects, yes=yes, ask=_late_ask())
    if imported is None:
        output.info("not confirmed; nothing was imported")
        return
    result = imported.summary
    if imported.problems:
        output.warn(f"{len(imported.problems)} problem(s); {result['rejected']} row(s) left out")
        output.problems(imported.problems)
        if imported.rejects_file:
            output.info(f"rejected rows written to {imported.rejects_file}")
    verb = "would import" if dry_run else "imported"
    output.success(
        f"{result['file']}: {verb} {result['imported']} interview(s), {result['level_changes']} level change(s); "
        f"{result['duplicates']} already imported, {result['not_yet']} not yet done (blank rows), {result['rejected']} rejected"
    )
    if json:
        output.emit_json(result)
    else:
        output.emit_line(f"{result['imported']}\t{result['duplicates']}\t{result['rejected']}")


def _parse_cadence(days: int, flag: str) -> None:
    from mhtool.cases.domain import model

    model.cadence_change({flag.lstrip("-"): days})


cadence_value = checked(_parse_cadence, pass_flag=True)


def _cadence_help(level: str) -> str:
    return f"Days between follow-ups at {level} (default {rules.DEFAULT_CADENCE[level]})."


@app.command("cadence")
def cadence(
    ctx: typer.Context,
    red: Annotated[Optional[int], typer.Option("--red", callback=cadence_value, help=_cadence_help("red"))] = None,
    orange: Annotated[Optional[int], typer.Option("--orange", callback=cadence_value, help=_cadence_help("orange"))] = None,
    yellow: Annotated[Optional[int], typer.Option("--yellow", callback=cadence_value, help=_cadence_help("yellow"))] = None,
    json: JsonOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """Show the follow-up cadence by level, or change it (admin).

    Example: mhtool cases cadence --yellow 21
    """
    from mhtool.console import output, session
    from mhtool.domain.labels import label

    lang = _lang(lang)
    with session.open_center(ctx) as center:
        current = center.cases.cadence(red=red, orange=orange, yellow=yellow)
    if any(v is not None for v in (red, orange, yellow)):
        output.success("follow-up cadence changed; open tasks keep their due dates, the next contact uses the new cadence")
    if json:
        output.emit_json(current)
        return
    rows = [{"level": label("level", k, lang), "days": v} for k, v in current.items()]
    output.emit_table(rows, [("level", label("field", "level", lang)), ("days", label("dossier", "days", lang))])


@app.command("import-roster")
def import_roster(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The school roster (.xlsx, .xls or .csv): 学号, 姓名, 性别, 学院, 专业, 年级, 班级, 宿舍, 手机, 辅导员, 监护人及电话 …")],
    profile: Annotated[str, typer.Option("--profile", callback=profile_value, help="Column layout: roster (default) or a custom profile name.")] = "roster",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count; write nothing.")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the good rows and leave out the bad ones (default: all or nothing).")] = False,
    password_file: Annotated[Optional[Path], typer.Option("--password-file", help="A file whose first line is the roster workbook's password (decrypted in memory, never written out).")] = None,
    json: JsonOpt = False,
) -> None:
    """Create or update dossiers in bulk from the school roster.

    Same normalisation as survey import (grades read 2026级 however written);
    a stored student whose name differs is reported as a conflict, never
    overwritten; empty cells never erase. A student number twice in the file:
    rows that agree are one student (the later row is kept, the earlier
    reported); rows that disagree are all rejected. A staff member limited to
    some colleges gets one message for a number outside them, whether it is
    another college's or nobody's; the refusal is audited, even with
    --dry-run (the one thing a dry run writes).

    Example: mhtool cases import-roster 2026级学生名册.xlsx --dry-run
    """
    from mhtool.console import output, session
    from mhtool.errors import Problem

    from mhtool.io.readers import read_password_file

    password = read_password_file(password_file) if password_file is not None else None
    with session.open_center(ctx) as center:
        result = center.cases.import_roster(file, profile=profile, dry_run=dry_run, skip_invalid=skip_invalid, password=password)
    if result.get("problems"):
        output.warn(f"{result['rejected']} of {result['rows']} rows have problems and are left out:")
        output.problems([Problem(**p) for p in result["problems"]])
    for s in result.get("superseded_rows", ()):
        output.info(f"row {s['row']}: student {s['student_no']} appears again in row {s['kept_row']}; row {s['kept_row']} (the later) is kept")
    if json:
        output.emit_json(result)
        return
    verb = "would create" if dry_run else "created"
    output.success(
        f"{result['file']}: {result['valid']} of {result['rows']} rows valid; {verb} {result['students_created']} dossiers, "
        f"updated {result['students_updated']}; {result['rejected']} rows rejected"
        + (f", {result['superseded']} superseded by a later row of the same student" if result.get("superseded") else "")
    )


@app.command("graduate")
def graduate(
    ctx: typer.Context,
    class_of: Annotated[int, typer.Option("--class-of", help="The grade's year: --class-of 2022 graduates 2022级.")],
    date_: DateOpt = None,
    reason: ReasonOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count who would graduate; write nothing.")] = False,
    json: JsonOpt = False,
) -> None:
    """Mark a whole class as graduated (毕业): status change entries, open watches closed, tasks cancelled.

    Students on leave or withdrawn are skipped and counted. Needs --reason
    (not with --dry-run).

    Example: mhtool cases graduate --class-of 2022 --date 2026-06-30 --reason "2022级毕业，学校下发毕业名单"
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        result = center.cases.graduate(class_of, on=date_, reason=reason, dry_run=dry_run)
    if json:
        output.emit_json(result)
        return
    from mhtool.cases.domain.views import graduation_text

    output.success(graduation_text(result))
