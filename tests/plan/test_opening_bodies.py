"""What a run sends: every request's body byte for byte as `request_body` encodes it, the
repeats of a cell included (they share one encoding)."""

from __future__ import annotations

import json
import tracemalloc
from collections import Counter
from pathlib import Path

import httpx
import pytest
from e2e_support import SECRET

from runner.config.types import Arm, Case, Experiment, RunSettings, Target
from runner.emulator import EmulatorConfig
from runner.emulator.app import EmulatorApp
from runner.plan.matrix import plan_requests, prepare, request_body
from runner.run.session import RunServices, create_run_directory, execute_run

INSTANT = EmulatorConfig(ttft_ms=0.0, ms_per_output_token=0.0, jitter=0.0, fixed_latency_ms=0.0)
TOOL = {"name": "lookup", "description": "Looks a word up.", "input_schema": {"type": "object"}}
ARMS = (
    Arm("baseline"),
    Arm("warm", ("context-management-2025-06-27",), {"temperature": 1.0}, {"x-arm": "warm"}),
)
CASES = (
    Case("plain", ({"role": "user", "content": 'Say "hi" — in French, é.'},)),
    Case("framed", ({"role": "user", "content": "Hi."},), system="Be brief.", tools=(TOOL,)),
)


class Recording(httpx.AsyncBaseTransport):
    """The emulator app's transport, keeping each request's bytes and beta/arm headers."""

    def __init__(self, app: EmulatorApp) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self.sent: list[tuple[bytes, str | None, str | None]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Record, then let the emulator answer."""
        headers = request.headers
        self.sent.append((request.content, headers.get("anthropic-beta"), headers.get("x-arm")))
        return await self._inner.handle_async_request(request)


def _experiment(stream: bool) -> Experiment:
    return Experiment(
        name="bodies",
        path=Path("bodies.toml"),
        models=("claude-sonnet-5", "claude-opus-5"),
        arms=ARMS,
        cases=CASES,
        target=Target(base_url="http://emulator"),
        run=RunSettings(repeats=3, concurrency=4, stream=stream),
        request={"max_tokens": 40, "temperature": 0.5},
    )


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
async def test_the_emulator_receives_each_body_as_request_body_encodes_it(
    tmp_path: Path, stream: bool
) -> None:
    """Every request (3 repeats of 8 cells) arrives as the compact JSON of its body, with its
    arm's headers: the shared opening changes no byte and no repeat."""
    experiment = _experiment(stream)
    transport = Recording(EmulatorApp(INSTANT))
    run_dir = create_run_directory(tmp_path, experiment, "r1", experiment.request_count)
    async with httpx.AsyncClient(transport=transport) as http:
        outcome = await execute_run(experiment, run_dir, "r1", RunServices.real(http, SECRET))

    expected = Counter(
        (
            json.dumps(request_body(experiment, p), separators=(",", ":")).encode(),
            p.arm.beta_header,
            p.arm.headers.get("x-arm"),
        )
        for p in plan_requests(experiment)
    )
    assert outcome.counts.ok == experiment.request_count == 24
    assert Counter(transport.sent) == expected
    assert len(expected) == 8  # one distinct body per (case, model, arm), each sent 3 times


def test_a_cell_keeps_its_encoded_body_only_until_its_last_repeat() -> None:
    """Preparing every request of a plan leaves no encoded body held by the plan: a run's
    memory stays flat however many distinct long prompts it sends."""
    long = "word " * 10_000  # 50 KB a body
    cases = tuple(Case(f"c{i}", ({"role": "user", "content": f"{i} {long}"},)) for i in range(40))
    experiment = Experiment(
        name="long",
        path=Path("long.toml"),
        models=("claude-sonnet-5",),
        arms=(Arm("baseline"),),
        cases=cases,
        run=RunSettings(repeats=2),
    )
    planned = plan_requests(experiment)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        sent = [prepare(experiment, p)[0].body for p in planned]
        assert sent[:40] == sent[40:]  # the repeats share (and send) the same bytes
        del sent
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 200_000  # 40 bodies of 50 KB (2 MB) if the plan kept them
