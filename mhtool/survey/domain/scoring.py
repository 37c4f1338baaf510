"""Vectorised scoring of decoded answer sheets, and the screening policy.

Everything here works on whole columns: one numpy operation per scale, band, flag and
tier rule, whatever the number of rows. A row with any problem (an unreadable cell, a
missing answer the instrument's missing-item policy does not allow) is left out of every
result and only reported as a :class:`~mhtool.errors.Problem`.

The proposed level of a row is the most severe level whose tier rule matches (``none``
when none does). Tier rules come from the instrument definition; a store may override
them per instrument and level with a :class:`ScreeningPolicy`. A proposal is an
indication for a counselor to check, never a decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from mhtool.errors import InvalidInput, Problem
from mhtool.i18n import _, ngettext
from mhtool.domain.vocabulary import LEVEL_RANK, LEVELS, WATCH_LEVELS, highest
from mhtool.survey.domain import psqi
from mhtool.survey.domain.instruments import (
    Condition,
    Decoded,
    Instrument,
    Rule,
    _Reader,
    among,
    check_condition,
    load_instruments,
    parse_rules,
)

if TYPE_CHECKING:
    import pandas as pd

# Most severe first, as in mhtool.domain.labels.
LEVEL_ORDER: tuple[str, ...] = tuple(LEVELS)
_TIER_LEVELS = WATCH_LEVELS
_BY_RANK = np.array(sorted(LEVEL_RANK, key=LEVEL_RANK.__getitem__), dtype=object)
_ALGORITHMS = {"psqi": psqi.components}
_SCORE_ROUNDING = 4


def highest_level(levels: Iterable[str | None]) -> str:
    """The most severe of ``levels`` (``none`` for none at all); None entries are ignored."""
    given = [lvl for lvl in levels if lvl is not None]
    for lvl in given:
        if lvl not in LEVEL_RANK:
            raise InvalidInput(_("unknown level {level!r}").format(level=lvl), hint=_("levels are {levels}").format(levels=", ".join(LEVEL_ORDER)))
    return highest(given)


# --------------------------------------------------------------------------- policy


class ScreeningPolicy:
    """Per-store overrides of the instruments' tier rules.

    The data has the shape of the definition files' ``[[tiers]]``, keyed by instrument
    and level::

        {"phq9": {"orange": [{"score": "total", "min": 20}],
                  "yellow": [{"score": "total", "min": 10, "max": 19}]},
         "upi": {"yellow": []}}

    A level given for an instrument replaces that level's rules (an empty list switches
    the level off); levels and instruments not mentioned keep the definition's rules.
    """

    def __init__(self, overrides: Mapping[str, Mapping[str, Any]] | None = None):
        r = _Reader(_("screening policy"), InvalidInput, hint=_("fix the store's screening policy setting"))
        if overrides is not None and not isinstance(overrides, Mapping):
            r.fail("policy", _("must be a mapping of instrument code to levels, not {type}").format(type=type(overrides).__name__))
        data = dict(overrides or {})
        parsed: dict[str, dict[str, tuple[Condition, ...]]] = {}
        for code, levels in data.items():
            ckey = f"policy.{code}"
            if not isinstance(code, str) or not code.strip():
                r.fail(ckey, _("instrument codes must be non-empty strings"))
            r.table(levels, ckey, _TIER_LEVELS)
            parsed[code.strip().lower()] = {
                lvl: parse_rules(r, conds, f"{ckey}.{lvl}", ("item", "score", "band", "flag"))
                if conds != []
                else ()
                for lvl, conds in levels.items()
            }
        self._overrides = parsed
        self._reader = r

    @classmethod
    def coerce(cls, policy: ScreeningPolicy | Mapping[str, Any] | None) -> ScreeningPolicy:
        if isinstance(policy, ScreeningPolicy):
            return policy
        if policy is None or isinstance(policy, Mapping):
            return cls(policy)
        raise InvalidInput(_("a screening policy must be a mapping, not {type}").format(type=type(policy).__name__))

    def tiers_for(self, instrument: Instrument) -> tuple[Rule, ...]:
        """The tier rules in force for ``instrument``, most severe level first."""
        rules = {t.name: t.conditions for t in instrument.tiers}
        override = self._overrides.get(instrument.code, {})
        for lvl, conds in override.items():
            for i, cond in enumerate(conds):
                check_condition(
                    self._reader,
                    cond,
                    f"policy.{instrument.code}.{lvl}[{i}]",
                    items=instrument.items,
                    scores=instrument.score_keys,
                    bands=instrument.bands,
                    flags=instrument.flags,
                )
            rules[lvl] = conds
        return tuple(Rule(lvl, rules[lvl]) for lvl in _TIER_LEVELS if rules.get(lvl))

    def check(self, instruments: Mapping[str, Instrument] | None = None) -> ScreeningPolicy:
        """Fail now, naming the key, if any override does not fit its instrument (before a store saves it)."""
        instruments = load_instruments() if instruments is None else instruments
        for code in self._overrides:
            if code not in instruments:
                self._reader.fail(f"policy.{code}", _("no such instrument (known: {known})").format(known=", ".join(instruments)))
            self.tiers_for(instruments[code])
        return self

    def as_dict(self) -> dict:
        return {
            code: {lvl: [c.as_dict() for c in conds] for lvl, conds in levels.items()}
            for code, levels in self._overrides.items()
        }

    def effective(self, instruments: Mapping[str, Instrument] | None = None) -> dict:
        """Every instrument's rules in force, in the override format."""
        instruments = load_instruments() if instruments is None else instruments
        return {
            code: {t.name: [c.as_dict() for c in t.conditions] for t in self.tiers_for(inst)}
            for code, inst in instruments.items()
        }


