"""Session records (个体咨询) and case conferences (案例研讨/督导), written to the students' timelines.

A session is a timeline entry of kind ``session``: the store seals its
content (concern, what was said, risk, next step, outcome) under the
clinical key, so only counselors and admins record and read it, and a
clerk's key cannot decrypt it whatever code runs. In the same transaction a
session attends the student's booking of that day (its reminder task is
done), and a high risk assessment opens a same-day 约谈 task that proposes
the watch list (建议关注等级), the level itself left to a counselor.

A session for a student with no dossier is refused, unless the school
roster is given (``create_from_roster``): the dossier is then created from
the student's row, in the same transaction.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from mhtool.cases.domain import model, views
from mhtool.cases.usecases import service
from mhtool.counseling.domain import records, schedule
from mhtool.counseling.usecases import desk
from mhtool.domain.labels import label
from mhtool.domain.sensitivity import ENTRY_PUBLIC_FIELDS
from mhtool.domain.vocabulary import LEVEL_RANK, ROSTER_FIELDS, normalise_grade
from mhtool.errors import ChangedMeanwhile, InvalidInput, UsageError
from mhtool.i18n import _, current
from mhtool.store.counseling_repos import entries_between
from mhtool.store.crypto import random_id


class NoDossier(UsageError):
    """The student has no dossier and no roster was given to create it from (the command line may ask for one)."""

    def __init__(self, student_no: str):
        super().__init__(
            _("no dossier for student {student_no}; nothing was recorded").format(student_no=student_no),
            hint=_("pass --create-from-roster FILE (the school roster holding the student) to create the dossier from its row, or add it with `mhtool cases add`"),
        )
        self.student_no = student_no


# -- the dossier, or its row in the roster -------------------------------------------------------


def roster_row(path: str | Path, student_no: str) -> dict:
    """The roster fields of ``student_no``'s row in the school roster at ``path`` (as `cases import-roster` reads it)."""
    from mhtool.domain import student_no as numbers
    from mhtool.io import readers

    table = readers.read_table(path, "roster", ("student_no", "name"))
    wanted = numbers.normalise(student_no)
    for row in table.roster.index:
        rec = {k: table.roster.at[row, k] for k in table.roster.columns}
        rec = {k: (None if v is None or (isinstance(v, float) and v != v) or v == "" else str(v)) for k, v in rec.items()}
        if not rec.get("student_no") or numbers.normalise(rec["student_no"]) != wanted:
            continue
        fields = {k: rec.get(k) for k in ROSTER_FIELDS if rec.get(k)}
        fields["grade"] = normalise_grade(rec.get("grade"))
        if rec.get("guardian_name") or rec.get("guardian_phone"):
            fields["guardians"] = [{"name": rec.get("guardian_name") or "", "relation": rec.get("guardian_relation") or "", "phone": rec.get("guardian_phone") or ""}]
        if not fields.get("college"):
            raise InvalidInput(_("{file}, row {row}: student {student_no} has no college (学院)").format(file=table.file, row=int(row), student_no=student_no))
        return {k: v for k, v in fields.items() if v}
    raise InvalidInput(
        _("{file}: no row for student {student_no}; nothing was recorded").format(file=table.file, student_no=student_no),
        hint=_("check the number, or give the roster that holds this student"),
    )


def _student(store, student_no: str, roster: str | Path | None, action: str) -> tuple[dict | None, dict | None]:
    """(the stored student, or None with the roster fields to create them from)."""
    found = store.students.find(student_no)
    if found is not None:
        return store.require_student(found, student_no, action=action), None
    if roster is None:
        if store.staff.scoped():
            # A scoped member hears the same about another college's number and a number nobody has.
            store.require_student(None, student_no, action=action)
        raise NoDossier(student_no)
    store.require("import", action=action)
    fields = roster_row(roster, student_no)
    store.require_college(fields.get("college"), action=action)
    return None, fields


# -- sessions --------------------------------------------------------------------------------------


