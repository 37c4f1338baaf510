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

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from mhtool.cases.domain import model as cases_model
from mhtool.cases.usecases import service as cases
from mhtool.domain.dates import local_moment
from mhtool.domain.periods import Period, months_back
from mhtool.domain.vocabulary import ON_ROLL_STATUSES, normalise_grade
from mhtool.domain.labels import label
from mhtool.errors import MhtoolError, NotFound, UsageError
from mhtool.i18n import _
from mhtool.referral.usecases import service as referral_service
from mhtool.report.domain import builders, figures
from mhtool.report.domain.builders import CaseData, CensusData, CrisisData, task_batches
from mhtool.store.repos import TIMELINE_COPY_PREFIX, timeline_copy_key


def _local_day(stamp: str | None, tz: ZoneInfo) -> str | None:
    """The store-zone calendar day of a recorded UTC timestamp."""
    if not stamp:
        return None
    moment = local_moment(stamp, tz)
    return stamp[:10] if moment is None else moment.date().isoformat()


def _local_time(stamp: str | None, tz: ZoneInfo) -> datetime | None:
    moment = local_moment(stamp, tz)
    return None if moment is None else moment.replace(tzinfo=None, microsecond=0)


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


def case_data(
    store, period: Period, *, today: date, college: str | None = None, monthly: bool = False, trend_months: int = 6, roster: dict[str, dict] | None = None
) -> CaseData:
    """The students, timelines, tasks and referrals a weekly (or monthly) report of ``period`` needs (``roster``: :func:`roster_summary`, if already read)."""
    tz = ZoneInfo(store.tz)
    asof = min(period.end, today)
    first = months_back(period, trend_months)[0].start if monthly else period.start
    keep = _wanted(store, college)
    # Reports count and list; the only clinical text they print is the reason of a change of the
    # period (builders.CLINICAL_ENTRY_KINDS), so every other record is read without its clinical part.
    students = {s.id: s for s in store.students.concerned_by(first, period.start, period.end, asof, clinical=False) if keep(s.get("college"))}

    referrals = [r for r in referral_service.referrals_in(store, period.start, asof) if r["student_id"] in students or keep(r.get("college"))]
    students.update(store.students.by_ids((r["student_id"] for r in referrals if r["student_id"] not in students), clinical=False))

    watches = [w for w in store.watches.during(first, asof, clinical=False) if w["student_id"] in students]
    # Watched students' whole timelines (help measures and last contacts can be old);
    # for the others only what the report's moments can see.
    entries = timelines(store, first, asof, students, today=today)
    for entry in store.entries.recent_of_unwatched(first, period.start, period.end, asof, clinical=False):
        if entry["student_id"] in students:
            entries.setdefault(entry["student_id"], []).append(entry)
    if store.can("clinical"):
        _open_reasons(store, entries, period)
    raw_tasks = [t for t in store.tasks.open_at(asof, first, period.start, period.end) if t["student_id"] in students]
    sources = {t.get("source_entry") for t in raw_tasks}
    entry_days = {x["id"]: x["date"] for xs in entries.values() for x in xs if x["id"] in sources}
    tasks = [_task(t, tz, entry_days) for t in raw_tasks]

    screening = _Screening()
    if monthly:
        screening = _batches(store, period, keep, scoped=college is not None or store.staff.scoped())
    signals = signals_in(store, period, asof, keep)
    network, network_reports = network_in(store, period, keep)

    return CaseData(
        today=today,
        students=students,
        watches=watches,
        entries=entries,
        tasks=tasks,
        referrals=referrals,
        batches=screening.batches,
        batch_tasks=screening.tasks,
        batch_responses=screening.responses,
        interviews=screening.interviews,
        signals=signals,
        signal_rules=signal_rules(store),
        roster={c: v for c, v in (roster if roster is not None else roster_summary(store)).items() if keep(c)},
        term_first_monday=term_first_monday(store),
        college=college,
        clinical=store.can("clinical"),
        cadence=cases.cadence(store),
        staff_names=store.staff_rows.display_names(),
        network=network,
        network_reports=network_reports,
    )


# A copy of a student's timeline is kept while the student has a watch episode open or closed
# within this many days: enough for a year of reports, six-month trends included.
TIMELINE_COPY_DAYS = 400