def default_policy(instruments: Mapping[str, Instrument] | None = None) -> dict:
    """The definitions' own tier rules, in the :class:`ScreeningPolicy` format."""
    return ScreeningPolicy().effective(instruments)


# --------------------------------------------------------------------------- results


@dataclass
class ScoredSheet:
    """Scores of one answer sheet. Every per-row result covers ``valid_rows`` only."""

    instrument: str
    version: str
    scores: pd.DataFrame  # index = sheet row, columns = score keys (unrounded)
    band: pd.Series
    flags: pd.Series  # tuples of flag names
    proposed_level: pd.Series  # red / orange / yellow / none
    values: pd.DataFrame  # decoded form values; int64 columns where complete
    problems: list[Problem] = field(default_factory=list)
    valid_rows: pd.Index = field(default_factory=lambda: _no_rows())
    rows: pd.Index = field(default_factory=lambda: _no_rows())
    notes: list[str] = field(default_factory=list)  # warnings about the sheet as a whole, not errors

    def __len__(self) -> int:
        return len(self.valid_rows)

    @property
    def rejected_rows(self) -> pd.Index:
        return self.rows.difference(self.valid_rows, sort=False)

    def records(self) -> list[dict]:
        """One JSON-safe dict per valid row (``survey score --json``).

        Whole-number scores are ints; others are floats rounded to 4 decimals for display
        only: bands, flags and levels were decided on the unrounded values.
        """
        keys = list(self.scores.columns)
        cols, bands, flags, _ranks = _score_lists({k: self.scores[k].to_numpy() for k in keys}, keys, self.band, self.flags, [])
        levels = self.proposed_level.tolist()
        code, version = self.instrument, self.version
        return [
            {
                "row": int(row),
                "instrument": code,
                "version": version,
                "scores": {k: c[i] for k, c in zip(keys, cols)},
                "band": bands[i],
                "flags": list(flags[i]),
                "proposed_level": levels[i],
            }
            for i, row in enumerate(self.valid_rows.tolist())
        ]


# --------------------------------------------------------------------------- engine


def score_raw(
    instrument: Instrument,
    raw: pd.DataFrame,
    mode: str = "auto",
    policy: ScreeningPolicy | Mapping[str, Any] | None = None,
) -> ScoredSheet:
    """Decode export cells (see :meth:`Instrument.decode`) and score them."""
    return score(instrument, instrument.decode(raw, mode), policy)


