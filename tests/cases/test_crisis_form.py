"""The crisis form (危机事件随时报告): 事件日期, 事件类型, 风险等级, 报告单位, the report upward,
and one 家长知悉时间 taken from the notification record; Chinese or English throughout.

Crises are recorded with `mhtool cases crisis` as a counselor types them, and the
form is read back from the workbook `mhtool report crisis` writes.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from casekit import add_student, today

from mhtool.app.center import Center, credential_from_key_file

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
STUDENT = "2024010001"


def _when(days_ago: int, hhmm: str) -> str:
    return f"{(today() - timedelta(days=days_ago)).isoformat()} {hhmm}"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _form(path) -> dict:
    """Label → value of the form sheet (the first sheet), and its title cell under ``"_title"``."""
    ws = openpyxl.load_workbook(path).worksheets[0]
    form = {r[0]: r[1] for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}
    form["_title"] = ws.cell(1, 1).value
    return form


def _entry_id(result) -> str:
    return result.stdout.split()[0]


def _report(env, eid: str, tmp_path, *extra: str):
    """Write the crisis report of ``eid`` to a file and return its path."""
    path = tmp_path / f"crisis{'_'.join(extra)}.xlsx"
    env.cli.ok("report", "crisis", eid, *extra, "--out", path)
    return path


@pytest.fixture
def recorded(school):
    """A crisis whose parents were told through --notified (no --parents-notified-at), reported upward by phone."""
    result = school.cli.ok(
        "cases", "crisis", STUDENT, "--what", "深夜在宿舍情绪崩溃，称不想活了", "--where", "西区3-402",
        "--type", "自伤/自杀意念", "--risk", "high", "--happened-at", _when(3, "22:50"), "--actions", "辅导员与咨询师到场陪伴",
        "--notified", f"家长@{_when(3, '23:40')}", "--notified", f"学院副书记@{_when(3, '23:55')}",
        "--reported-to", "学生工作部值班领导", "--reported-at", _when(3, "23:50"), "--reported-how", "电话",
    )
    return school, result


def test_a_parent_in_notified_is_when_the_parents_knew(recorded, tmp_path):
    env, result = recorded
    # Recording agrees with the form: no warning that the parents were not told.
    assert "parents" not in result.stderr
    path = _report(env, _entry_id(result), tmp_path)
    form = _form(path)
    assert form["家长知悉时间"] == _at(_when(3, "23:40"))
    assert form["家长"] == _at(_when(3, "23:40"))  # the same notice, shown once as such
    assert form["时限"] == "24小时内已通知家长"
    text = " ".join(str(v) for v in form.values())
    assert "尚未记录家长知悉时间" not in text


def test_the_form_has_the_fields_an_office_expects(recorded, tmp_path):
    env, result = recorded
    path = _report(env, _entry_id(result), tmp_path)
    form = _form(path)
    # The header names the event's day, not a reporting period.
    assert "统计周期" not in form["_title"]
    assert form["事件日期"].date() == today() - timedelta(days=3)
    assert form["报告单位"] == "心理健康教育与咨询中心"  # no center name set: the generic name, never a blank
    assert form["事件类型"] == "自伤/自杀意念" and form["风险等级"] == "高风险"
    # The report upward: to whom, when and how.
    assert form["报告对象"] == "学生工作部值班领导"
    assert form["报告时间"] == _at(_when(3, "23:50"))
    assert form["报告方式"] == "电话"
    assert "向上级报告" in form  # the section
    # No machine-joined strings anywhere on the form or the records sheet.
    wb = openpyxl.load_workbook(path)
    cells = [str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert not [c for c in cells if "@" in c or "self_harm" in c or "high" in c]
    log = " ".join(cells)
    assert "已通知 家长" in log and "已报告 学生工作部值班领导（电话）" in log

    data = json.loads(env.cli.ok("report", "crisis", _entry_id(result), "--json").stdout)
    assert data["period"] is None and data["meta"]["event_date"] == (today() - timedelta(days=3)).isoformat()
    assert data["meta"]["event_type"] == "self_harm_ideation" and data["meta"]["risk"] == "high"


def test_a_center_name_is_the_reporting_unit(recorded, tmp_path):
    env, result = recorded
    with env.open() as store, store.write("test.settings") as txn:
        store.update_settings(txn, {"center_name": "示例大学心理健康教育与咨询中心"})
    path = _report(env, _entry_id(result), tmp_path)
    assert _form(path)["报告单位"] == "示例大学心理健康教育与咨询中心"


def test_nothing_recorded_reads_as_one_sentence(school, tmp_path):
    result = school.cli.ok("cases", "crisis", STUDENT, "--what", "课堂上情绪失控", "--happened-at", _when(1, "10:00"))
    assert "parents (家长) not yet recorded" in result.stderr
    form = _form(_report(school, _entry_id(result), tmp_path))
    assert form["家长知悉时间"] is None and form["时限"] == "尚未记录家长知悉时间"
    assert form["向上级报告"] == "尚未记录向上级报告情况"
    assert "报告对象" not in form


def test_a_correction_keeps_the_classification_and_adds_the_report_upward(school, tmp_path):
    first = school.cli.ok("cases", "crisis", STUDENT, "--what", "宿舍冲突", "--type", "violence", "--risk", "中风险", "--happened-at", _when(2, "20:00"))
    fixed = school.cli.ok(
        "cases", "crisis", STUDENT, "--corrects", _entry_id(first)[:8], "--reported-to", "保卫处", "--reported-at", _when(2, "20:30"), "--reported-how", "当面"
    )
    assert fixed.exit_code == 0
    form = _form(_report(school, _entry_id(first), tmp_path))
    assert form["事件类型"] == "暴力伤人或冲突" and form["风险等级"] == "中风险" and form["报告对象"] == "保卫处"


def test_wrong_values_are_refused_naming_the_option(school):
    bad_type = school.cli("cases", "crisis", STUDENT, "--what", "x", "--type", "fight")
    assert bad_type.exit_code == 2 and "--type" in bad_type.stderr and "self_harm" in bad_type.stderr
    bad_risk = school.cli("cases", "crisis", STUDENT, "--what", "x", "--risk", "extreme")
    assert bad_risk.exit_code == 2 and "--risk" in bad_risk.stderr
    early = school.cli("cases", "crisis", STUDENT, "--what", "x", "--happened-at", _when(1, "22:00"), "--reported-at", _when(1, "21:00"))
    assert early.exit_code == 2 and "--reported-at" in early.stderr


def test_new_options_have_help_with_an_example(cli):
    import typer

    from mhtool.cases.cli import app

    assert "--reported-how" in cli.ok("cases", "crisis", "--help").stdout
    crisis = typer.main.get_command(app).commands["crisis"]
    helps = {opt: p.help for p in crisis.params for opt in getattr(p, "opts", ())}
    for option in ("--type", "--risk", "--reported-to", "--reported-at", "--reported-how"):
        assert f"e.g. {option} " in helps[option], option


def test_the_python_api_takes_the_same_fields(school, tmp_path):
    with Center.open(school.path, credential_from_key_file(school.admin_key), "admin") as center:
        recorded = center.cases.crisis(
            STUDENT, what="自伤", event_type="self_harm", risk="low", happened_at=_when(1, "08:00"),
            parents_notified_at=_when(1, "09:00"), reported_to="学工部", reported_at=_when(1, "08:30"), reported_how="书面",
        )
        assert recorded.warnings == []
        report = center.reports.crisis(recorded.entry_ids[0], lang="en").report
    fields = {r["key"]: r["value"] for r in report.sheet("crisis").records()}
    assert fields["event_type"] == "self-harm" and fields["risk"] == "low risk"
    assert fields["reported_to"] == "学工部" and fields["reported_how"] == "书面"


def test_english_throughout(recorded, tmp_path):
    env, result = recorded
    path = _report(env, _entry_id(result), tmp_path, "--lang", "en")
    form = _form(path)
    typed_who = {"家长", "学院副书记"}  # who was notified is shown as typed
    assert not [label for label in form if label not in typed_who and CJK.search(str(label))]
    assert form["Reporting unit"] == "Mental-health education and counseling center"
    assert form["Type of event"] == "self-harm or suicidal ideation" and form["Risk level"] == "high risk"
    assert form["Deadline"] == "parents notified within 24 hours"
    assert form["Parents notified at"] == _at(_when(3, "23:40"))
    assert form["Reported to"] == "学生工作部值班领导" and form["Reported how"] == "电话"
    assert "Period" not in form["_title"] and not CJK.search(form["_title"])
    log = openpyxl.load_workbook(path).worksheets[1]
    summary = next(r[3] for r in log.iter_rows(min_row=3, values_only=True) if r[1] == "crisis")
    # The counselor's words stay as typed; every word mhtool adds is English.
    assert "type self-harm or suicidal ideation" in summary and "reported to 学生工作部值班领导 (电话)" in summary
    assert not CJK.search(re.sub("深夜在宿舍情绪崩溃，称不想活了|西区3-402|辅导员与咨询师到场陪伴|家长|学院副书记|学生工作部值班领导|电话", "", summary))
