"""Reading one line of a batch's results into the outcome of that request's attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runner.errors import BatchNotProcessed, ErrorInfo, NotMessagesAPI, failure_for
from runner.http.client import AttemptOutcome
from runner.http.message import misshapen


def outcome_of(line: dict[str, Any], sent_at: datetime) -> AttemptOutcome:
    """succeeded -> the message; errored -> the typed API failure; canceled/expired -> a
    BatchNotProcessed (expired ones may be resubmitted)."""
    result = line.get("result") or {}
    kind = result.get("type")
    if kind == "succeeded":
        message = result.get("message")
        problem = misshapen(message)
        if problem is not None:  # a row saying so, as for a direct answer of that shape
            failure = NotMessagesAPI(f"The batch result is not a Messages API message: {problem}.")
            return AttemptOutcome(sent_at, error=failure)
        assert isinstance(message, dict)
        request_id = message.get("id")
        return AttemptOutcome(
            sent_at, message=message, request_id=request_id if isinstance(request_id, str) else None
        )
    if kind == "errored":
        envelope = result.get("error") or {}
        return AttemptOutcome(sent_at, error=failure_for(_info(envelope)))
    return AttemptOutcome(sent_at, error=BatchNotProcessed(str(kind or "expired")))


def _info(envelope: dict[str, Any]) -> ErrorInfo:
    error = envelope.get("error") or {}
    details = error.get("details") or {}
    return ErrorInfo(
        api_error_type=error.get("type"),
        message=str(error.get("message", "")),
        request_id=envelope.get("request_id"),
        error_code=details.get("error_code") if isinstance(details, dict) else None,
    )
