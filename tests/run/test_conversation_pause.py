"""Turns the server hands back unfinished (pause_turn): continued, recorded, resumed."""

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
from runner.emulator import create_app
from runner.errors import RunFailed
from runner.results.store import read_results, read_turns
from tests.run.conversation_support import (
    FAST,
    MODEL,
    Recording,
    new_run_dir,
    run_in_process,
)

# Two searches per response: a turn with five (max_uses) pauses twice.
PAUSING = dataclasses.replace(FAST, server_tool_iterations=2)


def _experiment(directory: Path, *, max_turns: int = 8, stream: bool = True) -> Experiment:
    text = f"""
    name = "research"
    models = ["{MODEL}"]
    [run]
    stream = {"true" if stream else "false"}
    [request]
    max_tokens = 600
    tools = [{{ type = "web_search_20250305", name = "web_search", max_uses = 5 }}]
    [[arms]]
    name = "baseline"
    [[cases]]
    id = "strike"
    max_turns = {max_turns}
    turns = ["Search the news about the Leipzig strike.", "And what does it mean for orders?"]
    """
    path = directory / "research.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_experiment(path).experiment


def _transport(fail_at: int | None = None) -> Recording:
    return Recording(create_app(PAUSING), fail_at)


@pytest.mark.parametrize("stream", [True, False], ids=["sse", "json"])
def test_a_paused_turn_is_sent_back_as_is_with_no_new_user_message(
    tmp_path: Path, stream: bool
) -> None:
    """Each continuation is the previous request plus the paused reply, nothing more; the
    scripted follow-up comes only once the first turn has ended."""
    experiment = _experiment(tmp_path, stream=stream)
    transport = _transport()
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    assert run_in_process(experiment, run_dir, transport).exit_code == 0
    sent = transport.sent()
    turns = read_turns(run_dir.path).sort("turn").collect()
    reasons = turns["stop_reason"].to_list()
    assert reasons[:3] == ["pause_turn", "pause_turn", "end_turn"]
    assert len(sent) == turns.height
    for n in (1, 2):
        paused = json.loads(turns["content_json"][n - 1])
        assert sent[n]["messages"] == [*sent[n - 1]["messages"], _assistant(paused)]
    follow_up = sent[3]["messages"][-1]
    assert follow_up == {"role": "user", "content": "And what does it mean for orders?"}
    assert [m["role"] for m in sent[3]["messages"]] == ["user", *["assistant"] * 3, "user"]


def _assistant(content: list[dict[str, Any]]) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def test_turn_rows_record_each_continuation_and_the_result_counts_them(tmp_path: Path) -> None:
    """turns.parquet has a row per continuation (next_json `{}`), with its server tool usage;
    the result row counts every request as a turn and ends on the final answer."""
    experiment = _experiment(tmp_path)
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    run_in_process(experiment, run_dir, _transport())
    turns = read_turns(run_dir.path).sort("turn").collect()
    paused = turns.filter(pl.col("stop_reason") == "pause_turn")
    assert paused.height == 4  # both user turns search five times
    assert (paused["next_json"] == "{}").all()
    searches = [
        json.loads(u)["server_tool_use"]["web_search_requests"] for u in turns["usage_json"]
    ]
    assert searches == [2, 2, 1, 2, 2, 1]
    result = read_results(run_dir.path).collect().row(0, named=True)
    assert result["turns"] == turns.height == 6
    assert result["stop_reason"] == "end_turn"
    assert result["input_tokens"] == turns["input_tokens"].sum()


def test_max_turns_counts_continuations(tmp_path: Path) -> None:
    """With max_turns 2 the conversation stops after one continuation, still paused."""
    experiment = _experiment(tmp_path, max_turns=2)
    transport = _transport()
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    run_in_process(experiment, run_dir, transport)
    assert len(transport.bodies) == 2
    result = read_results(run_dir.path).collect()
    assert result["turns"].to_list() == [2]
    assert result["stop_reason"].to_list() == ["pause_turn"]


@pytest.mark.parametrize("crash_at", [2, 3], ids=["after-first-pause", "after-second-pause"])
def test_a_crash_at_a_paused_turn_resumes_with_the_continuation_byte_for_byte(
    tmp_path: Path, crash_at: int
) -> None:
    """Killed while sending a continuation, --resume sends that continuation first, byte for
    byte as the uninterrupted run did, and no finished turn again."""
    experiment = _experiment(tmp_path)
    whole = _transport()
    run_in_process(experiment, new_run_dir(tmp_path, experiment, "whole"), whole)

    crashing = _transport(fail_at=crash_at)
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    with pytest.raises(RunFailed, match="the machine went down"):
        run_in_process(experiment, run_dir, crashing)
    on_disk = read_turns(run_dir.path).collect()
    assert on_disk["stop_reason"].to_list() == ["pause_turn"] * (crash_at - 1)

    resumed = _transport()
    assert run_in_process(experiment, run_dir, resumed, resume=True).exit_code == 0
    assert resumed.bodies[0] == whole.bodies[crash_at - 1]
    assert crashing.bodies + resumed.bodies == whole.bodies
    turns = read_turns(run_dir.path).sort("turn").collect()
    assert turns["turn"].to_list() == list(range(1, len(whole.bodies) + 1))
