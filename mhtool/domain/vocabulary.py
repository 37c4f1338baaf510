"""The glossary's codes, defined once.

Codes are what the store, JSON output and the command line use; the words
people read for them live in :mod:`mhtool.domain.labels`.
"""

from __future__ import annotations

# 关注等级, most to least severe. ``none`` means not on the watch list.
LEVELS: tuple[str, ...] = ("red", "orange", "yellow", "none")
WATCH_LEVELS: tuple[str, ...] = ("red", "orange", "yellow")
LEVEL_RANK: dict[str, int] = {"none": 0, "yellow": 1, "orange": 2, "red": 3}
# Fill colours of the levels in workbooks (light red, orange, yellow).
LEVEL_COLOURS: dict[str, str] = {"red": "FFC7CE", "orange": "FFD8A8", "yellow": "FFF2A8"}

# 学籍状态.
STATUSES: tuple[str, ...] = ("enrolled", "leave", "returned", "withdrawn", "graduated")
# Studying at the school: expected at a screening, may graduate.
ON_ROLL_STATUSES: tuple[str, ...] = ("enrolled", "returned")

# 知情同意 for referrals and guardian contacts.
CONSENT: tuple[str, ...] = ("signed", "refused", "not_needed", "pending")

# 六类特殊群体.
GROUPS: tuple[str, ...] = ("hardship", "single_parent_orphan", "academic", "psychological", "disability", "readmitted")

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
