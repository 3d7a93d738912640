"""Conversation metrics in compare, and the per-arm, per-turn views of turns.parquet."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from frames import results, row
from polars.testing import assert_frame_equal

from runner.analysis import METRICS, compare
from runner.analysis.conversation import CONVERSATION_METRICS, conversation_summary, per_turn
from runner.results.schema import TURNS_SCHEMA, R


def _conversation(arm: str, case: str, turns: list[int], cache_read: int = 0) -> dict[str, object]:
    return row(
        arm=arm,
        case_id=case,
        turns=len(turns),
        tool_calls=len(turns) - 1,
        input_tokens=sum(turns),
        output_tokens=10 * len(turns),
        cache_read_input_tokens=cache_read,
        cache_creation_input_tokens=0,
        turn_input_tokens=turns,
        last_turn_input_tokens=turns[-1],
        latency_ms=100.0 * len(turns),
    )


def test_compare_tests_conversation_metrics_when_a_request_took_several_turns() -> None:
    """Each conversation metric gets a row: means, the paired delta and its statistics."""
    frame = results(
        *(
            _conversation("baseline", f"c{i}", [300, 700, 1100 + i], cache_read=0)
            for i in range(12)
        ),
        *(
            _conversation("managed", f"c{i}", [300, 700, 800 + i], cache_read=900)
            for i in range(12)
        ),
    )
    table = compare(frame, "baseline", n_boot=200)
    assert table["metric"].to_list() == [*METRICS, *CONVERSATION_METRICS]
    values = {r["metric"]: r for r in table.to_dicts()}
    assert values["last_turn_input_tokens"]["delta"] == -300.0
    assert values["turns"]["delta"] == 0.0
    assert values["tool_calls"]["value"] == 2.0
    assert values["total_tokens"]["baseline"] == 300 + 700 + 1105.5 + 30
    share = 900 / (300 + 700 + 805.5 + 900)
    assert abs(values["cache_read_share"]["value"] - share) < 1e-3
    assert values["cache_read_share"]["baseline"] == 0.0
    assert values["total_latency_ms"]["value"] == 300.0
    assert values["last_turn_input_tokens"]["significant"] is True


def test_plain_requests_keep_the_plain_metrics() -> None:
    """Without a request of more than one turn, compare's metrics are unchanged."""
    frame = results(row(), row(arm="beta"), row(case_id="c2"), row(case_id="c2", arm="beta"))
    assert compare(frame, n_boot=50)["metric"].to_list() == list(METRICS)


def _turn(
    arm: str, key: str, turn: int, tokens: int, edits: list[str], read: int | None = 0
) -> dict[str, object]:
    base: dict[str, object] = dict.fromkeys(TURNS_SCHEMA.names())
    base.update(
        run_id="r", request_key=key, turn=turn, case_id="c", model="m", arm=arm, status="ok",
        attempts=1, sent_at=datetime(2026, 12, 1, tzinfo=UTC), input_tokens=tokens,
        output_tokens=10, cache_read_input_tokens=read, tool_names=["t"] if turn < 3 else [],
        tool_inputs=[], tool_errors=0, context_edits=edits,
    )  # fmt: skip
    return base


def test_per_turn_and_summary_show_tokens_growing_turn_by_turn() -> None:
    """Mean input tokens per turn per arm, and each arm's turns, calls and growth in order."""
    rows = [
        _turn("baseline", "a", 1, 300, []),
        _turn("baseline", "a", 2, 700, []),
        _turn("baseline", "a", 3, 1100, []),
        _turn("managed", "b", 1, 300, []),
        _turn("managed", "b", 2, 700, []),
        _turn("managed", "b", 3, 600, ["clear_tool_uses_20250919"]),
    ]
    turns = pl.DataFrame(rows, schema=TURNS_SCHEMA)
    by_turn = per_turn(turns)
    assert by_turn.filter(pl.col("arm") == "managed")["edited"].to_list() == [0, 0, 1]
    summary = conversation_summary(turns)
    expected = pl.DataFrame(
        {
            R.model: ["m", "m"],
            R.arm: ["baseline", "managed"],
            "conversations": [1, 1],
            "mean_turns": [3.0, 3.0],
            "mean_tool_calls": [2.0, 2.0],
            "context_tokens_by_turn": [[300, 700, 1100], [300, 700, 600]],
            "input_tokens_by_turn": [[300, 700, 1100], [300, 700, 600]],
            "output_tokens_by_turn": [[10, 10, 10], [10, 10, 10]],
        }
    )
    assert_frame_equal(summary, expected, check_dtypes=False)


def test_context_tokens_count_what_the_model_read_with_cache_reads_and_writes() -> None:
    """A caching arm moves tokens into cache reads: its context tokens match the baseline's
    while its uncached input drops; the parts are shown apart, a missing count as 0."""
    rows = [
        _turn("baseline", "a", 1, 300, []),
        _turn("baseline", "a", 2, 700, []),
        _turn("cached", "b", 1, 300, [], read=None),
        {**_turn("cached", "b", 2, 100, [], read=550), "cache_creation_input_tokens": 50},
    ]
    by_turn = per_turn(pl.DataFrame(rows, schema=TURNS_SCHEMA))
    cached = by_turn.filter(pl.col("arm") == "cached")
    assert cached["mean_context_tokens"].to_list() == [300.0, 700.0]
    assert cached["mean_input_tokens"].to_list() == [300.0, 100.0]
    assert cached["mean_cache_read_tokens"].to_list() == [0.0, 550.0]
    assert cached["mean_cache_creation_tokens"].to_list() == [0.0, 50.0]
    summary = conversation_summary(pl.DataFrame(rows, schema=TURNS_SCHEMA))
    assert summary["context_tokens_by_turn"].to_list() == [[300, 700], [300, 700]]
    assert summary["input_tokens_by_turn"].to_list() == [[300, 700], [300, 100]]


def test_last_turn_context_tokens_count_cached_input_whole_and_uncached_input_apart() -> None:
    """A caching arm moves the last turn's input into cache reads: `last_turn_input_tokens`
    (uncached only) falls, `last_turn_context_tokens` (input + cache read + cache write, from
    the turns) does not; without the turns, a conversation's context has no pair."""
    conversations, turns = [], []
    for arm, cached in (("baseline", 0), ("caching", 1000)):
        for i in range(12):
            talk = _conversation(arm, f"c{i}", [300, 700, 1100 + i - cached], cache_read=cached)
            conversations.append(talk)
            for number, tokens in enumerate(talk["turn_input_tokens"], start=1):
                read = cached if number == 3 else 0
                turns.append(_turn(arm, talk["request_key"], number, tokens, [], read=read))
    frame, turn_rows = results(*conversations), pl.DataFrame(turns, schema=TURNS_SCHEMA)
    values = {
        r["metric"]: r for r in compare(frame, "baseline", n_boot=200, turns=turn_rows).to_dicts()
    }
    assert values["last_turn_input_tokens"]["delta"] == -1000.0
    assert values["last_turn_context_tokens"]["delta"] == 0.0
    assert values["last_turn_context_tokens"]["baseline"] == 1105.5
    unknown = {r["metric"]: r for r in compare(frame, "baseline", n_boot=50).to_dicts()}
    assert unknown["last_turn_context_tokens"]["value"] is None
