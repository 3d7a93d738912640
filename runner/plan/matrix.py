"""The request matrix: cases x models x arms x repeats, keyed stably, in a fair dispatch order.

Fairness: for each (repeat, case, model) block every arm's request is dispatched back to back
in an order shuffled with the run's seed, so no arm systematically goes later, after a 429
episode, or onto a warmer cache than another.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

from runner.config.types import Arm, Case, Experiment, JSONObject, JSONValue
from runner.http.client import MESSAGES_PATH, PreparedRequest
from runner.schedule.scheduler import Cost

_CHARS_PER_TOKEN = 4
_DEFAULT_MAX_TOKENS = 1024


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    """One cell of the matrix."""

    key: str
    case: Case
    model: str
    arm: Arm
    repeat: int


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`: a deterministic split of the requests by key."""

    index: int
    count: int

    def holds(self, key: str) -> bool:
        """Whether the request with `key` belongs to this shard."""
        return int(key[1:], 16) % self.count == self.index - 1

    @property
    def name(self) -> str:
        """The shard's directory name, e.g. `shard-1-of-4`."""
        return f"shard-{self.index}-of-{self.count}"

    @property
    def label(self) -> str:
        """How the command line writes it, e.g. `1/4`."""
        return f"{self.index}/{self.count}"


def request_key(case_id: str, model: str, arm: str, repeat: int) -> str:
    """A stable id: the same cell gets the same key in every run of the experiment."""
    digest = hashlib.blake2b(
        json.dumps([case_id, model, arm, repeat]).encode(), digest_size=8
    ).hexdigest()
    return f"r{digest}"


def plan_requests(experiment: Experiment) -> list[PlannedRequest]:
    """Every request of the experiment, in dispatch order (seeded randomised arm blocks)."""
    rng = random.Random(experiment.run.seed)
    planned: list[PlannedRequest] = []
    for repeat in range(experiment.run.repeats):
        for case in experiment.cases:
            for model in experiment.models:
                arms = list(experiment.arms)
                rng.shuffle(arms)
                planned.extend(
                    PlannedRequest(
                        request_key(case.id, model, a.name, repeat), case, model, a, repeat
                    )
                    for a in arms
                )
    return planned


def request_body(
    experiment: Experiment,
    planned: PlannedRequest,
    messages: Sequence[JSONObject] | None = None,
) -> JSONObject:
    """The JSON body: [request] < arm overrides < the case's tools, messages/system and the
    model. `messages` (a later turn of a conversation) replaces the case's opening messages."""
    body: JSONObject = {**experiment.request, **planned.arm.request}
    body.setdefault("max_tokens", _DEFAULT_MAX_TOKENS)
    if planned.case.tools:
        body["tools"] = _with_case_tools(body.get("tools"), planned.case.tools)
    if planned.case.system is not None:
        body["system"] = planned.case.system
    body["model"] = planned.model
    body["messages"] = list(planned.case.messages if messages is None else messages)
    if experiment.run.stream:
        body["stream"] = True
    return body


def _with_case_tools(tools: JSONValue, own: Sequence[JSONObject]) -> list[JSONValue]:
    """The body's tools, a case's tool replacing the one of the same name, the rest appended."""
    names = {tool.get("name") for tool in own}
    offered = tools if isinstance(tools, list) else []
    kept = [t for t in offered if not (isinstance(t, dict) and t.get("name") in names)]
    return [*kept, *own]


def prepare(
    experiment: Experiment,
    planned: PlannedRequest,
    messages: Sequence[JSONObject] | None = None,
) -> tuple[PreparedRequest, Cost]:
    """The request as sent (with `messages`, a later turn of a conversation), and what the
    scheduler should expect it to cost."""
    body = request_body(experiment, planned, messages)
    encoded = json.dumps(body, separators=(",", ":")).encode()
    headers = planned.arm.request_headers()
    prepared = PreparedRequest(MESSAGES_PATH, encoded, headers, experiment.run.stream)
    return prepared, Cost(estimate_input_tokens(body), _max_tokens(body))


def estimate_input_tokens(body: JSONObject) -> int:
    """A rough pre-send estimate (about four characters a token) of the prompt's size."""
    parts = [body.get("messages"), body.get("system"), body.get("tools")]
    size = sum(len(json.dumps(part)) for part in parts if part is not None)
    return max(1, size // _CHARS_PER_TOKEN)


def _max_tokens(body: JSONObject) -> int:
    value = body.get("max_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
