"""Reports as typed data, independent of any file format.

A :class:`Report` is a list of :class:`Sheet` values. A table sheet has typed
:class:`Column` values and rows of plain Python values; a form sheet is a
printable record made of :class:`FormSection`, :class:`FormField`,
:class:`FormText` and :class:`SignatureLine` items. Charts are specs that
point into their sheet's own table, so the workbook and the JSON always show
the same figures.

Cells hold codes and raw values, never display text:

========== ==========================================================
kind       cell value
========== ==========================================================
text       ``str``
int        ``int`` (not ``bool``)
float      ``int`` or ``float``
percent    a fraction: ``0.125`` is 12.5 %
date       ``datetime.date`` (not a datetime)
datetime   ``datetime.datetime``, naive in the store's zone (an aware one
           is shown at its own wall-clock time)
level      a level code (``red``, ``orange``, ``yellow``, ``none``)
status     a status code (``enrolled``, ``leave`` …)
code       any other code (``raised``, ``follow_up`` …), shown through the
           column's own ``labels``
========== ==========================================================

``None`` is an empty cell in every kind. A total row may also hold a text
label (``合计``) in any column.

Pure: no I/O. Shape errors (a row with the wrong length, a chart naming a
missing column, a value of the wrong type) raise ``ValueError`` / ``TypeError``
when the sheet is built, because they are bugs in a report builder, not
something a user can fix.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Union

from mhtool.domain.labels import LANGS, label, pick, text
from mhtool.domain.periods import Period
from mhtool.domain.vocabulary import WATCH_LEVELS

COLUMN_KINDS = ("text", "int", "float", "percent", "date", "datetime", "level", "status", "code")
PII_KINDS = ("name", "student_no")
CHART_KINDS = ("line", "bar")
SHEET_KINDS = ("table", "form")


_pick = pick


@dataclass(frozen=True)
class Column:
    """One column of a table sheet.

    ``pii`` marks columns that :func:`mhtool.report.domain.redact.redact_report`
    masks: ``"name"`` or ``"student_no"``. ``width`` overrides the computed
    column width (in Excel character units). A ``code`` column carries its
    ``labels`` as ``(code, zh, en)`` triples; a code without a label is shown
    as it is.
    """

    key: str
    header_zh: str
    header_en: str
    kind: str = "text"
    pii: str | None = None
    width: float | None = None
    labels: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise ValueError(f"column {self.key!r}: kind must be one of {COLUMN_KINDS}, not {self.kind!r}")
        object.__setattr__(self, "labels", tuple(tuple(t) for t in self.labels))
        if self.pii not in (None, *PII_KINDS):
            raise ValueError(f"column {self.key!r}: pii must be None or one of {PII_KINDS}, not {self.pii!r}")

    def header(self, lang: str) -> str:
        return _pick(lang, self.header_zh, self.header_en)

    def display(self, value: str, lang: str) -> str:
        """The label of a ``code`` cell in ``lang`` (the code itself when it has none)."""
        for code, zh, en in self.labels:
            if code == value:
                return _pick(lang, zh, en)
        return value


def field_column(key: str, kind: str = "text", *, pii: str | None = None, width: float | None = None) -> Column:
    """A column headed by the shared field label of ``key`` (``student_no`` → 学号 / Student no.)."""
    return Column(key, label("field", key, "zh"), label("field", key, "en"), kind, pii=pii, width=width)


@dataclass(frozen=True)
class Chart:
    """A native chart over the sheet's own table.

    ``category_column`` gives the x axis, each of ``series_columns`` one line
    or bar series (headed by its column header). ``anchor`` is the top-left
    cell (``"H3"``) of a chart beside its table; ``None`` places the chart
    below the table (the writer starts a new printed page for it when it would
    not fit under the table).

    ``levels`` names the watch level each series shows, so it is drawn in
    that level's colour (``None`` for a series that is no level, such as a
    total). Left empty, a series whose column key is a level code (``red`` …)
    is that level. ``data_labels`` shows each point's value: ``None`` lets
    the writer decide (when there are few points), ``True``/``False`` force it.
    """

    kind: str
    title_zh: str
    title_en: str
    category_column: str
    series_columns: tuple[str, ...]
    anchor: str | None = None
    stacked: bool = False
    levels: tuple[str | None, ...] = ()
    data_labels: bool | None = None

    def __post_init__(self) -> None:
        if self.kind not in CHART_KINDS:
            raise ValueError(f"chart kind must be one of {CHART_KINDS}, not {self.kind!r}")
        object.__setattr__(self, "series_columns", tuple(self.series_columns))
        if not self.series_columns:
            raise ValueError(f"chart {self.title_en or self.title_zh!r} has no series")
        levels = tuple(self.levels) or tuple(k if k in WATCH_LEVELS else None for k in self.series_columns)
        if len(levels) != len(self.series_columns):
            raise ValueError(f"chart {self.title_en or self.title_zh!r}: {len(levels)} levels for {len(self.series_columns)} series")
        for lv in levels:
            if lv is not None and lv not in WATCH_LEVELS:
                raise ValueError(f"chart {self.title_en or self.title_zh!r}: {lv!r} is not a watch level")
        object.__setattr__(self, "levels", levels)

    def title(self, lang: str) -> str:
        return _pick(lang, self.title_zh, self.title_en)


@dataclass(frozen=True)
class FormSection:
    """A heading that starts a group of fields on a form."""

    key: str
    title_zh: str
    title_en: str

    def title(self, lang: str) -> str:
        return _pick(lang, self.title_zh, self.title_en)


@dataclass(frozen=True)
class FormField:
    """One label/value pair on a form; ``kind`` and ``pii`` as for :class:`Column`."""

    key: str
    label_zh: str
    label_en: str
    value: Any = None
    kind: str = "text"
    pii: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise ValueError(f"form field {self.key!r}: kind must be one of {COLUMN_KINDS}, not {self.kind!r}")
        if self.pii not in (None, *PII_KINDS):
            raise ValueError(f"form field {self.key!r}: pii must be None or one of {PII_KINDS}, not {self.pii!r}")
        problem = check_value(self.kind, self.value)
        if problem:
            raise TypeError(f"form field {self.key!r}: {problem}")

    def label(self, lang: str) -> str:
        return _pick(lang, self.label_zh, self.label_en)


@dataclass(frozen=True)
class FormText:
    """A paragraph spanning the form's width (instructions, a long account)."""

    text: str
    key: str | None = None


