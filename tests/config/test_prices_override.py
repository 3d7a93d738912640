"""An experiment's [prices] table overrides the shipped prices; the run records the table."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from e2e_support import run_cli, write_experiment
from manifest_support import manifest_for

from runner.analysis.cost import with_cost
from runner.analysis.runs import run_prices
from runner.catalog.prices import ModelPrice, PriceTable
from runner.config.load import load_experiment
from runner.config.prices import default_prices, price_document, pricing_note
from runner.config.types import JSONObject
from runner.emulator import EmulatorConfig, EmulatorServer
from runner.errors import ConfigError
from runner.results.store import RunDirectory, read_results

PRICES = '[prices."claude-opus-4-6"]\ninput = 1.0\noutput = 2.0\n'


def test_prices_table_is_parsed_into_the_experiments_price_table(tmp_path: Path) -> None:
    """[prices."model"] overrides that model in the experiment's PriceTable; others are shipped."""
    path = write_experiment(tmp_path, "http://127.0.0.1:9", extra="", arms=(("baseline", ()),))
    path.write_text(path.read_text() + PRICES)
    prices = load_experiment(path).experiment.prices
    shipped = default_prices()
    opus = prices.price("claude-opus-4-6")
    assert opus == dataclasses.replace(
        shipped.models["claude-opus-4-6"], input=1.0, output=2.0, estimate=False
    )
    assert prices.price("claude-sonnet-5") == shipped.price("claude-sonnet-5")
    assert (prices.batch_discount, prices.read_on) == (shipped.batch_discount, shipped.read_on)


def test_an_experiment_without_prices_holds_the_shipped_table(tmp_path: Path) -> None:
    """No [prices] table: the experiment is priced with the shipped table."""
    path = write_experiment(tmp_path, "http://127.0.0.1:9", arms=(("baseline", ()),))
    assert load_experiment(path).experiment.prices == default_prices()


def _run_with_manifest_prices(tmp_path: Path, prices: JSONObject) -> Path:
    manifest = manifest_for("r1")
    recorded = dataclasses.replace(manifest, experiment={**manifest.experiment, "prices": prices})
    return RunDirectory.create(tmp_path, "exp", "r1", recorded).path


def test_a_recorded_table_is_read_back_whatever_the_shipped_table_says(tmp_path: Path) -> None:
    """run_prices returns the table the manifest recorded, not today's shipped prices."""
    recorded = PriceTable({"claude-sonnet-5": ModelPrice(9.0, 99.0, 1.0, 2.0, 0.5)}, 0.25)
    run_dir = _run_with_manifest_prices(tmp_path, price_document(recorded))
    assert run_prices(run_dir) == recorded


def test_a_manifest_from_before_recorded_tables_keeps_its_overrides(tmp_path: Path) -> None:
    """An old manifest's `prices` (overrides only) reads as the shipped table plus them."""
    run_dir = _run_with_manifest_prices(
        tmp_path, {"claude-opus-4-6": {"input": 1.0, "output": 2.0}}
    )
    prices = run_prices(run_dir)
    assert prices.price("claude-opus-4-6").input == 1.0  # type: ignore[union-attr]
    assert prices.price("claude-sonnet-5") == default_prices().price("claude-sonnet-5")


def test_a_bad_recorded_price_names_the_manifest_and_key(tmp_path: Path) -> None:
    """A manifest whose recorded price is not a number is a ConfigError naming where."""
    document = {"batch_discount": 0.5, "models": {"m": {"input": "x", "output": 1.0}}}
    run_dir = _run_with_manifest_prices(tmp_path, document)
    with pytest.raises(ConfigError, match=r"manifest\.json.*experiment\.prices\.models\.m\.input"):
        run_prices(run_dir)


def test_a_bad_price_names_file_and_key(tmp_path: Path) -> None:
    """A price that is not a number is a ConfigError naming prices.<model>.<field>."""
    path = write_experiment(tmp_path, "http://127.0.0.1:9", arms=(("baseline", ()),))
    path.write_text(path.read_text() + '[prices."claude-opus-4-6"]\ninput = "cheap"\n')
    with pytest.raises(ConfigError, match=r"prices\.claude-opus-4-6\.input"):
        load_experiment(path)


