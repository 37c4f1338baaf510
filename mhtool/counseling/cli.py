"""`mhtool counseling …`: 个体咨询与团体辅导 — slots, bookings, the agenda, session records, groups, activities, case conferences.

Commands are thin: they read options (a value that cannot be right is refused
while the command line is parsed, exit 2, naming the flag), call one method of
``center.counseling`` (:class:`mhtool.counseling.usecases.api.Counseling`) and
print its result. On a terminal only, a session for a student with no dossier
offers to create it from the school roster. Heavy modules are imported inside
the commands so that ``mhtool --help`` stays quick.

No ``from __future__ import annotations`` here (see mhtool/cases/cli.py).
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from mhtool.console.apps import make_subapp
from mhtool.console.options import DateOpt, JsonOpt, checked, date_value, student_no_value
from mhtool.i18n import _, current, gettext_in, in_language, joined

app = make_subapp(help="个体咨询与团体辅导: counselors' slots, bookings and the agenda, confidential session records, groups, activities and case conferences.")
slots_app = make_subapp(help="Counselors' weekly slots (值班与预约时段).")
group_app = make_subapp(help="团体辅导: groups, their members and the attendance of each meeting.")
activity_app = make_subapp(help="心理健康活动: lectures, 5·25 events, class meetings and their head counts.")
app.add_typer(slots_app, name="slots")
app.add_typer(group_app, name="group")
app.add_typer(activity_app, name="activity")


# Flag values checked while the command line is parsed, by the parsers the use cases apply.


def _minutes(value: str, flag: str) -> None:
    from mhtool.counseling.domain import schedule

    schedule.minutes(value, flag=flag)


def _clock(value: str, flag: str) -> None:
    from mhtool.counseling.domain import schedule

    schedule.clock(value, flag=flag)


def _slot(value: str, flag: str) -> None:
    from mhtool.counseling.domain import schedule

    schedule.slot(value, flag=flag)


def _code(domain: str):
    def check(value: str, flag: str) -> None:
        from mhtool.counseling.domain import schedule

        schedule.code(domain, value, flag=flag)

    return checked(check, pass_flag=True)


def _choices(domain: str) -> str:
    from mhtool.domain.labels import codes, label

    return "、".join(label(domain, c, "zh") for c in codes(domain))


StudentArg = Annotated[str, typer.Argument(metavar="STUDENT", help="Student number (学号).", callback=checked(student_no_value))]
MinutesOpt = Annotated[Optional[str], typer.Option("--minutes", metavar="MIN", callback=checked(_minutes, pass_flag=True), help="How long, in minutes (1–240; default 50).")]
ModeOpt = Annotated[Optional[str], typer.Option("--mode", callback=_code("session_mode"), help="面询 (in_person), 电话 (phone) or 网络 (online); default 面询.")]
CounselorOpt = Annotated[Optional[str], typer.Option("--counselor", metavar="NAME", help="The counselor's login name (or display name).")]
FromOpt = Annotated[Optional[str], typer.Option("--from", callback=date_value, help="The first day.")]
ToOpt = Annotated[Optional[str], typer.Option("--to", callback=date_value, help="The last day (default today).")]
AppointmentArg = Annotated[str, typer.Argument(metavar="APPOINTMENT", help="The booking's id (or its first 4+ characters), as `mhtool counseling agenda` shows it.")]
GroupArg = Annotated[str, typer.Argument(metavar="GROUP", help="The group's name, or its id (first 4+ characters) as `mhtool counseling group list` shows it.")]


def _day(value: Optional[str], flag: str):
    from mhtool.domain import dates

    return dates.parse_date(value, today=dates.today(), option=flag) if value else None


def _label(domain: str, code) -> str:
    from mhtool.domain.labels import label

    return label(domain, code, in_language(None)) if code else ""


# -- weekly slots ---------------------------------------------------------------------------------


@slots_app.command("set")
def slots_set(
    ctx: typer.Context,
    counselor: Annotated[str, typer.Argument(metavar="COUNSELOR", help="The counselor's login name.")],
    slot: Annotated[Optional[list[str]], typer.Option("--slot", callback=checked(_slot, pass_flag=True), help="A weekly slot such as \"周一 09:00-12:00\" (within 08:00–21:00); repeat for each.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every slot of the counselor.")] = False,
    json: JsonOpt = False,
) -> None:
    """Set a counselor's weekly slots, replacing the earlier ones.

    Bookings must fit inside a slot. Slots lie within working hours (08:00–21:00).
    Admins, counselors and clerks (the duty desk); audited.

    Example: mhtool counseling slots set zhanghua --slot "周一 09:00-12:00" --slot "周三 14:00-17:00"
    """
    from mhtool.console import output, session
    from mhtool.counseling.domain import schedule
    from mhtool.errors import UsageError

    if not slot and not clear:
        raise UsageError(_("missing --slot"), hint=_("give each weekly slot, e.g. --slot \"周一 09:00-12:00\", or --clear to remove them all"))
    if slot and clear:
        raise UsageError(_("pass --slot or --clear, not both"))
    with session.open_center(ctx) as center:
        result = center.counseling.set_slots(counselor, [] if clear else list(slot or []))
    if json:
        output.emit_json(result)
        return
    shown = joined(schedule.slot_text(s, current()) for s in result["slots"])
    output.success(_("{name}: {count} weekly slots: {slots}").format(name=result["display_name"], count=len(result["slots"]), slots=shown or "-"))


@slots_app.command("list")
def slots_list(ctx: typer.Context, counselor: CounselorOpt = None, json: JsonOpt = False) -> None:
    """List the counselors' weekly slots.

    Example: mhtool counseling slots list
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        rows = center.counseling.slots(counselor)
    if json:
        output.emit_json(rows)
        return
    lang = in_language(None)
    shown = [{**r, "day": _label("weekday", str(r["weekday"]))} for r in rows]
    output.emit_table(
        shown,
        [("display_name", gettext_in("Counselor", lang)), ("counselor", gettext_in("Login", lang)), ("day", gettext_in("Day", lang)), ("start", gettext_in("From", lang)), ("end", gettext_in("To", lang))],
    )
    if not rows:
        output.info(_("no weekly slots are set; set them with `mhtool counseling slots set NAME --slot \"周一 09:00-12:00\"`"))


