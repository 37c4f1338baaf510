"""The dossier of ``cases show``: a panel on a terminal, plain lines for a pipe.

Both are composed from the same pieces. The panel is built from rich objects
(imported only when it is drawn, so a script reading the dossier never pays
for rich); every piece of user text goes in as :class:`rich.text.Text`, never
as markup, so a note reading ``[red]…`` or ``=SUM(…)`` shows exactly as typed.
"""

from __future__ import annotations

from mhtool.cases.domain import views
from mhtool.domain.labels import label, staff_name

BADGE_STYLES = {"red": "bold white on red", "orange": "bold black on dark_orange", "yellow": "bold black on yellow", "none": "dim"}


def _s(value) -> str:
    return "" if value is None else str(value)


def _header_pairs(s: dict, lang: str, staff_names: dict | None) -> list[tuple[str, str]]:
    """(label, value) of the header fields, in the order the dossier shows them."""
    pairs = [
        ("gender", s.get("gender")),
        ("college", s.get("college")),
        ("major", s.get("major")),
        ("grade", s.get("grade")),
        ("class_name", s.get("class_name")),
        ("dorm", s.get("dorm")),
        ("phone", s.get("phone")),
        ("advisor", " ".join(x for x in (s.get("advisor"), s.get("advisor_phone")) if x)),
        ("counselor", staff_name(s.get("counselor"), staff_names)),
        ("guardians", views.guardian_text(s.get("guardians") or [])),
    ]
    if "level_reason" in s:
        pairs.append(("level_reason", s.get("level_reason")))
    groups = "、".join(label("group", g, lang) for g in s.get("groups") or [])
    tags = "、".join(s.get("tags") or [])
    pairs.append(("groups", " ".join(x for x in (groups, f"#{tags}" if tags else "") if x)))
    return [(label("field", key, lang), _s(value)) for key, value in pairs]


def _measure_line(m: dict, lang: str) -> str:
    span = "–".join(x for x in (m.get("start") or "", m.get("end") or "") if x)
    state = label("dossier", "active" if m["active"] else "ended", lang)
    return f"• {m.get('measure_kind')}：{m.get('description')}  {m.get('responsible') or ''} {span} ({state})"


def _task_parts(t: dict, signal_rules: dict, lang: str) -> tuple[str, str, str]:
    """A task as (what and when, how overdue or "", its short id)."""
    kind = label("task", t["kind"], lang)
    text = f"• {t['due']} {kind} "
    if t.get("note") and t["note"] != kind:
        text += t["note"]
    elif t.get("signal_id") in signal_rules:
        text += signal_rules[t["signal_id"]]
    late = f"  {label('dossier', 'overdue', lang)} {t['overdue_days']} {label('dossier', 'days', lang)}" if t["overdue"] else ""
    return text, late, f"  [{t['id'][:8]}]"


def _signal_rules(d: dict, lang: str) -> dict:
    # A 研判 task names the rule of its signal (only readers who see the signals know it).
    return {sig["id"]: label("signal_rule", sig.get("rule"), lang) for sig in d.get("signals") or ()}


def _summary(item: dict, lang: str) -> str:
    summary = views.entry_summary(item, lang)
    if item.get("corrects"):
        summary = f"{label('dossier', 'correction_of', lang)} {item['corrects'][:8]}: {summary}"
    return summary


def _head_parts(s: dict, lang: str) -> tuple[str, str, str]:
    """The first line as (name, number, the rest after the level badge)."""
    rest = f"  {label('status', s.get('status') or 'enrolled', lang)}"
    if s.get("level_since"):
        rest += f"  {label('field', 'level_since', lang)} {s['level_since']}"
    return s.get("name") or "", s["student_no"], rest


def timeline_columns(lang: str) -> list[tuple[str, str]]:
    return [("date", label("field", "date", lang)), ("kind", label("field", "kind", lang)), ("author", label("field", "author", lang)), ("summary", label("field", "summary", lang)), ("id", "#")]


