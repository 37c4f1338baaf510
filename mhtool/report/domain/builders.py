"""Report builders: plain data in, a :class:`~mhtool.domain.document.Report` out.

Pure: no store, no clock, no files. :mod:`mhtool.report.usecases.gather` reads the
store into the input shapes below; :class:`mhtool.report.usecases.api.Reports`
hands the result to the workbook writer, or returns it for JSON output. Records keep the shapes they have in the store
(dates as ISO text, timeline entries with ``kind``/``date``/``fields``), so
the dossier's own rules (corrections, the three clarities) apply unchanged.

Moments. "Watched at day D" means at the end of D: a watch episode covers D
when it opened on or before D and did not close by D, and the level is the
student's level replayed back through the ``level_change`` entries recorded
after D. A period's *start* figures are those at the end of the day before
it; its *end* figures those at the end of its last day, or of today while the
period is still running. A task is overdue on D when it was due before D and
not done by the end of D, whenever its record was written, as ``cases tasks
--overdue`` counts it on D (:mod:`mhtool.report.domain.figures` defines this
and every other figure two reports share).
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from mhtool.cases.domain import model as cases_model
from mhtool.cases.domain import recording as cases_recording
from mhtool.cases.domain import views as cases_views
from mhtool.domain import rules
from mhtool.domain.labels import codes, label, network_period_name, staff_name, text
from mhtool.domain.document import (
    Chart,
    Column,
    FormField,
    FormSection,
    Report,
    Sheet,
    SignatureLine,
    field_column,
)
from mhtool.domain.periods import Period, months_back
from mhtool.domain.vocabulary import GROUPS, LEVEL_RANK, LEVELS, ON_ROLL_STATUSES, WATCH_LEVELS
from mhtool.report.domain import figures

# Short level names for column headers; the level colours are explained in the sheet notes.
_LEVEL_HEAD = {"red": ("一级", "red"), "orange": ("二级", "orange"), "yellow": ("三级", "yellow")}

CHANGE_LABELS = (
    ("new", "新增关注", "new watch"),
    ("raised", "升级", "raised"),
    ("lowered", "降级", "lowered"),
    ("closed", "解除关注", "watch closed"),
    ("status", "学籍变动", "status change"),
)
REFERRAL_EVENT_LABELS = (
    ("opened", "本期转介", "referred"),
    ("advanced", "进展", "advanced"),
    ("overdue", "逾期未办", "overdue"),
)
DIMENSION_LABELS = (("college", "学院", "College"), ("gender", "性别", "Gender"), ("grade", "年级", "Grade"))

def _domain(domain: str) -> tuple[tuple[str, str, str], ...]:
    """A ``code`` column's labels from a :mod:`mhtool.domain.labels` domain."""
    return tuple((c, label(domain, c, "zh"), label(domain, c, "en")) for c in codes(domain))


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def _rate(part: int, whole: int | None) -> float | None:
    return part / whole if whole else None


def task_batches(task: dict) -> set[str]:
    """The screening batches an interview task was opened for, or made more urgent by."""
    return {b for b in (task.get("batch_id"), *((src or {}).get("batch_id") for src in task.get("sources") or [])) if b}


# =========================================================================== inputs


@dataclass
class CaseData:
    """What the weekly and monthly reports are built from.

    ``students``: id → student record (with ``id``), only students in the
    report's scope. ``watches``: watch episodes that may cover a moment of the
    report (``student_id``, ``opened_on``, ``closed_on``, ``level``).
    ``entries``: student id → that student's timeline entries, oldest first.
    ``tasks``: tasks that may be open at a moment of the report, with
    ``created_on`` (the day, in the store's zone, the task was opened).
    ``referrals``: rows of :func:`mhtool.referral.usecases.service.referrals_in`.
    ``batches``: screening batches of the period (monthly);
    ``batch_responses``: batch id → its responses (``student_id``,
    ``proposed_level``, ``college``); ``batch_tasks``: the interview tasks of
    the batches' positive students; ``interviews``: student id → the days of
    their recorded interviews since the first batch. ``signals``: the 多源预警
    signals that may count in the report (``rule``, ``source``, ``college``,
    ``opened_on``, ``status``, ``outcome``, ``reviewed_on``; no facts, no
    explanation), already limited to the report's colleges;
    ``signal_rules``: ``(code, zh, en)`` of the rules in the store's order
    (the built-in ones when empty). ``roster``: college →
    ``{"on_roll", "groups": {group: n}, "any_group"}`` over the students on
    roll (every college of the school is listed from it; ``None`` when
    unknown). ``term_first_monday``: the term's first Monday, for teaching-week
    labels. ``college``: the one college the report is limited to, shown even
    when it has nothing to count. ``clinical``: whether the reader may see
    clinical text (reasons, hospitals). ``network``: the units of the 五级网络
    roster (``college``, ``unit_kind``, ``unit``; members' roster part, no
    names needed) and ``network_reports``: the class reports that may count
    (``college``, ``unit_kind``, ``unit``, ``period``, ``status``), both
    limited to the report's colleges; empty when no network was imported.
    """

    today: date
    students: dict[str, dict] = field(default_factory=dict)
    watches: list[dict] = field(default_factory=list)
    entries: dict[str, list[dict]] = field(default_factory=dict)
    tasks: list[dict] = field(default_factory=list)
    referrals: list[dict] = field(default_factory=list)
    batches: list[dict] = field(default_factory=list)
    batch_tasks: list[dict] = field(default_factory=list)
    batch_responses: dict[str, list[dict]] = field(default_factory=dict)
    interviews: dict[str, list[str]] = field(default_factory=dict)
    signals: list[dict] = field(default_factory=list)
    signal_rules: tuple[tuple[str, str, str], ...] = ()
    roster: dict[str, dict] | None = None
    term_first_monday: date | None = None
    college: str | None = None
    clinical: bool = True
    cadence: dict = field(default_factory=lambda: dict(rules.DEFAULT_CADENCE))
    staff_names: dict[str, str] = field(default_factory=dict)  # login → the name people read (张华)
    network: list[dict] = field(default_factory=list)
    network_reports: list[dict] = field(default_factory=list)


@dataclass
class CensusData:
    """One screening batch: its responses and what has happened since.

    ``bands``: ``(code, zh, en)`` of the instrument's bands in order;
    ``flags`` the same of its flags (critical items), as people read them.
    ``roster``: college → ids of the students the roster expects to take part:
    those on roll in a grade of ``cohort`` (``None`` when no roster was
    imported, or when ``roster_imported`` but the cohort is unknown).
    ``cohort``: the grades the batch expects (``2026级``), as stored at import;
    empty when unknown. ``students``: dossiers of the
    students the batch proposes for an interview. ``tasks``: student id → the
    student's interview task due since the import (this batch's, unless a later
    screening took it over). ``interviews``: student id → the day of the first
    interview recorded since the import. ``responses`` carry the dossier's
    gender, grade, college and class where it has them
    (:func:`~mhtool.report.domain.figures.with_roster`).
    """

    batch: dict
    responses: list[dict]
    today: date
    bands: tuple[tuple[str, str, str], ...] = ()
    flags: tuple[tuple[str, str, str], ...] = ()
    roster: dict[str, set] | None = None
    students: dict[str, dict] = field(default_factory=dict)
    tasks: dict[str, dict] = field(default_factory=dict)
    interviews: dict[str, str] = field(default_factory=dict)
    college: str | None = None
    cohort: tuple[str, ...] = ()
    roster_imported: bool = False


@dataclass
class CrisisData:
    """One crisis entry with the student's dossier as it stands now.

    ``entries``: the student's timeline from the day of the event on (the
    crisis entry included), oldest first. ``tasks``: the student's open tasks.
    ``referrals``: the student's referrals (list rows). ``recorded_at``: when
    the entry was typed in, as a naive datetime in the store's zone.
    ``staff_names``: login → the name people read (张华). ``unit``: the
    reporting unit (报告单位, the center's name), ``None`` when not set.
    """

    entry: dict
    student: dict
    today: date
    entries: list[dict] = field(default_factory=list)
    tasks: list[dict] = field(default_factory=list)
    referrals: list[dict] = field(default_factory=list)
    recorded_at: datetime | None = None
    clinical: bool = True
    staff_names: dict[str, str] = field(default_factory=dict)
    unit: str | None = None


# =========================================================================== timelines


def change_kind(fields: dict) -> str | None:
    """``new``, ``raised``, ``lowered`` or ``closed`` for a level change; ``None`` if it changes nothing."""
    frm, to = fields.get("from") or "none", fields.get("to") or "none"
    if frm == to:
        return None
    if frm == "none":
        return "new"
    if to == "none":
        return "closed"
    return "raised" if LEVEL_RANK.get(to, 0) > LEVEL_RANK.get(frm, 0) else "lowered"


