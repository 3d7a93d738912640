"""Text similarity between answers, and each answer's similarity to its own next repeat.

Similarity is the Jaccard index of the sets of lower-cased word tokens (`\\w+`) of two texts
(the size of their intersection over the size of their union; 1.0 for two texts with no
words). It is vectorised in polars (no per-row Python), so a million rows take seconds; it
measures shared vocabulary, not word order.

Repeat-to-repeat comparisons pair each ok answer with the next repeat of the same (run, case,
model, arm), and the last repeat with the one before it; with a single repeat, or when either
answer failed, they are null. They measure sampling noise: how much an arm's answers to
the same question differ from each other.
"""

from __future__ import annotations

import polars as pl

from runner.results.schema import STATUS_OK, R

WORDS = "_words"
CHARS = "_chars"
SELF_EXACT = "_self_exact"
SELF_SIMILARITY = "_self_similarity"
SELF_STOP_SHIFT = "_self_stop_shift"
TEXT_HASH = "_text_hash"
_CELL = (R.run_id, R.case_id, R.model, R.arm)
_CELL_ID = "_cell"
_NEXT = "_next_"


def words(text: pl.Expr) -> pl.Expr:
    """The set of lower-cased word tokens of `text`, as a list of their 64-bit hashes (set
    operations on integers are several times faster than on strings)."""
    tokens = text.str.to_lowercase().str.extract_all(r"\w+")
    return tokens.list.eval(pl.element().hash()).list.unique()


def jaccard(left: pl.Expr, right: pl.Expr) -> pl.Expr:
    """Jaccard index of two word-set list columns; 1.0 when both are empty."""
    shared = left.list.set_intersection(right).list.len()
    union = left.list.set_union(right).list.len()
    return pl.when(union == 0).then(1.0).otherwise(shared / union)


def with_text_features(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add word sets, length in characters, a 64-bit hash of the text (`TEXT_HASH`: equal texts
    compare by it, so the text itself need not be carried further) and comparisons with the
    next repeat.

    The rows come back sorted by cell and repeat (a sort and a shift are much cheaper than
    window functions over a million rows).
    """
    ok = pl.col(R.status) == STATUS_OK
    frame = frame.with_columns(
        pl.when(ok).then(words(pl.col(R.text).fill_null(""))).alias(WORDS),
        pl.when(ok).then(pl.col(R.text).fill_null("").str.len_chars()).alias(CHARS),
        pl.col(R.text).fill_null("").hash().alias(TEXT_HASH),
        pl.struct(_CELL).hash().alias(_CELL_ID),
    ).sort(_CELL_ID, R.repeat)
    carried = (TEXT_HASH, R.stop_reason, R.status, WORDS)
    frame = frame.with_columns(_neighbour(pl.col(name)).alias(_NEXT + name) for name in carried)
    following = {name: pl.col(_NEXT + name) for name in carried}
    both_ok = ok & (following[R.status] == STATUS_OK)
    return frame.with_columns(
        _when(both_ok, pl.col(TEXT_HASH) == following[TEXT_HASH], SELF_EXACT),
        pl.when(both_ok).then(jaccard(pl.col(WORDS), following[WORDS])).alias(SELF_SIMILARITY),
        _when(both_ok, pl.col(R.stop_reason).ne_missing(following[R.stop_reason]), SELF_STOP_SHIFT),
    ).drop(_CELL_ID, *(_NEXT + name for name in carried))


def _neighbour(column: pl.Expr) -> pl.Expr:
    """The next repeat's value in the same cell; for the last repeat, the previous one's."""
    cell = pl.col(_CELL_ID)
    return (
        pl.when(cell.shift(-1) == cell)
        .then(column.shift(-1))
        .when(cell.shift(1) == cell)
        .then(column.shift(1))
    )


def _when(condition: pl.Expr, flag: pl.Expr, name: str) -> pl.Expr:
    return pl.when(condition).then(flag.cast(pl.Float64)).alias(name)
