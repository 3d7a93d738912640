"""The one retry builder: a `RetryPolicy` becomes a tenacity `AsyncRetrying`.

Retried: 429 (not a spend cap), 529, other 5xx, timeouts, connection errors, cut streams and
retryable stream error events; never other 4xx. The wait honours the server's retry hint and
otherwise backs off exponentially with full jitter. A hint longer than `max_backoff_s`, or one
that would end past `deadline_s`, is not waited for: `checked_hint` turns that failure into a
`GaveUp` (not retried) whose message says what the server asked. The sleep is injected so
tests record it.

`retried` runs one request's attempts under that controller, building it only once a first
attempt has failed in a way worth retrying: a first attempt that succeeds, or fails in a way
never retried, is returned or raised exactly as the controller would, without the cost of
building and driving one (most requests). The deadline still counts from the first attempt.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from runner.clock import Sleep
from runner.config.types import RetryPolicy
from runner.errors import GaveUp, RequestFailed

T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """True for failures worth another attempt."""
    return isinstance(exc, RequestFailed) and exc.retryable


def hint_past_limits(
    policy: RetryPolicy, retry_after_s: float | None, elapsed_s: float
) -> str | None:
    """Why waiting `retry_after_s` (the server's hint) is more than the policy allows, after
    `elapsed_s` spent on the request; None when it is within `deadline_s` and `max_backoff_s`."""
    if retry_after_s is None:
        return None
    asked = f"the server asked to wait {retry_after_s:g} s"
    if policy.deadline_s is not None and elapsed_s + retry_after_s > policy.deadline_s:
        return f"{asked}, past the {policy.deadline_s:g} s deadline"
    if retry_after_s > policy.max_backoff_s:
        return f"{asked}, more than max_backoff_s ({policy.max_backoff_s:g} s)"
    return None


def checked_hint(policy: RetryPolicy, failure: RequestFailed, elapsed_s: float) -> RequestFailed:
    """`failure`, or a GaveUp (not retried) when it is retryable but its retry hint asks for a
    wait the policy does not allow: the retries end at once, saying so."""
    reason = hint_past_limits(policy, failure.info.retry_after_s, elapsed_s)
    if reason is None or not failure.retryable:
        return failure
    return GaveUp(reason, failure)


class _RetryAfterOrBackoff:
    """Wait for the server's retry hint when it gave one, else exponential backoff."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._backoff = wait_random_exponential(
            multiplier=policy.initial_backoff_s, max=policy.max_backoff_s
        )

    def __call__(self, state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, RequestFailed) and failure.info.retry_after_s is not None:
            return failure.info.retry_after_s
        return float(self._backoff(state))


def build_retrying(policy: RetryPolicy, sleep: Sleep, *, spent_s: float = 0.0) -> AsyncRetrying:
    """One request's retry controller; re-raises the last failure when it gives up. `spent_s`
    of the deadline went before the controller started."""
    stop: stop_base = stop_after_attempt(policy.max_attempts)
    if policy.deadline_s is not None:
        stop = stop | stop_after_delay(policy.deadline_s - spent_s)
    return AsyncRetrying(
        stop=stop,
        wait=_RetryAfterOrBackoff(policy),
        retry=retry_if_exception(is_retryable),
        sleep=sleep,
        reraise=True,
    )


async def retried(policy: RetryPolicy, sleep: Sleep, attempt: Callable[[], Awaitable[T]]) -> T:
    """`attempt()` until it succeeds or the policy gives up, as `build_retrying`'s controller
    does it; the controller is built only after a first failure worth retrying."""
    started = time.monotonic()  # the clock tenacity measures its deadline on
    try:
        return await attempt()
    except RequestFailed as failure:
        if not failure.retryable:
            raise
        first = failure
    replay = _FirstThen(first, attempt)
    return await build_retrying(policy, sleep, spent_s=time.monotonic() - started)(replay)


class _FirstThen(Generic[T]):
    """Raises the first attempt's failure (for the controller to count), then attempts anew."""

    def __init__(self, first: RequestFailed, attempt: Callable[[], Awaitable[T]]) -> None:
        self._first: RequestFailed | None = first
        self._attempt = attempt

    async def __call__(self) -> T:
        first, self._first = self._first, None
        if first is not None:
            raise first
        return await self._attempt()
