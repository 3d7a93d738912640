"""A run keeps what existed before it out of the garbage collector, and gives it back after."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx
import pytest
from e2e_support import SECRET, write_experiment

from runner.config.load import load_experiment
from runner.emulator import EmulatorConfig, create_app
from runner.results.schema import ResultRow
from runner.run.session import RunServices, create_run_directory, execute_run

INSTANT = EmulatorConfig(ttft_ms=0.0, ms_per_output_token=0.0, fixed_latency_ms=0.0)


class FreezeSeen:
    """Records, per finished request, how many objects the collector had frozen."""

    def __init__(self) -> None:
        self.frozen: list[int] = []

    def result(self, row: ResultRow) -> None:
        self.frozen.append(gc.get_freeze_count())


@pytest.mark.anyio
async def test_objects_are_frozen_during_a_run_and_thawed_after(tmp_path: Path) -> None:
    """While requests finish the collector has frozen the objects that existed before the
    run; after it nothing is frozen, as before."""
    assert gc.get_freeze_count() == 0
    experiment = load_experiment(write_experiment(tmp_path, "http://emulator")).experiment
    run_dir = create_run_directory(tmp_path / "results", experiment, "r1", 0)
    seen = FreezeSeen()
    transport = httpx.ASGITransport(app=create_app(INSTANT))
    async with httpx.AsyncClient(transport=transport) as http:
        await execute_run(experiment, run_dir, "r1", RunServices.real(http, SECRET, seen))
    assert seen.frozen
    assert all(count > 1000 for count in seen.frozen)
    assert gc.get_freeze_count() == 0
