"""Reading the store into the plain data the report builders take.

The only report code that touches the store. It checks the reader's role and
college scope, opens as few sealed records as the report needs, and audits
what was read (:func:`record_read`).

Reports never open the whole school: the students a weekly or monthly report
needs are found through plaintext columns — watch episodes that may cover a
moment of the report (``watches.opened_on/closed_on``), timeline entries of
the period (``entries.on_date``) and tasks past due (``tasks.due_on/done_on``)
— and only those students, their timelines and their open tasks are
decrypted.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from mhtool.cases.domain import model as cases_model
from mhtool.cases.usecases import service as cases
from mhtool.errors import NotFound, UsageError
from mhtool.report.domain.builders import CaseData, CensusData, CrisisData, task_batches
from mhtool.domain.periods import Period, months_back

_CHUNK = 500
# Statuses of students a roster still expects to take part in a screening.
_ON_ROLL = ("enrolled", "returned")


def _by_ids(store, table: str, column: str, ids, where: str = "", params=(), order: str = "") -> list[dict]:
    """Rows of ``table`` whose ``column`` is one of ``ids`` (a few hundred ids per query)."""
    ids = list(dict.fromkeys(ids))
    out: list[dict] = []
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        cond = f"{column} IN ({','.join('?' for _ in chunk)})" + (f" AND ({where})" if where else "")
        out += store.select(table, cond, [*chunk, *params], order=order)
    return out


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


def _check_college(store, college: str | None, action: str) -> None:
    store.require("report", action=action)
    if college is not None:
        store.require_college(college, action=action)


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
    action = "report.monthly" if monthly else "report.weekly"
    _check_college(store, college, action)
    tz = ZoneInfo(store.tz)
    asof = min(period.end, today)
    first = months_back(period, trend_months)[0].start if monthly else period.start
    lo = (first - timedelta(days=1)).isoformat()
    e, start, end = asof.isoformat(), period.start.isoformat(), period.end.isoformat()

    # Everyone a moment of the report may concern, as plaintext-column subqueries:
    # students watched at some moment of the report, and those with activity or late tasks.
    watched = "SELECT student_id FROM watches WHERE opened_on <= ? AND (closed_on IS NULL OR closed_on > ?)"
    wparams = (e, lo)
    relevant = (
        f"{watched} UNION SELECT student_id FROM entries WHERE on_date BETWEEN ? AND ? "
        "UNION SELECT student_id FROM tasks WHERE due_on < ? AND (done_on IS NULL OR done_on > ?)"
    )
    rparams = (*wparams, start, end, e, e)
    keep = _wanted(store, college)
    students = {s["id"]: s for s in store.select("students", f"id IN ({relevant})", rparams) if keep(s.get("college"))}

    referrals = []
    from mhtool.referral.usecases import service as referral_service

    for r in referral_service.referrals_in(store, period.start, asof):
        if r["student_id"] in students or keep(r.get("college")):
            referrals.append(r)
    missing = [r["student_id"] for r in referrals if r["student_id"] not in students]
    for s in _by_ids(store, "students", "id", missing):
        students[s["id"]] = s

    watches = [w for w in store.select("watches", "opened_on <= ? AND (closed_on IS NULL OR closed_on > ?)", wparams) if w["student_id"] in students]
    # Watched students' whole timelines (help measures and last contacts can be old);
    # for the others only what the report's moments can see.
    entries: dict[str, list[dict]] = {}
    for where, params in (
        (f"student_id IN ({watched})", wparams),
        (f"on_date > ? AND student_id IN ({relevant}) AND student_id NOT IN ({watched})", (lo, *rparams, *wparams)),
    ):
        for entry in store.select("entries", where, params, order="on_date, rowid"):
            if entry["student_id"] in students:
                entries.setdefault(entry["student_id"], []).append(entry)
    raw_tasks = [t for t in store.select("tasks", f"(done_on IS NULL OR done_on > ?) AND student_id IN ({relevant})", (e, *rparams)) if t["student_id"] in students]
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
    for b in store.select("batches", "imported_on BETWEEN ? AND ?", (period.start.isoformat(), period.end.isoformat()), order="imported_on, rowid"):
        if b.get("voided"):
            continue
        proposed = {lv: int((b.get("proposed") or {}).get(lv) or 0) for lv in ("red", "orange", "yellow")}
        respondents = int(b.get("imported") or 0)
        if scoped:
            proposed = dict.fromkeys(proposed, 0)
            respondents = 0
            for r in store.select("responses", "batch_id = ?", (b["id"],)):
                if keep(r.get("college")):
                    respondents += 1
                    if r.get("proposed_level") in proposed:
                        proposed[r["proposed_level"]] += 1
        out.append({**b, "respondents": respondents, "proposed": proposed})
    if not out:
        return [], []
    ids = {b["id"] for b in out}
    first = min(b["imported_on"] for b in out)
    tasks = [_task(t, tz) for t in store.select("tasks", "due_on >= ?", (first,)) if t.get("kind") == "interview" and task_batches(t) & ids]
    if scoped:
        students = {s["id"]: s for s in _by_ids(store, "students", "id", [t["student_id"] for t in tasks])}
        tasks = [t for t in tasks if keep((students.get(t["student_id"]) or {}).get("college"))]
    return out, tasks


# --------------------------------------------------------------------------- census


def find_batch(store, ref: str) -> dict:
    """A batch by id (or an unambiguous id prefix) or by its exact name."""
    text = (ref or "").strip()
    if not text:
        raise UsageError("BATCH is empty", hint="pass a batch id or name from `mhtool survey batches`")
    named = [b for b in store.select("batches", order="imported_on, rowid") if b.get("name") == text]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise UsageError(f"{len(named)} batches are named {text!r}", hint="pass the batch id instead (see `mhtool survey batches`)")
    try:
        return store.get("batches", store.resolve_id("batches", text, "batch"))
    except (NotFound, UsageError):
        raise NotFound(f"no batch with id or name {text!r}", hint="see `mhtool survey batches`") from None


def _bands(instrument: str | None) -> tuple[tuple[str, str, str], ...]:
    """The instrument's bands in order with their labels (empty when the instrument is unknown)."""
    if not instrument:
        return ()
    try:
        from mhtool.survey.domain.instruments import get_instrument

        inst = get_instrument(instrument)
    except Exception:
        # A batch outlives the instrument files it was scored with; its codes still show.
        return ()
    bands = inst.band_definition
    items = [(r.name, r.label) for r in bands.ranges] if bands.scale is not None else [(r.name, r.label) for r in bands.rules]
    if bands.scale is None and bands.default:
        items.append((bands.default, bands.default_label))
    out = []
    for code, lab in items:
        lab = lab or {}
        out.append((code, lab.get("zh") or code, lab.get("en") or code))
    return tuple(out)


