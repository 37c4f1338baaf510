"""The Python API refuses what the command line refuses: `center.cases` checks role and college scope itself.

Real stores, real staff with key files, no mocks. Every refused call leaves
the dossiers exactly as they were; only the audit log gains its "denied" entry.
"""

from __future__ import annotations

import json

import pytest
from casekit import add_student, audit, day, today

from mhtool.app import Center, credential_from_key_file
from mhtool.cases.domain import model
from mhtool.cases.usecases import interviews, roster, service
from mhtool.errors import PermissionDenied

WATCHED, UNWATCHED, OTHER = "2024010001", "2024010003", "2024020002"
SECRETS = ("自述有轻生念头", "室友反映夜间哭泣", "家长同意陪同就医", "天台徘徊", "抑郁发作遵医嘱休学")


@pytest.fixture
def dossiers(school):
    """The school's students, one watched with clinical entries of every kind and a reminder (recorded by the admin through the API)."""
    with as_staff(school, "admin") as center:
        cases = center.cases
        cases.interview(WATCHED, findings="自述有轻生念头", confirm="red")
        cases.note(WATCHED, "室友反映夜间哭泣")
        cases.guardian(WATCHED, who="母亲", content="家长同意陪同就医", consent="signed")
        cases.crisis(WATCHED, what="天台徘徊", parents_notified_at="today 01:00")
        cases.measure(WATCHED, kind="资助", description="临时困难补助")
        cases.status(WATCHED, "leave", reason="抑郁发作遵医嘱休学")
        school.reminder = cases.remind(WATCHED, due="+3d", note="期末前再约谈").task_id
    return school


def as_staff(env, name: str, role: str | None = None, *colleges: str) -> Center:
    """The center opened as ``name``, added first with ``role`` (and college scope) unless it is the admin."""
    if role is not None:
        env.add_staff(name, role, *colleges)
    key = env.admin_key if name == "admin" else env.tmp / f"{name}.key"
    return Center.open(env.path, credential_from_key_file(key), name)


def footprint(env) -> dict:
    """Everything a dossier operation could change, read as the admin."""
    with env.open() as store:
        return {
            "students": sorted((dict(s) for s in store.students.all()), key=lambda s: s["id"]),
            "entries": [e["id"] for e in store.entries.all()],
            "tasks": sorted((dict(t) for t in store.tasks.all()), key=lambda t: t["id"]),
            "watches": sorted((dict(w) for w in store.watches.all()), key=lambda w: w["id"]),
            "cadence": service.cadence(store),
        }


def interview_sheet(tmp_path, no: str = WATCHED):
    path = tmp_path / "约谈记录.csv"
    path.write_text(f"学号,姓名,约谈日期,约谈人,情况描述,评估等级\n{no},测试甲,{day(-1)},辅导员甲,情况稳定,黄色\n", encoding="utf-8")
    return path


# Everything that writes a dossier's timeline, level, status or tasks: counselors' work.
RECORDING = {
    "interview": lambda c, env: c.interview(WATCHED, findings="x", confirm="orange"),
    "level": lambda c, env: c.level(WATCHED, "orange", reason="x"),
    "note": lambda c, env: c.note(WATCHED, "x"),
    "measure": lambda c, env: c.measure(WATCHED, kind="资助", description="x"),
    "guardian": lambda c, env: c.guardian(WATCHED, who="父亲", content="x"),
    "crisis": lambda c, env: c.crisis(WATCHED, what="x", level="red"),
    "follow_up": lambda c, env: c.follow_up(WATCHED, content="x"),
    "close": lambda c, env: c.close(WATCHED, reason="x"),
    "reopen": lambda c, env: c.reopen(UNWATCHED, level="yellow", reason="x"),
    "status": lambda c, env: c.status(WATCHED, "return", without_certificate=True, reason="x"),
    "remind": lambda c, env: c.remind(WATCHED, due="+7d", note="x"),
    "done": lambda c, env: c.done(env.reminder),
    "import_interviews": lambda c, env: c.import_interviews(interview_sheet(env.tmp)),
    "graduate": lambda c, env: c.graduate(2024),
}


@pytest.mark.parametrize("operation", sorted(RECORDING))
def test_a_clerk_may_not_record(dossiers, operation):
    clerk = as_staff(dossiers, "clerk1", "clerk")
    before = footprint(dossiers)
    with clerk, pytest.raises(PermissionDenied, match="may not record entries"):
        RECORDING[operation](clerk.cases, dossiers)
    assert footprint(dossiers) == before
    denied = [e for e in audit(dossiers) if e["action"] == "denied"]
    assert denied[-1]["staff"] == "clerk1" and denied[-1]["details"]["reason"] == "permission:record"


def test_only_an_admin_changes_the_cadence(dossiers):
    before = footprint(dossiers)
    for name, role in (("clerk1", "clerk"), ("counselor1", "counselor")):
        with as_staff(dossiers, name, role) as center:
            assert center.cases.cadence() == {"red": 7, "orange": 14, "yellow": 30}
            with pytest.raises(PermissionDenied, match="manage staff"):
                center.cases.cadence(red=3)
    assert footprint(dossiers) == before


