"""The figures that appear in more than one report, each defined once.

A weekly, a monthly and a census report that say 逾期, 已约谈, 阳性, 人数 or
人次 must mean the same thing by it, or an office reading two of them side by
side finds two numbers under one label. Every builder counts through these
functions; none counts these facts on its own.

- **逾期 (overdue)**: a task of any kind (interview, follow-up, review,
  reminder, referral tasks) still open at the end of a day and past its due
  date on that day (:func:`mhtool.domain.rules.days_overdue`). A task is dated
  by its due date only: a screening imported late or back-dated is overdue from
  its due date, whenever its record was written.
- **阳性 (screening-positive)**: a response for which the screening proposes a
  watch level (一级/二级/三级), whatever the instrument's own score band says.
- **已约谈 (interviewed)**: a screening-positive student with an interview
  recorded on or after the day the batch was imported (and, for a report of a
  past period, on or before its last day).
- **人数 / 人次**: 人数 counts distinct students, 人次 counts responses (or
  records). A student who took three instruments is three 人次 and one 人数.
- **新增预警 (new signal)**: a 多源预警 signal whose first hit is dated
  (``opened_on``) within the period, up to its end. Repeated hits of one rule
  extend one signal, so a signal is counted once, in the period it opened.
- **已研判 / 待研判 (reviewed / pending)**: a signal is reviewed at the end of
  a day when a counselor recorded its outcome (关注 / 已知晓 / 排除) on or
  before that day, pending when it had opened by then and was not reviewed.
  For a period that ends today, the signals pending at its end are exactly
  the open signals of ``signals list``.
- **上报 (network reports, 五级网络)**: a class of the network roster has
  reported for a period when a report of one of the period's report periods
  (:func:`network_periods`) names it; a 零报告 (无异常) counts as reported. Of
  the reported classes, 有情况 are those with at least one 有情况 report, 零报告
  the others. Reports of classes not in the roster are not counted.

Pure: plain dicts in, plain values out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta

from mhtool.domain import rules
from mhtool.domain.periods import network_periods
from mhtool.domain.vocabulary import GROUPS, ON_ROLL_STATUSES, WATCH_LEVELS, highest

# The dossier fields a breakdown reads from the roster rather than from the export.
ROSTER_BREAKDOWN_FIELDS: tuple[str, ...] = ("gender", "college", "major", "grade", "class_name")


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# -- tasks ------------------------------------------------------------------------------------


def is_open_at(task: Mapping, day: date | str) -> bool:
    """Whether the task was not yet done (or cancelled) at the end of ``day``."""
    done = task.get("done_on")
    return not done or str(done)[:10] > _day(day).isoformat()


def days_overdue_at(task: Mapping, day: date | str) -> int:
    """Whole days the task is past due at the end of ``day``; 0 when it is done by then or not yet due."""
    if not is_open_at(task, day):
        return 0
    return rules.days_overdue(_day(task["due_on"]), _day(day))


def is_overdue_at(task: Mapping, day: date | str) -> bool:
    """逾期: open at the end of ``day`` and past its due date, for every kind of task."""
    return days_overdue_at(task, day) > 0


def overdue_at(tasks: Iterable[Mapping], day: date | str) -> list:
    """The tasks overdue at the end of ``day``, in the order given."""
    return [t for t in tasks if is_overdue_at(t, day)]


# -- screening --------------------------------------------------------------------------------


def proposed_level(response: Mapping) -> str:
    level = response.get("proposed_level") or "none"
    return level if level in WATCH_LEVELS else "none"


def is_positive(response: Mapping) -> bool:
    """阳性: the screening proposes a watch level for this response."""
    return proposed_level(response) != "none"


def persons(rows: Iterable[Mapping]) -> int:
    """人数: distinct students among ``rows`` (responses, records)."""
    return len({r["student_id"] for r in rows})


def visits(rows: Sequence) -> int:
    """人次: every response or record counts, the same student as often as they appear."""
    return len(rows)


def positive_students(responses: Iterable[Mapping]) -> set[str]:
    """The students the responses propose a watch level for (阳性人数 is its size)."""
    return {r["student_id"] for r in responses if is_positive(r)}


def highest_proposals(responses: Iterable[Mapping]) -> dict[str, str]:
    """Student id → the highest level any of their responses proposes (``none`` when none does).

    What a total over several instruments counts, so a student proposed red
    by one instrument and yellow by another is one red student.
    """
    levels: dict[str, list[str]] = {}
    for r in responses:
        levels.setdefault(r["student_id"], []).append(proposed_level(r))
    return {sid: highest(lvs) for sid, lvs in levels.items()}


def level_counts(levels: Iterable[str]) -> list[int]:
    """Counts of red, orange and yellow, then their sum (阳性)."""
    found = list(levels)
    counts = [sum(1 for lv in found if lv == level) for level in WATCH_LEVELS]
    return [*counts, sum(counts)]


def _days(value) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def interviewed(
    responses: Iterable[Mapping],
    interviews: Mapping[str, str | Sequence[str]],
    *,
    since: date | str,
    asof: date | str | None = None,
) -> set[str]:
    """已约谈: screening-positive students of ``responses`` interviewed on or after ``since`` (and by ``asof``).

    ``interviews`` maps a student id to the day (or days, ISO) of their
    recorded interviews; ``since`` is the batch's import day.
    """
    lo = _day(since).isoformat()
    hi = _day(asof).isoformat() if asof is not None else None
    out = set()
    for sid in positive_students(responses):
        if any(lo <= d[:10] and (hi is None or d[:10] <= hi) for d in _days(interviews.get(sid))):
            out.add(sid)
    return out


def interviews_overdue(responses: Iterable[Mapping], tasks: Iterable[Mapping], *, since: date | str, asof: date | str) -> set[str]:
    """约谈逾期: screening-positive students whose interview task, due since the import, is overdue at ``asof``.

    One open interview task serves every screening that proposed the student,
    so it is the student's task that counts, whichever batch opened it.
    """
    positive = positive_students(responses)
    lo = _day(since).isoformat()
    return {
        t["student_id"]
        for t in tasks
        if t.get("kind") == "interview" and t["student_id"] in positive and t["due_on"][:10] >= lo and is_overdue_at(t, asof)
    }


def with_roster(response: Mapping, student: Mapping | None) -> dict:
    """The response with the student's dossier values for the breakdown fields where the dossier has them.

    An export often leaves gender, grade or class empty (or spells them its
    own way); the roster is what the school knows about the student.
    """
    out = dict(response)
    for key in ROSTER_BREAKDOWN_FIELDS:
        value = (student or {}).get(key)
        if value not in (None, ""):
            out[key] = value
    return out


# -- the roster -------------------------------------------------------------------------------


def roster_colleges(students: Iterable[Mapping]) -> dict[str, dict]:
    """College → ``{"on_roll": n, "groups": {group: n}, "any_group": n}`` over the students on roll.

    The colleges a report lists even when nothing happened in them (零报告),
    and the 六类特殊群体 counts: a student in two groups counts in each
    group and once in ``any_group``. Students on leave, withdrawn or
    graduated are not on roll; dossiers without a college are left out.
    """
    out: dict[str, dict] = {}
    for s in students:
        if (s.get("status") or "enrolled") not in ON_ROLL_STATUSES:
            continue
        college = str(s.get("college") or "").strip()
        if not college:
            continue
        entry = out.get(college)
        if entry is None:
            entry = out[college] = {"on_roll": 0, "groups": dict.fromkeys(GROUPS, 0), "any_group": 0}
        entry["on_roll"] += 1
        if s.get("groups"):  # most students are in none: skip the work for them
            groups = [g for g in dict.fromkeys(s["groups"]) if g in entry["groups"]]
            for g in groups:
                entry["groups"][g] += 1
            entry["any_group"] += bool(groups)
    return dict(sorted(out.items()))


# -- signals (多源预警) ------------------------------------------------------------------------


def _iso(value) -> str:
    return str(value or "")[:10]


def signal_is_new(signal: Mapping, start: date | str, end: date | str) -> bool:
    """新增预警: the signal's first hit is dated within ``start``–``end``."""
    opened = _iso(signal.get("opened_on"))
    return bool(opened) and _day(start).isoformat() <= opened <= _day(end).isoformat()


