"""`mhtool survey …`: instruments, scoring a sheet, importing exports, batches."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mhtool.console.apps import make_subapp
from mhtool.domain.labels import columns, label
from mhtool.console.options import JsonOpt, LangOpt, checked, profile_value
from mhtool.i18n import _

app = make_subapp()

InstrumentOpt = Annotated[str, typer.Option("--instrument", "-i", help="Instrument code: upi, scl90, phq9, gad7, sds, sas, k10, psqi (see `survey instruments`).")]
ProfileOpt = Annotated[str, typer.Option("--profile", callback=profile_value, help="Export layout: auto (detect), generic, wjx (问卷星), tencent (腾讯问卷) or a custom profile name.")]
def _parse_answers(value: str) -> None:
    from mhtool.errors import UsageError
    from mhtool.survey.usecases.importer import ANSWER_MODES

    if value not in ANSWER_MODES:
        raise UsageError(_("--answers {value!r} is not one of {modes}").format(value=value, modes=", ".join(ANSWER_MODES)))


AnswersOpt = Annotated[
    str,
    typer.Option("--answers", callback=checked(_parse_answers), help="How answers are written: auto, position (问卷星 按选项序号), score (form values, 按分数) or text (option labels)."),
]
SheetOpt = Annotated[Optional[str], typer.Option("--sheet", help="Sheet name or 1-based number (default: the first with data).")]


def _sheet(value: str | None):
    if value is None:
        return None
    return int(value) - 1 if value.isdigit() else value


@app.command("instruments")
def instruments_cmd(json: JsonOpt = False, lang: LangOpt = None) -> None:
    """List the instruments: code, name, items, bands.

    Example: mhtool survey instruments --json
    """
    from mhtool.console import output
    from mhtool.domain.labels import text
    from mhtool.i18n import in_language
    from mhtool.survey.usecases.api import Survey

    if json:
        output.emit_json(Survey.instruments(lang or "zh"))
        return
    shown = in_language(lang)
    rows = [{**r, "band_list": text("list_separator", shown).join(r["band_names"])} for r in Survey.instruments(shown)]
    output.emit_table(rows, columns([("code", "code"), ("name", "name"), ("version", "version"), ("items", "items"), ("band_list", "bands")], shown))


@app.command("instrument")
def instrument_cmd(code: Annotated[str, typer.Argument(help="Instrument code, e.g. scl90.")], json: JsonOpt = False) -> None:
    """Show one instrument's full definition: items, options, reverse items, scales, bands, tier rules."""
    from mhtool.console import output
    from mhtool.i18n import gettext_in, in_language
    from mhtool.survey.usecases.api import Survey

    inst = Survey.instrument(code)
    described = inst.describe()
    if json:
        output.emit_json(described)
        return
    rows = [{"key": k, "value": v if isinstance(v, (str, int, float)) else output.to_json(v)} for k, v in described.items()]
    lang = in_language(None)
    output.emit_table(rows, [("key", gettext_in("key", lang)), ("value", gettext_in("value", lang))], title=f"{inst.code} {inst.name_zh}")


def _show_plan_problems(plan) -> None:
    from mhtool.console import output

    for warning in getattr(plan, "warnings", ()):
        output.warn(warning)
    if plan.rejected:
        output.warn(_("{rejected} of {total} rows have problems:").format(rejected=len(plan.rejected), total=len(plan.rows)))
        output.problems(plan.problems)
    for o in plan.superseded:
        output.info(
            _("row {row}: an earlier submission by {student_no}; row {kept_row} (the latest) is kept").format(
                row=o.row, student_no=o.student_no, kept_row=o.superseded_by
            )
        )


@app.command("score")
def score_cmd(
    file: Annotated[Path, typer.Argument(help="An .xlsx, .xls or .csv sheet: roster columns then one column per item.")],
    instrument: InstrumentOpt,
    profile: ProfileOpt = "generic",
    answers: AnswersOpt = "auto",
    sheet: SheetOpt = None,
    json: JsonOpt = False,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the scores to a workbook (.xlsx).")] = None,
) -> None:
    """Score a sheet without any store: band counts on a terminal, one object per row with --json.

    Rows with problems are listed on stderr (row and column) and the exit code is 3,
    while the valid rows are still printed.

    Example: mhtool survey score gad7.xlsx --instrument gad7 --json
    """
    from mhtool.console import output
    from mhtool.domain.labels import level_label
    from mhtool.errors import EXIT_INVALID_INPUT
    from mhtool.survey.usecases.api import Survey

    scored = Survey.score(file, instrument, profile=profile, answers=answers, sheet=_sheet(sheet), out=out, progress=output.progress)
    if scored.written is not None:
        output.success(_("wrote {path}").format(path=scored.written))
    if json:
        output.emit_json(scored.records)
    elif out is None:
        inst, total = scored.instrument, len(scored.records) or 1
        rows = [{"what": f"{name} ({b})", "n": n, "share": f"{n / total:.1%}"} for b, name, n in scored.band_counts()]
        rows += [{"what": f"建议关注 {level_label(lv)}", "n": n, "share": f"{n / total:.1%}"} for lv, n in scored.level_counts()]
        output.emit_table(
            rows,
            [("what", f"{inst.name_zh} {label('column', 'bands')} / {label('field', 'proposed_level')}"), *columns([("n", "n"), ("share", "share")])],
            title=f"{scored.plan.file}: {len(scored.records)} 行已计分 (筛查提示，不是诊断)",
        )
    _show_plan_problems(scored.plan)
    if scored.plan.rejected:
        raise typer.Exit(EXIT_INVALID_INPUT)


