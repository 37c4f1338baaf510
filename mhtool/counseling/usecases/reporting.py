"""What the 咨询与活动 sheet of the weekly and monthly reports counts, read from the store as plain rows.

The report's use case has checked the reader's role and scope and audits the
report; this reads the session and crisis entries, group meetings and
activities of the period and of the one before it (for 环比), limited to the
reader's colleges. Sessions are read without their clinical part unless the
reader holds the clinical key: a clerk's (or cron's) report counts sessions by
counselor and college, and the concern categories only when a counselor or an
admin makes it.
"""

from __future__ import annotations

from datetime import date

from mhtool.cases.domain import model
from mhtool.store.counseling_repos import entries_between


def report_rows(store, start: date, end: date, keep) -> dict:
    """Sessions, crises, group meetings and activities from ``start`` to ``end``, as plain rows; ``keep(college)`` limits them.

    ``{"clinical", "sessions": [{date, student_id, college, counselor, mode,
    concern}], "crises": [{date, student_id, college}], "meetings": [{date,
    group, college, present: [student ids]}], "activities": [{date, kind,
    title, head_count, college}]}``; ``concern`` is None without the clinical key.
    """
    clinical = store.can("clinical")
    entries = [e for e in model.effective(entries_between(store, start, end, clinical=clinical, kinds=("session", "crisis"))) if e["kind"] in ("session", "crisis")]
    students = store.students.by_ids(e["student_id"] for e in entries)
    sessions, crises = [], []
    for e in entries:
        student = students.get(e["student_id"])
        college = (student or {}).get("college") or ""
        if student is None or not keep(college):
            continue
        row = {"date": e["date"], "student_id": e["student_id"], "college": college}
        if e["kind"] == "crisis":
            crises.append(row)
            continue
        f = e.get("fields") or {}
        sessions.append({**row, "counselor": f.get("counselor") or e.get("author") or "", "mode": f.get("mode"), "concern": f.get("concern") if clinical else None})
    meetings = []
    lo, hi = start.isoformat(), end.isoformat()
    groups = store.counseling_groups.all()
    member_ids = {m["student_id"] for g in groups for m in g["members"]}
    colleges = {sid: s.get("college") or "" for sid, s in store.students.by_ids(member_ids).items()} if member_ids else {}
    for g in groups:
        for m in g["meetings"]:
            if not lo <= m["date"] <= hi:
                continue
            # A college's report counts its own students' attendance, whoever's group it was.
            present = [sid for sid in m.get("present") or [] if keep(colleges.get(sid, ""))]
            if present or keep(g.get("college") or ""):
                meetings.append({"date": m["date"], "group": g["id"], "name": g["name"], "college": g.get("college") or "", "present": present})
    activities = [
        {"date": a["on_date"], "kind": a.get("kind"), "title": a.get("title"), "head_count": int(a.get("head_count") or 0), "college": a.get("college") or ""}
        for a in store.activities.between(start, end)
        if keep(a.get("college") or "")
    ]
    return {"clinical": clinical, "sessions": sessions, "crises": crises, "meetings": meetings, "activities": activities}
