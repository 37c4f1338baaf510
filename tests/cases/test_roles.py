"""Who may see and write what: clerks, college-scoped staff, and the audit of every read and denial."""

import json

from casekit import audit


def prepare(school):
    """A watched student with clinical entries of every kind (as admin)."""
    cli = school.cli
    cli.ok("cases", "interview", "2024010001", "--findings", "自述有轻生念头", "--confirm", "red")
    cli.ok("cases", "note", "2024010001", "--text", "室友反映夜间哭泣")
    cli.ok("cases", "guardian", "2024010001", "--who", "母亲", "--content", "家长同意陪同就医", "--consent", "signed")
    cli.ok("cases", "crisis", "2024010001", "--what", "天台徘徊", "--parents-notified-at", "today 01:00")
    cli.ok("cases", "measure", "2024010001", "--kind", "资助", "--description", "临时困难补助")
    cli.ok("cases", "status", "2024010001", "leave", "--reason", "抑郁发作遵医嘱休学")


SECRETS = ("自述有轻生念头", "室友反映夜间哭泣", "家长同意陪同就医", "天台徘徊", "抑郁发作遵医嘱休学")


def test_clerk_sees_header_measures_and_tasks_but_no_clinical_content(school):
    prepare(school)
    clerk = school.add_staff("clerk1", "clerk")
    r = clerk.ok("cases", "show", "2024010001")
    assert "测试甲" in r.stdout and "一级(红色)" in r.stdout and "临时困难补助" in r.stdout
    assert "内容仅咨询师可见" in r.stdout
    for secret in SECRETS:
        assert secret not in r.stdout
    d = json.loads(clerk.ok("cases", "show", "2024010001", "--json").stdout)
    text = json.dumps(d, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in text
    assert "level_reason" not in d["student"]
    assert d["tasks"] and all(i["fields"] is None for i in d["timeline"] if i["kind"] in ("interview", "note", "crisis", "guardian_contact"))
    rows = json.loads(clerk.ok("cases", "list", "--json").stdout)
    assert [r["student_no"] for r in rows] == ["2024010001"]
    assert json.loads(clerk.ok("cases", "tasks", "--json").stdout)


def test_clerk_asking_for_notes_gets_exit_5_and_is_audited(school):
    prepare(school)
    clerk = school.add_staff("clerk1", "clerk")
    r = clerk("cases", "show", "2024010001", "--kind", "note")
    assert r.exit_code == 5 and r.stdout == ""
    assert "may not read clinical details" in r.stderr
    denied = [e for e in audit(school) if e["staff"] == "clerk1" and e["action"] == "denied"]
    assert denied and denied[-1]["details"] == {"reason": "permission:clinical", "attempted": "cases.show"}


def test_clerk_may_not_record(school):
    clerk = school.add_staff("clerk1", "clerk")
    for args in (
        ["note", "2024010001", "--text", "x"],
        ["interview", "2024010001", "--findings", "x"],
        ["level", "2024010001", "red", "--reason", "x"],
        ["crisis", "2024010001", "--what", "x"],
        ["guardian", "2024010001", "--who", "母亲", "--content", "x"],
    ):
        r = clerk("cases", *args)
        assert r.exit_code == 5, args
        assert "may not record entries" in r.stderr


def test_clerk_export_is_redacted(school, tmp_path):
    import openpyxl

    prepare(school)
    clerk = school.add_staff("clerk1", "clerk")
    out = tmp_path / "d.xlsx"
    clerk.ok("cases", "export", "2024010001", "--out", str(out), "--purpose", "学院例会")
    wb = openpyxl.load_workbook(out)
    text = "\n".join(str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    assert "测试甲" in text and "临时困难补助" in text
    for secret in SECRETS:
        assert secret not in text


def test_scoped_staff_asking_for_another_college_gets_exit_5_and_is_audited(school):
    prepare(school)
    advisor = school.add_staff("advisor_li", "counselor", "理学院")
    r = advisor("cases", "show", "2024010001")
    assert r.exit_code == 5 and r.stdout == ""
    assert "limited to 理学院" in r.stderr
    denied = [e for e in audit(school) if e["staff"] == "advisor_li" and e["action"] == "denied"]
    assert denied[-1]["details"] == {"reason": "scope:college", "attempted": "cases.show"}
    assert denied[-1]["targets"] and denied[-1]["targets"][0].startswith("students/")
    for args in (["note", "2024010001", "--text", "x"], ["export", "2024010001", "--out", "x.xlsx"]):
        assert advisor("cases", *args).exit_code == 5


def test_scoped_staff_see_only_their_colleges(school):
    prepare(school)
    school.cli.ok("cases", "level", "2024020002", "yellow", "--reason", "x")
    advisor = school.add_staff("advisor_li", "counselor", "理学院")
    rows = json.loads(advisor.ok("cases", "list", "--json").stdout)
    assert [r["student_no"] for r in rows] == ["2024020002"]
    assert [r["student_no"] for r in json.loads(advisor.ok("cases", "list", "--all", "--json").stdout)] == ["2024020002"]
    assert [t["student_no"] for t in json.loads(advisor.ok("cases", "tasks", "--json").stdout)] == ["2024020002"]
    assert json.loads(advisor.ok("cases", "find", "测试", "--json").stdout)[0]["student_no"] == "2024020002"
    assert len(json.loads(advisor.ok("cases", "find", "测试", "--json").stdout)) == 1
    r = advisor("cases", "list", "--college", "文学院")
    assert r.exit_code == 5
    r = advisor("cases", "add", "2024010099", "--name", "测试戊", "--college", "文学院")
    assert r.exit_code == 5
    r = advisor("cases", "edit", "2024020002", "--college", "文学院")
    assert r.exit_code == 5
    advisor.ok("cases", "add", "2024020099", "--name", "测试戊", "--college", "理学院")


def test_auditor_cannot_read_dossiers(school):
    auditor = school.add_staff("auditor1", "auditor")
    assert auditor("cases", "show", "2024010001").exit_code == 5
    assert auditor("cases", "list").exit_code == 5
    assert auditor("cases", "tasks").exit_code == 5


def test_every_show_list_and_export_is_audited(school, tmp_path):
    school.cli.ok("cases", "level", "2024010001", "orange", "--reason", "x")
    school.cli.ok("cases", "show", "2024010001")
    school.cli.ok("cases", "list")
    school.cli.ok("cases", "export", "2024010001", "--out", str(tmp_path / "x.xlsx"))
    school.cli.ok("cases", "find", "测试")
    entries = {e["action"]: e for e in audit(school)}
    student_id = entries["cases.show"]["targets"][0]
    assert entries["cases.list"]["targets"] == [student_id]
    assert entries["cases.list"]["details"]["count"] == 1
    assert entries["cases.export"]["targets"] == [student_id]
    assert len(entries["cases.find"]["targets"]) == 3
    school.cli.ok("audit", "verify")
