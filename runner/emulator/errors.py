"""API errors as the emulator answers them: status, error type, message, extra headers.

Every handler raises `ApiError`; the app turns it into the documented envelope
`{"type": "error", "error": {"type": ..., "message": ...}, "request_id": "req_..."}`.
"""

from __future__ import annotations

import hashlib
import os
import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def new_id(prefix: str, length: int = 24) -> str:
    """A random id like the API's: `prefix` then `length` base62 characters, from one
    `os.urandom` call (8 random bits per character leaves no visible bias in base 62)."""
    return prefix + _base62(int.from_bytes(os.urandom(length), "big"), length)


def stable_id(prefix: str, key: str, length: int = 24) -> str:
    """An id like `new_id`'s, but the same every time for the same `key`."""
    return prefix + _base62(int.from_bytes(hashlib.sha256(key.encode()).digest(), "big"), length)


def _base62(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)


class ApiError(Exception):
    """An error response: HTTP status, `error.type`, message and any extra headers."""

    def __init__(
        self, status: int, error_type: str, message: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = headers

    def body(self, request_id: str) -> dict[str, object]:
        """The JSON error envelope."""
        error = {"type": self.error_type, "message": self.message}
        return {"type": "error", "error": error, "request_id": request_id}


def invalid_request(message: str) -> ApiError:
    """400 invalid_request_error."""
    return ApiError(400, "invalid_request_error", message)


def not_found(message: str = "The requested resource could not be found.") -> ApiError:
    """404 not_found_error."""
    return ApiError(404, "not_found_error", message)


def authentication(message: str) -> ApiError:
    """401 authentication_error."""
    return ApiError(401, "authentication_error", message)


def rate_limited(message: str, retry_after_s: int) -> ApiError:
    """429 rate_limit_error with `retry-after` in whole seconds."""
    return ApiError(429, "rate_limit_error", message, (("retry-after", str(retry_after_s)),))


def overloaded() -> ApiError:
    """529 overloaded_error, marked retryable."""
    return ApiError(529, "overloaded_error", "Overloaded", (("x-should-retry", "true"),))


def server_error() -> ApiError:
    """500 api_error, marked retryable."""
    return ApiError(500, "api_error", "Internal server error", (("x-should-retry", "true"),))


def too_large(limit_bytes: int) -> ApiError:
    """413 request_too_large."""
    return ApiError(
        413, "request_too_large", f"Request exceeds the maximum size of {limit_bytes} bytes."
    )
