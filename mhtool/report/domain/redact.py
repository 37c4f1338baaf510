"""De-identifying a report for a copy that leaves the center (``--redact``, 脱敏).

Pure. :func:`redact_report` turns a report into one that names nobody:

- **Dropped**, not masked: every column and form field marked ``pii`` (the
  student's name and number), and those of :data:`DROPPED_KEYS` — 班级, 宿舍,
  专业, phone numbers, guardians, special groups, hospital, diagnosis,
  medication and the hospital's advice. A masked name such as ``张*丰`` next
  to a masked number ``2024****34`` and a class still points at one student
  of the roster, so nothing of them is kept.
- **Masked** in every free text (cells, notes, titles, sheet names, chart
  titles, form labels, the report's meta): every name the store knows
  (:class:`KnownPeople`: students, guardians, advisors, staff login and display
  names, by the whole roster, not only the students listed), student numbers,
  dorms, classes and hospitals, and by pattern every phone number, ID-card
  number, dorm address and long number. A name becomes a bracketed word
  (``[学生]``, ``[家长]``), a staff member their role title (``咨询师``).
- **Left out of free text**: the segments of a timeline summary that carry a
  diagnosis, medication, the hospital's advice or a hospital (``是否服药：是``).
- **Coarsened, withheld or refused**: a table that lists persons must be
  k-anonymous on what is left (:mod:`mhtool.report.domain.kanon`), rows that
  cannot be are withheld; a form about one person must resemble at least k
  students of the store, or the report is refused.

What it cannot do: mask a name the store does not know, or notice that a free
text identifies someone by what it tells (室友 who found them, the day of an
event). docs/reports.md ("What --redact guarantees") says so to the reader.

Partial masks (``张*丰``, ``2024****34``) are not used: next to a class or a
dorm they still identify.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from mhtool.domain.document import Column, FormField, FormText, Report, Sheet
from mhtool.domain.labels import label, pick, text
from mhtool.domain.vocabulary import LEVELS
from mhtool.i18n import _
from mhtool.report.domain import kanon
from mhtool.report.domain.kanon import K_ANONYMITY, QUASI_IDENTIFIERS

# Shorter known strings are not looked for in free text: one character is part of too many words.
_MIN_KNOWN = 2

# Columns and form fields a redacted copy leaves out entirely. Finer places than
# the college (class, major, dorm, and the advisor, who has a few classes) single a
# student out among a few dozen; contact details and clinical facts are never for
# a copy that leaves the center.
DROPPED_KEYS = frozenset(
    {
        "student_no",
        "name",
        "class_name",
        "dorm",
        "major",
        "advisor",
        "phone",
        "advisor_phone",
        "guardians",
        "groups",
        "tags",
        "hospital",
        "hospital_phone",
        "hospital_address",
        "department",
        "diagnosis",
        "icd10",
        "advice",
        "advice_detail",
        "medication",
        "certificate",
    }
)

# Columns and fields that hold staff by name: shown by role title. The value is
# the title shown when the name is not a known staff member's (typed by hand).
STAFF_KEYS: dict[str, str] = {
    "counselor": "role:counselor",
    "author": "staff",
    "reported_by": "staff",
    "reporter": "staff",
    "involved": "staff",
    "interviewer": "staff",
    "responsible": "staff",
    "created_by": "staff",
    "assessed_by": "staff",
}
_DROPPED_META = frozenset({"student", "student_id", "student_no"})
_STAFF_SPLIT = re.compile(r"\s*[、,，;；/]\s*")

# The labels that start a clinical segment of a timeline summary (``是否服药：是``),
# as referral steps and status changes write them.
_CLINICAL_FIELDS = ("diagnosis", "icd10", "advice", "advice_detail", "medication", "hospital", "hospital_phone", "hospital_address", "department")
_SEGMENT_SPLIT = re.compile(r"(；|; |;)")

# ----------------------------------------------------------------------------- patterns

# 18-digit (17 + check digit X) and 15-digit ID-card numbers, with or without spaces between the parts.
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(?:\d{6}[ -]?\d{8}[ -]?\d{3}[0-9Xx]|\d{15})(?![0-9A-Za-z])")
# Mainland mobiles (138 0013 8000, +86-13800138000) and landlines with an area code (010-12345678, (0755)8888 1234).
_PHONE = re.compile(
    r"(?<![0-9])(?:"
    r"(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}"
    r"|(?:[(（]0\d{2,3}[)）]|0\d{2,3})[ -]?\d{3,4}[ -]?\d{4}"
    r")(?![0-9])"
)
_BUILDING = r"(?:\d{1,3}|[A-Za-z]|[一二三四五六七八九十]{1,3})\s*"
_AREA = r"(?:(?:[东西南北中]区|[\u4e00-\u9fff]{1,2}(?:校区|苑|园|公寓))\s*)?"
_ROOM = r"\s*[-－—]?\s*\d{3,4}(?:\s*(?:室|房间|房|寝室|宿舍|号))?"
# Dorm addresses: 3号楼502, 东区5栋302室, 桃园6舍305, 西区3-402, 宿舍302, and a building alone (5栋).
_DORM = re.compile(
    r"(?:"
    rf"{_AREA}{_BUILDING}(?:号楼|号公寓|栋|幢|号舍|舍|座|楼)(?:\s*\d{{1,2}}\s*单元)?{_ROOM}"
    rf"|{_AREA}{_BUILDING}(?:号楼|号公寓|栋|幢|号舍)"
    rf"|{_AREA}(?<![0-9\-－—])\d{{1,2}}\s*[-－—]\s*\d{{3,4}}(?![0-9\-－—])(?!\s*(?:分|次|天|人|名|元|%|％|岁|小时|周|个|页|题|条|项|mg|ml))"
    r"|(?:宿舍|寝室)\s*[:：]?\s*[A-Za-z]?\d{3,4}(?![0-9])"
    r")"
)
# What is left of long numbers (student numbers not in the store, QQ numbers, card numbers).
_LONG_NUMBER = re.compile(r"(?<![0-9])\d{8,}(?![0-9])")








# ----------------------------------------------------------------------------- what the store knows


def _clean(values: Iterable[Any]) -> frozenset[str]:
    return frozenset(s for v in values if v is not None and len(s := str(v).strip()) >= _MIN_KNOWN)


@dataclass(frozen=True)
class KnownPeople:
    """Everything the store knows that names or places a person, for masking free text.

    ``staff`` maps a login or display name to the staff member's role code.
    ``population`` holds every student's quasi-identifiers (``college``,
    ``grade``, ``gender``, ``level``), against which a form about one student
    is checked.
    """

    students: frozenset[str] = frozenset()
    guardians: frozenset[str] = frozenset()
    advisors: frozenset[str] = frozenset()
    staff: Mapping[str, str] = field(default_factory=dict)
    student_numbers: frozenset[str] = frozenset()
    dorms: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    hospitals: frozenset[str] = frozenset()
    population: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        for name in ("students", "guardians", "advisors", "student_numbers", "dorms", "classes", "hospitals"):
            object.__setattr__(self, name, _clean(getattr(self, name)))
        staff = {str(k).strip(): str(v) for k, v in dict(self.staff).items() if k is not None and len(str(k).strip()) >= _MIN_KNOWN}
        object.__setattr__(self, "staff", staff)
        object.__setattr__(self, "population", tuple(self.population))

    @classmethod
    def from_records(cls, students: Iterable[Mapping], staff: Iterable[Mapping] = (), hospitals: Iterable[Mapping] = ()) -> KnownPeople:
        """From student records (with their ``guardians``), staff rows (``name``, ``display_name``, ``role``) and hospitals."""
        students = list(students)
        staff_names: dict[str, str] = {}
        for row in staff:
            for key in ("name", "display_name"):
                if row.get(key):
                    staff_names[str(row[key])] = str(row.get("role") or "")
        return cls(
            students=(s.get("name") for s in students),
            guardians=(g.get("name") for s in students for g in s.get("guardians") or [] if isinstance(g, Mapping)),
            advisors=(s.get("advisor") for s in students),
            staff=staff_names,
            student_numbers=(s.get("student_no") for s in students),
            dorms=(s.get("dorm") for s in students),
            classes=(s.get("class_name") for s in students),
            hospitals=(h.get("name") for h in hospitals),
            population=tuple({q: s.get(q) for q in QUASI_IDENTIFIERS} for s in students),
        )


# ----------------------------------------------------------------------------- free text


def _token(code: str, lang: str) -> str:
    return label("redact_token", code, lang)


def _staff_title(role_or_token: str, lang: str) -> str:
    if role_or_token.startswith("role:"):
        return label("role", role_or_token[5:], lang)
    return _token(role_or_token, lang)


class _Literals:
    """Longest-first replacement of many known strings in one left-to-right pass.

    A regular expression of thousands of alternatives would try each at every
    position; looking up the substrings that start at a position, by the few
    lengths the names have, is linear in the text.
    """

    def __init__(self, table: dict[str, str]):
        self.table = table
        self.lengths = sorted({len(k) for k in table}, reverse=True)
        self.first = {k[0] for k in table}

    def sub(self, s: str) -> str:
        if not self.table:
            return s
        out: list[str] = []
        i, n = 0, len(s)
        while i < n:
            if s[i] in self.first:
                for size in self.lengths:
                    if i + size > n:
                        continue
                    found = self.table.get(s[i : i + size])
                    if found is not None and _bounded(s, i, i + size):
                        out.append(found)
                        i += size
                        break
                else:
                    out.append(s[i])
                    i += 1
            else:
                out.append(s[i])
                i += 1
        return "".join(out)


def _bounded(s: str, start: int, end: int) -> bool:
    """A known string that begins or ends with a letter or digit must not run into more of them (``li`` in ``list``)."""
    inner_start, inner_end = s[start], s[end - 1]
    if inner_start.isascii() and inner_start.isalnum() and start > 0 and s[start - 1].isascii() and (s[start - 1].isalnum() or s[start - 1] == "_"):
        return False
    if inner_end.isascii() and inner_end.isalnum() and end < len(s) and s[end].isascii() and (s[end].isalnum() or s[end] == "_"):
        return False
    return True


def _clinical_prefixes() -> tuple[str, ...]:
    out = []
    for lang in ("zh", "en"):
        colon = label("referral_text", "colon", lang)
        for key in _CLINICAL_FIELDS:
            out.append(f"{label('referral_field', key, lang)}{colon}")
            out.append(f"{label('referral_field', key, lang)}:")
        out.append(label("entry_text", "certificate", lang).split("{}")[0])
    return tuple(p for p in dict.fromkeys(out) if p.strip())


class Scrubber:
    """Masks what :class:`KnownPeople` and the patterns find in one free text, in the report's language."""

    def __init__(self, known: KnownPeople | None, lang: str):
        known = known or KnownPeople()
        self.lang = lang
        table: dict[str, str] = {}
        # Later kinds do not replace earlier ones: a student who shares a name with
        # a staff member is masked as a student.
        for values, token in (
            (known.student_numbers, _token("student_no", lang)),
            (known.students, _token("student", lang)),
            (known.guardians, _token("guardian", lang)),
            (known.dorms, _token("dorm", lang)),
            (known.classes, _token("class_name", lang)),
            (known.hospitals, _token("hospital", lang)),
            (known.advisors, _token("advisor", lang)),
        ):
            for v in values:
                table.setdefault(v, token)
        # In a staff column a name is a staff member's, even when a student shares it.
        self.staff = {v: _token("advisor", lang) for v in known.advisors}
        self.staff.update({name: label("role", role, lang) if role else _token("staff", lang) for name, role in known.staff.items()})
        for name, title in self.staff.items():
            table.setdefault(name, title)
        self.literals = _Literals(table)
        self.clinical = _clinical_prefixes()
        self.tokens = {c: _token(c, lang) for c in ("phone", "id_card", "dorm", "number")}

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        s = self._drop_clinical(value)
        s = _ID_CARD.sub(self.tokens["id_card"], s)
        s = _PHONE.sub(self.tokens["phone"], s)
        s = self.literals.sub(s)
        s = _DORM.sub(self.tokens["dorm"], s)
        return _LONG_NUMBER.sub(self.tokens["number"], s)

    def _drop_clinical(self, s: str) -> str:
        if not any(p in s for p in self.clinical):
            return s
        parts = _SEGMENT_SPLIT.split(s)
        segments, seps = parts[0::2], parts[1::2]
        kept: list[str] = []
        for i, seg in enumerate(segments):
            if seg.strip().startswith(self.clinical):
                continue
            if kept:
                kept.append(seps[i - 1])
            kept.append(seg)
        return "".join(kept)

    def staff_cell(self, value: Any, default: str) -> Any:
        """A staff column's value by role titles: each known name its role, any other name ``default``'s title."""
        if not isinstance(value, str) or not value.strip():
            return value
        titles = []
        for part in _STAFF_SPLIT.split(value.strip()):
            if part:
                titles.append(self.staff.get(part) or _staff_title(default, self.lang))
        return "、".join(dict.fromkeys(titles))


