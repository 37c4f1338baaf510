"""The counseling desk: counselors' weekly slots, bookings (预约), cancellations, no-shows and the day's agenda.

Every function checks the ``counseling`` permission (admin, counselor, clerk:
the duty desk books too) and the student's college first. A booking and its
reminder task for the counselor are one transaction; a booking that overlaps
another of the counselor's or the student's is refused naming it, checked
under the write lock so two desks cannot book the same hour.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from mhtool.cases.usecases import service
from mhtool.counseling.domain import schedule
from mhtool.domain.labels import label
from mhtool.errors import NotFound, UsageError
from mhtool.i18n import _, current
from mhtool.store.counseling_repos import SLOTS_KEY
from mhtool.store.crypto import random_id

# Roles whose members see students in session (a clerk books for them, never counsels).
COUNSELING_ROLES = ("counselor", "admin")
TASK_KIND = "appointment"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- who counsels ---------------------------------------------------------------------------------


def counselor(store, name: str | None, *, flag: str = "--counselor") -> dict:
    """The active counselor (or admin) whose login or display name is ``name``: ``{"name", "display_name", "role"}``."""
    wanted = (name or "").strip()
    if not wanted:
        raise UsageError(_("missing {flag}").format(flag=flag), hint=_("name the counselor by login name, e.g. {flag} zhanghua").format(flag=flag))
    found = store.staff_rows.named(wanted, active_only=True)
    if len(found) != 1 or found[0].get("role") not in COUNSELING_ROLES:
        known = "、".join(sorted(r["name"] for r in store.staff_rows.all() if r.get("active") and r.get("role") in COUNSELING_ROLES))
        raise UsageError(
            _("{flag} {name!r}: no counselor of that name").format(flag=flag, name=wanted),
            hint=_("one of: {names}").format(names=known) if known else None,
        )
    row = found[0]
    return {"name": row["name"], "display_name": row.get("display_name") or row["name"], "role": row["role"]}


# -- weekly slots ---------------------------------------------------------------------------------


def all_slots(store) -> dict[str, list[dict]]:
    """Every counselor's weekly slots by login name."""
    return dict((store.sealed_values.get(SLOTS_KEY) or {}).get("counselors") or {})


def set_slots(store, name: str, slot_texts: list[str]) -> dict:
    """Replace ``name``'s weekly slots with these (``周一 09:00-12:00`` …); an empty list clears them."""
    store.require("counseling", action="counseling.slots")
    who = counselor(store, name)
    slots = schedule.merged_slots([schedule.slot(t) for t in slot_texts])
    with store.write("counseling.slots", details={"counselor": who["name"], "slots": len(slots)}) as txn:
        value = store.sealed_values.get(SLOTS_KEY) or {}
        by_counselor = dict(value.get("counselors") or {})
        if slots:
            by_counselor[who["name"]] = slots
        else:
            by_counselor.pop(who["name"], None)
        txn.put_value(SLOTS_KEY, {**value, "counselors": by_counselor})
    return {"counselor": who["name"], "display_name": who["display_name"], "slots": slots}


def list_slots(store, name: str | None = None) -> list[dict]:
    """One row per slot: counselor, display name, weekday, start, end (staff schedules: no student data)."""
    store.require("counseling", action="counseling.slots")
    names = store.staff_rows.display_names()
    wanted = counselor(store, name)["name"] if name else None
    rows = []
    for login, slots in sorted(all_slots(store).items()):
        if wanted and login != wanted:
            continue
        rows += [{"counselor": login, "display_name": names.get(login, login), **s} for s in slots]
    return rows


# -- appointments ---------------------------------------------------------------------------------


def _appointment_at(text, today: date) -> datetime:
    raw = str(text or "").strip()
    if not raw:
        raise UsageError(_("missing --at"), hint=_("give the day and time, e.g. --at \"2026-11-23 14:00\""))
    at = schedule.moment_of(raw, today=today)
    if at.hour == 0 and at.minute == 0 and ":" not in raw and "：" not in raw:
        raise UsageError(_("--at {value!r}: give a time of day too, e.g. \"{day} 14:00\"").format(value=raw, day=at.date().isoformat()))
    return at.replace(second=0)