# -- bookings and the agenda ----------------------------------------------------------------------

def _agenda_columns() -> list[tuple[str, str]]:
    from mhtool.domain.labels import label

    lang = in_language(None)
    return [
        ("date", label("field", "date", lang)),
        ("at", gettext_in("From", lang)),
        ("end", gettext_in("To", lang)),
        ("counselor_name", gettext_in("Counselor", lang)),
        ("student_no", label("field", "student_no", lang)),
        ("name", label("field", "name", lang)),
        ("college", label("field", "college", lang)),
        ("mode_label", gettext_in("Mode", lang)),
        ("status_label", gettext_in("Status", lang)),
        ("id_short", "#"),
    ]


def _appointment_rows(rows: list[dict]) -> list[dict]:
    return [{**r, "mode_label": _label("session_mode", r.get("mode")), "status_label": _label("appointment_status", r.get("status")), "id_short": r["id"][:8]} for r in rows]


@app.command("book")
def book(
    ctx: typer.Context,
    student: StudentArg,
    at: Annotated[Optional[str], typer.Option("--at", help="Day and time, e.g. \"2026-11-23 14:00\".")] = None,
    counselor: CounselorOpt = None,
    minutes: MinutesOpt = None,
    mode: ModeOpt = None,
    json: JsonOpt = False,
) -> None:
    """Book a student with a counselor (预约); the counselor gets a reminder task for the day.

    The booking must fit inside one of the counselor's weekly slots and within
    working hours. A booking that overlaps another of the counselor's, or of
    the student's, is refused naming it (exit 2); nothing is written.
    Admins, counselors and clerks; audited.

    Example: mhtool counseling book 2026000123 --at "2026-11-23 14:00" --counselor zhanghua
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        row = center.counseling.book(student, at=at, counselor=counselor, minutes=minutes, mode=mode)
    if json:
        output.emit_json(row)
        return
    output.success(
        _("booked {student_no} {name} with {counselor} on {day} {start}–{end}; appointment {id}").format(
            student_no=row["student_no"], name=row["name"] or "", counselor=row["counselor_name"], day=row["date"], start=row["at"], end=row["end"], id=row["id"][:8]
        )
    )


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    appointment: AppointmentArg,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why it was cancelled (kept with the booking).")] = None,
    json: JsonOpt = False,
) -> None:
    """Cancel a booking; the counselor's reminder task is closed with it.

    Example: mhtool counseling cancel 3f2a9c1d --reason "学生改约"
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        row = center.counseling.cancel(appointment, reason=reason)
    if json:
        output.emit_json(row)
        return
    output.success(_("cancelled the booking of {student_no} on {day} {start} with {counselor}").format(student_no=row["student_no"], day=row["date"], start=row["at"], counselor=row["counselor_name"]))


