"""The 多源预警 rules: their definition file, its validation, and evaluation over a student's facts.

The thresholds, windows, names and explaining sentences are data (``rules.toml``
beside this module); a store overrides any of them (:func:`rules_in_force`), and
every file is validated when it is read: a mistake is a :class:`RuleDefinitionError`
(an :class:`~mhtool.errors.InvalidInput`, exit 3) naming the file, the rule and the
key. What each rule counts is code, defined here.

Evaluation (:func:`evaluate`) is pure: it looks at the facts as of a day passed in
(the last day the imported data covers, or ``--as-of``), never at the clock, so
running it again on the same facts gives the same hits. "The N days ending D" are
the days D-N+1 … D, both included. A rule is evaluated only when the student has
facts of its source.

``dorm_out`` 未归寝
    The nights D in the ``window_days`` (7) ending on the as-of day whose fact is 1
    (out), leaving out every D in ``context.away_days`` (休学 or marked away). A hit
    when at least ``threshold`` (2) nights remain; it is dated the last of them.
    Facts: ``nights`` (the days), ``count``, ``window`` [first, last], ``threshold``,
    ``left_out`` (nights out not counted because the student was away).

``meals_drop`` 就餐骤减
    Let W be the ``window_days`` (14) ending on the as-of day and B1 … Bk the k =
    ``baseline_blocks`` (4) blocks of the same length right before it (B1 ends the day
    before W starts; 4 × 14 days = the previous 8 weeks). A block's count is the
    student's canteen meals on its days (a day without a fact counts 0). A day is
    *covered* when the school's card data has it (``context.school_card["days"]``: the
    card files imported held canteen meals that day) and the student is not away that
    day. The rule needs W and all k baseline blocks fully covered (every day), and a
    baseline median (of the k block counts; the mean of the two middle ones for even
    k) above 0; without that baseline there is no hit. A hit when the meals in W are
    below ``below_percent`` (40) % of that median, compared exactly: 40 % is not a
    hit. Dated the as-of day. Facts: ``window``, ``meals``, ``baseline`` (each block's
    ``first``, ``last``, ``meals``, oldest first), ``median``, ``percent`` (meals as a
    percentage of the median, rounded down to 1 decimal), ``below_percent``.

``hidden_hardship`` 隐性困难
    Over the ``window_days`` (30) ending on the as-of day: the student's canteen meals
    m and spend s (cents), and the school's median spend per meal, the median of the
    school's daily medians on those days that the card data covers. A hit when m ≥
    ``min_meals`` (40; exactly 40 qualifies) and s / m is below ``below_percent`` (45)
    % of the school median, compared exactly: 45 % is not a hit. No school data in the
    window, no hit. Dated the as-of day. It is a 隐性资助 hint for the 资助 office, not a
    mental-health label, and its sentence says so. Facts: ``window``, ``meals``,
    ``spend_cents``, ``average_cents``, ``school_median_cents``, ``school_days``,
    ``percent`` (rounded down to 1 decimal), ``below_percent``, ``min_meals``.

``first_fail`` 首次挂科
    A course is failed in the term of its earliest failed result (正常, 补考 or 重修; a
    later failed 补考/重修 of the same course is the same failure, not a new one). A hit
    when every failed course of the record was failed in one term, i.e. there is no
    failure in an earlier term and no new failed course in a later one: a second
    failed course in a later term ends the rule for good. Dated the as-of day. Facts:
    ``term``, ``courses`` (course, credits, score, kind), ``count``, ``credits``.

``academic_warning`` 学业预警
    A course counts as failed in a term when it has a failed result in that term and
    no passed one (a 补考 passed in the same term clears it); failed credits of a term
    are the credits of those courses, each once. A hit for the latest term whose
    failed credits are at or above ``threshold`` (10). Dated the as-of day. Facts:
    ``term``, ``failed_credits``, ``threshold``, ``courses``, ``count``.

``credits_short`` 毕业欠学分
    Only for a final-year student (``context.final_year``): earned credits are the
    credits of the courses with a passed result, each course (by name) once. A hit
    when they are below ``context.credits_required``, or the rule's
    ``credits_required`` (160) when the store sets none. Dated the as-of day. Facts:
    ``earned``, ``required``, ``short``.

A rule hits at most once per evaluation; the academic rules name the term their hit
is about, so the same term hit again on a later day has the same ``facts``.
"""