def signal_reviewed_at(signal: Mapping, day: date | str) -> bool:
    """已研判: a counselor recorded the signal's outcome by the end of ``day``."""
    reviewed = _iso(signal.get("reviewed_on"))
    return bool(reviewed) and reviewed <= _day(day).isoformat()


def signal_pending_at(signal: Mapping, day: date | str) -> bool:
    """待研判: the signal had opened by the end of ``day`` and was not reviewed by then."""
    opened = _iso(signal.get("opened_on"))
    return bool(opened) and opened <= _day(day).isoformat() and not signal_reviewed_at(signal, day)


def signal_outcome_at(signal: Mapping, day: date | str) -> str | None:
    """What the review decided (``watch``, ``noted``, ``dismissed``), if it was recorded by the end of ``day``."""
    return (signal.get("outcome") or None) if signal_reviewed_at(signal, day) else None


def signal_counts(signals: Iterable[Mapping], start: date | str, asof: date | str) -> dict[str, Counter]:
    """College → counts of the period's signals: ``new:<rule>``, ``new``, ``reviewed``, ``outcome:<code>``, ``pending``, ``pending_end``.

    ``new`` counts the signals opened in ``start``–``asof``; ``reviewed`` and
    ``pending`` split them by their state at the end of ``asof``;
    ``pending_end`` counts every signal pending then, older ones included.
    """
    out: dict[str, Counter] = {}
    for s in signals:
        college = str(s.get("college") or "").strip()
        c = out.setdefault(college, Counter())
        if signal_pending_at(s, asof):
            c["pending_end"] += 1
        if not signal_is_new(s, start, asof):
            continue
        c["new"] += 1
        c[f"new:{s.get('rule') or ''}"] += 1
        if signal_reviewed_at(s, asof):
            c["reviewed"] += 1
            c[f"outcome:{signal_outcome_at(s, asof) or ''}"] += 1
        else:
            c["pending"] += 1
    return out


