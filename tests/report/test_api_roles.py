"""``center.reports`` from Python: refusals as on the command line, and a report that fails leaves nothing behind."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest

from mhtool.app import Center, credential_from_key_file
from mhtool.errors import MhtoolError, PermissionDenied, UsageError
from tests.report import report_data as rd

WEEK = "2026-W41"


@pytest.fixture
def school(store_env):
    """A watched student and a crisis in 文学院, a screened student in 理学院, one census batch.

    Each has a look-alike (same college, gender, grade and level), so that a
    redacted copy of every report can be made k-anonymous.
    """
    with store_env.open() as store:
        wen = rd.add_student(store, "2024000101", "张三丰", "文学院")
        li = rd.add_student(store, "2024000203", "李四", "理学院")
        rd.level(store, wen, "yellow", date(2026, 10, 6))
        twin = rd.add_student(store, "2024000102", "张三", "文学院")
        rd.level(store, twin, "yellow", date(2026, 10, 6))
        rd.level(store, twin, "red", date(2026, 10, 7))
        li2 = rd.add_student(store, "2024000204", "李五", "理学院")
        batch = rd.add_batch(
            store, "2026秋季UPI", date(2026, 10, 6),
            [{"student": li, "band": "A", "proposed_level": "orange"}, {"student": li2, "band": "A", "proposed_level": "orange"}],
        )  # fmt: skip
    crisis = store_env.cli.ok(
        "cases", "crisis", "2024000101", "--what", "情绪失控", "--happened-at", "2026-10-07 22:40", "--level", "red", "--reason", "危机事件",
    ).stdout.split()[0]
    return store_env, batch, crisis


def _signed_in(env, name: str, role: str, *colleges: str) -> Center:
    env.add_staff(name, role, *colleges)
    return Center.open(env.path, credential_from_key_file(env.tmp / f"{name}.key"), name)


def _admin(env) -> Center:
    return Center.open(env.path, credential_from_key_file(env.admin_key), "admin")


def _audit(env) -> list[dict]:
    """The audit log, without the entries that reading it adds."""
    return [e for e in json.loads(env.cli.ok("audit", "log", "--limit", "0", "--json").stdout) if e["action"] != "audit.log"]


def _reports_audited(env) -> list[dict]:
    return [e for e in _audit(env) if e["action"].startswith("report.")]


REPORTS = {
    "weekly": lambda center, batch, crisis, out, **kw: center.reports.weekly(week=WEEK, out=out, **kw),
    "monthly": lambda center, batch, crisis, out, **kw: center.reports.monthly(month="2026-10", out=out, **kw),
    "census": lambda center, batch, crisis, out, **kw: center.reports.census(batch, out=out, **kw),
    "crisis": lambda center, batch, crisis, out, **kw: center.reports.crisis(crisis, out=out, **kw),
}


@pytest.mark.parametrize("kind", list(REPORTS))
def test_an_auditor_may_not_produce_reports(school, tmp_path, kind):
    env, batch, crisis = school
    before = _reports_audited(env)
    with _signed_in(env, "shen", "auditor") as auditor:
        with pytest.raises(PermissionDenied):
            REPORTS[kind](auditor, batch, crisis, tmp_path / "r.xlsx")
    assert not (tmp_path / "r.xlsx").exists()
    assert _reports_audited(env) == before


@pytest.mark.parametrize("kind", ["weekly", "monthly", "census"])
def test_a_clerk_limited_to_one_college_may_not_report_another(school, tmp_path, kind):
    env, batch, crisis = school
    before = _reports_audited(env)
    with _signed_in(env, "wen", "clerk", "文学院") as clerk:
        with pytest.raises(PermissionDenied, match="limited to 文学院"):
            REPORTS[kind](clerk, batch, crisis, tmp_path / "r.xlsx", college="理学院", purpose="学院例会")
        assert REPORTS[kind](clerk, batch, crisis, tmp_path / "own.xlsx", college="文学院", purpose="学院例会").path.exists()
    assert not (tmp_path / "r.xlsx").exists()
    assert [e["details"].get("college") for e in _reports_audited(env)[len(before):]] == ["文学院"]


def test_a_clerk_may_not_produce_a_crisis_report(school, tmp_path):
    env, batch, crisis = school
    with _signed_in(env, "wen", "clerk") as clerk:
        with pytest.raises(PermissionDenied, match="clinical"):
            clerk.reports.crisis(crisis, out=tmp_path / "c.xlsx", purpose="危机处置")
    assert not (tmp_path / "c.xlsx").exists()


def test_a_counselor_may_not_report_a_crisis_of_another_college(school, tmp_path):
    env, batch, crisis = school
    before = _reports_audited(env)
    with _signed_in(env, "li", "counselor", "理学院") as counselor:
        with pytest.raises(PermissionDenied, match="limited to 理学院"):
            counselor.reports.crisis(crisis, out=tmp_path / "c.xlsx")
    assert not (tmp_path / "c.xlsx").exists()
    assert _reports_audited(env) == before


@pytest.mark.parametrize("kind", ["weekly", "monthly", "census"])
def test_a_report_without_the_required_purpose_is_refused_and_leaves_no_trace(school, tmp_path, kind):
    env, batch, crisis = school
    clerk = _signed_in(env, "wen", "clerk")
    before = _audit(env)
    with clerk:
        for out in (tmp_path / "r.xlsx", None):
            with pytest.raises(UsageError, match="--purpose"):
                REPORTS[kind](clerk, batch, crisis, out)
        assert not (tmp_path / "r.xlsx").exists()
        assert _audit(env) == before, "a refused report writes no audit entry"
        redacted = REPORTS[kind](clerk, batch, crisis, tmp_path / "r.xlsx", redact=True)
    assert redacted.path.exists()
    assert _reports_audited(env)[-1]["details"]["redacted"] is True


def test_data_only_report_is_audited_before_it_is_returned(school, tmp_path):
    env, batch, crisis = school
    with _signed_in(env, "wen", "clerk") as clerk:
        made = clerk.reports.weekly(week=WEEK, purpose="学院例会")
    assert made.path is None and made.report.to_json()["sheets"]["roster"]
    (entry,) = _reports_audited(env)
    assert entry["details"] == {"period": WEEK, "purpose": "学院例会"} and entry["targets"]
    assert list(tmp_path.glob("*.xlsx")) == []


# -- a report that cannot be written ------------------------------------------------------------


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("kind", list(REPORTS))
def test_a_locked_store_leaves_no_report_file(school, tmp_path, kind):
    env, batch, crisis = school
    out = tmp_path / "out"
    out.mkdir()
    before = _reports_audited(env)
    other = sqlite3.connect(env.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with _admin(env) as admin:
            admin.store.conn.execute("PRAGMA busy_timeout = 50")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                REPORTS[kind](admin, batch, crisis, out)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _leftovers(out) == []
    assert _reports_audited(env) == before


def test_a_workbook_writer_that_fails_leaves_no_file(school, tmp_path, monkeypatch):
    from mhtool.io import xlsx

    env, batch, crisis = school

    def half_written(report, path):
        path.write_bytes(b"PK\x03\x04 half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xlsx, "write_report", half_written)
    before = _reports_audited(env)
    with _admin(env) as admin:
        with pytest.raises(MhtoolError, match="No space left"):
            admin.reports.weekly(week=WEEK, out=tmp_path / "w.xlsx")
        out = tmp_path / "split"
        out.mkdir()
        with pytest.raises(MhtoolError, match="No space left"):
            admin.reports.census(batch, split_by="college", out=out)
    assert not (tmp_path / "w.xlsx").exists() and _leftovers(out) == []
    assert _reports_audited(env) == before
