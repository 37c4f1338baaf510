"""补录: entries recorded after later ones. Levels, watch episodes and reports follow the entries' dates, not the order they were typed in."""

from __future__ import annotations

import json
from datetime import date

from casekit import day, show_json, today

from mhtool.cases.domain import model, views

STUDENT = "2024010001"


def level_changes(d: dict) -> list[tuple[str, str, str]]:
    """The level changes in force on a dossier's timeline: (date, from, to), corrected entries left out."""
    return [
        (i["date"], i["fields"]["from"], i["fields"]["to"])
        for i in d["timeline"]
        if i["kind"] == "level_change" and not i["corrected_by"] and i["fields"]["from"] != i["fields"]["to"]
    ]


def watches(env, no: str) -> list[tuple[str, str | None, str]]:
    with env.open() as store:
        sid = store.students.find(no)["id"]
        return [(w["opened_on"], w["closed_on"], w["level"]) for w in store.watches.for_student(sid)]


def report_sheets(cli, start: str, end: str) -> dict:
    return json.loads(cli.ok("report", "monthly", "--from", start, "--to", end, "--json").stdout)["sheets"]


def test_a_confirmation_recorded_late_takes_its_place_in_the_history(school):
    cli = school.cli
    cli.ok("cases", "interview", STUDENT, "--findings", "今日约谈，情绪尚可", "--confirm", "yellow")
    # Three days ago the student was seen and confirmed red; it is typed in only now.
    r = cli.ok("cases", "interview", STUDENT, "--findings", "三天前约谈，有消极念头", "--confirm", "red", "--date", day(-3))
    assert "late entry (补录)" in r.stderr and f"none → red on {day(-3)}" in r.stderr and f"red → yellow on {day(0)}" in r.stderr

    d = show_json(cli, STUDENT)
    # Yellow today supersedes red three days ago: the current level stays yellow, since today.
    assert (d["student"]["level"], d["student"]["level_since"]) == ("yellow", day(0))
    assert d["student"]["level_reason"] == model.interview_reason(day(0))
    # The red episode from three days ago until today is recorded, with the right from/to for each change.
    assert level_changes(d) == [(day(-3), "none", "red"), (day(0), "red", "yellow")]
    corrected = [i for i in d["timeline"] if i["kind"] == "level_change" and i["corrected_by"]]
    assert [(i["date"], i["fields"]["from"], i["fields"]["to"]) for i in corrected] == [(day(0), "none", "yellow")]
    # One watch episode, opened when the first level was set.
    assert watches(school, STUDENT) == [(day(-3), None, "red")]
    # The follow-up keeps following the latest contact at the current level (yellow: 30 days).
    assert [(t["kind"], t["due"]) for t in d["tasks"]] == [("follow_up", day(30))]
    shown = [views.entry_summary(i) for i in d["timeline"] if i["kind"] == "level_change" and not i["corrected_by"]]
    assert [s.split("：")[0] for s in shown] == ["无 → 一级(红色)", "一级(红色) → 三级(黄色)"]

    # Reports replay the same history: no upgrade for a student the watch list omits.
    sheets = report_sheets(cli, day(-3), day(0))
    changes = [(c["date"], c["change"], c["from_level"], c["to_level"]) for c in sheets["changes"] if c["student_no"] == STUDENT]
    assert changes == [(day(-3), "new", "none", "red"), (day(0), "lowered", "red", "yellow")]
    assert [(r["student_no"], r["level"], r["level_since"]) for r in sheets["roster"]] == [(STUDENT, "yellow", day(0))]
    if day(-1) >= day(-3):
        before = report_sheets(cli, day(-3), day(-1))
        assert [(r["student_no"], r["level"], r["level_since"]) for r in before["roster"]] == [(STUDENT, "red", day(-3))]
        assert [(c["change"], c["from_level"], c["to_level"]) for c in before["changes"]] == [("new", "none", "red")]
        assert before["summary"][0]["new"] == 1


def test_a_late_entry_of_the_same_level_moves_since_and_the_watch_back(school):
    cli = school.cli
    cli.ok("cases", "level", STUDENT, "red", "--reason", "辅导员报告")
    cli.ok("cases", "interview", STUDENT, "--findings", "补录：五天前已约谈", "--confirm", "red", "--date", day(-5))
    d = show_json(cli, STUDENT)
    assert (d["student"]["level"], d["student"]["level_since"]) == ("red", day(-5))
    assert level_changes(d) == [(day(-5), "none", "red")]
    # Today's change now records no change at all, and says so.
    [kept] = [i for i in d["timeline"] if i["kind"] == "level_change" and not i["corrected_by"] and i["date"] == day(0)]
    assert kept["fields"]["from"] == kept["fields"]["to"] == "red"
    assert views.entry_summary(kept).startswith("一级(红色)（不变）")
    assert watches(school, STUDENT) == [(day(-5), None, "red")]
    roster = report_sheets(cli, day(-5), day(0))["roster"]
    assert [(r["level"], r["level_since"]) for r in roster] == [("red", day(-5))]