def booking_text(appointment: dict, names: dict[str, str], student: dict | None = None) -> str:
    """How a refusal names an existing booking: day, time, counselor, student, id."""
    who = f"{student['student_no']} {student.get('name') or ''}".strip() if student else ""
    return _("{day} {start}–{end} with {counselor}{student} (appointment {id})").format(
        day=appointment["on_date"], start=appointment.get("at"), end=schedule.end_text(appointment),
        counselor=names.get(appointment.get("counselor"), appointment.get("counselor")),
        student=f", {who}" if who else "", id=appointment["id"][:8],
    )  # fmt: skip


def book(store, student_no: str, *, at, counselor_name: str | None, minutes=None, mode: str | None = None, today: date) -> dict:
    """Book ``student_no`` with a counselor at ``at`` (``2026-11-23 14:00``) inside one of the counselor's weekly slots."""
    action = "counseling.book"
    store.require("counseling", action=action)
    when = _appointment_at(at, today)
    length = schedule.minutes(minutes if minutes not in (None, "") else schedule.DEFAULT_MINUTES)
    how = schedule.code("session_mode", mode, flag="--mode") if mode else "in_person"
    schedule.check_in_hours(when, length)
    who = counselor(store, counselor_name)
    slots = all_slots(store).get(who["name"]) or []
    if not slots:
        raise UsageError(
            _("--counselor {name}: no weekly slots are set, so nothing can be booked with them").format(name=who["name"]),
            hint=_("set them first: mhtool counseling slots set {name} --slot \"周一 09:00-12:00\"").format(name=who["name"]),
        )
    if schedule.fitting_slot(slots, when, length) is None:
        lang = current()
        raise UsageError(
            _("--at {value}: {minutes} minutes then are not within {name}'s slots").format(value=when.strftime("%Y-%m-%d %H:%M"), minutes=length, name=who["display_name"]),
            hint=_("{name}'s slots: {slots}").format(name=who["display_name"], slots="、".join(schedule.slot_text(s, lang) for s in slots)),
        )
    student = service.load_student(store, student_no, action=action)
    target = f"students/{student['id']}"
    with store.write(action, targets=[target], details={"on": when.date().isoformat(), "counselor": who["name"]}) as txn:
        day = store.appointments.on_day(when.date())
        names = store.staff_rows.display_names()
        mine = schedule.overlapping([a for a in day if a.get("counselor") == who["name"]], when, length)
        if mine is not None:
            other = store.students.get(mine["student_id"])
            shown = other if store.in_scope(other.get("college")) else None
            raise UsageError(
                _("--at {value}: {name} is already booked then: {booking}; nothing was booked").format(
                    value=when.strftime("%Y-%m-%d %H:%M"), name=who["display_name"], booking=booking_text(mine, names, shown)
                ),
                hint=_("choose another time, or cancel that booking first: mhtool counseling cancel {id}").format(id=mine["id"][:8]),
            )
        theirs = schedule.overlapping([a for a in day if a["student_id"] == student["id"]], when, length)
        if theirs is not None:
            raise UsageError(
                _("--at {value}: {student_no} already has a booking then: {booking}; nothing was booked").format(
                    value=when.strftime("%Y-%m-%d %H:%M"), student_no=student["student_no"], booking=booking_text(theirs, names)
                ),
                hint=_("choose another time, or cancel that booking first: mhtool counseling cancel {id}").format(id=theirs["id"][:8]),
            )
        appointment_id = random_id()
        note = f"{schedule.hhmm(when.time())} {label('entry', 'session', 'zh')}（{label('session_mode', how, 'zh')}）"
        task_id = service.open_task(txn, student["id"], TASK_KIND, when.date(), assigned_to=who["name"], appointment_id=appointment_id, note=note)
        data = {
            "counselor": who["name"], "at": schedule.hhmm(when.time()), "minutes": length, "mode": how, "status": "booked",
            "booked_by": store.staff.name, "booked_at": _now(), "task_id": task_id,
        }  # fmt: skip
        store.appointments.add(txn, student["id"], when.date(), data, record_id=appointment_id)
    return appointment_row({**data, "id": appointment_id, "on_date": when.date().isoformat(), "student_id": student["id"]}, student, names)


