"""What a reader sees of a dossier, pure: timeline items, list rows, one-line summaries, the export workbook.

The reader's role arrives as a flag (``clinical``): clerks see dossier
headers, measures and tasks, and that clinical entries exist, but not their
content; of 多源预警 signals a clerk's dossier shows nothing at all (no line,
no 研判 task), since a clerk may count signals but never learn who has one. Text for people comes from :mod:`mhtool.domain.labels`; what a
counselor typed stays as typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from mhtool.cases.domain import model
from mhtool.domain.dates import moment_text
from mhtool.domain.labels import codes, label, pick, staff_name, text
from mhtool.domain.sensitivity import DOCUMENT_WITHHELD_KINDS, ENTRY_PUBLIC_FIELDS, STUDENT_CLINICAL_FIELDS
from mhtool.domain.vocabulary import LEVELS, ROSTER_FIELDS
from mhtool.i18n import N_, _, current, ngettext

_INTERNAL = ("student_no_bi",)



def public_student(record: dict, *, clinical: bool) -> dict:
    out = {k: v for k, v in record.items() if k not in _INTERNAL}
    out.setdefault("level", "none")
    out.setdefault("status", "enrolled")
    if not clinical:
        for key in STUDENT_CLINICAL_FIELDS:
            out.pop(key, None)
    return out


def erased_view(student_no: str, mark: dict, tz: str) -> dict:
    """An erased student's dossier as ``cases show`` gives it: the placeholder's record of the erasure, nothing personal.

    ``on`` is the day of the erasure in the store's time zone ``tz``.
    """
    from zoneinfo import ZoneInfo

    try:
        on = datetime.fromisoformat(str(mark.get("at"))).astimezone(ZoneInfo(tz)).date().isoformat()
    except ValueError:
        on = str(mark.get("at") or "")[:10] or None
    return {
        "student_no": student_no,
        "erased": {
            "on": on,
            "at": mark.get("at"),
            "by": mark.get("by"),
            "basis": mark.get("basis"),
            "reason": mark.get("reason"),
            "pseudonym": mark.get("pseudonym"),
            "dossier_opened_on": mark.get("dossier_opened_on"),
            "left_status": mark.get("left_status"),
            "left_on": mark.get("left_on"),
        },
    }


def erased_text(view: dict, lang: str = "zh") -> str:
    """The sentence ``cases show`` prints for an erased dossier: when, by whom, on what basis, why."""
    e = view["erased"]
    return text(
        "dossier_erased", lang, no=view["student_no"], on=e.get("on") or "?", by=e.get("by") or "?",
        basis=label("erase_basis", e.get("basis"), lang), reason=e.get("reason") or "", pseudonym=e.get("pseudonym") or "",
    )


# -- timeline ---------------------------------------------------------------------------------


def entry_item(entry: dict, *, clinical: bool, corrected_by: str | None = None) -> dict:
    restricted = entry["kind"] in model.CLINICAL_KINDS and not clinical
    fields = None if restricted else dict(entry.get("fields") or {})
    if fields is not None and entry["kind"] == "status_change" and not clinical:
        fields = {k: v for k, v in fields.items() if k in ENTRY_PUBLIC_FIELDS["status_change"]}
    if restricted and entry["kind"] in DOCUMENT_WITHHELD_KINDS:
        # That a session or conference took place, when and with whom, is what a clerk may know of it.
        fields = withheld_fields(entry)
    return {
        "id": entry["id"],
        "kind": entry["kind"],
        "date": entry["date"],
        "author": entry.get("author"),
        "recorded_at": entry.get("recorded_at"),
        "fields": fields,
        "restricted": restricted,
        "corrects": entry.get("corrects"),
        "corrected_by": corrected_by,
    }


def withheld_fields(item: dict) -> dict:
    """The administrative fields of a session or conference: all a reader without the clinical key, or a document, shows."""
    public = ENTRY_PUBLIC_FIELDS.get(item["kind"], ())
    return {k: v for k, v in (item.get("fields") or {}).items() if k in public}


def screening_item(response: dict) -> dict:
    """A screening response as a timeline item: results only, never the answers."""
    fields = {
        "instrument": response.get("instrument"),
        "version": response.get("version"),
        "band": response.get("band"),
        "proposed_level": response.get("proposed_level"),
        "flags": list(response.get("flags") or []),
        "scores": response.get("scores") or {},
        "batch_id": response.get("batch_id"),
    }
    return {
        "id": response["id"],
        "kind": "screening",
        "date": response.get("on_date"),
        "author": None,
        "recorded_at": response.get("imported_at"),
        "fields": fields,
        "restricted": False,
        "corrects": None,
        "corrected_by": None,
    }


def screening_instruments(items: list[dict]) -> set[str]:
    """The codes of the instruments the screening items of a timeline name (what :func:`name_screening` needs)."""
    return {item["fields"].get("instrument") or "" for item in items if item.get("kind") == "screening" and item.get("fields")} - {""}


def name_screening(items: list[dict], instruments: dict[str, dict]) -> list[dict]:
    """Give screening items the words people read for their codes, in place; returns ``items``.

    ``instruments``: instrument code → ``{"name": "SCL-90", "bands": {code:
    {"zh", "en"}}, "flags": {code: {"zh", "en"}}}`` (what
    :meth:`mhtool.survey.domain.instruments.Instrument.names` gives). The
    screening feature owns the instruments and sits above this one, so its
    use cases hand the words down rather than this module reaching up.
    """
    for item in items:
        f = item.get("fields")
        if item.get("kind") != "screening" or not f:
            continue
        names = instruments.get(f.get("instrument") or "")
        if not names:
            continue
        f["instrument_name"] = names.get("name")
        band = (names.get("bands") or {}).get(f.get("band") or "")
        if band:
            f["band_label"] = band
        flags = {code: (names.get("flags") or {}).get(code) for code in f.get("flags") or ()}
        if any(flags.values()):
            f["flag_labels"] = {code: shown for code, shown in flags.items() if shown}
    return items


# -- signals (多源预警) ------------------------------------------------------------------------

# Timeline kinds of the signals: the hit that opened a signal, and the counselor's review of it.
SIGNAL_KINDS = ("signal", "signal_review")
# The task a signal opens (研判). A clerk sees counts of signals, never who has one: not this task either.
SIGNAL_TASK_KINDS = frozenset({"signal_review"})


def task_shown(task: dict, *, clinical: bool) -> bool:
    """Whether a reader sees this task by name: a 研判 task only with the clinical key (it says the student has a signal)."""
    return clinical or task.get("kind") not in SIGNAL_TASK_KINDS


def signal_view(signal: dict) -> dict:
    """One signal of a dossier as ``cases show --json`` gives it (the keys of ``signals`` JSON): codes, days, facts, both explanations.

    Only for readers who hold the clinical key: a clerk's dossier shows no
    signal at all (not even that one exists). A signal is reviewed once it is
    closed (its ``closed_on``, the day of the review).
    """
    code = signal.get("rule")
    return {
        "id": signal["id"],
        "rule": code,
        "rule_name": label("signal_rule", code, "zh"),
        "rule_name_en": label("signal_rule", code, "en"),
        "source": signal.get("source"),
        "opened_on": signal.get("opened_on"),
        "last_hit_on": signal.get("last_hit_on") or signal.get("opened_on"),
        "hits": int(signal.get("hits") or 1),
        "status": "reviewed" if signal.get("closed_on") or signal.get("reviewed_on") else "open",
        "closed_on": signal.get("closed_on"),
        "outcome": signal.get("outcome"),
        "reviewed_on": signal.get("reviewed_on") or signal.get("closed_on"),
        "reviewed_by": signal.get("reviewed_by"),
        "reason": signal.get("reason"),
        "task_id": signal.get("task_id"),
        "facts": signal.get("facts") or {},
        "explanation": signal.get("explanation"),
        "explanation_en": signal.get("explanation_en"),
        "history": list(signal.get("history") or []),
    }


def signal_views(signals: list[dict]) -> list[dict]:
    """The student's signals, oldest first (by first hit, then id)."""
    return sorted((signal_view(s) for s in signals), key=lambda v: (v["opened_on"] or "", v["id"]))


