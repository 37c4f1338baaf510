"""Weekly and monthly reports read the store sparingly and still say exactly what the records say.

:func:`mhtool.report.usecases.gather.case_data` opens records without their
clinical part (the only clinical text these reports print is the reason of a
change of the period, opened on its own), and takes the watched students'
timelines from sealed copies while their entries are unchanged. The oracle
here reads every record whole, as reports did before; both must build the
same report, on the first run (copies made), the next (copies read) and after
the records change.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import date, datetime

import pytest

from mhtool.cases.domain import model
from mhtool.cases.usecases import service
from mhtool.domain.periods import months_back, resolve_period
from mhtool.errors import IntegrityError
from mhtool.report.domain import builders
from mhtool.report.usecases import gather
from mhtool.store.repos import TIMELINE_COPY_PREFIX, timeline_copy_key
from tests.report import report_data as rd

TODAY = date(2026, 12, 1)
MADE = datetime(2026, 12, 1, 9, 30)
PERIODS = [("weekly", {"week": "2026-W45"}), ("monthly", {"month": "2026-11"}), ("weekly", {"date_from": "2026-10-01", "date_to": "2026-11-15"})]


def _school(store) -> dict:
    """Five made-up students whose timelines hold what the report's moments look back on."""
    s1 = rd.add_student(store, "2026000001", "陈一", "文学院")
    rd.level(store, s1, "yellow", date(2025, 3, 1), reason="初次约谈确认")
    rd.entry(store, s1, "measure", date(2025, 3, 2), measure_kind="学业帮扶", description="导师每周辅导")
    rd.entry(store, s1, "measure", date(2025, 4, 1), measure_kind="资助", description="临时补助", end="2025-06-30")
    rd.follow_up(store, s1, date(2026, 10, 20))
    rd.level(store, s1, "orange", date(2026, 11, 4), reason="失眠加重，有消极言语")
    rd.entry(store, s1, "guardian_contact", date(2026, 11, 5), guardian="母亲", content="告知情况", consent="signed")
    s2 = rd.add_student(store, "2026000002", "林二", "文学院")
    rd.level(store, s2, "red", date(2026, 6, 1), reason="危机后确认")
    first = rd.entry(store, s2, "measure", date(2026, 6, 2), measure_kind="家长陪读", description="陪读一个月")
    fresh = store.students.get(s2["id"])
    service.record_effects(
        store, "test.correct", fresh, model.correction(fresh, store.entries.get(first), {"measure_kind": "家长陪读", "description": "陪读两个月"}), date(2026, 6, 3), corrects=first
    )
    rd.close(store, s2, date(2026, 11, 6))
    s3 = rd.add_student(store, "2026000003", "黄三", "理学院")
    rd.level(store, s3, "yellow", date(2026, 1, 10))
    rd.entry(store, s3, "measure", date(2026, 1, 11), measure_kind="朋辈支持", description="心理委员关注")
    rd.status(store, s3, "leave", date(2026, 11, 3), reason="因病休学", until="2027-03-01")
    s4 = rd.add_student(store, "2026000004", "吴四", "理学院")
    rd.interview(store, s4, date(2026, 9, 1))
    rd.interview(store, s4, date(2026, 11, 5))
    s5 = rd.add_student(store, "2026000005", "赵五", "文学院")
    rd.level(store, s5, "yellow", date(2024, 3, 1))
    rd.close(store, s5, date(2024, 6, 1))
    return {"s1": s1, "s2": s2, "s3": s3, "s4": s4, "s5": s5}


def _period(kind: str, kw: dict):
    return resolve_period(kind, week=kw.get("week"), month=kw.get("month"), date_from=kw.get("date_from"), date_to=kw.get("date_to"), today=TODAY)


def _oracle(store, data: builders.CaseData, period, monthly: bool) -> builders.CaseData:
    """``data`` with its students, watch episodes and timelines read whole, every record opened with both parts."""
    asof = min(period.end, TODAY)
    first = months_back(period, 6)[0].start if monthly else period.start
    whole = store.students.by_ids(data.students)
    students = {sid: whole[sid] for sid in data.students}
    watches = [w for w in store.watches.during(first, asof) if w["student_id"] in students]
    watched = list(dict.fromkeys(w["student_id"] for w in store.watches.during(first, asof)))
    entries: dict[str, list[dict]] = {}
    for e in [*store.entries.for_students(watched), *store.entries.recent_of_unwatched(first, period.start, period.end, asof)]:
        if e["student_id"] in students:
            entries.setdefault(e["student_id"], []).append(e)
    return dataclasses.replace(data, students=students, watches=watches, entries=entries)


def _built(data, period, monthly: bool) -> dict:
    build = builders.monthly_report if monthly else builders.weekly_report
    return build(data, period, generated_at=MADE, lang="zh").to_json()


def _copies_made(store_env) -> list[int]:
    """How many timelines each report copied, oldest first (from the audit log)."""
    log = json.loads(store_env.cli.ok("audit", "log", "--limit", "0", "--json").stdout)
    return [e["details"]["copied"] for e in sorted(log, key=lambda e: e["seq"]) if e["action"] == "cache.report-timelines"]


