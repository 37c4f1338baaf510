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
from mhtool.console.completion import watched_students
from mhtool.console.forms import LEVEL_STYLES, RISK_STYLES, Field
from mhtool.console.options import CollegeOpt, CsvOpt, DateOpt, JsonOpt, LangOpt, OutFileOpt, PurposeOpt, ReasonOpt
from mhtool.console.options import check_datetime, checked, date_value, datetime_value, profile_value, student_no_value
from mhtool.domain import rules
from mhtool.domain.vocabulary import CRISIS_RISKS, CRISIS_TYPES, GROUPS, LEVELS, STATUSES, WATCH_LEVELS
from mhtool.i18n import N_, _, joined

app = make_subapp()

StudentArg = Annotated[
    str,
    typer.Argument(metavar="STUDENT", help="Student number (学号).", callback=checked(student_no_value), autocompletion=watched_students),
]
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


def _shown(lang: Optional[str]) -> str:
    """The label language of what is read on the terminal: --lang, else the reader's language."""
    from mhtool.i18n import in_language

    return in_language(lang)


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
        raise UsageError(_("--notified {value!r}: expected WHO@WHEN").format(value=value), hint=_('e.g. --notified "学院书记@2026-11-23 22:30"'))
    check_datetime(at, "--notified")


level_value = checked(_parse_level, pass_flag=True)


# -- forms: what a command asks on a terminal when a required value is missing ----------------
# (mhtool.console.forms; off a terminal the use case names the missing flag instead)

# How a conversation was held: stored as the center writes it (面谈, 电话 …).
MODES = ("面谈", "电话", "视频", "其他")
CHANNELS = ("电话", "面谈", "微信", "其他")
WAYS = {
    "面谈": N_("面谈 (in person)"),
    "电话": N_("电话 (phone)"),
    "视频": N_("视频 (video)"),
    "微信": N_("微信 (WeChat)"),
    "其他": N_("其他 (other)"),
}
# An interview's risk assessment is free text; the form offers the center's words for the three risks.
INTERVIEW_RISKS = ("高风险", "中风险", "低风险")

_STUDENT = Field("student", "STUDENT", N_("Student number:"), ask=False)
_DATE = Field("date", "--date", N_("Date:"), kind="date", default="today")
_REASON = Field("reason", "--reason", N_("Reason:"), required=True)

