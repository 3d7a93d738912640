"""Conversation metrics: what a beta changes over a tool loop or a scripted conversation.

Per result row (a plain request is a conversation of one turn):

- turns: requests the conversation took; tool_calls: tool_use blocks over all its replies;
- total_tokens: input + output + cache creation + cache read tokens, summed over the turns;
- last_turn_input_tokens: the uncached input tokens (`input_tokens` as the API names it:
  neither read from nor written to the cache; after any context edits) of the last turn;
- last_turn_context_tokens: the last turn's context tokens (input + cache read + cache
  write, see below), where a growing context shows most whether or not it is cached. It
  comes from `turns.parquet` (pass `turns` to `compare`); a plain request is its own last
  turn. Without the turns a conversation's value is not known and has no pair;
- cache_read_share: cache-read tokens over all input-side tokens, summed over the turns;
- total_latency_ms: the turns' latencies added up (the model's time, not the tools').

`compare` tests them with the same paired statistics as every metric, on pairs where both
requests are ok, and adds them when the results hold a conversation (`has_conversations`).

Turn-level views (`per_turn`, `conversation_summary`) read `turns.parquet`. There a turn's
input side is counted three ways, as the API reports it: `input_tokens` (read at the full
price: neither read from nor written to the cache), cache reads and cache writes. What the
model saw in a turn, the context whose growth a beta may change, is their sum, the turn's
**context tokens**; a caching arm moves tokens from `input_tokens` into cache reads without
shrinking the context, so `input_tokens` alone would show a context that did not shrink as
one that did. A missing cache count is 0 (the API leaves it out when nothing was cached).
"""

from __future__ import annotations

import polars as pl

from runner.results.schema import R, T

LAST_TURN_CONTEXT = "last_turn_context_tokens"
CONVERSATION_METRICS = (
    "turns", "tool_calls", "total_tokens", "last_turn_input_tokens", LAST_TURN_CONTEXT,
    "cache_read_share", "total_latency_ms",
)  # fmt: skip
SOURCE_COLUMNS = (
    R.turns, R.tool_calls, R.input_tokens, R.output_tokens, R.cache_creation_input_tokens,
    R.cache_read_input_tokens, R.last_turn_input_tokens, LAST_TURN_CONTEXT, R.latency_ms,
)  # fmt: skip


def conversation_values() -> list[pl.Expr]:
    """One Float64 column per conversation metric, from a result row's columns."""
    created = pl.col(R.cache_creation_input_tokens).fill_null(0)
    read = pl.col(R.cache_read_input_tokens).fill_null(0)
    inputs = pl.col(R.input_tokens)
    input_side = inputs + created + read
    return [
        pl.col(R.turns).cast(pl.Float64).alias("turns"),
        pl.col(R.tool_calls).cast(pl.Float64).alias("tool_calls"),
        (input_side + pl.col(R.output_tokens)).cast(pl.Float64).alias("total_tokens"),
        pl.col(R.last_turn_input_tokens).cast(pl.Float64).alias("last_turn_input_tokens"),
        pl.col(LAST_TURN_CONTEXT).cast(pl.Float64),
        pl.when(input_side > 0).then(read / input_side).cast(pl.Float64).alias("cache_read_share"),
        pl.col(R.latency_ms).cast(pl.Float64).alias("total_latency_ms"),
    ]


def with_last_turn_context(
    results: pl.LazyFrame, turns: pl.LazyFrame | pl.DataFrame | None
) -> pl.LazyFrame:
    """`results` with `LAST_TURN_CONTEXT`: a conversation's last turn's context tokens from
    `turns` (null without them), a plain request's own (input + cache read + cache write)."""
    created = pl.col(R.cache_creation_input_tokens).fill_null(0)
    own = pl.col(R.input_tokens) + pl.col(R.cache_read_input_tokens).fill_null(0) + created
    plain = pl.col(R.turns).fill_null(1) <= 1
    if turns is None:
        return results.with_columns(pl.when(plain).then(own).alias(LAST_TURN_CONTEXT))
    last = (
        turns.lazy()
        .sort(T.turn)
        .group_by(T.request_key)
        .agg(context_tokens().last().alias("_last_context"))
        .rename({T.request_key: R.request_key})
    )
    joined = results.join(last, on=R.request_key, how="left", maintain_order="left")
    value = pl.when(plain).then(own).otherwise(pl.col("_last_context"))
    return joined.with_columns(value.alias(LAST_TURN_CONTEXT)).drop("_last_context")


