"""The official SDK's Message Batches calls work against the emulator unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import anthropic
import pytest
from anthropic.types import TextBlock
from anthropic.types.messages import (
    MessageBatchCanceledResult,
    MessageBatchErroredResult,
    MessageBatchSucceededResult,
)

from runner.emulator import EmulatorServer
from tests.emulator.support import FAST, MODEL, ManualClock

PROCESSING_S = 5.0
CONTEXT_MANAGEMENT = "context-management-2025-06-27"


def request(custom_id: str, text: str = "Hello there.", **params: object) -> dict[str, object]:
    """One batch request with a minimal valid Messages body."""
    body = {"model": MODEL, "max_tokens": 100, "messages": [{"role": "user", "content": text}]}
    return {"custom_id": custom_id, "params": {**body, **params}}


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    """The module server's clock, moved by hand."""
    return ManualClock()


@pytest.fixture(scope="module")
def server(clock: ManualClock) -> Iterator[EmulatorServer]:
    """A fast emulator whose batches take PROCESSING_S on a hand-moved clock."""
    config = replace(FAST, batch_processing_s=PROCESSING_S)
    with EmulatorServer(config, clock=clock) as running:
        yield running


def test_create_returns_an_in_progress_batch(sdk: anthropic.Anthropic) -> None:
    """create answers a MessageBatch: in progress, every request processing, no results yet."""
    batch = sdk.messages.batches.create(requests=[request("a"), request("b")])  # type: ignore[list-item]
    assert batch.id.startswith("msgbatch_")
    assert batch.processing_status == "in_progress"
    assert batch.request_counts.processing == 2
    assert batch.request_counts.succeeded == batch.request_counts.errored == 0
    assert batch.results_url is None
    assert batch.ended_at is None
    assert batch.created_at.utcoffset() == timedelta(0)
    assert batch.expires_at - batch.created_at == timedelta(hours=24)


def test_batch_ends_after_processing_time(
    sdk: anthropic.Anthropic, clock: ManualClock, emulator: EmulatorServer
) -> None:
    """retrieve says in_progress until batch_processing_s has passed, then ended with counts."""
    created = sdk.messages.batches.create(requests=[request("a"), request("b", model="nope")])  # type: ignore[list-item]
    clock.advance(PROCESSING_S - 0.1)
    assert sdk.messages.batches.retrieve(created.id).processing_status == "in_progress"
    clock.advance(0.1)
    batch = sdk.messages.batches.retrieve(created.id)
    assert batch.processing_status == "ended"
    assert batch.request_counts.model_dump() == {
        "processing": 0,
        "succeeded": 1,
        "errored": 1,
        "canceled": 0,
        "expired": 0,
    }
    assert batch.ended_at == created.created_at + timedelta(seconds=PROCESSING_S)
    assert batch.results_url == f"{emulator.url}/v1/messages/batches/{batch.id}/results"


def test_results_parse_into_sdk_types(sdk: anthropic.Anthropic, clock: ManualClock) -> None:
    """results yields one line per request in order: succeeded Messages and error envelopes."""
    requests = [
        request("ok"),
        request("temperature", temperature=0.5),
        request("unknown-model", model="claude-nonexistent-1"),
    ]
    batch = sdk.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    clock.advance(PROCESSING_S)
    lines = list(sdk.messages.batches.results(batch.id))
    assert [line.custom_id for line in lines] == ["ok", "temperature", "unknown-model"]
    ok, temperature, unknown = (line.result for line in lines)
    assert isinstance(ok, MessageBatchSucceededResult)
    assert isinstance(ok.message.content[0], TextBlock)
    assert ok.message.usage.service_tier == "batch"
    assert isinstance(temperature, MessageBatchErroredResult)
    assert temperature.error.type == "error"
    assert temperature.error.error.type == "invalid_request_error"
    assert temperature.error.error.message == "temperature: Extra inputs are not permitted"
    assert (temperature.error.request_id or "").startswith("req_")
    assert isinstance(unknown, MessageBatchErroredResult)
    assert unknown.error.error.type == "not_found_error"


def test_results_request_asks_for_binary_and_reaches_results_url(
    sdk: anthropic.Anthropic, clock: ManualClock, emulator: EmulatorServer
) -> None:
    """The SDK follows results_url with Accept application/binary and gets that type back."""
    batch = sdk.messages.batches.create(requests=[request("a")])  # type: ignore[list-item]
    clock.advance(PROCESSING_S)
    decoder = sdk.messages.batches.results(batch.id)
    assert decoder.http_response.headers["content-type"] == "application/binary"
    decoder.close()
    received = emulator.app.received[-1]
    assert received.path == f"/v1/messages/batches/{batch.id}/results"
    assert received.header_values("accept") == ["application/binary"]


def test_batch_answer_matches_messages_create(sdk: anthropic.Anthropic, clock: ManualClock) -> None:
    """A batch request gets the reply /v1/messages gives the same body, billed as batch."""
    params = request("same", "Tell me about rivers.")["params"]
    live = sdk.messages.create(**params)  # type: ignore[arg-type]
    batch = sdk.messages.batches.create(requests=[{"custom_id": "same", "params": params}])  # type: ignore[list-item, typeddict-item]
    clock.advance(PROCESSING_S)
    (line,) = sdk.messages.batches.results(batch.id)
    assert isinstance(line.result, MessageBatchSucceededResult)
    batched = line.result.message
    assert batched.content == live.content
    assert batched.usage.input_tokens == live.usage.input_tokens
    assert batched.usage.output_tokens == live.usage.output_tokens
    assert (live.usage.service_tier, batched.usage.service_tier) == ("standard", "batch")