from __future__ import annotations

import math
import string
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, NoReturn

from mhtool.domain.labels import pick, text
from mhtool.errors import InvalidInput
from mhtool.i18n import N_, _, joined
from mhtool.signals.domain.facts import Hit, StudentContext, passed, term_key

BUILTIN_PATH = Path(__file__).with_name("rules.toml")

COMMON_KEYS = ("name", "name_en", "source", "enabled", "review_days", "explain", "explain_en")


@dataclass(frozen=True)
class _Param:
    kind: str  # "int" | "number"
    lo: float  # integers: the lowest allowed; numbers: the value must be above it
    hi: float  # the highest allowed


@dataclass(frozen=True)
class RuleSpec:
    """What the code of one rule reads: its source, its parameters and the fields of its sentence."""

    source: str
    params: Mapping[str, _Param]
    fields: tuple[str, ...]


_WINDOW = _Param("int", 1, 366)
_PERCENT = _Param("number", 0, 100)

SPECS: dict[str, RuleSpec] = {
    "dorm_out": RuleSpec(
        "dorm",
        {"window_days": _WINDOW, "threshold": _Param("int", 1, 366)},
        ("first", "last", "days", "count", "threshold", "nights", "last_night"),
    ),
    "meals_drop": RuleSpec(
        "card",
        {"window_days": _WINDOW, "baseline_blocks": _Param("int", 1, 52), "below_percent": _PERCENT},
        ("first", "last", "days", "meals", "median", "percent", "below_percent", "baseline_first", "baseline_last", "baseline"),
    ),
    "hidden_hardship": RuleSpec(
        "card",
        {"window_days": _WINDOW, "min_meals": _Param("int", 1, 100_000), "below_percent": _PERCENT},
        ("first", "last", "days", "meals", "spend", "average", "school_median", "percent", "below_percent", "min_meals"),
    ),
    "first_fail": RuleSpec("academic", {}, ("term", "courses", "count", "credits")),
    "academic_warning": RuleSpec(
        "academic",
        {"threshold": _Param("number", 0, 1000)},
        ("term", "courses", "count", "failed_credits", "threshold"),
    ),
    "credits_short": RuleSpec("academic", {"credits_required": _Param("number", 0, 1000)}, ("earned", "required", "short")),
}

CODES = tuple(SPECS)


class RuleDefinitionError(InvalidInput):
    """A rules file (or a store's override) is not valid; the message names the file, the rule and the key."""


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Rule:
    """One validated rule: its code, names, source, parameters and sentences."""

    code: str
    name: str
    name_en: str
    source: str
    enabled: bool
    review_days: int
    explain: str
    explain_en: str
    params: Mapping[str, int | float] = field(default_factory=dict)

    @property
    def window_days(self) -> int | None:
        return self.params.get("window_days")  # type: ignore[return-value]

    def label(self, lang: str = "zh") -> str:
        return pick(lang, self.name, self.name_en)

    def as_dict(self) -> dict:
        """The rule as in the file (``code`` added), in file order: JSON for ``signals rules``."""
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "source": self.source,
            "enabled": self.enabled,
            **dict(self.params),
            "review_days": self.review_days,
            "explain": self.explain,
            "explain_en": self.explain_en,
        }


class RuleSet(Mapping[str, Rule]):
    """The rules in force, by code, in definition order."""

    def __init__(self, rules: Iterable[Rule]):
        self._rules = {r.code: r for r in rules}

    def __getitem__(self, code: str) -> Rule:
        return self._rules[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RuleSet) and list(self._rules.values()) == list(other._rules.values())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RuleSet({list(self._rules)})"

    @property
    def enabled(self) -> tuple[Rule, ...]:
        return tuple(r for r in self._rules.values() if r.enabled)

    def as_list(self) -> list[dict]:
        return [r.as_dict() for r in self._rules.values()]

    def as_toml(self) -> str:
        """The rules as a TOML file of the ``rules.toml`` shape (a starting point for an override)."""
        lines: list[str] = []
        for rule in self._rules.values():
            if lines:
                lines.append("")
            lines.append(f"[{rule.code}]")
            for key, value in rule.as_dict().items():
                if key != "code":
                    lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


# --------------------------------------------------------------------------- validation

