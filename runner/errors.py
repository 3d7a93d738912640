"""The typed errors beta-runner raises, and the taxonomy of request failures.

    BetaRunnerError                    anything this package raises on purpose
    ├── UsageError                     bad command-line use                     -> exit 2
    ├── ConfigError                    bad experiment or cases file (file, key) -> exit 2
    ├── RunStoreError                  a run directory cannot be used           -> exit 2
    ├── RunFailed                      an unexpected error stopped a run        -> exit 1
    ├── ThresholdsCrossed              a --fail-on threshold was crossed        -> exit 1
    └── RequestFailed                  one attempt of one request failed (data, never fatal)
        ├── APIStatusError             a non-2xx answer (status, type, request id, retry-after)
        │   ├── InvalidBeta            400 "Unsupported beta header"
        │   ├── RateLimited            429
        │   ├── Overloaded             529
        │   └── ServerError            other 5xx
        ├── StreamErrorEvent           an `event: error` after a 200
        ├── StreamCut                  the connection closed before `message_stop`
        ├── RequestTimeout             no answer within the timeout
        └── ConnectionFailed           the connection could not be made or broke

`RequestFailed.kind` is the error taxonomy used in the results table (`error_type`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class BetaRunnerError(Exception):
    """Base of every error beta-runner raises on purpose."""


class UsageError(BetaRunnerError):
    """The command line asks for something that cannot be done."""


class RunStoreError(BetaRunnerError):
    """A run directory is missing, unreadable or does not match the experiment."""


class RunFailed(BetaRunnerError):
    """An unexpected error stopped a run; what finished is saved and the manifest says failed."""

    def __init__(self, run_dir: Path, cause: BaseException) -> None:
        self.run_dir = run_dir
        self.cause = cause
        super().__init__(
            f"The run stopped on an unexpected error ({type(cause).__name__}: {cause}). "
            f"Finished requests are saved in {run_dir}; continue with --resume {run_dir}."
        )


class ThresholdsCrossed(BetaRunnerError):
    """One or more `--fail-on` thresholds were crossed; `violations` holds one line each."""

    def __init__(self, violations: tuple[str, ...]) -> None:
        self.violations = violations
        lines = "\n".join(f"  {v}" for v in violations)
        super().__init__(f"{len(violations)} --fail-on threshold(s) crossed:\n{lines}")


class ConfigError(BetaRunnerError):
    """An experiment or cases file is malformed; names the file and the key path or line."""

    def __init__(self, path: Path | str, where: str, problem: str) -> None:
        self.path = Path(path)
        self.where = where
        self.problem = problem
        location = f"{self.path}: {where}" if where else str(self.path)
        super().__init__(f"{location}: {problem}")


@dataclass(frozen=True)
class ErrorInfo:
    """What the server said about a failed request, as data."""

    status: int | None = None
    api_error_type: str | None = None
    message: str = ""
    request_id: str | None = None
    retry_after_s: float | None = None
    error_code: str | None = None


class RequestFailed(BetaRunnerError):
    """One attempt failed; `kind` names the failure in the error taxonomy."""

    kind = "error"
    retryable = False

    def __init__(self, message: str, info: ErrorInfo | None = None) -> None:
        super().__init__(message)
        self.info = info or ErrorInfo(message=message)

    def scrubbed(self, scrub: Callable[[str], str]) -> RequestFailed:
        """A copy of this failure with its message and the server's passed through `scrub`
        (the API key removed before anything stores or prints them)."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.args = (scrub(str(self)),)
        request_id = self.info.request_id
        clone.info = dataclasses.replace(
            self.info,
            message=scrub(self.info.message),
            request_id=scrub(request_id) if request_id is not None else None,
        )
        return clone


class APIStatusError(RequestFailed):
    """The API answered with a non-2xx status; subclasses refine `kind` and `retryable`."""

    def __init__(self, info: ErrorInfo) -> None:
        answered = f"answered {info.status}" if info.status else "reported"
        super().__init__(f"The API {answered} {info.api_error_type}: {info.message}", info)
        self.kind = self._kind(info)
        self.retryable = self._retryable(info)

    def _kind(self, info: ErrorInfo) -> str:
        return _KIND_BY_STATUS.get(info.status or 0, "invalid_request")

    def _retryable(self, info: ErrorInfo) -> bool:
        return False


class InvalidBeta(APIStatusError):
    """The API rejected a name in the `anthropic-beta` header."""

    def _kind(self, info: ErrorInfo) -> str:
        return "invalid_beta"


class RateLimited(APIStatusError):
    """429: a rate limit or an acceleration limit (retried), or a spend cap (not retried)."""

    def _kind(self, info: ErrorInfo) -> str:
        return "spend_limit" if info.error_code in _SPEND_LIMIT_CODES else "rate_limited"

    def _retryable(self, info: ErrorInfo) -> bool:
        return info.error_code not in _SPEND_LIMIT_CODES


class Overloaded(APIStatusError):
    """529: the API is overloaded."""

    def _kind(self, info: ErrorInfo) -> str:
        return "overloaded"

    def _retryable(self, info: ErrorInfo) -> bool:
        return True


class ServerError(APIStatusError):
    """A 5xx other than 529 (504 counts as a timeout)."""

    def _kind(self, info: ErrorInfo) -> str:
        return "timeout" if info.status == 504 else "server_error"

    def _retryable(self, info: ErrorInfo) -> bool:
        return True


class StreamErrorEvent(RequestFailed):
    """The stream sent `event: error` after a 200; retried like the status it names."""

    kind = "stream_error"
    retryable = True


class StreamCut(RequestFailed):
    """The stream ended before `message_stop`."""

    kind = "stream_cut"
    retryable = True


class RequestTimeout(RequestFailed):
    """No complete answer within the configured timeout."""

    kind = "timeout"
    retryable = True


class ConnectionFailed(RequestFailed):
    """The connection could not be opened or broke before an answer."""

    kind = "connection"
    retryable = True


_KIND_BY_STATUS = {
    400: "invalid_request",
    401: "auth",
    402: "billing",
    403: "permission",
    404: "not_found",
    409: "conflict",
    413: "request_too_large",
    422: "invalid_request",
}

_SPEND_LIMIT_CODES = frozenset(
    {
        "enforced_spend_limit_reached",
        "contract_spend_limit_reached",
        "linked_organization_spend_limit_reached",
    }
)


def failure_for(info: ErrorInfo) -> APIStatusError:
    """The typed failure for an API error: chosen by status, and by the error's `type` when
    there is no status (an errored Message Batches result)."""
    status = info.status or _STATUS_BY_TYPE.get(info.api_error_type or "", 400)
    if status == 429:
        return RateLimited(info)
    if status == 529:
        return Overloaded(info)
    if status >= 500:
        return ServerError(info)
    if status == 400 and _names_beta_header(info.message):
        return InvalidBeta(info)
    return APIStatusError(info)


_STATUS_BY_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def _names_beta_header(message: str) -> bool:
    # The API has no structured field for a rejected beta; its 400 message is the only signal
    # (documented "Unsupported beta header: NAME", and gateways' "... `anthropic-beta` header").
    return message.startswith("Unsupported beta header") or "anthropic-beta" in message


class BatchNotProcessed(RequestFailed):
    """A Message Batches request that ended `expired` (retryable) or `canceled` (not)."""

    def __init__(self, result_type: str) -> None:
        super().__init__(
            f"The batch ended with this request {result_type}: it was not processed."
            + (" It is resubmitted while attempts remain." if result_type == "expired" else "")
        )
        self.kind = result_type
        self.retryable = result_type == "expired"
