"""Text similarity between answers, and each answer's similarity to its own next repeat.

Similarity is the Jaccard index of the sets of lower-cased word tokens (`\\w+`) of two texts
(the size of their intersection over the size of their union; 1.0 for two texts with no
words). It is vectorised in polars (no per-row Python), so a million rows take seconds; it
measures shared vocabulary, not word order.

Repeat-to-repeat comparisons pair each ok answer with the next repeat of the same (run, case,
model, arm), wrapping around from the last repeat to the first; with a single repeat, or when
either answer failed, they are null. They measure sampling noise: how much an arm's answers to
the same question differ from each other.
"""

from __future__ import annotations

import polars as pl

from runner.records import STATUS_OK, R

WORDS = "_words"
CHARS = "_chars"
SELF_EXACT = "_self_exact"
SELF_SIMILARITY = "_self_similarity"
SELF_STOP_SHIFT = "_self_stop_shift"
_CELL = (R.run_id, R.case_id, R.model, R.arm)


def words(text: pl.Expr) -> pl.Expr:
    """The set of lower-cased word tokens of `text`, as a list."""
    return text.str.to_lowercase().str.extract_all(r"\w+").list.unique()


def jaccard(left: pl.Expr, right: pl.Expr) -> pl.Expr:
    """Jaccard index of two word-set list columns; 1.0 when both are empty."""
    shared = left.list.set_intersection(right).list.len()
    union = left.list.set_union(right).list.len()
    return pl.when(union == 0).then(1.0).otherwise(shared / union)


def with_text_features(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add word sets, length in characters and comparisons with the next repeat."""
    ok = pl.col(R.status) == STATUS_OK
    frame = frame.with_columns(
        pl.when(ok).then(words(pl.col(R.text).fill_null(""))).alias(WORDS),
        pl.when(ok).then(pl.col(R.text).fill_null("").str.len_chars()).alias(CHARS),
    )
    following = {
        name: _next_repeat(pl.col(name)) for name in (R.text, R.stop_reason, R.status, WORDS)
    }
    both_ok = ok & (following[R.status] == STATUS_OK) & (pl.len().over(_CELL) > 1)
    return frame.with_columns(
        _when(both_ok, pl.col(R.text).fill_null("") == following[R.text].fill_null(""), SELF_EXACT),
        pl.when(both_ok).then(jaccard(pl.col(WORDS), following[WORDS])).alias(SELF_SIMILARITY),
        _when(both_ok, pl.col(R.stop_reason).ne_missing(following[R.stop_reason]), SELF_STOP_SHIFT),
    )


def _next_repeat(column: pl.Expr) -> pl.Expr:
    after = column.shift(-1).over(_CELL, order_by=R.repeat)
    first = column.sort_by(R.repeat).first().over(_CELL)
    is_last = pl.col(R.repeat) == pl.col(R.repeat).max().over(_CELL)
    return pl.when(is_last).then(first).otherwise(after)


def _when(condition: pl.Expr, flag: pl.Expr, name: str) -> pl.Expr:
    return pl.when(condition).then(flag.cast(pl.Float64)).alias(name)