_TYPE_NAMES = {dict: N_("a table"), list: N_("an array"), str: N_("a string"), bool: N_("a boolean"), int: N_("an integer"), float: N_("a float")}


def _tname(x: Any) -> str:
    name = _TYPE_NAMES.get(type(x))
    return _(name) if name is not None else type(x).__name__


def _hint() -> str:
    return _("fix the rules file; `mhtool signals rules` shows the rules in force")


class _Reader:
    """Checks one rules document; every failure names where it came from and the key."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, key: str | None, message: str) -> NoReturn:
        text = f"{self.where}: {key}: {message}" if key else f"{self.where}: {message}"
        raise RuleDefinitionError(text, hint=_hint())

    def table(self, data: Any, key: str | None, allowed: Iterable[str]) -> Mapping:
        if not isinstance(data, Mapping):
            self.fail(key, _("must be a table, not {type}").format(type=_tname(data)))
        allowed = list(allowed)
        for k in data:
            if k not in allowed:
                self.fail(f"{key}.{k}" if key else str(k), _("unknown key (allowed here: {allowed})").format(allowed=", ".join(allowed)))
        return data

    def string(self, data: Any, key: str) -> str:
        if not isinstance(data, str) or not data.strip():
            self.fail(key, _("must be a non-empty string, not {type}").format(type=_tname(data)))
        return data

    def boolean(self, data: Any, key: str) -> bool:
        if not isinstance(data, bool):
            self.fail(key, _("must be true or false, not {type}").format(type=_tname(data)))
        return data

    def integer(self, data: Any, key: str, lo: float, hi: float) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail(key, _("must be an integer, not {type}").format(type=_tname(data)))
        if data < lo:
            self.fail(key, _("{value} is below {lowest}").format(value=data, lowest=_num_text(lo)))
        if data > hi:
            self.fail(key, _("{value} is above {highest}").format(value=data, highest=_num_text(hi)))
        return data

    def number(self, data: Any, key: str, above: float, hi: float) -> int | float:
        if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
            self.fail(key, _("must be a number, not {type}").format(type=_tname(data)))
        if data <= above:
            self.fail(key, _("{value} must be above {lowest}").format(value=data, lowest=_num_text(above)))
        if data > hi:
            self.fail(key, _("{value} is above {highest}").format(value=data, highest=_num_text(hi)))
        return data

    def template(self, data: Any, key: str, fields: tuple[str, ...]) -> str:
        text = self.string(data, key)
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            self.fail(key, _("not a valid sentence template: {error}").format(error=exc))
        for _literal, name, spec, conversion in parsed:
            if name is None:
                continue
            if name not in fields:
                self.fail(
                    key,
                    _("unknown field {field} (fields here: {fields})").format(
                        field="{" + name + "}", fields=" ".join("{" + f + "}" for f in fields)
                    ),
                )
            if spec or conversion:
                self.fail(key, _("write the field as {field}, without a format or conversion").format(field="{" + name + "}"))
        return text


def parse_rules(doc: Any, where: str, *, base: RuleSet | None = None) -> RuleSet:
    """Validate a parsed rules document and build the :class:`RuleSet`.

    Without ``base`` the document must define every rule completely (the built-in
    file). With ``base`` it is an override: each key given replaces the base rule's
    value, everything else stays. ``where`` names the file (or setting) in errors.
    """
    r = _Reader(where)
    r.table(doc, None, CODES)
    rules: list[Rule] = []
    for code, spec in SPECS.items():
        allowed = COMMON_KEYS[:5] + tuple(spec.params) + COMMON_KEYS[5:]
        given = doc.get(code)
        if given is None:
            if base is None:
                r.fail(code, _("is required"))
            rules.append(base[code])
            continue
        r.table(given, code, allowed)
        if base is None:
            for k in allowed:
                if k not in given:
                    r.fail(f"{code}.{k}", _("is required"))
            data = dict(given)
        else:
            data = {**base[code].as_dict(), **given}
        rules.append(_parse_rule(r, code, spec, data))
    return RuleSet(rules)


def _parse_rule(r: _Reader, code: str, spec: RuleSpec, data: Mapping[str, Any]) -> Rule:
    name = r.string(data["name"], f"{code}.name")
    name_en = r.string(data["name_en"], f"{code}.name_en")
    source = data["source"]
    if source != spec.source:
        r.fail(f"{code}.source", _("this rule reads {expected} facts, not {value!r}").format(expected=spec.source, value=source))
    enabled = r.boolean(data["enabled"], f"{code}.enabled")
    review_days = r.integer(data["review_days"], f"{code}.review_days", 0, 365)
    params: dict[str, int | float] = {}
    for key, p in spec.params.items():
        if p.kind == "int":
            params[key] = r.integer(data[key], f"{code}.{key}", p.lo, p.hi)
        else:
            params[key] = r.number(data[key], f"{code}.{key}", p.lo, p.hi)
    if code == "dorm_out" and params["threshold"] > params["window_days"]:
        r.fail(
            f"{code}.threshold",
            _("{value} nights do not fit in window_days = {days}").format(value=params["threshold"], days=params["window_days"]),
        )
    explain = r.template(data["explain"], f"{code}.explain", spec.fields)
    explain_en = r.template(data["explain_en"], f"{code}.explain_en", spec.fields)
    return Rule(code, name, name_en, source, enabled, review_days, explain, explain_en, MappingProxyType(params))


def read_toml(path: str | Path) -> dict:
    """Parse a TOML file; an unreadable or malformed file is a :class:`RuleDefinitionError` naming it."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise RuleDefinitionError(_("{path}: not valid TOML: {error}").format(path=path, error=exc), hint=_("fix the file's syntax")) from None
    except OSError as exc:
        raise RuleDefinitionError(_("{path}: cannot read: {reason}").format(path=path, reason=exc.strerror or exc)) from None


