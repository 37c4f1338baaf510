"""`mhtool network …`: the 五级网络 — its roster, the reports its classes and dorms send, who has not reported.

Commands are thin: they read options, call one method of ``center.network``
(:class:`mhtool.network.usecases.api.Network`) and print its result. Heavy
modules are imported inside the commands so that ``mhtool --help`` stays quick.

No ``from __future__ import annotations`` here (see mhtool/cases/cli.py).
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from mhtool.console.apps import make_subapp
from mhtool.console.options import CollegeOpt, JsonOpt, checked
from mhtool.i18n import N_, _, current, gettext_in, in_language, joined

app = make_subapp(help="The 五级网络: the roster of 心理委员 and 寝室长, their reports (零报告 included) and who has not reported.")


def _check_period(value: str, flag: str) -> None:
    from mhtool.network.domain.reports import period_label

    period_label(value, option=flag)


def _check_role(value: str) -> None:
    from mhtool.network.usecases.roster import role_filter

    role_filter(value)


PeriodOpt = Annotated[
    Optional[str],
    typer.Option("--period", metavar="PERIOD", callback=checked(_check_period, pass_flag=True), help="An ISO week (2026-W48) or a month (2026-11)."),
]
RoleOpt = Annotated[
    Optional[str],
    typer.Option("--role", metavar="ROLE", callback=checked(_check_role), help="心理委员 (peer_monitor), 寝室长 (dorm_head), 辅导员 (advisor) or 二级站负责人 (station_head)."),
]


def _role(code: str, lang: str | None = None) -> str:
    from mhtool.network.domain.roster import role_name

    return role_name(code, lang or current())


def _unit_kind(code: str, lang: str) -> str:
    from mhtool.domain.labels import label

    return label("network_unit", code, lang)


# -- the roster ---------------------------------------------------------------------------------


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The roster: .xlsx or .csv with 学院, 班级 or 宿舍, 角色, 学号 or 工号, 姓名, 电话.")],
    json: JsonOpt = False,
) -> None:
    """Import the network roster: 心理委员, 寝室长, 辅导员 and 二级站负责人.

    One row per member: 学院, 班级 (a 心理委员) or 宿舍 (a 寝室长), 角色
    (心理委员, 寝室长, 辅导员 or 二级站负责人), 学号 or 工号, 姓名, 电话. Every
    sheet of a workbook is read. A member already in the roster (same role,
    unit and person) is updated, the others are added; nothing is removed.
    The classes and dorms of the roster are the units expected to report. A
    file with a wrong row is refused whole (exit 3). Admins, counselors and
    clerks; the roster is sealed like every personal record.

    Example: mhtool network import 五级网络名册.xlsx
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        result = center.network.import_members(file)
    if json:
        output.emit_json(result)
        return
    output.success(
        _("{file}: {members} members read; {added} added, {updated} updated, {unchanged} unchanged").format(**result)
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    college: CollegeOpt = None,
    role: RoleOpt = None,
    json: JsonOpt = False,
) -> None:
    """List the network roster, by college, unit and role.

    Admins, counselors and clerks (of their colleges); the read is audited.

    Example: mhtool network list --college 法学院 --role 心理委员
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        rows = center.network.list(college=college, role=role)
    if json:
        output.emit_json(rows)
        return
    lang = in_language(None)
    shown = [{**r, "id_short": r["id"][:8], "role_label": _role(r["role"], lang), "kind_label": _unit_kind(r["unit_kind"], lang)} for r in rows]
    output.emit_table(
        shown,
        [
            ("college", gettext_in("College", lang)),
            ("kind_label", gettext_in("Unit kind", lang)),
            ("unit", gettext_in("Unit", lang)),
            ("role_label", gettext_in("Role", lang)),
            ("name", gettext_in("Name", lang)),
            ("person_no", gettext_in("Number", lang)),
            ("phone", gettext_in("Phone", lang)),
            ("id_short", "#"),
        ],
    )
    if not rows:
        output.info(_("the network roster is empty; import it with `mhtool network import FILE`"))


@app.command("add")
def add(
    ctx: typer.Context,
    college: Annotated[Optional[str], typer.Option("--college", help="The college (学院).")] = None,
    class_name: Annotated[Optional[str], typer.Option("--class", help="The class (班级), for a 心理委员.")] = None,
    dorm: Annotated[Optional[str], typer.Option("--dorm", help="The dorm (宿舍), for a 寝室长.")] = None,
    role: Annotated[Optional[str], typer.Option("--role", metavar="ROLE", help="心理委员 (peer_monitor), 寝室长 (dorm_head), 辅导员 (advisor) or 二级站负责人 (station_head).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="The member's name.")] = None,
    no: Annotated[Optional[str], typer.Option("--no", help="The member's 学号 or 工号.")] = None,
    phone: Annotated[Optional[str], typer.Option("--phone", help="The member's phone number.")] = None,
    json: JsonOpt = False,
) -> None:
    """Add one member to the network roster.

    A 心理委员 needs --class, a 寝室长 --dorm; a 二级站负责人 stands for the
    college. Admins, counselors and clerks (of their colleges); audited.

    Example: mhtool network add --college 法学院 --class 法学2501 --role 心理委员 --name 李明 --no 2025030101 --phone 13800000000
    """
    from mhtool.console import output, session
    from mhtool.errors import UsageError

    for flag, value in (("--college", college), ("--role", role), ("--name", name)):
        if not (value or "").strip():
            raise UsageError(_("missing {flag}").format(flag=flag), hint=_("see `mhtool network add --help`"))
    with session.open_center(ctx) as center:
        member = center.network.add(college=college, role=role, name=name, class_name=class_name or "", dorm=dorm or "", person_no=no or "", phone=phone or "")
    if json:
        output.emit_json(member)
        return
    output.success(
        _("{name} added as {role} of {unit} ({college}); id {member_id}").format(
            name=member["name"], role=_role(member["role"]), unit=member["unit"], college=member["college"], member_id=member["id"][:8]
        )
    )


@app.command("remove")
def remove(
    ctx: typer.Context,
    member_id: Annotated[str, typer.Argument(metavar="ID", help="The member's id (or its first 4+ characters), as `mhtool network list` shows it.")],
) -> None:
    """Remove one member from the network roster.

    Reports already imported stay. Admins, counselors and clerks (of their
    colleges); audited.

    Example: mhtool network remove 3f2a9c1d
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        member = center.network.remove(member_id)
    output.success(
        _("{name} ({role} of {unit}) removed from the network roster").format(name=member["name"], role=_role(member["role"]), unit=member["unit"])
    )


