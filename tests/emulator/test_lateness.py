"""The emulator's own lateness: how far behind its latency model each reply went out, per
request, and its loop's lag, reported at `GET /_emulator/lateness` (fake timers, no timing)."""

from __future__ import annotations

import json
import socket
import struct
import time

import anyio
import httpx
import pytest

from runner.emulator import EmulatorApp, EmulatorConfig, EmulatorServer, create_app
from runner.emulator.latency import Pacer
from runner.emulator.lateness import (
    ARRIVED,
    LATENESS_PATH,
    Lateness,
    LatenessLog,
    LoopLag,
    queued_s,
)
from runner.emulator.server import server_stack
from runner.emulator.wire import Message
from tests.emulator.support import FAST, HEADERS, TODAY, body

PACED = EmulatorConfig(today=TODAY, fixed_latency_ms=300.0, ttft_ms=150.0, rpm=0, otpm=0)


class LateTimer:
    """A fake monotonic clock whose sleep wakes `late` seconds after it was due."""

    def __init__(self, late: float = 0.0) -> None:
        self.t = 1_000.0
        self.late = late
        self.script: list[float] = []  # per-sleep lateness first, then `late`

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds + (self.script.pop(0) if self.script else self.late)
        await anyio.lowlevel.checkpoint()


@pytest.mark.anyio
async def test_the_pacer_measures_how_late_a_write_went_out() -> None:
    """Woken 7 ms late, and 2 ms more spent before the write: 9 ms late."""
    timer = LateTimer(late=0.007)
    pacer = Pacer(timer)
    await pacer.until(0.150)
    timer.t += 0.002
    pacer.wrote()
    assert pacer.late_ms == pytest.approx(9.0)


@pytest.mark.anyio
async def test_a_batch_counts_from_its_earliest_event() -> None:
    """Two events due at 10 and 20 ms written together at 25 ms: 15 ms late; the largest
    lateness of all writes is kept."""
    timer = LateTimer(late=0.005)
    pacer = Pacer(timer)
    await pacer.until(0.010)
    await pacer.until(0.020)
    pacer.wrote()
    await pacer.until(0.030)
    pacer.wrote()
    assert pacer.late_ms == pytest.approx(15.0)


@pytest.mark.anyio
async def test_a_timer_that_wakes_early_is_slept_on_again() -> None:
    """Woken 0.4 ms early: the pacer sleeps the rest, so nothing goes out before it is due."""
    timer = LateTimer()
    timer.script = [-0.0004]
    pacer = Pacer(timer)
    await pacer.until(0.010)
    assert timer.now() >= 1_000.0 + 0.010
    pacer.wrote()
    assert pacer.late_ms == pytest.approx(0.0, abs=1e-9)


def test_nothing_paced_is_not_measured() -> None:
    """A pacer that wrote nothing reports None, never 0."""
    assert Pacer(LateTimer()).late_ms is None


async def _post(
    app: EmulatorApp, raw: bytes, state: dict[str, float] | None = None
) -> list[Message]:
    """Drive one POST /v1/messages with body `raw` through the ASGI app; every message sent."""
    scope: dict[str, object] = {
        "type": "http",
        "method": "POST",
        "path": "/v1/messages",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()],
    }
    if state is not None:
        scope["state"] = state
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def _stream(app: EmulatorApp) -> tuple[list[Message], str]:
    """Drive one streamed request through the ASGI app; the body messages and request id."""
    sent = await _post(app, json.dumps(body(stream=True, max_tokens=32)).encode())
    start = sent[0]
    request_id = dict(start["headers"])[b"request-id"].decode()
    return [m for m in sent if m["type"] == "http.response.body"], request_id


def _names(message: Message) -> list[str]:
    text = message["body"].decode()
    return [line[7:] for line in text.splitlines() if line.startswith("event: ")]


@pytest.mark.anyio
async def test_events_due_together_go_out_in_one_write() -> None:
    """On time, the first token's events share a write and the last ones end the body."""
    timer = LateTimer()
    writes, _ = await _stream(create_app(PACED, timer=timer))
    assert _names(writes[0]) == ["message_start"]
    assert _names(writes[1]) == ["content_block_start", "ping", "content_block_delta"]
    assert _names(writes[-1]) == ["content_block_stop", "message_delta", "message_stop"]
    assert writes[-1]["more_body"] is False
    assert all(m["more_body"] for m in writes[:-1])