def load_rules(path: str | Path, *, base: RuleSet | None = None) -> RuleSet:
    """Read and validate a rules file: complete without ``base``, an override of ``base`` with it."""
    return parse_rules(read_toml(path), str(path), base=base)


@lru_cache(maxsize=1)
def default_rules() -> RuleSet:
    """The built-in rules (``rules.toml`` beside this module)."""
    return load_rules(BUILTIN_PATH)


def read_override(path: str | Path) -> dict:
    """A store's override file, validated against the built-in rules; returns the document to keep.

    For ``mhtool settings signal-rules FILE``: the plain dict returned is what the
    store saves, and :func:`rules_in_force` turns it back into rules.
    """
    doc = read_toml(path)
    parse_rules(doc, str(path), base=default_rules())
    return doc


def rules_in_force(overrides: Mapping[str, Any] | None = None, *, where: str = "signal_rules") -> RuleSet:
    """The built-in rules with a store's override (its ``signal_rules`` setting) laid over them."""
    if not overrides:
        return default_rules()
    return parse_rules(overrides, where, base=default_rules())


# --------------------------------------------------------------------------- formatting


def _num_text(x: float | Fraction | Decimal) -> str:
    """150 → ``150``; 152.5 → ``152.5``; at most 2 decimals."""
    d = Decimal(str(float(x))) if not isinstance(x, Decimal) else x
    d = d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


def _num_json(x: float | Fraction) -> int | float:
    f = float(x)
    return int(f) if f.is_integer() else round(f, 2)


def _yuan(cents: float | Fraction) -> str:
    """Cents → yuan with 2 decimals (``365`` → ``3.65``)."""
    value = Decimal(Fraction(cents).numerator) / Decimal(Fraction(cents).denominator) / 100
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _percent(part: Fraction) -> Fraction:
    """A ratio as a percentage rounded down to 1 decimal (so a hit never shows the threshold itself)."""
    return Fraction(math.floor(part * 1000), 10)


def _percent_text(p: Fraction) -> str:
    return f"{float(p):.1f}"


def _exact(x: int | float | Fraction) -> Fraction:
    if isinstance(x, float):
        return Fraction(str(x))
    return Fraction(x)


def _course_text(c: Mapping, lang: str) -> str:
    score = c.get("score")
    kind = c.get("kind") or "正常"
    detail = str(score) if kind == "正常" else f"{kind} {score}"
    return text("course_detail", lang, course=c.get("course"), detail=detail)


def _hit(rule: Rule, on: str, facts: dict, fields: Callable[[str], dict[str, str]]) -> Hit:
    return Hit(
        rule=rule.code,
        source=rule.source,
        on=on,
        facts=facts,
        explanation=rule.explain.format(**fields("zh")),
        explanation_en=rule.explain_en.format(**fields("en")),
    )


