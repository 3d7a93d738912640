"""Rate limits: continuously refilled buckets on a fake clock, and 429s from the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from runner.emulator import EmulatorApp
from runner.emulator.errors import ApiError
from runner.emulator.ratelimit import RateLimiter, TokenBucket
from tests.emulator.support import FAST, HEADERS, body


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


def test_bucket_starts_full() -> None:
    """A new bucket holds its whole per-minute limit."""
    assert TokenBucket(60, FakeClock()).level() == 60


def test_bucket_refills_continuously() -> None:
    """A drained bucket refills at limit/60 per second, not all at once."""
    clock = FakeClock()
    bucket = TokenBucket(60, clock)
    bucket.take(60)
    clock.advance(0.5)
    assert bucket.level() == pytest.approx(0.5)
    clock.advance(10)
    assert bucket.level() == pytest.approx(10.5)


def test_bucket_never_exceeds_capacity() -> None:
    """Refill stops at the limit."""
    clock = FakeClock()
    bucket = TokenBucket(60, clock)
    clock.advance(3600)
    assert bucket.level() == 60


def test_bucket_wait_for() -> None:
    """wait_for is the seconds until the bucket can cover an amount."""
    clock = FakeClock()
    bucket = TokenBucket(120, clock)
    bucket.take(120)
    assert bucket.wait_for(10) == pytest.approx(5.0)
    assert bucket.wait_for(500) == pytest.approx(60.0)


def test_unlimited_bucket_never_waits() -> None:
    """A limit of 0 is unlimited."""
    bucket = TokenBucket(0, FakeClock())
    bucket.take(10**9)
    assert bucket.wait_for(10**9) == 0.0


def test_limiter_rejects_without_charging() -> None:
    """A request that fails one bucket is charged nothing, and the 429 names the limit."""
    clock = FakeClock()
    limiter = RateLimiter(10, 100, 1000, "realtime", clock)
    limiter.admit("k", "sonnet-4", 80, 10)
    with pytest.raises(ApiError, match="100 input tokens per minute") as caught:
        limiter.admit("k", "sonnet-4", 50, 10)
    assert dict(caught.value.headers)["retry-after"] == "18"
    assert limiter.buckets("k", "sonnet-4").requests.level() == 9


def test_limiter_headers_round_tokens() -> None:
    """Token remaining headers round to the nearest thousand; requests stay exact."""
    limiter = RateLimiter(50, 30_000, 8_000, "realtime", FakeClock())
    limiter.admit("k", "c", 1_400, 10)
    headers = dict(limiter.headers("k", "c", datetime(2026, 11, 1, tzinfo=UTC)))
    assert headers["anthropic-ratelimit-requests-remaining"] == "49"
    assert headers["anthropic-ratelimit-input-tokens-remaining"] == "29000"
    assert headers["anthropic-ratelimit-tokens-limit"] == "38000"
    assert headers["anthropic-ratelimit-requests-reset"] == "2026-11-01T00:00:02Z"


@pytest.fixture
def clock() -> FakeClock:
    """The fake clock the app runs on."""
    return FakeClock()


async def client_for(app: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for an app."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://e", headers=HEADERS
    ) as client:
        yield client


@pytest.mark.anyio
async def test_rpm_limit_gives_429_with_retry_after(clock: FakeClock) -> None:
    """Past the RPM limit the app answers 429 with retry-after until one request refills."""
    app = EmulatorApp(replace(FAST, rpm=2), clock=clock)
    async for client in client_for(app):
        statuses = [(await client.post("/v1/messages", json=body())).status_code for _ in range(2)]
        limited = await client.post("/v1/messages", json=body())
        clock.advance(30)
        after = await client.post("/v1/messages", json=body())
    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert "2 requests per minute" in limited.json()["error"]["message"]
    assert limited.headers["retry-after"] == "30"
    assert after.status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("mode", "second"), [("realtime", 200), ("max_tokens", 429)], ids=["2026", "2025"]
)
async def test_otpm_modes(clock: FakeClock, mode: str, second: int) -> None:
    """max_tokens mode reserves max_tokens up front; realtime charges only what is produced."""
    app = EmulatorApp(replace(FAST, otpm=1000, otpm_mode=mode), clock=clock)  # type: ignore[arg-type]
    async for client in client_for(app):
        first = await client.post("/v1/messages", json=body(max_tokens=1000))
        again = await client.post("/v1/messages", json=body(max_tokens=1000))
    assert first.status_code == 200
    assert again.status_code == second


@pytest.mark.anyio
async def test_keys_have_separate_buckets(clock: FakeClock) -> None:
    """Buckets are per API key: another key is not limited by the first one's use."""
    app = EmulatorApp(replace(FAST, rpm=1), clock=clock)
    async for client in client_for(app):
        await client.post("/v1/messages", json=body())
        limited = await client.post("/v1/messages", json=body())
        other = await client.post("/v1/messages", json=body(), headers={"x-api-key": "other"})
    assert (limited.status_code, other.status_code) == (429, 200)


@pytest.mark.anyio
async def test_burst_window_answers_429(clock: FakeClock) -> None:
    """Inside the configured burst window every request is a 429 until the window ends."""
    app = EmulatorApp(replace(FAST, rate_limit_burst=(10.0, 5.0)), clock=clock)
    async for client in client_for(app):
        before = await client.post("/v1/messages", json=body())
        clock.advance(11)
        during = await client.post("/v1/messages", json=body())
        clock.advance(5)
        after = await client.post("/v1/messages", json=body())
    assert (before.status_code, during.status_code, after.status_code) == (200, 429, 200)
    assert during.headers["retry-after"] == "4"
