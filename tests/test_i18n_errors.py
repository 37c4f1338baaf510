"""Every class of error, said in Chinese with its hint, under the documented exit code.

One scenario per exit code (1 error, 2 usage, 3 bad input, 4 authentication,
5 permission, 130 interrupted), each on a real store, run once with a Chinese
locale and once in English, to show that the Chinese is a translation of the
same message rather than a different path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

from tests.test_i18n import english_sentences

ZH = {"MHTOOL_LANG": None, "LANG": "zh_CN.UTF-8"}
EN = {"MHTOOL_LANG": None, "LANG": "C"}
STUDENT = "2024010001"


@pytest.fixture
def center(store_env):
    store_env.cli.ok("cases", "add", STUDENT, "--name", "林小雨", "--college", "法学院")
    store_env.clerk = store_env.add_staff("liqing", "clerk")
    return store_env


def _said(result) -> tuple[str, str]:
    """The error line and the hint line of a failed command."""
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    error = next((line for line in lines if line.startswith(("错误：", "error:"))), "")
    hint = next((line for line in lines if line.startswith(("提示：", "hint:"))), "")
    return error, hint


def _assert_chinese(result, code: int) -> tuple[str, str]:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    error, hint = _said(result)
    assert error.startswith("错误："), result.stderr
    assert hint.startswith("提示："), result.stderr
    assert not english_sentences(error + "\n" + hint), (error, hint)
    assert "Traceback" not in result.stderr
    return error, hint


def _assert_english(result, code: int) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    error, hint = _said(result)
    assert error.startswith("error:") and hint.startswith("hint:"), result.stderr


def test_exit_1_not_found(center):
    for env, check in ((ZH, _assert_chinese), (EN, _assert_english)):
        result = center.cli("cases", "show", "20249999", env=env)
        check(result, 1)
    error, hint = _assert_chinese(center.cli("cases", "show", "20249999", env=ZH), 1)
    assert "20249999" in error and "`mhtool cases find TEXT`" in hint


def test_exit_1_no_store(center, tmp_path):
    error, hint = _assert_chinese(center.cli("--store", str(tmp_path / "none.db"), "cases", "list", env=ZH), 1)
    assert str(tmp_path / "none.db") in error and "`mhtool init --admin NAME`" in hint


def test_exit_2_a_flag_value_the_parser_refuses(center):
    error, hint = _assert_chinese(center.cli("cases", "level", STUDENT, "purple", env=ZH), 2)
    assert "purple" in error and "red" in hint
    _assert_english(center.cli("cases", "level", STUDENT, "purple", env=EN), 2)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["cases", "interview"], "STUDENT"),
        (["demo", "--students", "abc"], "--students"),
        (["demo", "--students", "3"], "--students"),
        (["cases", "show", STUDENT, "--bogus"], "--bogus"),
        (["cases", "nosuch"], "nosuch"),
        # Typer's suggestion comes in the same language: 没有此命令：shw；是否要用 show？
        (["cases", "shw"], "是否要用 show"),
        (["survey", "batches", "extra"], "多余的参数：extra"),
    ],
)
def test_exit_2_typers_own_usage_errors_in_chinese(center, args, named):
    result = center.cli(*args, env=ZH)
    error, hint = _assert_chinese(result, 2)
    assert named in error
    assert "-h`" in hint
    english = center.cli(*args, env=EN)
    assert english.exit_code == 2 and "Error:" in english.stderr


def test_exit_3_bad_rows_named_by_sheet_row_and_column(center, tmp_path):
    export = tmp_path / "phq9.csv"
    header = "学号,姓名," + ",".join(f"第{i}题" for i in range(1, 10))
    rows = [f"{STUDENT},林小雨," + ",".join(["1"] * 9), "2024010002,王一," + ",".join(["1"] * 8 + ["7"])]
    export.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = center.cli("survey", "import", str(export), "--instrument", "phq9", env=ZH)
    assert result.exit_code == 3, result.stderr
    error, _hint = _said(result)
    assert error.startswith("错误：")
    assert "第 3 行" in result.stderr and "第9题" in result.stderr, result.stderr
    assert not english_sentences(result.stderr.replace(str(export), "")), result.stderr


def test_exit_3_a_file_that_is_no_export(center, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    _assert_chinese(center.cli("survey", "import", str(bad), "--instrument", "phq9", env=ZH), 3)
    _assert_english(center.cli("survey", "import", str(bad), "--instrument", "phq9", env=EN), 3)


def test_exit_4_no_credential(center):
    env = {**ZH, "MHTOOL_KEY_FILE": None}
    error, hint = _assert_chinese(center.cli("cases", "list", env=env), 4)
    assert "MHTOOL_KEY_FILE" in error and "MHTOOL_PASSPHRASE_FILE" in hint


def test_exit_4_a_key_that_opens_nothing(center, tmp_path):
    from mhtool.store import crypto

    stranger = tmp_path / "stranger.key"
    crypto.write_key_file(stranger)
    _assert_chinese(center.cli("cases", "list", env={**ZH, "MHTOOL_KEY_FILE": str(stranger)}), 4)


def test_exit_5_a_clerk_may_not_record_an_interview(center):
    error, hint = _assert_chinese(center.clerk("cases", "interview", STUDENT, "--findings", "x", env=ZH), 5)
    assert "liqing" in error
    _assert_english(center.clerk("cases", "interview", STUDENT, "--findings", "x", env=EN), 5)


def test_exit_130_ctrl_c_at_the_passphrase_prompt(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MHTOOL_", "LC_"))}
    env.update(LANG="zh_CN.UTF-8", TERM="xterm", NO_COLOR="1", MHTOOL_STORE=str(tmp_path / "s.db"))
    child = pexpect.spawn(sys.executable, ["-m", "mhtool", "init", "--admin", "wangli"], env=env, encoding="utf-8", timeout=30, dimensions=(30, 100))
    child.expect("口令")
    child.sendcontrol("c")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130, child.before
    assert "错误：" in child.before and "提示：" in child.before, child.before
    assert not Path(tmp_path / "s.db").exists()
