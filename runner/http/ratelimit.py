"""Reading the rate-limit and retry headers an API response carries.

`anthropic-ratelimit-*` headers report limit, remaining and reset (RFC 3339) per bucket;
`retry-after-ms` (float milliseconds) wins over `retry-after` (seconds, or an HTTP date).
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

BUCKETS = ("requests", "tokens", "input_tokens", "output_tokens")


class BucketState(NamedTuple):
    """One bucket as the server reported it (a named tuple: a response builds four, and a
    frozen dataclass cost three times as much to build)."""

    limit: int | None
    remaining: int | None
    reset: str | None


@dataclass(frozen=True, slots=True)
class RateLimitSnapshot:
    """Every bucket the response reported, plus the server's retry hint."""

    buckets: Mapping[str, BucketState]
    retry_after_s: float | None

    def bucket(self, name: str) -> BucketState:
        """The named bucket, or an empty state when the response did not report it."""
        return self.buckets.get(name, _EMPTY)

    @property
    def reported(self) -> bool:
        """True when any rate-limit header was present."""
        return bool(self.buckets)


_EMPTY = BucketState(None, None, None)


def read_snapshot(headers: Mapping[str, str], now: datetime) -> RateLimitSnapshot:
    """Parse the rate-limit headers; malformed values become None rather than errors."""
    buckets: dict[str, BucketState] = {}
    get = headers.get
    for name, limit_header, remaining_header, reset_header in _HEADERS:
        limit = get(limit_header)
        if limit is not None:
            buckets[name] = _bucket(limit, get(remaining_header), get(reset_header))
    hinted = "retry-after-ms" in headers or "retry-after" in headers
    return RateLimitSnapshot(buckets, retry_after(headers, now) if hinted else None)


def _bucket(limit: str, remaining: str | None, reset: str | None) -> BucketState:
    try:  # both numbers well formed, as the API sends them: one call instead of three
        return _new_bucket(BucketState, (int(limit), int(remaining), reset))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return BucketState(_to_int(limit), _to_int(remaining), reset)


_new_bucket = tuple.__new__  # NamedTuple's own `__new__` is a Python function around it


def _header_names(name: str) -> tuple[str, str, str, str]:
    prefix = f"anthropic-ratelimit-{name.replace('_', '-')}-"
    return name, prefix + "limit", prefix + "remaining", prefix + "reset"


_HEADERS = tuple(map(_header_names, BUCKETS))  # spelled once, not per response


def retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds the server asks us to wait, or None when it gave no usable hint."""
    milliseconds = _to_float(headers.get("retry-after-ms"))
    if milliseconds is not None and milliseconds >= 0:
        return milliseconds / 1000
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _to_float(raw)
    if seconds is not None:
        return max(0.0, seconds)
    return _seconds_until_http_date(raw, now)


def _seconds_until_http_date(raw: str, now: datetime) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def _to_int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _to_float(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None