def appointment_row(a: dict, student: dict, names: dict[str, str]) -> dict:
    """An appointment as the agenda and JSON show it."""
    return {
        "id": a["id"], "date": a["on_date"], "at": a.get("at"), "end": schedule.end_text(a), "minutes": a.get("minutes"),
        "counselor": a.get("counselor"), "counselor_name": names.get(a.get("counselor"), a.get("counselor")),
        "mode": a.get("mode"), "status": a.get("status"), "student_no": student["student_no"], "name": student.get("name"),
        "college": student.get("college"), "session_entry": a.get("session_entry"),
    }  # fmt: skip


def _appointment(store, ref: str, action: str) -> tuple[dict, dict]:
    appointment = store.appointments.get(store.appointments.resolve(ref, _("appointment")))
    student = store.students.get(appointment["student_id"])
    store.require_college(student.get("college"), action=action, targets=[f"appointments/{appointment['id']}"])
    return appointment, student


def close_appointment(store, ref: str, status: str, *, reason: str | None = None, today: date) -> dict:
    """Cancel an appointment (``cancelled``) or mark it a no-show (``no_show``); its reminder task is closed with it."""
    action = "counseling.cancel" if status == "cancelled" else "counseling.no-show"
    store.require("counseling", action=action)
    appointment, student = _appointment(store, ref, action)
    target = f"appointments/{appointment['id']}"
    if status == "no_show" and appointment["on_date"] > today.isoformat():
        raise UsageError(_("appointment {id} is on {day}: a no-show can be marked on the day or after").format(id=appointment["id"][:8], day=appointment["on_date"]))
    with store.write(action, targets=[target, f"students/{student['id']}"]) as txn:
        appointment = store.appointments.get(appointment["id"])  # under the write lock: closed once, whoever comes first
        if appointment.get("status") != "booked":
            raise UsageError(
                _("appointment {id} is already {status}; nothing was changed").format(
                    id=appointment["id"][:8], status=label("appointment_status", appointment.get("status"), current())
                )
            )
        changes = {"status": status, "closed_by": store.staff.name, "closed_at": _now()}
        if reason:
            changes["reason"] = " ".join(reason.split())
        appointment.update(changes)
        store.appointments.save(txn, appointment)
        finish_task(txn, appointment, today, cancelled=True, reason=status)
    return appointment_row(appointment, student, store.staff_rows.display_names())


def finish_task(txn, appointment: dict, on: date, *, cancelled: bool = False, reason: str = "", entry_id: str | None = None) -> None:
    """Close the appointment's reminder task, if it is still open."""
    task_id = appointment.get("task_id")
    if not task_id:
        return
    try:
        task = txn.store.tasks.get(task_id)
    except NotFound:
        return
    if task.get("done_on"):
        return
    changes = {"done_by": txn.store.staff.name, "done_entry": entry_id}
    if cancelled:
        changes.update(cancelled=True, cancel_reason=reason)
    txn.store.tasks.finish(txn, task, on, changes, audit=False)


def agenda(store, day: date, *, counselor_name: str | None = None) -> list[dict]:
    """The day's appointments in time order (every counselor's: the duty desk's view; or one counselor's); audited."""
    action = "counseling.agenda"
    store.require("counseling", action=action)
    wanted = counselor(store, counselor_name)["name"] if counselor_name else None
    appointments = [a for a in store.appointments.on_day(day) if wanted is None or a.get("counselor") == wanted]
    students = store.students.by_ids(a["student_id"] for a in appointments)
    names = store.staff_rows.display_names()
    rows = [appointment_row(a, students[a["student_id"]], names) for a in appointments if store.in_scope(students[a["student_id"]].get("college"))]
    rows.sort(key=lambda r: (r["at"] or "", r["counselor"] or "", r["student_no"]))
    store.audit_read(action, targets=sorted({f"students/{a['student_id']}" for a in appointments if store.in_scope(students[a['student_id']].get('college'))}),
                     details={"day": day.isoformat(), "counselor": wanted, "count": len(rows)})  # fmt: skip
    return rows


def booked_for(store, student_id: str, day: date, counselor_name: str) -> dict | None:
    """The student's still-booked appointment with this counselor on ``day``, if any (a session attends it)."""
    found = [a for a in store.appointments.for_student(student_id) if a["on_date"] == day.isoformat() and a.get("status") == "booked" and a.get("counselor") == counselor_name]
    return found[0] if found else None