def score(
    instrument: Instrument,
    data: Decoded | pd.DataFrame,
    policy: ScreeningPolicy | Mapping[str, Any] | None = None,
) -> ScoredSheet:
    """Score decoded answers (or a table of form values, read in ``value`` mode)."""
    import pandas as pd

    if isinstance(data, Decoded):
        if data.instrument.code != instrument.code or data.instrument.version != instrument.version:
            raise InvalidInput(
                _("answers decoded for {decoded} {decoded_version} cannot be scored as {instrument} {version}").format(
                    decoded=data.instrument.code, decoded_version=data.instrument.version, instrument=instrument.code, version=instrument.version
                )
            )
        decoded = data
    elif isinstance(data, pd.DataFrame):
        decoded = instrument.decode(data, mode="value")
    else:
        raise InvalidInput(_("cannot score {type}; pass decoded answers or a table of form values").format(type=type(data).__name__))
    tiers = ScreeningPolicy.coerce(policy).tiers_for(instrument)
    rows = decoded.values.index
    done = score_rows(
        instrument, decoded.values.to_numpy(dtype=float), decoded.invalid.to_numpy(dtype=bool), rows.tolist(), decoded.items, list(decoded.problems), tiers
    )
    valid_rows = rows[done.valid] if not done.valid.all() else rows
    score_frame = pd.DataFrame(
        {s.key: done.scores[s.key] for s in instrument.scales}, index=valid_rows, columns=list(instrument.score_keys), copy=False
    )
    return ScoredSheet(
        instrument=instrument.code,
        version=instrument.version,
        scores=score_frame,
        band=pd.Series(done.band, index=valid_rows, name="band"),
        flags=pd.Series(done.flags, index=valid_rows, name="flags", dtype=object),
        proposed_level=pd.Series(_BY_RANK[done.rank], index=valid_rows, name="proposed_level"),
        values=_values_frame(done.values, valid_rows, done.items),
        problems=done.problems,
        valid_rows=valid_rows,
        rows=rows,
        notes=done.notes,
    )


@dataclass
class ScoredRows:
    """Scores of some rows as numpy arrays, no table built: what :func:`score` wraps in pandas, and what an import keeps per chunk.

    Per-row results cover the rows without problems (``valid``), in order.
    """

    instrument: str
    version: str
    rows: list[int]  # every row given (sheet row numbers)
    valid: np.ndarray  # bool per row given
    scores: dict[str, np.ndarray]  # score key → unrounded scores (int64 for integer scales)
    score_keys: tuple[str, ...]
    band: np.ndarray
    flags: np.ndarray  # a tuple of flag names per row
    rank: np.ndarray  # the proposed level's rank (LEVEL_RANK)
    values: np.ndarray  # decoded form values of the items present (float, NaN = unanswered)
    items: tuple[int, ...]  # the items present, in instrument order
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.valid_rows: list[int] = [r for r, ok in zip(self.rows, self.valid.tolist()) if ok]
        self._lists: list[list] | None = None
        self._item_keys = [str(item) for item in self.items]
        self._whole = False

    def compact(self) -> ScoredRows:
        """Keep the form values as small integers when all are whole (the usual sheet): a census holds a chunk's scores per chunk."""
        values = self.values
        if self._whole or not values.size:
            return self
        with np.errstate(invalid="ignore"):
            if np.isnan(values).any() or not bool((values == np.floor(values)).all()):
                return self
        low, high = values.min(), values.max()
        kind = next((t for t in (np.int8, np.int16, np.int32, np.int64) if np.iinfo(t).min <= low and high <= np.iinfo(t).max), None)
        if kind is None:
            return self
        self.values = values.astype(kind)
        self._whole = True
        return self

    def __len__(self) -> int:
        return len(self.valid_rows)

    @cached_property
    def finite(self) -> bool:
        """No score is NaN or infinite, and no answer infinite (an unanswered item's NaN is None in :meth:`answers`)."""
        scores = all(np.isfinite(c).all() for c in map(np.asarray, self.scores.values()) if c.dtype.kind == "f")
        return bool(scores and (self._whole or not np.isinf(self.values).any()))

    def level(self, i: int) -> str:
        return _BY_RANK[self.rank[i]]

    def record(self, i: int) -> dict:
        """The ``i``-th scored row as ``survey score --json`` shows it (see :meth:`ScoredSheet.records`)."""
        if self._lists is None:
            self._lists = _score_lists(self.scores, self.score_keys, self.band, self.flags, self.rank)
        cols, bands, flags, levels = self._lists
        return {
            "row": int(self.valid_rows[i]),
            "instrument": self.instrument,
            "version": self.version,
            "scores": {k: c[i] for k, c in zip(self.score_keys, cols)},
            "band": bands[i],
            "flags": list(flags[i]),
            "proposed_level": levels[i],
        }

    def answers(self, i: int) -> dict:
        """The ``i``-th scored row's form values by item (``"1"`` …): whole numbers as int, unanswered as None."""
        if self._whole:
            # Whole-number answers become ints in one step rather than cell by cell.
            return dict(zip(self._item_keys, self.values[i].tolist()))
        return {item: (None if v != v else (int(v) if v.is_integer() else v)) for item, v in zip(self._item_keys, self.values[i].tolist())}


