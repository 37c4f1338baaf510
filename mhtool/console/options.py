"""Options shared by many commands, defined once as ``Annotated`` aliases, and the checks of flag values.

A value given on the command line that cannot be right whatever the store
holds (a level that does not exist, a date that cannot be read, ``--lang xx``)
is a usage error (exit 2) naming the flag, found while the command line is
parsed: before a passphrase is asked for or the store is opened. The checks
call the same parser the use case calls, so the command line and the library
accept exactly the same values; the use case still parses the value it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mhtool.errors import InvalidInput, MhtoolError, NotFound, UsageError
from mhtool.i18n import _

LANGS = ("zh", "en")


def flag_name(param) -> str:
    """How the user wrote the parameter: its long option (``--level``), or an argument's metavar (``LEVEL``)."""
    if getattr(param, "param_type_name", "") == "argument":
        return (getattr(param, "metavar", None) or param.name or "").upper()
    opts = list(getattr(param, "opts", None) or ())
    longs = [o for o in opts if o.startswith("--")]
    return (longs or opts or [f"--{param.name}"])[0]


def _usage(flag: str, exc: MhtoolError) -> UsageError:
    message = exc.message if exc.message.startswith(flag) else f"{flag}: {exc.message}"
    return UsageError(message, hint=exc.hint)


def checked(parse: Callable[..., Any], *, pass_flag: bool = False):
    """A Typer callback: the value as given, once ``parse`` accepted it; a refused value is a usage error naming the flag.

    ``parse(value)`` (or ``parse(value, flag)`` with ``pass_flag``) raises
    :class:`InvalidInput`, :class:`UsageError` or ``ValueError`` for a value it
    refuses. Repeatable options are checked value by value.
    """

    def callback(ctx, param, value):
        if value is None or getattr(ctx, "resilient_parsing", False):
            return value
        flag = flag_name(param)
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if item is None:
                continue
            try:
                parse(item, flag) if pass_flag else parse(item)
            except (InvalidInput, UsageError, NotFound) as exc:
                raise _usage(flag, exc) from None
            except ValueError as exc:
                raise UsageError(_("{flag}: {value!r} is not accepted ({problem})").format(flag=flag, value=item, problem=exc)) from None
        return value

    return callback


def student_no_value(value: str) -> None:
    """Refuse what cannot be a student number (``0``, ``../x``, ``学号``, 5,000 digits)."""
    from mhtool.domain import student_no

    problem = student_no.shape_problem(student_no.normalise(value))
    if problem:
        raise InvalidInput(problem)


def _lang(value: str) -> None:
    if value not in LANGS:
        raise UsageError(_("--lang {value!r}: use zh or en").format(value=value))


def check_date(value: str, flag: str) -> None:
    """Refuse a date that cannot be read, naming ``flag``."""
    from mhtool.domain import dates

    if str(value).strip():
        dates.parse_date(str(value), today=date.today(), option=flag)


def check_datetime(value: str, flag: str) -> None:
    """Refuse a date or date-time (``2026-11-23 22:10``) that cannot be read, naming ``flag``."""
    from mhtool.domain import dates

    if str(value).strip():
        dates.parse_datetime(str(value), today=date.today(), option=flag)


def check_profile(value: str) -> None:
    """Refuse the name of an import profile that does not exist (``auto`` detects one)."""
    from mhtool.io.profiles import get_profile, load_profiles

    if value == "auto":
        return
    try:
        load_profiles()
    except MhtoolError:
        return  # a broken profile file is reported, as bad file data, when the command reads it
    get_profile(value)


# Syntax only: whether a date may lie in the future, or before another one, is the use case's rule.
date_value = checked(check_date, pass_flag=True)
datetime_value = checked(check_datetime, pass_flag=True)
lang_value = checked(_lang)
profile_value = checked(check_profile)


@contextmanager
def usage_for(*flags: str, errors: tuple[type[MhtoolError], ...] = (NotFound,)) -> Iterator[None]:
    """Inside, an error of ``errors`` about the value of one of ``flags`` is a usage error (exit 2).

    For values only the store can check, such as a name looked up in a
    directory (``--hospital: no hospital named …``): the use case raises
    :class:`NotFound` with a message that starts with the flag. Other errors,
    and messages about anything else, pass unchanged.
    """
    try:
        yield
    except errors as exc:
        if any(exc.message.startswith((f"{flag}:", f"{flag} ")) for flag in flags):
            raise UsageError(exc.message, hint=exc.hint) from None
        raise


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (a list is [] when empty).")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV on stdout (cells that could run as formulas are quoted).")]
LangOpt = Annotated[
    Optional[str],
    typer.Option(
        "--lang", callback=lang_value,
        help="Label language, zh or en. Default: tables on the terminal follow your language (MHTOOL_LANG, LANG); CSV, JSON and workbooks are in Chinese.",
    ),
]
RedactOpt = Annotated[bool, typer.Option("--redact", help="De-identify (脱敏): leave out names, numbers, class, dorm, contacts and clinical fields, mask names and numbers inside text, and withhold rows that would still single someone out (docs/reports.md).")]
CollegeOpt = Annotated[Optional[str], typer.Option("--college", help="Only this college (学院).")]
OutFileOpt = Annotated[Optional[Path], typer.Option("--out", "-o", help="Write a workbook (.xlsx) here.")]
ReasonOpt = Annotated[Optional[str], typer.Option("--reason", help="Why (required for every change of level or status).")]
DateOpt = Annotated[
    Optional[str],
    typer.Option(
        "--date", callback=date_value,
        help="When it happened: 2026-11-23, 2026/11/23, 20261123, today or yesterday (default today).",
    ),
]
PurposeOpt = Annotated[Optional[str], typer.Option("--purpose", help="Why this identifiable export is made (kept in the audit log).")]
PrintPathOpt = Annotated[
    bool,
    typer.Option(
        "--print-path",
        help="Print the path of the file written on stdout even when stdout is not a terminal (by default only a terminal shows it, so cron mails only failures).",
    ),
]
