"""Tables on a real terminal (a pseudo-terminal): aligned by display width, long ones paged, pipes untouched.

Nothing is mocked: the real `mhtool` runs under pexpect on a store of 300
made-up students (a roster import) of whom 12 are watched, with a class
network of 2,000 peer monitors (more text than a pipe holds). The pagers are
small scripts named through MHTOOL_PAGER, as a counselor would name `less`:
one records what it was given, one leaves after the first line as `q` does,
one waits for a key while Ctrl-C is pressed.
"""

from __future__ import annotations

import csv
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from mhtool.domain.labels import label
from tests.conftest import Cli
from tests.console.ptykit import spawn_mhtool, terminal_env
from tests.console.tablekit import columns_of, read_table, squashed

STUDENTS = 300
MONITORS = 2_000
WATCHED = {f"2024{i:06d}": ("red", "orange", "yellow")[i % 3] for i in range(12)}
COLLEGES = ["文学院", "化学化工学院", "理学院", "Foreign Languages"]
SCREEN = (10, 160)  # rows, columns: 12 watched students are more than a screen

RECORDER = """
import shutil, sys
with open(sys.argv[1], "wb") as out:
    shutil.copyfileobj(sys.stdin.buffer, out)
"""
# Reads the first line, as `less` reads a screen, and leaves (the reader pressed q).
QUITTER = """
import sys
sys.stdin.buffer.readline()
print("pager: quit")
"""
# Takes everything, then waits for a key on the terminal; Ctrl-C meanwhile is its to handle.
WAITER = """
import shutil, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
with open(sys.argv[1], "wb") as out:
    shutil.copyfileobj(sys.stdin.buffer, out)
print("pager: waiting", flush=True)
with open("/dev/tty") as tty:
    tty.readline()
print("pager: done", flush=True)
"""


class School:
    def __init__(self, root: Path):
        self.root = root
        self.store, self.key = root / "store.db", root / "admin.key"
        Cli(env={"MHTOOL_STORE": str(self.store)}).ok("init", "--admin", "admin", "--key-file", str(self.key))
        self.cli = Cli(env={"MHTOOL_STORE": str(self.store), "MHTOOL_KEY_FILE": str(self.key), "MHTOOL_USER": "admin", "MHTOOL_LANG": "zh"})
        roster = root / "roster.csv"
        with roster.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["学号", "姓名", "学院", "班级"])
            for i in range(STUDENTS):
                name = "赵钱孙李周吴"[i % 6] + "一二三四五"[i % 5] + ("甲乙" if i % 3 else "")
                writer.writerow([f"2024{i:06d}", name, COLLEGES[i % 4], f"班级{i % 7}" if i % 4 != 3 else f"Class {i % 7}"])
        self.cli.ok("cases", "import-roster", str(roster))
        network = root / "network.csv"
        with network.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["学院", "班级", "角色", "学号", "姓名", "电话"])
            for i in range(MONITORS):
                writer.writerow([COLLEGES[i % 4], f"班{i}", "心理委员", f"2025{i:06d}", "赵钱孙李"[i % 4] + "一二三四五"[i % 5], f"138{i:08d}"])
        self.cli.ok("network", "import", str(network))
        for no, level in WATCHED.items():
            self.cli.ok("cases", "level", no, level, "--reason", "约谈确认")

    def pager(self, script: str, name: str) -> tuple[str, Path]:
        """A MHTOOL_PAGER value running ``script``, and the file it records to."""
        path = self.root / f"{name}.py"
        path.write_text(script, "utf-8")
        out = self.root / f"{name}.out"
        out.unlink(missing_ok=True)
        return f"{shlex.quote(sys.executable)} {shlex.quote(str(path))} {shlex.quote(str(out))}", out

    def env(self, **extra: str | None) -> dict:
        return terminal_env(self.root, self.store, self.key, "admin", "zh", **extra)

    def spawn(self, *args: str, screen=SCREEN, **extra: str | None):
        return spawn_mhtool(self.env(**extra), *args, dimensions=screen)


@pytest.fixture(scope="module")
def school(tmp_path_factory) -> School:
    return School(tmp_path_factory.mktemp("tables"))


def finish(child) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def piped(school: School, *args: str) -> tuple[list[str], list[list[str]]]:
    lines = school.cli.ok(*args).stdout.splitlines()
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


@pytest.mark.parametrize(("command", "rows"), [(("network", "list"), MONITORS), (("cases", "find", "2024"), 200)])
def test_a_long_list_is_paged_and_says_what_the_pipe_says(school, command, rows):
    pager, recorded = school.pager(RECORDER, "recorder")
    status, shown = finish(school.spawn(*command, MHTOOL_PAGER=pager))
    assert status == 0, shown
    assert "138000000" not in shown and "202400000" not in shown  # all of it went to the pager
    text = recorded.read_text("utf-8")
    assert "\x1b" not in text  # NO_COLOR
    assert read_table(text) == piped(school, *command)
    assert len(read_table(text)[1]) == rows


def test_the_watch_list_keeps_its_colours_in_the_pager(school):
    pager, recorded = school.pager(RECORDER, "colours")
    status, shown = finish(school.spawn("cases", "list", MHTOOL_PAGER=pager, NO_COLOR=None))
    assert status == 0, shown
    text = recorded.read_text("utf-8")
    assert f"\x1b[1;31m{label('level', 'red', 'zh')}\x1b[0m" in text
    assert f"\x1b[1;38;5;208m{label('level', 'orange', 'zh')}\x1b[0m" in text
    assert f"\x1b[33m{label('level', 'yellow', 'zh')}\x1b[0m" in text
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert read_table(plain) == piped(school, "cases", "list")


