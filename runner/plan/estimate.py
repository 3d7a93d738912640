"""Before a run: what it will roughly cost and how long it will take under the rate limits.

Cost: every request's estimated input tokens (about four characters a token) at the model's
input price, plus output at the output price, either at `max_tokens` (an upper bound) or at a
typical answer of `min(max_tokens, TYPICAL_OUTPUT_TOKENS)`, times the price table's
`fast_multiplier` for an arm that asks for `speed = "fast"`. Each (case, model, arm) cell is
priced once and multiplied by the repeats, so a huge matrix is not materialised. Duration: the
request bucket starts full, so N requests under R requests per minute need about
max(0, N - R) / (R / 60) seconds of pacing; the run takes at least that, and at least
ceil(N / concurrency) typical latencies.
Without `[run.rate_limits] rpm`, the published Start-tier figure is assumed.

A conversation case of T = `max_turns` requests sends its prompt again each turn with the
replies so far: its upper bound is T requests whose k-th input also holds k - 1 replies of
`max_tokens` (tool results not counted: their size is not known before the run); its typical
cost is that of two requests per scripted user turn (a tool call, then the answer), at most T.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from runner.catalog.prices import ModelPrice, PriceTable
from runner.config.types import Case, Experiment
from runner.plan.matrix import PlannedRequest, estimate_input_tokens, request_body, request_key

TYPICAL_OUTPUT_TOKENS = 400
START_TIER_RPM = 1000  # the 2026 Start tier for every current model class
TYPICAL_TTFT_S = 1.0
TYPICAL_TOKENS_PER_S = 60.0


@dataclass(frozen=True)
class Estimate:
    """A run's estimated cost (USD) and duration (seconds); `unpriced` lists unknown models."""

    cost_typical_usd: float
    cost_max_usd: float
    duration_s: float
    rpm: int
    unpriced: tuple[str, ...]


def estimate(experiment: Experiment, prices: PriceTable) -> Estimate:
    """Cost and duration of `experiment` (see the module docstring)."""
    typical = upper = 0.0
    unpriced: set[str] = set()
    repeats = experiment.run.repeats
    for planned in _first_repeat(experiment):  # every repeat of a cell costs the same
        price = prices.price(planned.model)
        if price is None:
            unpriced.add(planned.model)
            continue
        body = request_body(experiment, planned)
        max_tokens = body.get("max_tokens")
        ceiling = max_tokens if isinstance(max_tokens, int) else TYPICAL_OUTPUT_TOKENS
        scale = repeats * (prices.fast_multiplier if body.get("speed") == "fast" else 1.0)
        prompt = estimate_input_tokens(body)
        typical_out = min(ceiling, TYPICAL_OUTPUT_TOKENS)
        typical += scale * _conversation_usd(planned, prompt, typical_out, price, typical=True)
        upper += scale * _conversation_usd(planned, prompt, ceiling, price, typical=False)
    rpm = experiment.run.rate_limits.rpm or START_TIER_RPM
    return Estimate(typical, upper, duration_s(experiment, rpm), rpm, tuple(sorted(unpriced)))


def _conversation_usd(
    planned: PlannedRequest, prompt: int, output: int, price: ModelPrice, *, typical: bool
) -> float:
    """One request's cost, or a conversation's: `turns` requests, each also reading the
    replies before it (see the module docstring)."""
    turns = typical_turns(planned.case) if typical else planned.case.max_turns
    inputs = turns * prompt + output * turns * (turns - 1) // 2
    return (inputs * price.input + turns * output * price.output) / 1e6


def typical_turns(case: Case) -> int:
    """Requests a case typically takes: 1, or two per scripted user turn (at most max_turns)."""
    if not case.conversation:
        return 1
    return min(case.max_turns, 2 * (1 + len(case.follow_ups)))


def _first_repeat(experiment: Experiment) -> Iterator[PlannedRequest]:
    for case in experiment.cases:
        for model in experiment.models:
            for arm in experiment.arms:
                yield PlannedRequest(request_key(case.id, model, arm.name, 0), case, model, arm, 0)


def duration_s(experiment: Experiment, rpm: int) -> float:
    """Seconds: pacing under `rpm` with a full bucket, or concurrency-bound latency if longer
    (a conversation counts as its typical turns, one after another)."""
    cells = len(experiment.models) * len(experiment.arms) * experiment.run.repeats
    requests = cells * sum(typical_turns(case) for case in experiment.cases)
    pacing = max(0, requests - rpm) / (rpm / 60.0)
    max_tokens = experiment.request.get("max_tokens")
    ceiling = max_tokens if isinstance(max_tokens, int) else TYPICAL_OUTPUT_TOKENS
    latency = TYPICAL_TTFT_S + min(ceiling, TYPICAL_OUTPUT_TOKENS) / TYPICAL_TOKENS_PER_S
    waves = math.ceil(requests / experiment.run.concurrency)
    return max(pacing + latency, waves * latency)