def timelines(store, first: date, asof: date, students: dict, *, today: date) -> dict[str, list[dict]]:
    """Student id → the whole timeline (entries' administrative parts, oldest first) of each of ``students`` watched from the day before ``first`` to ``asof``.

    A report needs every watched student's whole timeline and reads tens of
    thousands of entries for it, nearly all unchanged since the last report.
    So a copy of each timeline is kept sealed (roster key, one value per
    student, ``report.timeline/<id>``) with the version of the entries it was
    read from (:meth:`~mhtool.store.repos.Entries.timeline_versions`: their
    ids, days and seal headers, a new random nonce whenever an entry is
    written): a timeline is opened again only when its version changed, and
    copied again. Copies of students no longer watched within
    :data:`TIMELINE_COPY_DAYS` are dropped, and an erasure drops the
    student's copy with the entries. The dict's order is the order the
    timelines start in, as reading them in date order gives.
    """
    versions = [(sid, version) for sid, version in store.entries.timeline_versions(first, asof) if sid in students]
    keys = {sid: timeline_copy_key(sid) for sid, _version in versions}
    copies = store.sealed_values.get_many(keys.values())
    out: dict[str, list[dict]] = {}
    stale: dict[str, str] = {}
    for sid, version in versions:
        copy = copies.get(keys[sid])
        if isinstance(copy, dict) and copy.get("version") == version and isinstance(copy.get("entries"), list):
            out[sid] = copy["entries"]
        else:
            out[sid] = []
            stale[sid] = version
    for entry in store.entries.for_students(stale, clinical=False):
        out[entry["student_id"]].append(entry)
    kept = store.watches.students_since(today - timedelta(days=TIMELINE_COPY_DAYS))
    dropped = [key for key in store.sealed_values.keys_under(TIMELINE_COPY_PREFIX) if key[len(TIMELINE_COPY_PREFIX) :] not in kept]
    if (stale or dropped) and not store.readonly:
        with store.write("cache.report-timelines", details={"copied": len(stale), "dropped": len(dropped)}) as txn:
            for sid, version in stale.items():
                store.sealed_values.put(txn, keys[sid], {"version": version, "entries": [dict(e) for e in out[sid]]})
            for key in dropped:
                store.sealed_values.delete(txn, key)
    return out


def _open_reasons(store, entries: dict[str, list[dict]], period: Period) -> None:
    """Open, in place, the clinical part of the period's entries whose reason the report prints (本期变动)."""
    lo, hi = period.start.isoformat(), period.end.isoformat()
    places = [
        (sid, i)
        for sid, es in entries.items()
        for i, e in enumerate(es)
        if e["kind"] in builders.CLINICAL_ENTRY_KINDS and lo <= e["date"] <= hi
    ]
    if not places:
        return
    opened = store.entries.by_ids(entries[sid][i]["id"] for sid, i in places)
    for sid, i in places:
        entries[sid][i] = opened[entries[sid][i]["id"]]


def counseling_in(store, period: Period, *, today: date, college: str | None = None):
    """What the 咨询与活动 sheet counts for ``period`` (up to ``today``) and the period before it, in the reader's colleges."""
    from mhtool.counseling.usecases.reporting import report_rows
    from mhtool.report.domain.counseling import CounselingData, previous_period

    keep = _wanted(store, college)
    before = previous_period(period)
    return CounselingData(
        current=report_rows(store, period.start, min(period.end, today), keep),
        previous=report_rows(store, before.start, before.end, keep),
        staff_names=store.staff_rows.display_names(),
    )


# What a report counts of the 五级网络: units and report states, never who is named or what was said.
_UNIT_KEYS = ("college", "unit_kind", "unit", "role")
_NETWORK_REPORT_KEYS = ("college", "unit_kind", "unit", "period", "status")


