"""MessageAccumulator folds a Messages API event stream into the final message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runner.errors import Load, StreamErrorEvent
from runner.http.sse import EventSplitter
from runner.http.stream import MessageAccumulator

START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-test",
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 1},
    },
}


def _event(name: str, **data: Any) -> tuple[str, str]:
    return name, json.dumps({"type": name, **data})


def _block_start(index: int, block: dict[str, Any]) -> tuple[str, str]:
    return _event("content_block_start", index=index, content_block=block)


def _delta(index: int, delta: dict[str, Any]) -> tuple[str, str]:
    return _event("content_block_delta", index=index, delta=delta)


def _block_stop(index: int) -> tuple[str, str]:
    return _event("content_block_stop", index=index)


def _message_delta(usage: dict[str, Any], stop_reason: str = "end_turn") -> tuple[str, str]:
    return _event(
        "message_delta", delta={"stop_reason": stop_reason, "stop_sequence": None}, usage=usage
    )


def _fold(events: list[tuple[str, str]]) -> MessageAccumulator:
    accumulator = MessageAccumulator()
    for name, data in events:
        accumulator.feed(name, data)
    return accumulator


def _text_stream() -> list[tuple[str, str]]:
    return [
        ("message_start", json.dumps(START)),
        _block_start(0, {"type": "text", "text": ""}),
        _event("ping"),
        _delta(0, {"type": "text_delta", "text": "Hello"}),
        _delta(0, {"type": "text_delta", "text": "!"}),
        _block_stop(0),
        _message_delta({"output_tokens": 15}),
        _event("message_stop"),
    ]


def test_text_deltas_fold_into_the_final_message() -> None:
    """A minimal text stream becomes the message a non-streaming call would return."""
    accumulator = _fold(_text_stream())

    message = accumulator.result()

    assert accumulator.complete
    assert message["id"] == "msg_1"
    assert message["content"] == [{"type": "text", "text": "Hello!"}]
    assert message["stop_reason"] == "end_turn"
    assert message["usage"] == {"input_tokens": 25, "output_tokens": 15}


def test_complete_only_after_message_stop() -> None:
    """`complete` stays false until `message_stop` arrives."""
    accumulator = _fold(_text_stream()[:-1])

    assert not accumulator.complete


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(_delta(0, {"type": "text_delta", "text": "x"}), True, id="text-delta"),
        pytest.param(
            _delta(0, {"type": "thinking_delta", "thinking": "x"}), True, id="thinking-delta"
        ),
        pytest.param(("message_start", json.dumps(START)), False, id="message-start"),
        pytest.param(_block_start(0, {"type": "text", "text": ""}), False, id="block-start"),
        pytest.param(_event("ping"), False, id="ping"),
        pytest.param(_event("message_stop"), False, id="message-stop"),
    ],
)
def test_feed_reports_content_deltas(event: tuple[str, str], expected: bool) -> None:
    """`feed` returns True only for events carrying content (what TTFT is measured on)."""
    accumulator = MessageAccumulator()
    accumulator.feed("content_block_start", json.dumps({"index": 0, "content_block": {}}))

    assert accumulator.feed(*event) is expected


def test_thinking_and_signature_deltas_build_a_thinking_block() -> None:
    """Thinking deltas concatenate and the signature delta sets the block's signature."""
    accumulator = _fold(
        [
            ("message_start", json.dumps(START)),
            _block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
            _delta(0, {"type": "thinking_delta", "thinking": "Let me "}),
            _delta(0, {"type": "thinking_delta", "thinking": "think."}),
            _delta(0, {"type": "signature_delta", "signature": "EqQB"}),
            _block_stop(0),
            _block_start(1, {"type": "text", "text": ""}),
            _delta(1, {"type": "text_delta", "text": "42"}),
            _block_stop(1),
            _event("message_stop"),
        ]
    )

    assert accumulator.result()["content"] == [
        {"type": "thinking", "thinking": "Let me think.", "signature": "EqQB"},
        {"type": "text", "text": "42"},
    ]


def test_tool_input_json_deltas_are_parsed_at_block_stop() -> None:
    """Partial JSON chunks of a tool_use block are joined and parsed into `input`."""
    tool = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    accumulator = _fold(
        [
            ("message_start", json.dumps(START)),
            _block_start(0, tool),
            _delta(0, {"type": "input_json_delta", "partial_json": '{"location": "San Fra'}),
            _delta(0, {"type": "input_json_delta", "partial_json": 'ncisco", "days": 3}'}),
            _block_stop(0),
            _event("message_stop"),
        ]
    )

    assert accumulator.result()["content"] == [
        {**tool, "input": {"location": "San Francisco", "days": 3}}
    ]


def test_tool_without_input_deltas_keeps_its_empty_input() -> None:
    """A tool_use block that streams no input JSON keeps the skeleton's empty input."""
    tool = {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}
    accumulator = _fold([_block_start(0, tool), _block_stop(0)])

    assert accumulator.result()["content"] == [tool]