def dossier_lines(d: dict, lang: str = "zh", staff_names: dict | None = None) -> tuple[list[str], list[dict]]:
    """The dossier for a pipe: its lines down to the timeline, and the timeline's rows (:func:`timeline_columns`).

    Header fields are ``label<TAB>value``, lists are one bullet per line; the
    caller prints the timeline as tab-separated text like every other table.
    """
    s = d["student"]
    name, number, rest = _head_parts(s, lang)
    lines = [label("dossier", "title", lang), f"{name}  {number}   {label('level', s.get('level') or 'none', lang)} {rest}"]
    lines += [f"{key}\t{value}" for key, value in _header_pairs(s, lang, staff_names)]
    if d["missing"]:
        lines.append(f"{label('dossier', 'missing_title', lang)}: " + views.missing_text(d["missing"], lang))
    none = label("dossier", "none", lang)
    lines.append(label("entry", "measure", lang))
    lines += [_measure_line(m, lang) for m in d["measures"]] or [none]
    lines.append(label("dossier", "open_tasks", lang))
    rules = _signal_rules(d, lang)
    lines += ["".join(_task_parts(t, rules, lang)) for t in d["tasks"]] or [none]
    if d.get("signals"):
        lines.append(label("dossier", "signals", lang))
        lines += [f"• {views.signal_line(sig, lang)}  [{sig['id'][:8]}]" for sig in d["signals"]]
    lines.append(label("dossier", "timeline", lang))
    rows = [
        {"date": item["date"], "kind": label("entry", item["kind"], lang), "author": staff_name(item.get("author"), staff_names) or "", "summary": _summary(item, lang), "id": item["id"][:8]}
        for item in d["timeline"]
    ]
    # User text may hold line breaks; a pipe gets one line per item.
    return [" ".join(line.splitlines()) for line in lines], rows


def dossier_panel(d: dict, lang: str = "zh", staff_names: dict | None = None):
    """The dossier as a rich panel, for a terminal."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    s = d["student"]
    name, number, rest = _head_parts(s, lang)
    level = s.get("level") or "none"
    head = Text()
    head.append(name, style="bold")
    head.append(f"  {number}  ")
    head.append(f" {label('level', level, lang)} ", style=BADGE_STYLES.get(level, ""))
    head.append(rest)

    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    info.add_column(style="bold")
    info.add_column()
    pairs = _header_pairs(s, lang, staff_names)
    for i in range(0, len(pairs), 2):
        row = []
        for key, value in pairs[i : i + 2]:
            row += [Text(key), Text(value)]
        info.add_row(*row)

    parts: list = [head, info]

    if d["missing"]:
        parts.append(Text(f"{label('dossier', 'missing_title', lang)}: " + views.missing_text(d["missing"], lang), style="yellow"))

    parts.append(Text(label("entry", "measure", lang), style="bold underline"))
    if d["measures"]:
        parts += [Text(_measure_line(m, lang)) for m in d["measures"]]
    else:
        parts.append(Text(label("dossier", "none", lang), style="dim"))

    parts.append(Text(label("dossier", "open_tasks", lang), style="bold underline"))
    rules = _signal_rules(d, lang)
    if d["tasks"]:
        for t in d["tasks"]:
            text, late, short = _task_parts(t, rules, lang)
            line = Text(text)
            if late:
                line.append(late, style="bold red")
            line.append(short, style="dim")
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
    columns = dict(timeline_columns(lang))
    table.add_column(columns["date"], no_wrap=True)
    table.add_column(columns["kind"], no_wrap=True)
    table.add_column(columns["author"], no_wrap=True)
    # The summary wraps rather than being cut: a record must be readable in full.
    table.add_column(columns["summary"], overflow="fold", ratio=1)
    table.add_column("#", no_wrap=True)
    for item in d["timeline"]:
        style = "dim strike" if item.get("corrected_by") else ""
        table.add_row(Text(_s(item["date"])), Text(label("entry", item["kind"], lang)), Text(staff_name(item.get("author"), staff_names) or ""), Text(_summary(item, lang)), Text(item["id"][:8], style="dim"), style=style)
    if d["timeline"]:
        parts.append(table)
    else:
        parts.append(Text(label("dossier", "none", lang), style="dim"))
    return Panel(Group(*parts), title=label("dossier", "title", lang), title_align="left")
