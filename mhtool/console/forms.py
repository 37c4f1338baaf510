"""Short forms on a terminal: what a command still needs, asked in the reader's language.

A command describes the values it records once, as :class:`Field` specs
(plain data), and calls :func:`fill` with what the command line gave:

* off a terminal, in a correction (``--corrects``: the corrected entry supplies
  what is not restated), or when every required value was given, nothing is
  asked and the given values come back unchanged; the use case then names a
  flag that is still missing (exit 2), as it always has;
* on a terminal with a required value missing, a form asks for what is
  missing (and for a few optional values; Enter skips one), shows a summary
  of every value, given or answered, and asks for confirmation (default yes).
  Declining, Ctrl-C or Ctrl-D raise :class:`~mhtool.errors.Interrupted`
  (exit 130). The command calls :func:`fill` before it opens the store, so a
  cancelled form leaves the store untouched.

Choices show their labels (:mod:`mhtool.domain.labels`) in the reader's
language, watch levels and risks in their colours; dates are checked while
they are typed by the parsers the use cases apply (:mod:`mhtool.domain.dates`).

The questions themselves are :mod:`mhtool.console.prompts`' widgets, the one
module that imports questionary, and only when a form is shown: most commands
never show one, and start-up time matters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from mhtool.console import prompts
from mhtool.errors import Interrupted, MhtoolError
from mhtool.i18n import _, current, joined

KINDS = ("text", "choice", "date", "datetime", "int")

# prompt_toolkit styles of the watch levels and of risks (the colours of the dossier's badges).
LEVEL_STYLES: Mapping[str, str] = {"red": "fg:ansired bold", "orange": "fg:#ff8700 bold", "yellow": "fg:ansiyellow"}
RISK_STYLES: Mapping[str, str] = {"high": LEVEL_STYLES["red"], "medium": LEVEL_STYLES["orange"], "low": LEVEL_STYLES["yellow"]}
URGENCY_STYLES: Mapping[str, str] = {"emergency": LEVEL_STYLES["red"], "urgent": LEVEL_STYLES["orange"]}

# The value of the "skip" choice of an optional choice question (never a real value).
_SKIP = "\x00skip"


@dataclass(frozen=True)
class Field:
    """One value a form may ask for: where it comes from on the command line, how to ask, what it may be.

    ``name`` is the key in the given values and in the result (the command's
    parameter name); ``flag`` is the option that gives it (named in the
    messages of a date that cannot be read); ``question`` is an English
    message id marked with ``N_()``, translated when asked and in the summary.

    ``kind``: ``text``, ``choice`` (one of ``choices``; a choice question with
    no choices asks for text), ``date``, ``datetime`` (a date, a time may
    follow) or ``int``. A choice is shown as its label in ``labels`` (a domain
    of :mod:`mhtool.domain.labels`) or as ``titles[value]`` (an ``N_()``
    message), in the colour ``styles[code]``.

    ``required``: the form opens when it is missing, and does not accept an
    empty answer. ``ask=False``: never asked, only shown in the summary when
    given. ``default``: the preselected choice, or ``"today"`` / ``"now"`` for a
    date. ``future``: a date may lie ahead (a reminder); otherwise it is a past
    event. ``when=(name, values)``: the field applies only when the value of
    ``name`` is one of ``values``.
    """

    name: str
    flag: str
    question: str
    kind: str = "text"
    choices: tuple[str, ...] = ()
    labels: str | None = None
    titles: Mapping[str, str] | None = None
    styles: Mapping[str, str] | None = None
    required: bool = False
    ask: bool = True
    default: str | None = None
    future: bool = False
    when: tuple[str, tuple[str, ...]] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")


def empty(value) -> bool:
    """Whether a value counts as not given (None, blank text, an empty list)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple)):
        return not value
    return False


def applies(field: Field, values: Mapping) -> bool:
    """Whether ``field`` is part of the form, given the values known so far."""
    if field.when is None:
        return True
    name, wanted = field.when
    return values.get(name) in wanted


def missing(fields: Iterable[Field], given: Mapping) -> list[Field]:
    """The required fields that apply and have no value."""
    return [f for f in fields if f.required and applies(f, given) and empty(given.get(f.name))]


def wanted(fields: Iterable[Field], given: Mapping, *, correcting: bool = False) -> bool:
    """Whether :func:`fill` shows a form: on a terminal, outside a correction, with a required value missing."""
    if correcting or not missing(fields, given):
        return False
    from mhtool.console.prompts import is_interactive

    return is_interactive()


def changed(fields: Iterable[Field], name: str, **changes) -> tuple[Field, ...]:
    """``fields`` with the field ``name`` changed (e.g. ``required=False`` when other values make it optional)."""
    return tuple(replace(f, **changes) if f.name == name else f for f in fields)


