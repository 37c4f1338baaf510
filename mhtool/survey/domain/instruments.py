"""Instrument definitions: the TOML model, its validation, loading, and answer decoding.

An instrument is data (``instruments/*.toml``): items and their options, reverse-scored
items, scales, bands, flags, tier rules and the missing-item policy. Every file is
validated when it is loaded; a mistake is an :class:`InstrumentDefinitionError` whose
message names the file and the key. Centers add or override instruments by dropping
TOML files into extra directories (``MHTOOL_INSTRUMENTS``), no code needed, unless the
scoring is genuinely algorithmic (PSQI, see :mod:`mhtool.survey.domain.psqi`).

Only item numbers, scoring keys and short option labels live here, never the wording of
the whole form. The one exception is a critical item's wording (``[[flags]]`` ``text``):
the interview list and the dossier show it, because the counselor who calls the student in
must know what the student answered, not a code such as ``item15``.

Decoding turns whatever a survey export holds (form values, option positions, option
labels, missing markers) into form values, one unique cell value at a time per column,
so 4.5 million cells cost a few hundred dictionary look-ups plus numpy indexing.
"""

from __future__ import annotations

import math
import os
import re
import sys
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn


from mhtool.domain.labels import text as label_text
from mhtool.domain.vocabulary import WATCH_LEVELS
from mhtool.errors import InvalidInput, NotFound, Problem
from mhtool.i18n import N_, _
from mhtool.survey.domain import psqi

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# numpy and pandas are imported inside the functions that decode answers: loading a
# definition to show its names (a dossier's timeline) must not pay 0.2 s for them.

BUILTIN_DIR = Path(__file__).with_name("instruments")
ENV_VAR = "MHTOOL_INSTRUMENTS"

MODES = ("auto", "value", "position", "text")
KINDS = ("choice", "time", "number")
LEVELS = WATCH_LEVELS
SCALE_METHODS = ("sum", "mean", "count", "mean_at_least", "scaled", "algorithm")
ROUNDINGS = ("floor", "round", "none")

# Algorithms that scoring cannot express as data; each provides these score keys.
ALGORITHMS: dict[str, tuple[str, ...]] = {"psqi": psqi.SCORE_KEYS}

# Cell texts meaning "not answered" (after NFKC folding, so （跳过） is covered).
# 问卷星 writes -3 for a skipped question and -2 for one hidden by skip logic.
MISSING_TEXTS = frozenset({"", "(跳过)", "跳过", "(空)", "空"})
MISSING_NUMBERS = (-3.0, -2.0)


def among(values, wanted) -> np.ndarray:
    """Which of ``values`` equal one of the few ``wanted``: ``np.isin`` without its sort, nor the numpy.ma it imports (15 ms)."""
    import numpy as np

    out = np.zeros(values.shape, dtype=bool)
    for w in wanted:
        out |= values == w
    return out


_NUMBER_RE = re.compile(r"^[+-]?(\d+(?:\.\d*)?|\.\d+)$")
_LETTER_PREFIX_RE = re.compile(r"^[A-Za-z](?:\s*[.、,:;)\]。]\s*|\s+)(?=\S)")
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−~〜﹣"})
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class InstrumentDefinitionError(InvalidInput):
    """An instrument definition file is not valid; the message names the file and the key."""


# --------------------------------------------------------------------------- text folding


def fold_text(text: str) -> str:
    """NFKC (full-width → ASCII), no whitespace: how a cell is compared."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def label_key(text: str) -> str:
    """The key under which an option label is looked up (case, dashes and ≥ spellings folded)."""
    s = fold_text(text).translate(_DASHES).casefold()
    return s.replace(">=", "≥").replace("<=", "≤").replace("≧", "≥").replace("≦", "≤")


def _strip_letter(text: str) -> str | None:
    """``A.没有`` / ``A、没有`` / ``A 没有`` → ``没有``; None when there is no option letter."""
    s = unicodedata.normalize("NFKC", text).strip()
    m = _LETTER_PREFIX_RE.match(s)
    return s[m.end():] if m else None


def _describe_values(values: Sequence[int]) -> str:
    vs = sorted(values)
    if len(vs) > 2 and vs == list(range(vs[0], vs[-1] + 1)):
        return f"{vs[0]}–{vs[-1]}"
    return "/".join(str(v) for v in vs)


def _or_join(values: Iterable[object]) -> str:
    """``60 or 64`` (in the reader's language)."""
    out = ""
    for v in values:
        out = str(v) if not out else _("{first} or {second}").format(first=out, second=v)
    return out


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def _raw_text(x: Any) -> str | None:
    if x is None:
        return None
    if isinstance(x, float):
        if math.isnan(x):
            return None
        return str(int(x)) if x.is_integer() else repr(x)
    return str(x)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Option:
    value: int
    position: int
    labels: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"value": self.value, "position": self.position, "labels": list(self.labels)}


@dataclass(frozen=True)
class OptionSet:
    """The options one item offers, in form order (position 1 first)."""

    name: str
    options: tuple[Option, ...]

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(o.value for o in self.options)

    @property
    def lowest(self) -> int:
        return min(self.values)

    @property
    def highest(self) -> int:
        return max(self.values)

    @property
    def by_label(self) -> dict[str, int]:
        return {label_key(lab): o.value for o in self.options for lab in o.labels}

    def as_dict(self) -> list[dict]:
        return [o.as_dict() for o in self.options]


@dataclass(frozen=True)
class ItemSpec:
    """How one item (input column) is answered."""

    number: int
    kind: str  # choice | time | number
    option_set: OptionSet | None = None
    unit: str | None = None  # number items: minutes | hours
    min: float | None = None
    max: float | None = None
    form_label: str | None = None  # the form's own numbering where it differs (PSQI "5a")

    @property
    def label(self) -> str:
        """The problem column for this item: 第3题 (what importers map back to a sheet column)."""
        return f"第{self.number}题"

    @property
    def display(self) -> str:
        """The item as named in messages: 第3题, or 第5题(5a) where the form numbers differently."""
        if self.form_label and self.form_label != str(self.number):
            return f"第{self.number}题({self.form_label})"
        return self.label

    @property
    def reader_key(self) -> tuple:
        return (self.kind, self.option_set.name if self.option_set else None, self.unit, self.min, self.max)


@dataclass(frozen=True)
class Condition:
    """One test on a scored row.

    ``kind`` says what is tested: ``item`` (form values, as printed on the paper form,
    before any reverse scoring), ``score`` (unrounded scores), ``band`` (the row's band is
    one of ``targets``) or ``flag`` (the row carries one of the flags ``targets``). For
    items and scores the condition holds when the number of targets whose value lies in
    [min, max] is within [count_min, count_max]; by default that means "any of them".
    """

    kind: str
    targets: tuple
    min: float | None = None
    max: float | None = None
    count_min: int = 1
    count_max: int | None = None

    def as_dict(self) -> dict:
        d: dict[str, Any] = {self.kind: self.targets[0] if len(self.targets) == 1 else list(self.targets)}
        if self.min is not None:
            d["min"] = _num(self.min)
        if self.max is not None:
            d["max"] = _num(self.max)
        if self.count_min != 1:
            d["count_min"] = self.count_min
        if self.count_max is not None:
            d["count_max"] = self.count_max
        return d


@dataclass(frozen=True)
class Rule:
    """A name (band, flag or level) that applies when any of its conditions holds."""

    name: str
    conditions: tuple[Condition, ...]
    critical: bool = False
    label: dict | None = None
    text: dict | None = None  # flags: the wording of the item the flag watches, {"zh", "en"}

    def as_dict(self) -> dict:
        return {"any": [c.as_dict() for c in self.conditions]}