# ----------------------------------------------------------------------------- the report


def redact_report(
    report: Report,
    known: KnownPeople | None = None,
    *,
    name_keys: Iterable[str] = (),
    student_no_keys: Iterable[str] = (),
    k: int = K_ANONYMITY,
) -> Report:
    """A copy of ``report`` that names nobody, or :class:`~mhtool.report.domain.kanon.NotAnonymous`.

    Columns and form fields marked ``pii`` (or whose key is in ``name_keys`` /
    ``student_no_keys``) and those of :data:`DROPPED_KEYS` are left out; staff
    columns show role titles; every other text is masked with what ``known``
    holds and the patterns; tables that list persons are made ``k``-anonymous
    on the quasi-identifiers they keep. The copy's ``meta["redacted"]`` is
    ``True``; ``report`` is left unchanged.
    """
    lang = report.lang
    extra_pii = set(name_keys) | set(student_no_keys)

    def is_pii(key: str, declared: str | None) -> bool:
        return bool(declared) or key in extra_pii

    scrub = Scrubber(known, lang)
    population = known.population if known is not None else ()
    sheets = [
        _redact_form(sheet, scrub, is_pii, population, k) if sheet.kind == "form" else _redact_table(sheet, scrub, is_pii, k)
        for sheet in report.sheets
    ]
    # The student's record id would link every redacted copy about them to each other.
    meta = _scrub_tree({k: v for k, v in report.meta.items() if k not in _DROPPED_META}, scrub)
    meta["redacted"] = True
    return dataclasses.replace(report, title_zh=scrub(report.title_zh), title_en=scrub(report.title_en), sheets=sheets, meta=meta)


