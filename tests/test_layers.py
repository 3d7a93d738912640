"""The layering contract in pyproject.toml holds for the tree, and fails when it is broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The test extra installs import-linter beside this interpreter.
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with pyproject.toml's contracts over the `runner` package under `tree`."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(tree / "pyproject.toml")],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "runner", tree / "runner", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    """An unchanged copy of the package passes: every contract kept, exit 0."""
    linted = _lint(_copy(tmp_path))
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "0 broken" in linted.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        pytest.param(
            "analysis/summary.py", "import httpx", "Analysis never touches the network",
            id="analysis-imports-httpx",
        ),
        pytest.param(
            "results/schema.py", "import runner.analysis.baseline", "Layers:",
            id="results-imports-analysis",
        ),
        pytest.param(
            "emulator/app.py", "import runner.config.types", "The emulator imports nothing",
            id="emulator-imports-config",
        ),
    ],
)  # fmt: skip
def test_an_import_against_the_contract_is_reported(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    """One forbidden import added to a copy makes lint-imports fail, naming the contract and
    the importing module."""
    tree = _copy(tmp_path)
    with (tree / "runner" / module).open("a", encoding="utf-8") as source:
        source.write(f"\n{line}  # against the contract\n")

    linted = _lint(tree)

    assert linted.returncode == 1, linted.stdout + linted.stderr
    assert "1 broken" in linted.stdout
    broken = linted.stdout.split("Broken contracts", 1)[1]
    assert contract in broken
    assert "runner." + module.removesuffix(".py").replace("/", ".") in broken
