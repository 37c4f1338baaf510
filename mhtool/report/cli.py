"""``mhtool report …``: weekly, monthly, census and crisis reports (周报 / 月报 / 普查报告 / 随时报告).

Each command asks ``center.reports`` (:mod:`mhtool.report.usecases.api`) for the
report and prints the result. With a workbook, a terminal shows the path
written; without a terminal (cron) nothing is printed unless ``--print-path``
asks for the path on stdout, so that cron mails only failures. With ``--json``
alone no file is written and the report's JSON is printed.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mhtool.console.apps import make_subapp
from mhtool.console.options import CollegeOpt, JsonOpt, LangOpt, PrintPathOpt, PurposeOpt, RedactOpt
from mhtool.i18n import _

app = make_subapp()

OutOpt = Annotated[
    Optional[str],
    typer.Option(
        "--out",
        "-o",
        help="A workbook file (.xlsx), or an existing directory where the name is derived from report and period "
        "(周报_2026-W47.xlsx; re-running replaces it). Default: the current directory.",
    ),
]
FromOpt = Annotated[Optional[str], typer.Option("--from", help="First day of an explicit period (2026-11-01).")]
ToOpt = Annotated[Optional[str], typer.Option("--to", help="Last day of an explicit period (default today).")]


def _target(out: str | None, json: bool) -> str | None:
    """Where the workbook goes: ``--out``, else the current directory, unless only JSON was asked for."""
    return out if out is not None or json else "."


def _print(made, *, json: bool, print_path: bool = False) -> None:
    from mhtool.console import output

    if json:
        if made.path is not None:
            output.info(_("wrote {path}").format(path=made.path))
        output.emit_json(made.report.to_json())
    else:
        output.done(_("wrote {path}").format(path=made.path))
        output.emit_path(made.path, print_path=print_path)


@app.command("weekly")
def weekly(
    ctx: typer.Context,
    week: Annotated[Optional[str], typer.Option("--week", help="The ISO week, e.g. 2026-W47 (default: the last complete week).")] = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    out: OutOpt = None,
    json: JsonOpt = False,
    lang: LangOpt = None,
    redact: RedactOpt = False,
    college: CollegeOpt = None,
    purpose: PurposeOpt = None,
    print_path: PrintPathOpt = False,
) -> None:
    """周报: watched students by college at the start and end of a week, changes, referrals and overdue tasks.

    Sheets: 汇总 (summary by college), 关注名单 (watch list), 本周变动 (changes),
    转介 (referrals), 逾期 (overdue tasks). Weeks run Monday to Sunday in the
    store's time zone.

    Without a terminal it prints nothing when all went well (--print-path
    prints the workbook's path), so a cron job mails only failures.

    Example (cron): MHTOOL_KEY_FILE=/etc/mhtool/cron.key MHTOOL_USER=cron /srv/mhtool/.venv/bin/mhtool report weekly --out /srv/reports/
    """
    from mhtool.console import session

    with session.open_center(ctx) as center:
        made = center.reports.weekly(
            week=week, date_from=date_from, date_to=date_to, out=_target(out, json), lang=lang or "zh", redact=redact, college=college, purpose=purpose
        )
    _print(made, json=json, print_path=print_path)


@app.command("monthly")
def monthly(
    ctx: typer.Context,
    month: Annotated[Optional[str], typer.Option("--month", help="The month, e.g. 2026-11 (default: the last complete month).")] = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    out: OutOpt = None,
    json: JsonOpt = False,
    lang: LangOpt = None,
    redact: RedactOpt = False,
    college: CollegeOpt = None,
    purpose: PurposeOpt = None,
    print_path: PrintPathOpt = False,
) -> None:
    """月报: the weekly sheets for a month, plus screening statistics, the three clarities and a six-month trend.

    Extra sheets: 筛查统计 (screening batches of the month), 三个明确 (three
    clarities by college), 趋势 (six-month trend, line chart), 等级分布
    (levels by college, bar chart).

    Example: mhtool report monthly --month 2026-11 --out /srv/reports/
    """
    from mhtool.console import session

    with session.open_center(ctx) as center:
        made = center.reports.monthly(
            month=month, date_from=date_from, date_to=date_to, out=_target(out, json), lang=lang or "zh", redact=redact, college=college, purpose=purpose
        )
    _print(made, json=json, print_path=print_path)


@app.command("census")
def census(
    ctx: typer.Context,
    batch: Annotated[str, typer.Argument(help="The batch id (a prefix of 4+ characters is enough) or its name.")],
    out: OutOpt = None,
    split_by: Annotated[
        Optional[str],
        typer.Option("--split-by", help="`college`: one interview workbook per college for its advisors, to fill in and import back with `cases import-interviews`."),
    ] = None,
    json: JsonOpt = False,
    lang: LangOpt = None,
    redact: RedactOpt = False,
    college: CollegeOpt = None,
    purpose: PurposeOpt = None,
    print_path: PrintPathOpt = False,
) -> None:
    """普查报告 of one screening batch: participation, bands and proposed levels by group, and the interview list.

    \b
    Examples:
      mhtool report census 2026秋季新生UPI --out reports/
      mhtool report census 3fa2 --split-by college --out to_advisors/
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        made = center.reports.census(
            batch, out=_target(out, json and not split_by), split_by=split_by, lang=lang or "zh", redact=redact, college=college, purpose=purpose
        )
    if not split_by:
        _print(made, json=json, print_path=print_path)
        return
    if json:
        output.emit_json(made.files)
    else:
        for item in made.files:
            output.emit_path(item["path"], print_path=print_path)
    (output.success if json else output.done)(_("wrote {count} interview workbook(s)").format(count=len(made.files)))


@app.command("crisis")
def crisis(
    ctx: typer.Context,
    event: Annotated[str, typer.Argument(help="The id of the crisis entry (the first 8 characters shown in the timeline are enough).")],
    out: OutOpt = None,
    json: JsonOpt = False,
    lang: LangOpt = None,
    redact: RedactOpt = False,
    purpose: PurposeOpt = None,
    print_path: PrintPathOpt = False,
) -> None:
    """随时报告 of one crisis: the student, what happened, actions, notifications with times, current state, people responsible.

    With --redact, names and student numbers are masked and phone numbers and
    guardians left out.

    Example: mhtool report crisis 7c31e0a2 --out reports/
    """
    from mhtool.console import session

    with session.open_center(ctx) as center:
        made = center.reports.crisis(event, out=_target(out, json), lang=lang or "zh", redact=redact, purpose=purpose)
    _print(made, json=json, print_path=print_path)
