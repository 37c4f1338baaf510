"""The demo's month of counseling, and the 月报 over it: the figures equal what the sessions and attendance recorded.

The demo store is built once (`mhtool demo`, a small school). For every month
its counseling touches, the monthly report's 咨询与活动 sheet is compared with
the records read back through other commands: the sessions listed by
`counseling sessions`, the bookings the agenda shows attended, the group's
meetings and attendance from `counseling group show`, and the 汇总 sheet's
crises.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import pytest

from mhtool.domain.periods import month_of
from tests.conftest import Cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("counseling-demo")
    folder, xdg = base / "demo", base / "xdg"
    Cli(env={"XDG_DATA_HOME": str(xdg)}).ok("demo", "--dir", folder, "--students", "240", "--seed", "11")

    def cli(user: str) -> Cli:
        return Cli(env={"MHTOOL_STORE": str(folder / "demo-store.db"), "MHTOOL_KEY_FILE": str(folder / f"{user}.key"), "MHTOOL_USER": user, "XDG_DATA_HOME": str(xdg)})

    return cli


def _json(cli: Cli, *args: str):
    return json.loads(cli.ok(*args).stdout)


def _row(report: dict, dimension: str, item: str) -> dict:
    return next(r for r in report["sheets"]["counseling"] if r["dimension"] == dimension and r["item"] == item)


def test_the_monthly_figures_equal_the_sessions_and_attendance_recorded(demo):
    counselor, clerk = demo("demo-counselor"), demo("demo-clerk")
    everything = _json(counselor, "counseling", "sessions", "--from", "2000-01-01", "--json")
    assert len(everything) >= 20, "the demo records a month of sessions"
    (group,) = _json(counselor, "counseling", "group", "list", "--json")
    shown = _json(counselor, "counseling", "group", "show", group["id"], "--json")
    assert shown["meetings"] == 4 and shown["members"] == 8
    months = sorted({month_of(date.fromisoformat(s["date"])).label for s in everything})
    for month in months:
        period = month_of(date.fromisoformat(f"{month}-01"))
        report = _json(counselor, "report", "monthly", "--month", month, "--json")
        sessions = [s for s in everything if period.start.isoformat() <= s["date"] <= period.end.isoformat()]
        total = _row(report, "个体咨询", "合计")
        # 咨询人次 and 咨询人数.
        assert (total["count"], total["people"]) == (len(sessions), len({s["student_no"] for s in sessions})), month
        # By counselor, as the sessions name them.
        for name, n in Counter(s["counselor_name"] for s in sessions).items():
            assert _row(report, "个体咨询·咨询师", name)["count"] == n
        # Every session attended a booking the agenda shows attended, or was a walk-in.
        attended = 0
        day = period.start
        while day <= period.end:
            attended += sum(1 for r in _json(counselor, "counseling", "agenda", "--day", day.isoformat(), "--json") if r["status"] == "attended")
            day += timedelta(days=1)
        assert attended + sum(1 for s in sessions if s.get("walk_in")) == len(sessions)
        # 团辅场次 and 人次: the group's meetings of the month and who was present.
        meetings = [m for m in shown["meeting_list"] if period.start.isoformat() <= m["date"] <= period.end.isoformat()]
        groups = _row(report, "团体辅导", "合计")
        assert (groups["events"], groups["count"]) == (len(meetings), sum(m["present"] for m in meetings)), month
        # 危机干预 is the 汇总 sheet's 危机事件.
        assert _row(report, "危机干预", "危机事件")["count"] == report["totals"]["summary"]["crises"]
        # The previous month's figures are that month's own (环比).
        before = month_of(period.start - timedelta(days=1))
        earlier = [s for s in everything if before.start.isoformat() <= s["date"] <= before.end.isoformat()]
        assert total["previous"] == len(earlier)
        # A clerk's report has the same counts, and no concern category.
        theirs = _json(clerk, "report", "monthly", "--month", month, "--json", "--purpose", "月报核对")
        assert _row(theirs, "个体咨询", "合计") == total and _row(theirs, "团体辅导", "合计") == groups
        assert not any(r["dimension"] == "个体咨询·问题类别" and r["count"] for r in theirs["sheets"]["counseling"])
        assert sum(r["count"] for r in report["sheets"]["counseling"] if r["dimension"] == "个体咨询·问题类别") == len(sessions)
