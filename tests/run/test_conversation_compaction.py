"""Compaction in a conversation: the summary goes back, later turns are small, pauses continue."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from runner.config.load import load_experiment
from runner.config.types import Experiment
from runner.errors import RunFailed
from runner.results.store import read_results, read_turns
from tests.run.conversation_support import MODEL, new_run_dir, new_transport, run_in_process

SCANS = """
def scans(args):
    return "Parcel scanned at the Leipzig hub, then loaded for Berlin. " * 1_700
"""
COMPACT = """
[[arms.request.context_management.edits]]
type = "compact_20260112"
trigger = { type = "input_tokens", value = 50000 }
"""


def _experiment(directory: Path) -> Experiment:
    """Three user turns that each look an order up; every lookup returns ~25K tokens."""
    text = f"""
    name = "long-agent"
    models = ["{MODEL}"]
    [request]
    max_tokens = 300
    [[request.tools]]
    name = "lookup_order"
    description = "An order's scan history."
    input_schema = {{ type = "object", properties = {{ order_id = {{ type = "string" }} }} }}
    [tool_results]
    lookup_order = {{ function = "scans:scans" }}
    [[arms]]
    name = "baseline"
    [[arms]]
    name = "compaction"
    betas = ["compact-2026-01-12"]
    {COMPACT}
    [[arms]]
    name = "paused"
    betas = ["compact-2026-01-12"]
    {COMPACT}pause_after_compaction = true
    [[cases]]
    id = "orders"
    max_turns = 16
    turns = ["Look up order A-17.", "Now look up order A-18.", "And look up order A-19."]
    """
    (directory / "scans.py").write_text(SCANS, encoding="utf-8")
    path = directory / "long.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_experiment(path).experiment


def _run(tmp_path: Path) -> tuple[pl.DataFrame, list[dict[str, Any]], Path]:
    experiment = _experiment(tmp_path)
    transport = new_transport()
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    assert run_in_process(experiment, run_dir, transport).exit_code == 0
    turns = read_turns(run_dir.path).sort("arm", "turn").collect()
    return turns, transport.sent(), run_dir.path


def _compacted(turns: pl.DataFrame, arm: str) -> pl.DataFrame:
    mine = turns.filter(pl.col("arm") == arm)
    return mine.filter(pl.col("context_edits").list.contains("compact_20260112"))


def test_the_compaction_block_goes_back_and_later_turns_are_small(tmp_path: Path) -> None:
    """The turn that compacts is billed for the whole context (its iterations summed) and is
    recorded as a compact edit; later requests carry its block back, and the next is billed
    for what follows the block only, far less than the baseline's turn at that point."""
    turns, sent, run_dir = _run(tmp_path)
    compacted = _compacted(turns, "compaction")
    assert compacted.height >= 1
    first = compacted.row(0, named=True)
    usage = json.loads(first["usage_json"])
    assert first["input_tokens"] == sum(i["input_tokens"] for i in usage["iterations"])
    block = json.loads(first["content_json"])[0]
    assert block["type"] == "compaction"
    later = [b for b in sent if b.get("context_management") and _carries(b, block)]
    assert later, "no request sent the compaction block back"
    next_turn = pl.col("turn") == first["turn"] + 1
    after = turns.filter((pl.col("arm") == "compaction") & next_turn)["input_tokens"].item()
    baseline = turns.filter((pl.col("arm") == "baseline") & next_turn)["input_tokens"].item()
    assert after < 5_000 < 50_000 < baseline
    results = read_results(run_dir).collect()
    billed = dict(zip(results["arm"], results["input_tokens"], strict=True))
    assert billed["compaction"] < billed["baseline"]


def _carries(body: dict[str, Any], block: dict[str, Any]) -> bool:
    return any(
        isinstance(m["content"], list) and block in m["content"]
        for m in body["messages"]
        if m["role"] == "assistant"
    )


def test_a_paused_compaction_is_continued_with_nothing_added(tmp_path: Path) -> None:
    """pause_after_compaction: the turn stops with `compaction` (next_json `{}`), and the next
    request is the same conversation plus the compaction block, no new user message."""
    turns, sent, _ = _run(tmp_path)
    paused = turns.filter((pl.col("arm") == "paused") & (pl.col("stop_reason") == "compaction"))
    assert paused.height >= 1
    row = paused.row(0, named=True)
    assert row["next_json"] == "{}"
    content = json.loads(row["content_json"])
    assert [b["type"] for b in content] == ["compaction"]
    continuation = [
        b for b in sent if b["messages"][-1] == {"role": "assistant", "content": content}
    ]
    assert len(continuation) == 1
    mine = turns.filter(pl.col("arm") == "paused")
    assert mine.filter(pl.col("turn") == row["turn"] + 1)["stop_reason"].item() != "compaction"


def test_a_crash_at_a_paused_compaction_resumes_with_its_continuation(tmp_path: Path) -> None:
    """Killed as it sends the continuation of a compaction pause, --resume sends that request
    first, byte for byte, and nothing that was on disk."""
    whole_run = _experiment(tmp_path)
    paused = tuple(a for a in whole_run.arms if a.name == "paused")
    experiment = dataclasses.replace(whole_run, arms=paused)
    whole = new_transport()
    run_in_process(experiment, new_run_dir(tmp_path, experiment, "whole"), whole)
    at = next(i for i, b in enumerate(whole.sent()) if b["messages"][-1]["role"] == "assistant")

    crashing = new_transport(fail_at=at + 1)
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    with pytest.raises(RunFailed, match="the machine went down"):
        run_in_process(experiment, run_dir, crashing)
    on_disk = read_turns(run_dir.path).sort("turn").collect()
    assert on_disk["stop_reason"].to_list()[-1] == "compaction"

    resumed = new_transport()
    assert run_in_process(experiment, run_dir, resumed, resume=True).exit_code == 0
    assert resumed.bodies[0] == whole.bodies[at]
    assert crashing.bodies + resumed.bodies == whole.bodies
