"""How every Typer (sub-)app is built: help in the reader's language, no locals in tracebacks, -h as --help."""

from __future__ import annotations

import typer

from mhtool.console.help import HelpCommand, HelpGroup


class MhtoolTyper(typer.Typer):
    """A Typer app whose commands show their help in the reader's language (:mod:`mhtool.console.help`)."""

    def command(self, name=None, *, cls=None, **kwargs):
        return super().command(name, cls=cls or HelpCommand, **kwargs)


def make_subapp(*, cls=None, **kwargs) -> typer.Typer:
    return MhtoolTyper(
        cls=cls or HelpGroup,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        **kwargs,
    )