class Timelines:
    """Questions about moments in the past, answered from one :class:`CaseData`."""

    def __init__(self, data: CaseData):
        self.data = data
        self.students = data.students
        self.entries = {sid: cases_model.effective(es) for sid, es in data.entries.items() if sid in data.students}
        self.watches: dict[str, list[dict]] = defaultdict(list)
        for w in data.watches:
            if w["student_id"] in data.students:
                self.watches[w["student_id"]].append(w)
        self.tasks = [t for t in data.tasks if t["student_id"] in data.students]
        self._changes: dict[str, tuple[list[str], list[str]]] = {}

    def _level_changes(self, sid: str) -> tuple[list[str], list[str]]:
        """The days of the student's level changes and the level each one left, oldest first."""
        found = self._changes.get(sid)
        if found is None:
            # A level_change corrected to change nothing (a late entry set that level earlier) is no change.
            changes = [e for e in self.entries.get(sid, ()) if e["kind"] == "level_change" and cases_model.changes_level(e["fields"])]
            found = self._changes[sid] = ([e["date"] for e in changes], [e["fields"].get("from") or "none" for e in changes])
        return found

    def level_at(self, sid: str, day: str) -> str:
        """The student's level at the end of ``day`` (ISO), replayed back from the current one."""
        days, left = self._level_changes(sid)
        later = bisect_right(days, day)
        return left[later] if later < len(days) else self.students[sid].get("level") or "none"

    def watched_at(self, d: date) -> dict[str, str]:
        """Student id → level of everyone watched at the end of ``d``."""
        day = d.isoformat()
        out: dict[str, str] = {}
        for sid, episodes in self.watches.items():
            episode = next((w for w in episodes if w["opened_on"] <= day and (not w.get("closed_on") or w["closed_on"] > day)), None)
            if episode is None:
                continue
            level = self.level_at(sid, day)
            if level == "none":
                # An open episode is the record of a watch: trust it over a gap in the timeline.
                level = episode.get("level") or "none"
            if level in WATCH_LEVELS:
                out[sid] = level
        return out

    def since_at(self, sid: str, day: str) -> date | None:
        days, _ = self._level_changes(sid)
        before = bisect_right(days, day)
        if before:
            return _date(days[before - 1])
        since = self.students[sid].get("level_since")
        if since and since[:10] <= day:
            return _date(since)
        opened = [w["opened_on"] for w in self.watches.get(sid, ()) if w["opened_on"] <= day]
        return _date(max(opened)) if opened else None

    def last_contact(self, sid: str, day: str) -> date | None:
        for e in reversed(self.entries.get(sid, ())):
            if e["date"] <= day and e["kind"] in cases_model.STATE_KINDS:
                return _date(e["date"])
        return None

    def measures_at(self, sid: str, day: str) -> list[str]:
        out = []
        for e in self.entries.get(sid, ()):
            if e["kind"] != "measure" or e["date"] > day:
                continue
            f = e["fields"]
            end = f.get("end")
            if end and end < day:
                continue
            kind, text = f.get("measure_kind") or "", f.get("description") or ""
            out.append(f"{kind}：{text}" if kind and text else kind or text)
        return out

    def entries_until(self, sid: str, day: str) -> list[dict]:
        return [e for e in self.entries.get(sid, ()) if e["date"] <= day]

    def open_tasks_at(self, d: date) -> list[dict]:
        """Tasks that existed and were not done at the end of ``d``.

        A task exists from the day it was opened, or from its due date when its
        record was written later (a back-dated import describes work that was
        due then): the overdue ones are exactly :func:`figures.overdue_at`'s.
        """
        day = d.isoformat()
        return [t for t in self.tasks if ((t.get("created_on") or "") <= day or t["due_on"] <= day) and figures.is_open_at(t, d)]

    def events(self, period: Period) -> list[tuple[str, dict]]:
        """(student id, entry) for every entry dated inside the period, oldest first."""
        lo, hi = period.start.isoformat(), period.end.isoformat()
        out = [(sid, e) for sid, es in self.entries.items() for e in es if lo <= e["date"] <= hi]
        out.sort(key=lambda p: p[1]["date"])
        return out

    def college(self, sid: str) -> str:
        return self.students[sid].get("college") or ""


# =========================================================================== columns

_STUDENT_COLUMNS = (
    field_column("student_no", pii="student_no"),
    field_column("name", pii="name"),
    field_column("college"),
    field_column("class_name"),
)


def _college_cell(college: str, lang: str) -> str:
    return college or text("report_not_set", lang)


def _student_cells(s: dict) -> list:
    return [s.get("student_no") or "", s.get("name") or "", s.get("college") or "", s.get("class_name") or ""]


def _level_columns(prefix: str, zh: str, en: str) -> list[Column]:
    cols = [Column(f"{prefix}_{lv}", f"{zh}{_LEVEL_HEAD[lv][0]}", f"{en} {_LEVEL_HEAD[lv][1]}", "int") for lv in WATCH_LEVELS]
    cols.append(Column(f"{prefix}_total", f"{zh}合计", f"{en} total", "int"))
    return cols


def _level_counts(levels) -> list[int]:
    c = Counter(levels)
    return [c[lv] for lv in WATCH_LEVELS] + [sum(c[lv] for lv in WATCH_LEVELS)]


# 汇总: what an office reads first, on one printed page.
SUMMARY_ACTIVITY = (
    ("new", "新增关注", "New watches"),
    ("closed", "解除关注", "Closed"),
    ("interviews", "约谈人次", "Interviews"),
    ("crises", "危机事件", "Crises"),
    ("referrals", "新增转介", "Referrals made"),
    ("overdue_tasks", "逾期任务", "Overdue tasks"),
)
# 汇总(明细): the rest of the period's figures by college.
DETAIL_ACTIVITY = (
    ("raised", "升级", "Raised"),
    ("lowered", "降级", "Lowered"),
    ("guardian_contacts", "家校沟通", "Guardian contacts"),
    ("follow_ups", "回访人次", "Follow-ups done"),
    ("follow_ups_overdue", "回访逾期", "Follow-ups overdue"),
    ("interviews_overdue", "约谈逾期", "Interviews overdue"),
    ("leave", "休学", "Leave of absence"),
    ("returned", "复学", "Returned"),
)
_ENTRY_COUNTS = {"interview": "interviews", "guardian_contact": "guardian_contacts", "crisis": "crises", "follow_up": "follow_ups"}
# Status changes counted on the detail sheet, by the status they lead to.
_STATUS_COUNTS = {"leave": "leave", "returned": "returned"}
# What the 零报告 line names when the period had none of it (``new`` decides whether there is a line).
_ZERO_ITEMS = ("new", "crises", "referrals")


def _total_row(columns: list[Column], rows: list[list], lang: str, *, rates: dict[str, tuple[str, str]] | None = None) -> list:
    """合计: the sum of every int column; a percent column in ``rates`` is part / whole of the sums."""
    total: list = []
    for i, col in enumerate(columns):
        if i == 0:
            total.append(label("field", "total", lang))
        elif col.kind == "int":
            values = [r[i] for r in rows if r[i] is not None]
            total.append(sum(values) if values or not rows else None)
        else:
            total.append(None)
    for key, (part, whole) in (rates or {}).items():
        keys = [c.key for c in columns]
        p, w = total[keys.index(part)], total[keys.index(whole)]
        total[keys.index(key)] = _rate(p or 0, w) if w is not None else None
    return total


# =========================================================================== weekly / monthly


@dataclass
class _CaseFigures:
    """Everything the weekly and monthly sheets share, computed once."""

    start: dict[str, str]
    end: dict[str, str]
    asof: date
    changes: list[dict]
    counts: dict[str, Counter]  # college → activity counter
    overdue: list[dict]
    referrals: list[dict]


def _asof(period: Period, today: date) -> date:
    return min(period.end, today)


