"""The plain data of 多源预警: what a campus export is reduced to, and what rules return.

Raw passes and transactions never leave the reader (:mod:`mhtool.io.campus`): a file
becomes an :class:`Aggregate` of per-person daily facts, and only those facts are
stored, one record per student and source. Dates inside facts are ISO strings
(``"2026-11-17"``), so facts are JSON as they are.

Facts per source (the same shape in an aggregate and in the store):

``dorm``
    ``{"nights": {"2026-11-17": 1, "2026-11-18": 0}}``: every night D the file
    judged, 1 = out (the latest pass at or before 23:30 on D is an exit and no
    entry follows before 05:00 on D+1), 0 = in.
``card``
    ``{"days": {"2026-11-17": [meals, spend_cents]}}``: canteen spending only
    (:func:`is_canteen`); ``meals`` is the number of canteen spending transactions
    that day, ``spend_cents`` their total in integer cents.
``academic``
    ``{"courses": [{"term", "course", "credits", "score", "passed", "kind"}]}``:
    one entry per course result; ``kind`` is 正常, 补考 or 重修.

Storing a new aggregate over old facts (:func:`merge`) replaces the days or nights
the new file covers, so the latest import of a day wins and importing a file twice
changes nothing; academic results are merged by (term, course, kind). Retention
(:func:`prune`) drops days and nights older than the store's fact period.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from mhtool.i18n import _

SOURCES = ("dorm", "card", "academic")

# The key under which each day-based source keeps its dated entries.
DAY_KEYS = {"dorm": "nights", "card": "days"}

PASS_MARK = 60


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Aggregate:
    """What a reader returns for one campus export: per-person facts, no raw rows."""

    source: str  # dorm | card | academic
    first_day: str | None  # first and last day the file covers (dorm: the nights judged)
    last_day: str | None
    rows: int  # data rows read
    people: dict[str, dict]  # the person code as in the file (学号, 卡号/人员编号) -> facts
    school: dict  # card only: {"days": {day: median_spend_per_meal_cents}}; else {}
    unmatched_note: str | None = None


@dataclass(frozen=True)
class Hit:
    """One rule that holds for one student on one day, with what made it hold."""

    rule: str  # dorm_out, meals_drop, hidden_hardship, first_fail, academic_warning, credits_short
    source: str
    on: str  # the day the hit is dated (the as-of day, or the last triggering night)
    facts: dict  # the dates, counts and amounts that triggered it (JSON-able)
    explanation: str  # the rule's sentence filled in, in Chinese
    explanation_en: str  # the same in English

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "source": self.source,
            "on": self.on,
            "facts": self.facts,
            "explanation": self.explanation,
            "explanation_en": self.explanation_en,
        }


@dataclass(frozen=True)
class StudentContext:
    """What the rules need to know about a student besides the facts.

    ``away_days``: ISO days the student is on leave (休学) or marked away; dorm nights
    and meal counts on those days are left out. ``school_card``: the school's
    ``{"days": {day: median_spend_per_meal_cents}}``; a day in it is a day the card
    data covers (see :mod:`mhtool.signals.domain.rules`). ``credits_required``: the
    credits the student needs to graduate (None: the rule's default).
    """

    away_days: frozenset[str] = frozenset()
    grade: str | None = None
    final_year: bool = False
    school_card: dict = field(default_factory=dict)
    credits_required: float | None = None


# --------------------------------------------------------------------------- merging


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"unknown signal source {source!r} (known: {', '.join(SOURCES)})")


def course_key(course: dict) -> tuple[str, str, str]:
    """How academic results are told apart when merging: (term, course, kind)."""
    return (str(course.get("term", "")), str(course.get("course", "")), str(course.get("kind") or "正常"))


def merge(source: str, stored_facts: dict | None, new_facts: dict | None, first_day: str | None, last_day: str | None) -> dict:
    """The facts to store after importing ``new_facts`` over ``stored_facts``; neither is changed.

    Day-based sources (dorm nights, card days): every stored entry whose day lies in
    ``first_day``…``last_day`` (the period the new file covers, inclusive) is replaced
    by what the new facts say about it, so a day the new file covers but the person
    no longer appears on is dropped, and a day outside it is kept. Without a period
    (an empty file) the new entries are simply laid over the stored ones. Academic
    results are merged by (term, course, kind): a new result replaces the stored one
    with the same key. Merging the same facts twice gives the same result.
    """
    _check_source(source)
    stored = stored_facts or {}
    new = new_facts or {}
    if source == "academic":
        courses: dict[tuple[str, str, str], dict] = {}
        for c in list(stored.get("courses") or []) + list(new.get("courses") or []):
            courses[course_key(c)] = dict(c)
        ordered = sorted(courses.items(), key=lambda kv: (term_key(kv[0][0]), kv[0][1], kv[0][2]))
        return {"courses": [c for _key, c in ordered]}
    key = DAY_KEYS[source]
    old = dict(stored.get(key) or {})
    if first_day is not None and last_day is not None:
        old = {d: v for d, v in old.items() if not first_day <= d <= last_day}
    for d, v in (new.get(key) or {}).items():
        old[d] = list(v) if isinstance(v, (list, tuple)) else v
    return {key: dict(sorted(old.items()))}


def prune(source: str, facts: dict | None, before: date | str) -> dict:
    """``facts`` without the days (nights) older than ``before``, for retention.

    Academic results are not dated by day and are kept whole. The school's card
    medians have the card shape and can be pruned as ``prune("card", school, …)``.
    """
    _check_source(source)
    facts = facts or {}
    if source == "academic":
        return {"courses": [dict(c) for c in facts.get("courses") or []]}
    cutoff = before.isoformat() if isinstance(before, date) else str(before)
    key = DAY_KEYS[source]
    return {key: {d: v for d, v in sorted((facts.get(key) or {}).items()) if d >= cutoff}}


def is_empty(source: str, facts: dict | None) -> bool:
    """True when ``facts`` hold nothing (a record retention can remove)."""
    _check_source(source)
    if not facts:
        return True
    return not facts.get("courses" if source == "academic" else DAY_KEYS[source])


# --------------------------------------------------------------------------- grades

# 五级制 and 二级制 grades, folded (NFKC, no spaces).
_PASSING = frozenset({"优", "优秀", "良", "良好", "中", "中等", "及格", "合格", "通过"})
_FAILING = frozenset({"不及格", "不合格", "不通过", "缺考", "旷考", "作弊"})
_NUMBER = re.compile(r"^[+-]?(\d+(?:\.\d*)?|\.\d+)$")


def _fold(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def passed(score_text: Any) -> bool:
    """Whether a grade passes: a number at or above 60, or 优/良/中/及格/合格/通过.

    不及格, 不合格, 缺考 and 作弊 (also 不通过, 旷考) fail. Anything else (缓考, an
    empty cell, a negative number) raises :class:`ValueError` naming the value.
    """
    if isinstance(score_text, bool) or score_text is None:
        raise ValueError(_("{value!r} is not a grade (a number, or 优/良/中/及格/不及格)").format(value=score_text))
    if isinstance(score_text, (int, float)):
        number = float(score_text)
    else:
        text = _fold(str(score_text))
        if text in _PASSING:
            return True
        if text in _FAILING:
            return False
        if not _NUMBER.match(text):
            raise ValueError(_("{value!r} is not a grade (a number, or 优/良/中/及格/不及格)").format(value=score_text))
        number = float(text)
    if not math.isfinite(number) or number < 0:
        raise ValueError(_("{value!r} is not a grade (a number, or 优/良/中/及格/不及格)").format(value=score_text))
    return number >= PASS_MARK


# --------------------------------------------------------------------------- places and terms

_CANTEEN_WORDS = ("食堂", "餐厅", "饭堂", "canteen", "dining")


def is_canteen(place: Any) -> bool:
    """Whether a card transaction's place (商户/地点) is a canteen: 一食堂, 清真餐厅, 学生饭堂…"""
    if place is None:
        return False
    text = _fold(str(place)).casefold()
    return any(word in text for word in _CANTEEN_WORDS)


_TERM_WORDS = str.maketrans({"一": "1", "二": "2", "三": "3", "四": "4", "上": "1", "下": "2", "春": "1", "夏": "2", "秋": "3", "冬": "4"})


@lru_cache(maxsize=4096)
def term_key(term: str) -> tuple:
    """Orders terms as they follow each other: ``2025-2026-1`` < ``2025-2026-2`` < ``2026-2027-1``.

    The numbers in the term are compared in order (第一学期, 上/下学期 and 春/夏/秋
    become numbers too), then the text itself.
    """
    text = unicodedata.normalize("NFKC", str(term)).translate(_TERM_WORDS)
    return (tuple(int(n) for n in re.findall(r"\d+", text)), str(term))
