"""The latency-fidelity benchmark's verdicts: met, accounted for, not accounted for, failed."""

from __future__ import annotations

import polars as pl
import pytest

from benchmarks.latency_fidelity import Served, Timings, frame, split, verdict

INJECTED = 300.0


def _table(
    excess: list[float],
    client: list[float],
    server: list[float | None],
    to_handler_ms: float = 10.0,
    behind_ms: float = 0.0,
    connect: list[float | None] | None = None,
) -> pl.DataFrame:
    """A run whose requests exceeded the injected time by `excess`, with those lags (the
    emulator's loop lag at the handler's start as `server`) and waits for a connection (none
    by default), each reaching the handler `to_handler_ms` after it was sent and written
    `behind_ms` late."""
    ids = [f"req_{n}" for n in range(len(excess))]
    waits = connect if connect is not None else [0.0] * len(ids)
    latencies = [INJECTED + e for e in excess]
    found = Timings(ids, [100.0] * len(ids), latencies, list(client), list(waits))
    requests = pl.DataFrame(
        {
            "request_id": ids,
            "started_at": [100.0 + to_handler_ms / 1000] * len(ids),
            "took_ms": [INJECTED + behind_ms] * len(ids),
            "wait_ms": server,
        },
        schema={"request_id": pl.String}
        | dict.fromkeys(("started_at", "took_ms", "wait_ms"), pl.Float64),
    )
    return frame(found, Served("uvloop", "httptools", requests), INJECTED)


@pytest.mark.parametrize(
    ("excess", "client", "server", "expected"),
    [
        pytest.param([1.0] * 99 + [8.0], [0.5] * 100, [0.5] * 100, "target met", id="met"),
        pytest.param(
            [40.0] * 100, [30.0] * 100, [8.0] * 100, "account for the rest", id="accounted"
        ),
        pytest.param(
            [40.0] * 100, [10.0] * 100, [8.0] * 100, "NOT accounted for", id="not-accounted"
        ),
        pytest.param(
            [40.0] * 100, [30.0] * 100, [8.0] * 99 + [None], "FAILED", id="server-unmeasured"
        ),
    ],
)
def test_the_verdict_claims_only_what_was_measured(
    excess: list[float], client: list[float], server: list[float | None], expected: str
) -> None:
    """Met within 5 / 10 ms; else accounted for only when the lags leave that little."""
    line = verdict(_table(excess, client, server), failed=0)
    assert expected in line
    if expected != "account for the rest":
        assert "account for the rest" not in line


def test_a_wait_counts_only_as_long_as_the_request_took_to_reach_the_handler() -> None:
    """A 30 ms loop lag at the handler's start, for a request that reached it 2 ms after it
    was sent, explains 2 ms (plus the 3 ms its last write was late), not 30: with 25 ms of
    client lag, 10 ms of a 40 ms excess stay unexplained."""
    table = _table([40.0] * 100, [25.0] * 100, [30.0] * 100, to_handler_ms=2.0, behind_ms=3.0)
    assert table["server"].to_list() == pytest.approx([5.0] * 100)
    assert "NOT accounted for" in verdict(table, failed=0)


def test_a_failed_request_fails_the_row() -> None:
    """One request not answered ok: FAILED, whatever the others measured."""
    line = verdict(_table([1.0] * 10, [0.5] * 10, [0.5] * 10), failed=1)
    assert line.startswith("FAILED: 1 of 11")


def test_the_split_adds_up_to_the_excess() -> None:
    """Sent at 100 s, handler at +1 ms, last write 2 ms behind: the rest is the way back."""
    line = split(_table([10.0] * 100, [0.0] * 100, [0.0] * 100, 1.0, 2.0), concurrency=256)
    expected = (
        "+1.0 on the way to the emulator (0.0 of it waiting for a connection), "
        "+2.0 behind its schedule, +7.0 on the way back"
    )
    assert expected in line


def test_the_split_names_the_first_wave() -> None:
    """The two slowest requests were the first two sent; after that wave what the lags leave
    is small."""
    table = _table([1.0] * 98 + [90.0] * 2, [0.0] * 100, [0.0] * 100)
    table = table.with_columns(
        pl.when(pl.col("excess") > 50).then(0.0).otherwise(pl.col("sent_at") + 1).alias("sent_at")
    )
    line = split(table, concurrency=2)
    assert "2 of 2 in the first wave" in line
    assert "after the first wave neither explains +1.0 /    +1.0" in line


def test_a_wait_for_a_connection_longer_than_the_lag_accounts_for_its_part() -> None:
    """A 40 ms excess with 10 ms of client lag is accounted for once the request is measured
    to have waited 30 ms for a connection (and 8 ms of server lateness), and the split says
    how much of the way to the emulator that wait was."""
    table = _table([40.0] * 100, [10.0] * 100, [8.0] * 100, connect=[30.0] * 100)
    assert "account for the rest" in verdict(table, failed=0)
    assert "(30.0 of it waiting for a connection)" in split(table, concurrency=256)


def test_a_lag_while_connecting_is_not_counted_twice() -> None:
    """Client lag and the connection wait overlap (a lag while connecting shows in both), so
    only the larger counts: 20 ms of each leave 12 of a 40 ms excess unexplained."""
    table = _table([40.0] * 100, [20.0] * 100, [8.0] * 100, connect=[20.0] * 100)
    assert table["neither"].to_list() == pytest.approx([12.0] * 100)
    assert "NOT accounted for" in verdict(table, failed=0)


def test_an_unmeasured_connection_wait_fails_the_row() -> None:
    """A request whose connection wait was not measured is not accounted for by guesswork."""
    table = _table([40.0] * 100, [30.0] * 100, [8.0] * 100, connect=[0.0] * 99 + [None])
    assert verdict(table, failed=0).startswith("FAILED")
