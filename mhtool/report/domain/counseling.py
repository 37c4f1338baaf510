"""咨询与活动: the counseling figures every 月报 carries upward, and the week's sessions of the 周报.

Pure. :func:`counseling_sheet` counts, from the plain rows the counseling use
cases read (:func:`mhtool.counseling.usecases.reporting.report_rows`), for the
period and the one before it:

- 个体咨询: 人次 (sessions) and 人数 (students), by counselor; in the 月报 also
  by college and by presenting concern (only when the reader holds the
  clinical key: a clerk's or cron's key cannot read it);
- 团体辅导: 场次 (meetings), 人次 (attendances) and 人数, in total and by group;
- 心理健康活动: 场次 and 人次 (head counts), in total and by kind;
- 危机干预: the crises recorded (the same count as the 汇总 sheet's 危机事件);
- 环比: the change of 人次 against the period before (上月, 上周).

One table of rows (统计项, 项目, 场次, 人次, 人数, 上期人次, 环比), so it prints
on one page with the others; it lists no student.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from mhtool.domain.document import Column, Sheet
from mhtool.domain.labels import codes, label, text
from mhtool.domain.periods import Period, month_of, week_of


@dataclass
class CounselingData:
    """What the sheet counts: the rows of the period and of the period before it (see the module docstring)."""

    current: dict
    previous: dict
    staff_names: dict[str, str] = field(default_factory=dict)


def previous_period(period: Period) -> Period:
    """The period 环比 compares with: the week or month before, or as many days just before a range."""
    before = period.start - timedelta(days=1)
    if period.kind == "week":
        return week_of(before)
    if period.kind == "month":
        return month_of(before)
    return Period("range", period.start - timedelta(days=period.days), before, "previous")


# The sheet's words are the labels of "counseling_sheet"; its notes are "counseling_…" texts (mhtool/domain/labels.py).
_w = partial(label, "counseling_sheet")


def _column(key: str, word: str, kind: str) -> Column:
    return Column(key, _w(word, "zh"), _w(word, "en"), kind)


def _change(now: int, before: int) -> float | None:
    return (now - before) / before if before else None


def _tally(rows: list[dict], key) -> tuple[Counter, dict[str, set]]:
    """人次 and the students of each value of ``key(row)``."""
    count: Counter = Counter()
    people: dict[str, set] = defaultdict(set)
    for r in rows:
        k = key(r)
        count[k] += 1
        people[k].add(r["student_id"])
    return count, people


def _session_rows(dimension: str, now: list[dict], before: list[dict], key, name, order, lang: str) -> list[list]:
    count, people = _tally(now, key)
    prev, _people = _tally(before, key)
    keys = order(set(count) | set(prev))
    return [[_w(dimension, lang), name(k), None, count[k], len(people[k]), prev[k], _change(count[k], prev[k])] for k in keys]


def counseling_sheet(data: CounselingData, period: Period, *, lang: str = "zh", detail: bool = True) -> Sheet:
    """The 咨询与活动 sheet of ``period``: the 月报's (``detail``) or the 周报's (totals and sessions by counselor)."""
    now, before = data.current, data.previous
    names = data.staff_names
    columns = [
        _column("dimension", "dimension", "text"),
        _column("item", "item", "text"),
        _column("events", "events", "int"),
        _column("count", "count", "int"),
        _column("people", "people", "int"),
        _column("previous", f"previous_{period.kind}", "int"),
        _column("change", "change", "percent"),
    ]
    sessions, prev_sessions = now["sessions"], before["sessions"]
    rows: list[list] = []
    # 个体咨询
    people = len({s["student_id"] for s in sessions})
    rows.append([_w("sessions", lang), _w("total", lang), None, len(sessions), people, len(prev_sessions), _change(len(sessions), len(prev_sessions))])
    rows += _session_rows(
        "by_counselor", sessions, prev_sessions, lambda r: r["counselor"], lambda k: names.get(k, k) or _w("not_set", lang),
        lambda ks: sorted(ks, key=lambda k: (names.get(k, k), k)), lang,
    )  # fmt: skip
    if detail:
        rows += _session_rows(
            "by_college", sessions, prev_sessions, lambda r: r["college"], lambda k: k or _w("not_set", lang), sorted, lang
        )  # fmt: skip
        if now.get("clinical"):
            order = {c: i for i, c in enumerate(codes("concern"))}
            rows += _session_rows(
                "by_concern", sessions, prev_sessions, lambda r: r.get("concern") or "other", lambda k: label("concern", k, lang),
                lambda ks: sorted(ks, key=lambda k: order.get(k, len(order))), lang,
            )  # fmt: skip
        else:
            rows.append([_w("by_concern", lang), _w("concern_withheld", lang), None, None, None, None, None])
    # 团体辅导
    meetings, prev_meetings = now["meetings"], before["meetings"]
    attended = sum(len(m["present"]) for m in meetings)
    before_attended = sum(len(m["present"]) for m in prev_meetings)
    rows.append([
        _w("groups", lang), _w("total", lang), len(meetings), attended, len({s for m in meetings for s in m["present"]}),
        before_attended, _change(attended, before_attended),
    ])  # fmt: skip
    if detail:
        by_group: dict[str, list[dict]] = defaultdict(list)
        prev_by_group: dict[str, list[dict]] = defaultdict(list)
        titles: dict[str, str] = {}
        for m in meetings:
            by_group[m["group"]].append(m)
            titles[m["group"]] = m["name"]
        for m in prev_meetings:
            prev_by_group[m["group"]].append(m)
            titles.setdefault(m["group"], m["name"])
        for gid in sorted(titles, key=lambda g: (titles[g], g)):
            ms, ps = by_group.get(gid, []), prev_by_group.get(gid, [])
            n, p = sum(len(m["present"]) for m in ms), sum(len(m["present"]) for m in ps)
            rows.append([_w("groups", lang), titles[gid], len(ms), n, len({s for m in ms for s in m["present"]}), p, _change(n, p)])
    # 心理健康活动
    acts, prev_acts = now["activities"], before["activities"]
    heads, prev_heads = sum(a["head_count"] for a in acts), sum(a["head_count"] for a in prev_acts)
    rows.append([_w("activities", lang), _w("total", lang), len(acts), heads, None, prev_heads, _change(heads, prev_heads)])
    if detail:
        order = {c: i for i, c in enumerate(codes("activity_kind"))}
        kinds = sorted({a["kind"] for a in acts} | {a["kind"] for a in prev_acts}, key=lambda k: order.get(k, len(order)))
        for kind in kinds:
            mine = [a for a in acts if a["kind"] == kind]
            n, p = sum(a["head_count"] for a in mine), sum(a["head_count"] for a in prev_acts if a["kind"] == kind)
            rows.append([_w("activities", lang), label("activity_kind", kind, lang), len(mine), n, None, p, _change(n, p)])
    # 危机干预
    crises, prev_crises = now["crises"], before["crises"]
    rows.append([
        _w("crises", lang), _w("crisis_events", lang), None, len(crises), len({c["student_id"] for c in crises}),
        len(prev_crises), _change(len(crises), len(prev_crises)),
    ])  # fmt: skip
    notes = []
    if not (sessions or meetings or acts or crises):
        notes.append(text("counseling_zero", lang))
    definitions = text("counseling_definitions", lang, previous=columns[5].header(lang), unit=_w(f"unit_{period.kind}", lang))
    notes.append(text("sentences", lang, first=definitions, second=text("counseling_confidential", lang)))
    if detail and not now.get("clinical"):
        notes.append(text("counseling_concern_withheld", lang))
    kind = label("report_period", period.kind, "zh"), label("report_period", period.kind, "en")
    return Sheet(
        key="counseling",
        name_zh="咨询与活动",
        name_en="Counseling",
        title_zh=f"{kind[0]}个体咨询、团体辅导与心理健康活动统计",
        title_en=f"Counseling, groups and activities of the {kind[1]}",
        columns=columns,
        rows=rows,
        notes=notes,
        signatures=True,
    )
