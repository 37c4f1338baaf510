"""The root ``mhtool`` command: global options, sub-apps, and the one map from errors to exit codes.

Sub-app modules import only typer at import time; the heavy modules (pandas,
openpyxl, cryptography) are imported inside the commands that use them, so
``mhtool --help`` stays quick.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from mhtool import __version__
from mhtool.console.apps import LazyCommands, make_subapp
from mhtool.console.help import HelpGroup
from mhtool.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, MhtoolError
from mhtool.i18n import N_, _, current


def _is_cli_control(exc: BaseException) -> bool:
    # Typer's own exits and usage errors (vendored Click classes) pass through
    # untouched; matching by name keeps us off the vendored package's internals.
    return any(cls.__name__ in ("ClickException", "Exit", "Abort") for cls in type(exc).__mro__)


def _is_usage_mistake(exc: BaseException) -> bool:
    """A Typer usage error to say in Chinese (the page a bare group prints is help, not a mistake)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return "UsageError" in names and "NoArgsIsHelpError" not in names and current() == "zh"


# Command groups load their module only when used, so `mhtool --help` and a
# command of one group never pay for importing the others.
LAZY_GROUPS: dict[str, tuple[str, str, str]] = {
    "survey": ("mhtool.survey.cli", "app", N_("Instruments, scoring and import of screening exports (心理普查).")),
    "cases": ("mhtool.cases.cli", "app", N_("One dossier per student (一人一档): levels, interviews, follow-ups, tasks.")),
    "referral": ("mhtool.referral.cli", "app", N_("Referrals to hospitals (转介) and the hospitals directory.")),
    "signals": ("mhtool.signals.cli", "app", N_("Campus signals (多源预警): dorm access, campus card and academic data, explained for a counselor's review.")),
    "network": ("mhtool.network.cli", "app", N_("The 五级网络: the roster of 心理委员 and 寝室长, their reports (零报告 included) and who has not reported.")),
    "counseling": ("mhtool.counseling.cli", "app", N_("个体咨询与团体辅导: counselors' slots, bookings and the agenda, confidential session records, groups, activities and case conferences.")),
    "report": ("mhtool.report.cli", "app", N_("Weekly, monthly, census and crisis reports (周报/月报/普查/随时报告).")),
    "staff": ("mhtool.admin.cli", "staff_app", N_("Staff members, their roles and key slots (admin).")),
    "audit": ("mhtool.admin.cli", "audit_app", N_("The tamper-evident audit log.")),
    "settings": ("mhtool.admin.cli", "settings_app", N_("The store's policies: screening, cadence, purpose, retention.")),
    "export": ("mhtool.governance.cli", "export_app", N_("De-identified exports for research (科研数据导出).")),
    "retention": ("mhtool.governance.cli", "retention_app", N_("Erase records past the retention period (default 5 years after leaving).")),
}

# Top-level commands defined in a feature's module, by the module whose `register(app)` adds
# them; like the groups, loaded only when run (or listed by `mhtool --help`).
LAZY_COMMANDS: dict[str, str] = {
    "init": "mhtool.admin.cli",
    "info": "mhtool.admin.cli",
    "backup": "mhtool.admin.cli",
    "restore": "mhtool.admin.cli",
    "check": "mhtool.admin.cli",
    "upgrade": "mhtool.admin.cli",
    "erase": "mhtool.governance.cli",
    "unlock": "mhtool.admin.cli",
    "lock": "mhtool.admin.cli",
}


def _feature_group(name: str):
    import importlib

    from mhtool.console.apps import build_group

    module, attr, help_text = LAZY_GROUPS[name]
    return build_group(getattr(importlib.import_module(module), attr), name=name, help=help_text)


@functools.cache
def _registered(module: str) -> typer.Typer:
    import importlib

    registry = make_subapp()
    importlib.import_module(module).register(registry)
    return registry


def _feature_command(name: str):
    from mhtool.console.apps import command_of

    return command_of(_registered(LAZY_COMMANDS[name]), name)


def _shortened(path: str, keep: int = 120) -> str:
    """A path as a message shows it: whole, or its beginning and end when it is very long."""
    return path if len(path) <= keep else f"{path[: keep // 2]}…{path[-keep // 2 :]}"


