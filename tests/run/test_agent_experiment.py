"""The shipped agent experiment end to end: per-arm conversations, and what compare finds."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from e2e_support import run_cli

pytestmark = pytest.mark.slow

EXPERIMENT = Path(__file__).resolve().parents[2] / "experiments" / "agent_tools.toml"
FAST = (
    "ttft_ms=0", "ms_per_output_token=0", "ms_per_1k_input_tokens=0", "jitter=0",
    "vary_samples=false",  # one answer per question: the figures do not hang on arrival order
)  # fmt: skip


def test_agent_tools_shows_conversations_and_context_management_cuts_late_turns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """run --local prints turns, tool calls and tokens per turn for each arm; compare finds
    fewer last-turn input tokens under context management than in the baseline."""
    settings = [word for setting in FAST for word in ("--emulator", setting)]
    out = tmp_path / "out"
    code = run_cli(["run", EXPERIMENT, "--local", "--results", out, "-q", *settings])
    printed = capsys.readouterr().out
    assert code == 0
    assert "conversations per arm" in printed
    for header in ("turns", "tool calls", "input tokens by turn"):
        assert header in printed
    for arm in ("baseline", "interleaved-thinking", "context-management", "clear-at-least"):
        assert printed.count(arm) >= 4  # two models, in both tables
    (run_dir,) = (out / "agent-tools").iterdir()
    _check_clear_at_least(pl.read_parquet(run_dir / "turns.parquet"))

    assert run_cli(["compare", run_dir, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    late = [r for r in rows if r["metric"] == "last_turn_input_tokens"]
    managed = [r for r in late if r["arm"] == "context-management"]
    assert len(managed) == 2
    for row in managed:
        assert row["delta"] < 0
        assert row["significant"] is True
    metrics = {r["metric"] for r in rows}
    assert {"turns", "tool_calls", "total_tokens", "cache_read_share"} <= metrics
    assert "total_latency_ms" in metrics
    context = [r for r in rows if r["metric"] == "last_turn_context_tokens"]
    assert context, "compare reads the turns for the last turn's context tokens"
    assert all(r["value"] is not None and r["value"] > 0 for r in context), context


def _check_clear_at_least(turns: pl.DataFrame) -> None:
    """clear_at_least 1,000: fewer turns clear than under the plain edit, each clearing 1,000+."""
    clearing = turns.filter(pl.col("context_edits").list.len() > 0)
    by_arm = clearing.group_by("arm").len()
    counts = dict(zip(by_arm["arm"], by_arm["len"], strict=True))
    assert 0 < counts["clear-at-least"] < counts["context-management"]
    batched = clearing.filter(pl.col("arm") == "clear-at-least")
    assert batched["cleared_input_tokens"].min() >= 1_000
