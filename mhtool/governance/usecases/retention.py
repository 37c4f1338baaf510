"""Retention and erasure: a student's records are erased once the store's retention period is over, or on request.

**What erasure leaves.** The student's row stays, under the same record id, so
the audit chain's references (``students/<id>``) still point somewhere; its
sealed data is replaced by a placeholder that holds no personal data: the
student's stable research pseudonym (the one ``export research
--stable-pseudonyms`` gives, so a research team can be told which rows to
drop), the dates that mattered (when the dossier was opened, when the student
left and how), and the fact of erasure: when, by whom, on what basis, why, and
how many records went. The student's entries, tasks, responses, referrals and
watch episodes are deleted.

**No lookup by number.** The placeholder's blind index is replaced by random
bytes that are not the HMAC of anything, so the student number can no longer
be found: ``cases show`` says "no student", and a later import of the same
number opens a new, empty dossier. (Whoever holds the stable pseudonym key and
a number can still compute that number's pseudonym and recognise the
placeholder: that is what lets an erasure request be confirmed.)

**Not recoverable from the file.** SQLite runs with ``secure_delete`` so
deleted cells and freed pages are zeroed; after the erasure the WAL is
checkpointed and truncated, the file is rebuilt with ``VACUUM`` (no free pages
left) and checkpointed again (:func:`scrub`). Backups made earlier still hold
the data: they must be renewed or destroyed under the same policy.

Retention is counted from the day the student graduated or withdrew, as
recorded by the ``status_change`` entry (its ``on`` field, else its date). A
graduated or withdrawn student without such an entry has no known date and is
never erased automatically; ``mhtool erase`` handles that case.

**Campus facts (多源预警).** The daily facts imported from the dorm access,
campus card and academic systems are kept for the store's ``signal_fact_days``
(default 140, one term): ``retention apply`` also removes every day and night
older than that, and the school's daily card medians with them (academic
results are not dated by day and are kept until the student's own erasure). A
student's record left without any fact is deleted. ``retention plan`` counts
what would go. The signals raised stay in the dossier.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone

from mhtool.domain import dates
from mhtool.errors import NotFound, UsageError
from mhtool.i18n import _
from mhtool.signals.domain import facts as signal_facts
from mhtool.signals.usecases.settings import SCHOOL_KEY, fact_cutoff, fact_days
from mhtool.store.admin import require_secure_delete, scrub
from mhtool.store.counseling_repos import ERASED_WITH_STUDENT
from mhtool.store.repos import STUDENT_TABLES

DEFAULT_RETENTION_YEARS = 5
LEFT_STATUSES = ("graduated", "withdrawn")
ERASED_STATUS = "erased"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- pure rules -----------------------------------------------------------------------------------


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def left_on(entries: list[dict]) -> tuple[str | None, date | None]:
    """(status, day) of the student's latest departure (graduation or withdrawal) in their timeline."""
    best: tuple[date, str] | None = None
    for entry in entries:
        if entry.get("kind") != "status_change":
            continue
        fields = entry.get("fields") or {}
        if fields.get("to") not in LEFT_STATUSES:
            continue
        text = fields.get("on") or entry.get("date") or entry.get("on_date")
        try:
            day = date.fromisoformat(str(text)[:10])
        except ValueError:
            continue
        if best is None or day >= best[0]:
            best = (day, fields["to"])
    return (best[1], best[0]) if best else (None, None)


def retention_years(store) -> int:
    """The store's retention period in years (a damaged setting gives the default)."""
    value = store.setting("retention_years", DEFAULT_RETENTION_YEARS)
    try:
        years = int(value)
    except (TypeError, ValueError):
        return DEFAULT_RETENTION_YEARS
    return years if years >= 1 else DEFAULT_RETENTION_YEARS


def placeholder(student: dict, *, pseudonym: str, basis: str, reason: str, by: str, counts: dict, left: tuple[str | None, date | None]) -> dict:
    """The sealed data of an erased student's row: no personal data, only the fact of erasure.

    The roster keys are kept, empty, so code that lists students does not meet
    a missing key; ``student_no`` shows the pseudonym.
    """
    status, day = left
    created = str(student.get("created_at") or "")[:10] or None
    return {
        "student_no": pseudonym,
        "name": "",
        "gender": "",
        "college": "",
        "major": "",
        "grade": "",
        "class_name": "",
        "dorm": "",
        "phone": "",
        "advisor": "",
        "advisor_phone": "",
        "guardians": [],
        "groups": [],
        "tags": [],
        "status": ERASED_STATUS,
        "level": "none",
        "level_since": None,
        "level_reason": None,
        "counselor": "",
        "source": "erased",
        "created_at": created,
        "updated_at": _now(),
        "erased": {
            "pseudonym": pseudonym,
            "at": _now(),
            "by": by,
            "basis": basis,
            "reason": reason,
            "dossier_opened_on": created,
            "left_status": status or student.get("status"),
            "left_on": day.isoformat() if day else None,
            "records": counts,
        },
    }


