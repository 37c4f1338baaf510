"""The exception hierarchy and the exit codes it maps to.

Every failure a user can meet is one of these. The CLI turns them into a
one-line message (plus the ``hint`` that names the fix) and the documented exit
code; nothing else ever reaches the terminal as a traceback unless
``MHTOOL_DEBUG=1``.

Problems with input data are collected as :class:`Problem` values (file, sheet,
row, column, message) rather than raised one at a time, so that one run can
report every bad row of an export.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mhtool.i18n import _

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INVALID_INPUT = 3
EXIT_AUTH_FAILED = 4
EXIT_PERMISSION_DENIED = 5
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place of an input file.

    ``row`` is the 1-based row number as a spreadsheet shows it; ``column`` is
    the header text (or letter) of the column, whichever the user can find.
    """

    message: str
    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None

    @property
    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.sheet:
            parts.append(_("sheet {sheet}").format(sheet=self.sheet))
        if self.row is not None:
            parts.append(_("row {row}").format(row=self.row))
        if self.column:
            parts.append(_("column {column}").format(column=self.column))
        # Translators: separates the parts of a place in a file: "名册.xlsx, sheet 名册, row 3, column 学号".
        return _(", ").join(parts)

    def __str__(self) -> str:
        loc = self.location
        text = self.message
        if self.value is not None:
            text = _("{message} (value {value!r})").format(message=text, value=self.value)
        return _("{location}: {message}").format(location=loc, message=text) if loc else text

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }


class MhtoolError(Exception):
    """Base of every error mhtool reports to a user."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(MhtoolError):
    """The command line itself is wrong (missing flag, bad option value)."""

    exit_code = EXIT_USAGE


class InvalidInput(MhtoolError):
    """Input data (a file, a date, a level…) is not acceptable.

    Carries every :class:`Problem` found, so that the user can fix them all at
    once.
    """

    exit_code = EXIT_INVALID_INPUT

    def __init__(self, message: str, *, problems: list[Problem] | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.problems = list(problems or [])


class AuthenticationFailed(MhtoolError):
    """No credential, or a credential that opens no key slot."""

    exit_code = EXIT_AUTH_FAILED


class PermissionDenied(MhtoolError):
    """The staff member's role or college scope does not allow this."""

    exit_code = EXIT_PERMISSION_DENIED


class KeyUnavailable(PermissionDenied):
    """The session's key slot does not hold the key a record part is sealed under (a clerk's key and clinical content)."""


class NotFound(MhtoolError):
    """A student, batch, referral, hospital or staff member that does not exist."""


class StoreError(MhtoolError):
    """The store is missing, already exists, or cannot be used."""


class IntegrityError(StoreError):
    """A sealed record or the audit chain failed verification (tampering or corruption)."""


class Interrupted(MhtoolError, KeyboardInterrupt):
    """Ctrl-C or a cancelled prompt, with what state it left and how to go on (exit 130).

    A plain :class:`KeyboardInterrupt` means "the transaction in progress was
    rolled back"; this carries a more precise message where that is not the
    whole story (a key rotation commits batch by batch). It is still a
    ``KeyboardInterrupt``, so code that stops on Ctrl-C stops on it too.
    """

    exit_code = EXIT_INTERRUPTED


class RefusedChange(MhtoolError):
    """A well-formed request that the store's current state does not allow (exit 1).

    Removing yourself or the last admin, a status or referral step that does
    not follow from the current one: the message says why, and the hint what
    would make it possible. Distinct from a wrong flag (:class:`UsageError`,
    exit 2) and from bad file data (:class:`InvalidInput`, exit 3).
    """


class ConflictError(MhtoolError):
    """The request contradicts what the store already holds (e.g. a second name for one student number)."""

    exit_code = EXIT_INVALID_INPUT


class ChangedMeanwhile(MhtoolError):
    """Another command changed the record between reading it and writing; nothing was saved, repeat to retry."""


@dataclass
class ProblemLog:
    """Collects problems while a file is read, beancount-style: errors are data."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, message: str, **where) -> None:
        self.problems.append(Problem(message, **where))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def __len__(self) -> int:
        return len(self.problems)
