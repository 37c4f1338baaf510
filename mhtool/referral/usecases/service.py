"""Referral services: the store-facing half of 转介.

The rules live in :mod:`mhtool.referral.domain.machine`; this module loads and saves
records through the ``hospitals`` and ``referrals`` repositories, checks roles
and college scope, writes the dossier timeline entry of every step, and keeps
the referral's tasks (visit, guardian, review) in the shared task list, so
``cases tasks`` and the reports see them like any other task.

Permissions: reading or writing a referral needs ``clinical`` (clerks see
neither referral details nor diagnoses); writing also needs ``record``. The
hospitals directory holds no personal data: every role that can read
dossiers may list it, and those who record entries may change it.
"""

from __future__ import annotations

import difflib
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mhtool.cases.domain import model as case_model
from mhtool.cases.usecases import service as cases
from mhtool.domain import dates, rules
from mhtool.domain.labels import LANGS
from mhtool.errors import ChangedMeanwhile, InvalidInput, NotFound, UsageError
from mhtool.i18n import _
from mhtool.referral.domain import machine, record_sheet

if TYPE_CHECKING:
    from mhtool.app.gateway import ExportGateway

SHORT_ID = 8
REFERRAL_TASKS = ("referral_visit", "referral_guardian", "referral_review")
HOSPITAL_FIELDS = ("name", "department", "level", "phone", "address", "green_channel", "note")


def now(store) -> datetime:
    """The store's wall-clock time, naive (how referral times are kept)."""
    return dates.now(store.tz).replace(tzinfo=None, microsecond=0)


def short(record_id: str) -> str:
    return record_id[:SHORT_ID]


# -- hospitals ------------------------------------------------------------------------------------


