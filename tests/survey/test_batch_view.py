"""`survey batch` and `survey batches` as a person reads them: labels, local times, level and band names."""

from __future__ import annotations

import json

from mhtool.domain.dates import moment_text
from mhtool.survey.domain.batch_view import batch_items, batch_line
from tests.survey.export_factory import YES_NO, labels, make_students, write_wjx_xlsx

UPI_NAMES = {"name": "UPI", "bands": {"A": {"zh": "A类", "en": "A"}, "B": {"zh": "B类", "en": "B"}, "C": {"zh": "C类", "en": "C"}}}


def _detail(**changes) -> dict:
    detail = {
        "id": "e37c89ede6180c2b",
        "name": "2026秋季普查",
        "instrument": "upi",
        "version": "1.0",
        "file": "upi.xlsx",
        "sheet": "Sheet1",
        "profile": "wjx",
        "answer_mode": "position",
        "imported_at": "2026-11-05T09:07:33+08:00",
        "imported_on": "2026-11-05",
        "imported_by": "admin",
        "rows": 12,
        "imported": 11,
        "superseded": 0,
        "rejected": 1,
        "cohort": [],
        "proposed": {"yellow": 3, "red": 1},
        "proposed_levels": {"none": 7, "red": 1, "yellow": 3},
        "bands": {"C": 7, "A": 1, "B": 3},
        "colleges": {"法学院": 4, "文学院": 7},
        "voided": False,
    }
    return {**detail, **changes}


def test_each_fact_is_labelled_and_read_as_words():
    items = dict(batch_items(_detail(), "zh", UPI_NAMES))
    assert items["导入时间"] == "2026-11-05 09:07"
    assert items["选项读取方式"] == "按选项序号"
    assert items["量表"] == "UPI"
    # Levels in the glossary's order, however the counts were stored; bands in the instrument's order.
    assert items["导入时建议关注"] == "一级(红色) 1、三级(黄色) 3"
    assert items["建议关注等级人数"] == "一级(红色) 1、三级(黄色) 3、无 7"
    assert items["分级人数"] == "A类 1、B类 3、C类 7"
    assert items["各学院人数"] == "文学院 7、法学院 4"
    assert items["已作废"] == "否"
    assert items["应参与年级"].startswith("未知")
    # The day of the import is in its time; the content key is never shown.
    assert "imported_on" not in items and "导入日期" not in items
    assert list(items)[:3] == ["批次编号", "名称", "量表"]


def test_english_labels_and_facts_the_view_does_not_know_yet():
    detail = _detail(
        voided=True, void_reason="wrong file", voided_at="2026-11-06T10:00:00+08:00", cohort=["2026级"], content_key="abc:upi",
        rescored=[{"at": "2026-11-20T14:05:09+08:00", "by": "admin", "version": "1.1"}], checked_by="someone",
    )  # fmt: skip
    items = dict(batch_items(detail, "en", UPI_NAMES))
    assert items["Void"] == "yes" and items["Reason voided"] == "wrong file" and items["Voided at"] == "2026-11-06 10:00"
    assert items["Expected cohort"] == "2026级"
    assert items["Rescored"] == "2026-11-20 14:05 by admin (version 1.1)"
    assert items["By band"] == "A 1, B 3, C 7"
    # A fact added later shows under its own name rather than being dropped.
    assert items["checked_by"] == "someone"
    assert "abc:upi" not in items.values()


def test_without_the_instruments_words_codes_still_show():
    items = dict(batch_items(_detail(), "zh"))
    assert items["量表"] == "UPI" and items["分级人数"] == "A 1、B 3、C 7"


def test_times_that_are_not_iso_are_shown_as_stored():
    assert moment_text("2026-11-05T09:00:00+08:00") == "2026-11-05 09:00"
    assert moment_text("yesterday") == "yesterday"
    line = batch_line({"id": "x", "imported_at": "2026-11-05T09:00:00+08:00", "voided": True, "imported": 3}, "zh")
    assert line == {"id": "x", "imported_at": "2026-11-05 09:00", "voided": "是", "imported": 3}


def test_the_commands_show_the_view_and_json_keeps_the_codes(store_env, tmp_path):
    students = make_students(12, seed=7)
    answers = [[0] * 60 for _ in students]
    answers[0][24] = 1  # item 25: critical → red
    path = write_wjx_xlsx(tmp_path / "upi.xlsx", students, labels(answers, YES_NO))
    batch = json.loads(store_env.cli.ok("survey", "import", path, "-i", "upi", "--json").stdout)["batch"]

    shown = dict(line.split("\t", 1) for line in store_env.cli.ok("survey", "batch", batch[:6]).stdout.splitlines()[1:])
    detail = json.loads(store_env.cli.ok("survey", "batch", batch[:6], "--json").stdout)
    assert shown["导入时间"] == moment_text(detail["imported_at"]) and "T" not in shown["导入时间"]
    assert shown["建议关注等级人数"] == f"一级(红色) 1、无 {len(students) - 1}"
    assert shown["已作废"] == "否" and detail["voided"] is False
    assert shown["分级人数"].startswith("A类 1")  # the band's name from the instrument's own file

    store_env.cli.ok("survey", "void", batch, "--reason", "导错了文件")
    (row,) = [line.split("\t") for line in store_env.cli.ok("survey", "batches").stdout.splitlines()[1:]]
    assert row[0] == batch and row[4] == moment_text(detail["imported_at"]) and row[-1] == "是"
    shown = dict(line.split("\t", 1) for line in store_env.cli.ok("survey", "batch", batch).stdout.splitlines()[1:])
    assert shown["已作废"] == "是" and shown["作废原因"] == "导错了文件" and shown["作废人"] == "admin"
    assert json.loads(store_env.cli.ok("survey", "batches", "--json").stdout)[0]["voided"] is True