def _score_lists(scores: Mapping[str, np.ndarray], keys: Iterable[str], band, flags, rank) -> tuple[list, list, list, list]:
    """Per-row Python values of scores (integers as int, others rounded for display), bands, flags and levels."""
    cols = []
    for k in keys:
        col = np.asarray(scores[k])
        if np.issubdtype(col.dtype, np.integer):
            cols.append(col.tolist())
        else:
            cols.append(np.round(col.astype(float), _SCORE_ROUNDING).tolist())
    return cols, np.asarray(band).tolist(), np.asarray(flags).tolist(), _BY_RANK[np.asarray(rank, dtype=np.int64)].tolist()


def score_rows(
    instrument: Instrument,
    values: np.ndarray,
    invalid: np.ndarray,
    rows: list[int],
    present: Sequence[int],
    problems: list[Problem],
    tiers: Sequence[Rule],
) -> ScoredRows:
    """Score decoded form values (rows × ``present`` items, instrument order) with numpy alone.

    ``invalid`` marks the cells the decoder could not read and ``problems`` are
    its problems, to which the missing answers the policy refuses are added.
    ``tiers``: :meth:`ScreeningPolicy.tiers_for`, computed once per sheet.
    """
    items = instrument.items
    col = {item: j for j, item in enumerate(items)}
    present = tuple(present)
    present_idx = [col[i] for i in present]
    n = len(rows)

    if list(present) == list(items):
        V = np.asarray(values, dtype=float)
        invalid = np.asarray(invalid, dtype=bool)
    else:
        V = np.full((n, len(items)), np.nan, order="F")
        V[:, present_idx] = values
        full_invalid = np.zeros((n, len(items)), dtype=bool, order="F")
        full_invalid[:, present_idx] = invalid
        invalid = full_invalid

    # missing required answers the policy does not allow
    req = [col[i] for i in instrument.required_items]
    missing = np.isnan(_block(V, req)) & ~_block(invalid, req)
    allowed = instrument.missing.max_missing if instrument.missing.policy == "prorate" else 0
    n_missing = missing.sum(axis=1)
    refused = missing & (n_missing > allowed)[:, None] if allowed else missing
    refused_rows = refused.any(axis=1)
    if refused_rows.any():
        if allowed:
            message = ngettext(
                "missing answer to {item} ({instrument} allows at most {allowed} missing item; this row has {n})",
                "missing answer to {item} ({instrument} allows at most {allowed} missing items; this row has {n})",
                allowed,
            )
        else:
            message = _("missing answer to {item}")
        for ri, cj in zip(*np.nonzero(refused)):
            spec = instrument.item_specs[instrument.required_items[cj]]
            problems.append(
                Problem(
                    message.format(item=spec.display, instrument=instrument.code, allowed=allowed, n=int(n_missing[ri])),
                    row=rows[ri],
                    column=spec.label,
                )
            )
        row_pos = {r: i for i, r in enumerate(rows)}
        col_pos = {instrument.item_label(i): j for j, i in enumerate(items)}
        problems.sort(key=lambda p: (row_pos.get(p.row, -1), col_pos.get(p.column, -1)))

    bad = refused_rows | invalid.any(axis=1)
    valid = ~bad
    Vv = V[valid] if bad.any() else V

    scores = _scales(instrument, Vv, col)
    band = _bands(instrument, Vv, col, scores)
    flag_matrix = np.zeros((len(Vv), len(instrument.flag_rules)), dtype=bool)
    ctx = _Context(Vv, col, scores, band, flag_matrix, {f.name: k for k, f in enumerate(instrument.flag_rules)})
    for k, rule in enumerate(instrument.flag_rules):
        flag_matrix[:, k] = ctx.any(rule.conditions)
    rank = np.zeros(len(Vv), dtype=np.int64)
    for rule in tiers:
        rank = np.maximum(rank, np.where(ctx.any(rule.conditions), LEVEL_RANK[rule.name], 0))

    return ScoredRows(
        instrument=instrument.code,
        version=instrument.version,
        rows=list(rows),
        valid=valid,
        scores={s.key: scores[s.key] for s in instrument.scales},
        score_keys=tuple(instrument.score_keys),
        band=band,
        flags=_flag_tuples(flag_matrix, instrument.flags),
        rank=rank,
        values=Vv if len(present) == len(items) else Vv[:, present_idx],
        items=present,
        problems=problems,
        notes=partial_block_notes(instrument, present),
    )


