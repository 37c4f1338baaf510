"""From the values a counselor gives to what recording an event does, pure.

The values arrive as typed (flags, form answers or Python arguments; ``None``
where nothing was said). Each function checks them, reads dates relative to
``today``, and returns the :class:`~mhtool.cases.domain.model.Effects` to
write. For a correction, ``base`` holds the corrected entry's fields and the
function returns the new entry's fields instead: a correction restates only
what changes, the rest comes from the entry it corrects.
"""

from __future__ import annotations

from datetime import date, datetime

from mhtool.cases.domain import model
from mhtool.cases.domain.model import Effects, required
from mhtool.domain import dates
from mhtool.domain.labels import code_from_label, label
from mhtool.domain.vocabulary import CRISIS_RISKS, CRISIS_TYPES, PARENT_WORDS
from mhtool.errors import InvalidInput, UsageError
from mhtool.i18n import _

# The fields each correctable kind takes from the values given (and, in a correction, from the corrected entry).
INTERVIEW_FORM = ("findings", "confirmed_level", "mode", "duration", "risk", "next_step")
MEASURE_FORM = ("measure_kind", "description", "responsible", "start", "end")
GUARDIAN_FORM = ("guardian", "content", "channel", "consent")
FOLLOW_UP_FORM = ("content", "mode")


def _merge(base: dict | None, given: dict, keys: tuple[str, ...]) -> dict:
    base = base or {}
    return {k: given[k] if given.get(k) not in (None, "") else base.get(k) for k in keys}


def day(value: date | str | None, *, today: date, option: str = "--date", past: bool = True) -> date:
    """The day of an event: ``today`` when none is given; a past event cannot be in the future."""
    if value in (None, ""):
        return today
    if isinstance(value, datetime):
        value = value.date()
    text = value.isoformat() if isinstance(value, date) else value
    return dates.parse_date(text, today=today, option=option, allow_future=not past)


def moment(value: datetime | str | None, *, today: date, option: str) -> str | None:
    """A past date-time (``2026-11-23 14:30``) as text, or None."""
    if not value:
        return None
    at = value if isinstance(value, datetime) else dates.parse_datetime(value, today=today, option=option)
    if at.date() > today:
        raise InvalidInput(
            _("{option}: {moment} is in the future, but this records something that already happened").format(option=option, moment=f"{at:%Y-%m-%d %H:%M}")
        )
    return at.isoformat(sep=" ", timespec="minutes")


# -- the timeline's entries -------------------------------------------------------------------


def interview(student: dict, given: dict, on: date, *, cadence: dict | None = None, base: dict | None = None, interviewer: str | None = None) -> Effects | dict:
    """An interview (约谈); a confirmed level (``confirmed_level``, code or label) may change the watch.

    ``interviewer``, the staff member who held it, becomes the student's
    counselor (负责咨询师) when there is none.
    """
    fields = _merge(base, given, INTERVIEW_FORM)
    required(fields["findings"], "--findings")
    if given.get("confirmed_level") not in (None, ""):
        fields["confirmed_level"] = model.parse_level(given["confirmed_level"], option="--confirm")
    if base is not None:
        return model.validate_entry("interview", fields)
    return model.take_case(model.record_interview(student, fields, on, cadence=cadence), interviewer)


def level_change(student: dict, to: str | None, reason: str | None, on: date, *, cadence: dict | None = None) -> Effects:
    """A new watch level, which must differ from the current one and needs a reason."""
    code = model.parse_level(required(to, "LEVEL"), option="LEVEL")
    why = required(reason, "--reason")
    if code == (student.get("level") or "none"):
        raise UsageError(_("{student_no} is already at {level}; nothing to change").format(student_no=student["student_no"], level=code))
    return model.change_level(student, code, why, on, cadence=cadence)


def note(student: dict, text: str | None, *, base: dict | None = None) -> Effects | dict:
    """A note (记录), kept exactly as typed."""
    fields = model.validate_entry("note", {"text": required(_merge(base, {"text": text}, ("text",))["text"], "--text")})
    return fields if base is not None else Effects(dict(student), entries=[("note", fields)])


def measure(student: dict, given: dict, on: date, *, today: date, base: dict | None = None) -> Effects | dict:
    """A help measure (帮扶举措) from ``start`` (default: the day recorded) to ``end`` (both may be ahead)."""
    merged = _merge(base, given, MEASURE_FORM)
    first = day(merged["start"], today=today, option="--start", past=False) if merged["start"] else on
    last = day(merged["end"], today=today, option="--end", past=False) if merged["end"] else None
    if last and last < first:
        raise InvalidInput(_("--end {end} is before the start {start}").format(end=last.isoformat(), start=first.isoformat()))
    fields = model.validate_entry(
        "measure",
        {
            "measure_kind": required(merged["measure_kind"], "--kind"),
            "description": required(merged["description"], "--description"),
            "responsible": merged["responsible"],
            "start": first.isoformat(),
            "end": last.isoformat() if last else None,
        },
    )
    return fields if base is not None else Effects(dict(student), entries=[("measure", fields)])