@dataclass(frozen=True)
class Scale:
    key: str
    method: str
    items: tuple[int, ...] = ()
    min: float | None = None
    max: float | None = None
    source: str | None = None
    factor: float | None = None
    rounding: str = "floor"
    range: tuple[float, float] = (0, 0)
    integer: bool = True
    label: dict | None = None

    def as_dict(self) -> dict:
        d: dict[str, Any] = {"key": self.key, "method": self.method}
        if self.items:
            d["items"] = list(self.items)
        for name in ("min", "max", "source", "factor"):
            v = getattr(self, name)
            if v is not None:
                d[name] = _num(v) if isinstance(v, (int, float)) else v
        if self.method == "scaled":
            d["rounding"] = self.rounding
        d["range"] = [_num(self.range[0]), _num(self.range[1])]
        d["integer"] = self.integer
        if self.label:
            d["label"] = dict(self.label)
        return d


@dataclass(frozen=True)
class BandRange:
    name: str
    min: int
    max: int
    label: dict | None = None


@dataclass(frozen=True)
class Bands:
    """Either contiguous ranges of one integer scale, or ordered rules with a default."""

    scale: str | None = None
    ranges: tuple[BandRange, ...] = ()
    rules: tuple[Rule, ...] = ()
    default: str | None = None
    default_label: dict | None = None

    @property
    def names(self) -> tuple[str, ...]:
        if self.scale is not None:
            return tuple(r.name for r in self.ranges)
        return tuple(r.name for r in self.rules) + (self.default,)

    def as_dict(self) -> dict:
        if self.scale is not None:
            return {
                "scale": self.scale,
                "ranges": [
                    {"name": r.name, "min": r.min, "max": r.max, **({"label": dict(r.label)} if r.label else {})}
                    for r in self.ranges
                ],
            }
        return {
            "rules": [
                {"name": r.name, **r.as_dict(), **({"label": dict(r.label)} if r.label else {})} for r in self.rules
            ],
            "default": self.default,
        }


@dataclass(frozen=True)
class MissingPolicy:
    """``reject``: any missing required item is a problem. ``prorate``: up to ``max_missing``
    missing items are allowed and sum scales are prorated: round(sum / answered × n)."""

    policy: str = "reject"
    max_missing: int = 0

    def as_dict(self) -> dict:
        d: dict[str, Any] = {"policy": self.policy}
        if self.policy == "prorate":
            d["max_missing"] = self.max_missing
        return d


@dataclass(frozen=True, eq=False)
class Instrument:
    """One validated instrument definition."""

    code: str
    name_zh: str
    name_en: str
    version: str
    item_count: int
    optional_items: tuple[int, ...]
    accepted_item_counts: tuple[int, ...]
    item_specs: Mapping[int, ItemSpec]
    option_sets: Mapping[str, OptionSet]
    reverse_items: tuple[int, ...]
    scales: tuple[Scale, ...]
    band_definition: Bands
    flag_rules: tuple[Rule, ...]
    tiers: tuple[Rule, ...]
    missing: MissingPolicy
    algorithm: str | None = None
    description: str | None = None
    source: Path | None = None
    # The short name reports and timelines print (SCL-90, PHQ-9), as people write it.
    display_name: str = ""

    # ------------------------------------------------------------------ summary

    @property
    def items(self) -> tuple[int, ...]:
        return tuple(self.item_specs)

    @property
    def required_items(self) -> tuple[int, ...]:
        return tuple(range(1, self.item_count + 1))

    @property
    def score_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.scales)

    @property
    def bands(self) -> tuple[str, ...]:
        """Band names in definition order."""
        return self.band_definition.names

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.flag_rules)

    @property
    def critical_flags(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.flag_rules if f.critical)

    @property
    def options(self) -> dict[str, dict]:
        """Option sets with the items that use them: ``{set: {"items": [...], "options": [...]}}``."""
        out: dict[str, dict] = {}
        for spec in self.item_specs.values():
            if spec.option_set is None:
                continue
            entry = out.setdefault(spec.option_set.name, {"items": [], "options": spec.option_set.as_dict()})
            entry["items"].append(spec.number)
        return out

    def band_label(self, band: str, lang: str = "zh") -> str:
        """The definition's label of ``band`` for people (the band code when it has none)."""
        bd = self.band_definition
        labels = {r.name: r.label for r in bd.ranges} | {r.name: r.label for r in bd.rules}
        if bd.default is not None:
            labels[bd.default] = bd.default_label
        return (labels.get(band) or {}).get(lang) or band

    def band_labels(self) -> tuple[tuple[str, str, str], ...]:
        """``(code, zh, en)`` of every band in definition order, as report columns name them."""
        return tuple((band, self.band_label(band, "zh"), self.band_label(band, "en")) for band in self.bands if band)

    def item_label(self, item: int) -> str:
        return self.item_specs[item].label

    def flag_label(self, flag: str, lang: str = "zh") -> str:
        """A flag as a counselor reads it: the item's wording and number when the definition gives them.

        ``想结束自己的生命（第15题）``; else the flag's own label (``第15题(轻生念头)阳性``);
        else its name. Unknown flags come back unchanged.
        """
        rule = next((f for f in self.flag_rules if f.name == flag), None)
        if rule is None:
            return flag
        items = [t for c in rule.conditions if c.kind == "item" for t in c.targets]
        if rule.text and len(items) == 1:
            return label_text("screening_flag_item", lang, text=rule.text.get(lang) or rule.text["zh"], item=items[0])
        if rule.text:
            return rule.text.get(lang) or rule.text["zh"]
        return (rule.label or {}).get(lang) or flag

    def flag_labels(self) -> tuple[tuple[str, str, str], ...]:
        """``(code, zh, en)`` of every flag, as report cells show them."""
        return tuple((f.name, self.flag_label(f.name, "zh"), self.flag_label(f.name, "en")) for f in self.flag_rules)

    def names(self) -> dict:
        """What people read for this instrument's codes: its display name, bands and flags (``{"zh", "en"}`` each).

        Plain data, for features that show screening results but may not
        import this one (the dossier's timeline).
        """
        return {
            "name": self.display_name,
            "bands": {code: {"zh": zh, "en": en} for code, zh, en in self.band_labels()},
            "flags": {code: {"zh": zh, "en": en} for code, zh, en in self.flag_labels()},
        }

    def describe(self) -> dict:
        """The whole definition as JSON-able data (``survey instrument CODE --json``)."""
        free = {
            str(s.number): {
                "kind": s.kind,
                "unit": s.unit or "fraction of a day",
                **({"min": _num(s.min)} if s.min is not None else {}),
                **({"max": _num(s.max)} if s.max is not None else {}),
            }
            for s in self.item_specs.values()
            if s.kind != "choice"
        }
        return {
            "code": self.code,
            "display_name": self.display_name,
            "name": {"zh": self.name_zh, "en": self.name_en},
            "version": self.version,
            "description": self.description,
            "item_count": self.item_count,
            "optional_items": list(self.optional_items),
            "accepted_item_counts": list(self.accepted_item_counts),
            "items": [
                {"item": s.number, "label": s.display, "kind": s.kind, **({"form": s.form_label} if s.form_label else {})}
                for s in self.item_specs.values()
            ],
            "options": self.options,
            "free_items": free,
            "reverse_items": list(self.reverse_items),
            "missing": self.missing.as_dict(),
            "algorithm": self.algorithm,
            "scales": [s.as_dict() for s in self.scales],
            "bands": self.band_definition.as_dict(),
            "flags": [
                {"name": f.name, "critical": f.critical, **f.as_dict(), **({"text": dict(f.text)} if f.text else {})} for f in self.flag_rules
            ],
            "tiers": {t.name: t.as_dict()["any"] for t in self.tiers},
            "source": str(self.source) if self.source else None,
        }

    # ------------------------------------------------------------------ decoding

    def decode(self, raw: pd.DataFrame, mode: str = "auto") -> Decoded:
        """Turn export cells into form values.

        ``raw``: index = sheet row numbers, columns = item numbers. ``mode``:
        ``value`` (numbers are form values), ``position`` (numbers are 1-based option
        positions, 问卷星 按选项序号), ``text`` (option labels, with or without a leading
        option letter), ``auto`` (labels for text, form values for numbers). Missing
        markers become NaN without a problem (the missing-item policy is applied when
        scoring); anything else that cannot be read is NaN *and* a :class:`Problem`.
        Free-answer items (PSQI times and durations) are read the same way in every mode.
        """
        import numpy as np
        import pandas as pd

        if mode not in MODES:
            raise InvalidInput(_("unknown answer mode {mode!r}").format(mode=mode), hint=_("use one of: {modes}").format(modes=", ".join(MODES)))
        if not isinstance(raw, pd.DataFrame):
            raise InvalidInput(_("{instrument}: answers must be a table (pandas.DataFrame)").format(instrument=self.code))
        positions = self._match_columns(raw)
        rows = _row_numbers(raw, self.code)
        n = len(raw)
        items = [item for item, _pos in positions]
        # column-major, so that each item is one contiguous column and the frame needs no copy
        values = np.full((n, len(items)), np.nan, order="F")
        invalid = np.zeros((n, len(items)), dtype=bool, order="F")
        readers: dict[tuple, _CellReader] = {}
        for j, (item, pos) in enumerate(positions):
            spec = self.item_specs[item]
            reader = readers.get(spec.reader_key)
            if reader is None:
                reader = readers[spec.reader_key] = _CellReader(spec, mode)
            v, bad = reader.column(raw.iloc[:, pos])
            values[:, j] = v
            invalid[:, j] = bad
        problems: list[Problem] = []
        if invalid.any():
            for ri, cj in zip(*np.nonzero(invalid)):
                item, pos = positions[cj]
                spec = self.item_specs[item]
                problems.append(
                    Problem(
                        _("invalid answer to {item}: {expected}").format(item=spec.display, expected=readers[spec.reader_key].expected),
                        row=rows[ri],
                        column=spec.label,
                        value=_raw_text(raw.iat[ri, pos]),
                    )
                )
        index = pd.Index(rows, name="row")
        columns = pd.Index(items, name="item")
        return Decoded(
            instrument=self,
            mode=mode,
            values=pd.DataFrame(values, index=index, columns=columns, copy=False),
            invalid=pd.DataFrame(invalid, index=index, columns=columns, copy=False),
            problems=problems,
        )

    def decoder(self, items: Sequence[int], mode: str = "auto") -> AnswerDecoder:
        """A decoder for answer columns of these item numbers, fed chunk by chunk (:class:`AnswerDecoder`)."""
        return AnswerDecoder(self, items, mode)

    def _match_columns(self, raw: pd.DataFrame) -> list[tuple[int, int]]:
        """(item, column position) for every item column, in instrument order."""
        return self._match_items(list(raw.columns))

    def _match_items(self, columns: Sequence) -> list[tuple[int, int]]:
        """(item, position in ``columns``) for every item column, in instrument order."""
        import numpy as np

        found: dict[int, int] = {}
        for pos, col in enumerate(columns):
            if isinstance(col, (bool, np.bool_)) or not isinstance(col, (int, np.integer)):
                raise InvalidInput(
                    _("{instrument}: column {column!r} is not an item number").format(instrument=self.code, column=col),
                    hint=_("columns of the answer table must be item numbers (1, 2, …)"),
                )
            item = int(col)
            if item in found:
                raise InvalidInput(_("{instrument}: item {item} appears in two columns").format(instrument=self.code, item=item))
            found[item] = pos
        unknown = sorted(set(found) - set(self.item_specs))
        if unknown:
            raise InvalidInput(
                _("{instrument}: no item {items} in {name} (items are 1–{last})").format(
                    instrument=self.code, items=", ".join(map(str, unknown)), name=self.name_en, last=max(self.item_specs)
                ),
            )
        absent = [i for i in self.required_items if i not in found]
        counts = _or_join(self.accepted_item_counts)
        if absent:
            raise InvalidInput(
                _("{instrument}: the answers have no column for item {items}").format(instrument=self.code, items=", ".join(map(str, absent))),
                hint=_("{name} needs {counts} item columns").format(name=self.name_en, counts=counts),
            )
        if len(found) not in self.accepted_item_counts:
            lacking = [i for i in self.optional_items if i not in found]
            raise InvalidInput(
                _("{instrument}: {found} item columns, but {name} takes {counts} (missing optional item {lacking})").format(
                    instrument=self.code, found=len(found), name=self.name_en, counts=counts, lacking=", ".join(map(str, lacking))
                ),
            )
        return [(item, found[item]) for item in self.item_specs if item in found]


