"""Model prices and the `cost_usd` column: what each request cost, from its recorded usage.

The shipped table is package data (`runner/data/prices.toml`, USD per million tokens, with the
date it was read); a user file (`--prices FILE`) or an experiment's `[prices."model-id"]` table
overrides it model by model. A price table given in part fills the cache prices from the input
price with the usual ratios. Rows of a model the table does not know get a null cost.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType

import polars as pl

from runner.config_text import decode_utf8, read_bytes
from runner.errors import ConfigError
from runner.models import find_model
from runner.package_data import data_toml
from runner.records import R
from runner.table_reader import Location, Table

COST = "cost_usd"
PRICE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
_MODEL_KEYS = (*PRICE_FIELDS, "estimate")
_FILE_KEYS = ("read_on", "batch_discount", "models")
# The ratios to the input price that Anthropic's cache pricing uses.
_CACHE_RATIOS = {"cache_write_5m": 1.25, "cache_write_1h": 2.0, "cache_read": 0.1}
_PER_TOKEN = 1e-6


@dataclass(frozen=True)
class ModelPrice:
    """One model's prices in USD per million tokens; `estimate` when not a published figure."""

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float
    estimate: bool = False


@dataclass(frozen=True)
class PriceTable:
    """Prices by model id, the batch discount, and when the prices were read."""

    models: Mapping[str, ModelPrice]
    batch_discount: float = 0.5
    read_on: date | None = None

    def price(self, model: str) -> ModelPrice | None:
        """The price of `model`, of the catalogued model it is an alias of, or None."""
        found = self.models.get(model)
        if found is not None:
            return found
        info = find_model(model)
        return self.models.get(info.id) if info is not None else None

    def overridden(self, overrides: Mapping[str, ModelPrice]) -> PriceTable:
        """This table with `overrides` replacing (or adding) models."""
        return dataclasses.replace(self, models=MappingProxyType({**self.models, **overrides}))


@cache
def default_prices() -> PriceTable:
    """The shipped price table, read once."""
    table = data_toml("prices.toml")
    return _price_table(Location(Path("runner/data/prices.toml")), table, None)


def load_prices(path: Path, base: PriceTable | None = None) -> PriceTable:
    """`base` (default: the shipped table) overridden by the price file at `path`."""
    base = base or default_prices()
    try:
        data = tomllib.loads(decode_utf8(path, read_bytes(path)))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"The price file is not valid TOML: {exc}.") from None
    return _price_table(Location(path), data, base)


def model_prices(
    loc: Location, path: str, table: Mapping[str, object], base: PriceTable | None = None
) -> dict[str, ModelPrice]:
    """Parse `{model-id: {input = ..., ...}}`; fields left out come from `base`'s price."""
    root = Table.read(loc, path, dict(table), tuple(table))
    return {model: _model_price(root, model, base) for model in table}


def _price_table(loc: Location, data: dict[str, object], base: PriceTable | None) -> PriceTable:
    root = Table.read(loc, "", data, _FILE_KEYS)
    models = root.data.get("models", {})
    if not isinstance(models, dict):
        raise root.wrong("models", 'a table of [models."model-id"] tables')
    parsed = model_prices(loc, "models", models, base)
    discount = root.number("batch_discount", base.batch_discount if base else 0.5)
    read_on = root.data.get("read_on", base.read_on if base else None)
    if read_on is not None and not isinstance(read_on, date):
        raise root.wrong("read_on", "a date such as 2026-11-15")
    table = PriceTable(MappingProxyType(parsed), discount, read_on)
    return base.overridden(parsed) if base is not None else table


def _model_price(root: Table, model: str, base: PriceTable | None) -> ModelPrice:
    entry = root.table(model, _MODEL_KEYS)
    known = base.price(model) if base is not None else None
    values = {f: entry.optional_number(f, 0.0) for f in PRICE_FIELDS}
    for name in ("input", "output"):
        if values[name] is None:
            values[name] = getattr(known, name, None)
        if values[name] is None:
            raise entry.fail(name, f"'{name}' is required for a model with no shipped price.")
    for name, ratio in _CACHE_RATIOS.items():
        if values[name] is None:
            values[name] = getattr(known, name, None) or float(values["input"] or 0.0) * ratio
    estimate = entry.boolean("estimate", False)
    return ModelPrice(**{f: float(values[f] or 0.0) for f in PRICE_FIELDS}, estimate=estimate)


def price_frame(prices: PriceTable) -> pl.LazyFrame:
    """One row per model id (and each catalogued alias) with its per-token prices."""
    rows = []
    for model, price in prices.models.items():
        info = find_model(model)
        names = {model, *(info.aliases if info is not None and info.id == model else ())}
        rows += [{R.model: name, **_per_token(price)} for name in sorted(names)]
    schema = {R.model: pl.String, **{f"_price_{f}": pl.Float64 for f in PRICE_FIELDS}}
    return pl.LazyFrame(rows, schema=schema, orient="row")


def _per_token(price: ModelPrice) -> dict[str, float]:
    return {f"_price_{f}": getattr(price, f) * _PER_TOKEN for f in PRICE_FIELDS}


def with_cost(results: pl.LazyFrame | pl.DataFrame, prices: PriceTable) -> pl.LazyFrame:
    """`results` with a `cost_usd` column from each row's usage (null without usage or price).

    Cache writes are split into 5-minute and 1-hour writes from `usage_json`'s
    `cache_creation` when present (all 5-minute otherwise); batch rows get the discount.
    """
    frame = results.lazy()
    if COST in frame.collect_schema().names():
        frame = frame.drop(COST)
    one_hour = (
        pl.col(R.usage_json)
        .str.json_path_match("$.cache_creation.ephemeral_1h_input_tokens")
        .cast(pl.Int64, strict=False)
        .fill_null(0)
    )
    created = pl.col(R.cache_creation_input_tokens).fill_null(0)
    tokens = {
        "input": pl.col(R.input_tokens),
        "output": pl.col(R.output_tokens).fill_null(0),
        "cache_write_5m": (created - one_hour).clip(lower_bound=0),
        "cache_write_1h": pl.min_horizontal(one_hour, created),
        "cache_read": pl.col(R.cache_read_input_tokens).fill_null(0),
    }
    cost = pl.sum_horizontal(tokens[f] * pl.col(f"_price_{f}") for f in PRICE_FIELDS)
    discount = pl.when(pl.col(R.batch_id).is_not_null()).then(prices.batch_discount).otherwise(1.0)
    has_price = pl.col("_price_input").is_not_null() & pl.col(R.input_tokens).is_not_null()
    priced = pl.when(has_price).then(cost * discount)
    return (
        frame.join(price_frame(prices), on=R.model, how="left", maintain_order="left")
        .with_columns(priced.alias(COST))
        .drop([f"_price_{f}" for f in PRICE_FIELDS])
    )


def experiment_prices(
    overrides: Mapping[str, object], base: PriceTable | None = None
) -> PriceTable:
    """`base` (default: the shipped table) with an experiment's `[prices]` overrides."""
    base = base or default_prices()
    if not overrides:
        return base
    loc = Location(Path("experiment prices"))
    return base.overridden(model_prices(loc, "prices", dict(overrides), base))
