"""What a session, a case conference, a group meeting or an activity records, and the rules they keep.

A session is a timeline entry of kind ``session``: its administrative fields
(counselor, mode, minutes, its number in the series, the time, the
appointment it attended, whether it closed the series) are what a clerk may
know; concern, what was said, the risk assessment, the next step and the
outcome are sealed under the clinical key (:mod:`mhtool.domain.sensitivity`).
A series runs from a student's first session after the last closed series to
the session that closes it.
"""

from __future__ import annotations

from datetime import date

from mhtool.cases.domain import model
from mhtool.counseling.domain import schedule
from mhtool.errors import UsageError
from mhtool.i18n import _

# What a high risk assessment proposes for the watch list: a counselor decides the level the same day.
HIGH_RISK = "high"
HIGH_RISK_PROPOSAL = "red"
# A conference's follow-up is due this many days after it, unless said.
CONFERENCE_FOLLOW_UP_DAYS = 7
# How many people one activity may count: more is a typing error, not a lecture.
MAX_HEAD_COUNT = 100_000


def _text(value) -> str:
    return " ".join(str(value or "").split())


def next_number(sessions: list[dict], on: date) -> int:
    """The number of a session recorded for ``on`` in its series: 1 after a series closed (or the first ever), else one more.

    ``sessions`` are the student's earlier session entries (any order); only
    those dated on or before ``on`` count, in date order and, within a day, in
    the order they were recorded, so a session entered late (补录) takes its
    place by date.
    """
    earlier = sorted((s for s in sessions if s["date"] <= on.isoformat()), key=lambda s: (s["date"], s.get("recorded_at") or ""))
    number = 0
    for s in earlier:
        number = 0 if s["fields"].get("closes") else number + 1
    return number + 1


def session_fields(
    *,
    counselor: str,
    mode: str,
    minutes: int,
    number: int,
    concern: str,
    risk: str,
    concern_text: str | None = None,
    next_step: str | None = None,
    at: str | None = None,
    appointment_id: str | None = None,
    walk_in: bool = False,
    outcome: str | None = None,
    outcome_text: str | None = None,
) -> dict:
    """A session entry's fields, checked (:func:`mhtool.cases.domain.model.validate_entry`); ``outcome`` closes the series."""
    if outcome_text and not outcome:
        raise UsageError(_("--outcome-text goes with --close"), hint=_("close the series with --close OUTCOME, e.g. --close 达成咨询目标"))
    fields = {
        "counselor": counselor,
        "mode": mode,
        "minutes": int(minutes),
        "number": int(number),
        "concern": concern,
        "risk": risk,
        "concern_text": _text(concern_text) or None,
        "next_step": _text(next_step) or None,
        "at": at,
        "appointment_id": appointment_id,
        "walk_in": True if walk_in else None,
        "closes": True if outcome else None,
        "outcome": outcome,
        "outcome_text": _text(outcome_text) or None,
    }
    return model.validate_entry("session", fields)


def high_risk(fields: dict) -> bool:
    return fields.get("risk") == HIGH_RISK


def proposal_note(fields: dict) -> str:
    """The note of the same-day task a high-risk session opens (text of the store: Chinese, as reports print it)."""
    return f"个体咨询第{fields.get('number')}次评估为高风险：当日研判关注等级"


def conference_fields(*, conference_id: str, kind: str, decision: str | None, participants: list[str], owner: str | None, due: date | None, notes: str | None) -> dict:
    """One student's entry of a 案例研讨 or 督导."""
    people = [p for p in (_text(x) for raw in participants for x in str(raw).replace("，", ",").replace("、", ",").split(",")) if p]
    fields = {
        "conference_id": conference_id,
        "conference_kind": kind,
        "decision": _text(decision),
        "participants": list(dict.fromkeys(people)),
        "owner": _text(owner) or None,
        "due": due.isoformat() if due and _text(owner) else None,
        "notes": _text(notes) or None,
    }
    if not fields["decision"]:
        raise UsageError(_("missing --decision"), hint=_("say what the conference decided, e.g. --decision \"维持二级关注，两周后复评\""))
    return model.validate_entry("conference", fields)


