"""What the emulator puts on the wire: headers, error envelopes, validation, the SSE sequence."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from runner.emulator import EmulatorConfig, EmulatorServer, create_app
from tests.emulator.support import HEADERS, body

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
RATE_HEADERS = [
    f"anthropic-ratelimit-{kind}-{field}"
    for kind in ("requests", "tokens", "input-tokens", "output-tokens")
    for field in ("limit", "remaining", "reset")
]


def sse_events(text: str) -> list[tuple[str, dict[str, object]]]:
    """(event name, data) pairs of an SSE body."""
    out = []
    for chunk in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def assert_error(response: httpx.Response, status: int, error_type: str, message: str) -> None:
    """The response is the documented error envelope with a matching request id."""
    assert response.status_code == status
    payload = response.json()
    assert payload["type"] == "error"
    assert payload["error"] == {"type": error_type, "message": payload["error"]["message"]}
    assert message in payload["error"]["message"]
    assert payload["request_id"] == response.headers["request-id"]
    assert re.fullmatch(r"req_[0-9A-Za-z]{24}", payload["request_id"])
    assert response.headers["anthropic-organization-id"]


def test_unknown_path_is_not_found(http: httpx.Client) -> None:
    """Any other path answers 404 not_found_error with a request id."""
    assert_error(http.post("/v1/complete", json={}), 404, "not_found_error", "could not be found")


def test_wrong_method_is_405(http: httpx.Client) -> None:
    """GET on /v1/messages answers 405 with an invalid_request_error body."""
    response = http.get("/v1/messages")
    assert_error(response, 405, "invalid_request_error", "GET")
    assert response.headers["allow"] == "POST"


def test_missing_key_is_401(http: httpx.Client) -> None:
    """No x-api-key and no Bearer token is a 401 saying the header is required."""
    response = http.post("/v1/messages", json=body(), headers={"x-api-key": ""})
    assert_error(response, 401, "authentication_error", "x-api-key header is required")


@pytest.mark.anyio
async def test_key_outside_configured_keys_is_401() -> None:
    """With api_keys configured, another key is a 401 invalid x-api-key; a listed one works."""
    app = create_app(EmulatorConfig(api_keys=("good",), ttft_ms=0, ms_per_output_token=0))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://e"
    ) as client:
        bad = await client.post(
            "/v1/messages", json=body(), headers={**HEADERS, "x-api-key": "bad"}
        )
        good = await client.post(
            "/v1/messages", json=body(), headers={**HEADERS, "x-api-key": "good"}
        )
    assert_error(bad, 401, "authentication_error", "invalid x-api-key")
    assert good.status_code == 200


def test_bearer_token_is_accepted(http: httpx.Client) -> None:
    """Authorization: Bearer works in place of x-api-key."""
    headers = {"x-api-key": "", "authorization": "Bearer test-key"}
    assert http.post("/v1/messages", json=body(), headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("version", "message"),
    [(None, "header is required"), ("2024-01-01", "is not a valid version")],
    ids=["missing", "unknown"],
)
def test_bad_version_is_400(emulator: EmulatorServer, version: str | None, message: str) -> None:
    """anthropic-version is required and must be 2023-06-01 or 2026-10-21."""
    headers = {"x-api-key": "k"} | ({"anthropic-version": version} if version else {})
    response = httpx.post(f"{emulator.url}/v1/messages", json=body(), headers=headers)
    assert_error(response, 400, "invalid_request_error", message)


def test_repeated_beta_headers_are_merged(http: httpx.Client) -> None:
    """Betas in a second anthropic-beta header are read: an unknown one there is rejected."""
    headers = [
        *HEADERS.items(),
        ("anthropic-beta", "context-1m-2025-08-07"),
        ("anthropic-beta", "zzz-1"),
    ]
    response = http.post("/v1/messages", json=body(), headers=headers)
    assert_error(response, 400, "invalid_request_error", "Unsupported beta header: zzz-1")


def test_spaces_after_commas_are_tolerated(http: httpx.Client) -> None:
    """A beta list with spaces around commas is accepted."""
    headers = {"anthropic-beta": "context-1m-2025-08-07 ,  extended-cache-ttl-2025-04-11"}
    assert http.post("/v1/messages", json=body(), headers=headers).status_code == 200


@pytest.mark.anyio
async def test_unknown_betas_pass_when_not_rejected() -> None:
    """With reject_unknown_betas off, an unknown beta is ignored."""
    app = create_app(EmulatorConfig(reject_unknown_betas=False, ttft_ms=0, ms_per_output_token=0))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://e"
    ) as client:
        response = await client.post(
            "/v1/messages", json=body(), headers={**HEADERS, "anthropic-beta": "anything-goes"}
        )
    assert response.status_code == 200


def test_beta_query_string_is_accepted(http: httpx.Client, emulator: EmulatorServer) -> None:
    """POST /v1/messages?beta=true works and the query is recorded."""
    assert http.post("/v1/messages?beta=true", json=body()).status_code == 200
    assert emulator.app.received[-1].query == "beta=true"


def test_rate_limit_headers_are_well_formed(http: httpx.Client) -> None:
    """A 200 carries all twelve rate-limit headers: exact requests, tokens rounded to 1000s."""
    first = http.post("/v1/messages", json=body())
    second = http.post("/v1/messages", json=body())
    for name in RATE_HEADERS:
        assert name in second.headers
    assert int(first.headers["anthropic-ratelimit-requests-remaining"]) == 3999
    assert int(second.headers["anthropic-ratelimit-requests-remaining"]) in (3998, 3999)
    assert int(second.headers["anthropic-ratelimit-input-tokens-remaining"]) % 1000 == 0
    assert int(second.headers["anthropic-ratelimit-tokens-limit"]) == 2_400_000
    assert all(RFC3339.match(second.headers[n]) for n in RATE_HEADERS if n.endswith("reset"))


def test_error_responses_on_messages_carry_rate_limit_headers(http: httpx.Client) -> None:
    """An error on /v1/messages also carries the rate-limit headers."""
    response = http.post("/v1/messages", json=body(max_tokens=0))
    assert response.status_code == 400
    assert all(name in response.headers for name in RATE_HEADERS)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (body(max_tokens=None), "max_tokens: Field required"),
        (body(max_tokens=0), "greater than or equal to 1"),
        (body(max_tokens="5"), "valid integer"),
        ({**body(), "messages": []}, "at least one message"),
        (
            {**body(), "messages": [{"role": "assistant", "content": "hi"}]},
            'must use the "user" role',
        ),
        ({**body(), "messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
        ({**body(), "messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
        (body(system=[{"type": "image"}]), "system"),
        (
            {"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
            "model: Field required",
        ),
        (body(thinking={"type": "enabled", "budget_tokens": 10}), "budget_tokens"),
        (body(temperature=1.5), "temperature"),
        (body(tool_choice={"type": "tool", "name": "ghost"}), "ghost"),
    ],
    ids=[
        "no-max-tokens",
        "zero-max-tokens",
        "string-max-tokens",
        "no-messages",
        "assistant-first",
        "bad-role",
        "bad-content",
        "non-text-system",
        "no-model",
        "small-thinking-budget",
        "temperature-range",
        "unknown-tool-choice",
    ],
)
def test_invalid_bodies_are_400(
    http: httpx.Client, payload: dict[str, object], message: str
) -> None:
    """Invalid bodies answer 400 invalid_request_error naming the field."""
    cleaned = {k: v for k, v in payload.items() if v is not None}
    assert_error(http.post("/v1/messages", json=cleaned), 400, "invalid_request_error", message)


def test_invalid_json_is_400(http: httpx.Client) -> None:
    """A body that is not JSON is a 400."""
    response = http.post(
        "/v1/messages", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "invalid_request_error", "not valid JSON")


def test_a_body_nested_past_the_parsers_limit_is_400_not_a_crash(http: httpx.Client) -> None:
    """JSON nested 100,000 deep is an invalid request, as the API would answer."""
    deep = b'{"model": "claude-sonnet-5", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = http.post("/v1/messages", content=deep, headers={"content-type": "application/json"})
    assert_error(response, 400, "invalid_request_error", "nests too deep")


def test_body_over_32_mb_is_413(http: httpx.Client) -> None:
    """A body over 32 MB is a 413 request_too_large."""
    big = b'{"pad": "' + b"x" * (32 * 1024 * 1024) + b'"}'
    response = http.post("/v1/messages", content=big, headers={"content-type": "application/json"})
    assert_error(response, 413, "request_too_large", "maximum size")


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        (
            [
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": [{"type": "document", "source": {"type": "text", "data": "d"}}],
                },
            ],
            "document blocks are not permitted in assistant messages",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "hi", "citations": [{"x": 1}]}],
                }
            ],
            "citations are not permitted in user messages",
        ),
    ],
    ids=["assistant-document", "user-citations"],
)
def test_2026_version_rules(http: httpx.Client, messages: list[object], message: str) -> None:
    """Under 2026-10-21 an assistant document or user citations are a 400; under 2023 they pass."""
    payload = {**body(), "messages": messages}
    newer = http.post("/v1/messages", json=payload, headers={"anthropic-version": "2026-10-21"})
    assert_error(newer, 400, "invalid_request_error", message)
    assert http.post("/v1/messages", json=payload).status_code == 200


def test_stream_event_sequence(http: httpx.Client) -> None:
    """A stream is message_start, ping, block start/deltas/stop, message_delta, message_stop."""
    response = http.post("/v1/messages", json=body(stream=True))
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert all(data["type"] == name for name, data in events)
    start = events[0][1]["message"]
    assert start["usage"]["output_tokens"] == 1  # type: ignore[index]
    assert start["stop_reason"] is None  # type: ignore[index]
    final = events[-2][1]
    assert final["delta"]["stop_reason"] == "end_turn"  # type: ignore[index]
    assert final["usage"]["input_tokens"] == start["usage"]["input_tokens"]  # type: ignore[index]


@pytest.mark.anyio
async def test_pings_every_n_events() -> None:
    """ping_every_n_events adds a ping after every n events."""
    app = create_app(EmulatorConfig(ping_every_n_events=3, ttft_ms=0, ms_per_output_token=0))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://e"
    ) as client:
        response = await client.post("/v1/messages", json=body(stream=True), headers=HEADERS)
    names = [name for name, _ in sse_events(response.text)]
    assert names.count("ping") >= len(names) // 4 >= 2


def test_dropped_stream_is_a_remote_protocol_error(http: httpx.Client) -> None:
    """A drop mid-stream reaches httpx as RemoteProtocolError after some events arrived."""
    seen: list[str] = []
    payload = body("cut [[emulator:drop_stream]]", stream=True)
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", "/v1/messages", json=payload) as response,
    ):
        seen.extend(response.iter_lines())
    assert any("content_block_delta" in line for line in seen)