def record_session(
    store,
    student_no: str,
    *,
    today: date,
    counselor: str | None = None,
    mode: str | None = None,
    minutes=None,
    concern: str | None = None,
    concern_text: str | None = None,
    risk: str | None = None,
    next_step: str | None = None,
    on: date | str | None = None,
    at: str | None = None,
    appointment: str | None = None,
    walk_in: bool = False,
    close: str | None = None,
    outcome_text: str | None = None,
    create_from_roster: str | Path | None = None,
) -> dict:
    """Record one session; returns what was written (entry id, number, the task a high risk opened, the dossier created)."""
    action = "counseling.session"
    store.require("record", action=action)
    who = desk.counselor(store, counselor or store.staff.name)
    concern_code = schedule.code("concern", model.required(concern, "--concern"), flag="--concern")
    risk_code = schedule.code("session_risk", model.required(risk, "--risk"), flag="--risk")
    outcome = schedule.code("session_outcome", close, flag="--close") if close else None
    day = schedule.day(on, today=today, allow_future=False) if on else today
    clock = schedule.hhmm(schedule.clock(at, flag="--at")) if at else None
    stored, roster_fields = _student(store, student_no, create_from_roster, action)
    booked = None
    if appointment:
        booked = store.appointments.get(store.appointments.resolve(appointment, _("appointment")))
        if stored is None or booked["student_id"] != stored["id"]:
            raise UsageError(_("--appointment {id}: not a booking of student {student_no}").format(id=appointment, student_no=student_no))
        if booked.get("status") != "booked":
            raise UsageError(_("--appointment {id}: that booking is already {status}").format(id=appointment, status=label("appointment_status", booked.get("status"), current())))
    elif stored is not None and not walk_in:
        # The student's booking with the counselor that day: the session attends it.
        booked = desk.booked_for(store, stored["id"], day, who["name"])
    length = schedule.minutes(minutes if minutes not in (None, "") else (booked or {}).get("minutes") or schedule.DEFAULT_MINUTES)
    how = schedule.code("session_mode", mode, flag="--mode") if mode else (booked or {}).get("mode") or "in_person"
    targets = [f"students/{stored['id']}"] if stored else []
    with store.write(action, targets=targets) as txn:
        created = False
        if stored is None:
            student = service.create_student(txn, student_no, roster_fields, source="roster")
            created = True
        else:
            student = service.reread(txn, stored, action=action)
        sid = student["id"]
        earlier = [e for e in store.entries.for_student(sid) if e["kind"] == "session"]
        if booked is not None:
            booked = store.appointments.get(booked["id"])  # under the write lock: attended once
            if booked.get("status") != "booked":
                raise ChangedMeanwhile(
                    _("the booking {id} was closed meanwhile ({status}); nothing was recorded").format(
                        id=booked["id"][:8], status=label("appointment_status", booked.get("status"), current())
                    ),
                    hint=_("run the command again"),
                )
        fields = records.session_fields(
            counselor=who["name"], mode=how, minutes=length, number=records.next_number(earlier, day), concern=concern_code, risk=risk_code,
            concern_text=concern_text, next_step=next_step, at=clock or (booked or {}).get("at"), appointment_id=(booked or {}).get("id"),
            walk_in=walk_in, outcome=outcome, outcome_text=outcome_text,
        )  # fmt: skip
        entry_id = service.add_entry(txn, sid, "session", fields, day)
        if booked is not None:
            booked.update(status="attended", session_entry=entry_id)
            store.appointments.save(txn, booked)
            desk.finish_task(txn, booked, day, entry_id=entry_id)
        task = propose(txn, student, fields, day, entry_id) if records.high_risk(fields) else None
        # The audit entry says a session was written and which; never what it holds (every role reads the log).
        txn.details.update(entry=entry_id, number=fields["number"], **({"dossier_created": True} if created else {}))
        if created:
            txn.target(f"students/{sid}")
    return {
        "entry_id": entry_id, "student_no": student["student_no"], "name": student.get("name") or "", "date": day.isoformat(),
        "counselor": who["name"], "number": fields["number"], "closes": bool(fields.get("closes")), "appointment_id": fields.get("appointment_id"),
        "task_id": task, "proposed_level": records.HIGH_RISK_PROPOSAL if task else None, "dossier_created": created,
    }  # fmt: skip


def propose(txn, student: dict, fields: dict, day: date, entry_id: str) -> str:
    """A high risk: the student's 约谈 task, due ``day``, proposing the watch list (an open one is brought forward and raised).

    Like a screening's proposal it only asks: the watch level changes when a counselor sets it.
    """
    store = txn.store
    level = records.HIGH_RISK_PROPOSAL
    note = records.proposal_note(fields)
    for task in store.tasks.open(student["id"]):
        if task["kind"] != "interview":
            continue
        payload = store.tasks.sealed(task)
        if LEVEL_RANK.get(task.get("proposed_level") or "none", 0) < LEVEL_RANK[level]:
            payload["proposed_level"] = level
        payload.update(note=note, source="session", source_entry=entry_id)
        store.tasks.reschedule(txn, task, min(task["due_on"], day.isoformat()), payload, audit=True)
        return task["id"]
    return service.open_task(
        txn, student["id"], "interview", day, proposed_level=level, note=note, source="session", source_entry=entry_id,
        assigned_to=fields.get("counselor") or store.staff.name,
    )  # fmt: skip