class AnswerDecoder:
    """Decodes the answer cells of one export chunk by chunk, without pandas.

    Each item column comes as ``codes`` into ``values`` (its distinct cells,
    see :class:`mhtool.io.readers.ExportChunk`), the shape
    :func:`pandas.factorize` gives :meth:`Instrument.decode`: each distinct
    cell is read once by the same :class:`_CellReader`, so both give the same
    form values and problems. ``values`` may grow between chunks; what was
    decoded of it is kept.
    """

    def __init__(self, instrument: Instrument, items: Sequence[int], mode: str = "auto"):
        if mode not in MODES:
            raise InvalidInput(_("unknown answer mode {mode!r}").format(mode=mode), hint=_("use one of: {modes}").format(modes=", ".join(MODES)))
        self.instrument = instrument
        self.mode = mode
        self.positions = instrument._match_items(list(items))
        self.items: tuple[int, ...] = tuple(item for item, _pos in self.positions)
        shared: dict[tuple, _CellReader] = {}
        self._readers = []
        for item, _pos in self.positions:
            spec = instrument.item_specs[item]
            if spec.reader_key not in shared:
                shared[spec.reader_key] = _CellReader(spec, mode)
            self._readers.append(shared[spec.reader_key])
        # Per column: the form value and "unreadable" of each distinct cell decoded so far.
        self._decoded: list[tuple[list[float], list[bool]]] = [([], []) for _p in self.positions]

    def decode(
        self, rows: Sequence[int], codes: Sequence[Sequence[int]], values: Sequence[list], *, cell=None
    ) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
        """(form values, unreadable) as rows × items in instrument order, and a problem per unreadable cell.

        ``cell(row index, position)``: the cell itself as the problem shows it, when
        it may differ from the equal value it was decoded as (``False`` for ``0``).
        """
        import numpy as np

        n = len(rows)
        V = np.full((n, len(self.positions)), np.nan, order="F")
        invalid = np.zeros((n, len(self.positions)), dtype=bool, order="F")
        for j, (_item, pos) in enumerate(self.positions):
            vals, bad = self._decoded[j]
            distinct = values[pos]
            for u in distinct[len(vals):]:
                v, b = self._readers[j].cell(u)
                vals.append(v)
                bad.append(b)
            at = np.asarray(codes[pos], dtype=np.intp)
            V[:, j] = np.asarray(vals)[at]
            invalid[:, j] = np.asarray(bad, dtype=bool)[at]
        problems: list[Problem] = []
        if invalid.any():
            for ri, cj in zip(*np.nonzero(invalid)):
                item, pos = self.positions[cj]
                spec = self.instrument.item_specs[item]
                problems.append(
                    Problem(
                        _("invalid answer to {item}: {expected}").format(item=spec.display, expected=self._readers[cj].expected),
                        row=rows[ri],
                        column=spec.label,
                        value=_raw_text(values[pos][codes[pos][ri]] if cell is None else cell(ri, pos)),
                    )
                )
        return V, invalid, problems


@dataclass
class Decoded:
    """Decoded answers: form values (NaN = not answered or unreadable) plus the problems."""

    instrument: Instrument
    mode: str
    values: pd.DataFrame  # float64; index = sheet rows, columns = item numbers present
    invalid: pd.DataFrame  # True where a cell could not be read (each has a Problem)
    problems: list[Problem] = field(default_factory=list)

    @property
    def rows(self) -> pd.Index:
        return self.values.index

    @property
    def items(self) -> tuple[int, ...]:
        return tuple(int(c) for c in self.values.columns)


