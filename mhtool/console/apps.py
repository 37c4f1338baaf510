"""How every Typer (sub-)app is built: plain help text, no locals in tracebacks, -h as --help."""

from __future__ import annotations

import typer


def make_subapp(**kwargs) -> typer.Typer:
    return typer.Typer(
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        **kwargs,
    )
