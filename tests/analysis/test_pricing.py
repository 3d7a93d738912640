"""Prices: the shipped table, overrides, and the cost_usd column computed from usage."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from frames import error, results, row
from polars.testing import assert_series_equal

from runner.analysis.cost import COST, with_cost
from runner.catalog.models import model_catalog
from runner.catalog.prices import ModelPrice
from runner.config.prices import default_prices, load_prices
from runner.errors import ConfigError
from runner.results.schema import R

REFERENCE_MODELS = [
    "claude-opus-5-5",
    "claude-sonnet-5-5",
    "claude-haiku-5-5",
    "claude-fable-5-2",
    "claude-mythos-5-2",
    "claude-fable-5-1",
    "claude-mythos-5-1",
    "claude-opus-5",
    "claude-sonnet-5",
    "claude-fable-5",
    "claude-mythos-5",
    "claude-opus-4-8",
    "claude-opus-4-7",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "claude-opus-4-5",
    "claude-sonnet-4-5",
    "claude-mythos-preview",
]


def _costs(*rows: dict[str, object]) -> list[float | None]:
    return with_cost(results(*rows), default_prices()).collect()[COST].to_list()


def test_every_catalogued_model_has_a_price_and_the_table_is_dated() -> None:
    """Each model of the reference appendix and the model catalog is priced; read_on is set."""
    prices = default_prices()
    assert prices.read_on is not None
    assert prices.batch_discount == 0.5
    for model in (*REFERENCE_MODELS, *model_catalog()):
        assert prices.price(model) is not None, model


def test_cost_is_input_plus_output_at_the_model_price() -> None:
    """1,000 input and 2,000 output tokens on a $3/$15 model cost $0.033."""
    (cost,) = _costs(row(model="claude-sonnet-4-6", input_tokens=1000, output_tokens=2000))
    assert cost == pytest.approx(0.003 + 0.030)


def test_an_alias_uses_its_models_price() -> None:
    """A dated snapshot id is priced like the model it names."""
    (cost,) = _costs(row(model="claude-haiku-4-5-20251001", input_tokens=10**6, output_tokens=0))
    assert cost == pytest.approx(1.0)


def test_cache_writes_split_by_ttl_and_reads_at_their_price() -> None:
    """1h writes from usage_json's cache_creation cost 2x input, the rest 1.25x, reads 0.1x."""
    usage = {"cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 400}}
    (cost,) = _costs(
        row(
            model="claude-sonnet-4-6",
            input_tokens=0,
            output_tokens=0,
            cache_creation_input_tokens=1000,
            cache_read_input_tokens=10_000,
            usage_json=json.dumps(usage),
        )
    )
    assert cost == pytest.approx((600 * 3.75 + 400 * 6.0 + 10_000 * 0.3) / 1e6)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"batch_id": "msgbatch_1"}, 0.5 * 0.033),
        ({"model": "claude-unknown-9"}, None),
    ],
    ids=["batch-discount", "unknown-model-null"],
)
def test_batch_rows_are_discounted_and_unknown_models_are_null(
    changes: dict[str, object], expected: float | None
) -> None:
    """Batch rows pay half; a model with no price gets a null cost, not zero."""
    base = {"model": "claude-sonnet-4-5", "input_tokens": 1000, "output_tokens": 2000}
    (cost,) = _costs(row(**{**base, **changes}))
    assert cost == (pytest.approx(expected) if expected is not None else None)


def test_failed_requests_cost_nothing_recorded() -> None:
    """An error row has no usage, so no cost."""
    assert _costs(error()) == [None]


def test_a_price_file_overrides_some_models_and_fills_cache_prices(tmp_path: Path) -> None:
    """A partial override keeps the shipped table for other models and derives cache prices."""
    path = tmp_path / "prices.toml"
    path.write_text('[models."my-model"]\ninput = 2.0\noutput = 8.0\n', encoding="utf-8")
    prices = load_prices(path)
    assert prices.price("my-model") == ModelPrice(2.0, 8.0, 2.5, 4.0, 0.2)
    assert prices.price("claude-sonnet-5") == default_prices().price("claude-sonnet-5")
    frame = with_cost(results(row(model="my-model", input_tokens=10**6, output_tokens=0)), prices)
    assert_series_equal(frame.collect()[COST], pl.Series(COST, [2.0]))


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[models."x"]\noutput = 1.0\n', "models.x.input"),
        ('[models."claude-sonnet-5"]\ninput = "cheap"\n', "models.claude-sonnet-5.input"),
        ('[models."claude-sonnet-5"]\ninptu = 1.0\n', "models.claude-sonnet-5.inptu"),
        ("batch_discount = -1\n", "batch_discount"),
    ],
    ids=["missing-input", "not-a-number", "unknown-key", "negative-discount"],
)
def test_a_bad_price_file_names_the_key(tmp_path: Path, text: str, where: str) -> None:
    """A malformed price file is a ConfigError naming the file and the key path."""
    path = tmp_path / "prices.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_prices(path)
    assert raised.value.where == where


def test_fast_mode_answers_cost_the_fast_multiplier() -> None:
    """A row answered with usage.speed = "fast" costs fast_multiplier x the standard price."""
    prices = default_prices()
    assert prices.fast_multiplier == 6.0
    usage = ['{"speed": "fast"}', '{"speed": "standard"}']
    frame = pl.DataFrame(
        {
            R.model: ["claude-opus-4-6"] * 2,
            R.input_tokens: [1000] * 2,
            R.output_tokens: [100] * 2,
            R.cache_creation_input_tokens: [0] * 2,
            R.cache_read_input_tokens: [0] * 2,
            R.usage_json: usage,
            R.batch_id: [None, None],
        },
        schema_overrides={R.batch_id: pl.String},
    )
    fast, standard = with_cost(frame, prices).collect()["cost_usd"].to_list()
    assert fast == pytest.approx(6.0 * standard)