@pytest.mark.slow
def test_a_run_is_priced_with_its_experiments_prices(tmp_path: Path, keyed: str) -> None:
    """The run's manifest keeps the override; run_prices and cost_usd use it."""
    with EmulatorServer(EmulatorConfig(ttft_ms=1.0, ms_per_output_token=0.0)) as server:
        path = write_experiment(tmp_path, server.url, arms=(("baseline", ()),))
        path.write_text(path.read_text() + PRICES)
        out = tmp_path / "out"
        assert run_cli(["run", path, "--results", out, "--run-id", "p", "-q"]) == 0
    run_dir = out / "e2e" / "p"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["experiment"]["prices"]["models"]["claude-opus-4-6"]["output"] == 2.0
    prices = run_prices(run_dir)
    assert prices.price("claude-opus-4-6") is not None
    assert prices.price("claude-opus-4-6").output == 2.0  # type: ignore[union-attr]
    row = with_cost(read_results(run_dir), prices).collect().row(0, named=True)
    expected = (row["input_tokens"] * 1.0 + row["output_tokens"] * 2.0) / 1e6
    assert row["cost_usd"] == pytest.approx(expected)
    shipped = with_cost(read_results(run_dir), default_prices()).collect()["cost_usd"][0]
    assert shipped != pytest.approx(expected)


def test_a_model_without_a_price_is_warned_about_not_guessed(tmp_path: Path) -> None:
    """A model no table prices gets a warning naming it (run, run_experiment and plan show
    the experiment's warnings); a priced one gets none."""
    models = ("claude-opus-4-6", "acme-private-1")
    path = write_experiment(tmp_path, "http://127.0.0.1:9", models=models)
    warnings = [w for w in load_experiment(path).warnings if "price" in w]
    assert warnings == [
        "No price is known for acme-private-1: its cost_usd stays empty (null), never a guess; "
        'add [prices."acme-private-1"] with input and output (USD per million tokens) to '
        "price it."
    ]
    (tmp_path / "priced").mkdir()
    priced = write_experiment(tmp_path / "priced", "http://127.0.0.1:9")
    assert not [w for w in load_experiment(priced).warnings if "price" in w]


def test_the_pricing_note_names_the_table_its_date_and_overrides(tmp_path: Path) -> None:
    """The line under the run's table: shipped prices and their date, the models priced by
    the experiment instead, and the shipped prices that are estimates."""
    path = write_experiment(tmp_path, "http://127.0.0.1:9", models=("claude-opus-4-6",))
    path.write_text(path.read_text() + PRICES)
    shipped = default_prices()
    note = pricing_note(load_experiment(path).experiment.prices, ["claude-opus-4-6"])
    assert note.startswith(f"cost $ uses the shipped prices read on {shipped.read_on}; ")
    assert "with your prices for claude-opus-4-6" in note
    estimated = [m for m, price in shipped.models.items() if price.estimate][:1]
    assert f"estimated (no published price) for {estimated[0]}" in pricing_note(shipped, estimated)
    assert "your prices" not in pricing_note(shipped, estimated)


@pytest.mark.slow
def test_a_run_says_what_priced_its_costs(
    tmp_path: Path, keyed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Against a base URL (here a loopback server standing in for a remote one), the run's
    costs come from the shipped table, and the output says so under the table."""
    with EmulatorServer(EmulatorConfig(ttft_ms=1.0, ms_per_output_token=0.0)) as server:
        path = write_experiment(tmp_path, "http://127.0.0.1:9", arms=(("baseline", ()),))
        out = tmp_path / "out"
        args = ["run", path, "--base-url", server.url, "--results", out, "--run-id", "p", "-q"]
        assert run_cli(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("cost $ uses the shipped prices read on ") for line in lines)
    costs = read_results(out / "e2e" / "p").collect()
    priced = with_cost(costs, run_prices(out / "e2e" / "p")).collect()["cost_usd"]
    assert priced.null_count() == 0
