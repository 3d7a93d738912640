"""The request matrix: cases x models x arms x repeats, keyed stably, in a fair dispatch order.

Fairness: for each (repeat, case, model) block every arm's request is dispatched back to back
in an order shuffled with the run's seed, so no arm systematically goes later, after a 429
episode, or onto a warmer cache than another.

Sharing: the repeats of one (case, model, arm) cell send the same opening body, so a plan
gives each cell one `Opening` that encodes it (and estimates its cost) on first use; the
repeats reuse those immutable bytes, and the cell lets go of them once its last repeat took
them, so a plan of many long prompts holds none after sending them (a resumed or sharded
plan missing some repeats keeps those cells' bytes until the plan goes). A later turn of a
conversation is encoded each time.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from runner.config.types import Arm, Case, Experiment, JSONObject, JSONValue
from runner.http.client import MESSAGES_PATH, PreparedRequest
from runner.json_text import encoder
from runner.schedule.scheduler import Cost

_CHARS_PER_TOKEN = 4
_DEFAULT_MAX_TOKENS = 1024
_COMPACT = encoder(",", ":")  # json.dumps with options builds an encoder per call


class Opening:
    """The opening request of one (case, model, arm) cell of a plan of `experiment`, made on
    first use and shared by the cell's `uses` planned requests (dropped after the last, made
    again if asked once more); only for that experiment's request and stream settings (the
    rest of an experiment never reaches the body)."""

    __slots__ = ("_left", "_made", "_request", "_stream")

    def __init__(self, experiment: Experiment, uses: int) -> None:
        self._request = experiment.request
        self._stream = experiment.run.stream
        self._made: tuple[PreparedRequest, Cost] | None = None
        self._left = uses

    def fits(self, experiment: Experiment) -> bool:
        """Whether `experiment` builds the same bodies as the one this was planned from."""
        return experiment.request is self._request and experiment.run.stream == self._stream

    def made(self, experiment: Experiment, planned: PlannedRequest) -> tuple[PreparedRequest, Cost]:
        """The cell's opening request and cost, made from `experiment` the first time."""
        made = self._made or _prepared(experiment, planned, request_body(experiment, planned))
        self._left -= 1
        # Kept only while a repeat is still to take it: a run's memory stays flat.
        self._made = made if self._left > 0 else None
        return made


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    """One cell of the matrix (`opening`: its cell's shared opening request, when planned by
    `plan_requests`)."""

    key: str
    case: Case
    model: str
    arm: Arm
    repeat: int
    opening: Opening | None = field(default=None, compare=False, repr=False)


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
    """A stable id: the same cell gets the same key in every run of the experiment (`r`, then
    the 8-byte blake2b hex digest of the JSON list `[case_id, model, arm, repeat]`)."""
    return _keyed(_cell_digest(case_id, model, arm), repeat)


def _cell_digest(case_id: str, model: str, arm: str) -> hashlib.blake2b:
    """The key's digest fed the JSON list up to its repeat, copied for each repeat."""
    opening = json.dumps([case_id, model, arm])[:-1] + ", "
    return hashlib.blake2b(opening.encode(), digest_size=8)


def _keyed(cell: hashlib.blake2b, repeat: int) -> str:
    digest = cell.copy()
    digest.update(f"{repeat}]".encode())
    return f"r{digest.hexdigest()}"


def plan_requests(experiment: Experiment) -> list[PlannedRequest]:
    """Every request of the experiment, in dispatch order (seeded randomised arm blocks)."""
    rng = random.Random(experiment.run.seed)
    cases, models, arms = experiment.cases, experiment.models, experiment.arms
    cells = _cells(experiment)
    planned: list[PlannedRequest] = []
    for repeat in range(experiment.run.repeats):
        for case in cases:
            for model in models:
                block = list(arms)
                rng.shuffle(block)
                for arm in block:
                    digest, opening = cells[id(case), model, id(arm)]
                    key = _keyed(digest, repeat)
                    planned.append(PlannedRequest(key, case, model, arm, repeat, opening))
    return planned


def _cells(experiment: Experiment) -> dict[tuple[int, str, int], tuple[hashlib.blake2b, Opening]]:
    """Each (case, model, arm) cell's key digest and opening, keyed by the objects (ids need
    not be unique in an Experiment built in Python; a cell listed twice is planned twice)."""
    e = experiment
    listed = Counter((id(c), m, id(a)) for c in e.cases for m in e.models for a in e.arms)
    return {
        (id(c), m, id(a)): (
            _cell_digest(c.id, m, a.name),
            Opening(e, listed[id(c), m, id(a)] * e.run.repeats),
        )
        for c in e.cases
        for m in e.models
        for a in e.arms
    }


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
    scheduler should expect it to cost. Without `messages` it is the cell's shared opening
    when `planned` has one that fits `experiment`: the same bytes, encoded once."""
    opening = planned.opening
    if messages is None and opening is not None and opening.fits(experiment):
        return opening.made(experiment, planned)
    return _prepared(experiment, planned, request_body(experiment, planned, messages))


def _prepared(
    experiment: Experiment, planned: PlannedRequest, body: JSONObject
) -> tuple[PreparedRequest, Cost]:
    encoded = _COMPACT(body).encode()
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
