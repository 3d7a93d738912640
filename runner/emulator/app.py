"""The emulator as a plain ASGI callable: routing, recording what arrived, answering errors.

`create_app(config)` returns an `EmulatorApp`. Its `received` list records every request as it
arrived (repeated headers kept), so tests can assert on what a client really sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from runner.emulator.caching import PromptCache
from runner.emulator.config import EmulatorConfig
from runner.emulator.errors import ApiError, invalid_request, new_id, not_found, too_large
from runner.emulator.handlers import (
    COUNT_TOKENS_PATH,
    MESSAGES_PATH,
    Call,
    State,
    count_tokens,
    messages,
    response_headers,
)
from runner.emulator.ratelimit import Clock, RateLimiter
from runner.emulator.wire import BodyTooLarge, Receive, Scope, Send, read_body, send_json

MAX_BODY_BYTES = 32 * 1024 * 1024
Handler = Callable[[State, Call], Awaitable[None]]
ROUTES: dict[str, Handler] = {MESSAGES_PATH: messages, COUNT_TOKENS_PATH: count_tokens}


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the emulator received it."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: object
    arrived_at: float

    def header_values(self, name: str) -> list[str]:
        """Every value of a header (case-insensitive), in the order received."""
        return [v for k, v in self.headers if k.lower() == name.lower()]


class EmulatorApp:
    """The ASGI app; `received` records requests and `reset()` clears records and state."""

    def __init__(self, config: EmulatorConfig, clock: Clock = time.monotonic) -> None:
        self.config = config
        self.received: list[ReceivedRequest] = []
        self._clock = clock
        self._state = self._fresh_state()

    def _fresh_state(self) -> State:
        c = self.config
        limiter = RateLimiter(c.rpm, c.itpm, c.otpm, c.otpm_mode, self._clock)
        return State(c, self._clock, self._clock(), limiter, PromptCache(self._clock))

    def reset(self) -> None:
        """Forget received requests, rate-limit buckets, cached prompts and arrival counts."""
        self.received.clear()
        started = self._state.started
        self._state = self._fresh_state()
        self._state.started = started

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        body, body_error = await _body(receive, headers)
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        self.received.append(
            ReceivedRequest(method, path, query, tuple(headers), body, self._clock())
        )
        call = Call(path, headers, body, body_error, new_id("req_"), send)
        try:
            await _route(method, path)(self._state, call)
        except ApiError as err:
            extra = [*response_headers(self._state, call), *err.headers]
            await send_json(send, err.status, err.body(call.request_id), extra)


def create_app(config: EmulatorConfig) -> EmulatorApp:
    """A new emulator app for `config`."""
    return EmulatorApp(config)


def _route(method: str, path: str) -> Handler:
    handler = ROUTES.get(path)
    if handler is None:
        raise not_found()
    if method != "POST":
        raise ApiError(
            405,
            "invalid_request_error",
            f"Method {method} is not allowed on {path}; use POST.",
            (("allow", "POST"),),
        )
    return handler


async def _body(receive: Receive, headers: list[tuple[str, str]]) -> tuple[object, ApiError | None]:
    declared = next((v for k, v in headers if k.lower() == "content-length"), "0")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None, too_large(MAX_BODY_BYTES)
    try:
        raw = await read_body(receive, MAX_BODY_BYTES)
    except BodyTooLarge:
        return None, too_large(MAX_BODY_BYTES)
    if not raw.strip():
        return None, invalid_request("The request body is empty; send a JSON object.")
    try:
        return json.loads(raw), None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, invalid_request(f"The request body is not valid JSON: {err}")


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
