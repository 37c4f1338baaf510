"""Decode + score throughput for SCL-90 and UPI on synthetic answer sheets.

Usage: python benchmarks/bench_scoring.py [--rows N] [--seed S]

Generates its own data (no real answers): SCL-90 and UPI sheets in the three shapes the
importer hands over (form values as integers, 问卷星 option positions, option labels as
text with the odd option letter and missing marker), then times decode + score with
``time.process_time`` (CPU seconds of this process) and ``time.perf_counter`` (wall).
Data generation is not timed. ``run(rows)`` returns the figures for another driver.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mhtool.survey.domain.instruments import Instrument, get_instrument  # noqa: E402
from mhtool.survey.domain.scoring import score_raw  # noqa: E402

DEFAULT_ROWS = 50_000


def _sheet(inst: Instrument, rows: int, shape: str, rng: np.random.Generator) -> tuple[pd.DataFrame, str]:
    """A synthetic answer sheet for ``inst`` and the decode mode that reads it."""
    items = list(range(1, inst.item_count + 1))
    options = inst.item_specs[1].option_set.options
    k = len(options)
    # skewed towards the first option, as real screening answers are
    p = np.array([0.55] + [0.45 / (k - 1)] * (k - 1))
    pos = rng.choice(k, size=(rows, len(items)), p=p)
    index = pd.RangeIndex(2, rows + 2, name="row")
    if shape == "value":
        lut = np.array([o.value for o in options])
        return pd.DataFrame(lut[pos], index=index, columns=items), "value"
    if shape == "position":
        return pd.DataFrame(pos + 1, index=index, columns=items), "position"
    letters = "ABCDEFGH"
    variants = np.array(
        [o.labels[0] for o in options] + [f"{letters[i]}.{o.labels[0]}" for i, o in enumerate(options)],
        dtype=object,
    )
    lettered = rng.random((rows, len(items))) < 0.1
    cells = variants[pos + np.where(lettered, k, 0)]
    cells[rng.random((rows, len(items))) < 0.0005] = "(跳过)"
    return pd.DataFrame(cells, index=index, columns=items, dtype=object), "text"


def _time(inst: Instrument, raw: pd.DataFrame, mode: str) -> tuple[float, float, int]:
    c0, w0 = time.process_time(), time.perf_counter()
    sheet = score_raw(inst, raw, mode)
    return time.process_time() - c0, time.perf_counter() - w0, len(sheet.valid_rows)


def run(rows: int = DEFAULT_ROWS, seed: int = 20260901) -> list[dict]:
    """Decode + score ``rows`` synthetic SCL-90 and UPI rows per input shape."""
    rng = np.random.default_rng(seed)
    results = []
    for code in ("scl90", "upi"):
        inst = get_instrument(code)
        for shape in ("value", "position", "text"):
            raw, mode = _sheet(inst, rows, shape, rng)
            _time(inst, raw.iloc[:100], mode)  # warm caches and lazy imports
            cpu, wall, valid = _time(inst, raw, mode)
            results.append(
                {
                    "instrument": code,
                    "input": shape,
                    "rows": rows,
                    "cells": rows * inst.item_count,
                    "valid_rows": valid,
                    "cpu_s": round(cpu, 3),
                    "wall_s": round(wall, 3),
                    "rows_per_s": int(rows / cpu) if cpu > 0 else None,
                }
            )
    return results


def markdown(results: list[dict]) -> str:
    lines = [
        "| instrument | input | rows | cells | CPU s | wall s | rows/s (CPU) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rps = f"{r['rows_per_s']:,}" if r["rows_per_s"] else "—"
        lines.append(
            f"| {r['instrument']} | {r['input']} | {r['rows']:,} | {r['cells']:,} | "
            f"{r['cpu_s']:.3f} | {r['wall_s']:.3f} | {rps} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows per sheet (default %(default)s)")
    ap.add_argument("--seed", type=int, default=20260901)
    args = ap.parse_args(argv)
    if args.rows < 1:
        ap.error("--rows must be positive")
    print(markdown(run(args.rows, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