ADD_FORM = (
    _STUDENT,
    Field("name", "--name", N_("Name:"), required=True),
    Field("college", "--college", N_("College:"), required=True),
    Field("gender", "--gender", N_("Gender:"), kind="choice", choices=("男", "女")),
    Field("major", "--major", N_("Major:"), ask=False),
    Field("grade", "--grade", N_("Grade:"), ask=False),
    Field("class_name", "--class", N_("Class:")),
    Field("dorm", "--dorm", N_("Dorm:"), ask=False),
    Field("phone", "--phone", N_("Phone:")),
    Field("advisor", "--advisor", N_("Advisor:")),
    Field("advisor_phone", "--advisor-phone", N_("Advisor's phone:"), ask=False),
    Field("guardian", "--guardian", N_("Guardians:"), ask=False),
    Field("group", "--group", N_("Special groups:"), labels="group", ask=False),
    Field("tag", "--tag", N_("Tags:"), ask=False),
    Field("counselor", "--counselor", N_("Counselor:"), ask=False),
)
INTERVIEW_FORM = (
    _STUDENT,
    Field("findings", "--findings", N_("Findings:"), required=True),
    Field("confirm", "--confirm", N_("Confirmed level:"), kind="choice", choices=LEVELS, labels="level", styles=LEVEL_STYLES),
    Field("risk", "--risk", N_("Risk assessment:"), kind="choice", choices=INTERVIEW_RISKS, labels="crisis_risk", styles=RISK_STYLES),
    Field("mode", "--mode", N_("Mode:"), kind="choice", choices=MODES, titles=WAYS),
    Field("duration", "--duration", N_("Duration (minutes):"), kind="int", ask=False),
    Field("next_step", "--next-step", N_("Next step:")),
    _DATE,
)
LEVEL_FORM = (
    _STUDENT,
    Field("to", "LEVEL", N_("Watch level:"), kind="choice", choices=LEVELS, labels="level", styles=LEVEL_STYLES, required=True),
    _REASON,
    _DATE,
)
NOTE_FORM = (_STUDENT, Field("text", "--text", N_("What to note:"), required=True), _DATE)
MEASURE_FORM = (
    _STUDENT,
    Field("kind", "--kind", N_("Kind of measure:"), required=True),
    Field("description", "--description", N_("What is done:"), required=True),
    Field("responsible", "--responsible", N_("Responsible:")),
    Field("start", "--start", N_("Start:"), kind="date", future=True, ask=False),
    Field("end", "--end", N_("End:"), kind="date", future=True, ask=False),
    _DATE,
)
GUARDIAN_FORM = (
    _STUDENT,
    Field("who", "--who", N_("Guardian:"), required=True),
    Field("content", "--content", N_("What was said:"), required=True),
    Field("channel", "--channel", N_("Channel:"), kind="choice", choices=CHANNELS, titles=WAYS),
    Field("consent", "--consent", N_("Consent form:"), kind="choice", choices=("signed", "refused", "not_needed"), labels="consent"),
    _DATE,
)
CRISIS_FORM = (
    _STUDENT,
    Field("what", "--what", N_("What happened:"), required=True),
    Field("event_type", "--type", N_("Type of event:"), kind="choice", choices=CRISIS_TYPES, labels="crisis_type"),
    Field("risk", "--risk", N_("Risk level:"), kind="choice", choices=CRISIS_RISKS, labels="crisis_risk", styles=RISK_STYLES),
    Field("happened_at", "--happened-at", N_("When it happened:"), kind="datetime", default="now"),
    Field("where", "--where", N_("Where:")),
    Field("actions", "--actions", N_("Actions taken:")),
    Field("parents_notified_at", "--parents-notified-at", N_("Parents notified at:"), kind="datetime", ask=False),
    Field("notified", "--notified", N_("Also notified:"), ask=False),
    Field("reported_to", "--reported-to", N_("Reported to:"), ask=False),
    Field("reported_at", "--reported-at", N_("Reported at:"), kind="datetime", ask=False),
    Field("reported_how", "--reported-how", N_("Reported how:"), ask=False),
    Field("level", "--level", N_("Also set the watch level:"), kind="choice", choices=LEVELS, labels="level", styles=LEVEL_STYLES),
    Field("reason", "--reason", N_("Reason:"), ask=False),
    Field("date", "--date", N_("Date:"), kind="date", ask=False),
)
FOLLOW_UP_FORM = (
    _STUDENT,
    Field("content", "--content", N_("How the student is doing:"), required=True),
    Field("mode", "--mode", N_("Mode:"), kind="choice", choices=MODES, titles=WAYS),
    _DATE,
)
CLOSE_FORM = (_STUDENT, Field("reason", "--reason", N_("Why the watch ends:"), required=True), _DATE)
REOPEN_FORM = (
    _STUDENT,
    Field("level", "--level", N_("Watch level:"), kind="choice", choices=WATCH_LEVELS, labels="level", styles=LEVEL_STYLES, required=True),
    _REASON,
    _DATE,
)
STATUS_ACTIONS = {
    "leave": N_("leave (休学)"),
    "return": N_("return (复学)"),
    "withdraw": N_("withdraw (退学)"),
    "graduate": N_("graduate (毕业)"),
}
STATUS_FORM = (
    _STUDENT,
    Field("action", "ACTION", N_("Change:"), kind="choice", choices=tuple(STATUS_ACTIONS), titles=STATUS_ACTIONS, required=True),
    Field("reason", "--reason", N_("Reason:"), required=True, when=("action", ("leave", "withdraw"))),
)
REMIND_FORM = (
    _STUDENT,
    Field("due", "--due", N_("Due:"), kind="date", future=True, required=True),
    Field("note_", "--note", N_("What to do:"), required=True),
    Field("assign", "--assign", N_("Whose task:"), ask=False),
)


