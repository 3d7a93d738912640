"""The results contract: schemas derived from the row types, name tables checked against them
(runner.results.schema declares the tables, runner.results.contract derives them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from runner.results.contract import Int32, register, rows_to_frame
from runner.results.schema import ATTEMPTS_SCHEMA, RESULTS_SCHEMA, A, MessageColumns, R


def test_dtypes_follow_the_field_types() -> None:
    """Each column's dtype comes from its field's type; row parts are flattened in place."""
    assert RESULTS_SCHEMA[R.repeat] == pl.Int32()
    assert RESULTS_SCHEMA[R.input_tokens] == pl.Int64()
    assert RESULTS_SCHEMA[R.latency_ms] == pl.Float64()
    assert RESULTS_SCHEMA[R.started_at] == pl.Datetime("us", "UTC")
    assert RESULTS_SCHEMA[R.betas] == pl.List(pl.String())
    names = RESULTS_SCHEMA.names()
    assert names[names.index(R.finished_at) + 1] == R.text
    assert names[names.index(R.evidence) + 1] == R.api_request_id
    assert ATTEMPTS_SCHEMA[A.rl_requests_reset] == pl.String()
    assert ATTEMPTS_SCHEMA.names().index(A.rl_requests_limit) == 19


def test_name_tables_are_the_schema_columns() -> None:
    """`R` and `A` name every column once, in schema order, each spelled as its own name."""
    for names, schema in ((R, RESULTS_SCHEMA), (A, ATTEMPTS_SCHEMA)):
        declared = {k: v for k, v in vars(names).items() if not k.startswith("_")}
        assert list(declared) == schema.names()
        assert all(k == v for k, v in declared.items())


@dataclass(slots=True)
class _ScoreRow:
    request_key: str
    score: float | None
    votes: Int32
    at: datetime


def test_a_new_table_is_one_row_type_and_one_name_table() -> None:
    """Registering a row type derives its schema; its rows become a frame of that schema."""

    class S:
        request_key: Final = "request_key"
        score: Final = "score"
        votes: Final = "votes"
        at: Final = "at"

    table = register(_ScoreRow, S)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    frame = rows_to_frame([_ScoreRow("k", None, 3, at)], table.schema)

    assert frame.schema == pl.Schema(
        {
            "request_key": pl.String(),
            "score": pl.Float64(),
            "votes": pl.Int32(),
            "at": pl.Datetime("us", "UTC"),
        }
    )
    assert frame.row(0) == ("k", None, 3, at)


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(
            {"request_key": "request_key", "score": "score", "votes": "votes"}, id="missing"
        ),
        pytest.param(
            {"score": "score", "request_key": "request_key", "votes": "votes", "at": "at"},
            id="order",
        ),
        pytest.param(
            {"request_key": "request_key", "score": "scroe", "votes": "votes", "at": "at"},
            id="misspelt",
        ),
    ],
)
def test_a_name_table_that_differs_from_its_row_is_refused(names: dict[str, str]) -> None:
    """A name table missing a column, out of order or misspelt fails at registration."""
    with pytest.raises(RuntimeError, match="S and _ScoreRow differ"):
        register(_ScoreRow, type("S", (), names))


def test_rows_of_another_table_are_refused() -> None:
    """Building a frame from rows whose type has a different schema is an error, not a mix-up."""
    with pytest.raises(KeyError):
        rows_to_frame([MessageColumns.empty()], RESULTS_SCHEMA)


@dataclass(slots=True)
class _ListRow:
    names: list[str]
    counts: list[int] | None
    at: datetime | None


@pytest.mark.parametrize(
    ("names", "counts"),
    [
        pytest.param(["a", "é\u2028\x00", '"q\\'], [1, None, -(2**63)], id="plain"),
        pytest.param(["\ud800x"], [1], id="lone-surrogate"),
        pytest.param(["a"], [2**70], id="past-64-bits"),
        pytest.param([1], [1], id="wrong-type"),
    ],
)
def test_list_columns_keep_their_values_or_fail_as_polars_does(
    names: list[object], counts: list[int]
) -> None:
    """List columns hold exactly the values given (empty and null lists too); a value polars
    refuses is refused with polars' own error, never stored altered."""

    class L:
        names: Final = "names"
        counts: Final = "counts"
        at: Final = "at"

    schema = register(_ListRow, L).schema
    at = datetime(2026, 1, 1, 12, 30, 15, 123456, tzinfo=UTC)
    rows = [_ListRow(names, counts, at), _ListRow([], None, None)]  # type: ignore[arg-type]
    try:
        expected = pl.DataFrame(
            {"names": [names, []], "counts": [counts, None], "at": [at, None]}, schema=schema
        )
    except (TypeError, ValueError) as refused:
        with pytest.raises(type(refused)):
            rows_to_frame(rows, schema)
        return
    assert_frame_equal(rows_to_frame(rows, schema), expected)
    assert rows_to_frame(rows, schema).row(0) == (names, counts, at)