def has_conversations(results: pl.LazyFrame) -> bool:
    """Whether any request of `results` took more than one turn (False for a table without
    the `turns` column, as written before conversations existed)."""
    if R.turns not in results.collect_schema().names():
        return False
    found = results.select((pl.col(R.turns).fill_null(1) > 1).any()).collect().item()
    return bool(found)


PER_TURN_COLUMNS = (
    T.model, T.arm, T.turn, "conversations", "mean_context_tokens", "mean_input_tokens",
    "mean_cache_read_tokens", "mean_cache_creation_tokens", "mean_output_tokens",
    "mean_tool_calls", "edited",
)  # fmt: skip


def context_tokens() -> pl.Expr:
    """A turn's context tokens: input + cache read + cache creation (see the module)."""
    read = pl.col(T.cache_read_input_tokens).fill_null(0)
    created = pl.col(T.cache_creation_input_tokens).fill_null(0)
    return pl.col(T.input_tokens) + read + created


def per_turn(turns: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """Per (model, arm, turn), over the ok turns: conversations that reached the turn; the
    mean context tokens and, apart, their parts (`input_tokens`, cache reads, cache writes);
    mean output tokens and tool calls; and how many of the turns had context edits."""
    frame = turns.lazy().filter(pl.col(T.status) == "ok")
    return (
        frame.group_by(T.model, T.arm, T.turn)
        .agg(
            pl.len().alias("conversations"),
            context_tokens().mean().alias("mean_context_tokens"),
            pl.col(T.input_tokens).mean().alias("mean_input_tokens"),
            pl.col(T.cache_read_input_tokens).fill_null(0).mean().alias("mean_cache_read_tokens"),
            pl.col(T.cache_creation_input_tokens)
            .fill_null(0)
            .mean()
            .alias("mean_cache_creation_tokens"),
            pl.col(T.output_tokens).mean().alias("mean_output_tokens"),
            pl.col(T.tool_names).list.len().mean().alias("mean_tool_calls"),
            (pl.col(T.context_edits).list.len() > 0).sum().alias("edited"),
        )
        .sort(T.model, T.arm, T.turn)
        .select(PER_TURN_COLUMNS)
        .collect()
    )


def conversation_summary(turns: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """Per (model, arm): conversations, mean turns and tool calls, and per turn in order (one
    number per turn reached) the mean context tokens (`context_tokens_by_turn`), the mean
    `input_tokens` alone (`input_tokens_by_turn`: without cache reads and writes) and the mean
    output tokens (`output_tokens_by_turn`)."""
    by_turn = per_turn(turns)
    conversations = (
        turns.lazy()
        .filter(pl.col(T.status) == "ok")
        .group_by(T.model, T.arm, T.request_key)
        .agg(pl.len().alias("n_turns"), pl.col(T.tool_names).list.len().sum().alias("n_calls"))
        .group_by(T.model, T.arm)
        .agg(
            pl.len().alias("conversations"),
            pl.col("n_turns").mean().alias("mean_turns"),
            pl.col("n_calls").mean().alias("mean_tool_calls"),
        )
        .collect()
    )
    growth = by_turn.group_by(T.model, T.arm, maintain_order=True).agg(
        pl.col("mean_context_tokens").round(0).cast(pl.Int64).alias("context_tokens_by_turn"),
        pl.col("mean_input_tokens").round(0).cast(pl.Int64).alias("input_tokens_by_turn"),
        pl.col("mean_output_tokens").round(0).cast(pl.Int64).alias("output_tokens_by_turn"),
    )
    return conversations.join(growth, on=[T.model, T.arm], how="left").sort(T.model, T.arm)
