"""The --purpose policy for identifiable exports, governance settings, and graduating a whole class."""

from __future__ import annotations

from datetime import date

import pytest

from mhtool.errors import InvalidInput, PermissionDenied, UsageError
from mhtool.cases.usecases.roster import graduate_class
from mhtool.governance.usecases.purpose import require_purpose, set_policy
from tests.governance import kit


def open_as(env, name):
    return env.open(name, env.tmp / f"{name}.key")


@pytest.fixture
def staffed(store_env):
    store_env.add_staff("文员甲", "clerk")
    store_env.add_staff("咨询师甲", "counselor")
    return store_env


def test_clerk_must_give_a_purpose_by_default(staffed):
    with open_as(staffed, "文员甲") as store:
        with pytest.raises(UsageError) as err:
            require_purpose(store, None, what="a dossier export")
        assert "--purpose" in err.value.message and "a dossier export" in err.value.message
        with pytest.raises(UsageError):
            require_purpose(store, "   ", what="a report")
        assert require_purpose(store, "  学院 例会\n交辅导员 ", what="a report") == {"purpose": "学院 例会 交辅导员"}


def test_counselor_and_admin_need_none_by_default_but_a_given_purpose_is_kept(staffed):
    for name in ("咨询师甲", None):
        with (open_as(staffed, name) if name else staffed.open()) as store:
            assert require_purpose(store, None, what="a dossier export") == {}
            assert require_purpose(store, "转介医院需要", what="a referral export") == {"purpose": "转介医院需要"}


def test_redacted_exports_never_need_a_purpose(staffed):
    with open_as(staffed, "文员甲") as store:
        assert require_purpose(store, None, what="a redacted report", identifiable=False) == {}
        assert require_purpose(store, "月报", what="a redacted report", identifiable=False) == {"purpose": "月报"}


def test_the_store_policy_decides_which_roles_must_give_one(staffed):
    with staffed.open() as store:
        assert set_policy(store, purpose_required_roles=["counselor", "clerk", "counselor"])["purpose_required_roles"] == ["counselor", "clerk"]
    with open_as(staffed, "咨询师甲") as store:
        with pytest.raises(UsageError):
            require_purpose(store, None, what="a dossier export")
    with staffed.open() as store:
        set_policy(store, purpose_required_roles=[])
    with open_as(staffed, "文员甲") as store:
        assert require_purpose(store, None, what="a dossier export") == {}
    actions = [e for e in kit.audit(staffed) if e["action"] == "governance.policy"]
    assert [e["details"]["changes"] for e in actions] == [
        {"purpose_required_roles": ["counselor", "clerk"]},
        {"purpose_required_roles": []},
    ]


def test_a_damaged_policy_setting_keeps_the_default(staffed):
    from mhtool.governance.usecases import purpose

    with staffed.open() as store:
        with store.write("test.settings") as txn:
            store.sealed_values.put(txn, "settings", {"purpose_required_roles": "nobody"})
    with open_as(staffed, "文员甲") as store:
        assert purpose.purpose_required(store)


def test_policy_values_are_checked_and_only_admins_change_them(staffed):
    with staffed.open() as store:
        with pytest.raises(UsageError):
            set_policy(store, purpose_required_roles=["janitor"])
        with pytest.raises(InvalidInput):
            set_policy(store, retention_years=0)
        with pytest.raises(InvalidInput):
            set_policy(store, research_min_cell=1)
        with pytest.raises(UsageError):
            set_policy(store, colour="red")
        assert set_policy(store, retention_years=7, research_min_cell=10) == {"retention_years": 7, "research_min_cell": 10}
    with open_as(staffed, "咨询师甲") as store:
        with pytest.raises(PermissionDenied):
            set_policy(store, retention_years=1)
        assert store.setting("retention_years") == 7


def test_overlong_purpose_is_refused(staffed):
    with open_as(staffed, "文员甲") as store:
        with pytest.raises(UsageError):
            require_purpose(store, "很" * 501, what="a report")