def signal_items(signals: list[dict]) -> list[dict]:
    """Timeline items of signals: one for each signal on the day of its first hit, one for each review."""
    items = []
    for v in signals:
        common = {"author": None, "recorded_at": None, "restricted": False, "corrects": None, "corrected_by": None}
        opened = {k: v.get(k) for k in ("rule", "source", "opened_on", "last_hit_on", "hits", "status", "outcome", "facts", "explanation", "explanation_en")}
        items.append({**common, "id": v["id"], "kind": "signal", "date": v.get("opened_on"), "fields": opened})
        if v.get("reviewed_on"):
            review = {"rule": v.get("rule"), "outcome": v.get("outcome"), "reason": v.get("reason"), "signal": v["id"]}
            items.append({**common, "id": v["id"], "kind": "signal_review", "date": v["reviewed_on"], "author": v.get("reviewed_by"), "fields": review})
    return items


def signal_explanation(signal: dict, lang: str) -> str:
    """The rule's sentence filled in with the facts, in ``lang`` (the Chinese one when there is no English)."""
    return pick(lang, signal.get("explanation") or signal.get("explanation_en") or "", signal.get("explanation_en"))


def signal_state(signal: dict, lang: str) -> str:
    """待研判, or 已研判：排除 2026-11-25."""
    if signal.get("status") != "reviewed" and not signal.get("reviewed_on"):
        return label("signal_status", "open", lang)
    outcome = label("signal_outcome", signal.get("outcome"), lang)
    head = _colon(label("signal_status", "reviewed", lang), outcome, lang)
    return " ".join(x for x in (head, signal.get("reviewed_on") or "") if x)