def test_citations_deltas_append_to_the_block() -> None:
    """Each citations delta appends one citation to its text block."""
    first = {"type": "char_location", "cited_text": "a", "document_index": 0}
    second = {"type": "char_location", "cited_text": "b", "document_index": 1}
    accumulator = _fold(
        [
            _block_start(0, {"type": "text", "text": ""}),
            _delta(0, {"type": "citations_delta", "citation": first}),
            _delta(0, {"type": "text_delta", "text": "cited"}),
            _delta(0, {"type": "citations_delta", "citation": second}),
            _block_stop(0),
        ]
    )

    assert accumulator.result()["content"] == [
        {"type": "text", "text": "cited", "citations": [first, second]}
    ]


def test_a_compaction_delta_fills_the_compaction_block() -> None:
    """A compaction block starts with null content; its one delta carries the whole summary."""
    accumulator = _fold(
        [
            _block_start(0, {"type": "compaction", "content": None}),
            _delta(0, {"type": "compaction_delta", "content": "Sum.", "encrypted_content": "e"}),
            _block_stop(0),
        ]
    )

    assert accumulator.result()["content"] == [
        {"type": "compaction", "content": "Sum.", "encrypted_content": "e"}
    ]


def test_message_delta_usage_is_cumulative() -> None:
    """Later message_delta usage values replace earlier ones; unreported fields are kept."""
    accumulator = _fold(
        [
            ("message_start", json.dumps(START)),
            _message_delta({"output_tokens": 5}),
            _message_delta({"output_tokens": 9, "cache_read_input_tokens": 100}),
            _event("message_stop"),
        ]
    )

    assert accumulator.result()["usage"] == {
        "input_tokens": 25,
        "output_tokens": 9,
        "cache_read_input_tokens": 100,
    }


def test_unknown_events_are_ignored() -> None:
    """Event names the accumulator does not know change nothing and carry no content."""
    reference = _fold(_text_stream()).result()
    accumulator = MessageAccumulator()
    for name, data in _text_stream():
        assert accumulator.feed("future_event", json.dumps({"type": "future_event"})) is False
        accumulator.feed(name, data)

    assert accumulator.result() == reference


@pytest.mark.parametrize(
    ("error_type", "retryable", "kind", "load"),
    [
        pytest.param("overloaded_error", True, "overloaded", Load.OVERLOADED, id="overloaded"),
        pytest.param("api_error", True, "server_error", Load.NORMAL, id="api-error"),
        pytest.param("rate_limit_error", True, "rate_limited", Load.THROTTLED, id="rate-limit"),
        pytest.param("timeout_error", True, "timeout", Load.NORMAL, id="timeout"),
        pytest.param("invalid_request_error", False, "invalid_request", Load.NORMAL, id="invalid"),
        pytest.param("authentication_error", False, "auth", Load.NORMAL, id="auth"),
        pytest.param("brand_new_error", False, "stream_error", Load.NORMAL, id="unknown"),
    ],
)
def test_error_event_raises_classified_like_the_status_its_type_stands_for(
    error_type: str, retryable: bool, kind: str, load: Load
) -> None:
    """An `error` event raises StreamErrorEvent carrying the type, classified by it (an
    overloaded_error mid-stream is overload, as a 529 is); an unknown type is not retried."""
    accumulator = _fold([("message_start", json.dumps(START))])
    data = json.dumps(
        {"type": "error", "error": {"type": error_type, "message": "Nope"}, "request_id": "req_9"}
    )

    with pytest.raises(StreamErrorEvent) as raised:
        accumulator.feed("error", data)

    assert raised.value.retryable is retryable
    assert raised.value.kind == kind
    assert raised.value.classification.load is load
    assert raised.value.info.status == 200
    assert raised.value.info.api_error_type == error_type
    assert raised.value.info.message == "Nope"
    assert raised.value.info.request_id == "req_9"


def test_top_level_fields_of_message_delta_reach_the_message() -> None:
    """A beta field sent beside `delta` in message_delta (context_management) is kept."""
    accumulator = MessageAccumulator()
    accumulator.feed("message_start", json.dumps({"message": {"id": "m", "usage": {}}}))
    edits = {"applied_edits": [{"type": "clear_tool_uses_20250919"}]}
    delta = {
        "delta": {"stop_reason": "end_turn"},
        "context_management": edits,
        "usage": {"output_tokens": 3},
    }
    accumulator.feed("message_delta", json.dumps(delta))
    message = accumulator.result()
    assert message["context_management"] == edits
    assert message["stop_reason"] == "end_turn"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(' {"index": 0} ', id="surrounding-whitespace"),
        pytest.param('{"index": 0}', id="compact"),
    ],
)
def test_event_data_decodes_as_json_does(data: str) -> None:
    """Event data is read as `json.loads` reads it, surrounding whitespace included."""
    accumulator = MessageAccumulator()
    accumulator.feed("content_block_start", '{"index": 0, "content_block": {"type": "text"}}')
    assert accumulator.feed("content_block_delta", data) is True


