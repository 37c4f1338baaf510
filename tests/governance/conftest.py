"""Fixtures: a store holding the made-up canary school with two screening batches."""

from __future__ import annotations

import pytest

from tests.governance import kit


@pytest.fixture
def school():
    return kit.school()


@pytest.fixture
def school_env(store_env, school, tmp_path):
    """`store_env` with the canary school's dossiers, a UPI batch and a PHQ-9 batch 40 days later."""
    kit.add_roster(store_env, school)
    store_env.batches = kit.import_screenings(store_env, school, tmp_path)
    return store_env
