"""The referral lifecycle (转介), pure: plain data in, plain data out, no I/O.

A referral record is the sealed JSON of one ``referrals`` row. Every step
appends an item to ``record["history"]`` holding the fields it set, so the
record can be replayed to any past day (:func:`state_on`): a weekly report
asks "was this referral overdue during that week", not only "is it now".

Lifecycle::

    referred → attended → assessed → treatment_outpatient ⇄ hospitalized → closed
                                   ↘ closed
    declined   from referred, attended or assessed, only after a guardian
               contact with consent ``refused`` is on record (拒绝需监护人签字确认)
    cancelled  from referred or attended (a referral made in error, or
               superseded by another one)

Rules that make a referral need attention (:func:`alerts`):

* ``not_attended`` — still ``referred`` more than 7 days after the referred
  date (due by day 7, overdue from day 8, like every task in mhtool);
* ``review_due`` — an open referral past its next review date;
* ``guardian_not_informed`` — an urgent or emergency referral whose guardian
  has not been informed more than 24 hours after the referral.

Dates are ISO strings in records; datetimes are naive, in the store's zone.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta

from mhtool.errors import InvalidInput, RefusedChange, UsageError
from mhtool.i18n import N_, _
from mhtool.domain.labels import code_from_label, codes, label
from mhtool.domain import rules
from mhtool.domain.dates import moment_text
from mhtool.domain.vocabulary import CONSENT

STATUSES = ("referred", "attended", "assessed", "treatment_outpatient", "hospitalized", "closed", "declined", "cancelled")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "referred": ("attended", "declined", "cancelled"),
    "attended": ("assessed", "declined", "cancelled"),
    "assessed": ("treatment_outpatient", "hospitalized", "closed", "declined"),
    "treatment_outpatient": ("hospitalized", "closed"),
    "hospitalized": ("treatment_outpatient", "closed"),
    "closed": (),
    "declined": (),
    "cancelled": (),
}
TERMINAL = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)
OPEN = tuple(s for s in STATUSES if s not in TERMINAL)

URGENCIES = ("emergency", "urgent", "routine")
PRESSING = frozenset({"emergency", "urgent"})
ADVICE = ("continue_study", "outpatient", "leave", "hospitalize", "other")
HOSPITAL_LEVELS = codes("hospital_level")

# A field value that removes what was recorded (``--next-review none``).
CLEAR = "__clear__"

# Fields a step may set, in the order summaries and forms show them.
FIELDS = (
    "hospital_id",
    "hospital",
    "department",
    "referred_on",
    "referred_at",
    "urgency",
    "reason",
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
# What the hospital told the center about the student's health: never in
# aggregate reads (reports), and only for staff with the ``clinical`` permission.
DIAGNOSIS_FIELDS = ("diagnosis", "icd10", "advice", "advice_detail", "medication")
# Fields that make sense only once the referral has reached a given status.
_NEEDS_REACHED = {
    "visit_date": "attended",
    "diagnosis": "assessed",
    "icd10": "assessed",
    "advice": "assessed",
    "advice_detail": "assessed",
    "medication": "assessed",
}
_REQUIRED_FOR = {
    "attended": (("visit_date", "--visit-date"),),
    "assessed": (("advice", "--advice"),),
    "closed": (("outcome", "--outcome"),),
    "cancelled": (("outcome", "--outcome"),),
}

_ICD10 = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?")
_LEVEL_ALIASES = {
    "三级甲等": "3A", "三级乙等": "3B", "三级丙等": "3C",
    "二级甲等": "2A", "二级乙等": "2B", "二级丙等": "2C",
    "一级甲等": "1A", "一级乙等": "1B", "一级丙等": "1C",
    "未评级": "ungraded", "无": "ungraded",
}  # fmt: skip


# -- parsing what people type ------------------------------------------------------------------


def _fold(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _parse_code(domain: str, text: str | None, choices: tuple[str, ...], option: str) -> str:
    code = code_from_label(domain, _fold(text))
    if code not in choices:
        shown = ", ".join(f"{c} ({label(domain, c)})" for c in choices)
        raise UsageError(_("{option}: {value!r} is not one of {choices}").format(option=option, value=text, choices=shown))
    return code


def parse_status(text: str | None, option: str = "--status") -> str:
    return _parse_code("referral_status", text, STATUSES, option)


def parse_urgency(text: str | None, option: str = "--urgency") -> str:
    return _parse_code("urgency", text, URGENCIES, option)


def parse_advice(text: str | None, option: str = "--advice") -> str:
    return _parse_code("advice", text, ADVICE, option)


def parse_consent(text: str | None, option: str = "--consent") -> str:
    return _parse_code("consent", text, CONSENT, option)


def parse_hospital_level(text: str | None, option: str = "--level") -> str:
    folded = _fold(text)
    if folded in _LEVEL_ALIASES:
        return _LEVEL_ALIASES[folded]
    if folded.upper() in HOSPITAL_LEVELS:
        return folded.upper()
    return _parse_code("hospital_level", folded, HOSPITAL_LEVELS, option)


def parse_icd10(text: str | None, option: str = "--icd10") -> str | None:
    """``f32.1`` → ``F32.1``; empty → None. Only the shape is checked, not the code list."""
    folded = _fold(text).upper().replace(" ", "")
    if not folded:
        return None
    if not _ICD10.fullmatch(folded):
        raise InvalidInput(
            _("{option}: {value!r} is not an ICD-10 code").format(option=option, value=text),
            hint=_("a letter, two digits and an optional part after a dot, e.g. F32.1"),
        )
    return folded


def clean_text(text: str | None) -> str | None:
    """Free text as typed (``=``, ``[red]`` and all), trimmed; None when empty."""
    if text is None:
        return None
    stripped = text.strip()
    return stripped or None


# -- dates ---------------------------------------------------------------------------------------


def _d(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _dt(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59))


# -- the state machine -----------------------------------------------------------------------------


def valid_next(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def check_transition(current: str, to: str) -> None:
    """Refuse a move the lifecycle does not allow, naming the moves it does."""
    if to not in STATUSES:
        raise UsageError(
            _("--status: {status!r} is not a referral status").format(status=to), hint=_("one of {choices}").format(choices=", ".join(STATUSES))
        )
    allowed = valid_next(current)
    if to not in allowed:
        if allowed:
            nexts = ", ".join(f"{s} ({label('referral_status', s)})" for s in allowed)
            hint = _("valid next statuses: {statuses}").format(statuses=nexts)
        else:
            hint = _("valid next statuses: none: the referral is finished")
        raise RefusedChange(_("a referral that is {current} cannot become {to}").format(current=current, to=to), hint=hint)


def reached(record: dict) -> set[str]:
    """Every status the referral has been in, the current one included."""
    seen = {item["status"] for item in record.get("history") or [] if item.get("step") != "edit"}
    seen.add(record["status"])
    return seen


def new_referral(fields: dict, *, today: date, by: str, at: datetime) -> tuple[dict, dict]:
    """A referral in status ``referred``: the record and its first history item.

    ``fields`` holds hospital_id, hospital, referred_on (date), referred_at
    (datetime, optional), reason, urgency, and optionally department, escort,
    guardian_informed ({"at", "how", "by"}), consent, next_review, note.
    """
    fields = dict(fields)
    note = clean_text(fields.pop("note", None))
    reason = clean_text(fields.get("reason"))
    if not reason:
        raise UsageError(_("a referral needs --reason"), hint=_('say why, e.g. --reason "持续失眠伴消极想法，建议专科评估"'))
    if not fields.get("hospital_id"):
        raise UsageError(_("a referral needs --hospital"))
    referred_on = _d(fields.get("referred_on")) or today
    if referred_on > today:
        raise InvalidInput(
            _("--date: {day} is in the future").format(day=referred_on.isoformat()),
            hint=_("pass a date on or before {today}").format(today=today.isoformat()),
        )
    referred_at = _dt(fields.get("referred_at")) or (at if referred_on == at.date() else datetime.combine(referred_on, time()))
    urgency = fields.get("urgency") or "routine"
    if urgency not in URGENCIES:
        raise UsageError(_("{option} must be one of {choices}").format(option="--urgency", choices=", ".join(URGENCIES)))
    record = {
        "status": "referred",
        "hospital_id": fields["hospital_id"],
        "hospital": fields.get("hospital"),
        "department": clean_text(fields.get("department")),
        "referred_on": referred_on.isoformat(),
        "referred_at": referred_at.isoformat(timespec="minutes"),
        "urgency": urgency,
        "reason": reason,
        "escort": clean_text(fields.get("escort")),
        "guardian_informed": None,
        "consent": "pending",
        "visit_date": None,
        "diagnosis": None,
        "icd10": None,
        "advice": None,
        "advice_detail": None,
        "medication": None,
        "next_review": None,
        "outcome": None,
        "created_by": by,
        "created_at": at.isoformat(timespec="seconds"),
        "history": [],
    }
    extra = {k: fields[k] for k in ("guardian_informed", "consent", "next_review") if fields.get(k) is not None}
    _check_fields(record, extra, status="referred", on=referred_on, now=at)
    record.update(_normalised(extra))
    changes = {k: record[k] for k in FIELDS if record.get(k) is not None}
    item = _history_item("open", None, "referred", referred_on, by, at, changes, note)
    record["history"].append(item)
    return record, item


def update(
    record: dict,
    to: str | None,
    fields: dict,
    *,
    on: date | None,
    today: date,
    by: str,
    at: datetime,
    guardian_refusals: list[str | date] = (),
) -> tuple[dict, dict]:
    """Move a referral to ``to`` (or, with ``to=None``, only change fields); return (record, history item).

    ``on`` is the day the step happened (default: the visit date for
    ``attended``, else ``today``). ``guardian_refusals`` are the dates of the
    student's guardian contacts recorded with consent ``refused``; one on or
    after the referred date is what allows ``declined``.
    """
    fields = {k: v for k, v in fields.items() if v is not None}
    note = clean_text(fields.pop("note", None))
    current = record["status"]
    referred_on = _d(record["referred_on"])
    if to is not None and to != current:
        check_transition(current, to)
    elif to == current:
        to = None
    status = to or current
    visit = _d(fields.get("visit_date"))
    if visit is not None and visit < referred_on:
        raise InvalidInput(
            _("--visit-date: {visit} is before the referral date {referred_on}").format(visit=visit.isoformat(), referred_on=referred_on.isoformat()),
            hint=_("a student cannot attend a referral before being referred"),
        )
    if on is None:
        on = visit if to == "attended" and visit is not None else today
    if to == "attended":
        fields.setdefault("visit_date", on)
    if on > today:
        raise InvalidInput(
            _("--date: {day} is in the future").format(day=on.isoformat()),
            hint=_("pass a date on or before {today}").format(today=today.isoformat()),
        )
    if on < referred_on:
        raise InvalidInput(
            _("--date: {day} is before the referral date {referred_on}").format(day=on.isoformat(), referred_on=referred_on.isoformat()),
            hint=_("a step of a referral cannot happen before the referral itself"),
        )
    if to is not None:
        last = last_transition_on(record)
        if last and on < last:
            raise InvalidInput(
                _("--date: {day} is before the previous step ({previous})").format(day=on.isoformat(), previous=last.isoformat()),
                hint=_("steps are recorded in the order they happened; check the date"),
            )
    if to is None and not fields and not note:
        raise UsageError(_("nothing to change"), hint=_("pass --status and/or the fields to record (see `mhtool referral update --help`)"))

    seen = reached(record) | {status}
    for name in fields:
        needed = _NEEDS_REACHED.get(name)
        if needed and needed not in seen:
            raise InvalidInput(
                _("{option} can only be recorded once the referral is {status}").format(option="--" + name.replace("_", "-"), status=needed),
                hint=_("the referral is {current}; pass --status {status} with it if that step has happened").format(current=current, status=needed),
            )
    if "outcome" in fields and status not in TERMINAL:
        raise InvalidInput(_("--outcome is recorded when the referral ends"), hint=_("pass it with --status closed, declined or cancelled"))
    if "hospital_id" in fields and status != "referred":
        raise InvalidInput(
            _("the hospital can only be changed while the referral is still referred"), hint=_("cancel it and make a new referral instead")
        )
    if "next_review" in fields and status in TERMINAL:
        raise InvalidInput(_("a {status} referral has no next review").format(status=status))
    _check_fields(record, fields, status=status, on=on, now=at)
    merged = {**record, **_normalised(fields), "status": status}
    for name, option in _REQUIRED_FOR.get(to or "", ()):
        if merged.get(name) in (None, ""):
            hint = _REQUIRED_HINTS.get(option)
            raise UsageError(
                _("--status {status} needs {option}").format(status=to, option=option),
                hint=_(hint).format(choices=", ".join(ADVICE)) if hint else None,
            )
    if merged.get("advice") == "other" and not merged.get("advice_detail"):
        raise UsageError(_("--advice other needs --advice-detail saying what the hospital advised"))
    if to == "declined":
        refusals = sorted(d for d in (_d(x) for x in guardian_refusals) if d >= referred_on)
        if not refusals:
            raise InvalidInput(
                _("a referral is declined only after the guardian's refusal is on record"),
                hint=_("record the guardian contact first: mhtool cases guardian STUDENT --consent refused …"),
            )
        merged["consent"] = "refused"
        fields["consent"] = "refused"
    changes = {k: merged[k] for k in FIELDS if k in fields or (k == "consent" and to == "declined")}
    step = "edit" if to is None else "transition"
    item = _history_item(step, current, status, on, by, at, changes, note)
    merged["history"] = [*record.get("history", []), item]
    return merged, item


# Hints for a missing field; ``{choices}`` is filled in with the advice codes.
_REQUIRED_HINTS = {
    "--visit-date": N_("the day the student saw the doctor"),
    "--advice": N_("one of {choices}"),
    "--outcome": N_('say how it ended, e.g. --outcome "门诊规律治疗，症状缓解，恢复正常学习"'),
}


def _check_fields(record: dict, fields: dict, *, status: str, on: date, now: datetime) -> None:
    referred_on = _d(record["referred_on"])
    visit = _d(fields.get("visit_date"))
    if visit is not None:
        if visit < referred_on:
            raise InvalidInput(
                _("--visit-date: {visit} is before the referral date {referred_on}").format(visit=visit.isoformat(), referred_on=referred_on.isoformat()),
                hint=_("a student cannot attend a referral before being referred"),
            )
        if visit > now.date():
            raise InvalidInput(
                _("--visit-date: {visit} is in the future").format(visit=visit.isoformat()), hint=_("record the visit once it has happened")
            )
    review = None if fields.get("next_review") == CLEAR else _d(fields.get("next_review"))
    if review is not None and review < on:
        raise InvalidInput(
            _("--next-review: {review} is before {day}").format(review=review.isoformat(), day=on.isoformat()),
            hint=_("the next review is a date still to come"),
        )
    informed = fields.get("guardian_informed")
    if informed is not None:
        at = _dt(informed.get("at"))
        if at is None:
            raise UsageError(_('--guardian-informed needs a date (and time, e.g. "2026-11-23 14:30")'))
        if at > now:
            raise InvalidInput(_("--guardian-informed: {moment} is in the future").format(moment=at.isoformat(sep=" ", timespec="minutes")))
    for name, choices in (("urgency", URGENCIES), ("advice", ADVICE), ("consent", CONSENT)):
        if name in fields and fields[name] not in choices:
            raise UsageError(_("{option} must be one of {choices}").format(option="--" + name, choices=", ".join(choices)))
    if "medication" in fields and not isinstance(fields["medication"], bool):
        raise UsageError(_("--medication is yes or no"))
    for name in ("reason", "outcome", "diagnosis", "advice_detail", "escort", "department"):
        if name in fields and not clean_text(fields[name]):
            raise UsageError(_("{option} cannot be empty").format(option="--" + name.replace("_", "-")))


def _normalised(fields: dict) -> dict:
    out = {}
    for name, value in fields.items():
        if value == CLEAR:
            value = None
        elif isinstance(value, datetime):
            value = value.isoformat(timespec="minutes")
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, str):
            value = clean_text(value)
        elif name == "guardian_informed" and isinstance(value, dict):
            at = _dt(value.get("at"))
            value = {
                "at": at.isoformat(timespec="minutes") if at else None,
                "how": clean_text(value.get("how")),
                "by": clean_text(value.get("by")),
            }
        out[name] = value
    return out


def _history_item(step: str, frm: str | None, to: str, on: date, by: str, at: datetime, changes: dict, note: str | None) -> dict:
    item = {
        "step": step,
        "from": frm,
        "status": to,
        "on": on.isoformat(),
        "by": by,
        "at": at.isoformat(timespec="seconds"),
        "changes": changes,
    }
    if note:
        item["note"] = note
    return item


def last_transition_on(record: dict) -> date | None:
    days = [_d(i["on"]) for i in record.get("history") or [] if i.get("step") != "edit"]
    return max(days) if days else None


# -- replay ------------------------------------------------------------------------------------


def state_on(record: dict, day: date) -> dict | None:
    """The referral as it stood at the end of ``day`` (None before it was made)."""
    history = sorted(enumerate(record.get("history") or []), key=lambda p: (p[1]["on"], p[0]))
    state: dict | None = None
    for _index, item in history:
        if _d(item["on"]) > day:
            break
        if state is None:
            state = {"status": "referred"}
        state.update(item.get("changes") or {})
        if item.get("step") != "edit":
            state["status"] = item["status"]
    return state


# -- attention rules -------------------------------------------------------------------------------


def attendance_due(record: dict) -> date:
    return rules.referral_attend_by(_d(record["referred_on"]))


def attendance_overdue(record: dict, today: date) -> bool:
    return record.get("status") == "referred" and today > attendance_due(record)


def review_overdue(record: dict, today: date) -> bool:
    review = _d(record.get("next_review"))
    return record.get("status") not in TERMINAL and review is not None and today > review


def guardian_deadline(record: dict) -> datetime:
    return rules.guardian_notice_by(_dt(record["referred_at"]))


def guardian_flag(record: dict, now: datetime) -> bool:
    """An urgent or emergency referral whose guardian was still not informed 24 hours on."""
    if record.get("urgency") not in PRESSING or record.get("status") in TERMINAL:
        return False
    informed = record.get("guardian_informed") or {}
    if informed.get("at"):
        return False
    return now > guardian_deadline(record)


def alerts(record: dict, today: date, now: datetime | None = None) -> list[str]:
    """What needs attention now, as codes (labels in the ``referral_alert`` domain)."""
    now = now or end_of_day(today)
    found = []
    if attendance_overdue(record, today):
        found.append("not_attended")
    if review_overdue(record, today):
        found.append("review_due")
    if guardian_flag(record, now):
        found.append("guardian_not_informed")
    return found


def alerts_between(record: dict, start: date, end: date, now: datetime) -> list[str]:
    """Every alert the referral raised on some day from ``start`` to ``end`` (never later than ``now``).

    The referral is replayed: between two recorded steps its state is fixed,
    and each alert only switches on as days pass, so checking the last moment
    of each stretch is enough. Steps are known by day only, so a step on the
    first day of the period is taken to happen during it: what was pending at
    the end of the day before still counts at the period's first moment.
    """
    end = min(end, now.date())
    first = _d(record["referred_on"])
    found: list[str] = []
    if start > first and start <= end:
        before = state_on(record, start - timedelta(days=1))
        if before is not None:
            found.extend(alerts(before, start, datetime.combine(start, time())))
    start = max(start, first)
    if start > end:
        return found
    cuts = sorted({_d(i["on"]) for i in record.get("history") or [] if start < _d(i["on"]) <= end})
    stretches = []
    begin = start
    for cut in cuts:
        stretches.append((begin, cut - timedelta(days=1)))
        begin = cut
    stretches.append((begin, end))
    for a, b in stretches:
        state = state_on(record, a)
        if state is None:
            continue
        moment = min(end_of_day(b), now)
        for code in alerts(state, b, moment):
            if code not in found:
                found.append(code)
    return found


# -- words -----------------------------------------------------------------------------------------


def field_text(name: str, value, lang: str = "zh") -> str:
    """One field's value as a person reads it."""
    if value is None or value == "":
        return ""
    if name == "urgency":
        return label("urgency", value, lang)
    if name == "advice":
        return label("advice", value, lang)
    if name == "consent":
        return label("consent", value, lang)
    if name == "status":
        return label("referral_status", value, lang)
    if name == "medication":
        return label("answer", "yes" if value else "no", lang)
    if name == "guardian_informed" and isinstance(value, dict):
        parts = [p for p in (moment_text(value.get("at")), value.get("how"), value.get("by")) if p]
        return label("referral_text", "comma", lang).join(parts)
    if name == "referred_at":
        return moment_text(value)
    return str(value)


def summary(item: dict, lang: str = "zh") -> str:
    """What one step recorded, in one line for the dossier timeline."""
    sep, colon = label("referral_text", "separator", lang), label("referral_text", "colon", lang)
    parts = []
    if item.get("step") == "open":
        parts.append(f"{label('referral_status', 'referred', lang)}")
    elif item.get("step") == "transition":
        parts.append(f"{label('referral_status', item['from'], lang)} → {label('referral_status', item['status'], lang)}")
    else:
        parts.append(label("referral_text", "updated", lang))
    changes = item.get("changes") or {}
    for name in FIELDS:
        if name in ("hospital_id", "referred_at") or name not in changes:
            continue
        if name == "icd10" and "diagnosis" in changes:
            continue
        text = field_text(name, changes[name], lang) or label("referral_text", "cleared", lang)
        if name == "diagnosis" and changes.get("icd10"):
            text = f"{text} ({changes['icd10']})"
        parts.append(f"{label('referral_field', name, lang)}{colon}{text}")
    if item.get("note"):
        parts.append(f"{label('referral_field', 'note', lang)}{colon}{item['note']}")
    return sep.join(parts)