def network_in(store, period: Period, keep) -> tuple[list[dict], list[dict]]:
    """The 五级网络 roster's units in the reader's colleges, and the reports of the periods that count for ``period``.

    Both are roster-tier records (no description of a named student is in
    them), so a clerk's 上报情况 is a counselor's. Only the report periods of
    :func:`~mhtool.report.domain.figures.network_periods` are read.
    """
    units = [{k: m.get(k) for k in _UNIT_KEYS} for m in store.network_members.all(clinical=False) if keep(m.get("college"))]
    if not units:
        return [], []
    names = {str(u.get("unit") or "") for u in units}
    wanted = figures.network_periods(period.kind, period.start, period.end)
    reports = [
        {k: r.get(k) for k in _NETWORK_REPORT_KEYS} for r in store.network_reports.for_periods(wanted) if str(r.get("unit") or "") in names
    ]
    return units, reports


# What a report counts of a signal: its administrative part, never the facts, explanation or reason.
_SIGNAL_KEYS = ("id", "student_id", "rule", "source", "college", "opened_on", "status", "outcome", "reviewed_on")


def signals_in(store, period: Period, asof: date, keep) -> list[dict]:
    """The 多源预警 signals a report of ``period`` counts, in the reader's colleges: opened in the period, or pending at its end.

    Only their roster-sealed part is opened (rule, college, days, state), so a
    clerk's report counts them like a counselor's; the college is the one the
    signal was raised in.
    """
    found = {s["id"]: s for s in store.signals.opened_between(period.start, asof, clinical=False)}
    found.update((s["id"], s) for s in store.signals.open_at(asof, clinical=False))
    out = []
    for s in found.values():
        if not keep(s.get("college")):
            continue
        row = {k: s.get(k) for k in _SIGNAL_KEYS}
        # A review recorded after the end is no review yet for this report; the plaintext closing day says when.
        row["reviewed_on"] = row["reviewed_on"] or s.get("closed_on")
        out.append(row)
    return sorted(out, key=lambda r: (r["opened_on"] or "", r["id"]))


def signal_rules(store) -> tuple[tuple[str, str, str], ...]:
    """``(code, zh, en)`` of the store's campus rules, in their order (its overrides included); empty when unknown."""
    from mhtool.signals.domain.rules import rules_in_force

    try:
        rules = rules_in_force(store.settings().get("signal_rules"))
    except MhtoolError:
        # An override that no longer reads: the report still counts, under the built-in names.
        return ()
    # Reports of the class network (同伴报告) are signals too, raised by `network import-reports`, not by a rule.
    peer = ("peer_report", label("signal_rule", "peer_report", "zh"), label("signal_rule", "peer_report", "en"))
    return (*((r.code, r.name, r.name_en) for r in rules.values()), peer)


@dataclass
class _Screening:
    batches: list[dict] = field(default_factory=list)
    responses: dict[str, list[dict]] = field(default_factory=dict)
    tasks: list[dict] = field(default_factory=list)
    interviews: dict[str, list[str]] = field(default_factory=dict)


def _batches(store, period: Period, keep, scoped: bool) -> _Screening:
    """Screening batches imported in the period with their responses, over the reader's colleges.

    With the positive students' interview tasks and recorded interviews since
    the first batch, so 已约谈 and 约谈逾期 are counted per student as the
    census report counts them (:mod:`mhtool.report.domain.figures`). A scoped
    reader's colleges are the students' dossier colleges, as in the census.
    """
    tz = ZoneInfo(store.tz)
    out = _Screening()
    for b in store.batches.imported_between(period.start, period.end):
        if b.get("voided"):
            continue
        rows = [
            {"student_id": r["student_id"], "proposed_level": r.get("proposed_level") or "none", "college": r.get("college")}
            for r in store.responses.for_batch(b.id)
        ]
        if scoped:
            dossiers = store.students.by_ids(r["student_id"] for r in rows)
            rows = [figures.with_roster(r, dossiers.get(r["student_id"])) for r in rows]
            rows = [r for r in rows if keep(r.get("college"))]
        out.batches.append({**b, "instrument_name": _instrument_name(b.get("instrument"))})
        out.responses[b.id] = rows
    if not out.batches:
        return out
    first = date.fromisoformat(min(b["imported_on"] for b in out.batches))
    positive = sorted({sid for rows in out.responses.values() for sid in figures.positive_students(rows)})
    out.tasks = [_task(t, tz) for t in store.tasks.for_students(positive) if t.get("kind") == "interview" and t["due_on"] >= first.isoformat()]
    out.interviews = _interview_days(store.entries.for_students_since(positive, first))
    return out


