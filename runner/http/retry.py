"""The one retry builder: a `RetryPolicy` becomes a tenacity `AsyncRetrying`.

Retried: 429 (not a spend cap), 529, other 5xx, timeouts, connection errors, cut streams and
retryable stream error events; never other 4xx. The wait honours the server's retry hint and
otherwise backs off exponentially with full jitter. The sleep is injected so tests record it.
"""

from __future__ import annotations

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
from runner.errors import RequestFailed


def is_retryable(exc: BaseException) -> bool:
    """True for failures worth another attempt."""
    return isinstance(exc, RequestFailed) and exc.retryable


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


def build_retrying(policy: RetryPolicy, sleep: Sleep) -> AsyncRetrying:
    """One request's retry controller; re-raises the last failure when it gives up."""
    stop: stop_base = stop_after_attempt(policy.max_attempts)
    if policy.deadline_s is not None:
        stop = stop | stop_after_delay(policy.deadline_s)
    return AsyncRetrying(
        stop=stop,
        wait=_RetryAfterOrBackoff(policy),
        retry=retry_if_exception(is_retryable),
        sleep=sleep,
        reraise=True,
    )