# -- network reports (五级网络) ------------------------------------------------------------------


def network_coverage(units: Iterable[Mapping], reports: Iterable[Mapping], periods: Iterable[str]) -> dict[str, dict]:
    """College → ``{"classes", "reported", "zero", "concern", "missing": [class names]}`` for the report periods ``periods``.

    ``units``: the classes of the network roster (``college``, ``unit``; a
    class listed twice, e.g. with its 心理委员 and its 辅导员, is one class;
    members of another ``unit_kind`` are left out). ``reports``: class reports
    (``unit_kind``, ``unit``, ``period``, ``status`` ``zero``/``concern``).
    A class is matched by its name, as the reports are keyed; its college is
    the roster's. ``zero + concern == reported`` and ``reported + len(missing)
    == classes`` in every college.
    """
    wanted = set(periods)
    colleges: dict[str, str] = {}
    for u in units:
        if (u.get("unit_kind") or "class") != "class":
            continue
        name = str(u.get("unit") or "").strip()
        if name:
            colleges.setdefault(name, str(u.get("college") or "").strip())
    status: dict[str, set] = {}
    for r in reports:
        name = str(r.get("unit") or "").strip()
        if (r.get("unit_kind") or "class") != "class" or name not in colleges or r.get("period") not in wanted:
            continue
        status.setdefault(name, set()).add(r.get("status") or "zero")
    out: dict[str, dict] = {}
    for name in sorted(colleges):
        c = out.setdefault(colleges[name], {"classes": 0, "reported": 0, "zero": 0, "concern": 0, "missing": []})
        c["classes"] += 1
        found = status.get(name)
        if found is None:
            c["missing"].append(name)
            continue
        c["reported"] += 1
        c["concern" if "concern" in found else "zero"] += 1
    return dict(sorted(out.items()))


# -- teaching weeks ---------------------------------------------------------------------------


def teaching_week(first_monday: date | None, start: date, end: date) -> int | None:
    """第N教学周 of the days ``start``–``end`` when they lie in one teaching week of the term, else None.

    Week 1 is the week of ``first_monday`` (the term's first Monday, a store
    setting); days before it belong to no teaching week.
    """
    if first_monday is None or start < first_monday:
        return None
    week = (start - first_monday).days // 7 + 1
    if (end - first_monday).days // 7 + 1 != week:
        return None
    return week


__all__ = [
    "days_overdue_at",
    "highest_proposals",
    "interviewed",
    "interviews_overdue",
    "is_open_at",
    "is_overdue_at",
    "is_positive",
    "level_counts",
    "network_coverage",
    "network_periods",
    "overdue_at",
    "persons",
    "positive_students",
    "proposed_level",
    "roster_colleges",
    "signal_counts",
    "signal_is_new",
    "signal_outcome_at",
    "signal_pending_at",
    "signal_reviewed_at",
    "teaching_week",
    "visits",
    "with_roster",
]
