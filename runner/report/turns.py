"""The report's conversation section: per model, how each turn went, the arms side by side.

For a run whose cases are conversations (tool loops, scripted turns), `per_turn` gives per
(model, arm, turn) the conversations that reached the turn and the mean tokens of the turn.
Here each measure is a table per model, one row per turn and one column per arm (in the
experiment's order), so a reader sees the context grow turn by turn under each arm. A turn an
arm never reached reads as a dash, never 0. The context tokens (what the model read: input +
cache read + cache write) come first; their parts follow, so a caching beta that moves tokens
into cache reads shows as what it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import polars as pl

from runner.report.tables import html_table
from runner.results.schema import T

MEASURES = (
    ("mean_context_tokens", "Context tokens per turn (input + cache read + cache write), mean"),
    ("mean_input_tokens", "Uncached input tokens per turn (input_tokens), mean"),
    ("mean_cache_read_tokens", "Cache-read tokens per turn, mean"),
    ("mean_cache_creation_tokens", "Cache-write tokens per turn, mean"),
    ("mean_output_tokens", "Output tokens per turn, mean"),
    ("mean_tool_calls", "Tool calls per turn, mean"),
    ("conversations", "Conversations that reached the turn (ok turns)"),
    ("edited", "Turns with context edits"),
)


def turns_section(by_turn: pl.DataFrame, arms: Sequence[str]) -> str:
    """The per-turn tables of `by_turn` (`per_turn`'s frame), per model and measure; a line
    saying there is nothing to show for a run without conversations."""
    if by_turn.is_empty() or by_turn[T.turn].max() == 1:
        return '<p class="empty">No conversation cases: every request was one turn.</p>'
    parts = []
    for (model,), rows in by_turn.partition_by(T.model, as_dict=True, maintain_order=True).items():
        parts.append(f"<h3>{escape(str(model))}</h3>")
        for column, title in MEASURES:
            table = arms_side_by_side(rows, column, arms)
            parts.append(f"<h4>{escape(title)}</h4>" + html_table(table))
    return "".join(parts)


def arms_side_by_side(rows: pl.DataFrame, column: str, arms: Sequence[str]) -> pl.DataFrame:
    """One row per turn, one column per arm holding `column` (null where the arm has no ok
    turn of that number); arms in `arms` order, then any others found, sorted."""
    found = rows[T.arm].unique().to_list()
    order = [a for a in arms if a in found] + sorted(set(found) - set(arms))
    turns = rows.select(pl.col(T.turn).unique().sort())
    for arm in order:
        mine = rows.filter(pl.col(T.arm) == arm).select(T.turn, pl.col(column).alias(arm))
        turns = turns.join(mine, on=T.turn, how="left", maintain_order="left")
    return turns