@dataclass(frozen=True)
class SignatureLine:
    """Blanks to sign on paper: ``咨询师签字：________  日期：________``.

    ``labels`` holds ``(zh, en)`` pairs, one per blank.
    """

    labels: tuple[tuple[str, str], ...] = (("咨询师签字", "Counselor signature"), ("日期", "Date"))
    blank: str = "________"

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(tuple(p) for p in self.labels))

    def text(self, lang: str) -> str:
        return "  ".join(text("form_blank", lang, label=pick(lang, zh, en), blank=self.blank) for zh, en in self.labels)


FormItem = Union[FormSection, FormField, FormText, SignatureLine]

# Who signs a summary sheet before it goes upward (填报人 / 审核人 / 负责人签字 / 日期).
SIGNATURE_ROLES: tuple[str, ...] = ("prepared", "reviewed", "approved", "date")


def signature_block() -> SignatureLine:
    """The blanks printed under a sheet whose ``signatures`` flag is set (long enough to sign on)."""
    return SignatureLine(tuple((label("signature", r, "zh"), label("signature", r, "en")) for r in SIGNATURE_ROLES), blank="_" * 14)


@dataclass
class Sheet:
    """One worksheet: a table (``kind="table"``) or a printable form (``kind="form"``).

    ``signatures`` prints the :func:`signature_block` under the sheet: set it on
    the summary sheets a center signs and hands upward (a form carries its own
    :class:`SignatureLine` items instead).
    """

    key: str
    name_zh: str
    name_en: str
    title_zh: str
    title_en: str
    columns: list[Column] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)
    total_row: list | None = None
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kind: str = "table"
    form: list[FormItem] = field(default_factory=list)
    signatures: bool = False

    def __post_init__(self) -> None:
        self.columns = list(self.columns)
        self.rows = [list(r) for r in self.rows]
        self.total_row = None if self.total_row is None else list(self.total_row)
        self.charts = list(self.charts)
        self.notes = list(self.notes)
        self.form = list(self.form)
        self.validate()

    def validate(self) -> None:
        """Check the sheet's shape and every value against its column kind."""
        where = f"sheet {self.key!r}"
        if self.kind not in SHEET_KINDS:
            raise ValueError(f"{where}: kind must be one of {SHEET_KINDS}, not {self.kind!r}")
        if not isinstance(self.signatures, bool):
            raise TypeError(f"{where}: signatures must be True or False, not {self.signatures!r}")
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{where}: duplicate column keys in {keys}")
        if self.kind == "form":
            if self.columns or self.rows or self.total_row is not None or self.charts:
                raise ValueError(f"{where}: a form sheet has form items, not columns, rows or charts")
            for item in self.form:
                if not isinstance(item, (FormSection, FormField, FormText, SignatureLine)):
                    raise TypeError(f"{where}: {item!r} is not a form item")
            return
        if self.form:
            raise ValueError(f"{where}: form items belong on a form sheet")
        for i, row in enumerate(self.rows, start=1):
            self._check_row(row, f"{where}, row {i}", total=False)
        if self.total_row is not None:
            self._check_row(self.total_row, f"{where}, total row", total=True)
        for chart in self.charts:
            for k in (chart.category_column, *chart.series_columns):
                if k not in keys:
                    raise ValueError(f"{where}: chart {chart.title_en or chart.title_zh!r} names unknown column {k!r}")
            for k in chart.series_columns:
                if self.column(k).kind not in ("int", "float", "percent"):
                    raise ValueError(f"{where}: chart series {k!r} is not a numeric column")

    def _check_row(self, row: list, where: str, *, total: bool) -> None:
        if len(row) != len(self.columns):
            raise ValueError(f"{where}: {len(row)} values for {len(self.columns)} columns")
        for col, value in zip(self.columns, row):
            if total and isinstance(value, str):
                continue
            problem = check_value(col.kind, value)
            if problem:
                raise TypeError(f"{where}, column {col.key!r}: {problem}")

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)

    def column_index(self, key: str) -> int:
        return [c.key for c in self.columns].index(key)

    def name(self, lang: str) -> str:
        return _pick(lang, self.name_zh, self.name_en)

    def title(self, lang: str) -> str:
        return _pick(lang, self.title_zh, self.title_en)

    def records(self) -> list[dict]:
        """The rows as ``{column key: JSON value}`` dicts (codes, ISO dates)."""
        if self.kind == "form":
            out, section = [], None
            for item in self.form:
                if isinstance(item, FormSection):
                    section = item.key
                elif isinstance(item, FormField):
                    out.append({"section": section, "key": item.key, "value": json_value(item.value)})
                elif isinstance(item, FormText) and item.key:
                    out.append({"section": section, "key": item.key, "value": item.text})
            return out
        keys = [c.key for c in self.columns]
        return [{k: json_value(v) for k, v in zip(keys, row)} for row in self.rows]

    def total_record(self) -> dict | None:
        if self.total_row is None:
            return None
        return {c.key: json_value(v) for c, v in zip(self.columns, self.total_row)}


