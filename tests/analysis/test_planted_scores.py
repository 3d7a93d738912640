"""Known truths about answers, through the real path: a planted 20-point drop in correctness is
found by `compare` and by a pairwise judge; a null beta is not. The emulator runs in-process
(ASGITransport) with no latency, so 20 seeded runs take seconds."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import polars as pl
import pytest

from runner.analysis import compare
from runner.analysis.runs import load_run, load_scores
from runner.analysis.score_pairs import score_comparison
from runner.clock import MonotonicClock, real_sleep
from runner.config.scorers import IncludesScorer, JudgeScorer
from runner.config.types import Arm, Case, Experiment, RunSettings, Target
from runner.emulator import EmulatorConfig, create_app
from runner.emulator.planted import parse_beta_effect
from runner.run.session import RunServices, create_run_directory, execute_run

DROP, NULL = "planted-drop-2026-01-01", "planted-null-2026-01-01"
EFFECTS = (parse_beta_effect(f"{DROP}:correct=-20"), parse_beta_effect(f"{NULL}:correct=0"))
SEEDS = range(20)


def _experiment(judge: bool) -> Experiment:
    cases = tuple(
        Case(
            f"q{i}",
            ({"role": "user", "content": f"What is {i} + {i + 7}?"},),
            expected=f"{2 * i + 7}",
        )
        for i in range(24)
    )
    scorers: tuple[IncludesScorer | JudgeScorer, ...] = (IncludesScorer("correct"),)
    if judge:
        scorers += (JudgeScorer("preferred", "pairwise", "claude-haiku-4-5"),)
    return Experiment(
        name="planted-scores",
        path=Path("planted-scores.toml"),
        models=("claude-sonnet-5",),
        arms=(Arm("baseline"), Arm("drop", (DROP,)), Arm("null", (NULL,))),
        cases=cases,
        target=Target(base_url="http://emulator"),
        run=RunSettings(repeats=2, concurrency=16, stream=False),
        request={"max_tokens": 16},
        scorers=scorers,
    )


async def _run(experiment: Experiment, seed: int, results: Path) -> Path:
    config = EmulatorConfig(
        seed=seed, ttft_ms=0.0, ms_per_output_token=0.0, ms_per_1k_input_tokens=0.0,
        jitter=0.0, p_correct=0.8, beta_effects=EFFECTS, record_requests=False,
    )  # fmt: skip
    transport = httpx.ASGITransport(app=create_app(config))
    run_id = f"seed{seed}"
    run_dir = create_run_directory(results, experiment, run_id, experiment.request_count)
    async with httpx.AsyncClient(transport=transport) as http:
        services = RunServices(http, "test-key", MonotonicClock(), real_sleep)
        await execute_run(experiment, run_dir, run_id, services)
    return run_dir.path


def _score_rows(run_dir: Path, seed: int) -> pl.DataFrame:
    """`compare`'s score rows of the run: for the first seed the whole `compare` table (and
    the same rows from `score_comparison`, which compare computes them with), then only
    those, so 20 seeds do not each bootstrap every other metric."""
    results, scores = load_run(run_dir), load_scores(run_dir)
    assert scores is not None
    rows = score_comparison(results, scores, "baseline", seed=seed, n_boot=500)
    if seed == SEEDS[0]:
        whole = compare(results, scores=scores, seed=seed, n_boot=500)
        for arm in ("drop", "null"):
            mine, theirs = _row(rows, arm, "score.correct"), _row(whole, arm, "score.correct")
            for column in ("delta", "ci_low", "ci_high", "p_value", "n"):
                assert mine[column] == theirs[column], column
    return rows


def _row(table: pl.DataFrame, arm: str, metric: str) -> dict[str, object]:
    (found,) = table.filter((pl.col("arm") == arm) & (pl.col("metric") == metric)).to_dicts()
    return found


def test_a_planted_correctness_drop_is_flagged_and_a_null_beta_is_not(tmp_path: Path) -> None:
    """Over 20 seeds: score.correct's CI is below 0 for the drop in >= 19, for the null in <= 2."""
    experiment = _experiment(judge=False)
    flagged = {"drop": 0, "null": 0}
    for seed in SEEDS:
        run_dir = anyio.run(_run, experiment, seed, tmp_path)
        table = _score_rows(run_dir, seed)
        for arm in flagged:
            row = _row(table, arm, "score.correct")
            flagged[arm] += row["ci_high"] < 0  # type: ignore[operator]
        drop = _row(table, "drop", "score.correct")
        assert drop["n"] == 48
        assert -0.35 < drop["delta"] < -0.05  # type: ignore[operator]
    assert flagged["drop"] >= 19
    assert flagged["null"] <= 2


def test_a_pairwise_judge_finds_the_planted_drop_with_the_right_sign(tmp_path: Path) -> None:
    """The judge prefers the baseline's answers over the dropped arm's: win rate below 0.5,
    its CI below 0.5, significant; against the null arm it calls ties."""
    run_dir = anyio.run(_run, _experiment(judge=True), 5, tmp_path)
    table = compare(load_run(run_dir), scores=load_scores(run_dir), seed=5)
    drop, null = _row(table, "drop", "score.preferred"), _row(table, "null", "score.preferred")
    assert drop["baseline"] == 0.5
    assert drop["value"] < 0.45  # type: ignore[operator]
    assert drop["ci_high"] < 0  # type: ignore[operator]
    assert drop["significant"] is True
    assert null["value"] == pytest.approx(0.5)
    assert null["significant"] is False
    judges = pl.read_parquet(run_dir / "judge_requests.parquet")
    assert judges.height == 2 * 48