def _case_figures(tl: Timelines, data: CaseData, period: Period) -> _CaseFigures:
    asof = _asof(period, data.today)
    start = tl.watched_at(period.start - timedelta(days=1))
    end = tl.watched_at(asof)
    counts: dict[str, Counter] = defaultdict(Counter)
    changes: list[dict] = []
    seen: dict[str, set] = defaultdict(set)
    for sid, e in tl.events(period):
        college = tl.college(sid)
        kind = e["kind"]
        if kind in _ENTRY_COUNTS:
            counts[college][_ENTRY_COUNTS[kind]] += 1
        change = None
        if kind == "level_change":
            change = change_kind(e["fields"])
        elif kind == "status_change" and (e["fields"].get("from") != e["fields"].get("to")):
            change = "status"
        if change is None:
            continue
        changes.append({"student_id": sid, "entry": e, "change": change})
        # A student raised twice in a week is one raised student; so is one who went on leave twice.
        counted = _STATUS_COUNTS.get(e["fields"].get("to")) if change == "status" else change
        if counted and sid not in seen[counted]:
            seen[counted].add(sid)
            counts[college][counted] += 1
    # Dated by due date alone (figures.overdue_at), so a back-dated import's interviews are overdue too.
    overdue = figures.overdue_at(tl.tasks, asof)
    for t in overdue:
        college = tl.college(t["student_id"])
        counts[college]["overdue_tasks"] += 1
        if t["kind"] == "follow_up":
            counts[college]["follow_ups_overdue"] += 1
        elif t["kind"] == "interview":
            counts[college]["interviews_overdue"] += 1
    referrals = [r for r in data.referrals if r.get("student_id") in tl.students]
    for r in referrals:
        if r.get("opened"):
            counts[tl.college(r["student_id"])]["referrals"] += 1
    return _CaseFigures(start, end, asof, changes, counts, overdue, referrals)


def _colleges(tl: Timelines, data: CaseData, figs: _CaseFigures) -> list[str]:
    """Every college of the roster (all zeros or not), and any other college something was counted for."""
    if data.college is not None:
        return [data.college]
    found = set(data.roster or ())
    found |= {tl.college(sid) for sid in (*figs.start, *figs.end)}
    found |= {c for c, counter in figs.counts.items() if any(counter.values())}
    return sorted(found)


