"""The only place that prints.

Data goes to stdout (aligned columns on a terminal, paged when longer than
the screen; tab-separated text, CSV or JSON otherwise); messages, warnings and
progress go to stderr. Colours only on a terminal, and never with ``NO_COLOR``.
User text is always printed as plain text, never parsed as markup (a note
containing ``[red]`` prints as typed) and never as control sequences.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from mhtool.i18n import _
from mhtool.io.cells import FORMULA_TRIGGERS, formula_safe

_consoles: dict[str, Any] = {}



def _console(stderr: bool):
    key = "err" if stderr else "out"
    if key not in _consoles:
        from rich.console import Console

        _consoles[key] = Console(stderr=stderr, highlight=False, soft_wrap=True)
    return _consoles[key]


def reset() -> None:
    """Forget cached consoles (the test runner swaps sys.stdout between invocations)."""
    _consoles.clear()


def _json_default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def to_json(data, *, indent: int | None = 2) -> str:
    return json.dumps(data, ensure_ascii=False, indent=indent, default=_json_default)


# -- data (stdout) ---------------------------------------------------------------------------


def emit_json(data) -> None:
    """Valid JSON on stdout, always; an empty result is ``[]``."""
    if data is None:
        data = []
    # Indented for a person at a terminal; compact for scripts, where it is
    # also several times faster (json's C encoder does not indent).
    sys.stdout.write(to_json(data, indent=2 if sys.stdout.isatty() else None) + "\n")
    sys.stdout.flush()


def emit_line(text: str) -> None:
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def emit_path(path, *, print_path: bool = False) -> None:
    """The path of a file just written, on stdout: for a person at a terminal, or when ``--print-path`` asks for it.

    Otherwise nothing, so that a cron job is silent when all went well and
    cron mails only failures.
    """
    if print_path or sys.stdout.isatty():
        emit_line(str(path))


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}" if value != int(value) else str(int(value))
    if isinstance(value, (list, tuple)):
        return "、".join(_cell_text(v) for v in value)
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ", timespec="minutes") if isinstance(value, datetime) else value.isoformat()
    return str(value)


def safe_csv_cell(value) -> str:
    """A cell as text that no spreadsheet runs as a formula (a number stays a number: -3 is no formula)."""
    text = _cell_text(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return text
    return formula_safe(text)


# In a line of cells: a cell after the first that starts like a formula. An empty cell followed by
# a tab matches too; such a line is then just made safe cell by cell.
_CELL_TRIGGER = re.compile("\t[" + re.escape("".join(FORMULA_TRIGGERS)) + "]")


def _plain_cell(value) -> str:
    """A cell of tab-separated output: one line, no tab, and as safe to open in a spreadsheet as a CSV cell."""
    # Most cells are text: checked inline, since a list of 3,000 students has 30,000 of them.
    if type(value) is str:
        text = value
    elif value is None:
        return ""
    else:
        text = _cell_text(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return text
    if "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\t", " ").replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    return formula_safe(text)


def emit_table(rows: Sequence[dict], columns: Sequence[tuple[str, str]], *, title: str | None = None, styles: dict | None = None) -> None:
    """Rows as a table: aligned columns on a terminal, tab-separated text otherwise.

    ``columns`` is a list of (key, header). ``styles`` maps a key to a function
    value → style name such as ``"bold red"`` (used for level colours). On a
    terminal a table longer than the screen goes through the pager
    (:mod:`mhtool.console.pager`), its first screen shown before the rest is drawn.
    """
    tty = sys.stdout.isatty()
    if not tty and not os.environ.get("FORCE_TERMINAL"):
        out = sys.stdout
        keys = [k for k, _header in columns]
        out.write("\t".join(h for _key, h in columns) + "\n")
        separators = len(keys) - 1
        for row in rows:
            values = [row.get(k) for k in keys]
            # Most rows are text cells that need no change: checked as one line, each cell
            # gone through only when the line holds a value that is not text or may need a change.
            if None in values:
                values = ["" if v is None else v for v in values]  # an empty cell, as _plain_cell writes it
            try:
                line = "\t".join(values)
            except TypeError:
                line = None
            if line is None or line.count("\t") != separators or "\n" in line or "\r" in line or line.startswith(FORMULA_TRIGGERS) or _CELL_TRIGGER.search(line):
                line = "\t".join([_plain_cell(v) for v in values])
            out.write(line + "\n")
        out.flush()
        return
    import itertools
    import shutil

    from mhtool.console import pager, table

    size = shutil.get_terminal_size()
    keys = [k for k, _header in columns]
    lines = table.render(
        [h for _key, h in columns],
        [[row.get(k) for k in keys] for row in rows],
        text=_cell_text,
        styles=[(styles or {}).get(k) for k in keys],
        room=size.columns,
        title=title,
        colour=colour(),
    )
    # A table fits when it leaves the last line for the shell prompt; one of a screen's height or more is paged.
    first = list(itertools.islice(lines, max(size.lines, 1)))
    chosen = pager.command() if tty and len(first) >= size.lines else None
    if chosen and not pager.found(chosen):
        warn(_("the pager {command} was not found (MHTOOL_PAGER or PAGER); printing without it").format(command=chosen))
    elif chosen and pager.page(first, lines, chosen):
        return
    out = sys.stdout
    out.write("".join(first))
    out.flush()
    for chunk in pager.chunks(lines):
        out.write(chunk)
    out.flush()


def colour() -> bool:
    """Whether terminal output may carry colours and other styles: not with ``NO_COLOR`` set, nor on a dumb terminal."""
    return not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def emit_csv(rows: Sequence[dict], columns: Sequence[tuple[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([h for _key, h in columns])
    for row in rows:
        writer.writerow([safe_csv_cell(row.get(k)) for k, _header in columns])
    sys.stdout.write(buffer.getvalue())
    sys.stdout.flush()


def emit_renderable(renderable) -> None:
    """A composed rich object (a dossier panel) on stdout; plain text when not a terminal."""
    _console(stderr=False).print(renderable)


# -- messages (stderr) -----------------------------------------------------------------------


# What rich leaves out of a message (bell, backspace, vertical tab, form feed, carriage return).
_CONTROL = dict.fromkeys((7, 8, 11, 12, 13))


def _stderr_plain() -> bool:
    """Whether stderr is no terminal (a script's, a cron job's): messages go out plain, without importing rich."""
    return not sys.stderr.isatty() and not os.environ.get("FORCE_TERMINAL")


def _say(text: str, style: str = "") -> None:
    if _stderr_plain():
        # No colour off a terminal: the line as rich would print it, without importing rich (a script's start-up).
        sys.stderr.write(text.translate(_CONTROL).expandtabs(8) + "\n")
        sys.stderr.flush()
        return
    from rich.text import Text

    _console(stderr=True).print(Text(text, style=style))


def info(text: str) -> None:
    _say(text)


def success(text: str) -> None:
    _say(text, "green")


def done(text: str) -> None:
    """That the command did what was asked, for a person at a terminal; silent for scripts and cron jobs."""
    if sys.stderr.isatty():
        success(text)


def warn(text: str) -> None:
    _say(_("warning: {text}").format(text=text), "yellow")


def error(text: str, hint: str | None = None) -> None:
    _say(_("error: {text}").format(text=text), "bold red")
    if hint:
        _say("  " + _("hint: {text}").format(text=hint), "dim")


def problems(items: Iterable, *, limit: int = 50) -> None:
    """List input problems on stderr, one line each, with their location."""
    items = list(items)
    for p in items[:limit]:
        _say(f"  {p}", "yellow")
    if len(items) > limit:
        _say("  " + _("… and {count} more (use --json or --rejects to see them all)").format(count=len(items) - limit), "yellow")


@contextmanager
def progress(total: int | None, description: str) -> Iterator:
    """A progress bar on stderr when it is a terminal; a silent no-op otherwise.

    Yields ``advance(n=1)``.
    """
    # Tested first, so that an unattended import reaches its first row without importing rich (~25 ms).
    if _stderr_plain() or not _console(stderr=True).is_terminal:
        yield lambda n=1: None
        return
    console = _console(stderr=True)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # Without a known total (reading a workbook) a spinner says "working"; a count would read 0/?.
    columns = (
        (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        if total is None
        else (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


LEVEL_STYLES = {"red": "bold red", "orange": "bold dark_orange", "yellow": "yellow"}


def level_style(value) -> str:
    return LEVEL_STYLES.get(str(value), "")
