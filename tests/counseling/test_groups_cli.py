"""`mhtool counseling group …` and `activity …`: 团体辅导 with members and attendance, and 心理健康活动."""

from __future__ import annotations

from tests.counseling.kit import A, B, C, D, LIT, as_json, audit, day, desk  # noqa: F401  (desk is a fixture)

GROUP = "人际交往成长小组"


def test_a_group_with_members_and_the_attendance_of_each_meeting(desk):
    started = as_json(desk.counselor.ok("counseling", "group", "add", GROUP, "--leader", "zhang", "--meetings", "8", "--theme", "人际沟通", "--json"))
    assert started["leaders"] == ["zhang"] and started["planned_meetings"] == 8
    changed = as_json(desk.clerk.ok("counseling", "group", "members", GROUP, "--add", A, "--add", B, "--add", C, "--date", day(-14), "--json"))
    assert (changed["joined"], changed["members"]) == (3, 3)
    first = as_json(desk.clerk.ok("counseling", "group", "meeting", GROUP, "--date", day(-7), "--absent", B, "--topic", "相互认识", "--json"))
    assert (first["no"], first["present"], first["members"]) == (1, 2, 3)
    second = as_json(desk.clerk.ok("counseling", "group", "meeting", started["id"][:8], "--date", day(-1), "--present", A, "--json"))
    assert (second["no"], second["present"]) == (2, 1)
    # A meeting entered late takes its place: numbers follow the dates.
    between = as_json(desk.clerk.ok("counseling", "group", "meeting", GROUP, "--date", day(-3), "--json"))
    assert between["no"] == 2 and between["present"] == 3
    view = as_json(desk.clerk.ok("counseling", "group", "show", GROUP, "--json"))
    assert [(m["no"], m["date"], m["present"]) for m in view["meeting_list"]] == [(1, day(-7), 2), (2, day(-3), 3), (3, day(-1), 1)]
    assert sorted(m["student_no"] for m in view["member_list"]) == [A, B, C]
    (listed,) = as_json(desk.clerk.ok("counseling", "group", "list", "--json"))
    assert (listed["members"], listed["meetings"], listed["attendance"], listed["leader_names"]) == (3, 3, 6, ["张华"])
    # A second meeting the same day, or a present student who is no member, is refused and writes nothing.
    before = desk.dump()
    twice = desk.clerk("counseling", "group", "meeting", GROUP, "--date", day(-1))
    assert twice.exit_code == 2 and "--date" in twice.stderr
    stranger = desk.clerk("counseling", "group", "meeting", GROUP, "--date", day(-2), "--present", D)
    assert stranger.exit_code == 2 and D in stranger.stderr and "not members" in stranger.stderr
    long = desk.clerk("counseling", "group", "meeting", GROUP, "--date", day(-2), "--minutes", "600")
    assert long.exit_code == 2 and "--minutes" in long.stderr
    assert desk.dump() == before
    # Leaving: a member who left is not expected at later meetings.
    desk.clerk.ok("counseling", "group", "members", GROUP, "--remove", C)
    assert as_json(desk.clerk.ok("counseling", "group", "meeting", GROUP, "--json"))["members"] == 2
    actions = {e["action"] for e in audit(desk.env)}
    assert {"counseling.group.add", "counseling.group.members", "counseling.group.meeting", "counseling.group.show", "counseling.group.list"} <= actions


def test_a_member_from_outside_the_callers_colleges_is_refused(desk):
    desk.admin.ok("counseling", "group", "add", "文学院新生适应小组", "--leader", "zhang", "--college", LIT)
    desk.scoped.ok("counseling", "group", "members", "文学院新生适应小组", "--add", C)
    before = desk.dump()
    # A 法学院 student, for a clerk limited to 文学院: refused as any number outside their colleges, naming nothing stored.
    refused = desk.scoped("counseling", "group", "members", "文学院新生适应小组", "--add", D, "--add", A)
    assert refused.exit_code == 5 and "not found in your colleges" in refused.stderr and "测试甲" not in refused.stderr
    # A group of one college takes only its own students, whoever adds them.
    other = desk.admin("counseling", "group", "members", "文学院新生适应小组", "--add", A)
    assert other.exit_code == 2 and "--add" in other.stderr and "文学院" in other.stderr
    after = [line for line in desk.dump() if "INSERT INTO \"audit\"" not in line and "INSERT INTO \"ledger\"" not in line]
    assert after == [line for line in before if "INSERT INTO \"audit\"" not in line and "INSERT INTO \"ledger\"" not in line]
    assert "denied" in [e["action"] for e in audit(desk.env)]
    # The scoped clerk does not see the center-wide groups, nor can they start one.
    desk.admin.ok("counseling", "group", "add", GROUP, "--leader", "zhang")
    assert [g["name"] for g in as_json(desk.scoped.ok("counseling", "group", "list", "--json"))] == ["文学院新生适应小组"]
    assert desk.scoped("counseling", "group", "add", "全校小组", "--leader", "zhang").exit_code == 5


def test_activities_with_their_head_counts(desk):
    made = as_json(
        desk.clerk.ok(
            "counseling", "activity", "add", "--kind", "讲座", "--title", "新生心理适应讲座", "--date", day(-3), "--audience", "2026级新生",
            "--count", "320", "--json",
        )
    )  # fmt: skip
    assert (made["kind"], made["head_count"], made["date"]) == ("lecture", 320, day(-3))
    desk.scoped.ok("counseling", "activity", "add", "--kind", "5·25心理健康月活动", "--title", "心理游园会", "--date", day(-2), "--count", "150", "--college", LIT)
    rows = as_json(desk.clerk.ok("counseling", "activity", "list", "--from", day(-30), "--json"))
    assert [(r["kind"], r["head_count"]) for r in rows] == [("lecture", 320), ("month_525", 150)]
    assert [r["title"] for r in as_json(desk.scoped.ok("counseling", "activity", "list", "--from", day(-30), "--json"))] == ["心理游园会"]
    before = desk.dump()
    for args, flag in (
        (("--kind", "晚会", "--title", "x", "--count", "10"), "--kind"),
        (("--kind", "讲座", "--count", "10"), "--title"),
        (("--kind", "讲座", "--title", "x", "--count", "-1"), "--count"),
        (("--kind", "讲座", "--title", "x", "--count", "10", "--date", day(5)), "--date"),
    ):
        result = desk.clerk("counseling", "activity", "add", *args)
        assert result.exit_code == 2 and flag in result.stderr, (args, result.stderr)
    assert desk.dump() == before
    assert desk.clerk.ok("counseling", "activity", "list", "--from", day(-400), "--to", day(-300), "--json").stdout.strip() == "[]"
