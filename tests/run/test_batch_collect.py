"""Reading a batch's result line: a succeeded line whose message is not shaped like the
Messages API's is an error outcome saying so, as the same answer sent directly would be."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from runner.errors import NotMessagesAPI
from runner.run.batches.collect import outcome_of

SENT = datetime(2026, 12, 1, tzinfo=UTC)


def _succeeded(message: object) -> dict[str, Any]:
    return {"custom_id": "k", "result": {"type": "succeeded", "message": message}}


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ([1], "the answer is an array"),
        ({"id": "m", "content": "hi"}, "no content list"),
        ({"id": "m", "content": [], "usage": 3}, "usage is a number"),
    ],
)
def test_a_misshapen_message_is_a_not_messages_api_outcome(message: object, said: str) -> None:
    outcome = outcome_of(_succeeded(message), SENT)
    assert type(outcome.error) is NotMessagesAPI
    assert said in str(outcome.error)
    assert outcome.message is None


def test_a_message_is_kept_with_its_id_only_when_the_id_is_text() -> None:
    good = outcome_of(_succeeded({"id": "msg_1", "content": []}), SENT)
    odd = outcome_of(_succeeded({"id": 7, "content": []}), SENT)
    assert (good.error, good.request_id, good.message) == (
        None,
        "msg_1",
        {"id": "msg_1", "content": []},
    )
    assert (odd.error, odd.request_id) == (None, None)