def signal_line(signal: dict, lang: str = "zh") -> str:
    """One line for a signal of the dossier: rule, days, hits, state, explanation, and the review's reason."""
    days = signal.get("opened_on") or ""
    if signal.get("last_hit_on") and signal["last_hit_on"] != days:
        days = text("period_range", lang, start=days, end=signal["last_hit_on"])
    hits = signal.get("hits") or 1
    parts = [
        text("notice_how", lang, who=label("signal_rule", signal.get("rule"), lang), how=label("signal_source", signal.get("source"), lang)),
        days,
        _say("signal_hits", hits if hits > 1 else None, lang),
        signal_state(signal, lang),
        signal_explanation(signal, lang),
        _say("signal_reason", signal.get("reason"), lang),
    ]
    return _join(parts, lang)


def build_timeline(
    entries: list[dict], responses: list[dict], *, clinical: bool, kinds: set[str] | None = None, signals: list[dict] | None = None
) -> list[dict]:
    """The dossier's timeline: entries, screening results and (for readers with the clinical key) signals and their reviews."""
    corrected_by = {e["corrects"]: e["id"] for e in entries if e.get("corrects")}
    items = [entry_item(e, clinical=clinical, corrected_by=corrected_by.get(e["id"])) for e in entries]
    items += [screening_item(r) for r in responses]
    if clinical and signals:
        items += signal_items(signals)
    if kinds:
        items = [i for i in items if i["kind"] in kinds]
    # Screening first on a shared day: the result came before the conversation about it.
    items.sort(key=lambda i: (i["date"] or "", i["kind"] != "screening", i["recorded_at"] or ""))
    return items


def measure_items(entries: list[dict], today: date) -> list[dict]:
    out = []
    for e in model.effective(entries):
        if e["kind"] != "measure":
            continue
        f = e["fields"]
        end = f.get("end")
        out.append({"id": e["id"], "date": e["date"], "author": e.get("author"), **f, "active": not end or date.fromisoformat(end) >= today})
    return out


def task_item(task: dict, today: date) -> dict:
    due = date.fromisoformat(task["due_on"])
    item = {
        "id": task["id"],
        "kind": task["kind"],
        "due": task["due_on"],
        "done_on": task.get("done_on"),
        "overdue": due < today and not task.get("done_on"),
        "overdue_days": model.days_overdue(due, today) if not task.get("done_on") else 0,
        "note": task.get("note"),
        "assigned_to": task.get("assigned_to"),
        # The level a screening proposed (an interview task's), not the watch level a follow-up was scheduled at.
        "proposed_level": task.get("proposed_level"),
    }
    if task.get("signal_id"):
        item["signal_id"] = task["signal_id"]  # a 研判 task: the signal it reviews
    return item


# -- lists ------------------------------------------------------------------------------------


@dataclass
class ListFilters:
    level: str | None = None
    college: str | None = None
    group: str | None = None
    status: str | None = None
    counselor: str | None = None
    overdue: bool = False
    due_within: int | None = None
    include_unwatched: bool = False