# -- the reports --------------------------------------------------------------------------------


@app.command("import-reports")
def import_reports(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="The sheets classes and dorms sent back: .xlsx (every sheet is read) or .csv.")],
    period: PeriodOpt = None,
    json: JsonOpt = False,
) -> None:
    """Import the reports of the network's classes and dorms (班级心理晴雨表).

    One sheet per class or one combined sheet; columns such as 学院, 班级 (or
    宿舍), 周次 or 月份, 填报人, 本期情况 (无异常 or 有情况), 关注学生学号,
    关注学生姓名, 情况描述, 是否已告知辅导员. A 无异常 row is a 零报告. A student
    named under 有情况 gets a peer-report signal and a 研判 task on the
    dossier; what the report says of the student is for counselors only (a
    clerk's import seals it to the counselors' inbox). --period is for sheets
    without a 周次/月份 column. A class and period imported again replaces the
    earlier report.

    Each file goes in whole or not at all: a class not in the roster, a period
    that does not parse, an unknown student number or a sheet filled for the
    wrong college refuses that file, with file, sheet, row and column; the
    other files still go in. Exit 3 when a file was refused.

    Example: mhtool network import-reports 法学院_2026-W48.xlsx 文学院_2026-W48.xlsx
    """
    from mhtool.console import output, session
    from mhtool.errors import InvalidInput

    with session.open_center(ctx) as center:
        result = center.network.import_reports(files, period=period, progress=output.progress)
    problems = result.pop("problem_list", [])
    if json:
        output.emit_json(result)
    else:
        for f in result["files"]:
            if f["status"] == "imported":
                output.success(
                    _("{file}: imported {reports} reports ({zero} 零报告, {concern} 有情况) for {periods}; {replaced} replaced earlier ones; {named} students named").format(
                        file=f["file"], reports=f["reports"], zero=f["zero"], concern=f["concern"], periods=joined(f["periods"]),
                        replaced=f["replaced"], named=f["named"],
                    )  # fmt: skip
                )
            else:
                output.warn(_("{file}: refused, nothing of it was imported ({count} problems)").format(file=f["file"], count=len(f["problems"])))
    if result["refused"]:
        raise InvalidInput(
            _("{refused} of {total} files refused: {files}").format(refused=len(result["refused"]), total=len(result["files"]), files=joined(result["refused"])),
            problems=problems,
            hint=_("fix the rows named below and import those files again; the files that went in stay in"),
        )