def _name_key(name: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", name or "").split()).casefold()


def hospitals(store) -> list[dict]:
    """Every hospital in the directory, by name."""
    store.require("dossier", action="referral.hospitals.list")
    rows = store.hospitals.all()
    return sorted((_hospital_view(h) for h in rows), key=lambda h: _name_key(h["name"]))


def _hospital_view(h: dict) -> dict:
    return {
        "id": h["id"],
        "name": h.get("name"),
        "department": h.get("department"),
        "level": h.get("level"),
        "phone": h.get("phone"),
        "address": h.get("address"),
        "green_channel": bool(h.get("green_channel")),
        "note": h.get("note"),
    }


def find_hospital(store, text: str, *, option: str = "--hospital") -> dict:
    """A hospital by name (spaces and full-width forms ignored) or by id; unknown names get suggestions."""
    wanted = _name_key(text)
    if not wanted:
        raise UsageError(_("{option} is empty").format(option=option), hint=_("name a hospital from `mhtool referral hospitals list`"))
    rows = store.hospitals.all()
    for h in rows:
        if _name_key(h.get("name")) == wanted:
            return h
    if len(wanted) >= 4:
        by_id = [h for h in rows if h["id"].startswith(wanted)]
        if len(by_id) == 1:
            return by_id[0]
    raise NotFound(
        _("{option}: no hospital named {name!r} in the directory").format(option=option, name=text.strip()),
        hint=_suggestion_hint(text, [h.get("name") or "" for h in rows]),
    )


def _suggestion_hint(text: str, names: list[str]) -> str:
    wanted = _name_key(text)
    keyed = {_name_key(n): n for n in names}
    close = difflib.get_close_matches(wanted, list(keyed), n=3, cutoff=0.5)
    close += [k for k in keyed if k not in close and (wanted in k or (k and k in wanted))]
    if close:
        return _('did you mean {names}? or add it: mhtool referral hospitals add "{name}" --level 三甲').format(
            names=" / ".join(keyed[k] for k in close[:3]), name=text.strip()
        )
    return _('see `mhtool referral hospitals list`, or add it: mhtool referral hospitals add "{name}" --level 三甲').format(name=text.strip())


def _hospital_fields(fields: dict) -> dict:
    out = {}
    for name, value in fields.items():
        if value is None:
            continue
        if name == "level":
            value = machine.parse_hospital_level(value)
        elif name == "green_channel":
            value = bool(value)
        elif isinstance(value, str):
            value = machine.clean_text(value)
        out[name] = value
    return out


def add_hospital(store, name: str, **fields) -> dict:
    """Add a hospital to the directory; names are unique, ignoring spaces and width."""
    store.require("record", action="referral.hospitals.add")
    clean = machine.clean_text(name)
    if not clean:
        raise UsageError(_("a hospital needs a name"))
    data = {k: None for k in HOSPITAL_FIELDS} | _hospital_fields(fields) | {"name": clean}
    data["green_channel"] = bool(data.get("green_channel"))
    data.update(created_by=store.staff.name, created_at=now(store).isoformat())
    with store.write("referral.hospitals.add") as txn:
        _refuse_duplicate_name(store, clean)
        hid = store.hospitals.add(txn, data)
    return _hospital_view({**data, "id": hid})


def _refuse_duplicate_name(store, name: str, *, except_id: str | None = None) -> None:
    for h in store.hospitals.all():
        if h["id"] != except_id and _name_key(h.get("name")) == _name_key(name):
            raise InvalidInput(
                _("a hospital named {name!r} is already in the directory").format(name=h["name"]),
                hint=_('change it with: mhtool referral hospitals edit "{name}" …').format(name=h["name"]),
            )


def edit_hospital(store, ident: str, **fields) -> dict:
    """Change a hospital's entry; referrals already made keep the name they were made with."""
    store.require("record", action="referral.hospitals.edit")
    changes = _hospital_fields(fields)
    if not changes:
        raise UsageError(
            _("nothing to change"), hint=_("pass --name, --department, --level, --phone, --address or --green-channel/--no-green-channel")
        )
    with store.write("referral.hospitals.edit") as txn:
        current = find_hospital(store, ident, option="HOSPITAL")
        if "name" in changes:
            _refuse_duplicate_name(store, changes["name"], except_id=current["id"])
        data = {k: v for k, v in current.items() if k != "id"} | changes
        data.update(updated_by=store.staff.name, updated_at=now(store).isoformat())
        store.hospitals.save(txn, {**data, "id": current["id"]})
    return _hospital_view({**data, "id": current["id"]})


# -- parsing command-line values --------------------------------------------------------------------


def parse_when(text: str | None, today: date, option: str) -> tuple[date | None, datetime | None]:
    """``2026-11-23`` → (that day, None); ``2026-11-23 14:30`` → (that day, that time)."""
    if text is None or not text.strip():
        return None, None
    moment = dates.parse_datetime(text, today=today, option=option)
    has_time = ":" in text
    return moment.date(), (moment if has_time else None)


def _parse_date(text: str | None, today: date, option: str, *, allow_future: bool = False) -> date | None:
    if text is None or not text.strip():
        return None
    return dates.parse_date(text, today=today, option=option, allow_future=allow_future)


def _guardian(at_text: str | None, how: str | None, by: str | None, *, today: date, staff: str, current: dict | None) -> dict | None:
    if at_text is None:
        if how is None and by is None:
            return None
        if not current:
            raise UsageError(
                _("--guardian-how and --guardian-by go with --guardian-informed DATE"),
                hint=_('e.g. --guardian-informed "2026-11-23 14:30" --guardian-how 电话'),
            )
        return {**current, **{k: v for k, v in (("how", how), ("by", by)) if v is not None}}
    moment = dates.parse_datetime(at_text, today=today, option="--guardian-informed")
    return {"at": moment, "how": how, "by": by or staff}


# -- referrals ------------------------------------------------------------------------------------


def _load(store, ref: str, *, action: str, write: bool = False) -> tuple[dict, dict]:
    if write:
        store.require("record", action=action)
    store.require("clinical", action=action)
    rid = store.referrals.resolve(ref, "referral")
    record = store.referrals.get(rid)
    student = store.students.get(record["student_id"])
    store.require_college(student.get("college"), action=action, targets=[f"referrals/{rid}"])
    return record, student


def _data(record: dict) -> dict:
    # Not the repository's sealed(): hospital and referred date stay in the sealed record too.
    return {k: v for k, v in record.items() if k not in ("id", "student_id")}


def _entry_fields(rid: str, item: dict, hospital: str | None) -> dict:
    fields = {
        "referral_id": rid,
        "status": item["status"],
        "from_status": item.get("from"),
        "hospital": hospital,
        "summary": machine.summary(item),
    }
    return case_model.validate_entry("referral", fields)


def _refusal_dates(store, student_id: str) -> list[str]:
    return [
        e["date"]
        for e in store.entries.for_student(student_id)
        if e.get("kind") == "guardian_contact" and (e.get("fields") or {}).get("consent") == "refused"
    ]


def add_referral(
    store,
    student_no: str,
    *,
    hospital: str,
    reason: str | None,
    department: str | None = None,
    urgency: str | None = None,
    escort: str | None = None,
    guardian_informed: str | None = None,
    guardian_how: str | None = None,
    guardian_by: str | None = None,
    consent: str | None = None,
    next_review: str | None = None,
    when: str | None = None,
    note: str | None = None,
) -> dict:
    """Record a referral of one student; returns the referral view (as ``show``)."""
    action = "referral.add"
    store.require("record", action=action)
    store.require("clinical", action=action)
    student = cases.load_student(store, student_no, action=action)
    today, moment = cases.today(store), now(store)
    hosp = find_hospital(store, hospital)
    referred_on, referred_at = parse_when(when, today, "--date")
    fields = {
        "hospital_id": hosp["id"],
        "hospital": hosp.get("name"),
        "department": department or hosp.get("department"),
        "referred_on": referred_on,
        "referred_at": referred_at,
        "reason": reason,
        "urgency": machine.parse_urgency(urgency) if urgency else "routine",
        "escort": escort,
        "guardian_informed": _guardian(guardian_informed, guardian_how, guardian_by, today=today, staff=store.staff.name, current=None),
        "consent": machine.parse_consent(consent) if consent else None,
        "next_review": _parse_date(next_review, today, "--next-review", allow_future=True),
        "note": note,
    }
    record, item = machine.new_referral(fields, today=today, by=store.staff.name, at=moment)
    on = date.fromisoformat(record["referred_on"])
    with store.write(action, details={"status": "referred"}) as txn:
        rid = store.referrals.add(txn, student["id"], _data(record))
        entry = cases.add_entry(txn, student["id"], "referral", _entry_fields(rid, item, record["hospital"]), on)
        _sync_tasks(txn, rid, student["id"], record, on, entry)
    return _view({**record, "id": rid, "student_id": student["id"]}, student, hosp, today=today, moment=moment)


def update_referral(
    store,
    ref: str,
    *,
    status: str | None = None,
    when: str | None = None,
    hospital: str | None = None,
    department: str | None = None,
    escort: str | None = None,
    guardian_informed: str | None = None,
    guardian_how: str | None = None,
    guardian_by: str | None = None,
    consent: str | None = None,
    visit_date: str | None = None,
    diagnosis: str | None = None,
    icd10: str | None = None,
    advice: str | None = None,
    advice_detail: str | None = None,
    medication: bool | None = None,
    next_review: str | None = None,
    outcome: str | None = None,
    note: str | None = None,
) -> dict:
    """Move a referral along its lifecycle and/or record fields; returns the view plus ``hints``."""
    action = "referral.update"
    record, student = _load(store, ref, action=action, write=True)
    today, moment = cases.today(store), now(store)
    to = machine.parse_status(status) if status else None
    fields: dict = {
        "department": department,
        "escort": escort,
        "guardian_informed": _guardian(
            guardian_informed, guardian_how, guardian_by, today=today, staff=store.staff.name, current=record.get("guardian_informed")
        ),
        "consent": machine.parse_consent(consent) if consent else None,
        "visit_date": _parse_date(visit_date, today, "--visit-date"),
        "diagnosis": diagnosis,
        "icd10": machine.parse_icd10(icd10) if icd10 is not None else None,
        "advice": machine.parse_advice(advice) if advice else None,
        "advice_detail": advice_detail,
        "medication": medication,
        "outcome": outcome,
        "note": note,
    }
    if next_review is not None:
        if next_review.strip().lower() in ("none", "无"):
            if not record.get("next_review"):
                raise UsageError(_("--next-review none: there is no next review to clear"))
            fields["next_review"] = machine.CLEAR
        else:
            fields["next_review"] = _parse_date(next_review, today, "--next-review", allow_future=True)
    hosp = None
    if hospital is not None:
        hosp = find_hospital(store, hospital)
        fields.update(hospital_id=hosp["id"], hospital=hosp.get("name"))
        if department is None:
            fields["department"] = hosp.get("department")
    on = _parse_date(when, today, "--date")
    refusals = _refusal_dates(store, student["id"]) if to == "declined" else []
    new, item = machine.update(
        record, to, fields, on=on, today=today, by=store.staff.name, at=moment, guardian_refusals=refusals
    )
    rid = record["id"]
    step_on = date.fromisoformat(item["on"])
    with store.write(action, details={"status": new["status"], "from": record["status"]}) as txn:
        if _data(store.referrals.get(rid)) != _data(record):
            raise ChangedMeanwhile(
                _("referral {id} was changed by someone else while this update was being prepared; nothing was saved").format(id=short(rid)),
                hint=_("look at it again with `mhtool referral show {id}` and repeat the update").format(id=short(rid)),
            )
        store.referrals.save(txn, rid, _data(new))
        entry = cases.add_entry(txn, student["id"], "referral", _entry_fields(rid, item, new.get("hospital")), step_on)
        _sync_tasks(txn, rid, student["id"], new, step_on, entry)
    hosp = hosp or _hospital_or_none(store, new["hospital_id"])
    view = _view({**new, "id": rid, "student_id": student["id"]}, student, hosp, today=today, moment=moment)
    view["hints"] = _hints(new, item, student)
    return view


def _hints(record: dict, item: dict, student: dict) -> list[str]:
    hints = []
    no = student.get("student_no")
    if item["changes"].get("advice") == "leave" and (student.get("status") or "enrolled") in ("enrolled", "returned"):
        hints.append(_("the hospital advised leave of absence; record it with: mhtool cases status {student_no} leave --from DATE --reason …").format(student_no=no))
    if item["changes"].get("advice") == "hospitalize" and record["status"] != "hospitalized":
        hints.append(
            _("the hospital advised hospitalization; when admitted: mhtool referral update {id} --status hospitalized").format(id=short(record.get("id", "")))
        )
    return [h for h in hints if h]


def _hospital_or_none(store, hid: str | None) -> dict | None:
    if not hid:
        return None
    try:
        return store.hospitals.get(hid)
    except NotFound:
        return None


# -- tasks ----------------------------------------------------------------------------------------


def _wanted_tasks(record: dict) -> dict[str, date]:
    """The referral's open tasks as they should be now: kind → due date."""
    status = record["status"]
    if status in machine.TERMINAL:
        return {}
    wanted: dict[str, date] = {}
    if status == "referred":
        wanted["referral_visit"] = machine.attendance_due(record)
    if record.get("urgency") in machine.PRESSING and not (record.get("guardian_informed") or {}).get("at"):
        wanted["referral_guardian"] = machine.guardian_deadline(record).date()
    if record.get("next_review"):
        wanted["referral_review"] = date.fromisoformat(record["next_review"])
    return wanted


_TASK_NOTES = {
    "referral_visit": "确认学生已到医院就诊",
    "referral_guardian": f"紧急/加急转介：{rules.GUARDIAN_NOTICE_HOURS}小时内告知监护人",
    "referral_review": "转介复查",
}


def _sync_tasks(txn, rid: str, student_id: str, record: dict, on: date, entry_id: str) -> None:
    """Open, move or finish this referral's tasks so they match its state.

    Tasks are matched by referral id rather than by kind alone, so two open
    referrals of one student never finish each other's tasks.
    """
    wanted = _wanted_tasks(record)
    ended = record["status"] in machine.TERMINAL
    store = txn.store
    for task in store.tasks.open(student_id):
        if task.get("referral_id") != rid or task["kind"] not in REFERRAL_TASKS:
            continue
        due = wanted.get(task["kind"])
        if due is not None and task["due_on"] == due.isoformat():
            wanted.pop(task["kind"])
            continue
        changes = {"done_by": store.staff.name, "done_entry": entry_id}
        if ended:
            changes.update(cancelled=True, cancel_reason=f"referral {record['status']}")
        store.tasks.finish(txn, task, on, changes)
    for kind, due in wanted.items():
        cases.open_task(txn, student_id, kind, due, referral_id=rid, note=_TASK_NOTES[kind], source_entry=entry_id)


# -- reading --------------------------------------------------------------------------------------


def _view(record: dict, student: dict, hosp: dict | None, *, today: date, moment: datetime) -> dict:
    rid = record["id"]
    view = {
        "id": rid,
        "short_id": short(rid),
        "student": {
            "id": student["id"],
            "student_no": student.get("student_no"),
            "name": student.get("name"),
            "gender": student.get("gender"),
            "college": student.get("college"),
            "major": student.get("major"),
            "class_name": student.get("class_name"),
            "advisor": student.get("advisor"),
            "level": student.get("level"),
            "status": student.get("status"),
        },
        "hospital_detail": _hospital_view(hosp) if hosp else None,
        **{k: record.get(k) for k in machine.FIELDS},
        "status": record["status"],
        "created_by": record.get("created_by"),
        "created_at": record.get("created_at"),
        "alerts": machine.alerts(record, today, moment),
        "valid_next": list(machine.valid_next(record["status"])),
        "history": list(record.get("history") or []),
    }
    return view


def show_referral(store, ref: str) -> dict:
    """One referral with every step (needs clinical access); the read is audited."""
    record, student = _load(store, ref, action="referral.show")
    store.audit_read("referral.show", targets=[f"referrals/{record['id']}", f"students/{student['id']}"])
    return _view(record, student, _hospital_or_none(store, record.get("hospital_id")), today=cases.today(store), moment=now(store))


def _row(record: dict, student: dict, alert_codes: list[str]) -> dict:
    """A referral as lists and reports show it: no diagnosis, no free text."""
    return {
        "id": record["id"],
        "short_id": short(record["id"]),
        "student_id": student["id"],
        "student_no": student.get("student_no"),
        "name": student.get("name"),
        "college": student.get("college"),
        "hospital_id": record.get("hospital_id"),
        "hospital": record.get("hospital"),
        "department": record.get("department"),
        "status": record["status"],
        "urgency": record.get("urgency"),
        "referred_on": record.get("referred_on"),
        "visit_date": record.get("visit_date"),
        "next_review": record.get("next_review"),
        "guardian_informed": bool((record.get("guardian_informed") or {}).get("at")),
        "overdue": bool(alert_codes),
        "alerts": alert_codes,
    }


def _in_scope(store):
    records = store.referrals.newest_first()
    students = store.students.by_ids(r["student_id"] for r in records)
    for record in records:
        student = students.get(record["student_id"])
        if student is not None and store.in_scope(student.get("college")):
            yield record, student


def list_referrals(
    store,
    *,
    open_only: bool = False,
    overdue_only: bool = False,
    hospital: str | None = None,
    college: str | None = None,
) -> list[dict]:
    """Referrals in the staff member's scope, newest first (no diagnosis fields)."""
    store.require("clinical", action="referral.list")
    if college:
        store.require_college(college, action="referral.list")
    hid = find_hospital(store, hospital)["id"] if hospital else None
    today, moment = cases.today(store), now(store)
    rows = []
    for record, student in _in_scope(store):
        if open_only and record["status"] in machine.TERMINAL:
            continue
        if hid and record.get("hospital_id") != hid:
            continue
        if college and (student.get("college") or "") != college:
            continue
        codes = machine.alerts(record, today, moment)
        if overdue_only and not codes:
            continue
        rows.append(_row(record, student, codes))
    store.audit_read("referral.list", targets=[f"referrals/{r['id']}" for r in rows], details={"count": len(rows)})
    return rows


def overdue_referrals(store, today: date) -> list[dict]:
    """Referrals needing attention on ``today``: not attended after 7 days, past the next review,
    or urgent without the guardian informed after 24 hours.

    For report builders: no diagnosis fields, limited to the staff member's
    college scope; the caller audits the read with its own report entry.
    Rows as :func:`referrals_in`, evaluated as the referral stood on ``today``.
    """
    real_today, moment = cases.today(store), now(store)
    at = moment if today == real_today else machine.end_of_day(today)
    out = []
    for record, student in _in_scope(store):
        state = machine.state_on(record, today)
        if state is None:
            continue
        codes = machine.alerts(state, today, at)
        if codes:
            out.append(_row({**state, "id": record["id"]}, student, codes))
    return out


def referrals_in(store, start: date, end: date) -> list[dict]:
    """Referrals opened, advanced or overdue between ``start`` and ``end`` (inclusive).

    For report builders: one dict per referral with student id, number, name
    and college, hospital, urgency, the status at the end of the period,
    ``opened`` (referred in the period), ``steps`` taken in the period
    (date, from, to), ``closed_on``, and ``overdue`` / ``alerts`` (any alert
    raised on a day of the period). No diagnosis, advice or free text.
    Limited to the staff member's college scope; the caller audits the read.
    """
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    moment = now(store)
    out = []
    for record, student in _in_scope(store):
        referred_on = date.fromisoformat(record["referred_on"])
        if referred_on > end:
            continue
        history = record.get("history") or []
        steps = [
            {"on": i["on"], "from": i.get("from"), "status": i["status"]}
            for i in history
            if i.get("step") != "edit" and start <= date.fromisoformat(i["on"]) <= end
        ]
        codes = machine.alerts_between(record, start, end, moment)
        if not steps and not codes:
            continue
        state = machine.state_on(record, end) or {}
        row = _row({**state, "id": record["id"]}, student, codes)
        row["current_status"] = record["status"]
        row["opened"] = start <= referred_on <= end
        row["steps"] = steps
        closing = [i["on"] for i in history if i.get("step") != "edit" and i["status"] in machine.TERMINAL and date.fromisoformat(i["on"]) <= end]
        row["closed_on"] = closing[-1] if closing else None
        out.append(row)
    return out


# -- the printable record sheet -------------------------------------------------------------------


def export_referral(store, exports: ExportGateway, ref: str, out: Path, *, lang: str = "zh", purpose: str | None = None) -> Path:
    """Write the referral record sheet (转介记录表) as a printable workbook, through the export gateway."""
    from mhtool.io.xlsx import out_path_for, write_report

    if lang not in LANGS:
        raise UsageError(_("--lang must be zh or en, not {lang!r}").format(lang=lang))
    record, student = _load(store, ref, action="referral.export")
    view = _view(record, student, _hospital_or_none(store, record.get("hospital_id")), today=cases.today(store), moment=now(store))
    path = out_path_for(out, record_sheet.file_name(view, lang))
    report = record_sheet.build_record_sheet(view, lang=lang, generated_at=now(store), staff_names=store.staff_rows.display_names())
    return exports.publish(
        path,
        lambda tmp: write_report(report, tmp),
        action="referral.export",
        what=_("a referral record export"),
        purpose=purpose,
        targets=[f"referrals/{record['id']}", f"students/{student['id']}"],
        details={"out_dir": str(path.parent)},
        name_in_audit=False,
    )


__all__ = [
    "hospitals",
    "find_hospital",
    "add_hospital",
    "edit_hospital",
    "add_referral",
    "update_referral",
    "show_referral",
    "list_referrals",
    "overdue_referrals",
    "referrals_in",
    "export_referral",
]
