"""What a command imports before it answers: only what it uses (issue 19, "instant commands").

Each command runs as a real ``python -m mhtool …`` process with its output
piped, as a script or cron job runs it, and reports the modules it loaded once
it has ended. A module imported at the top of a file that every command loads
(pandas for one import path, rich for a terminal table) fails here, whatever
the machine's speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import typer.main

from mhtool.cli import LAZY_COMMANDS, LAZY_GROUPS, app

# Never needed to show a dossier, a list or a help page.
HEAVY = ("pandas", "numpy", "pydantic", "openpyxl", "duckdb", "python_calamine", "msoffcrypto", "questionary", "prompt_toolkit")
# Key handling needs AES-GCM, HKDF and X25519, not the PEM/SSH/PKCS serialization machinery.
NOT_FOR_KEYS = ("cryptography.hazmat.primitives.serialization", "importlib.metadata")


# `python -m mhtool ARGS`, writing to the file named by the first argument, once the command has ended,
# the modules it loaded, the OPENBLAS_NUM_THREADS it ran under and its number of threads (where /proc
# tells). (`-X importtime` would miss the modules loaded through importlib.import_module, as the
# command groups are.)
_RUN = """
import atexit, json, os, runpy, sys
record = sys.argv.pop(1)
def report():
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None
    with open(record, "w") as fh:
        json.dump({"modules": sorted(sys.modules), "blas": os.environ.get("OPENBLAS_NUM_THREADS"), "threads": threads}, fh)
atexit.register(report)
sys.argv[0] = "mhtool"
runpy.run_module("mhtool", run_name="__main__", alter_sys=True)
"""


def recorded(args, env: dict, tmp_path, *, drop: tuple[str, ...] = ()) -> dict:
    """What ``python -m mhtool ARGS`` reported at its end (see ``_RUN``), its output piped.

    The environment is this one without the MHTOOL_ and FORCE_TERMINAL variables (and those starting with one of ``drop``), plus ``env``.
    """
    full = {k: v for k, v in os.environ.items() if not k.startswith(("MHTOOL_", "FORCE_TERMINAL", *drop))}
    full.update(env)
    record = tmp_path / "recorded.json"
    proc = subprocess.run([sys.executable, "-c", _RUN, str(record), *args], env=full, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(record.read_text())


def imported(args, env: dict, tmp_path) -> set[str]:
    """The modules ``python -m mhtool ARGS`` loads, its output piped."""
    return set(recorded(args, env, tmp_path)["modules"])


def loaded(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


@pytest.fixture
def dossiers(store_env):
    """A store with a watched, screened student (2024010001), one never screened (2024010002), and the admin's environment."""
    from mhtool.cases.usecases import service
    from mhtool.domain import dates

    for no, name in (("2024010001", "测试甲"), ("2024010002", "测试乙")):
        store_env.cli.ok("cases", "add", no, "--name", name, "--college", "文学院", "--class", "汉语言2401")
    today = dates.today("Asia/Shanghai")
    with store_env.open() as store:
        student = store.students.find("2024010001")
        with store.write("test.screening") as txn:
            batch = store.batches.add(txn, {"instrument": "phq9", "file": "made-up.xlsx"}, "made-up:phq9", today)
            store.responses.add(
                txn, batch, student["id"], today.isoformat(),
                {"instrument": "phq9", "version": "1", "scores": {"total": 21}, "band": "severe", "flags": [], "proposed_level": "orange", "answers": {}},
            )  # fmt: skip
            service.schedule_screening_interview(txn, student["id"], "orange", today, batch_id=batch)
    store_env.cli.ok("cases", "interview", "2024010001", "--findings", "情绪低落（合成数据）", "--confirm", "orange", "--mode", "面谈")
    return {"MHTOOL_STORE": str(store_env.path), "MHTOOL_KEY_FILE": str(store_env.admin_key), "MHTOOL_USER": "admin", "MHTOOL_LANG": "en"}


@pytest.mark.parametrize(
    "args",
    [("cases", "show", "2024010001"), ("cases", "show", "2024010001", "--json"), ("cases", "list"), ("cases", "tasks", "--overdue")],
    ids=lambda a: " ".join(a),
)
def test_reading_commands_import_no_heavy_module_and_no_terminal_library_when_piped(dossiers, args, tmp_path):
    modules = imported(args, dossiers, tmp_path)
    assert not [p for p in (*HEAVY, *NOT_FOR_KEYS, "rich") if loaded(modules, p)]
    # Other groups' and the store commands' modules stay unloaded.
    assert not [m for m in ("mhtool.survey.cli", "mhtool.admin.cli", "mhtool.governance.cli", "mhtool.referral.cli", "mhtool.report.cli") if m in modules]
    # Workbook readers and writers, and the recording use cases, belong to other commands.
    assert not [m for m in ("mhtool.io.xlsx", "mhtool.io.readers", "mhtool.cases.usecases.roster", "mhtool.cases.usecases.interviews", "mhtool.app.gateway") if m in modules]
    # Display widths are for a terminal table or a Chinese help page: piped text measures none.
    assert not [m for m in ("mhtool.console.table", "mhtool.domain.text") if m in modules]


def test_an_unattended_import_loads_no_terminal_library_and_no_pandas(dossiers, tmp_path):
    """A script's or cron job's import (stderr piped) shows no progress bar, so it does not load rich to find that out."""
    from tests.survey.export_factory import make_answers, make_students, write_generic_xlsx

    path = write_generic_xlsx(tmp_path / "gad7.xlsx", make_students(5, seed=9), make_answers(5, 7, (0, 1, 2, 3), seed=9))
    modules = imported(("survey", "import", str(path), "--instrument", "gad7"), dossiers, tmp_path)
    assert "mhtool.survey.usecases.importer" in modules and "numpy" in modules
    assert not [p for p in ("rich", "pandas", "openpyxl") if loaded(modules, p)]