def _late_ask():
    """On a terminal, the question a late entry that changes the current level asks; elsewhere None (the use case then names --yes)."""
    from mhtool.console import prompts

    if not prompts.is_interactive():
        return None
    return lambda change: prompts.confirm(_("{change}. Record it anyway?").format(change=change))


def _recorded(recorded) -> None:
    """What recording an event wrote: warnings, a summary and the next tasks on stderr, the new entry ids on stdout."""
    from mhtool.console import output
    from mhtool.domain.labels import label
    from mhtool.i18n import current

    if recorded is None:
        output.info(_("not confirmed; nothing was recorded"))
        return
    # The kinds recorded read like data (Chinese off a terminal, as they always were); the sentence is the reader's.
    lang = _shown(None)
    for w in recorded.warnings:
        output.warn(w)
    for n in recorded.notices:
        output.info(n)
    kinds = joined((label("entry", k, lang) for k in recorded.kinds), lang)
    on = recorded.on.isoformat()
    if kinds:
        output.success(_("{student_no} {name}: {kinds} ({on})").format(student_no=recorded.student_no, name=recorded.name, kinds=kinds, on=on))
    else:
        output.success(_("{student_no} {name}: nothing changed ({on})").format(student_no=recorded.student_no, name=recorded.name, on=on))
    if recorded.corrects:
        output.info(_("corrects entry {entry}; the original stays in the file, marked as corrected").format(entry=recorded.corrects[:8]))
    for kind, due in recorded.next_tasks:
        output.info(_("next {task} due {due}").format(task=label("task", kind, current()), due=due.isoformat()))
    for i in recorded.entry_ids:
        output.emit_line(i)


def _warn_unknown_counselor(saved, name: str | None) -> None:
    from mhtool.console import output

    if saved.unknown_counselor:
        output.warn(_("{name!r} is not a staff member of this store; `cases tasks --mine` will not find these tasks for anyone").format(name=name))


# -- reading ----------------------------------------------------------------------------------


