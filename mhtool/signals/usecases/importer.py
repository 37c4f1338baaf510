"""``signals import``: a campus export becomes per-student facts, and the rules over them become signals.

One import, in order: permission (``signals``: counselor or admin) → the purpose
the store's policy asks for → the file's digest against the import log (the same
file again adds nothing) → the reader (:mod:`mhtool.io.campus`) aggregates the raw
rows into per-person facts in memory → the people are matched to dossiers → one
``BEGIN IMMEDIATE`` transaction merges the facts, evaluates the rules and writes the
signals and their 研判 tasks, with one audit entry (source, period, rows, matched,
unmatched). ``dry_run`` does everything but the transaction.

**Idempotent.** Facts are merged day by day (:func:`mhtool.signals.domain.facts.merge`:
the latest import of a day wins), so an overlapping period stores nothing twice; a
hit the student's signals already hold adds nothing (:func:`decide`); a repeated hit
of a rule with an open signal extends that signal (``hits``, ``last_hit_on``,
``history``) and opens no second task.

**As of the data, never the clock.** Rules are evaluated as of the last day the
stored data of the source covers (the latest ``last_day`` in the import log), or
``as_of``; re-running an old file gives the same signals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from mhtool.domain import dates
from mhtool.domain import student_no as student_numbers
from mhtool.errors import InvalidInput, UsageError
from mhtool.i18n import _
from mhtool.signals.domain import facts as facts_domain
from mhtool.signals.domain.facts import SOURCES, Hit
from mhtool.signals.domain.rules import RuleSet, evaluate, rules_in_force
from mhtool.signals.usecases import context as context_rules
from mhtool.signals.usecases.settings import IMPORTS_KEY, RULES_KEY, SCHOOL_KEY, credits_required

ACTION = "signals.import"
TASK_KIND = "signal_review"
# Statuses of students who have left: their campus data is not kept and raises nothing.
LEFT_SCHOOL = ("withdrawn", "graduated", "erased")
# A rule that can hold only once in a student's record: a second signal of it is never opened.
ONCE_RULES = frozenset({"first_fail"})
# How many unmatched person codes a summary names (the count is always complete).
UNMATCHED_SHOWN = 20

Progress = Callable[[int | None, str], object]


@contextmanager
def no_progress(total: int | None, description: str) -> Iterator[Callable[..., None]]:
    yield lambda n=1: None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- small checks -----------------------------------------------------------------------------------


def check_source(source: str | None) -> str:
    text = (source or "").strip().lower()
    if text not in SOURCES:
        raise UsageError(
            _("--source {value!r}: use dorm (门禁), card (一卡通) or academic (教务)").format(value=source or ""),
            hint=_("say which system the file comes from, e.g. --source dorm"),
        )
    return text


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes, read in blocks (a term of passes is gigabytes)."""
    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError:
        raise InvalidInput(_("{file}: no such file").format(file=path)) from None
    except IsADirectoryError:
        raise InvalidInput(_("{file}: is a folder, not a file").format(file=path)) from None
    except OSError as exc:
        raise InvalidInput(_("cannot read {file}: {reason}").format(file=path, reason=exc.strerror or exc)) from None
    return h.hexdigest()


def import_digest(store, source: str, digest: str) -> str:
    """The keyed digest the import log keeps (HMAC under the store's blind-index key: no dictionary test from outside)."""
    return store.blind_index(f"{source}:{digest}", "signal_file").hex()


def earlier_import(store, log: list[dict], source: str, digest: str) -> dict | None:
    """The import of this very file (for this source) recorded in ``log``, or None."""
    known = {bi.hex() for bi in store.blind_candidates(f"{source}:{digest}", "signal_file")}
    for entry in log:
        if entry.get("digest") in known:
            return entry
    return None


def parse_as_of(value, today: date) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return dates.parse_date(str(value), today=today, option="--as-of")


def coverage_end(log: Iterable[dict], source: str) -> date | None:
    """The last day the stored data of ``source`` covers: the latest ``last_day`` of its imports."""
    days = [e.get("last_day") for e in log if e.get("source") == source and e.get("last_day")]
    return date.fromisoformat(max(days)) if days else None


# -- reading the file -------------------------------------------------------------------------------


