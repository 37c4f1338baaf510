"""`mhtool retention plan|apply` and `mhtool erase`: placeholders, deleted records, an intact audit chain, denials."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from mhtool.domain import dates
from mhtool.cases.usecases.roster import graduate_class
from mhtool.governance.usecases import retention
from mhtool.store.repos import ERASED_INDEX_PREFIX, STUDENT_TABLES
from tests.governance import kit

HOSPITAL = "示例市精神卫生中心"


def today() -> date:
    return dates.today("Asia/Shanghai")


def years_ago(n: float) -> date:
    return date.fromordinal(today().toordinal() - int(n * 365.25))


# 2016级 graduated 6 years ago (due), 2020级 graduated 2 years ago (kept),
# one 2018级 student withdrew 7 years ago (due), 2024级 still enrolled (kept).
LAYOUT = [("文学院", "男", "2016级", 3), ("法学院", "女", "2020级", 2), ("医学院", "男", "2018级", 1), ("文学院", "女", "2024级", 2)]


@pytest.fixture
def school():
    return kit.school(LAYOUT)


@pytest.fixture
def aged(store_env, school, tmp_path):
    kit.add_roster(store_env, school)
    kit.import_screenings(store_env, school, tmp_path, phq=False)
    store_env.cli.ok("referral", "hospitals", "add", HOSPITAL, "--department", "心理门诊")
    for s in school:
        no = s["student_no"]
        store_env.cli.ok("cases", "note", no, "--text", f"{s['name']} 与室友关系紧张", "--date", years_ago(8).isoformat())
    first = school[0]["student_no"]
    store_env.cli.ok("cases", "level", first, "yellow", "--reason", "约谈确认", "--date", years_ago(7).isoformat())
    store_env.cli.ok("referral", "add", first, "--hospital", HOSPITAL, "--reason", "持续失眠", "--date", years_ago(7).isoformat())
    store_env.cli.ok("cases", "status", school[5]["student_no"], "withdraw", "--on", years_ago(7).isoformat(), "--reason", "个人原因退学")
    with store_env.open() as store:
        graduate_class(store, 2016, on=years_ago(6))
        graduate_class(store, 2020, on=years_ago(2))
    return store_env


def plan(env, *args, cli=None):
    return json.loads((cli or env.cli).ok("retention", "plan", "--json", *args).stdout)


def numbers(rows):
    return sorted(r["student_no"] for r in rows)


def test_plan_lists_students_past_the_retention_period(aged, school):
    rows = plan(aged)
    assert numbers(rows) == sorted([s["student_no"] for s in school[:3]] + [school[5]["student_no"]])
    withdrawn = next(r for r in rows if r["student_no"] == school[5]["student_no"])
    assert withdrawn["status"] == "withdrawn" and withdrawn["left_on"] == years_ago(7).isoformat()
    assert withdrawn["retain_until"] == retention.add_years(years_ago(7), 5).isoformat()
    assert withdrawn["name"] == school[5]["name"]


def test_graduated_before_narrows_the_plan(aged, school):
    rows = plan(aged, "--graduated-before", years_ago(6.5).isoformat())
    assert numbers(rows) == [school[5]["student_no"]]
    # A later day never brings in students still inside the retention period.
    assert numbers(plan(aged, "--graduated-before", today().isoformat())) == numbers(plan(aged))


def test_the_store_setting_sets_the_period(aged, school):
    from mhtool.governance.usecases.purpose import set_policy

    with aged.open() as store:
        set_policy(store, retention_years=10)
    assert plan(aged) == []
    with aged.open() as store:
        set_policy(store, retention_years=1)
    assert len(plan(aged)) == 6


def test_left_students_without_a_date_are_reported_not_planned(aged, school):
    from mhtool.cases.usecases.service import save_student

    no = school[7]["student_no"]
    with aged.open() as store, store.write("test.status") as txn:
        save_student(txn, {**store.students.find(no), "status": "graduated"})
    result = aged.cli.ok("retention", "plan", "--json")
    assert no not in numbers(json.loads(result.stdout))
    assert "no recorded date of leaving" in result.stderr


def test_apply_erases_leaves_placeholders_and_keeps_the_audit_chain(aged, school):
    due = plan(aged)
    with aged.open() as store:
        ids = {r["student_no"]: store.students.find(r["student_no"])["id"] for r in due}
        kept = {s["student_no"]: store.students.find(s["student_no"])["id"] for s in school if s["student_no"] not in ids}
        kept_counts = {r.table: len(r(store).for_students(kept.values())) for r in STUDENT_TABLES}
    refused = aged.cli("retention", "apply")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    result = json.loads(aged.cli.ok("retention", "apply", "--yes", "--json").stdout)
    assert result["erased"] == 4 and result["scrub"]["complete"]
    assert all(r["pseudonym"].startswith("P-") for r in result["students"])
    assert not any(r["student_no"] in json.dumps(result, ensure_ascii=False) for r in due)
    with aged.open() as store:
        for no, sid in ids.items():
            assert store.students.find(no) is None
            for repository in STUDENT_TABLES:
                assert repository(store).for_student(sid) == []
            holder = store.students.get(sid)
            assert holder["status"] == "erased" and holder["name"] == "" and holder["guardians"] == []
            mark = holder["erased"]
            assert mark["by"] == "admin" and mark["basis"] == "retention" and abs((datetime.fromisoformat(mark["at"]) - datetime.now(timezone.utc)).total_seconds()) < 600
            assert mark["left_on"] in (years_ago(6).isoformat(), years_ago(7).isoformat())
            assert mark["pseudonym"] == holder["student_no"]
            assert "retention" in mark["reason"]
            assert no not in json.dumps(holder, ensure_ascii=False, default=str)
        first = store.students.get(ids[school[0]["student_no"]])["erased"]["records"]
        assert first["responses"] == 1 and first["entries"] >= 4 and first["referrals"] == 1 and first["watches"] == 1
        assert {r.table: len(r(store).for_students(kept.values())) for r in STUDENT_TABLES} == kept_counts
        for no in kept:
            assert store.students.find(no)["name"]
    verify = json.loads(aged.cli.ok("audit", "verify", "--json").stdout)
    assert verify["ok"]
    erasures = [e for e in kit.audit(aged) if e["action"] == "retention.erase"]
    assert sorted(t for e in erasures for t in e["targets"]) == sorted(f"students/{sid}" for sid in ids.values())
    assert all(e["staff"] == "admin" and e["details"]["basis"] == "retention" for e in erasures)
    assert plan(aged) == []


def test_apply_with_nothing_due_only_scrubs(store_env):
    result = json.loads(store_env.cli.ok("retention", "apply", "--yes", "--json").stdout)
    assert result["erased"] == 0 and result["scrub"]["complete"]


def test_erase_on_request(aged, school):
    no = school[6]["student_no"]  # enrolled, not due
    with aged.open() as store:
        sid = store.students.find(no)["id"]
    missing = aged.cli("erase", no, "--yes")
    assert missing.exit_code == 2 and "--reason" in missing.stderr
    unconfirmed = aged.cli("erase", no, "--reason", "本人书面申请")
    assert unconfirmed.exit_code == 2 and "--yes" in unconfirmed.stderr
    result = json.loads(aged.cli.ok("erase", no, "--reason", "本人书面申请", "--yes", "--json").stdout)
    assert result["id"] == sid and result["records"]["responses"] == 1 and result["scrub"]["complete"]
    # The dossier says it was erased, when and at whose request, and shows nothing of the student.
    shown = aged.cli.ok("cases", "show", no)
    assert "本人书面申请" in shown.stdout + shown.stderr
    assert school[6]["name"] not in shown.stdout + shown.stderr
    with aged.open() as store:
        mark = store.students.get(sid)["erased"]
        assert mark == {**mark, "basis": "request", "reason": "本人书面申请", "by": "admin", "left_on": None, "left_status": "enrolled"}
    entry = [e for e in kit.audit(aged) if e["action"] == "erase"][-1]
    assert entry["targets"] == [f"students/{sid}"] and entry["details"]["reason"] == "本人书面申请"
    assert json.loads(aged.cli.ok("audit", "verify", "--json").stdout)["ok"]
    again = aged.cli("erase", no, "--reason", "再次", "--yes")
    assert again.exit_code == 1 and "no student" in again.stderr


def test_the_placeholder_pseudonym_is_the_stable_research_pseudonym(aged, school, tmp_path):
    no = school[6]["student_no"]
    aged.cli.ok("export", "research", "--out", tmp_path / "r.csv", "--purpose", "纵向研究", "--stable-pseudonyms", "--min-cell", "5")
    with aged.open() as store:
        from mhtool.governance.usecases.exports import stable_key
        from mhtool.governance.domain.research import pseudonym

        with store.write("test.key") as txn:
            expected = pseudonym(stable_key(txn), no)
    result = json.loads(aged.cli.ok("erase", no, "--reason", "本人申请", "--yes", "--json").stdout)
    assert result["pseudonym"] == expected


def test_a_later_import_of_the_same_number_opens_a_new_dossier(aged, school):
    no = school[6]["student_no"]
    with aged.open() as store:
        old_id = store.students.find(no)["id"]
    aged.cli.ok("erase", no, "--reason", "本人申请", "--yes")
    kit.add_roster(aged, [school[6]])
    with aged.open() as store:
        fresh = store.students.find(no)
        assert fresh["id"] != old_id and store.entries.for_student(fresh["id"]) == []
        assert store.students.get(old_id)["status"] == "erased"


def test_key_rotation_keeps_placeholders_unfindable(aged, school):
    no = school[6]["student_no"]
    pseudonym = json.loads(aged.cli.ok("erase", no, "--reason", "本人申请", "--yes", "--json").stdout)["pseudonym"]
    aged.cli.ok("staff", "rotate-key")
    with aged.open() as store:
        assert store.students.find(no) is None and store.students.find(pseudonym) is None
        holders = [s for s in store.students.all() if s.get("erased")]
        assert len(holders) == 1 and holders[0]["student_no_bi"].startswith(ERASED_INDEX_PREFIX)
    assert json.loads(aged.cli.ok("audit", "verify", "--json").stdout)["ok"]


def test_lists_and_reports_still_work_after_erasure(aged, school, tmp_path):
    aged.cli.ok("retention", "apply", "--yes")
    listed = json.loads(aged.cli.ok("cases", "list", "--all", "--json").stdout)
    assert {r["student_no"] for r in listed} >= {s["student_no"] for s in school[6:8]}
    aged.cli.ok("cases", "find", "P-")
    aged.cli.ok("cases", "tasks")
    aged.cli.ok("report", "monthly", "--out", tmp_path, "--from", years_ago(8).isoformat(), "--to", today().isoformat())


@pytest.mark.parametrize("role", ["clerk", "counselor", "auditor"])
def test_only_admins_plan_apply_or_erase(aged, school, role):
    other = aged.add_staff(f"{role}甲", role)
    no = school[6]["student_no"]
    for args in (("retention", "plan"), ("retention", "apply", "--yes"), ("erase", no, "--reason", "申请", "--yes")):
        result = other(*args)
        assert result.exit_code == 5, (args, result.stderr)
    with aged.open() as store:
        assert store.students.find(no)["name"] == school[6]["name"]
        assert not [s for s in store.students.all() if s.get("erased")]
    denied = [e for e in kit.audit(aged) if e["action"] == "denied"]
    assert {e["details"]["attempted"] for e in denied[-3:]} == {"retention.plan", "retention.apply", "erase"}


def test_left_on_takes_the_latest_departure_and_its_on_field():
    entries = [
        {"kind": "status_change", "date": "2020-01-05", "fields": {"from": "enrolled", "to": "leave"}},
        {"kind": "status_change", "date": "2021-07-10", "fields": {"from": "enrolled", "to": "graduated", "on": "2021-06-30"}},
        {"kind": "note", "date": "2022-01-01", "fields": {"text": "x"}},
    ]
    assert retention.left_on(entries) == ("graduated", date(2021, 6, 30))
    assert retention.left_on(entries[:1]) == (None, None)
    assert retention.add_years(date(2020, 2, 29), 5) == date(2025, 2, 28)
