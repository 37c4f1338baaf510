"""Reading and reviewing signals: the radar (``signals list`` / ``cases radar``), a student's signals, the review.

Only counselors and admins (permission ``signals``) read signals: what triggered
one and its explanation are clinical content, and who has a signal is not a
clerk's to know. A review closes the signal and its 研判 task; it records what the
counselor concluded (关注 watch, 已知晓 noted, 排除 dismissed) and why, and never
changes the watch level: a counselor who wants the student watched records that
with `mhtool cases level`.
"""

from __future__ import annotations

from datetime import date

from mhtool.domain import dates
from mhtool.domain.vocabulary import LEVEL_RANK
from mhtool.errors import ChangedMeanwhile, NotFound, UsageError
from mhtool.domain.labels import label
from mhtool.i18n import _, current
from mhtool.signals.domain.facts import SOURCES
from mhtool.signals.domain.rules import CODES, rules_in_force
from mhtool.signals.usecases.settings import RULES_KEY

OUTCOMES: tuple[str, ...] = ("watch", "noted", "dismissed")
# The words a counselor may type for an outcome, besides its code.
OUTCOME_WORDS = {"关注": "watch", "已知晓": "noted", "知晓": "noted", "排除": "dismissed"}


def rules_table(store) -> list[dict]:
    """The rules in force (the store's override laid over the built-in ones), each with ``overridden``."""
    override = store.setting(RULES_KEY) or {}
    return [{**rule, "overridden": rule["code"] in override} for rule in rules_in_force(override).as_list()]


# Signals that no campus rule raises: a 心理委员's or 寝室长's report naming a student (五级网络).
PEER_RULE, PEER_SOURCE = "peer_report", "peer"


def _rule_names(store) -> dict[str, tuple[str, str]]:
    rules = rules_in_force(store.setting(RULES_KEY) or {})
    names = {code: (rule.name, rule.name_en) for code, rule in rules.items()}
    names[PEER_RULE] = (label("signal_rule", PEER_RULE, "zh"), label("signal_rule", PEER_RULE, "en"))
    return names


def _check_filters(rule: str | None, source: str | None) -> None:
    if rule is not None and rule not in CODES and rule != PEER_RULE:
        raise UsageError(_("--rule {value!r}: use one of {choices}").format(value=rule, choices=", ".join((*CODES, PEER_RULE))))
    if source is not None and source not in SOURCES and source != PEER_SOURCE:
        raise UsageError(_("--source {value!r}: use dorm (门禁), card (一卡通), academic (教务) or peer (心理委员/寝室长)").format(value=source))


def radar(store, *, college: str | None = None, rule: str | None = None, source: str | None = None) -> list[dict]:
    """Students with open signals, one row each, ranked: most distinct sources first, then the latest hit, then the watch level.

    ``college``, ``rule`` and ``source`` keep the signals that match (and the
    students who still have one). The read is audited.
    """
    store.require("signals", action="signals.list")
    _check_filters(rule, source)
    if college:
        store.require_college(college, action="signals.list")
    names = _rule_names(store)
    open_signals = [
        s for s in store.signals.open() if (rule is None or s.get("rule") == rule) and (source is None or s.get("source") == source)
    ]
    by_student: dict[str, list[dict]] = {}
    for s in open_signals:
        by_student.setdefault(s["student_id"], []).append(s)
    students = store.students.by_ids(by_student)
    rows = []
    shown = []
    for sid, signals in by_student.items():
        student = students.get(sid)
        if student is None or not store.in_scope(student.get("college")) or (college and student.get("college") != college):
            continue
        shown.append(f"students/{sid}")
        signals.sort(key=lambda s: (s.get("last_hit_on") or s["opened_on"], s["opened_on"]))
        latest = signals[-1]
        sources = sorted({s.get("source") for s in signals}, key=lambda x: SOURCES.index(x) if x in SOURCES else 9)
        rules = list(dict.fromkeys(s.get("rule") for s in signals))
        rows.append(
            {
                "student_no": student["student_no"],
                "name": student.get("name") or "",
                "college": student.get("college") or "",
                "class_name": student.get("class_name") or "",
                "level": student.get("level") or "none",
                "counselor": student.get("counselor") or "",
                "sources": len(sources),
                "source_list": sources,
                "rules": rules,
                "rule_names": [names.get(r, (r, r))[0] for r in rules],
                "rule_names_en": [names.get(r, (r, r))[1] for r in rules],
                "signals": len(signals),
                "hits": sum(int(s.get("hits") or 1) for s in signals),
                "opened_on": min(s["opened_on"] for s in signals),
                "last_hit_on": latest.get("last_hit_on") or latest["opened_on"],
                "explanation": _first_line(latest.get("explanation")),
                "explanation_en": _first_line(latest.get("explanation_en")),
                "signal_ids": [s["id"] for s in signals],
            }
        )
    rows.sort(key=lambda r: r["student_no"])
    rows.sort(key=lambda r: (r["sources"], r["last_hit_on"], LEVEL_RANK.get(r["level"], 0)), reverse=True)
    store.audit_read(
        "signals.list",
        targets=sorted(shown),
        details={"count": len(rows), **{k: v for k, v in (("college", college), ("rule", rule), ("source", source)) if v}},
    )
    return rows


def _first_line(text) -> str:
    return str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""