def census_data(store, batch_ref: str, *, today: date, college: str | None = None) -> CensusData:
    """One batch's responses, roster, interview tasks and interviews, limited to the reader's colleges."""
    _check_college(store, college, "report.census")
    batch = find_batch(store, batch_ref)
    keep = _wanted(store, college)
    responses = [r for r in store.select("responses", "batch_id = ?", (batch["id"],), order="rowid") if keep(r.get("college"))]
    for r in responses:
        r.pop("answers", None)

    roster = None
    grades = {str(r.get("grade")).strip() for r in responses if r.get("grade")}
    on_roll = [s for s in store.select("students") if s.get("source") == "roster"]
    if on_roll:
        roster = {}
        for s in on_roll:
            if (s.get("status") or "enrolled") not in _ON_ROLL or not keep(s.get("college")):
                continue
            if grades and str(s.get("grade") or "").strip() not in grades:
                continue
            roster.setdefault(s.get("college") or "", set()).add(s["id"])

    proposed_ids = [r["student_id"] for r in responses if (r.get("proposed_level") or "none") != "none"]
    students = {s["id"]: s for s in _by_ids(store, "students", "id", proposed_ids)}
    tasks: dict[str, dict] = {}
    for t in _by_ids(store, "tasks", "student_id", proposed_ids):
        if t.get("kind") == "interview" and batch["id"] in task_batches(t):
            tasks[t["student_id"]] = t
    interviews: dict[str, str] = {}
    for e in _by_ids(store, "entries", "student_id", proposed_ids, "on_date >= ?", (batch["imported_on"],), order="on_date, rowid"):
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


# --------------------------------------------------------------------------- crisis


def crisis_data(store, entry_ref: str, *, today: date) -> CrisisData:
    """One crisis entry, its student and what has been recorded since."""
    action = "report.crisis"
    store.require("report", action=action)
    store.require("clinical", action=action)
    entry = store.get("entries", store.resolve_id("entries", entry_ref, "entry"))
    if entry["kind"] != "crisis":
        raise UsageError(
            f"entry {entry['id'][:8]} is a {entry['kind']} entry, not a crisis",
            hint="pass the id of a crisis entry (see the student's timeline: `mhtool cases show STUDENT_NO`)",
        )
    student = store.get("students", entry["student_id"])
    store.require_college(student.get("college"), action=action, targets=[f"students/{student['id']}"])
    timeline = cases_model.effective(cases.entries_for(store, student["id"]))
    corrected = {e["corrects"]: e for e in timeline if e.get("corrects")}
    entry = corrected.get(entry["id"], entry)
    since = [e for e in timeline if e["date"] >= entry["date"]]
    referrals = [
        {"id": r["id"], "status": r.get("status"), "hospital": r.get("hospital"), "referred_on": r.get("referred_on")}
        for r in store.select("referrals", "student_id = ?", (student["id"],), order="referred_on, rowid")
    ]
    return CrisisData(
        entry=entry,
        student=student,
        today=today,
        entries=since,
        tasks=cases.open_tasks(store, student["id"]),
        referrals=referrals,
        recorded_at=_local_time(entry.get("recorded_at"), ZoneInfo(store.tz)),
        clinical=True,
    )


# --------------------------------------------------------------------------- audit


def record_read(store, action: str, student_ids, *, details: dict) -> None:
    """The audit entry of a report: who produced which report about which students."""
    store.audit_read(action, targets=[f"students/{sid}" for sid in sorted(set(student_ids))], details=details)


__all__ = ["case_data", "census_data", "crisis_data", "find_batch", "record_read"]