def session_row(entry: dict, student: dict, names: dict[str, str], *, clinical: bool) -> dict:
    """A session as `counseling sessions` shows it: what a clerk may know, and for the clinical key its content too."""
    f = entry.get("fields") or {}
    shown = f if clinical else {k: v for k, v in f.items() if k in ENTRY_PUBLIC_FIELDS["session"]}
    return {
        "id": entry["id"], "date": entry["date"], "student_no": student.get("student_no"), "name": student.get("name"),
        "college": student.get("college"), "counselor_name": names.get(shown.get("counselor"), shown.get("counselor")),
        "author": entry.get("author"), **shown,
    }  # fmt: skip


def list_sessions(store, student_no: str | None = None, *, start: date | None = None, end: date | None = None, counselor: str | None = None, today: date) -> list[dict]:
    """Sessions of one student, or of a period (default: the last 30 days), oldest first; content for the clinical key only; audited."""
    action = "counseling.sessions"
    store.require("dossier", action=action)
    clinical = store.can("clinical")
    wanted = desk.counselor(store, counselor)["name"] if counselor else None
    if student_no:
        student = service.load_student(store, student_no, action=action)
        entries = [e for e in store.entries.for_student(student["id"]) if e["kind"] == "session"]
        students = {student["id"]: student}
    else:
        end = end or today
        start = start or end - timedelta(days=30)
        if start > end:
            raise UsageError(_("--from {start} is after --to {end}").format(start=start.isoformat(), end=end.isoformat()))
        entries = entries_between(store, start, end, clinical=clinical, kinds=("session",))
        students = store.students.by_ids(e["student_id"] for e in entries)
    names = store.staff_rows.display_names()
    rows, seen = [], set()
    for e in entries:
        s = students.get(e["student_id"])
        if s is None or not store.in_scope(s.get("college")):
            continue
        if wanted and (e.get("fields") or {}).get("counselor") != wanted:
            continue
        item = views.entry_item(e, clinical=clinical)
        rows.append(session_row({**e, "fields": item["fields"]}, s, names, clinical=clinical))
        seen.add(e["student_id"])
    store.audit_read(action, targets=sorted(f"students/{sid}" for sid in seen), details={"count": len(rows), "clinical": clinical})
    return rows


# -- case conferences --------------------------------------------------------------------------------


def conference(
    store,
    student_nos: list[str],
    *,
    kind: str | None,
    decision: str | None,
    participants: list[str],
    owner: str | None = None,
    due: date | str | None = None,
    on: date | str | None = None,
    notes: str | None = None,
    today: date,
) -> dict:
    """Record a 案例研讨 or 督导 about one or more students: an entry on each one's timeline, and the owner's follow-up task."""
    action = "counseling.conference"
    store.require("record", action=action)
    numbers = list(dict.fromkeys(n.strip() for n in student_nos if n and n.strip()))
    if not numbers:
        raise UsageError(_("name at least one student"), hint=_("e.g. mhtool counseling conference 2026000123 --kind 案例研讨 --decision …"))
    kind_code = schedule.code("conference_kind", model.required(kind, "--kind"), flag="--kind")
    day = schedule.day(on, today=today, allow_future=False) if on else today
    follow_up = schedule.day(due, today=day, flag="--due") if due else day + timedelta(days=records.CONFERENCE_FOLLOW_UP_DAYS)
    conference_id = random_id()
    base = records.conference_fields(conference_id=conference_id, kind=kind_code, decision=decision, participants=participants, owner=owner, due=follow_up, notes=notes)
    students = [service.load_student(store, no, action=action) for no in numbers]
    written = []
    with store.write(action, targets=[f"students/{s['id']}" for s in students], details={"conference": conference_id, "students": len(students)}) as txn:
        for s in students:
            fields = dict(base)
            if base.get("owner"):
                fields["task_id"] = service.open_task(
                    txn, s["id"], "conference_follow_up", follow_up, assigned_to=base["owner"], conference_id=conference_id,
                    note=f"{label('conference_kind', kind_code, 'zh')}跟进",
                )  # fmt: skip
            entry_id = service.add_entry(txn, s["id"], "conference", fields, day)
            written.append({"student_no": s["student_no"], "name": s.get("name") or "", "entry_id": entry_id, "task_id": fields.get("task_id")})
    return {"conference_id": conference_id, "date": day.isoformat(), "kind": kind_code, "owner": base.get("owner"), "due": base.get("due"), "students": written}
