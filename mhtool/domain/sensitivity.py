"""Which parts of a record are clinical: sealed under the key only counselors and admins hold.

The store seals each record in two parts (docs/design.md, "Keys per role"):
the administrative part under the roster key, which clerks and cron jobs
also hold, and the clinical part under the clinical key. This module is the
one place that says where the line runs, as pure functions of plain dicts:
:func:`split` before sealing, :func:`merge` after opening.

What stays administrative is what a clerk's report needs to count (a level
changed from yellow to orange, a crisis happened at 21:40 and the parents
knew at 22:10, a referral moved to "visited"); why, what was said and what
the hospital found are clinical.
"""

from __future__ import annotations

# Timeline entries whose content a clerk may not see (interview findings, notes, crises,
# guardian conversations, referral details): clerks see that they exist and their administrative facts.
CLINICAL_KINDS = frozenset(
    {"interview", "note", "guardian_contact", "crisis", "referral", "follow_up", "level_change", "close", "reopen", "session", "conference"}
)

# The administrative fields of each restricted entry kind: dates, levels, who was told when.
ENTRY_PUBLIC_FIELDS: dict[str, tuple[str, ...]] = {
    "interview": ("mode", "duration", "confirmed_level", "task_id", "interviewer", "source", "source_key"),
    "level_change": ("from", "to", "for_entry"),
    "note": (),
    "guardian_contact": ("guardian", "channel", "consent"),
    "crisis": ("happened_at", "parents_notified_at", "notified", "event_type", "risk", "reported_to", "reported_at", "reported_how"),
    "follow_up": ("mode", "task_id"),
    "close": (),
    "reopen": ("level",),
    "referral": ("referral_id", "status", "from_status"),
    # A leave or return is administrative; the medical reason and the certificate's conclusion are not.
    "status_change": ("from", "to", "from_date", "until", "on", "documents"),
    # 个体咨询 (咨询伦理): that a session took place, when, with whom and how long; what the student brought,
    # the risk assessment, the next step and how a series ended are for counselors only.
    "session": ("counselor", "mode", "minutes", "number", "at", "appointment_id", "walk_in", "closes"),
    # 案例研讨/督导: that it was held, who took part and who follows up; what was discussed and decided is clinical.
    "conference": ("conference_id", "conference_kind", "participants", "owner", "due", "task_id"),
}
# Entry kinds whose content never leaves in a document (the dossier export goes to advisors and
# colleges): even a counselor's export shows only their administrative part.
DOCUMENT_WITHHELD_KINDS = frozenset({"session", "conference"})

# Header fields of a student a clerk may not see: why a student is watched is clinical.
STUDENT_CLINICAL_FIELDS: tuple[str, ...] = ("level_reason",)
WATCH_CLINICAL_FIELDS: tuple[str, ...] = ("reason", "close_reason")
# A campus signal (多源预警): a clerk may count signals by rule and college, never read what
# triggered one (dates, counts, amounts), its explanation, its history or the reviewer's reason.
SIGNAL_CLINICAL_FIELDS: tuple[str, ...] = ("facts", "explanation", "explanation_en", "history", "reason")

# What a referral's administrative part keeps: where it stands and when, not why or what was found.
REFERRAL_PUBLIC_FIELDS: tuple[str, ...] = (
    "status", "hospital_id", "referred_on", "referred_at", "urgency", "visit_date", "next_review",
    "guardian_informed", "consent", "escort", "created_by", "created_at",
)
REFERRAL_STEP_PUBLIC_FIELDS: tuple[str, ...] = ("step", "from", "status", "on", "at", "by")


def split(table: str, record: dict) -> tuple[dict, dict | None]:
    """``record`` as (administrative part, clinical part or None when it has nothing clinical)."""
    if table == "entries":
        public = ENTRY_PUBLIC_FIELDS.get(record.get("kind", ""))
        fields = record.get("fields")
        if public is None or not isinstance(fields, dict):
            return record, None
        kept = {k: v for k, v in fields.items() if k in public}
        if kept == fields:
            return record, None
        return {**record, "fields": kept}, {"fields": fields}
    if table == "referrals":
        admin = {k: v for k, v in record.items() if k in REFERRAL_PUBLIC_FIELDS}
        history = record.get("history")
        if isinstance(history, list):
            admin["history"] = [_public_step(step) for step in history]
        clinical = {k: v for k, v in record.items() if k not in REFERRAL_PUBLIC_FIELDS}
        return admin, clinical
    hidden = _HIDDEN_FIELDS.get(table, ())
    if _HIDDEN.get(table, _NONE).isdisjoint(record):
        return record, None
    clinical = {k: record[k] for k in hidden if record.get(k) not in (None, "")}
    admin = dict(record)  # a copy without the hidden fields, in the record's order
    for k in hidden:
        admin.pop(k, None)
    return admin, clinical or None


_HIDDEN_FIELDS = {"students": STUDENT_CLINICAL_FIELDS, "watches": WATCH_CLINICAL_FIELDS, "signals": SIGNAL_CLINICAL_FIELDS}
_HIDDEN = {table: frozenset(fields) for table, fields in _HIDDEN_FIELDS.items()}
_NONE: frozenset = frozenset()


def _public_step(step):
    if not isinstance(step, dict):
        return step
    out = {k: v for k, v in step.items() if k in REFERRAL_STEP_PUBLIC_FIELDS}
    changes = step.get("changes")
    if isinstance(changes, dict):
        out["changes"] = {k: v for k, v in changes.items() if k in REFERRAL_PUBLIC_FIELDS}
    return out


def merge(admin: dict, clinical: dict | None) -> dict:
    """The whole record from its two parts (the clinical part wins where both hold a field)."""
    if clinical:
        admin.update(clinical)
    return admin