# -- groups ---------------------------------------------------------------------------------------


def new_group(name: str, *, leaders: list[str], theme: str | None, college: str, planned: int | None, by: str, at: str) -> dict:
    name = _text(name)
    if not name:
        raise UsageError(_("a group needs a name"), hint=_("e.g. mhtool counseling group add 人际交往成长小组 --leader zhanghua"))
    if not leaders:
        raise UsageError(_("missing --leader"), hint=_("name the staff member who leads the group, e.g. --leader zhanghua"))
    if planned is not None and not 1 <= planned <= 50:
        raise UsageError(_("--meetings {value}: a group meets from 1 to 50 times").format(value=planned))
    return {
        "name": name, "theme": _text(theme) or None, "leaders": list(dict.fromkeys(leaders)), "college": _text(college),
        "planned_meetings": planned, "status": "open", "members": [], "meetings": [], "created_by": by, "created_at": at,
    }  # fmt: skip


def members_on(group: dict, day: date) -> list[str]:
    """The student ids that were members on ``day``."""
    d = day.isoformat()
    return [m["student_id"] for m in group["members"] if m.get("joined_on", "") <= d and (not m.get("left_on") or m["left_on"] > d)]


def change_members(group: dict, add: list[str], remove: list[str], on: date) -> tuple[list[dict], int, int]:
    """The members after adding and removing students on ``on``: (members, how many joined, how many left)."""
    members = [dict(m) for m in group["members"]]
    current = set(members_on(group, on))
    joined = left = 0
    for sid in add:
        if sid not in current:
            members.append({"student_id": sid, "joined_on": on.isoformat(), "left_on": None})
            current.add(sid)
            joined += 1
    for sid in remove:
        if sid in current:
            for m in members:
                if m["student_id"] == sid and not m.get("left_on"):
                    m["left_on"] = on.isoformat()
            current.discard(sid)
            left += 1
    return members, joined, left


def meeting(group: dict, day: date, present: list[str], *, minutes: int, topic: str | None, by: str) -> dict:
    """A group meeting with its attendance; everyone present must be a member that day, and a day has one meeting."""
    members = set(members_on(group, day))
    if not members:
        raise UsageError(_("the group has no members on {day}; add them with `mhtool counseling group members GROUP --add STUDENT`").format(day=day.isoformat()))
    if any(m.get("date") == day.isoformat() for m in group["meetings"]):
        raise UsageError(_("--date {day}: the group already has a meeting that day; nothing was recorded").format(day=day.isoformat()))
    numbers = [int(m.get("no") or 0) for m in group["meetings"] if m.get("date", "") < day.isoformat()]
    return {
        "no": len(numbers) + 1,
        "date": day.isoformat(),
        "minutes": schedule.minutes(minutes, flag="--minutes"),
        "topic": _text(topic) or None,
        "present": sorted(set(present)),
        "recorded_by": by,
    }


def renumber(meetings: list[dict]) -> list[dict]:
    """Meetings in date order, numbered 1, 2, … (a meeting entered late takes its place)."""
    return [{**m, "no": i} for i, m in enumerate(sorted(meetings, key=lambda m: m["date"]), start=1)]


# -- activities ------------------------------------------------------------------------------------


def activity(kind: str, title: str | None, *, audience: str | None, head_count, college: str, organizer: str | None, by: str, at: str) -> dict:
    title = _text(title)
    if not title:
        raise UsageError(_("missing --title"), hint=_("e.g. --title \"5·25心理健康月开幕讲座\""))
    try:
        count = int(str(head_count).strip())
    except (TypeError, ValueError):
        raise UsageError(_("--count {value!r} is not a number of people").format(value=head_count)) from None
    if not 0 <= count <= MAX_HEAD_COUNT:
        raise UsageError(_("--count {value}: give how many people took part, from 0 to {most}").format(value=count, most=MAX_HEAD_COUNT))
    return {
        "kind": kind, "title": title, "audience": _text(audience) or None, "head_count": count, "college": _text(college),
        "organizer": _text(organizer) or None, "recorded_by": by, "recorded_at": at,
    }  # fmt: skip
