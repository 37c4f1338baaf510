"""The layer contract (pyproject.toml, [tool.importlinter]) holds, and a wrong arrow breaks it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=300)


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "mhtool", tree / "mhtool", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_contract_holds():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "contract", "arrow"),
    [
        ("cases/domain/model.py", "from mhtool.console import output", "The domain is pure", "mhtool.cases.domain.model -> mhtool.console.output"),
        ("survey/usecases/importer.py", "from mhtool.survey import cli", "Inside each feature", "mhtool.survey.usecases.importer -> mhtool.survey.cli"),
        ("cases/usecases/service.py", "from mhtool.report.usecases import gather", "depend one way", "mhtool.cases.usecases.service -> mhtool.report.usecases.gather"),
        ("report/cli.py", "import sqlite3", "Only the store speaks SQL", "mhtool.report.cli -> sqlite3"),
    ],
)
def test_a_planted_wrong_import_breaks_the_build(tmp_path, module, planted, contract, arrow):
    tree = _copy(tmp_path)
    target = tree / "mhtool" / module
    target.write_text(target.read_text("utf-8") + f"\n{planted}  # planted\n", "utf-8")
    result = _lint(tree)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if "BROKEN" in line]
    assert any(contract in line for line in broken) or contract in result.stdout.split("Broken contracts")[-1], result.stdout
    assert arrow in result.stdout
