"""The dossier's domain rules (一人一档), pure: plain data in, plain data out, no I/O.

A student record, its timeline entries and its tasks are plain dicts (the
sealed JSON). The functions here decide what a recorded event means: which
level change it implies, which tasks it completes and which it schedules, and
what the three clarities (三个明确) find missing.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from difflib import SequenceMatcher

from mhtool.domain import rules
from mhtool.domain.labels import code_from_label, label
from mhtool.domain.labels import text as label_text
from mhtool.domain.rules import DEFAULT_CADENCE, GUARDIAN_NOTICE_HOURS, RETURN_REVIEW_DAYS, REVIEW_WINDOW_DAYS
from mhtool.domain.vocabulary import CONSENT, GROUPS, HEADER_FIELDS, LEVEL_RANK, LEVELS, STATUSES
from mhtool.domain.sensitivity import CLINICAL_KINDS
from mhtool.errors import InvalidInput, RefusedChange, UsageError
from mhtool import i18n
from mhtool.i18n import _

# Required fields per timeline entry kind: what a counselor must say for the
# entry to be useful later (有据可查). Other fields are optional.
ENTRY_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "interview": (
        ("findings",),
        ("mode", "duration", "risk", "confirmed_level", "next_step", "task_id", "interviewer", "source", "source_key"),
    ),
    # ``for_entry``: the earlier entry whose level change this one records, when
    # it was written after the fact (a 补录 put a confirmation back in force).
    "level_change": (("from", "to", "reason"), ("for_entry",)),
    "note": (("text",), ()),
    "measure": (("measure_kind", "description"), ("responsible", "start", "end")),
    "guardian_contact": (("guardian", "content"), ("channel", "consent")),
    "crisis": (
        ("what",),
        (
            "where", "actions", "notified", "happened_at", "parents_notified_at",
            "event_type", "risk", "reported_to", "reported_at", "reported_how",
        ),
    ),
    "status_change": (
        ("from", "to", "reason"),
        ("from_date", "until", "on", "certificate", "assessed_by", "without_certificate", "documents"),
    ),
    "follow_up": (("content",), ("mode", "task_id")),
    "close": (("reason",), ()),
    "reopen": (("reason", "level"), ()),
    "referral": (("referral_id", "status"), ("from_status", "hospital", "summary")),
    # 个体咨询 and 案例研讨/督导, recorded by `mhtool counseling` (mhtool/counseling/).
    "session": (
        ("counselor", "mode", "minutes", "number", "concern", "risk"),
        ("at", "appointment_id", "walk_in", "closes", "concern_text", "next_step", "outcome", "outcome_text"),
    ),
    "conference": (("conference_id", "conference_kind", "decision"), ("participants", "owner", "due", "task_id", "notes")),
}
ENTRY_KINDS = tuple(ENTRY_FIELDS)
# Entries that count as "current state recorded" for the three clarities.
STATE_KINDS = frozenset({"interview", "follow_up", "guardian_contact", "crisis"})


def parse_level(text: str | None, *, option: str = "--level") -> str:
    code = code_from_label("level", text or "")
    if code is None:
        raise InvalidInput(
            _("{option}: {text!r} is not a level").format(option=option, text=text),
            hint=_("use red, orange, yellow or none (红色/橙色/黄色/无)"),
        )
    return code


def required(value, flag: str):
    """A value the event cannot be recorded without; missing, the error names the flag that gives it."""
    if value in (None, ""):
        raise UsageError(_("missing {flag}").format(flag=flag), hint=_("pass {flag}").format(flag=flag))
    return value


def parse_choice(value: str | None, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        raise UsageError(_("{option}: {value!r} is not one of {choices}").format(option=option, value=value, choices=", ".join(choices)))
    return value


def compare_levels(old: str, new: str) -> str:
    """``raised``, ``lowered`` or ``same``."""
    a, b = LEVEL_RANK[old], LEVEL_RANK[new]
    return "raised" if b > a else "lowered" if b < a else "same"


def validate_entry(kind: str, fields: dict) -> dict:
    """Check an entry's fields; return them without empty optional values."""
    if kind not in ENTRY_FIELDS:
        raise UsageError(_("unknown entry kind {kind!r}").format(kind=kind), hint=_("one of {choices}").format(choices=", ".join(ENTRY_KINDS)))
    required, optional = ENTRY_FIELDS[kind]
    missing = [f for f in required if fields.get(f) in (None, "", [])]
    if missing:
        flags = ", ".join("--" + m.replace("_", "-") for m in missing)
        raise UsageError(_("a {entry_kind} entry needs {flags}").format(entry_kind=label("entry", kind, i18n.current()), flags=flags))
    unknown = set(fields) - set(required) - set(optional)
    if unknown:
        raise UsageError(_("unexpected fields for {kind}: {fields}").format(kind=kind, fields=", ".join(sorted(unknown))))
    if kind == "guardian_contact" and fields.get("consent") not in (None, *CONSENT):
        raise UsageError(_("--consent must be one of {choices}").format(choices=", ".join(CONSENT)))
    return {k: v for k, v in fields.items() if v not in (None, "", [])}


