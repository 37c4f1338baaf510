"""The only place that asks questions. Used only when stdin and stdout are terminals.

Every prompt is a fallback for a flag: without a terminal, callers raise a
UsageError naming the flag instead of asking.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from mhtool.errors import Interrupted, UsageError
from mhtool.i18n import _

__all__ = ["Interrupted", "confirm", "form_choice", "form_confirm", "form_text", "is_interactive", "secret", "select", "text"]


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


# -- the widgets of a form (mhtool.console.forms) -------------------------------------------------
#
# The form turns Ctrl-C and Ctrl-D into Interrupted itself, so these let questionary's exceptions through.


def form_choice(message: str, options: Sequence[tuple[object, str, str | None]], *, default: object = None) -> object:
    """One of ``options`` (value, text, prompt_toolkit style or None), picked with the arrow keys."""
    import questionary

    choices = [questionary.Choice([(style, shown)] if style else shown, value=value) for value, shown, style in options]
    question = questionary.select(message, choices=choices, default=default, instruction=_("(arrow keys, Enter)"))
    return _with_ctrl_d(question).unsafe_ask()


def form_text(message: str, *, default: str, validate: Callable[[str], object], placeholder: str | None = None) -> str | None:
    """A line of text, checked as it is typed; ``placeholder`` shows, greyed, in the empty answer."""
    import questionary

    return questionary.text(
        message,
        default=default,
        validate=validate,
        # Shown in the empty answer, gone at the first key typed.
        placeholder=[("fg:ansibrightblack", placeholder)] if placeholder else None,
    ).unsafe_ask()


def form_confirm(message: str) -> bool:
    """Yes or no, yes by default."""
    import questionary

    return bool(_with_ctrl_d(questionary.confirm(message, default=True)).unsafe_ask())


def _with_ctrl_d(question):
    """``question``, which Ctrl-D cancels as it does a text question (questionary's lists and yes/no ignore it)."""
    from prompt_toolkit.key_binding import KeyBindings

    bindings = question.application.key_bindings
    if isinstance(bindings, KeyBindings):

        @bindings.add("c-d", eager=True)
        def _cancel(event) -> None:
            event.app.exit(exception=EOFError())

    return question
