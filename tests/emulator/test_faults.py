"""Fault injection: seeded, order-independent draws and the prompt directive."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from runner.emulator import EmulatorConfig, create_app
from runner.emulator.faults import Directive, Fault, find_directive
from tests.emulator.support import FAST, HEADERS, body


async def statuses(config: EmulatorConfig, payloads: list[dict[str, object]]) -> list[int]:
    """The status of each payload, sent in order to a fresh app."""
    transport = httpx.ASGITransport(app=create_app(config))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://e", headers=HEADERS
    ) as client:
        return [(await client.post("/v1/messages", json=p)).status_code for p in payloads]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", None),
        ("x [[emulator:overloaded]]", Directive(Fault.OVERLOADED, 1)),
        ("[[emulator:server_errorx3]] y", Directive(Fault.SERVER_ERROR, 3)),
        ("[[emulator:nonsense]]", None),
    ],
    ids=["none", "once", "three-times", "unknown"],
)
def test_find_directive(text: str, expected: Directive | None) -> None:
    """The directive names a fault and, optionally, how many arrivals get it."""
    assert find_directive(text) == expected


@pytest.mark.anyio
async def test_directive_fails_the_first_n_arrivals() -> None:
    """[[emulator:server_errorx2]] fails the first two arrivals of that body, then succeeds."""
    payload = body("Hi [[emulator:server_errorx2]]")
    assert await statuses(FAST, [payload] * 3) == [500, 500, 200]


@pytest.mark.anyio
async def test_seeded_faults_repeat_for_a_seed() -> None:
    """With p_overloaded, the same seed gives the same sequence of 529s; another seed differs."""
    config = replace(FAST, p_overloaded=0.5, seed=3)
    payloads = [body(f"question {i}") for i in range(12)] * 2
    first = await statuses(config, payloads)
    assert first == await statuses(config, payloads)
    assert set(first) == {200, 529}
    assert first != await statuses(replace(config, seed=4), payloads)


@pytest.mark.anyio
async def test_seeded_faults_do_not_depend_on_order() -> None:
    """Each body's outcome is the same whichever order the bodies arrive in."""
    config = replace(FAST, p_server_error=0.5, seed=11)
    payloads = [body(f"question {i}") for i in range(12)]
    forward = await statuses(config, payloads)
    backward = await statuses(config, payloads[::-1])
    assert forward == backward[::-1]


@pytest.mark.anyio
async def test_retries_of_a_body_draw_anew() -> None:
    """Repeated arrivals of one body get fresh draws, so a retry can succeed."""
    config = replace(FAST, p_overloaded=0.5, seed=5)
    assert len(set(await statuses(config, [body()] * 16))) == 2


@pytest.mark.anyio
async def test_overloaded_is_marked_retryable() -> None:
    """A 529 says overloaded_error and x-should-retry true."""
    transport = httpx.ASGITransport(app=create_app(FAST))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://e", headers=HEADERS
    ) as client:
        response = await client.post("/v1/messages", json=body("[[emulator:overloaded]]"))
    assert response.status_code == 529
    assert response.json()["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert response.headers["x-should-retry"] == "true"


@pytest.mark.anyio
async def test_error_event_after_200() -> None:
    """error_event answers 200 and then an `event: error` instead of the rest of the stream."""
    transport = httpx.ASGITransport(app=create_app(FAST))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://e", headers=HEADERS
    ) as client:
        response = await client.post(
            "/v1/messages", json=body("[[emulator:error_event]]", stream=True)
        )
    assert response.status_code == 200
    assert "event: error" in response.text
    assert "message_stop" not in response.text
