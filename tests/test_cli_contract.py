"""The command-line contract of the README (issue 15, items 12 and 13), on real stores and real processes.

One test per promise: exit codes, credential problems, outputs that never follow
a link nor are ever readable by others, tab-separated output that no spreadsheet
runs as a formula, an interrupted key rotation that says how to finish, and the
README's cron line run as cron runs it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mhtool.errors import Interrupted
from mhtool.store import admin, schema
from mhtool.store.crypto import sealed_generation, write_key_file
from tests.store.storetools import add_students, raw
from tests.survey.export_factory import make_answers, make_students, write_generic_xlsx

ROOT = Path(__file__).resolve().parent.parent
STUDENT = "2026601001"
HOSPITAL = "示例市精神卫生中心"


def _env(store_env, **extra) -> dict:
    """The environment of a real `mhtool` process running as the store's admin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MHTOOL_")}
    env.update(MHTOOL_STORE=str(store_env.path), MHTOOL_KEY_FILE=str(store_env.admin_key), MHTOOL_USER="admin")
    env.update({k: v for k, v in extra.items() if v is not None})
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
    return env


def _mhtool(*args, env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mhtool", *map(str, args)], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=ROOT, **kw
    )


def _side_files(path: Path) -> list[str]:
    return [p.name for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


# -- 1. exit codes ------------------------------------------------------------------------------


@pytest.fixture
def with_student(store_env):
    store_env.cli.ok("cases", "add", STUDENT, "--name", "张三", "--college", "文学院")
    store_env.cli.ok("referral", "hospitals", "add", HOSPITAL, "--level", "三甲")
    return store_env


BAD_FLAG_VALUES = [
    (("survey", "instruments", "--lang", "xx"), "--lang"),
    (("cases", "list", "--level", "purple"), "--level"),
    (("cases", "list", "--group", "nosuch"), "--group"),
    (("cases", "guardian", STUDENT, "--who", "母亲", "--content", "电话沟通", "--consent", "maybe"), "--consent"),
    (("cases", "interview", STUDENT, "--findings", "情绪平稳", "--confirm", "purple"), "--confirm"),
    (("cases", "level", STUDENT, "purple", "--reason", "约谈确认"), "LEVEL"),
    (("cases", "note", STUDENT, "--text", "记录", "--date", "2026-13-45"), "--date"),
    (("cases", "crisis", STUDENT, "--what", "情绪激动", "--happened-at", "昨晚"), "--happened-at"),
    (("cases", "status", STUDENT, "leave", "--from", "someday", "--reason", "病休"), "--from"),
    (("cases", "edit", STUDENT, "--name", " "), "--name"),
    (("cases", "edit", STUDENT, "--guardian", "母亲"), "--guardian"),
    (("cases", "cadence", "--red", "0"), "--red"),
    (("referral", "add", STUDENT, "--hospital", "不存在的医院", "--reason", "失眠"), "--hospital"),
    (("referral", "list", "--hospital", "不存在的医院"), "--hospital"),
    (("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "失眠", "--next-review", "soon"), "--next-review"),
    (("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "失眠", "--guardian-informed", "maybe"), "--guardian-informed"),
    (("retention", "plan", "--graduated-before", "long ago"), "--graduated-before"),
    (("settings", "set", "retention_years", "0"), "retention_years"),
    (("init", "--admin", "other", "--timezone", "Mars/Olympus"), "--timezone"),
]


def test_a_bad_flag_value_is_a_usage_error_naming_the_flag_and_changes_nothing(with_student, tmp_path):
    env = with_student
    head = env.cli.ok("audit", "head").stdout
    sheet = write_generic_xlsx(tmp_path / "phq9.xlsx", make_students(2, seed=3), make_answers(2, 9, (0, 1, 2, 3), seed=3))
    cases = [*BAD_FLAG_VALUES, (("survey", "score", sheet, "-i", "phq9", "--profile", "nosuch"), "--profile"),
             (("survey", "score", sheet, "-i", "phq9", "--answers", "nosuch"), "--answers")]
    for args, flag in cases:
        result = env.cli(*args)
        assert result.exit_code == 2, (args, result.exit_code, result.stderr)
        assert flag in result.stderr and "unexpected" not in result.stderr, (args, result.stderr)
    assert env.cli.ok("audit", "head").stdout == head, "a refused command leaves the store as it was"
    # Values that cannot be right whatever the store holds are refused before any credential is asked for.
    no_credential = env.cli("cases", "list", "--level", "purple", env={"MHTOOL_KEY_FILE": None})
    assert no_credential.exit_code == 2 and "--level" in no_credential.stderr


def test_bad_file_data_is_3_and_a_refused_change_is_1_with_the_reason(with_student, tmp_path):
    env = with_student
    answers = make_answers(3, 9, (0, 1, 2, 3), seed=4)
    answers[1][2] = 9  # no PHQ-9 option has the value 9
    sheet = write_generic_xlsx(tmp_path / "bad.xlsx", make_students(3, seed=4), answers)
    bad_data = env.cli("survey", "score", sheet, "-i", "phq9")
    assert bad_data.exit_code == 3 and "row 3" in bad_data.stderr
    refused = env.cli("staff", "remove", "admin")
    assert refused.exit_code == 1 and "cannot remove yourself" in refused.stderr


# -- 2. credentials -------------------------------------------------------------------------------


def test_credential_problems_are_exit_4_with_a_message_and_leave_no_side_files(store_env, tmp_path):
    write_key_file(tmp_path / "other.key")  # a real key file, of no slot in this store
    short = tmp_path / "short.key"
    short.write_text("ab" * 16 + "\n")
    short.chmod(0o600)
    latin = tmp_path / "latin1.pass"
    latin.write_bytes("口令".encode("gb18030") + b"\xff\n")
    latin.chmod(0o600)
    problems = {
        "a directory": ({"MHTOOL_KEY_FILE": str(tmp_path)}, "directory"),
        "a key file of the wrong size": ({"MHTOOL_KEY_FILE": str(short)}, "not an mhtool key file"),
        "an unreadable key file": ({"MHTOOL_KEY_FILE": str(short / "x")}, "cannot read"),
        "a non-UTF-8 passphrase file": ({"MHTOOL_KEY_FILE": None, "MHTOOL_PASSPHRASE_FILE": str(latin)}, "UTF-8"),
        "a key file that opens no slot": ({"MHTOOL_KEY_FILE": str(tmp_path / "other.key")}, "does not open"),
    }
    if os.geteuid() != 0:  # root reads any file
        locked = tmp_path / "locked.key"
        write_key_file(locked)
        locked.chmod(0)
        problems["a key file without read permission"] = ({"MHTOOL_KEY_FILE": str(locked)}, "cannot read")
    assert _side_files(store_env.path) == []
    for what, (extra, words) in problems.items():
        proc = _mhtool("cases", "list", env=_env(store_env, **extra))
        assert proc.returncode == 4, (what, proc.returncode, proc.stderr)
        assert words in proc.stderr and "unexpected" not in proc.stderr and "Traceback" not in proc.stderr, (what, proc.stderr)
        assert proc.stdout == ""
        assert _side_files(store_env.path) == [], f"{what}: a failed login left {_side_files(store_env.path)}"


def test_a_key_file_others_can_read_warns_like_a_passphrase_file(store_env):
    store_env.admin_key.chmod(0o644)
    result = store_env.cli.ok("cases", "list")
    assert "can be read by other users" in result.stderr and "chmod 600" in result.stderr
    store_env.admin_key.chmod(0o600)
    assert "can be read by other users" not in store_env.cli.ok("cases", "list").stderr


# -- 3. outputs: never through a link, never readable by others -----------------------------------


def test_outputs_never_follow_a_symbolic_link(with_student, tmp_path):
    env = with_student
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "backup.db"
    link.symlink_to(elsewhere / "stolen.db")
    result = env.cli("backup", link)
    assert result.exit_code != 0 and "symbolic link" in result.stderr
    assert not (elsewhere / "stolen.db").exists() and link.is_symlink()

    target = elsewhere / "target.xlsx"
    target.write_bytes(b"keep me")
    for args in (
        ("report", "weekly", "--out"),
        ("cases", "export", STUDENT, "--out"),
        ("survey", "score", write_generic_xlsx(tmp_path / "s.xlsx", make_students(2, seed=5), make_answers(2, 9, (0, 1), seed=5)), "-i", "phq9", "--out"),
    ):
        out = tmp_path / "out.xlsx"
        out.unlink(missing_ok=True)
        out.symlink_to(target)
        result = env.cli(*args, out)
        assert result.exit_code == 2 and "symbolic link" in result.stderr, (args, result.stderr)
        assert out.is_symlink() and target.read_bytes() == b"keep me", args
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.xlsx.")], "no temporary file is left behind"


def _first_modes(path: Path, proc: subprocess.Popen) -> list[int]:
    """The permission bits of ``path`` from the moment it appears until ``proc`` ends, polled as fast as possible."""
    seen: list[int] = []
    while proc.poll() is None:
        try:
            mode = stat.S_IMODE(os.lstat(path).st_mode)
        except FileNotFoundError:
            continue
        if not seen or seen[-1] != mode:
            seen.append(mode)
    try:
        seen.append(stat.S_IMODE(os.lstat(path).st_mode))
    except FileNotFoundError:
        pass
    return seen


def test_backups_and_key_files_are_never_readable_by_others_not_even_briefly(store_env, tmp_path):
    # A big enough store that copying it takes a while: the file's mode is watched all along.
    conn = raw(store_env.path)
    conn.execute("CREATE TABLE padding (x BLOB)")
    conn.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 48) INSERT INTO padding SELECT randomblob(1 << 20) FROM n")
    conn.close()
    out = tmp_path / "backup.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mhtool", "backup", str(out)], env=_env(store_env), cwd=ROOT,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.umask(0o022),
    )
    modes = _first_modes(out, proc)
    _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert modes and all(m & 0o077 == 0 for m in modes), [oct(m) for m in modes]

    key = tmp_path / "clerk.key"
    proc = _mhtool("staff", "add", "wen", "--role", "clerk", "--key-file", key, env=_env(store_env), preexec_fn=lambda: os.umask(0))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    report = _mhtool("report", "weekly", "--out", tmp_path / "w.xlsx", env=_env(store_env), preexec_fn=lambda: os.umask(0))
    assert report.returncode == 0, report.stderr
    assert stat.S_IMODE((tmp_path / "w.xlsx").stat().st_mode) == 0o600


# -- 4. plain output ------------------------------------------------------------------------------


def test_tab_separated_output_neutralises_formulas_as_csv_does(store_env):
    store_env.cli.ok("cases", "add", STUDENT, "--name", "=HYPERLINK(\"http://x\")", "--college", "@SUM(A1)", "--class", "-2+3")
    store_env.cli.ok("cases", "add", "2026601002", "--name", "+86 学生", "--college", "文学院")
    plain = store_env.cli.ok("cases", "find", "2026601").stdout.splitlines()
    header, rows = plain[0].split("\t"), [line.split("\t") for line in plain[1:]]
    cells = {row[0]: dict(zip(header, row)) for row in rows}
    first = cells[STUDENT]
    assert first["姓名"] == "'=HYPERLINK(\"http://x\")" and first["学院"] == "'@SUM(A1)" and first["班级"] == "'-2+3"
    assert cells["2026601002"]["姓名"] == "'+86 学生"
    as_csv = store_env.cli.ok("cases", "list", "--all", "--csv").stdout
    assert "'=HYPERLINK" in as_csv and "'@SUM(A1)" in as_csv
    assert not any(c.startswith(("=", "+", "-", "@")) for row in rows for c in row)


# -- 5. an interrupted staff removal --------------------------------------------------------------


def _generations(path: Path) -> set[int]:
    conn = raw(path)
    try:
        return {sealed_generation(bytes(b)) for table in schema.SEALED_TABLES for (b,) in conn.execute(f"SELECT data FROM {table}")}
    finally:
        conn.close()


def test_an_interrupted_staff_removal_says_where_the_rotation_stands_and_rotate_key_finishes_it(store_env, monkeypatch):
    store_env.add_staff("zhang", "counselor")
    with store_env.open() as store:
        add_students(store, 60, prefix="R")
    monkeypatch.setattr(admin, "ROTATION_BATCH", 10)

    def ctrl_c_halfway(done, total):
        if done * 2 >= total:
            raise KeyboardInterrupt

    from mhtool.app.center import Center
    from mhtool.store.crypto import Credential, read_key_file

    with Center.open(store_env.path, Credential(key_material=read_key_file(store_env.admin_key)), "admin") as center:
        with pytest.raises(Interrupted) as stopped:
            center.admin.staff_remove("zhang", progress=ctrl_c_halfway)
    assert isinstance(stopped.value, KeyboardInterrupt), "code that stops on Ctrl-C still stops"
    message = stopped.value.message
    assert "zhang was removed" in message and "from generation 1 to 2" in message
    done, total = map(int, re.search(r"(\d+) of (\d+) records are sealed with generation 2", message).groups())
    assert 0 < done < total
    assert "`mhtool staff rotate-key`" in stopped.value.hint and "resumes" in stopped.value.hint
    assert _generations(store_env.path) == {1, 2}

    # What the message says is what the store holds: zhang is out, the others still work, and rotate-key finishes.
    zhang = type(store_env.cli)(env={"MHTOOL_STORE": str(store_env.path), "MHTOOL_KEY_FILE": str(store_env.tmp / "zhang.key"), "MHTOOL_USER": "zhang"})
    assert zhang("cases", "list").exit_code == 4
    assert json.loads(store_env.cli.ok("info", "--json").stdout)["rotation_in_progress"] is True
    store_env.cli.ok("staff", "rotate-key")
    assert _generations(store_env.path) == {2}
    assert json.loads(store_env.cli.ok("info", "--json").stdout)["rotation_in_progress"] is False
    store_env.cli.ok("audit", "verify")


def test_ctrl_c_during_staff_remove_prints_the_state_and_how_to_finish(store_env):
    store_env.add_staff("zhang", "counselor")
    with store_env.open() as store:
        add_students(store, 600, prefix="R")
    # One record per batch, so the rotation runs long enough to be interrupted in the middle.
    code = "import sys, mhtool.store.admin as a; a.ROTATION_BATCH = 1; sys.argv[0] = 'mhtool'; from mhtool.cli import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "staff", "remove", "zhang"], env=_env(store_env), cwd=ROOT,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    watch = sqlite3.connect(f"file:{store_env.path}?mode=ro", uri=True, timeout=30)
    new = (2).to_bytes(4, "big")
    reencrypted = 0
    deadline = time.monotonic() + 60
    while proc.poll() is None and reencrypted < 20 and time.monotonic() < deadline:
        try:
            reencrypted = watch.execute("SELECT count(*) FROM students WHERE substr(data, 2, 4) = ?", (new,)).fetchone()[0]
        except sqlite3.OperationalError:
            pass
        time.sleep(0.005)
    watch.close()
    assert proc.poll() is None, "the rotation ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and out == ""
    assert "interrupted during the key rotation: zhang was removed" in err
    assert re.search(r"\d+ of \d+ records are sealed with generation 2, \d+ still with generation 1", err), err
    assert "finish it with `mhtool staff rotate-key` (it resumes where it stopped)" in err
    assert _generations(store_env.path) == {1, 2}

    store_env.cli.ok("staff", "rotate-key")
    assert _generations(store_env.path) == {2}
    store_env.cli.ok("audit", "verify")
    with store_env.open() as store:
        assert len(store.students.all()) == 600


# -- 6. cron, as the README writes it -------------------------------------------------------------


def _readme_cron_line() -> str:
    lines = [line for line in (ROOT / "README.md").read_text("utf-8").splitlines() if re.match(r"^\d+ \d+ \* \* \d\s", line)]
    assert len(lines) == 1, lines
    return lines[0].split(None, 5)[5]


def test_the_readme_cron_line_runs_under_crons_path_and_is_silent_on_success(store_env, tmp_path):
    command = _readme_cron_line()
    installed = re.search(r"(\S*/mhtool)\s+report weekly", command)
    assert installed and installed.group(1).startswith("/"), f"the cron line must name mhtool by its absolute path: {command}"
    cron_key = tmp_path / "cron.key"
    store_env.cli.ok("staff", "add", "cron", "--role", "clerk", "--key-file", cron_key, "--standing-purpose", "每周一例行周报")
    reports = tmp_path / "reports"
    reports.mkdir()
    here = Path(sys.executable).with_name("mhtool")
    assert here.exists(), "the tests run from the installed virtual environment"
    line = (
        command.replace(installed.group(1), str(here))
        .replace("/srv/mhtool/store.db", str(store_env.path))
        .replace("/etc/mhtool/cron.key", str(cron_key))
        .replace("/srv/reports/", f"{reports}/")
    )
    cron_env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh", "LOGNAME": "cron"}

    def cron(extra: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(["/bin/sh", "-c", line + extra], env=cron_env, stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=tmp_path)

    ok = cron()
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "" and ok.stderr == "", "nothing for cron to mail when all went well"
    (written,) = reports.iterdir()
    assert written.suffix == ".xlsx" and stat.S_IMODE(written.stat().st_mode) == 0o600

    asked = cron(" --print-path")
    assert asked.returncode == 0 and asked.stdout == f"{written}\n" and asked.stderr == ""
    as_json = cron(" --json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["report"] == "weekly"

    failed = subprocess.run(
        ["/bin/sh", "-c", line.replace(f"{reports}/", f"{tmp_path}/missing/")], env=cron_env, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    assert failed.returncode != 0 and failed.stdout == "" and "error:" in failed.stderr, "a failure is what cron mails"


@pytest.mark.parametrize("number", ["0", "../x", "学号", "9" * 5000, "2024\n0001"])
def test_a_flag_that_is_not_a_student_number_is_a_usage_error(store_env, number):
    for command in (("cases", "show", number), ("cases", "add", number, "--name", "测试", "--college", "文学院")):
        result = store_env.cli(*command)
        assert result.exit_code == 2, (command, result.stderr)
        assert "student number" in result.stderr and "unexpected" not in result.stderr


@pytest.mark.parametrize("when", ["0001-01-01", "2206-11-23", "1899-12-30"])
def test_an_implausible_date_flag_is_a_usage_error(store_env, when):
    store_env.cli.ok("cases", "add", "2024010001", "--name", "测试", "--college", "文学院")
    result = store_env.cli("cases", "note", "2024010001", "--text", "x", "--date", when)
    assert result.exit_code == 2 and "--date" in result.stderr and "plausible" in result.stderr


def test_a_college_that_is_not_on_the_roster_is_a_usage_error(store_env):
    store_env.cli.ok("cases", "add", "2024010001", "--name", "测试", "--college", "文学院")
    result = store_env.cli("report", "weekly", "--college", "文学学院", "--json")
    assert result.exit_code == 2 and "--college" in result.stderr and "文学院" in result.stderr
    assert store_env.cli("report", "weekly", "--college", "文学院", "--json").exit_code == 0


def test_the_python_api_reads_key_files_as_the_command_line_does(tmp_path):
    from mhtool.app import credential_from_key_file
    from mhtool.errors import AuthenticationFailed

    with pytest.raises(AuthenticationFailed, match="directory"):
        credential_from_key_file(tmp_path)
    (tmp_path / "short.key").write_text("abcd\n")
    with pytest.raises(AuthenticationFailed, match="not an mhtool key file"):
        credential_from_key_file(tmp_path / "short.key")
