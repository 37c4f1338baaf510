"""The read functions report builders use: referrals_in and overdue_referrals."""

from __future__ import annotations

from datetime import date

from mhtool.referral.usecases import service
from tests.referral.conftest import COLLEGE, HOSPITAL, OTHER, OTHER_COLLEGE, STUDENT, days_ago, store_today

DIAGNOSIS_KEYS = {"diagnosis", "icd10", "advice", "advice_detail", "medication", "reason", "outcome", "history"}


def d(n: int) -> date:
    return date.fromisoformat(days_ago(n))


def make_late_visit(env) -> str:
    """STUDENT referred 20 days ago, seen only 5 days ago: overdue from day 8 (12 days ago) to the visit."""
    cli = env.cli
    ref = cli.ok("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "x", "--date", days_ago(20)).stdout.strip()
    cli.ok("referral", "update", ref, "--status", "attended", "--visit-date", days_ago(5))
    cli.ok("referral", "update", ref, "--status", "assessed", "--date", days_ago(4), "--diagnosis", "焦虑状态", "--advice", "outpatient")
    return ref


def test_referrals_in_finds_an_overdue_stretch_and_the_steps_of_a_period(ref_env):
    ref = make_late_visit(ref_env)
    with ref_env.open() as store:
        [row] = service.referrals_in(store, d(11), d(9))
        assert row["short_id"] == ref and row["student_no"] == STUDENT and row["college"] == COLLEGE and row["hospital"] == HOSPITAL
        assert row["status"] == "referred" and row["current_status"] == "assessed"
        assert row["overdue"] is True and row["alerts"] == ["not_attended"]
        assert row["opened"] is False and row["steps"] == [] and row["closed_on"] is None
        assert not DIAGNOSIS_KEYS & set(row)

        [row] = service.referrals_in(store, d(6), d(4))
        assert [(s["on"], s["from"], s["status"]) for s in row["steps"]] == [(days_ago(5), "referred", "attended"), (days_ago(4), "attended", "assessed")]
        assert row["status"] == "assessed" and row["visit_date"] == days_ago(5)
        assert row["alerts"] == ["not_attended"], "it was still overdue on the first day of the period"

        [row] = service.referrals_in(store, d(20), d(14))
        assert row["opened"] is True and row["overdue"] is False and row["steps"][0]["status"] == "referred"

        assert service.referrals_in(store, d(40), d(21)) == []
        assert service.referrals_in(store, d(3), store_today()) == []


def test_referrals_in_reports_closing(ref_env):
    ref = ref_env.cli.ok("referral", "add", OTHER, "--hospital", HOSPITAL, "--reason", "y", "--date", days_ago(3)).stdout.strip()
    ref_env.cli.ok("referral", "update", ref, "--status", "cancelled", "--outcome", "登记错误", "--date", days_ago(2))
    with ref_env.open() as store:
        [row] = service.referrals_in(store, d(7), store_today())
        assert row["status"] == "cancelled" and row["closed_on"] == days_ago(2) and row["college"] == OTHER_COLLEGE
        [before] = service.referrals_in(store, d(3), d(3))
        assert before["status"] == "referred" and before["closed_on"] is None


def test_overdue_referrals_now_and_as_of_an_earlier_day(ref_env):
    make_late_visit(ref_env)
    late = ref_env.cli.ok("referral", "add", OTHER, "--hospital", HOSPITAL, "--reason", "y", "--date", days_ago(9)).stdout.strip()
    with ref_env.open() as store:
        now_rows = service.overdue_referrals(store, store_today())
        assert [(r["short_id"], r["alerts"]) for r in now_rows] == [(late, ["not_attended"])]
        earlier = service.overdue_referrals(store, d(10))
        assert [(r["student_no"], r["status"], r["alerts"]) for r in earlier] == [(STUDENT, "referred", ["not_attended"])]
        assert not DIAGNOSIS_KEYS & set(earlier[0])


def test_reads_keep_to_the_staff_members_colleges(ref_env):
    make_late_visit(ref_env)
    ref_env.add_staff("liu", "counselor", OTHER_COLLEGE)
    with ref_env.open("liu", ref_env.tmp / "liu.key") as store:
        assert service.referrals_in(store, d(30), store_today()) == []
        assert service.overdue_referrals(store, d(10)) == []


def test_two_open_referrals_keep_their_own_tasks(ref_env):
    a = ref_env.cli.ok("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "x", "--date", days_ago(2)).stdout.strip()
    ref_env.cli.ok("referral", "hospitals", "add", "示例大学校医院")
    b = ref_env.cli.ok("referral", "add", STUDENT, "--hospital", "示例大学校医院", "--reason", "y", "--date", days_ago(1)).stdout.strip()
    ref_env.cli.ok("referral", "update", a, "--status", "attended", "--visit-date", days_ago(1))
    with ref_env.open() as store:
        sid = store.students.find(STUDENT)["id"]
        visits = store.tasks.for_student(sid)
        state = {t["referral_id"][:8]: t["done_on"] for t in visits if t["kind"] == "referral_visit"}
    assert state == {a: days_ago(1), b: None}
    assert ref_env.cli.ok("audit", "verify").stdout.startswith("ok ")


def test_guardian_flag_replays_for_a_past_period(ref_env):
    ref = ref_env.cli.ok("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "x", "--urgency", "emergency",
                         "--date", f"{days_ago(10)} 09:00").stdout.strip()
    ref_env.cli.ok("referral", "update", ref, "--guardian-informed", f"{days_ago(8)} 10:00", "--guardian-how", "电话", "--date", days_ago(8))
    ref_env.cli.ok("referral", "update", ref, "--status", "attended", "--visit-date", days_ago(7))
    with ref_env.open() as store:
        [first_day] = service.referrals_in(store, d(10), d(10))
        assert first_day["opened"] is True and first_day["alerts"] == [], "24 hours had not passed by the end of that day"
        [row] = service.referrals_in(store, d(9), d(9))
        assert row["alerts"] == ["guardian_not_informed"] and row["guardian_informed"] is False
        assert service.referrals_in(store, d(8), d(8))[0]["alerts"] == ["guardian_not_informed"], "informed at 10:00, flagged before"
        [after] = service.referrals_in(store, d(7), d(7))
        assert after["alerts"] == [] and after["guardian_informed"] is True
        assert service.overdue_referrals(store, d(9))[0]["alerts"] == ["guardian_not_informed"]
        assert service.overdue_referrals(store, store_today()) == []