# --------------------------------------------------------------------------- days


@lru_cache(maxsize=64)
def _day_range(first: date, last: date) -> tuple[str, ...]:
    """The ISO days ``first`` … ``last``, both included (cached: every student of an import shares them)."""
    return tuple((first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1))


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# --------------------------------------------------------------------------- dorm


def _dorm_out(rule: Rule, facts: Mapping, ctx: StudentContext, as_of: date) -> Hit | None:
    days = int(rule.params["window_days"])
    threshold = int(rule.params["threshold"])
    first = as_of - timedelta(days=days - 1)
    nights = facts.get("nights") or {}
    out = [d for d in _day_range(first, as_of) if nights.get(d) == 1]
    counted = [d for d in out if d not in ctx.away_days]
    left_out = [d for d in out if d in ctx.away_days]
    if len(counted) < threshold:
        return None
    window = [first.isoformat(), as_of.isoformat()]
    hit_facts = {"nights": counted, "count": len(counted), "window": window, "threshold": threshold, "left_out": left_out}

    def fields(lang: str) -> dict[str, str]:
        return {
            "first": window[0],
            "last": window[1],
            "days": str(days),
            "count": str(len(counted)),
            "threshold": str(threshold),
            "nights": joined(counted, lang),
            "last_night": counted[-1],
        }

    return _hit(rule, counted[-1], hit_facts, fields)


# --------------------------------------------------------------------------- card


def _meals_spend(days: Mapping, window: tuple[str, ...]) -> tuple[int, int]:
    """The student's canteen meals and spend (cents) over the days of ``window``."""
    meals = spend = 0
    for d in window:
        v = days.get(d)
        if v:
            meals += v[0]
            spend += v[1]
    return int(meals), int(spend)


def _median(values: list) -> Fraction:
    xs = sorted(_exact(v) for v in values)
    n = len(xs)
    mid = n // 2
    return xs[mid] if n % 2 else (xs[mid - 1] + xs[mid]) / 2


def _meals_drop(rule: Rule, facts: Mapping, ctx: StudentContext, as_of: date) -> Hit | None:
    n = int(rule.params["window_days"])
    k = int(rule.params["baseline_blocks"])
    below = _exact(rule.params["below_percent"])
    school_days = (ctx.school_card or {}).get("days") or {}
    days = facts.get("days") or {}

    def block(i: int) -> tuple[str, ...]:  # 0 = the window, 1 = the block right before it, …
        last = as_of - timedelta(days=n * i)
        return _day_range(last - timedelta(days=n - 1), last)

    blocks = [block(i) for i in range(k + 1)]
    if not _school_covers(school_days, blocks[-1][0], blocks[0][-1]):
        return None
    if ctx.away_days and any(d in ctx.away_days for b in blocks for d in b):
        return None
    counts = [_meals_spend(days, b)[0] for b in blocks]
    meals, baseline = counts[0], counts[1:]
    median = _median(baseline)
    if median <= 0 or not meals * 100 < below * median:
        return None
    percent = _percent(Fraction(meals) / median)
    window = [blocks[0][0], blocks[0][-1]]
    oldest_first = list(zip(blocks[1:], baseline))[::-1]
    hit_facts = {
        "window": window,
        "meals": meals,
        "baseline": [{"first": b[0], "last": b[-1], "meals": c} for b, c in oldest_first],
        "median": _num_json(median),
        "percent": float(percent),
        "below_percent": _num_json(below),
    }

    def fields(lang: str) -> dict[str, str]:
        return {
            "first": window[0],
            "last": window[1],
            "days": str(n),
            "meals": str(meals),
            "median": _num_text(median),
            "percent": _percent_text(percent),
            "below_percent": _num_text(below),
            "baseline_first": oldest_first[0][0][0],
            "baseline_last": oldest_first[-1][0][-1],
            "baseline": joined((str(c) for _b, c in oldest_first), lang),
        }

    return _hit(rule, as_of.isoformat(), hit_facts, fields)


# Whether the school's card data covers every day first … last, for the last school data and
# days asked (every student of an import shares them). Keyed by identity and size: the
# school's days are read, never changed in place, while an import is evaluated.
_cover_cache: list = [None, None, None]


