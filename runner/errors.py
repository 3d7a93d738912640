"""The typed errors beta-runner raises, and the taxonomy of request failures.

    BetaRunnerError                    anything this package raises on purpose
    ├── UsageError                     bad command-line use                     -> exit 2
    ├── ConfigError                    bad experiment or cases file (file, key) -> exit 2
    ├── RunStoreError                  a run directory cannot be used           -> exit 2
    ├── RunFailed                      an unexpected error stopped a run        -> exit 1
    ├── ThresholdsCrossed              a --fail-on threshold was crossed        -> exit 1
    ├── TargetUnusable                 the target is wrong; the run stopped     -> exit 1
    ├── ArmsFailed                     an arm has no successful request         -> exit 1
    ├── ScorersFailed                  a scorer has no score, only errors       -> exit 1
    ├── ServerIdRefused                a server id unsafe in a file name        -> exit 1
    └── RequestFailed                  one attempt of one request failed (data, never fatal)
        ├── APIStatusError             a non-2xx answer (status, type, request id, retry-after)
        │   ├── InvalidBeta            400 "Unsupported beta header"
        │   ├── RateLimited            429
        │   ├── Overloaded             529
        │   └── ServerError            other 5xx
        │   └── StreamErrorEvent       an `event: error` after a 200, classed by its type
        ├── StreamCut                  the connection closed before `message_stop`
        ├── RequestTimeout             no answer within the timeout
        ├── ConnectionFailed           the connection could not be made or broke
        ├── NotMessagesAPI             a 2xx answer that is not a Messages API response
        ├── GaveUp                     retries ended: the server asked to wait too long
        └── BatchNotProcessed          a batch request that expired or was canceled

Every failure carries one `Classification` (made here and nowhere else): `kind`, the error
taxonomy of the results table (`error_type`); `retryable`; `load` (a 429 throttles, a 529
or a mid-stream overloaded_error overloads), read by the scheduler; and `target`, the cause
when the failure shows that the target is wrong (refused connection, unknown host, TLS,
401/403/404, answers that are not the Messages API), which stops a run early.
"""

from __future__ import annotations

import dataclasses
import errno
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar


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
            f"{_what_stopped(cause)} Finished requests are saved in {run_dir}; "
            f"{_fix_first(cause)}resume it to continue (--resume {run_dir} on the command "
            f"line, resume={str(run_dir)!r} in Python)."
        )


_ROOM = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def _what_stopped(cause: BaseException) -> str:
    """A file that could not be written, named (`OSError.filename`); else the error."""
    if isinstance(cause, OSError) and cause.filename is not None:
        return f"The run stopped: {cause.filename}: {cause.strerror or cause}."
    return f"The run stopped on an unexpected error ({type(cause).__name__}: {cause})."


def _fix_first(cause: BaseException) -> str:
    if isinstance(cause, OSError) and cause.errno in _ROOM:
        return "make room (free disk space, or raise the file-size or quota limit), then "
    if isinstance(cause, OSError) and cause.filename is not None:
        return "fix what stopped it, then "
    return ""


class ThresholdsCrossed(BetaRunnerError):
    """One or more `--fail-on` thresholds were crossed; `violations` holds one line each."""

    def __init__(self, violations: tuple[str, ...]) -> None:
        self.violations = violations
        lines = "\n".join(f"  {v}" for v in violations)
        super().__init__(f"{len(violations)} --fail-on threshold(s) crossed:\n{lines}")


class TargetUnusable(BetaRunnerError):
    """The first attempts of a run all failed because the target itself is wrong (refused,
    unknown host, TLS, 401/403, 404, not a Messages API): the run stopped early."""

    def __init__(self, cause: str, base_url: str, hint: str, failures: int, said: str = "") -> None:
        self.cause = cause
        self.base_url = base_url
        self.failures = failures
        advice = f" ({hint})" if hint else ""
        server = f"; the server said {said[:200]!r}" if said else ""
        super().__init__(
            f"every request failed: {cause} at {base_url}{advice}{server}; stopped after "
            f"{failures} failed attempts."
        )