# -- plan -----------------------------------------------------------------------------------------


def _entries_by_student(store, ids: list[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {sid: [] for sid in ids}
    for entry in store.entries.for_students(ids):
        out[entry["student_id"]].append(entry)
    return out


def _candidates(store, *, today: date, left_before: date | None) -> tuple[list[dict], list[dict]]:
    """(due, undated): students past the retention period, and left students without a known date."""
    years = retention_years(store)
    left = [s for s in store.students.all() if s.get("status") in LEFT_STATUSES and not s.get("erased") and store.in_scope(s.get("college"))]
    entries = _entries_by_student(store, [s["id"] for s in left])
    due, undated = [], []
    for s in left:
        status, day = left_on(entries[s["id"]])
        row = {
            "id": s["id"],
            "student_no": s["student_no"],
            "name": s.get("name") or "",
            "college": s.get("college") or "",
            "grade": s.get("grade") or "",
            "status": s.get("status"),
            "left_on": day.isoformat() if day else None,
            "retain_until": add_years(day, years).isoformat() if day else None,
        }
        if day is None:
            undated.append(row)
            continue
        if add_years(day, years) > today:
            continue
        if left_before is not None and day >= left_before:
            continue
        row["_left"] = (status, day)
        due.append(row)
    due.sort(key=lambda r: (r["left_on"], r["college"], r["student_no"]))
    undated.sort(key=lambda r: (r["college"], r["student_no"]))
    return due, undated


def _public(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("_")}


# -- campus facts past their period ---------------------------------------------------------------


def _expired_facts(store, cutoff: date) -> tuple[list[tuple[dict, dict]], int]:
    """(record, facts kept) of each stored fact record holding days before ``cutoff``, and how many days go."""
    changed, days = [], 0
    for record in store.signal_facts.all():
        source = record.get("source")
        if source not in signal_facts.DAY_KEYS:
            continue
        before = store.signal_facts.sealed(record)
        kept = signal_facts.prune(source, before, cutoff)
        key = signal_facts.DAY_KEYS[source]
        gone = len(before.get(key) or {}) - len(kept.get(key) or {})
        if gone:
            changed.append((record, kept))
            days += gone
    return changed, days


def facts_plan(store, today: date) -> dict:
    """What retention would remove of the campus facts: the cut-off day, the days, the records touched and emptied."""
    cutoff = fact_cutoff(store, today)
    changed, days = _expired_facts(store, cutoff)
    emptied = sum(1 for record, kept in changed if signal_facts.is_empty(record["source"], kept))
    return {"signal_fact_days": fact_days(store), "before": cutoff.isoformat(), "days": days, "records": len(changed), "records_emptied": emptied}


def prune_facts(store, today: date) -> dict:
    """Remove the campus facts older than ``signal_fact_days`` (one transaction and audit entry); the counts removed."""
    cutoff = fact_cutoff(store, today)
    with store.write("retention.signal-facts", details={"before": cutoff.isoformat()}) as txn:
        changed, days = _expired_facts(store, cutoff)
        emptied = 0
        for record, kept in changed:
            if signal_facts.is_empty(record["source"], kept):
                store.signal_facts.remove(txn, record)
                emptied += 1
            else:
                store.signal_facts.put(txn, record["student_id"], record["source"], kept, current=record)
        school = store.sealed_values.get(SCHOOL_KEY) or {}
        if school.get("card"):
            kept_school = signal_facts.prune("card", school["card"], cutoff)
            if kept_school != school["card"]:
                txn.put_value(SCHOOL_KEY, {**school, "card": kept_school})
        result = {"signal_fact_days": fact_days(store), "before": cutoff.isoformat(), "days": days, "records": len(changed), "records_emptied": emptied}
        txn.details.update(days=days, records=len(changed), records_emptied=emptied)
    return result


def plan(store, *, left_before: date | None = None, today: date | None = None) -> dict:
    """Students whose records are past the retention period (admin); the read is audited.

    ``left_before`` narrows the plan to students who left before that day; it
    never brings in anyone still inside the retention period.
    """
    store.require("erase", action="retention.plan")
    today = today or dates.today(store.tz)
    due, undated = _candidates(store, today=today, left_before=left_before)
    expired = facts_plan(store, today)
    store.audit_read(
        "retention.plan",
        targets=[f"students/{r['id']}" for r in due],
        details={
            "due": len(due), "undated": len(undated), "signal_fact_days": expired["days"],
            **({"left_before": left_before.isoformat()} if left_before else {}),
        },
    )  # fmt: skip
    return {
        "retention_years": retention_years(store),
        "today": today.isoformat(),
        "left_before": left_before.isoformat() if left_before else None,
        "due": [_public(r) for r in due],
        "undated": [_public(r) for r in undated],
        "signal_facts": expired,
    }


# -- erasure --------------------------------------------------------------------------------------


def _erase_student(store, student: dict, *, action: str, basis: str, reason: str, left: tuple[str | None, date | None]) -> dict:
    from mhtool.governance.usecases.exports import stable_key
    from mhtool.governance.domain.research import pseudonym as make_pseudonym

    sid = student["id"]
    with store.write(action, targets=[f"students/{sid}"], details={"basis": basis, "reason": reason}) as txn:
        counts = {repository.table: repository(store).delete_for_student(txn, sid) for repository in (*STUDENT_TABLES, *ERASED_WITH_STUDENT)}
        alias = make_pseudonym(stable_key(txn), student["student_no"])
        record = placeholder(student, pseudonym=alias, basis=basis, reason=reason, by=store.staff.name, counts=counts, left=left)
        store.students.replace_with_placeholder(txn, sid, record)
        txn.details.update(pseudonym=alias, records=counts)
    return {"id": sid, "pseudonym": alias, "left_on": record["erased"]["left_on"], "records": counts}


def apply(
    store, *, left_before: date | None = None, today: date | None = None, confirm: Callable[[int], bool] | None = None
) -> dict | None:
    """Erase every student :func:`plan` lists (admin), one transaction and audit entry each, then scrub.

    ``confirm``, when given, is asked with the number of students about to be
    erased; a no erases nothing and returns None. Run with nothing due, it
    still scrubs: that finishes an earlier run whose scrub was blocked by
    another process.
    """
    store.require("erase", action="retention.apply")
    require_secure_delete(store)
    today = today or dates.today(store.tz)
    years = retention_years(store)
    due, _undated = _candidates(store, today=today, left_before=left_before)
    if confirm is not None and not confirm(len(due)):
        return None
    erased = []
    for row in due:
        student = store.students.get(row["id"])
        status, day = row["_left"]
        reason = f"retention: {status} on {day.isoformat()}, kept {years} years"
        erased.append(_erase_student(store, student, action="retention.erase", basis="retention", reason=reason, left=row["_left"]))
    # Campus facts past their period go too (unscoped: facts are kept per store, not per college).
    facts = prune_facts(store, today) if facts_plan(store, today)["days"] else None
    return {"erased": len(erased), "students": erased, "signal_facts": facts, "scrub": scrub(store)}


def erase(store, student_no: str, *, reason: str | None, confirm: Callable[[], bool] | None = None) -> dict | None:
    """Erase one student's records on request (admin), then scrub the file.

    ``confirm``, when given, is asked once the request is known to be allowed;
    a no erases nothing and returns None.
    """
    store.require("erase", action="erase")
    require_secure_delete(store)
    why = " ".join((reason or "").split())
    if not why:
        raise UsageError(_("an erasure needs --reason"), hint=_('e.g. --reason "本人书面申请删除（2026-11-20 收）"'))
    if confirm is not None and not confirm():
        return None
    student = store.students.find(student_no)
    if student is None or student.get("erased"):
        raise NotFound(_("no student with number {student_no!r}").format(student_no=student_no))
    store.require_college(student.get("college"), action="erase", targets=[f"students/{student['id']}"])
    result = _erase_student(store, student, action="erase", basis="request", reason=why, left=left_on(store.entries.for_student(student["id"])))
    result["scrub"] = scrub(store)
    return result


def placeholders(store) -> list[dict]:
    """Every erased student's placeholder (admin), for the record of what was erased."""
    store.require("erase", action="retention.erased")
    rows = [s for s in store.students.all() if s.get("erased")]
    out = [{"id": s["id"], **s["erased"]} for s in rows]
    store.audit_read("retention.erased", details={"count": len(out)})
    return sorted(out, key=lambda r: r["at"])