def cadence_change(changes: dict[str, int]) -> dict[str, int]:
    """New follow-up intervals (days per watch level), each from 1 to 365 days."""
    out = {}
    for level, days in changes.items():
        if level not in DEFAULT_CADENCE:
            raise UsageError(_("no cadence for level {level!r}").format(level=level), hint=", ".join(DEFAULT_CADENCE))
        if not 1 <= int(days) <= 365:
            raise InvalidInput(_("--{level} {days}: the cadence is a number of days from 1 to 365").format(level=level, days=days))
        out[level] = int(days)
    return out


def next_due(level: str, on: date, cadence: dict[str, int] | None = None) -> date | None:
    """When the next follow-up is due after contact on ``on`` at ``level`` (None when not watched)."""
    return rules.follow_up_due(level, on, cadence)


@dataclass
class Effects:
    """What recording one event does to a dossier: the service applies these in one transaction."""

    student: dict
    entries: list[tuple[str, dict]] = field(default_factory=list)  # (kind, fields)
    complete_task_kinds: tuple[str, ...] = ()
    new_tasks: list[dict] = field(default_factory=list)  # {"kind", "due", ...}
    cancel_task_kinds: tuple[str, ...] = ()
    open_watch: bool = False
    close_watch: bool = False
    # Kinds completed only when due by a date: a contact today does not settle
    # a return review scheduled a month ahead.
    complete_due_by: dict[str, date] = field(default_factory=dict)


def change_level(student: dict, to: str, reason: str, on: date, *, cadence: dict | None = None) -> Effects:
    """A counselor sets the watch level. Every change needs a reason."""
    if to not in LEVELS:
        raise InvalidInput(_("{level!r} is not a level").format(level=to), hint=_("use red, orange, yellow or none"))
    if not (reason or "").strip():
        raise UsageError(_("a level change needs --reason"), hint=_('say why, e.g. --reason "约谈评估确认"'))
    old = student.get("level") or "none"
    new_student = dict(student)
    effects = Effects(new_student)
    if old == to:
        return effects
    new_student.update(level=to, level_since=on.isoformat(), level_reason=reason)
    effects.entries.append(("level_change", {"from": old, "to": to, "reason": reason}))
    if old == "none":
        effects.open_watch = True
    if to == "none":
        effects.close_watch = True
        effects.cancel_task_kinds = ("follow_up",)
    else:
        effects.cancel_task_kinds = ("follow_up",)
        due = next_due(to, on, cadence)
        effects.new_tasks.append({"kind": "follow_up", "due": due, "level": to})
    return effects


def record_interview(student: dict, fields: dict, on: date, *, cadence: dict | None = None) -> Effects:
    """An interview (约谈) completes the open interview task; a confirmed level may change the watch."""
    fields = validate_entry("interview", fields)
    confirmed = fields.get("confirmed_level")
    if confirmed is not None and confirmed not in LEVELS:
        raise InvalidInput(_("--confirm {level!r} is not a level").format(level=confirmed))
    base = Effects(
        dict(student),
        entries=[("interview", fields)],
        complete_task_kinds=("interview", "follow_up", "review"),
        complete_due_by={"review": on + timedelta(days=REVIEW_WINDOW_DAYS)},
    )
    if confirmed is None:
        level = student.get("level") or "none"
        due = next_due(level, on, cadence)
        if due:
            base.cancel_task_kinds = ("follow_up",)
            base.new_tasks.append({"kind": "follow_up", "due": due, "level": level})
        return base
    reason = f"约谈确认 ({on.isoformat()})"
    changed = change_level(student, confirmed, reason, on, cadence=cadence)
    changed.entries = base.entries + changed.entries
    changed.complete_task_kinds = base.complete_task_kinds
    changed.complete_due_by = base.complete_due_by
    if confirmed == (student.get("level") or "none") and confirmed != "none":
        changed.cancel_task_kinds = ("follow_up",)
        changed.new_tasks.append({"kind": "follow_up", "due": next_due(confirmed, on, cadence), "level": confirmed})
    return changed


def take_case(effects: Effects, staff: str | None) -> Effects:
    """The staff member who interviewed a student without a counselor (负责咨询师) becomes it, so the tasks that follow are theirs."""
    if staff and not (effects.student.get("counselor") or "").strip():
        effects.student["counselor"] = staff
    return effects