def _row_numbers(raw: pd.DataFrame, code: str) -> list[int]:
    import numpy as np
    import pandas as pd

    idx = raw.index
    if len(idx) and not (pd.api.types.is_integer_dtype(idx.dtype) or all(isinstance(r, (int, np.integer)) for r in idx)):
        raise InvalidInput(_("{instrument}: the answer table's index must be sheet row numbers").format(instrument=code))
    if not idx.is_unique:
        dup = idx[idx.duplicated()].tolist()[:5]
        raise InvalidInput(_("{instrument}: sheet row {rows} appears twice").format(instrument=code, rows=", ".join(map(str, dup))))
    return [int(r) for r in idx]


class _CellReader:
    """Reads the cells of items answered the same way; remembers each distinct cell value."""

    def __init__(self, spec: ItemSpec, mode: str):
        import numpy as np

        self.spec = spec
        self.mode = mode
        self.cache: dict[Any, tuple[float, bool]] = {}
        oset = spec.option_set
        if spec.kind == "choice":
            assert oset is not None
            vals = np.array(oset.values, dtype=float)
            self.lo, self.hi = int(vals.min()), int(vals.max())
            self.allowed = np.zeros(self.hi - self.lo + 1, dtype=bool)
            self.allowed[(vals - self.lo).astype(int)] = True
            self.by_position = np.array([o.value for o in oset.options], dtype=float)
            self.by_label = oset.by_label
            labels = "/".join(o.labels[0] for o in oset.options)
            desc = _describe_values(oset.values)
            if mode == "value":
                self.expected = _("expected {values}").format(values=desc)
            elif mode == "position":
                self.expected = _("expected an option position 1–{count}").format(count=len(oset.options))
            elif mode == "text":
                self.expected = _("expected one of {labels}").format(labels=labels)
            else:
                self.expected = _("expected {values} or one of {labels}").format(values=desc, labels=labels)
        elif spec.kind == "time":
            self.expected = _("expected a clock time such as 23:30 or 23点30分 (or an Excel time)")
        elif spec.unit == "minutes":
            self.expected = _("expected a number of minutes from {min} to {max}").format(min=_num(spec.min), max=_num(spec.max))
        elif spec.unit == "hours":
            self.expected = _("expected a number of hours from {min} to {max}").format(min=_num(spec.min), max=_num(spec.max))
        else:
            self.expected = _("expected a number of {unit} from {min} to {max}").format(unit=spec.unit, min=_num(spec.min), max=_num(spec.max))

    def column(self, s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np
        import pandas as pd

        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            return self.numbers(s.to_numpy(dtype=float, na_value=np.nan))
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        m = len(uniques)
        vals = np.full(m + 1, np.nan)
        bad = np.zeros(m + 1, dtype=bool)
        for i, u in enumerate(uniques):
            vals[i], bad[i] = self.cell(u)
        codes = np.where(codes < 0, m, codes)
        return vals[codes], bad[codes]

    def numbers(self, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised reading of numeric cells: (values, unreadable)."""
        import numpy as np

        missing = np.isnan(arr) | among(arr, MISSING_NUMBERS)
        kind = self.spec.kind
        with np.errstate(invalid="ignore"):
            if kind == "choice":
                if self.mode == "text":
                    ok = np.zeros(arr.shape, dtype=bool)
                    out = np.full(arr.shape, np.nan)
                elif self.mode == "position":
                    k = len(self.by_position)
                    ok = ~missing & (arr == np.floor(arr)) & (arr >= 1) & (arr <= k)
                    out = np.where(ok, self.by_position[np.where(ok, arr, 1).astype(np.int64) - 1], np.nan)
                else:
                    inside = ~missing & (arr == np.floor(arr)) & (arr >= self.lo) & (arr <= self.hi)
                    ok = inside & self.allowed[np.where(inside, arr - self.lo, 0).astype(np.int64)]
                    out = np.where(ok, arr, np.nan)
            elif kind == "time":
                ok = ~missing & (arr >= 0) & (arr < 1)
                out = np.where(ok, np.round(arr * 86400) / 86400, np.nan)
            else:
                ok = ~missing & (arr >= self.spec.min) & (arr <= self.spec.max)
                out = np.where(ok, arr, np.nan)
        return out, ~missing & ~ok

    @staticmethod
    def _clock(u: Any) -> tuple[float, bool]:
        # decoded clock times are fractions of a day, like Excel's, so that decoded values
        # read back unchanged in every mode (a number of 1 or more is never a time)
        minutes = psqi.parse_clock(u)
        if minutes is None:
            return math.nan, True
        return round(minutes * 60) / 86400, False

    def _number(self, x: float) -> tuple[float, bool]:
        import numpy as np

        v, b = self.numbers(np.array([x], dtype=float))
        return float(v[0]), bool(b[0])

    def cell(self, u: Any) -> tuple[float, bool]:
        try:
            key = (type(u), u)
            hit = self.cache.get(key)
        except TypeError:
            key, hit = None, None
        if hit is None:
            hit = self._read(u)
            if key is not None:
                self.cache[key] = hit
        return hit

    def _read(self, u: Any) -> tuple[float, bool]:
        import numpy as np

        NAN = math.nan
        if u is None:
            return NAN, False
        # Only cells that went through pandas can be its missing markers; a reader that never imported it has none.
        pd = sys.modules.get("pandas")
        if pd is not None and (u is pd.NA or u is pd.NaT):
            return NAN, False
        if isinstance(u, (bool, np.bool_)):
            return NAN, True
        if isinstance(u, (int, float, np.integer, np.floating)):
            return self._number(float(u))
        kind = self.spec.kind
        if not isinstance(u, str):
            if kind == "time":
                return self._clock(u)
            return NAN, True
        text = fold_text(u)
        if text in MISSING_TEXTS:
            return NAN, False
        if _NUMBER_RE.match(text) and float(text) in MISSING_NUMBERS:
            return NAN, False
        if kind == "time":
            return self._clock(u)
        if kind == "number":
            q = psqi.parse_quantity(u, self.spec.unit or "")
            return (NAN, True) if q is None else self._number(q)
        if _NUMBER_RE.match(text):
            return self._number(float(text))
        if self.mode in ("value", "position"):
            return NAN, True
        v = self.by_label.get(label_key(u))
        if v is None:
            rest = _strip_letter(u)
            if rest is not None:
                v = self.by_label.get(label_key(rest))
        return (NAN, True) if v is None else (float(v), False)


# --------------------------------------------------------------------------- validation


class _Reader:
    """Checks one parsed TOML document; every failure names the file and the key."""

    def __init__(self, where: str, error: type[InvalidInput] = InstrumentDefinitionError, hint: str | None = None):
        self.where = where
        self.error = error
        self.hint = hint

    def fail(self, key: str, message: str) -> NoReturn:
        raise self.error(f"{self.where}: {key}: {message}", hint=self.hint)

    def table(self, data: Any, key: str, allowed: Iterable[str], required: Iterable[str] = ()) -> dict:
        if not isinstance(data, dict):
            self.fail(key, _("must be a table, not {type}").format(type=_tname(data)))
        allowed = list(allowed)
        for k in data:
            if k not in allowed:
                self.fail(_join(key, k), _("unknown key (allowed here: {allowed})").format(allowed=", ".join(allowed)))
        for k in required:
            if k not in data:
                self.fail(_join(key, k), _("is required"))
        return data

    def array(self, data: Any, key: str, *, nonempty: bool = True) -> list:
        if not isinstance(data, list):
            self.fail(key, _("must be an array, not {type}").format(type=_tname(data)))
        if nonempty and not data:
            self.fail(key, _("must not be empty"))
        return data

    def string(self, data: Any, key: str, *, pattern: re.Pattern | None = None) -> str:
        if not isinstance(data, str) or not data.strip():
            self.fail(key, _("must be a non-empty string, not {type}").format(type=_tname(data)))
        if pattern is not None and not pattern.match(data):
            self.fail(key, _("{value!r} must be lower-case letters, digits and _ (starting with a letter)").format(value=data))
        return data

    def integer(self, data: Any, key: str, *, lo: int | None = None, hi: int | None = None) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail(key, _("must be an integer, not {type}").format(type=_tname(data)))
        if lo is not None and data < lo:
            self.fail(key, _("{value} is below {lowest}").format(value=data, lowest=lo))
        if hi is not None and data > hi:
            self.fail(key, _("{value} is above {highest}").format(value=data, highest=hi))
        return data

    def number(self, data: Any, key: str) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
            self.fail(key, _("must be a number, not {type}").format(type=_tname(data)))
        return data

    def boolean(self, data: Any, key: str) -> bool:
        if not isinstance(data, bool):
            self.fail(key, _("must be true or false, not {type}").format(type=_tname(data)))
        return data

    def label(self, data: Any, key: str) -> dict:
        self.table(data, key, ("zh", "en"), ("zh", "en"))
        return {"zh": self.string(data["zh"], f"{key}.zh"), "en": self.string(data["en"], f"{key}.en")}

    def items(self, data: Any, key: str, universe: Iterable[int], *, what: str | None = None) -> tuple[int, ...]:
        """A list of item numbers from ``universe``; ``what`` says which numbers are allowed (default: items)."""
        universe = set(universe)
        what = _("items") if what is None else what
        seq = self.array(data, key)
        seen: set[int] = set()
        for i, v in enumerate(seq):
            self.integer(v, f"{key}[{i}]")
            if v in seen:
                self.fail(key, _("duplicate item {item}").format(item=v))
            if v not in universe:
                self.fail(key, _("item {item} is out of range ({allowed}: {range})").format(item=v, allowed=what, range=_describe_items(universe)))
            seen.add(v)
        return tuple(seq)


_TYPE_NAMES = {dict: N_("a table"), list: N_("an array"), str: N_("a string"), bool: N_("a boolean"), int: N_("an integer"), float: N_("a float")}


def _tname(x: Any) -> str:
    name = _TYPE_NAMES.get(type(x))
    return _(name) if name is not None else type(x).__name__


def _join(key: str, sub: str | int) -> str:
    if isinstance(sub, int):
        return f"{key}[{sub}]"
    return f"{key}.{sub}" if key else sub


def _describe_items(items: Iterable[int]) -> str:
    xs = sorted(items)
    if not xs:
        return "none"
    if xs == list(range(xs[0], xs[-1] + 1)):
        return f"{xs[0]}–{xs[-1]}"
    return ", ".join(map(str, xs))


_TOP_KEYS = (
    "code",
    "version",
    "name",
    "display_name",
    "description",
    "reference",
    "item_count",
    "optional_items",
    "accepted_item_counts",
    "item_labels",
    "options",
    "option_sets",
    "item_groups",
    "reverse_items",
    "missing",
    "algorithm",
    "scales",
    "bands",
    "flags",
    "tiers",
)
_OPTION_KEYS = ("value", "position", "labels")
_GROUP_KEYS = ("items", "kind", "options", "unit", "min", "max")
_SCALE_KEYS = ("key", "method", "items", "exclude", "min", "max", "source", "factor", "rounding", "range", "label")
_CONDITION_SUBJECTS = ("item", "score", "band", "flag")


def parse_condition(r: _Reader, data: Any, key: str, kinds: Sequence[str]) -> Condition:
    """One condition table, structure only (names are checked by :func:`check_condition`)."""
    if not isinstance(data, dict):
        r.fail(key, _("must be a table, not {type}").format(type=_tname(data)))
    subjects = [k for k in _CONDITION_SUBJECTS if k in data]
    if len(subjects) != 1:
        r.fail(key, _("needs exactly one of: {kinds}").format(kinds=", ".join(kinds)))
    kind = subjects[0]
    if kind not in kinds:
        r.fail(_join(key, kind), _("not allowed here (allowed: {kinds})").format(kinds=", ".join(kinds)))
    ranged = kind in ("item", "score")
    r.table(data, key, (kind, "min", "max", "count_min", "count_max") if ranged else (kind,))
    raw = data[kind]
    seq = raw if isinstance(raw, list) else [raw]
    r.array(seq, _join(key, kind))
    targets: list = []
    for i, t in enumerate(seq):
        tkey = _join(key, kind) if not isinstance(raw, list) else f"{_join(key, kind)}[{i}]"
        t = r.integer(t, tkey, lo=1) if kind == "item" else r.string(t, tkey)
        if t in targets:
            r.fail(_join(key, kind), _("duplicate {kind} {target!r}").format(kind=kind, target=t))
        targets.append(t)
    if not ranged:
        return Condition(kind, tuple(targets))
    if "min" not in data and "max" not in data:
        r.fail(key, _("an {kind} condition needs min and/or max").format(kind=kind))
    lo = r.number(data["min"], _join(key, "min")) if "min" in data else None
    hi = r.number(data["max"], _join(key, "max")) if "max" in data else None
    if lo is not None and hi is not None and lo > hi:
        r.fail(_join(key, "min"), _("min {min} is above max {max}").format(min=lo, max=hi))
    cmin = r.integer(data.get("count_min", 1), _join(key, "count_min"), lo=0, hi=len(targets))
    cmax = None
    if "count_max" in data:
        cmax = r.integer(data["count_max"], _join(key, "count_max"), lo=cmin, hi=len(targets))
    return Condition(kind, tuple(targets), lo, hi, cmin, cmax)


def check_condition(
    r: _Reader,
    cond: Condition,
    key: str,
    *,
    items: Iterable[int],
    scores: Iterable[str],
    bands: Iterable[str] = (),
    flags: Iterable[str] = (),
) -> None:
    """Every name a condition mentions must exist in the instrument."""
    known = {"item": set(items), "score": set(scores), "band": set(bands), "flag": set(flags)}[cond.kind]
    for t in cond.targets:
        if t not in known:
            shown = _describe_items(known) if cond.kind == "item" else ", ".join(map(str, sorted(known))) or "none"
            r.fail(_join(key, cond.kind), _("unknown {kind} {target!r} (known: {known})").format(kind=cond.kind, target=t, known=shown))


def parse_rules(r: _Reader, data: Any, key: str, kinds: Sequence[str]) -> tuple[Condition, ...]:
    seq = r.array(data, key)
    return tuple(parse_condition(r, c, _join(key, i), kinds) for i, c in enumerate(seq))


def _parse_options(r: _Reader, data: Any, key: str, name: str) -> OptionSet:
    seq = r.array(data, key)
    options: list[Option] = []
    values: set[int] = set()
    labels: dict[str, str] = {}
    for i, od in enumerate(seq):
        okey = _join(key, i)
        r.table(od, okey, _OPTION_KEYS, _OPTION_KEYS)
        value = r.integer(od["value"], _join(okey, "value"), lo=0)
        position = r.integer(od["position"], _join(okey, "position"), lo=1)
        if value in values:
            r.fail(_join(okey, "value"), _("duplicate option value {value}").format(value=value))
        values.add(value)
        labs = r.array(od["labels"], _join(okey, "labels"))
        for j, lab in enumerate(labs):
            lkey = f"{_join(okey, 'labels')}[{j}]"
            r.string(lab, lkey)
            k = label_key(lab)
            if _NUMBER_RE.match(k) or fold_text(lab) in MISSING_TEXTS:
                r.fail(lkey, _("label {label!r} would be read as a number or a missing answer").format(label=lab))
            if k in labels:
                r.fail(lkey, _("label {label!r} is already used by {other!r}").format(label=lab, other=labels[k]))
            labels[k] = lab
        options.append(Option(value, position, tuple(labs)))
    positions = sorted(o.position for o in options)
    if positions != list(range(1, len(options) + 1)):
        r.fail(key, _("option positions must be 1–{count} once each, got {positions}").format(count=len(options), positions=positions))
    return OptionSet(name, tuple(sorted(options, key=lambda o: o.position)))


def _scale_range(method: str, specs: list[ItemSpec], lo: float | None) -> tuple[float, float]:
    lows = [s.option_set.lowest for s in specs]  # type: ignore[union-attr]
    highs = [s.option_set.highest for s in specs]  # type: ignore[union-attr]
    if method == "sum":
        return sum(lows), sum(highs)
    if method == "mean":
        return sum(lows) / len(specs), sum(highs) / len(specs)
    if method == "count":
        return 0, len(specs)
    return 0, max(highs)  # mean_at_least: 0 when no item qualifies


def _round(x: float, rounding: str) -> float:
    if rounding == "floor":
        return math.floor(round(x, 9))
    if rounding == "round":
        return math.floor(x + 0.5)
    return x


def parse_definition(doc: dict, source: Path | None = None) -> Instrument:
    """Validate one parsed TOML document and build the :class:`Instrument`."""
    r = _Reader(str(source) if source else "<instrument>", hint=_("fix the definition file (see mhtool/survey/domain/instruments/*.toml)"))
    r.table(doc, "", _TOP_KEYS, ("code", "version", "name", "item_count", "scales", "bands"))
    code = r.string(doc["code"], "code", pattern=_CODE_RE)
    version = doc["version"]
    if not isinstance(version, str) or not version.strip():
        r.fail("version", _('must be a quoted string such as "1.0", not {type}').format(type=_tname(version)))
    name = r.label(doc["name"], "name")
    # Without one, the code in capitals: a custom instrument still prints as a name, not as its key.
    display_name = r.string(doc["display_name"], "display_name") if "display_name" in doc else code.upper()
    description = r.string(doc["description"], "description") if "description" in doc else None
    if "reference" in doc:
        r.string(doc["reference"], "reference")
    item_count = r.integer(doc["item_count"], "item_count", lo=1, hi=1000)
    optional: tuple[int, ...] = ()
    if "optional_items" in doc:
        optional = r.items(doc["optional_items"], "optional_items", range(item_count + 1, item_count + 101),
                           what=_("optional items follow item {item_count}").format(item_count=item_count))
        if sorted(optional) != list(range(item_count + 1, item_count + len(optional) + 1)):
            r.fail("optional_items", _("must be the items right after {item_count}, got {items}").format(item_count=item_count, items=list(optional)))
    all_items = list(range(1, item_count + 1 + len(optional)))
    required = list(range(1, item_count + 1))

    accepted = (item_count,) + ((item_count + len(optional),) if optional else ())
    if "accepted_item_counts" in doc:
        seq = r.array(doc["accepted_item_counts"], "accepted_item_counts")
        for i, c in enumerate(seq):
            r.integer(c, f"accepted_item_counts[{i}]", lo=item_count, hi=item_count + len(optional))
        if len(set(seq)) != len(seq):
            r.fail("accepted_item_counts", _("duplicate count"))
        accepted = tuple(sorted(seq))

    labels: dict[int, str] = {}
    if "item_labels" in doc:
        r.table(doc["item_labels"], "item_labels", [str(i) for i in all_items])
        for k, v in doc["item_labels"].items():
            labels[int(k)] = r.string(v, f"item_labels.{k}")

    # option sets: the top-level [[options]] is the set named "default"
    sets: dict[str, OptionSet] = {}
    if "options" in doc:
        sets["default"] = _parse_options(r, doc["options"], "options", "default")
    if "option_sets" in doc:
        r.table(doc["option_sets"], "option_sets", list(doc["option_sets"]))
        for sname, sdata in doc["option_sets"].items():
            if not _KEY_RE.match(sname) or sname == "default":
                r.fail(f"option_sets.{sname}", _("set names are lower-case identifiers other than 'default'"))
            sets[sname] = _parse_options(r, sdata, f"option_sets.{sname}", sname)

    specs: dict[int, ItemSpec] = {}
    used_sets: set[str] = set()
    for gi, g in enumerate(r.array(doc["item_groups"], "item_groups") if "item_groups" in doc else []):
        gkey = f"item_groups[{gi}]"
        r.table(g, gkey, _GROUP_KEYS, ("items",))
        kind = g.get("kind", "choice")
        if kind not in KINDS:
            r.fail(_join(gkey, "kind"), _("{value!r} is not one of {allowed}").format(value=kind, allowed=", ".join(KINDS)))
        gitems = r.items(g["items"], _join(gkey, "items"), all_items)
        allowed = {"choice": ("items", "kind", "options"), "time": ("items", "kind"),
                   "number": ("items", "kind", "unit", "min", "max")}[kind]
        r.table(g, gkey, allowed, ("options",) if kind == "choice" else (("unit", "min", "max") if kind == "number" else ()))
        for item in gitems:
            if item in specs:
                r.fail(_join(gkey, "items"), _("duplicate item {item}: already in an earlier group").format(item=item))
            form = labels.get(item)
            if kind == "choice":
                sname = r.string(g["options"], _join(gkey, "options"))
                if sname not in sets:
                    r.fail(_join(gkey, "options"), _("no option set {name!r} (defined: {defined})").format(name=sname, defined=", ".join(sets) or "none"))
                used_sets.add(sname)
                specs[item] = ItemSpec(item, "choice", sets[sname], form_label=form)
            elif kind == "time":
                specs[item] = ItemSpec(item, "time", form_label=form)
            else:
                unit = g["unit"]
                if unit not in ("minutes", "hours"):
                    r.fail(_join(gkey, "unit"), _("{unit!r} is not minutes or hours").format(unit=unit))
                lo = r.number(g["min"], _join(gkey, "min"))
                hi = r.number(g["max"], _join(gkey, "max"))
                if lo > hi or lo < 0:
                    r.fail(_join(gkey, "min"), _("need 0 ≤ min ≤ max, got {min} and {max}").format(min=lo, max=hi))
                specs[item] = ItemSpec(item, "number", None, unit, float(lo), float(hi), form_label=form)
    for item in all_items:
        if item not in specs:
            if "default" not in sets:
                r.fail("options", _("item {item} has no options: add [[options]] or put it in an [[item_groups]] entry").format(item=item))
            used_sets.add("default")
            specs[item] = ItemSpec(item, "choice", sets["default"], form_label=labels.get(item))
    specs = dict(sorted(specs.items()))
    for sname in sets:
        if sname not in used_sets:
            r.fail(f"option_sets.{sname}" if sname != "default" else "options", _("defined but used by no item"))

    reverse: tuple[int, ...] = ()
    if "reverse_items" in doc:
        reverse = r.items(doc["reverse_items"], "reverse_items", required, what=_("reverse items must be 1–{item_count}").format(item_count=item_count))
        for item in reverse:
            if specs[item].kind != "choice":
                r.fail("reverse_items", _("item {item} is not a choice item and cannot be reversed").format(item=item))

    missing = MissingPolicy()
    if "missing" in doc:
        md = r.table(doc["missing"], "missing", ("policy", "max_missing"), ("policy",))
        pol = md["policy"]
        if pol == "reject":
            if "max_missing" in md:
                r.fail("missing.max_missing", _("only meaningful with policy = \"prorate\""))
        elif pol == "prorate":
            if "max_missing" not in md:
                r.fail("missing.max_missing", _("is required with policy = \"prorate\""))
            mm = r.integer(md["max_missing"], "missing.max_missing", lo=1, hi=item_count - 1)
            missing = MissingPolicy("prorate", mm)
        else:
            r.fail("missing.policy", _("{policy!r} is not reject or prorate").format(policy=pol))

    algorithm = None
    if "algorithm" in doc:
        algorithm = r.string(doc["algorithm"], "algorithm")
        if algorithm not in ALGORITHMS:
            r.fail("algorithm", _("unknown algorithm {algorithm!r} (known: {known})").format(algorithm=algorithm, known=", ".join(ALGORITHMS)))
        if algorithm == "psqi":
            _check_psqi_layout(r, item_count, optional, specs)

    # scales
    scales: list[Scale] = []
    by_key: dict[str, Scale] = {}
    for si, sd in enumerate(r.array(doc["scales"], "scales")):
        skey = f"scales[{si}]"
        r.table(sd, skey, _SCALE_KEYS, ("key", "method"))
        key = r.string(sd["key"], _join(skey, "key"), pattern=_KEY_RE)
        if key in by_key:
            r.fail(_join(skey, "key"), _("duplicate scale {key!r}").format(key=key))
        method = sd["method"]
        if method not in SCALE_METHODS:
            r.fail(_join(skey, "method"), _("{value!r} is not one of {allowed}").format(value=method, allowed=", ".join(SCALE_METHODS)))
        allowed = {
            "sum": ("items", "exclude"),
            "mean": ("items", "exclude"),
            "count": ("items", "exclude", "min", "max"),
            "mean_at_least": ("items", "exclude", "min", "max"),
            "scaled": ("source", "factor", "rounding"),
            "algorithm": ("range",),
        }[method]
        r.table(sd, skey, ("key", "method", "label") + allowed,
                {"scaled": ("source", "factor"), "algorithm": ("range",), "mean_at_least": ("min",)}.get(method, ()))
        label = r.label(sd["label"], _join(skey, "label")) if "label" in sd else None
        if method in ("sum", "mean", "count", "mean_at_least"):
            if "items" not in sd:
                r.fail(_join(skey, "items"), _('is required (a list of item numbers, or "all")'))
            if sd["items"] == "all":
                sitems = list(required)
            else:
                sitems = list(r.items(sd["items"], _join(skey, "items"), all_items))
            if "exclude" in sd:
                excl = r.items(sd["exclude"], _join(skey, "exclude"), sitems, what=_("exclude must name items of the scale"))
                sitems = [i for i in sitems if i not in excl]
            if not sitems:
                r.fail(_join(skey, "items"), _("no items left"))
            for item in sitems:
                if item in optional:
                    r.fail(_join(skey, "items"), _("optional item {item} cannot be part of a scale").format(item=item))
                if specs[item].kind != "choice":
                    r.fail(_join(skey, "items"), _("item {item} is not a choice item").format(item=item))
            lo = r.number(sd["min"], _join(skey, "min")) if "min" in sd else None
            hi = r.number(sd["max"], _join(skey, "max")) if "max" in sd else None
            if method == "count" and lo is None and hi is None:
                r.fail(skey, _("a count scale needs min and/or max"))
            rng = _scale_range(method, [specs[i] for i in sitems], lo)
            scale = Scale(key, method, tuple(sitems), lo, hi, range=rng, integer=method in ("sum", "count"), label=label)
        elif method == "scaled":
            src = r.string(sd["source"], _join(skey, "source"))
            if src not in by_key:
                r.fail(_join(skey, "source"), _("no earlier scale {source!r}").format(source=src))
            factor = r.number(sd["factor"], _join(skey, "factor"))
            if factor <= 0:
                r.fail(_join(skey, "factor"), _("must be positive"))
            rounding = sd.get("rounding", "floor")
            if rounding not in ROUNDINGS:
                r.fail(_join(skey, "rounding"), _("{value!r} is not one of {allowed}").format(value=rounding, allowed=", ".join(ROUNDINGS)))
            s_lo, s_hi = by_key[src].range
            rng = (_round(s_lo * factor, rounding), _round(s_hi * factor, rounding))
            scale = Scale(key, method, source=src, factor=float(factor), rounding=rounding, range=rng,
                          integer=rounding != "none" or (by_key[src].integer and float(factor).is_integer()), label=label)
        else:
            if algorithm is None:
                r.fail(_join(skey, "method"), _("algorithm scales need a top-level algorithm key"))
            if key not in ALGORITHMS[algorithm]:
                r.fail(
                    _join(skey, "key"),
                    _("algorithm {algorithm} provides no {key!r} (it provides {provided})").format(
                        algorithm=algorithm, key=key, provided=", ".join(ALGORITHMS[algorithm])
                    ),
                )
            rd = r.array(sd["range"], _join(skey, "range"))
            if len(rd) != 2:
                r.fail(_join(skey, "range"), _("must be [lowest, highest]"))
            lo_, hi_ = (r.number(x, f"{_join(skey, 'range')}[{i}]") for i, x in enumerate(rd))
            if lo_ > hi_:
                r.fail(_join(skey, "range"), _("lowest is above highest"))
            scale = Scale(key, method, range=(lo_, hi_), integer=isinstance(lo_, int) and isinstance(hi_, int), label=label)
        scales.append(scale)
        by_key[key] = scale
    if missing.policy == "prorate":
        for s in scales:
            if s.method not in ("sum", "mean", "scaled"):
                r.fail("missing.policy", _("prorating cannot apply to scale {key!r} ({method})").format(key=s.key, method=s.method))

    bands = _parse_bands(r, doc["bands"], by_key, all_items)

    flags: list[Rule] = []
    for fi, fd in enumerate(r.array(doc["flags"], "flags", nonempty=False) if "flags" in doc else []):
        fkey = f"flags[{fi}]"
        r.table(fd, fkey, ("name", "critical", "any", "label", "text"), ("name", "any"))
        fname = r.string(fd["name"], _join(fkey, "name"), pattern=_KEY_RE)
        if fname in {f.name for f in flags}:
            r.fail(_join(fkey, "name"), _("duplicate flag {name!r}").format(name=fname))
        critical = r.boolean(fd.get("critical", False), _join(fkey, "critical"))
        conds = parse_rules(r, fd["any"], _join(fkey, "any"), ("item", "score", "band"))
        for ci, c in enumerate(conds):
            check_condition(r, c, f"{_join(fkey, 'any')}[{ci}]", items=all_items, scores=by_key, bands=bands.names)
        label = r.label(fd["label"], _join(fkey, "label")) if "label" in fd else None
        wording = r.label(fd["text"], _join(fkey, "text")) if "text" in fd else None
        flags.append(Rule(fname, conds, critical, label, wording))

    tiers: list[Rule] = []
    for ti, td in enumerate(r.array(doc["tiers"], "tiers", nonempty=False) if "tiers" in doc else []):
        tkey = f"tiers[{ti}]"
        r.table(td, tkey, ("level", "any"), ("level", "any"))
        level = td["level"]
        if level not in LEVELS:
            r.fail(_join(tkey, "level"), _("{value!r} is not one of {allowed}").format(value=level, allowed=", ".join(LEVELS)))
        if level in {t.name for t in tiers}:
            r.fail(_join(tkey, "level"), _("duplicate level {level!r}: put all its conditions in one entry").format(level=level))
        conds = parse_rules(r, td["any"], _join(tkey, "any"), _CONDITION_SUBJECTS)
        for ci, c in enumerate(conds):
            check_condition(r, c, f"{_join(tkey, 'any')}[{ci}]", items=all_items, scores=by_key,
                            bands=bands.names, flags=[f.name for f in flags])
        tiers.append(Rule(level, conds))

    return Instrument(
        code=code,
        name_zh=name["zh"],
        name_en=name["en"],
        version=version.strip(),
        item_count=item_count,
        optional_items=tuple(optional),
        accepted_item_counts=accepted,
        item_specs=specs,
        option_sets=sets,
        reverse_items=tuple(reverse),
        scales=tuple(scales),
        band_definition=bands,
        flag_rules=tuple(flags),
        tiers=tuple(tiers),
        missing=missing,
        algorithm=algorithm,
        description=description,
        source=source,
        display_name=display_name.strip(),
    )


def _parse_bands(r: _Reader, data: Any, scales: Mapping[str, Scale], all_items: list[int]) -> Bands:
    if not isinstance(data, dict):
        r.fail("bands", _("must be a table, not {type}").format(type=_tname(data)))
    if "ranges" in data or "scale" in data:
        r.table(data, "bands", ("scale", "ranges"), ("scale", "ranges"))
        skey = r.string(data["scale"], "bands.scale")
        if skey not in scales:
            r.fail("bands.scale", _("no scale {scale!r} (scales: {scales})").format(scale=skey, scales=", ".join(scales)))
        scale = scales[skey]
        if not scale.integer:
            r.fail("bands.scale", _("scale {scale!r} is not whole-numbered; band it with rules instead of ranges").format(scale=skey))
        ranges: list[BandRange] = []
        for i, bd in enumerate(r.array(data["ranges"], "bands.ranges")):
            bkey = f"bands.ranges[{i}]"
            r.table(bd, bkey, ("name", "min", "max", "label"), ("name", "min", "max"))
            name = r.string(bd["name"], _join(bkey, "name"), pattern=_KEY_RE)
            lo = r.integer(bd["min"], _join(bkey, "min"))
            hi = r.integer(bd["max"], _join(bkey, "max"))
            if lo > hi:
                r.fail(_join(bkey, "min"), _("min {min} is above max {max}").format(min=lo, max=hi))
            if name in {b.name for b in ranges}:
                r.fail(_join(bkey, "name"), _("duplicate band {name!r}").format(name=name))
            label = r.label(bd["label"], _join(bkey, "label")) if "label" in bd else None
            ranges.append(BandRange(name, lo, hi, label))
        order = sorted(range(len(ranges)), key=lambda i: ranges[i].min)
        for a, b in zip(order, order[1:]):
            prev, cur = ranges[a], ranges[b]
            if cur.min <= prev.max:
                r.fail(
                    f"bands.ranges[{b}]",
                    _("overlap: {band} {min}–{max} overlaps {other} {other_min}–{other_max}").format(
                        band=cur.name, min=cur.min, max=cur.max, other=prev.name, other_min=prev.min, other_max=prev.max
                    ),
                )
            if cur.min > prev.max + 1:
                r.fail(
                    f"bands.ranges[{b}]",
                    _("gap: no band covers {low}–{high} (between {before} and {after})").format(
                        low=prev.max + 1, high=cur.min - 1, before=prev.name, after=cur.name
                    ),
                )
        lo_s, hi_s = scale.range
        first, last = ranges[order[0]], ranges[order[-1]]
        if first.min > lo_s:
            r.fail(
                f"bands.ranges[{order[0]}]",
                _("gap: no band covers {low}–{high} (lowest possible {scale} is {lowest})").format(
                    low=_num(lo_s), high=first.min - 1, scale=skey, lowest=_num(lo_s)
                ),
            )
        if last.max < hi_s:
            r.fail(
                f"bands.ranges[{order[-1]}]",
                _("gap: no band covers {low}–{high} (highest possible {scale} is {highest})").format(
                    low=last.max + 1, high=_num(hi_s), scale=skey, highest=_num(hi_s)
                ),
            )
        return Bands(scale=skey, ranges=tuple(ranges))
    r.table(data, "bands", ("rules", "default", "default_label"), ("rules", "default"))
    rules: list[Rule] = []
    for i, bd in enumerate(r.array(data["rules"], "bands.rules")):
        bkey = f"bands.rules[{i}]"
        r.table(bd, bkey, ("name", "any", "label"), ("name", "any"))
        name = r.string(bd["name"], _join(bkey, "name"))
        if name in {b.name for b in rules}:
            r.fail(_join(bkey, "name"), _("duplicate band {name!r}").format(name=name))
        conds = parse_rules(r, bd["any"], _join(bkey, "any"), ("item", "score"))
        for ci, c in enumerate(conds):
            check_condition(r, c, f"{_join(bkey, 'any')}[{ci}]", items=all_items, scores=scales)
        label = r.label(bd["label"], _join(bkey, "label")) if "label" in bd else None
        rules.append(Rule(name, conds, label=label))
    default = r.string(data["default"], "bands.default")
    if default in {b.name for b in rules}:
        r.fail("bands.default", _("{name!r} is also a rule").format(name=default))
    dlabel = r.label(data["default_label"], "bands.default_label") if "default_label" in data else None
    return Bands(rules=tuple(rules), default=default, default_label=dlabel)


def _check_psqi_layout(r: _Reader, item_count: int, optional: tuple, specs: Mapping[int, ItemSpec]) -> None:
    if item_count != psqi.ITEM_COUNT or optional:
        r.fail("item_count", _("the psqi algorithm reads exactly {count} items").format(count=psqi.ITEM_COUNT))
    for item, (kind, unit) in psqi.FREE_ITEMS.items():
        if specs[item].kind != kind or specs[item].unit != unit:
            if unit:
                message = _("the psqi algorithm needs item {item} to be a {kind} in {unit}").format(item=item, kind=kind, unit=unit)
            else:
                message = _("the psqi algorithm needs item {item} to be a {kind}").format(item=item, kind=kind)
            r.fail("item_groups", message)
    for item in psqi.CHOICE_ITEMS:
        spec = specs[item]
        if spec.kind != "choice" or sorted(spec.option_set.values) != [0, 1, 2, 3]:  # type: ignore[union-attr]
            r.fail("item_groups", _("the psqi algorithm needs item {item} to be a 0–3 choice").format(item=item))


# --------------------------------------------------------------------------- loading


def load_definition(path: str | os.PathLike) -> Instrument:
    """Read and validate one TOML file."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InstrumentDefinitionError(_("{path}: not valid TOML: {error}").format(path=path, error=exc), hint=_("fix the file's syntax")) from None
    except OSError as exc:
        raise InstrumentDefinitionError(_("{path}: cannot read: {reason}").format(path=path, reason=exc.strerror or exc)) from None
    return parse_definition(doc, path)


def _load_dir(directory: Path) -> dict[str, Instrument]:
    found: dict[str, Instrument] = {}
    for path in sorted(directory.glob("*.toml")):
        inst = load_definition(path)
        if inst.code in found:
            raise InstrumentDefinitionError(
                _("{path}: code: {code!r} is also defined by {other}").format(path=path, code=inst.code, other=found[inst.code].source),
                hint=_("each instrument code may appear once per directory"),
            )
        found[inst.code] = inst
    return found


@lru_cache(maxsize=1)
def _builtins() -> tuple[tuple[str, Instrument], ...]:
    return tuple(_load_dir(BUILTIN_DIR).items())


def instrument_dirs_from_env(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The extra instrument directories named by ``MHTOOL_INSTRUMENTS`` (os.pathsep-separated)."""
    env = os.environ if environ is None else environ
    raw = env.get(ENV_VAR, "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def load_instruments(extra_dirs: Iterable[str | os.PathLike] | None = None) -> dict[str, Instrument]:
    """Built-in instruments, then each extra directory in turn (later ones override earlier)."""
    out = dict(_builtins())
    for d in extra_dirs or ():
        d = Path(d)
        if not d.is_dir():
            raise InvalidInput(
                _("instrument directory {path} does not exist").format(path=d),
                hint=_("create it or remove it from {variable}").format(variable=ENV_VAR),
            )
        out.update(_load_dir(d))
    return dict(sorted(out.items()))


def get_instrument(code: str, extra_dirs: Iterable[str | os.PathLike] | None = None) -> Instrument:
    instruments = load_instruments(extra_dirs)
    key = (code or "").strip().lower()
    if key not in instruments:
        raise NotFound(_("no instrument {code!r}").format(code=code), hint=_("known instruments: {known}").format(known=", ".join(instruments)))
    return instruments[key]