def read_file(path: Path, source: str, *, profile: str, mapping: Path | None, progress: Progress, dry_run: bool = False) -> dict:
    """The reader's aggregate of ``path`` as a plain dict (the :class:`~mhtool.signals.domain.facts.Aggregate` fields).

    For a dry run also ``layout``: how the reader maps the file's columns
    (:func:`mhtool.io.campus.plan`). Academic exports carry terms, not days:
    their period is the end of the latest term (:func:`term_end`).
    """
    from mhtool.io import campus

    layout = campus.plan(path, source, profile) if dry_run else None
    with progress(None, _("reading {file}").format(file=path.name)):
        agg = campus.read_campus(path, source, profile=profile, mapping=mapping)
    agg = dict(agg)
    if agg.get("source") not in (None, source):
        raise InvalidInput(
            _("{file} holds {found} data, not {source}").format(file=path.name, found=agg.get("source"), source=source),
            hint=_("give the --source the file comes from"),
        )
    if layout is not None:
        agg["layout"] = layout
    if source == "academic":
        terms = sorted({c.get("term") for f in (agg.get("people") or {}).values() for c in f.get("courses") or [] if c.get("term")}, key=facts_domain.term_key)
        agg["terms"] = [terms[0], terms[-1]] if terms else []
        ends = [e for e in (term_end(t) for t in terms) if e is not None]
        agg["period_end"] = max(ends).isoformat() if ends else None
    return agg


def term_end(term: str) -> date | None:
    """The last day of an academic term: 2025-2026-1 ends on 31 January 2026, -2 on 31 July 2026, -3 (summer) on 31 August 2026."""
    import re

    match = re.fullmatch(r"\s*(\d{4})\s*-\s*(\d{4})\s*-\s*(\d)\s*", str(term or ""))
    if not match:
        return None
    year, part = int(match.group(2)), int(match.group(3))
    return {1: date(year, 1, 31), 2: date(year, 7, 31), 3: date(year, 8, 31)}.get(part)


def combine(source: str, a: dict, b: dict) -> dict:
    """The facts of two codes that are one student (two cards of one person): days summed, nights out if either was out."""
    if source == "academic":
        return {"courses": list(a.get("courses") or []) + list(b.get("courses") or [])}
    key = facts_domain.DAY_KEYS[source]
    out = dict(a.get(key) or {})
    for day, value in (b.get(key) or {}).items():
        if day not in out:
            out[day] = value
        elif source == "dorm":
            out[day] = max(out[day], value)
        else:
            out[day] = [out[day][0] + value[0], out[day][1] + value[1]]
    return {key: dict(sorted(out.items()))}


@dataclass
class Matched:
    """The people of a file, matched to dossiers."""

    facts: dict[str, dict] = field(default_factory=dict)  # student id -> the file's facts
    students: dict[str, dict] = field(default_factory=dict)  # student id -> the student record
    unmatched: list[str] = field(default_factory=list)  # codes no dossier (in the caller's colleges) has
    left_school: int = 0  # people matched to students who have left (withdrawn, graduated, erased)
    out_of_scope: list[str] = field(default_factory=list)  # student ids outside the caller's colleges (audited)


def match_people(store, people: dict[str, dict], source: str) -> Matched:
    """Match the file's person codes (学号, or a card number the reader mapped to one) to dossiers."""
    out = Matched()
    numbers: dict[str, str] = {}
    for code in people:
        number = student_numbers.normalise(code)
        if student_numbers.shape_problem(number) is None:
            numbers[code] = number
        else:
            out.unmatched.append(code)
    found = store.students.by_numbers(set(numbers.values()))
    for code, number in numbers.items():
        student = found.get(number)
        if student is None or student.get("erased"):
            out.unmatched.append(code)
            continue
        if not store.in_scope(student.get("college")):
            # A scoped member hears the same of another college's number as of a number nobody has.
            out.unmatched.append(code)
            out.out_of_scope.append(student["id"])
            continue
        if (student.get("status") or "enrolled") in LEFT_SCHOOL:
            out.left_school += 1
            continue
        sid = student["id"]
        out.students[sid] = student
        out.facts[sid] = combine(source, out.facts[sid], people[code]) if sid in out.facts else people[code]
    out.unmatched.sort()
    return out


# -- deciding what a hit does -----------------------------------------------------------------------