def record_follow_up(student: dict, fields: dict, on: date, *, cadence: dict | None = None) -> Effects:
    fields = validate_entry("follow_up", fields)
    level = student.get("level") or "none"
    effects = Effects(
        dict(student),
        entries=[("follow_up", fields)],
        complete_task_kinds=("follow_up", "review"),
        complete_due_by={"review": on + timedelta(days=REVIEW_WINDOW_DAYS)},
    )
    due = next_due(level, on, cadence)
    if due:
        effects.cancel_task_kinds = ("follow_up",)
        effects.new_tasks.append({"kind": "follow_up", "due": due, "level": level})
    return effects


def close_watch(student: dict, reason: str, on: date) -> Effects:
    if (student.get("level") or "none") == "none":
        raise RefusedChange(_("{student_no} is not on the watch list; nothing to close").format(student_no=student.get("student_no")))
    effects = change_level(student, "none", reason, on)
    effects.entries.append(("close", {"reason": reason}))
    effects.cancel_task_kinds = ("follow_up", "interview", "review", "reminder")
    return effects


def reopen_watch(student: dict, level: str, reason: str, on: date, *, cadence: dict | None = None) -> Effects:
    if (student.get("level") or "none") != "none":
        raise RefusedChange(
            _("{student_no} is already watched at {level}; use `cases level` to change it").format(student_no=student.get("student_no"), level=student["level"])
        )
    effects = change_level(student, level, reason, on, cadence=cadence)
    effects.entries.insert(0, ("reopen", {"reason": reason, "level": level}))
    return effects


STATUS_TRANSITIONS = {
    "enrolled": ("leave", "withdrawn", "graduated"),
    "returned": ("leave", "withdrawn", "graduated"),
    "leave": ("returned", "withdrawn"),
    "withdrawn": (),
    "graduated": (),
}
# The words of `cases status ACTION` and the status each leads to.
STATUS_ACTIONS = {"leave": "leave", "return": "returned", "withdraw": "withdrawn", "graduate": "graduated"}
# Who a whole class's graduation applies to: those whose status may become graduated.
GRADUATING_STATUSES = tuple(status for status, following in STATUS_TRANSITIONS.items() if "graduated" in following)


def change_status(student: dict, to: str, fields: dict, on: date) -> Effects:
    """休学/复学/退学/毕业. A return without a certificate needs an explicit reason.

    A return does not lower the watch level: it schedules reviews ``rules.RETURN_REVIEW_DAYS`` later.
    """
    old = student.get("status") or "enrolled"
    if to not in STATUSES:
        raise UsageError(_("{status!r} is not a status").format(status=to), hint=_("one of {choices}").format(choices=", ".join(STATUSES)))
    if to not in STATUS_TRANSITIONS.get(old, ()):
        allowed = STATUS_TRANSITIONS.get(old, ())
        raise RefusedChange(
            _("a student who is {old} cannot become {new}").format(old=old, new=to),
            hint=_("valid next statuses: {statuses}").format(statuses=", ".join(allowed)) if allowed else _("valid next statuses: none (final)"),
        )
    if to == "returned" and not fields.get("certificate"):
        if not fields.get("without_certificate"):
            raise InvalidInput(
                _('a return to school needs --certificate "hospital, date, conclusion"'),
                hint=_('or pass --without-certificate --reason "…" to record why there is none'),
            )
    entry = validate_entry("status_change", {"from": old, "to": to, **fields})
    new_student = dict(student, status=to)
    effects = Effects(new_student, entries=[("status_change", entry)])
    if to == "returned":
        for days in RETURN_REVIEW_DAYS:
            effects.new_tasks.append({"kind": "review", "due": on + timedelta(days=days), "note": f"复学后 {days} 天评估"})
    if to in ("withdrawn", "graduated"):
        effects.cancel_task_kinds = ("follow_up", "interview", "review", "reminder")
        # A student who has left the school can no longer be followed up; the
        # watch ends with the status change, recorded under the same reason.
        if (student.get("level") or "none") != "none":
            ended = change_level(new_student, "none", f"{label('status', to)}: {fields.get('reason') or ''}".strip(), on)
            effects.student = ended.student
            effects.entries += ended.entries + [("close", {"reason": ended.student["level_reason"]})]
            effects.close_watch = True
    return effects


# -- the level history, replayed in date order (补录) -------------------------------------------
#
# A level is set by level-bearing entries: every ``level_change`` (its ``to``)
# and every interview that confirmed a level (a correction of an interview
# changes no level: the original's confirmation stands). Replayed by their
# effective dates, whatever order they were recorded in, they give the level,
# since when and why, every change (from → to) and the watch episodes. The
# ``level_change`` entries of a dossier are the record of those changes: when
# an entry recorded late (补录) makes one of them say the wrong ``from``, the
# use case writes a correction of it, never an edit.

