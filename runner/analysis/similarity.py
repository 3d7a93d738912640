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
_CELL_ID, _OK = "_cell", "_answered"
_ORDER, _PLACE, _IN_ORDER = "_order", "_place", "_in_order"
_SHARED, _NEXT_SIMILARITY = "_shared", "_next_similarity"
_COMPARED = (_CELL_ID, _OK, TEXT_HASH, R.stop_reason, WORDS)
_SELF = (SELF_EXACT, SELF_SIMILARITY, SELF_STOP_SHIFT)


def words(text: pl.Expr) -> pl.Expr:
    """The set of lower-cased word tokens of `text`, as a list of their 64-bit hashes (set
    operations on integers are several times faster than on strings)."""
    tokens = text.str.to_lowercase().str.extract_all(r"\w+")
    return tokens.list.eval(pl.element().hash()).list.unique()


def with_jaccard(frame: pl.LazyFrame, left: pl.Expr, right: pl.Expr, name: str) -> pl.LazyFrame:
    """`frame` with column `name`: the Jaccard index of two word-set list columns (lists
    without repeats, as `words` gives); 1.0 when both are empty, null when either is null.

    The union's size is |A| + |B| - |A & B|, so only the intersection is built, and once (its
    size is a column of its own: an expression naming it twice would build it twice)."""
    sizes = left.list.len() + right.list.len()
    shared = pl.col(_SHARED)
    return (
        frame.with_columns(left.list.set_intersection(right).list.len().alias(_SHARED))
        .with_columns(
            pl.when(sizes == 0).then(1.0).otherwise(shared / (sizes - shared)).alias(name)
        )
        .drop(_SHARED)
    )


def with_text_features(frame: pl.LazyFrame, ok: pl.Expr | None = None) -> pl.LazyFrame:
    """Add word sets, length in characters, a 64-bit hash of the text (`TEXT_HASH`: equal texts
    compare by it), comparisons with the next repeat, and drop the text itself (nothing after
    this needs it, and it is the widest column). `ok` says which rows are answers (default:
    status ok); the others get null features.

    The rows keep their order. The comparisons are made in (cell, repeat) order: only the
    columns compared are put in that order, and the results put back (a sort and a shift are
    much cheaper than window functions over a million rows, and the other columns are not
    moved). Each row is compared with the next; the last repeat of a cell takes its
    predecessor's figures, as every comparison is symmetric.
    """
    ok = pl.col(R.status) == STATUS_OK if ok is None else ok
    text = pl.col(R.text).fill_null("")
    frame = frame.with_columns(
        pl.when(ok).then(words(text)).alias(WORDS),
        pl.when(ok).then(text.str.len_chars()).alias(CHARS),
        text.hash().alias(TEXT_HASH),
        ok.alias(_OK),
        pl.struct(_CELL).hash().alias(_CELL_ID),
    ).drop(R.text)
    order = pl.arg_sort_by(_CELL_ID, R.repeat)
    frame = frame.with_columns(order.alias(_ORDER)).with_columns(
        pl.col(_ORDER).arg_sort().alias(_PLACE),
        *(pl.col(name).gather(pl.col(_ORDER)).alias(_IN_ORDER + name) for name in _COMPARED),
    )
    ranked = pl.col(_IN_ORDER + WORDS)
    frame = with_jaccard(frame, ranked, ranked.shift(-1), _NEXT_SIMILARITY)
    return (
        frame.with_columns(_compared())
        .with_columns(_put_back(name) for name in _SELF)
        .drop(_ORDER, _PLACE, _OK, _CELL_ID, _NEXT_SIMILARITY)
        .drop(_IN_ORDER + name for name in _COMPARED)
    )


def _compared() -> list[pl.Expr]:
    """Each row against the next in (cell, repeat) order, where both are answers of one cell."""
    ranked = {name: pl.col(_IN_ORDER + name) for name in _COMPARED}
    cell, answered = ranked[_CELL_ID], ranked[_OK]
    after = {name: column.shift(-1) for name, column in ranked.items()}
    both_ok = (after[_CELL_ID] == cell) & answered & after[_OK]
    return [
        _on(both_ok, ranked[TEXT_HASH] == after[TEXT_HASH]).alias(SELF_EXACT),
        pl.when(both_ok).then(pl.col(_NEXT_SIMILARITY)).alias(SELF_SIMILARITY),
        _on(both_ok, ranked[R.stop_reason].ne_missing(after[R.stop_reason])).alias(SELF_STOP_SHIFT),
    ]


def _put_back(name: str) -> pl.Expr:
    """The figure in the rows' own order; a cell's last repeat takes its predecessor's."""
    cell = pl.col(_IN_ORDER + _CELL_ID)
    last = (cell.shift(-1) != cell).fill_null(True) & (cell.shift(1) == cell)
    value = pl.col(name)
    return pl.when(last).then(value.shift(1)).otherwise(value).gather(pl.col(_PLACE)).alias(name)


def _on(condition: pl.Expr, flag: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(flag.cast(pl.Float64))