def _interview_days(entries) -> dict[str, list[str]]:
    """Student id → the days of their recorded interviews (a correction is no second interview)."""
    out: dict[str, list[str]] = {}
    for e in entries:
        if e["kind"] == "interview" and not e.get("corrects"):
            out.setdefault(e["student_id"], []).append(e["date"])
    return out


def _instrument(code: str):
    """An instrument's definition, from the instruments the import scores with (read when a report names one)."""
    from mhtool.survey.usecases import registry

    return registry.instrument(code)


def _instrument_name(code: str | None) -> str | None:
    """The name reports print for an instrument (SCL-90), when its definition is still known."""
    if not code:
        return None
    try:
        return getattr(_instrument(code), "display_name", None) or None
    except MhtoolError:
        return None


# --------------------------------------------------------------------------- the roster and settings

# The sealed caches of :func:`roster_summary`: the counts with the students table's fingerprint,
# and what each written version of a student row counts for.
ROSTER_SUMMARY_KEY = "report.roster_summary"
ROSTER_ROWS_KEY = "report.roster_rows"


def roster_summary(store) -> dict[str, dict]:
    """College → students on roll and in each special group, over the whole school.

    Every weekly report lists every college and counts the special groups,
    which needs every dossier; opening 50,000 of them costs most of a second.
    So the counts are kept sealed with a fingerprint of the students table
    (unchanged: nothing is opened), and what each row counts for (college,
    status, groups) is kept keyed by the row's sealed header, a new random
    nonce whenever the record is written: after a week of work only the rows
    written since are opened. The keys name no student, and a row that was
    erased or rewritten drops out at the next report. The caller filters the
    counts to the reader's colleges.
    """
    fingerprint = store.students.fingerprint()
    summary = store.sealed_values.get(ROSTER_SUMMARY_KEY)
    if isinstance(summary, dict) and summary.get("fingerprint") == fingerprint:
        return summary["colleges"]
    headers = store.students.seal_headers()
    cached = store.sealed_values.get(ROSTER_ROWS_KEY)
    known: dict[str, list] = cached.get("rows", {}) if isinstance(cached, dict) else {}
    rows = {h: known[h] for h in headers if h in known}
    fresh = [sid for h, sid in headers.items() if h not in known]
    opened = store.students.by_ids(fresh) if fresh else {}
    for h, sid in headers.items():
        s = opened.get(sid)
        if h not in rows and s is not None:
            # A row written again since its header was read is counted as it is now, and opened again next time.
            rows[h] = [s.get("college") or "", s.get("status") or "enrolled", list(s.get("groups") or [])]
    colleges = figures.roster_colleges({"college": c, "status": st, "groups": g} for c, st, g in rows.values())
    if not store.readonly:
        with store.write("cache.roster-summary", details={"students": len(rows), "opened": len(opened)}) as txn:
            store.sealed_values.put(txn, ROSTER_ROWS_KEY, {"rows": rows})
            store.sealed_values.put(txn, ROSTER_SUMMARY_KEY, {"fingerprint": fingerprint, "colleges": colleges})
    return colleges


def term_first_monday(store) -> date | None:
    """The term's first Monday (setting ``term_first_monday``), for 第N教学周 labels; None when not set."""
    value = store.settings().get("term_first_monday")
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def center_name(store) -> str | None:
    """The unit name printed in every report's page header (setting ``center_name``)."""
    return (store.settings().get("center_name") or "").strip() or None


# --------------------------------------------------------------------------- census


def find_batch(store, ref: str) -> dict:
    """A batch by id (or an unambiguous id prefix) or by its exact name."""
    text = (ref or "").strip()
    if not text:
        raise UsageError(_("BATCH is empty"), hint=_("pass a batch id or name from `mhtool survey batches`"))
    named = [b for b in store.batches.all() if b.get("name") == text]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise UsageError(
            _("{count} batches are named {name!r}").format(count=len(named), name=text), hint=_("pass the batch id instead (see `mhtool survey batches`)")
        )
    try:
        return store.batches.get(store.batches.resolve(text, "batch"))
    except (NotFound, UsageError):
        raise NotFound(_("no batch with id or name {name!r}").format(name=text), hint=_("see `mhtool survey batches`")) from None


