"""Synthetic dossiers for the report tests, written through the real dossier services.

Every name and number here is made up. Events are recorded exactly as the
``cases`` commands record them (domain effects applied by the service, one
transaction each), with the dates the tests need.
"""

from __future__ import annotations

from datetime import date

from mhtool.cases.domain import model
from mhtool.cases.usecases import service
from mhtool.domain.vocabulary import WATCH_LEVELS


def add_student(store, student_no: str, name: str, college: str, class_name: str = "一班", **fields) -> dict:
    row = {
        "student_no": student_no,
        "name": name,
        "college": college,
        "class_name": class_name,
        "gender": fields.pop("gender", "女"),
        "grade": fields.pop("grade", "2026"),
        "phone": fields.pop("phone", "13800000000"),
        "advisor": fields.pop("advisor", "王老师"),
        **fields,
    }
    with store.write("test.add") as txn:
        result = service.upsert_students(txn, [row], source=fields.get("source", "roster"))
    return store.students.get(result.ids[student_no])


def _fresh(store, student: dict) -> dict:
    return store.students.get(student["id"])


def level(store, student: dict, to: str, on: date, reason: str = "约谈评估") -> dict:
    student = _fresh(store, student)
    service.record_effects(store, "test.level", student, model.change_level(student, to, reason, on), on)
    return _fresh(store, student)


def close(store, student: dict, on: date, reason: str = "状态稳定，解除关注") -> dict:
    student = _fresh(store, student)
    service.record_effects(store, "test.close", student, model.close_watch(student, reason, on), on)
    return _fresh(store, student)


def interview(store, student: dict, on: date, findings: str = "情绪平稳", confirmed: str | None = None) -> dict:
    student = _fresh(store, student)
    fields = {"findings": findings, **({"confirmed_level": confirmed} if confirmed else {})}
    service.record_effects(store, "test.interview", student, model.record_interview(student, fields, on), on)
    return _fresh(store, student)


def follow_up(store, student: dict, on: date, content: str = "电话回访") -> dict:
    student = _fresh(store, student)
    service.record_effects(store, "test.follow_up", student, model.record_follow_up(student, {"content": content}, on), on)
    return _fresh(store, student)


def entry(store, student: dict, kind: str, on: date, **fields) -> str:
    student = _fresh(store, student)
    fields = model.validate_entry(kind, fields)
    ids = service.record_effects(store, f"test.{kind}", student, model.Effects(dict(student), entries=[(kind, fields)]), on)
    return ids[0]


def status(store, student: dict, to: str, on: date, reason: str = "因病休学", **fields) -> dict:
    student = _fresh(store, student)
    service.record_effects(store, "test.status", student, model.change_status(student, to, {"reason": reason, **fields}, on), on)
    return _fresh(store, student)


def add_batch(store, name: str, imported_on: date, responses: list[dict], *, instrument: str = "upi") -> str:
    """A screening batch written as the survey import writes it (rows of the batches and responses tables)."""
    proposed = {lv: sum(1 for r in responses if r.get("proposed_level") == lv) for lv in WATCH_LEVELS}
    with store.write("test.batch") as txn:
        bid = store.batches.add(
            txn,
            {
                "name": name,
                "instrument": instrument,
                "version": "1.0",
                "file": f"{name}.xlsx",
                "imported_at": f"{imported_on.isoformat()}T10:00:00+08:00",
                "imported_by": store.staff.name,
                "rows": len(responses),
                "imported": len(responses),
                "superseded": 0,
                "rejected": 0,
                "proposed": proposed,
                "voided": False,
            },
            content_key=name,
            on=imported_on,
        )
        for i, r in enumerate(responses, start=2):
            student = r["student"]
            level = r.get("proposed_level", "none")
            rid = store.responses.add(
                txn,
                bid,
                student["id"],
                r.get("on", imported_on).isoformat(),
                {
                    "instrument": instrument,
                    "version": "1.0",
                    "row": i,
                    "scores": {"total": r.get("total", 0)},
                    "band": r.get("band", "C"),
                    "flags": r.get("flags", []),
                    "proposed_level": level,
                    "student_no": student["student_no"],
                    **{k: student.get(k) for k in ("name", "gender", "college", "major", "grade", "class_name")},
                },
            )
            if level != "none":
                task = model.interview_task(level, imported_on)
                service.open_task(
                    txn, student["id"], "interview", task["due"], proposed_level=level, batch_id=bid, response_id=rid, instrument=instrument,
                    created_at=f"{imported_on.isoformat()}T02:00:00+00:00",
                )
    return bid
