"""Peer-report signals (五级网络): a 心理委员 or 寝室长 named a student in a report.

A named student gets a signal of rule ``peer_report`` (source ``peer``) and a
研判 task, like a campus signal (Step 14). Its roster part (rule, source,
college, period, unit, dates, hits, task) is what reports count; what the
report says (description, reporter, role, unit, period, whether the advisor
was told) is clinical:

* imported by a counselor or an admin, it goes into the signal's ``clin``;
* imported by a clerk, who holds no clinical key, it is sealed to the
  counselors' inbox (:meth:`mhtool.store.core.Store.inbox_seal`) and kept in
  the roster part as ``inbox``; the clerk cannot read it back, a counselor's
  read opens it (:func:`mhtool.store.repos.open_inbox`).

One open peer signal per student and period: a further report of the same
period (another unit, or the same unit again) extends it; the same unit and
role again replaces its earlier report instead of adding a hit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from mhtool.domain.labels import peer_explanation
from mhtool.store.repos import inbox_aad_id, peer_summary, put_report, report_key

RULE = "peer_report"
SOURCE = "peer"
TASK_KIND = "signal_review"
REVIEW_DAYS = 3
# What a report says of a named student: all of it clinical.
CONTENT_FIELDS = ("description", "reporter", "role", "unit", "period", "told_advisor")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def report_item(on: date, period: str, unit: str, content: dict) -> dict:
    """One report as a signal's history keeps it: its date, unit, role, the content and the sentences it shows."""
    facts = {k: content.get(k) for k in CONTENT_FIELDS}
    facts["unit"] = facts.get("unit") or unit
    facts["period"] = facts.get("period") or period
    for k, v in content.items():
        facts.setdefault(k, v)
    return {
        "on": on.isoformat(),
        "unit": unit,
        "role": str(content.get("role") or ""),
        "period": period,
        "facts": facts,
        "explanation": peer_explanation(facts, "zh"),
        "explanation_en": peer_explanation(facts, "en"),
    }


def open_peer_signal(txn, student_id: str, on: date, college: str, period: str, unit: str, content: dict, review_days: int = REVIEW_DAYS) -> str:
    """Raise (or extend) the student's peer-report signal for ``period`` inside the caller's write; returns the signal id.

    A new signal comes with a 研判 task due ``review_days`` after ``on``. An open
    ``peer_report`` signal of the student for the same period is extended
    instead (no second task). ``content`` goes into ``clin`` when the session
    holds the clinical key, else it is sealed to the counselors' inbox; a
    store whose inbox was never set up raises StoreError (a counselor or admin
    must open the store once).
    """
    store = txn.store
    clinical = store.holds_clinical()
    item = report_item(on, period, unit, content)
    key = report_key(item)
    current = [s for s in store.signals.open(student_id) if s.get("rule") == RULE and s.get("period") == period]
    if current:
        signal = current[-1]
        units = [list(u) for u in signal.get("units") or []]
        if list(key) not in units:
            units.append(list(key))
        changes = {
            "units": units,
            "hits": len(units),
            "last_hit_on": max(str(signal.get("last_hit_on") or signal.get("opened_on") or ""), item["on"]),
        }
        if clinical:
            # Read with the clinical key: any inbox blobs are already merged into the history.
            history = put_report(list(signal.get("history") or []), item)
            signal.pop("inbox", None)
            changes.update(peer_summary(history))
        else:
            inbox = [dict(x) for x in signal.get("inbox") or [] if isinstance(x, dict)]
            at = next((i for i, x in enumerate(inbox) if (str(x.get("unit") or ""), str(x.get("role") or "")) == key), len(inbox))
            entry = {"unit": key[0], "role": key[1], "blob": store.inbox_seal(item, inbox_aad_id(signal["id"], at, *key))}
            if at == len(inbox):
                inbox.append(entry)
            else:
                inbox[at] = entry
            changes["inbox"] = inbox
        signal.update(changes)
        store.signals.save(txn, signal)
        return signal["id"]
    student = store.students.get(student_id)
    signal_id = store.signals.new_id()
    due = on + timedelta(days=review_days)
    assignee = student.get("counselor") or student.get("advisor") or ""
    task_id = store.tasks.add(
        txn, student_id, TASK_KIND, due,
        {"signal_id": signal_id, "assigned_to": assignee, "created_by": store.staff.name, "created_at": _now()},
    )  # fmt: skip
    record = {
        "rule": RULE,
        "source": SOURCE,
        "college": college or student.get("college") or "",
        "period": period,
        "unit": unit,
        "units": [list(key)],
        "opened_on": on.isoformat(),
        "last_hit_on": on.isoformat(),
        "hits": 1,
        "status": "open",
        "outcome": None,
        "reviewed_on": None,
        "reviewed_by": None,
        "task_id": task_id,
        "created_by": store.staff.name,
        "created_at": _now(),
    }
    if clinical:
        record.update(peer_summary([item]))
    else:
        record["inbox"] = [{"unit": key[0], "role": key[1], "blob": store.inbox_seal(item, inbox_aad_id(signal_id, 0, *key))}]
    store.signals.add(txn, student_id, on.isoformat(), record, record_id=signal_id)
    return signal_id