def _by_college(tl: Timelines, watched: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for sid, lv in watched.items():
        out[tl.college(sid)].append(lv)
    return out


def _zero_line(total: dict[str, int], period: Period, lang: str) -> str | None:
    """零报告: said in words when the period brought no new watched student, with whatever else it had none of."""
    if total.get("new"):
        return None
    items = [label("zero_item", key, lang) for key in _ZERO_ITEMS if not total.get(key)]
    return text("report_zero_line", lang, period=label("report_period", period.kind, lang), items=label("zero_item", "separator", lang).join(items))


def _summary_sheet(tl: Timelines, data: CaseData, figs: _CaseFigures, period: Period, lang: str) -> Sheet:
    columns = [
        field_column("college"),
        *_level_columns("end", "期末", "End"),
        Column("change", "环比", "Change", "int"),
        *[Column(key, zh, en, "int") for key, zh, en in SUMMARY_ACTIVITY],
    ]
    start, end = _by_college(tl, figs.start), _by_college(tl, figs.end)
    rows = []
    for college in _colleges(tl, data, figs):
        c = figs.counts.get(college, Counter())
        levels = _level_counts(end[college])
        rows.append([_college_cell(college, lang), *levels, levels[-1] - len(start[college]), *[c[key] for key, _, _ in SUMMARY_ACTIVITY]])
    total = _total_row(columns, rows, lang)
    start_day = period.start - timedelta(days=1)
    notes = []
    zero = _zero_line(dict(zip((c.key for c in columns), total)), period, lang)
    if zero:
        notes.append(zero)
    notes.append(
        text("report_summary_note", lang, start=start_day.isoformat(), asof=figs.asof.isoformat(), period=label("report_period", period.kind, lang))
    )
    return Sheet(
        key="summary",
        name_zh="汇总",
        name_en="Summary",
        title_zh="各学院关注学生情况汇总",
        title_en="Watched students by college",
        columns=columns,
        rows=rows,
        total_row=total,
        notes=notes,
        signatures=True,
    )


def _detail_sheet(tl: Timelines, data: CaseData, figs: _CaseFigures, period: Period, lang: str) -> Sheet:
    """汇总(明细): the start of the period and the figures the one-page summary leaves out, same colleges."""
    columns = [field_column("college"), *_level_columns("start", "期初", "Start"), *[Column(key, zh, en, "int") for key, zh, en in DETAIL_ACTIVITY]]
    start = _by_college(tl, figs.start)
    rows = []
    for college in _colleges(tl, data, figs):
        c = figs.counts.get(college, Counter())
        rows.append([_college_cell(college, lang), *_level_counts(start[college]), *[c[key] for key, _, _ in DETAIL_ACTIVITY]])
    start_day = period.start - timedelta(days=1)
    return Sheet(
        key="summary_detail",
        name_zh="汇总(明细)",
        name_en="Summary (detail)",
        title_zh="各学院关注学生情况汇总（明细）",
        title_en="Watched students by college (detail)",
        columns=columns,
        rows=rows,
        total_row=_total_row(columns, rows, lang),
        notes=[text("report_detail_note", lang, start=start_day.isoformat())],
    )


def _capitalised(words: str) -> str:
    """An English label as a column header (``financial hardship`` → ``Financial hardship``)."""
    return words[:1].upper() + words[1:]


def _groups_sheet(tl: Timelines, data: CaseData, figs: _CaseFigures, lang: str) -> Sheet:
    """六类特殊群体 by college: students on roll in each group, and how many of them are watched."""
    columns = [
        field_column("college"),
        *[Column(f"group_{g}", label("group", g, "zh"), _capitalised(label("group", g, "en")), "int") for g in GROUPS],
        Column("any_group", "合计（人数）", "Total (persons)", "int"),
        Column("watched", "其中关注", "Of whom watched", "int"),
    ]
    watched: Counter = Counter()
    for sid in figs.end:
        s = tl.students[sid]
        if s.get("groups") and (s.get("status") or "enrolled") in ON_ROLL_STATUSES:
            watched[tl.college(sid)] += 1
    colleges = [data.college] if data.college is not None else sorted(set(data.roster or ()) | set(watched))
    rows = []
    for college in colleges:
        known = (data.roster or {}).get(college)
        counts = [None] * (len(GROUPS) + 1) if data.roster is None else [int((known or {}).get("groups", {}).get(g, 0)) for g in GROUPS]
        if data.roster is not None:
            counts.append(int((known or {}).get("any_group", 0)))
        rows.append([_college_cell(college, lang), *counts, watched[college]])
    return Sheet(
        key="special_groups",
        name_zh="特殊群体",
        name_en="Special groups",
        title_zh="各学院六类特殊群体学生人数",
        title_en="Students in the six special groups by college",
        columns=columns,
        rows=rows,
        total_row=_total_row(columns, rows, lang),
        notes=[text("report_groups_note", lang, today=data.today.isoformat(), asof=figs.asof.isoformat())],
    )


# 多源预警: after the new signals by rule, what became of them by the period's end, and every signal still pending then.
SIGNAL_ACTIVITY = (
    ("new", "新增合计", "New, total"),
    ("reviewed", "其中已研判", "Of which reviewed"),
    ("outcome_watch", "研判为关注", "Outcome: watch"),
    ("outcome_noted", "研判为已知晓", "Outcome: noted"),
    ("outcome_dismissed", "研判为排除", "Outcome: dismissed"),
    ("pending", "其中待研判", "Of which pending"),
    ("pending_end", "期末待研判（含往期）", "Pending at the end (all)"),
)


def signal_rule_columns(data: CaseData) -> tuple[tuple[str, str, str], ...]:
    """The rules a 多源预警 sheet has a column for: the store's rules, then any other rule a signal names."""
    rules_ = tuple(data.signal_rules) or _domain("signal_rule")
    known = {code for code, _zh, _en in rules_}
    extra = sorted({str(s.get("rule")) for s in data.signals if s.get("rule") and s.get("rule") not in known})
    return (*rules_, *((code, label("signal_rule", code, "zh"), label("signal_rule", code, "en")) for code in extra))


def _signals_sheet(data: CaseData, figs: _CaseFigures, period: Period, lang: str) -> Sheet:
    """多源预警 by college: the period's new signals by rule, reviewed or pending at its end, and the whole backlog then."""
    rules_ = signal_rule_columns(data)
    columns = [
        field_column("college"),
        *[Column(f"new_{code}", zh, _capitalised(en), "int") for code, zh, en in rules_],
        *[Column(key, zh, en, "int") for key, zh, en in SIGNAL_ACTIVITY],
    ]
    counts = figures.signal_counts(data.signals, period.start, figs.asof)
    if data.college is not None:
        colleges = [data.college]
    else:
        colleges = sorted(set(data.roster or ()) | {c for c, counter in counts.items() if any(counter.values())})
    rows = []
    for college in colleges:
        c = counts.get(college, Counter())
        rows.append(
            [
                _college_cell(college, lang),
                *[c[f"new:{code}"] for code, _zh, _en in rules_],
                c["new"],
                c["reviewed"],
                *[c[f"outcome:{o}"] for o in ("watch", "noted", "dismissed")],
                c["pending"],
                c["pending_end"],
            ]
        )
    total = _total_row(columns, rows, lang)
    notes = []
    if not total[[col.key for col in columns].index("new")]:
        notes.append(text("report_signals_zero", lang, period=label("report_period", period.kind, lang)))
    notes.append(text("report_signals_note", lang, start=period.start.isoformat(), asof=figs.asof.isoformat()))
    return Sheet(
        key="signals",
        name_zh="多源预警",
        name_en="Signals",
        title_zh=f"{label('report_period', period.kind, 'zh')}多源预警信号（按规则与学院）",
        title_en=f"Signals of the {label('report_period', period.kind, 'en')} by rule and college",
        columns=columns,
        rows=rows,
        total_row=total,
        notes=notes,
    )


# 上报情况: the 五级网络's class reports of the period (figures.network_coverage).
NETWORK_COLUMNS = (
    ("classes", "班级数", "Classes", "int"),
    ("reported", "已上报", "Reported", "int"),
    ("report_rate", "上报率", "Report rate", "percent"),
    ("zero", "其中零报告", "Of which zero reports", "int"),
    ("concern", "其中有情况", "Of which concerns", "int"),
    ("missing", "未上报班级", "Classes not reported", "text"),
)


def _network_sheet(data: CaseData, period: Period, lang: str) -> Sheet:
    """上报情况 by college: the 五级网络's classes, how many reported for the period (零报告 included) and which did not."""
    columns = [field_column("college"), *[Column(key, zh, en, kind) for key, zh, en, kind in NETWORK_COLUMNS]]
    periods = figures.network_periods(period.kind, period.start, period.end)
    coverage = figures.network_coverage(data.network, data.network_reports, periods)
    colleges = [data.college] if data.college is not None else sorted(set(data.roster or ()) | set(coverage))
    sep = text("list_separator", lang)
    rows = []
    for college in colleges:
        c = coverage.get(college) or {"classes": 0, "reported": 0, "zero": 0, "concern": 0, "missing": []}
        rows.append([_college_cell(college, lang), c["classes"], c["reported"], _rate(c["reported"], c["classes"]), c["zero"], c["concern"], sep.join(c["missing"])])
    total = _total_row(columns, rows, lang, rates={"report_rate": ("reported", "classes")})
    notes = []
    if not total[1]:
        notes.append(text("network_no_roster", lang))
    elif total[2] == total[1]:
        notes.append(text("network_all_reported", lang, period=label("report_period", period.kind, lang)))
    names = [network_period_name(p, lang) for p in periods]
    if period.kind == "week":
        notes.append(text("network_period_week", lang, periods=names[0]))
    elif period.kind == "month":
        notes.append(text("network_period_month", lang, month=names[0], weeks=sep.join(names[1:])))
    else:
        notes.append(text("network_period_range", lang, start=period.start.isoformat(), end=period.end.isoformat(), periods=sep.join(names)))
    notes.append(text("network_definitions", lang))
    return Sheet(
        key="network",
        name_zh="上报情况",
        name_en="Network reports",
        title_zh=f"{label('report_period', period.kind, 'zh')}班级心理委员上报情况（按学院）",
        title_en=f"Class reports of the {label('report_period', period.kind, 'en')} by college",
        columns=columns,
        rows=rows,
        total_row=total,
        notes=notes,
    )


ROSTER_COLUMNS = [
    *_STUDENT_COLUMNS,
    field_column("level", "level"),
    field_column("level_since", "date"),
    field_column("status", "status"),
    field_column("counselor"),
    field_column("advisor"),
    Column("last_contact", "最近联系", "Last contact", "date"),
    Column("next_due", "下次待办", "Next due", "date"),
    Column("measures", "帮扶举措", "Help measures", "text"),
]


def _roster_rows(tl: Timelines, watched: dict[str, str], asof: date) -> list[list]:
    day = asof.isoformat()
    next_due: dict[str, str] = {}
    for t in tl.open_tasks_at(asof):
        sid = t["student_id"]
        if sid in watched and (sid not in next_due or t["due_on"] < next_due[sid]):
            next_due[sid] = t["due_on"]
    rows = []
    for sid, level in watched.items():
        s = tl.students[sid]
        rows.append(
            [
                *_student_cells(s),
                level,
                tl.since_at(sid, day),
                s.get("status") or "enrolled",
                s.get("counselor") or "",
                s.get("advisor") or "",
                tl.last_contact(sid, day),
                _date(next_due.get(sid)),
                "；".join(tl.measures_at(sid, day)),
            ]
        )
    rows.sort(key=lambda r: (r[2], -LEVEL_RANK[r[4]], r[3], r[0]))
    return rows


def _roster_sheet(tl: Timelines, figs: _CaseFigures) -> Sheet:
    return Sheet(
        key="roster",
        name_zh="关注名单",
        name_en="Watch list",
        title_zh=f"关注学生名单（截至 {figs.asof.isoformat()}）",
        title_en=f"Watched students (as of {figs.asof.isoformat()})",
        columns=ROSTER_COLUMNS,
        rows=_roster_rows(tl, figs.end, figs.asof),
    )


# The only clinical text weekly and monthly reports print: the reason of a level or status change
# of the period (本期变动, for readers holding the clinical key). Every other figure comes from the
# records' administrative part.
CLINICAL_ENTRY_KINDS = frozenset({"level_change", "status_change"})

CHANGE_COLUMNS = [
    field_column("date", "date"),
    *_STUDENT_COLUMNS,
    Column("change", "变动", "Change", "code", labels=CHANGE_LABELS),
    Column("from_level", "原等级", "From level", "level"),
    Column("to_level", "新等级", "To level", "level"),
    Column("from_status", "原状态", "From status", "status"),
    Column("to_status", "新状态", "To status", "status"),
    Column("reason", "原因", "Reason", "text"),
    field_column("author"),
]


def _changes_sheet(tl: Timelines, data: CaseData, figs: _CaseFigures, period_kind: str, lang: str = "zh") -> Sheet:
    rows = []
    for ch in figs.changes:
        e, s = ch["entry"], tl.students[ch["student_id"]]
        f = e["fields"]
        is_status = ch["change"] == "status"
        rows.append(
            [
                _date(e["date"]),
                *_student_cells(s),
                ch["change"],
                None if is_status else f.get("from") or "none",
                None if is_status else f.get("to") or "none",
                f.get("from") if is_status else None,
                f.get("to") if is_status else None,
                (f.get("reason") or "") if data.clinical else None,
                e.get("author") or "",
            ]
        )
    notes = [] if data.clinical else [text("report_reasons_clinical", lang)]
    return Sheet(
        key="changes",
        name_zh=f"{label('report_period', period_kind, 'zh')}变动",
        name_en="Changes",
        title_zh=f"{label('report_period', period_kind, 'zh')}关注等级与学籍变动",
        title_en=f"Changes of level and status this {label('report_period', period_kind, 'en')}",
        columns=CHANGE_COLUMNS,
        rows=rows,
        notes=notes,
    )


REFERRAL_COLUMNS = [
    Column("referred_on", "转介日期", "Referred on", "date"),
    *_STUDENT_COLUMNS,
    Column("hospital", "转介医院", "Hospital", "text"),
    Column("urgency", "紧急程度", "Urgency", "code", labels=_domain("urgency")),
    Column("event", "本期情况", "In the period", "code", labels=REFERRAL_EVENT_LABELS),
    Column("status", "期末状态", "Status at end", "code", labels=_domain("referral_status")),
    Column("steps", "本期进展", "Steps in the period", "text"),
    Column("alerts", "逾期事项", "Overdue", "text"),
]


def _referral_rows(referrals: list[dict], students: dict[str, dict], lang: str, clinical: bool) -> list[list]:
    rows = []
    for r in referrals:
        s = students[r["student_id"]]
        steps = r.get("steps") or []
        event = "opened" if r.get("opened") else "advanced" if steps else "overdue"
        step_text = "；".join(
            f"{st['on']} {label('referral_status', st.get('from'), lang) + ' → ' if st.get('from') else ''}{label('referral_status', st['status'], lang)}"
            for st in steps
        )
        alerts = "；".join(label("referral_alert", a, lang) for a in r.get("alerts") or [])
        rows.append(
            [
                _date(r.get("referred_on")),
                *_student_cells(s),
                (r.get("hospital") or "") if clinical else None,
                r.get("urgency"),
                event,
                r.get("status"),
                step_text,
                alerts,
            ]
        )
    rows.sort(key=lambda row: (row[0] or date.min, row[3], row[1]))
    return rows


def _referrals_sheet(tl: Timelines, data: CaseData, figs: _CaseFigures, lang: str, period_kind: str) -> Sheet:
    notes = [] if data.clinical else [text("report_hospitals_clinical", lang)]
    return Sheet(
        key="referrals",
        name_zh="转介",
        name_en="Referrals",
        title_zh=f"{label('report_period', period_kind, 'zh')}新增、进展或逾期的转介",
        title_en=f"Referrals opened, advanced or overdue this {label('report_period', period_kind, 'en')}",
        columns=REFERRAL_COLUMNS,
        rows=_referral_rows(figs.referrals, tl.students, lang, data.clinical),
        notes=notes,
    )


OVERDUE_COLUMNS = [
    field_column("due", "date"),
    Column("days_overdue", "逾期天数", "Days overdue", "int"),
    Column("task", "任务", "Task", "code", labels=_domain("task")),
    *_STUDENT_COLUMNS,
    field_column("level", "level"),
    field_column("proposed_level", "level"),
    field_column("counselor"),
    Column("note", "说明", "Note", "text"),
]


def _overdue_sheet(tl: Timelines, data: CaseData, figs: _CaseFigures, lang: str) -> Sheet:
    rows = []
    masked = 0
    for t in figs.overdue:
        s = tl.students[t["student_id"]]
        if not cases_views.task_shown(t, clinical=data.clinical):
            # A 研判 task says its student has a signal: a clerk sees the task (its due date, college), never whose it is.
            masked += 1
            rows.append([_date(t["due_on"]), figures.days_overdue_at(t, figs.asof), t["kind"], None, None, s.get("college") or "", None, None, None, None, None])
            continue
        rows.append(
            [
                _date(t["due_on"]),
                figures.days_overdue_at(t, figs.asof),
                t["kind"],
                *_student_cells(s),
                figs.end.get(t["student_id"], "none"),
                t.get("proposed_level") if t.get("proposed_level") in LEVELS else None,
                s.get("counselor") or "",
                t.get("note") or "",
            ]
        )
    rows.sort(key=lambda r: (-r[1], r[5], r[3] or ""))
    return Sheet(
        key="overdue",
        name_zh="逾期",
        name_en="Overdue",
        title_zh=f"逾期任务（截至 {figs.asof.isoformat()}）",
        title_en=f"Overdue tasks (as of {figs.asof.isoformat()})",
        columns=OVERDUE_COLUMNS,
        rows=rows,
        notes=[text("report_signal_tasks_clinical", lang, n=masked)] if masked else [],
    )


def _case_report(kind: str, title: tuple[str, str], data: CaseData, period: Period, generated_at: datetime, lang: str, *, trend_months: int = 0) -> Report:
    """The weekly sheets of ``period``; with ``trend_months``, the monthly ones after them."""
    tl = Timelines(data)
    figs = _case_figures(tl, data, period)
    sheets = [
        _summary_sheet(tl, data, figs, period, lang),
        _detail_sheet(tl, data, figs, period, lang),
        _roster_sheet(tl, figs),
        _changes_sheet(tl, data, figs, period.kind, lang),
        _referrals_sheet(tl, data, figs, lang, period.kind),
        _overdue_sheet(tl, data, figs, lang),
        _clarity_sheet(tl, data, figs, lang),
        _groups_sheet(tl, data, figs, lang),
        _signals_sheet(data, figs, period, lang),
        _network_sheet(data, period, lang),
    ]
    if trend_months:
        sheets += [
            _screening_sheet(data, figs.asof, lang, period.kind),
            _trend_sheet(tl, data, period, trend_months),
            _distribution_sheet(tl, figs, lang),
        ]
    meta: dict = {"asof": figs.asof.isoformat()}
    scope_zh = scope_en = ""
    # 第N教学周 when the store knows the term's first Monday and the week lies in one teaching week.
    week = figures.teaching_week(data.term_first_monday, period.start, period.end) if kind == "weekly" else None
    if week is not None:
        meta["teaching_week"] = week
        scope_zh, scope_en = text("report_teaching_week", "zh", week=week), text("report_teaching_week", "en", week=week)
    if data.college:
        meta["college"] = data.college
        scope_zh, scope_en = f"{scope_zh}（{data.college}）", f"{scope_en} ({data.college})"
    return Report(
        kind=kind,
        title_zh=title[0] + scope_zh,
        title_en=title[1] + scope_en,
        period=period,
        generated_at=generated_at,
        lang=lang,
        sheets=sheets,
        meta=meta,
    )


def weekly_report(data: CaseData, period: Period, *, generated_at: datetime, lang: str = "zh") -> Report:
    """周报: summary by college (and its detail), watch list, changes, referrals, overdue tasks, three clarities, special groups and 多源预警."""
    return name_staff(_case_report("weekly", ("心理健康工作周报", "Weekly mental-health report"), data, period, generated_at, lang), data.staff_names)


def monthly_report(data: CaseData, period: Period, *, generated_at: datetime, lang: str = "zh", trend_months: int = 6) -> Report:
    """月报: the weekly sheets for a month, plus screening, trend and distribution."""
    report = _case_report("monthly", ("心理健康工作月报", "Monthly mental-health report"), data, period, generated_at, lang, trend_months=trend_months)
    return name_staff(report, data.staff_names)


SCREENING_COLUMNS = [
    Column("batch", "批次", "Batch", "text"),
    field_column("instrument"),
    Column("imported_on", "导入日期", "Imported on", "date"),
    Column("respondents", "参与人数", "Respondents", "int"),
    Column("proposed_red", "建议一级", "Proposed red", "int"),
    Column("proposed_orange", "建议二级", "Proposed orange", "int"),
    Column("proposed_yellow", "建议三级", "Proposed yellow", "int"),
    Column("proposed", "筛查阳性", "Positive", "int"),
    Column("positive_rate", "阳性率", "Positive rate", "percent"),
    Column("interviews_done", "已约谈", "Interviewed", "int"),
    Column("interviews_overdue", "约谈逾期", "Interviews overdue", "int"),
]


def _screening_sheet(data: CaseData, asof: date, lang: str, period_kind: str) -> Sheet:
    """One row per batch in 人数; the total counts each student once across the batches (人次 are in the note)."""
    rows = []
    every: list[dict] = []
    done_all: set[str] = set()
    late_all: set[str] = set()
    for b in sorted(data.batches, key=lambda b: (b["imported_on"], b.get("name") or "")):
        responses = data.batch_responses.get(b["id"], [])
        every += responses
        respondents = figures.persons(responses)
        counts = figures.level_counts(figures.highest_proposals(responses).values())
        done = figures.interviewed(responses, data.interviews, since=b["imported_on"], asof=asof)
        late = figures.interviews_overdue(responses, data.batch_tasks, since=b["imported_on"], asof=asof)
        done_all |= done
        late_all |= late
        rows.append(
            [
                b.get("name") or b["id"][:8],
                b.get("instrument_name") or (b.get("instrument") or "").upper(),
                _date(b["imported_on"]),
                respondents,
                *counts,
                _rate(counts[-1], respondents),
                len(done),
                len(late),
            ]
        )
    notes = [text("report_screening_note", lang)]
    total = None
    if rows:
        persons = figures.persons(every)
        counts = figures.level_counts(figures.highest_proposals(every).values())
        total = [text("report_total_persons", lang), None, None, persons, *counts, _rate(counts[-1], persons), len(done_all), len(late_all)]
        notes.append(text("report_screening_totals", lang, visits=figures.visits(every), positive=sum(1 for r in every if figures.is_positive(r))))
    return Sheet(
        key="screening",
        name_zh="筛查统计",
        name_en="Screening",
        title_zh=f"{label('report_period', period_kind, 'zh')}筛查批次统计",
        title_en=f"Screening batches of the {label('report_period', period_kind, 'en')}",
        columns=SCREENING_COLUMNS,
        rows=rows,
        total_row=total,
        notes=notes,
    )


CLARITY_COLUMNS = [
    field_column("college"),
    Column("watched", "关注人数", "Watched", "int"),
    Column("basic", "基本信息明确", "Basic information", "int"),
    Column("state", "当前状态明确", "Current state", "int"),
    Column("measure", "帮扶举措明确", "Help measures", "int"),
    Column("complete", "三个明确齐全", "All three", "int"),
    Column("complete_rate", "完整率", "Complete", "percent"),
]


def _clarity_sheet(tl: Timelines, data: CaseData, figs: _CaseFigures, lang: str) -> Sheet:
    day = figs.asof.isoformat()
    per: dict[str, Counter] = defaultdict(Counter)
    for sid in figs.end:
        missing = cases_model.three_clarities(tl.students[sid], tl.entries_until(sid, day), figs.asof, data.cadence)
        groups = {cases_model.clarity_group(m) for m in missing}
        c = per[tl.college(sid)]
        c["watched"] += 1
        for g in ("basic", "state", "measure"):
            c[g] += g not in groups
        c["complete"] += not groups
    rows = [
        [_college_cell(college, lang), c["watched"], c["basic"], c["state"], c["measure"], c["complete"], _rate(c["complete"], c["watched"])]
        for college, c in sorted(per.items())
    ]
    return Sheet(
        key="clarity",
        name_zh="三个明确",
        name_en="Three clarities",
        title_zh=f"关注学生“三个明确”完整情况（截至 {day}）",
        title_en=f"Three clarities of watched students (as of {day})",
        columns=CLARITY_COLUMNS,
        rows=rows,
        total_row=_total_row(CLARITY_COLUMNS, rows, lang, rates={"complete_rate": ("complete", "watched")}),
        notes=[text("report_clarity_note", lang)],
    )


TREND_COLUMNS = [
    Column("month", "月份", "Month", "text"),
    *[Column(lv, label("level", lv, "zh"), label("level", lv, "en"), "int") for lv in WATCH_LEVELS],
    Column("total", "合计", "Total", "int"),
]


def _trend_sheet(tl: Timelines, data: CaseData, period: Period, months: int) -> Sheet:
    rows = []
    for m in months_back(period, months):
        watched = tl.watched_at(_asof(m, data.today)) if m.start <= data.today else {}
        rows.append([m.label, *_level_counts(watched.values())])
    return Sheet(
        key="trend",
        name_zh="趋势",
        name_en="Trend",
        title_zh=f"近{months}个月关注学生人数（各月月末）",
        title_en=f"Watched students over {months} months (at each month's end)",
        columns=TREND_COLUMNS,
        rows=rows,
        charts=[Chart("line", "关注学生人数趋势", "Watched students", "month", (*WATCH_LEVELS, "total"), anchor="G2")],
    )


DISTRIBUTION_COLUMNS = [field_column("college"), *TREND_COLUMNS[1:]]


def _distribution_sheet(tl: Timelines, figs: _CaseFigures, lang: str) -> Sheet:
    per: dict[str, list[str]] = defaultdict(list)
    for sid, lv in figs.end.items():
        per[tl.college(sid)].append(lv)
    rows = [[_college_cell(college, lang), *_level_counts(levels)] for college, levels in sorted(per.items())]
    return Sheet(
        key="distribution",
        name_zh="等级分布",
        name_en="Levels by college",
        title_zh=f"各学院关注等级分布（截至 {figs.asof.isoformat()}）",
        title_en=f"Watch levels by college (as of {figs.asof.isoformat()})",
        columns=DISTRIBUTION_COLUMNS,
        rows=rows,
        total_row=_total_row(DISTRIBUTION_COLUMNS, rows, lang),
        charts=[Chart("bar", "各学院关注等级分布", "Watch levels by college", "college", WATCH_LEVELS, anchor="G2", stacked=True)],
    )


# =========================================================================== census


def _group_value(r: dict, dimension: str) -> str:
    return str(r.get(dimension) or "").strip()


def census_period(data: CensusData) -> Period:
    """The days the batch's answers were submitted on (the import day when none say)."""
    days = sorted(r["on_date"][:10] for r in data.responses if r.get("on_date"))
    start = _date(days[0]) if days else _date(data.batch["imported_on"])
    end = _date(days[-1]) if days else start
    return Period("range", start, end, f"{start.isoformat()}..{end.isoformat()}")


def _band_codes(data: CensusData) -> list[str]:
    known = [code for code, _, _ in data.bands]
    extra = sorted({r.get("band") for r in data.responses if r.get("band") and r.get("band") not in known})
    return known + extra


def _proposal_counts(responses: list[dict]) -> list[int]:
    """建议一级/二级/三级 and 筛查阳性 of one batch's responses (one per student)."""
    return figures.level_counts(figures.proposed_level(r) for r in responses)


CENSUS_COLLEGE_COLUMNS = [
    field_column("college"),
    Column("roster", "应参与", "Expected", "int"),
    Column("respondents", "实参与", "Respondents", "int"),
    Column("participation", "参与率", "Participation", "percent"),
    Column("red", "建议一级", "Proposed red", "int"),
    Column("orange", "建议二级", "Proposed orange", "int"),
    Column("yellow", "建议三级", "Proposed yellow", "int"),
    Column("positive", "筛查阳性", "Positive", "int"),
    Column("positive_rate", "阳性率", "Positive rate", "percent"),
    Column("interviewed", "已约谈", "Interviewed", "int"),
]


def _census_college_sheet(data: CensusData, lang: str) -> Sheet:
    by_college: dict[str, list[dict]] = defaultdict(list)
    for r in data.responses:
        by_college[_group_value(r, "college")].append(r)
    colleges = set(by_college)
    if data.roster is not None:
        colleges |= {c for c, ids in data.roster.items() if ids}
    if data.college is not None:
        colleges.add(data.college)
    rows = []
    for college in sorted(colleges):
        rs = by_college.get(college, [])
        expected = None
        if data.roster is not None:
            # Respondents missing from the roster were expected too: the roster was incomplete, not they.
            expected = len(set(data.roster.get(college, ())) | {r["student_id"] for r in rs})
        proposed = _proposal_counts(rs)
        respondents = figures.persons(rs)
        interviewed = len(figures.interviewed(rs, data.interviews, since=data.batch["imported_on"]))
        rows.append(
            [_college_cell(college, lang), expected, respondents, _rate(respondents, expected), *proposed, _rate(proposed[-1], respondents), interviewed]
        )
    total = _total_row(
        CENSUS_COLLEGE_COLUMNS,
        rows,
        lang,
        rates={"participation": ("respondents", "roster"), "positive_rate": ("positive", "respondents")},
    )
    notes = [text("report_census_note", lang)]
    if data.roster is not None and data.cohort:
        notes.append(text("report_census_cohort", lang, cohort="、".join(data.cohort)))
    elif data.roster_imported and not data.cohort:
        notes.append(text("report_census_cohort_unknown", lang))
    if data.batch.get("voided"):
        notes.append(text("report_census_voided", lang, reason=data.batch.get("void_reason") or ""))
    return Sheet(
        key="colleges",
        name_zh="参与情况",
        name_en="Participation",
        title_zh="各学院参与情况与筛查结果",
        title_en="Participation and results by college",
        columns=CENSUS_COLLEGE_COLUMNS,
        rows=rows,
        total_row=total,
        charts=[Chart("bar", "各学院筛查提示等级人数", "Proposed levels by college", "college", WATCH_LEVELS, stacked=True)],
        notes=notes,
        signatures=True,
    )


def _census_groups_sheet(data: CensusData, lang: str) -> Sheet:
    bands = _band_codes(data)
    band_labels = {code: (zh, en) for code, zh, en in data.bands}
    columns = [
        Column("dimension", "维度", "Dimension", "code", labels=DIMENSION_LABELS),
        Column("group", "分组", "Group", "text"),
        Column("respondents", "人数", "Respondents", "int"),
        # Headed 分级：… so a band the instrument calls 阳性 is not read as 筛查阳性 (they differ by the critical items).
        *[Column(f"band_{b}", *(text("report_band_column", lg, band=name) for lg, name in zip(("zh", "en"), band_labels.get(b, (b, b)))), "int") for b in bands],
        Column("red", "建议一级", "Proposed red", "int"),
        Column("orange", "建议二级", "Proposed orange", "int"),
        Column("yellow", "建议三级", "Proposed yellow", "int"),
        Column("positive", "筛查阳性", "Positive", "int"),
        Column("positive_rate", "阳性率", "Positive rate", "percent"),
    ]
    rows = []
    for dimension, _, _ in DIMENSION_LABELS:
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in data.responses:
            groups[_group_value(r, dimension)].append(r)
        for group in sorted(groups):
            rs = groups[group]
            band_count = Counter(r.get("band") for r in rs)
            proposed = _proposal_counts(rs)
            respondents = figures.persons(rs)
            rows.append(
                [dimension, group or text("report_not_set", lang), respondents, *[band_count[b] for b in bands], *proposed, _rate(proposed[-1], respondents)]
            )
    return Sheet(
        key="groups",
        name_zh="分级统计",
        name_en="By group",
        title_zh="按学院、性别、年级的分级与提示等级人数",
        title_en="Bands and proposed levels by college, gender and grade",
        columns=columns,
        rows=rows,
        notes=[text("report_band_note", lang)],
    )


CENSUS_LIST_COLUMNS = [
    *_STUDENT_COLUMNS[:2],
    field_column("gender"),
    *_STUDENT_COLUMNS[2:],
    field_column("advisor"),
    field_column("proposed_level", "level"),
    Column("band", "分级", "Band", "code"),
    field_column("flags"),
    Column("due", "约谈截止", "Interview due", "date"),
    Column("interviewed_on", "约谈日期", "Interviewed on", "date"),
    Column("level", "当前关注等级", "Current level", "level"),
]


def _proposed(data: CensusData) -> list[dict]:
    rs = [r for r in data.responses if (r.get("proposed_level") or "none") in WATCH_LEVELS]
    rs.sort(key=lambda r: (-LEVEL_RANK[r["proposed_level"]], _group_value(r, "college"), _group_value(r, "class_name"), r.get("student_no") or ""))
    return rs


def _flag_labels(data: CensusData, rows: list[list], index: int) -> tuple[tuple[str, str, str], ...]:
    """Labels of the critical-item cells: each set of flags (``item15``) as the items' wording.

    The cell keeps the flag codes, so JSON has them; the workbook shows the
    wording from the instrument definition in the report's language.
    """
    known = {code: (zh, en) for code, zh, en in data.flags}
    out = {}
    for row in rows:
        value = row[index]
        if value and value not in out:
            parts = [known.get(code, (code, code)) for code in value.split("、")]
            out[value] = (value, text("list_separator", "zh").join(p[0] for p in parts), text("list_separator", "en").join(p[1] for p in parts))
    return tuple(out.values())


def _census_list_sheet(data: CensusData, lang: str = "zh") -> Sheet:
    columns = [dataclasses.replace(c, labels=data.bands) if c.key == "band" else c for c in CENSUS_LIST_COLUMNS]
    rows = []
    for r in _proposed(data):
        s = data.students.get(r["student_id"], {})
        task = data.tasks.get(r["student_id"]) or {}
        rows.append(
            [
                s.get("student_no") or r.get("student_no") or "",
                s.get("name") or r.get("name") or "",
                s.get("gender") or r.get("gender") or "",
                _group_value(r, "college"),
                s.get("class_name") or r.get("class_name") or "",
                s.get("advisor") or "",
                r["proposed_level"],
                r.get("band"),
                "、".join(r.get("flags") or []),
                _date(task.get("due_on")),
                _date(data.interviews.get(r["student_id"])),
                s.get("level") or "none",
            ]
        )
    flags = [c.key for c in columns].index("flags")
    columns[flags] = dataclasses.replace(columns[flags], kind="code", labels=_flag_labels(data, rows, flags))
    return Sheet(
        key="interviews",
        name_zh="约谈名单",
        name_en="Interview list",
        title_zh="筛查提示需约谈的学生",
        title_en="Students to interview",
        columns=columns,
        rows=rows,
        notes=[text("report_interviews_note", lang)],
    )


def _census_title(data: CensusData) -> tuple[str, str]:
    name = data.batch.get("name") or data.batch["id"][:8]
    scope_zh, scope_en = (f"（{data.college}）", f" ({data.college})") if data.college else ("", "")
    return f"心理普查报告：{name}{scope_zh}", f"Screening census: {name}{scope_en}"


def _census_meta(data: CensusData) -> dict:
    meta = {"batch": data.batch["id"], "batch_name": data.batch.get("name"), "instrument": data.batch.get("instrument")}
    if data.cohort:
        meta["cohort"] = list(data.cohort)
    if data.college:
        meta["college"] = data.college
    return meta


def census_report(data: CensusData, *, generated_at: datetime, lang: str = "zh") -> Report:
    """普查报告: participation, bands and proposed levels by group, and the interview list."""
    zh, en = _census_title(data)
    return Report(
        kind="census",
        title_zh=zh,
        title_en=en,
        period=census_period(data),
        generated_at=generated_at,
        lang=lang,
        sheets=[_census_college_sheet(data, lang), _census_groups_sheet(data, lang), _census_list_sheet(data, lang)],
        meta=_census_meta(data),
    )


def _chinese_header(col: Column) -> Column:
    return dataclasses.replace(col, header_en=col.header_zh)


# The columns `cases import-interviews` reads back keep their Chinese headers in
# both languages, since those are the headers its profile knows: the student
# columns it matches on, and the blank columns an advisor fills in.
SPLIT_COLUMNS = [
    *map(_chinese_header, _STUDENT_COLUMNS[:2]),
    field_column("gender"),
    *map(_chinese_header, _STUDENT_COLUMNS[2:]),
    field_column("advisor"),
    field_column("proposed_level", "level"),
    Column("due", "约谈截止", "Interview due", "date"),
    Column("interview_date", "约谈日期", "约谈日期", "date", width=14),
    Column("interviewer", "约谈人", "约谈人", "text", width=12),
    Column("summary", "情况描述", "情况描述", "text", width=40),
    Column("assessed_level", "评估等级", "评估等级", "text", width=12),
    Column("measures", "后续措施", "后续措施", "text", width=30),
]


def census_split(data: CensusData, *, generated_at: datetime, lang: str = "zh") -> dict[str, Report]:
    """One interview workbook per college for its advisors: college → report."""
    by_college: dict[str, list[dict]] = defaultdict(list)
    for r in _proposed(data):
        by_college[_group_value(r, "college")].append(r)
    period = census_period(data)
    name = data.batch.get("name") or data.batch["id"][:8]
    out: dict[str, Report] = {}
    for college in sorted(by_college):
        rows = []
        for r in by_college[college]:
            s = data.students.get(r["student_id"], {})
            task = data.tasks.get(r["student_id"]) or {}
            rows.append(
                [
                    s.get("student_no") or r.get("student_no") or "",
                    s.get("name") or r.get("name") or "",
                    s.get("gender") or r.get("gender") or "",
                    college,
                    s.get("class_name") or r.get("class_name") or "",
                    s.get("advisor") or "",
                    r["proposed_level"],
                    _date(task.get("due_on")),
                    None,
                    None,
                    None,
                    None,
                    None,
                ]
            )
        sheet = Sheet(
            key="interviews",
            name_zh="约谈名单",
            name_en="Interview list",
            title_zh=f"{college or text('report_not_set', 'zh')} 约谈记录表（请填写约谈日期、约谈人、情况描述、评估等级、后续措施后交回心理中心）",
            title_en=f"{college or text('report_not_set', 'en')} interview sheet (fill in the blank columns and return it to the counseling center)",
            columns=SPLIT_COLUMNS,
            rows=rows,
        )
        out[college] = Report(
            kind="census",
            title_zh=f"心理普查约谈名单：{name}",
            title_en=f"Screening interview list: {name}",
            period=period,
            generated_at=generated_at,
            lang=lang,
            sheets=[sheet],
            meta={**_census_meta(data), "college": college},
        )
    return out


# =========================================================================== crisis


def _moment(text) -> datetime | date | None:
    """An ISO date or date-time as typed in a crisis record; ``None`` when it is neither."""
    if not text:
        return None
    text = str(text)
    try:
        if len(text) > 10:
            return datetime.fromisoformat(text).replace(tzinfo=None)
        return date.fromisoformat(text)
    except ValueError:
        return None


def _moment_field(key: str, zh: str, en: str, value) -> FormField:
    moment = _moment(value)
    if isinstance(moment, datetime):
        return FormField(key, zh, en, moment, "datetime")
    if isinstance(moment, date):
        return FormField(key, zh, en, moment, "date")
    return FormField(key, zh, en, str(value) if value else None)


def _notified(value) -> list[tuple[str, object]]:
    """(who, when) pairs of a crisis record's ``notified`` list (``{"who", "at"}`` items)."""
    return [(str(n.get("who") or ""), n.get("at")) for n in value or [] if isinstance(n, dict)]


def _parents_deadline(fields: dict, lang: str) -> str:
    """Whether the parents knew in time, from the same 家长知悉时间 the form shows."""
    happened, told = _moment(fields.get("happened_at")), _moment(cases_recording.parents_notified_at(fields))
    limit = rules.GUARDIAN_NOTICE_HOURS
    if not isinstance(told, datetime):
        return text("report_parents_unrecorded", lang)
    if not isinstance(happened, datetime):
        return text("report_parents_no_hour", lang)
    hours = (told - happened).total_seconds() / 3600
    if hours <= limit:
        return text("report_parents_within", lang, limit=limit)
    return text("report_parents_late", lang, limit=limit, hours=int(hours))


def _crisis_field(key: str, value, kind: str = "text", *, label_key: str | None = None) -> FormField:
    """A field of the crisis form labelled from the ``crisis_field`` catalog."""
    code = label_key or key
    return FormField(key, label("crisis_field", code, "zh"), label("crisis_field", code, "en"), value, kind)


def _crisis_section(key: str) -> FormSection:
    return FormSection(key, label("crisis_field", key, "zh"), label("crisis_field", key, "en"))


def _upward(fields: dict, lang: str) -> list:
    """向上级报告: to whom, when and how, or one line saying it is not recorded yet."""
    if not any(fields.get(k) for k in ("reported_to", "reported_at", "reported_how")):
        return [_crisis_field("upward", text("report_upward_unrecorded", lang))]
    when = _moment_field("reported_at", label("crisis_field", "reported_at", "zh"), label("crisis_field", "reported_at", "en"), fields.get("reported_at"))
    return [_crisis_field("reported_to", fields.get("reported_to")), when, _crisis_field("reported_how", fields.get("reported_how"))]


def name_staff(report: Report, names: dict[str, str]) -> Report:
    """Show staff by the names people read (张华), not their logins, in every staff column; in place.

    Reports name counselors and authors by login in the store; a reader
    upstairs knows 张华, not ``zhanghua``. Anyone not a staff member (an
    advisor typed by hand) stays as typed.
    """
    if not names:
        return report
    for sheet in report.sheets:
        at = [i for i, c in enumerate(sheet.columns) if c.key in STAFF_COLUMNS]
        for row in sheet.rows:
            for i in at:
                if row[i]:
                    row[i] = names.get(row[i], row[i])
    return report


# Columns that hold a staff login (负责咨询师, 记录人).
STAFF_COLUMNS = frozenset({"counselor", "author"})

CRISIS_LOG_COLUMNS = [
    field_column("date", "date"),
    Column("kind", "类型", "Kind", "code", labels=_domain("entry")),
    field_column("author"),
    field_column("summary"),
]


def crisis_report(data: CrisisData, *, generated_at: datetime, lang: str = "zh", contacts: bool = True) -> Report:
    """随时报告 of one crisis entry: the report, student, what happened, actions, notifications, the report upward, state, people.

    ``contacts=False`` leaves out phone numbers and guardians, for copies that
    leave the center (with ``--redact``). Every field says one thing once:
    家长知悉时间 and the 24-hour line come from the same notice record.
    """
    s, e = data.student, data.entry
    f = e.get("fields") or {}
    day = _date(e["date"])
    staff = lambda login: staff_name(login, data.staff_names)  # noqa: E731

    def fld(key: str, value, kind: str = "text", pii: str | None = None) -> FormField:
        return FormField(key, label("field", key, "zh"), label("field", key, "en"), value, kind, pii=pii)

    items: list = [
        _crisis_section("report"),
        _crisis_field("unit", data.unit or text("report_unit_default", lang)),
        _crisis_field("event_date", day, "date"),
        _crisis_field("event_type", label("crisis_type", f.get("event_type"), lang) or None),
        _crisis_field("risk", label("crisis_risk", f.get("risk"), lang) or None),
        FormSection("student", "学生基本信息", "Student"),
        fld("student_no", s.get("student_no"), pii="student_no"),
        fld("name", s.get("name"), pii="name"),
        fld("gender", s.get("gender")),
        fld("college", s.get("college")),
        fld("major", s.get("major")),
        fld("grade", s.get("grade")),
        fld("class_name", s.get("class_name")),
        fld("dorm", s.get("dorm")),
        fld("advisor", s.get("advisor")),
    ]
    if contacts:
        items += [
            fld("phone", s.get("phone")),
            fld("advisor_phone", s.get("advisor_phone")),
            fld("guardians", cases_views.guardian_text(s.get("guardians") or []) or None),
        ]
    groups = text("list_separator", lang).join(label("group", g, lang) for g in s.get("groups") or [])
    items.append(fld("groups", groups or None))

    items += [
        FormSection("event", "事件经过", "What happened"),
        _moment_field("happened_at", "发生时间", "Happened at", f.get("happened_at") or e["date"]),
        FormField("where", "地点", "Where", f.get("where")),
        FormField("what", "事件经过", "What happened", f.get("what")),
        FormField("reported_by", "记录人", "Recorded by", staff(e.get("author"))),
        FormField("recorded_at", "记录时间", "Recorded at", data.recorded_at, "datetime"),
        FormSection("actions", "处置措施", "Actions taken"),
        FormField("actions", "处置措施", "Actions", f.get("actions")),
        FormSection("notified", "通知情况", "Notifications"),
        _moment_field("parents_notified_at", "家长知悉时间", "Parents notified at", cases_recording.parents_notified_at(f)),
        FormField("parents_deadline", "时限", "Deadline", _parents_deadline(f, lang)),
    ]
    for i, (who, when) in enumerate(_notified(f.get("notified")), start=1):
        moment = _moment(when)
        if isinstance(moment, (datetime, date)):
            items.append(FormField(f"notified_{i}", who, who, moment, "datetime" if isinstance(moment, datetime) else "date"))
        else:
            items.append(FormField(f"notified_{i}", who, who, str(when) if when else None))
    items += [_crisis_section("upward"), *_upward(f, lang)]

    level = s.get("level") or "none"
    open_refs = [r for r in data.referrals if r.get("status") not in ("closed", "declined", "cancelled")]
    ref_text = "；".join(
        " ".join(x for x in ((r.get("hospital") if data.clinical else None), label("referral_status", r.get("status"), lang), r.get("referred_on")) if x)
        for r in open_refs
    )
    task_text = "；".join(f"{label('task', t['kind'], lang)} {t['due_on']}" for t in sorted(data.tasks, key=lambda t: t["due_on"]))
    later = [x for x in data.entries if x.get("id") != e.get("id")]
    involved = text("list_separator", lang).join(dict.fromkeys(staff(x.get("author")) for x in data.entries if x.get("author")))
    items += [
        FormSection("state", "当前状态", "Current state"),
        fld("level", level, "level"),
        fld("level_since", _date(s.get("level_since")) if level != "none" else None, "date"),
        fld("status", s.get("status") or "enrolled", "status"),
        FormField("referrals", "转介情况", "Referrals", ref_text or None),
        FormField("open_tasks", "待办事项", "Open tasks", task_text or None),
        FormField("records_since", "事件后记录", "Records since", len(later), "int"),
        FormSection("people", "责任人", "Responsible people"),
        fld("counselor", staff(s.get("counselor")) or None),
        fld("advisor", s.get("advisor") or None),
        FormField("reporter", "报告人", "Reported by", staff(e.get("author"))),
        FormField("involved", "参与处置人员", "Staff involved", involved or None),
        SignatureLine((("报告人签字", "Reported by"), ("日期", "Date"))),
        SignatureLine((("中心负责人签字", "Head of center"), ("日期", "Date"))),
    ]
    form = Sheet(
        key="crisis",
        name_zh="危机事件报告",
        name_en="Crisis report",
        title_zh="危机事件随时报告",
        title_en="Crisis event report",
        kind="form",
        form=items,
        notes=[text("report_crisis_note", lang)],
    )
    log_rows = []
    for x in data.entries:
        item = cases_views.entry_item(x, clinical=data.clinical)
        log_rows.append([_date(x["date"]), x["kind"], x.get("author") or "", cases_views.entry_summary(item, lang)])
    log = Sheet(
        key="log",
        name_zh="处置记录",
        name_en="Records",
        title_zh="事件以来的记录",
        title_en="Records since the event",
        columns=CRISIS_LOG_COLUMNS,
        rows=log_rows,
    )
    meta = {"entry": e.get("id"), "student": s.get("id"), "contacts": contacts, "event_date": day.isoformat()}
    meta.update({k: f[k] for k in ("event_type", "risk") if f.get(k)})
    if data.unit:
        meta["unit"] = data.unit
    report = Report(
        kind="crisis",
        title_zh="危机事件随时报告",
        title_en="Crisis event report",
        # An event has a day, not a 统计周期: the form's 事件日期 says it.
        period=None,
        generated_at=generated_at,
        lang=lang,
        sheets=[form, log],
        meta=meta,
    )
    return name_staff(report, data.staff_names)


__all__ = [
    "CaseData",
    "CensusData",
    "CrisisData",
    "Timelines",
    "change_kind",
    "task_batches",
    "weekly_report",
    "monthly_report",
    "census_report",
    "census_split",
    "census_period",
    "crisis_report",
    "name_staff",
]