def test_a_dossier_reads_instrument_definitions_only_for_its_screenings(dossiers, tmp_path):
    assert "mhtool.survey.domain.instruments" in imported(("cases", "show", "2024010001"), dossiers, tmp_path)
    assert "mhtool.survey.domain.instruments" not in imported(("cases", "show", "2024010002"), dossiers, tmp_path)
    assert "mhtool.survey.domain.instruments" not in imported(("cases", "list"), dossiers, tmp_path)


def _show(env: dict) -> str:
    shown = subprocess.run([sys.executable, "-m", "mhtool", "cases", "show", "2024010001"], env={**os.environ, **env}, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def test_a_dossier_reading_one_instrument_still_names_it_and_a_centers_own_definition_wins(dossiers, tmp_path):
    assert "PHQ-9 重度" in _show(dossiers)
    # A center's folder may redefine a built-in code: then its definition names the screening.
    from mhtool.survey.domain.instruments import BUILTIN_DIR

    own = tmp_path / "instruments"
    own.mkdir()
    text = (BUILTIN_DIR / "phq9.toml").read_text("utf-8")
    (own / "depression.toml").write_text(text.replace('display_name = "PHQ-9"', 'display_name = "PHQ-9（本中心版）"'), "utf-8")
    assert "PHQ-9（本中心版） 重度" in _show({**dossiers, "MHTOOL_INSTRUMENTS": str(own)})


@pytest.mark.parametrize("args", [("--help",), ("cases", "--help"), ("cases", "show", "--help"), ("info", "--help")], ids=" ".join)
def test_help_pages_load_no_store_and_no_heavy_module(args, tmp_path):
    modules = imported(args, {"MHTOOL_LANG": "zh"}, tmp_path)
    assert not [p for p in (*HEAVY, "rich", "cryptography", "sqlite3") if loaded(modules, p)]
    if args[0] == "cases":
        assert "mhtool.admin.cli" not in modules and "mhtool.survey.cli" not in modules
    if args == ("--help",):
        # The root page lists the store commands (their module loads) but reads no label table or rules file.
        assert "mhtool.admin.cli" in modules and "mhtool.domain.labels" not in modules and "tomllib" not in modules


def test_the_store_commands_load_only_their_module(tmp_path):
    store = tmp_path / "s.db"
    subprocess.run([sys.executable, "-m", "mhtool", "--store", str(store), "init", "--admin", "a", "--key-file", str(tmp_path / "a.key")], check=True, capture_output=True)
    modules = imported(("--store", str(store), "info"), {"MHTOOL_LANG": "en"}, tmp_path)
    assert "mhtool.admin.cli" in modules
    assert not [m for m in ("mhtool.cases.cli", "mhtool.survey.cli", "mhtool.governance.cli", "mhtool.cases.usecases") if loaded(modules, m)]


def test_every_command_is_in_the_tree_however_it_is_loaded():
    """Commands are built when first looked up; walking the tree (as the catalog and the security checks do) still finds them all."""
    root = typer.main.get_command(app)
    assert list(root.commands)[: len(LAZY_COMMANDS)] == list(LAZY_COMMANDS)
    assert set(LAZY_GROUPS) <= set(root.commands)
    built = dict(root.commands.items())
    for name in LAZY_COMMANDS:
        assert built[name].name == name and built[name].callback is not None
    cases = built["cases"]
    assert {"show", "list", "tasks", "interview", "import-roster"} <= set(cases.commands)
    assert all(cmd.name == name for name, cmd in cases.commands.items())


def test_the_lazy_table_names_what_each_module_registers():
    """``LAZY_COMMANDS`` says which module defines a top-level command; it must agree with that module's ``register``."""
    import importlib

    from mhtool.console.apps import make_subapp

    for module in set(LAZY_COMMANDS.values()):
        registry = make_subapp()
        importlib.import_module(module).register(registry)
        names = {info.name for info in registry.registered_commands}
        assert names == {n for n, m in LAZY_COMMANDS.items() if m == module}, module


def test_a_mistyped_command_still_gets_a_suggestion(store_env):
    result = store_env.cli("cases", "shwo")
    assert result.exit_code == 2 and "show" in result.stderr
    result = store_env.cli("inof")
    assert result.exit_code == 2 and "info" in result.stderr


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through /proc")
def test_a_command_that_scores_starts_no_idle_blas_threads_and_keeps_a_users_setting(tmp_path):
    """numpy's OpenBLAS would start a spinning thread per core; scoring does no float linear algebra, and the cores are the parser's and SQLite's."""
    from tests.survey.export_factory import make_answers, make_students, write_generic_xlsx

    path = write_generic_xlsx(tmp_path / "gad7.xlsx", make_students(3, seed=5), make_answers(3, 7, (0, 1, 2, 3), seed=5))
    args = ("survey", "score", str(path), "--instrument", "gad7", "--json")
    got = recorded(args, {}, tmp_path, drop=("OPENBLAS_",))
    assert "numpy" in got["modules"] and got["blas"] == "1"
    assert got["threads"] == 1  # the main thread alone: no BLAS workers
    assert recorded(args, {"OPENBLAS_NUM_THREADS": "2"}, tmp_path, drop=("OPENBLAS_",))["blas"] == "2"
