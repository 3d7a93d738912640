"""The orchestration in virtual time, through `httpx.ASGITransport` over the emulator app:
fair pacing of two models, a long retry-after, an overloaded event mid-stream."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import anyio
import httpx
import pytest
from e2e_support import run_in_virtual_time, write_experiment
from virtual_time import VirtualTime

from runner.config.load import load_experiment
from runner.config.types import Experiment
from runner.emulator import EmulatorConfig
from runner.emulator.app import EmulatorApp
from runner.results.store import read_attempts, read_results

SLOW_MODEL, FAST_MODEL = "claude-opus-5", "claude-sonnet-5"
INSTANT = EmulatorConfig(
    ttft_ms=0.0, ms_per_output_token=0.0, ms_per_1k_input_tokens=0.0, jitter=0.0,
    fixed_latency_ms=0.0,
)  # fmt: skip


class ByModel(httpx.AsyncBaseTransport):
    """Sends each request to the emulator app serving its model (each with its own limits)."""

    def __init__(self, apps: Mapping[str, EmulatorApp]) -> None:
        self._transports = {m: httpx.ASGITransport(app=a) for m, a in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Route by the body's model."""
        model = json.loads(request.content)["model"]
        return await self._transports[model].handle_async_request(request)


def _experiment(
    tmp_path: Path, models: tuple[str, ...], prompts: list[tuple[str, str]], run: str
) -> Experiment:
    path = write_experiment(
        tmp_path, "http://emulator", arms=(("baseline", ()),), prompts=prompts, models=models,
        run=run,
    )  # fmt: skip
    return load_experiment(path).experiment


def _cases(count: int, directive: str = "") -> list[tuple[str, str]]:
    return [(f"c{i}", f"Case c{i}: say something. {directive}") for i in range(count)]


@pytest.mark.anyio
async def test_two_models_with_different_limits_each_go_at_their_own_pace(
    tmp_path: Path,
) -> None:
    """A model limited to 2 rpm sleeps on its own budget without holding the run's slots: the
    6000-rpm model's 30 requests all arrive before the slow model's third, and the slow
    model is paced at its limit (one a 30 s, after its first two)."""
    time = VirtualTime()
    slow = EmulatorApp(EmulatorConfig(**{**vars(INSTANT), "rpm": 2}), time.now)
    fast = EmulatorApp(EmulatorConfig(**{**vars(INSTANT), "rpm": 6000}), time.now)
    experiment = _experiment(tmp_path, (SLOW_MODEL, FAST_MODEL), _cases(30), "concurrency = 8")
    transport = ByModel({SLOW_MODEL: slow, FAST_MODEL: fast})

    outcome = await run_in_virtual_time(tmp_path, experiment, transport, time)

    assert outcome.counts.ok == 60
    slow_at = [r.arrived_at for r in slow.received]
    fast_at = [r.arrived_at for r in fast.received]
    assert len(fast_at) == 30
    assert len(slow_at) == 30  # no 429: the scheduler kept to the learned limit
    assert max(fast_at) < sorted(slow_at)[2]
    gaps = [b - a for a, b in itertools.pairwise(slow_at[1:])]
    assert min(gaps) == pytest.approx(30.0, abs=1.0)
    in_flight = read_attempts(outcome.run_dir).collect()["sched_in_flight"]
    assert in_flight.max() <= 8


