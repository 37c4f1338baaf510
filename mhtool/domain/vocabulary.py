"""The glossary's codes, defined once.

Codes are what the store, JSON output and the command line use; the words
people read for them live in :mod:`mhtool.domain.labels`.
"""

from __future__ import annotations

import re
import unicodedata

# 关注等级, most to least severe. ``none`` means not on the watch list.
LEVELS: tuple[str, ...] = ("red", "orange", "yellow", "none")
WATCH_LEVELS: tuple[str, ...] = ("red", "orange", "yellow")
LEVEL_RANK: dict[str, int] = {"none": 0, "yellow": 1, "orange": 2, "red": 3}
# Fill colours of the levels in workbooks (light red, orange, yellow).
LEVEL_COLOURS: dict[str, str] = {"red": "FFC7CE", "orange": "FFD8A8", "yellow": "FFF2A8"}


def in_level_order(codes) -> list:
    """``codes`` (level codes, e.g. a mapping's keys) in the glossary's order, red first; any other code after them, as given."""
    codes = list(codes)
    return [code for code in LEVELS if code in codes] + [code for code in codes if code not in LEVELS]


# 学籍状态.
STATUSES: tuple[str, ...] = ("enrolled", "leave", "returned", "withdrawn", "graduated")
# Studying at the school: expected at a screening, may graduate.
ON_ROLL_STATUSES: tuple[str, ...] = ("enrolled", "returned")

# 知情同意 for referrals and guardian contacts.
CONSENT: tuple[str, ...] = ("signed", "refused", "not_needed", "pending")

# 六类特殊群体.
GROUPS: tuple[str, ...] = ("hardship", "single_parent_orphan", "academic", "psychological", "disability", "readmitted")

# 危机事件类型: what kind of crisis a crisis record (and its 随时报告) is about.
CRISIS_TYPES: tuple[str, ...] = (
    "self_harm_ideation",
    "self_harm",
    "suicide_attempt",
    "acute_distress",
    "violence",
    "psychotic",
    "other",
)
# 风险等级 of a crisis as the counselor on the spot assessed it.
CRISIS_RISKS: tuple[str, ...] = ("high", "medium", "low")
# Words in a crisis record's "who was notified" that mean the parents or guardians
# (家长知悉时间 is the time of the first such notice when no separate time was recorded).
PARENT_WORDS: tuple[str, ...] = ("家长", "父母", "父亲", "母亲", "监护人", "parent", "father", "mother", "guardian")

# 个体咨询 and 团体辅导 (counseling): how a session was held (面询/电话/网络), the presenting
# concern's category (a short fixed list; what was said is free text beside it), the counselor's
# risk assessment, and how a series of sessions ended.
SESSION_MODES: tuple[str, ...] = ("in_person", "phone", "online")
CONCERNS: tuple[str, ...] = (
    "emotion",
    "relationship",
    "romance",
    "academic",
    "career",
    "family",
    "adaptation",
    "self_growth",
    "sleep",
    "crisis",
    "other",
)
SESSION_RISKS: tuple[str, ...] = CRISIS_RISKS
SESSION_OUTCOMES: tuple[str, ...] = ("achieved", "improved", "referred", "transferred", "discontinued", "other")
# An appointment (预约) from booking to what became of it.
APPOINTMENT_STATUSES: tuple[str, ...] = ("booked", "attended", "cancelled", "no_show")
# 心理健康活动: what kind of event an activity was.
ACTIVITY_KINDS: tuple[str, ...] = ("lecture", "month_525", "class_meeting", "workshop", "training", "other")
# 案例研讨 (a case conference of the center's counselors) or 督导 (supervision).
CONFERENCE_KINDS: tuple[str, ...] = ("case_conference", "supervision")

# The roster fields of a dossier header (一人一档 表头), in the order sheets show them.
ROSTER_FIELDS: tuple[str, ...] = (
    "name",
    "gender",
    "college",
    "major",
    "grade",
    "class_name",
    "dorm",
    "phone",
    "advisor",
    "advisor_phone",
)
# What `cases edit` may change: the roster fields and the responsible counselor.
HEADER_FIELDS: tuple[str, ...] = (*ROSTER_FIELDS, "counselor")



def normalise_grade(value) -> str | None:
    """年级 in its one form, ``2026级``, however a roster or an export writes it.

    ``2026``, ``2026级``, ``2026 级``, ``２０２６``, ``2026年级`` and a number cell's
    ``2026.0`` are all ``2026级``; anything else (``研一``, ``2026届``) is kept as
    written, without spaces; empty is None. Roster import, survey import and
    the reports compare grades only in this form.
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = "".join(unicodedata.normalize("NFKC", str(value)).split())
    if not text:
        return None
    year = re.fullmatch(r"(\d{4})(?:\.0+)?(?:级|年级)?", text)
    return f"{year.group(1)}级" if year else text


def level_rank(level: str | None) -> int:
    """The severity of a level (0 for none or unknown)."""
    return LEVEL_RANK.get(level or "none", 0)


def highest(levels) -> str:
    """The most severe of ``levels``; ``none`` when there is none."""
    best = "none"
    for level in levels:
        if level_rank(level) > LEVEL_RANK[best]:
            best = level
    return best