def test_beta_create_sends_betas_that_apply_to_every_request(
    sdk: anthropic.Anthropic, clock: ManualClock, emulator: EmulatorServer
) -> None:
    """beta...create(betas=[...]) sends the header; each request is answered under it."""
    edits = {"context_management": {"edits": []}}
    requests = [request("a", **edits), request("b", **edits)]
    with_beta = sdk.beta.messages.batches.create(requests=requests, betas=[CONTEXT_MANAGEMENT])  # type: ignore[arg-type]
    assert emulator.app.received[-1].header_values("anthropic-beta") == [CONTEXT_MANAGEMENT]
    without = sdk.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    clock.advance(PROCESSING_S)
    beta_lines = sdk.beta.messages.batches.results(with_beta.id, betas=[CONTEXT_MANAGEMENT])
    assert [line.result.type for line in beta_lines] == ["succeeded", "succeeded"]
    counts = sdk.messages.batches.retrieve(without.id).request_counts
    assert (counts.errored, counts.succeeded) == (2, 0)


def test_unsupported_beta_is_bad_request(sdk: anthropic.Anthropic) -> None:
    """An unknown beta on the create call is a 400 naming it."""
    with pytest.raises(anthropic.BadRequestError, match="Unsupported beta header: no-such-beta"):
        sdk.beta.messages.batches.create(requests=[request("a")], betas=["no-such-beta"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        ([request("has space")], "requests.0.custom_id: String should match pattern"),
        ([request("x" * 65)], "requests.0.custom_id: String should match pattern"),
        ([request("a"), request("a")], "requests.1.custom_id: duplicate custom_id 'a'"),
        ([{"custom_id": "a", "params": "hi"}], "requests.0.params: Input should be an object"),
        ([], "requests: List should have between 1 and 100000 items, not 0"),
    ],
    ids=["space", "too-long", "duplicate", "params-not-object", "empty"],
)
def test_bad_create_is_bad_request(
    sdk: anthropic.Anthropic, requests: list[dict[str, object]], message: str
) -> None:
    """A malformed batch is refused with a 400 naming the field."""
    with pytest.raises(anthropic.BadRequestError, match=message):
        sdk.messages.batches.create(requests=requests)  # type: ignore[arg-type]


def test_unknown_batch_is_not_found(sdk: anthropic.Anthropic) -> None:
    """retrieve of an id the emulator never made is a 404."""
    with pytest.raises(anthropic.NotFoundError, match="msgbatch_nope"):
        sdk.messages.batches.retrieve("msgbatch_nope")


def test_list_is_newest_first_and_pages(sdk: anthropic.Anthropic) -> None:
    """list pages newest first; the SDK's auto-pagination walks every batch once."""
    ids = [sdk.messages.batches.create(requests=[request("a")]).id for _ in range(3)]  # type: ignore[list-item]
    page = sdk.messages.batches.list(limit=2)
    assert [b.id for b in page.data] == ids[:0:-1]
    assert page.has_more is True
    assert (page.first_id, page.last_id) == (ids[2], ids[1])
    assert [b.id for b in sdk.messages.batches.list(limit=2)] == ids[::-1]
    newer = sdk.messages.batches.list(before_id=ids[0], limit=1)
    assert [b.id for b in newer.data] == [ids[1]]


def test_cancel_lets_the_request_in_flight_finish(
    sdk: anthropic.Anthropic, clock: ManualClock
) -> None:
    """cancel answers canceling; the batch then ends with the unprocessed requests canceled."""
    batch = sdk.messages.batches.create(requests=[request(f"r{i}") for i in range(4)])  # type: ignore[misc]
    canceling = sdk.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling"
    assert canceling.cancel_initiated_at is not None
    assert canceling.request_counts.processing == 4
    clock.advance(PROCESSING_S / 4)
    ended = sdk.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    assert (ended.request_counts.succeeded, ended.request_counts.canceled) == (1, 3)
    results = [line.result for line in sdk.messages.batches.results(batch.id)]
    assert isinstance(results[0], MessageBatchSucceededResult)
    assert all(isinstance(r, MessageBatchCanceledResult) for r in results[1:])


def test_delete_only_once_ended(sdk: anthropic.Anthropic, clock: ManualClock) -> None:
    """delete is a 400 while processing; after the end it deletes, and the id is then a 404."""
    batch = sdk.messages.batches.create(requests=[request("a")])  # type: ignore[list-item]
    with pytest.raises(anthropic.BadRequestError, match="cannot be deleted"):
        sdk.messages.batches.delete(batch.id)
    clock.advance(PROCESSING_S)
    deleted = sdk.messages.batches.delete(batch.id)
    assert (deleted.id, deleted.type) == (batch.id, "message_batch_deleted")
    with pytest.raises(anthropic.NotFoundError):
        sdk.messages.batches.retrieve(batch.id)


@pytest.mark.anyio
async def test_async_client_round_trip(
    async_sdk: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    """The async client creates, polls and reads results."""
    batch = await async_sdk.messages.batches.create(requests=[request("a")])  # type: ignore[list-item]
    clock.advance(PROCESSING_S)
    assert (await async_sdk.messages.batches.retrieve(batch.id)).processing_status == "ended"
    lines = [line async for line in await async_sdk.messages.batches.results(batch.id)]
    assert [line.result.type for line in lines] == ["succeeded"]