@pytest.mark.anyio
async def test_a_server_late_past_the_whole_stream_writes_it_at_once() -> None:
    """Woken 400 ms late for the first token: everything due by then goes in one write, the
    log says 400 ms late for that request, and the stream is whole."""
    timer = LateTimer()
    timer.script = [0.400]
    app = create_app(PACED, timer=timer)
    writes, request_id = await _stream(app)
    assert len(writes) == 2
    names = _names(writes[1])
    assert names[0] == "content_block_start"
    assert names[-1] == "message_stop"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://e"
    ) as client:
        report = (await client.get(LATENESS_PATH)).json()
    (logged,) = report["requests"]
    assert logged["request_id"] == request_id
    assert logged["late_ms"] == pytest.approx(400.0)
    assert logged["took_ms"] == pytest.approx(550.0)  # first token due at 150 ms, 400 late
    assert logged["wait_ms"] is None  # no lifespan, no ticker


@pytest.mark.anyio
async def test_json_replies_are_measured_too() -> None:
    """A JSON reply due at 300 ms and sent 12 ms late is logged 12 ms late."""
    timer = LateTimer(late=0.012)
    app = create_app(PACED, timer=timer)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://e"
    ) as client:
        before = time.time()
        reply = await client.post("/v1/messages", json=body(), headers=HEADERS)
        after = time.time()
        report = (await client.get(LATENESS_PATH)).json()
    (logged,) = report["requests"]
    assert logged["request_id"] == reply.headers["request-id"]
    assert logged["late_ms"] == pytest.approx(12.0)
    assert before <= logged["started_at"] <= after
    assert "late_ms" not in reply.text


@pytest.mark.anyio
async def test_refused_requests_are_not_logged() -> None:
    """A 401 was never paced: nothing is logged for it."""
    app = create_app(PACED, timer=LateTimer())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://e"
    ) as client:
        await client.post("/v1/messages", json=body(), headers={**HEADERS, "x-api-key": ""})
        report = (await client.get(LATENESS_PATH)).json()
    assert report["requests"] == []


class TickTimer(LateTimer):
    """A fake clock whose sleep wakes only when the test sends how late the wake-up is."""

    def __init__(self) -> None:
        super().__init__()
        self.wakes, self._woken = anyio.create_memory_object_stream[float]()

    async def sleep(self, seconds: float) -> None:
        self.t += seconds + await self._woken.receive()

    def close(self) -> None:
        """Close both ends of the wake-up stream."""
        self.wakes.close()
        self._woken.close()


async def _ticks(timer: TickTimer, lateness: list[float]) -> None:
    """Let the ticker wake once per entry of `lateness`, that late, and record it."""
    for late in lateness:
        await timer.wakes.send(late)
        await anyio.lowlevel.checkpoint()


@pytest.mark.anyio
async def test_the_wait_is_the_loop_lag_as_the_handler_starts() -> None:
    """After a wake-up 30 ms late the lag reads 30 ms; a later, timely one brings it down to
    0; a wake-up overdue by 12 ms counts before it has run."""
    timer = TickTimer()
    lag = LoopLag(timer, interval_s=0.005)
    async with anyio.create_task_group() as group:
        group.start_soon(lag.run)
        await _ticks(timer, [0.002, 0.030])
        stalled = lag.now_ms()
        await _ticks(timer, [0.0])
        calm = lag.now_ms()
        timer.t += 0.005 + 0.012
        overdue = lag.now_ms()
        group.cancel_scope.cancel()
    timer.close()
    assert stalled == pytest.approx(30.0)
    assert calm == pytest.approx(0.0, abs=1e-9)
    assert overdue == pytest.approx(12.0)


def test_without_the_ticker_loop_lag_is_not_measured() -> None:
    """No lifespan, no ticker: None, never 0."""
    assert LoopLag(LateTimer()).now_ms() is None


def test_the_log_keeps_the_newest_requests() -> None:
    """Past its capacity the log forgets the oldest request first."""
    log = LatenessLog(capacity=2)
    for n in range(3):
        log.record(f"req_{n}", Lateness(0.0, 300.0, float(n), None))
    assert [r["request_id"] for r in log.body("h11")["requests"]] == ["req_1", "req_2"]