@app.command("no-show")
def no_show(
    ctx: typer.Context,
    appointment: AppointmentArg,
    json: JsonOpt = False,
) -> None:
    """Mark a booking of today or earlier as a no-show (爽约); the reminder task is closed.

    Example: mhtool counseling no-show 3f2a9c1d
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        row = center.counseling.no_show(appointment)
    if json:
        output.emit_json(row)
        return
    output.success(_("{student_no} did not come on {day} {start} (no-show recorded)").format(student_no=row["student_no"], day=row["date"], start=row["at"]))


@app.command("agenda")
def agenda(
    ctx: typer.Context,
    day: Annotated[Optional[str], typer.Option("--day", callback=date_value, help="The day (default today): 2026-11-23, today, tomorrow, +1d.")] = None,
    counselor: CounselorOpt = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only my bookings.")] = False,
    json: JsonOpt = False,
) -> None:
    """The day's bookings in time order: every counselor's (the duty desk's view), or one counselor's.

    Admins, counselors and clerks (of their colleges); the read is audited.

    Example: mhtool counseling agenda --day tomorrow --mine
    """
    from mhtool.console import output, session
    from mhtool.errors import UsageError

    if mine and counselor:
        raise UsageError(_("pass --mine or --counselor, not both"))
    with session.open_center(ctx) as center:
        rows = center.counseling.agenda(_day(day, "--day"), counselor=center.staff.name if mine else counselor)
    if json:
        output.emit_json(rows)
        return
    output.emit_table(_appointment_rows(rows), _agenda_columns())
    if not rows:
        output.info(_("no bookings that day"))


# -- session records ------------------------------------------------------------------------------


@app.command("session")
def session_(
    ctx: typer.Context,
    student: StudentArg,
    concern: Annotated[Optional[str], typer.Option("--concern", callback=_code("concern"), help="The presenting concern: 情绪困扰, 人际关系, 恋爱情感, 学业压力, 生涯发展, 家庭关系, 环境适应, 自我成长, 睡眠与身心, 危机与安全 or 其他.")] = None,
    risk: Annotated[Optional[str], typer.Option("--risk", callback=_code("session_risk"), help="The risk assessment: 低 (low), 中 (medium) or 高 (high). High opens a same-day task proposing the watch list.")] = None,
    concern_text: Annotated[Optional[str], typer.Option("--concern-text", help="What the student brought, in a few words (for counselors only).")] = None,
    next_step: Annotated[Optional[str], typer.Option("--next-step", help="The next step agreed (for counselors only).")] = None,
    mode: ModeOpt = None,
    minutes: MinutesOpt = None,
    when: DateOpt = None,
    at: Annotated[Optional[str], typer.Option("--at", callback=checked(_clock, pass_flag=True), help="The time it began, e.g. 14:00.")] = None,
    counselor: CounselorOpt = None,
    appointment: Annotated[Optional[str], typer.Option("--appointment", metavar="ID", help="The booking it attended (default: the student's booking with the counselor that day).")] = None,
    walk_in: Annotated[bool, typer.Option("--walk-in", help="A walk-in seen on duty (值班), not a booking.")] = False,
    close: Annotated[Optional[str], typer.Option("--close", metavar="OUTCOME", callback=_code("session_outcome"), help="End the series with its outcome: 达成咨询目标, 部分改善, 转介就医, 转其他咨询师, 来访者中止 or 其他.")] = None,
    outcome_text: Annotated[Optional[str], typer.Option("--outcome-text", help="A word on the outcome (with --close; for counselors only).")] = None,
    create_from_roster: Annotated[Optional[Path], typer.Option("--create-from-roster", metavar="FILE", help="The school roster: create the student's dossier from its row if there is none.")] = None,
    json: JsonOpt = False,
) -> None:
    """Record a counseling session (个体咨询) on the student's timeline.

    The session is numbered in its series; --close ends the series with an
    outcome. Concern, what was said, the risk assessment, the next step and
    the outcome are sealed under the key only counselors and admins hold:
    clerks and reports see that a session took place (date, counselor),
    never its content. A high risk opens a 约谈 task due the same day that
    proposes the watch list; the level changes only when a counselor sets it.
    A booking of the student with the counselor that day is marked attended.

    A student with no dossier: on a terminal you are offered to create it
    from the school roster; otherwise pass --create-from-roster FILE (exit 2
    without it, nothing written). Counselors and admins.

    Example: mhtool counseling session 2026000123 --concern 情绪困扰 --risk 低 --concern-text "期中后失眠" --minutes 50
    """
    from mhtool.console import output, prompts, session
    from mhtool.counseling.usecases.api import NoDossier

    values = dict(
        counselor=counselor, mode=mode, minutes=minutes, concern=concern, concern_text=concern_text, risk=risk, next_step=next_step,
        on=when, at=at, appointment=appointment, walk_in=walk_in, close=close, outcome_text=outcome_text,
    )  # fmt: skip
    with session.open_center(ctx) as center:
        try:
            result = center.counseling.session(student, create_from_roster=create_from_roster, **values)
        except NoDossier:
            if create_from_roster is not None or not prompts.is_interactive():
                raise
            if not prompts.confirm(_("Student {student_no} has no dossier. Create it from the school roster?").format(student_no=student), flag="--create-from-roster"):
                raise
            roster = prompts.text(_("The school roster (.xlsx or .csv):"), flag="--create-from-roster")
            result = center.counseling.session(student, create_from_roster=Path(roster.strip()), **values)
    if json:
        output.emit_json(result)
        return
    if result["dossier_created"]:
        output.info(_("created the dossier of {student_no} {name} from the roster").format(student_no=result["student_no"], name=result["name"]))
    output.success(
        _("session {number} of {student_no} {name} recorded on {day} (entry {entry})").format(
            number=result["number"], student_no=result["student_no"], name=result["name"], day=result["date"], entry=result["entry_id"][:8]
        )
    )
    if result["closes"]:
        output.info(_("the series is closed; the next session starts a new one"))
    if result["task_id"]:
        output.warn(
            _("high risk: a 约谈 task due {day} proposes {level} for the watch list; set the level with `mhtool cases level` or `mhtool cases interview --confirm`").format(
                day=result["date"], level=_label("level", result["proposed_level"])
            )
        )


@app.command("sessions")
def sessions_(
    ctx: typer.Context,
    student: Annotated[Optional[str], typer.Argument(metavar="[STUDENT]", help="Only this student's sessions (all of them).")] = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    counselor: CounselorOpt = None,
    json: JsonOpt = False,
) -> None:
    """List sessions: one student's, or a period's (default the last 30 days).

    Counselors and admins see the content; clerks see that a session took
    place (date, time, counselor, mode, length), never what it holds. The
    read is audited.

    Example: mhtool counseling sessions --from 2026-11-01 --to 2026-11-30 --counselor zhanghua
    """
    from mhtool.console import output, session
    from mhtool.domain.labels import label

    with session.open_center(ctx) as center:
        rows = center.counseling.sessions(student, start=_day(date_from, "--from"), end=_day(date_to, "--to"), counselor=counselor)
    if json:
        output.emit_json(rows)
        return
    lang = in_language(None)
    shown = [
        {**r, "mode_label": _label("session_mode", r.get("mode")), "concern_label": _label("concern", r.get("concern")), "risk_label": _label("session_risk", r.get("risk")),
         "closed": _label("session_outcome", r.get("outcome")) if r.get("closes") else "", "id_short": r["id"][:8]}
        for r in rows
    ]  # fmt: skip
    columns = [
        ("date", label("field", "date", lang)),
        ("at", gettext_in("From", lang)),
        ("student_no", label("field", "student_no", lang)),
        ("name", label("field", "name", lang)),
        ("counselor_name", gettext_in("Counselor", lang)),
        ("number", gettext_in("No.", lang)),
        ("mode_label", gettext_in("Mode", lang)),
        ("minutes", gettext_in("Minutes", lang)),
    ]
    if any("concern" in r for r in rows):
        columns += [("concern_label", gettext_in("Concern", lang)), ("risk_label", gettext_in("Risk", lang)), ("closed", gettext_in("Series closed", lang))]
    output.emit_table(shown, [*columns, ("id_short", "#")])
    if not rows:
        output.info(_("no sessions"))


@app.command("conference")
def conference(
    ctx: typer.Context,
    students: Annotated[list[str], typer.Argument(metavar="STUDENT...", help="The students discussed (学号); each gets the conference on their timeline.", callback=checked(student_no_value))],
    kind: Annotated[Optional[str], typer.Option("--kind", callback=_code("conference_kind"), help="案例研讨 (case_conference) or 督导 (supervision).")] = None,
    decision: Annotated[Optional[str], typer.Option("--decision", help="What was decided (for counselors only).")] = None,
    participant: Annotated[Optional[list[str]], typer.Option("--participant", help="Who took part; repeat, or separate with commas.")] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Who follows up (gets a task for each student).")] = None,
    due: Annotated[Optional[str], typer.Option("--due", callback=date_value, help="When the follow-up is due (default 7 days after the conference).")] = None,
    when: DateOpt = None,
    notes: Annotated[Optional[str], typer.Option("--notes", help="What was discussed (for counselors only).")] = None,
    json: JsonOpt = False,
) -> None:
    """Record a case conference (案例研讨) or supervision (督导) about one or more students.

    Each student's timeline gets the conference; its decision and notes are
    for counselors only. With --owner, the owner gets a follow-up task for
    each student. Counselors and admins.

    Example: mhtool counseling conference 2026000123 2026000456 --kind 案例研讨 --participant 张华,李明 --decision "维持二级关注，两周后复评" --owner zhanghua
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        result = center.counseling.conference(
            students, kind=kind, decision=decision, participants=list(participant or []), owner=owner, due=due, on=when, notes=notes
        )
    if json:
        output.emit_json(result)
        return
    output.success(
        _("{kind} of {day} recorded on the timelines of {students}").format(
            kind=_label("conference_kind", result["kind"]), day=result["date"], students=joined(s["student_no"] for s in result["students"])
        )
    )
    if result["owner"]:
        output.info(_("follow-up tasks for {owner}, due {due}").format(owner=result["owner"], due=result["due"]))


# -- groups ---------------------------------------------------------------------------------------


@group_app.command("add")
def group_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The group's name, e.g. 人际交往成长小组.")],
    leader: Annotated[Optional[list[str]], typer.Option("--leader", help="A counselor who leads it (login name); repeat for co-leaders.")] = None,
    theme: Annotated[Optional[str], typer.Option("--theme", help="Its theme.")] = None,
    college: Annotated[Optional[str], typer.Option("--college", help="A group of one college only (default: the whole center).")] = None,
    meetings: Annotated[Optional[int], typer.Option("--meetings", metavar="N", help="How many meetings are planned.")] = None,
    json: JsonOpt = False,
) -> None:
    """Start a group (团体辅导).

    Example: mhtool counseling group add 人际交往成长小组 --leader zhanghua --meetings 8
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        group = center.counseling.add_group(name, leaders=list(leader or []), theme=theme, college=college, meetings=meetings)
    if json:
        output.emit_json(group)
        return
    output.success(_("group {name} started; id {id}").format(name=group["name"], id=group["id"][:8]))


@group_app.command("members")
def group_members(
    ctx: typer.Context,
    group: GroupArg,
    add: Annotated[Optional[list[str]], typer.Option("--add", metavar="STUDENT", help="A student who joins (学号); repeat for each.", callback=checked(student_no_value))] = None,
    remove: Annotated[Optional[list[str]], typer.Option("--remove", metavar="STUDENT", help="A student who leaves; repeat for each.", callback=checked(student_no_value))] = None,
    when: DateOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add or remove members of a group.

    A scoped staff member adds only students of their colleges; a group of
    one college takes only its own students. All or nothing.

    Example: mhtool counseling group members 人际交往成长小组 --add 2026000123 --add 2026000456
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        result = center.counseling.group_members(group, add=list(add or []), remove=list(remove or []), on=when)
    if json:
        output.emit_json(result)
        return
    output.success(_("{group}: {joined} joined, {left} left; {members} members now").format(**result))


@group_app.command("meeting")
def group_meeting(
    ctx: typer.Context,
    group: GroupArg,
    when: DateOpt = None,
    present: Annotated[Optional[list[str]], typer.Option("--present", metavar="STUDENT", help="A member who came; repeat for each.", callback=checked(student_no_value))] = None,
    absent: Annotated[Optional[list[str]], typer.Option("--absent", metavar="STUDENT", help="A member who did not come (the others did); repeat for each.", callback=checked(student_no_value))] = None,
    minutes: MinutesOpt = None,
    topic: Annotated[Optional[str], typer.Option("--topic", help="The meeting's topic.")] = None,
    json: JsonOpt = False,
) -> None:
    """Record a group meeting and its attendance (every member came unless --present or --absent says otherwise).

    Example: mhtool counseling group meeting 人际交往成长小组 --date 2026-11-20 --absent 2026000456 --topic 倾听与表达
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        result = center.counseling.group_meeting(group, on=when, present=list(present or []), absent=list(absent or []), minutes=minutes, topic=topic)
    if json:
        output.emit_json(result)
        return
    output.success(_("{group}: meeting {no} on {date}, {present} of {members} members present").format(**result))


