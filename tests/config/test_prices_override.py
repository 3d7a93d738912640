"""An experiment's [prices] table overrides the shipped prices, and the run keeps it."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import SECRET, run_cli, write_experiment

from runner.analysis.cost import with_cost
from runner.analysis.runs import run_prices
from runner.config.load import load_experiment
from runner.config.prices import default_prices
from runner.emulator import EmulatorConfig, EmulatorServer
from runner.errors import ConfigError
from runner.results.store import read_results

PRICES = '[prices."claude-opus-4-6"]\ninput = 1.0\noutput = 2.0\n'


def test_prices_table_is_parsed_and_kept_as_written(tmp_path: Path) -> None:
    """[prices."model"] is checked and kept on the experiment."""
    path = write_experiment(tmp_path, "http://127.0.0.1:9", extra="", arms=(("baseline", ()),))
    path.write_text(path.read_text() + PRICES)
    experiment = load_experiment(path).experiment
    assert experiment.prices == {"claude-opus-4-6": {"input": 1.0, "output": 2.0}}


def test_a_bad_price_names_file_and_key(tmp_path: Path) -> None:
    """A price that is not a number is a ConfigError naming prices.<model>.<field>."""
    path = write_experiment(tmp_path, "http://127.0.0.1:9", arms=(("baseline", ()),))
    path.write_text(path.read_text() + '[prices."claude-opus-4-6"]\ninput = "cheap"\n')
    with pytest.raises(ConfigError, match=r"prices\.claude-opus-4-6\.input"):
        load_experiment(path)


@pytest.mark.slow
def test_a_run_is_priced_with_its_experiments_prices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's manifest keeps the override; run_prices and cost_usd use it."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    with EmulatorServer(EmulatorConfig(ttft_ms=1.0, ms_per_output_token=0.0)) as server:
        path = write_experiment(tmp_path, server.url, arms=(("baseline", ()),))
        path.write_text(path.read_text() + PRICES)
        out = tmp_path / "out"
        assert run_cli(["run", path, "--results", out, "--run-id", "p", "-q"]) == 0
    run_dir = out / "e2e" / "p"
    prices = run_prices(run_dir)
    assert prices.price("claude-opus-4-6") is not None
    assert prices.price("claude-opus-4-6").output == 2.0  # type: ignore[union-attr]
    row = with_cost(read_results(run_dir), prices).collect().row(0, named=True)
    expected = (row["input_tokens"] * 1.0 + row["output_tokens"] * 2.0) / 1e6
    assert row["cost_usd"] == pytest.approx(expected)
    shipped = with_cost(read_results(run_dir), default_prices()).collect()["cost_usd"][0]
    assert shipped != pytest.approx(expected)
