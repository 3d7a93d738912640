"""Run events on stderr: warnings for people, or one JSON object per line for machines.

With `--log-format json` every event is a line `{"ts", "level", "event", ...}`: warnings, the
start and end of a run, each request that ended in error, each threshold crossed. Every string
is scrubbed of the secrets the log is given (the API key, any 8 characters of it, anything
shaped like a key: `runner.redact`), so a key echoed back in an error message never reaches a
log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console
from rich.text import Text

from runner.clock import utc_now
from runner.config.types import JSONValue
from runner.redact import Redactor
from runner.results.schema import STATUS_OK, ResultRow

TEXT = "text"
JSON = "json"
FORMATS = (TEXT, JSON)


class EventLog:
    """Writes events to a stream in the chosen format; a `ResultObserver` for request errors."""

    def __init__(self, log_format: str, stream: TextIO, secrets: Sequence[str | None] = ()) -> None:
        self._json = log_format == JSON
        self._stream = stream
        self._console = Console(file=stream, highlight=False)
        self._redactor = Redactor(secrets)

    @property
    def is_json(self) -> bool:
        """Whether events are JSON Lines (then nothing else may be written to the stream)."""
        return self._json

    def info(self, message: str, name: str = "notice") -> None:
        """A notice for people: a plain line as text, an event called `name` as JSON."""
        if self._json:
            self.event(name, {"message": message})
        else:
            self._console.print(Text(self._scrub(message)), soft_wrap=True)  # one line each

    def warning(self, message: str) -> None:
        """A warning: a yellow line as text, a `warning` event as JSON."""
        if self._json:
            self.event("warning", {"message": message}, level="warning")
        else:
            line = Text.assemble(("warning:", "yellow"), " ", self._scrub(message))
            self._console.print(line, soft_wrap=True)

    def event(self, name: str, fields: dict[str, JSONValue], level: str = "info") -> None:
        """One machine-readable event (nothing in text format)."""
        if not self._json:
            return
        record: dict[str, JSONValue] = {"ts": utc_now().isoformat(), "level": level}
        record["event"] = name
        record.update(fields)
        self._stream.write(self._scrub(json.dumps(record, default=str)) + "\n")
        self._stream.flush()

    def result(self, row: ResultRow) -> None:
        """A finished request: an `request_error` event when it ended in error."""
        if row.status == STATUS_OK:
            return
        fields: dict[str, JSONValue] = {
            "request_key": row.request_key,
            "case_id": row.case_id,
            "model": row.model,
            "arm": row.arm,
            "error_type": row.error_type,
            "http_status": row.http_status,
            "attempts": row.attempts,
            "message": row.error_message,
            "api_request_id": row.api_request_id,
        }
        self.event("request_error", fields, level="error")

    def _scrub(self, text: str) -> str:
        return self._redactor.scrub(text)
