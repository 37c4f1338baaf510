"""The read side of 一人一档: dossiers, lists, searches, task lists and the three-clarities check.

Every function here that shows personal data checks the reader's role and
college scope and appends a read entry to the audit chain (who saw which
students) before it returns: clerks see dossier headers, measures and tasks
but not the content of clinical entries; staff scoped to colleges see only
their colleges.

``cases list`` reads the watched students through their open watch episodes,
so it opens a few thousand student records, not the whole school.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from mhtool.cases.domain import model, views
from mhtool.cases.usecases import service
from mhtool.domain import dates, sensitivity
from mhtool.errors import UsageError
from mhtool.i18n import _
from mhtool.store.repos import WATCH_LIST_COPY, Student


def check_kinds(kinds: set[str] | None) -> set[str] | None:
    """The timeline kinds asked for, refusing unknown ones; None for all."""
    kinds = {k.strip() for k in kinds or () if k.strip()} or None
    if kinds:
        unknown = kinds - set(model.ENTRY_KINDS) - {"screening", *views.SIGNAL_KINDS}
        if unknown:
            raise UsageError(
                _("--kind: unknown {kinds}").format(kinds=", ".join(sorted(unknown))),
                hint=_("one of screening, {kinds}").format(kinds=", ".join((*model.ENTRY_KINDS, *views.SIGNAL_KINDS))),
            )
    return kinds


def student_signals(store, student_id: str) -> list[dict] | None:
    """The student's 多源预警 signals as a dossier shows them, or None for a reader without the clinical key.

    A clerk's dossier shows no signal at all, not even that one exists: the
    signals' records stay sealed for them.
    """
    if not store.can("clinical"):
        return None
    return views.signal_views(store.signals.for_student(student_id))


def dossier_view(store, student: dict, *, kinds: set[str] | None = None) -> dict:
    """A student's whole dossier as the reader may see it.

    The caller has checked the reader's role and scope, and audits the read.
    """
    clinical = store.can("clinical")
    entries = service.entries_for(store, student["id"])
    responses = service.responses_for(store, student["id"])
    today = service.today(store)
    # A clerk's dossier has no trace of a signal: no signal lines and no 研判 task.
    tasks = [views.task_item(t, today) for t in service.open_tasks(store, student["id"]) if views.task_shown(t, clinical=clinical)]
    watched = (student.get("level") or "none") != "none"
    missing = model.three_clarities(student, model.effective(entries), today, service.cadence(store)) if watched else []
    signals = student_signals(store, student["id"])
    shown = {
        "student": views.public_student(student, clinical=clinical),
        "timeline": views.build_timeline(entries, responses, clinical=clinical, kinds=kinds, signals=signals),
        "tasks": tasks,
        "measures": views.measure_items(entries, today),
        "missing": missing,
        "today": today.isoformat(),
        "clinical": clinical,
    }
    if signals is not None:
        # Only for readers with the clinical key: a clerk's dossier has no "signals" at all.
        shown["signals"] = signals
    return shown


def dossier(store, student_no: str, *, action: str = "cases.show", kinds: set[str] | None = None, details: dict | None = None) -> dict:
    """The whole dossier of one student, as the reader may see it; the read is audited."""
    kinds = check_kinds(kinds)
    store.require("dossier", action=action)
    student = service.load_student(store, student_no, action=action)
    target = f"students/{student['id']}"
    if kinds and kinds & {*model.CLINICAL_KINDS, *views.SIGNAL_KINDS} and not store.can("clinical"):
        store.require("clinical", action=action, targets=[target])
    d = dossier_view(store, student, kinds=kinds)
    store.audit_read(action, targets=[target], details={**({"kinds": sorted(kinds)} if kinds else {}), **(details or {})} or None)
    return d


def erased(store, student_no: str, pseudonym: str | None, *, action: str = "cases.show") -> dict | None:
    """What is left of an erased student's dossier: the fact of the erasure (when, by whom, why), no personal data.

    ``pseudonym`` is the one the placeholder carries for ``student_no`` (see
    :meth:`mhtool.app.center.Center.erased_pseudonym`); None, or no
    placeholder carrying it, gives None. The read is audited.
    """
    store.require("dossier", action=action)
    if not pseudonym:
        return None
    holder = next((s for s in store.students.placeholders() if (s.get("erased") or {}).get("pseudonym") == pseudonym), None)
    if holder is None:
        return None
    store.audit_read(action, targets=[f"students/{holder['id']}"], details={"erased": True})
    return views.erased_view(student_no, holder["erased"], store.tz)


# -- lists ------------------------------------------------------------------------------------


def _in_scope(store, students: list[dict]) -> list[dict]:
    if not store.staff.colleges:
        return students
    return [s for s in students if store.in_scope(s.get("college"))]


# How the copy of the watch list was read (fields, defaults, what stays clinical): a copy made under other rules is not used.
_LIST_READING = hashlib.blake2b(
    repr((1, views.LIST_FIELDS, sorted(Student.DEFAULTS.items()), sensitivity.STUDENT_CLINICAL_FIELDS)).encode(), digest_size=8
).hexdigest()


def watched(store) -> list[dict]:
    """The watched students as their list rows need them (administrative part only), in the order of their ids.

    ``cases list`` reads every watched student, and from one list to the next
    nearly all of them are unchanged. So the fields a row shows are kept in a
    sealed copy (roster key, :data:`~mhtool.store.repos.WATCH_LIST_COPY`) with
    each student row's version: the digest the audit ledger holds of it,
    which changes with any byte of the row, written by mhtool or edited
    outside it. Only students whose version differs are opened, and so
    checked, as every one is when there is no copy; the copy is then written
    again. Erasing a student drops the copy.
    """
    versions = store.students.watched_versions()
    copy = store.sealed_values.get(WATCH_LIST_COPY)
    kept = copy.get("students") if isinstance(copy, dict) and copy.get("reading") == _LIST_READING else None
    kept = kept if isinstance(kept, dict) else {}
    fields = views.LIST_FIELDS
    width = len(fields) + 1
    found: dict[str, dict] = {}
    for sid, version in versions.items():
        row = kept.get(sid)
        if isinstance(row, list) and len(row) == width and row[0] == version.hex():
            student = dict(zip(fields, row[1:]))
            student["id"] = sid
            found[sid] = student
    stale = [sid for sid in versions if sid not in found]
    found.update(store.students.by_ids(stale, clinical=False))
    students = [found[sid] for sid in versions if sid in found]
    if (stale or len(kept) != len(versions)) and not store.readonly:
        rows = {s["id"]: [versions[s["id"]].hex(), *(s.get(k) for k in fields)] for s in students}
        with store.write("cache.watch-list", details={"copied": len(stale), "kept": len(rows) - len(stale)}) as txn:
            store.sealed_values.put(txn, WATCH_LIST_COPY, {"reading": _LIST_READING, "students": rows})
    return students


def list_students(store, f: views.ListFilters) -> list[dict]:
    """Watched students (or everyone with ``include_unwatched``), filtered; the read is audited."""
    store.require("dossier", action="cases.list")
    if f.college:
        store.require_college(f.college, action="cases.list")
    # A list row shows no clinical field: their parts stay sealed.
    if f.include_unwatched:
        students = store.students.all(clinical=False)
    else:
        students = watched(store)
    dues = store.tasks.next_due(watched_only=not f.include_unwatched)
    today = service.today(store)
    rows = []
    ids = []
    for s in _in_scope(store, students):
        row = views.list_row(s, dues.get(s["id"]), today)
        if views.matches(row, f, today):
            rows.append(row)
            ids.append(f"students/{s['id']}")
    rows.sort(key=lambda r: (views.LEVEL_ORDER.get(r["level"], 9), r["next_due"] or "9999", r["college"], r["student_no"]))
    details = {k: v for k, v in vars(f).items() if v not in (None, False)}
    details["count"] = len(rows)
    store.audit_read("cases.list", targets=ids, details=details)
    return rows


def find_students(store, text: str, *, limit: int = 200) -> list[dict]:
    """Students whose name or number contains ``text`` (case-insensitive); the read is audited."""
    store.require("dossier", action="cases.find")
    needle = (text or "").strip().lower()
    if not needle or (len(needle) < 2 and needle.isascii()):
        raise UsageError(_("give at least 2 characters of a number (or 1 of a Chinese name)"), hint=_("e.g. mhtool cases find 张 or mhtool cases find 0423"))
    today = service.today(store)
    hits = [
        s
        for s in _in_scope(store, store.students.all())
        if needle in (s.get("name") or "").lower() or needle in s["student_no"].lower()
    ]
    hits.sort(key=lambda s: s["student_no"])
    hits = hits[:limit]
    dues = store.tasks.next_due() if hits else {}
    rows = [views.list_row(s, dues.get(s["id"]), today) for s in hits]
    store.audit_read("cases.find", targets=[f"students/{s['id']}" for s in hits], details={"count": len(rows)})
    return rows


def task_list(store, *, overdue: bool = False, mine: bool = False, due_within: int | None = None) -> list[dict]:
    """Open tasks with their students, earliest first; the read is audited."""
    store.require("dossier", action="cases.tasks")
    today = service.today(store)
    clinical = store.can("clinical")
    # The due dates the filters go by are vouched for by the sealed open list (a date edited with
    # SQL to hide an overdue task fails here), so only the tasks that may pass are read, and
    # only the students of those that do.
    if overdue or due_within is not None:
        last = min(today - timedelta(days=1) if overdue else date.max, dates.days_later(today, due_within) if due_within is not None else date.max)
        candidates = store.tasks.open_due_by(last)
    else:
        candidates = store.tasks.open()
    due = []
    for t in candidates:
        if not views.task_shown(t, clinical=clinical):
            continue  # a 研判 task would tell a clerk who has a signal
        item = views.task_item(t, today)
        if overdue and not item["overdue"]:
            continue
        if due_within is not None and (date.fromisoformat(item["due"]) - today).days > due_within:
            continue
        due.append((t, item))
    students = store.students.by_ids({t["student_id"] for t, _item in due})
    me = store.staff.name
    rows = []
    for t, item in due:
        s = students.get(t["student_id"])
        if s is None or not store.in_scope(s.get("college")):
            continue
        if mine and (t.get("assigned_to") or s.get("counselor")) != me:
            continue
        item.update(
            student_id=s["id"],
            student_no=s["student_no"],
            name=s.get("name") or "",
            college=s.get("college") or "",
            class_name=s.get("class_name") or "",
            level=s.get("level") or "none",
            counselor=s.get("counselor") or "",
        )
        rows.append(item)
    shown = sorted({f"students/{r['student_id']}" for r in rows})
    store.audit_read("cases.tasks", targets=shown, details={"count": len(rows)})
    return rows


def check(store, *, college: str | None = None) -> list[dict]:
    """三个明确: every watched student lacking basic information, a recent state, or a help measure."""
    store.require("dossier", action="cases.check")
    if college:
        store.require_college(college, action="cases.check")
    today = service.today(store)
    cadence = service.cadence(store)
    students = [s for s in _in_scope(store, store.students.watched()) if not college or s.get("college") == college]
    entries: dict[str, list[dict]] = {}
    for e in store.entries.of_watched():
        entries.setdefault(e["student_id"], []).append(e)
    rows = []
    for s in students:
        missing = model.three_clarities(s, model.effective(entries.get(s["id"], [])), today, cadence)
        if missing:
            rows.append(views.clarity_row(s, missing))
    rows.sort(key=lambda r: (views.LEVEL_ORDER.get(r["level"], 9), r["college"], r["student_no"]))
    store.audit_read("cases.check", targets=[], details={"watched": len(students), "incomplete": len(rows)})
    return rows
