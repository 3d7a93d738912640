"""kill -9 in the middle of conversations, then --resume: no finished turn is sent again."""

from __future__ import annotations

import dataclasses
import json
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from e2e_support import run_cli
from resume_support import start_child, wait_for_rows

from runner.emulator import EmulatorConfig, EmulatorServer
from runner.results.store import read_results, read_turns

pytestmark = pytest.mark.slow

CASES = 24
SLOW = EmulatorConfig(ttft_ms=10.0, fixed_latency_ms=40.0, jitter=0.0)
SEARCH = '{ type = "web_search_20250305", name = "web_search", max_uses = 2 }'
TOOL = (
    '{ name = "lookup_order", description = "An order by id.", input_schema = { type = "object",'
    ' properties = { order_id = { type = "string" } }, required = ["order_id"] } }'
)


@pytest.fixture(params=[False, True], ids=["tool-loops", "paused-searches"])
def slow_server(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    """An emulator answering each request in 40 ms; in the second form its server-side loop
    runs one search per response, so every searching turn pauses once."""
    config = dataclasses.replace(SLOW, server_tool_iterations=1) if request.param else SLOW
    with EmulatorServer(config) as server:
        yield server


def _experiment(directory: Path, url: str, *, search: bool) -> Path:
    tools = f"{TOOL}, {SEARCH}" if search else TOOL
    lines = [
        'name = "talk"',
        'models = ["claude-sonnet-5-5"]',
        f'[target]\nbase_url = "{url}"',
        "[run]\nconcurrency = 4",
        f"[request]\nmax_tokens = 200\ntools = [{tools}]",
        '[[arms]]\nname = "baseline"',
    ]
    for n in range(CASES):  # max_turns: room for the longest loop the emulator makes, twice
        lines += [
            f'[[cases]]\nid = "c{n}"\nmax_turns = 20',
            f'turns = ["Case c{n}: look up my order A-{n}.", "And look up the order again?"]',
            'tool_results = { lookup_order = ["Shipped.", "Delivered.", "Returned."] }',
        ]
    path = directory / "talk.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _turn_of(body: object) -> tuple[str, int]:
    """(case id, turn number) of a received request: the case from its first message, the turn
    from how many replies it hands back."""
    assert isinstance(body, dict)
    messages = body["messages"]
    case = messages[0]["content"].split(":")[0].removeprefix("Case ")
    return case, 1 + sum(m["role"] == "assistant" for m in messages)


def test_kill_9_mid_conversation_then_resume_resends_no_finished_turn(
    tmp_path: Path, slow_server: EmulatorServer, keyed: str
) -> None:
    """Every turn on disk at the kill is never received again; each conversation ends whole."""
    search = slow_server.app.config.server_tool_iterations == 1
    experiment = _experiment(tmp_path, slow_server.url, search=search)
    run_dir = tmp_path / "out" / "talk" / "k"
    child = start_child(experiment, tmp_path / "out", "k")
    wait_for_rows(child, run_dir, table="turns")
    time.sleep(random.uniform(0.0, 0.25))  # noqa: TID251 -- a random moment in the child's run
    child.kill()
    child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL
    durable = {
        (row["case_id"], row["turn"])
        for row in read_turns(run_dir).filter(pl.col("status") == "ok").collect().to_dicts()
    }
    assert durable
    before = len(slow_server.app.received)

    # Every conversation left at once (they are independent): seconds less than 4 at a time.
    assert run_cli(["run", experiment, "--resume", run_dir, "--concurrency", "24", "-q"]) == 0

    resent = Counter(_turn_of(r.body) for r in slow_server.app.received[before:])
    assert resent, "the resume had turns left to send"
    assert not durable & set(resent), "a turn that was on disk was sent again"
    assert max(resent.values()) == 1
    turns = pl.read_parquet(run_dir / "turns.parquet")
    assert turns.select("request_key", "turn").is_unique().all()
    results = read_results(run_dir).collect()
    assert results.height == CASES
    counted = turns.group_by("request_key").len()
    joined = results.join(counted, on="request_key")
    assert (joined["turns"] == joined["len"]).all()
    assert (results["status"] == "ok").all()
    follow_ups = [json.loads(n) for n in turns["next_json"].drop_nulls()]
    assert sum(isinstance(m.get("content"), str) for m in follow_ups) == CASES
    paused = turns.filter(pl.col("stop_reason") == "pause_turn").height
    assert paused == (2 * CASES if search else 0)  # each user turn pauses once