def fill(
    fields: Sequence[Field],
    given: Mapping,
    *,
    correcting: bool = False,
    choices: Mapping[str, Callable[[], Sequence[str]]] | None = None,
) -> dict:
    """The given values, completed on a terminal by a form when a required one is missing.

    Returns a new dict: ``given`` plus the answers (``None`` for an optional
    question skipped). ``choices`` supplies, by field name, the choices of a
    choice field known only at run time (read only if the field is asked).
    Raises :class:`~mhtool.errors.Interrupted` when the form is declined or
    interrupted.
    """
    values = dict(given)
    if not wanted(fields, values, correcting=correcting):
        return values
    try:
        for field in fields:
            if field.ask and applies(field, values) and empty(values.get(field.name)):
                offered = tuple(choices[field.name]()) if choices and field.name in choices else field.choices
                values[field.name] = _ask(field, offered)
        _show_summary(fields, values)
        confirmed = prompts.form_confirm(_("Record this?"))
    except (KeyboardInterrupt, EOFError):
        raise Interrupted(_("cancelled; nothing was changed")) from None
    if not confirmed:
        raise Interrupted(_("cancelled; nothing was changed"))
    return values


# -- showing values ---------------------------------------------------------------------------


def _code(field: Field, value) -> str:
    """The code of a choice value (a label typed on the command line, 红色, is the code red)."""
    if field.labels:
        from mhtool.domain.labels import code_from_label

        return code_from_label(field.labels, str(value)) or str(value)
    return str(value)


def title(field: Field, value) -> str:
    """A value as the reader sees it: a choice's label, a list joined, yes or no."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (list, tuple)):
        return joined(title(field, v) for v in value)
    if field.kind in ("date", "datetime") and isinstance(value, str):
        return resolved(field, value) or value
    if field.titles and value in field.titles:
        return _(field.titles[value])
    if field.labels:
        from mhtool.domain.labels import label

        return label(field.labels, _code(field, value), current())
    return str(value)


def question(field: Field) -> str:
    """The question of ``field`` in the reader's language."""
    return _(field.question)


def _line(field: Field, value) -> str:
    asked = question(field)
    return f"{asked}{' ' if asked.endswith(':') else ''}{title(field, value)}"


def summary(fields: Iterable[Field], values: Mapping) -> list[str]:
    """One line per value given or answered, in the order of ``fields``."""
    return [_line(f, values.get(f.name)) for f in fields if not empty(values.get(f.name)) and applies(f, values)]


def _show_summary(fields: Sequence[Field], values: Mapping) -> None:
    from mhtool.console import output

    output.info(_("To be recorded:"))
    for line in summary(fields, values):
        output.info(f"  {line}")


# -- asking -----------------------------------------------------------------------------------


def _today():
    from mhtool.domain import dates

    return dates.today()


def _default_text(field: Field) -> str:
    if field.kind in ("date", "datetime") and field.default in ("today", "now"):
        from mhtool.domain import dates

        if field.default == "now" and field.kind == "datetime":
            return dates.now().strftime("%Y-%m-%d %H:%M")
        return dates.today().isoformat()
    return field.default or ""


def resolved(field: Field, text: str) -> str | None:
    """A date as typed (``today``, ``+7d``, ``2026/11/23 9:05``) as the day (and time) it names; None if it cannot be read."""
    from mhtool.domain import dates

    try:
        if field.kind == "date":
            return dates.parse_date(text, today=_today(), option=field.flag).isoformat()
        at = dates.parse_datetime(text, today=_today(), option=field.flag)
    except MhtoolError:
        return None
    return at.strftime("%Y-%m-%d %H:%M") if ":" in text else at.date().isoformat()


def check(field: Field, text: str) -> str | None:
    """Why ``text`` is no answer to ``field`` (None when it is one): what the form says while it is typed."""
    if not text.strip():
        return _("required (Ctrl-C cancels)") if field.required else None
    if field.kind == "int":
        if not text.strip().isdigit() or int(text) < 1:
            return _("{flag}: a whole number of at least 1").format(flag=field.flag)
        return None
    if field.kind in ("date", "datetime"):
        from mhtool.domain import dates

        today = _today()
        try:
            if field.kind == "date":
                dates.parse_date(text, today=today, option=field.flag, allow_future=field.future)
            else:
                at = dates.parse_datetime(text, today=today, option=field.flag)
                if not field.future and at.date() > today:
                    dates.parse_date(at.date().isoformat(), today=today, option=field.flag, allow_future=False)
        except MhtoolError as exc:
            return exc.message
    return None


def _ask(field: Field, offered: Sequence[str]):
    asked = question(field)
    if field.kind == "choice" and offered:
        options = [] if field.required or field.default else [(_SKIP, _("(skip)"), None)]
        options += [(value, title(field, value), (field.styles or {}).get(_code(field, value))) for value in offered]
        answer = prompts.form_choice(asked, options, default=field.default if field.default in offered else None)
        return None if answer == _SKIP else answer
    optional = not (field.required or field.default)
    answer = prompts.form_text(
        asked, default=_default_text(field), validate=lambda text: check(field, text) or True, placeholder=_("(Enter skips)") if optional else None
    )
    answer = (answer or "").strip()
    if not answer:
        return None
    if field.kind == "int":
        return int(answer)
    if field.kind in ("date", "datetime"):
        # What the summary shows is what is recorded: the day ``+7d`` named when it was typed.
        return resolved(field, answer) or answer
    return answer


__all__ = [
    "Field",
    "LEVEL_STYLES",
    "RISK_STYLES",
    "URGENCY_STYLES",
    "applies",
    "changed",
    "check",
    "empty",
    "fill",
    "missing",
    "summary",
    "title",
    "wanted",
]