class _SomeMeasureNothing(BetaRunnerError):
    """`lines` holds one line per arm or scorer that measures nothing; `consequence` follows."""

    consequence: ClassVar[str]

    def __init__(self, lines: tuple[str, ...]) -> None:
        self.lines = lines
        super().__init__(f"{'; '.join(lines)}. {self.consequence}")


class ArmsFailed(_SomeMeasureNothing):
    """Some arm has no successful request at all; `lines` holds one line per such arm."""

    consequence = "Its results measure only failures; pass --allow-errors to accept that."


class ScorersFailed(_SomeMeasureNothing):
    """Some scorer scored nothing (every row is an error); `lines` holds one line each."""

    consequence = (
        "Its scores measure nothing; fix the scorer and rescore with "
        "beta-runner score RUN_DIR (or pass --allow-errors to accept that)."
    )


class ServerIdRefused(BetaRunnerError):
    """The server sent an id (a batch id, say) that is not safe to use in a file name."""

    def __init__(self, what: str, value: object) -> None:
        self.value = value
        super().__init__(
            f"The server sent the {what} {value!r}, which is not an id (letters, digits, '_' "
            "and '-' only); beta-runner uses ids in file names and wrote nothing for it."
        )


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


class Load(StrEnum):
    """What a failure says about the server's load, for the scheduler."""

    NORMAL = "normal"
    THROTTLED = "throttled"  # a rate limit (429): pause and cut concurrency
    OVERLOADED = "overloaded"  # overloaded (529, or an overloaded_error event mid-stream)


@dataclass(frozen=True)
class Classification:
    """How a failure is recorded (`kind`, the results' `error_type`), whether it is retried,
    what it says about load, and `target`: the cause, when it says the target itself is wrong
    (nothing sent there can succeed) rather than something about this one request."""

    kind: str
    retryable: bool = False
    load: Load = Load.NORMAL
    target: str | None = None
    hint: str = ""


class RequestFailed(BetaRunnerError):
    """One attempt failed; `classification` says how (the one place failures are classified:
    the retry policy, the scheduler and the rows all read it)."""

    classification = Classification("error")

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

    @property
    def kind(self) -> str:
        """The failure's name in the error taxonomy (the results' `error_type`)."""
        return self.classification.kind

    @property
    def retryable(self) -> bool:
        """Whether another attempt may succeed."""
        return self.classification.retryable


class APIStatusError(RequestFailed):
    """The API answered with a non-2xx status (`info.status`); classified by status."""

    def __init__(self, info: ErrorInfo, status: int | None = None) -> None:
        super().__init__(self._describe(info), info)
        self.status = status or info.status or 400
        self.classification = classify_status(self.status, info)

    def _describe(self, info: ErrorInfo) -> str:
        answered = f"answered {info.status}" if info.status else "reported"
        return f"The API {answered} {info.api_error_type}: {info.message}"


class InvalidBeta(APIStatusError):
    """The API rejected a name in the `anthropic-beta` header (400)."""


class RateLimited(APIStatusError):
    """429: a rate limit or an acceleration limit (retried), or a spend cap (not retried)."""


class Overloaded(APIStatusError):
    """529: the API is overloaded."""


class ServerError(APIStatusError):
    """A 5xx other than 529 (504 counts as a timeout)."""


class StreamErrorEvent(APIStatusError):
    """The stream sent `event: error` after a 200: classified like the status its error type
    stands for (an overloaded_error counts as a 529 everywhere); an unknown type is a
    `stream_error`, not retried."""

    def __init__(self, info: ErrorInfo) -> None:
        super().__init__(info, _STATUS_BY_TYPE.get(info.api_error_type or "", 0) or None)
        if (info.api_error_type or "") not in _STATUS_BY_TYPE:
            self.classification = Classification("stream_error")

    def _describe(self, info: ErrorInfo) -> str:
        return f"The stream sent an error event after a 200: {info.api_error_type}: {info.message}"


