"""Pre-run estimates: cost from prices and token counts, duration under the request rate."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import run_cli, write_experiment

from runner.config.load import load_experiment
from runner.config.prices import default_prices
from runner.plan.estimate import START_TIER_RPM, duration_s, estimate


def _experiment(tmp_path: Path, run: str) -> Path:
    return write_experiment(
        tmp_path, "http://127.0.0.1:1", models=("claude-sonnet-4-6",), run=run,
        prompts=tuple((f"c{i}", "Say hello.") for i in range(10)),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("run", "rpm", "minimum_s"),
    [
        ("repeats = 100\nconcurrency = 64", START_TIER_RPM, (2000 - 1000) / (1000 / 60)),
        ("repeats = 100\nconcurrency = 64\n[run.rate_limits]\nrpm = 500", 500, 1500 / (500 / 60)),
    ],
    ids=["start-tier", "configured-rpm"],
)
def test_duration_is_paced_by_the_request_bucket(
    tmp_path: Path, run: str, rpm: int, minimum_s: float
) -> None:
    """2,000 requests: (N - rpm) / (rpm / 60) seconds of pacing plus one latency."""
    experiment = load_experiment(_experiment(tmp_path, run)).experiment
    figures = estimate(experiment, default_prices())
    assert figures.rpm == rpm
    assert minimum_s < figures.duration_s < minimum_s + 10
    assert duration_s(experiment, rpm) == figures.duration_s


def test_cost_is_bounded_by_max_tokens_and_priced_per_model(tmp_path: Path) -> None:
    """40 requests with max_tokens 64 on a $3/$15 model: output costs at most 40 x 64 x $15/M."""
    experiment = load_experiment(_experiment(tmp_path, "repeats = 2")).experiment
    figures = estimate(experiment, default_prices())
    output_max = 40 * 64 * 15.0 / 1e6
    assert output_max < figures.cost_max_usd < output_max + 40 * 100 * 3.0 / 1e6
    assert figures.cost_typical_usd <= figures.cost_max_usd
    assert figures.unpriced == ()


def test_plan_prints_the_estimate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """plan ends with the estimated cost and duration."""
    assert run_cli(["plan", _experiment(tmp_path, "repeats = 2")]) == 0
    out = capsys.readouterr().out
    assert "estimated cost: about $" in out
    assert "estimated duration: about" in out


def test_a_conversation_is_priced_as_its_turns(tmp_path: Path) -> None:
    """max_turns requests at most, each reading the replies before it; typically two per turn."""
    path = _experiment(tmp_path, "repeats = 1")
    plain = estimate(load_experiment(path).experiment, default_prices())
    text = path.read_text().replace(
        'prompt = "Say hello."', 'turns = ["Say hello."]\nmax_turns = 4'
    )
    path.write_text(text, encoding="utf-8")
    talking = estimate(load_experiment(path).experiment, default_prices())
    output_max = 20 * 4 * 64 * 15.0 / 1e6
    growth = 20 * (64 * 4 * 3 // 2) * 3.0 / 1e6
    assert talking.cost_max_usd == pytest.approx(4 * plain.cost_max_usd + growth)
    assert talking.cost_max_usd > output_max
    assert talking.cost_typical_usd > plain.cost_typical_usd * 1.9
    assert talking.duration_s > plain.duration_s  # two requests a turn, typically