def list_filters(
    *,
    level: str | None = None,
    college: str | None = None,
    group: str | None = None,
    status: str | None = None,
    counselor: str | None = None,
    overdue: bool = False,
    due_within: int | None = None,
    include_unwatched: bool = False,
) -> ListFilters:
    """Filters from what a reader typed: levels and groups by code or label (红色, 家庭经济困难)."""
    return ListFilters(
        level=model.parse_level(level) if level else None,
        college=college,
        group=(model.parse_groups([group]) or [None])[0] if group else None,
        status=model.parse_choice(status, model.STATUSES, "--status") if status else None,
        counselor=counselor,
        overdue=overdue,
        due_within=due_within,
        include_unwatched=include_unwatched,
    )


# The fields of a student a list row is made of (:func:`list_row`).
LIST_FIELDS: tuple[str, ...] = ("student_no", "name", "college", "class_name", "level", "level_since", "status", "counselor", "groups")


@lru_cache(maxsize=4096)
def _due_facts(next_due: str | None, today: date) -> tuple[str | None, bool, int]:
    # A watch list of thousands of rows has a few hundred distinct due dates: each is read once.
    due = date.fromisoformat(next_due) if next_due else None
    return (due.isoformat() if due else None), bool(due and due < today), model.days_overdue(due, today)


def list_row(student: dict, next_due: str | None, today: date) -> dict:
    due, overdue, days = _due_facts(next_due, today)
    return {
        "student_no": student["student_no"],
        "name": student.get("name") or "",
        "college": student.get("college") or "",
        "class_name": student.get("class_name") or "",
        "level": student.get("level") or "none",
        "level_since": student.get("level_since"),
        "status": student.get("status") or "enrolled",
        "counselor": student.get("counselor") or "",
        "groups": list(student.get("groups") or []),
        "next_due": due,
        "overdue": overdue,
        "overdue_days": days,
    }


def matches(row: dict, f: ListFilters, today: date) -> bool:
    """Whether one list row passes the filters."""
    if f.level and row["level"] != f.level:
        return False
    if f.college and row["college"] != f.college:
        return False
    if f.group and f.group not in row["groups"]:
        return False
    if f.status and row["status"] != f.status:
        return False
    if f.counselor and row["counselor"] != f.counselor:
        return False
    if f.overdue and not row["overdue"]:
        return False
    if f.due_within is not None:
        if not row["next_due"] or (date.fromisoformat(row["next_due"]) - today).days > f.due_within:
            return False
    return True


LEVEL_ORDER = {lv: i for i, lv in enumerate(LEVELS)}


def clarity_row(student: dict, missing: list[str]) -> dict:
    """One line of the three-clarities check."""
    return {
        "student_no": student["student_no"],
        "name": student.get("name") or "",
        "college": student.get("college") or "",
        "class_name": student.get("class_name") or "",
        "level": student.get("level") or "none",
        "counselor": student.get("counselor") or "",
        "missing": missing,
    }


# -- text for people --------------------------------------------------------------------------


def _join(parts, lang: str = "zh") -> str:
    return text("clause_separator", lang).join(p for p in parts if p)


def _colon(head, tail, lang: str) -> str:
    """``head：tail`` in the reader's punctuation; ``head`` alone when there is no tail."""
    return f"{head}{text('clause_colon', lang)}{tail}" if tail else str(head or "")


def _say(code: str, value, lang: str) -> str:
    """A catalog phrase with a recorded value in it; empty when there is no value."""
    return label("entry_text", code, lang).format(value) if value else ""


def notice_text(who, at, lang: str, how: str | None = None) -> str:
    """One notice as a sentence fragment: ``家长 2026-11-15 23:40``, ``学生工作部（电话） 2026-11-15 23:50``."""
    who = str(who or "").strip()
    if how:
        who = text("notice_how", lang, who=who, how=how) if who else how
    when = moment_text(at)
    return text("notice_at", lang, who=who, at=when).strip() if when else who


def reported_text(fields: dict, lang: str) -> str:
    """The report upward of a crisis record as one fragment; empty when none was recorded."""
    if not any(fields.get(k) for k in ("reported_to", "reported_at", "reported_how")):
        return ""
    return notice_text(fields.get("reported_to"), fields.get("reported_at"), lang, fields.get("reported_how"))


