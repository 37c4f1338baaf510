"""团体辅导 groups (members, meetings, attendance) and 心理健康活动 (讲座, 5·25 events, 班会).

The ``counseling`` permission (admin, counselor, clerk) keeps them: they hold
who attended, never what was said. A college-scoped member reaches only
groups and activities of their colleges, and adds only students they may
reach: a student of another college is refused as every scoped refusal is
(exit 5, audited, naming nothing stored). A group of one college takes only
that college's students.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from mhtool.cases.domain.model import required
from mhtool.cases.usecases import service
from mhtool.counseling.domain import records, schedule
from mhtool.counseling.usecases.desk import counselor
from mhtool.errors import NotFound, UsageError
from mhtool.i18n import _


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _day(value, today: date, flag: str = "--date", *, allow_future: bool = False) -> date:
    return schedule.day(value, today=today, flag=flag, allow_future=allow_future) if value else today


def find_group(store, ref: str, action: str) -> dict:
    """A group by its exact name or its id (4+ first characters), within the caller's colleges."""
    wanted = " ".join(str(ref or "").split())
    if not wanted:
        raise UsageError(_("missing GROUP"), hint=_("name the group or give its id, as `mhtool counseling group list` shows it"))
    named = [g for g in store.counseling_groups.all() if g.get("name") == wanted]
    if len(named) > 1:
        raise UsageError(_("{name!r} names {n} groups; give the id instead").format(name=wanted, n=len(named)))
    if named:
        group = named[0]
    else:
        try:
            group = store.counseling_groups.get(store.counseling_groups.resolve(wanted, _("group")))
        except (NotFound, UsageError):
            raise NotFound(_("no group named {name!r}").format(name=wanted), hint=_("`mhtool counseling group list` shows the groups")) from None
    if group.get("college"):
        store.require_college(group["college"], action=action, targets=[f"counseling_groups/{group['id']}"])
    elif store.staff.scoped():
        store.require_college(None, action=action, targets=[f"counseling_groups/{group['id']}"])
    return group


def add_group(store, name: str, *, leaders: list[str], theme: str | None = None, college: str | None = None, meetings: int | None = None) -> dict:
    action = "counseling.group.add"
    store.require("counseling", action=action)
    who = [counselor(store, leader, flag="--leader")["name"] for leader in leaders]
    group = records.new_group(name, leaders=who, theme=theme, college=college or "", planned=meetings, by=store.staff.name, at=_now())
    store.require_college(group["college"] or None, action=action)
    if any(g.get("name") == group["name"] for g in store.counseling_groups.all()):
        raise UsageError(_("a group named {name!r} already exists").format(name=group["name"]), hint=_("choose another name"))
    with store.write(action, details={"name": group["name"]}) as txn:
        group_id = store.counseling_groups.add(txn, group)
    return {**group, "id": group_id}


def change_members(store, ref: str, *, add: list[str] = (), remove: list[str] = (), on: date | str | None = None, today: date) -> dict:
    """Add or remove members (student numbers) of a group, as of ``on`` (default today); all or nothing."""
    action = "counseling.group.members"
    store.require("counseling", action=action)
    if not add and not remove:
        raise UsageError(_("nothing to change"), hint=_("pass --add STUDENT or --remove STUDENT"))
    group = find_group(store, ref, action)
    day = _day(on, today, allow_future=True)
    adding = [_member(store, group, no, action, "--add") for no in add]
    removing = [service.load_student(store, no, action=action) for no in remove]
    with store.write(action, targets=[f"counseling_groups/{group['id']}", *(f"students/{s['id']}" for s in adding + removing)]) as txn:
        group = store.counseling_groups.get(group["id"])
        members, joined, left = records.change_members(group, [s["id"] for s in adding], [s["id"] for s in removing], day)
        store.counseling_groups.save(txn, {**group, "members": members})
        txn.details.update(joined=joined, left=left)
    return {"group": group["name"], "id": group["id"], "joined": joined, "left": left, "members": len(records.members_on({**group, "members": members}, day))}


def _member(store, group: dict, student_no: str, action: str, flag: str) -> dict:
    student = service.load_student(store, student_no, action=action)
    if group.get("college") and (student.get("college") or "") != group["college"]:
        raise UsageError(
            _("{flag} {student_no}: the student is of {college}, and this group is for {group_college} only; nothing was changed").format(
                flag=flag, student_no=student["student_no"], college=student.get("college") or "-", group_college=group["college"]
            )
        )
    return student