def _mapping_header(key: str) -> str:
    """A column of the dry run's mapping table: 列, 表头, 对应, then one per sample row (``row 2``)."""
    fixed = {"column": "列", "header": "表头", "becomes": "对应"}
    if key in fixed:
        return fixed[key]
    if key.startswith("row ") and key[4:].isdigit():
        return _("row {row}").format(row=key[4:])
    return key


def _import_done(summary, dry_run: bool) -> str:
    """What an import did (or would do), as one sentence per case."""
    into_batch = bool(summary.batch and not summary.already_imported)
    tail = bool(summary.superseded or summary.rejected)
    if dry_run and into_batch:
        message = (
            _("would import {imported} of {rows} rows into batch {batch}; {created} new dossiers, {updated} updated; "
              "proposed red {red}, orange {orange}, yellow {yellow}; {superseded} superseded, {rejected} rejected")
            if tail
            else _("would import {imported} of {rows} rows into batch {batch}; {created} new dossiers, {updated} updated; "
                   "proposed red {red}, orange {orange}, yellow {yellow}")
        )
    elif dry_run:
        message = (
            _("would import {imported} of {rows} rows; {created} new dossiers, {updated} updated; "
              "proposed red {red}, orange {orange}, yellow {yellow}; {superseded} superseded, {rejected} rejected")
            if tail
            else _("would import {imported} of {rows} rows; {created} new dossiers, {updated} updated; "
                   "proposed red {red}, orange {orange}, yellow {yellow}")
        )
    elif into_batch:
        message = (
            _("imported {imported} of {rows} rows into batch {batch}; {created} new dossiers, {updated} updated; "
              "proposed red {red}, orange {orange}, yellow {yellow}; {superseded} superseded, {rejected} rejected")
            if tail
            else _("imported {imported} of {rows} rows into batch {batch}; {created} new dossiers, {updated} updated; "
                   "proposed red {red}, orange {orange}, yellow {yellow}")
        )
    else:
        message = (
            _("imported {imported} of {rows} rows; {created} new dossiers, {updated} updated; "
              "proposed red {red}, orange {orange}, yellow {yellow}; {superseded} superseded, {rejected} rejected")
            if tail
            else _("imported {imported} of {rows} rows; {created} new dossiers, {updated} updated; "
                   "proposed red {red}, orange {orange}, yellow {yellow}")
        )
    return message.format(
        imported=summary.imported, rows=summary.rows, batch=summary.batch,
        created=summary.students_created, updated=summary.students_updated,
        red=summary.proposed["red"], orange=summary.proposed["orange"], yellow=summary.proposed["yellow"],
        superseded=summary.superseded, rejected=summary.rejected,
    )


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The export: .xlsx, .xls or .csv from 问卷星, 腾讯问卷 or the campus system.")],
    instrument: InstrumentOpt,
    profile: ProfileOpt = "auto",
    answers: AnswersOpt = "auto",
    sheet: SheetOpt = None,
    batch: Annotated[Optional[str], typer.Option("--batch", help="A name for this batch (default: instrument and date).")] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show the column mapping and what would happen; write nothing (except the audit entry of rows refused by your college scope)."),
    ] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the valid rows; write the rejected ones with reasons to a workbook.")] = False,
    cohort: Annotated[
        Optional[list[str]],
        typer.Option(
            "--cohort",
            help="A grade expected to take part, e.g. 2026级 (repeat for several); 参与率 counts the roster's students of these grades. "
            "Default: the grades in the export, else those of the matched students' dossiers.",
        ),
    ] = None,
    rejects: Annotated[Optional[Path], typer.Option("--rejects", help="Where to write rejected rows (default: next to FILE).")] = None,
    password_file: Annotated[Optional[Path], typer.Option("--password-file", help="A file whose first line is the workbook's password (decrypted in memory, never written out).")] = None,
    json: JsonOpt = False,
) -> None:
    """Import a screening export: dossiers, sealed scored responses, interview tasks.

    All or nothing unless --skip-invalid. Importing the same file twice adds nothing.
    The batch records its expected cohort (--cohort) for the census report's 参与率.
    Staff limited to some colleges get one message for a number outside them,
    whether it is another college's or nobody's; the refusal is audited, even
    with --dry-run.

    \b
    Examples:
      mhtool survey import 2026新生UPI.xlsx --instrument upi --dry-run
      mhtool survey import 2026新生UPI.xlsx --instrument upi --batch 2026秋季普查-UPI
    """
    from mhtool.console import output, session

    from mhtool.io.readers import read_password_file

    password = read_password_file(password_file) if password_file is not None else None
    with session.open_center(ctx) as center:
        imported = center.survey.import_file(
            file, instrument, profile=profile, answers=answers, sheet=_sheet(sheet), batch_name=batch,
            dry_run=dry_run, skip_invalid=skip_invalid, rejects=rejects, progress=output.progress, password=password, cohort=cohort,
        )
    plan, summary = imported.plan, imported.summary
    if dry_run and not json:
        output.info(
            _("{file} (sheet {sheet}, header row {header_row}): profile {profile}, {items} item columns, answers read as {mode}").format(
                file=plan.file, sheet=plan.sheet, header_row=plan.header_row, profile=plan.profile, items=plan.item_count, mode=plan.mode
            )
        )
        keys = list(imported.mapping[0]) if imported.mapping else []
        output.emit_table(imported.mapping, [(k, _mapping_header(k)) for k in keys], title="列 → 字段/条目 (前几行)")
    if summary.already_imported:
        output.warn(
            _("{file} was already imported as batch {batch}; nothing was added").format(file=plan.file, batch=summary.already_imported)
        )
        if json:
            output.emit_json(summary.as_dict())
        return
    _show_plan_problems(plan)
    if summary.rejects_file:
        output.warn(_("rejected rows written to {path}").format(path=summary.rejects_file))
    if summary.cohort:
        output.info(_("expected cohort (应参与): {grades}").format(grades="、".join(summary.cohort)))
    else:
        output.warn(
            _(
                "expected cohort unknown: no 年级 in the export or in the matched dossiers, so the census report leaves "
                "应参与 and 参与率 empty; pass --cohort 2026级 to set it"
            )
        )
    if json:
        output.emit_json(summary.as_dict())
        return
    output.success(_import_done(summary, dry_run))


