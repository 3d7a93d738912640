"""Model prices as typed objects: USD per million tokens per model, a batch discount, a date.

The shipped table (`runner/catalog/data/prices.toml`) is parsed by `runner.config.prices`, which
also reads a user's price file, an experiment's `[prices]` overrides and the table a run's
manifest recorded into the same types. An `Experiment` holds its resolved `PriceTable`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from runner.catalog.models import find_model

PRICE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")


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
    """Prices by model id, the batch discount, and when the prices were read.

    `models` is a plain dict so that the table serialises with `dataclasses.asdict`; treat it
    as read-only (`overridden` returns a new table). A run's manifest records it in the form of
    `runner.config.prices.price_document`.
    """

    models: Mapping[str, ModelPrice]
    batch_discount: float = 0.5
    read_on: date | None = None
    # Fast mode (`speed = "fast"`, answered with `usage.speed = "fast"`) costs this many times
    # the model's standard prices.
    fast_multiplier: float = 6.0

    def price(self, model: str) -> ModelPrice | None:
        """The price of `model`, of the catalogued model it is an alias of, or None."""
        found = self.models.get(model)
        if found is not None:
            return found
        info = find_model(model)
        return self.models.get(info.id) if info is not None else None

    def overridden(self, overrides: Mapping[str, ModelPrice]) -> PriceTable:
        """This table with `overrides` replacing (or adding) models."""
        return dataclasses.replace(self, models={**self.models, **overrides})
