"""Seeded bootstrap confidence intervals and sign-flip tests for a mean paired difference.

The input is block sums of per-pair differences: each group's pairs are dealt at random into
at most `MAX_BLOCKS` blocks of (nearly) equal size, and each block contributes the sum and
count of its differences, per metric. Resamples are drawn as per-block weights, so every
metric of a group is resampled by one matrix product. With up to `MAX_BLOCKS` pairs a block is
one pair and this is the ordinary bootstrap and sign-flip permutation test. With more, blocks
are resampled instead of pairs: for independent pairs the block means are independent and
their resampled mean has the same spread as the mean of the pairs, so the cost stays
O(n_boot x MAX_BLOCKS) however large the run.

CI: the percentile interval of the resampled means (sum of sums / sum of counts).
p-value: the share of sign-flipped statistics at least as far from 0 as the observed one
(signs flipped per block, valid when the differences are symmetric about 0 under no effect),
with the usual +1 so it is never 0. Each group's generator is seeded from `seed` and the
group's key, so a group's figures do not depend on which other groups are present.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl
from numpy.typing import NDArray

MAX_BLOCKS = 1024
BLOCK = "_block"
STATISTICS = ("ci_low", "ci_high", "p_value")
_CONFIDENCE = 0.95
_ROWS = 16


def block_index(unit: pl.Expr, seed: int, groups: Sequence[str]) -> pl.Expr:
    """A block number in [0, MAX_BLOCKS) per row: units dealt at random, evenly, per group."""
    rank = unit.hash(seed).rank("ordinal").over(list(groups))
    return ((rank - 1) % MAX_BLOCKS).alias(BLOCK)


def block_statistics(
    blocks: pl.DataFrame,
    keys: Sequence[str],
    columns: Sequence[tuple[str, str, str]],
    *,
    seed: int,
    n_boot: int,
) -> pl.DataFrame:
    """Per group of `keys` and per (label, sum column, count column) of `columns`: the label
    under `metric`, then ci_low, ci_high and p_value of sum / count over the group's blocks.

    Blocks are put in `_block` order first, so the draws do not depend on row order; all the
    columns of one group share the same resamples and sign flips.
    """
    ordered = blocks.sort([*keys, BLOCK])
    groups = list(ordered.group_by(list(keys), maintain_order=True))

    def one(key: tuple[object, ...], group: pl.DataFrame) -> list[tuple[object, ...]]:
        rng = np.random.default_rng([seed, zlib.crc32(repr(key).encode())])
        sums = group.select(s for _, s, _ in columns).to_numpy().astype(np.float64)
        counts = group.select(c for _, _, c in columns).to_numpy().astype(np.float64)
        low, high, p_value = intervals_and_p(sums, counts, rng, n_boot)
        return [
            (*key, label, *(None if np.isnan(f) else float(f) for f in figures))
            for label, figures in zip(
                (label for label, _, _ in columns),
                zip(low, high, p_value, strict=True),
                strict=True,
            )
        ]

    # Each group has its own seeded generator, so threads change nothing but the wall time
    # (numpy's draws and matrix products release the GIL).
    with ThreadPoolExecutor(max_workers=min(len(groups), os.cpu_count() or 1) or 1) as pool:
        found = list(pool.map(lambda item: one(*item), groups))
    rows = [row for part in found for row in part]
    schema: dict[str, pl.DataType] = {k: blocks.schema[k] for k in keys}
    schema.update({"metric": pl.String(), **{name: pl.Float64() for name in STATISTICS}})
    return pl.DataFrame(rows, schema=schema, orient="row")


def intervals_and_p(
    sums: NDArray[np.float64], counts: NDArray[np.float64], rng: np.random.Generator, n_boot: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(ci_low, ci_high, p_value) per column of the ratio sums.sum() / counts.sum().

    `sums` and `counts` are blocks x columns; a block with count 0 takes part in the
    resampling with weight 0 (a resample that draws only such blocks is left out).
    """
    means = _resampled_means(sums, counts, rng, n_boot)
    signs = _signs(rng, n_boot, sums.shape[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        total = counts.sum(axis=0)
        observed = sums.sum(axis=0) / total
        flipped = np.abs(_product(signs, sums)) / total
    tail = (1.0 - _CONFIDENCE) / 2.0
    defined = total > 0
    low, high = np.full(len(total), np.nan), np.full(len(total), np.nan)
    if defined.any():
        bounds = np.nanquantile(means[:, defined], [tail, 1.0 - tail], axis=0)
        low[defined], high[defined] = bounds[0], bounds[1]
    # A relative tolerance so that float rounding does not make an equal statistic look smaller.
    extreme = np.count_nonzero(flipped >= np.abs(observed) * (1.0 - 1e-9), axis=0)
    p_value = np.where(defined, (1.0 + extreme) / (n_boot + 1.0), np.nan)
    return low, high, p_value


def _resampled_means(
    sums: NDArray[np.float64], counts: NDArray[np.float64], rng: np.random.Generator, n_boot: int
) -> NDArray[np.float64]:
    """n_boot x columns: each resample's sum of sums over its sum of counts. A resample's
    draws count how often it takes each block: one bincount over offset draws, then one
    product for sums and counts side by side (the counts converted to floats once)."""
    blocks, width = sums.shape
    picks = rng.integers(0, blocks, size=(n_boot, blocks))
    picks += blocks * np.arange(n_boot)[:, None]
    weights = np.bincount(picks.ravel(), minlength=n_boot * blocks).reshape(n_boot, blocks)
    del picks
    resampled = _product(weights.astype(np.float64), np.hstack([sums, counts]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return resampled[:, :width] / resampled[:, width:]


def _signs(rng: np.random.Generator, n_boot: int, blocks: int) -> NDArray[np.float64]:
    """n_boot x blocks of -1.0 (a uniform draw below 0.5) or 1.0, made in place."""
    signs = rng.random((n_boot, blocks))
    signs -= 0.5
    return np.copysign(1.0, signs, out=signs)


def _product(left: NDArray[np.float64], right: NDArray[np.float64]) -> NDArray[np.float64]:
    """left @ right, `_ROWS` rows of `left` at a time: products that small OpenBLAS makes on
    the calling thread, whereas for a whole one it wakes its worker threads, which then spin
    between calls (measured: 10 ms of CPU per 2,000 x 1,024 x 28 product, 4 ms in slices)."""
    out = np.empty((left.shape[0], right.shape[1]))
    for start in range(0, left.shape[0], _ROWS):
        np.matmul(left[start : start + _ROWS], right, out=out[start : start + _ROWS])
    return out