@app.command("missing")
def missing(
    ctx: typer.Context,
    period: PeriodOpt = None,
    college: CollegeOpt = None,
    json: JsonOpt = False,
) -> None:
    """List the classes and dorms with no report for a period, by college.

    A 零报告 counts as reported. The 心理委员 or 寝室长 of each missing unit is
    shown, to ask. Admins, counselors and clerks (of their colleges); the read
    is audited.

    Example: mhtool network missing --period 2026-W48 --college 法学院
    """
    from mhtool.console import output, session
    from mhtool.errors import UsageError

    if not period:
        raise UsageError(_("missing --period"), hint=_("pass an ISO week such as --period 2026-W48 or a month such as --period 2026-11"))
    with session.open_center(ctx) as center:
        result = center.network.missing(period, college=college)
    if json:
        output.emit_json(result)
        return
    lang = in_language(None)
    rows = []
    for c in result["colleges"]:
        for u in c["missing"]:
            rows.append(
                {
                    "college": c["college"],
                    "kind": _unit_kind(u["unit_kind"], lang),
                    "unit": u["unit"],
                    "contacts": joined((f"{p['name']} {p['phone']}".strip() for p in u["contacts"]), lang),
                }
            )
    columns = [("college", N_("College")), ("kind", N_("Unit kind")), ("unit", N_("Unit")), ("contacts", N_("Whom to ask"))]
    output.emit_table(rows, [(key, gettext_in(header, lang)) for key, header in columns])
    for c in result["colleges"]:
        output.info(
            _("{college}: {reported} of {expected} reported for {period}, {missing} missing").format(
                college=c["college"], reported=c["reported"], expected=c["expected"], period=result["period"], missing=len(c["missing"])
            )
        )
    if not result["colleges"]:
        output.info(_("the network roster has no classes or dorms; import it with `mhtool network import FILE`"))
    elif not result["missing"]:
        output.success(_("every class and dorm reported for {period}").format(period=result["period"]))


@app.command("template")
def template(
    ctx: typer.Context,
    college: Annotated[Optional[str], typer.Option("--college", help="The college (学院) whose classes get a sheet.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="DIR|FILE", help="Where to write the workbook: a file, or a folder for the default name.")] = None,
    period: PeriodOpt = None,
) -> None:
    """Write the report template a college's classes fill in.

    One sheet per class (and dorm) of the college in the roster, named after
    it; the header is exactly what `mhtool network import-reports` reads; 学院,
    班级 and, with --period, 周次 (or 月份) are filled in; 本期情况 (无异常/有情况)
    and 是否已告知辅导员 (是/否) offer a list. A filled template imports with no
    column mapping. It holds no personal data.

    Example: mhtool network template --college 法学院 --out ./模板/ --period 2026-W48
    """
    from mhtool.console import output, session
    from mhtool.errors import UsageError

    if not (college or "").strip():
        raise UsageError(_("missing --college"), hint=_("name the college whose classes get a sheet, e.g. --college 法学院"))
    if out is None:
        raise UsageError(_("missing --out"), hint=_("pass a file (--out 模板.xlsx) or a folder (--out ./模板/)"))
    with session.open_center(ctx) as center:
        result = center.network.template(college, out, period=period)
    output.emit_path(result["path"])
    output.success(_("{path}: {sheets} sheets, one per class of {college}").format(path=result["path"], sheets=result["sheets"], college=result["college"]))
