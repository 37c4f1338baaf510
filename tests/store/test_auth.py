"""Authentication: wrong or missing credentials change nothing, edited key slots are refused
before any key derivation, and `init` / `info` never touch what they must not."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import click
import pytest
import typer

from mhtool.errors import AuthenticationFailed, StoreError
from mhtool.store.core import Store, create_store
from mhtool.store.crypto import Credential, write_key_file
from tests.store.storetools import add_students, age, assert_unchanged, error_lines, raw, run_python, snapshot

PASSPHRASE = "正确的口令 correct horse battery"


@pytest.fixture
def with_bob(store_env):
    """Adds `bob` (auditor) with a passphrase slot created through MHTOOL_NEW_PASSPHRASE_FILE."""
    secret = store_env.tmp / "bob.pass"
    secret.write_text(PASSPHRASE + "\n", "utf-8")
    secret.chmod(0o600)
    store_env.cli.ok("staff", "add", "bob", "--role", "auditor", env={"MHTOOL_NEW_PASSPHRASE_FILE": str(secret)})
    staff = {s["name"]: s for s in json.loads(store_env.cli.ok("staff", "list", "--json").stdout)}
    assert staff["bob"]["slots"] == ["argon2id"]
    return store_env


def _as_bob(env, passphrase: str):
    f = env.tmp / f"try-{secrets.token_hex(4)}.pass"
    f.write_text(passphrase + "\n", "utf-8")
    f.chmod(0o600)
    return type(env.cli)(env={"MHTOOL_STORE": str(env.path), "MHTOOL_PASSPHRASE_FILE": str(f), "MHTOOL_USER": "bob"})


@pytest.mark.parametrize("live_wal", [False, True], ids=["idle-store", "store-with-live-wal"])
def test_wrong_passphrase_fails_with_exit_4_and_writes_nothing(with_bob, live_wal):
    env = with_bob
    holder = None
    if live_wal:
        # Another session keeps the store open with committed frames still in the -wal.
        holder = env.open()
        add_students(holder, 3)
        assert Path(f"{env.path}-wal").stat().st_size > 0
    try:
        age(env.path)
        before = snapshot(env.path)
        assert ("store.db-wal" in before) == live_wal

        result = _as_bob(env, "wrong passphrase, not bob's")("audit", "head")
        assert result.exit_code == 4, result.stderr
        assert "does not open" in result.stderr
        assert result.stdout == ""
        assert_unchanged(env.path, before)

        with pytest.raises(AuthenticationFailed):
            Store.open(env.path, Credential(passphrase="another wrong one", source="test"), "bob")
        assert_unchanged(env.path, before)
    finally:
        if holder:
            holder.close()
    # Control: the right passphrase does open bob's slot.
    assert _as_bob(env, PASSPHRASE).ok("audit", "head").stdout.strip()


@pytest.mark.parametrize("which", ["random-key-file", "other-stores-key-file"])
def test_wrong_key_file_fails_with_exit_4_and_writes_nothing(store_env, which):
    bad = store_env.tmp / "bad.key"
    if which == "random-key-file":
        write_key_file(bad)
    else:
        create_store(store_env.tmp / "other" / "store.db", "admin", Credential(key_material=write_key_file(bad)))
    age(store_env.path)
    before = snapshot(store_env.path)
    for user in ("admin", None):
        env = {"MHTOOL_KEY_FILE": str(bad), "MHTOOL_USER": user}
        result = store_env.cli("staff", "list", env=env)
        assert result.exit_code == 4, result.stderr
        assert len(error_lines(result.stderr)) == 1 and "Traceback" not in result.stderr
        assert result.stdout == ""
        assert_unchanged(store_env.path, before)


def test_missing_credential_without_tty_names_both_variables(store_env):
    age(store_env.path)
    before = snapshot(store_env.path)
    result = type(store_env.cli)(env={"MHTOOL_STORE": str(store_env.path), "MHTOOL_USER": "admin"})("staff", "list")
    assert result.exit_code == 4
    assert "MHTOOL_KEY_FILE" in result.stderr and "MHTOOL_PASSPHRASE_FILE" in result.stderr
    assert_unchanged(store_env.path, before)


def _all_commands(command: click.Command, prefix=()):
    yield prefix, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _all_commands(sub, (*prefix, name))


def test_no_command_accepts_a_secret_on_the_command_line(tmp_path, cli):
    from mhtool.cli import app

    root = typer.main.get_command(app)
    offenders = []
    for path, command in _all_commands(root):
        for param in command.params:
            names = " ".join([param.name or "", *getattr(param, "opts", [])]).lower()
            if any(word in names for word in ("passphrase", "password", "passwd", "secret", "口令")):
                offenders.append((" ".join(path), names))
    assert offenders == []

    store = tmp_path / "new.db"
    for args in (["init", "--admin", "a", "--passphrase", "x" * 12], ["init", "--admin", "a", "--password", "x" * 12]):
        result = cli(*args, env={"MHTOOL_STORE": str(store)})
        assert result.exit_code == 2, result.stderr
        assert not store.exists()


# -- edited key slots ---------------------------------------------------------------------------

_OPEN_EACH_VARIANT = r"""
import json, sqlite3, sys, time
from typer.testing import CliRunner
from mhtool.cli import app
from mhtool.store.core import Store
from mhtool.store.crypto import Credential
path, secret_file, edits = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
passphrase = open(secret_file, encoding="utf-8").read().rstrip("\n")
conn = sqlite3.connect(path, isolation_level=None)
slot_id, original = conn.execute(
    "SELECT k.id, k.params FROM keyslots k JOIN staff s ON s.id = k.staff_id WHERE s.name = 'bob'"
).fetchone()
env = {"MHTOOL_STORE": path, "MHTOOL_PASSPHRASE_FILE": secret_file, "MHTOOL_USER": "bob", "MHTOOL_KEY_FILE": None, "NO_COLOR": "1"}
for edit in edits:
    conn.execute("UPDATE keyslots SET params = ? WHERE id = ?", (json.dumps({**json.loads(original), **edit}), slot_id))
    started = time.perf_counter()
    try:
        Store.open(path, Credential(passphrase=passphrase, source="test"), "bob").close()
        error, message = None, ""
    except Exception as exc:
        error, message = type(exc).__name__, str(exc)
    seconds = time.perf_counter() - started
    cli = CliRunner().invoke(app, ["audit", "head"], env=env)
    print(json.dumps({"error": error, "message": message, "seconds": seconds,
                      "exit": cli.exit_code, "stdout": cli.stdout, "stderr": cli.stderr}), flush=True)