def decide(hit: Hit, signals: list[dict]) -> tuple[str, dict | None]:
    """What a rule's hit does to a student's signals (of any rule), as (what, signal).

    ``same``: a signal already holds exactly this hit (a file or period imported
    again) — nothing; ``extend``: a later hit of a rule with an open signal; ``refresh``:
    the open signal's hit of the same day, with other facts (data corrected by a later
    import) — its facts are replaced, no hit is added; ``older``: an earlier hit than
    the open signal's — nothing; ``reviewed``: a reviewed signal of the rule already
    covers that day, or the rule holds once per record (首次挂科) — nothing; ``new``.
    """
    same_rule = [s for s in signals if s.get("rule") == hit.rule]
    for signal in same_rule:
        if signal.get("facts") == hit.facts or any(h.get("facts") == hit.facts for h in signal.get("history") or []):
            return "same", signal
    open_ = [s for s in same_rule if not s.get("closed_on")]
    if open_:
        signal = open_[-1]
        last = signal.get("last_hit_on") or signal.get("opened_on")
        if hit.on > last:
            return "extend", signal
        if hit.on == last:
            return "refresh", signal
        return "older", signal
    if hit.rule in ONCE_RULES and same_rule:
        return "reviewed", same_rule[-1]
    for signal in same_rule:
        if (signal.get("last_hit_on") or signal.get("opened_on") or "") >= hit.on:
            return "reviewed", signal
    return "new", None


def _history_item(hit: Hit, as_of: date) -> dict:
    return {"on": hit.on, "as_of": as_of.isoformat(), "facts": hit.facts, "explanation": hit.explanation, "explanation_en": hit.explanation_en}


# -- the import ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What an import wrote (or, for a dry run, would write)."""

    facts_written: int = 0
    facts_removed: int = 0
    new: list[dict] = field(default_factory=list)
    extended: list[dict] = field(default_factory=list)
    refreshed: int = 0
    tasks: int = 0
    evaluated: int = 0


def import_file(
    store,
    exports,
    path,
    source: str,
    *,
    today: date,
    profile: str = "auto",
    mapping=None,
    as_of=None,
    dry_run: bool = False,
    purpose: str | None = None,
    progress: Progress | None = None,
) -> dict:
    """Import one campus export (see the module's text); returns the summary ``signals import --json`` prints."""
    progress = progress or no_progress
    store.require("signals", action=ACTION)
    source = check_source(source)
    stated = exports.purpose(purpose, what=_("a campus data import"))
    path = Path(path)
    mapping = Path(mapping) if mapping not in (None, "") else None
    given_as_of = parse_as_of(as_of, today)
    digest = file_digest(path)
    if mapping is not None:
        # The same file read through another (corrected) mapping is another import.
        digest = f"{digest}+{file_digest(mapping)}"
    log = list(store.sealed_values.get(IMPORTS_KEY) or [])
    summary = {"file": path.name, "source": source, "dry_run": dry_run, "already_imported": False}
    earlier = earlier_import(store, log, source, digest)
    if earlier is not None:
        return {**summary, "already_imported": True, "imported_on": earlier.get("imported_on"), "first_day": earlier.get("first_day"),
                "last_day": earlier.get("last_day"), "rows": earlier.get("rows", 0)}  # fmt: skip
    agg = read_file(path, source, profile=profile, mapping=mapping, progress=progress, dry_run=dry_run)
    people = agg.get("people") or {}
    first_day, last_day = agg.get("first_day"), agg.get("last_day")
    summary.update(first_day=first_day, last_day=last_day, rows=int(agg.get("rows") or 0), people=len(people))
    if "terms" in agg:
        summary["terms"] = agg["terms"]
    if "layout" in agg:
        summary["layout"] = agg["layout"]
    if agg.get("unmatched_note"):
        summary["note"] = agg["unmatched_note"]
    matched = match_people(store, people, source)
    if matched.out_of_scope:
        store.audit_denial(ACTION, [f"students/{sid}" for sid in sorted(set(matched.out_of_scope))], details={"people": len(matched.out_of_scope), "dry_run": dry_run})
    entry = {
        "source": source,
        "file": path.name,
        "first_day": first_day,
        # Academic results carry terms: the period the stored data covers ends with the latest term,
        # or on the day of the import for a term not over yet (grades are never dated ahead).
        "last_day": last_day or (min(agg["period_end"], today.isoformat()) if agg.get("period_end") else None),
        "rows": summary["rows"],
        "matched": len(matched.students),
        "unmatched": len(matched.unmatched),
        "imported_on": today.isoformat(),
        "by": store.staff.name,
    }
    day = given_as_of or coverage_end([*log, entry], source) or today
    summary.update(
        as_of=day.isoformat(),
        matched=len(matched.students),
        unmatched=len(matched.unmatched),
        unmatched_codes=matched.unmatched[:UNMATCHED_SHOWN],
        left_school=matched.left_school,
    )
    rules = rules_in_force(store.setting(RULES_KEY))
    audit = {k: v for k, v in entry.items() if k not in ("imported_on", "by")}
    audit.update(as_of=day.isoformat(), left_school=matched.left_school, **stated)
    if dry_run:
        outcome = _apply(store, None, source, agg, matched, rules, day, progress=progress)
        return _summary(summary, outcome)
    try:
        with store.write(ACTION, details=audit) as txn:
            # Under the write lock: the same file imported by another command meanwhile adds nothing (rolled back).
            log = list(store.sealed_values.get(IMPORTS_KEY) or [])
            earlier = earlier_import(store, log, source, digest)
            if earlier is not None:
                raise _ImportedMeanwhile(earlier)
            outcome = _apply(store, txn, source, agg, matched, rules, day, progress=progress)
            entry["digest"] = import_digest(store, source, digest)
            txn.put_value(IMPORTS_KEY, [*log, entry])
            txn.details.update(
                facts_written=outcome.facts_written, facts_removed=outcome.facts_removed,
                signals_new=len(outcome.new), signals_extended=len(outcome.extended), evaluated=outcome.evaluated,
            )  # fmt: skip
    except _ImportedMeanwhile as meanwhile:
        return {**summary, "already_imported": True, "imported_on": meanwhile.entry.get("imported_on")}
    return _summary(summary, outcome)


