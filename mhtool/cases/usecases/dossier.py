"""The read side of 一人一档: dossiers, lists, searches, task lists and the three-clarities check.

Every function here that shows personal data appends a read entry to the
audit chain (who saw which students) and applies the reader's role and
college scope: clerks see dossier headers, measures and tasks but not the
content of clinical entries; staff scoped to colleges see only their colleges.

``cases list`` reads the watched students through the ``watches`` table, so it
opens a few thousand student records, not the whole school.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from mhtool.cases.domain import model
from mhtool.cases.usecases import service
from mhtool.domain.labels import label
from mhtool.domain.vocabulary import ROSTER_FIELDS

WATCHED_IDS = "SELECT student_id FROM watches WHERE closed_on IS NULL"

# Header fields a clerk may not see: why a student is watched is clinical.
CLINICAL_HEADER_FIELDS = ("level_reason",)
_INTERNAL = ("student_no_bi",)


def public_student(record: dict, *, clinical: bool) -> dict:
    out = {k: v for k, v in record.items() if k not in _INTERNAL}
    out.setdefault("level", "none")
    out.setdefault("status", "enrolled")
    if not clinical:
        for key in CLINICAL_HEADER_FIELDS:
            out.pop(key, None)
    return out


# -- timeline ---------------------------------------------------------------------------------


# What a clerk sees of a status change: the administrative facts, not the
# medical reason or the certificate's conclusion.
STATUS_PUBLIC_FIELDS = ("from", "to", "from_date", "until", "on", "documents")


def entry_item(entry: dict, *, clinical: bool, corrected_by: str | None = None) -> dict:
    restricted = entry["kind"] in model.CLINICAL_KINDS and not clinical
    fields = None if restricted else dict(entry.get("fields") or {})
    if fields is not None and entry["kind"] == "status_change" and not clinical:
        fields = {k: v for k, v in fields.items() if k in STATUS_PUBLIC_FIELDS}
    return {
        "id": entry["id"],
        "kind": entry["kind"],
        "date": entry["date"],
        "author": entry.get("author"),
        "recorded_at": entry.get("recorded_at"),
        "fields": fields,
        "restricted": restricted,
        "corrects": entry.get("corrects"),
        "corrected_by": corrected_by,
    }


def screening_item(response: dict) -> dict:
    """A screening response as a timeline item: results only, never the answers."""
    fields = {
        "instrument": response.get("instrument"),
        "version": response.get("version"),
        "band": response.get("band"),
        "proposed_level": response.get("proposed_level"),
        "flags": list(response.get("flags") or []),
        "scores": response.get("scores") or {},
        "batch_id": response.get("batch_id"),
    }
    return {
        "id": response["id"],
        "kind": "screening",
        "date": response.get("on_date"),
        "author": None,
        "recorded_at": response.get("imported_at"),
        "fields": fields,
        "restricted": False,
        "corrects": None,
        "corrected_by": None,
    }


def build_timeline(entries: list[dict], responses: list[dict], *, clinical: bool, kinds: set[str] | None = None) -> list[dict]:
    corrected_by = {e["corrects"]: e["id"] for e in entries if e.get("corrects")}
    items = [entry_item(e, clinical=clinical, corrected_by=corrected_by.get(e["id"])) for e in entries]
    items += [screening_item(r) for r in responses]
    if kinds:
        items = [i for i in items if i["kind"] in kinds]
    # Screening first on a shared day: the result came before the conversation about it.
    items.sort(key=lambda i: (i["date"] or "", i["kind"] != "screening", i["recorded_at"] or ""))
    return items


def measure_items(entries: list[dict], today: date) -> list[dict]:
    out = []
    for e in model.effective(entries):
        if e["kind"] != "measure":
            continue
        f = e["fields"]
        end = f.get("end")
        out.append({"id": e["id"], "date": e["date"], "author": e.get("author"), **f, "active": not end or date.fromisoformat(end) >= today})
    return out


def task_item(task: dict, today: date) -> dict:
    due = date.fromisoformat(task["due_on"])
    return {
        "id": task["id"],
        "kind": task["kind"],
        "due": task["due_on"],
        "done_on": task.get("done_on"),
        "overdue": due < today and not task.get("done_on"),
        "overdue_days": model.days_overdue(due, today) if not task.get("done_on") else 0,
        "note": task.get("note"),
        "assigned_to": task.get("assigned_to"),
        "proposed_level": task.get("proposed_level") or task.get("level"),
    }


# -- one dossier ------------------------------------------------------------------------------


def dossier(store, student_no: str, *, action: str = "cases.show", kinds: set[str] | None = None, details: dict | None = None) -> dict:
    """The whole dossier of one student, as the reader may see it; the read is audited."""
    store.require("dossier", action=action)
    student = service.load_student(store, student_no, action=action)
    target = f"students/{student['id']}"
    clinical = store.can("clinical")
    if kinds and kinds & model.CLINICAL_KINDS and not clinical:
        store.require("clinical", action=action, targets=[target])
    entries = service.entries_for(store, student["id"])
    responses = service.responses_for(store, student["id"])
    today = service.today(store)
    tasks = [task_item(t, today) for t in service.open_tasks(store, student["id"])]
    watched = (student.get("level") or "none") != "none"
    missing = model.three_clarities(student, model.effective(entries), today, service.cadence(store)) if watched else []
    store.audit_read(action, targets=[target], details={**({"kinds": sorted(kinds)} if kinds else {}), **(details or {})} or None)
    return {
        "student": public_student(student, clinical=clinical),
        "timeline": build_timeline(entries, responses, clinical=clinical, kinds=kinds),
        "tasks": tasks,
        "measures": measure_items(entries, today),
        "missing": missing,
        "today": today.isoformat(),
        "clinical": clinical,
    }


# -- lists ------------------------------------------------------------------------------------


@dataclass
class ListFilters:
    level: str | None = None
    college: str | None = None
    group: str | None = None
    status: str | None = None
    counselor: str | None = None
    overdue: bool = False
    due_within: int | None = None
    include_unwatched: bool = False


def list_row(student: dict, next_due: str | None, today: date) -> dict:
    due = date.fromisoformat(next_due) if next_due else None
    return {
        "student_no": student["student_no"],
        "name": student.get("name") or "",
        "college": student.get("college") or "",
        "class_name": student.get("class_name") or "",
        "level": student.get("level") or "none",
        "level_since": student.get("level_since"),
        "status": student.get("status") or "enrolled",
        "counselor": student.get("counselor") or "",
        "groups": list(student.get("groups") or []),
        "next_due": due.isoformat() if due else None,
        "overdue": bool(due and due < today),
        "overdue_days": model.days_overdue(due, today),
    }


def _next_due_by_student(store, where: str, params=()) -> dict[str, str]:
    """Each student's earliest open due date, from the plaintext columns alone."""
    out: dict[str, str] = {}
    for student_id, due in store.plain("tasks", ("student_id", "due_on"), where, params):
        if student_id not in out or due < out[student_id]:
            out[student_id] = due
    return out


