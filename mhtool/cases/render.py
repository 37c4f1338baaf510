"""The dossier panel of ``cases show``, composed as rich objects for :func:`mhtool.console.output.emit_renderable`.

Every piece of user text goes in as :class:`rich.text.Text`, never as markup,
so a note reading ``[red]…`` or ``=SUM(…)`` shows exactly as typed.
"""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mhtool.cases.domain import views
from mhtool.domain.labels import label

BADGE_STYLES = {"red": "bold white on red", "orange": "bold black on dark_orange", "yellow": "bold black on yellow", "none": "dim"}


def _t(value) -> Text:
    return Text("" if value is None else str(value))


def badge(level: str, lang: str) -> Text:
    return Text(f" {label('level', level, lang)} ", style=BADGE_STYLES.get(level, ""))


def dossier_panel(d: dict, lang: str = "zh") -> Panel:
    s = d["student"]
    L = lambda key: label("field", key, lang)  # noqa: E731

    head = Text()
    head.append(f"{s.get('name') or ''}", style="bold")
    head.append(f"  {s['student_no']}  ")
    head.append_text(badge(s.get("level") or "none", lang))
    head.append(f"  {label('status', s.get('status') or 'enrolled', lang)}")
    if s.get("level_since"):
        head.append(f"  {L('level_since')} {s['level_since']}")

    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    info.add_column(style="bold")
    info.add_column()
    pairs = [
        ("gender", s.get("gender")),
        ("college", s.get("college")),
        ("major", s.get("major")),
        ("grade", s.get("grade")),
        ("class_name", s.get("class_name")),
        ("dorm", s.get("dorm")),
        ("phone", s.get("phone")),
        ("advisor", " ".join(x for x in (s.get("advisor"), s.get("advisor_phone")) if x)),
        ("counselor", s.get("counselor")),
        ("guardians", views.guardian_text(s.get("guardians") or [])),
    ]
    if "level_reason" in s:
        pairs.append(("level_reason", s.get("level_reason")))
    groups = "、".join(label("group", g, lang) for g in s.get("groups") or [])
    tags = "、".join(s.get("tags") or [])
    pairs.append(("groups", " ".join(x for x in (groups, f"#{tags}" if tags else "") if x)))
    for i in range(0, len(pairs), 2):
        row = []
        for key, value in pairs[i : i + 2]:
            row += [Text(L(key)), _t(value)]
        info.add_row(*row)

    parts: list = [head, info]

    if d["missing"]:
        parts.append(Text(f"{label('dossier', 'missing_title', lang)}: " + views.missing_text(d["missing"], lang), style="yellow"))

    parts.append(Text(label("entry", "measure", lang), style="bold underline"))
    if d["measures"]:
        for m in d["measures"]:
            span = "–".join(x for x in (m.get("start") or "", m.get("end") or "") if x)
            state = label("dossier", "active" if m["active"] else "ended", lang)
            parts.append(Text(f"• {m.get('measure_kind')}：{m.get('description')}  {m.get('responsible') or ''} {span} ({state})"))
    else:
        parts.append(Text(label("dossier", "none", lang), style="dim"))

    parts.append(Text(label("dossier", "open_tasks", lang), style="bold underline"))
    # A 研判 task names the rule of its signal (only readers who see the signals know it).
    signal_rules = {sig["id"]: label("signal_rule", sig.get("rule"), lang) for sig in d.get("signals") or ()}
    if d["tasks"]:
        for t in d["tasks"]:
            kind = label("task", t["kind"], lang)
            line = Text(f"• {t['due']} {kind} ")
            if t.get("note") and t["note"] != kind:
                line.append(t["note"])
            elif t.get("signal_id") in signal_rules:
                line.append(signal_rules[t["signal_id"]])
            if t["overdue"]:
                line.append(f"  {label('dossier', 'overdue', lang)} {t['overdue_days']} {label('dossier', 'days', lang)}", style="bold red")
            line.append(f"  [{t['id'][:8]}]", style="dim")
            parts.append(line)
    else:
        parts.append(Text(label("dossier", "none", lang), style="dim"))

    if d.get("signals"):
        # 多源预警: for readers with the clinical key, when the student has any; a clerk's dossier has no such section.
        parts.append(Text(label("dossier", "signals", lang), style="bold underline"))
        # A grid, not bare lines: an explanation wraps rather than being cut at the panel's edge.
        signals = Table.grid(padding=(0, 1), expand=True)
        signals.add_column(no_wrap=True)
        signals.add_column(overflow="fold", ratio=1)
        signals.add_column(no_wrap=True)
        for sig in d["signals"]:
            pending = sig.get("status") != "reviewed"
            signals.add_row(Text("•"), Text(views.signal_line(sig, lang), style="bold" if pending else ""), Text(f"[{sig['id'][:8]}]", style="dim"))
        parts.append(signals)

    parts.append(Text(label("dossier", "timeline", lang), style="bold underline"))
    table = Table(show_header=True, header_style="bold", box=None, padding=(0, 1), expand=True)
    table.add_column(L("date"), no_wrap=True)
    table.add_column(L("kind"), no_wrap=True)
    table.add_column(L("author"), no_wrap=True)
    # The summary wraps rather than being cut: a record must be readable in full.
    table.add_column(L("summary"), overflow="fold", ratio=1)
    table.add_column("#", no_wrap=True)
    for item in d["timeline"]:
        summary = Text(views.entry_summary(item, lang))
        if item.get("corrects"):
            summary = Text(f"{label('dossier', 'correction_of', lang)} {item['corrects'][:8]}: ").append_text(summary)
        style = "dim strike" if item.get("corrected_by") else ""
        table.add_row(_t(item["date"]), Text(label("entry", item["kind"], lang)), _t(item.get("author") or ""), summary, Text(item["id"][:8], style="dim"), style=style)
    if d["timeline"]:
        parts.append(table)
    else:
        parts.append(Text(label("dossier", "none", lang), style="dim"))
    title = label("dossier", "title", lang)
    return Panel(Group(*parts), title=title, title_align="left")
