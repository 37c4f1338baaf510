"""How every Typer (sub-)app is built: help in the reader's language, no locals in tracebacks, -h as --help.

A command is turned into its Click form (every parameter inspected) only when
it is looked up: ``mhtool cases show`` builds ``show``, not the group's other
two dozen commands (:class:`LazyCommands`, :func:`build_group`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping

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


class LazyCommands(MutableMapping):
    """A group's commands by name, in the order they are listed; each is made by its builder when first looked up.

    Listing the names or testing for one builds nothing; looking one up (and
    so iterating over the commands themselves) builds it once.
    """

    def __init__(self, built: dict, pending: dict[str, Callable[[], object]], order: list[str]):
        self._built = dict(built)
        self._pending = {name: make for name, make in pending.items() if name not in self._built}
        self._order = list(dict.fromkeys([*order, *self._built, *self._pending]))

    def pending(self, name: str) -> bool:
        """Whether ``name`` is known but not built yet."""
        return name in self._pending

    def __getitem__(self, name: str):
        if name not in self._built:
            make = self._pending[name]
            self._built[name] = make()
            del self._pending[name]
        return self._built[name]

    def __setitem__(self, name: str, command) -> None:
        self._pending.pop(name, None)
        self._built[name] = command
        if name not in self._order:
            self._order.append(name)

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._built.pop(name, None)
        self._pending.pop(name, None)
        self._order.remove(name)

    def __contains__(self, name) -> bool:
        return name in self._built or name in self._pending

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)


def _command_name(info) -> str:
    import typer.main

    return info.name or typer.main.get_command_name(info.callback.__name__)


def _builder(app: typer.Typer, info) -> Callable[[], object]:
    def build():
        import typer.main

        return typer.main.get_command_from_info(info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=app.rich_markup_mode)

    return build


def build_group(app: typer.Typer, *, name: str | None = None, help: str | None = None):
    """The Click group of a sub-app, its commands built when first looked up (sub-groups at once)."""
    import copy

    import typer.main

    shell = copy.copy(app)
    shell.registered_commands = []
    group = typer.main.get_group(shell)
    if name is not None:
        group.name = name
    group.help = group.help or help
    pending = {_command_name(info): _builder(app, info) for info in app.registered_commands}
    group.commands = LazyCommands(group.commands, pending, order=list(pending))
    return group


def command_of(app: typer.Typer, name: str):
    """The Click command ``name`` of those registered on ``app`` (by a feature's ``register(app)``)."""
    for info in app.registered_commands:
        if _command_name(info) == name:
            return _builder(app, info)()
    raise KeyError(name)