# Entries whose meaning depends on the level at their date: a new entry dated
# before one of these is a late entry (补录).
LEVEL_DEPENDENT_KINDS = STATE_KINDS | {"level_change", "close", "reopen", "status_change"}


@dataclass(frozen=True)
class LevelStep:
    """One level-bearing entry: on ``date`` the level was set to ``to``."""

    entry_id: str
    kind: str  # level_change or interview
    date: str
    to: str
    reason: str


@dataclass
class LevelChange:
    """A change of level the replay finds: on ``date``, ``before`` → ``to``."""

    date: str
    before: str
    to: str
    reason: str
    carrier: str | None  # the level_change entry recording it; None when none does yet
    source: str  # the first entry of the run that set it


@dataclass
class Episode:
    """A watch episode (关注期): from the day a level was first set until the day it went back to none."""

    opened_on: str
    closed_on: str | None
    level: str  # the level it opened at
    reason: str


@dataclass
class LevelHistory:
    level: str = "none"
    since: str | None = None
    reason: str | None = None
    steps: int = 0  # how many level-bearing entries there are
    changes: list[LevelChange] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    # The ``from`` each effective level_change entry should say, by entry id
    # (its own ``to`` where the replay finds it changed nothing).
    froms: dict[str, str] = field(default_factory=dict)

    def at(self, day: str) -> tuple[str, str | None]:
        """(level, since) at the end of ``day`` (ISO)."""
        level, since = "none", None
        for change in self.changes:
            if change.date > day:
                break
            level, since = change.to, change.date
        return level, since


def changes_level(fields: dict) -> bool:
    """Whether a level_change entry's fields change the level (a correction may say it changed nothing)."""
    return (fields.get("from") or "none") != (fields.get("to") or "none")


def interview_reason(on: date | str) -> str:
    return f"约谈确认 ({on if isinstance(on, str) else on.isoformat()})"


def level_steps(entries: list[dict]) -> list[LevelStep]:
    """The level-bearing entries of a timeline in effective order.

    ``entries`` come in recorded order within a day (the store's order: date,
    then the order written; new entries appended last). A correction keeps the
    place of the entry it corrects, and a level_change written for an earlier
    entry (``for_entry``) the place of that entry, so the order is (date, the
    position of what it records, its own position).
    """
    by_id = {e.get("id"): e for e in entries}
    position = {e.get("id"): i for i, e in enumerate(entries)}
    gone = superseded_ids(entries)

    def anchor(e: dict) -> dict:
        seen = set()
        while e.get("corrects") in by_id and e["id"] not in seen:
            seen.add(e["id"])
            e = by_id[e["corrects"]]
        target = (e.get("fields") or {}).get("for_entry")
        return by_id.get(target, e)

    keyed = []
    for i, e in enumerate(entries):
        f = e.get("fields") or {}
        if e.get("kind") == "level_change" and e.get("id") not in gone and f.get("to") in LEVELS:
            root = anchor(e)
            step = LevelStep(e["id"], "level_change", root["date"], f["to"], f.get("reason") or "")
            keyed.append(((root["date"], position[root.get("id")], i), step))
        elif e.get("kind") == "interview" and not e.get("corrects") and f.get("confirmed_level") in LEVELS:
            step = LevelStep(e["id"], "interview", e["date"], f["confirmed_level"], interview_reason(e["date"]))
            keyed.append(((e["date"], i, i), step))
    keyed.sort(key=lambda k: k[0])
    return [step for _key, step in keyed]


def replay_levels(steps: list[LevelStep]) -> LevelHistory:
    """The level history the steps (in effective order) give.

    Consecutive steps of one day that set the same level are one change (an
    interview and the level_change it wrote); the first level_change among
    them records it, any other records no change.
    """
    history = LevelHistory(steps=len(steps))
    runs: list[list[LevelStep]] = []
    for step in steps:
        if runs and runs[-1][0].date == step.date and runs[-1][0].to == step.to:
            runs[-1].append(step)
        else:
            runs.append([step])
    level = "none"
    for run in runs:
        to, day = run[0].to, run[0].date
        carriers = [s for s in run if s.kind == "level_change"]
        if to == level:
            history.froms.update({s.entry_id: to for s in carriers})
            continue
        carrier = carriers[0] if carriers else None
        why = (carrier or run[0]).reason
        history.froms.update({s.entry_id: level if s is carrier else to for s in carriers})
        history.changes.append(LevelChange(day, level, to, why, carrier.entry_id if carrier else None, run[0].entry_id))
        if level == "none":
            history.episodes.append(Episode(day, None, to, why))
        elif to == "none" and history.episodes:
            history.episodes[-1].closed_on = day
        level = to
        history.level, history.since, history.reason = to, day, why
    return history