def screening_text(fields: dict, lang: str) -> tuple[str, str, str]:
    """(instrument, band, critical items) of a screening result as people read them (SCL-90, 阳性, 想结束自己的生命（第15题）)."""
    name = fields.get("instrument_name") or (fields.get("instrument") or "").upper()
    band = (fields.get("band_label") or {}).get(lang) or fields.get("band") or ""
    shown = fields.get("flag_labels") or {}
    flags = text("list_separator", lang).join((shown.get(code) or {}).get(lang) or code for code in fields.get("flags") or ())
    return name, band, flags


def _span(start, end, lang: str) -> str:
    """A span of days as people write it: both ends, from a day on, or until a day."""
    if start and end:
        return text("period_range", lang, start=start, end=end)
    if start:
        return _say("since", start, lang)
    return _say("until", end, lang)


def _referral_line(f: dict, lang: str) -> str:
    """A referral step in one line: its status, its hospital and the step's own summary, each said once.

    The summary was written with the step, in Chinese (:func:`mhtool.referral.domain.machine.summary`):
    it begins with the status the step reached (已转介, 已转介 → 已就诊) and names the hospital
    the step set (转介医院：…). Then those are not said again before it.
    """
    status, hospital = label("referral_status", f.get("status"), lang), f.get("hospital")
    summary, sep = str(f.get("summary") or ""), label("referral_text", "separator", "zh")
    head, _sep, rest = summary.partition(sep)
    if hospital and f"{label('referral_field', 'hospital', 'zh')}{label('referral_text', 'colon', 'zh')}{hospital}" in summary.split(sep):
        hospital = None
    if summary and head.endswith(status):
        return _join([head, hospital, rest], lang)
    return _join([status, hospital, summary], lang)


