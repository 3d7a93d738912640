"""Conversation cases: tool loops with scripted results, scripted turns, turn rows, resume."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from runner.analysis import compare
from runner.analysis.cost import with_cost
from runner.config.prices import default_prices
from runner.config.types import Arm
from runner.errors import RunFailed
from runner.results.schema import TURNS_SCHEMA
from runner.results.store import TURNS, read_results, read_scores, read_turns
from runner.run.resume import RETRY_ERRORS
from tests.run.conversation_support import (
    ORDER_CASE,
    agent_experiment,
    new_run_dir,
    new_transport,
    run_in_process,
)


def _conversations(sent: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Requests grouped by conversation (arm and first message), in the order sent."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for body in sent:
        key = json.dumps([body.get("context_management"), body["messages"][0]])
        grouped.setdefault(key, []).append(body)
    return grouped


@pytest.mark.parametrize("stream", [True, False], ids=["sse", "json"])
def test_follow_up_requests_carry_the_scripted_tool_results(tmp_path: Path, stream: bool) -> None:
    """Each follow-up hands back the reply unchanged and one result per call, as scripted."""
    experiment = agent_experiment(tmp_path, stream=stream, cases=ORDER_CASE)
    transport = new_transport()
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    assert run_in_process(experiment, run_dir, transport).exit_code == 0
    turns = read_turns(run_dir.path).sort("arm", "turn").collect()
    for conversation in _conversations(transport.sent()).values():
        assert len(conversation) >= 3
        for before, after in itertools.pairwise(conversation):
            assert after["messages"][: len(before["messages"])] == before["messages"]
            assistant, results = after["messages"][-2:]
            calls = [b for b in assistant["content"] if b["type"] == "tool_use"]
            assert [r["tool_use_id"] for r in results["content"]] == [c["id"] for c in calls]
            for call, result in zip(calls, results["content"], strict=True):
                _check_result(call["name"], call["input"], result)
    lookups = [r for r in transport.sent() if _results_of(r, "Order A-17 shipped")]
    assert lookups, "the first scripted lookup_order result was sent"
    assert turns["turn"].to_list()[:2] == [1, 2]


def _results_of(body: dict[str, Any], text: str) -> bool:
    last = body["messages"][-1]["content"]
    return isinstance(last, list) and any(text in str(b.get("content")) for b in last)


def _check_result(name: str, arguments: dict[str, Any], result: dict[str, Any]) -> None:
    if name == "refund_policy":
        assert result["content"] == f"Refunds within 30 days for {arguments['category']}."
        assert "is_error" not in result
    elif name == "escalate":
        assert result["is_error"] is True
        assert "No result is scripted for the tool 'escalate'" in result["content"]
    else:
        assert name == "lookup_order"
        assert result["content"].startswith("Order A-17")


def test_turn_rows_and_the_one_result_row_summarise_the_conversation(tmp_path: Path) -> None:
    """turns.parquet has a row per turn; results.parquet one row per request with the sums."""
    experiment = agent_experiment(tmp_path, cases=ORDER_CASE)
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    run_in_process(experiment, run_dir, new_transport())
    assert pl.read_parquet_schema(run_dir.path / TURNS) == dict(TURNS_SCHEMA)
    turns = pl.read_parquet(run_dir.path / TURNS).sort("arm", "turn")
    results = read_results(run_dir.path).sort("arm").collect()
    assert results.height == 2
    for result in results.iter_rows(named=True):
        mine = turns.filter(pl.col("request_key") == result["request_key"])
        assert result["turns"] == mine.height
        assert result["input_tokens"] == mine["input_tokens"].sum()
        assert result["output_tokens"] == mine["output_tokens"].sum()
        assert result["turn_input_tokens"] == mine["input_tokens"].to_list()
        assert result["tool_calls"] == mine["tool_names"].list.len().sum()
        assert result["last_turn_input_tokens"] == mine["input_tokens"][-1]
        assert result["latency_ms"] == pytest.approx(mine["latency_ms"].sum())
        assert result["stop_reason"] == mine["stop_reason"][-1] == "end_turn"
        assert mine["stop_reason"][:-1].to_list() == ["tool_use"] * (mine.height - 1)
        assert result["attempts"] == mine["attempts"].sum()
    first_inputs = turns.filter(pl.col("turn") == 1)["tool_inputs"].to_list()
    assert all(json.loads(i) for inputs in first_inputs for i in inputs)
    managed = turns.filter(pl.col("arm") == "context-management")
    assert "clear_tool_uses_20250919" in managed["context_edits"].explode().to_list()
    assert managed["cleared_input_tokens"].max() > 0


def test_cost_counts_every_turn(tmp_path: Path) -> None:
    """The result row's cost is the sum of what each turn's tokens cost."""
    experiment = agent_experiment(tmp_path, cases=ORDER_CASE)
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    run_in_process(experiment, run_dir, new_transport())
    prices = default_prices()
    per_request = with_cost(read_results(run_dir.path), prices).collect()["cost_usd"].sum()
    turns = read_turns(run_dir.path).with_columns(
        usage_json=pl.col("usage_json"), batch_id=pl.lit(None, pl.String)
    )
    per_turn = with_cost(turns, prices).collect()["cost_usd"].sum()
    assert per_request == pytest.approx(per_turn)
    assert per_request > 0


def test_scripted_turns_follow_each_answer(tmp_path: Path) -> None:
    """turns = [...] sends each user message after the answer to the one before."""
    cases = '[[cases]]\nid = "chat"\nturns = ["Hi there.", "Tell me more.", "Thanks!"]\n'
    experiment = agent_experiment(tmp_path, cases=cases)
    experiment = experiment.__class__(**{**experiment.__dict__, "request": {"max_tokens": 200}})
    transport = new_transport()
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    run_in_process(experiment, run_dir, transport)
    baseline = [b for b in transport.sent() if "context_management" not in b]
    assert [len(b["messages"]) for b in baseline] == [1, 3, 5]
    users = [m["content"] for m in baseline[-1]["messages"] if m["role"] == "user"]
    assert users == ["Hi there.", "Tell me more.", "Thanks!"]
    assert baseline[1]["messages"][1]["role"] == "assistant"


def test_max_turns_ends_a_loop_that_keeps_calling_tools(tmp_path: Path) -> None:
    """Forced tool use never ends by itself: max_turns stops it, stop_reason tool_use."""
    cases = (
        '[[cases]]\nid = "forced"\nprompt = "Check the order."\nmax_turns = 3\n'
        'tool_results = { lookup_order = "Shipped.", refund_policy = "30 days.", '
        'escalate = { function = "support:broken" } }\n'
    )
    experiment = agent_experiment(tmp_path, cases=cases)
    request = {**experiment.request, "tool_choice": {"type": "any"}}
    experiment = experiment.__class__(**{**experiment.__dict__, "request": request})
    transport = new_transport()
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    run_in_process(experiment, run_dir, transport)
    results = read_results(run_dir.path).collect()
    assert results["turns"].to_list() == [3, 3]
    assert results["stop_reason"].to_list() == ["tool_use", "tool_use"]
    assert len(transport.bodies) == 6
    sent = [b["messages"][-1]["content"] for b in transport.sent()[2:]]
    escalations = [r for content in sent for r in content if "support:broken" in r["content"]]
    for result in escalations:
        assert result["is_error"] is True
        assert "ValueError: the ticket system is down" in result["content"]


def test_a_crashed_conversation_resumes_after_its_last_turn_byte_for_byte(
    tmp_path: Path,
) -> None:
    """After a crash mid-conversation, --resume sends no finished turn again, and the next
    request is byte for byte what the uninterrupted run sent."""
    experiment = agent_experiment(tmp_path, cases=ORDER_CASE)
    whole = new_transport()
    reference = new_run_dir(tmp_path, experiment, "whole")
    run_in_process(experiment, reference, whole)
    total = len(whole.bodies)
    assert total >= 6

    crashing = new_transport(fail_at=4)
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    with pytest.raises(RunFailed, match="the machine went down"):
        run_in_process(experiment, run_dir, crashing)
    finished = read_turns(run_dir.path).filter(pl.col("status") == "ok").collect()
    assert finished.height == len(crashing.bodies) == 3

    resumed = new_transport()
    assert run_in_process(experiment, run_dir, resumed, resume=True).exit_code == 0
    assert len(crashing.bodies) + len(resumed.bodies) == total
    assert sorted(crashing.bodies + resumed.bodies) == sorted(whole.bodies)
    assert not set(crashing.bodies) & set(resumed.bodies)
    mine = read_results(run_dir.path).sort("arm").collect().drop("run_id", "started_at")
    theirs = read_results(reference.path).sort("arm").collect().drop("run_id", "started_at")
    same = ["turns", "tool_calls", "input_tokens", "output_tokens", "text", "stop_reason"]
    assert mine.select(same).equals(theirs.select(same))


def test_scorers_grade_the_final_answer_and_see_every_tool_call(tmp_path: Path) -> None:
    """A tool_call scorer finds a call made in an early turn; text scorers read the answer."""
    scorers = (
        '[[scorers]]\nname = "looked_up"\ntype = "tool_call"\ntool = "lookup_order"\n'
        '[[scorers]]\nname = "escalated"\ntype = "tool_call"\ntool = "escalate"\n'
        '[[scorers]]\nname = "answered"\ntype = "length"\nmin_words = 3\n'
    )
    experiment = agent_experiment(tmp_path, cases=ORDER_CASE + scorers)
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    run_in_process(experiment, run_dir, new_transport())
    scores = read_scores(run_dir.path).collect()
    assert scores.height == 6
    assert scores["error"].is_null().all()
    assert scores["passed"].all()
    final = read_results(run_dir.path).collect()
    assert all("tool_use" in types for types in final["content_types"])
    assert (final["stop_reason"] == "end_turn").all()


def test_a_failed_turn_ends_the_conversation_and_retry_errors_continues_it(
    tmp_path: Path,
) -> None:
    """A refused turn makes an error row (paid turns counted); --retry-errors sends only the
    failed turn and what follows, never the turns before it."""
    experiment = agent_experiment(tmp_path, cases=ORDER_CASE + 'escalate = "Done."\n')
    arms = tuple(a for a in experiment.arms if a.name == "baseline")
    experiment = experiment.__class__(**{**experiment.__dict__, "arms": arms})
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    refusing = new_transport()
    refusing.refuse_at = 2
    run_in_process(experiment, run_dir, refusing)
    failed = read_results(run_dir.path).collect()
    assert failed["status"].to_list() == ["error"]
    assert failed["turns"].to_list() == [1]
    assert failed["input_tokens"][0] > 0
    turns = read_turns(run_dir.path).sort("turn").collect()
    assert turns["status"].to_list() == ["ok", "error"]

    again = new_transport()
    run_in_process(experiment, run_dir, again, resume=True, mode=RETRY_ERRORS)
    assert again.bodies[0] == refusing.bodies[1]
    assert refusing.bodies[0] not in again.bodies
    final = read_results(run_dir.path).collect()
    assert final["status"].to_list() == ["ok"]
    assert final["turns"][0] == len(again.bodies) + 1
    assert read_turns(run_dir.path).collect()["status"].to_list().count("error") == 0


def test_a_caching_arm_reads_the_loop_prompt_from_cache(tmp_path: Path) -> None:
    """An arm that marks the last block for caching reads each turn's prompt from the cache:
    compare shows a cache_read_share above the baseline's and fewer uncached input tokens."""
    policy = "Refunds follow the shop's policy, article by article. " * 120  # > 1024 tokens
    cases = "".join(
        ORDER_CASE.replace('id = "order"', f'id = "order-{n}"\nsystem = "{policy}"').replace(
            "A-17", f"A-{n}"
        )
        for n in range(6)
    )
    experiment = agent_experiment(tmp_path, cases=cases)
    cached = Arm(
        "cached",
        betas=("extended-cache-ttl-2025-04-11",),
        request={"cache_control": {"type": "ephemeral", "ttl": "1h"}},
    )
    arms = (experiment.arms[0], cached)
    experiment = experiment.__class__(**{**experiment.__dict__, "arms": arms})
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    run_in_process(experiment, run_dir, new_transport())
    results = with_cost(read_results(run_dir.path), default_prices())
    table = compare(results, "baseline", n_boot=200)
    share = table.filter(pl.col("metric") == "cache_read_share").to_dicts()[0]
    assert share["baseline"] == 0.0
    assert share["value"] > 0.3
    assert share["delta"] > 0
    inputs = table.filter(pl.col("metric") == "input_tokens").to_dicts()[0]
    assert inputs["delta"] < 0


def test_interleaved_thinking_leaves_its_trace_only_over_turns(tmp_path: Path) -> None:
    """With thinking on in both arms, only the interleaved arm's replies to tool results
    think: its conversations carry block:thinking_after_tool, the baseline's do not."""
    experiment = agent_experiment(tmp_path, cases=ORDER_CASE)
    thinking = {"type": "enabled", "budget_tokens": 1024}
    request = {**experiment.request, "max_tokens": 3000, "thinking": thinking}
    interleaved = Arm("interleaved", betas=("interleaved-thinking-2025-05-14",))
    arms = (experiment.arms[0], interleaved)
    experiment = experiment.__class__(**{**experiment.__dict__, "arms": arms, "request": request})
    run_dir = new_run_dir(tmp_path, experiment, "run-1")
    run_in_process(experiment, run_dir, new_transport())
    evidence = {r["arm"]: r["evidence"] for r in read_results(run_dir.path).collect().to_dicts()}
    assert "block:thinking" in evidence["baseline"]
    assert "block:thinking_after_tool" not in evidence["baseline"]
    assert "block:thinking_after_tool" in evidence["interleaved"]