class StreamCut(RequestFailed):
    """The stream ended before `message_stop`."""

    classification = Classification("stream_cut", retryable=True)


class RequestTimeout(RequestFailed):
    """No complete answer within the configured timeout."""

    classification = Classification("timeout", retryable=True)


class ConnectionFailed(RequestFailed):
    """The connection could not be opened or broke before an answer; `cause` names why when
    the target cannot be reached at all (refused, no such host, TLS), which no retry mends."""

    def __init__(self, message: str, cause: str | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.classification = Classification("connection", True, target=cause, hint=hint)


class NotMessagesAPI(RequestFailed):
    """A 2xx answer that is not a Messages API response (an HTML page, say)."""

    classification = Classification(
        "not_messages_api",
        target="the answers are not Messages API responses",
        hint="the base URL should be the API server's root, e.g. https://api.anthropic.com",
    )


class GaveUp(RequestFailed):
    """The retries ended early because the server asked to wait past what the policy allows;
    recorded like the failure that asked (`last`)."""

    def __init__(self, reason: str, last: RequestFailed) -> None:
        super().__init__(f"gave up: {reason} (last answer: {last})", last.info)
        self.last = last
        self.classification = dataclasses.replace(last.classification, retryable=False)


class BatchNotProcessed(RequestFailed):
    """A Message Batches request that ended `expired` (retryable) or `canceled` (not)."""

    def __init__(self, result_type: str) -> None:
        super().__init__(
            f"The batch ended with this request {result_type}: it was not processed."
            + (" It is resubmitted while attempts remain." if result_type == "expired" else "")
        )
        self.classification = Classification(result_type, retryable=result_type == "expired")


def classify_status(status: int, info: ErrorInfo) -> Classification:
    """The classification of an API error with HTTP status `status` (or the status its
    error type stands for)."""
    if status == 429:
        if info.error_code in _SPEND_LIMIT_CODES:
            return Classification("spend_limit")
        return Classification("rate_limited", retryable=True, load=Load.THROTTLED)
    if status == 529:
        return Classification("overloaded", retryable=True, load=Load.OVERLOADED)
    if status >= 500:
        return Classification("timeout" if status == 504 else "server_error", retryable=True)
    if status == 400 and _names_beta_header(info.message):
        return Classification("invalid_beta")
    kind = _KIND_BY_STATUS.get(status, "invalid_request")
    target, hint = _TARGET_BY_STATUS.get(status, (None, ""))
    return Classification(kind, target=target, hint=hint)


_KIND_BY_STATUS = {
    400: "invalid_request",
    401: "auth",
    402: "billing",
    403: "permission",
    404: "not_found",
    405: "not_found",
    409: "conflict",
    413: "request_too_large",
    422: "invalid_request",
}

_NO_API_HERE = (
    "not found",
    "check that the base URL is the server's root, without /v1, and the model names",
)
_TARGET_BY_STATUS = {
    401: ("the API key was refused (401)", "check the variable named by [target] api_key_env"),
    403: ("the API key may not use this API (403)", "check the key's workspace and permissions"),
    404: (f"{_NO_API_HERE[0]} (404)", _NO_API_HERE[1]),
    405: (f"{_NO_API_HERE[0]} (405)", _NO_API_HERE[1]),
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
    kind = classify_status(status, info).kind  # the one decision; the class only names it
    return _CLASS_BY_KIND.get(kind, APIStatusError)(info, status)


_CLASS_BY_KIND: dict[str, type[APIStatusError]] = {
    "rate_limited": RateLimited,
    "spend_limit": RateLimited,
    "overloaded": Overloaded,
    "server_error": ServerError,
    "timeout": ServerError,  # a 504
    "invalid_beta": InvalidBeta,
}


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
