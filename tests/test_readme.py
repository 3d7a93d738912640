"""README.md's Python blocks run as written, in order, in a fresh directory (a user's checkout)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
MY_PRICES = '[models."claude-sonnet-5"]\ninput = 1.0\noutput = 2.0\n'

pytestmark = pytest.mark.slow


def python_blocks(markdown: str) -> list[str]:
    """The source of every ```python block, in order."""
    return [found[1] for found in BLOCK.finditer(markdown)]


def test_the_block_finder_finds_fenced_python_only() -> None:
    """Only ```python fences count; ```sh and ```toml blocks are left alone."""
    text = "```sh\nls\n```\n\n```python\nx = 1\n```\ntext\n```python\ny = x\n```\n"
    assert python_blocks(text) == ["x = 1\n", "y = x\n"]


def test_every_python_block_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The blocks share one namespace, as in a session: the first runs the quickstart on the
    emulator, the others analyse that run (and read the price file they name)."""
    shutil.copytree(ROOT / "experiments", tmp_path / "experiments")
    (tmp_path / "my-prices.toml").write_text(MY_PRICES, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 2

    namespace: dict[str, object] = {"__name__": "readme"}
    for number, source in enumerate(blocks, start=1):
        exec(compile(source, f"README.md python block {number}", "exec"), namespace)

    assert "complete 72" in capsys.readouterr().out
    assert len(list((tmp_path / "results" / "quickstart").iterdir())) == 1