class _ImportedMeanwhile(Exception):
    """The file was imported by another command while this one read it: nothing is written."""

    def __init__(self, entry: dict):
        super().__init__("imported meanwhile")
        self.entry = entry


def _summary(summary: dict, outcome: Outcome) -> dict:
    return {
        **summary,
        "facts_written": outcome.facts_written,
        "facts_removed": outcome.facts_removed,
        "evaluated": outcome.evaluated,
        "signals_new": len(outcome.new),
        "signals_extended": len(outcome.extended),
        "tasks_opened": outcome.tasks,
        "new_signals": outcome.new,
        "extended_signals": outcome.extended,
    }


def _apply(store, txn, source: str, agg: dict, matched: Matched, rules: RuleSet, as_of: date, *, progress: Progress) -> Outcome:
    """Merge the facts and evaluate the rules; with ``txn`` None (a dry run) nothing is written."""
    outcome = Outcome()
    first_day, last_day = agg.get("first_day"), agg.get("last_day")
    repo = store.signal_facts
    stored = {r["student_id"]: r for r in repo.all_of_source(source)}
    merged: dict[str, dict] = {}
    # Everyone with stored facts of the source: a day the new file covers replaces what was stored of it,
    # for the people the file no longer names too. Only the caller's colleges are touched.
    absent = [sid for sid in stored if sid not in matched.facts]
    others = store.students.by_ids(absent) if absent and store.staff.scoped() else {}
    for sid in [*matched.facts, *absent]:
        if sid not in matched.facts and store.staff.scoped() and not store.in_scope((others.get(sid) or {}).get("college")):
            continue
        current = stored.get(sid)
        before = repo.sealed(current) if current is not None else {}
        new = matched.facts.get(sid)
        if new is None and (first_day is None or last_day is None):
            merged[sid] = before
            continue
        after = facts_domain.merge(source, before, new or {}, first_day, last_day)
        merged[sid] = after
        if after == before:
            continue
        if facts_domain.is_empty(source, after):
            if current is not None:
                outcome.facts_removed += 1
                if txn is not None:
                    repo.remove(txn, current)
            continue
        outcome.facts_written += 1
        if txn is not None:
            repo.put(txn, sid, source, after, current=current)
    school_card: dict = {}
    school = store.sealed_values.get(SCHOOL_KEY) or {}
    if source == "card":
        school_card = facts_domain.merge("card", school.get("card"), agg.get("school") or {}, first_day, last_day)
        if txn is not None and school_card != school.get("card"):
            txn.put_value(SCHOOL_KEY, {**school, "card": school_card})
    else:
        school_card = school.get("card") or {"days": {}}
    # Who is evaluated: the people of the file; for the card rules everyone with card facts, since
    # a student who stopped eating in the canteens is exactly the one the file no longer names.
    if source == "card":
        ids = [sid for sid, f in merged.items() if not facts_domain.is_empty(source, f)]
    else:
        ids = [sid for sid in matched.facts if not facts_domain.is_empty(source, merged.get(sid))]
    students = dict(matched.students)
    missing = [sid for sid in ids if sid not in students]
    if missing:
        students.update(store.students.by_ids(missing))
    ids = [sid for sid in ids if sid in students and _on_roll(students[sid]) and store.in_scope(students[sid].get("college"))]
    timelines: dict[str, list[dict]] = {}
    leave_ids = [sid for sid in ids if context_rules.may_have_leave(students[sid])]
    for e in store.entries.for_students(leave_ids) if leave_ids else ():
        timelines.setdefault(e["student_id"], []).append(e)
    signals_of: dict[str, list[dict]] = {}
    for s in store.signals.for_students(ids) if ids else ():
        signals_of.setdefault(s["student_id"], []).append(s)
    credits = credits_required(store)
    outcome.evaluated = len(ids)
    with progress(len(ids), _("evaluating the rules")) as advance:
        for sid in ids:
            student = students[sid]
            ctx = context_rules.student_context(student, timelines.get(sid, ()), as_of, school_card=school_card, credits=credits)
            for hit in evaluate(rules, {source: merged[sid]}, ctx, as_of):
                _record_hit(store, txn, outcome, student, hit, signals_of.setdefault(sid, []), rules, as_of)
            advance(1)
    return outcome


