"""The emulator as a plain ASGI callable: routing, recording what arrived, answering errors.

`create_app(config, clock)` returns an `EmulatorApp`. Its `received` list records every request
as it arrived (repeated headers kept), so tests can assert on what a client really sent. The
clock (monotonic seconds) drives rate limits, the prompt cache and batch processing.

Besides the API's paths it answers `GET /_emulator/lateness`, how late it answered each request
(`lateness`). Its ASGI lifespan runs the loop-lag ticker that measurement reads; a server run
without lifespan (or an in-process transport) reports the loop lag as null.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import anyio

from runner.emulator.batch_handlers import MAX_BODY_BYTES as MAX_BATCH_BODY_BYTES
from runner.emulator.batch_handlers import batch_routes
from runner.emulator.batches import BATCHES_PATH, BatchStore
from runner.emulator.caching import PromptCache
from runner.emulator.config import EmulatorConfig
from runner.emulator.errors import ApiError, invalid_request, new_id, not_found, too_large
from runner.emulator.handlers import (
    COUNT_TOKENS_PATH,
    MESSAGES_PATH,
    Call,
    Handler,
    State,
    count_tokens,
    messages,
    response_headers,
)
from runner.emulator.latency import LOOP_TIMER, Timer
from runner.emulator.lateness import ARRIVED, LATENESS_PATH, LoopLag
from runner.emulator.ratelimit import Clock, RateLimiter
from runner.emulator.wire import BodyTooLarge, Receive, Scope, Send, read_body, send_json

MAX_BODY_BYTES = 32 * 1024 * 1024


async def lateness(state: State, call: Call) -> None:
    """Answer `GET /_emulator/lateness`: the lateness of the requests answered so far."""
    body = state.lateness.body(state.http_parser)
    await send_json(call.send, 200, body, response_headers(state, call))


ROUTES: dict[str, dict[str, Handler]] = {
    MESSAGES_PATH: {"POST": messages},
    COUNT_TOKENS_PATH: {"POST": count_tokens},
    LATENESS_PATH: {"GET": lateness},
}


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
    """The ASGI app; `received` records requests and `reset()` clears records and state.

    `timer` paces replies and times their lateness (tests pass a fake).
    """

    def __init__(
        self, config: EmulatorConfig, clock: Clock = time.monotonic, timer: Timer = LOOP_TIMER
    ) -> None:
        self.config = config
        self.received: list[ReceivedRequest] = []
        self._clock = clock
        self._timer = timer
        self._loop_lag = LoopLag(timer)
        self._state = self._fresh_state()

    def _fresh_state(self) -> State:
        c = self.config
        limiter = RateLimiter(c.rpm, c.itpm, c.otpm, c.otpm_mode, self._clock)
        cache = PromptCache(self._clock)
        state = State(c, self._clock, self._clock(), limiter, cache, BatchStore())
        state.timer, state.loop_lag = self._timer, self._loop_lag
        return state

    def served_with(self, http_parser: str) -> None:
        """Name the server's HTTP implementation, for the lateness report."""
        self._state.http_parser = http_parser

    def reset(self) -> None:
        """Forget received requests, rate-limit buckets, cached prompts, batches and counts."""
        self.received.clear()
        old = self._state
        self._state = self._fresh_state()
        self._state.started, self._state.http_parser = old.started, old.http_parser

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Run the loop-lag ticker for as long as the server serves. It has stopped before
        shutdown is reported complete: the server cancels whatever still runs after that."""
        async with anyio.create_task_group() as group:
            group.start_soon(self._loop_lag.run)
            await _until_shutdown(receive, send)
            group.cancel_scope.cancel()
        await send({"type": "lifespan.shutdown.complete"})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        method, path = scope["method"], scope["path"]
        body, body_error = await _body(receive, headers, _body_limit(path))
        query = scope.get("query_string", b"").decode("latin-1")
        if self.config.record_requests:
            self.received.append(
                ReceivedRequest(method, path, query, tuple(headers), body, self._clock())
            )
        origin = _origin(scope, headers)
        call = Call(path, headers, body, body_error, new_id("req_"), send, method, query, origin)
        call.arrived = scope.get("state", {}).get(ARRIVED)
        try:
            await _route(method, path)(self._state, call)
        except ApiError as err:
            extra = [*response_headers(self._state, call), *err.headers]
            await send_json(send, err.status, err.body(call.request_id), extra)


def create_app(
    config: EmulatorConfig, clock: Clock = time.monotonic, timer: Timer = LOOP_TIMER
) -> EmulatorApp:
    """A new emulator app for `config`, on `clock` (monotonic seconds) and `timer` (pacing)."""
    return EmulatorApp(config, clock, timer)


def _route(method: str, path: str) -> Handler:
    methods = ROUTES.get(path) or batch_routes(path)
    if methods is None:
        raise not_found()
    handler = methods.get(method)
    if handler is None:
        allowed = ", ".join(sorted(methods))
        raise ApiError(
            405,
            "invalid_request_error",
            f"Method {method} is not allowed on {path}; use {allowed}.",
            (("allow", allowed),),
        )
    return handler


def _body_limit(path: str) -> int:
    return MAX_BATCH_BODY_BYTES if path == BATCHES_PATH else MAX_BODY_BYTES


def _origin(scope: Scope, headers: list[tuple[str, str]]) -> str:
    """Scheme and host the client used, so URLs the emulator hands out lead back to it."""
    host = next((v for k, v in headers if k.lower() == "host"), "")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


async def _body(
    receive: Receive, headers: list[tuple[str, str]], limit: int
) -> tuple[object, ApiError | None]:
    declared = next((v for k, v in headers if k.lower() == "content-length"), "0")
    if declared.isdigit() and int(declared) > limit:
        return None, too_large(limit)
    try:
        raw = await read_body(receive, limit)
    except BodyTooLarge:
        return None, too_large(limit)
    if not raw.strip():
        return None, invalid_request("The request body is empty; send a JSON object.")
    try:
        return json.loads(raw), None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, invalid_request(f"The request body is not valid JSON: {err}")
    except RecursionError:
        return None, invalid_request("The request body nests too deep to parse.")


async def _until_shutdown(receive: Receive, send: Send) -> None:
    """Answer lifespan messages until `lifespan.shutdown` arrives (not yet answered)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            return
