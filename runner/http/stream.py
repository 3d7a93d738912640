"""Folding a Messages API event stream into the final message.

Events follow the documented order (message_start, content blocks, message_delta, message_stop);
unknown event names are ignored, as clients must. Usage in `message_delta` is cumulative.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from json.scanner import make_scanner
from typing import Any

from runner.errors import ErrorInfo, NotMessagesAPI, StreamErrorEvent


class MessageAccumulator:
    """Builds the message dict from events; `complete` turns true at `message_stop`."""

    def __init__(self) -> None:
        self.message: dict[str, Any] = {}
        self.complete = False
        self._blocks: list[dict[str, Any]] = []
        self._chunks: dict[int, list[str]] = {}
        self._open: dict[str, list[str]] = {}  # `_chunks` lists by the index as written

    def feed(self, event: str, data: str) -> bool:
        """Apply one event; returns True when it carried content (a content delta)."""
        return self.feed_events(((event, data),))

    def feed_events(self, events: Iterable[tuple[str, str]]) -> bool:
        """Apply `(event, data)` pairs in order (one network chunk's, in one call); True when
        any carried content."""
        carried = False
        for event, data in events:
            # The usual content event, folded without decoding JSON (`_PLAIN_TEXT_DELTA`).
            plain = _PLAIN_TEXT_DELTA(data) if event == "content_block_delta" else None
            if plain is not None:
                index, text = plain.groups()
                (self._open.get(index) or self._text_chunks(index)).append(text)
                carried = True
                continue
            handler = _HANDLERS.get(event)
            if handler is None:
                continue
            payload = _decoded(data) if data else {}
            if not isinstance(payload, dict):
                raise NotMessagesAPI(f"The stream's {event} event holds no JSON object.")
            try:
                carried = handler(self, payload) or carried
            except (TypeError, AttributeError, ValueError, LookupError) as exc:  # hostile
                raise NotMessagesAPI(
                    f"The stream's {event} event is not shaped as the Messages API's "
                    f"({type(exc).__name__}: {exc})."
                ) from None
        return carried

    @property
    def started(self) -> bool:
        """True once a message_start event arrived."""
        return bool(self.message)

    def result(self) -> dict[str, Any]:
        """The message as a non-streaming response would have returned it."""
        return {**self.message, "content": self._blocks}

    def _text_chunks(self, index: str) -> list[str]:
        chunks = self._chunks.get(int(index))
        if chunks is None:
            chunks = self._chunks[int(index)] = []
        self._open[index] = chunks
        return chunks

    def _start(self, payload: dict[str, Any]) -> bool:
        self.message = dict(payload.get("message") or {})
        return False

    def _block_start(self, payload: dict[str, Any]) -> bool:
        index = int(payload.get("index", len(self._blocks)))
        if not 0 <= index <= len(self._blocks):  # blocks open in order, from 0
            raise IndexError(f"block {index} opened after {len(self._blocks)} blocks")
        block = dict(payload.get("content_block") or {})
        if index == len(self._blocks):
            self._blocks.append(block)
        else:
            self._blocks[index] = block
        return False

    def _block_delta(self, payload: dict[str, Any]) -> bool:
        index = int(payload.get("index", 0))
        delta = payload.get("delta") or {}
        kind = str(delta.get("type"))
        field = _DELTA_FIELDS.get(kind)
        if field is not None:
            chunks = self._chunks.get(index)
            if chunks is None:
                chunks = self._chunks[index] = []
            chunks.append(str(delta.get(field, "")))
        elif kind == "signature_delta" and index < len(self._blocks):
            self._blocks[index]["signature"] = delta.get("signature", "")
        elif kind == "citations_delta" and index < len(self._blocks):
            self._blocks[index].setdefault("citations", []).append(delta.get("citation"))
        elif kind == "compaction_delta" and index < len(self._blocks):  # the whole summary
            self._blocks[index].update({k: v for k, v in delta.items() if k != "type"})
        return True

    def _block_stop(self, payload: dict[str, Any]) -> bool:
        index = int(payload.get("index", 0))
        if index >= len(self._blocks):
            return False
        self._open.clear()  # a list popped here must not be appended to again
        _close_block(self._blocks[index], "".join(self._chunks.pop(index, [])))
        return False

    def _delta(self, payload: dict[str, Any]) -> bool:
        self.message.update(payload.get("delta") or {})
        # Beta fields (context_management, ...) may ride at the event's top level.
        self.message.update({k: v for k, v in payload.items() if k not in _DELTA_ENVELOPE})
        usage = payload.get("usage")
        if usage:
            self.message["usage"] = {**(self.message.get("usage") or {}), **usage}
        return False

    def _stop(self, payload: dict[str, Any]) -> bool:
        self.complete = True
        return False

    def _error(self, payload: dict[str, Any]) -> bool:
        error = payload.get("error") or {}
        info = ErrorInfo(
            status=200,
            api_error_type=error.get("type"),
            message=str(error.get("message", "")),
            request_id=payload.get("request_id"),
        )
        raise StreamErrorEvent(info)


# The decoder's scanner (C), called directly: `raw_decode` adds a Python frame and a
# whitespace match around this same call for every event. (typeshed types the argument as a
# scanner; it is the decoder, as json's own code passes it.)
_DECODER: Any = json.JSONDecoder()
_scan: Callable[[str, int], tuple[Any, int]] = make_scanner(_DECODER)


def _decoded(data: str) -> Any:
    """`json.loads(data)`, without its wrappers' cost in the usual case (one value, nothing
    around it); anything else goes to `json.loads`, which decodes it or raises its error."""
    try:
        value, end = _scan(data, 0)
    except (StopIteration, ValueError):
        return json.loads(data)
    return value if end == len(data) else json.loads(data)


# A text delta in the API's own compact form whose text has no escape: a JSON string holds
# no raw quote, backslash or control character, so without escapes its characters are its
# value; the index is a JSON integer (no sign, no leading zero). Any other data: json.loads.
_PLAIN_TEXT_DELTA = re.compile(
    r'\{"type":"content_block_delta","index":(0|[1-9][0-9]*),'
    r'"delta":\{"type":"text_delta","text":"([^"\\\x00-\x1f]*)"\}\}'
).fullmatch

_DELTA_ENVELOPE = frozenset({"type", "delta", "usage"})

_DELTA_FIELDS = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "input_json_delta": "partial_json",
}


def _close_block(block: dict[str, Any], joined: str) -> None:
    kind = block.get("type")
    if kind == "text":
        block["text"] = block.get("text", "") + joined
    elif kind == "thinking":
        block["thinking"] = block.get("thinking", "") + joined
    elif joined and "input" in block:
        block["input"] = json.loads(joined)


_HANDLERS = {
    "message_start": MessageAccumulator._start,
    "content_block_start": MessageAccumulator._block_start,
    "content_block_delta": MessageAccumulator._block_delta,
    "content_block_stop": MessageAccumulator._block_stop,
    "message_delta": MessageAccumulator._delta,
    "message_stop": MessageAccumulator._stop,
    "error": MessageAccumulator._error,
}
