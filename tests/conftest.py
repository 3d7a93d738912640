"""Shared fixtures: a clean environment, results in tmp_path, the anyio backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import SECRET


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's key or base URL, and nothing is written outside tmp_path."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    # Tables are as wide as a wide terminal unless a test asks for 80 columns itself.
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> str:
    """An API key in the environment, as a user would have it (the value tests scan for)."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    return SECRET


@pytest.fixture
def anyio_backend() -> str:
    """Tests run on asyncio (the backend the CLI uses)."""
    return "asyncio"
