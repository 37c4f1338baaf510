"""`mhtool cases …`: one dossier per student (一人一档).

Commands are thin: they read options (or, on a terminal only, ask for what was
not given), call :mod:`mhtool.cases.usecases.service` / :mod:`mhtool.cases.usecases.dossier`, and
hand the result to :mod:`mhtool.console.output`. Heavy modules are imported inside the
commands so that ``mhtool --help`` stays quick.

No ``from __future__ import annotations`` here: Typer would then evaluate every
option's annotation string each time the command tree is built, which costs
about 50 ms per run with this many options; real annotations are built once.
"""

from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Optional

import typer

from mhtool.console.apps import make_subapp
from mhtool.console.options import CollegeOpt, CsvOpt, DateOpt, JsonOpt, LangOpt, OutFileOpt, PurposeOpt, ReasonOpt

app = make_subapp()

StudentArg = Annotated[str, typer.Argument(metavar="STUDENT", help="Student number (学号).")]
CorrectsOpt = Annotated[
    Optional[str],
    typer.Option("--corrects", metavar="ENTRY", help="Record this as a correction of an earlier entry (its id or first 4+ characters, shown by `cases show`)."),
]
MultiOpt = Optional[list[str]]

# While a correction is being built: the corrected entry's fields, which fill
# in whatever the correction does not restate.
_CORRECTING: ContextVar[dict] = ContextVar("correcting", default={})


# -- helpers ----------------------------------------------------------------------------------


def _lang(lang: str) -> str:
    from mhtool.errors import UsageError

    if lang not in ("zh", "en"):
        raise UsageError(f"--lang {lang!r}: use zh or en")
    return lang


def _ask(value, message: str, flag: str, key: str | None = None):
    """The given value, or (on a terminal) the answer to a question; off a terminal a usage error naming the flag."""
    if value not in (None, ""):
        return value
    if key and _CORRECTING.get().get(key) not in (None, ""):
        return _CORRECTING.get()[key]
    from mhtool.console import prompts

    return prompts.text(message, flag=flag).strip()


SKIP = "（跳过 / skip）"


def _maybe(value, message: str, *, choices: list[str] | None = None, key: str | None = None):
    """An optional value: asked only on a terminal, and left empty when the answer is empty."""
    from mhtool.console import prompts

    if value in (None, "") and key and _CORRECTING.get().get(key) not in (None, ""):
        return _CORRECTING.get()[key]
    if value not in (None, "") or not prompts.is_interactive():
        return value
    if choices:
        answer = prompts.select(message, [*choices, SKIP], flag="")
        return None if answer == SKIP else answer
    else:
        answer = prompts.text(message, flag="")
    return answer.strip() or None


def _day(store, text: str | None, option: str = "--date", *, past: bool = True):
    from mhtool.domain import dates
    from mhtool.cases.usecases import service

    today = service.today(store)
    if text in (None, ""):
        return today
    return dates.parse_date(text, today=today, option=option, allow_future=not past)


def _moment(store, text: str | None, option: str) -> str | None:
    """A past date-time (``2026-11-23 14:30``) as ISO text, or None."""
    if not text:
        return None
    from mhtool.domain import dates
    from mhtool.cases.usecases import service
    from mhtool.errors import InvalidInput

    value = dates.parse_datetime(text, today=service.today(store), option=option)
    if value.date() > service.today(store):
        raise InvalidInput(f"{option}: {value:%Y-%m-%d %H:%M} is in the future, but this records something that already happened")
    return value.isoformat(sep=" ", timespec="minutes")


def _record(ctx, action: str, student_no: str, build, *, kind: str | None = None, date_text: str | None = None, corrects: str | None = None, details: dict | None = None, on_option: str = "--date"):
    """Open the store, check role and scope, build the effects, write them in one transaction.

    ``build(store, student, on)`` returns the fields of the entry (for a
    correction) or a :class:`~mhtool.cases.domain.model.Effects`.
    """
    from mhtool.console import output, session
    from mhtool.cases.domain import model
    from mhtool.cases.usecases import service
    from mhtool.domain.labels import label

    with session.open_store(ctx) as store:
        store.require("record", action=action)
        student = service.load_student(store, student_no, action=action)
        original = service.entry_of_student(store, student, corrects) if corrects else None
        if original is not None and original["kind"] != kind:
            from mhtool.errors import UsageError

            raise UsageError(
                f"entry {original['id'][:8]} is a {label('entry', original['kind'], 'en')} entry; "
                f"correct it with the command that records {label('entry', original['kind'], 'en')} entries"
            )
        if original is not None and not date_text:
            from datetime import date

            on = date.fromisoformat(original["date"])
        else:
            on = _day(store, date_text, on_option)
        token = _CORRECTING.set(dict(original["fields"]) if original else {})
        try:
            built = build(store, student, on)
        finally:
            _CORRECTING.reset(token)
        original_id = original["id"] if original else None
        if original is not None:
            effects = model.correction(student, original, built if isinstance(built, dict) else dict(built.entries[0][1]))
        elif isinstance(built, dict):
            raise AssertionError("a builder returned fields without --corrects")
        else:
            effects = built
        ids = service.record_effects(store, action, student, effects, on, corrects=original_id, details=details)
    kinds = "、".join(label("entry", k) for k, _ in effects.entries)
    output.success(f"{student['student_no']} {student.get('name') or ''}: {kinds or 'nothing changed'} ({on.isoformat()})")
    if original_id:
        output.info(f"corrects entry {original_id[:8]}; the original stays in the file, marked as corrected")
    for task in effects.new_tasks:
        output.info(f"next {label('task', task['kind'], 'en')} due {task['due'].isoformat()}")
    for i in ids:
        output.emit_line(i)
    return effects