def _scrubbed_header(col: Column, scrub: Scrubber) -> Column:
    return dataclasses.replace(col, header_zh=scrub(col.header_zh), header_en=scrub(col.header_en))


def _redact_table(sheet: Sheet, scrub: Scrubber, is_pii: Callable[[str, str | None], bool], k: int) -> Sheet:
    lang = scrub.lang
    lists_persons = any(is_pii(c.key, c.pii) or c.key in ("name", "student_no") for c in sheet.columns)
    keep = [i for i, c in enumerate(sheet.columns) if not is_pii(c.key, c.pii) and c.key not in DROPPED_KEYS]
    columns = [_scrubbed_header(sheet.columns[i], scrub) for i in keep]

    def cells(row: list, *, total: bool) -> list:
        out = []
        for i, col in zip(keep, columns):
            v = row[i]
            if col.key in STAFF_KEYS and not total:
                v = scrub.staff_cell(v, STAFF_KEYS[col.key])
            elif isinstance(v, str) and (total or (col.kind == "text" and col.key not in QUASI_IDENTIFIERS)):
                v = scrub(v)
            out.append(v)
        return out

    rows = [cells(r, total=False) for r in sheet.rows]
    total = None if sheet.total_row is None else cells(sheet.total_row, total=True)
    if total is not None and columns and total[0] is None:
        # The 合计 label stood in a column that is left out: it moves to the first one kept.
        total[0] = next((v for i, v in enumerate(sheet.total_row) if i not in keep and isinstance(v, str)), None)
    notes = [scrub(n) for n in sheet.notes]
    name_zh, name_en = scrub(sheet.name_zh), scrub(sheet.name_en)

    if lists_persons:
        keys = [c.key for c in columns]
        coarse = kanon.anonymise_rows(keys, rows, k=k)
        rows = [[_shown(v, lang) for v in r] for r in coarse.rows]
        if "level" in keys and any(r[keys.index("level")] == kanon.WATCHED for r in rows):
            j = keys.index("level")
            columns[j] = _coarse_level_column(columns[j])
        if coarse.dropped:
            gone = [i for i, key in enumerate(keys) if key in coarse.dropped]
            columns = [c for i, c in enumerate(columns) if i not in gone]
            rows = [[v for i, v in enumerate(r) if i not in gone] for r in rows]
            if total is not None:
                total = [v for i, v in enumerate(total) if i not in gone]
        if coarse.rungs:
            notes.append(_coarsened_note([r for r in coarse.rungs if r != "suppress"], k, lang, suppressed=coarse.suppressed))

    kept_keys = {c.key for c in columns}
    charts = [
        dataclasses.replace(ch, title_zh=scrub(ch.title_zh), title_en=scrub(ch.title_en))
        for ch in sheet.charts
        if ch.category_column in kept_keys and all(s in kept_keys for s in ch.series_columns)
    ]
    return dataclasses.replace(
        sheet,
        name_zh=name_zh,
        name_en=name_en,
        title_zh=scrub(sheet.title_zh),
        title_en=scrub(sheet.title_en),
        columns=columns,
        rows=rows,
        total_row=total,
        charts=charts,
        notes=notes,
    )