@pytest.mark.parametrize(
    "data",
    [
        pytest.param('{"index": 0} {}', id="extra-data"),
        pytest.param('{"index": ', id="cut"),
        pytest.param("nope", id="not-json"),
    ],
)
def test_event_data_that_is_not_one_json_value_is_refused(data: str) -> None:
    """Data that `json.loads` refuses is refused with its ValueError (a row, not a crash)."""
    with pytest.raises(json.JSONDecodeError):
        MessageAccumulator().feed("content_block_delta", data)


def _compact_text_delta(index: str, text: str) -> str:
    """A text delta as the API writes it: compact JSON, `text` a JSON string literal."""
    return (
        f'{{"type":"content_block_delta","index":{index},'
        f'"delta":{{"type":"text_delta","text":{text}}}}}'
    )


def _folded_texts(deltas: list[str]) -> list[dict[str, Any]]:
    accumulator = MessageAccumulator()
    accumulator.feed_events(
        [
            ("message_start", json.dumps(START)),
            _block_start(0, {"type": "text", "text": ""}),
            _block_start(1, {"type": "text", "text": "a"}),
            *(("content_block_delta", data) for data in deltas),
            _block_stop(0),
            _block_stop(1),
        ]
    )
    return list(accumulator.result()["content"])


@pytest.mark.parametrize(
    ("index", "text"),
    [
        pytest.param("0", '"plain"', id="plain"),
        pytest.param("1", '" second block"', id="second-block"),
        pytest.param("0", '"caf\u00e9 \u2713"', id="non-ascii"),
        pytest.param("0", '""', id="empty"),
        pytest.param("0", r'"line\nbreak \"quoted\" \\ \u00e9"', id="escapes"),
    ],
)
def test_a_compact_text_delta_folds_as_its_decoded_json(index: str, text: str) -> None:
    """A text delta in the API's compact form (read without decoding JSON when its text has
    no escape) folds into the same blocks as the same delta decoded as JSON."""
    compact = _compact_text_delta(index, text)
    spaced = json.dumps(json.loads(compact))  # not compact: always decoded as JSON

    assert _folded_texts([compact, compact]) == _folded_texts([spaced, spaced])
    assert _folded_texts([compact])[int(index)]["text"].endswith(json.loads(text))


@pytest.mark.parametrize(
    ("index", "text"),
    [
        pytest.param("01", '"x"', id="leading-zero-index"),
        pytest.param("0", '"tab\there"', id="raw-control-character"),
        pytest.param("0", r'"bad \q escape"', id="bad-escape"),
        pytest.param("0", '"unterminated', id="unterminated"),
    ],
)
def test_a_compact_text_delta_json_refuses_is_refused(index: str, text: str) -> None:
    """Compact text-delta data that `json.loads` refuses is refused with its error."""
    with pytest.raises(json.JSONDecodeError):
        _folded_texts([_compact_text_delta(index, text)])


def _compact_stream(ending: bytes) -> bytes:
    events = [
        ("message_start", json.dumps(START, separators=(",", ":"))),
        _block_start(0, {"type": "text", "text": ""}),
        ("content_block_delta", _compact_text_delta("0", '"Hel"')),
        ("content_block_delta", _compact_text_delta("0", r'"lo\n"')),
        ("content_block_delta", _compact_text_delta("0", '"!"')),
        ("content_block_stop", '{"type":"content_block_stop","index":0}'),
        ("message_stop", '{"type":"message_stop"}'),
    ]
    text = "".join(f"event: {name}\ndata: {data}\n\n" for name, data in events)
    return text.encode().replace(b"\n", ending)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("size", [1, 5, 100, 4096], ids=["bytewise", "small", "mid", "whole"])
def test_a_compact_stream_folds_the_same_however_it_is_cut(ending: bytes, size: int) -> None:
    """Cut into chunks anywhere (an event split across chunks), with LF or CRLF lines, a
    stream of compact events folds into the same message."""
    data = _compact_stream(ending)
    splitter, accumulator = EventSplitter(), MessageAccumulator()
    for start in range(0, len(data), size):
        accumulator.feed_events(splitter.feed(data[start : start + size]))

    assert accumulator.complete
    assert accumulator.result()["content"] == [{"type": "text", "text": "Hello\n!"}]


def test_compact_text_deltas_after_their_block_stopped_fold_as_decoded_ones() -> None:
    """A text delta for a block already stopped (then stopped again) folds as the same delta
    decoded as JSON does: the text after the first stop is added at the second."""

    def folded(delta: str) -> list[dict[str, Any]]:
        accumulator = MessageAccumulator()
        accumulator.feed_events(
            [
                _block_start(0, {"type": "text", "text": ""}),
                ("content_block_delta", delta),
                _block_stop(0),
                ("content_block_delta", delta),
                _block_stop(0),
            ]
        )
        return list(accumulator.result()["content"])

    compact = _compact_text_delta("0", '"ab"')

    assert (
        folded(compact)
        == folded(json.dumps(json.loads(compact)))
        == [{"type": "text", "text": "abab"}]
    )