def entry_summary(item: dict, lang: str = "zh") -> str:
    """One line for a timeline item, in the reader's language. User text stays as typed."""
    kind, f = item["kind"], item.get("fields") or {}
    if item.get("restricted") and kind not in DOCUMENT_WITHHELD_KINDS:
        return label("dossier", "restricted", lang)
    lv = lambda code: label("level", code, lang)  # noqa: E731
    join = lambda parts: _join(parts, lang)  # noqa: E731
    if kind == "screening":
        name, band, flags = screening_text(f, lang)
        return join(
            [
                f"{name} {band}".strip(),
                _say("proposed", lv(f.get("proposed_level")), lang),
                _say("critical", flags, lang),
            ]
        )
    if kind == "interview":
        how = " ".join(x for x in (f.get("mode") or "", _say("minutes", f.get("duration"), lang)) if x)
        return join(
            [
                f"[{how}]" if how else "",
                f.get("findings"),
                _say("risk", f.get("risk"), lang),
                _say("confirmed", lv(f.get("confirmed_level")), lang),
                _say("next_step", f.get("next_step"), lang),
                _say("interviewer", f.get("interviewer"), lang),
            ]
        )
    if kind == "level_change":
        if not model.changes_level(f):
            # Corrected after a late entry (补录) set this level earlier: it records no change.
            same = label("dossier", "unchanged", lang)
            return _colon(text("level_unchanged", lang, level=lv(f.get("to")), same=same), f.get("reason"), lang)
        return _colon(f"{lv(f.get('from'))} → {lv(f.get('to'))}", f.get("reason"), lang)
    if kind == "note":
        return f.get("text") or ""
    if kind == "measure":
        return join([_colon(f.get("measure_kind"), f.get("description"), lang), _say("responsible", f.get("responsible"), lang), _span(f.get("start"), f.get("end"), lang)])
    if kind == "guardian_contact":
        who = text("notice_how", lang, who=f.get("guardian"), how=f["channel"]) if f.get("channel") else f.get("guardian")
        return join([_colon(who, f.get("content"), lang), _say("consent", label("consent", f.get("consent"), lang), lang)])
    if kind == "crisis":
        notified = text("list_separator", lang).join(notice_text(n.get("who"), n.get("at"), lang) for n in f.get("notified") or [] if isinstance(n, dict))
        return join(
            [
                f.get("what"),
                _say("event_type", label("crisis_type", f.get("event_type"), lang), lang),
                _say("crisis_risk", label("crisis_risk", f.get("risk"), lang), lang),
                _say("where", f.get("where"), lang),
                _say("actions", f.get("actions"), lang),
                _say("parents_notified", moment_text(f.get("parents_notified_at")), lang),
                _say("notified", notified, lang),
                _say("reported_up", reported_text(f, lang), lang),
            ]
        )
    if kind == "status_change":
        extra = [_span(f.get("from_date"), f.get("until"), lang)]
        extra.append(_say("certificate", f.get("certificate"), lang))
        if f.get("without_certificate"):
            extra.append(label("entry_text", "without_certificate", lang))
        extra.append(_say("assessed_by", f.get("assessed_by"), lang))
        extra.append(_say("documents", text("list_separator", lang).join(f.get("documents") or []), lang))
        change = f"{label('status', f.get('from'), lang)} → {label('status', f.get('to'), lang)}"
        return join([_colon(change, f.get("reason"), lang), *extra])
    if kind == "follow_up":
        return join([f"[{f['mode']}]" if f.get("mode") else "", f.get("content")])
    if kind == "close":
        return f.get("reason") or ""
    if kind == "reopen":
        return _colon(lv(f.get("level")), f.get("reason"), lang)
    if kind == "referral":
        return _referral_line(f, lang)
    if kind == "signal":
        hits = f.get("hits") or 1
        last = f.get("last_hit_on") if f.get("last_hit_on") and f.get("last_hit_on") != f.get("opened_on") else None
        return join(
            [
                _colon(label("signal_rule", f.get("rule"), lang), signal_explanation(f, lang), lang),
                _say("signal_hits", hits if hits > 1 else None, lang),
                _say("signal_last", last, lang),
                label("signal_status", "open", lang) if f.get("status") != "reviewed" else "",
            ]
        )
    if kind == "signal_review":
        head = text("signal_review_head", lang, rule=label("signal_rule", f.get("rule"), lang), outcome=label("signal_outcome", f.get("outcome"), lang))
        return _colon(head, f.get("reason"), lang)
    if kind == "session":
        how = " ".join(x for x in (label("session_mode", f.get("mode"), lang), _say("minutes", f.get("minutes"), lang)) if x)
        return join(
            [
                text("session_number", lang, n=f.get("number") or "?"),
                f"[{how}]" if how else "",
                _say("session_counselor", f.get("counselor"), lang),
                _colon(label("concern", f.get("concern"), lang), f.get("concern_text"), lang) if f.get("concern") else "",
                _say("risk", label("session_risk", f.get("risk"), lang) if f.get("risk") else None, lang),
                _say("next_step", f.get("next_step"), lang),
                _say("session_closed", _colon(label("session_outcome", f.get("outcome"), lang), f.get("outcome_text"), lang) if f.get("outcome") else None, lang)
                if f.get("closes") else "",
                label("dossier", "restricted", lang) if item.get("restricted") else "",
            ]
        )
    if kind == "conference":
        return join(
            [
                label("conference_kind", f.get("conference_kind"), lang),
                _say("participants", text("list_separator", lang).join(f.get("participants") or []), lang),
                _say("decision", f.get("decision"), lang),
                _say("conference_owner", f.get("owner"), lang),
                _say("until", f.get("due"), lang) if f.get("owner") else "",
                label("dossier", "restricted", lang) if item.get("restricted") else "",
            ]
        )
    return ", ".join(f"{k}={v}" for k, v in f.items())


def graduation_text(result: dict) -> str:
    """What ``cases graduate`` did, in a sentence: ``class of 2022 (2022级): graduated 2 students on 2026-06-30; skipped 1 (1 on leave 休学)``."""
    n = result.get("graduated", 0)
    values = {"year": result["class_of"], "n": n, "on": result["on"]}
    if result.get("dry_run"):
        line = ngettext(
            "class of {year} ({year}级): would graduate {n} student on {on}", "class of {year} ({year}级): would graduate {n} students on {on}", n
        ).format(**values)
    else:
        line = ngettext("class of {year} ({year}级): graduated {n} student on {on}", "class of {year} ({year}级): graduated {n} students on {on}", n).format(
            **values
        )
    skipped = result.get("skipped") or {}
    if skipped:
        parts = text("list_separator", current()).join(status_count(status, count) for status, count in sorted(skipped.items()))
        line = _("{summary}; skipped {count} ({statuses})").format(summary=line, count=sum(skipped.values()), statuses=parts)
    if result.get("out_of_scope"):
        line = _("{summary}; {count} outside your colleges left alone").format(summary=line, count=result["out_of_scope"])
    return line


# A count of students of one status: ``1 on leave 休学`` (``{status}`` is the Chinese label).
_STATUS_COUNTS = {
    "leave": N_("{count} on leave {status}"),
    "withdrawn": N_("{count} withdrawn {status}"),
    "graduated": N_("{count} graduated {status}"),
    "returned": N_("{count} returned {status}"),
    "enrolled": N_("{count} enrolled {status}"),
}


