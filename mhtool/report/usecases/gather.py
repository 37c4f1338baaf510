"""Reading the store into the plain data the report builders take.

The reader's role and college scope are checked, and the report audited, by
:class:`~mhtool.report.usecases.api.Reports` before and after it calls here;
this module only opens as few sealed records as the report needs, limited to
the reader's colleges.

Reports never open the whole school: the students a weekly or monthly report
needs are found through plaintext columns — watch episodes that may cover a
moment of the report, timeline entries of the period and tasks past due (see
:meth:`~mhtool.store.repos.Students.concerned_by`) — and only those
students, their timelines and their open tasks are decrypted.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from mhtool.cases.domain import model as cases_model
from mhtool.cases.usecases import service as cases
from mhtool.domain.periods import Period, months_back
from mhtool.domain.vocabulary import ON_ROLL_STATUSES, WATCH_LEVELS
from mhtool.errors import MhtoolError, NotFound, UsageError
from mhtool.referral.usecases import service as referral_service
from mhtool.report.domain.builders import CaseData, CensusData, CrisisData, task_batches
from mhtool.survey.usecases import registry


def _local_day(stamp: str | None, tz: ZoneInfo) -> str | None:
    """The store-zone calendar day of a recorded UTC timestamp."""
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp[:10]
    if moment.tzinfo is None:
        return moment.date().isoformat()
    return moment.astimezone(tz).date().isoformat()


def _local_time(stamp: str | None, tz: ZoneInfo) -> datetime | None:
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.replace(tzinfo=None, microsecond=0)


def _wanted(store, college: str | None):
    def keep(c: str | None) -> bool:
        return store.in_scope(c) and (college is None or (c or "") == college)

    return keep


def _task(t: dict, tz: ZoneInfo, entry_days: dict[str, str] | None = None) -> dict:
    """A task with ``created_on``: the day of the event that opened it, else the day it was recorded.

    An interview recorded today for last Tuesday schedules its follow-up from
    last Tuesday, so that is when the follow-up exists for a report.
    """
    created = (entry_days or {}).get(t.get("source_entry") or "") or _local_day(t.get("created_at"), tz)
    return {**t, "created_on": created, "cancelled": bool(t.get("cancelled"))}


# --------------------------------------------------------------------------- weekly / monthly


def case_data(store, period: Period, *, today: date, college: str | None = None, monthly: bool = False, trend_months: int = 6) -> CaseData:
    """The students, timelines, tasks and referrals a weekly (or monthly) report of ``period`` needs."""
    tz = ZoneInfo(store.tz)
    asof = min(period.end, today)
    first = months_back(period, trend_months)[0].start if monthly else period.start
    keep = _wanted(store, college)
    students = {s.id: s for s in store.students.concerned_by(first, period.start, period.end, asof) if keep(s.get("college"))}

    referrals = [r for r in referral_service.referrals_in(store, period.start, asof) if r["student_id"] in students or keep(r.get("college"))]
    students.update(store.students.by_ids(r["student_id"] for r in referrals if r["student_id"] not in students))

    watches = [w for w in store.watches.during(first, asof) if w["student_id"] in students]
    # Watched students' whole timelines (help measures and last contacts can be old);
    # for the others only what the report's moments can see.
    entries: dict[str, list[dict]] = {}
    for entry in store.entries.for_report(first, period.start, period.end, asof):
        if entry["student_id"] in students:
            entries.setdefault(entry["student_id"], []).append(entry)
    raw_tasks = [t for t in store.tasks.open_at(asof, first, period.start, period.end) if t["student_id"] in students]
    sources = {t.get("source_entry") for t in raw_tasks}
    entry_days = {x["id"]: x["date"] for xs in entries.values() for x in xs if x["id"] in sources}
    tasks = [_task(t, tz, entry_days) for t in raw_tasks]

    batches, batch_tasks = [], []
    if monthly:
        batches, batch_tasks = _batches(store, period, keep, scoped=college is not None or store.staff.scoped())

    return CaseData(
        today=today,
        students=students,
        watches=watches,
        entries=entries,
        tasks=tasks,
        referrals=referrals,
        batches=batches,
        batch_tasks=batch_tasks,
        college=college,
        clinical=store.can("clinical"),
        cadence=cases.cadence(store),
    )


def _batches(store, period: Period, keep, scoped: bool) -> tuple[list[dict], list[dict]]:
    """Screening batches imported in the period, counted over the reader's colleges.

    A reader who sees every college gets the counts the import recorded with
    the batch; otherwise the batch's responses are counted college by college.
    """
    tz = ZoneInfo(store.tz)
    out = []
    for b in store.batches.imported_between(period.start, period.end):
        if b.get("voided"):
            continue
        proposed = {lv: int((b.get("proposed") or {}).get(lv) or 0) for lv in WATCH_LEVELS}
        respondents = int(b.get("imported") or 0)
        if scoped:
            proposed = dict.fromkeys(proposed, 0)
            respondents = 0
            for r in store.responses.for_batch(b.id):
                if keep(r.get("college")):
                    respondents += 1
                    if r.get("proposed_level") in proposed:
                        proposed[r["proposed_level"]] += 1
        out.append({**b, "respondents": respondents, "proposed": proposed})
    if not out:
        return [], []
    ids = {b["id"] for b in out}
    first = date.fromisoformat(min(b["imported_on"] for b in out))
    tasks = [_task(t, tz) for t in store.tasks.due_since(first) if t.get("kind") == "interview" and task_batches(t) & ids]
    if scoped:
        students = store.students.by_ids(t["student_id"] for t in tasks)
        tasks = [t for t in tasks if keep((students.get(t["student_id"]) or {}).get("college"))]
    return out, tasks


# --------------------------------------------------------------------------- census


def find_batch(store, ref: str) -> dict:
    """A batch by id (or an unambiguous id prefix) or by its exact name."""
    text = (ref or "").strip()
    if not text:
        raise UsageError("BATCH is empty", hint="pass a batch id or name from `mhtool survey batches`")
    named = [b for b in store.batches.all() if b.get("name") == text]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise UsageError(f"{len(named)} batches are named {text!r}", hint="pass the batch id instead (see `mhtool survey batches`)")
    try:
        return store.batches.get(store.batches.resolve(text, "batch"))
    except (NotFound, UsageError):
        raise NotFound(f"no batch with id or name {text!r}", hint="see `mhtool survey batches`") from None


def _bands(instrument: str | None) -> tuple[tuple[str, str, str], ...]:
    """The instrument's bands in order with their labels, from the instruments the import scores with."""
    if not instrument:
        return ()
    try:
        return registry.instrument(instrument).band_labels()
    except MhtoolError:
        # A batch outlives the instrument files it was scored with; its codes still show.
        return ()