def _in_scope(store, students: list[dict]) -> list[dict]:
    if not store.staff.colleges:
        return students
    return [s for s in students if store.in_scope(s.get("college"))]


def matches(row: dict, f: ListFilters, today: date) -> bool:
    """Pure: whether one list row passes the filters."""
    if f.level and row["level"] != f.level:
        return False
    if f.college and row["college"] != f.college:
        return False
    if f.group and f.group not in row["groups"]:
        return False
    if f.status and row["status"] != f.status:
        return False
    if f.counselor and row["counselor"] != f.counselor:
        return False
    if f.overdue and not row["overdue"]:
        return False
    if f.due_within is not None:
        if not row["next_due"] or (date.fromisoformat(row["next_due"]) - today).days > f.due_within:
            return False
    return True


_LEVEL_ORDER = {lv: i for i, lv in enumerate(model.LEVELS)}


def list_students(store, f: ListFilters) -> list[dict]:
    """Watched students (or everyone with ``include_unwatched``), filtered; the read is audited."""
    store.require("dossier", action="cases.list")
    if f.college:
        store.require_college(f.college, action="cases.list")
    if f.include_unwatched:
        students = store.select("students")
        dues = _next_due_by_student(store, "done_on IS NULL")
    else:
        students = store.select("students", f"id IN ({WATCHED_IDS})")
        dues = _next_due_by_student(store, f"done_on IS NULL AND student_id IN ({WATCHED_IDS})")
    today = service.today(store)
    rows = []
    ids = []
    for s in _in_scope(store, students):
        row = list_row(s, dues.get(s["id"]), today)
        if matches(row, f, today):
            rows.append(row)
            ids.append(f"students/{s['id']}")
    rows.sort(key=lambda r: (_LEVEL_ORDER.get(r["level"], 9), r["next_due"] or "9999", r["college"], r["student_no"]))
    details = {k: v for k, v in vars(f).items() if v not in (None, False)}
    details["count"] = len(rows)
    store.audit_read("cases.list", targets=ids, details=details)
    return rows


