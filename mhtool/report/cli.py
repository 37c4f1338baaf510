"""``mhtool report …``: weekly, monthly, census and crisis reports (周报 / 月报 / 普查报告 / 随时报告).

Each command reads the store (:mod:`mhtool.report.usecases.gather`), builds the report
(:mod:`mhtool.report.domain.builders`) and writes a workbook (:mod:`mhtool.io.xlsx`)
or prints its JSON. With a workbook, stdout carries only the path written, so
a cron job can pick it up; everything else goes to stderr.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Annotated, Optional

import typer

from mhtool.console.apps import make_subapp
from mhtool.console.options import CollegeOpt, JsonOpt, LangOpt, PurposeOpt, RedactOpt

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


def _bulk(fn: Callable) -> Callable:
    """Run ``fn`` with the cyclic garbage collector paused.

    A report decrypts tens of thousands of records into plain dicts and then
    creates a cell object per value; none of it forms reference cycles, but
    the collector would walk all of it again and again as it grows, which
    costs about a third of the run on a large store. ``fn``'s locals are
    released when it returns, before the collector resumes.
    """

    @functools.wraps(fn)
    def run(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return run


def _check_lang(lang: str) -> str:
    from mhtool.errors import UsageError

    if lang not in ("zh", "en"):
        raise UsageError(f"--lang must be zh or en, not {lang!r}")
    return lang


def _now(store):
    from mhtool.domain import dates

    return dates.now(store.tz).replace(tzinfo=None, microsecond=0)


def _file_name(report, stem: str | None, *parts: str | None) -> str:
    """The derived file name: ``stem`` (default: report and period), then scope, then whether it is redacted."""
    if stem is None:
        from mhtool.io.xlsx import default_file_name

        stem = default_file_name(report)[: -len(".xlsx")]
    extra = [p for p in parts if p]
    if report.meta.get("redacted"):
        extra.append("脱敏" if report.lang == "zh" else "redacted")
    return "_".join([stem, *extra]) + ".xlsx"


def _deliver(report, *, out: str | None, json: bool, stem: str | None = None, parts: tuple = ()):
    """Write the workbook (unless only JSON was asked for) and print what the caller needs on stdout."""
    from mhtool.console import output

    path = None
    if out is not None or not json:
        from mhtool.io.xlsx import out_path_for, write_report

        path = write_report(report, out_path_for(out if out is not None else ".", _file_name(report, stem, *parts)))
    if json:
        if path is not None:
            output.info(f"wrote {path}")
        output.emit_json(report.to_json())
    else:
        output.success(f"wrote {path}")
        output.emit_line(str(path))
    return path


def _audit(store, action: str, student_ids, **details) -> None:
    from mhtool.report.usecases import gather

    gather.record_read(store, action, student_ids, details={k: v for k, v in details.items() if v not in (None, False)})


@_bulk
def _case_report(ctx: typer.Context, kind: str, *, week, month, date_from, date_to, out, json, lang, redact, college, purpose) -> None:
    from mhtool.console import session
    from mhtool.cases.usecases import service as cases
    from mhtool.report.usecases import service
    from mhtool.domain.periods import resolve_period

    lang = _check_lang(lang)
    from mhtool.governance.usecases.purpose import require_purpose

    with session.open_store(ctx) as store:
        today = cases.today(store)
        period = resolve_period(kind, week=week, month=month, date_from=date_from, date_to=date_to, today=today)
        report, data = service.case_report(store, kind, period, today=today, generated_at=_now(store), college=college, lang=lang, redact=redact)
        stated = require_purpose(store, purpose, what=f"a {kind} report without --redact", identifiable=not redact)
        path = _deliver(report, out=out, json=json, parts=(college,))
        _audit(store, f"report.{kind}", data.students, period=period.label, college=college, redacted=redact, out=path and str(path), **stated)


@app.command("weekly")
def weekly(
    ctx: typer.Context,
    week: Annotated[Optional[str], typer.Option("--week", help="The ISO week, e.g. 2026-W47 (default: the last complete week).")] = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    out: OutOpt = None,
    json: JsonOpt = False,
    lang: LangOpt = "zh",
    redact: RedactOpt = False,
    college: CollegeOpt = None,
    purpose: PurposeOpt = None,
) -> None:
    """周报: watched students by college at the start and end of a week, changes, referrals and overdue tasks.

    Sheets: 汇总 (summary by college), 关注名单 (watch list), 本周变动 (changes),
    转介 (referrals), 逾期 (overdue tasks). Weeks run Monday to Sunday in the
    store's time zone.

    Example (cron): MHTOOL_KEY_FILE=/etc/mhtool/cron.key MHTOOL_USER=cron mhtool report weekly --out /srv/reports/
    """
    _case_report(ctx, "weekly", week=week, month=None, date_from=date_from, date_to=date_to, out=out, json=json, lang=lang, redact=redact, college=college, purpose=purpose)


@app.command("monthly")
def monthly(
    ctx: typer.Context,
    month: Annotated[Optional[str], typer.Option("--month", help="The month, e.g. 2026-11 (default: the last complete month).")] = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    out: OutOpt = None,
    json: JsonOpt = False,
    lang: LangOpt = "zh",
    redact: RedactOpt = False,
    college: CollegeOpt = None,
    purpose: PurposeOpt = None,
) -> None:
    """月报: the weekly sheets for a month, plus screening statistics, the three clarities and a six-month trend.

    Extra sheets: 筛查统计 (screening batches of the month), 三个明确 (three
    clarities by college), 趋势 (six-month trend, line chart), 等级分布
    (levels by college, bar chart).

    Example: mhtool report monthly --month 2026-11 --out /srv/reports/
    """
    _case_report(ctx, "monthly", week=None, month=month, date_from=date_from, date_to=date_to, out=out, json=json, lang=lang, redact=redact, college=college, purpose=purpose)


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
    lang: LangOpt = "zh",
    redact: RedactOpt = False,
    college: CollegeOpt = None,
    purpose: PurposeOpt = None,
) -> None:
    """普查报告 of one screening batch: participation, bands and proposed levels by group, and the interview list.

    \b
    Examples:
      mhtool report census 2026秋季新生UPI --out reports/
      mhtool report census 3fa2 --split-by college --out to_advisors/
    """
    from mhtool.errors import UsageError

    lang = _check_lang(lang)
    if split_by is not None and split_by != "college":
        raise UsageError(f"--split-by {split_by!r}: only `college` is supported")
    if split_by and redact:
        raise UsageError(
            "--redact cannot be combined with --split-by",
            hint="advisors' interview sheets need the real student numbers to be imported back",
        )
    _census(ctx, batch, out=out, split_by=split_by, json=json, lang=lang, redact=redact, college=college, purpose=purpose)


@_bulk
def _census(ctx: typer.Context, batch: str, *, out, split_by, json, lang, redact, college, purpose) -> None:
    from mhtool.console import output, session
    from mhtool.cases.usecases import service as cases
    from mhtool.governance.usecases.purpose import require_purpose
    from mhtool.report.usecases import gather, service

    with session.open_store(ctx) as store:
        data = gather.census_data(store, batch, today=cases.today(store), college=college)
        stated = require_purpose(store, purpose, what="a census report without --redact", identifiable=not redact)
        name = data.batch.get("name") or data.batch["id"][:8]
        generated = _now(store)
        if split_by:
            written = _write_split(data, out=out, lang=lang, generated_at=generated, name=name)
            if json:
                output.emit_json(written)
            else:
                for item in written:
                    output.emit_line(item["path"])
            output.success(f"wrote {len(written)} interview workbook(s)")
            where = [w["path"] for w in written]
        else:
            report = service.census_from(data, generated_at=generated, lang=lang, redact=redact)
            path = _deliver(report, out=out, json=json, stem=f"{'普查报告' if lang == 'zh' else 'census'}_{name}", parts=(college,))
            where = path and str(path)
        _audit(store, "report.census", service.interviewed_students(data), batch=data.batch["id"], college=college, split_by=split_by, redacted=redact, out=where, **stated)


def _write_split(data, *, out: str | None, lang: str, generated_at, name: str) -> list[dict]:
    from pathlib import Path

    from mhtool.errors import UsageError
    from mhtool.report.domain import builders
    from mhtool.io.xlsx import safe_file_name, write_report

    directory = Path(out if out is not None else ".").expanduser()
    if not directory.is_dir():
        raise UsageError(
            f"--out {out}: --split-by college writes one workbook per college into a directory, and {directory} is not one",
            hint=f"create it first (mkdir -p {out}) or pass an existing directory",
        )
    stem = "约谈名单" if lang == "zh" else "interviews"
    written = []
    for college, report in builders.census_split(data, generated_at=generated_at, lang=lang).items():
        path = write_report(report, directory / safe_file_name(f"{stem}_{name}_{college or 'none'}.xlsx"))
        written.append({"college": college, "students": len(report.sheets[0].rows), "path": str(path)})
    return written


@app.command("crisis")
def crisis(
    ctx: typer.Context,
    event: Annotated[str, typer.Argument(help="The id of the crisis entry (the first 8 characters shown in the timeline are enough).")],
    out: OutOpt = None,
    json: JsonOpt = False,
    lang: LangOpt = "zh",
    redact: RedactOpt = False,
    purpose: PurposeOpt = None,
) -> None:
    """随时报告 of one crisis: the student, what happened, actions, notifications with times, current state, people responsible.

    With --redact, names and student numbers are masked and phone numbers and
    guardians left out.

    Example: mhtool report crisis 7c31e0a2 --out reports/
    """
    from mhtool.console import session
    from mhtool.cases.usecases import service as cases
    from mhtool.report.domain import builders
    from mhtool.report.usecases import gather
    from mhtool.report.domain.redact import redact_report

    lang = _check_lang(lang)
    from mhtool.governance.usecases.purpose import require_purpose

    with session.open_store(ctx) as store:
        data = gather.crisis_data(store, event, today=cases.today(store))
        stated = require_purpose(store, purpose, what="a crisis report without --redact", identifiable=not redact)
        report = builders.crisis_report(data, generated_at=_now(store), lang=lang, contacts=not redact)
        if redact:
            report = redact_report(report)
        stem = f"{'危机事件报告' if lang == 'zh' else 'crisis'}_{data.entry['date']}_{data.entry['id'][:8]}"
        path = _deliver(report, out=out, json=json, stem=stem)
        _audit(store, "report.crisis", [data.student["id"]], entry=data.entry["id"], redacted=redact, out=path and str(path), **stated)