def level_history(entries: list[dict], *, until: date | None = None) -> LevelHistory:
    """The level history of a timeline (up to the end of ``until``)."""
    steps = level_steps(entries)
    if until is not None:
        steps = [s for s in steps if s.date <= until.isoformat()]
    return replay_levels(steps)


def is_late(entries: list[dict], on: date) -> bool:
    """Whether an entry dated ``on`` comes after the fact (补录): the timeline already holds a level-dependent entry dated later."""
    day = on.isoformat()
    gone = superseded_ids(entries)
    return any(e["kind"] in LEVEL_DEPENDENT_KINDS and e["date"] > day and e.get("id") not in gone for e in entries)


def as_of(student: dict, history: LevelHistory) -> dict:
    """The student as the history leaves them: the record an entry dated then is built on."""
    return dict(student, level=history.level, level_since=history.since, level_reason=history.reason)


@dataclass
class LevelRepair:
    """A level_change entry the history needs: a correction of a stored one, or one for a change nothing records yet."""

    date: str
    fields: dict
    corrects: str | None = None


def level_repairs(entries: list[dict], history: LevelHistory) -> list[LevelRepair]:
    """What makes the dossier's level_change entries say what the replay finds."""
    by_id = {e.get("id"): e for e in entries}
    repairs = []
    for entry_id, before in history.froms.items():
        e = by_id[entry_id]
        f = e.get("fields") or {}
        if (f.get("from") or "none") != before:
            repairs.append(LevelRepair(e["date"], {**f, "from": before}, corrects=entry_id))
    for change in history.changes:
        if change.carrier is None:
            fields = {"from": change.before, "to": change.to, "reason": change.reason, "for_entry": change.source}
            repairs.append(LevelRepair(change.date, fields))
    return repairs


@dataclass
class WatchRepair:
    """Make one stored watch episode (``watch``: None for a new one) match ``episode`` (None: remove it)."""

    watch: dict | None
    episode: Episode | None


def watch_repairs(watches: list[dict], episodes: list[Episode]) -> list[WatchRepair]:
    """The stored watch episodes (oldest first) matched in order with the replayed ones; what differs."""
    out = []
    for i in range(max(len(watches), len(episodes))):
        w = watches[i] if i < len(watches) else None
        ep = episodes[i] if i < len(episodes) else None
        if w is not None and ep is not None:
            if (w.get("opened_on"), w.get("closed_on"), w.get("level")) == (ep.opened_on, ep.closed_on, ep.level):
                continue
        out.append(WatchRepair(w, ep))
    return out


def late_effects(effects: Effects) -> Effects:
    """A late entry's effects on tasks and watches.

    The follow-up schedule belongs to the latest contact, which is after this
    entry: it is left alone (see :func:`rescheduled` when the current level
    changes), and the watch episodes come from the replayed history.
    """
    effects.complete_task_kinds = tuple(k for k in effects.complete_task_kinds if k != "follow_up")
    effects.cancel_task_kinds = ()
    effects.new_tasks = [t for t in effects.new_tasks if t["kind"] != "follow_up"]
    effects.open_watch = effects.close_watch = False
    return effects


def rescheduled(level: str, last_contact: date, cadence: dict | None = None) -> list[dict]:
    """The follow-up task for a current level changed by a late entry, due a cadence after the last contact."""
    due = next_due(level, last_contact, cadence)
    return [{"kind": "follow_up", "due": due, "level": level}] if due else []


def last_contact(entries: list[dict], fallback: date) -> date:
    """The latest contact (interview, follow-up, guardian contact, crisis) of a timeline, or ``fallback``."""
    gone = superseded_ids(entries)
    days = [e["date"] for e in entries if e["kind"] in STATE_KINDS and e.get("id") not in gone]
    return max([fallback, *(date.fromisoformat(d) for d in days)])


def late_change_text(before: LevelHistory, after: LevelHistory, on: date) -> str:
    """What recording a late entry dated ``on`` does to the current level, in a sentence."""
    return _("this entry dated {date} comes before later entries (补录); it changes the current level from {old} to {new}").format(
        date=on.isoformat(), old=_level_since(before.level, before.since), new=_level_since(after.level, after.since)
    )


def _level_since(level: str, since: str | None) -> str:
    """A level with its code and label, and since when: ``red 红色 since 2026-11-28``."""
    if since:
        return _("{code} {label} since {since}").format(code=level, label=label("level", level), since=since)
    return _("{code} {label}").format(code=level, label=label("level", level))