def status_count(status: str, count: int) -> str:
    """A count of students of one status, as ``cases graduate`` reports those it skipped: ``1 on leave 休学``."""
    phrase = _STATUS_COUNTS.get(status)
    if phrase is None:
        return f"{count} {status} {label('status', status)}"
    return _(phrase).format(count=count, status=label("status", status))


def missing_label(code: str, lang: str = "zh") -> str:
    """What one three-clarities code means, in the reader's language."""
    if code in codes("missing"):
        return label("missing", code, lang)
    if code.startswith("basic:"):
        return label("missing", "basic", lang).format(label("field", code.split(":", 1)[1], lang))
    return code


def missing_text(missing: list[str], lang: str = "zh") -> str:
    return "；".join(missing_label(c, lang) for c in missing)


def guardian_text(guardians: list[dict]) -> str:
    return "；".join(" ".join(x for x in (g.get("relation"), g.get("name"), g.get("phone")) if x) for g in guardians or [])


# -- export -----------------------------------------------------------------------------------


def export_report(d: dict, *, lang: str, generated_at: datetime, staff_names: dict[str, str] | None = None):
    """The whole dossier as a printable workbook: a profile form and a timeline table.

    ``staff_names`` maps login names to the names people read (张华), for the
    counselor and the authors of entries.
    """
    from mhtool.domain.document import Column, FormField, FormSection, FormText, Report, Sheet, SignatureLine, field_column

    s = d["student"]

    def section(key):
        return FormSection(key, label("dossier", key, "zh"), label("dossier", key, "en"))

    def dossier_column(key):
        return Column(key, label("dossier", key, "zh"), label("dossier", key, "en"), "text")

    def fld(key, kind="text", value=None, pii=None):
        v = s.get(key) if value is None else value
        if kind == "date" and isinstance(v, str):
            v = date.fromisoformat(v) if v else None
        return FormField(key, label("field", key, "zh"), label("field", key, "en"), v if v not in ("",) else None, kind, pii)

    form = [
        section("basic"),
        fld("student_no", pii="student_no"),
        fld("name", pii="name"),
        *(fld(k) for k in ROSTER_FIELDS[1:]),
        FormField("guardians", label("field", "guardians", "zh"), label("field", "guardians", "en"), guardian_text(s.get("guardians") or []) or None),
        FormField("groups", label("field", "groups", "zh"), label("field", "groups", "en"), "、".join(label("group", g, lang) for g in s.get("groups") or []) or None),
        FormField("tags", label("field", "tags", "zh"), label("field", "tags", "en"), "、".join(s.get("tags") or []) or None),
        section("watch"),
        fld("level", "level", s.get("level") or "none"),
        fld("level_since", "date"),
    ]
    if "level_reason" in s:
        form.append(fld("level_reason"))
    form += [
        fld("status", "status", s.get("status") or "enrolled"),
        fld("counselor", value=staff_name(s.get("counselor"), staff_names) or ""),
        FormField("missing", label("dossier", "missing_title", "zh"), label("dossier", "missing_title", "en"), missing_text(d["missing"], lang) or label("dossier", "none", lang)),
        FormSection("measures", label("entry", "measure", "zh"), label("entry", "measure", "en")),
    ]
    for m in d["measures"]:
        state = label("dossier", "active" if m["active"] else "ended", lang)
        line = [_colon(m.get("measure_kind"), m.get("description"), lang), m.get("responsible") or "", _span(m.get("start"), m.get("end"), lang), state]
        form.append(FormText(_join(line, lang)))
    if not d["measures"]:
        form.append(FormText(label("dossier", "none", lang)))
    form.append(section("open_tasks"))
    for t in d["tasks"]:
        form.append(FormText(_join([t["due"], label("task", t["kind"], lang), t.get("note") or ""], lang)))
    if not d["tasks"]:
        form.append(FormText(label("dossier", "none", lang)))
    form.append(SignatureLine())
    profile = Sheet("profile", label("dossier", "profile", "zh"), label("dossier", "profile", "en"), f"{label('dossier', 'title', 'zh')}（一人一档）", label("dossier", "title", "en"), kind="form", form=form)
    columns = [
        field_column("date", "date"),
        field_column("kind"),
        field_column("author"),
        field_column("summary", width=60),
        dossier_column("entry_id"),
        dossier_column("corrects"),
        dossier_column("corrected_by"),
    ]
    rows = [
        [
            date.fromisoformat(i["date"]) if i["date"] else None,
            label("entry", i["kind"], lang),
            staff_name(i.get("author"), staff_names),
            entry_summary(i, lang),
            i["id"][:8],
            (i.get("corrects") or "")[:8] or None,
            (i.get("corrected_by") or "")[:8] or None,
        ]
        for i in map(_for_document, d["timeline"])
    ]
    timeline = Sheet("timeline", label("dossier", "timeline", "zh"), label("dossier", "timeline", "en"), f"{s.get('name') or ''} {s['student_no']} 档案记录", f"Timeline of {s['student_no']}", columns=columns, rows=rows)
    sheets = [profile, timeline]
    if d.get("signals"):
        # Only for a reader with the clinical key, and only when the student has signals.
        sheets.append(signals_sheet(d, lang=lang, staff_names=staff_names))
    return Report(
        kind="dossier",
        title_zh=label("dossier", "title", "zh"),
        title_en=label("dossier", "title", "en"),
        period=None,
        generated_at=generated_at,
        lang=lang,
        sheets=sheets,
        meta={"student_no": s["student_no"]},
    )