def record_meeting(
    store, ref: str, *, on: date | str | None = None, present: list[str] = (), absent: list[str] = (), minutes=None, topic: str | None = None, today: date
) -> dict:
    """Record a group meeting and who attended: ``present`` students, or every member but the ``absent`` ones."""
    action = "counseling.group.meeting"
    store.require("counseling", action=action)
    if present and absent:
        raise UsageError(_("pass --present or --absent, not both"))
    group = find_group(store, ref, action)
    day = _day(on, today)
    named = {no: service.load_student(store, no, action=action) for no in (*present, *absent)}
    members = set(records.members_on(group, day))
    strangers = [no for no, s in named.items() if s["id"] not in members]
    if strangers:
        raise UsageError(
            _("{students}: not members of {group} on {day}; nothing was recorded").format(students="、".join(strangers), group=group["name"], day=day.isoformat()),
            hint=_("add them first: mhtool counseling group members GROUP --add STUDENT"),
        )
    if present:
        attending = [named[no]["id"] for no in present]
    else:
        gone = {named[no]["id"] for no in absent}
        attending = [sid for sid in members if sid not in gone]
    length = minutes if minutes not in (None, "") else 90
    with store.write(action, targets=[f"counseling_groups/{group['id']}", *(f"students/{sid}" for sid in sorted(attending))]) as txn:
        group = store.counseling_groups.get(group["id"])
        meeting = records.meeting(group, day, attending, minutes=length, topic=topic, by=store.staff.name)
        meetings = records.renumber([*group["meetings"], meeting])
        store.counseling_groups.save(txn, {**group, "meetings": meetings})
        number = next(m["no"] for m in meetings if m["date"] == day.isoformat())
        txn.details.update(date=day.isoformat(), present=len(attending))
    return {"group": group["name"], "id": group["id"], "no": number, "date": day.isoformat(), "present": len(attending), "members": len(members)}


def _group_view(store, group: dict, *, detail: bool = False) -> dict:
    names = store.staff_rows.display_names()
    today = service.today(store)
    view = {
        "id": group["id"], "name": group["name"], "theme": group.get("theme"), "college": group.get("college") or "",
        "leaders": group.get("leaders") or [], "leader_names": [names.get(x, x) for x in group.get("leaders") or []],
        "planned_meetings": group.get("planned_meetings"), "members": len(records.members_on(group, today)),
        "meetings": len(group["meetings"]), "attendance": sum(len(m.get("present") or []) for m in group["meetings"]),
    }  # fmt: skip
    if detail:
        students = store.students.by_ids(m["student_id"] for m in group["members"])
        view["member_list"] = [
            {"student_no": students[m["student_id"]].get("student_no"), "name": students[m["student_id"]].get("name"),
             "college": students[m["student_id"]].get("college"), "joined_on": m.get("joined_on"), "left_on": m.get("left_on")}
            for m in group["members"] if m["student_id"] in students
        ]  # fmt: skip
        view["meeting_list"] = [{"no": m.get("no"), "date": m["date"], "minutes": m.get("minutes"), "topic": m.get("topic"), "present": len(m.get("present") or [])} for m in group["meetings"]]
    return view


def list_groups(store) -> list[dict]:
    """The groups of the caller's colleges (center-wide ones for unscoped staff), with counts; audited."""
    action = "counseling.group.list"
    store.require("counseling", action=action)
    groups = [g for g in store.counseling_groups.all() if (store.in_scope(g.get("college")) if g.get("college") else not store.staff.scoped())]
    store.audit_read(action, targets=[f"counseling_groups/{g['id']}" for g in groups], details={"count": len(groups)})
    return [_group_view(store, g) for g in groups]


def show_group(store, ref: str) -> dict:
    """One group with its members and meetings; audited."""
    action = "counseling.group.show"
    store.require("counseling", action=action)
    group = find_group(store, ref, action)
    view = _group_view(store, group, detail=True)
    store.audit_read(action, targets=[f"counseling_groups/{group['id']}", *(f"students/{m['student_id']}" for m in group["members"])])
    return view


# -- activities ---------------------------------------------------------------------------------------


def add_activity(
    store, *, kind: str | None, title: str | None, on: date | str | None = None, audience: str | None = None, count=None,
    college: str | None = None, organizer: str | None = None, today: date,
) -> dict:  # fmt: skip
    action = "counseling.activity"
    store.require("counseling", action=action)
    kind_code = schedule.code("activity_kind", required(kind, "--kind"), flag="--kind")
    day = _day(on, today)
    data = records.activity(kind_code, title, audience=audience, head_count=required(count, "--count"), college=college or "", organizer=organizer, by=store.staff.name, at=_now())
    store.require_college(data["college"] or None, action=action)
    with store.write(action, details={"kind": kind_code, "date": day.isoformat(), "count": data["head_count"]}) as txn:
        activity_id = store.activities.add(txn, day, data)
    return {**data, "id": activity_id, "date": day.isoformat()}


def list_activities(store, *, start: date | None = None, end: date | None = None, today: date) -> list[dict]:
    """Activities of a period (default: this year so far) in the caller's colleges; no student data, not audited."""
    store.require("counseling", action="counseling.activity")
    end = end or today
    start = start or date(end.year, 1, 1)
    rows = []
    for a in store.activities.between(start, end):
        if (a.get("college") and store.in_scope(a["college"])) or (not a.get("college") and not store.staff.scoped()):
            rows.append({"id": a["id"], "date": a["on_date"], **{k: a.get(k) for k in ("kind", "title", "audience", "head_count", "college", "organizer")}})
    return rows