def _school_covers(school_days: Mapping, first: str, last: str) -> bool:
    key = (first, last, len(school_days))
    if _cover_cache[0] is school_days and _cover_cache[1] == key:
        return _cover_cache[2]
    days = _day_range(date.fromisoformat(first), date.fromisoformat(last))
    result = all(d in school_days for d in days)
    _cover_cache[:] = [school_days, key, result]
    return result


# The school's median over a window, for the last school data and window asked (30,000
# students share one school and one as-of day in an import).
_school_cache: list = [None, None, None]


def _school_median(school_days: Mapping, window: tuple[str, str], days: tuple[str, ...]) -> tuple[Fraction, int] | None:
    key = (window, len(school_days))
    if _school_cache[0] is school_days and _school_cache[1] == key:
        return _school_cache[2]
    values = [school_days[d] for d in days if d in school_days and school_days[d] is not None]
    result = (_median(values), len(values)) if values else None
    _school_cache[:] = [school_days, key, result]
    return result


def _hidden_hardship(rule: Rule, facts: Mapping, ctx: StudentContext, as_of: date) -> Hit | None:
    n = int(rule.params["window_days"])
    min_meals = int(rule.params["min_meals"])
    below = _exact(rule.params["below_percent"])
    days = facts.get("days") or {}
    window_days = _day_range(as_of - timedelta(days=n - 1), as_of)
    meals, spend = _meals_spend(days, window_days)
    if meals < min_meals:
        return None
    school = _school_median((ctx.school_card or {}).get("days") or {}, (window_days[0], window_days[-1]), window_days)
    if school is None:
        return None
    school_median, school_count = school
    if school_median <= 0 or not spend * 100 < below * school_median * meals:
        return None
    average = Fraction(spend, meals)
    percent = _percent(average / school_median)
    window = [window_days[0], window_days[-1]]
    hit_facts = {
        "window": window,
        "meals": meals,
        "spend_cents": spend,
        "average_cents": round(float(average), 2),
        "school_median_cents": _num_json(school_median),
        "school_days": school_count,
        "percent": float(percent),
        "below_percent": _num_json(below),
        "min_meals": min_meals,
    }

    def fields(lang: str) -> dict[str, str]:
        return {
            "first": window[0],
            "last": window[1],
            "days": str(n),
            "meals": str(meals),
            "spend": _yuan(spend),
            "average": _yuan(average),
            "school_median": _yuan(school_median),
            "percent": _percent_text(percent),
            "below_percent": _num_text(below),
            "min_meals": str(min_meals),
        }

    return _hit(rule, as_of.isoformat(), hit_facts, fields)


# --------------------------------------------------------------------------- academic

_KIND_ORDER = {"正常": 0, "补考": 1, "重修": 2}


def _results(facts: Mapping) -> list[dict]:
    """The course results with a known pass/fail, in term order (正常 before 补考 before 重修).

    Each carries ``passed`` (a bool) and ``_c``, its credits in hundredths (an int, so
    sums are exact).
    """
    out = []
    for c in facts.get("courses") or []:
        ok = c.get("passed")
        if not isinstance(ok, bool):
            try:
                ok = passed(c.get("score"))
            except ValueError:
                continue
        try:
            centi = round(float(c.get("credits") or 0) * 100)
        except (TypeError, ValueError, OverflowError):
            centi = 0
        out.append({**c, "passed": ok, "_c": centi})
    out.sort(key=lambda c: (term_key(str(c.get("term", ""))), _KIND_ORDER.get(c.get("kind") or "正常", 3)))
    return out


def _credits(centi: int) -> Fraction:
    return Fraction(centi, 100)


def _course_facts(c: Mapping) -> dict:
    return {"course": c.get("course"), "credits": _num_json(_credits(c["_c"])), "score": c.get("score"), "kind": c.get("kind") or "正常"}


