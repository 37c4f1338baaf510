"""k-anonymity of what a redacted report shows: coarsen, withhold a row, or refuse a form.

Pure. A redacted table that lists persons keeps no name and no number, but a
row can still single someone out by what is left: the only 二级 student of
法学院's 2025级 girls is one person, whoever reads the list. The rule is that
every such row shares its *quasi-identifiers* (:data:`QUASI_IDENTIFIERS`, the
ones of them the table has) with at least :data:`K_ANONYMITY` - 1 other rows
of the same table.

Where a row would be alone, the table is coarsened, one rung at a time and
only as far as needed (:data:`LADDER`):

1. gender is left out of the table;
2. grade reads 其他 for the rows that are still alone (and for as many others
   as it takes to make the 其他 group large enough);
3. college likewise, or else
4. the watch levels (一级/二级/三级) of rows still alone read 关注 — whichever
   of the two is enough on its own (college first), both when neither is.

A column that reads 其他 on every row carries nothing and is left out. The
level column never is: it is what the report is about. A row still alone after
the last rung is a row that cannot be published without identifying someone:
it is left out of the copy (suppressed), and the sheet says how many rows were
withheld, so the office still gets every other figure.

A form (one person, the crisis report) cannot be compared with other rows;
its quasi-identifiers are instead checked against the population the reader
could match them with (every student of the store): the same rungs apply
until at least :data:`K_ANONYMITY` students share what the form still shows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mhtool.domain.vocabulary import WATCH_LEVELS
from mhtool.errors import UsageError
from mhtool.i18n import _

# Every group of rows alike on the quasi-identifiers holds at least this many rows.
K_ANONYMITY = 2
QUASI_IDENTIFIERS: tuple[str, ...] = ("college", "grade", "gender", "level")
# The rungs, in the order they are tried: (quasi-identifier, how it is coarsened).
LADDER: tuple[tuple[str, str], ...] = (("gender", "drop"), ("grade", "other"), ("college", "other"), ("level", "watched"))

# Placeholders the coarsened cells hold until the caller shows them in the report's language.
OTHER = "\x00other"
WATCHED = "watched"


class NotAnonymous(UsageError):
    """A redacted report that would still single someone out; nothing is written."""


@dataclass
class Coarsened:
    """What :func:`anonymise_rows` did: the rows, and which rungs it used."""

    rows: list[list]
    dropped: set[str] = field(default_factory=set)
    rungs: list[str] = field(default_factory=list)
    suppressed: int = 0  # rows left out because nothing short of leaving them out hides them


def _key(row: Sequence, idx: Sequence[int]) -> tuple:
    return tuple(row[i] for i in idx)


def small_groups(rows: Iterable[Sequence], idx: Sequence[int], k: int = K_ANONYMITY) -> list[tuple]:
    """The quasi-identifier values shared by fewer than ``k`` rows (empty when the rows are k-anonymous)."""
    counts = Counter(_key(r, idx) for r in rows)
    return sorted((key for key, n in counts.items() if n < k), key=repr)


def anonymise_rows(keys: Sequence[str], rows: Sequence[Sequence], *, k: int = K_ANONYMITY) -> Coarsened:
    """Coarsen ``rows`` (cells in the order of ``keys``) until every row has ``k - 1`` look-alikes.

    Only the columns of :data:`QUASI_IDENTIFIERS` are compared and changed;
    coarsened cells hold :data:`OTHER` or :data:`WATCHED`. Rows still alone
    after the last rung are suppressed (counted in ``suppressed``).
    """
    present = [q for q in QUASI_IDENTIFIERS if q in keys]
    if not present or not rows:
        return Coarsened([list(r) for r in rows])
    out = None
    for rungs in _CHOICES:
        out = _climb(keys, rows, present, rungs, k)
        if not small_groups(out.rows, _idx(keys, present, out), k):
            return out
    idx = _idx(keys, present, out)
    left = set(small_groups(out.rows, idx, k))
    kept = [r for r in out.rows if _key(r, idx) not in left]
    out.suppressed = len(out.rows) - len(kept)
    out.rows = kept
    out.rungs.append("suppress")
    return out


# Which rungs to climb, tried in this order until the rows are k-anonymous: gender and
# grade go first; then college or level, whichever alone is enough (college first, as the
# level is what the report is about); both only when neither is.
_CHOICES: tuple[tuple[str, ...], ...] = (
    (),
    ("gender",),
    ("gender", "grade"),
    ("gender", "grade", "college"),
    ("gender", "grade", "level"),
    ("gender", "grade", "college", "level"),
)


def _idx(keys: Sequence[str], present: list[str], out: Coarsened) -> list[int]:
    return [keys.index(q) for q in present if q not in out.dropped]


def _climb(keys: Sequence[str], rows: Sequence[Sequence], present: list[str], rungs: tuple[str, ...], k: int) -> Coarsened:
    """The rows with the chosen rungs of :data:`LADDER` applied in order, each only while some row is alone."""
    out = Coarsened([list(r) for r in rows])
    for attr, how in LADDER:
        if attr not in rungs or attr not in present:
            continue
        if not small_groups(out.rows, _idx(keys, present, out), k):
            break
        a = keys.index(attr)
        if how == "drop":
            out.dropped.add(attr)
        else:
            _recode(out.rows, a, [i for i in _idx(keys, present, out) if i != a], k, how)
            if how == "other" and all(r[a] == OTHER for r in out.rows):
                out.dropped.add(attr)
        out.rungs.append(attr)
    return out


def _recode(rows: list[list], a: int, others: list[int], k: int, how: str) -> None:
    """Coarsen column ``a`` of the rows that are alone, then grow each coarse group to ``k`` rows.

    A coarse group too small to hide in is joined by the smallest remaining
    group of rows that agree with it on the other quasi-identifiers, so the
    fewest cells change.
    """
    coarse = OTHER if how == "other" else WATCHED

    def coarsenable(row) -> bool:
        return row[a] != coarse and (how == "other" or row[a] in WATCH_LEVELS)

    counts = Counter(_key(r, [a, *others]) for r in rows)
    for r in rows:
        if counts[_key(r, [a, *others])] < k and coarsenable(r):
            r[a] = coarse
    changed = True
    while changed:
        changed = False
        by_rest: dict[tuple, list[list]] = defaultdict(list)
        for r in rows:
            by_rest[_key(r, others)].append(r)
        for members in by_rest.values():
            n = sum(1 for r in members if r[a] == coarse)
            if not 0 < n < k:
                continue
            sizes = Counter(r[a] for r in members if coarsenable(r))
            if not sizes:
                continue
            smallest = min(sizes, key=lambda v: (sizes[v], repr(v)))
            for r in members:
                if r[a] == smallest and coarsenable(r):
                    r[a] = coarse
            changed = True


def anonymise_person(values: Mapping[str, object], population: Iterable[Mapping[str, object]], *, k: int = K_ANONYMITY, what: str | None = None) -> Coarsened:
    """Coarsen one person's quasi-identifiers until ``k`` people of ``population`` share them.

    ``values`` holds the quasi-identifiers the form shows; the result's single
    row holds them in :data:`QUASI_IDENTIFIERS` order, coarsened as in
    :func:`anonymise_rows`. ``what`` names the form in the refusal (default: "a form").
    """
    present = [q for q in QUASI_IDENTIFIERS if q in values]
    row = [values.get(q) for q in QUASI_IDENTIFIERS]
    out = Coarsened([row])
    if not present:
        return out
    people = [[_norm(p.get(q)) for q in QUASI_IDENTIFIERS] for p in population]

    def matches() -> int:
        n = 0
        for p in people:
            for i, q in enumerate(QUASI_IDENTIFIERS):
                if q not in present or q in out.dropped or row[i] == OTHER:
                    continue
                if row[i] == WATCHED:
                    if p[i] not in WATCH_LEVELS:
                        break
                elif p[i] != _norm(row[i]):
                    break
            else:
                n += 1
        return n

    for attr, how in LADDER:
        if matches() >= k:
            return out
        if attr not in present:
            continue
        i = QUASI_IDENTIFIERS.index(attr)
        if how == "drop" or how == "other":
            out.dropped.add(attr)
            row[i] = OTHER
        elif row[i] in WATCH_LEVELS:
            row[i] = WATCHED
        else:
            continue
        out.rungs.append(attr)
    if matches() < k:
        raise NotAnonymous(
            _(
                "--redact: {what} describes someone fewer than {k} students of the store resemble, even by watch level alone; nothing was written"
            ).format(what=what if what is not None else _("a form"), k=k),
            hint=_("this report cannot be de-identified; keep it inside the center without --redact"),
        )
    return out


def _norm(value: object) -> object:
    return str(value).strip() if isinstance(value, str) else value


__all__ = ["K_ANONYMITY", "QUASI_IDENTIFIERS", "LADDER", "NotAnonymous", "Coarsened", "anonymise_rows", "anonymise_person", "small_groups", "OTHER", "WATCHED"]
