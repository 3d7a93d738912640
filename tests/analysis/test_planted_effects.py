"""Known truths through the real path: planted effects and evidence, run and compared by the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import run_cli

from runner.analysis import evidence_report, load_run
from runner.emulator import EmulatorConfig, EmulatorServer
from runner.emulator.planted import parse_beta_effect

pytestmark = pytest.mark.slow

SLOW, NULL = "planted-slow-2026-01-01", "planted-null-2026-01-01"
EFFECTS = (parse_beta_effect(f"{SLOW}:latency_ms=30"), parse_beta_effect(f"{NULL}:latency_ms=0"))


def _experiment(directory: Path, url: str, arms: str, model: str, repeats: int) -> Path:
    cases = "".join(f'[[cases]]\nid = "c{i}"\nprompt = "Question number {i}?"\n' for i in range(4))
    text = (
        f'name = "planted"\nmodels = ["{model}"]\n[target]\nbase_url = "{url}"\n'
        f"[run]\nrepeats = {repeats}\nconcurrency = 4\nseed = 1\n[request]\nmax_tokens = 32\n"
        f"{arms}{cases}"
    )
    path = directory / "experiment.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(tmp_path: Path, experiment: Path) -> Path:
    code = run_cli(["run", experiment, "--results", tmp_path / "out", "--run-id", "r", "-q"])
    assert code == 0
    return tmp_path / "out" / "planted" / "r"


@pytest.fixture(params=[0, 1, 2], ids=["seed0", "seed1", "seed2"])
def planted(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    """A fast, jittered emulator with +30 ms planted on one beta and nothing on another."""
    config = EmulatorConfig(
        seed=request.param, ttft_ms=20.0, ms_per_output_token=0.05, jitter=0.1, beta_effects=EFFECTS
    )
    with EmulatorServer(config) as server:
        yield server


def test_compare_flags_the_planted_latency_and_not_the_null_arm(
    tmp_path: Path, planted: EmulatorServer, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """+30 ms planted: a CI above 0; the null arm is never flagged with a meaningful effect."""
    arms = (
        '[[arms]]\nname = "baseline"\n'
        f'[[arms]]\nname = "slow"\nbetas = ["{SLOW}"]\n'
        f'[[arms]]\nname = "null"\nbetas = ["{NULL}"]\n'
    )
    run_dir = _run(tmp_path, _experiment(tmp_path, planted.url, arms, "claude-sonnet-5", 8))
    capsys.readouterr()
    assert run_cli(["compare", run_dir, "--format", "json", "--seed", "7"]) == 0
    rows = {(r["arm"], r["metric"]): r for r in json.loads(capsys.readouterr().out)}
    slow, null = rows[("slow", "latency_ms")], rows[("null", "latency_ms")]
    assert slow["significant"] is True
    assert 15.0 < slow["delta"] < 45.0
    assert slow["ci_low"] > 0
    # The null arm must not be reported as a meaningful effect. Not "never significant": one
    # seed's jitter leaves it 0.5 ms off with a CI just short of 0 (significant at rate alpha by
    # design), and a client hiccup (one slow request) widens its CI past any fixed bound.
    assert not (null["significant"] and abs(null["delta"]) > 3.0), null
    assert abs(null["delta"]) < 15.0  # half the planted effect


def test_evidence_shows_fast_mode_and_flags_a_no_op_beta(tmp_path: Path, keyed: None) -> None:
    """Fast mode leaves usage.speed=fast in every answer; a header-only no-op arm is flagged."""
    arms = (
        '[[arms]]\nname = "baseline"\n'
        '[[arms]]\nname = "fast"\nbetas = ["fast-mode-2026-02-01"]\n'
        '[arms.request]\nspeed = "fast"\n'
        '[[arms]]\nname = "noop"\nbetas = ["model-context-window-exceeded-2025-08-26"]\n'
    )
    config = EmulatorConfig(ttft_ms=2.0, ms_per_output_token=0.02, jitter=0.0)
    with EmulatorServer(config) as server:
        run_dir = _run(tmp_path, _experiment(tmp_path, server.url, arms, "claude-opus-4-6", 2))
    report = evidence_report(load_run(run_dir))
    by_arm = {row["arm"]: row for row in report.iter_rows(named=True)}
    assert (by_arm["fast"]["evidence_share"], by_arm["fast"]["no_detectable_effect"]) == (
        1.0,
        False,
    )
    assert by_arm["noop"]["no_detectable_effect"] is True
