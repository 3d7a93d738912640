"""The `cost_usd` column: what each request cost, from its recorded usage and a price table.

Rows of a model the table does not know get a null cost. Analysis never prices with a table it
was not given: `priced` uses the prices passed, else the frame's own `cost_usd` (what
`load_run` computed with the run's recorded prices), else leaves the cost null.
"""

from __future__ import annotations

import polars as pl

from runner.catalog.models import find_model
from runner.catalog.prices import PRICE_FIELDS, PriceTable
from runner.results.schema import R

COST = "cost_usd"
_PER_TOKEN = 1e-6
_ONE_HOUR, _CREATED, _MODEL = "_cache_write_1h", "_cache_created", "_priced_model"


def per_token_prices(prices: PriceTable) -> dict[str, tuple[float, ...]]:
    """Each model id and each catalogued alias with its per-token prices, in `PRICE_FIELDS`
    order (a model id named in the table wins over another model's alias of the same name)."""
    found: dict[str, tuple[float, ...]] = {}
    for model, price in prices.models.items():
        info = find_model(model)
        aliases = info.aliases if info is not None and info.id == model else ()
        per_token = tuple(getattr(price, field) * _PER_TOKEN for field in PRICE_FIELDS)
        found.update({alias: per_token for alias in aliases if alias not in prices.models})
        found[model] = per_token
    return found


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
    table = per_token_prices(prices)
    # The shared parts are columns of their own: left to common-subexpression elimination,
    # the same query peaked at twice the memory.
    frame = frame.with_columns(
        one_hour.alias(_ONE_HOUR), created.alias(_CREATED), _model_index(table).alias(_MODEL)
    )
    one_hour, created = pl.col(_ONE_HOUR), pl.col(_CREATED)
    tokens = {
        "input": pl.col(R.input_tokens),
        "output": pl.col(R.output_tokens).fill_null(0),
        "cache_write_5m": (created - one_hour).clip(lower_bound=0),
        "cache_write_1h": pl.min_horizontal(one_hour, created),
        "cache_read": pl.col(R.cache_read_input_tokens).fill_null(0),
    }
    cost = pl.sum_horizontal(tokens[f] * _price(table, i) for i, f in enumerate(PRICE_FIELDS))
    discount = pl.when(pl.col(R.batch_id).is_not_null()).then(prices.batch_discount).otherwise(1.0)
    speed = pl.col(R.usage_json).str.json_path_match("$.speed")
    discount = discount * pl.when(speed == "fast").then(prices.fast_multiplier).otherwise(1.0)
    has_price = pl.col(_MODEL).is_not_null() & pl.col(R.input_tokens).is_not_null()
    priced = pl.when(has_price).then(cost * discount)
    return frame.with_columns(priced.alias(COST)).drop(_ONE_HOUR, _CREATED, _MODEL)


def _model_index(table: dict[str, tuple[float, ...]]) -> pl.Expr:
    """Each row's model as its position among the priced names (null for one not priced): a
    cast to an enum of those names, much cheaper than a string lookup per price field."""
    return pl.col(R.model).cast(pl.Enum(list(table)), strict=False).to_physical()


def _price(table: dict[str, tuple[float, ...]], field: int) -> pl.Expr:
    """Each row's per-token price of `PRICE_FIELDS[field]`, taken by its model's index
    (`_model_index`)."""
    prices = pl.Series([per_token[field] for per_token in table.values()], dtype=pl.Float64)
    return pl.lit(prices).gather(pl.col(_MODEL))