def signal_view(signal: dict, names: dict[str, tuple[str, str]]) -> dict:
    """A signal as the dossier and JSON show it (clinical parts present only for a key that opens them)."""
    code = signal.get("rule")
    name, name_en = names.get(code, (code, code))
    return {
        "id": signal["id"],
        "rule": code,
        "rule_name": name,
        "rule_name_en": name_en,
        "source": signal.get("source"),
        "opened_on": signal.get("opened_on"),
        "last_hit_on": signal.get("last_hit_on") or signal.get("opened_on"),
        "hits": int(signal.get("hits") or 1),
        "status": "reviewed" if signal.get("closed_on") else "open",
        "closed_on": signal.get("closed_on"),
        "outcome": signal.get("outcome"),
        "reviewed_on": signal.get("reviewed_on"),
        "reviewed_by": signal.get("reviewed_by"),
        "reason": signal.get("reason"),
        "task_id": signal.get("task_id"),
        "facts": signal.get("facts"),
        "explanation": signal.get("explanation"),
        "explanation_en": signal.get("explanation_en"),
        "history": signal.get("history") or [],
    }


def for_student(store, student: dict, *, audit: bool = True) -> list[dict]:
    """Every signal of one student (open and reviewed), oldest first; ``[]`` for a role that may not read signals.

    The dossier view calls this with ``audit=False`` (its own read is audited);
    otherwise the read is audited.
    """
    if not store.can("signals") or not store.in_scope(student.get("college")):
        return []
    names = _rule_names(store)
    shown = [signal_view(s, names) for s in store.signals.for_student(student["id"])]
    if audit:
        store.audit_read("signals.show", targets=[f"students/{student['id']}"], details={"count": len(shown)})
    return shown


# -- review ---------------------------------------------------------------------------------------


def parse_outcome(value: str | None) -> str:
    text = (value or "").strip()
    code = OUTCOME_WORDS.get(text, text.lower())
    if code not in OUTCOMES:
        raise UsageError(
            _("--outcome {value!r}: use watch (关注), noted (已知晓) or dismissed (排除)").format(value=value or ""),
            hint=_("watch: the student needs attention; noted: known, nothing to do now; dismissed: a false alarm"),
        )
    return code


def _targets(store, ref: str, action: str) -> tuple[dict, list[dict]]:
    """The student and the open signals a review names: one signal (its id or 4+ first characters), or a student's every open signal."""
    text = (ref or "").strip()
    signal = None
    if len(text) >= 4 and all(c in "0123456789abcdefABCDEF" for c in text):
        try:
            signal = store.signals.get(store.signals.resolve(text, "signal"))
        except (NotFound, UsageError):
            signal = None
    if signal is not None:
        student = store.students.get(signal["student_id"])
        store.require_college(student.get("college"), action=action, targets=[f"signals/{signal['id']}"])
        if signal.get("closed_on"):
            raise UsageError(
                _("signal {signal} was already reviewed on {day} ({outcome})").format(signal=signal["id"][:8], day=signal["closed_on"], outcome=label("signal_outcome", signal.get("outcome"), current())),
                hint=_("a new hit of the rule opens a new signal"),
            )
        return student, [signal]
    from mhtool.domain.student_no import normalise, shape_problem

    if shape_problem(normalise(text)) is not None:
        raise UsageError(_("{value!r} is neither a signal id nor a student number").format(value=ref), hint=_("`mhtool signals list` shows both"))
    student = store.students.find(text)
    if student is None and not store.staff.scoped():
        raise NotFound(_("no student with number {student_no!r}").format(student_no=text), hint=_("`mhtool signals list` shows the students with open signals"))
    student = store.require_student(student, text, action=action)
    signals = store.signals.open(student["id"])
    if not signals:
        raise NotFound(
            _("student {student_no} has no open signal").format(student_no=student["student_no"]),
            hint=_("`mhtool signals list` shows the students with open signals"),
        )
    return student, signals


def review(store, ref: str, outcome: str | None, reason: str | None, *, on=None, today: date) -> dict:
    """Close one signal, or every open signal of a student, with the counselor's conclusion; their 研判 tasks are done. Audited."""
    action = "signals.review"
    store.require("signals", action=action)
    code = parse_outcome(outcome)
    why = " ".join((reason or "").split())
    if not why:
        raise UsageError(_("a review needs --reason"), hint=_('say what was found, e.g. --reason "已与辅导员核实，周末回家，非异常"'))
    day = on if isinstance(on, date) else dates.parse_date(str(on), today=today, option="--date", allow_future=False) if on else today
    student, signals = _targets(store, ref, action)
    me = store.staff.name
    closed, tasks_done = [], 0
    with store.write(action, targets=[f"students/{student['id']}"], details={"outcome": code, "signals": len(signals)}) as txn:
        for signal in signals:
            current = store.signals.get(signal["id"])  # under the write lock: reviewed once, whoever comes first
            if current.get("closed_on"):
                raise ChangedMeanwhile(
                    _("signal {signal} was reviewed meanwhile by another command").format(signal=signal["id"][:8]), hint=_("run the command again")
                )
            if day.isoformat() < current["opened_on"]:
                raise UsageError(
                    _("--date {day} is before the signal was raised ({opened})").format(day=day.isoformat(), opened=current["opened_on"]),
                )
            store.signals.close(txn, current, day, {"status": "reviewed", "outcome": code, "reviewed_on": day.isoformat(), "reviewed_by": me, "reason": why})
            task_id = current.get("task_id")
            if task_id:
                try:
                    task = store.tasks.get(task_id)
                except NotFound:
                    task = None
                if task is not None and not task.get("done_on"):
                    store.tasks.finish(txn, task, day, {"done_by": me, "done_note": code, "signal_outcome": code})
                    tasks_done += 1
            closed.append({"signal_id": current["id"], "rule": current.get("rule"), "opened_on": current["opened_on"]})
    return {
        "student_no": student["student_no"],
        "name": student.get("name") or "",
        "outcome": code,
        "on": day.isoformat(),
        "reviewed": closed,
        "tasks_done": tasks_done,
        "level": student.get("level") or "none",
    }