@app.command("show")
def show(
    ctx: typer.Context,
    student: StudentArg,
    kind: Annotated[MultiOpt, typer.Option("--kind", help="Only timeline entries of this kind (repeatable): interview, note, crisis, measure, …")] = None,
    json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Open a dossier: header, level badge, groups, measures, open tasks and the timeline.

    Clerks see headers, measures and tasks; the content of interviews, notes,
    crises and guardian conversations is for counselors. The read is audited.
    For an erased student it says when, by whom and why the dossier was erased.

    Example: mhtool cases show 2024010203
    """
    import os
    import sys

    from mhtool.console import output, session
    from mhtool.domain.labels import label

    lang = _shown(lang)
    with session.open_center(ctx) as center:
        d = center.cases.show(student, kinds=kind)
        names = center.staff_names() if not json else None
    if "erased" in d:
        from mhtool.cases.domain.views import erased_text

        if json:
            output.emit_json(d)
        else:
            output.emit_line(erased_text(d, lang))
        return
    if json:
        # "signals" (多源预警) only when the reader may see them and the dossier has any.
        output.emit_json({k: d[k] for k in ("student", "timeline", "tasks", "measures", "missing", "signals") if k in d and (k != "signals" or d[k])})
        return
    from mhtool.cases import render

    if sys.stdout.isatty() or os.environ.get("FORCE_TERMINAL"):
        output.emit_renderable(render.dossier_panel(d, lang, names))
        return
    lines, timeline = render.dossier_lines(d, lang, names)
    for line in lines:
        output.emit_line(line)
    if timeline:
        output.emit_table(timeline, render.timeline_columns(lang))
    else:
        output.emit_line(label("dossier", "none", lang))


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


def _emit_rows(rows: list[dict], *, json: bool, csv: bool, lang: str, columns, staff_names: dict | None = None) -> None:
    from mhtool.cases.domain.views import missing_text
    from mhtool.console import output
    from mhtool.domain.labels import label

    if json:
        output.emit_json(rows)
        return
    by_label = {label("level", c, lang): c for c in LEVELS}
    # Labels looked up once per code, not once per row of a list of thousands.
    levels = {c: label("level", c, lang) for c in LEVELS}
    statuses = {c: label("status", c, lang) for c in STATUSES}
    days = label("dossier", "days", lang)
    names = staff_names or {}
    for r in rows:
        level, status = r.get("level"), r.get("status")
        if r.get("counselor") in names:
            r["counselor"] = names[r["counselor"]]
        r["level_label"] = levels[level] if level in levels else label("level", level, lang)
        r["status_label"] = statuses[status] if status in statuses else label("status", status, lang)
        if "overdue_days" in r:
            r["overdue_text"] = f"{r['overdue_days']} {days}" if r.get("overdue") else ""
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
    counselor: Annotated[Optional[str], typer.Option("--counselor", help="Only students assigned to this counselor: a login or the name shown for them (张华).")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only students with an overdue task.")] = False,
    due_within: Annotated[Optional[int], typer.Option("--due-within", min=0, metavar="DAYS", help="Only students with a task due within DAYS days (overdue included).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include students who are not on the watch list (reads every dossier).")] = False,
    json: JsonOpt = False,
    csv: CsvOpt = False,
    lang: LangOpt = None,
) -> None:
    """List watched students (关注学生) with level, status, counselor and next due task.

    Example: mhtool cases list --level red --overdue
    """
    from mhtool.console import session

    lang = (lang or "zh") if csv else _shown(lang)
    with session.open_center(ctx) as center:
        rows = center.cases.list(
            level=level, college=college, group=group, status=status, counselor=counselor,
            overdue=overdue, due_within=due_within, include_unwatched=all_,
        )
        names = None if json else center.staff_names()
    _emit_rows(rows, json=json, csv=csv, lang=lang, columns=_list_columns(lang), staff_names=names)


@app.command("radar")
def radar(
    ctx: typer.Context,
    college: CollegeOpt = None,
    rule: Annotated[Optional[str], typer.Option("--rule", metavar="RULE", help="Only this rule: dorm_out, meals_drop, hidden_hardship, first_fail, academic_warning, credits_short.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", metavar="SOURCE", help="Only signals from dorm (门禁), card (一卡通) or academic (教务) data.")] = None,
    json: JsonOpt = False,
    csv: CsvOpt = False,
    lang: LangOpt = None,
) -> None:
    """The radar of campus signals (多源预警): the same list as `mhtool signals list`.

    Example: mhtool cases radar --college 文学院
    """
    from mhtool.signals.cli import list_signals

    list_signals(ctx, college=college, rule=rule, source=source, json=json, csv=csv, lang=lang)


@app.command("find")
def find(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Part of a name or of a student number.")],
    json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Find students by name or number fragment (watched or not).

    Example: mhtool cases find 0423
    """
    from mhtool.console import session

    lang = _shown(lang)
    with session.open_center(ctx) as center:
        rows = center.cases.find(text)
        names = None if json else center.staff_names()
    _emit_rows(rows, json=json, csv=False, lang=lang, columns=_list_columns(lang), staff_names=names)


@app.command("tasks")
def tasks(
    ctx: typer.Context,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue tasks.")] = False,
    mine: Annotated[bool, typer.Option("--mine", help="Only tasks assigned to me, or of students I am the counselor of.")] = False,
    due_within: Annotated[Optional[int], typer.Option("--due-within", min=0, metavar="DAYS", help="Only tasks due within DAYS days (overdue included).")] = None,
    json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Open tasks, earliest first: interviews from screening, follow-ups, return reviews, reminders.

    Example: mhtool cases tasks --mine --due-within 7
    """
    from mhtool.console import session
    from mhtool.domain.labels import label

    lang = _shown(lang)
    with session.open_center(ctx) as center:
        rows = center.cases.tasks(overdue=overdue, mine=mine, due_within=due_within)
        names = None if json else center.staff_names()
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
    _emit_rows(rows, json=json, csv=False, lang=lang, columns=columns, staff_names=names)


@app.command("check")
def check(
    ctx: typer.Context,
    college: CollegeOpt = None,
    json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """三个明确: list every watched student lacking basic information, a recent state, or a help measure.

    Example: mhtool cases check --college 文学院
    """
    from mhtool.console import output, session
    from mhtool.domain.labels import label

    lang = _shown(lang)
    with session.open_center(ctx) as center:
        rows = center.cases.check(college=college)
        names = None if json else center.staff_names()
    columns = [
        ("student_no", label("field", "student_no", lang)),
        ("name", label("field", "name", lang)),
        ("college", label("field", "college", lang)),
        ("level_label", label("field", "level", lang)),
        ("counselor", label("field", "counselor", lang)),
        ("missing_text", label("dossier", "missing", lang)),
    ]
    _emit_rows(rows, json=json, csv=False, lang=lang, columns=columns, staff_names=names)
    if not json:
        if rows:
            output.warn(_("{n} watched student(s) lack part of the three clarities (三个明确)").format(n=len(rows)))
        else:
            output.success(_("every watched student has basic information, a recent state and a help measure"))


@app.command("export")
def export(
    ctx: typer.Context,
    student: StudentArg,
    out: OutFileOpt = None,
    lang: LangOpt = None,
    purpose: PurposeOpt = None,
) -> None:
    """Write the whole dossier as a printable workbook: a profile sheet and a timeline sheet.

    --purpose (kept in the audit log) is required where the store's policy asks
    for it (by default: for clerks).

    Example: mhtool cases export 2024010203 --out 档案.xlsx --purpose "转介医院需要"
    """
    from mhtool.console import output, session
    from mhtool.errors import UsageError

    if out is None:
        raise UsageError(_("missing --out"), hint=_("pass --out FILE.xlsx (or an existing folder)"))
    with session.open_center(ctx) as center:
        exported = center.cases.export(student, out, lang=lang or "zh", purpose=purpose)
    output.success(
        _("dossier of {student} written to {path} ({n} timeline entries)").format(student=student, path=exported.path, n=exported.timeline_entries)
    )
    output.emit_line(str(exported.path))


# -- dossier headers --------------------------------------------------------------------------


def _parse_name(value: str) -> None:
    from mhtool.errors import UsageError

    if not value.strip():
        raise UsageError(_("--name cannot be empty"))


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
    from mhtool.console import forms, output, session

    v = forms.fill(ADD_FORM, {
        "student": student, "name": name, "gender": gender, "college": college, "major": major, "grade": grade, "class_name": class_name,
        "dorm": dorm, "phone": phone, "advisor": advisor, "advisor_phone": advisor_phone, "guardian": guardian, "group": group, "tag": tag,
        "counselor": counselor,
    })  # fmt: skip
    with session.open_center(ctx) as center:
        saved = center.cases.add(
            student, name=v["name"], gender=v["gender"], college=v["college"], major=major, grade=grade, class_name=v["class_name"], dorm=dorm,
            phone=v["phone"], advisor=v["advisor"], advisor_phone=advisor_phone, counselor=counselor, groups=group, tags=tag, guardians=guardian,
        )
    _warn_unknown_counselor(saved, counselor)
    output.success(_("dossier created for {student_no} {name}").format(student_no=saved.student_no, name=saved.name))
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
        output.success(_("{student_no}: changed {fields}").format(student_no=saved.student_no, fields=", ".join(saved.changed)))
    else:
        output.info(_("{student_no}: nothing changed (the dossier already says so)").format(student_no=saved.student_no))
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
    from mhtool.console import forms, session

    v = forms.fill(INTERVIEW_FORM, {
        "student": student, "findings": findings, "confirm": confirm, "risk": risk, "mode": mode, "duration": duration,
        "next_step": next_step, "date": date,
    }, correcting=bool(corrects))  # fmt: skip
    with session.open_center(ctx) as center:
        recorded = center.cases.interview(
            student, findings=v["findings"], confirm=v["confirm"], mode=v["mode"], duration=duration, risk=v["risk"], next_step=v["next_step"],
            on=v["date"], corrects=corrects, yes=yes, ask=_late_ask(),
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
    from mhtool.console import forms, session

    v = forms.fill(LEVEL_FORM, {"student": student, "to": to, "reason": reason, "date": date})
    with session.open_center(ctx) as center:
        recorded = center.cases.level(student, v["to"], reason=v["reason"], on=v["date"], yes=yes, ask=_late_ask())
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
    from mhtool.console import forms, session

    v = forms.fill(NOTE_FORM, {"student": student, "text": text, "date": date}, correcting=bool(corrects))
    with session.open_center(ctx) as center:
        recorded = center.cases.note(student, v["text"], on=v["date"], corrects=corrects)
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
    from mhtool.console import forms, session

    v = forms.fill(MEASURE_FORM, {
        "student": student, "kind": kind, "description": description, "responsible": responsible, "start": start, "end": end, "date": date,
    }, correcting=bool(corrects))  # fmt: skip
    with session.open_center(ctx) as center:
        recorded = center.cases.measure(
            student, kind=v["kind"], description=v["description"], responsible=v["responsible"], start=start, end=end, on=v["date"], corrects=corrects
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
    from mhtool.console import forms, session

    v = forms.fill(GUARDIAN_FORM, {
        "student": student, "who": who, "content": content, "channel": channel, "consent": consent, "date": date,
    }, correcting=bool(corrects))  # fmt: skip
    with session.open_center(ctx) as center:
        recorded = center.cases.guardian(
            student, who=v["who"], content=v["content"], channel=v["channel"], consent=v["consent"], on=v["date"], corrects=corrects
        )
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
    from mhtool.console import forms, session

    v = forms.fill(CRISIS_FORM, {
        "student": student, "what": what, "event_type": event_type, "risk": risk, "happened_at": happened_at, "where": where,
        "actions": actions, "parents_notified_at": parents_notified_at, "notified": notified, "reported_to": reported_to,
        "reported_at": reported_at, "reported_how": reported_how, "level": level, "reason": reason, "date": date,
    }, correcting=bool(corrects))  # fmt: skip
    with session.open_center(ctx) as center:
        recorded = center.cases.crisis(
            student, what=v["what"], where=v["where"], happened_at=v["happened_at"], actions=v["actions"], parents_notified_at=parents_notified_at,
            notified=notified or (), level=v["level"], reason=reason, on=date, corrects=corrects,
            event_type=v["event_type"], risk=v["risk"], reported_to=reported_to, reported_at=reported_at, reported_how=reported_how,
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
    from mhtool.console import forms, session

    v = forms.fill(FOLLOW_UP_FORM, {"student": student, "content": content, "mode": mode, "date": date}, correcting=bool(corrects))
    with session.open_center(ctx) as center:
        recorded = center.cases.follow_up(student, content=v["content"], mode=v["mode"], on=v["date"], corrects=corrects)
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
    from mhtool.console import forms, session

    v = forms.fill(CLOSE_FORM, {"student": student, "reason": reason, "date": date})
    with session.open_center(ctx) as center:
        recorded = center.cases.close(student, reason=v["reason"], on=v["date"], yes=yes, ask=_late_ask())
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
    from mhtool.console import forms, session

    v = forms.fill(REOPEN_FORM, {"student": student, "level": level, "reason": reason, "date": date})
    with session.open_center(ctx) as center:
        recorded = center.cases.reopen(student, level=v["level"], reason=v["reason"], on=v["date"], yes=yes, ask=_late_ask())
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
    from mhtool.console import forms, session

    form = forms.changed(STATUS_FORM, "reason", when=None) if without_certificate else STATUS_FORM
    v = forms.fill(form, {"student": student, "action": action, "reason": reason})
    with session.open_center(ctx) as center:
        recorded = center.cases.status(
            student, v["action"], from_=from_, until=until, on=on, reason=v["reason"], certificate=certificate,
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
    from mhtool.console import forms, output, session

    v = forms.fill(REMIND_FORM, {"student": student, "due": due, "note_": note_, "assign": assign})
    with session.open_center(ctx) as center:
        reminded = center.cases.remind(student, due=v["due"], note=v["note_"], assign=assign)
    _warn_unknown_counselor(reminded, assign)
    output.success(_("reminder for {student_no} due {due}").format(student_no=reminded.student_no, due=reminded.due.isoformat()))
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
    output.success(_("task {task} ({kind}) of {student_no} done").format(task=result["id"][:8], kind=result["kind"], student_no=result["student_no"]))
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
        output.info(_("not confirmed; nothing was imported"))
        return
    result = imported.summary
    if imported.problems:
        output.warn(_("{problems} problem(s); {rejected} row(s) left out").format(problems=len(imported.problems), rejected=result["rejected"]))
        output.problems(imported.problems)
        if imported.rejects_file:
            output.info(_("rejected rows written to {path}").format(path=imported.rejects_file))
    counts = {
        "file": result["file"], "imported": result["imported"], "level_changes": result["level_changes"],
        "duplicates": result["duplicates"], "not_yet": result["not_yet"], "rejected": result["rejected"],
    }  # fmt: skip
    if dry_run:
        done_text = _(
            "{file}: would import {imported} interview(s), {level_changes} level change(s); "
            "{duplicates} already imported, {not_yet} not yet done (blank rows), {rejected} rejected"
        )
    else:
        done_text = _(
            "{file}: imported {imported} interview(s), {level_changes} level change(s); "
            "{duplicates} already imported, {not_yet} not yet done (blank rows), {rejected} rejected"
        )
    output.success(done_text.format(**counts))
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
    lang: LangOpt = None,
) -> None:
    """Show the follow-up cadence by level, or change it (admin).

    Example: mhtool cases cadence --yellow 21
    """
    from mhtool.console import output, session
    from mhtool.domain.labels import label

    lang = _shown(lang)
    with session.open_center(ctx) as center:
        current = center.cases.cadence(red=red, orange=orange, yellow=yellow)
    if any(v is not None for v in (red, orange, yellow)):
        output.success(_("follow-up cadence changed; open tasks keep their due dates, the next contact uses the new cadence"))
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
        output.warn(_("{rejected} of {rows} rows have problems and are left out:").format(rejected=result["rejected"], rows=result["rows"]))
        output.problems([Problem(**p) for p in result["problems"]])
    for s in result.get("superseded_rows", ()):
        output.info(
            _("row {row}: student {student_no} appears again in row {kept_row}; row {kept_row} (the later) is kept").format(
                row=s["row"], student_no=s["student_no"], kept_row=s["kept_row"]
            )
        )
    if json:
        output.emit_json(result)
        return
    counts = {k: result.get(k) for k in ("file", "valid", "rows", "students_created", "students_updated", "rejected", "superseded")}
    if dry_run and result.get("superseded"):
        done_text = _(
            "{file}: {valid} of {rows} rows valid; would create {students_created} dossiers, updated {students_updated}; "
            "{rejected} rows rejected, {superseded} superseded by a later row of the same student"
        )
    elif dry_run:
        done_text = _("{file}: {valid} of {rows} rows valid; would create {students_created} dossiers, updated {students_updated}; {rejected} rows rejected")
    elif result.get("superseded"):
        done_text = _(
            "{file}: {valid} of {rows} rows valid; created {students_created} dossiers, updated {students_updated}; "
            "{rejected} rows rejected, {superseded} superseded by a later row of the same student"
        )
    else:
        done_text = _("{file}: {valid} of {rows} rows valid; created {students_created} dossiers, updated {students_updated}; {rejected} rows rejected")
    output.success(done_text.format(**counts))


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