def history_text(after: LevelHistory, on: date) -> str:
    """The level history from ``on`` on, as a late entry leaves it: ``none → red on 11-28, red → yellow on 12-01; now yellow since 12-01``."""
    day = on.isoformat()
    steps = [_("{before} → {after} on {date}").format(before=c.before, after=c.to, date=c.date) for c in after.changes if c.date >= day]
    now = _("now {level} since {since}").format(level=after.level, since=after.since) if after.since else _("now {level}").format(level=after.level)
    if not steps:
        return _("late entry (补录) dated {date}: no change of level; {now}").format(date=day, now=now)
    changes = label_text("list_separator", i18n.current()).join(steps)
    return _("late entry (补录) dated {date}: {changes}; {now}").format(date=day, changes=changes, now=now)


# -- order of dates ---------------------------------------------------------------------------


def status_began(entry: dict) -> str:
    """The day a recorded status change took effect: a leave's first day, else its ``on``, else its date."""
    f = entry.get("fields") or {}
    return f.get("from_date") or f.get("on") or entry["date"]


def check_status_order(entries: list[dict], to: str, on: date, option: str) -> None:
    """A status change cannot be dated before the one it follows took effect (a 复学 before the 休学 began)."""
    gone = superseded_ids(entries)
    changes = [e for e in entries if e["kind"] == "status_change" and e.get("id") not in gone]
    if not changes:
        return
    last = max(changes, key=status_began)
    began = status_began(last)
    if on.isoformat() < began:
        prev = (last.get("fields") or {}).get("to")
        raise InvalidInput(
            _(
                "{option} {date}: the {previous_label} ({previous}) recorded for this student began on {began}; "
                "a change to {new_label} ({new}) cannot be dated before it"
            ).format(option=option, date=on.isoformat(), previous_label=label("status", prev), previous=prev, began=began, new_label=label("status", to), new=to),
            hint=_("pass {option} {began} or later").format(option=option, began=began),
        )


def check_follow_up_date(history: LevelHistory, on: date) -> None:
    """A follow-up (回访) cannot be dated before the student's watch began."""
    if not history.episodes:
        return
    began = history.episodes[0].opened_on
    if on.isoformat() < began:
        raise InvalidInput(
            _("--date {date}: the watch began on {began}; a follow-up cannot be dated before it").format(date=on.isoformat(), began=began),
            hint=_("pass --date {began} or later, or record what happened before the watch as a note").format(began=began),
        )


# -- the same crisis twice ----------------------------------------------------------------------

DUPLICATE_CRISIS_MINUTES = 10


