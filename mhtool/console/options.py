"""Options shared by many commands, defined once as ``Annotated`` aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (a list is [] when empty).")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV on stdout (cells that could run as formulas are quoted).")]
LangOpt = Annotated[str, typer.Option("--lang", help="Label language: zh (default) or en.")]
RedactOpt = Annotated[bool, typer.Option("--redact", help="Mask names (张*三) and student numbers (2024****34).")]
CollegeOpt = Annotated[Optional[str], typer.Option("--college", help="Only this college (学院).")]
OutFileOpt = Annotated[Optional[Path], typer.Option("--out", "-o", help="Write a workbook (.xlsx) here.")]
ReasonOpt = Annotated[Optional[str], typer.Option("--reason", help="Why (required for every change of level or status).")]
DateOpt = Annotated[
    Optional[str],
    typer.Option("--date", help="When it happened: 2026-11-23, 2026/11/23, 20261123, today or yesterday (default today)."),
]
PurposeOpt = Annotated[Optional[str], typer.Option("--purpose", help="Why this identifiable export is made (kept in the audit log).")]