def find_students(store, text: str, *, limit: int = 200) -> list[dict]:
    """Students whose name or number contains ``text`` (case-insensitive); the read is audited."""
    from mhtool.errors import UsageError

    store.require("dossier", action="cases.find")
    needle = (text or "").strip().lower()
    if not needle or (len(needle) < 2 and needle.isascii()):
        raise UsageError("give at least 2 characters of a number (or 1 of a Chinese name)", hint="e.g. mhtool cases find 张 or mhtool cases find 0423")
    today = service.today(store)
    hits = [
        s
        for s in _in_scope(store, store.select("students"))
        if needle in (s.get("name") or "").lower() or needle in s["student_no"].lower()
    ]
    hits.sort(key=lambda s: s["student_no"])
    hits = hits[:limit]
    marks = ",".join("?" for _ in hits)
    dues = _next_due_by_student(store, f"done_on IS NULL AND student_id IN ({marks})", [s["id"] for s in hits]) if hits else {}
    rows = [list_row(s, dues.get(s["id"]), today) for s in hits]
    store.audit_read("cases.find", targets=[f"students/{s['id']}" for s in hits], details={"count": len(rows)})
    return rows


def task_list(store, *, overdue: bool = False, mine: bool = False, due_within: int | None = None) -> list[dict]:
    """Open tasks with their students, earliest first; the read is audited."""
    store.require("dossier", action="cases.tasks")
    today = service.today(store)
    tasks = store.select("tasks", "done_on IS NULL", order="due_on")
    students = {s["id"]: s for s in store.select("students", "id IN (SELECT student_id FROM tasks WHERE done_on IS NULL)")}
    me = store.staff.name
    rows = []
    for t in tasks:
        s = students.get(t["student_id"])
        if s is None or not store.in_scope(s.get("college")):
            continue
        item = task_item(t, today)
        if overdue and not item["overdue"]:
            continue
        if due_within is not None and (date.fromisoformat(item["due"]) - today).days > due_within:
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
    shown = sorted({f"students/{students_id}" for students_id in (r["student_id"] for r in rows)})
    store.audit_read("cases.tasks", targets=shown, details={"count": len(rows)})
    return rows


def check(store, *, college: str | None = None) -> list[dict]:
    """三个明确: every watched student lacking basic information, a recent state, or a help measure."""
    store.require("dossier", action="cases.check")
    if college:
        store.require_college(college, action="cases.check")
    today = service.today(store)
    cadence = service.cadence(store)
    students = [s for s in _in_scope(store, store.select("students", f"id IN ({WATCHED_IDS})")) if not college or s.get("college") == college]
    entries: dict[str, list[dict]] = {}
    for e in store.select("entries", f"student_id IN ({WATCHED_IDS})", order="on_date, rowid"):
        entries.setdefault(e["student_id"], []).append(e)
    rows = []
    for s in students:
        missing = model.three_clarities(s, model.effective(entries.get(s["id"], [])), today, cadence)
        if missing:
            rows.append(
                {
                    "student_no": s["student_no"],
                    "name": s.get("name") or "",
                    "college": s.get("college") or "",
                    "class_name": s.get("class_name") or "",
                    "level": s.get("level") or "none",
                    "counselor": s.get("counselor") or "",
                    "missing": missing,
                }
            )
    rows.sort(key=lambda r: (_LEVEL_ORDER.get(r["level"], 9), r["college"], r["student_no"]))
    store.audit_read("cases.check", targets=[], details={"watched": len(students), "incomplete": len(rows)})
    return rows


# -- text for people --------------------------------------------------------------------------


def _join(parts) -> str:
    return "；".join(p for p in parts if p)