def _same(store, kind: str, kw: dict) -> dict:
    period = _period(kind, kw)
    monthly = kind == "monthly"
    data = gather.case_data(store, period, today=TODAY, monthly=monthly)
    made = _built(data, period, monthly)
    assert made == _built(_oracle(store, data, period, monthly), period, monthly)
    return made


@pytest.mark.parametrize("kind, kw", PERIODS)
def test_reports_read_sparingly_say_what_the_whole_records_say(store_env, kind, kw):
    with store_env.open() as store:
        people = _school(store)
        first = _same(store, kind, kw)
        assert first == _same(store, kind, kw), "the second report reads the copies"
        # The reasons of the period's changes are the clinical text the report prints.
        reasons = [r["reason"] for r in first["sheets"]["changes"]]
        assert "失眠加重，有消极言语" in reasons and "因病休学" in reasons
        rd.follow_up(store, people["s1"], date(2026, 11, 6), content="再次回访")
        rd.entry(store, people["s3"], "measure", date(2026, 11, 7), measure_kind="学业帮扶", description="休学期间联系")
        changed = _same(store, kind, kw)
    copied = _copies_made(store_env)
    assert len(copied) == 2 and copied[0] >= 3, "an unchanged store copies nothing"
    assert copied[1] == 2, "only the two timelines written since are opened again"
    assert changed != first


def test_a_clerk_counts_the_same_without_any_reason_and_shares_the_copies(store_env):
    store_env.add_staff("clerk1", "clerk")
    with store_env.open() as store:
        _school(store)
    with store_env.open("clerk1", store_env.tmp / "clerk1.key") as store:
        for kind, kw in PERIODS:
            made = _same(store, kind, kw)
            assert made["sheets"]["changes"] and all(r["reason"] is None for r in made["sheets"]["changes"])
    copied = _copies_made(store_env)
    # The copies hold administrative parts only, the same whoever read them: the admin's reports
    # read the clerk's copies and open only the reasons they print.
    with store_env.open() as store:
        for kind, kw in PERIODS:
            made = _same(store, kind, kw)
            assert made["sheets"]["changes"] and all(r["reason"] for r in made["sheets"]["changes"])
    assert _copies_made(store_env) == copied


def test_an_entry_moved_outside_mhtool_fails_even_when_its_timeline_was_copied(store_env):
    """A copy is used only while the ids, days and seal headers of the student's entries are those it was made from."""
    with store_env.open() as store:
        people = _school(store)
        period = _period(*PERIODS[0])
        gather.case_data(store, period, today=TODAY)
        moved = store.entries.for_student(people["s1"]["id"])[1]["id"]
    conn = sqlite3.connect(store_env.path)
    conn.execute("UPDATE entries SET on_date = '2025-03-03' WHERE id = ?", (moved,))
    conn.commit()
    conn.close()
    with store_env.open() as store, pytest.raises(IntegrityError, match=moved):
        gather.case_data(store, period, today=TODAY)


def test_a_copy_opens_only_for_its_own_student(store_env):
    with store_env.open() as store:
        people = _school(store)
        period = _period(*PERIODS[0])
        gather.case_data(store, period, today=TODAY)
    conn = sqlite3.connect(store_env.path)
    conn.execute(
        "UPDATE sealed_meta SET data = (SELECT data FROM sealed_meta WHERE key = ?) WHERE key = ?",
        (timeline_copy_key(people["s1"]["id"]), timeline_copy_key(people["s3"]["id"])),
    )
    conn.commit()
    conn.close()
    with store_env.open() as store, pytest.raises(IntegrityError, match="sealed_meta"):
        gather.case_data(store, period, today=TODAY)


def test_copies_go_with_an_erasure_and_when_nobody_needs_them(store_env):
    with store_env.open() as store:
        people = _school(store)
        gather.case_data(store, _period("weekly", {"week": "2024-W14"}), today=TODAY)
        assert timeline_copy_key(people["s5"]["id"]) in store.sealed_values.keys_under(TIMELINE_COPY_PREFIX)
        gather.case_data(store, _period(*PERIODS[0]), today=TODAY)
        kept = store.sealed_values.keys_under(TIMELINE_COPY_PREFIX)
    # Closed more than TIMELINE_COPY_DAYS ago: dropped by the next report.
    assert timeline_copy_key(people["s5"]["id"]) not in kept
    assert timeline_copy_key(people["s2"]["id"]) in kept
    store_env.cli.ok("erase", "2026000002", "--reason", "本人申请删除", "--yes")
    with store_env.open() as store:
        assert timeline_copy_key(people["s2"]["id"]) not in store.sealed_values.keys_under(TIMELINE_COPY_PREFIX)
        assert timeline_copy_key(people["s1"]["id"]) in store.sealed_values.keys_under(TIMELINE_COPY_PREFIX)
    # Copies made, replaced and dropped are record versions like any other: the chain accounts for each.
    store_env.cli.ok("audit", "verify", "--deep")