def test_a_late_entry_that_changes_the_current_level_needs_yes(school):
    cli = school.cli
    cli.ok("cases", "interview", STUDENT, "--findings", "初次约谈", "--confirm", "yellow", "--date", day(-10))
    cli.ok("cases", "follow-up", STUDENT, "--content", "回访：状态一般", "--date", day(-1))
    before = show_json(cli, STUDENT)

    # Red five days ago, typed in after yesterday's follow-up: the current level would become red.
    r = cli("cases", "level", STUDENT, "red", "--reason", "五天前危机后升级", "--date", day(-5))
    assert r.exit_code == 2 and "--yes" in r.stderr
    said = " ".join(r.stderr.split())
    assert f"from yellow 三级(黄色) since {day(-10)} to red 一级(红色) since {day(-5)}" in said and "nothing was recorded" in said
    assert show_json(cli, STUDENT) == before

    r = cli.ok("cases", "level", STUDENT, "red", "--reason", "五天前危机后升级", "--date", day(-5), "--yes")
    d = show_json(cli, STUDENT)
    assert (d["student"]["level"], d["student"]["level_since"]) == ("red", day(-5))
    assert level_changes(d) == [(day(-10), "none", "yellow"), (day(-5), "yellow", "red")]
    assert watches(school, STUDENT) == [(day(-10), None, "yellow")]
    # The follow-up schedule follows the new level from the last contact (red: 7 days after yesterday).
    assert [(t["kind"], t["due"]) for t in d["tasks"]] == [("follow_up", day(6))]


def test_a_late_close_needs_yes_and_closes_the_episode_on_its_day(school):
    cli = school.cli
    cli.ok("cases", "level", STUDENT, "orange", "--reason", "约谈确认", "--date", day(-20))
    cli.ok("cases", "note", STUDENT, "--text", "备注")
    cli.ok("cases", "follow-up", STUDENT, "--content", "回访", "--date", day(-2))
    r = cli("cases", "close", STUDENT, "--reason", "十天前已评估解除", "--date", day(-10))
    assert r.exit_code == 2 and "--yes" in r.stderr
    cli.ok("cases", "close", STUDENT, "--reason", "十天前已评估解除", "--date", day(-10), "--yes")
    d = show_json(cli, STUDENT)
    assert d["student"]["level"] == "none"
    assert watches(school, STUDENT) == [(day(-20), day(-10), "orange")]
    assert [t for t in d["tasks"] if t["kind"] == "follow_up"] == []


def test_the_confirmation_is_asked_outside_the_write_and_a_no_records_nothing(school):
    from mhtool.app import Center, credential_from_key_file

    cli = school.cli
    cli.ok("cases", "interview", STUDENT, "--findings", "约谈", "--date", day(-1))
    asked: list[str] = []
    with Center.open(school.path, credential_from_key_file(school.admin_key), "admin") as center:
        declined = center.cases.interview(STUDENT, findings="补录", confirm="orange", on=day(-4), ask=lambda text: asked.append(text) or False)
        assert declined is None
        assert len(asked) == 1 and "from none" in asked[0] and f"to orange 二级(橙色) since {day(-4)}" in asked[0]
        assert center.cases.show(STUDENT)["student"]["level"] == "none"
        done = center.cases.interview(STUDENT, findings="补录", confirm="orange", on=day(-4), ask=lambda text: True)
        assert done.level == "orange" and done.kinds == ["interview", "level_change"]
    assert show_json(cli, STUDENT)["student"]["level_since"] == day(-4)