def _on_roll(student: dict) -> bool:
    return (student.get("status") or "enrolled") not in LEFT_SCHOOL and not student.get("erased")


def _record_hit(store, txn, outcome: Outcome, student: dict, hit: Hit, signals: list[dict], rules: RuleSet, as_of: date) -> None:
    what, signal = decide(hit, signals)
    rule = rules[hit.rule]
    shown = {
        "student_no": student["student_no"], "name": student.get("name") or "", "rule": hit.rule,
        "rule_name": rule.name, "rule_name_en": rule.name_en, "on": hit.on,
    }  # fmt: skip
    if what == "new":
        due = date.fromisoformat(hit.on) + timedelta(days=rule.review_days)
        assignee = student.get("counselor") or student.get("advisor") or ""
        record = {
            "rule": hit.rule,
            "source": hit.source,
            "college": student.get("college") or "",
            "opened_on": hit.on,
            "last_hit_on": hit.on,
            "hits": 1,
            "status": "open",
            "outcome": None,
            "reviewed_on": None,
            "reviewed_by": None,
            "as_of": as_of.isoformat(),
            "created_by": store.staff.name,
            "created_at": _now(),
            "facts": hit.facts,
            "explanation": hit.explanation,
            "explanation_en": hit.explanation_en,
            "history": [_history_item(hit, as_of)],
        }
        signal_id = store.signals.new_id()
        if txn is not None:
            task_id = store.tasks.add(
                txn, student["id"], TASK_KIND, due,
                {"signal_id": signal_id, "assigned_to": assignee, "created_by": store.staff.name, "created_at": _now()},
            )  # fmt: skip
            record["task_id"] = task_id
            store.signals.add(txn, student["id"], hit.on, record, record_id=signal_id)
        signals.append({**record, "id": signal_id, "student_id": student["id"], "closed_on": None})
        outcome.new.append({**shown, "signal_id": signal_id if txn is not None else None, "due": due.isoformat()})
        outcome.tasks += 1
        return
    if what not in ("extend", "refresh"):
        return
    history = list(signal.get("history") or [])
    if what == "extend":
        history.append(_history_item(hit, as_of))
        changes = {"hits": int(signal.get("hits") or 1) + 1, "last_hit_on": hit.on}
        outcome.extended.append({**shown, "signal_id": signal["id"], "hits": changes["hits"]})
    else:
        history[-1:] = [_history_item(hit, as_of)]
        changes = {}
        outcome.refreshed += 1
    changes.update(facts=hit.facts, explanation=hit.explanation, explanation_en=hit.explanation_en, history=history, as_of=as_of.isoformat())
    signal.update(changes)
    if txn is not None:
        store.signals.save(txn, signal)