def entry_summary(item: dict, lang: str = "zh") -> str:
    """One line for a timeline item, in the reader's language. User text stays as typed."""
    zh = lang == "zh"
    if item.get("restricted"):
        return label("dossier", "restricted", lang)
    kind, f = item["kind"], item.get("fields") or {}
    lv = lambda code: label("level", code, lang)  # noqa: E731
    if kind == "screening":
        flags = ", ".join(f.get("flags") or [])
        return _join(
            [
                f"{(f.get('instrument') or '').upper()} {f.get('band') or ''}".strip(),
                (f"建议等级 {lv(f['proposed_level'])}" if zh else f"proposed {lv(f['proposed_level'])}") if f.get("proposed_level") else "",
                (f"关键条目 {flags}" if zh else f"critical items {flags}") if flags else "",
            ]
        )
    if kind == "interview":
        how = " ".join(x for x in (f.get("mode") or "", f"{f['duration']}分钟" if zh and f.get("duration") else f"{f['duration']} min" if f.get("duration") else "") if x)
        return _join(
            [
                f"[{how}]" if how else "",
                f.get("findings"),
                (f"风险评估 {f['risk']}" if zh else f"risk {f['risk']}") if f.get("risk") else "",
                (f"确认等级 {lv(f['confirmed_level'])}" if zh else f"confirmed {lv(f['confirmed_level'])}") if f.get("confirmed_level") else "",
                (f"下一步 {f['next_step']}" if zh else f"next {f['next_step']}") if f.get("next_step") else "",
                (f"约谈人 {f['interviewer']}" if zh else f"by {f['interviewer']}") if f.get("interviewer") else "",
            ]
        )
    if kind == "level_change":
        return f"{lv(f.get('from'))} → {lv(f.get('to'))}：{f.get('reason') or ''}"
    if kind == "note":
        return f.get("text") or ""
    if kind == "measure":
        span = "–".join(x for x in (f.get("start") or "", f.get("end") or "") if x)
        return _join([f"{f.get('measure_kind')}：{f.get('description')}", (f"负责人 {f['responsible']}" if zh else f"by {f['responsible']}") if f.get("responsible") else "", span])
    if kind == "guardian_contact":
        consent = f"知情同意书 {label('consent', f['consent'], lang)}" if zh and f.get("consent") else f"consent {label('consent', f['consent'], lang)}" if f.get("consent") else ""
        who = f"{f.get('guardian')}（{f['channel']}）" if f.get("channel") else f.get("guardian")
        return _join([f"{who}：{f.get('content')}", consent])
    if kind == "crisis":
        notified = ", ".join(f"{n.get('who')}@{n.get('at')}" for n in f.get("notified") or [])
        return _join(
            [
                f.get("what"),
                (f"地点 {f['where']}" if zh else f"at {f['where']}") if f.get("where") else "",
                (f"处置 {f['actions']}" if zh else f"actions {f['actions']}") if f.get("actions") else "",
                (f"家长知悉 {f['parents_notified_at']}" if zh else f"parents told {f['parents_notified_at']}") if f.get("parents_notified_at") else "",
                (f"已通知 {notified}" if zh else f"notified {notified}") if notified else "",
            ]
        )
    if kind == "status_change":
        extra = []
        if f.get("from_date") or f.get("until"):
            extra.append(f"{f.get('from_date') or ''}–{f.get('until') or ''}")
        if f.get("certificate"):
            extra.append((f"诊断证明 {f['certificate']}" if zh else f"certificate {f['certificate']}"))
        if f.get("without_certificate"):
            extra.append("无诊断证明" if zh else "no certificate")
        if f.get("assessed_by"):
            extra.append((f"评估人 {f['assessed_by']}" if zh else f"assessed by {f['assessed_by']}"))
        if f.get("documents"):
            extra.append(("材料 " if zh else "documents ") + ", ".join(f["documents"]))
        change = f"{label('status', f.get('from'), lang)} → {label('status', f.get('to'), lang)}"
        return _join([f"{change}：{f['reason']}" if f.get("reason") else change, *extra])
    if kind == "follow_up":
        return _join([f"[{f['mode']}]" if f.get("mode") else "", f.get("content")])
    if kind == "close":
        return f.get("reason") or ""
    if kind == "reopen":
        return f"{lv(f.get('level'))}：{f.get('reason') or ''}"
    if kind == "referral":
        return _join([label("referral_status", f.get("status"), lang), f.get("hospital"), f.get("summary")])
    return ", ".join(f"{k}={v}" for k, v in f.items())


