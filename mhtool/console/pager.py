"""A pager for output longer than the terminal, as git and man use one.

The command comes from ``MHTOOL_PAGER``, else ``PAGER``, else ``less -FRX``
when ``less`` is installed; an empty value or ``cat`` means none. Only stdout
that is a terminal is ever paged. The text is fed as it is produced, so the
first screen shows while the rest is still being written; a reader who quits
early (``q``) simply ends the command.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable

# Lines sent to the pager per write after the first screen: big enough to be cheap,
# small enough that a pager which stops reading leaves little unwritten work behind.
CHUNK_LINES = 512
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def command() -> str | None:
    """The pager to run, or None for none."""
    for variable in ("MHTOOL_PAGER", "PAGER"):
        if variable in os.environ:
            chosen = os.environ[variable].strip()
            return None if chosen in ("", "cat") else chosen
    return "less -FRX" if shutil.which("less") else None


def found(chosen: str) -> bool:
    """Whether the program a pager command starts (after any VAR=value words) is installed."""
    return _program(chosen) is not None


def _program(chosen: str) -> str | None:
    try:
        words = shlex.split(chosen)
    except ValueError:
        return None
    for word in words:
        if not _ASSIGNMENT.match(word):
            return word if shutil.which(word) else None
    return None


def chunks(lines: Iterable[str]) -> Iterable[str]:
    """``lines`` joined into writes of :data:`CHUNK_LINES` lines."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= CHUNK_LINES:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def page(first: list[str], rest: Iterable[str], chosen: str) -> bool:
    """Show ``first`` (a screen) then ``rest`` through the pager ``chosen``; False if it cannot be started.

    Returns once the reader has left the pager. A pager quitting before the
    end is the reader's choice, not an error.
    """
    # A bare `less` in PAGER still shows colours and leaves short output on the screen (git does the same).
    env = {"LESS": "FRX", "LV": "-c", **os.environ}
    sys.stdout.flush()
    try:
        proc = subprocess.Popen(chosen, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        return False
    # The pager owns the terminal now: Ctrl-C is the pager's to handle (less stops a search with it),
    # and must not end this process under it. Set after the pager started, so it does not inherit it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    encoding = sys.stdout.encoding or "utf-8"
    try:
        pipe = proc.stdin
        assert pipe is not None
        try:
            pipe.write("".join(first).encode(encoding, "replace"))
            pipe.flush()
            for chunk in chunks(rest):
                pipe.write(chunk.encode(encoding, "replace"))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the reader quit early: nothing more to show
        finally:
            try:
                pipe.close()  # the end of the text: the pager shows its last screen
            except OSError:
                pass  # what was left in the buffer has no reader any more
        proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    return True
