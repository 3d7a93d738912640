"""Fixtures for the results tests: a fresh run directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from manifest_support import make_run

from runner.results.store import RunDirectory


@pytest.fixture
def run(tmp_path: Path) -> RunDirectory:
    """A fresh run directory under tmp_path."""
    return make_run(tmp_path / "results", "run-1")
