"""`mhtool signals …`: 多源预警 — campus data in, explained signals out, reviewed by a counselor.

Commands are thin: they read options, call one method of ``center.signals``
(:class:`mhtool.signals.usecases.api.Signals`) and print its result. Heavy
modules are imported inside the commands so that ``mhtool --help`` stays quick.

No ``from __future__ import annotations`` here (see mhtool/cases/cli.py).
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from mhtool.console.apps import make_subapp
from mhtool.console.options import CollegeOpt, CsvOpt, DateOpt, JsonOpt, LangOpt, date_value
from mhtool.domain.labels import label, pick
from mhtool.i18n import _, current, joined

app = make_subapp(help="Campus signals (多源预警): dorm access, campus card and academic data, explained for a counselor's review.")

def _shown(lang: Optional[str]) -> str:
    from mhtool.i18n import in_language

    return in_language(lang)


SourceOpt = Annotated[Optional[str], typer.Option("--source", metavar="SOURCE", help="The system the file comes from: dorm (门禁), card (一卡通) or academic (教务).")]


# -- import -------------------------------------------------------------------------------------


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The export: .csv (UTF-8 or GBK) or .xlsx, one row per pass, transaction or course result.")],
    source: SourceOpt = None,
    profile: Annotated[str, typer.Option("--profile", help="Column layout: auto (default: recognised from the headers) or a profile name.")] = "auto",
    mapping: Annotated[Optional[Path], typer.Option("--mapping", metavar="FILE", help="A table of 学号 and 卡号, for files that name people by card number.")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", metavar="DATE", callback=date_value, help="Evaluate the rules as of this day (default: the last day the imported data covers).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the column mapping and what would be imported and raised; write nothing.")] = False,
    json: JsonOpt = False,
    purpose: Annotated[Optional[str], typer.Option("--purpose", help="Why this data is read (kept in the audit log); required where the store's policy asks for it.")] = None,
    lang: LangOpt = None,
) -> None:
    """Import a 门禁, 一卡通 or 教务 export and raise signals for review.

    The raw rows are reduced in memory to per-student daily facts (nights out,
    canteen meals and spending, course results); only those are stored, sealed
    under the clinical key and kept for signal_fact_days (default 140). The
    rules (`mhtool signals rules`) are evaluated as of the last day the data
    covers, never today's date. A hit opens a signal and a 研判 task for the
    student's counselor or advisor; a repeated hit extends the open signal.
    Signals never change a watch level.

    The same file again adds nothing, and an overlapping period stores no day
    twice. People matching no dossier are counted and reported. Counselors and
    admins only; the import is audited with its source, period and counts.

    Example: mhtool signals import 门禁通行记录_1117-1123.csv --source dorm --dry-run
    """
    from mhtool.console import output, session
    from mhtool.errors import UsageError

    if not source:
        raise UsageError(_("missing --source"), hint=_("say which system the file comes from: --source dorm, card or academic"))
    lang = _shown(lang)
    with session.open_center(ctx) as center:
        result = center.signals.import_file(
            file, source, profile=profile, mapping=mapping, as_of=as_of, dry_run=dry_run, purpose=purpose, progress=output.progress
        )
    if result.get("already_imported"):
        output.info(
            _("{file} was already imported on {day}; nothing was added").format(file=result["file"], day=result.get("imported_on") or "?")
        )
        if json:
            output.emit_json(result)
        return
    if result.get("unmatched"):
        shown = joined(result.get("unmatched_codes") or [])
        output.warn(
            _("{count} people in the file match no student in your dossiers and were left out: {codes}").format(count=result["unmatched"], codes=shown)
            if shown
            else _("{count} people in the file match no student in your dossiers and were left out").format(count=result["unmatched"])
        )
    if result.get("left_school"):
        output.info(_("{count} people have left the school (withdrawn or graduated); their data was not kept").format(count=result["left_school"]))
    if json:
        output.emit_json(result)
        return
    if dry_run:
        layout = result.get("layout") or {}
        if layout:
            output.info(
                _("{file}: profile {profile} ({source}), header in row {row}, read by {engine}").format(
                    file=layout.get("file"), profile=layout.get("profile"), source=label("signal_source", layout.get("source"), current()), row=layout.get("header_row"), engine=layout.get("engine")
                )
            )
            rows = [
                {
                    "column": c.get("column"),
                    "header": c.get("header"),
                    "field": c.get("field") or "",
                    "read": (label("column_read", "yes" if c.get("read") else "no", lang)) if c.get("field") else "",
                }
                for c in layout.get("columns") or []
            ]
            output.emit_table(
                rows,
                [
                    ("column", label("signal_column", "column", lang)),
                    ("header", label("signal_column", "header", lang)),
                    ("field", label("signal_column", "field", lang)),
                    ("read", label("signal_column", "read", lang)),
                ],
            )
        output.success(
            _(
                "{file}: {rows} rows, {people} people ({first} to {last}); {matched} matched, {unmatched} unmatched; "
                "as of {as_of} it would raise {new} signals and extend {extended}. Nothing was written (--dry-run)"
            ).format(**_counts(result))
        )
        return
    _emit_new(result, lang)
    output.success(
        _(
            "{file}: {rows} rows, {people} people ({first} to {last}); {matched} matched, {unmatched} unmatched; "
            "as of {as_of}: {new} new signals, {extended} extended"
        ).format(**_counts(result))
    )


def _counts(result: dict) -> dict:
    return {
        "file": result.get("file"),
        "rows": result.get("rows", 0),
        "people": result.get("people", 0),
        "first": result.get("first_day") or (result.get("terms") or ["?"])[0],
        "last": result.get("last_day") or (result.get("terms") or ["?"])[-1],
        "matched": result.get("matched", 0),
        "unmatched": result.get("unmatched", 0),
        "as_of": result.get("as_of"),
        "new": result.get("signals_new", 0),
        "extended": result.get("signals_extended", 0),
    }


def _emit_new(result: dict, lang: str) -> None:
    from mhtool.console import output
    from mhtool.domain.labels import label

    rows = result.get("new_signals") or []
    if not rows:
        return
    table = [{**r, "rule_label": pick(lang, r["rule_name"], r["rule_name_en"]), "id_short": (r.get("signal_id") or "")[:8]} for r in rows]
    output.emit_table(
        table,
        [
            ("student_no", label("field", "student_no", lang)),
            ("name", label("field", "name", lang)),
            ("rule_label", label("signal_column", "rule", lang)),
            ("on", label("signal_column", "on", lang)),
            ("due", label("signal_column", "due", lang)),
            ("id_short", "#"),
        ],
    )


# -- the radar ----------------------------------------------------------------------------------


RuleOpt = Annotated[Optional[str], typer.Option("--rule", metavar="RULE", help="Only this rule: dorm_out, meals_drop, hidden_hardship, first_fail, academic_warning, credits_short.")]


def list_signals(
    ctx: typer.Context, *, college: Optional[str], rule: Optional[str], source: Optional[str], json: bool, csv: bool, lang: Optional[str]
) -> None:
    """The radar, printed: shared by `signals list` and its alias `cases radar`."""
    from mhtool.console import output, session
    from mhtool.domain.labels import label
    from mhtool.domain.vocabulary import LEVELS

    lang = (lang or "zh") if csv else _shown(lang)
    with session.open_center(ctx) as center:
        rows = center.signals.list(college=college, rule=rule, source=source)
    if json:
        output.emit_json(rows)
        return
    for r in rows:
        r["level_label"] = label("level", r.get("level"), lang)
        r["rules_text"] = joined(pick(lang, r["rule_names"], r["rule_names_en"]), lang)
        r["explanation_text"] = pick(lang, r["explanation"], r["explanation_en"])
        r["ids_text"] = " ".join(i[:8] for i in r["signal_ids"])
    columns = [
        ("student_no", label("field", "student_no", lang)),
        ("name", label("field", "name", lang)),
        ("college", label("field", "college", lang)),
        ("level_label", label("field", "level", lang)),
        ("sources", label("signal_column", "sources", lang)),
        ("rules_text", label("signal_column", "rules", lang)),
        ("last_hit_on", label("signal_column", "last_hit_on", lang)),
        ("explanation_text", label("signal_column", "explanation", lang)),
        ("ids_text", label("signal_column", "signal_ids", lang)),
    ]
    if csv:
        output.emit_csv(rows, columns)
        return
    by_label = {label("level", c, lang): c for c in LEVELS}
    output.emit_table(rows, columns, styles={"level_label": lambda v: output.level_style(by_label.get(v))})
    if not rows:
        output.info(_("no open signals"))


@app.command("list")
def list_(
    ctx: typer.Context,
    college: CollegeOpt = None,
    rule: RuleOpt = None,
    source: SourceOpt = None,
    json: JsonOpt = False,
    csv: CsvOpt = False,
    lang: LangOpt = None,
) -> None:
    """The radar: students with open signals, most distinct sources first.

    Ranked by the number of distinct sources (门禁, 一卡通, 教务) a student's open
    signals come from, then by the latest hit, then by the current watch
    level; each row has a one-line explanation. Counselors and admins only;
    the read is audited. `mhtool cases radar` is the same list.

    Example: mhtool signals list --college 文学院 --source dorm
    """
    list_signals(ctx, college=college, rule=rule, source=source, json=json, csv=csv, lang=lang)


# -- review -------------------------------------------------------------------------------------


@app.command("review")
def review(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="ID|STUDENT", help="A signal's id (or its first 4+ characters), or a student number: all of that student's open signals.")],
    outcome: Annotated[Optional[str], typer.Option("--outcome", help="watch (关注), noted (已知晓) or dismissed (排除).")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="What the review found (kept with the signal, for counselors only).")] = None,
    date_: DateOpt = None,
    json: JsonOpt = False,
) -> None:
    """Record the 研判 of a signal: its outcome and the reason.

    The outcome is watch (关注), noted (已知晓) or dismissed (排除). The signal
    is closed and its 研判 task done; the review is audited. It never changes
    the watch level: to watch the student, record the level with `mhtool
    cases level`. A later hit of the same rule opens a new signal.

    Example: mhtool signals review 2025020001 --outcome dismissed --reason "已与辅导员核实，周末回家"
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        result = center.signals.review(target, outcome, reason, on=date_)
    if json:
        output.emit_json(result)
        return
    lang = current()
    output.success(
        _("{student} {name}: {count} signal(s) reviewed as {outcome} on {day}; {tasks} 研判 task(s) done").format(
            student=result["student_no"], name=result["name"], count=len(result["reviewed"]),
            outcome=label("signal_outcome", result["outcome"], lang), day=result["on"], tasks=result["tasks_done"],
        )  # fmt: skip
    )
    if result["outcome"] == "watch" and result.get("level") in (None, "none"):
        output.info(_("the watch level is unchanged; to put the student on the watch list, record it with `mhtool cases level`"))