def test_the_services_behind_the_api_check_too(dossiers):
    """Store-level entry points a script might reach for instead of `center.cases` refuse a clerk alike."""
    before = footprint(dossiers)
    with as_staff(dossiers, "clerk1", "clerk") as clerk:
        store = clerk.store
        student = store.students.find(WATCHED)
        effects = model.record_interview(student, {"findings": "x", "confirmed_level": "none"}, today())
        with pytest.raises(PermissionDenied):
            service.record_effects(store, "cases.interview", student, effects, today())
        with pytest.raises(PermissionDenied):
            interviews.import_interviews(store, interview_sheet(dossiers.tmp))
        with pytest.raises(PermissionDenied):
            roster.graduate_class(store, 2024)
    assert footprint(dossiers) == before


def test_a_clerk_reads_no_clinical_content(dossiers, tmp_path):
    with as_staff(dossiers, "clerk1", "clerk") as clerk:
        d = clerk.cases.show(WATCHED)
        text = json.dumps(d, ensure_ascii=False)
        for secret in SECRETS:
            assert secret not in text
        assert "level_reason" not in d["student"]
        assert [i["kind"] for i in d["timeline"] if i["restricted"]] and all(i["fields"] is None for i in d["timeline"] if i["restricted"])
        assert d["measures"][0]["description"] == "临时困难补助" and d["tasks"]
        with pytest.raises(PermissionDenied, match="may not read clinical details"):
            clerk.cases.show(WATCHED, kinds=["note"])
        exported = clerk.cases.export(WATCHED, tmp_path / "d.xlsx", purpose="学院例会")
    import openpyxl

    workbook = openpyxl.load_workbook(exported.path)
    cells = "\n".join(str(v) for ws in workbook for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    assert "临时困难补助" in cells
    for secret in SECRETS:
        assert secret not in cells


# What reads or changes dossiers: none of it is an auditor's.
AUDITOR_REFUSED = {
    "show": lambda c, env: c.show(WATCHED),
    "list": lambda c, env: c.list(),
    "find": lambda c, env: c.find("测试"),
    "tasks": lambda c, env: c.tasks(),
    "check": lambda c, env: c.check(),
    "export": lambda c, env: c.export(WATCHED, env.tmp / "auditor.xlsx", purpose="x"),
    "add": lambda c, env: c.add("2024010099", name="测试戊", college="文学院"),
    "edit": lambda c, env: c.edit(WATCHED, dorm="1-101"),
    "import_roster": lambda c, env: c.import_roster(env.tmp / "roster.xlsx"),
}


@pytest.mark.parametrize("operation", sorted(AUDITOR_REFUSED))
def test_an_auditor_may_not_read_or_change_dossiers(dossiers, operation):
    before = footprint(dossiers)
    with as_staff(dossiers, "auditor1", "auditor") as auditor, pytest.raises(PermissionDenied):
        AUDITOR_REFUSED[operation](auditor.cases, dossiers)
    assert footprint(dossiers) == before
    assert not (dossiers.tmp / "auditor.xlsx").exists()
    assert [e for e in audit(dossiers) if e["action"] == "denied"][-1]["staff"] == "auditor1"


# What a counselor of 法学院 may not do to a student of 文学院.
# (An import or a graduation leaves other colleges' rows out rather than refusing.)
OUT_OF_SCOPE = {
    **{name: op for name, op in RECORDING.items() if name not in ("import_interviews", "graduate")},
    "show": lambda c, env: c.show(WATCHED),
    "export": lambda c, env: c.export(WATCHED, env.tmp / "scoped.xlsx"),
    "edit": lambda c, env: c.edit(WATCHED, dorm="1-101"),
    "move into scope": lambda c, env: c.edit("2024150001", college="文学院"),
    "add": lambda c, env: c.add("2024010099", name="测试戊", college="文学院"),
    "list": lambda c, env: c.list(college="文学院"),
    "check": lambda c, env: c.check(college="文学院"),
}


@pytest.mark.parametrize("operation", sorted(OUT_OF_SCOPE))
def test_a_counselor_scoped_to_another_college_may_not_record_or_read(dossiers, operation):
    add_student(dossiers.cli, "2024150001", "测试丁", "法学院", "法学2401")
    before = footprint(dossiers)
    with as_staff(dossiers, "law_counselor", "counselor", "法学院") as counselor, pytest.raises(PermissionDenied, match="limited to 法学院"):
        OUT_OF_SCOPE[operation](counselor.cases, dossiers)
    assert footprint(dossiers) == before
    assert not (dossiers.tmp / "scoped.xlsx").exists()
    denied = [e for e in audit(dossiers) if e["action"] == "denied"][-1]
    assert denied["staff"] == "law_counselor" and denied["details"]["reason"] == "scope:college"


def test_a_scoped_counselor_sees_and_records_only_their_college(dossiers):
    add_student(dossiers.cli, "2024150001", "测试丁", "法学院", "法学2401")
    with as_staff(dossiers, "law_counselor", "counselor", "法学院") as counselor:
        cases = counselor.cases
        assert [r["student_no"] for r in cases.find("测试")] == ["2024150001"]
        assert cases.list(include_unwatched=True)[0]["student_no"] == "2024150001" and len(cases.list(include_unwatched=True)) == 1
        assert cases.tasks() == []
        recorded = cases.interview("2024150001", findings="适应良好", confirm="yellow")
        assert recorded.kinds == ["interview", "level_change"]
        assert [r["student_no"] for r in cases.list()] == ["2024150001"]
        assert cases.show("2024150001")["student"]["level"] == "yellow"
