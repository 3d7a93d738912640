"""runner.run.launch: what a prepared run will send."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from manifest_support import tiny_experiment

from runner.config.environment import Environment
from runner.config.types import RunSettings
from runner.plan.matrix import Shard, plan_requests
from runner.run.launch import LaunchOptions, prepare_run


def test_a_prepared_run_plans_its_requests_once(tmp_path: Path) -> None:
    """Every ask (the count, the list) reads one plan: the whole matrix, in dispatch order."""
    experiment = dataclasses.replace(tiny_experiment(), run=RunSettings(repeats=3))
    options = LaunchOptions(experiment=experiment, results_dir=tmp_path, local=True)

    prepared = prepare_run(options, Environment())

    assert prepared.planned is prepared.planned
    assert prepared.sending == experiment.request_count == 3
    assert [p.key for p in prepared.planned] == [p.key for p in plan_requests(experiment)]


def test_a_sharded_run_plans_its_own_share_once(tmp_path: Path) -> None:
    """A shard's plan holds exactly its keys, asked for as often as a caller likes."""
    experiment = dataclasses.replace(tiny_experiment(), run=RunSettings(repeats=8))
    shard = Shard(2, 3)
    options = LaunchOptions(
        experiment=experiment, results_dir=tmp_path, local=True, run_id="split", shard=shard
    )

    prepared = prepare_run(options, Environment())

    assert prepared.planned is prepared.planned
    expected = [p.key for p in plan_requests(experiment) if shard.holds(p.key)]
    assert [p.key for p in prepared.planned] == expected
    assert prepared.sending == len(expected)