def _minutes_apart(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    try:
        x, y = datetime.fromisoformat(a.replace(" ", "T")), datetime.fromisoformat(b.replace(" ", "T"))
    except ValueError:
        return None
    if (x.tzinfo is None) != (y.tzinfo is None):
        x, y = x.replace(tzinfo=None), y.replace(tzinfo=None)
    return abs((x - y).total_seconds()) / 60


def _similar(a: str, b: str) -> bool:
    a, b = "".join((a or "").split()), "".join((b or "").split())
    if not a or not b:
        return False
    return a in b or b in a or SequenceMatcher(None, a, b).ratio() >= 0.6


def similar_crises(entries: list[dict], fields: dict, now: str) -> list[dict]:
    """Crisis entries already in the timeline that look like this one: the same moment (or within minutes) and similar words.

    The moment is ``happened_at`` when both have one, else when each was
    recorded (``now`` for this one).
    """
    gone = superseded_ids(entries)
    out = []
    for e in entries:
        if e["kind"] != "crisis" or e.get("id") in gone:
            continue
        f = e.get("fields") or {}
        apart = _minutes_apart(f.get("happened_at"), fields.get("happened_at"))
        if apart is None:
            apart = _minutes_apart(e.get("recorded_at"), now)
        if apart is not None and apart <= DUPLICATE_CRISIS_MINUTES and _similar(f.get("what"), fields.get("what")):
            out.append(e)
    return out


def duplicate_crisis_warning(similar: list[dict]) -> str | None:
    if not similar:
        return None
    e = similar[-1]
    f = e.get("fields") or {}
    when = f.get("happened_at") or e["date"]
    return _(
        "this looks like the crisis already recorded as entry {entry} ({when}: {what!r}); it was recorded again. "
        "If it is the same event, correct that entry with --corrects {entry} instead"
    ).format(entry=e["id"][:8], when=when, what=f.get("what"))


# -- three clarities (三个明确) ---------------------------------------------------------------

BASIC_FIELDS = ("name", "gender", "college", "class_name", "phone", "advisor")


def three_clarities(student: dict, entries: list[dict], today: date, cadence: dict | None = None) -> list[str]:
    """What is missing for a watched student: basic information, current state, help measures.

    ``entries`` are the student's timeline entries (dicts with ``kind``, ``date``
    and ``fields``). Returns codes: ``basic:<field>``, ``basic:guardian``,
    ``state`` (no contact within the level's cadence), ``measure`` (no active help measure).
    """
    missing = [f"basic:{f}" for f in BASIC_FIELDS if not (student.get(f) or "").strip()]
    guardians = student.get("guardians") or []
    if not any((g.get("phone") or "").strip() for g in guardians):
        missing.append("basic:guardian")
    level = student.get("level") or "none"
    # A level without a cadence of its own gets the longest one.
    window = (cadence or DEFAULT_CADENCE).get(level, max(DEFAULT_CADENCE.values()))
    recent = [e for e in entries if e["kind"] in STATE_KINDS and date.fromisoformat(e["date"]) >= today - timedelta(days=window)]
    if not recent:
        missing.append("state")
    active = [
        e
        for e in entries
        if e["kind"] == "measure" and (not e["fields"].get("end") or date.fromisoformat(e["fields"]["end"]) >= today)
    ]
    if not active:
        missing.append("measure")
    return missing


def clarity_group(code: str) -> str:
    return "basic" if code.startswith("basic:") else code


# -- screening, corrections, reminders -------------------------------------------------------


def interview_task(proposed_level: str | None, on: date) -> dict | None:
    """The interview task a screening proposal opens (due after ``rules.INTERVIEW_DUE_DAYS``), or None."""
    due = rules.interview_due(proposed_level, on)
    if due is None:
        return None
    return {"kind": "interview", "due": due, "proposed_level": proposed_level}


def correction(student: dict, original: dict, fields: dict) -> Effects:
    """A correction: a new entry of the same kind pointing to the one it corrects.

    Entries are never edited in place, so the file stays traceable (有据可查).
    A correction changes no level and no task: those have their own commands.
    """
    kind = original["kind"]
    if kind not in ENTRY_FIELDS or kind in ("level_change", "status_change", "close", "reopen", "referral"):
        raise UsageError(
            _("a {entry_kind} entry cannot be corrected with another entry").format(entry_kind=label("entry", kind, i18n.current())),
            hint=_("level, status, closure and referral entries are corrected by recording the next change with a reason"),
        )
    fields = validate_entry(kind, fields)
    return Effects(dict(student), entries=[(kind, fields)])


def superseded_ids(entries: list[dict]) -> set[str]:
    """Ids of entries that a later entry corrects."""
    return {e["corrects"] for e in entries if e.get("corrects")}


def effective(entries: list[dict]) -> list[dict]:
    """The entries still in force: those no later entry corrects."""
    gone = superseded_ids(entries)
    return [e for e in entries if e.get("id") not in gone]


def reminder_task(due: date, note: str, *, today: date, assigned_to: str | None = None) -> dict:
    if not (note or "").strip():
        raise UsageError(_("a reminder needs --note"), hint=_('say what to do, e.g. --note "期末前再约谈一次"'))
    if due < today:
        raise InvalidInput(
            _("--due: {due} is in the past; a reminder is for later").format(due=due.isoformat()),
            hint=_("pass {today} or later").format(today=today.isoformat()),
        )
    task = {"kind": "reminder", "due": due, "note": note}
    if assigned_to:
        task["assigned_to"] = assigned_to
    return task


# -- tasks ------------------------------------------------------------------------------------


def next_due_of(tasks: list[dict]) -> date | None:
    """The earliest due date among open tasks (``due_on`` ISO strings)."""
    dues = [t["due_on"] for t in tasks if not t.get("done_on")]
    return date.fromisoformat(min(dues)) if dues else None


days_overdue = rules.days_overdue


# -- crises -----------------------------------------------------------------------------------


def crisis_warnings(fields: dict) -> list[str]:
    """What a crisis record lacks against the norm: parents told within ``rules.GUARDIAN_NOTICE_HOURS``."""
    from datetime import datetime

    happened = fields.get("happened_at")
    told = fields.get("parents_notified_at")
    if not told:
        return [_("parents (家长) not yet recorded as notified; the norm is within {hours} hours (--parents-notified-at)").format(hours=GUARDIAN_NOTICE_HOURS)]
    if happened:
        gap = datetime.fromisoformat(told) - datetime.fromisoformat(happened)
        if gap.total_seconds() < 0:
            raise InvalidInput(_("--parents-notified-at is before --happened-at"), hint=_("check both times"))
        if gap.total_seconds() > GUARDIAN_NOTICE_HOURS * 3600:
            hours = int(gap.total_seconds() // 3600)
            return [_("parents were notified {hours} hours after the event; the norm is within {norm} hours").format(hours=hours, norm=GUARDIAN_NOTICE_HOURS)]
    return []


# -- student records --------------------------------------------------------------------------


def parse_groups(values) -> list[str]:
    """Special-group codes from codes or labels (家庭经济困难 → hardship); ``none`` clears."""
    out: list[str] = []
    bad: list[str] = []
    for raw in values or []:
        for part in str(raw).replace("，", ",").split(","):
            text = part.strip()
            if not text:
                continue
            if text.lower() in ("none", "无"):
                continue
            code = code_from_label("group", text)
            if code is None:
                bad.append(text)
            elif code not in out:
                out.append(code)
    if bad:
        raise InvalidInput(
            _("--group: {values} is not one of the six special groups").format(values=", ".join(repr(b) for b in bad)),
            hint=_("use {groups} (or their Chinese names); put anything else in --tag").format(groups=", ".join(GROUPS)),
        )
    return out


def parse_guardian(text: str) -> dict:
    """``关系,姓名,电话`` (父亲,张三,13800000000) → {"relation", "name", "phone"}."""
    parts = [p.strip() for p in str(text).replace("，", ",").split(",")]
    if len(parts) != 3 or not parts[0] or not (parts[1] or parts[2]):
        raise InvalidInput(
            _("--guardian {value!r}: expected RELATION,NAME,PHONE").format(value=text),
            hint=_('e.g. --guardian "母亲,李某,13800000000"'),
        )
    relation, name, phone = parts
    if phone and not all(c.isdigit() or c in "+- " for c in phone):
        raise InvalidInput(_("--guardian {value!r}: {phone!r} is not a phone number").format(value=text, phone=phone))
    return {"relation": relation, "name": name, "phone": phone}


def parse_consent(text: str | None) -> str | None:
    if text in (None, ""):
        return None
    code = code_from_label("consent", text)
    if code is None:
        raise InvalidInput(
            _("--consent {value!r} is not one of signed, refused, not_needed").format(value=text),
            hint=_("知情同意书: signed 已签署, refused 拒绝签署, not_needed 无需签署"),
        )
    return code


def edit_student(student: dict, changes: dict) -> tuple[dict, list[str]]:
    """Apply header changes; return the new record and the names of the fields that changed.

    Level and status are not edited here: they change only through their own
    entries, with a reason.
    """
    forbidden = {"level", "level_since", "level_reason", "status", "student_no", "id"} & set(changes)
    if forbidden:
        raise UsageError(
            _("{fields} cannot be edited directly").format(fields=", ".join(sorted(forbidden))),
            hint=_("use `cases level` or `cases status`, which record why"),
        )
    record = dict(student)
    changed = []
    for key, value in changes.items():
        if value is None:
            continue
        if record.get(key) != value:
            record[key] = value
            changed.append(key)
    if "name" in changed and not (record.get("name") or "").strip():
        raise InvalidInput(_("--name cannot be empty"))
    return record, changed


def name_conflict(existing: dict, incoming_name: str | None) -> bool:
    """A stored student whose name differs from an incoming row's: reported, never overwritten."""
    return bool(incoming_name) and bool(existing.get("name")) and existing["name"] != incoming_name


# What `cases add` and `cases edit` change besides the roster fields.
HEADER_LISTS = ("groups", "tags", "guardians")


def header_changes(values: dict) -> dict:
    """A dossier header from what was given: text trimmed, groups by code or label, guardians as RELATION,NAME,PHONE.

    ``None`` means "not given" and changes nothing; a list holding ``none``
    clears that list.
    """
    unknown = set(values) - set(HEADER_FIELDS) - set(HEADER_LISTS)
    if unknown:
        raise UsageError(
            _("{fields} is not part of a dossier header").format(fields=", ".join(sorted(unknown))),
            hint=_("one of {choices}").format(choices=", ".join((*HEADER_FIELDS, *HEADER_LISTS))),
        )
    changes = {key: values[key].strip() for key in HEADER_FIELDS if values.get(key) is not None}
    if values.get("groups") is not None:
        changes["groups"] = parse_groups(values["groups"])
    if values.get("tags") is not None:
        changes["tags"] = [t.strip() for t in values["tags"] if t.strip() and t.strip().lower() != "none"]
    if values.get("guardians") is not None:
        changes["guardians"] = [
            g if isinstance(g, dict) else parse_guardian(g) for g in values["guardians"] if isinstance(g, dict) or g.strip().lower() != "none"
        ]
    return changes


def grade_year(grade) -> str:
    """The year of a grade as rosters write it: ``2022级``, ``２０２２``, ``2022``."""
    text = unicodedata.normalize("NFKC", str(grade or "")).replace(" ", "").strip()
    return text[:-1] if text.endswith("级") else text
