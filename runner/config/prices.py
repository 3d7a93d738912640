"""Reading price tables: the shipped one, a `--prices FILE`, an experiment's `[prices]`, a run's.

A price table given in part fills the cache prices from the input price with the usual ratios;
fields left out of an override come from the base table's price for that model. Every table is
parsed once, where it is read, into `PriceTable`/`ModelPrice` objects; errors name the file
and the key path. A run records the table it was priced with in its manifest
(`price_document`), and `recorded_prices` reads it back. `pricing_note` says in one sentence
what priced a run's costs, and `unpriced_warning` names the models no table prices (their
`cost_usd` is null, never a guess).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache
from pathlib import Path

from runner.catalog.package_data import data_toml
from runner.catalog.prices import PRICE_FIELDS, ModelPrice, PriceTable
from runner.config.files import read_toml
from runner.config.tables import Location, Table, key_path
from runner.config.types import JSONObject

_MODEL_KEYS = (*PRICE_FIELDS, "estimate")
_FILE_KEYS = ("read_on", "batch_discount", "fast_multiplier", "models")
# The ratios to the input price that Anthropic's cache pricing uses.
_CACHE_RATIOS = {"cache_write_5m": 1.25, "cache_write_1h": 2.0, "cache_read": 0.1}


@cache
def default_prices() -> PriceTable:
    """The shipped price table, read once."""
    table = data_toml("prices.toml")
    return _price_table(Location(Path("runner/catalog/data/prices.toml")), "", table, None)


def load_prices(path: str | Path, base: PriceTable | None = None) -> PriceTable:
    """`base` (default: the shipped table) overridden by the price file at `path`."""
    path = Path(path)
    base = base or default_prices()
    data = read_toml(path, "price file")
    return _price_table(Location(path), "", data, base)


def with_overrides(
    loc: Location, path: str, table: Mapping[str, object], base: PriceTable | None = None
) -> PriceTable:
    """`base` (default: the shipped table) with `{model-id: {input = ..., ...}}` at `path`."""
    base = base or default_prices()
    return base.overridden(model_prices(loc, path, table, base)) if table else base


def model_prices(
    loc: Location, path: str, table: Mapping[str, object], base: PriceTable | None = None
) -> dict[str, ModelPrice]:
    """Parse `{model-id: {input = ..., ...}}`; fields left out come from `base`'s price."""
    root = Table.read(loc, path, dict(table), tuple(table))
    return {model: _model_price(root, model, base) for model in table}


def recorded_prices(manifest: Path, document: object) -> PriceTable:
    """The prices a run's manifest recorded under `experiment.prices`: a whole table (what
    `price_document` writes) or, in manifests written before tables were recorded, the
    experiment's overrides of the shipped table (none: the shipped table)."""
    loc, path = Location(manifest), "experiment.prices"
    if not isinstance(document, dict):
        return default_prices()
    if isinstance(document.get("models"), dict) and "batch_discount" in document:
        read_on = document.get("read_on")
        data = {**document, "read_on": date.fromisoformat(read_on) if read_on else None}
        return _price_table(loc, path, {k: v for k, v in data.items() if v is not None}, None)
    return with_overrides(loc, path, document)


def pricing_note(table: PriceTable, models: Sequence[str]) -> str:
    """What prices `models`' costs: the shipped table (with its date), the models whose price
    was overridden, those whose shipped price is an estimate, and where it is recorded."""
    shipped = default_prices()
    read_on = f" read on {table.read_on.isoformat()}" if table.read_on else ""
    parts = [f"cost $ uses the shipped prices{read_on}"]
    overridden = [m for m in models if table.price(m) != shipped.price(m)]
    if overridden:
        parts.append(f"with your prices for {', '.join(overridden)}")
    estimated = [m for m in models if (price := table.price(m)) is not None and price.estimate]
    if estimated:
        parts.append(f"estimated (no published price) for {', '.join(estimated)}")
    return "; ".join(parts) + "; the run records them in its manifest."


def unpriced_warning(table: PriceTable, models: Sequence[str]) -> str | None:
    """A sentence naming the models `table` has no price for (their cost is left null)."""
    missing = [m for m in models if table.price(m) is None]
    if not missing:
        return None
    its = "its" if len(missing) == 1 else "their"
    return (
        f"No price is known for {', '.join(missing)}: {its} cost_usd stays empty (null), never "
        f'a guess; add [prices."{missing[0]}"] with input and output (USD per million tokens) '
        f"to price {'it' if len(missing) == 1 else 'them'}."
    )


def price_document(table: PriceTable) -> JSONObject:
    """`table` as JSON-able data, the form a run's manifest records and `recorded_prices` reads."""
    models: JSONObject = {
        model: {**{f: getattr(price, f) for f in PRICE_FIELDS}, "estimate": price.estimate}
        for model, price in table.models.items()
    }
    return {
        "read_on": table.read_on.isoformat() if table.read_on else None,
        "batch_discount": table.batch_discount,
        "fast_multiplier": table.fast_multiplier,
        "models": models,
    }


def _price_table(
    loc: Location, path: str, data: dict[str, object], base: PriceTable | None
) -> PriceTable:
    root = Table.read(loc, path, data, _FILE_KEYS)
    models = root.data.get("models", {})
    if not isinstance(models, dict):
        raise root.wrong("models", 'a table of [models."model-id"] tables')
    parsed = model_prices(loc, key_path(path, "models"), models, base)
    discount = root.number("batch_discount", base.batch_discount if base else 0.5)
    fast = root.number("fast_multiplier", base.fast_multiplier if base else 1.0)
    read_on = root.data.get("read_on", base.read_on if base else None)
    if read_on is not None and not isinstance(read_on, date):
        raise root.wrong("read_on", "a date such as 2026-11-15")
    table = PriceTable(parsed, discount, read_on, fast)
    if base is None:
        return table
    return dataclasses.replace(base.overridden(parsed), fast_multiplier=fast)


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