def _first_fail(rule: Rule, results: list[dict], ctx: StudentContext, as_of: date) -> Hit | None:
    first_failed: dict[str, dict] = {}  # course -> its earliest failed result
    for c in results:
        if not c["passed"] and c.get("course") not in first_failed:
            first_failed[c.get("course")] = c
    terms = {str(c.get("term")) for c in first_failed.values()}
    if len(terms) != 1:
        return None
    term = terms.pop()
    courses = list(first_failed.values())
    total = _credits(sum(c["_c"] for c in courses))
    hit_facts = {"term": term, "courses": [_course_facts(c) for c in courses], "count": len(courses), "credits": _num_json(total)}

    def fields(lang: str) -> dict[str, str]:
        return {
            "term": term,
            "courses": joined((_course_text(c, lang) for c in courses), lang),
            "count": str(len(courses)),
            "credits": _num_text(total),
        }

    return _hit(rule, as_of.isoformat(), hit_facts, fields)


def _academic_warning(rule: Rule, results: list[dict], ctx: StudentContext, as_of: date) -> Hit | None:
    threshold = _exact(rule.params["threshold"])
    by_term: dict[str, dict[str, list[dict]]] = {}
    for c in results:
        by_term.setdefault(str(c.get("term")), {}).setdefault(c.get("course"), []).append(c)
    for term in sorted(by_term, key=term_key, reverse=True):
        # A course with only failed results in the term (a pass in the same term clears it).
        failed_results = [rs for rs in by_term[term].values() if not any(r["passed"] for r in rs)]
        failed = [rs[0] for rs in failed_results]
        total = _credits(sum(max(r["_c"] for r in rs) for rs in failed_results))
        if failed and total >= threshold:
            break
    else:
        return None
    hit_facts = {
        "term": term,
        "failed_credits": _num_json(total),
        "threshold": _num_json(threshold),
        "courses": [_course_facts(c) for c in failed],
        "count": len(failed),
    }

    def fields(lang: str) -> dict[str, str]:
        return {
            "term": term,
            "courses": joined((_course_text(c, lang) for c in failed), lang),
            "count": str(len(failed)),
            "failed_credits": _num_text(total),
            "threshold": _num_text(threshold),
        }

    return _hit(rule, as_of.isoformat(), hit_facts, fields)


def _credits_short(rule: Rule, results: list[dict], ctx: StudentContext, as_of: date) -> Hit | None:
    if not ctx.final_year:
        return None
    required = _exact(ctx.credits_required if ctx.credits_required is not None else rule.params["credits_required"])
    earned_by_course: dict[str, int] = {}
    for c in results:
        if c["passed"]:
            name = c.get("course")
            earned_by_course[name] = max(earned_by_course.get(name, 0), c["_c"])
    earned = _credits(sum(earned_by_course.values()))
    if earned >= required:
        return None
    short = required - earned
    hit_facts = {"earned": _num_json(earned), "required": _num_json(required), "short": _num_json(short)}

    def fields(lang: str) -> dict[str, str]:
        return {"earned": _num_text(earned), "required": _num_text(required), "short": _num_text(short)}

    return _hit(rule, as_of.isoformat(), hit_facts, fields)


# Each evaluator gets the source's facts as stored, except academic rules: the results
# prepared once per student by _results.
_EVALUATORS: dict[str, Callable[[Rule, Any, StudentContext, date], Hit | None]] = {
    "dorm_out": _dorm_out,
    "meals_drop": _meals_drop,
    "hidden_hardship": _hidden_hardship,
    "first_fail": _first_fail,
    "academic_warning": _academic_warning,
    "credits_short": _credits_short,
}


# --------------------------------------------------------------------------- evaluation


def evaluate(
    rules: RuleSet | Iterable[Rule] | None,
    student_facts: Mapping[str, Mapping],
    context: StudentContext | None,
    as_of: date | str,
) -> list[Hit]:
    """Every enabled rule that holds for one student as of ``as_of``, in rule order.

    ``student_facts`` maps a source (dorm, card, academic) to that source's facts;
    a rule whose source is missing is not evaluated. ``rules`` None means the
    built-in rules.
    """
    ruleset = default_rules() if rules is None else rules if isinstance(rules, RuleSet) else RuleSet(rules)
    ctx = context or StudentContext()
    day = _as_date(as_of)
    hits: list[Hit] = []
    results: list[dict] | None = None
    for rule in ruleset.values():
        if not rule.enabled:
            continue
        facts = student_facts.get(rule.source)
        if not facts:
            continue
        if rule.source == "academic":
            if results is None:
                results = _results(facts)
            facts = results
        hit = _EVALUATORS[rule.code](rule, facts, ctx, day)
        if hit is not None:
            hits.append(hit)
    return hits
