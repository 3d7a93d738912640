"""The one retry builder: what is retried, how long it waits, when it gives up; the same
whether the controller runs every attempt or `retried` builds it after a first failure."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from runner.config.types import RetryPolicy
from runner.errors import (
    APIStatusError,
    ConnectionFailed,
    ErrorInfo,
    GaveUp,
    InvalidBeta,
    Overloaded,
    RateLimited,
    RequestTimeout,
    ServerError,
    StreamCut,
    StreamErrorEvent,
)
from runner.http.retry import build_retrying, checked_hint, retried
from runner.http.stream import MessageAccumulator


class RecordingSleep:
    """An injected sleep that records each wait instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class ScriptedAttempts:
    """An attempt function that raises the scripted failures in turn, then answers "ok"."""

    def __init__(self, *failures: BaseException) -> None:
        self._failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self._failures:
            raise self._failures.pop(0)
        return "ok"


def _stream_error(error_type: str) -> StreamErrorEvent:
    data = json.dumps({"type": "error", "error": {"type": error_type, "message": "x"}})
    try:
        MessageAccumulator().feed("error", data)
    except StreamErrorEvent as exc:
        return exc
    raise AssertionError("the error event did not raise")


def _status(
    status: int,
    error_type: str,
    *,
    retry_after_s: float | None = None,
    error_code: str | None = None,
) -> ErrorInfo:
    return ErrorInfo(status, error_type, "m", retry_after_s=retry_after_s, error_code=error_code)


POLICY = RetryPolicy(max_attempts=4, initial_backoff_s=0.5, max_backoff_s=30.0)

Retry = Callable[[RetryPolicy, RecordingSleep, ScriptedAttempts], Awaitable[Any]]


async def _controller(
    policy: RetryPolicy, sleep: RecordingSleep, attempts: ScriptedAttempts
) -> Any:
    return await build_retrying(policy, sleep)(attempts)


@pytest.fixture(params=[_controller, retried], ids=["controller", "retried"])
def retry(request: pytest.FixtureRequest) -> Retry:
    """Each behaviour holds for the controller alone and for `retried`."""
    chosen: Retry = request.param
    return chosen


@pytest.mark.anyio
@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(RateLimited(_status(429, "rate_limit_error")), id="429"),
        pytest.param(
            RateLimited(_status(429, "rate_limit_error", error_code="ramp_limit_exceeded")),
            id="429-acceleration",
        ),
        pytest.param(Overloaded(_status(529, "overloaded_error")), id="529"),
        pytest.param(ServerError(_status(500, "api_error")), id="500"),
        pytest.param(ServerError(_status(504, "timeout_error")), id="504"),
        pytest.param(StreamCut("cut"), id="stream-cut"),
        pytest.param(ConnectionFailed("refused"), id="connection"),
        pytest.param(RequestTimeout("slow"), id="timeout"),
        pytest.param(_stream_error("overloaded_error"), id="stream-error-overloaded"),
    ],
)
async def test_retries_transient_failures(failure: Exception, retry: Retry) -> None:
    """A transient failure is retried once and the second attempt's answer is returned."""
    sleep = RecordingSleep()
    attempts = ScriptedAttempts(failure)

    result: str = await retry(POLICY, sleep, attempts)

    assert result == "ok"
    assert attempts.calls == 2
    assert len(sleep.waits) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(
            InvalidBeta(_status(400, "invalid_request_error")),
            id="invalid-beta",
        ),
        pytest.param(APIStatusError(_status(400, "invalid_request_error")), id="400"),
        pytest.param(APIStatusError(_status(401, "authentication_error")), id="401"),
        pytest.param(APIStatusError(_status(404, "not_found_error")), id="404"),
        pytest.param(
            RateLimited(
                _status(429, "rate_limit_error", error_code="enforced_spend_limit_reached")
            ),
            id="429-spend-limit",
        ),
        pytest.param(_stream_error("invalid_request_error"), id="stream-error-invalid"),
        pytest.param(ValueError("a bug, not a request failure"), id="foreign-exception"),
    ],
)
async def test_never_retries_permanent_failures(failure: Exception, retry: Retry) -> None:
    """A permanent failure is raised at once, after one attempt and no wait."""
    sleep = RecordingSleep()
    attempts = ScriptedAttempts(failure)

    with pytest.raises(type(failure)) as raised:
        await retry(POLICY, sleep, attempts)

    assert raised.value is failure
    assert attempts.calls == 1
    assert sleep.waits == []


@pytest.mark.anyio
async def test_waits_for_the_servers_retry_hint(retry: Retry) -> None:
    """When a failure carries retry_after_s, the wait is exactly that many seconds."""
    sleep = RecordingSleep()
    attempts = ScriptedAttempts(
        RateLimited(_status(429, "rate_limit_error", retry_after_s=7.5)),
        Overloaded(_status(529, "overloaded_error", retry_after_s=45.0)),
        ServerError(_status(500, "api_error", retry_after_s=0.0)),
    )

    await retry(POLICY, sleep, attempts)

    assert sleep.waits == [7.5, 45.0, 0.0]