@app.command("batches")
def batches_cmd(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List imported batches."""
    from mhtool.console import output, session
    from mhtool.i18n import in_language
    from mhtool.survey.domain.batch_view import batch_line

    with session.open_center(ctx) as center:
        rows = center.survey.batches()
    if json:
        output.emit_json(rows)
        return
    shown = in_language(None)
    output.emit_table(
        [batch_line(r, shown) for r in rows],
        columns([("id", "batch"), ("name", "name"), ("instrument", "code"), ("file", "file"), ("imported_at", "imported_at"), ("imported", "imported"), ("rejected", "rejected"), ("voided", "voided")], shown),
    )


@app.command("batch")
def batch_cmd(ctx: typer.Context, batch: Annotated[str, typer.Argument(help="Batch id (or its first characters).")], json: JsonOpt = False) -> None:
    """One batch: counts, bands, proposed levels, who imported it and when."""
    from mhtool.console import output, session
    from mhtool.i18n import in_language
    from mhtool.survey.domain.batch_view import batch_items

    with session.open_center(ctx) as center:
        detail = center.survey.batch(batch)
        names = center.instrument_names([detail["instrument"]]).get(detail["instrument"])
    if json:
        output.emit_json(detail)
        return
    shown = in_language(None)
    rows = [{"k": k, "v": v} for k, v in batch_items(detail, shown, names)]
    output.emit_table(rows, columns([("k", "item"), ("v", "value")], shown), title=_("batch {batch}").format(batch=detail["id"]))


@app.command("void")
def void_cmd(
    ctx: typer.Context,
    batch: Annotated[str, typer.Argument(help="Batch id (or its first characters).")],
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why the batch is void (required).")] = None,
) -> None:
    """Hide a mistaken batch and cancel its open interview tasks (recorded interviews stay)."""
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        result = center.survey.void(batch, reason or "")
    output.success(
        _("batch {batch} is void; {cancelled} open interview tasks cancelled").format(batch=result["batch"], cancelled=result["tasks_cancelled"])
    )


@app.command("rescore")
def rescore_cmd(ctx: typer.Context, batch: Annotated[str, typer.Argument(help="Batch id (or its first characters).")], json: JsonOpt = False) -> None:
    """Re-score a batch under the current instrument version (explicit; the old scores are kept)."""
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        result = center.survey.rescore(batch)
    if json:
        output.emit_json(result)
        return
    output.success(
        _("re-scored {rescored} responses under version {version}; {changed} changed").format(
            rescored=result["rescored"], version=result["version"], changed=result["changed"]
        )
    )