def _fields_or_effects(kind: str, fields: dict, corrects: str | None, make_effects):
    from mhtool.cases.domain import model

    if corrects:
        return model.validate_entry(kind, fields)
    return make_effects(model.validate_entry(kind, fields))


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

    Example: mhtool cases show 2024010203
    """
    from mhtool.console import output, session
    from mhtool.cases.usecases import dossier

    lang = _lang(lang)
    kinds = {k.strip() for k in kind or [] if k.strip()} or None
    if kinds:
        from mhtool.cases.domain.model import ENTRY_KINDS
        from mhtool.errors import UsageError

        unknown = kinds - set(ENTRY_KINDS) - {"screening"}
        if unknown:
            raise UsageError(f"--kind: unknown {', '.join(sorted(unknown))}", hint=f"one of screening, {', '.join(ENTRY_KINDS)}")
    with session.open_store(ctx) as store:
        d = dossier.dossier(store, student, kinds=kinds)
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
    from mhtool.console import output
    from mhtool.domain.labels import label

    if json:
        output.emit_json(rows)
        return
    by_label = {label("level", c, lang): c for c in ("red", "orange", "yellow", "none")}
    for r in rows:
        r["level_label"] = label("level", r.get("level"), lang)
        r["status_label"] = label("status", r.get("status"), lang)
        if "overdue_days" in r:
            r["overdue_text"] = f"{r['overdue_days']} {label('dossier', 'days', lang)}" if r.get("overdue") else ""
        if "kind" in r:
            r["kind_label"] = label("task", r["kind"], lang)
        if "missing" in r:
            from mhtool.cases.usecases.dossier import missing_text

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
    level: Annotated[Optional[str], typer.Option("--level", help="Only this level: red, orange, yellow (or 红色/橙色/黄色).")] = None,
    college: CollegeOpt = None,
    group: Annotated[Optional[str], typer.Option("--group", help="Only students in this special group (hardship, academic, … or its Chinese name).")] = None,
    status: Annotated[Optional[str], typer.Option("--status", help="Only this status: enrolled, leave, returned, withdrawn, graduated.")] = None,
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
    from mhtool.cases.usecases import dossier
    from mhtool.cases.domain import model

    lang = _lang(lang)
    f = dossier.ListFilters(
        level=model.parse_level(level) if level else None,
        college=college,
        group=(model.parse_groups([group]) or [None])[0] if group else None,
        status=model.parse_choice(status, model.STATUSES, "--status") if status else None,
        counselor=counselor,
        overdue=overdue,
        due_within=due_within,
        include_unwatched=all_,
    )
    with session.open_store(ctx) as store:
        rows = dossier.list_students(store, f)
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
    from mhtool.cases.usecases import dossier

    lang = _lang(lang)
    with session.open_store(ctx) as store:
        rows = dossier.find_students(store, text)
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
    from mhtool.cases.usecases import dossier
    from mhtool.domain.labels import label

    lang = _lang(lang)
    with session.open_store(ctx) as store:
        rows = dossier.task_list(store, overdue=overdue, mine=mine, due_within=due_within)
    for r in rows:
        r["id_short"] = r["id"][:8]
    columns = [
        ("due", label("field", "due", lang)),
        ("kind_label", label("field", "task", lang)),
        ("student_no", label("field", "student_no", lang)),
        ("name", label("field", "name", lang)),
        ("college", label("field", "college", lang)),
        ("level_label", label("field", "level", lang)),
        ("counselor", label("field", "counselor", lang)),
        ("note", label("dossier", "note", lang)),
        ("overdue_text", label("dossier", "overdue", lang)),
        ("id_short", "#"),
    ]
    if json:
        for r in rows:
            r.pop("id_short", None)
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
    from mhtool.cases.usecases import dossier
    from mhtool.domain.labels import label

    lang = _lang(lang)
    with session.open_store(ctx) as store:
        rows = dossier.check(store, college=college)
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
    from mhtool.domain import dates
    from mhtool.console import output, session
    from mhtool.cases.usecases import dossier
    from mhtool.errors import UsageError
    from mhtool.io.xlsx import out_path_for, write_report

    lang = _lang(lang)
    if out is None:
        raise UsageError("missing --out", hint="pass --out FILE.xlsx (or an existing folder)")
    target = out_path_for(out, f"{'档案' if lang == 'zh' else 'dossier'}_{student}.xlsx")
    from mhtool.governance.usecases.purpose import require_purpose

    from mhtool.cases.usecases import service

    with session.open_store(ctx) as store:
        store.require("dossier", action="cases.export")
        service.load_student(store, student, action="cases.export")  # scope first: a refusal is exit 5, not a request for a purpose
        stated = require_purpose(store, purpose, what="a dossier export")
        d = dossier.dossier(store, student, action="cases.export", details=stated)
        generated = dates.now(store.tz).replace(tzinfo=None, microsecond=0)
    path = write_report(dossier.export_report(d, lang=lang, generated_at=generated), target)
    output.success(f"dossier of {student} written to {path} ({len(d['timeline'])} timeline entries)")
    output.emit_line(str(path))


# -- dossier headers --------------------------------------------------------------------------


def _header_changes(**opts) -> dict:
    from mhtool.cases.domain import model

    changes = {}
    from mhtool.domain.vocabulary import HEADER_FIELDS

    for key in HEADER_FIELDS:
        if opts.get(key) is not None:
            changes[key] = opts[key].strip()
    if opts.get("group") is not None:
        changes["groups"] = model.parse_groups(opts["group"])
    if opts.get("tag") is not None:
        changes["tags"] = [t.strip() for t in opts["tag"] if t.strip() and t.strip().lower() != "none"]
    if opts.get("guardian") is not None:
        changes["guardians"] = [model.parse_guardian(g) for g in opts["guardian"] if g.strip().lower() != "none"]
    return changes


NameOpt = Annotated[Optional[str], typer.Option("--name", help="姓名.")]
GenderOpt = Annotated[Optional[str], typer.Option("--gender", help="性别.")]
MajorOpt = Annotated[Optional[str], typer.Option("--major", help="专业.")]
GradeOpt = Annotated[Optional[str], typer.Option("--grade", help="年级, e.g. 2024.")]
ClassOpt = Annotated[Optional[str], typer.Option("--class", help="班级.")]
DormOpt = Annotated[Optional[str], typer.Option("--dorm", help="宿舍.")]
PhoneOpt = Annotated[Optional[str], typer.Option("--phone", help="The student's phone.")]
AdvisorOpt = Annotated[Optional[str], typer.Option("--advisor", help="辅导员 (the college advisor).")]
AdvisorPhoneOpt = Annotated[Optional[str], typer.Option("--advisor-phone", help="The advisor's phone.")]
GuardianOpt = Annotated[MultiOpt, typer.Option("--guardian", metavar="RELATION,NAME,PHONE", help="A guardian, e.g. \"母亲,李某,13800000000\" (repeatable; replaces the list; none clears it).")]
GroupOpt = Annotated[MultiOpt, typer.Option("--group", help="Special group: hardship, single_parent_orphan, academic, psychological, disability, readmitted (repeatable; replaces the list; none clears it).")]
TagOpt = Annotated[MultiOpt, typer.Option("--tag", help="A free tag (repeatable; replaces the list; none clears it).")]
CounselorOpt = Annotated[Optional[str], typer.Option("--counselor", help="The assigned counselor (a staff name).")]


def _warn_unknown_counselor(store, name: str | None) -> None:
    if not name:
        return
    from mhtool.console import output
    from mhtool.cases.usecases import service

    if name not in service.staff_names(store):
        output.warn(f"{name!r} is not a staff member of this store; `cases tasks --mine` will not find these tasks for anyone")


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
    from mhtool.cases.usecases import service

    name = _ask(name, "姓名 / name:", "--name")
    college = _ask(college, "学院 / college:", "--college")
    gender = _maybe(gender, "性别 / gender:", choices=["男", "女"])
    class_name = _maybe(class_name, "班级 / class:")
    phone = _maybe(phone, "手机 / phone:")
    advisor = _maybe(advisor, "辅导员 / advisor:")
    fields = _header_changes(
        name=name, gender=gender, college=college, major=major, grade=grade, class_name=class_name, dorm=dorm, phone=phone,
        advisor=advisor, advisor_phone=advisor_phone, counselor=counselor, group=group, tag=tag, guardian=guardian,
    )
    with session.open_store(ctx) as store:
        store.require("import", action="cases.add")
        store.require_college(college, action="cases.add")
        _warn_unknown_counselor(store, counselor)
        with store.write("cases.add") as txn:
            record = service.create_student(txn, student, fields)
    output.success(f"dossier created for {record['student_no']} {record.get('name') or ''}")
    output.emit_line(record["student_no"])


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
    from mhtool.cases.domain import model
    from mhtool.cases.usecases import service
    from mhtool.errors import UsageError

    changes = _header_changes(
        name=name, gender=gender, college=college, major=major, grade=grade, class_name=class_name, dorm=dorm, phone=phone,
        advisor=advisor, advisor_phone=advisor_phone, counselor=counselor, group=group, tag=tag, guardian=guardian,
    )
    if not changes:
        raise UsageError("nothing to change", hint="pass at least one of --name, --college, --class, --phone, --guardian, --group, --counselor …")
    with session.open_store(ctx) as store:
        store.require("import", action="cases.edit")
        current = service.load_student(store, student, action="cases.edit")
        if "college" in changes:
            store.require_college(changes["college"], action="cases.edit", targets=[f"students/{current['id']}"])
        _warn_unknown_counselor(store, changes.get("counselor"))
        record, changed = model.edit_student(current, changes)
        if changed:
            service.update_student(store, current, record, changed)
    if changed:
        output.success(f"{current['student_no']}: changed {', '.join(changed)}")
    else:
        output.info(f"{current['student_no']}: nothing changed (the dossier already says so)")
    output.emit_line(current["student_no"])


# -- recording events -------------------------------------------------------------------------


@app.command("interview")
def interview(
    ctx: typer.Context,
    student: StudentArg,
    findings: Annotated[Optional[str], typer.Option("--findings", help="What was found in the conversation.")] = None,
    confirm: Annotated[Optional[str], typer.Option("--confirm", help="The level the interview confirms: red, orange, yellow or none (sets the watch level).")] = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="How: 面谈 (in person), 电话 (phone), 视频 (video) …")] = None,
    duration: Annotated[Optional[int], typer.Option("--duration", min=1, metavar="MINUTES", help="How long, in minutes.")] = None,
    risk: Annotated[Optional[str], typer.Option("--risk", help="Risk assessment (风险评估).")] = None,
    next_step: Annotated[Optional[str], typer.Option("--next-step", help="What happens next (后续安排).")] = None,
    date: DateOpt = None,
    corrects: CorrectsOpt = None,
) -> None:
    """Record an interview (约谈). Completes the open interview task and schedules the next follow-up.

    A confirmed level changes the watch (red follow-up every 7 days, orange 14, yellow 30).

    Example: mhtool cases interview 2024010203 --findings "睡眠差，情绪低落" --risk 中 --confirm orange --mode 面谈 --duration 50
    """
    from mhtool.cases.domain import model
    from mhtool.cases.usecases import service

    def build(store, st, on):
        nonlocal findings, confirm
        findings = _ask(findings, "约谈情况 / findings:", "--findings", "findings")
        if confirm is None and not corrects:
            confirm = _maybe(confirm, "确认等级 / confirmed level:", choices=list(model.LEVELS))
        fields = {
            "findings": findings,
            "confirmed_level": model.parse_level(confirm, option="--confirm") if confirm else _CORRECTING.get().get("confirmed_level"),
            "mode": _maybe(mode, "方式 / mode:", key="mode"),
            "duration": duration if duration is not None else _CORRECTING.get().get("duration"),
            "risk": _maybe(risk, "风险评估 / risk:", key="risk"),
            "next_step": _maybe(next_step, "下一步 / next step:", key="next_step"),
        }
        if corrects:
            return model.validate_entry("interview", fields)
        return model.record_interview(st, fields, on, cadence=service.cadence(store))

    _record(ctx, "cases.interview", student, build, kind="interview", date_text=date, corrects=corrects)


@app.command("level")
def level(
    ctx: typer.Context,
    student: StudentArg,
    to: Annotated[Optional[str], typer.Argument(metavar="LEVEL", help="red, orange, yellow or none (红色/橙色/黄色/无).")] = None,
    reason: ReasonOpt = None,
    date: DateOpt = None,
) -> None:
    """Set the watch level (关注等级). Every change needs --reason.

    Example: mhtool cases level 2024010203 red --reason "约谈中表达自伤想法"
    """
    from mhtool.cases.domain import model
    from mhtool.cases.usecases import service

    def build(store, st, on):
        code = model.parse_level(_ask(to, "关注等级 / level (red/orange/yellow/none):", "LEVEL"), option="LEVEL")
        why = _ask(reason, "原因 / reason:", "--reason")
        if code == (st.get("level") or "none"):
            from mhtool.errors import UsageError

            raise UsageError(f"{st['student_no']} is already at {code}; nothing to change")
        return model.change_level(st, code, why, on, cadence=service.cadence(store))

    _record(ctx, "cases.level", student, build, date_text=date)


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
    from mhtool.cases.domain import model

    def build(store, st, on):
        fields = model.validate_entry("note", {"text": _ask(text, "记录 / note:", "--text", "text")})
        return fields if corrects else model.Effects(dict(st), entries=[("note", fields)])

    _record(ctx, "cases.note", student, build, kind="note", date_text=date, corrects=corrects)


@app.command("measure")
def measure(
    ctx: typer.Context,
    student: StudentArg,
    kind: Annotated[Optional[str], typer.Option("--kind", help="What kind of help: 学业帮扶, 资助, 定期谈话, 家长陪读 …")] = None,
    description: Annotated[Optional[str], typer.Option("--description", help="What is done.")] = None,
    responsible: Annotated[Optional[str], typer.Option("--responsible", help="Who is responsible.")] = None,
    start: Annotated[Optional[str], typer.Option("--start", help="Start date (default: --date).")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="End date, if known (may be in the future).")] = None,
    date: DateOpt = None,
    corrects: CorrectsOpt = None,
) -> None:
    """Record a help measure (帮扶举措). To end one, correct it with --corrects ENTRY --end DATE.

    Example: mhtool cases measure 2024010203 --kind 定期谈话 --description "每两周一次咨询" --responsible 王老师
    """
    from mhtool.cases.domain import model
    from mhtool.errors import InvalidInput

    def build(store, st, on):
        base = _CORRECTING.get()
        first = _day(store, start or base.get("start"), "--start", past=False) if start or base.get("start") else on
        last = _day(store, end or base.get("end"), "--end", past=False) if end or base.get("end") else None
        if last and last < first:
            raise InvalidInput(f"--end {last.isoformat()} is before the start {first.isoformat()}")
        fields = model.validate_entry(
            "measure",
            {
                "measure_kind": _ask(kind, "举措类型 / kind:", "--kind", "measure_kind"),
                "description": _ask(description, "举措内容 / description:", "--description", "description"),
                "responsible": _maybe(responsible, "负责人 / responsible:", key="responsible"),
                "start": first.isoformat(),
                "end": last.isoformat() if last else None,
            },
        )
        return fields if corrects else model.Effects(dict(st), entries=[("measure", fields)])

    _record(ctx, "cases.measure", student, build, kind="measure", date_text=date, corrects=corrects)


@app.command("guardian")
def guardian(
    ctx: typer.Context,
    student: StudentArg,
    who: Annotated[Optional[str], typer.Option("--who", help="Which guardian, e.g. 母亲 李某.")] = None,
    content: Annotated[Optional[str], typer.Option("--content", help="What was said.")] = None,
    channel: Annotated[Optional[str], typer.Option("--channel", help="How: 电话, 面谈, 微信 …")] = None,
    consent: Annotated[Optional[str], typer.Option("--consent", help="Consent form (知情同意书): signed, refused or not_needed.")] = None,
    date: DateOpt = None,
    corrects: CorrectsOpt = None,
) -> None:
    """Record a guardian contact (家校沟通), with the consent-form status.

    Example: mhtool cases guardian 2024010203 --who 母亲 --channel 电话 --content "告知约谈情况，建议就医" --consent signed
    """
    from mhtool.cases.domain import model

    def build(store, st, on):
        fields = model.validate_entry(
            "guardian_contact",
            {
                "guardian": _ask(who, "监护人 / guardian:", "--who", "guardian"),
                "content": _ask(content, "沟通内容 / what was said:", "--content", "content"),
                "channel": _maybe(channel, "方式 / channel:", key="channel"),
                "consent": model.parse_consent(_maybe(consent, "知情同意书 / consent:", choices=["signed", "refused", "not_needed"], key="consent")),
            },
        )
        return fields if corrects else model.Effects(dict(st), entries=[("guardian_contact", fields)])

    _record(ctx, "cases.guardian", student, build, kind="guardian_contact", date_text=date, corrects=corrects)


@app.command("crisis")
def crisis(
    ctx: typer.Context,
    student: StudentArg,
    what: Annotated[Optional[str], typer.Option("--what", help="What happened.")] = None,
    where: Annotated[Optional[str], typer.Option("--where", help="Where it happened.")] = None,
    happened_at: Annotated[Optional[str], typer.Option("--happened-at", help="When: 2026-11-23 22:10 (default: --date).")] = None,
    actions: Annotated[Optional[str], typer.Option("--actions", help="What was done (处置).")] = None,
    parents_notified_at: Annotated[Optional[str], typer.Option("--parents-notified-at", help="When the parents were told (the norm is within 24 hours).")] = None,
    notified: Annotated[MultiOpt, typer.Option("--notified", metavar="WHO@WHEN", help="Someone else told, e.g. \"学院书记@2026-11-23 22:30\" (repeatable).")] = None,
    level: Annotated[Optional[str], typer.Option("--level", help="Also set the watch level (usually red).")] = None,
    reason: ReasonOpt = None,
    date: DateOpt = None,
    corrects: CorrectsOpt = None,
) -> None:
    """Record a crisis event (危机事件): what, where, actions, who was notified and when.

    Produce the immediate report with `mhtool report crisis`.

    Example: mhtool cases crisis 2024010203 --what "宿舍内自伤" --where "3号楼" --happened-at "2026-11-23 22:10" --actions "送医" --parents-notified-at "2026-11-23 23:00" --level red
    """
    from mhtool.console import output
    from mhtool.cases.domain import model
    from mhtool.cases.usecases import service
    from mhtool.errors import InvalidInput

    def build(store, st, on):
        base = _CORRECTING.get()
        when = _moment(store, happened_at, "--happened-at") or base.get("happened_at")
        told = _moment(store, parents_notified_at, "--parents-notified-at") or base.get("parents_notified_at")
        others = [] if notified else list(base.get("notified") or [])
        for n in notified or []:
            who_, sep, at = n.partition("@")
            if not sep or not who_.strip():
                raise InvalidInput(f"--notified {n!r}: expected WHO@WHEN", hint='e.g. --notified "学院书记@2026-11-23 22:30"')
            others.append({"who": who_.strip(), "at": _moment(store, at.strip(), "--notified")})
        fields = model.validate_entry(
            "crisis",
            {
                "what": _ask(what, "发生了什么 / what happened:", "--what", "what"),
                "where": _maybe(where, "地点 / where:", key="where"),
                "happened_at": when,
                "actions": _maybe(actions, "处置 / actions taken:", key="actions"),
                "parents_notified_at": told,
                "notified": others,
            },
        )
        for w in model.crisis_warnings(fields):
            output.warn(w)
        if corrects:
            return fields
        effects = model.Effects(dict(st), entries=[("crisis", fields)])
        if level:
            code = model.parse_level(level)
            changed = model.change_level(st, code, reason or f"危机事件：{fields['what']}", on, cadence=service.cadence(store))
            changed.entries = effects.entries + changed.entries
            effects = changed
        return effects

    day = date
    if happened_at and not date:
        day = happened_at.strip().split(" ")[0].split("T")[0]
    _record(ctx, "cases.crisis", student, build, kind="crisis", date_text=day, corrects=corrects)


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
    from mhtool.cases.domain import model
    from mhtool.cases.usecases import service

    def build(store, st, on):
        fields = {"content": _ask(content, "回访情况 / follow-up:", "--content", "content"), "mode": _maybe(mode, "方式 / mode:")}
        if corrects:
            return model.validate_entry("follow_up", fields)
        return model.record_follow_up(st, fields, on, cadence=service.cadence(store))

    _record(ctx, "cases.follow-up", student, build, kind="follow_up", date_text=date, corrects=corrects)


@app.command("close")
def close(
    ctx: typer.Context,
    student: StudentArg,
    reason: ReasonOpt = None,
    date: DateOpt = None,
) -> None:
    """End the watch (结案): level none, open follow-ups cancelled. Needs --reason.

    Example: mhtool cases close 2024010203 --reason "连续三次回访状态稳定，经评估解除关注"
    """
    from mhtool.cases.domain import model

    def build(store, st, on):
        return model.close_watch(st, _ask(reason, "结案原因 / reason:", "--reason"), on)

    _record(ctx, "cases.close", student, build, date_text=date)


@app.command("reopen")
def reopen(
    ctx: typer.Context,
    student: StudentArg,
    level: Annotated[Optional[str], typer.Option("--level", help="The level to watch at: red, orange or yellow.")] = None,
    reason: ReasonOpt = None,
    date: DateOpt = None,
) -> None:
    """Put a student back on the watch list (重新关注). Needs --level and --reason.

    Example: mhtool cases reopen 2024010203 --level yellow --reason "期末压力大，辅导员反映情绪波动"
    """
    from mhtool.cases.domain import model
    from mhtool.cases.usecases import service
    from mhtool.errors import InvalidInput

    def build(store, st, on):
        code = model.parse_level(_ask(level, "关注等级 / level:", "--level"))
        if code == "none":
            raise InvalidInput("--level none does not reopen a watch", hint="use red, orange or yellow")
        return model.reopen_watch(st, code, _ask(reason, "原因 / reason:", "--reason"), on, cadence=service.cadence(store))

    _record(ctx, "cases.reopen", student, build, date_text=date)


STATUS_ACTIONS = {"leave": "leave", "return": "returned", "withdraw": "withdrawn", "graduate": "graduated"}


@app.command("status")
def status(
    ctx: typer.Context,
    student: StudentArg,
    action: Annotated[Optional[str], typer.Argument(metavar="ACTION", help="leave (休学), return (复学), withdraw (退学) or graduate (毕业).")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="leave: first day of the leave (default today).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="leave: planned last day (may be in the future).")] = None,
    on: Annotated[Optional[str], typer.Option("--on", help="return/withdraw/graduate: the day it took effect (default today).")] = None,
    reason: ReasonOpt = None,
    certificate: Annotated[Optional[str], typer.Option("--certificate", help="return: the medical certificate, \"hospital, date, conclusion\".")] = None,
    assessed_by: Annotated[Optional[str], typer.Option("--assessed-by", help="return: who assessed the student's fitness to return.")] = None,
    without_certificate: Annotated[bool, typer.Option("--without-certificate", help="return: there is no certificate (needs --reason).")] = False,
    document: Annotated[MultiOpt, typer.Option("--document", help="A supporting document, e.g. 休学审批表 (repeatable).")] = None,
) -> None:
    """Change a student's status: 休学 leave, 复学 return, 退学 withdraw, 毕业 graduate.

    A return needs a certificate (or --without-certificate --reason); it keeps
    the watch level and schedules reviews at +14 and +30 days.

    \b
    Examples:
      mhtool cases status 2024010203 leave --from 2026-11-01 --until 2027-02-28 --reason "抑郁发作，遵医嘱休学"
      mhtool cases status 2024010203 return --on 2027-03-01 --certificate "市精神卫生中心, 2027-02-20, 可复学"
    """
    from mhtool.cases.domain import model
    from mhtool.errors import UsageError

    act = _ask(action, "变动 / action (leave/return/withdraw/graduate):", "ACTION")
    if act not in STATUS_ACTIONS:
        raise UsageError(f"ACTION {act!r} is not one of {', '.join(STATUS_ACTIONS)}")
    to = STATUS_ACTIONS[act]
    if act == "leave" and on:
        raise UsageError("a leave starts --from a date; --on is for return, withdraw and graduate")
    if act != "leave" and (from_ or until):
        raise UsageError(f"--from/--until describe a leave, not a {act}")
    if act != "return" and (certificate or assessed_by or without_certificate):
        raise UsageError("--certificate, --assessed-by and --without-certificate belong to a return")
    if without_certificate and certificate:
        raise UsageError("pass either --certificate or --without-certificate, not both")
    day_text = from_ if act == "leave" else on
    option = "--from" if act == "leave" else "--on"

    def build(store, st, day):
        why = reason
        if act in ("leave", "withdraw") or without_certificate:
            why = _ask(reason, "原因 / reason:", "--reason")
        elif not why:
            why = "复学（凭诊断证明）" if act == "return" else "毕业"
        fields = {"reason": why, "documents": [d for d in document or [] if d.strip()]}
        if act == "leave":
            fields["from_date"] = day.isoformat()
            if until:
                last = _day(store, until, "--until", past=False)
                if last < day:
                    from mhtool.errors import InvalidInput

                    raise InvalidInput(f"--until {last.isoformat()} is before --from {day.isoformat()}")
                fields["until"] = last.isoformat()
        else:
            fields["on"] = day.isoformat()
        if act == "return":
            fields["certificate"] = certificate
            fields["assessed_by"] = assessed_by
            fields["without_certificate"] = without_certificate or None
        return model.change_status(st, to, fields, day)

    _record(ctx, "cases.status", student, build, date_text=day_text, on_option=option, details={"to": to})


@app.command("remind")
def remind(
    ctx: typer.Context,
    student: StudentArg,
    due: Annotated[Optional[str], typer.Option("--due", help="When: 2026-12-01, tomorrow, +7d …")] = None,
    note_: Annotated[Optional[str], typer.Option("--note", help="What to do.")] = None,
    assign: Annotated[Optional[str], typer.Option("--assign", help="Whose task (default: the student's counselor).")] = None,
) -> None:
    """Add a reminder task to a dossier (shows in `cases tasks` and in the dossier).

    Example: mhtool cases remind 2024010203 --due +7d --note "期末考试前再约谈一次"
    """
    from mhtool.domain import dates
    from mhtool.console import output, session
    from mhtool.cases.domain import model
    from mhtool.cases.usecases import service

    with session.open_store(ctx) as store:
        store.require("record", action="cases.remind")
        st = service.load_student(store, student, action="cases.remind")
        today = service.today(store)
        when = dates.parse_date(_ask(due, "日期 / due:", "--due"), today=today, option="--due")
        task = model.reminder_task(when, _ask(note_, "提醒内容 / note:", "--note"), today=today, assigned_to=assign)
        _warn_unknown_counselor(store, assign)
        task_id = service.add_reminder(store, st, task)
    output.success(f"reminder for {st['student_no']} due {when.isoformat()}")
    output.emit_line(task_id)


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
    from mhtool.cases.usecases import service

    with session.open_store(ctx) as store:
        store.require("record", action="cases.done")
        result = service.complete_task(store, task, service.today(store), note_ or "")
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
    json: JsonOpt = False,
) -> None:
    """Import interview records filled in by college advisors; each row becomes an interview entry.

    Same rules as survey import: every problem reported at once, all or nothing
    unless --skip-invalid, and the same sheet imported twice adds nothing.

    Example: mhtool cases import-interviews 文学院约谈记录.xlsx --dry-run
    """
    from mhtool.console import output, session
    from mhtool.cases.usecases import interviews
    from mhtool.errors import UsageError

    if rejects and not skip_invalid:
        raise UsageError("--rejects goes with --skip-invalid")
    sheet_arg = int(sheet) if sheet and sheet.isdigit() else sheet
    with session.open_store(ctx) as store:
        store.require("import", action="cases.import-interviews")
        store.require("record", action="cases.import-interviews")
        plan = interviews.plan(store, file, sheet=sheet_arg)
        interviews.refuse_if_invalid(plan, skip_invalid=skip_invalid)
        if dry_run:
            changes = sum(1 for r in plan.ready if r.fields.get("confirmed_level") and r.fields["confirmed_level"] != (plan.students[r.student_no].get("level") or "none"))
            result = interviews.summary(plan, imported=len(plan.ready), level_changes=changes, dry_run=True)
        else:
            result = interviews.apply(store, plan, skip_invalid=skip_invalid)
    if plan.problems:
        output.warn(f"{len(plan.problems)} problem(s); {len(plan.rejected_rows)} row(s) left out")
        output.problems(plan.problems)
        if rejects:
            path = interviews.write_rejects(plan, rejects)
            output.info(f"rejected rows written to {path}")
    verb = "would import" if dry_run else "imported"
    output.success(
        f"{result['file']}: {verb} {result['imported']} interview(s), {result['level_changes']} level change(s); "
        f"{result['duplicates']} already imported, {result['rejected']} rejected"
    )
    if json:
        output.emit_json(result)
    else:
        output.emit_line(f"{result['imported']}\t{result['duplicates']}\t{result['rejected']}")


@app.command("cadence")
def cadence(
    ctx: typer.Context,
    red: Annotated[Optional[int], typer.Option("--red", help="Days between follow-ups at red (default 7).")] = None,
    orange: Annotated[Optional[int], typer.Option("--orange", help="Days between follow-ups at orange (default 14).")] = None,
    yellow: Annotated[Optional[int], typer.Option("--yellow", help="Days between follow-ups at yellow (default 30).")] = None,
    json: JsonOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """Show the follow-up cadence by level, or change it (admin).

    Example: mhtool cases cadence --yellow 21
    """
    from mhtool.console import output, session
    from mhtool.cases.usecases import service
    from mhtool.domain.labels import label

    lang = _lang(lang)
    changes = {k: v for k, v in (("red", red), ("orange", orange), ("yellow", yellow)) if v is not None}
    with session.open_store(ctx) as store:
        current = service.set_cadence(store, changes) if changes else service.cadence(store)
    if changes:
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
    profile: Annotated[str, typer.Option("--profile", help="Column layout: roster (default) or a custom profile name.")] = "roster",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count; write nothing.")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the good rows and leave out the bad ones (default: all or nothing).")] = False,
    json: JsonOpt = False,
) -> None:
    """Create or update dossiers in bulk from the school roster.

    Same normalisation as survey import; a stored student whose name differs
    is reported as a conflict, never overwritten; empty cells never erase.

    Example: mhtool cases import-roster 2026级学生名册.xlsx --dry-run
    """
    from mhtool.console import output, session
    from mhtool.survey.usecases import importer

    with session.open_store(ctx) as store:
        result = importer.import_roster(store, file, profile=profile, dry_run=dry_run, skip_invalid=skip_invalid)
    if json:
        output.emit_json(result)
        return
    verb = "would create" if dry_run else "created"
    output.success(
        f"{result['file']}: {result['valid']} of {result['rows']} rows valid; {verb} {result['students_created']} dossiers, "
        f"updated {result['students_updated']}; {result['rejected']} rows rejected"
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

    Students on leave or withdrawn are skipped and listed.

    Example: mhtool cases graduate --class-of 2022 --date 2026-06-30
    """
    from mhtool.console import output, session
    from mhtool.governance.usecases.purpose import graduate_class

    with session.open_store(ctx) as store:
        on = _day(store, date_, "--date") if date_ else None
        result = graduate_class(store, class_of, on=on, reason=reason, dry_run=dry_run)
    if json:
        output.emit_json(result)
        return
    verb = "would graduate" if dry_run else "graduated"
    output.success(f"class of {class_of}: {verb} {result['graduated']} students; {len(result['skipped']) if isinstance(result['skipped'], list) else result['skipped']} skipped")