# -- rules --------------------------------------------------------------------------------------


@app.command("rules")
def rules(ctx: typer.Context, json: JsonOpt = False, lang: LangOpt = None) -> None:
    """Show the rules in force: thresholds, windows and the sentence that explains a hit.

    The built-in rules, with the store's override (`mhtool settings
    signal-rules FILE`) laid over them.

    Example: mhtool signals rules --json
    """
    from mhtool.console import output, session

    lang = _shown(lang)
    with session.open_center(ctx) as center:
        table = center.signals.rules()
    if json:
        output.emit_json(table)
        return
    skip = {"code", "name", "name_en", "source", "enabled", "review_days", "explain", "explain_en", "overridden"}
    rows = [
        {
            "code": r["code"],
            "name": pick(lang, r["name"], r["name_en"]),
            "source": label("signal_source", r["source"], lang),
            "enabled": label("answer", "yes" if r["enabled"] else "no", lang),
            "parameters": ", ".join(f"{k}={v}" for k, v in r.items() if k not in skip),
            "review_days": r["review_days"],
            "explain": pick(lang, r["explain"], r["explain_en"]),
        }
        for r in table
    ]
    output.emit_table(
        rows,
        [
            ("code", label("signal_column", "code", lang)),
            ("name", label("signal_column", "rule", lang)),
            ("source", label("signal_column", "source", lang)),
            ("enabled", label("signal_column", "enabled", lang)),
            ("parameters", label("signal_column", "parameters", lang)),
            ("review_days", label("signal_column", "review_days", lang)),
            ("explain", label("signal_column", "explanation", lang)),
        ],
    )
