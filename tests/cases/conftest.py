"""Fixtures for dossier tests: a store with a few made-up students, added through the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The test modules import their helpers from casekit.py beside this file;
# conftest modules are imported before pytest puts this folder on the path.
sys.path.insert(0, str(Path(__file__).parent))

from casekit import STUDENTS, add_student  # noqa: E402


@pytest.fixture
def school(store_env):
    """The store of ``store_env`` with three students (two colleges), none watched."""
    for no, (name, college, class_name) in STUDENTS.items():
        add_student(store_env.cli, no, name, college, class_name)
    return store_env
