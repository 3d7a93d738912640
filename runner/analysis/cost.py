"""The `cost_usd` column: what each request cost, from its recorded usage and a price table.

Rows of a model the table does not know get a null cost. Analysis never prices with a table it
was not given: `priced` uses the prices passed, else the frame's own `cost_usd` (what
`load_run` computed with the run's recorded prices), else leaves the cost null.
"""

from __future__ import annotations

import polars as pl

from runner.catalog.models import find_model
from runner.catalog.prices import PRICE_FIELDS, ModelPrice, PriceTable
from runner.results.schema import R

COST = "cost_usd"
_PER_TOKEN = 1e-6


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


def priced(results: pl.LazyFrame, prices: PriceTable | None) -> pl.LazyFrame:
    """`results` with a `cost_usd` column: from `prices` when given, else the frame's own,
    else null (no prices known)."""
    if prices is not None:
        return with_cost(results, prices)
    if COST in results.collect_schema().names():
        return results
    return results.with_columns(pl.lit(None, pl.Float64).alias(COST))


def with_cost(results: pl.LazyFrame | pl.DataFrame, prices: PriceTable) -> pl.LazyFrame:
    """`results` with a `cost_usd` column from each row's usage (null without usage or price).

    Cache writes are split into 5-minute and 1-hour writes from `usage_json`'s
    `cache_creation` when present (all 5-minute otherwise); batch rows get the discount, and
    rows answered in fast mode (`usage.speed = "fast"`) cost `fast_multiplier` times as much.
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
    speed = pl.col(R.usage_json).str.json_path_match("$.speed")
    discount = discount * pl.when(speed == "fast").then(prices.fast_multiplier).otherwise(1.0)
    has_price = pl.col("_price_input").is_not_null() & pl.col(R.input_tokens).is_not_null()
    priced = pl.when(has_price).then(cost * discount)
    return (
        frame.join(price_frame(prices), on=R.model, how="left", maintain_order="left")
        .with_columns(priced.alias(COST))
        .drop([f"_price_{f}" for f in PRICE_FIELDS])
    )