class LongRetryAfter:
    """ASGI middleware over the emulator: every 429 it sends asks for `retry-after: 3600`."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app

    async def __call__(self, scope: object, receive: object, send: object) -> None:
        """Rewrite the retry-after header of 429 responses."""

        async def rewritten(message: dict[str, object]) -> None:
            if message.get("type") == "http.response.start" and message.get("status") == 429:
                headers = [(k, v) for k, v in message["headers"] if k.lower() != b"retry-after"]  # type: ignore[attr-defined]
                message = {**message, "headers": [*headers, (b"retry-after", b"3600")]}
            await send(message)  # type: ignore[operator]

        await self.app(scope, receive, rewritten)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_retry_after_past_the_deadline_ends_the_retries_at_once(tmp_path: Path) -> None:
    """With deadline_s = 60, a 429 asking for 3600 s is not waited for: one attempt, an error
    row that says the retries gave up and why, and no hour-long sleep."""
    time = VirtualTime()
    app = EmulatorApp(INSTANT, time.now)
    run = "concurrency = 2\ndeadline_s = 60"
    experiment = _experiment(tmp_path, (FAST_MODEL,), _cases(1, "[[emulator:rate_limitedx3]]"), run)
    transport = httpx.ASGITransport(app=LongRetryAfter(app))  # type: ignore[arg-type]

    outcome = await run_in_virtual_time(tmp_path, experiment, transport, time)

    assert len(app.received) == 1
    row = read_results(outcome.run_dir).collect().row(0, named=True)
    assert row["status"] == "error"
    assert row["error_type"] == "rate_limited"
    assert row["error_message"].startswith(
        "gave up: the server asked to wait 3600 s, past the 60 s deadline"
    )
    assert time.t < 60.0


@pytest.mark.anyio
async def test_an_overloaded_event_mid_stream_counts_as_overload_everywhere(
    tmp_path: Path,
) -> None:
    """Every first answer is a 200 stream that ends in an overloaded_error event: the rows say
    overloaded, the request is retried, and the scheduler cuts its concurrency as it would
    for 529s (a window of mostly overloaded attempts)."""
    time = VirtualTime()
    app = EmulatorApp(INSTANT, time.now)
    cases = _cases(8, "[[emulator:error_event]]")
    experiment = _experiment(tmp_path, (FAST_MODEL,), cases, "concurrency = 4")

    outcome = await run_in_virtual_time(tmp_path, experiment, httpx.ASGITransport(app=app), time)

    attempts = read_attempts(outcome.run_dir).collect()
    failed = attempts.filter(attempts["status"] == "error")
    assert failed["error_type"].unique().to_list() == ["overloaded"]
    assert failed["http_status"].unique().to_list() == [200]
    assert outcome.counts.ok == 8
    assert attempts["sched_concurrency"].min() < 4  # cut, as for a window of 529s


def _sse(*events: tuple[str, dict[str, object]]) -> bytes:
    return b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events)


START = ("message_start", {"type": "message_start", "message": {
    "id": "msg_1", "type": "message", "role": "assistant", "model": FAST_MODEL, "content": [],
    "usage": {"input_tokens": 5, "output_tokens": 0}}})  # fmt: skip
REST = (
    ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
    ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
    ("content_block_stop", {"index": 0}),
    ("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}}),
    ("message_stop", {}),
)
LIMITS = {
    "content-type": "text/event-stream",
    "anthropic-ratelimit-requests-limit": "6000",
    "anthropic-ratelimit-requests-remaining": "5999",
}


@pytest.mark.anyio
async def test_limits_are_learned_when_the_first_headers_arrive(tmp_path: Path) -> None:
    """Without configured limits the first request goes alone until its limits are known:
    they are learned from its response headers, so the second request is sent while the
    first answer is still streaming (it only ends once the second has arrived)."""
    time = VirtualTime()
    second_arrived = anyio.Event()
    gave_up: list[bool] = []

    async def first_body() -> AsyncIterator[bytes]:
        yield _sse(START)
        with anyio.move_on_after(2) as waiting:  # real seconds: the second request never came
            await second_arrived.wait()
        gave_up.append(waiting.cancelled_caught)
        yield _sse(*REST)

    def handler(request: httpx.Request) -> httpx.Response:
        if not second_arrived.is_set() and "c0" in request.content.decode():
            return httpx.Response(200, headers=LIMITS, content=first_body())
        second_arrived.set()
        return httpx.Response(200, headers=LIMITS, content=_sse(START, *REST))

    experiment = _experiment(tmp_path, (FAST_MODEL,), _cases(2), "concurrency = 4")

    outcome = await run_in_virtual_time(tmp_path, experiment, httpx.MockTransport(handler), time)

    assert outcome.counts.ok == 2
    assert outcome.counts.attempts == 2
    assert gave_up == [False]  # the second was sent while the first was still streaming


@pytest.mark.anyio
async def test_each_rate_limit_header_lands_in_its_own_attempt_column(tmp_path: Path) -> None:
    """Every `anthropic-ratelimit-*` header's value, each one distinct, is recorded in the
    attempts column of its own bucket and field (no two swapped)."""
    time = VirtualTime()
    expected: dict[str, object] = {}
    headers = {"content-type": "text/event-stream"}
    for n, bucket in enumerate(("requests", "tokens", "input_tokens", "output_tokens")):
        header = f"anthropic-ratelimit-{bucket.replace('_', '-')}-"
        headers |= {header + "limit": str(9000 + n), header + "remaining": str(100 + n)}
        headers[header + "reset"] = f"2026-05-01T12:00:0{n}Z"
        expected |= {f"rl_{bucket}_limit": 9000 + n, f"rl_{bucket}_remaining": 100 + n}
        expected[f"rl_{bucket}_reset"] = f"2026-05-01T12:00:0{n}Z"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, content=_sse(START, *REST))

    experiment = _experiment(tmp_path, (FAST_MODEL,), _cases(1), "concurrency = 1")

    outcome = await run_in_virtual_time(tmp_path, experiment, httpx.MockTransport(handler), time)

    attempts = read_attempts(outcome.run_dir).collect()
    assert attempts.select(sorted(expected)).to_dicts() == [dict(sorted(expected.items()))]
