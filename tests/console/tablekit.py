"""Reading a drawn table back as a person would: by the columns its rule line marks, measured by display width."""

from __future__ import annotations

import re
import unicodedata


def columns_of(line: str) -> list[str]:
    """The line as the terminal shows it: one entry per column, "" where a wide character continues."""
    shown: list[str] = []
    for ch in line:
        shown.append(ch)
        if unicodedata.east_asian_width(ch) in "WF":
            shown.append("")
    return shown


def read_table(text: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a drawn table, cut at the columns its rule line marks.

    A row wrapped onto more lines continues where its first column is empty;
    its pieces are joined with a space. Fails when a character sits in the gap
    between two columns or a wide character straddles a column's edge: the
    table was not aligned.
    """
    lines = [line for line in text.replace("\r", "").split("\n") if line]
    at = next(i for i, line in enumerate(lines) if set(line) <= {"─", " "})
    spans = [m.span() for m in re.finditer("─+", lines[at])]

    def cut(line: str) -> list[str]:
        shown = columns_of(line)
        shown += [" "] * (spans[-1][1] - len(shown))
        cells = []
        for j, (start, end) in enumerate(spans):
            assert shown[start] != "", f"a wide character straddles column {j}: {line!r}"
            gap = shown[end : spans[j + 1][0]] if j + 1 < len(spans) else shown[end:]
            assert "".join(gap).strip() == "", f"text outside column {j}: {line!r}"
            cells.append("".join(shown[start:end]).strip())
        return cells

    def joined(pieces: list[list[str]]) -> list[str]:
        return [" ".join(p[j] for p in pieces if p[j]) for j in range(len(spans))]

    rows: list[list[list[str]]] = []
    for line in lines[at + 1 :]:
        cells = cut(line)
        if cells[0] or not rows:
            rows.append([cells])
        else:
            rows[-1].append(cells)
    return joined([cut(line) for line in lines[:at]]), [joined(r) for r in rows]


def squashed(table: tuple[list[str], list[list[str]]]):
    """A table with the spaces taken out of every cell: how a value wrapped over lines compares."""
    header, rows = table
    return ["".join(h.split()) for h in header], [["".join(c.split()) for c in row] for row in rows]
