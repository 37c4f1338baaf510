"""`mhtool network import/list/add/remove`: the roster of the 五级网络 through the command line (made-up people)."""

from __future__ import annotations

import json

import pytest

from tests.network.test_reports_import import roster_file, write_csv


def audit(env) -> list[dict]:
    return json.loads(env.cli.ok("audit", "log", "--limit", "0", "--json").stdout)


def members(cli, *args) -> list[dict]:
    return json.loads(cli.ok("network", "list", "--json", *args).stdout)


def test_roster_import_list_add_remove(store_env):
    cli = store_env.cli
    units = [("文学院", "汉语言2501"), ("文学院", "汉语言2502"), ("法学院", "法学2501")]
    extra = [
        ("文学院", None, "1栋101", "寝室长", "2025000001", "舍长甲", "13900000001"),
        ("文学院", None, None, "二级站负责人", "T001", "站长甲", None),
        ("法学院", "法学2501", None, "辅导员", "T002", "辅导员乙", None),
    ]
    path = roster_file(store_env.tmp / "名册.xlsx", units, extra_rows=extra)
    result = json.loads(cli.ok("network", "import", str(path), "--json").stdout)
    assert (result["members"], result["added"]) == (6, 6)
    rows = members(cli)
    assert [(m["college"], m["unit_kind"], m["unit"], m["role"]) for m in rows] == [
        ("文学院", "college", "文学院", "station_head"),
        ("文学院", "class", "汉语言2501", "peer_monitor"),
        ("文学院", "class", "汉语言2502", "peer_monitor"),
        ("文学院", "dorm", "1栋101", "dorm_head"),
        ("法学院", "class", "法学2501", "peer_monitor"),
        ("法学院", "class", "法学2501", "advisor"),
    ]
    # The same file again: nothing added; a changed phone is an update.
    again = json.loads(cli.ok("network", "import", str(path), "--json").stdout)
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 6)
    # Filters: a college, a role in Chinese or as a code.
    assert [m["unit"] for m in members(cli, "--college", "法学院", "--role", "心理委员")] == ["法学2501"]
    assert [m["name"] for m in members(cli, "--role", "dorm_head")] == ["舍长甲"]
    bad = cli("network", "list", "--role", "班长")
    assert bad.exit_code == 2 and "--role" in bad.stderr
    # Add and remove.
    added = json.loads(
        cli.ok("network", "add", "--college", "法学院", "--dorm", "2栋202", "--role", "寝室长", "--name", "舍长乙", "--phone", "13900000002", "--json").stdout
    )
    assert (added["unit_kind"], added["unit"], added["role"]) == ("dorm", "2栋202", "dorm_head")
    twice = cli("network", "add", "--college", "法学院", "--dorm", "2栋202", "--role", "寝室长", "--name", "舍长乙")
    assert twice.exit_code == 3 and "already" in twice.stderr
    no_class = cli("network", "add", "--college", "法学院", "--role", "心理委员", "--name", "某")
    assert no_class.exit_code == 2 and "班级" in no_class.stderr
    removed = cli.ok("network", "remove", added["id"][:8])
    assert "舍长乙" in removed.stderr
    assert "舍长乙" not in [m["name"] for m in members(cli)]
    assert cli("network", "remove", added["id"][:8]).exit_code == 1
    # A terminal table follows the reader's language; piped, the table is Chinese whoever runs it.
    table = cli.ok("network", "list", "--college", "文学院", env={"FORCE_TERMINAL": "1"}).stdout
    assert "汉语言2501" in table and "monitor" in table and "Role" in table and "角色" not in table
    piped = cli.ok("network", "list", "--college", "文学院").stdout
    assert piped.splitlines()[0].split("\t")[:4] == ["学院", "单位类型", "单位", "角色"] and "\t心理委员\t" in piped
    # Every read and change is audited.
    actions = [e["action"] for e in audit(store_env)]
    for action in ("network.import", "network.list", "network.add", "network.remove"):
        assert action in actions


