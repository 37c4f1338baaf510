"""``mhtool export research``, ``mhtool retention plan|apply`` and ``mhtool erase``.

Thin commands over ``center.governance`` (:mod:`mhtool.governance.usecases.api`);
heavy modules are imported inside them.
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from mhtool.console.apps import make_subapp
from mhtool.console.options import JsonOpt, date_value
from mhtool.i18n import N_, _

export_app = make_subapp()
retention_app = make_subapp()


@export_app.callback()
def _export_group() -> None:
    """De-identified exports (research)."""


@retention_app.callback()
def _retention_group() -> None:
    """Retention of records after students leave (default 5 years), and their erasure."""


def register(app: typer.Typer) -> None:
    """Add the top-level `erase`; the `export` and `retention` groups load lazily (see mhtool.cli.LAZY_GROUPS)."""
    app.command("erase")(erase)


GraduatedBeforeOpt = Annotated[
    Optional[str],
    typer.Option("--graduated-before", metavar="DATE", callback=date_value, help="Only students who graduated or withdrew before this day (never anyone inside the retention period)."),
]
YesOpt = Annotated[bool, typer.Option("--yes", help="Erase without asking (needed when not on a terminal).")]


def _day(center, text: Optional[str], option: str):
    if not text:
        return None
    from mhtool.domain import dates

    return dates.parse_date(text, today=center.today(), option=option)


def _ask_purpose(purpose: Optional[str]) -> Optional[str]:
    from mhtool.console import prompts

    if (purpose or "").strip() or not prompts.is_interactive():
        return purpose
    return prompts.text(_("用途 / purpose of this export:"), flag="--purpose")


@export_app.command("research")
def research(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write: .xlsx or .csv (a directory gets research_DATE.xlsx).")],
    purpose: Annotated[Optional[str], typer.Option("--purpose", help="What the data is for (required; kept in the audit log with the row count).")] = None,
    batch: Annotated[Optional[list[str]], typer.Option("--batch", metavar="BATCH", help="Only this batch (id or its first 4+ characters; repeatable). Default: every batch not voided.")] = None,
    instrument: Annotated[Optional[list[str]], typer.Option("--instrument", metavar="CODE", help="Only this instrument, e.g. upi (repeatable).")] = None,
    stable_pseudonyms: Annotated[bool, typer.Option("--stable-pseudonyms", help="Use the store's stable pseudonyms, the same in every export (admin only).")] = False,
    month_only: Annotated[bool, typer.Option("--month-only", help="Give each date as its real month (2026-09) instead of shifting it.")] = False,
    min_cell: Annotated[Optional[int], typer.Option("--min-cell", metavar="K", help="Smallest college × gender × grade group shown (default: the store's setting, 5).")] = None,
    json: JsonOpt = False,
) -> None:
    """Write screening responses for research, de-identified: one row per response.

    Rows carry a pseudonym instead of the student number (a new key for every
    export, so two exports cannot be joined), scores, band, flags and the
    proposed level, college, gender and grade; never names, numbers, phones,
    dorms, guardians or free text. Each student's dates move by the same
    random 1–180 days either way (intervals are kept), or show only the month
    with --month-only. A college × gender × grade group of fewer than K
    students is merged into 其他(合并), blanked, or left out.

    Example: mhtool export research --out upi_2026.xlsx --instrument upi --purpose "新生心理健康状况研究（伦理审批 2026-01）"
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        result = center.governance.research_export(
            out,
            purpose=_ask_purpose(purpose),
            batches=batch or [],
            instruments=instrument or [],
            stable_pseudonyms=stable_pseudonyms,
            month_only=month_only,
            min_cell=min_cell,
        )
    s = result["suppression"]
    if s["cells_merged"] or s["rows_withheld"]:
        output.info(
            _("small groups (k={k}): {merged} merged, {blanked} blanked, {students} students ({rows} rows) left out").format(
                k=s["k"], merged=s["cells_merged"], blanked=s["cells_blanked"], students=s["students_withheld"], rows=s["rows_withheld"]
            )
        )
    if result["rows"] == 0:
        output.warn(_("no responses matched; the file has the header row only"))
    wrote = _WROTE.get((result["pseudonyms"], result["dates"]), N_("wrote {rows} rows ({students} students, {pseudonyms} pseudonyms, dates {dates}) to {out}"))
    output.success(
        _(wrote).format(rows=result["rows"], students=result["students"], pseudonyms=result["pseudonyms"], dates=result["dates"], out=result["out"])
    )
    if json:
        output.emit_json(result)
    else:
        output.emit_line(result["out"])


# The research export's summary line, by its kind of pseudonyms and dates.
_WROTE = {
    ("per-export", "shifted"): N_("wrote {rows} rows ({students} students, per-export pseudonyms, dates shifted) to {out}"),
    ("per-export", "month"): N_("wrote {rows} rows ({students} students, per-export pseudonyms, dates month) to {out}"),
    ("stable", "shifted"): N_("wrote {rows} rows ({students} students, stable pseudonyms, dates shifted) to {out}"),
    ("stable", "month"): N_("wrote {rows} rows ({students} students, stable pseudonyms, dates month) to {out}"),
}


_PLAN_COLUMNS = [
    ("student_no", "学号"),
    ("name", "姓名"),
    ("college", "学院"),
    ("status", "状态"),
    ("left_on", "离校日期"),
    ("retain_until", "保存至"),
]


