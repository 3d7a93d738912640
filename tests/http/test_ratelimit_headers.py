"""Reading the rate-limit and retry headers of a response."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runner.http.ratelimit import BucketState, read_snapshot, retry_after

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def test_read_snapshot_reads_every_reported_bucket() -> None:
    """Limit, remaining and reset of each `anthropic-ratelimit-*` bucket become a BucketState."""
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2026-05-01T12:00:01Z",
        "anthropic-ratelimit-input-tokens-limit": "30000",
        "anthropic-ratelimit-input-tokens-remaining": "29000",
        "anthropic-ratelimit-input-tokens-reset": "2026-05-01T12:00:02Z",
        "anthropic-ratelimit-output-tokens-limit": "8000",
        "anthropic-ratelimit-output-tokens-remaining": "8000",
        "anthropic-ratelimit-output-tokens-reset": "2026-05-01T12:00:00Z",
        "anthropic-ratelimit-tokens-limit": "38000",
        "anthropic-ratelimit-tokens-remaining": "37000",
        "anthropic-ratelimit-tokens-reset": "2026-05-01T12:00:02Z",
    }

    snapshot = read_snapshot(headers, NOW)

    assert snapshot.reported
    assert snapshot.retry_after_s is None
    assert snapshot.bucket("requests") == BucketState(50, 49, "2026-05-01T12:00:01Z")
    assert snapshot.bucket("input_tokens") == BucketState(30000, 29000, "2026-05-01T12:00:02Z")
    assert snapshot.bucket("output_tokens") == BucketState(8000, 8000, "2026-05-01T12:00:00Z")
    assert snapshot.bucket("tokens") == BucketState(38000, 37000, "2026-05-01T12:00:02Z")


def test_read_snapshot_without_headers_reports_nothing() -> None:
    """No rate-limit headers: nothing reported, every bucket empty."""
    snapshot = read_snapshot({"content-type": "application/json"}, NOW)

    assert not snapshot.reported
    assert snapshot.bucket("requests") == BucketState(None, None, None)


def test_read_snapshot_turns_malformed_numbers_into_none() -> None:
    """A malformed limit or remaining value becomes None instead of an error."""
    headers = {
        "anthropic-ratelimit-requests-limit": "lots",
        "anthropic-ratelimit-requests-remaining": "4.5",
    }

    snapshot = read_snapshot(headers, NOW)

    assert snapshot.reported
    assert snapshot.bucket("requests") == BucketState(None, None, None)


def test_read_snapshot_carries_the_retry_hint() -> None:
    """The snapshot includes the server's retry-after in seconds."""
    snapshot = read_snapshot({"retry-after": "7"}, NOW)

    assert snapshot.retry_after_s == 7.0
    assert not snapshot.reported


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"retry-after-ms": "1500", "retry-after": "9"}, 1.5, id="ms-wins"),
        pytest.param({"retry-after-ms": "250.5"}, 0.2505, id="ms-float"),
        pytest.param({"retry-after-ms": "junk", "retry-after": "3"}, 3.0, id="bad-ms-falls-back"),
        pytest.param({"retry-after-ms": "-5", "retry-after": "3"}, 3.0, id="negative-ms-ignored"),
        pytest.param({"retry-after": "12"}, 12.0, id="integer-seconds"),
        pytest.param({"retry-after": "0.75"}, 0.75, id="float-seconds"),
        pytest.param({"retry-after": "-3"}, 0.0, id="negative-seconds-clamped"),
        pytest.param({"retry-after": "Fri, 01 May 2026 12:00:30 GMT"}, 30.0, id="http-date"),
        pytest.param({"retry-after": "Fri, 01 May 2026 11:59:00 GMT"}, 0.0, id="past-date"),
        pytest.param({"retry-after": "soon"}, None, id="malformed"),
        pytest.param({"retry-after": ""}, None, id="empty"),
        pytest.param({}, None, id="absent"),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    """retry-after-ms wins; seconds may be a float or an HTTP date; malformed gives None."""
    result = retry_after(headers, NOW)

    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


def test_read_snapshot_reads_a_bucket_without_its_remaining_count() -> None:
    """A bucket whose limit is reported without the remaining count keeps the limit."""
    headers = {
        "anthropic-ratelimit-tokens-limit": "38000",
        "anthropic-ratelimit-tokens-reset": "2026-05-01T12:00:02Z",
    }

    snapshot = read_snapshot(headers, NOW)

    assert snapshot.bucket("tokens") == BucketState(38000, None, "2026-05-01T12:00:02Z")
