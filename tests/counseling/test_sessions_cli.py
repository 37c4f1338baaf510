"""`mhtool counseling session/sessions/conference`: session records, series, high risk, no dossier, conferences."""

from __future__ import annotations

from tests.cases.casekit import show_json
from tests.counseling.kit import A, B, C, CANARIES, as_json, audit, day, desk, roster_file  # noqa: F401  (desk is a fixture)


def _session(cli, student: str, *extra: str):
    return cli("counseling", "session", student, *extra)


def test_a_session_attends_the_booking_and_numbers_the_series_until_it_is_closed(desk):
    booking = as_json(desk.clerk.ok("counseling", "book", A, "--at", f"{day(0)} 09:00", "--counselor", "zhang", "--minutes", "60", "--json"))
    first = as_json(desk.counselor.ok("counseling", "session", A, "--concern", "情绪困扰", "--risk", "低", "--concern-text", CANARIES[0], "--json"))
    assert (first["number"], first["appointment_id"], first["closes"], first["task_id"]) == (1, booking["id"], False, None)
    # The booking is attended and its reminder done; the session took the booking's time and length.
    (row,) = as_json(desk.clerk.ok("counseling", "agenda", "--json"))
    assert row["status"] == "attended" and row["session_entry"] == first["entry_id"]
    assert not [t for t in as_json(desk.counselor.ok("cases", "tasks", "--json")) if t["kind"] == "appointment"]
    (session,) = as_json(desk.counselor.ok("counseling", "sessions", A, "--json"))
    assert (session["at"], session["minutes"], session["mode"], session["concern"], session["concern_text"]) == ("09:00", 60, "in_person", "emotion", CANARIES[0])
    second = as_json(desk.counselor.ok("counseling", "session", A, "--concern", "emotion", "--risk", "low", "--mode", "网络", "--walk-in", "--json"))
    assert second["number"] == 2 and second["appointment_id"] is None
    closing = as_json(
        desk.counselor.ok("counseling", "session", A, "--concern", "emotion", "--risk", "low", "--close", "部分改善", "--outcome-text", CANARIES[3], "--json")
    )
    assert closing["number"] == 3 and closing["closes"]
    # A new series starts at 1.
    assert as_json(desk.counselor.ok("counseling", "session", A, "--concern", "学业压力", "--risk", "low", "--json"))["number"] == 1
    timeline = [i for i in show_json(desk.counselor, A)["timeline"] if i["kind"] == "session"]
    assert [i["fields"]["number"] for i in timeline] == [1, 2, 3, 1]
    assert timeline[2]["fields"]["outcome"] == "improved" and timeline[2]["fields"]["closes"] is True
    text = desk.counselor.ok("cases", "show", A).stdout
    assert "第3次" in text or "session 3" in text
    # Audited without content: the entry id and the number only.
    entry = [e for e in audit(desk.env) if e["action"] == "counseling.session"][0]
    assert set(entry["details"]) >= {"entry", "number"} and CANARIES[0] not in str(entry)


def test_a_high_risk_session_opens_a_same_day_task_proposing_the_watch_list_and_leaves_the_level(desk):
    before = show_json(desk.counselor, B)["student"]["level"]
    result = desk.counselor.ok("counseling", "session", B, "--concern", "危机与安全", "--risk", "高", "--concern-text", CANARIES[0], "--date", day(-1))
    assert "high risk" in result.stderr
    (task,) = [t for t in as_json(desk.counselor.ok("cases", "tasks", "--json")) if t["student_no"] == B]
    assert (task["kind"], task["due"], task["proposed_level"]) == ("interview", day(-1), "red")
    # The watch level is the counselor's decision: unchanged.
    assert show_json(desk.counselor, B)["student"]["level"] == before == "none"
    # The task reads as any proposal: confirming a level in an interview completes it.
    desk.counselor.ok("cases", "interview", B, "--findings", "面谈评估", "--confirm", "orange")
    assert not [t for t in as_json(desk.counselor.ok("cases", "tasks", "--json")) if t["student_no"] == B and t["kind"] == "interview"]
    assert show_json(desk.counselor, B)["student"]["level"] == "orange"


