"""Judges whose model the arms do not use are paced like the arms, in virtual time: their
attempts stay under the run's concurrency and a 429 pauses them no longer than the retry
policy's `max_backoff_s`, in a session and in `beta-runner score`'s rescoring alike."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx
import pytest
from e2e_support import SECRET, write_experiment
from virtual_time import VirtualTime

from runner.config.load import load_experiment
from runner.config.types import Experiment
from runner.emulator import EmulatorConfig
from runner.emulator.app import EmulatorApp
from runner.http.client import MessagesClient
from runner.results.store import RunDirectory
from runner.run.scoring import rescore
from runner.run.session import RunServices, create_run_directory, execute_run

ARM_MODEL, JUDGE_MODEL = "claude-sonnet-5", "claude-haiku-4-5"
CONCURRENCY, MAX_BACKOFF_S, WIRE_S = 2, 4.0, 1.0
INSTANT = EmulatorConfig(
    ttft_ms=0.0, ms_per_output_token=0.0, ms_per_1k_input_tokens=0.0, jitter=0.0,
    fixed_latency_ms=0.0,
)  # fmt: skip
JUDGE = f"""
[[scorers]]
name = "graded"
type = "judge"
mode = "grade"
model = "{JUDGE_MODEL}"
"""
THROTTLED = {
    "type": "error",
    "error": {"type": "rate_limit_error", "message": "Number of requests exceeded the limit."},
}


@dataclass
class SlowWire(httpx.AsyncBaseTransport):
    """The emulator behind a wire taking `WIRE_S` virtual seconds a request, counting the
    requests in flight per model; the judge model's first request gets a 429 asking for an
    hour (more than `max_backoff_s`: that request gives up, and its model pauses)."""

    app: EmulatorApp
    time: VirtualTime
    in_flight: dict[str, int] = field(default_factory=dict)
    most: dict[str, int] = field(default_factory=dict)
    judge_arrivals: list[float] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Count, wait on the wire, then throttle or forward."""
        model = json.loads(request.content)["model"]
        self.in_flight[model] = self.in_flight.get(model, 0) + 1
        self.most[model] = max(self.most.get(model, 0), self.in_flight[model])
        try:
            return await self._reply(model, request)
        finally:
            self.in_flight[model] -= 1

    def total_most(self) -> int:
        """Requests in flight at once across models (only one model sends at a time here)."""
        return max(self.most.values())

    async def _reply(self, model: str, request: httpx.Request) -> httpx.Response:
        if model == JUDGE_MODEL:
            self.judge_arrivals.append(self.time.now())
        await self.time.sleep(WIRE_S)
        if model == JUDGE_MODEL and len(self.judge_arrivals) == 1:
            return httpx.Response(429, headers={"retry-after": "3600"}, json=THROTTLED)
        return await httpx.ASGITransport(app=self.app).handle_async_request(request)


def _experiment(tmp_path: Path) -> Experiment:
    run = f"concurrency = {CONCURRENCY}\n[run.retry]\nmax_backoff_s = {MAX_BACKOFF_S}"
    prompts = [(f"c{i}", f"Case c{i}: say something.") for i in range(8)]
    path = write_experiment(
        tmp_path, "http://emulator", arms=(("baseline", ()),), prompts=prompts,
        models=(ARM_MODEL,), run=run, extra=JUDGE,
    )  # fmt: skip
    return load_experiment(path).experiment


async def _session(tmp_path: Path, experiment: Experiment, wire: SlowWire) -> Path:
    run_dir = create_run_directory(tmp_path / "results", experiment, "r1", 0)
    async with httpx.AsyncClient(transport=wire) as http, anyio.create_task_group() as group:
        group.start_soon(wire.time.drive)
        services = RunServices(http, SECRET, wire.time, wire.time.sleep)
        await execute_run(experiment, run_dir, "r1", services)
        group.cancel_scope.cancel()
    return run_dir.path


def _assert_paced(wire: SlowWire) -> None:
    """Eight judge requests, the throttled one not retried; the next one sent once the pause
    (capped at max_backoff_s, not the hour asked for nor the scheduler's own 60 s) is over;
    and the judge model reached, without passing, the run's concurrency."""
    arrivals = wire.judge_arrivals
    assert len(arrivals) == 8
    assert arrivals[1] - arrivals[0] == pytest.approx(WIRE_S + MAX_BACKOFF_S, abs=0.01)
    assert wire.most[JUDGE_MODEL] == CONCURRENCY
    assert wire.total_most() <= CONCURRENCY


@pytest.mark.anyio
async def test_a_session_paces_a_judge_of_another_model_like_the_arms(tmp_path: Path) -> None:
    """In a session, the judge model's scheduler has the run's pause limit and in-flight cap."""
    time = VirtualTime()
    wire = SlowWire(EmulatorApp(INSTANT, time.now), time)

    await _session(tmp_path, _experiment(tmp_path), wire)

    assert wire.most[ARM_MODEL] == CONCURRENCY
    _assert_paced(wire)


@pytest.mark.anyio
async def test_rescoring_paces_a_judge_like_the_run(tmp_path: Path) -> None:
    """`rescore` (what `beta-runner score` calls) paces its judges the same way."""
    experiment = _experiment(tmp_path)
    time = VirtualTime()
    app = EmulatorApp(INSTANT, time.now)
    run_dir = await _session(tmp_path, experiment, SlowWire(app, time))
    wire = SlowWire(app, time)

    async with httpx.AsyncClient(transport=wire) as http, anyio.create_task_group() as group:
        group.start_soon(time.drive)
        client = MessagesClient(http, experiment.target, SECRET, timeout_s=60.0, clock=time)
        directory = RunDirectory.open(run_dir)
        counts = await rescore(
            experiment, directory, experiment.scorers, client, clock=time, sleep=time.sleep
        )
        group.cancel_scope.cancel()

    assert counts == {"graded": 8}
    assert ARM_MODEL not in wire.most
    _assert_paced(wire)