# -- graduating a class -------------------------------------------------------------------------


def cohort(env):
    students = kit.school([("文学院", "男", "2022级", 4), ("法学院", "女", "2022", 2), ("文学院", "女", "2023级", 2)])
    kit.add_roster(env, students)
    return students


def student(env, no):
    with env.open() as store:
        s = store.students.find(no)
        return s, store.entries.for_student(s["id"])


def test_graduate_class_marks_enrolled_and_returned_students_of_the_grade(store_env):
    students = cohort(store_env)
    store_env.cli.ok("cases", "status", students[1]["student_no"], "leave", "--from", "2025-03-01", "--reason", "病休")
    store_env.cli.ok("cases", "status", students[2]["student_no"], "leave", "--from", "2025-03-01", "--reason", "病休")
    store_env.cli.ok("cases", "status", students[2]["student_no"], "return", "--on", "2025-09-01", "--without-certificate", "--reason", "复学")
    store_env.cli.ok("cases", "status", students[3]["student_no"], "withdraw", "--on", "2025-05-01", "--reason", "退学")
    with store_env.open() as store:
        result = graduate_class(store, 2022, on=date(2026, 6, 30))
    assert result == {"class_of": 2022, "on": "2026-06-30", "graduated": 4, "skipped": {"leave": 1, "withdrawn": 1}, "out_of_scope": 0, "dry_run": False}
    for s in students[:6]:
        record, entries = student(store_env, s["student_no"])
        expected = {0: "graduated", 1: "leave", 2: "graduated", 3: "withdrawn"}.get(students.index(s), "graduated")
        assert record["status"] == expected
        if expected == "graduated":
            change = [e for e in entries if e["kind"] == "status_change" and e["fields"]["to"] == "graduated"]
            assert len(change) == 1 and change[0]["fields"]["on"] == "2026-06-30" and change[0]["fields"]["reason"] == "2022级毕业"
            assert change[0]["author"] == "admin"
    for s in students[6:]:
        assert student(store_env, s["student_no"])[0]["status"] == "enrolled"
    entry = [e for e in kit.audit(store_env) if e["action"] == "cases.graduate"][-1]
    assert entry["details"] == {"class_of": 2022, "on": "2026-06-30", "count": 4}


def test_graduation_closes_an_open_watch(store_env):
    students = cohort(store_env)
    no = students[0]["student_no"]
    store_env.cli.ok("cases", "level", no, "yellow", "--reason", "约谈确认")
    with store_env.open() as store:
        graduate_class(store, 2022)
        s = store.students.find(no)
        assert s["level"] == "none"
        assert store.watches.open_for(s["id"]) == []
        assert store.tasks.open(s["id"]) == []


def test_dry_run_and_nothing_to_do_write_nothing(store_env):
    cohort(store_env)
    before = len(kit.audit(store_env))
    with store_env.open() as store:
        assert graduate_class(store, 2022, dry_run=True)["graduated"] == 6
        assert graduate_class(store, 2019)["graduated"] == 0
        assert all(s["status"] == "enrolled" for s in store.students.all())
    assert len(kit.audit(store_env)) == before + 1  # only the audit log read itself


def test_scoped_counselor_graduates_only_their_colleges_and_clerk_may_not(store_env):
    cohort(store_env)
    store_env.add_staff("咨询师乙", "counselor", "文学院")
    store_env.add_staff("文员乙", "clerk")
    with open_as(store_env, "咨询师乙") as store:
        result = graduate_class(store, 2022)
    assert result["graduated"] == 4 and result["out_of_scope"] == 2
    with open_as(store_env, "文员乙") as store:
        with pytest.raises(PermissionDenied):
            graduate_class(store, 2022)


def test_class_of_must_be_a_year(store_env):
    with store_env.open() as store:
        for bad in (22, 3000, True):
            with pytest.raises(UsageError):
                graduate_class(store, bad)