@pytest.mark.anyio
async def test_backoff_is_exponential_and_bounded(retry: Retry) -> None:
    """Without a hint, each wait lies within the exponential bound, capped at max_backoff_s."""
    policy = RetryPolicy(max_attempts=9, initial_backoff_s=1.0, max_backoff_s=4.0)
    sleep = RecordingSleep()
    attempts = ScriptedAttempts(*(ServerError(_status(500, "api_error")) for _ in range(8)))

    await retry(policy, sleep, attempts)

    bounds = [min(4.0, 1.0 * 2**n) for n in range(8)]
    assert len(sleep.waits) == 8
    assert all(0.0 <= wait <= bound for wait, bound in zip(sleep.waits, bounds, strict=True))


@pytest.mark.anyio
@pytest.mark.parametrize("max_attempts", [1, 2, 5], ids=["one", "two", "five"])
async def test_stops_after_max_attempts_and_reraises_the_last(
    max_attempts: int, retry: Retry
) -> None:
    """After max_attempts failures the last failure itself is raised."""
    failures = [StreamCut(f"cut {n}") for n in range(max_attempts + 3)]
    sleep = RecordingSleep()
    attempts = ScriptedAttempts(*failures)

    with pytest.raises(StreamCut) as raised:
        await retry(RetryPolicy(max_attempts=max_attempts), sleep, attempts)

    assert raised.value is failures[max_attempts - 1]
    assert attempts.calls == max_attempts
    assert len(sleep.waits) == max_attempts - 1


@pytest.mark.anyio
async def test_zero_deadline_stops_after_the_first_attempt(retry: Retry) -> None:
    """A deadline that has already passed stops retrying even with attempts left."""
    sleep = RecordingSleep()
    attempts = ScriptedAttempts(Overloaded(_status(529, "overloaded_error")))

    with pytest.raises(Overloaded):
        await retry(RetryPolicy(max_attempts=5, deadline_s=0.0), sleep, attempts)

    assert attempts.calls == 1
    assert sleep.waits == []


@pytest.mark.anyio
async def test_each_call_starts_a_fresh_controller() -> None:
    """Two requests built from the same policy each get their full number of attempts."""
    policy = RetryPolicy(max_attempts=2)
    sleep = RecordingSleep()
    first = ScriptedAttempts(StreamCut("a"))
    second = ScriptedAttempts(StreamCut("b"))

    assert await build_retrying(policy, sleep)(first) == "ok"
    assert await build_retrying(policy, sleep)(second) == "ok"
    assert (first.calls, second.calls) == (2, 2)


@pytest.mark.parametrize(
    ("policy", "retry_after_s", "elapsed_s", "reason"),
    [
        pytest.param(RetryPolicy(deadline_s=60.0), 3600.0, 0.0,
                     "the server asked to wait 3600 s, past the 60 s deadline", id="deadline"),
        pytest.param(RetryPolicy(deadline_s=60.0), 20.0, 50.0,
                     "the server asked to wait 20 s, past the 60 s deadline", id="deadline-late"),
        pytest.param(RetryPolicy(max_backoff_s=30.0), 31.0, 0.0,
                     "the server asked to wait 31 s, more than max_backoff_s (30 s)",
                     id="max-backoff"),
        pytest.param(RetryPolicy(deadline_s=60.0), 5.0, 0.0, None, id="within"),
    ],
)  # fmt: skip
def test_a_retry_hint_past_the_policy_gives_up_at_once(
    policy: RetryPolicy, retry_after_s: float, elapsed_s: float, reason: str | None
) -> None:
    """A 429 asking to wait longer than the policy allows becomes GaveUp: not retried, its
    message says what the server asked, its kind stays rate_limited."""
    failure = RateLimited(_status(429, "rate_limit_error", retry_after_s=retry_after_s))
    checked = checked_hint(policy, failure, elapsed_s)
    if reason is None:
        assert checked is failure
        return
    assert isinstance(checked, GaveUp)
    assert str(checked).startswith(f"gave up: {reason} (last answer: The API answered 429")
    assert (checked.kind, checked.retryable) == ("rate_limited", False)


@pytest.mark.anyio
async def test_a_deadline_spent_before_the_controller_stops_at_the_next_failure() -> None:
    """Deadline time spent before the controller started (the first attempt) counts."""
    sleep = RecordingSleep()
    attempts = ScriptedAttempts(StreamCut("cut"))
    policy = RetryPolicy(max_attempts=5, deadline_s=30.0)

    with pytest.raises(StreamCut):
        await build_retrying(policy, sleep, spent_s=30.0)(attempts)

    assert attempts.calls == 1
    assert sleep.waits == []


@pytest.mark.anyio
async def test_a_first_success_waits_for_nothing(retry: Retry) -> None:
    """An attempt that succeeds at once is returned after one call and no wait."""
    sleep = RecordingSleep()
    attempts = ScriptedAttempts()

    assert await retry(POLICY, sleep, attempts) == "ok"
    assert (attempts.calls, sleep.waits) == (1, [])