def _bands(instrument: str | None) -> tuple[tuple[str, str, str], ...]:
    """The instrument's bands in order with their labels, from the instruments the import scores with."""
    if not instrument:
        return ()
    try:
        return _instrument(instrument).band_labels()
    except MhtoolError:
        # A batch outlives the instrument files it was scored with; its codes still show.
        return ()


def _flags(instrument: str | None) -> tuple[tuple[str, str, str], ...]:
    """The instrument's flags (critical items) with the items' wording, as the interview list shows them."""
    if not instrument:
        return ()
    try:
        return _instrument(instrument).flag_labels()
    except MhtoolError:
        return ()


def census_data(store, batch: dict, *, today: date, college: str | None = None) -> CensusData:
    """One batch's responses, roster, interview tasks and interviews, limited to the reader's colleges."""
    keep = _wanted(store, college)
    everyone = {s.id: s for s in store.students.all()}
    # Gender, grade, college and class as the roster knows them: an export often leaves them empty.
    responses = [figures.with_roster(r, everyone.get(r["student_id"])) for r in store.responses.for_batch(batch["id"])]
    responses = [r for r in responses if keep(r.get("college"))]
    for r in responses:
        r.pop("answers", None)
        if r.get("grade"):
            r["grade"] = normalise_grade(r["grade"])

    cohort = expected_cohort(batch, responses)
    roster = None
    on_roll = [s for s in everyone.values() if s.get("source") == "roster"]
    if on_roll and cohort:
        roster = {}
        for s in on_roll:
            if (s.get("status") or "enrolled") not in ON_ROLL_STATUSES or not keep(s.get("college")):
                continue
            if normalise_grade(s.get("grade")) not in cohort:
                continue
            roster.setdefault(s.get("college") or "", set()).add(s["id"])

    proposed_ids = sorted(figures.positive_students(responses))
    students = {sid: everyone[sid] for sid in proposed_ids if sid in everyone}
    # The student's interview task since the import: one open task serves every screening that
    # proposed the student, so a later batch may have taken it over (its batch_id) or brought it forward.
    tasks: dict[str, dict] = {}
    for t in store.tasks.for_students(proposed_ids):
        if t.get("kind") != "interview" or t["due_on"] < batch["imported_on"][:10]:
            continue
        mine, held = batch["id"] in task_batches(t), tasks.get(t["student_id"])
        if held is None or (mine and batch["id"] not in task_batches(held)):
            tasks[t["student_id"]] = t
    days = _interview_days(store.entries.for_students_since(proposed_ids, date.fromisoformat(batch["imported_on"])))
    interviews = {sid: min(ds) for sid, ds in days.items()}
    return CensusData(
        batch=batch,
        responses=responses,
        today=today,
        bands=_bands(batch.get("instrument")),
        flags=_flags(batch.get("instrument")),
        roster=roster,
        students=students,
        tasks=tasks,
        interviews=interviews,
        college=college,
        cohort=cohort,
        roster_imported=bool(on_roll),
    )


def expected_cohort(batch: dict, responses: list[dict]) -> tuple[str, ...]:
    """The grades the batch expects to take part: as stored at import (``--cohort`` or its default).

    A batch imported before cohorts were stored expects the grades its
    respondents are in (their dossiers' where known). Empty: unknown.
    """
    if "cohort" in batch:
        return tuple(normalise_grade(g) for g in batch.get("cohort") or () if normalise_grade(g))
    return tuple(sorted({r["grade"] for r in responses if r.get("grade")}))


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
            _("entry {id} is a {kind} entry, not a crisis").format(id=entry["id"][:8], kind=entry["kind"]),
            hint=_("pass the id of a crisis entry (see the student's timeline: `mhtool cases show STUDENT_NO`)"),
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
        staff_names=store.staff_rows.display_names(),
        # The same unit the page header prints; the form falls back to a generic name without it.
        unit=center_name(store),
    )


__all__ = ["case_data", "census_data", "crisis_data", "crisis_entry", "find_batch", "interviewed_students"]