class MhtoolGroup(HelpGroup):
    """The root group: lazy commands and sub-groups, and every mhtool error turned into a one-line message and its exit code."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        pending = {name: functools.partial(_feature_command, name) for name in LAZY_COMMANDS}
        pending.update({name: functools.partial(_feature_group, name) for name in LAZY_GROUPS})
        self.commands = LazyCommands(self.commands, pending, order=[*LAZY_COMMANDS, *self.commands, *LAZY_GROUPS])

    def command_rows(self, ctx, formatter) -> list[tuple[str, str]]:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            if name in LAZY_GROUPS and self.commands.pending(name):
                rows.append((name, _(LAZY_GROUPS[name][2])))
                continue
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit)))
        return rows

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except Exception as exc:
            if _is_usage_mistake(exc):
                from mhtool.console.help import show_usage_error

                show_usage_error(exc)
                raise typer.Exit(EXIT_USAGE) from None
            raise

    def invoke(self, ctx):
        from mhtool.console import output

        try:
            return super().invoke(ctx)
        except MhtoolError as exc:
            if os.environ.get("MHTOOL_DEBUG") == "1":
                raise
            hint = exc.hint
            if hint is None and exc.exit_code == EXIT_INTERRUPTED:
                hint = _("run the command again to start over")
            output.error(exc.message, hint)
            problems = getattr(exc, "problems", None)
            if problems:
                output.problems(problems)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            output.error(
                _("interrupted; the transaction in progress was rolled back, nothing partial was saved"),
                _("run the command again to start over"),
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # The reader (e.g. `| head`) went away: stop quietly, as Unix tools do.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(EXIT_ERROR) from None
        except Exception as exc:
            if _is_usage_mistake(exc):
                from mhtool.console.help import show_usage_error

                show_usage_error(exc)
                raise typer.Exit(EXIT_USAGE) from None
            if _is_cli_control(exc) or os.environ.get("MHTOOL_DEBUG") == "1":
                raise
            if isinstance(exc, OSError) and exc.filename is not None:
                # A path the system refuses (a name too long, a folder not allowed, a full disk): said
                # with the path, which the user gave or can find, rather than as an unexpected error.
                output.error(
                    _("cannot use {path}: {reason}").format(path=_shortened(os.fsdecode(exc.filename)), reason=exc.strerror or exc),
                    _("check the path: its folder must exist, each name in it at most 255 bytes long, and you must be allowed to read or write there"),
                )
                raise typer.Exit(EXIT_ERROR) from None
            output.error(
                _("unexpected {kind}: {problem}").format(kind=type(exc).__name__, problem=exc),
                _("run again with MHTOOL_DEBUG=1 to see the traceback"),
            )
            raise typer.Exit(EXIT_ERROR) from None


app = make_subapp(
    cls=MhtoolGroup,
    help=(
        "mhtool — screening, one dossier per student (一人一档), referrals and reports for a "
        "university counseling center, over one encrypted local store.\n\n"
        "Start with `mhtool demo` to see it work on synthetic data."
    ),
    epilog="Exit codes: 0 ok, 1 error, 2 usage, 3 invalid input data, 4 authentication failed, 5 permission denied, 130 interrupted.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mhtool {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    store: Annotated[Optional[Path], typer.Option("--store", help="The store file (default $XDG_DATA_HOME/mhtool/store.db; also MHTOOL_STORE).")] = None,
    user: Annotated[Optional[str], typer.Option("--user", help="Your staff name (also MHTOOL_USER).")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    from mhtool.console import config, output

    output.reset()
    ctx.obj = config.resolve(store, user)


@app.command()
def demo(
    dir: Annotated[Path, typer.Option("--dir", help="Folder for the demo store, exports and reports.")] = Path("mhtool-demo"),
    students: Annotated[int, typer.Option("--students", min=50, max=100_000, help="How many synthetic students.")] = 3000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same school.")] = 2026,
) -> None:
    """Build a synthetic school and run the whole routine on it (no real data involved).

    Example: mhtool demo --dir /tmp/mhtool-demo --students 500
    """
    from mhtool.demo import run_demo

    run_demo(dir, students=students, seed=seed)


def main() -> None:
    # numpy's OpenBLAS starts a thread per core that spins for ~0.1 s of CPU after numpy is imported. No command
    # does the float linear algebra those threads are for, and on a two-core machine they take the core an
    # export's parser threads and SQLite need. The command's own process, before a command imports numpy.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        app()
    finally:
        # On the way out the interpreter runs the cycle collector over every object left (each module,
        # a list's thousands of records): frozen, they are freed without it, ~10 ms sooner per command.
        gc.freeze()


if __name__ == "__main__":
    main()