def missing_text(codes: list[str], lang: str = "zh") -> str:
    return "；".join(model.missing_label(c, lang) for c in codes)


def guardian_text(guardians: list[dict]) -> str:
    return "；".join(" ".join(x for x in (g.get("relation"), g.get("name"), g.get("phone")) if x) for g in guardians or [])


# -- export -----------------------------------------------------------------------------------


def export_report(d: dict, *, lang: str, generated_at: datetime):
    """The whole dossier as a printable workbook: a profile form and a timeline table."""
    from mhtool.domain.document import Column, FormField, FormSection, FormText, Report, Sheet, SignatureLine, field_column

    s = d["student"]

    def section(key):
        return FormSection(key, label("dossier", key, "zh"), label("dossier", key, "en"))

    def dossier_column(key):
        return Column(key, label("dossier", key, "zh"), label("dossier", key, "en"), "text")

    def fld(key, kind="text", value=None, pii=None):
        v = s.get(key) if value is None else value
        if kind == "date" and isinstance(v, str):
            v = date.fromisoformat(v) if v else None
        return FormField(key, label("field", key, "zh"), label("field", key, "en"), v if v not in ("",) else None, kind, pii)

    form = [
        section("basic"),
        fld("student_no", pii="student_no"),
        fld("name", pii="name"),
        *(fld(k) for k in ROSTER_FIELDS[1:]),
        FormField("guardians", "监护人", "Guardians", guardian_text(s.get("guardians") or []) or None),
        FormField("groups", "特殊群体", "Special groups", "、".join(label("group", g, lang) for g in s.get("groups") or []) or None),
        FormField("tags", "标签", "Tags", "、".join(s.get("tags") or []) or None),
        section("watch"),
        fld("level", "level", s.get("level") or "none"),
        fld("level_since", "date"),
    ]
    if "level_reason" in s:
        form.append(fld("level_reason"))
    form += [
        fld("status", "status", s.get("status") or "enrolled"),
        fld("counselor"),
        FormField("missing", label("dossier", "missing_title", "zh"), label("dossier", "missing_title", "en"), missing_text(d["missing"], lang) or label("dossier", "none", lang)),
        FormSection("measures", label("entry", "measure", "zh"), label("entry", "measure", "en")),
    ]
    for m in d["measures"]:
        span = "–".join(x for x in (m.get("start") or "", m.get("end") or "") if x)
        state = label("dossier", "active" if m["active"] else "ended", lang)
        form.append(FormText(_join([f"{m.get('measure_kind')}：{m.get('description')}", m.get("responsible") or "", span, state])))
    if not d["measures"]:
        form.append(FormText(label("dossier", "none", lang)))
    form.append(section("open_tasks"))
    for t in d["tasks"]:
        form.append(FormText(_join([t["due"], label("task", t["kind"], lang), t.get("note") or ""])))
    if not d["tasks"]:
        form.append(FormText(label("dossier", "none", lang)))
    form.append(SignatureLine())
    profile = Sheet("profile", label("dossier", "profile", "zh"), label("dossier", "profile", "en"), f"{label('dossier', 'title', 'zh')}（一人一档）", label("dossier", "title", "en"), kind="form", form=form)
    columns = [
        field_column("date", "date"),
        field_column("kind"),
        field_column("author"),
        field_column("summary", width=60),
        dossier_column("entry_id"),
        dossier_column("corrects"),
        dossier_column("corrected_by"),
    ]
    rows = [
        [
            date.fromisoformat(i["date"]) if i["date"] else None,
            label("entry", i["kind"], lang),
            i.get("author"),
            entry_summary(i, lang),
            i["id"][:8],
            (i.get("corrects") or "")[:8] or None,
            (i.get("corrected_by") or "")[:8] or None,
        ]
        for i in d["timeline"]
    ]
    timeline = Sheet("timeline", label("dossier", "timeline", "zh"), label("dossier", "timeline", "en"), f"{s.get('name') or ''} {s['student_no']} 档案记录", f"Timeline of {s['student_no']}", columns=columns, rows=rows)
    return Report(
        kind="dossier",
        title_zh=label("dossier", "title", "zh"),
        title_en=label("dossier", "title", "en"),
        period=None,
        generated_at=generated_at,
        lang=lang,
        sheets=[profile, timeline],
        meta={"student_no": s["student_no"]},
    )