"""

KDF_EDITS = [
    ({"memory_cost": 8}, "memory_cost=8"),
    ({"memory_cost": 2**40}, "memory_cost=1099511627776"),
    ({"iterations": 10**6}, "iterations=1000000"),
    ({"lanes": 0}, "lanes=0"),
    ({"iterations": "3"}, "iterations='3'"),
    ({"kdf": "pbkdf2-sha1"}, "unknown KDF 'pbkdf2-sha1'"),
    ({"kdf": "scrypt", "n": 2**30, "r": 8, "p": 1}, "n=1073741824"),
    ({"kdf": "scrypt", "n": 2**17, "r": 2**20, "p": 1}, "r=1048576"),
    ({}, None),  # control: the unedited slot opens
]


def test_edited_kdf_parameters_are_refused_before_any_derivation(with_bob):
    env = with_bob
    secret = env.tmp / "bob.pass"
    # In a child process with a timeout: were the bounds ever dropped, the absurd
    # parameters would run for hours or exhaust memory instead of failing the test.
    try:
        proc = run_python(_OPEN_EACH_VARIANT, str(env.path), str(secret), json.dumps([e for e, _ in KDF_EDITS]), timeout=40)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        done = (out.decode() if isinstance(out, bytes) else out).count("\n")
        pytest.fail(f"opening a slot edited to {KDF_EDITS[done][0]} did not return: derivation ran with edited parameters")
    outcomes = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(outcomes) == len(KDF_EDITS), proc.stderr

    for (edit, expected), outcome in zip(KDF_EDITS, outcomes):
        if expected is None:
            assert outcome["error"] is None and outcome["exit"] == 0, outcome
            continue
        assert outcome["error"] == "StoreError", (edit, outcome)
        assert expected in outcome["message"], (edit, outcome)
        assert "refused before any work" in outcome["message"] or "unknown KDF" in outcome["message"], (edit, outcome)
        assert outcome["seconds"] < 1.0, (edit, outcome)
        # An edited slot is damage, not a wrong passphrase: exit 1, not 4.
        assert outcome["exit"] == 1, (edit, outcome)
        errors = error_lines(outcome["stderr"])
        assert len(errors) == 1 and expected in errors[0], (edit, outcome)
        assert "Traceback" not in outcome["stderr"] and outcome["stdout"] == "", (edit, outcome)


# -- init and info ------------------------------------------------------------------------------


def test_init_refuses_to_overwrite_an_existing_store(store_env):
    with store_env.open() as store:
        add_students(store, 2)
    age(store_env.path)
    before = snapshot(store_env.path)
    new_key = store_env.tmp / "new-admin.key"
    result = store_env.cli("init", "--admin", "mallory", "--key-file", str(new_key), env={"MHTOOL_KEY_FILE": None, "MHTOOL_USER": None})
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert not new_key.exists(), "no key file may be issued for a store that was not created"
    assert_unchanged(store_env.path, before)
    # The library refuses too, whatever the command layer does.
    with pytest.raises(StoreError, match="already exists"):
        create_store(store_env.path, "mallory", Credential(key_material=os.urandom(32)))
    assert_unchanged(store_env.path, before)
    # The original admin still opens it and the students are still there.
    with store_env.open() as store:
        assert store.students.count() == 2


def test_init_refuses_to_overwrite_any_existing_file(tmp_path, cli):
    path = tmp_path / "thesis.db"
    path.write_bytes("毕业论文 — not a store".encode())
    age(path)
    before = snapshot(path)
    secret = tmp_path / "p.pass"
    secret.write_text("a long enough passphrase\n")
    result = cli("init", "--admin", "a", env={"MHTOOL_STORE": str(path), "MHTOOL_PASSPHRASE_FILE": str(secret)})
    assert result.exit_code == 1
    assert_unchanged(path, before)


def test_info_needs_no_credential_and_shows_no_personal_data(store_env):
    canary_name, canary_no, staff_name = "欧阳金丝雀", "INFOCANARY0042", "诸葛老师"
    store_env.add_staff(staff_name, "counselor", "信息学院")
    with store_env.open() as store:
        with store.write("test.add") as txn:
            txn.insert("students", {"student_no": canary_no, "name": canary_name, "college": "信息学院"},
                       columns={"student_no_bi": store.student_no_index(canary_no)})
        add_students(store, 4)
    bare = type(store_env.cli)(env={"MHTOOL_STORE": str(store_env.path)})
    text = bare.ok("info")
    as_json = bare.ok("info", "--json")
    facts = json.loads(as_json.stdout)
    assert facts["records"]["students"] == 5
    assert facts["staff"] == 2
    for out in (text.stdout + text.stderr, as_json.stdout + as_json.stderr):
        for secret in (canary_name, canary_no, staff_name, "信息学院", "admin"):
            assert secret not in out
