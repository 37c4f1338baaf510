"""The CLI conventions of DESIGN.md, checked on the real command."""

from __future__ import annotations

import json
import subprocess
import sys


def test_help_lists_every_group(cli):
    out = cli.ok("--help").stdout
    for group in ("survey", "cases", "referral", "report", "staff", "audit", "export", "retention", "init", "demo", "backup", "restore"):
        assert group in out
    assert "Exit codes" in out


def test_json_lists_are_valid_and_empty_when_nothing(store_env):
    for args in (("cases", "list"), ("cases", "tasks"), ("survey", "batches"), ("referral", "list"), ("referral", "hospitals", "list")):
        assert json.loads(store_env.cli.ok(*args, "--json").stdout) == [], args


def test_usage_errors_exit_2_and_name_the_option(store_env):
    result = store_env.cli("cases", "level", "2024010001", "red")
    assert result.exit_code in (1, 2)
    missing = store_env.cli("survey", "import", "x.xlsx")
    assert missing.exit_code == 2 and "--instrument" in missing.stderr


def test_no_traceback_without_debug_and_one_with_it(store_env):
    store_env.path.write_bytes(b"not a database at all" * 100)
    result = store_env.cli("cases", "list")
    assert result.exit_code == 1 and "Traceback" not in result.stderr and "not an mhtool store" in result.stderr


def test_messages_go_to_stderr_and_data_to_stdout(store_env, tmp_path):
    result = store_env.cli.ok("backup", tmp_path / "b.db")
    assert result.stdout.strip() == str(tmp_path / "b.db")
    assert "backup written" in result.stderr and "backup written" not in result.stdout


def test_a_broken_pipe_ends_quietly(store_env, tmp_path):
    with store_env.open() as store, store.write("test.fill") as txn:
        for i in range(1500):  # more output than a pipe buffer holds
            store._append_audit("test.read", [f"students/{i:016x}"], {})
    env = {"MHTOOL_STORE": str(store_env.path), "MHTOOL_KEY_FILE": str(store_env.admin_key), "MHTOOL_USER": "admin", "PATH": "/usr/bin:/bin"}
    # Bytes: ten bytes of a Chinese header end inside a character.
    proc = subprocess.run(f"{sys.executable} -m mhtool audit log --limit 0 | head -c 10", shell=True, env=env, capture_output=True)
    stderr = proc.stderr.decode("utf-8", "replace")
    assert len(proc.stdout) == 10 and "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_a_piped_dossier_is_plain_lines_and_a_terminal_gets_the_panel(store_env):
    cli = store_env.cli
    cli.ok("cases", "add", "2024010001", "--name", "测试甲", "--college", "文学院", "--class", "汉语言2401")
    cli.ok("cases", "note", "2024010001", "--text", "第一行\n第二行\t[red]原样[/red]")
    piped = cli.ok("cases", "show", "2024010001").stdout.splitlines()
    # Read by scripts: Chinese labels, no box drawing, header fields as label<TAB>value, the timeline tab-separated.
    assert piped[0] == "学生心理档案" and piped[1].startswith("测试甲  2024010001")
    assert "学院\t文学院" in piped and not any(ch in "\n".join(piped) for ch in "╭│╰")
    head = piped.index("日期\t类型\t记录人\t内容\t#")
    [note] = [line for line in piped[head + 1 :] if "第一行" in line]
    assert note.split("\t")[1:4] == ["记录", "admin", "第一行 第二行 [red]原样[/red]"]
    panel = cli.ok("cases", "show", "2024010001", env={"FORCE_TERMINAL": "1", "MHTOOL_LANG": "zh"}).stdout
    assert "╭" in panel and "学生心理档案" in panel and "[red]原样[/red]" in panel