def partial_block_notes(instrument: Instrument, present: Iterable[int]) -> list[str]:
    """A warning when a sheet carries only part of the optional (supplementary) items.

    Rules on the optional items count the ones present: with UPI items 61–63 and
    no 64, "2 or more of 61–64 answered yes" is 2 or more of 61–63. A sheet with
    none of them is the short form and needs no warning.
    """
    have = set(present)
    kept = [i for i in instrument.optional_items if i in have]
    absent = [i for i in instrument.optional_items if i not in have]
    if not kept or not absent:
        return []
    message = ngettext(
        "{instrument}: supplementary item {absent} not in the sheet; the rules on items {first}–{last} count the {count} present ({present})",
        "{instrument}: supplementary items {absent} not in the sheet; the rules on items {first}–{last} count the {count} present ({present})",
        len(absent),
    )
    return [
        message.format(
            instrument=instrument.code,
            absent=", ".join(map(str, absent)),
            first=instrument.optional_items[0],
            last=instrument.optional_items[-1],
            count=len(kept),
            present=", ".join(map(str, kept)),
        )
    ]


def _block(X: np.ndarray, idx: list[int]) -> np.ndarray:
    """Columns ``idx`` of X; a view when they are contiguous (the common "all items")."""
    if idx and idx == list(range(idx[0], idx[0] + len(idx))):
        return X[:, idx[0]: idx[0] + len(idx)]
    return X[:, idx]