def guardian_contact(student: dict, given: dict, *, base: dict | None = None) -> Effects | dict:
    """A guardian contact (家校沟通) with the consent form's state (code or label)."""
    merged = _merge(base, given, GUARDIAN_FORM)
    fields = model.validate_entry(
        "guardian_contact",
        {
            "guardian": required(merged["guardian"], "--who"),
            "content": required(merged["content"], "--content"),
            "channel": merged["channel"],
            "consent": model.parse_consent(merged["consent"]),
        },
    )
    return fields if base is not None else Effects(dict(student), entries=[("guardian_contact", fields)])


def _coded(value: str | None, domain: str, codes: tuple[str, ...], option: str) -> str | None:
    """A code of ``domain`` from its code or either label (自伤行为, self_harm); None when not given."""
    if value in (None, ""):
        return None
    code = code_from_label(domain, str(value))
    if code not in codes:
        choices = ", ".join(f"{c} {label(domain, c, 'zh')}" for c in codes)
        # A wrong flag value, not bad data: exit 2, like any other usage mistake.
        raise UsageError(_("{option} {value!r} is not one of {choices}").format(option=option, value=value, choices=", ".join(codes)), hint=f"{option}: {choices}")
    return code


def is_parent(who: str | None) -> bool:
    """Whether a "who was notified" names the parents or a guardian (家长, 母亲, 监护人 …)."""
    folded = (who or "").strip().lower()
    return any(word in folded for word in PARENT_WORDS)


def parents_notified_at(fields: dict) -> str | None:
    """家长知悉时间 of a crisis record: the time recorded for it, else the first notice to a parent in ``notified``.

    A counselor who types ``--notified "家长@2026-11-15 23:40"`` has recorded when
    the parents were told; the record must not then read as if they were not.
    """
    if fields.get("parents_notified_at"):
        return fields["parents_notified_at"]
    told = [str(n["at"]) for n in fields.get("notified") or () if isinstance(n, dict) and n.get("at") and is_parent(n.get("who"))]
    # Recorded moments are ISO text; "T" and " " separators sort alike once folded.
    return min(told, key=lambda at: at.replace("T", " ")) if told else None


def crisis_day(on: date | str | None, happened_at: datetime | str | None) -> date | str | None:
    """The day a crisis is filed under: the one given, else the day it happened."""
    if on not in (None, "") or not happened_at:
        return on
    if isinstance(happened_at, datetime):
        return happened_at.date()
    return happened_at.strip().split(" ")[0].split("T")[0]


def crisis(
    student: dict,
    given: dict,
    on: date,
    *,
    today: date,
    cadence: dict | None = None,
    level: str | None = None,
    reason: str | None = None,
    base: dict | None = None,
) -> tuple[Effects | dict, list[str]]:
    """A crisis event (危机事件), and what it lacks against the norm (parents told in time).

    ``notified`` lists others told, as ``WHO@WHEN`` or ``{"who", "at"}``;
    ``level`` also sets the watch level (the reason defaults to the crisis).
    ``event_type`` (事件类型) and ``risk`` (风险等级) are codes or labels of
    :data:`~mhtool.domain.vocabulary.CRISIS_TYPES` / ``CRISIS_RISKS``;
    ``reported_to``, ``reported_at`` and ``reported_how`` record the report
    upward (to whom, when, how).
    """
    correcting = base is not None
    base = base or {}
    when = moment(given.get("happened_at"), today=today, option="--happened-at") or base.get("happened_at")
    told = moment(given.get("parents_notified_at"), today=today, option="--parents-notified-at") or base.get("parents_notified_at")
    notified = list(given.get("notified") or [])
    others = [] if notified else list(base.get("notified") or [])
    for n in notified:
        if isinstance(n, dict):
            who, sep, at = n.get("who") or "", "@", n.get("at")
        else:
            who, sep, at = n.partition("@")
        if not sep or not who.strip():
            raise InvalidInput(_("--notified {value!r}: expected WHO@WHEN").format(value=n), hint=_('e.g. --notified "学院书记@2026-11-23 22:30"'))
        others.append({"who": who.strip(), "at": moment(at.strip() if isinstance(at, str) else at, today=today, option="--notified")})
    reported_at = moment(given.get("reported_at"), today=today, option="--reported-at") or base.get("reported_at")
    if reported_at and when and reported_at.replace("T", " ") < when.replace("T", " "):
        raise UsageError(
            _("--reported-at {reported_at} is before the event ({happened_at})").format(reported_at=reported_at, happened_at=when),
            hint=_("check --reported-at and --happened-at"),
        )
    fields = model.validate_entry(
        "crisis",
        {
            "what": required(given.get("what") or base.get("what"), "--what"),
            "event_type": _coded(given.get("event_type"), "crisis_type", CRISIS_TYPES, "--type") or base.get("event_type"),
            "risk": _coded(given.get("risk"), "crisis_risk", CRISIS_RISKS, "--risk") or base.get("risk"),
            "where": given.get("where") or base.get("where"),
            "happened_at": when,
            "actions": given.get("actions") or base.get("actions"),
            "parents_notified_at": told,
            "notified": others,
            "reported_to": (given.get("reported_to") or "").strip() or base.get("reported_to"),
            "reported_at": reported_at,
            "reported_how": (given.get("reported_how") or "").strip() or base.get("reported_how"),
        },
    )
    # Parents told through --notified count: the warning must agree with what the report will say.
    warnings = model.crisis_warnings({**fields, "parents_notified_at": parents_notified_at(fields)})
    if correcting:
        return fields, warnings
    effects = Effects(dict(student), entries=[("crisis", fields)])
    if level:
        changed = model.change_level(student, model.parse_level(level), reason or f"危机事件：{fields['what']}", on, cadence=cadence)
        changed.entries = effects.entries + changed.entries
        effects = changed
    return effects, warnings