@retention_app.command("plan")
def retention_plan(
    ctx: typer.Context,
    graduated_before: GraduatedBeforeOpt = None,
    json: JsonOpt = False,
) -> None:
    """List students whose records are past the retention period (admin).

    The period runs from graduation or withdrawal (default 5 years). Nothing is
    changed; `mhtool retention apply --yes` erases exactly this list.

    Example: mhtool retention plan --graduated-before 2021-09-01
    """
    from mhtool.console import output, session
    from mhtool.domain.labels import label

    with session.open_center(ctx) as center:
        result = center.governance.retention_plan(left_before=_day(center, graduated_before, "--graduated-before"))
    if result["undated"]:
        output.warn(
            _(
                "{count} graduated or withdrawn students have no recorded date of leaving and are not in the plan; "
                "erase them one by one with `mhtool erase STUDENT --reason …` when their time is up"
            ).format(count=len(result["undated"]))
        )
    if json:
        output.emit_json(result["due"])
        return
    rows = [{**r, "status": label("status", r["status"])} for r in result["due"]]
    output.emit_table(rows, _PLAN_COLUMNS, title=f"保存期满（{result['retention_years']} 年）: {len(rows)}")
    output.info(_("{count} students past the retention period of {years} years").format(count=len(rows), years=result["retention_years"]))
    facts = result.get("signal_facts") or {}
    if facts.get("days"):
        output.info(
            _("campus facts (多源预警) older than {days} days, before {before}: {count} student-days in {records} records would be removed").format(
                days=facts["signal_fact_days"], before=facts["before"], count=facts["days"], records=facts["records"]
            )
        )


@retention_app.command("apply")
def retention_apply(
    ctx: typer.Context,
    yes: YesOpt = False,
    graduated_before: GraduatedBeforeOpt = None,
    json: JsonOpt = False,
) -> None:
    """Erase the records of every student `retention plan` lists (admin).

    Each student's row becomes a placeholder (pseudonym, dates, who erased it
    and when); entries, tasks, responses, referrals and watch episodes are
    deleted, and the file is compacted so the old data cannot be recovered
    from it. The audit log is kept whole. Backups made before still hold the
    data.

    Example: mhtool retention apply --yes
    """
    from mhtool.console import output, prompts, session

    def confirm(count: int) -> bool:
        if not prompts.is_interactive():
            from mhtool.errors import UsageError

            raise UsageError(_("erasing needs confirmation; pass --yes"), hint=_("check the list first with `mhtool retention plan`"))
        return prompts.confirm(_("永久删除 {count} 名学生的档案 / erase the records of {count} students for good?").format(count=count))

    with session.open_center(ctx) as center:
        left_before = _day(center, graduated_before, "--graduated-before")
        result = center.governance.retention_apply(left_before=left_before, confirm=None if yes else confirm)
    if result is None:
        output.info(_("nothing was erased"))
        return
    _report_scrub(result["scrub"], "mhtool retention apply --yes")
    output.success(_("erased the records of {count} students; placeholders and the audit log remain").format(count=result["erased"]))
    if json:
        output.emit_json(result)
    else:
        output.emit_table(
            [{"pseudonym": r["pseudonym"], "left_on": r["left_on"], "records": sum(r["records"].values())} for r in result["students"]],
            [("pseudonym", "假名"), ("left_on", "离校日期"), ("records", "删除记录数")],
        )


def erase(
    ctx: typer.Context,
    student: Annotated[str, typer.Argument(metavar="STUDENT", help="Student number (学号).")],
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (e.g. the student's written request and when it came).")] = None,
    yes: YesOpt = False,
    json: JsonOpt = False,
) -> None:
    """Erase one student's records now, on request (admin).

    The same erasure as `retention apply`: a placeholder stays (pseudonym,
    dates, who erased it, when and why), everything else of the student goes,
    and the audit log is kept whole.

    Example: mhtool erase 2024010203 --reason "本人书面申请删除（2026-11-20 收）" --yes
    """
    from mhtool.console import output, prompts, session

    with session.open_center(ctx) as center:
        why = reason
        if not (why or "").strip() and prompts.is_interactive():
            why = prompts.text(_("原因 / reason:"), flag="--reason")
        result = center.governance.erase(
            student,
            reason=why,
            confirm=None if yes else lambda: prompts.confirm(_("永久删除 {student} 的档案 / erase every record of {student} for good?").format(student=student)),
        )
    if result is None:
        output.info(_("nothing was erased"))
        return
    _report_scrub(result["scrub"], "mhtool retention apply --yes")
    output.success(
        _("erased the records of {student} ({count} records); placeholder {pseudonym}").format(
            student=student, count=sum(result["records"].values()), pseudonym=result["pseudonym"]
        )
    )
    if json:
        output.emit_json(result)
    else:
        output.emit_line(result["pseudonym"])


def _report_scrub(scrub: dict, again: str) -> None:
    from mhtool.console import output

    if not scrub.get("complete"):
        output.warn(
            _(
                "the records are erased, but the store file could not be compacted now "
                "({error}); old copies may remain in it until you run `{again}` "
                "when no one else is using the store"
            ).format(error=scrub.get("error") or _("another process is reading it"), again=again)
        )