def test_bad_session_values_are_refused_naming_the_flag_and_nothing_is_written(desk):
    before = desk.dump()
    cases = [
        (("--concern", "情绪困扰", "--risk", "低", "--minutes", "0"), "--minutes"),
        (("--concern", "情绪困扰", "--risk", "低", "--minutes", "600"), "--minutes"),
        (("--concern", "心情不好", "--risk", "低"), "--concern"),
        (("--concern", "情绪困扰", "--risk", "很高"), "--risk"),
        (("--risk", "低"), "--concern"),
        (("--concern", "情绪困扰", "--risk", "低", "--at", "23:30"), "--at"),
        (("--concern", "情绪困扰", "--risk", "低", "--date", day(2)), "--date"),
        (("--concern", "情绪困扰", "--risk", "低", "--outcome-text", "好转"), "--close"),
    ]
    for args, flag in cases:
        result = _session(desk.counselor, A, *args)
        assert result.exit_code == 2, (args, result.exit_code, result.stderr)
        assert flag in result.stderr, (args, result.stderr)
    assert desk.dump() == before
    # Clerks book but do not record sessions.
    clerk = _session(desk.clerk, A, "--concern", "情绪困扰", "--risk", "低")
    assert clerk.exit_code == 5 and desk.dump() != before  # the refusal itself is audited
    assert "denied" in [e["action"] for e in audit(desk.env)]


def test_a_student_without_a_dossier_is_refused_or_created_from_the_roster(desk):
    new = "2026030009"
    before = desk.dump()
    refused = _session(desk.counselor, new, "--concern", "环境适应", "--risk", "低")
    assert refused.exit_code == 2 and "no dossier" in refused.stderr and "--create-from-roster" in refused.stderr
    assert desk.dump() == before
    roster = roster_file(desk.env.tmp / "学生名册.xlsx", [(new, "测试戊", "女", "理学院", "数学", "2026", "数学2601"), ("2026030010", "测试己", "男", "理学院", "数学", "2026", "数学2601")])
    elsewhere = roster_file(desk.env.tmp / "另一名册.xlsx", [("2026030010", "测试己", "男", "理学院", "数学", "2026", "数学2601")])
    missing = _session(desk.counselor, new, "--concern", "环境适应", "--risk", "低", "--create-from-roster", str(elsewhere))
    assert missing.exit_code == 3 and "另一名册.xlsx" in missing.stderr and new in missing.stderr
    assert desk.dump() == before
    made = as_json(_session(desk.counselor, new, "--concern", "环境适应", "--risk", "低", "--create-from-roster", str(roster), "--json"))
    assert made["dossier_created"] and made["number"] == 1
    shown = show_json(desk.counselor, new)
    assert (shown["student"]["name"], shown["student"]["college"], shown["student"]["grade"]) == ("测试戊", "理学院", "2026级")
    assert [i["kind"] for i in shown["timeline"]] == ["session"]
    # Only the one student was created, and one audit entry says so.
    assert desk.counselor("cases", "show", "2026030010").exit_code == 1
    (entry,) = [e for e in audit(desk.env) if e["action"] == "counseling.session"]
    assert entry["details"]["dossier_created"] is True


def test_a_scoped_clerk_cannot_create_a_dossier_of_another_college_from_the_roster(desk, store_env):
    scoped_counselor = store_env.add_staff("wu", "counselor", "文学院")
    new = "2026030011"
    roster = roster_file(desk.env.tmp / "名册.xlsx", [(new, "测试庚", "女", "理学院", "数学", "2026", "数学2601")])
    result = _session(scoped_counselor, new, "--concern", "环境适应", "--risk", "低", "--create-from-roster", str(roster))
    assert result.exit_code == 5
    assert desk.counselor("cases", "show", new).exit_code == 1


def test_a_conference_is_on_every_named_students_timeline_with_the_owners_tasks(desk):
    result = as_json(
        desk.counselor.ok(
            "counseling", "conference", A, C, "--kind", "案例研讨", "--participant", "张华,李明", "--participant", "王立",
            "--decision", CANARIES[2], "--notes", CANARIES[1], "--owner", "zhang", "--json",
        )
    )  # fmt: skip
    assert [s["student_no"] for s in result["students"]] == [A, C] and result["due"] == day(7)
    conference_ids = set()
    for no in (A, C):
        (item,) = [i for i in show_json(desk.counselor, no)["timeline"] if i["kind"] == "conference"]
        assert item["fields"]["decision"] == CANARIES[2] and item["fields"]["participants"] == ["张华", "李明", "王立"]
        conference_ids.add(item["fields"]["conference_id"])
        # The clerk sees that it took place, who took part and who follows up; never the decision.
        (seen,) = [i for i in show_json(desk.clerk, no)["timeline"] if i["kind"] == "conference"]
        assert seen["restricted"] and "decision" not in seen["fields"] and "notes" not in seen["fields"]
        assert seen["fields"]["owner"] == "zhang"
    assert conference_ids == {result["conference_id"]}
    tasks = [t for t in as_json(desk.counselor.ok("cases", "tasks", "--mine", "--json")) if t["kind"] == "conference_follow_up"]
    assert sorted(t["student_no"] for t in tasks) == [A, C] and {t["due"] for t in tasks} == {day(7)}
    assert not any(c in str(tasks) for c in CANARIES)
    missing = desk.counselor("counseling", "conference", A, "--kind", "督导")
    assert missing.exit_code == 2 and "--decision" in missing.stderr
