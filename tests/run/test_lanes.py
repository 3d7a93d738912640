"""A lane's workers in virtual time: a request is taken when a slot can carry it, and a
request sleeping in a backoff leaves its slot to the next one."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from e2e_support import run_in_virtual_time, write_experiment
from virtual_time import VirtualTime

from runner.config.load import load_experiment
from runner.config.types import Experiment
from runner.emulator import EmulatorConfig
from runner.emulator.app import EmulatorApp
from runner.results.store import read_results

MODEL = "claude-sonnet-5"
INSTANT = EmulatorConfig(
    ttft_ms=0.0, ms_per_output_token=0.0, ms_per_1k_input_tokens=0.0, jitter=0.0,
    fixed_latency_ms=0.0,
)  # fmt: skip


def _experiment(tmp_path: Path, prompts: list[tuple[str, str]], run: str) -> Experiment:
    path = write_experiment(
        tmp_path, "http://emulator", arms=(("baseline", ()),), prompts=prompts, models=(MODEL,),
        run=run,
    )  # fmt: skip
    return load_experiment(path).experiment


def _case_of(body: object) -> str:
    assert isinstance(body, dict)
    text = str(body["messages"][-1]["content"])
    return text.split(":")[0].removeprefix("Case ")


@pytest.mark.anyio
async def test_a_request_sleeping_in_a_backoff_leaves_its_slot_to_the_next(
    tmp_path: Path,
) -> None:
    """With concurrency 1, a request whose first attempt fails (500) sleeps its backoff
    without its slot: the next two requests are sent meanwhile, its retry after them."""
    time = VirtualTime()
    app = EmulatorApp(INSTANT, time.now)
    prompts = [("c0", "Case c0: say something. [[emulator:server_error]]")]
    prompts += [(f"c{i}", f"Case c{i}: say something.") for i in (1, 2)]
    run = "repeats = 1\nconcurrency = 1\n[run.rate_limits]\nrpm = 6000"
    experiment = _experiment(tmp_path, prompts, run)

    outcome = await run_in_virtual_time(tmp_path, experiment, httpx.ASGITransport(app=app), time)

    assert outcome.counts.ok == 3
    assert [_case_of(r.body) for r in app.received] == ["c0", "c1", "c2", "c0"]


@pytest.mark.anyio
async def test_a_request_is_taken_only_when_a_slot_can_carry_it(tmp_path: Path) -> None:
    """With concurrency 1 and answers that take a second, the requests are sent a second
    apart and none records a queue wait: no worker holds a request while waiting for
    another's slot (queue_ms is the wait for the scheduler's budget, pauses and cuts)."""
    time = VirtualTime()
    arrived: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        arrived.append(time.now())
        await time.sleep(1.0)
        return httpx.Response(200, headers=_HEADERS, content=_answer())

    prompts = [(f"c{i}", f"Case c{i}: say something.") for i in range(3)]
    run = "repeats = 1\nconcurrency = 1\n[run.rate_limits]\nrpm = 6000"
    experiment = _experiment(tmp_path, prompts, run)

    outcome = await run_in_virtual_time(tmp_path, experiment, httpx.MockTransport(handler), time)

    assert outcome.counts.ok == 3
    assert arrived == [0.0, 1.0, 2.0]
    assert read_results(outcome.run_dir).collect()["queue_ms"].to_list() == [0.0, 0.0, 0.0]


_HEADERS = {"content-type": "text/event-stream"}


def _answer() -> bytes:
    events = (
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": MODEL,
            "content": [], "usage": {"input_tokens": 5, "output_tokens": 0}}}),
        ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        ("content_block_stop", {"index": 0}),
        ("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}}),
        ("message_stop", {}),
    )  # fmt: skip
    return b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events)


@pytest.mark.anyio
async def test_stand_ins_for_sleeping_requests_are_bounded_and_every_request_ends(
    tmp_path: Path,
) -> None:
    """With concurrency 1 and every request failing once, each sleeper starts a stand-in, up
    to 2 x concurrency + 8 workers: at most 10 requests are open (sent, not yet answered) at
    once, the rest wait to be taken, and every one ends ok on its second attempt."""
    time = VirtualTime()
    app = EmulatorApp(INSTANT, time.now)
    prompts = [(f"c{i}", f"Case c{i}: say something. [[emulator:server_error]]") for i in range(14)]
    run = "repeats = 1\nconcurrency = 1\n[run.rate_limits]\nrpm = 60000"
    experiment = _experiment(tmp_path, prompts, run)

    outcome = await run_in_virtual_time(tmp_path, experiment, httpx.ASGITransport(app=app), time)

    assert outcome.counts.ok == 14
    seen: set[str] = set()
    open_at_most = 0
    for case in (_case_of(r.body) for r in app.received):
        (seen.remove if case in seen else seen.add)(case)
        open_at_most = max(open_at_most, len(seen))
    assert open_at_most == 10
    assert len(app.received) == 28
    assert read_results(outcome.run_dir).collect()["attempts"].to_list() == [2] * 14


@pytest.mark.anyio
async def test_a_stand_in_retires_once_its_sleeper_is_back(tmp_path: Path) -> None:
    """With concurrency 1, the stand-in started while c0 sleeps its backoff ends once c0 is
    back at work: after c0's retry no request waits behind another for the one slot."""
    time = VirtualTime()
    failed: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        case = _case_of(json.loads(request.content))
        if case == "c0" and not failed:
            failed.append(case)
            error = {"type": "error", "error": {"type": "api_error", "message": "boom"}}
            return httpx.Response(500, headers={"retry-after": "0.5"}, json=error)
        await time.sleep(1.0)
        return httpx.Response(200, headers=_HEADERS, content=_answer())

    prompts = [(f"c{i}", f"Case c{i}: say something.") for i in range(5)]
    run = "repeats = 1\nconcurrency = 1\n[run.rate_limits]\nrpm = 6000"
    experiment = _experiment(tmp_path, prompts, run)

    outcome = await run_in_virtual_time(tmp_path, experiment, httpx.MockTransport(handler), time)

    assert outcome.counts.ok == 5
    queued = read_results(outcome.run_dir).collect().sort("case_id")["queue_ms"].to_list()
    assert queued == [500.0, 0.0, 0.0, 0.0, 0.0]  # c0's retry waited for c1's slot
