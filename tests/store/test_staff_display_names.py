"""Staff display names: given with `staff add`, changed with `staff edit` (admin only, audited), printed by reports."""

from __future__ import annotations

import json
from datetime import timedelta

import openpyxl

from mhtool.domain import dates


def _audit(env) -> list[dict]:
    return json.loads(env.cli.ok("audit", "log", "--limit", "0", "--json").stdout)


def _staff(env) -> dict[str, dict]:
    return {s["name"]: s for s in json.loads(env.cli.ok("staff", "list", "--json").stdout)}


def test_add_and_edit_a_display_name(store_env):
    env = store_env
    added = env.cli.ok("staff", "add", "zhanghua", "--role", "counselor", "--display-name", "张华", "--key-file", env.tmp / "zh.key")
    assert "as 张华" in added.stderr
    assert _staff(env)["zhanghua"]["display_name"] == "张华"
    assert _staff(env)["admin"]["display_name"] == "admin"  # none given: the login name

    env.cli.ok("staff", "edit", "zhanghua", "--display-name", "张华老师")
    assert _staff(env)["zhanghua"]["display_name"] == "张华老师"
    edits = [e for e in _audit(env) if e["action"] == "staff.edit"]
    # The entry says whose name changed, and which field; the staff record holds the value, sealed.
    assert len(edits) == 1 and edits[0]["details"] == {"name": "zhanghua", "fields": ["display_name"]}
    assert "张华老师" not in json.dumps(edits)


def test_only_an_admin_edits_and_the_attempt_is_audited(store_env):
    env = store_env
    counselor = env.add_staff("liqing", "counselor")
    refused = counselor("staff", "edit", "liqing", "--display-name", "李青")
    assert refused.exit_code == 5
    assert _staff(env)["liqing"]["display_name"] == "liqing"
    denials = [e for e in _audit(env) if e["action"] == "denied" and e["staff"] == "liqing"]
    assert denials[-1]["details"] == {"reason": "permission:staff", "attempted": "staff.edit"}


def test_edit_refuses_nothing_to_change_an_empty_name_and_an_unknown_member(store_env):
    env = store_env
    assert env.cli("staff", "edit", "admin").exit_code == 2
    assert env.cli("staff", "edit", "admin", "--display-name", "  ").exit_code == 2
    unknown = env.cli("staff", "edit", "nobody", "--display-name", "某某")
    assert unknown.exit_code != 0 and "nobody" in unknown.stderr
    assert not [e for e in _audit(env) if e["action"] == "staff.edit"]


def test_reports_print_display_names_not_logins(store_env, tmp_path):
    """负责咨询师 on the watch list and 记录人 on the changes sheet show 张华; the dossier export too."""
    env = store_env
    counselor = env.add_staff("zhanghua", "counselor")
    env.cli.ok("staff", "edit", "zhanghua", "--display-name", "张华")
    env.cli.ok("cases", "add", "2024010001", "--name", "测试甲", "--college", "文学院", "--class", "汉语言2401", "--counselor", "zhanghua")
    yesterday = (dates.today("Asia/Shanghai") - timedelta(days=1)).isoformat()
    counselor.ok("cases", "level", "2024010001", "red", "--reason", "约谈确认", "--date", yesterday)
    week_ago = (dates.today("Asia/Shanghai") - timedelta(days=7)).isoformat()
    path = tmp_path / "weekly.xlsx"
    counselor.ok("report", "weekly", "--from", week_ago, "--out", path)
    wb = openpyxl.load_workbook(path)
    cells = [c for ws in wb for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "张华" in cells and not [c for c in cells if "zhanghua" in c]
    dossier = tmp_path / "dossier.xlsx"
    counselor.ok("cases", "export", "2024010001", "--out", dossier, "--purpose", "测试")
    cells = [c for ws in openpyxl.load_workbook(dossier) for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "张华" in cells and not [c for c in cells if "zhanghua" in c]


def test_the_dossier_and_the_lists_show_display_names_and_json_keeps_the_login(store_env):
    """What people read shows 张华 (lists, dossier, tasks, 三个明确); JSON keeps the login; --counselor takes either."""
    env = store_env
    counselor = env.add_staff("zhanghua", "counselor")
    env.cli.ok("staff", "edit", "zhanghua", "--display-name", "张华")
    env.cli.ok("cases", "add", "2024010001", "--name", "测试甲", "--college", "文学院", "--class", "汉语言2401", "--counselor", "zhanghua")
    env.cli.ok("cases", "add", "2024010002", "--name", "测试乙", "--college", "文学院", "--class", "汉语言2401", "--counselor", "admin")
    yesterday = (dates.today("Asia/Shanghai") - timedelta(days=1)).isoformat()
    for number in ("2024010001", "2024010002"):
        counselor.ok("cases", "level", number, "red", "--reason", "约谈确认", "--date", yesterday)

    for args in (("cases", "list"), ("cases", "check"), ("cases", "show", "2024010001")):
        shown = counselor.ok(*args).stdout
        assert "张华" in shown and "zhanghua" not in shown, args
    # 记录人 on the timeline is the display name too.
    assert any(line.split("\t")[2] == "张华" for line in counselor.ok("cases", "show", "2024010001").stdout.splitlines() if line.startswith(yesterday))

    as_json = json.loads(counselor.ok("cases", "list", "--json").stdout)
    assert {r["student_no"]: r["counselor"] for r in as_json} == {"2024010001": "zhanghua", "2024010002": "admin"}
    assert json.loads(counselor.ok("cases", "show", "2024010001", "--json").stdout)["student"]["counselor"] == "zhanghua"

    by_login = json.loads(counselor.ok("cases", "list", "--counselor", "zhanghua", "--json").stdout)
    by_name = json.loads(counselor.ok("cases", "list", "--counselor", "张华", "--json").stdout)
    assert by_login == by_name and [r["student_no"] for r in by_name] == ["2024010001"]
    assert json.loads(counselor.ok("cases", "list", "--counselor", " 张华 ", "--json").stdout) == by_name
    assert json.loads(counselor.ok("cases", "list", "--counselor", "李青", "--json").stdout) == []


def test_referral_show_names_who_referred_and_who_recorded_each_step_by_display_name(store_env):
    env = store_env
    counselor = env.add_staff("zhanghua", "counselor")
    env.cli.ok("staff", "edit", "zhanghua", "--display-name", "张华")
    env.cli.ok("cases", "add", "2024010001", "--name", "测试甲", "--college", "文学院", "--class", "汉语言2401", "--counselor", "zhanghua")
    counselor.ok("referral", "hospitals", "add", "示例市精神卫生中心")
    ref = json.loads(counselor.ok("referral", "add", "2024010001", "--hospital", "示例市精神卫生中心", "--reason", "评估", "--json").stdout)["id"]
    shown = counselor.ok("referral", "show", ref).stdout
    assert "zhanghua" not in shown
    assert [line for line in shown.splitlines() if line.startswith("转介人\t")] == ["转介人\t张华"]
    assert shown.splitlines()[-1].endswith("\t张华")  # the step's 记录人
    as_json = json.loads(counselor.ok("referral", "show", ref, "--json").stdout)
    assert as_json["created_by"] == "zhanghua" and {step["by"] for step in as_json["history"]} == {"zhanghua"}