def test_no_color_means_no_escape_codes_at_all(school):
    status, shown = finish(school.spawn("cases", "list", screen=(40, 160), MHTOOL_PAGER=""))
    assert status == 0, shown
    assert "\x1b" not in shown
    assert read_table(shown) == piped(school, "cases", "list")


def test_chinese_columns_align_on_a_narrow_terminal_and_nothing_is_cut(school):
    status, shown = finish(school.spawn("cases", "list", screen=(40, 72), MHTOOL_PAGER=""))
    assert status == 0, shown
    lines = [line for line in shown.replace("\r", "").split("\n") if line]
    assert max(len(columns_of(line)) for line in lines) <= 72, shown
    assert len(lines) > 2 + len(WATCHED)  # the table had to wrap
    assert squashed(read_table(shown)) == squashed(piped(school, "cases", "list"))
    assert all(no in shown for no in WATCHED)  # student numbers are not broken while words can be


def test_quitting_the_pager_early_ends_the_command_quietly(school):
    pager, _ = school.pager(QUITTER, "quitter")
    assert len(school.cli.ok("network", "list").stdout.encode()) > 2 * 65536  # more than a pipe holds
    status, shown = finish(school.spawn("network", "list", MHTOOL_PAGER=pager))
    assert "pager: quit" in shown
    assert status == 0, shown
    assert "Traceback" not in shown and "Broken pipe" not in shown and "错误" not in shown and "error" not in shown.lower()


def test_ctrl_c_while_the_pager_shows_the_list_is_the_pagers(school):
    pager, recorded = school.pager(WAITER, "waiter")
    child = school.spawn("cases", "list", MHTOOL_PAGER=pager)
    child.expect_exact("pager: waiting")
    child.sendintr()
    child.send("q\r")
    child.expect_exact("pager: done")
    status, shown = finish(child)
    assert status == 0, shown
    assert read_table(recorded.read_text("utf-8")) == piped(school, "cases", "list")


def test_a_table_that_fits_the_screen_is_not_paged(school):
    pager, recorded = school.pager(RECORDER, "unused")
    status, shown = finish(school.spawn("cases", "list", screen=(40, 160), MHTOOL_PAGER=pager))
    assert status == 0, shown
    assert not recorded.exists()
    assert read_table(shown) == piped(school, "cases", "list")


def test_pager_comes_from_pager_and_an_empty_mhtool_pager_turns_it_off(school):
    pager, recorded = school.pager(RECORDER, "from-pager")
    status, shown = finish(school.spawn("cases", "list", PAGER=pager))
    assert status == 0 and recorded.exists() and "2024000000" not in shown
    recorded.unlink()
    status, shown = finish(school.spawn("cases", "list", PAGER=pager, MHTOOL_PAGER=""))
    assert status == 0 and not recorded.exists() and "2024000000" in shown
    status, shown = finish(school.spawn("cases", "list", PAGER=pager, MHTOOL_PAGER="cat"))
    assert status == 0 and not recorded.exists() and "2024000000" in shown


def test_a_pager_that_is_not_installed_is_named_and_the_list_printed(school):
    status, shown = finish(school.spawn("cases", "list", MHTOOL_PAGER="no-such-pager-here -R"))
    assert status == 0, shown
    assert "no-such-pager-here" in shown and "MHTOOL_PAGER" in shown
    assert read_table(shown[shown.index("学号") :]) == piped(school, "cases", "list")


def test_control_characters_in_stored_text_never_reach_the_terminal(school):
    school.cli.ok("cases", "add", "2099000001", "--name", "坏\x1b[2J人\x07", "--college", "文学院", "--class", "班级1")
    school.cli.ok("cases", "level", "2099000001", "yellow", "--reason", "约谈确认")
    try:
        status, shown = finish(school.spawn("cases", "list", screen=(40, 160), MHTOOL_PAGER=""))
        assert status == 0, shown
        assert "\x1b" not in shown and "\x07" not in shown
        assert "坏\ufffd[2J人\ufffd" in shown
    finally:
        school.cli.ok("cases", "level", "2099000001", "none", "--reason", "测试结束")


def test_a_pipe_gets_tab_separated_text_and_never_a_pager(school):
    pager, recorded = school.pager(RECORDER, "pipe")
    env = school.env(MHTOOL_PAGER=pager, NO_COLOR=None)
    done = subprocess.run([sys.executable, "-m", "mhtool", "cases", "list"], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert not recorded.exists()
    assert done.stdout == school.cli.ok("cases", "list").stdout  # the same text as in-process, byte for byte
    assert "\x1b" not in done.stdout and all(line.count("\t") == 9 for line in done.stdout.splitlines())

    forced = subprocess.run([sys.executable, "-m", "mhtool", "cases", "list"], env={**env, "FORCE_TERMINAL": "1", "NO_COLOR": "1", "COLUMNS": "160"}, capture_output=True, text=True, timeout=60, check=True)
    assert not recorded.exists()  # drawn as on a terminal, still not paged: nobody is there to page
    assert read_table(forced.stdout) == piped(school, "cases", "list")
