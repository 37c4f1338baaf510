"""The only place that asks questions. Used only when stdin and stdout are terminals.

Every prompt is a fallback for a flag: without a terminal, callers raise a
UsageError naming the flag instead of asking.
"""

from __future__ import annotations

import sys

from mhtool.errors import Interrupted, UsageError
from mhtool.i18n import _

__all__ = ["Interrupted", "confirm", "is_interactive", "secret", "select", "text"]


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _answer(question):
    answer = question.unsafe_ask()
    if answer is None:
        raise Interrupted(_("cancelled; nothing was changed"))
    return answer


def secret(message: str, *, confirm: bool = False) -> str:
    import questionary

    first = _answer(questionary.password(message))
    if confirm:
        second = _answer(questionary.password(_("Again:")))
        if first != second:
            raise UsageError(_("the two entries differ; nothing was changed"))
    if not first:
        raise UsageError(_("an empty passphrase is not allowed"))
    return first


def text(message: str, *, default: str = "", flag: str) -> str:
    if not is_interactive():
        raise UsageError(_("missing {flag}").format(flag=flag), hint=_("pass {flag} (prompts only appear on a terminal)").format(flag=flag))
    import questionary

    return _answer(questionary.text(message, default=default))


def select(message: str, choices: list[str], *, flag: str) -> str:
    if not is_interactive():
        raise UsageError(_("missing {flag}").format(flag=flag), hint=_("pass {flag} with one of: {choices}").format(flag=flag, choices=", ".join(choices)))
    import questionary

    return _answer(questionary.select(message, choices=choices))


def confirm(message: str, *, flag: str = "--yes") -> bool:
    if not is_interactive():
        raise UsageError(_("this needs confirmation; pass {flag}").format(flag=flag))
    import questionary

    return bool(_answer(questionary.confirm(message, default=False)))
