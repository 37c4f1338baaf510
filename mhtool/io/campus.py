"""Reading campus-system exports (门禁, 一卡通, 教务) into per-person daily facts.

A term of dorm passes for 30,000 students is about 20 million rows; the rules
need a handful of facts per person and day. So the raw rows are aggregated as
they are read and never kept: what leaves this module is a plain dict with the
fields of :class:`mhtool.signals.domain.facts.Aggregate` (``source``,
``first_day``, ``last_day``, ``rows``, ``people``, ``school``,
``unmatched_note``). ``mhtool.io`` sits below the features, so it returns the
dict and the signals use case builds the dataclass.

Layouts are TOML profiles (``campus_profiles/*.toml``, and the folders in
``MHTOOL_CAMPUS_PROFILES``): for each field the header texts that mean it,
which fields a file must have, and the codes of the source (direction codes,
canteen merchants, grade words). ``profile="auto"`` picks the profile whose
required fields the header row has; a header that fits another source's
profile is refused as a file from the wrong system.

The engine is DuckDB, in memory: a CSV in UTF-8 is read by DuckDB's own
``read_csv`` (every column as text, then parsed and checked in SQL), because
its parallel reader and hash aggregation are an order of magnitude faster than
any row loop and stream the file in constant memory. A CSV in GBK and
workbooks are decoded in Python (workbooks through :mod:`mhtool.io.readers`)
and handed to DuckDB chunk by chunk as pandas frames. The connection is locked
down before the first row is read:

- ``temp_directory = ''``: DuckDB may not spill to disk; a file that does not
  fit in ``memory_limit`` fails instead (no plaintext row ever reaches a
  temporary file);
- ``enable_external_access = false`` with ``allowed_paths`` = the one file:
  nothing else can be read or written (no ``COPY``, no extension download);
- ``threads = 2``, ``preserve_insertion_order = false``, and the configuration
  is locked.

Facts per source (dates are ISO strings):

- dorm: ``{"nights": {day: 1 | 0}}`` for every night judged. A night D is
  judged when the file covers D 23:30 to D+1 05:00 (its first pass is at or
  before D 23:30, its last at or after D+1 05:00) and the person has a pass at
  or before D 23:30 (in the file). It is 1 (out) when the latest such pass is
  an exit and no entry follows before 05:00 on D+1. A pass at exactly 23:30:00
  counts as at the cut-off; an entry at exactly 05:00:00 is too late. Two
  passes in the same second: the entry is taken as the later one.
- card: ``{"days": {day: [meals, spend_cents]}}`` for every day from the file's
  first to its last transaction (``[0, 0]`` on days without canteen meals),
  for everyone in the file; ``school = {"days": {day: cents}}`` is, per day,
  the median over the people who ate in a canteen that day of their average
  spend per meal (rounded to whole cents).
- academic: ``{"courses": [{term, course, credits, score, passed, kind}]}``.

Person keys are the code as in the file: a student number (normalised by
:func:`mhtool.domain.student_no.normalise`) or a card number (folded text).
With ``mapping=`` (a workbook or CSV with 学号 and 卡号/人员编号 columns) card
numbers become student numbers before any fact is computed, so a student whose
card was replaced mid-period is one person; card numbers are compared without
leading zeros (a spreadsheet that stored them as numbers dropped them).

Bad input is :class:`mhtool.errors.InvalidInput` (exit 3) carrying up to 50
:class:`~mhtool.errors.Problem` values (file, sheet, row as a spreadsheet
numbers it, column header, value): unknown direction codes, times, amounts or
meal counts that do not parse, missing required columns, an empty file, a card
that maps to two students, a file from the wrong source.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import mmap
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType

from mhtool.domain.dates import EARLIEST_DATE, LATEST_DATE
from mhtool.domain.student_no import normalise
from mhtool.errors import InvalidInput, Problem, UsageError
from mhtool.i18n import N_, _, ngettext
from mhtool.io.cells import cell_text, column_letter, fold_text, student_no
from mhtool.io.profiles import check_profile_head, header_key, read_profile_toml
from mhtool.io.readers import HEADER_SCAN_ROWS, _OLE2_MAGIC, _looks_like_html, _sniff_delimiter, read_sheet

__all__ = [
    "BUILTIN_DIR",
    "ENV_VAR",
    "MAX_PROBLEMS",
    "SOURCES",
    "CampusProfile",
    "load_campus_profiles",
    "plan",
    "read_campus",
    "read_card_mapping",
]

BUILTIN_DIR = Path(__file__).with_name("campus_profiles")
ENV_VAR = "MHTOOL_CAMPUS_PROFILES"
SOURCES = ("dorm", "card", "academic")
MAX_PROBLEMS = 50
# A cell at or beyond these is no real amount (yuan) or day's meal count: its row is refused, naming
# the cell, rather than summed (the sums are 64-bit integers of fen).
MAX_AMOUNT = 10**9
MAX_MEALS = 10**6

# DuckDB's budget: the week benchmark needs ~200 MB, a term of passes well under this.
MEMORY_LIMIT = "1GB"
THREADS = 2
CHUNK_ROWS = 200_000  # rows handed to DuckDB at once from Python (GBK text, workbooks)
_HEAD_BYTES = 1 << 18  # where the header row is looked for in a text file

SOURCE_LABELS = {
    "dorm": N_("a dorm access (门禁) export"),
    "card": N_("a campus card (一卡通) export"),
    "academic": N_("an academic office (教务) export"),
}

# What each layout can read, and which codes its profile must give.
LAYOUTS: Mapping[str, tuple[str | None, frozenset[str], frozenset[str]]] = MappingProxyType(
    {
        "passes": ("dorm", frozenset({"student_no", "card_no", "name", "device", "direction", "time", "date"}), frozenset({"in", "out"})),
        "transactions": (
            "card",
            frozenset({"student_no", "card_no", "name", "time", "date", "merchant", "amount", "type"}),
            frozenset({"canteen", "spending", "not_spending"}),
        ),
        "daily": ("card", frozenset({"student_no", "card_no", "name", "date", "meals", "spend"}), frozenset()),
        "results": (
            "academic",
            frozenset({"student_no", "name", "term", "year", "semester", "course", "credits", "score", "kind"}),
            frozenset({"passing", "failing", "deferred", "normal", "makeup", "retake"}),
        ),
        "mapping": ("mapping", frozenset({"student_no", "card_no", "name"}), frozenset()),
    }
)
_TOP_KEYS = frozenset({"name", "source", "layout", "title", "description", "required", "fields", "codes", "pass_mark"})


# ---------------------------------------------------------------- profiles


@dataclass(frozen=True, eq=False)
class CampusProfile:
    """One validated campus-export layout (see ``campus_profiles/*.toml``)."""

    name: str
    source: str  # dorm | card | academic | mapping
    layout: str  # passes | transactions | daily | results | mapping
    title: str
    description: str
    fields: Mapping[str, tuple[str, ...]]  # field -> header aliases, in order of preference
    required: tuple[tuple[str, ...], ...]  # each group: one of these fields must be present
    codes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    pass_mark: float = 60.0
    origin: str = "built-in"

    @cached_property
    def alias_index(self) -> dict[str, tuple[str, int]]:
        """Header key → (field, rank of the alias)."""
        index: dict[str, tuple[str, int]] = {}
        for fname, aliases in self.fields.items():
            for rank, alias in enumerate(aliases):
                index.setdefault(header_key(alias), (fname, rank))
        return index

    def map_header(self, cells: Sequence[object]) -> dict[str, int]:
        """Field -> 0-based column for one header row (the first alias listed wins a tie)."""
        index = self.alias_index
        found: list[tuple[int, int, str]] = []
        for j, cell in enumerate(cells):
            key = header_key(cell)
            if key and key in index:
                fname, rank = index[key]
                found.append((rank, j, fname))
        fields: dict[str, int] = {}
        for _rank, j, fname in sorted(found):
            fields.setdefault(fname, j)
        return dict(sorted(fields.items(), key=lambda kv: kv[1]))

    def missing(self, fields: Mapping[str, int]) -> list[tuple[str, ...]]:
        return [group for group in self.required if not any(f in fields for f in group)]


def _fail(origin: str, message: str) -> InvalidInput:
    return InvalidInput(
        _("campus import profile {source}: {message}").format(source=origin, message=message),
        hint=_("fix the profile file (see mhtool/io/campus_profiles/*.toml for examples)"),
    )


def _strings(origin: str, where: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(origin, _("{key} must be a non-empty list of non-empty strings").format(key=where))
    return tuple(v.strip() for v in value)


def _build_profile(data: object, origin: str) -> CampusProfile:
    name = check_profile_head(data, origin, _TOP_KEYS, _fail)
    layout = data.get("layout")
    if layout not in LAYOUTS:
        raise _fail(origin, _("layout must be one of {layouts}, not {layout!r}").format(layouts=", ".join(LAYOUTS), layout=layout))
    source, known_fields, needed_codes = LAYOUTS[layout]
    if data.get("source") != source:
        raise _fail(origin, _("a {layout} layout is for source {source}, not {given!r}").format(layout=layout, source=source, given=data.get("source")))
    for key in ("title", "description"):
        if key in data and not isinstance(data[key], str):
            raise _fail(origin, _("{key} must be a string").format(key=key))
    fields_data = data.get("fields")
    if not isinstance(fields_data, dict) or not fields_data:
        raise _fail(origin, _("[fields] must be a table of tables"))
    fields: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for fname, spec in fields_data.items():
        if fname not in known_fields:
            raise _fail(origin, _("field {field!r} is not read from a {layout} file; known: {known}").format(field=fname, layout=layout, known=", ".join(sorted(known_fields))))
        if not isinstance(spec, dict) or set(spec) - {"aliases"}:
            raise _fail(origin, _("[fields.{field}] must be a table with aliases only").format(field=fname))
        aliases = _strings(origin, f"[fields.{fname}] aliases", spec.get("aliases"))
        for alias in aliases:
            other = owner.setdefault(header_key(alias), fname)
            if other != fname:
                raise _fail(origin, _("alias {alias!r} is listed for both {first} and {second}").format(alias=alias, first=other, second=fname))
        fields[fname] = aliases
    required_data = data.get("required")
    if not isinstance(required_data, list) or not required_data:
        raise _fail(origin, _("required must be a list of lists of field names"))
    required: list[tuple[str, ...]] = []
    for group in required_data:
        names = _strings(origin, "required", group)
        for fname in names:
            if fname not in fields:
                raise _fail(origin, _("required names field {field!r}, which has no [fields.{field}]").format(field=fname))
        required.append(names)
    if not any(("student_no" in g or "card_no" in g) for g in required):
        raise _fail(origin, _("required must include the person: student_no (or card_no)"))
    codes_data = data.get("codes", {})
    if not isinstance(codes_data, dict):
        raise _fail(origin, _("[codes] must be a table of lists"))
    if set(codes_data) - needed_codes:
        raise _fail(origin, _("[codes] has unknown key(s) {keys}").format(keys=", ".join(sorted(set(codes_data) - needed_codes))))
    codes: dict[str, tuple[str, ...]] = {}
    for key in sorted(needed_codes):
        if key not in codes_data:
            raise _fail(origin, _("[codes] needs {key}").format(key=key))
        codes[key] = tuple(dict.fromkeys(fold_text(c).casefold() for c in _strings(origin, f"[codes] {key}", codes_data[key])))
    if layout == "passes" and set(codes["in"]) & set(codes["out"]):
        raise _fail(origin, _("[codes] in and out share {codes}").format(codes=", ".join(sorted(set(codes["in"]) & set(codes["out"])))))
    pass_mark = data.get("pass_mark", 60)
    if isinstance(pass_mark, bool) or not isinstance(pass_mark, (int, float)) or not 0 < pass_mark <= 100:
        raise _fail(origin, _("pass_mark must be a number above 0 and at most 100"))
    return CampusProfile(
        name=name,
        source=source,
        layout=layout,
        title=data.get("title", name),
        description=data.get("description", ""),
        fields=MappingProxyType(fields),
        required=tuple(required),
        codes=MappingProxyType(codes),
        pass_mark=float(pass_mark),
        origin=origin,
    )


def _read_profile_file(path: Path, origin: str) -> CampusProfile:
    return _build_profile(read_profile_toml(path, origin, _fail), origin)


@lru_cache(maxsize=1)
def _builtin() -> Mapping[str, CampusProfile]:
    out = {}
    for path in sorted(BUILTIN_DIR.glob("*.toml")):
        prof = _read_profile_file(path, f"built-in {path.stem}")
        out[prof.name] = prof
    return MappingProxyType(out)


def load_campus_profiles(env: Mapping[str, str] | None = None) -> dict[str, CampusProfile]:
    """Every campus profile by name: the built-in ones, then those in ``MHTOOL_CAMPUS_PROFILES`` folders (which replace by name)."""
    env = os.environ if env is None else env
    profiles = dict(_builtin())
    for folder in (Path(p) for p in env.get(ENV_VAR, "").split(os.pathsep) if p.strip()):
        if not folder.is_dir():
            raise InvalidInput(_("campus import profile folder {path} does not exist or is not a folder").format(path=folder))
        for path in sorted(folder.glob("*.toml")):
            prof = _read_profile_file(path, str(path))
            profiles[prof.name] = prof
    return profiles


# ---------------------------------------------------------------- the file and its header


def _check_source(source: str) -> str:
    if source not in SOURCES:
        raise UsageError(_("--source must be one of {sources}, not {source!r}").format(sources=", ".join(SOURCES), source=source))
    return source


@dataclass
class _File:
    """One input file: its format, and (for text) its encoding, delimiter and first records."""

    path: Path
    name: str
    format: str  # csv | xlsx | xls | html
    encoding: str | None = None  # Python codec for text files
    delimiter: str = ","
    head: list[list] = field(default_factory=list)  # first records (text) or all rows (workbook)
    head_lines: list[int] = field(default_factory=list)  # physical lines before each head record (text)
    complete: bool = False  # head holds the whole file
    sheet: str | None = None
    utf8_bad_line: int | None = None  # where DuckDB found bytes that are not UTF-8 (then the file is decoded as GB18030)


def _open(path: str | os.PathLike) -> _File:
    p = Path(path)
    name = p.name
    try:
        with open(p, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
            size = os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        raise InvalidInput(_("{file}: file not found ({path})").format(file=name, path=p)) from None
    except IsADirectoryError:
        raise InvalidInput(_("{file}: is a directory, not a file").format(file=name)) from None
    except OSError as exc:
        raise InvalidInput(_("{file}: cannot read the file ({reason})").format(file=name, reason=exc.strerror or exc)) from None
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise InvalidInput(_("{file}: the file is empty").format(file=name), hint=_("export the data again"))
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")) or head[:8] == _OLE2_MAGIC or _looks_like_html(head):
        raw = read_sheet(p)  # workbooks are bounded (about a million rows); the reader measures them first
        fmt = raw.format or "xlsx"
        return _File(p, name, fmt, head=raw.rows, complete=True, sheet=raw.sheet or None)
    complete = size <= len(head)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in head[:4096]:
        raise InvalidInput(_("{file}: is not a spreadsheet or a text (CSV) file").format(file=name), hint=_("export it as .xlsx, .xls or .csv"))
    else:
        encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
        except UnicodeDecodeError:
            encoding = "gb18030"
    text = _decode_head(name, head, encoding, complete)
    delimiter = _sniff_delimiter(text)
    if not complete:
        cut = text.rfind("\n")
        text = text[: cut + 1] if cut >= 0 else text
    records: list[list] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        while len(records) < HEADER_SCAN_ROWS + 5:
            before = reader.line_num
            rec = next(reader)
            lines.append(before)
            records.append([c if c.strip() else None for c in rec])
    except StopIteration:
        pass
    except csv.Error as exc:
        raise InvalidInput(_("{file}: cannot read the file as CSV ({error})").format(file=name, error=exc)) from None
    return _File(p, name, "csv", encoding=encoding, delimiter=delimiter, head=records, head_lines=lines, complete=complete)


def _decode_head(name: str, head: bytes, encoding: str, complete: bool) -> str:
    try:
        return codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
    except UnicodeDecodeError:
        raise InvalidInput(
            _("{file}: cannot decode the file as text (tried UTF-8 and GB18030 (GBK))").format(file=name),
            hint=_("save it as 'CSV UTF-8' or as .xlsx and import again"),
        ) from None


def _non_empty(row: Sequence[object]) -> bool:
    return any(c is not None and not (isinstance(c, str) and not c.strip()) for c in row)


def _labels(headers: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    for h in headers:
        counts[h] = counts.get(h, 0) + 1
    return [h if h and counts[h] == 1 else f"{column_letter(j)} {h}".strip() for j, h in enumerate(headers)]


@dataclass
class _Layout:
    """Where the header row is and what its columns mean under one profile."""

    profile: CampusProfile
    header_index: int  # 0-based index into the file's head records
    headers: list[str]
    fields: dict[str, int]

    @property
    def header_row(self) -> int:
        return self.header_index + 1

    @property
    def key_field(self) -> str:
        return "student_no" if "student_no" in self.fields else "card_no"


def _where(f: _File) -> str:
    return _("{file}, sheet {sheet}").format(file=f.name, sheet=f.sheet) if f.sheet else f.name


def _aliases(profile: CampusProfile, group: Sequence[str]) -> str:
    return " / ".join(a for fname in group for a in profile.fields[fname][:6])


def _find_layout(f: _File, source: str, profile: str | CampusProfile) -> _Layout:
    profiles = load_campus_profiles()
    scan = [(i, r) for i, r in enumerate(f.head[:HEADER_SCAN_ROWS]) if _non_empty(r)]
    if not scan:
        raise InvalidInput(_("{file}: the file is empty").format(file=f.name), hint=_("export the data again"))
    if isinstance(profile, CampusProfile) or profile != "auto":
        if isinstance(profile, CampusProfile):
            chosen = profile
        elif profile not in profiles or profiles[profile].source not in SOURCES:
            known = ", ".join(sorted(n for n, p in profiles.items() if p.source == source))
            raise UsageError(
                _("--profile: unknown campus import profile {name!r}").format(name=profile),
                hint=_("use one of: {profiles} (or auto)").format(profiles=known),
            )
        else:
            chosen = profiles[profile]
        if chosen.source != source:
            raise UsageError(
                _("--profile {profile} reads {kind}, not --source {source}").format(profile=chosen.name, kind=_(SOURCE_LABELS[chosen.source]), source=source)
            )
        candidates = [chosen]
    else:
        candidates = [p for p in profiles.values() if p.source in SOURCES]
    best_partial: tuple[int, int, CampusProfile, dict[str, int]] | None = None
    for i, row in scan:
        fitting = []
        for prof in candidates:
            fields = prof.map_header(row)
            if not prof.missing(fields):
                fitting.append((prof, fields))
            elif prof.source == source and fields:
                score = len(fields)
                if best_partial is None or score > best_partial[0]:
                    best_partial = (score, i, prof, fields)
        if not fitting:
            continue
        own = [(p, fl) for p, fl in fitting if p.source == source]
        if not own:
            other = max(fitting, key=lambda pf: len(pf[1]))[0]
            raise InvalidInput(
                _("{where}: the header row (row {row}) is that of {found} (profile {profile}), not {wanted}").format(
                    where=_where(f), row=i + 1, found=_(SOURCE_LABELS[other.source]), profile=other.name, wanted=_(SOURCE_LABELS[source])
                ),
                hint=_("import it with --source {source}, or check that you picked the right file").format(source=other.source),
            )
        own.sort(key=lambda pf: (-len(pf[1]), pf[0].name))
        prof, fields = own[0]
        headers = [cell_text(c) for c in row]
        return _Layout(prof, i, headers, fields)
    if best_partial is None:
        prof = candidates[0] if len(candidates) == 1 else next(p for p in profiles.values() if p.source == source)
        i = scan[0][0]
        fields = prof.map_header(scan[0][1])
    else:
        _score, i, prof, fields = best_partial
    wanted = "; ".join(_aliases(prof, g) for g in prof.missing(fields))
    raise InvalidInput(
        _("{where}: no header row with the columns of {kind} (profile {profile}); missing: {columns}").format(
            where=_where(f), kind=_(SOURCE_LABELS[source]), profile=prof.name, columns=wanted
        ),
        problems=[
            Problem(_("missing column: {columns}").format(columns=_aliases(prof, g)), file=f.name, sheet=f.sheet, row=i + 1)
            for g in prof.missing(fields)
        ],
        hint=_("rename the columns, or write a campus import profile for this layout (MHTOOL_CAMPUS_PROFILES)"),
    )


def plan(path: str | os.PathLike, source: str, profile: str = "auto") -> dict:
    """How a campus export would be read, for ``--dry-run``: nothing but the header row is looked at.

    Returns ``file``, ``sheet`` (``None`` for text), ``format``, ``encoding``
    (text files), ``engine`` (``duckdb read_csv``: DuckDB reads the file;
    ``python → duckdb``: Python decodes it and DuckDB aggregates; ``python``:
    academic results), ``header_row``
    (as a spreadsheet numbers it), ``profile``, ``source``, ``layout``, ``key``
    (``student_no`` or ``card_no``: what the person keys of :func:`read_campus`
    are, unless a mapping translates card numbers), ``fields`` (field → header
    text) and ``columns`` (one per header cell, left to right: ``column``
    letter, ``header``, ``field`` or ``None``, and ``read``: whether its values
    are read at all; names and devices are recognised but never read).
    """
    _check_source(source)
    f = _open(path)
    lay = _find_layout(f, source, profile)
    used = (_USED_FIELDS[lay.profile.layout] - {"student_no", "card_no"}) | {lay.key_field}
    by_column = {j: fname for fname, j in lay.fields.items()}
    columns = []
    for j, h in enumerate(lay.headers):
        fname = by_column.get(j)
        columns.append({"column": column_letter(j), "header": h, "field": fname, "read": fname in used})
    return {
        "file": f.name,
        "sheet": f.sheet,
        "format": f.format,
        "encoding": _ENCODING_NAMES.get(f.encoding) if f.encoding else None,
        "engine": _engine_name(f, lay),
        "header_row": lay.header_row,
        "profile": lay.profile.name,
        "source": lay.profile.source,
        "layout": lay.profile.layout,
        "key": lay.key_field if lay.profile.layout != "results" else "student_no",
        "fields": {fname: lay.headers[j] for fname, j in lay.fields.items()},
        "columns": columns,
    }


_ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "gb18030": "GB18030 (GBK)", "utf-16": "UTF-16"}
_USED_FIELDS = {
    "passes": frozenset({"student_no", "card_no", "direction", "time", "date"}),
    "transactions": frozenset({"student_no", "card_no", "time", "date", "merchant", "amount", "type"}),
    "daily": frozenset({"student_no", "card_no", "date", "meals", "spend"}),
    "results": frozenset({"student_no", "term", "year", "semester", "course", "credits", "score", "kind"}),
    "mapping": frozenset({"student_no", "card_no"}),
}
_GLOB_CHARS = frozenset("*?[]{}")


def _duckdb_reads(f: _File) -> bool:
    """A UTF-8 CSV is read by DuckDB itself (unless its path would be taken as a glob pattern)."""
    return f.format == "csv" and f.encoding in ("utf-8", "utf-8-sig") and not (_GLOB_CHARS & set(str(f.path)))


def _engine_name(f: _File, lay: _Layout) -> str:
    if lay.profile.layout == "results":
        return "python"
    return "duckdb read_csv" if _duckdb_reads(f) else "python → duckdb"


# ---------------------------------------------------------------- records read in Python


def _records(f: _File, lay: _Layout) -> Iterator[tuple[int, list]]:
    """(row as a spreadsheet numbers it, cells) for every non-empty row below the header."""
    if f.complete and f.format != "csv":
        for i in range(lay.header_index + 1, len(f.head)):
            row = f.head[i]
            if _non_empty(row):
                yield i + 1, row
        return
    try:
        fh = open(f.path, "rb")
    except OSError as exc:
        raise InvalidInput(_("{file}: cannot read the file ({reason})").format(file=f.name, reason=exc.strerror or exc)) from None
    with fh:
        text = io.TextIOWrapper(fh, encoding=f.encoding or "utf-8", newline="")
        reader = csv.reader(text, delimiter=f.delimiter)
        n = 0
        try:
            for rec in reader:
                n += 1
                if n <= lay.header_index + 1:
                    continue
                if rec and any(c.strip() for c in rec):
                    yield n, rec
        except UnicodeDecodeError:
            if f.utf8_bad_line is not None:
                message = _("{file}: line {line} is not UTF-8 text, and the file is not GB18030 (GBK) text either (it mixes encodings)").format(
                    file=f.name, line=f.utf8_bad_line)
            else:
                message = _("{file}: cannot decode the file as {encoding} (near line {line})").format(
                    file=f.name, line=reader.line_num + 1, encoding=_ENCODING_NAMES.get(f.encoding, f.encoding))
            raise InvalidInput(message, hint=_("save it as 'CSV UTF-8' or as .xlsx and import again")) from None
        except csv.Error as exc:
            raise InvalidInput(_("{file}: line {line} is not a well-formed CSV row ({error})").format(file=f.name, line=reader.line_num, error=exc)) from None


def _nonblank_rows(f: _File, lay: _Layout) -> Iterator[int]:
    """The spreadsheet row of every record below the header that is not a blank line (the records DuckDB numbers)."""
    with open(f.path, "rb") as fh:
        reader = csv.reader(io.TextIOWrapper(fh, encoding=f.encoding or "utf-8", newline="", errors="replace"), delimiter=f.delimiter)
        for n, rec in enumerate(reader, start=1):
            if n > lay.header_index + 1 and rec:
                yield n


def _text(v: object) -> str | None:
    if v is None:
        return None
    t = v.strip() if isinstance(v, str) else cell_text(v)
    return t or None


# ---------------------------------------------------------------- the engine


def _sql_text(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _sql_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(_sql_text(i) for i in items) + "]"


_MACROS = r"""
CREATE MACRO mh_ts(s) AS coalesce(
    try_cast(s AS TIMESTAMP),
    try_cast(translate(s, '/.年月日T', '---- ') AS TIMESTAMP),
    try_strptime(s, ['%Y%m%d%H%M%S', '%Y%m%d %H:%M:%S', '%Y%m%d %H:%M', '%Y%m%d%H%M']),
    CASE WHEN regexp_full_match(s, '\d{5}(\.\d+)?')
         THEN TIMESTAMP '1899-12-30 00:00:00' + to_seconds(CAST(round(CAST(s AS DOUBLE) * 86400) AS BIGINT)) END
);
CREATE MACRO mh_date(s) AS coalesce(
    try_cast(s AS DATE),
    try_cast(translate(s, '/.年月日', '----') AS DATE),
    CAST(try_strptime(s, '%Y%m%d') AS DATE),
    CAST(try_cast(s AS TIMESTAMP) AS DATE),
    CASE WHEN regexp_full_match(s, '\d{5}(\.0+)?')
         THEN CAST(DATE '1899-12-30' + CAST(floor(CAST(s AS DOUBLE)) AS INTEGER) AS DATE) END
);
CREATE MACRO mh_clock(s) AS coalesce(
    try_cast(s AS TIME),
    CAST(try_strptime(s, ['%H%M%S', '%H%M', '%H时%M分%S秒', '%H时%M分']) AS TIME),
    CASE WHEN regexp_full_match(s, '0?\.\d+|0')
         THEN TIME '00:00:00' + to_seconds(CAST(round(CAST(s AS DOUBLE) * 86400) AS BIGINT)) END
);
CREATE MACRO mh_in_range(t) AS t >= TIMESTAMP '{earliest}' AND t < TIMESTAMP '{latest}' + INTERVAL 1 DAY;
CREATE MACRO mh_money(s) AS try_cast(regexp_replace(s, '[¥￥元,\s]', '', 'g') AS DOUBLE);
CREATE MACRO mh_bounded(x, below) AS CASE WHEN abs(x) < below THEN x END;
"""


class _Engine:
    """One locked-down in-memory DuckDB connection (see the module docstring)."""

    def __init__(self, allowed: Sequence[str] = ()):
        import duckdb

        self.duckdb = duckdb
        self.con = duckdb.connect(
            ":memory:",
            config={
                "temp_directory": "",
                "memory_limit": MEMORY_LIMIT,
                "threads": THREADS,
                "preserve_insertion_order": False,
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            },
        )
        con = self.con
        if allowed:
            con.execute("SET allowed_paths = " + _sql_list(allowed))
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        con.execute(_MACROS.replace("{earliest}", EARLIEST_DATE.isoformat()).replace("{latest}", LATEST_DATE.isoformat()))

    def close(self) -> None:
        self.con.close()

    def do(self, sql: str, params: Sequence | None = None, *, where: str = "") -> None:
        """Run a statement whose result is not wanted (DDL, INSERT)."""
        self.run(sql, params, where=where).fetchall()

    def __enter__(self) -> _Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, sql: str, params: Sequence | None = None, *, where: str = ""):
        """Run one statement; the caller fetches its result (this DuckDB wants every result consumed)."""
        try:
            return self.con.execute(sql, params) if params is not None else self.con.execute(sql)
        except self.duckdb.OutOfMemoryException:
            raise InvalidInput(
                _("{file}: the file is too large to aggregate within the memory limit ({limit}); nothing is written to disk instead").format(
                    file=where, limit=MEMORY_LIMIT
                ),
                hint=_("split the export into shorter periods (a month at a time) and import each"),
            ) from None


class _CsvError(Exception):
    """DuckDB refused the CSV (its message may quote a raw line: only the line number is kept)."""

    def __init__(self, kind: str, line: int | None):
        super().__init__(kind)
        self.kind = kind
        self.line = line


def _csv_error(exc: Exception) -> _CsvError:
    text = str(exc)
    m = re.search(r"CSV Error on Line:\s*(\d+)", text)
    line = int(m.group(1)) if m else None
    if "Invalid unicode" in text:
        return _CsvError("encoding", line)
    if "Expected Number of Columns" in text:
        return _CsvError("columns", line)
    return _CsvError("csv", line)


# ---------------------------------------------------------------- per-layout SQL


@dataclass(frozen=True)
class _Spec:
    """The SQL of one layout: how a source row is parsed, grouped and checked."""

    parsed: str  # SELECT … FROM {src}: rn, k and parsed values
    bad: str  # a boolean expression over parsed columns: the row has a problem
    partial: str  # SELECT … FROM parsed GROUP BY …: rows into partial aggregates (with columns bad, n)
    partial_columns: str  # CREATE TABLE part (…)


def _sql_in(items: Iterable[str]) -> str:
    return "(" + ", ".join(_sql_text(i) for i in items) + ")"


def _spec(lay: _Layout) -> _Spec:
    """The layout's SQL. ``parsed`` keeps the source's text columns (for problems) beside ``key`` and the parsed values."""
    prof = lay.profile
    has_date = "date" in lay.fields
    ts = "coalesce(mh_ts(trim(t)), mh_date(trim(d)) + mh_clock(trim(t)))" if has_date else "mh_ts(trim(t))"
    if prof.layout == "passes":
        # A time outside the plausible range is no time (its row is bad): the aggregates below are
        # computed on every row, FILTER or not, and a time in the year 290000 would overflow them.
        parsed = f"""
            SELECT * EXCLUDE (ts0), CASE WHEN mh_in_range(ts0) THEN ts0 END AS ts FROM (
            SELECT *, nullif(upper(trim(k)), '') AS key, {ts} AS ts0,
                   CASE WHEN lower(trim(dir)) IN {_sql_in(prof.codes["in"])} THEN 1
                        WHEN lower(trim(dir)) IN {_sql_in(prof.codes["out"])} THEN 0 END AS is_in
            FROM {{src}})
        """
        bad = "(key IS NULL OR ts IS NULL OR is_in IS NULL)"  # ts is NULL outside the plausible range too
        night = "CAST(ts + INTERVAL 30 MINUTE - INTERVAL 1 MICROSECOND AS DATE)"
        partial = f"""
            SELECT key AS k, bad, CASE WHEN NOT bad THEN {night} END AS b,
                   max(epoch_us(ts) * 2 + is_in) FILTER (WHERE NOT bad) AS last,
                   min(epoch_us(ts)) FILTER (WHERE NOT bad) AS first,
                   coalesce(bool_or(is_in = 1 AND ts < CAST({night} AS TIMESTAMP) + INTERVAL 5 HOUR) FILTER (WHERE NOT bad), false) AS early,
                   count(*) AS n
            FROM (SELECT *, {bad} AS bad FROM parsed) GROUP BY ALL
        """
        return _Spec(parsed, bad, partial,
                     "k VARCHAR, bad BOOLEAN, b DATE, last BIGINT, first BIGINT, early BOOLEAN, n BIGINT")
    if prof.layout == "transactions":
        canteen = " OR ".join(f"contains(coalesce(m, ''), {_sql_text(c)})" for c in prof.codes["canteen"])
        spending = " OR ".join(f"contains(yy, {_sql_text(c)})" for c in prof.codes["spending"])
        not_spending = " OR ".join(f"contains(yy, {_sql_text(c)})" for c in prof.codes["not_spending"])
        parsed = f"""
            SELECT *, ({canteen}) AND ({spending}) AND NOT ({not_spending}) AS meal
            FROM (SELECT *, nullif(upper(trim(k)), '') AS key, {ts} AS ts, mh_bounded(mh_money(a), {MAX_AMOUNT}) AS amount,
                         nullif(lower(trim(y)), '') AS yy FROM {{src}})
        """
        bad = "(key IS NULL OR ts IS NULL OR NOT mh_in_range(ts) OR amount IS NULL OR yy IS NULL)"
        partial = f"""
            SELECT key AS k, bad, CASE WHEN NOT bad THEN CAST(ts AS DATE) END AS d,
                   count(*) FILTER (WHERE NOT bad AND meal) AS meals,
                   coalesce(sum(CAST(round(abs(amount) * 100) AS BIGINT)) FILTER (WHERE NOT bad AND meal), 0) AS spend,
                   count(*) AS n
            FROM (SELECT *, {bad} AS bad FROM parsed) GROUP BY ALL
        """
        return _Spec(parsed, bad, partial,
                     "k VARCHAR, bad BOOLEAN, d DATE, meals BIGINT, spend BIGINT, n BIGINT")
    if prof.layout == "daily":
        parsed = f"""
            SELECT *, nullif(upper(trim(k)), '') AS key, mh_date(trim(d)) AS day,
                   mh_bounded(try_cast(trim(c) AS DOUBLE), {MAX_MEALS}) AS meal_count, mh_bounded(mh_money(s), {MAX_AMOUNT}) AS spend
            FROM {{src}}
        """
        bad = ("(key IS NULL OR day IS NULL OR NOT mh_in_range(CAST(day AS TIMESTAMP)) OR meal_count IS NULL "
               "OR meal_count < 0 OR meal_count <> floor(meal_count) OR spend IS NULL)")
        partial = f"""
            SELECT key AS k, bad, CASE WHEN NOT bad THEN day END AS d,
                   coalesce(sum(CAST(meal_count AS BIGINT)) FILTER (WHERE NOT bad), 0) AS meals,
                   coalesce(sum(CAST(round(abs(spend) * 100) AS BIGINT)) FILTER (WHERE NOT bad), 0) AS spend,
                   count(*) AS n
            FROM (SELECT *, {bad} AS bad FROM parsed) GROUP BY ALL
        """
        return _Spec(parsed, bad, partial,
                     "k VARCHAR, bad BOOLEAN, d DATE, meals BIGINT, spend BIGINT, n BIGINT")
    raise AssertionError(prof.layout)


# The src column each field feeds.
_FIELD_INPUT = {
    "passes": {"t": "time", "d": "date", "dir": "direction"},
    "transactions": {"t": "time", "d": "date", "m": "merchant", "a": "amount", "y": "type"},
    "daily": {"d": "date", "c": "meals", "s": "spend"},
}


def _inputs(lay: _Layout) -> dict[str, int | None]:
    """src column -> 0-based column of the file (None: the file has no such column)."""
    out: dict[str, int | None] = {"k": lay.fields[lay.key_field]}
    for col, fname in _FIELD_INPUT[lay.profile.layout].items():
        out[col] = lay.fields.get(fname)
    return out


def _read_csv_sql(f: _File, lay: _Layout, *, ordinality: bool, lenient: bool) -> str:
    """A subquery over DuckDB's read_csv with the src columns (rn, k, …)."""
    width = len(lay.headers)
    for rec in f.head[lay.header_index + 1:]:
        width = max(width, len(rec))
    cols = "{" + ", ".join(f"'c{j}': 'VARCHAR'" for j in range(width)) + "}"
    skip = f.head_lines[lay.header_index]
    quote = '"'
    opts = [
        f"delim={_sql_text(f.delimiter)}", f"quote={_sql_text(quote)}", f"escape={_sql_text(quote)}", "header=true",
        f"skip={skip}", f"columns={cols}", "auto_detect=false", "encoding='utf-8'",
    ]
    if lenient:  # short rows padded, extra fields dropped (as pandas does for the Python-decoded files)
        opts += ["null_padding=true", "parallel=false", "strict_mode=false"]
    select = [("ordinality" if ordinality else "CAST(NULL AS BIGINT)") + " AS rn"]
    for name, j in _inputs(lay).items():
        select.append((f"c{j}" if j is not None else "CAST(NULL AS VARCHAR)") + f" AS {name}")
    source = f"read_csv({_sql_text(str(f.path))}, {', '.join(opts)})" + (" WITH ORDINALITY" if ordinality else "")
    return f"(SELECT {', '.join(select)} FROM {source})"


@dataclass
class _Outcome:
    rows: int = 0
    bad_rows: int = 0
    problems: list[Problem] = field(default_factory=list)


class _Aggregator:
    """Reads one dorm or card file into the table ``part`` of partial aggregates, collecting problems."""

    def __init__(self, eng: _Engine, f: _File, lay: _Layout, progress: Callable[[int], None] | None):
        self.eng = eng
        self.f = f
        self.lay = lay
        self.spec = _spec(lay)
        self.progress = progress
        self.out = _Outcome()
        self.labels = _labels(lay.headers)
        self.lenient = False  # whether DuckDB had to read the CSV leniently (ragged rows)
        eng.do(f"CREATE TABLE part ({self.spec.partial_columns})")

    def _src(self, src: str) -> str:
        """The source's rows with text trimmed (empty = NULL), leaving out rows where every column read is empty."""
        cols = list(_inputs(self.lay))
        select = ", ".join(f"nullif(trim(CAST({c} AS VARCHAR)), '') AS {c}" for c in cols)
        keep = " OR ".join(f"coalesce(trim(CAST({c} AS VARCHAR)), '') <> ''" for c in cols)
        return f"(SELECT rn, {select} FROM {src} WHERE {keep})"

    def _insert(self, src: str) -> None:
        spec = self.spec
        sql = f"INSERT INTO part WITH parsed AS ({spec.parsed.replace('{src}', self._src(src))}) {spec.partial}"
        self.eng.do(sql, where=self.f.name)

    def _bad_rows(self, src: str, limit: int) -> list[tuple]:
        spec = self.spec
        cols = ", ".join(_inputs(self.lay))
        sql = (f"WITH parsed AS ({spec.parsed.replace('{src}', self._src(src))}) "
               f"SELECT rn, {cols} FROM parsed WHERE {spec.bad} ORDER BY rn LIMIT {int(limit)}")
        return self.eng.run(sql, where=self.f.name).fetchall()

    # -- UTF-8 CSV: DuckDB reads the file

    def read_with_duckdb(self) -> bool:
        """False when the file turns out not to be UTF-8 (then it is read in Python)."""
        for lenient in (False, True):
            try:
                self._insert(_read_csv_sql(self.f, self.lay, ordinality=False, lenient=lenient))
                self.lenient = lenient
                break
            except self.eng.duckdb.InvalidInputException as exc:  # what read_csv raises for a file it cannot parse
                err = _csv_error(exc)
                self.eng.do("DELETE FROM part")
                if err.kind == "encoding":
                    self.f.utf8_bad_line = err.line
                    return False
                if err.kind == "columns" and not lenient:
                    continue
                raise self._csv_refused(err) from None
        total, bad = self.eng.run("SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE bad), 0) FROM part").fetchall()[0]
        self.out.rows, self.out.bad_rows = int(total), int(bad)
        if self.progress:
            self.progress(self.out.rows)
        if bad:
            src = _read_csv_sql(self.f, self.lay, ordinality=True, lenient=self.lenient)
            rows = self._bad_rows(src, MAX_PROBLEMS)
            rownos = self._spreadsheet_rows([r[0] for r in rows])
            for r in rows:
                self._row_problems(rownos[r[0]], r[1:])
        return True

    def _csv_refused(self, err: _CsvError) -> InvalidInput:
        if err.line is not None:
            return InvalidInput(
                _("{file}: line {line} is not a well-formed CSV row (a field count or quote that does not match the header)").format(file=self.f.name, line=err.line),
                hint=_("open it in Excel or WPS, save it again as CSV, and import again"),
            )
        return InvalidInput(_("{file}: cannot read the file as CSV").format(file=self.f.name), hint=_("open it in Excel or WPS, save it again as CSV, and import again"))

    def _spreadsheet_rows(self, ordinals: list[int]) -> dict[int, int]:
        """DuckDB numbers data records from 1 and skips blank lines; a spreadsheet counts every row."""
        base = self.lay.header_row
        if not ordinals or not self._has_blank_lines():
            return {o: base + o for o in ordinals}
        wanted = set(ordinals)
        out: dict[int, int] = {}
        for ordinal, rowno in enumerate(_nonblank_rows(self.f, self.lay), start=1):
            if ordinal in wanted:
                out[ordinal] = rowno
                if len(out) == len(wanted):
                    break
        return {o: out.get(o, base + o) for o in ordinals}

    def _has_blank_lines(self) -> bool:
        try:
            with open(self.f.path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return any(mm.find(s) >= 0 for s in (b"\n\n", b"\n\r\n", b"\r\r"))
        except (OSError, ValueError):
            return True

    # -- GBK text and workbooks: Python decodes, DuckDB aggregates chunk by chunk

    def read_in_python(self) -> None:
        self.out = _Outcome()
        self.eng.do("DELETE FROM part")
        totals = "SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE bad), 0) FROM part"
        bad_so_far = 0
        for frame in self._frames():
            self.eng.con.register("chunk", frame)
            try:
                self._insert("chunk")
                rows, bad = self.eng.run(totals).fetchall()[0]
                left = MAX_PROBLEMS - len(self.out.problems)
                if bad > bad_so_far and left > 0:
                    for r in self._bad_rows("chunk", left):
                        self._row_problems(r[0], r[1:])
                bad_so_far = bad
            finally:
                self.eng.con.unregister("chunk")
            if self.progress:
                self.progress(int(rows))
        total, bad = self.eng.run(totals).fetchall()[0]
        self.out.rows, self.out.bad_rows = int(total), int(bad)

    def _frames(self) -> Iterator:
        """The file's rows as pandas frames of text (``rn`` = the row as a spreadsheet numbers it, then the src columns)."""
        import pandas as pd

        inputs = _inputs(self.lay)
        names = list(inputs)
        if self.f.format == "csv":
            yield from self._csv_frames(names, [inputs[n] for n in names])
            return
        buf: dict[str, list] = {"rn": [], **{n: [] for n in names}}

        def frame():
            out = pd.DataFrame({"rn": pd.array(buf["rn"], dtype="int64"), **{n: pd.array(buf[n], dtype=object) for n in names}})
            for v in buf.values():
                v.clear()
            return out

        cols = [inputs[n] for n in names]
        for rowno, rec in _records(self.f, self.lay):
            buf["rn"].append(rowno)
            width = len(rec)
            for n, j in zip(names, cols):
                buf[n].append(_text(rec[j]) if j is not None and j < width else None)
            if len(buf["rn"]) >= CHUNK_ROWS:
                yield frame()
        if buf["rn"]:
            yield frame()

    def _csv_frames(self, names: list[str], cols: list[int | None]) -> Iterator:
        """A text file DuckDB does not read itself (GBK, UTF-16), decoded by pandas' C parser chunk by chunk.

        Blank lines are kept as rows, so a row's place is the header's row plus
        its index, as a spreadsheet numbers it.
        """
        import pandas as pd

        f, lay = self.f, self.lay
        first = lay.header_index + 1
        if first >= len(f.head_lines):
            return  # nothing after the header (the head holds the whole file unless a record is huge)
        used = sorted({j for j in cols if j is not None})
        try:
            reader = pd.read_csv(
                f.path, sep=f.delimiter, header=None, skiprows=f.head_lines[first], usecols=used, dtype=str, na_filter=False,
                skip_blank_lines=False, encoding=f.encoding, chunksize=CHUNK_ROWS, engine="c", quotechar='"', doublequote=True,
            )
            seen = 0
            for chunk in reader:
                n = len(chunk)
                data = {"rn": pd.array(range(first + 1 + seen, first + 1 + seen + n), dtype="int64")}
                for name, j in zip(names, cols):
                    data[name] = chunk[j].to_numpy(dtype=object) if j is not None and j in chunk.columns else pd.array([None] * n, dtype=object)
                seen += n
                yield pd.DataFrame(data)
        except UnicodeDecodeError:
            if f.utf8_bad_line is not None:
                message = _("{file}: line {line} is not UTF-8 text, and the file is not GB18030 (GBK) text either (it mixes encodings)").format(
                    file=f.name, line=f.utf8_bad_line)
            else:
                message = _("{file}: cannot decode the file as {encoding}").format(file=f.name, encoding=_ENCODING_NAMES.get(f.encoding, f.encoding))
            raise InvalidInput(message, hint=_("save it as 'CSV UTF-8' or as .xlsx and import again")) from None
        except (pd.errors.ParserError, ValueError) as exc:
            m = re.search(r"(?:line|row) (\d+)", str(exc))
            line = int(m.group(1)) + f.head_lines[first] if m else None
            raise self._csv_refused(_CsvError("csv", line)) from None

    # -- problems of one row

    def _row_problems(self, rowno: int, values: tuple) -> None:
        lay = self.lay
        v = dict(zip(_inputs(lay), values))

        def add(message: str, fname: str, value: object) -> None:
            if len(self.out.problems) >= MAX_PROBLEMS:
                return
            j = lay.fields.get(fname)
            self.out.problems.append(
                Problem(message, file=self.f.name, sheet=self.f.sheet, row=rowno, column=self.labels[j] if j is not None else fname,
                        value=None if value is None else str(value)[:80])
            )

        before = len(self.out.problems)
        self._cell_problems(rowno, v, add)
        if len(self.out.problems) == before and before < MAX_PROBLEMS:
            self.out.problems.append(Problem(_("the row has a value that cannot be read"), file=self.f.name, sheet=self.f.sheet, row=rowno))

    def _cell_problems(self, rowno: int, v: dict, add: Callable[[str, str, object], None]) -> None:
        lay = self.lay
        prof = lay.profile
        key = v["k"]
        if key is None or not str(key).strip():
            add(_("student number is empty") if lay.key_field == "student_no" else _("card number is empty"), lay.key_field, None)
        if prof.layout in ("passes", "transactions"):
            t, d = v.get("t"), v.get("d")
            if "date" in lay.fields:
                ok = _py_ts(t) is not None or (_py_date(d) is not None and _py_clock(t) is not None)
                if not ok:
                    if _py_ts(t) is None and _py_date(d) is None:
                        add(_("not a date (expected e.g. 2026-11-17)"), "date", d)
                    if _py_clock(t) is None and _py_ts(t) is None:
                        add(_("not a time (expected e.g. 23:05:00, or a date and time)"), "time", t)
            elif _py_ts(t) is None:
                add(_("not a date and time (expected e.g. 2026-11-17 23:05:00)"), "time", t)
            ts = _py_ts(t) or (_combine(_py_date(d), _py_clock(t)) if "date" in lay.fields else None)
            if ts is not None and not (EARLIEST_DATE <= ts.date() <= LATEST_DATE):
                add(_("date {date} is outside {earliest} … {latest}").format(date=ts.date().isoformat(), earliest=EARLIEST_DATE.isoformat(),
                                                                             latest=LATEST_DATE.isoformat()), "time", t)
        if prof.layout == "passes":
            code = v.get("dir")
            if code is None or fold_text(code).casefold() not in (*prof.codes["in"], *prof.codes["out"]):
                add(_("unknown direction code; expected one of {codes}").format(codes=" / ".join((*prof.codes["in"][:4], *prof.codes["out"][:4]))), "direction", code)
        elif prof.layout == "transactions":
            _check_money(v.get("a"), "amount", add)
            if v.get("y") is None or not str(v.get("y")).strip():
                add(_("transaction type is empty"), "type", None)
        elif prof.layout == "daily":
            d = v.get("d")
            day = _py_date(d)
            if day is None:
                add(_("not a date (expected e.g. 2026-11-17)"), "date", d)
            elif not (EARLIEST_DATE <= day <= LATEST_DATE):
                add(_("date {date} is outside {earliest} … {latest}").format(date=day.isoformat(), earliest=EARLIEST_DATE.isoformat(),
                                                                             latest=LATEST_DATE.isoformat()), "date", d)
            meals = _py_number(v.get("c"))
            if meals is None:
                add(_("meal count is not a number"), "meals", v.get("c"))
            elif meals < 0:
                add(_("meal count is negative"), "meals", v.get("c"))
            elif meals != math.floor(meals):
                add(_("meal count is not a whole number"), "meals", v.get("c"))
            elif meals >= MAX_MEALS:
                add(_("meal count is too large to be real (a day's count is below {limit:,})").format(limit=MAX_MEALS), "meals", v.get("c"))
            _check_money(v.get("s"), "spend", add)


def _check_money(value: object, field: str, add: Callable[[str, str, object], None]) -> None:
    """The problem of an amount cell, as the SQL's ``bad`` finds it."""
    money = _py_money(value)
    if money is None:
        add(_("amount is not a number"), field, value)
    elif abs(money) >= MAX_AMOUNT:
        add(_("amount is too large to be real (below {limit:,} yuan)").format(limit=MAX_AMOUNT), field, value)


# Python mirrors of the SQL parsers, used only to say which cell of a refused row is wrong.
_PY_DT = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?)?")
_PY_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:\s*(\d{2}):?(\d{2})(?::?(\d{2}))?)?")
_PY_CLOCK = re.compile(r"(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.\d+)?秒?)?分?|(\d{2})(\d{2})(\d{2})?")


def _py_ts(s: object) -> datetime | None:
    if s is None:
        return None
    t = str(s).strip()
    m = _PY_DT.fullmatch(t) or _PY_COMPACT.fullmatch(t)
    if m:
        try:
            return datetime(*(int(g) for g in m.groups() if g is not None))
        except ValueError:
            return None
    if re.fullmatch(r"\d{5}(\.\d+)?", t):
        return datetime(1899, 12, 30) + timedelta(seconds=round(float(t) * 86400))
    return None


def _py_date(s: object) -> date | None:
    if s is None:
        return None
    t = str(s).strip()
    if re.fullmatch(r"\d{5}(\.0+)?", t):
        return date(1899, 12, 30) + timedelta(days=int(float(t)))
    ts = _py_ts(t)
    return ts.date() if ts else None


def _py_clock(s: object) -> timedelta | None:
    if s is None:
        return None
    t = str(s).strip()
    m = _PY_CLOCK.fullmatch(t)
    if m:
        g = m.groups()
        h, mi, se = (g[0], g[1], g[2]) if g[0] is not None else (g[3], g[4], g[5])
        h, mi, se = int(h), int(mi), int(se or 0)
        return timedelta(hours=h, minutes=mi, seconds=se) if h < 24 and mi < 60 and se < 60 else None
    if re.fullmatch(r"0?\.\d+|0", t):
        return timedelta(seconds=round(float(t) * 86400))
    return None


def _combine(d: date | None, clock: timedelta | None) -> datetime | None:
    return datetime(d.year, d.month, d.day) + clock if d is not None and clock is not None else None


def _py_number(s: object) -> float | None:
    if s is None:
        return None
    try:
        x = float(str(s).strip())
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _py_money(s: object) -> float | None:
    if s is None:
        return None
    return _py_number(re.sub(r"[¥￥元,\s]", "", str(s)))


# ---------------------------------------------------------------- person keys


@dataclass
class _Keys:
    """Raw person codes of the file → the keys facts are filed under."""

    table: dict[str, str]
    problems: list[tuple[str, str]]  # (raw code, message)
    note: str | None = None


def _card_norm(text: str) -> str:
    """A card number compared without leading zeros (a spreadsheet that stored it as a number dropped them)."""
    t = fold_text(text).upper()
    return t.lstrip("0") or "0"


_CARD_SHAPE = re.compile(r"[0-9A-Z-]{1,32}")


def _resolve_keys(raw_counts: Sequence[tuple[str, int]], key_field: str, mapping: dict[str, str] | None, mapping_name: str | None) -> _Keys:
    table: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    missing_codes = missing_rows = 0
    for raw, rows in raw_counts:
        if key_field == "student_no":
            text, msg = student_no(raw)
            if msg or text is None:
                problems.append((raw, msg or _("student number is empty")))
                continue
            table[raw] = normalise(text)
            continue
        code = fold_text(raw).upper()
        if code.startswith("'"):
            code = code[1:].strip()
        if not _CARD_SHAPE.fullmatch(code):
            problems.append((raw, _("not a card number: 1–32 letters, digits or '-'")))
            continue
        if mapping is not None:
            student = mapping.get(_card_norm(code))
            if student is None:
                missing_codes += 1
                missing_rows += rows
                table[raw] = code
            else:
                table[raw] = student
        else:
            table[raw] = code
    note = None
    if mapping is not None and missing_codes:
        note = ngettext(
            "{codes} card number ({rows} rows) is not in the mapping file {file}; its facts are kept under the card number",
            "{codes} card numbers ({rows} rows) are not in the mapping file {file}; their facts are kept under the card numbers",
            missing_codes,
        ).format(codes=f"{missing_codes:,}", rows=f"{missing_rows:,}", file=mapping_name)
    return _Keys(table, problems, note)


def read_card_mapping(path: str | os.PathLike) -> dict[str, str]:
    """Card number (without leading zeros) → student number (normal form), from a workbook or CSV.

    A card listed for two different students is refused (exit 3) naming the
    mapping file, the row and the column; rows without a card are skipped (a
    student without a card); a bad student number is a problem of its row.
    """
    f = _open(path)
    profiles = load_campus_profiles()
    prof = next(p for p in profiles.values() if p.layout == "mapping")
    scan = [(i, r) for i, r in enumerate(f.head[:HEADER_SCAN_ROWS]) if _non_empty(r)]
    lay = None
    for i, row in scan:
        fields = prof.map_header(row)
        if not prof.missing(fields):
            lay = _Layout(prof, i, [cell_text(c) for c in row], fields)
            break
    if lay is None:
        raise InvalidInput(
            _("{where}: the mapping file has no header row with a student number column ({students}) and a card number column ({cards})").format(
                where=_where(f), students=_aliases(prof, ("student_no",)), cards=_aliases(prof, ("card_no",))
            ),
            hint=_("give --mapping a workbook or CSV with 学号 and 卡号 (or 人员编号) columns"),
        )
    labels = _labels(lay.headers)
    js, jc = lay.fields["student_no"], lay.fields["card_no"]
    out: dict[str, str] = {}
    first_row: dict[str, int] = {}
    problems: list[Problem] = []
    for rowno, rec in _records(f, lay):
        card = _text(rec[jc]) if jc < len(rec) else None
        if card is None:
            continue
        code = fold_text(card).upper().lstrip("'")
        raw_student = rec[js] if js < len(rec) else None
        text, msg = student_no(raw_student)
        if msg or text is None:
            problems.append(Problem(msg or _("student number is empty"), file=f.name, sheet=f.sheet, row=rowno, column=labels[js],
                                    value=None if raw_student is None else str(cell_text(raw_student))[:80]))
            continue
        student = normalise(text)
        norm = _card_norm(code)
        other = out.get(norm)
        if other is not None and other != student:
            problems.append(Problem(
                _("card number {card} maps to two students: {first} (row {first_row}) and {second}").format(
                    card=code, first=other, first_row=first_row[norm], second=student),
                file=f.name, sheet=f.sheet, row=rowno, column=labels[jc], value=code))
            continue
        out.setdefault(norm, student)
        first_row.setdefault(norm, rowno)
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise InvalidInput(
            ngettext("{file}: the mapping file has {count} problem", "{file}: the mapping file has {count} problems", len(problems)).format(
                file=f.name, count=len(problems)),
            problems=problems[:MAX_PROBLEMS],
            hint=_("fix the mapping file: one student per card number"),
        )
    return out


# ---------------------------------------------------------------- reading one file


def read_campus(
    path: str | os.PathLike,
    source: str,
    *,
    profile: str | CampusProfile = "auto",
    mapping: str | os.PathLike | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Aggregate one campus export into per-person facts (see the module docstring).

    Returns a dict with exactly the fields of ``Aggregate``: ``source``,
    ``first_day``, ``last_day``, ``rows``, ``people``, ``school``,
    ``unmatched_note``. ``progress(n)`` is called with the number of data rows
    read so far (per chunk when Python reads the file, once at the end when
    DuckDB does). Raises :class:`InvalidInput` (exit 3) with every problem found
    (up to 50), :class:`UsageError` (exit 2) for a wrong ``source`` or
    ``profile``.
    """
    _check_source(source)
    f = _open(path)
    lay = _find_layout(f, source, profile)
    card_map = None
    mapping_name = None
    if mapping is not None and lay.key_field == "card_no" and lay.profile.layout != "results":
        card_map = read_card_mapping(mapping)
        mapping_name = Path(mapping).name
    if lay.profile.layout == "results":
        return _read_academic(f, lay, progress)
    allowed = [os.path.abspath(f.path)] if _duckdb_reads(f) else []
    with _Engine(allowed) as eng:
        agg = _Aggregator(eng, f, lay, progress)
        if not (_duckdb_reads(f) and agg.read_with_duckdb()):
            if f.format == "csv" and f.encoding in ("utf-8", "utf-8-sig"):
                f.encoding = "gb18030"  # DuckDB found bytes that are not UTF-8 past the first part
            agg.read_in_python()
        out = agg.out
        if out.rows == 0:
            raise InvalidInput(_("{where}: no data rows below the header (row {row})").format(where=_where(f), row=lay.header_row),
                               hint=_("export the data again"))
        raw_counts = eng.run("SELECT k, sum(n) FROM part WHERE k IS NOT NULL GROUP BY k").fetchall()
        keys = _resolve_keys(raw_counts, lay.key_field, card_map, mapping_name)
        problems = list(out.problems)
        bad_rows = out.bad_rows
        if keys.problems:
            bad_codes = [raw for raw, _msg in keys.problems]
            messages = dict(keys.problems)
            eng.do("CREATE TABLE badk AS SELECT unnest($1::VARCHAR[]) AS k", [bad_codes])
            bad_rows += int(eng.run("SELECT coalesce(sum(n), 0) FROM part JOIN badk USING (k) WHERE NOT bad").fetchall()[0][0])
            problems += _key_problems(eng, agg, messages, MAX_PROBLEMS)
        if problems or bad_rows:
            problems.sort(key=lambda p: (p.row or 0, p.column or ""))
            raise InvalidInput(
                ngettext("{where}: {count} row has problems; nothing was imported", "{where}: {count} rows have problems; nothing was imported",
                         max(bad_rows, 1)).format(where=_where(f), count=f"{max(bad_rows, len({p.row for p in problems})):,}"),
                problems=problems[:MAX_PROBLEMS],
                hint=_("fix the rows listed (run with --dry-run to see how the columns were mapped)"),
            )
        frame, key_list = _key_frame(keys.table)
        eng.con.register("keymap", frame)
        if lay.profile.layout == "passes":
            result = _dorm_facts(eng, f, key_list)
        else:
            result = _card_facts(eng, f, key_list)
        eng.con.unregister("keymap")
    return {
        "source": lay.profile.source,
        "first_day": result["first_day"],
        "last_day": result["last_day"],
        "rows": out.rows,
        "people": result["people"],
        "school": result["school"],
        "unmatched_note": keys.note,
    }


def _key_frame(table: Mapping[str, str]):
    """The raw code → key table DuckDB joins, with a small integer id per key (lean sorts and hashes)."""
    import pandas as pd

    keys = sorted(set(table.values()))
    ids = {k: i for i, k in enumerate(keys)}
    frame = pd.DataFrame({
        "raw": pd.array(list(table), dtype=object),
        "id": pd.array([ids[v] for v in table.values()], dtype="int32"),
    })
    return frame, keys


def _key_problems(eng: _Engine, agg: _Aggregator, messages: Mapping[str, str], limit: int) -> list[Problem]:
    """The first rows holding each refused person code."""
    lay, f = agg.lay, agg.f
    j = lay.fields[lay.key_field]
    label = agg.labels[j]
    found: list[tuple[int, str]] = []
    if _duckdb_reads(f):
        src = _read_csv_sql(f, lay, ordinality=True, lenient=agg.lenient)
        rows = eng.run(f"SELECT s.rn, s.k FROM {src} AS s JOIN badk ON badk.k = upper(trim(s.k)) ORDER BY s.rn LIMIT {int(limit)}").fetchall()
        rownos = agg._spreadsheet_rows([r[0] for r in rows])
        found = [(rownos[r[0]], r[1]) for r in rows]
    else:
        for rowno, rec in _records(f, lay):
            value = _text(rec[j]) if j < len(rec) else None
            if value is not None and value.upper() in messages:
                found.append((rowno, value))
                if len(found) >= limit:
                    break
    return [Problem(messages.get(str(v).strip().upper(), _("not a person code")), file=f.name, sheet=f.sheet, row=r, column=label, value=str(v)[:80])
            for r, v in found]


def _dorm_facts(eng: _Engine, f: _File, keys: list[str]) -> dict:
    """Nights out per person from the partial aggregates (see the module docstring for the rule).

    ``agg`` holds one row per person and *bucket*: the passes after 23:30 on
    D-1 up to 23:30 on D belong to night D's bucket. Its ``last`` is the latest
    pass (time × 2 + 1 for an entry, so an entry wins a tie) and ``early``
    whether an entry came before 05:00 on D. A person's state is carried from
    one bucket to the next; night D is out when the state is an exit and the
    next bucket, if it is D+1, has no early entry. Each bucket row covers the
    nights up to the next bucket, written as a run of 0/1 characters.
    """
    eng.do("""
        CREATE TABLE agg AS
        SELECT km.id, p.b, max(p.last) AS last, bool_or(p.early) AS early, min(p.first) AS first
        FROM part p JOIN keymap km ON km.raw = p.k
        WHERE NOT p.bad GROUP BY ALL
    """, where=f.name)
    tmin, tmax = eng.run("SELECT min(first), max(last) // 2 FROM agg").fetchall()[0]
    present = [r[0] for r in eng.run("SELECT DISTINCT id FROM agg").fetchall()]
    people: dict[str, dict] = {keys[i]: {"nights": {}} for i in sorted(present)}
    if tmin is None:
        return {"first_day": None, "last_day": None, "people": people, "school": {}}
    first_night = _night_of(_from_us(tmin))
    last_night = (_from_us(tmax) - timedelta(hours=29)).date()
    if last_night < first_night:
        return {"first_day": None, "last_day": None, "people": people, "school": {}}
    last = f"DATE '{last_night.isoformat()}'"
    rows = eng.run(f"""
        WITH s AS (
            SELECT id, b, last % 2 = 0 AS is_out, lead(b) OVER w AS nb, lead(early) OVER w AS ne
            FROM agg WINDOW w AS (PARTITION BY id ORDER BY b)
        ),
        seg AS (
            SELECT id, b, is_out, nb, ne, least(coalesce(CAST(nb - 1 AS DATE), {last}), {last}) AS e
            FROM s WHERE b <= {last}
        )
        SELECT id, min(b) AS start,
               string_agg(CASE WHEN NOT is_out THEN repeat('0', CAST(e - b AS BIGINT) + 1)
                               WHEN nb IS NOT NULL AND CAST(nb - 1 AS DATE) <= {last} AND ne THEN repeat('1', CAST(e - b AS BIGINT)) || '0'
                               ELSE repeat('1', CAST(e - b AS BIGINT) + 1) END, '' ORDER BY b) AS bits
        FROM seg GROUP BY id
    """, where=f.name).fetchall()
    nights = (last_night - first_night).days + 1
    days = [(first_night + timedelta(days=i)).isoformat() for i in range(nights)]
    zero_one = (0, 1)
    for i, start, bits in rows:
        offset = (start - first_night).days
        people[keys[i]]["nights"] = dict(zip(days[offset:], (zero_one[b == "1"] for b in bits)))
    return {"first_day": first_night.isoformat(), "last_day": last_night.isoformat(), "people": people, "school": {}}


def _from_us(us: int) -> datetime:
    return datetime(1970, 1, 1) + timedelta(microseconds=int(us))


def _night_of(ts: datetime) -> date:
    """The night whose 23:30 cut-off a pass falls at or before (and after the previous one)."""
    return (ts + timedelta(minutes=30) - timedelta(microseconds=1)).date()


def _card_facts(eng: _Engine, f: _File, keys: list[str]) -> dict:
    eng.do("""
        CREATE TABLE agg AS
        SELECT km.id, p.d, sum(p.meals) AS meals, sum(p.spend) AS spend
        FROM part p JOIN keymap km ON km.raw = p.k
        WHERE NOT p.bad GROUP BY ALL
    """, where=f.name)
    first, last = eng.run("SELECT min(d), max(d) FROM agg").fetchall()[0]
    present = sorted(r[0] for r in eng.run("SELECT DISTINCT id FROM agg").fetchall())
    if first is None:
        return {"first_day": None, "last_day": None, "people": {keys[i]: {"days": {}} for i in present}, "school": {"days": {}}}
    span = (last - first).days + 1
    days = [(first + timedelta(days=i)).isoformat() for i in range(span)]
    people = {keys[i]: {"days": {d: [0, 0] for d in days}} for i in present}
    rows = eng.run(f"""
        SELECT id, list(CAST(d - DATE '{first.isoformat()}' AS INTEGER) ORDER BY d), list(meals ORDER BY d), list(spend ORDER BY d)
        FROM agg WHERE meals > 0 GROUP BY id
    """, where=f.name).fetchall()
    for i, offsets, meals, spend in rows:
        person = people[keys[i]]["days"]
        for o, m, c in zip(offsets, meals, spend):
            person[days[o]] = [int(m), int(c)]
    school = {
        d.isoformat(): int(round(m))
        for d, m in eng.run("SELECT d, median(spend / meals) FROM agg WHERE meals > 0 GROUP BY d ORDER BY d").fetchall()
        if m is not None
    }
    return {"first_day": first.isoformat(), "last_day": last.isoformat(), "people": people, "school": {"days": school}}


# ---------------------------------------------------------------- academic results (small: plain Python)


_TERM_FULL = re.compile(
    r"(\d{4})\s*[-–—~至/]\s*(\d{4})\s*(?:学年)?\s*(?:度)?\s*[-–—_ /]?\s*(?:第\s*)?([123一二三上下秋春夏])\s*(?:学期|季学期|季)?"
)
_TERM_SEASON = re.compile(r"(\d{4})\s*年?\s*(秋|春|夏)\s*(?:季)?\s*(?:学期)?")
_YEAR = re.compile(r"(\d{4})(?:\s*[-–—~至/]\s*(\d{4}))?\s*(?:学年)?\s*(?:度)?")
_SEMESTER = re.compile(r"(?:第\s*)?([123一二三上下秋春夏])\s*(?:学期|季学期|季)?")
_SEMESTER_NO = {"1": 1, "一": 1, "上": 1, "秋": 1, "2": 2, "二": 2, "下": 2, "春": 2, "3": 3, "三": 3, "夏": 3}


def _term(full: str | None, year: str | None, semester: str | None) -> str | None:
    """``2025-2026-1`` from one term cell or a year cell and a semester cell."""
    for text in (full, year if semester is None else None, semester if year is None else None):
        if text:
            t = fold_text(text)
            m = _TERM_FULL.fullmatch(t)
            if m and int(m.group(2)) == int(m.group(1)) + 1:
                return f"{m.group(1)}-{m.group(2)}-{_SEMESTER_NO[m.group(3)]}"
            m = _TERM_SEASON.fullmatch(t)
            if m:
                y = int(m.group(1))
                n = _SEMESTER_NO[m.group(2)]
                start = y if n == 1 else y - 1
                return f"{start}-{start + 1}-{n}"
    if year and semester:
        my = _YEAR.fullmatch(fold_text(year))
        ms = _SEMESTER.fullmatch(fold_text(semester))
        if my and ms:
            y1 = int(my.group(1))
            if my.group(2) is None or int(my.group(2)) == y1 + 1:
                return f"{y1}-{y1 + 1}-{_SEMESTER_NO[ms.group(1)]}"
    return None


def _read_academic(f: _File, lay: _Layout, progress: Callable[[int], None] | None) -> dict:
    prof = lay.profile
    codes = prof.codes
    labels = _labels(lay.headers)
    fl = lay.fields
    problems: list[Problem] = []
    bad_rows = 0
    rows = 0
    people: dict[str, dict] = {}
    kinds = {**{c: "正常" for c in codes["normal"]}, **{c: "补考" for c in codes["makeup"]}, **{c: "重修" for c in codes["retake"]}}

    def cell(rec: list, fname: str) -> object:
        j = fl.get(fname)
        return rec[j] if j is not None and j < len(rec) else None

    for rowno, rec in _records(f, lay):
        rows += 1
        row_problems: list[Problem] = []

        def add(message: str, fname: str, value: object) -> None:
            row_problems.append(Problem(message, file=f.name, sheet=f.sheet, row=rowno, column=labels[fl[fname]] if fname in fl else fname,
                                        value=None if value is None else cell_text(value)[:80]))

        raw_no = cell(rec, "student_no")
        text, msg = student_no(raw_no)
        if msg or text is None:
            add(msg or _("student number is empty"), "student_no", raw_no)
        term_cells = [_text(cell(rec, n)) for n in ("term", "year", "semester")]
        term = _term(*term_cells)
        if term is None:
            shown = next((n for n in ("term", "year", "semester") if n in fl), "term")
            add(_("not a term (expected e.g. 2025-2026-1, or 学年 2025-2026 with 学期 1)"), shown,
                " ".join(t for t in term_cells if t) or None)
        course = _text(cell(rec, "course"))
        if course is None:
            add(_("course is empty"), "course", None)
        raw_credits = cell(rec, "credits")
        credits = _py_number(_text(raw_credits))
        if credits is None or credits < 0 or credits > 100:
            add(_("credits are not a number from 0 to 100"), "credits", raw_credits)
        raw_score = cell(rec, "score")
        score = _text(raw_score)
        passed: bool | None = None
        deferred = False
        if score is None:
            add(_("score is empty"), "score", None)
        else:
            number = _py_number(score)
            word = fold_text(score).casefold()
            if number is not None:
                if not 0 <= number <= 100:
                    add(_("score {score} is outside 0 … 100").format(score=score), "score", raw_score)
                passed = number >= prof.pass_mark
            elif word in codes["passing"]:
                passed = True
            elif word in codes["failing"]:
                passed = False
            elif word in codes["deferred"]:
                deferred = True
            else:
                add(_("unknown grade; expected a number or one of {grades}").format(grades=" / ".join((*codes["passing"][:7], *codes["failing"][:3]))),
                    "score", raw_score)
        raw_kind = _text(cell(rec, "kind"))
        kind = "正常"
        if raw_kind is not None:
            kind = kinds.get(fold_text(raw_kind).casefold())
            if kind is None:
                add(_("unknown exam kind; expected one of {kinds}").format(kinds=" / ".join((codes["normal"][0], codes["makeup"][0], codes["retake"][0]))),
                    "kind", raw_kind)
        if row_problems:
            bad_rows += 1
            problems.extend(row_problems)
            continue
        if deferred:
            continue
        key = normalise(text)
        courses = people.setdefault(key, {"courses": {}})["courses"]
        courses[(term, course, kind)] = {
            "term": term,
            "course": course,
            "credits": float(credits),
            "score": fold_text(score) if not isinstance(raw_score, (int, float)) else cell_text(raw_score),
            "passed": bool(passed),
            "kind": kind,
        }
        if progress and rows % CHUNK_ROWS == 0:
            progress(rows)
    if progress:
        progress(rows)
    if rows == 0:
        raise InvalidInput(_("{where}: no data rows below the header (row {row})").format(where=_where(f), row=lay.header_row),
                           hint=_("export the data again"))
    if problems:
        raise InvalidInput(
            ngettext("{where}: {count} row has problems; nothing was imported", "{where}: {count} rows have problems; nothing was imported", bad_rows).format(
                where=_where(f), count=f"{bad_rows:,}"),
            problems=problems[:MAX_PROBLEMS],
            hint=_("fix the rows listed (run with --dry-run to see how the columns were mapped)"),
        )
    return {
        "source": "academic",
        "first_day": None,
        "last_day": None,
        "rows": rows,
        "people": {k: {"courses": list(v["courses"].values())} for k, v in people.items()},
        "school": {},
        "unmatched_note": None,
    }
