"""Seeded bootstrap confidence intervals and sign-flip tests for a mean paired difference.

The input is block sums of per-pair differences: each group's pairs are dealt at random into at
most `MAX_BLOCKS` blocks of (nearly) equal size, and each block contributes the sum and count of
its differences. With up to `MAX_BLOCKS` pairs a block is one pair and this is the ordinary
bootstrap and sign-flip permutation test. With more, blocks are resampled instead of pairs: for
independent pairs the block means are independent and their resampled mean has the same spread
as the mean of the pairs, so the cost stays O(n_boot x MAX_BLOCKS) however large the run.

CI: the percentile interval of the resampled means (sum of sums / sum of counts).
p-value: the share of sign-flipped statistics at least as far from 0 as the observed one (signs
flipped per block, valid when the differences are symmetric about 0 under no effect), with the
usual +1 so it is never 0. Each group's generator is seeded from `seed` and the group's key, so
a group's figures do not depend on which other groups are present.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import polars as pl
from numpy.typing import NDArray

MAX_BLOCKS = 1024
SUM = "_sum"
COUNT = "_count"
BLOCK = "_block"
STATISTICS = ("ci_low", "ci_high", "p_value")
_CONFIDENCE = 0.95


def block_index(unit: pl.Expr, seed: int, groups: Sequence[str]) -> pl.Expr:
    """A block number in [0, MAX_BLOCKS) per row: units dealt at random, evenly, per group."""
    rank = unit.hash(seed).rank("ordinal").over(list(groups))
    return ((rank - 1) % MAX_BLOCKS).alias(BLOCK)


def block_statistics(
    blocks: pl.DataFrame, keys: Sequence[str], *, seed: int, n_boot: int
) -> pl.DataFrame:
    """Per group of `keys`: ci_low, ci_high and p_value from its blocks' `_block`, `_sum` and
    `_count` (blocks are put in order first, so the draws do not depend on row order)."""
    grouped = (
        blocks.filter(pl.col(COUNT) > 0)
        .sort([*keys, BLOCK])
        .group_by(list(keys), maintain_order=True)
        .agg(pl.col(SUM).cast(pl.Float64), pl.col(COUNT).cast(pl.Float64))
    )
    rows = []
    for record in grouped.iter_rows(named=True):
        key = tuple(record[k] for k in keys)
        rng = np.random.default_rng([seed, zlib.crc32(repr(key).encode())])
        sums, counts = np.asarray(record[SUM]), np.asarray(record[COUNT])
        rows.append((*key, *interval_and_p(sums, counts, rng, n_boot)))
    schema: dict[str, pl.DataType] = {k: blocks.schema[k] for k in keys}
    schema.update({name: pl.Float64() for name in STATISTICS})
    return pl.DataFrame(rows, schema=schema, orient="row")


def interval_and_p(
    sums: NDArray[np.float64], counts: NDArray[np.float64], rng: np.random.Generator, n_boot: int
) -> tuple[float, float, float]:
    """(ci_low, ci_high, p_value) of the mean sum(sums) / sum(counts)."""
    blocks = len(sums)
    observed = float(sums.sum() / counts.sum())
    picks = rng.integers(0, blocks, size=(n_boot, blocks))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    tail = (1.0 - _CONFIDENCE) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    signs = rng.integers(0, 2, size=(n_boot, blocks)).astype(np.float64) * 2.0 - 1.0
    flipped = np.abs(signs @ sums) / counts.sum()
    # A relative tolerance so that float rounding does not make an equal statistic look smaller.
    extreme = np.count_nonzero(flipped >= abs(observed) * (1.0 - 1e-9))
    return float(low), float(high), (1.0 + extreme) / (n_boot + 1.0)