def test_a_served_emulator_reports_its_loop_parser_and_lag() -> None:
    """Under uvicorn the report names the loop and parser it runs on, and the ticker (run by
    the lifespan) measured the loop's lag as the request's handler started."""
    with EmulatorServer(FAST) as server, httpx.Client(base_url=server.url) as client:
        client.post("/v1/messages", json=body(), headers=HEADERS)
        report = client.get(LATENESS_PATH).json()
    assert (report["loop"], report["http"]) == server_stack()
    (logged,) = report["requests"]
    assert logged["wait_ms"] is not None
    assert logged["late_ms"] >= 0.0


class SleepingTimer(LateTimer):
    """A fake clock whose sleep never ends by itself, and which knows when one is pending."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = False

    async def sleep(self, seconds: float) -> None:
        self.sleeping = True
        try:
            await anyio.sleep_forever()
        finally:
            self.sleeping = False


@pytest.mark.anyio
async def test_the_ticker_has_stopped_when_shutdown_is_reported() -> None:
    """The lifespan starts the ticker at startup and stops it before it answers shutdown, so
    a server that cancels what is left after that finds nothing (no traceback on exit)."""
    timer = SleepingTimer()
    app = create_app(PACED, timer=timer)
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    seen: list[tuple[str, bool]] = []

    async def receive() -> Message:
        await anyio.lowlevel.checkpoint()
        message = next(messages)
        seen.append((message["type"], timer.sleeping))
        return message

    async def send(message: Message) -> None:
        seen.append((message["type"], timer.sleeping))

    await app({"type": "lifespan"}, receive, send)
    assert seen[2:] == [("lifespan.shutdown", True), ("lifespan.shutdown.complete", False)]


@pytest.mark.anyio
async def test_the_schedule_counts_from_when_the_request_arrived() -> None:
    """A request the server stamped as arrived 50 ms before its handler ran is answered 300 ms
    after it arrived (250 ms after the handler started), and logged as taking 300 ms."""
    timer = LateTimer()
    app = create_app(PACED, timer=timer)
    await _post(app, json.dumps(body()).encode(), state={ARRIVED: timer.t - 0.050})
    assert timer.t == pytest.approx(1_000.250)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://e"
    ) as client:
        (logged,) = (await client.get(LATENESS_PATH)).json()["requests"]
    assert logged["took_ms"] == pytest.approx(300.0)
    assert logged["late_ms"] == pytest.approx(0.0, abs=1e-6)


class Info:
    """A socket stand-in whose TCP_INFO says data was last received `ms` ago (or fails)."""

    def __init__(self, ms: int | None) -> None:
        self.ms = ms

    def getsockopt(self, level: int, option: int, buflen: int, /) -> bytes:
        if self.ms is None:
            raise OSError("not a TCP socket")
        return bytes(8) + bytes(11 * 4) + struct.pack("=I", self.ms) + bytes(buflen - 56)


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's")
@pytest.mark.parametrize(
    ("ms", "queued"),
    [
        pytest.param(250, 0.240, id="waited-250ms"),
        pytest.param(4, 0.0, id="within-a-jiffy"),
        pytest.param(None, 0.0, id="no-tcp-info"),
    ],
)
def test_the_kernel_wait_is_read_from_tcp_info_less_a_jiffy(ms: int | None, queued: float) -> None:
    """Bytes the kernel got 250 ms ago waited at least 240 ms (its count is jiffy-coarse);
    within a jiffy, or on a socket without TCP_INFO, nothing is claimed."""
    assert queued_s(Info(ms)) == pytest.approx(queued)


def test_without_a_socket_nothing_waited() -> None:
    """A transport with no socket (ASGI in process) reports no kernel wait."""
    assert queued_s(None) == 0.0


def test_a_real_connection_reports_a_wait_no_longer_than_it_was() -> None:
    """On a loopback connection just written to, the reading never exceeds the time since."""
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        socket.create_connection(listener.getsockname()) as client,
    ):
        written = time.monotonic()
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")
        conn, _ = listener.accept()
        with conn:
            conn.recv(64, socket.MSG_PEEK)
            assert 0.0 <= queued_s(conn) <= time.monotonic() - written