def test_an_interview_sheet_row_dated_before_the_dossier_s_entries_is_replayed(school, tmp_path):
    cli = school.cli
    cli.ok("cases", "interview", STUDENT, "--findings", "今日约谈", "--confirm", "yellow")
    cli.ok("cases", "interview", "2024010003", "--findings", "今日约谈，未发现问题")
    sheet = tmp_path / "约谈记录.csv"
    sheet.write_text(
        "学号,姓名,约谈日期,约谈人,情况描述,评估等级,后续措施\n"
        f"{STUDENT},测试甲,{day(-3)},辅导员甲,三天前约谈,红色,\n"
        f"2024010003,测试丙,{day(-2)},辅导员甲,两天前约谈,橙色,\n",
        encoding="utf-8",
    )
    dry = json.loads(cli.ok("cases", "import-interviews", str(sheet), "--dry-run", "--json").stdout)
    assert dry["level_changes"] == 2
    # The second row would make 测试丙 orange now, although today's interview confirmed nothing: it needs --yes.
    r = cli("cases", "import-interviews", str(sheet))
    assert r.exit_code == 2 and "--yes" in r.stderr and "row 3" in r.stderr and "nothing was imported" in r.stderr
    assert level_changes(show_json(cli, STUDENT)) == [(day(0), "none", "yellow")]
    result = json.loads(cli.ok("cases", "import-interviews", str(sheet), "--yes", "--json").stdout)
    assert (result["imported"], result["level_changes"]) == (2, 2)
    d = show_json(cli, STUDENT)
    assert d["student"]["level"] == "yellow" and level_changes(d) == [(day(-3), "none", "red"), (day(0), "red", "yellow")]
    assert watches(school, STUDENT) == [(day(-3), None, "red")]
    other = show_json(cli, "2024010003")
    assert (other["student"]["level"], other["student"]["level_since"]) == ("orange", day(-2))


def test_replay_in_the_pure_domain():
    def entry(i, kind, on, **fields):
        return {"id": f"e{i}", "kind": kind, "date": on, "fields": fields}

    entries = [
        entry(1, "interview", "2026-11-28", findings="x", confirmed_level="red"),
        entry(2, "level_change", "2026-11-28", **{"from": "none", "to": "red", "reason": "a"}),
        entry(3, "note", "2026-11-29", text="n"),
        entry(4, "interview", "2026-12-01", findings="y", confirmed_level="yellow"),
        entry(5, "level_change", "2026-12-01", **{"from": "none", "to": "yellow", "reason": "b"}),  # recorded first, says none
        entry(6, "level_change", "2026-12-05", **{"from": "yellow", "to": "none", "reason": "c"}),
    ]
    h = model.level_history(entries)
    assert (h.level, h.since, h.reason) == ("none", "2026-12-05", "c")
    assert [(c.date, c.before, c.to, c.carrier) for c in h.changes] == [
        ("2026-11-28", "none", "red", "e2"), ("2026-12-01", "red", "yellow", "e5"), ("2026-12-05", "yellow", "none", "e6")
    ]
    assert [(e.opened_on, e.closed_on, e.level) for e in h.episodes] == [("2026-11-28", "2026-12-05", "red")]
    assert h.at("2026-11-30") == ("red", "2026-11-28")
    [fix] = model.level_repairs(entries, h)
    assert (fix.date, fix.corrects, fix.fields["from"], fix.fields["to"]) == ("2026-12-01", "e5", "red", "yellow")
    # A correction keeps the place of what it corrects; a confirmation nothing records yet gets a level_change anchored to it.
    fixed = entries + [{"id": "e7", "kind": "level_change", "date": "2026-12-01", "corrects": "e5", "fields": fix.fields}]
    assert model.level_repairs(fixed, model.level_history(fixed)) == []
    lone = [entry(1, "interview", "2026-11-20", findings="x", confirmed_level="orange")]
    [new] = model.level_repairs(lone, model.level_history(lone))
    assert new.corrects is None and new.fields == {"from": "none", "to": "orange", "reason": model.interview_reason("2026-11-20"), "for_entry": "e1"}
    # Only entries dated after it make an entry late; notes do not count.
    assert model.is_late(entries, date(2026, 12, 4)) and not model.is_late(entries[:3], date(2026, 11, 28))
    assert [(r.watch, r.episode.opened_on) for r in model.watch_repairs([], h.episodes)] == [(None, "2026-11-28")]
    stored = [{"id": "w", "opened_on": "2026-12-01", "closed_on": None, "level": "yellow"}]
    [move] = model.watch_repairs(stored, h.episodes)
    assert move.watch["id"] == "w" and (move.episode.opened_on, move.episode.closed_on) == ("2026-11-28", "2026-12-05")


def test_in_order_entries_change_nothing_they_did_before(school):
    cli = school.cli
    cli.ok("cases", "interview", STUDENT, "--findings", "约谈", "--confirm", "orange", "--date", day(-6))
    cli.ok("cases", "level", STUDENT, "red", "--reason", "升级", "--date", day(-2))
    cli.ok("cases", "close", STUDENT, "--reason", "评估解除")
    cli.ok("cases", "reopen", STUDENT, "--level", "yellow", "--reason", "再次关注")
    d = show_json(cli, STUDENT)
    assert [i for i in d["timeline"] if i["corrected_by"]] == []
    assert level_changes(d) == [(day(-6), "none", "orange"), (day(-2), "orange", "red"), (day(0), "red", "none"), (day(0), "none", "yellow")]
    assert watches(school, STUDENT) == [(day(-6), day(0), "orange"), (day(0), None, "yellow")]
    assert d["student"]["level_since"] == today().isoformat()