def _in_range(X: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        m = ~np.isnan(X)
        if lo is not None:
            m &= X >= lo
        if hi is not None:
            m &= X <= hi
    return m


def _scales(instrument: Instrument, Vv: np.ndarray, col: dict[int, int]) -> dict[str, np.ndarray]:
    S = Vv
    if instrument.reverse_items:
        S = Vv.copy()
        for item in instrument.reverse_items:
            oset = instrument.item_specs[item].option_set
            j = col[item]
            S[:, j] = (oset.lowest + oset.highest) - S[:, j]
    prorate = instrument.missing.policy == "prorate"
    out: dict[str, np.ndarray] = {}
    algorithm: dict[str, np.ndarray] | None = None
    with np.errstate(invalid="ignore", divide="ignore"):
        for sc in instrument.scales:
            if sc.method in ("sum", "mean", "count", "mean_at_least"):
                idx = [col[i] for i in sc.items]
                X = _block(S, idx)
                k = len(idx)
                if sc.method == "sum":
                    if prorate:
                        answered = (~np.isnan(X)).sum(axis=1)
                        total = np.nansum(X, axis=1)
                        # half-up rounding of the prorated sum; a complete row is its plain sum
                        x = np.where(answered == k, total, np.floor(total / answered * k + 0.5))
                    else:
                        x = X.sum(axis=1)
                elif sc.method == "mean":
                    x = np.nanmean(X, axis=1) if prorate else X.sum(axis=1) / k
                elif sc.method == "count":
                    x = _in_range(X, sc.min, sc.max).sum(axis=1)
                else:
                    m = _in_range(X, sc.min, sc.max)
                    cnt = m.sum(axis=1)
                    x = np.where(cnt > 0, np.where(m, X, 0.0).sum(axis=1) / np.maximum(cnt, 1), 0.0)
            elif sc.method == "scaled":
                src = out[sc.source].astype(float) * sc.factor
                if sc.rounding == "floor":
                    # the rounding to 9 places keeps float noise from flooring 63.0 to 62
                    x = np.floor(np.round(src, 9))
                elif sc.rounding == "round":
                    x = np.floor(src + 0.5)
                else:
                    x = src
            else:
                if algorithm is None:
                    algorithm = _ALGORITHMS[instrument.algorithm](
                        {item: Vv[:, j] for item, j in col.items()}
                    )
                x = algorithm[sc.key]
            out[sc.key] = np.asarray(x).astype(np.int64) if sc.integer else np.asarray(x, dtype=float)
    return out


class _Context:
    """What conditions look at, for the valid rows of one sheet."""

    def __init__(self, Vv, col, scores, band, flags, flag_index):
        self.Vv, self.col, self.scores, self.band = Vv, col, scores, band
        self.flags, self.flag_index = flags, flag_index

    def test(self, c: Condition) -> np.ndarray:
        n = len(self.Vv)
        if c.kind == "band":
            return among(self.band, c.targets)
        if c.kind == "flag":
            return self.flags[:, [self.flag_index[t] for t in c.targets]].any(axis=1)
        if c.kind == "item":
            X = _block(self.Vv, [self.col[t] for t in c.targets])
        else:
            X = np.column_stack([self.scores[t].astype(float) for t in c.targets]) if n else np.zeros((0, len(c.targets)))
        count = _in_range(X, c.min, c.max).sum(axis=1)
        ok = count >= c.count_min
        if c.count_max is not None:
            ok &= count <= c.count_max
        return ok

    def any(self, conditions: Iterable[Condition]) -> np.ndarray:
        m = np.zeros(len(self.Vv), dtype=bool)
        for c in conditions:
            m |= self.test(c)
        return m


def _bands(instrument: Instrument, Vv: np.ndarray, col: dict[int, int], scores: dict[str, np.ndarray]) -> np.ndarray:
    bd = instrument.band_definition
    n = len(Vv)
    if bd.scale is not None:
        x = scores[bd.scale]
        out = np.full(n, "", dtype=object)
        for br in bd.ranges:
            out[(x >= br.min) & (x <= br.max)] = br.name
        return out
    ctx = _Context(Vv, col, scores, None, None, {})
    out = np.full(n, bd.default, dtype=object)
    decided = np.zeros(n, dtype=bool)
    for rule in bd.rules:
        m = ctx.any(rule.conditions) & ~decided
        out[m] = rule.name
        decided |= m
    return out


def _flag_tuples(flags: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    n = len(flags)
    if not names:
        empty = np.empty(1, dtype=object)
        empty[0] = ()
        return empty[np.zeros(n, dtype=np.int64)]
    code = flags.astype(np.int64) @ (1 << np.arange(len(names), dtype=np.int64))
    uniq, inverse = np.unique(code, return_inverse=True)
    table = np.empty(len(uniq), dtype=object)
    for i, u in enumerate(uniq.tolist()):
        table[i] = tuple(name for b, name in enumerate(names) if u >> b & 1)
    return table[inverse.reshape(-1)]


def _no_rows() -> pd.Index:
    import pandas as pd

    return pd.Index([], dtype=np.int64)


def _values_frame(X: np.ndarray, index: pd.Index, items: tuple[int, ...]) -> pd.DataFrame:
    import pandas as pd

    columns = pd.Index(items, name="item")
    if X.size == 0:
        return pd.DataFrame(X, index=index, columns=columns)
    with np.errstate(invalid="ignore"):
        whole = ~np.isnan(X).any(axis=0) & (X == np.floor(X)).all(axis=0)
    if whole.all():
        return pd.DataFrame(X.astype(np.int64, order="F"), index=index, columns=columns, copy=False)
    frame = pd.DataFrame(X, index=index, columns=columns)
    ints = [c for c, w in zip(items, whole) if w]
    return frame.astype({c: np.int64 for c in ints}) if ints else frame