def census_data(store, batch: dict, *, today: date, college: str | None = None) -> CensusData:
    """One batch's responses, roster, interview tasks and interviews, limited to the reader's colleges."""
    keep = _wanted(store, college)
    responses = [r for r in store.responses.for_batch(batch["id"]) if keep(r.get("college"))]
    for r in responses:
        r.pop("answers", None)

    roster = None
    grades = {str(r.get("grade")).strip() for r in responses if r.get("grade")}
    on_roll = [s for s in store.students.all() if s.get("source") == "roster"]
    if on_roll:
        roster = {}
        for s in on_roll:
            if (s.get("status") or "enrolled") not in ON_ROLL_STATUSES or not keep(s.get("college")):
                continue
            if grades and str(s.get("grade") or "").strip() not in grades:
                continue
            roster.setdefault(s.get("college") or "", set()).add(s["id"])

    proposed_ids = [r["student_id"] for r in responses if (r.get("proposed_level") or "none") != "none"]
    students = store.students.by_ids(proposed_ids)
    tasks: dict[str, dict] = {}
    for t in store.tasks.for_students(proposed_ids):
        if t.get("kind") == "interview" and batch["id"] in task_batches(t):
            tasks[t["student_id"]] = t
    interviews: dict[str, str] = {}
    for e in store.entries.for_students_since(proposed_ids, date.fromisoformat(batch["imported_on"])):
        if e["kind"] == "interview":
            interviews.setdefault(e["student_id"], e["date"])
    return CensusData(
        batch=batch,
        responses=responses,
        today=today,
        bands=_bands(batch.get("instrument")),
        roster=roster,
        students=students,
        tasks=tasks,
        interviews=interviews,
        college=college,
    )


def interviewed_students(data: CensusData, *, college: str | None = None) -> list[str]:
    """The students a census report names: those proposed for an interview (on ``college``'s sheet, when given).

    The others appear only in counts.
    """
    return [
        r["student_id"]
        for r in data.responses
        if (r.get("proposed_level") or "none") != "none" and (college is None or str(r.get("college") or "").strip() == college)
    ]


# --------------------------------------------------------------------------- crisis


def crisis_entry(store, entry_ref: str) -> tuple[dict, dict]:
    """The crisis entry an id (or a prefix of 4+ characters) names, and its student."""
    entry = store.entries.get(store.entries.resolve(entry_ref, "entry"))
    if entry["kind"] != "crisis":
        raise UsageError(
            f"entry {entry['id'][:8]} is a {entry['kind']} entry, not a crisis",
            hint="pass the id of a crisis entry (see the student's timeline: `mhtool cases show STUDENT_NO`)",
        )
    return entry, store.students.get(entry["student_id"])


def crisis_data(store, entry: dict, student: dict, *, today: date) -> CrisisData:
    """One crisis entry (its latest correction), its student and what has been recorded since."""
    timeline = cases_model.effective(store.entries.for_student(student["id"]))
    corrected = {e["corrects"]: e for e in timeline if e.get("corrects")}
    entry = corrected.get(entry["id"], entry)
    since = [e for e in timeline if e["date"] >= entry["date"]]
    referrals = [
        {"id": r["id"], "status": r.get("status"), "hospital": r.get("hospital"), "referred_on": r.get("referred_on")}
        for r in store.referrals.for_student(student["id"])
    ]
    return CrisisData(
        entry=entry,
        student=student,
        today=today,
        entries=since,
        tasks=store.tasks.open(student["id"]),
        referrals=referrals,
        recorded_at=_local_time(entry.get("recorded_at"), ZoneInfo(store.tz)),
        clinical=True,
    )


__all__ = ["case_data", "census_data", "crisis_data", "crisis_entry", "find_batch", "interviewed_students"]