@dataclass
class Report:
    """A whole report: what the workbook and ``--json`` are both made from.

    ``kind`` is the report code (``weekly``, ``monthly``, ``census``,
    ``crisis``); ``lang`` the language of labels in the workbook; ``meta``
    anything a builder wants to carry along (batch ids, college scope,
    ``redacted``), JSON-able. ``meta["unit"]``, when set, is the center's
    name that heads every printed page.
    """

    kind: str
    title_zh: str
    title_en: str
    period: Period | None
    generated_at: datetime
    lang: str = "zh"
    sheets: list[Sheet] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise ValueError(f"lang must be one of {LANGS}, not {self.lang!r}")
        if not isinstance(self.generated_at, datetime):
            raise TypeError("generated_at must be a datetime")
        if self.period is not None and not isinstance(self.period, Period):
            raise TypeError("period must be a Period or None")
        self.sheets = list(self.sheets)
        self.meta = dict(self.meta)
        keys = [s.key for s in self.sheets]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate sheet keys in {keys}")

    def title(self, lang: str | None = None) -> str:
        return _pick(lang or self.lang, self.title_zh, self.title_en)

    def sheet(self, key: str) -> Sheet:
        for s in self.sheets:
            if s.key == key:
                return s
        raise KeyError(key)

    def to_json(self) -> dict:
        """A JSON-able dict with the workbook's figures: codes, ISO dates, fractions for percents."""
        out: dict = {
            "report": self.kind,
            "period": self.period.to_dict() if self.period else None,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "sheets": {s.key: s.records() for s in self.sheets},
        }
        totals = {s.key: s.total_record() for s in self.sheets if s.total_row is not None}
        if totals:
            out["totals"] = totals
        if self.meta:
            out["meta"] = json_value(self.meta)
        return out


def check_value(kind: str, value: Any) -> str | None:
    """Why ``value`` cannot be a cell of ``kind``, or ``None`` if it can."""
    if value is None:
        return None
    ok: bool
    if kind in ("text", "level", "status", "code"):
        ok = isinstance(value, str)
    elif kind == "int":
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    elif kind in ("float", "percent"):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    elif kind == "date":
        ok = isinstance(value, date) and not isinstance(value, datetime)
    elif kind == "datetime":
        ok = isinstance(value, datetime)
    else:
        return f"unknown kind {kind!r}"
    if ok:
        return None
    return f"{type(value).__name__} value {value!r} does not fit a {kind} column"


def json_value(value: Any) -> Any:
    """``value`` as plain JSON: ISO dates, Python numbers, ``null`` for NaN."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Period):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [json_value(v) for v in items]
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON-able")
