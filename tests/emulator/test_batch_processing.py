"""Message Batches on the wire: lifecycle on the clock, outcomes, faults, determinism, limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest

from runner.emulator import EmulatorConfig, create_app
from tests.emulator.support import FAST, HEADERS, MODEL, ManualClock, body

PATH = "/v1/messages/batches"
CONFIG = replace(FAST, batch_processing_s=10.0)
# A parsed JSON line of the results.
Line = dict[str, Any]

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def emulator(
    config: EmulatorConfig = CONFIG,
) -> AsyncIterator[tuple[httpx.AsyncClient, ManualClock]]:
    """A fresh app on a hand-moved clock, and an httpx client on it."""
    clock = ManualClock()
    transport = httpx.ASGITransport(app=create_app(config, clock))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://e", headers=HEADERS
    ) as client:
        yield client, clock


def requests(count: int, **params: object) -> list[dict[str, object]]:
    """`count` batch requests asking different questions."""
    return [
        {"custom_id": f"r{i}", "params": body(f"Question {i}?", **params)} for i in range(count)
    ]


async def create(client: httpx.AsyncClient, items: list[dict[str, object]]) -> str:
    """Create a batch and return its id."""
    response = await client.post(PATH, json={"requests": items})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def ended_results(
    client: httpx.AsyncClient, clock: ManualClock, items: list[dict[str, object]]
) -> tuple[dict[str, int], list[Line]]:
    """Create a batch, let it end, and return its counts and its parsed result lines."""
    batch_id = await create(client, items)
    clock.advance(CONFIG.batch_processing_s)
    counts = (await client.get(f"{PATH}/{batch_id}")).json()["request_counts"]
    response = await client.get(f"{PATH}/{batch_id}/results")
    return counts, [json.loads(line) for line in response.text.splitlines()]


def result_types(lines: list[Line]) -> list[str]:
    """The `result.type` of each line."""
    return [line["result"]["type"] for line in lines]


async def test_counts_always_sum_to_the_request_total() -> None:
    """in_progress, canceling and ended all count every request exactly once."""
    async with emulator(replace(CONFIG, batch_expire_share=0.3)) as (client, clock):
        batch_id = await create(client, requests(10))
        seen = [(await client.get(f"{PATH}/{batch_id}")).json()]
        clock.advance(3.5)
        seen.append((await client.post(f"{PATH}/{batch_id}/cancel")).json())
        clock.advance(1.0)
        seen.append((await client.get(f"{PATH}/{batch_id}")).json())
    statuses = [b["processing_status"] for b in seen]
    assert statuses == ["in_progress", "canceling", "ended"]
    assert all(sum(b["request_counts"].values()) == 10 for b in seen)
    assert seen[-1]["request_counts"]["canceled"] == 6
    assert seen[-1]["ended_at"] is not None


async def test_expire_share_ends_that_share_expired() -> None:
    """batch_expire_share makes a seeded share of requests `expired`, counted as such."""
    async with emulator(replace(CONFIG, batch_expire_share=0.5)) as (client, clock):
        counts, lines = await ended_results(client, clock, requests(40))
    types = result_types(lines)
    assert 5 < types.count("expired") < 35
    assert counts["expired"] == types.count("expired")
    assert counts["succeeded"] == types.count("succeeded") == 40 - counts["expired"]
    assert all(
        line["result"] == {"type": "expired"} for line in lines if "message" not in line["result"]
    )


async def test_seeded_faults_are_errored_results() -> None:
    """p_overloaded and p_server_error make errored lines with the whole error envelope."""
    config = replace(CONFIG, p_overloaded=0.3, p_server_error=0.3)
    async with emulator(config) as (client, clock):
        counts, lines = await ended_results(client, clock, requests(40))
    errors = [line["result"]["error"] for line in lines if line["result"]["type"] == "errored"]
    assert {e["error"]["type"] for e in errors} == {"overloaded_error", "api_error"}
    assert all(e["type"] == "error" and e["request_id"].startswith("req_") for e in errors)
    assert counts["errored"] == len(errors)


async def test_prompt_directive_applies_to_a_batch_request() -> None:
    """A `[[emulator:overloaded]]` prompt ends errored with overloaded_error."""
    items = [{"custom_id": "a", "params": body("Hi [[emulator:overloaded]]")}]
    async with emulator() as (client, clock):
        _, (line,) = await ended_results(client, clock, items)
    assert line["result"]["error"]["error"]["type"] == "overloaded_error"


def without_ids(lines: list[Line]) -> list[Line]:
    """The results with message ids and error request ids blanked (they follow the batch id)."""
    copy: list[Line] = json.loads(json.dumps(lines))
    for line in copy:
        result = line["result"]
        if "message" in result:
            result["message"]["id"] = ""
        if "error" in result:
            result["error"]["request_id"] = ""
    return copy


async def test_results_are_deterministic_for_a_seed() -> None:
    """The same requests give the same results under a seed (ids aside), others under another."""
    config = replace(CONFIG, p_overloaded=0.3, batch_expire_share=0.2, seed=7)
    runs = []
    for seed in (7, 7, 8):
        async with emulator(replace(config, seed=seed)) as (client, clock):
            runs.append((await ended_results(client, clock, requests(20)))[1])
    assert without_ids(runs[0]) == without_ids(runs[1])
    assert without_ids(runs[0]) != without_ids(runs[2])


async def test_reading_results_twice_gives_the_same_bytes() -> None:
    """Results are generated on demand, identically on every read, with stable ids."""
    async with emulator() as (client, clock):
        batch_id = await create(client, requests(5))
        clock.advance(CONFIG.batch_processing_s)
        first = await client.get(f"{PATH}/{batch_id}/results")
        second = await client.get(f"{PATH}/{batch_id}/results")
    assert first.content == second.content
    assert first.headers["content-type"] == "application/binary"
    assert first.content.endswith(b"\n")


@pytest.mark.parametrize(
    ("vary", "same_text"), [(True, False), (False, True)], ids=["vary", "fixed"]
)
async def test_repeated_questions_in_a_batch_are_samples(vary: bool, same_text: bool) -> None:
    """Two requests asking the same get the 1st and 2nd samples, as two calls would."""
    items = [{"custom_id": c, "params": body("Same question?")} for c in ("a", "b")]
    async with emulator(replace(CONFIG, vary_samples=vary)) as (client, clock):
        _, lines = await ended_results(client, clock, items)
    texts = [line["result"]["message"]["content"][0]["text"] for line in lines]
    assert (texts[0] == texts[1]) is same_text


@pytest.mark.parametrize(
    ("params", "outcome"),
    [
        ({"stream": True}, "stream: streaming is not supported"),
        ({"max_tokens": 0}, "max_tokens: Input should be greater than or equal to 1"),
        ({"speed": "fast"}, "speed: 'fast' requires the anthropic-beta header"),
    ],
    ids=["stream", "max-tokens", "beta-needed"],
)
async def test_invalid_params_end_errored(params: dict[str, object], outcome: str) -> None:
    """Params are checked at processing time: a bad one is an errored invalid_request_error."""
    items = [{"custom_id": "a", "params": body(**params)}]
    async with emulator() as (client, clock):
        counts, (line,) = await ended_results(client, clock, items)
    error = line["result"]["error"]["error"]
    assert error["type"] == "invalid_request_error"
    assert outcome in error["message"]
    assert counts["errored"] == 1


async def test_create_version_applies_to_the_requests() -> None:
    """Under 2023-06-01, temperature is accepted in batch params (2026-10-21 refuses it)."""
    async with emulator() as (client, clock):
        _, lines = await ended_results(client, clock, requests(1, temperature=0.5))
    assert result_types(lines) == ["succeeded"]


async def test_batches_do_not_charge_the_messages_rate_limits() -> None:
    """With rpm=1 a batch of five succeeds and the one /v1/messages request still gets through."""
    async with emulator(replace(CONFIG, rpm=1)) as (client, clock):
        _, lines = await ended_results(client, clock, requests(5))
        first = await client.post("/v1/messages", json=body())
        second = await client.post("/v1/messages", json=body())
    assert result_types(lines) == ["succeeded"] * 5
    assert (first.status_code, second.status_code) == (200, 429)


async def test_results_url_uses_the_request_host() -> None:
    """results_url is absolute, built from the scheme and Host the client used."""
    async with emulator() as (client, clock):
        batch_id = await create(client, requests(1))
        clock.advance(CONFIG.batch_processing_s)
        response = await client.get(f"{PATH}/{batch_id}", headers={"host": "api.example.test"})
    assert response.json()["results_url"] == f"http://api.example.test{PATH}/{batch_id}/results"


async def test_beta_query_string_is_accepted() -> None:
    """Every batch endpoint also answers with `?beta=true`."""
    async with emulator() as (client, clock):
        created = await client.post(f"{PATH}?beta=true", json={"requests": requests(1)})
        batch_id = created.json()["id"]
        clock.advance(CONFIG.batch_processing_s)
        answers = [
            await client.get(f"{PATH}/{batch_id}?beta=true"),
            await client.get(f"{PATH}?beta=true&limit=5"),
            await client.get(f"{PATH}/{batch_id}/results?beta=true"),
            await client.delete(f"{PATH}/{batch_id}?beta=true"),
        ]
    assert [r.status_code for r in [created, *answers]] == [200] * 5


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """Status, error type and message of an error envelope."""
    error = response.json()["error"]
    return response.status_code, error["type"], error["message"]


async def test_results_before_the_end_is_bad_request() -> None:
    """Asking for results while the batch is in progress is a 400."""
    async with emulator() as (client, _):
        batch_id = await create(client, requests(1))
        status, kind, message = error_of(await client.get(f"{PATH}/{batch_id}/results"))
    assert (status, kind) == (400, "invalid_request_error")
    assert "in_progress" in message


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        ("GET", PATH, {"x-api-key": ""}, (401, "authentication_error")),
        ("GET", PATH, {"anthropic-version": "2099-01-01"}, (400, "invalid_request_error")),
        ("GET", f"{PATH}?limit=0", {}, (400, "invalid_request_error")),
        ("GET", f"{PATH}?limit=1001", {}, (400, "invalid_request_error")),
        ("GET", f"{PATH}?after_id=msgbatch_nope", {}, (400, "invalid_request_error")),
        ("GET", f"{PATH}/msgbatch_nope/results", {}, (404, "not_found_error")),
        ("POST", f"{PATH}/msgbatch_nope/cancel", {}, (404, "not_found_error")),
        ("DELETE", f"{PATH}/msgbatch_nope", {}, (404, "not_found_error")),
        ("PUT", PATH, {}, (405, "invalid_request_error")),
    ],
    ids=[
        "no-key",
        "bad-version",
        "limit-0",
        "limit-1001",
        "cursor",
        "results",
        "cancel",
        "delete",
        "method",
    ],
)
async def test_refused_calls(
    method: str, path: str, headers: dict[str, str], expected: tuple[int, str]
) -> None:
    """Auth, version, list parameters, unknown ids and methods are checked on batch paths."""
    async with emulator() as (client, _):
        response = await client.request(method, path, headers=headers)
    assert error_of(response)[:2] == expected


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"requests": [{}] * 100_001}, "between 1 and 100000 items, not 100001"),
        ({"requests": [{"custom_id": "a", "params": {}, "x": 1}]}, "requests.0.x: Extra inputs"),
        ({"requests": [{"params": {}}]}, "requests.0.custom_id: String should match"),
        ({"requests": "all"}, "requests: Input should be a valid list"),
        ({"requests": [], "model": MODEL}, "model: Extra inputs are not permitted"),
        ({"requests": [1]}, "requests.0: Input should be an object"),
        ([], "The request body must be a JSON object"),
    ],
    ids=[
        "too-many",
        "extra-field",
        "no-custom-id",
        "not-a-list",
        "extra-top-level",
        "item-not-object",
        "body-not-object",
    ],
)
async def test_bad_create_bodies(payload: object, message: str) -> None:
    """The create envelope is validated at once, naming the field."""
    async with emulator() as (client, _):
        status, kind, text = error_of(await client.post(PATH, json=payload))
    assert (status, kind) == (400, "invalid_request_error")
    assert message in text


async def test_create_with_invalid_json_is_bad_request() -> None:
    """A create body that is not JSON is a 400, after the headers are checked."""
    async with emulator() as (client, _):
        response = await client.post(PATH, content=b"{nope")
    assert error_of(response)[:2] == (400, "invalid_request_error")


async def test_long_results_stream_every_line_in_order() -> None:
    """Results longer than one chunk arrive whole, one line per request, in request order."""
    async with emulator() as (client, clock):
        counts, lines = await ended_results(client, clock, requests(250))
    assert [line["custom_id"] for line in lines] == [f"r{i}" for i in range(250)]
    assert counts["succeeded"] == 250


async def test_cancel_is_idempotent_and_too_late_once_ended() -> None:
    """A second cancel keeps the first one's time; a cancel after the end changes nothing."""
    async with emulator() as (client, clock):
        batch_id = await create(client, requests(2))
        first = (await client.post(f"{PATH}/{batch_id}/cancel")).json()
        clock.advance(1.0)
        second = (await client.post(f"{PATH}/{batch_id}/cancel")).json()
        done = await create(client, requests(2))
        clock.advance(CONFIG.batch_processing_s)
        late = (await client.post(f"{PATH}/{done}/cancel")).json()
    assert second["cancel_initiated_at"] == first["cancel_initiated_at"]
    assert (late["processing_status"], late["cancel_initiated_at"]) == ("ended", None)
    assert late["request_counts"]["succeeded"] == 2


async def test_a_resubmitted_request_draws_anew() -> None:
    """Like a retry on the live path, the next batch holding the same request draws again."""
    items = [{"custom_id": "a", "params": body("Hi [[emulator:overloaded]]")}]
    async with emulator() as (client, clock):
        _, first = await ended_results(client, clock, items)
        _, second = await ended_results(client, clock, items)
    assert (result_types(first), result_types(second)) == (["errored"], ["succeeded"])
