"""Built-in beta effects: what each beta changes, and the limits that depend on betas.

`resolve` turns the request's betas and body into `Features` for generation and timing;
`check` raises the 400s that depend on model, betas and input size. Planted effects
(`BetaEffect`) are picked here too, when their beta is in the header.

| beta (needs) | effect in the emulator |
| --- | --- |
| `token-efficient-tools-2025-02-19` (`tools`) | on Claude 3.7 Sonnet, tool-calling replies cost |
| | 14% fewer output tokens; a no-op on Claude 4 and 5 |
| `interleaved-thinking-2025-05-14` (`thinking` | a thinking block also after tool results; |
| `enabled`) | `budget_tokens` may reach `max_tokens` |
| (none: `thinking.type=adaptive`) | interleaves without the beta, as documented |
| `context-1m-2025-08-07` | context window 1M instead of 200K (eligible models) |
| `output-128k-2025-02-19` | Claude 3.7 Sonnet `max_tokens` cap 128K, not 64K |
| `output-300k-2026-03-24` | `max_tokens` cap 300K (eligible models) |
| `model-context-window-exceeded-2025-08-26` | input + `max_tokens` over the window is allowed; |
| | output stops there, `stop_reason` `model_context_window_exceeded` |
| `extended-cache-ttl-2025-04-11` | `ttl: "1h"` writes count as 1h; without it 1h acts as 5m |
| `context-management-2025-06-27` | `context_management.edits` clear old tool results or |
| | thinking past the trigger (`context_edits`), lower |
| | `input_tokens` and are reported in `applied_edits`; the |
| | field without the beta is a 400 |
| `compact-2026-01-12` (a `compact_20260112` edit) | past the trigger the reply starts with a |
| | `compaction` summary block and later requests see only |
| | what follows it (`compaction`); the edit without the beta |
| | is a 400 |
| `fast-mode-2026-02-01` (`speed: "fast"`) | output 2.5x faster, `usage.speed = "fast"`; |
| | `speed: "fast"` without the beta is a 400 |
| `structured-outputs-2025-11-13`, `-12-15` | `output_config.format` makes the text JSON rendered |
| | from the schema (works without the beta too) |
| `thinking-token-count-2026-05-13` | `estimated_tokens` on each streamed `thinking_delta` |
| any other known beta | accepted, no effect |
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.emulator import catalog as cat
from runner.emulator.compaction import check_edits
from runner.emulator.errors import invalid_request
from runner.emulator.planted import BetaEffect
from runner.emulator.request import MessageRequest, Obj

FAST_SPEEDUP = 2.5
TOKEN_EFFICIENT_FACTOR = 0.86


@dataclass(frozen=True)
class Features:
    """What the request's betas and body turn on, as generation and timing need it."""

    context_window: int
    max_output: int
    window_stop: bool
    thinking_after_tool: bool
    budget_over_max: bool
    tool_token_factor: float
    fast: bool
    long_cache_ttl: bool
    estimated_thinking: bool
    context_edits: tuple[Obj, ...]
    planted: tuple[BetaEffect, ...]
    p_correct: float = 0.8


def resolve(
    request: MessageRequest,
    betas: tuple[str, ...],
    planted: tuple[BetaEffect, ...],
    p_correct: float = 0.8,
) -> Features:
    """The features a request gets from its betas, its body and the planted effects;
    `p_correct` is the chance of a right answer before planted `correct` points."""
    on = set(betas)
    mine = tuple(e for e in planted if e.beta in on)
    model = request.model
    long_window = cat.CONTEXT_1M in on and cat.unavailable_beta(cat.CONTEXT_1M, model) is None
    return Features(
        context_window=cat.LONG_WINDOW if long_window else cat.STANDARD_WINDOW,
        max_output=_max_output(model, on),
        window_stop=cat.WINDOW_EXCEEDED in on,
        thinking_after_tool=request.thinking == "adaptive" or cat.INTERLEAVED_THINKING in on,
        budget_over_max=cat.INTERLEAVED_THINKING in on,
        tool_token_factor=_tool_factor(request, on),
        fast=request.speed == "fast" and cat.FAST_MODE in on,
        long_cache_ttl=cat.EXTENDED_CACHE_TTL in on,
        estimated_thinking=cat.THINKING_TOKEN_COUNT in on,
        context_edits=_edits(request) if cat.CONTEXT_MANAGEMENT in on else (),
        planted=mine,
        p_correct=p_correct + sum(e.correct_points for e in mine) / 100.0,
    )


def _max_output(model: cat.ModelInfo, on: set[str]) -> int:
    if cat.OUTPUT_300K in on:
        return 300_000
    if cat.OUTPUT_128K in on and model.id == "claude-3-7-sonnet":
        return 128_000
    return model.max_output


def _tool_factor(request: MessageRequest, on: set[str]) -> float:
    applies = cat.TOKEN_EFFICIENT_TOOLS in on and request.tools and request.model.version < (4, 0)
    return TOKEN_EFFICIENT_FACTOR if applies else 1.0


def _edits(request: MessageRequest) -> tuple[Obj, ...]:
    config = request.body.get("context_management")
    edits = config.get("edits") if isinstance(config, dict) else None
    return tuple(e for e in edits if isinstance(e, dict)) if isinstance(edits, list) else ()


def check_betas(request: MessageRequest, betas: tuple[str, ...]) -> None:
    """400 for a beta the model does not take, or a body field that needs a missing beta."""
    for beta in betas:
        models = cat.unavailable_beta(beta, request.model)
        if models is not None:
            raise invalid_request(
                f"The beta {beta} is not available for model {request.model_name}; "
                f"it is available on {models}."
            )
    if request.speed == "fast" and cat.FAST_MODE not in betas:
        raise invalid_request(f"speed: 'fast' requires the anthropic-beta header {cat.FAST_MODE}")
    check_edits(request, betas)


def check_limits(request: MessageRequest, features: Features, input_tokens: int) -> None:
    """400 for a prompt over the window, `max_tokens` over the cap, or a bad thinking budget."""
    window, wanted = features.context_window, request.max_tokens
    if input_tokens > window:
        raise invalid_request(f"prompt is too long: {input_tokens} tokens > {window} maximum")
    if wanted > features.max_output:
        raise invalid_request(
            f"max_tokens: {wanted} > {features.max_output}, which is the maximum allowed number "
            f"of output tokens for {request.model_name}"
        )
    if input_tokens + wanted > window and not features.window_stop:
        raise invalid_request(
            f"input length and `max_tokens` exceed context limit: {input_tokens} + {wanted} > "
            f"{window}, decrease input length or `max_tokens` and try again"
        )
    if (
        request.thinking == "enabled"
        and request.thinking_budget >= wanted
        and not features.budget_over_max
    ):
        raise invalid_request("`max_tokens` must be greater than `thinking.budget_tokens`")
