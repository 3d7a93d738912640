"""experiments/analysis.ipynb runs top to bottom in a real kernel with no error output."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "experiments" / "analysis.ipynb"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_notebook_executes_without_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cell runs (quickstart on the emulator, tables, plots); none outputs an error."""
    monkeypatch.delenv("BETA_RUNNER_RUN_DIR", raising=False)
    # nbformat's read() carries no type annotations.
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(
        notebook,
        timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    started = time.monotonic()
    client.execute()
    elapsed = time.monotonic() - started
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
    svgs = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/svg+xml" in output.get("data", {})
    ]
    assert len(svgs) == 3
    assert elapsed < 60
