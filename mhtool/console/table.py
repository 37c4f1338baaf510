"""Tables for a person at a terminal, drawn line by line.

A list of 3,000 watched students must show its first screen at once, so a
table here is a generator of lines: the column widths come from one cheap
pass over the cell texts, then each row is formatted only when the reader (a
terminal or a pager) takes it. Widths are display widths (a CJK character
takes two columns, :func:`~mhtool.domain.text.display_width`). A table wider than the
terminal wraps its widest columns, between words or CJK characters first and
inside a word only when that is not enough, so no value is ever cut short.

Text from the store is shown, never obeyed: control characters (an escape
sequence in an imported name) are replaced before they reach the terminal.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

# Display width, as workbook columns measure it too.
from mhtool.domain.text import display_width as width

GAP = "  "
RULE = "─"
# Columns of CJK text are not wrapped narrower than this (a three-character name stays on one line).
NARROWEST = 6

# A line breaks at a space or beside a CJK character, never after opening or before closing punctuation.
_OPENING = "（「『《〈【“‘([<"
_CLOSING = "，。、；：！？）」』》〉】”’,.;:!?)]>"
_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"


@functools.cache
def pieces() -> re.Pattern:
    """Runs a line may break between: spaces, a CJK character with the punctuation that clings to it, a word (compiled when first drawn)."""
    return re.compile(rf"\s+|[{re.escape(_OPENING)}]*(?:[{_WIDE}]|[^\s{_WIDE}]+)[{re.escape(_CLOSING)}]*|\S")


@functools.cache
def _words() -> re.Pattern:
    return re.compile(rf"[^\s{_WIDE}]+")


# C0 and C1 controls (tab and newline are handled as layout) and the
# bidirectional overrides that would reorder the rest of a terminal line.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# The words of the style names callers use (rich's names, as output.LEVEL_STYLES),
# as SGR parameters; rich itself is not needed to draw a table.
_SGR = {
    "bold": "1", "dim": "2", "italic": "3", "underline": "4", "strike": "9",
    "black": "30", "red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36", "white": "37",
    "dark_orange": "38;5;208",
}  # fmt: skip


def sgr(style: str) -> str:
    """The escape sequence that starts ``style`` (e.g. ``"bold red"``); empty for no style."""
    codes = [_SGR[word] for word in style.split() if word in _SGR]
    return f"\x1b[{';'.join(codes)}m" if codes else ""


def safe(text: str) -> str:
    """``text`` safe to print on a terminal: line breaks kept as newlines, a tab as a space, any other control as a visible �."""
    if text.isprintable():
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _UNSAFE.sub("\ufffd", text)


def _text_width(text: str) -> int:
    if "\n" in text:
        return max(width(line) for line in text.split("\n"))
    return width(text)


def _longest_word(texts: Sequence[str]) -> int:
    """The widest run a line may not break inside (a student number, a date, an English word)."""
    longest = 0
    for text in texts:
        for word in _words().findall(text):
            longest = max(longest, width(word))
    return longest


def fit(widths: Sequence[int], floors: Sequence[int], room: int, natural: Sequence[int] | None = None) -> list[int]:
    """Column widths within ``room``: the widest columns give way first, none below its floor.

    Between columns as wide, the one with more to show (``natural`` width)
    gives first: it wraps already, while the other might still fit whole.
    """
    widths = list(widths)
    natural = natural or widths
    excess = sum(widths) - room
    while excess > 0:
        giving = [i for i, w in enumerate(widths) if w > floors[i]]
        if not giving:
            break
        i = max(giving, key=lambda i: (widths[i], natural[i]))
        widths[i] -= 1
        excess -= 1
    return widths


def wrap(text: str, size: int, first: str = "", rest: str = "") -> list[str]:
    """One paragraph as lines of at most ``size`` columns where words allow, broken between words or beside CJK characters.

    ``first`` and ``rest`` lead the first and the following lines (a help page's indents).
    """
    lines: list[str] = []
    line, used = first, width(first)
    bare = True
    for piece in pieces().findall(text):
        if piece.isspace():
            if not bare:
                line, used = line + " ", used + 1
            continue
        w = width(piece)
        if not bare and used + w > size:
            lines.append(line.rstrip())
            line, used = rest, width(rest)
        line, used, bare = line + piece, used + w, False
    lines.append(line.rstrip())
    return lines


def _hard_split(line: str, size: int) -> list[str]:
    if width(line) <= size:
        return [line]
    parts, part, used = [], "", 0
    for ch in line:
        w = width(ch)
        if part and used + w > size:
            parts.append(part)
            part, used = "", 0
        part, used = part + ch, used + w
    parts.append(part)
    return parts


@functools.lru_cache(maxsize=4096)
def _lines(text: str, size: int) -> tuple[str, ...]:
    """``text`` as lines of at most ``size`` columns."""
    if "\n" not in text and width(text) <= size:
        return (text,)
    out: list[str] = []
    for paragraph in text.split("\n"):
        for line in wrap(paragraph, size) if paragraph.strip() else [""]:
            out.extend(_hard_split(line, size))
    return tuple(out)


def render(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    text: Callable[[Any], str] = str,
    styles: Sequence[Callable[[Any], str] | None] | None = None,
    room: int = 80,
    title: str | None = None,
    colour: bool = True,
) -> Iterator[str]:
    """The lines of a table (each ending in a newline), ``room`` columns wide where the content allows.

    ``rows`` hold values; ``text`` turns a value into its cell text and
    ``styles[j]`` (if any) a value of column ``j`` into a style name.
    """
    ncols = len(headers)
    heads = [safe(h) for h in headers]
    texts = [[safe(text(v)) for v in row] for row in rows]
    sizes = [[_text_width(t) for t in row] for row in texts]
    natural = [max([_text_width(heads[j])] + [s[j] for s in sizes]) for j in range(ncols)]
    gap = GAP
    widths = list(natural)
    if sum(natural) + len(GAP) * (ncols - 1) > room:
        # Too wide: a narrower gap first, then headers wider than their values wrap, then
        # values between words and CJK characters, then headers inside their words, and
        # values inside their words (a student number, a date) only when nothing else is left.
        gap = " "
        room = max(room - (ncols - 1), ncols)
        values = [max([s[j] for s in sizes], default=0) for j in range(ncols)]
        value_words = [_longest_word([t[j] for t in texts]) for j in range(ncols)]
        words = [max(_longest_word([heads[j]]), value_words[j]) for j in range(ncols)]
        for longest, narrowest in ((values, NARROWEST), (words, NARROWEST), (words, 4), (value_words, 3), ([0] * ncols, 3)):
            widths = fit(widths, [min(natural[j], max(longest[j], narrowest)) for j in range(ncols)], room, natural)
            if sum(widths) <= room:
                break
    on = sgr("bold") if colour else ""
    off = "\x1b[0m" if colour else ""
    pads = [" " * w for w in widths]
    last = ncols - 1

    def physical(cells_text: Sequence[str], cell_sizes: Sequence[int], starts: Sequence[str]) -> Iterator[str]:
        if all(cell_sizes[j] <= widths[j] and "\n" not in cells_text[j] for j in range(ncols)):
            parts = []
            for j, t in enumerate(cells_text):
                shown = f"{starts[j]}{t}{off}" if starts[j] and t else t
                parts.append(shown if j == last else shown + pads[j][cell_sizes[j]:])
            yield gap.join(parts).rstrip(" ") + "\n"
            return
        split = [_lines(t, widths[j]) for j, t in enumerate(cells_text)]
        for k in range(max(len(s) for s in split)):
            parts = []
            for j, lines in enumerate(split):
                t = lines[k] if k < len(lines) else ""
                shown = f"{starts[j]}{t}{off}" if starts[j] and t else t
                parts.append(shown if j == last else shown + " " * (widths[j] - width(t)))
            yield gap.join(parts).rstrip(" ") + "\n"

    if title:
        yield safe(title).replace("\n", " ") + "\n"
    yield from physical(heads, [_text_width(h) for h in heads], [on] * ncols)
    yield gap.join(RULE * w for w in widths) + "\n"
    plain = [""] * ncols
    for r, row in enumerate(rows):
        if colour and styles:
            starts = [sgr(style(v)) if style else "" for style, v in zip(styles, row)]
        else:
            starts = plain
        yield from physical(texts[r], sizes[r], starts)
