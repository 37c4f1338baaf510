"""Roster import, bulk graduation, and the purpose asked of identifiable exports."""

from __future__ import annotations

import json

from tests.cases.casekit import add_student, audit
from tests.survey.export_factory import make_students, write_roster_xlsx

ALL_FIELDS = ("student_no", "name", "gender", "college", "major", "grade", "class_name", "dorm", "phone", "advisor", "advisor_phone",
              "guardian_name", "guardian_relation", "guardian_phone")


def test_import_roster_creates_then_updates_without_erasing(store_env, tmp_path):
    students = make_students(6, seed=31)
    write_roster_xlsx(tmp_path / "roster.xlsx", students, title_rows=["2026级学生名册"], fields=ALL_FIELDS)
    dry = json.loads(store_env.cli.ok("cases", "import-roster", tmp_path / "roster.xlsx", "--dry-run", "--json").stdout)
    assert dry["students_created"] == 6 and dry["dry_run"] is True
    with store_env.open() as store:
        assert store.students.count() == 0
    first = json.loads(store_env.cli.ok("cases", "import-roster", tmp_path / "roster.xlsx", "--json").stdout)
    assert first["students_created"] == 6
    moved = [dict(students[0], dorm="新宿舍9-999", phone=None)] + students[1:]
    write_roster_xlsx(tmp_path / "roster2.xlsx", moved, fields=ALL_FIELDS)
    second = json.loads(store_env.cli.ok("cases", "import-roster", tmp_path / "roster2.xlsx", "--json").stdout)
    assert second["students_created"] == 0 and second["students_updated"] == 1
    with store_env.open() as store:
        record = store.students.find(students[0]["student_no"])
        assert record["dorm"] == "新宿舍9-999"
        assert record["phone"] == students[0]["phone"]  # an empty cell never erases
        assert record["guardians"][0]["phone"] == students[0]["guardian_phone"]


def test_import_roster_name_conflict_changes_nothing(store_env, tmp_path):
    students = make_students(3, seed=32)
    write_roster_xlsx(tmp_path / "a.xlsx", students)
    store_env.cli.ok("cases", "import-roster", tmp_path / "a.xlsx")
    write_roster_xlsx(tmp_path / "b.xlsx", [dict(students[1], name="换了名字", dorm="X")] + students[2:])
    result = store_env.cli("cases", "import-roster", tmp_path / "b.xlsx")
    assert result.exit_code == 3 and "换了名字" in result.stderr and "b.xlsx" in result.stderr
    with store_env.open() as store:
        assert store.students.find(students[1]["student_no"])["name"] == students[1]["name"]


def test_graduate_class_of(store_env):
    add_student(store_env.cli, "2022010001", "毕业生甲", "文学院", "汉语言2201", "--grade", "2022级")
    add_student(store_env.cli, "2022010002", "毕业生乙", "文学院", "汉语言2201", "--grade", "2022级")
    add_student(store_env.cli, "2024010001", "在读生丙", "文学院", "汉语言2401", "--grade", "2024级")
    store_env.cli.ok("cases", "level", "2022010001", "yellow", "--reason", "约谈确认")
    dry = json.loads(store_env.cli.ok("cases", "graduate", "--class-of", "2022", "--dry-run", "--json").stdout)
    assert dry["graduated"] == 2
    result = json.loads(store_env.cli.ok("cases", "graduate", "--class-of", "2022", "--date", "yesterday", "--reason", "2022级毕业", "--json").stdout)
    assert result["graduated"] == 2
    shown = json.loads(store_env.cli.ok("cases", "show", "2022010001", "--json").stdout)
    assert shown["student"]["status"] == "graduated"
    assert any(e["kind"] == "status_change" for e in shown["timeline"])
    still = json.loads(store_env.cli.ok("cases", "show", "2024010001", "--json").stdout)
    assert still["student"]["status"] == "enrolled"
    clerk = store_env.add_staff("wen", "clerk")
    assert clerk("cases", "graduate", "--class-of", "2024").exit_code == 5


def test_dossier_export_asks_a_clerk_for_a_purpose_and_audits_it(store_env, tmp_path):
    add_student(store_env.cli, "2024010001", "导出测试", "文学院", "汉语言2401")
    clerk = store_env.add_staff("wen", "clerk")
    refused = clerk("cases", "export", "2024010001", "--out", tmp_path / "a.xlsx")
    assert refused.exit_code == 2 and "--purpose" in refused.stderr
    assert not (tmp_path / "a.xlsx").exists()
    clerk.ok("cases", "export", "2024010001", "--out", tmp_path / "a.xlsx", "--purpose", "学院例会")
    exports = [e for e in audit(store_env) if e["action"] == "cases.export"]
    assert exports[-1]["details"]["purpose"] == "学院例会" and exports[-1]["staff"] == "wen"
    # Counselors are trusted by default: no purpose needed.
    counselor = store_env.add_staff("zhou", "counselor")
    counselor.ok("cases", "export", "2024010001", "--out", tmp_path / "b.xlsx")