def follow_up(student: dict, given: dict, on: date, *, cadence: dict | None = None, base: dict | None = None) -> Effects | dict:
    """A follow-up (回访): completes the due one and schedules the next from the level's cadence."""
    merged = _merge(base, given, FOLLOW_UP_FORM)
    fields = {"content": required(merged["content"], "--content"), "mode": merged["mode"]}
    if base is not None:
        return model.validate_entry("follow_up", fields)
    return model.record_follow_up(student, fields, on, cadence=cadence)


def close(student: dict, reason: str | None, on: date) -> Effects:
    """The end of a watch (结案), with its reason."""
    return model.close_watch(student, required(reason, "--reason"), on)


def reopen(student: dict, level: str | None, reason: str | None, on: date, *, cadence: dict | None = None) -> Effects:
    """A watch opened again (重新关注) at a watch level, with its reason."""
    code = model.parse_level(required(level, "--level"))
    if code == "none":
        raise InvalidInput(_("--level none does not reopen a watch"), hint=_("use red, orange or yellow"))
    return model.reopen_watch(student, code, required(reason, "--reason"), on, cadence=cadence)


# -- status -----------------------------------------------------------------------------------


def status_action(
    action: str | None,
    *,
    from_: date | str | None = None,
    until: date | str | None = None,
    on: date | str | None = None,
    certificate: str | None = None,
    assessed_by: str | None = None,
    without_certificate: bool = False,
) -> tuple[str, date | str | None, str]:
    """Check which options go with ``action``; return the action, its day as given, and the option that gives it."""
    act = required(action, "ACTION")
    if act not in model.STATUS_ACTIONS:
        raise UsageError(_("ACTION {action!r} is not one of {choices}").format(action=act, choices=", ".join(model.STATUS_ACTIONS)))
    if act == "leave" and on:
        raise UsageError(_("a leave starts --from a date; --on is for return, withdraw and graduate"))
    if act != "leave" and (from_ or until):
        raise UsageError(_("--from/--until describe a leave, not a {action}").format(action=act))
    if act != "return" and (certificate or assessed_by or without_certificate):
        raise UsageError(_("--certificate, --assessed-by and --without-certificate belong to a return"))
    if without_certificate and certificate:
        raise UsageError(_("pass either --certificate or --without-certificate, not both"))
    return (act, from_, "--from") if act == "leave" else (act, on, "--on")


def status_change(
    student: dict,
    action: str,
    on: date,
    *,
    today: date,
    reason: str | None = None,
    until: date | str | None = None,
    certificate: str | None = None,
    assessed_by: str | None = None,
    without_certificate: bool = False,
    documents=(),
) -> Effects:
    """休学 leave, 复学 return, 退学 withdraw, 毕业 graduate, on ``on``; a leave or withdrawal (or a return without certificate) needs a reason."""
    why = reason
    if action in ("leave", "withdraw") or without_certificate:
        why = required(reason, "--reason")
    elif not why:
        why = "复学（凭诊断证明）" if action == "return" else "毕业"
    fields = {"reason": why, "documents": [d for d in documents or () if d.strip()]}
    if action == "leave":
        fields["from_date"] = on.isoformat()
        if until:
            last = day(until, today=today, option="--until", past=False)
            if last < on:
                raise InvalidInput(_("--until {until} is before --from {start}").format(until=last.isoformat(), start=on.isoformat()))
            fields["until"] = last.isoformat()
    else:
        fields["on"] = on.isoformat()
    if action == "return":
        fields["certificate"] = certificate
        fields["assessed_by"] = assessed_by
        fields["without_certificate"] = without_certificate or None
    return model.change_status(student, model.STATUS_ACTIONS[action], fields, on)
