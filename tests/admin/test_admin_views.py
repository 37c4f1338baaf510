"""What the administration commands show a person: `info`, `staff list`, `audit log` in the reader's words and on the store's clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from mhtool.admin.domain.store_view import info_items
from mhtool.domain.dates import local_moment_text, utc_offset_text
from mhtool.domain.labels import label
from mhtool.store import schema

FACTS = {
    "store": "center.db",
    "store_id": "ab12",
    "schema_version": 6,
    "created_at": "2026-12-01T23:56:15.501218+00:00",
    "timezone": "Asia/Shanghai",
    "key_generation": 2,
    "rotation_in_progress": True,
    "staff": 3,
    "records": {"students": 12345, "audit": 7},
    "size_bytes": 30_048_256,
}


def test_each_fact_is_shown_under_its_label_on_the_stores_clock():
    items = dict(info_items(FACTS, "zh"))
    # 23:56 UTC is 07:56 the next morning in Beijing, the clock every other moment is shown on.
    assert items["创建时间"] == "2026-12-02 07:56"
    assert items["密钥轮换未完成"] == "是"
    assert items["文件大小"] == "28.7 MB"
    assert items["学生档案"] == "12,345"
    assert items["审计日志条目"] == "7"
    assert dict(info_items(FACTS, "en"))["Key rotation unfinished"] == "yes"


def test_a_store_in_another_zone_is_shown_on_its_own_clock():
    assert dict(info_items({**FACTS, "timezone": "Europe/London"}, "zh"))["创建时间"] == "2026-12-01 23:56"


def test_every_counted_table_has_a_label_in_both_languages():
    counted = [table for table in schema.SEALED_TABLES if table not in ("sealed_meta", "staff")]
    for lang in ("zh", "en"):
        shown = [label("record_table", table, lang) for table in counted]
        assert not set(shown) & set(counted), f"tables shown by their key in {lang}"
        assert len(set(shown)) == len(shown)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_info_at_the_command_line_reads_in_words_and_json_keeps_the_keys(store_env, lang):
    bare = type(store_env.cli)(env={"MHTOOL_STORE": str(store_env.path), "MHTOOL_LANG": lang, "FORCE_TERMINAL": "1", "MHTOOL_PAGER": "cat", "COLUMNS": "240"})
    text = bare.ok("info").stdout
    facts = json.loads(bare.ok("info", "--json").stdout)
    assert label("record_table", "students", lang) in text and "records.students" not in text and "rotation_in_progress" not in text
    assert label("store_field", "created_at", lang) in text and "T" not in text.split(label("store_field", "created_at", lang))[1].splitlines()[0]
    assert set(facts) >= {"store_id", "created_at", "timezone", "records", "rotation_in_progress"} and facts["timezone"] == "Asia/Shanghai"


def test_staff_list_names_slot_kinds_and_colleges_in_the_readers_words(store_env, tmp_path):
    store_env.cli.ok("staff", "add", "wl", "--role", "counselor", "--college", "文学院", "--college", "法学院", "--key-file", tmp_path / "wl.key")
    secret = tmp_path / "pp"
    secret.write_text("a long enough passphrase\n")
    store_env.cli.ok("staff", "add", "lq", "--role", "clerk", env={"MHTOOL_NEW_PASSPHRASE_FILE": str(secret)})
    piped = {line.split("\t")[0]: line.split("\t") for line in store_env.cli.ok("staff", "list").stdout.splitlines()}
    assert piped["wl"][3:5] == ["文学院、法学院", "密钥文件"] and piped["lq"][4] == "口令（Argon2id）"
    at_terminal = store_env.cli.ok("staff", "list", env={"MHTOOL_LANG": "en", "FORCE_TERMINAL": "1", "MHTOOL_PAGER": "cat", "COLUMNS": "200"}).stdout
    assert "passphrase (Argon2id)" in at_terminal and "文学院, 法学院" in at_terminal and "Key slots" in at_terminal and "keyfile" not in at_terminal
    assert {s["name"]: s["slots"] for s in json.loads(store_env.cli.ok("staff", "list", "--json").stdout)}["lq"] == ["argon2id"]


def test_recorded_utc_moments_are_shown_on_the_stores_clock():
    assert local_moment_text("2026-12-01T23:56:15.501218+00:00", "Asia/Shanghai", seconds=True) == "2026-12-02 07:56:15"
    assert local_moment_text("2026-07-01T00:00:00+00:00", "Europe/London") == "2026-07-01 01:00"
    assert local_moment_text("2026-11-05T09:00:00", "Asia/Shanghai") == "2026-11-05 09:00"  # no zone: as recorded
    assert local_moment_text("not a moment", "Asia/Shanghai") == "not a moment"
    assert utc_offset_text("Asia/Shanghai", ["2026-12-01T23:56:15+00:00"]) == "UTC+8"
    assert utc_offset_text("Asia/Kolkata", ["2026-01-01T00:00:00+00:00"]) == "UTC+5:30"
    assert utc_offset_text("America/New_York", ["2026-01-01T00:00:00+00:00"]) == "UTC-5"
    # Summer and winter entries in one list: no single offset is true of all of them.
    assert utc_offset_text("Europe/London", ["2026-01-01T00:00:00+00:00", "2026-07-01T00:00:00+00:00"]) == "Europe/London"


def test_audit_log_shows_each_entry_on_the_stores_clock_and_json_keeps_utc(store_env):
    entries = json.loads(store_env.cli.ok("audit", "log", "--json").stdout)
    table = store_env.cli.ok("audit", "log", env={"MHTOOL_LANG": "zh"}).stdout.splitlines()
    assert table[0].split("\t")[1] == "时间（UTC+8）"
    # Piped, the headers are Chinese like the rest of the table, whatever the reader's language.
    assert store_env.cli.ok("audit", "log", env={"MHTOOL_LANG": "en"}).stdout.splitlines()[0].split("\t")[1:] == ["时间（UTC+8）", "工作人员", "操作", "涉及记录"]
    shown = {int(line.split("\t")[0]): line.split("\t")[1] for line in table[1:]}
    for entry in entries:
        assert entry["at"].endswith("+00:00")
        utc = datetime.fromisoformat(entry["at"])
        assert shown[entry["seq"]] == (utc + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")


def test_settings_show_each_setting_with_what_it_is_and_its_value_in_words(store_env):
    from mhtool.admin.domain.settings_view import settings_rows

    rows = {r["key"]: r for r in settings_rows({"cadence": {"yellow": 30, "red": 7}, "purpose_required_roles": [], "retention_years": 5,
                                                  "center_name": None, "signal_rules": {}, "screening_policy": {"upi": {"red": ["item25"]}}}, "zh")}
    assert rows["cadence"]["value"] == "一级(红色) 7 天、三级(黄色) 30 天"  # the glossary's order, whatever the stored order
    assert rows["purpose_required_roles"]["value"] == "无" and rows["retention_years"]["value"] == "5 年"
    assert rows["center_name"]["value"] == "未设置" and rows["signal_rules"]["value"] == "内置默认"
    assert rows["screening_policy"]["value"] == '{"upi": {"red": ["item25"]}}' and rows["cadence"]["what"] == "随访周期"

    store_env.cli.ok("settings", "set", "center_name", "示例大学心理健康教育中心")
    table = {line.split("\t")[0]: line.split("\t") for line in store_env.cli.ok("settings", "show").stdout.splitlines()}
    assert table["设置"] == ["设置", "说明", "值"]
    assert table["center_name"][1:] == ["中心名称（报表页眉）", "示例大学心理健康教育中心"] and table["term_first_monday"][2] == "未设置"
    assert table["purpose_required_roles"][2] == "文员"
    # Every setting the store has is explained, and JSON keeps the values as they are.
    as_json = json.loads(store_env.cli.ok("settings", "show", "--json").stdout)
    assert set(table) - {"设置"} == set(as_json) and all(row[1] for row in table.values())
    assert as_json["cadence"] == {"red": 7, "orange": 14, "yellow": 30} and as_json["center_name"] == "示例大学心理健康教育中心"