def _for_document(item: dict) -> dict:
    """A timeline item as a document shows it: sessions and conferences keep only their administrative part."""
    if item["kind"] in DOCUMENT_WITHHELD_KINDS and not item.get("restricted"):
        return {**item, "fields": withheld_fields(item), "restricted": True}
    return item


def _signal_domain(domain: str) -> tuple[tuple[str, str, str], ...]:
    return tuple((c, label(domain, c, "zh"), label(domain, c, "en")) for c in codes(domain))


def signals_sheet(d: dict, *, lang: str, staff_names: dict[str, str] | None = None):
    """多源预警 of the dossier export: one row per signal, its days, hits, explanation and review.

    Only for a dossier read with the clinical key (``d["signals"]`` is absent
    for a clerk) that has signals.
    """
    from mhtool.domain.document import Column, Sheet

    s = d["student"]
    signals = d.get("signals") or []
    rules_ = {*codes("signal_rule")}
    extra = tuple((c, c, c) for c in sorted({v.get("rule") for v in signals if v.get("rule") and v.get("rule") not in rules_}))
    columns = [
        Column("opened_on", "首次触发", "First hit", "date"),
        Column("last_hit_on", "最近触发", "Last hit", "date"),
        Column("rule", "预警规则", "Rule", "code", labels=_signal_domain("signal_rule") + extra),
        Column("source", "数据来源", "Source", "code", labels=_signal_domain("signal_source")),
        Column("hits", "触发次数", "Hits", "int"),
        Column("explanation", "触发依据", "Why", "text", width=60),
        Column("status", "研判状态", "Status", "code", labels=_signal_domain("signal_status")),
        Column("outcome", "研判结果", "Outcome", "code", labels=_signal_domain("signal_outcome")),
        Column("reviewed_on", "研判日期", "Reviewed on", "date"),
        Column("reviewed_by", "研判人", "Reviewed by", "text"),
        Column("reason", "研判理由", "Reason", "text", width=30),
        Column("signal_id", label("dossier", "signal_id", "zh"), label("dossier", "signal_id", "en"), "text"),
    ]
    rows = [
        [
            date.fromisoformat(v["opened_on"]) if v.get("opened_on") else None,
            date.fromisoformat(v["last_hit_on"]) if v.get("last_hit_on") else None,
            v.get("rule"),
            v.get("source"),
            int(v.get("hits") or 1),
            signal_explanation(v, lang),
            v.get("status") or "open",
            v.get("outcome"),
            date.fromisoformat(v["reviewed_on"]) if v.get("reviewed_on") else None,
            staff_name(v.get("reviewed_by"), staff_names),
            v.get("reason"),
            v["id"][:8],
        ]
        for v in signals
    ]
    notes = [text("dossier_signals_note", lang)]
    return Sheet(
        "signals",
        label("dossier", "signals", "zh"),
        label("dossier", "signals", "en"),
        f"{s.get('name') or ''} {s['student_no']} 多源预警信号",
        f"Signals of {s['student_no']}",
        columns=columns,
        rows=rows,
        notes=notes,
    )