def _redact_form(sheet: Sheet, scrub: Scrubber, is_pii: Callable[[str, str | None], bool], population, k: int) -> Sheet:
    lang = scrub.lang
    items: list = []
    identifiers: dict[str, Any] = {}
    for item in sheet.form:
        if isinstance(item, FormField):
            if is_pii(item.key, item.pii) or item.key in DROPPED_KEYS:
                continue
            item = dataclasses.replace(item, label_zh=scrub(item.label_zh), label_en=scrub(item.label_en))
            if item.key in STAFF_KEYS:
                item = dataclasses.replace(item, value=scrub.staff_cell(item.value, STAFF_KEYS[item.key]))
            elif item.key in QUASI_IDENTIFIERS:
                identifiers[item.key] = item.value
            elif item.kind == "text":
                item = dataclasses.replace(item, value=scrub(item.value))
        elif isinstance(item, FormText):
            item = dataclasses.replace(item, text=scrub(item.text))
        items.append(item)
    notes = [scrub(n) for n in sheet.notes]
    name_zh, name_en = scrub(sheet.name_zh), scrub(sheet.name_en)
    if identifiers:
        coarse = kanon.anonymise_person(identifiers, population, k=k, what=_("sheet {name!r}").format(name=pick(lang, name_zh, name_en)))
        shown = dict(zip(QUASI_IDENTIFIERS, coarse.rows[0]))
        out = []
        for item in items:
            if isinstance(item, FormField) and item.key in identifiers:
                if item.key in coarse.dropped:
                    continue
                if shown[item.key] == kanon.WATCHED:
                    item = dataclasses.replace(item, value=_token("watched", lang), kind="text")
            out.append(item)
        items = out
        if coarse.rungs:
            notes.append(_coarsened_note(coarse.rungs, k, lang))
    return dataclasses.replace(sheet, name_zh=name_zh, name_en=name_en, title_zh=scrub(sheet.title_zh), title_en=scrub(sheet.title_en), form=items, notes=notes)


def _shown(value: Any, lang: str) -> Any:
    return _token("other", lang) if value == kanon.OTHER else value


def _coarse_level_column(col: Column) -> Column:
    """The level column as codes, so a merged level reads 关注 (and its JSON value is ``watched``)."""
    labels = tuple((lv, label("level", lv, "zh"), label("level", lv, "en")) for lv in LEVELS)
    labels += ((kanon.WATCHED, label("redact_token", "watched", "zh"), label("redact_token", "watched", "en")),)
    return dataclasses.replace(col, kind="code", labels=labels)


def _coarsened_note(rungs: list[str], k: int, lang: str, *, suppressed: int = 0) -> str:
    sep = label("redact_rung", "separator", lang)
    shown = [label("redact_rung", r, lang) for r in rungs]
    if suppressed:
        shown.append(text("redact_suppressed", lang, n=suppressed))
    return text("redact_coarsened", lang, others=k - 1, rungs=sep.join(shown))


def _scrub_tree(value: Any, scrub: Callable[[Any], Any]) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrub_tree(v, scrub) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub_tree(v, scrub) for v in value)
    return value


__all__ = ["DROPPED_KEYS", "STAFF_KEYS", "KnownPeople", "Scrubber", "redact_report"]
