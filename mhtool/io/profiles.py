"""Import profiles: how one platform's export (or one kind of sheet) maps to fields and items.

Profiles are data (``profiles/*.toml``), validated when loaded, so that a new
survey platform or a college's own roster layout needs a TOML file and no code.
A profile says which header texts mean which roster field (``student_no``,
``name`` …), which columns are the platform's own bookkeeping, how item columns
are recognised, and which header cells identify the platform for
``--profile auto``.

Two kinds:

``export``
    A survey export: roster fields plus item columns. ``[items] mode`` is
    ``numbered`` (the item number is in the header: ``1``, ``Q1``, ``第1题``) or
    ``questions`` (headers ``N、题干``; roster questions are found by their title
    and the other question columns, in order, are the items).
``table``
    A sheet of fields only (the school roster, the interview-record sheet).

User profiles come from the directories the caller passes and from
``MHTOOL_PROFILES`` (``os.pathsep``-separated); a user profile with the name of
a built-in one replaces it.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType

from mhtool.errors import InvalidInput
from mhtool.i18n import _
from mhtool.io.cells import cell_text, column_letter, fold_text

__all__ = [
    "BUILTIN_DIR",
    "FIELD_TYPES",
    "FieldSpec",
    "HeaderLayout",
    "Profile",
    "detect_profile",
    "get_profile",
    "header_key",
    "load_profile_file",
    "load_profiles",
]

BUILTIN_DIR = Path(__file__).with_name("profiles")
ENV_VAR = "MHTOOL_PROFILES"
KINDS = ("export", "table")
ITEM_MODES = ("numbered", "questions")
FIELD_TYPES = ("text", "student_no", "phone", "date", "datetime")

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_FIELD = re.compile(r"[a-z][a-z0-9_]{0,39}")
_TOP_KEYS = {
    "name", "kind", "title", "description", "inherit", "inherit_fields",
    "markers", "min_markers", "exclude_markers", "meta", "items", "fields",
}
_ITEM_KEYS = {"mode", "question", "matrix_rows", "patterns"}
_FIELD_KEYS = {"aliases", "type"}

# Decorations people add to a header without changing its meaning.
_REQUIRED_MARK = re.compile(r"\((?:必填|选填|必选|可选)\)$")
# Polite openings of a question title: 请输入您的学号 is still 学号.
_TITLE_PREFIX = re.compile(r"^(?:请(?:输入|填写|选择|写出))?(?:(?:你|您)的)?")


def header_key(text: object) -> str:
    """The comparison form of a header cell: folded, lower-case, no spaces or marks."""
    try:
        return _header_key(text)
    except TypeError:  # an unhashable cell value
        return _header_key.__wrapped__(text)


@lru_cache(maxsize=1 << 14, typed=True)
def _header_key(text: object) -> str:
    # Cached: every candidate profile maps the same header rows, and rows repeat their texts.
    key = fold_text(cell_text(text)).lower().replace(" ", "")
    key = key.strip("*")
    key = _REQUIRED_MARK.sub("", key)
    return key.rstrip(":").strip("*")


def _title_key(text: str) -> str:
    key = header_key(text)
    return _TITLE_PREFIX.sub("", key, count=1) or key


@dataclass(frozen=True)
class FieldSpec:
    """One roster field: its identifier, the header texts that mean it, how values are read."""

    name: str
    aliases: tuple[str, ...]
    type: str = "text"


@dataclass
class HeaderLayout:
    """What one header row means under one profile (column indexes are 0-based)."""

    profile: str
    headers: list[str]
    fields: dict[str, int]
    items: list[tuple[int, int]]  # (item number, column index), in column order
    meta: list[int]
    unmapped: list[int]
    markers: int
    excluded: bool
    numbering_problems: list[str] = field(default_factory=list)

    @property
    def has_student_no(self) -> bool:
        return "student_no" in self.fields

    @property
    def usable(self) -> bool:
        """Enough to import from when the user named this profile."""
        return self.has_student_no and bool(self.items)


@dataclass(frozen=True, eq=False)
class Profile:
    """One validated import profile (see the module docstring and ``profiles/*.toml``)."""

    name: str
    kind: str
    title: str
    description: str
    fields: Mapping[str, FieldSpec]
    markers: tuple[str, ...] = ()
    min_markers: int = 0
    exclude_markers: tuple[str, ...] = ()
    meta: tuple[str, ...] = ()
    item_mode: str | None = None
    question: re.Pattern | None = None
    matrix_rows: bool = False
    item_patterns: tuple[re.Pattern, ...] = ()
    source: str = "built-in"

    def aliases(self, field_name: str) -> tuple[str, ...]:
        spec = self.fields.get(field_name)
        return spec.aliases if spec else ()

    @cached_property
    def _alias_index(self) -> dict[str, tuple[str, int]]:
        index: dict[str, tuple[str, int]] = {}
        for spec in self.fields.values():
            for rank, alias in enumerate(spec.aliases):
                index.setdefault(header_key(alias), (spec.name, rank))
        return index

    @cached_property
    def _meta_keys(self) -> frozenset[str]:
        return frozenset(header_key(m) for m in self.meta)

    @cached_property
    def _marker_keys(self) -> frozenset[str]:
        return frozenset(header_key(m) for m in self.markers)

    @cached_property
    def _exclude_keys(self) -> frozenset[str]:
        return frozenset(header_key(m) for m in self.exclude_markers)

    def matches(self, layout: HeaderLayout) -> bool:
        """Whether ``--profile auto`` may pick this profile for the header row."""
        if layout.excluded or layout.markers < self.min_markers:
            return False
        if self.kind == "table":
            return layout.has_student_no
        return layout.usable

    def layout(self, header_cells: Sequence[object]) -> HeaderLayout:
        """Map one header row to fields, items, platform columns and unmapped columns."""
        headers = [cell_text(c) for c in header_cells]
        keys = [header_key(h) for h in headers]
        present = set(keys)
        markers = len(self._marker_keys & present)
        excluded = bool(self._exclude_keys & present)
        candidates: list[tuple[str, int, int]] = []  # (field, alias rank, column)
        items: list[tuple[int, int]] = []
        meta: list[int] = []
        unmapped: list[int] = []
        problems: list[str] = []
        alias_index = self._alias_index
        if self.item_mode == "questions":
            current = None  # kind of the question the next bare columns would continue
            for j, (h, k) in enumerate(zip(headers, keys)):
                if not h:
                    unmapped.append(j)
                    current = None
                    continue
                m = self.question.match(h) if self.question else None
                if m:
                    title = m.groupdict().get("title") or ""
                    hit = alias_index.get(_title_key(title)) if title else None
                    if hit:
                        candidates.append((hit[0], hit[1], j))
                        current = "field"
                    else:
                        items.append((len(items) + 1, j))
                        current = "item"
                elif k in self._meta_keys:
                    # The platform's own columns end a matrix question wherever they appear.
                    if k in alias_index:
                        candidates.append((*alias_index[k], j))
                    else:
                        meta.append(j)
                    current = None
                elif current == "item" and self.matrix_rows:
                    items.append((len(items) + 1, j))
                elif k in alias_index:
                    candidates.append((*alias_index[k], j))
                else:
                    unmapped.append(j)
        else:
            seen: dict[int, int] = {}
            for j, (h, k) in enumerate(zip(headers, keys)):
                if not h:
                    unmapped.append(j)
                    continue
                if k in alias_index:
                    name, rank = alias_index[k]
                    candidates.append((name, rank, j))
                    continue
                n = self._item_number(h)
                if n is not None:
                    if n in seen:
                        problems.append(
                            _("item {item} has two columns ({first} and {second})").format(item=n, first=column_letter(seen[n]), second=column_letter(j))
                        )
                    seen.setdefault(n, j)
                    items.append((n, j))
                elif k in self._meta_keys:
                    meta.append(j)
                else:
                    unmapped.append(j)
            if items and not problems:
                numbers = sorted(n for n, _column in items)
                missing = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))
                if missing:
                    shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
                    problems.append(_("the item columns skip item(s) {items}").format(items=shown))
        fields: dict[str, int] = {}
        for name, _rank, j in sorted(candidates, key=lambda c: (c[1], c[2])):
            if name in fields:
                unmapped.append(j)
            else:
                fields[name] = j
        fields = dict(sorted(fields.items(), key=lambda kv: kv[1]))
        unmapped.sort()
        return HeaderLayout(self.name, headers, fields, items, meta, unmapped, markers, excluded, problems)

    def _item_number(self, header: str) -> int | None:
        for pattern in self.item_patterns:
            m = pattern.match(header)
            if m:
                n = int(m.group("n"))
                return n if n >= 1 else None
        return None


# ---------------------------------------------------------------- loading


def _fail(source: str, message: str) -> InvalidInput:
    return InvalidInput(
        _("import profile {source}: {message}").format(source=source, message=message),
        hint=_("fix the profile file (see mhtool/io/profiles/*.toml for examples)"),
    )


def _str_list(source: str, where: str, value: object, *, allow_empty: bool = True) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(source, _("{key} must be a list of non-empty strings").format(key=where))
    if not value and not allow_empty:
        raise _fail(source, _("{key} must not be empty").format(key=where))
    return tuple(v.strip() for v in value)


def _regex(source: str, where: str, text: object) -> re.Pattern:
    if not isinstance(text, str) or not text:
        raise _fail(source, _("{key} must be a regular expression (a string)").format(key=where))
    try:
        pattern = re.compile(text)
    except re.error as exc:
        raise _fail(source, _("{key} is not a valid regular expression: {error}").format(key=where, error=exc)) from None
    if "n" not in pattern.groupindex:
        raise _fail(source, _("{key} must capture the number in a group named n: (?P<n>\\d+)").format(key=where))
    return pattern


@dataclass
class _Draft:
    """A profile as read from its file, before inheritance is resolved."""

    data: dict
    source: str


def check_profile_head(data: object, source: str, allowed, fail) -> str:
    """What every profile file (survey export or campus system) must be: a table of known keys with a valid ``name``; the name.

    ``fail(source, message)`` makes the error of that kind of profile.
    """
    if not isinstance(data, dict):
        raise fail(source, _("is not a TOML table"))
    unknown = set(data) - set(allowed)
    if unknown:
        raise fail(source, _("unknown key(s) {keys}; allowed: {allowed}").format(keys=", ".join(sorted(unknown)), allowed=", ".join(sorted(allowed))))
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise fail(source, _("name must be lower-case letters, digits, '-' or '_', starting with a letter"))
    return name


def _check_draft(data: object, source: str) -> _Draft:
    check_profile_head(data, source, _TOP_KEYS, _fail)
    kind = data.get("kind", "export")
    if kind not in KINDS:
        raise _fail(source, _("kind must be one of {kinds}, not {kind!r}").format(kinds=", ".join(KINDS), kind=kind))
    for key in ("title", "description", "inherit"):
        if key in data and not isinstance(data[key], str):
            raise _fail(source, _("{key} must be a string").format(key=key))
    for key in ("markers", "exclude_markers", "meta", "inherit_fields"):
        if key in data:
            _str_list(source, key, data[key])
    if "inherit_fields" in data and "inherit" not in data:
        raise _fail(source, _("inherit_fields needs inherit"))
    mm = data.get("min_markers", 0)
    if isinstance(mm, bool) or not isinstance(mm, int) or mm < 0:
        raise _fail(source, _("min_markers must be a whole number >= 0"))
    if mm > len(data.get("markers", [])):
        raise _fail(source, _("min_markers is {min_markers} but only {count} marker(s) are listed").format(min_markers=mm, count=len(data.get("markers", []))))
    items = data.get("items")
    if kind == "export":
        if not isinstance(items, dict):
            raise _fail(source, _("an export profile needs an [items] table"))
        unknown = set(items) - _ITEM_KEYS
        if unknown:
            raise _fail(source, _("[items] has unknown key(s) {keys}").format(keys=", ".join(sorted(unknown))))
        mode = items.get("mode")
        if mode not in ITEM_MODES:
            raise _fail(source, _("[items] mode must be one of {modes}, not {mode!r}").format(modes=", ".join(ITEM_MODES), mode=mode))
        if mode == "questions":
            if "title" not in _regex(source, "[items] question", items.get("question")).groupindex:
                raise _fail(source, _("[items] question must capture the question title in a group named title"))
            if "patterns" in items:
                raise _fail(source, _("[items] patterns are for mode = \"numbered\"; use question"))
        else:
            pats = items.get("patterns")
            if not isinstance(pats, list) or not pats:
                raise _fail(source, _("[items] patterns must be a non-empty list of regular expressions"))
            for i, p in enumerate(pats):
                _regex(source, f"[items] patterns[{i}]", p)
            if "question" in items:
                raise _fail(source, _("[items] question is for mode = \"questions\"; use patterns"))
        if "matrix_rows" in items and not isinstance(items["matrix_rows"], bool):
            raise _fail(source, _("[items] matrix_rows must be true or false"))
    elif items is not None:
        raise _fail(source, _("a table profile has no [items]"))
    fields = data.get("fields", {})
    if not isinstance(fields, dict):
        raise _fail(source, _("[fields] must be a table of tables"))
    for fname, spec in fields.items():
        if not _FIELD.fullmatch(fname):
            raise _fail(source, _("field name {field!r} must be lower-case letters, digits and '_'").format(field=fname))
        if not isinstance(spec, dict):
            raise _fail(source, _("[fields.{field}] must be a table").format(field=fname))
        unknown = set(spec) - _FIELD_KEYS
        if unknown:
            raise _fail(source, _("[fields.{field}] has unknown key(s) {keys}").format(field=fname, keys=", ".join(sorted(unknown))))
        if "aliases" in spec:
            _str_list(source, f"[fields.{fname}] aliases", spec["aliases"], allow_empty=False)
        if spec.get("type", "text") not in FIELD_TYPES:
            raise _fail(source, _("[fields.{field}] type must be one of {types}").format(field=fname, types=", ".join(FIELD_TYPES)))
    return _Draft(data, source)


def _resolve(name: str, drafts: Mapping[str, _Draft], stack: tuple[str, ...] = ()) -> dict[str, FieldSpec]:
    """The fields of ``name`` after inheritance: its own aliases first, then the parent's."""
    draft = drafts[name]
    data = draft.data
    inherited: dict[str, FieldSpec] = {}
    parent = data.get("inherit")
    if parent:
        if parent in stack or parent == name:
            raise _fail(draft.source, _("inherit forms a loop: {chain}").format(chain=" → ".join((*stack, name, parent))))
        if parent not in drafts:
            raise _fail(draft.source, _("inherits from unknown profile {parent!r}; known: {known}").format(parent=parent, known=", ".join(sorted(drafts))))
        inherited = _resolve(parent, drafts, (*stack, name))
        wanted = data.get("inherit_fields")
        if wanted is not None:
            unknown = [f for f in wanted if f not in inherited]
            if unknown:
                raise _fail(
                    draft.source,
                    _("inherit_fields names field(s) {parent!r} does not have: {fields}").format(parent=parent, fields=", ".join(unknown)),
                )
            inherited = {f: inherited[f] for f in wanted}
    fields = dict(inherited)
    for fname, spec in data.get("fields", {}).items():
        base = inherited.get(fname)
        own = tuple(a.strip() for a in spec.get("aliases", ()))
        if base is None and not own:
            raise _fail(draft.source, _("[fields.{field}] needs aliases").format(field=fname))
        aliases = tuple(dict.fromkeys(own + (base.aliases if base else ())))
        # A student number is always text with its own checks, whatever the file forgot to say.
        default = base.type if base else ("student_no" if fname == "student_no" else "text")
        ftype = spec.get("type", default)
        fields[fname] = FieldSpec(fname, aliases, ftype)
    return fields


def _build(name: str, drafts: Mapping[str, _Draft]) -> Profile:
    draft = drafts[name]
    data = draft.data
    fields = _resolve(name, drafts)
    if data.get("kind", "export") == "export" or "student_no" in fields:
        if "student_no" not in fields:
            raise _fail(draft.source, _("needs a student_no field (its own or inherited)"))
        if fields["student_no"].type != "student_no":
            raise _fail(draft.source, _("the student_no field must have type = \"student_no\""))
    owner: dict[str, str] = {}
    for spec in fields.values():
        for alias in spec.aliases:
            key = header_key(alias)
            other = owner.setdefault(key, spec.name)
            if other != spec.name:
                raise _fail(draft.source, _("alias {alias!r} is listed for both {first} and {second}").format(alias=alias, first=other, second=spec.name))
    items = data.get("items") or {}
    return Profile(
        name=name,
        kind=data.get("kind", "export"),
        title=data.get("title", name),
        description=data.get("description", ""),
        fields=fields,
        markers=tuple(data.get("markers", ())),
        min_markers=int(data.get("min_markers", 0)),
        exclude_markers=tuple(data.get("exclude_markers", ())),
        meta=tuple(data.get("meta", ())),
        item_mode=items.get("mode"),
        question=re.compile(items["question"]) if "question" in items else None,
        matrix_rows=bool(items.get("matrix_rows", False)),
        item_patterns=tuple(re.compile(p) for p in items.get("patterns", ())),
        source=draft.source,
    )


def read_profile_toml(path: Path, source: str, fail) -> object:
    """The parsed TOML of a profile file (survey export or campus system); ``fail(source, message)`` makes the error of that kind of profile."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise fail(source, _("is not UTF-8 text")) from None
    except tomllib.TOMLDecodeError as exc:
        raise fail(source, _("is not valid TOML: {error}").format(error=exc)) from None
    except OSError as exc:
        raise fail(source, _("cannot be read ({reason})").format(reason=exc.strerror or exc)) from None


def _read_draft(path: Path) -> _Draft:
    source = str(path)
    return _check_draft(read_profile_toml(path, source, _fail), source)


def _dir_drafts(directory: Path) -> dict[str, _Draft]:
    if not directory.is_dir():
        raise InvalidInput(_("import profile directory {path} does not exist or is not a directory").format(path=directory))
    drafts: dict[str, _Draft] = {}
    for path in sorted(directory.glob("*.toml")):
        draft = _read_draft(path)
        name = draft.data["name"]
        if name in drafts:
            raise _fail(str(path), _("profile {name!r} is also defined in {other}").format(name=name, other=drafts[name].source))
        drafts[name] = draft
    return drafts


@lru_cache(maxsize=1)
def _builtin_drafts() -> Mapping[str, _Draft]:
    drafts = {}
    for name, draft in _dir_drafts(BUILTIN_DIR).items():
        drafts[name] = _Draft(draft.data, f"built-in {name}")
    return MappingProxyType(drafts)


def _user_dirs(
    dirs: Iterable[str | os.PathLike] | str | os.PathLike | None, env: Mapping[str, str] | None
) -> list[Path]:
    env = os.environ if env is None else env
    out = [Path(p) for p in env.get(ENV_VAR, "").split(os.pathsep) if p.strip()]
    if dirs is not None:
        if isinstance(dirs, (str, os.PathLike)):
            dirs = [dirs]
        out.extend(Path(d) for d in dirs)
    return out


def load_profiles(
    dirs: Iterable[str | os.PathLike] | str | os.PathLike | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> dict[str, Profile]:
    """Every profile by name: built-in, then ``MHTOOL_PROFILES`` dirs, then ``dirs``.

    A later profile with an earlier one's name replaces it. Every file is
    validated; the first invalid one raises :class:`InvalidInput` naming it.
    """
    user = _user_dirs(dirs, env)
    if not user:
        return dict(_builtin_profiles())
    drafts: dict[str, _Draft] = dict(_builtin_drafts())
    for d in user:
        drafts.update(_dir_drafts(d))
    return {name: _build(name, drafts) for name in sorted(drafts)}


@lru_cache(maxsize=1)
def _builtin_profiles() -> Mapping[str, Profile]:
    """The built-in profiles, validated once (profiles are immutable)."""
    drafts = dict(_builtin_drafts())
    return {name: _build(name, drafts) for name in sorted(drafts)}


def load_profile_file(path: str | os.PathLike) -> Profile:
    """Validate one profile file (it may inherit from the built-in profiles)."""
    draft = _read_draft(Path(path))
    drafts: dict[str, _Draft] = dict(_builtin_drafts())
    drafts[draft.data["name"]] = draft
    return _build(draft.data["name"], drafts)


def get_profile(
    name: str | Profile,
    dirs: Iterable[str | os.PathLike] | str | os.PathLike | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> Profile:
    if isinstance(name, Profile):
        return name
    profiles = load_profiles(dirs, env=env)
    if name not in profiles:
        raise InvalidInput(
            _("unknown import profile {name!r}").format(name=name),
            hint=_("use one of: {profiles} (or auto)").format(profiles=", ".join(sorted(profiles))),
        )
    return profiles[name]


def detect_profile(
    header_cells: Sequence[object],
    profiles: Mapping[str, Profile] | Iterable[Profile],
    *,
    kind: str = "export",
) -> Profile:
    """The one profile of ``kind`` whose header signature matches, for ``--profile auto``."""
    candidates = list(profiles.values() if isinstance(profiles, Mapping) else profiles)
    candidates = [p for p in candidates if p.kind == kind]
    matched = [p for p in candidates if p.matches(p.layout(header_cells))]
    if len(matched) == 1:
        return matched[0]
    names = ", ".join(sorted(p.name for p in candidates))
    if not matched:
        raise InvalidInput(
            _("no import profile matches the header row (tried {profiles})").format(profiles=names),
            hint=_("pass --profile NAME to choose one"),
        )
    raise InvalidInput(
        _("the header row matches several import profiles ({profiles})").format(profiles=", ".join(sorted(p.name for p in matched))),
        hint=_("pass --profile NAME to choose one"),
    )
