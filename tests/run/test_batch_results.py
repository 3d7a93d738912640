"""A batch whose results cannot be read: a malformed line, or a download that keeps failing,
gives each request still waiting on that batch an error row naming why; the run goes on and
no finished row is lost. In virtual time, through `httpx.ASGITransport` over the emulator app,
with the results download answered by a hostile stand-in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import polars as pl
import pytest
from e2e_support import SECRET, write_experiment
from virtual_time import VirtualTime

from runner.config.load import load_experiment
from runner.emulator import EmulatorConfig
from runner.emulator.app import create_app
from runner.results.store import read_results
from runner.run.batches import BatchOptions, BatchSender
from runner.run.session import RunServices, create_run_directory, execute_run

INSTANT = EmulatorConfig(
    ttft_ms=0.0, ms_per_output_token=0.0, ms_per_1k_input_tokens=0.0, jitter=0.0,
    fixed_latency_ms=0.0, batch_processing_s=1.0,
)  # fmt: skip

Corrupt = Callable[[bytes], httpx.Response]


class HostileResults(httpx.AsyncBaseTransport):
    """The emulator, except that a batch's results come back as `corrupt` makes them."""

    def __init__(self, inner: httpx.AsyncBaseTransport, corrupt: Corrupt) -> None:
        self._inner, self._corrupt = inner, corrupt
        self.results_reads = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Pass through; replace the results download."""
        response = await self._inner.handle_async_request(request)
        if not request.url.path.endswith("/results"):
            return response
        self.results_reads += 1
        return self._corrupt(await response.aread())


def _second_line_broken(body: bytes) -> httpx.Response:
    first, *rest = body.splitlines()
    return httpx.Response(200, content=b"\n".join([first, b"{not json", *rest[1:]]))


def _always_500(_: bytes) -> httpx.Response:
    return httpx.Response(500, json={"type": "error", "error": {"type": "api_error"}})


async def _run(tmp_path: Path, corrupt: Corrupt) -> tuple[pl.DataFrame, int]:
    time = VirtualTime()
    path = write_experiment(
        tmp_path, "http://emulator", arms=(("baseline", ()),), run="repeats = 3\nconcurrency = 4",
        extra="[run.retry]\nmax_attempts = 2\ninitial_backoff_s = 0.1\n",
    )  # fmt: skip
    experiment = load_experiment(path).experiment
    run_dir = create_run_directory(tmp_path / "results", experiment, "r1", 0)
    app = create_app(INSTANT, time.now)
    transport = HostileResults(httpx.ASGITransport(app=app), corrupt)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
        services = RunServices(http, SECRET, time, time.sleep)
        sender = BatchSender(experiment, "r1", services, run_dir.path, BatchOptions())
        async with anyio.create_task_group() as group:
            group.start_soon(time.drive)
            await execute_run(experiment, run_dir, "r1", services, sender=sender)
            group.cancel_scope.cancel()
    return read_results(run_dir.path).collect(), transport.results_reads


@pytest.mark.anyio
async def test_a_malformed_results_line_fails_the_requests_left_not_the_run(
    tmp_path: Path,
) -> None:
    results, _ = await _run(tmp_path, _second_line_broken)
    assert results.height == 3  # one row per request: the run finished
    ok = results.filter(pl.col("status") == "ok")
    failed = results.filter(pl.col("status") != "ok")
    assert ok.height == 1  # the line read before the broken one stays
    assert failed["error_type"].to_list() == ["not_messages_api"] * 2
    assert all("could not be read" in m for m in failed["error_message"].to_list())


@pytest.mark.anyio
async def test_a_results_download_that_keeps_failing_is_read_again_then_recorded(
    tmp_path: Path,
) -> None:
    results, reads = await _run(tmp_path, _always_500)
    assert reads >= 2  # the free download was retried before anything was recorded
    assert results.height == 3
    assert set(results["error_type"].to_list()) == {"server_error"}