@group_app.command("list")
def group_list(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List the groups, with members, meetings held and attendance.

    Example: mhtool counseling group list
    """
    from mhtool.console import output, session
    from mhtool.domain.labels import label

    with session.open_center(ctx) as center:
        rows = center.counseling.groups()
    if json:
        output.emit_json(rows)
        return
    lang = in_language(None)
    shown = [{**r, "leaders_text": joined(r["leader_names"]), "id_short": r["id"][:8]} for r in rows]
    output.emit_table(
        shown,
        [("name", gettext_in("Group", lang)), ("college", label("field", "college", lang)), ("leaders_text", gettext_in("Leaders", lang)), ("members", gettext_in("Members", lang)),
         ("meetings", gettext_in("Meetings", lang)), ("attendance", gettext_in("Attendance", lang)), ("id_short", "#")],
    )  # fmt: skip
    if not rows:
        output.info(_("no groups yet; start one with `mhtool counseling group add NAME --leader NAME`"))


@group_app.command("show")
def group_show(ctx: typer.Context, group: GroupArg, json: JsonOpt = False) -> None:
    """Show a group: its members and each meeting's attendance.

    Example: mhtool counseling group show 人际交往成长小组
    """
    from mhtool.console import output, session
    from mhtool.domain.labels import label

    with session.open_center(ctx) as center:
        view = center.counseling.group(group)
    if json:
        output.emit_json(view)
        return
    lang = in_language(None)
    output.info(_("{name}: {members} members, {meetings} meetings, {attendance} attendances").format(**view))
    output.emit_table(view["member_list"], [("student_no", label("field", "student_no", lang)), ("name", label("field", "name", lang)),
                                            ("college", label("field", "college", lang)), ("joined_on", gettext_in("Joined", lang)), ("left_on", gettext_in("Left", lang))])  # fmt: skip
    output.emit_table(view["meeting_list"], [("no", gettext_in("No.", lang)), ("date", label("field", "date", lang)), ("topic", gettext_in("Topic", lang)), ("present", gettext_in("Present", lang))])


# -- activities -----------------------------------------------------------------------------------


@activity_app.command("add")
def activity_add(
    ctx: typer.Context,
    kind: Annotated[Optional[str], typer.Option("--kind", callback=_code("activity_kind"), help="讲座, 5·25心理健康月活动, 主题班会, 工作坊, 心理委员培训 or 其他活动.")] = None,
    title: Annotated[Optional[str], typer.Option("--title", help="Its title.")] = None,
    when: DateOpt = None,
    audience: Annotated[Optional[str], typer.Option("--audience", help="Who it was for, e.g. 2026级新生.")] = None,
    count: Annotated[Optional[int], typer.Option("--count", min=0, help="How many people took part.")] = None,
    college: Annotated[Optional[str], typer.Option("--college", help="The college it was held for (default: the whole center).")] = None,
    organizer: Annotated[Optional[str], typer.Option("--organizer", help="Who organised it.")] = None,
    json: JsonOpt = False,
) -> None:
    """Record an activity (心理健康活动) with its date, audience and head count.

    Example: mhtool counseling activity add --kind 讲座 --title "新生心理适应讲座" --date 2026-10-12 --audience 2026级新生 --count 320
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        row = center.counseling.add_activity(kind=kind, title=title, on=when, audience=audience, count=count, college=college, organizer=organizer)
    if json:
        output.emit_json(row)
        return
    output.success(_("{title} ({kind}) on {date}: {count} people").format(title=row["title"], kind=_label("activity_kind", row["kind"]), date=row["date"], count=row["head_count"]))


@activity_app.command("list")
def activity_list(ctx: typer.Context, date_from: FromOpt = None, date_to: ToOpt = None, json: JsonOpt = False) -> None:
    """List activities (default: this year so far).

    Example: mhtool counseling activity list --from 2026-05-01 --to 2026-05-31
    """
    from mhtool.console import output, session
    from mhtool.domain.labels import label

    with session.open_center(ctx) as center:
        rows = center.counseling.activities(start=_day(date_from, "--from"), end=_day(date_to, "--to"))
    if json:
        output.emit_json(rows)
        return
    lang = in_language(None)
    shown = [{**r, "kind_label": _label("activity_kind", r.get("kind"))} for r in rows]
    output.emit_table(
        shown,
        [("date", label("field", "date", lang)), ("kind_label", gettext_in("Kind", lang)), ("title", gettext_in("Title", lang)), ("audience", gettext_in("Audience", lang)),
         ("head_count", gettext_in("People", lang)), ("college", label("field", "college", lang))],
    )  # fmt: skip
    if not rows:
        output.info(_("no activities in that period"))