def test_a_bad_roster_is_refused_whole(store_env):
    cli = store_env.cli
    extra = [
        ("文学院", None, None, "班长", "1", "某甲", None),  # unknown role
        ("文学院", None, None, "心理委员", "2", "某乙", None),  # a 心理委员 without a class
        (None, "汉语言2509", None, "心理委员", "3", "某丙", None),  # no college
    ]
    path = roster_file(store_env.tmp / "坏名册.xlsx", [("文学院", "汉语言2501")], extra_rows=extra)
    result = cli("network", "import", str(path))
    assert result.exit_code == 3
    assert "坏名册.xlsx, sheet 名册, row 3, column 角色" in result.stderr
    assert "row 4, column 班级" in result.stderr
    assert "row 5, column 学院" in result.stderr
    assert members(cli) == []
    # A CSV with the columns under other names (学号/工号, 手机).
    csv_path = write_csv(store_env.tmp / "名册.csv", [["文学院", "汉语言2501", "心理委员", "2025000009", "某丁", "13800000009"]],
                         header=["所在学院", "班级名称", "职务", "学号/工号", "姓名", "手机"])  # fmt: skip
    cli.ok("network", "import", str(csv_path))
    assert [(m["unit"], m["person_no"], m["phone"]) for m in members(cli)] == [("汉语言2501", "2025000009", "13800000009")]


@pytest.mark.parametrize("role", ["counselor", "clerk"])
def test_counselor_and_clerk_keep_the_roster_and_an_auditor_may_not(store_env, role):
    cli = store_env.add_staff("x", role)
    cli.ok("network", "import", str(roster_file(store_env.tmp / "r.xlsx", [("文学院", "汉语言2501")])))
    assert len(members(cli)) == 1
    auditor = store_env.add_staff("aud", "auditor")
    for args in (("list",), ("missing", "--period", "2025-W40"), ("import", str(store_env.tmp / "r.xlsx"))):
        refused = auditor("network", *args)
        assert refused.exit_code == 5, args


def test_a_college_scoped_clerk_sees_and_changes_only_their_colleges(store_env):
    cli = store_env.cli
    cli.ok("network", "import", str(roster_file(store_env.tmp / "r.xlsx", [("文学院", "汉语言2501"), ("法学院", "法学2501")])))
    clerk = store_env.add_staff("li", "clerk", "法学院")
    assert [m["college"] for m in members(clerk)] == ["法学院"]
    assert clerk("network", "list", "--college", "文学院").exit_code == 5
    other = next(m for m in members(cli) if m["college"] == "文学院")
    assert clerk("network", "remove", other["id"]).exit_code == 5
    assert clerk("network", "add", "--college", "文学院", "--class", "汉语言2502", "--role", "心理委员", "--name", "某").exit_code == 5
    # A report for the other college's class reads as a class not in the roster.
    rows = [["文学院", "汉语言2501", "2025-W40", "某", "无异常", None, None, None, None]]
    header = ["学院", "班级", "周次", "填报人", "本期情况", "关注学生学号", "关注学生姓名", "情况描述", "是否已告知辅导员"]
    refused = clerk("network", "import-reports", str(write_csv(store_env.tmp / "x.csv", rows, header=header)))
    assert refused.exit_code == 3 and "not a class or dorm of the network roster" in refused.stderr
    missing = json.loads(clerk.ok("network", "missing", "--period", "2025-W40", "--json").stdout)
    assert [c["college"] for c in missing["colleges"]] == ["法学院"]


def test_help_pages_have_examples(cli):
    for command in ("import", "list", "add", "remove", "import-reports", "missing", "template"):
        page = cli.ok("network", command, "--help").stdout
        assert "Example: mhtool network " + command in page, command
    assert "network" in cli.ok("--help").stdout
