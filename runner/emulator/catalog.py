"""The emulator's own catalog: which beta names and models exist, and which betas each model takes.

Kept as data, apart from the client side's lists, so the emulator can catch a client's wrong
assumptions. Beta names are the 33 of the SDK's 0.121 list, the 25 the 2.12 list adds, and two
strings the SDK sends or documents outside the list.

Model availability of betas (a beta outside its models gets a 400; every other known beta is
accepted on every model, most as a no-op):

| beta | models |
| --- | --- |
| `fast-mode-2026-02-01` | Opus 4.6 and later (Opus 4.6-4.8, Opus 5.x) |
| `context-1m-2025-08-07` | Sonnet 4.x and 5.x, Opus 4.6 and later |
| `output-300k-2026-03-24` | Opus and Sonnet 4.6 and later, every Claude 5 model |
| `interleaved-thinking-2025-05-14` | Claude 4 and later |
| `compact-2026-01-12`, `compact-2026-09-04` | Opus and Sonnet 4.6 and later, every Claude 5 model |

Deprecated models carry their end-of-life dates (the SDK's deprecation warnings: Sonnet 4.5 on
2026-11-30, Opus and Sonnet 4.0 on 2026-06-15, Claude 3.7 Sonnet and 3.5 Haiku on 2026-02-19).
From that day on a request naming one gets the API's 404 `not_found_error` ("model: NAME");
before it they are served, so betas aimed at them (token-efficient-tools, output-128k) can still
be exercised with `EmulatorConfig.today` set earlier.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

_SDK_BETAS_2026_08 = """
message-batches-2024-09-24 prompt-caching-2024-07-31 computer-use-2024-10-22
computer-use-2025-01-24 pdfs-2024-09-25 token-counting-2024-11-01
token-efficient-tools-2025-02-19 output-128k-2025-02-19 files-api-2025-04-14
mcp-client-2025-04-04 mcp-client-2025-11-20 dev-full-thinking-2025-05-14
interleaved-thinking-2025-05-14 code-execution-2025-05-22 extended-cache-ttl-2025-04-11
context-1m-2025-08-07 context-management-2025-06-27 model-context-window-exceeded-2025-08-26
skills-2025-10-02 fast-mode-2026-02-01 output-300k-2026-03-24
user-profiles-2026-03-24 advisor-tool-2026-03-01 managed-agents-2026-04-01
cache-diagnosis-2026-04-07 dreaming-2026-04-21 thinking-token-count-2026-05-13
server-side-fallback-2026-06-01 server-side-fallback-2026-07-01 fallback-credit-2026-06-01
fallback-credit-2026-07-01 agent-memory-2026-07-22 mid-conversation-tool-changes-2026-07-01
"""

_SDK_BETAS_2026_11 = """
user-profiles-2026-08-18 user-profiles-2026-09-04 compact-2026-01-12 computer-use-2025-11-24
mcp-tunnels-2026-06-22 structured-outputs-2025-11-13 task-budgets-2026-03-13
thinking-display-updates-2026-08-18 mid-conversation-output-config-2026-07-01
thinking-binding-controls-2026-08-01 mid-conversation-system-clear-at-2026-08-21 compact-2026-09-04
inline-tools-2026-09-15 mcp-client-2026-09-15 ce-plugins-2026-09-01 spend-limit-reads-2026-09-26
telemetry-destinations-2026-08-11 webhooks-2026-10-07 admin-user-sign-out-2026-10-08
message-threads-2026-08-12 analytics-usage-cost-2026-08-24 experimental-claude-tag-2026-10-21
ce-user-management-2026-07-13 ce-claude-code-managed-settings-2026-10-06
user-profiles-billing-2026-10-01
"""

_OUTSIDE_THE_LISTS = "structured-outputs-2025-12-15 fine-grained-tool-streaming-2025-05-14"

KNOWN_BETAS: frozenset[str] = frozenset(
    (_SDK_BETAS_2026_08 + _SDK_BETAS_2026_11 + _OUTSIDE_THE_LISTS).split()
)

FAST_MODE = "fast-mode-2026-02-01"
CONTEXT_1M = "context-1m-2025-08-07"
OUTPUT_128K = "output-128k-2025-02-19"
OUTPUT_300K = "output-300k-2026-03-24"
INTERLEAVED_THINKING = "interleaved-thinking-2025-05-14"
TOKEN_EFFICIENT_TOOLS = "token-efficient-tools-2025-02-19"
EXTENDED_CACHE_TTL = "extended-cache-ttl-2025-04-11"
CONTEXT_MANAGEMENT = "context-management-2025-06-27"
WINDOW_EXCEEDED = "model-context-window-exceeded-2025-08-26"
THINKING_TOKEN_COUNT = "thinking-token-count-2026-05-13"
COMPACT_BETAS = ("compact-2026-01-12", "compact-2026-09-04")

STANDARD_WINDOW = 200_000
LONG_WINDOW = 1_000_000


@dataclass(frozen=True)
class ModelInfo:
    """One model: its family and version, its output cap, its rate-limit class and, for a
    deprecated model, its end-of-life date (from that day on the API answers 404)."""

    id: str
    family: str
    version: tuple[int, int]
    max_output: int
    end_of_life: date | None = None

    def retired(self, today: date) -> bool:
        """Whether the API no longer serves this model on `today`."""
        return self.end_of_life is not None and today >= self.end_of_life

    @property
    def rate_class(self) -> str:
        """Models sharing rate-limit buckets: one per family and major version."""
        return f"{self.family}-{self.version[0]}"

    def at_least(self, family: str, version: tuple[int, int]) -> bool:
        """Whether this is `family` at `version` or later."""
        return self.family == family and self.version >= version


def _model(
    model_id: str, version: tuple[int, int], max_output: int, end_of_life: date | None = None
) -> ModelInfo:
    family = next(f for f in ("opus", "sonnet", "haiku", "fable", "mythos") if f in model_id)
    return ModelInfo(model_id, family, version, max_output, end_of_life)


MODELS: dict[str, ModelInfo] = {
    m.id: m
    for m in (
        _model("claude-opus-5-5", (5, 5), 128_000),
        _model("claude-sonnet-5-5", (5, 5), 128_000),
        _model("claude-haiku-5-5", (5, 5), 64_000),
        _model("claude-fable-5-2", (5, 2), 128_000),
        _model("claude-mythos-5-2", (5, 2), 128_000),
        _model("claude-fable-5-1", (5, 1), 128_000),
        _model("claude-mythos-5-1", (5, 1), 128_000),
        _model("claude-opus-5", (5, 0), 128_000),
        _model("claude-sonnet-5", (5, 0), 128_000),
        _model("claude-fable-5", (5, 0), 128_000),
        _model("claude-mythos-5", (5, 0), 128_000),
        _model("claude-mythos-preview", (5, 0), 128_000),
        _model("claude-opus-4-8", (4, 8), 128_000),
        _model("claude-opus-4-7", (4, 7), 128_000),
        _model("claude-opus-4-6", (4, 6), 128_000),
        _model("claude-sonnet-4-6", (4, 6), 64_000),
        _model("claude-opus-4-5", (4, 5), 64_000),
        _model("claude-sonnet-4-5", (4, 5), 64_000, date(2026, 11, 30)),
        _model("claude-haiku-4-5", (4, 5), 64_000),
        _model("claude-opus-4-1", (4, 1), 32_000),
        _model("claude-opus-4-0", (4, 0), 32_000, date(2026, 6, 15)),
        _model("claude-sonnet-4-0", (4, 0), 64_000, date(2026, 6, 15)),
        _model("claude-3-7-sonnet", (3, 7), 64_000, date(2026, 2, 19)),
        _model("claude-3-5-haiku", (3, 5), 8_192, date(2026, 2, 19)),
    )
}

ALIASES: dict[str, str] = {
    "claude-haiku-4-5-20251001": "claude-haiku-4-5",
    "claude-opus-4-5-20251101": "claude-opus-4-5",
    "claude-sonnet-4-5-20250929": "claude-sonnet-4-5",
    "claude-opus-4-1-20250805": "claude-opus-4-1",
    "claude-opus-4-20250514": "claude-opus-4-0",
    "claude-sonnet-4-20250514": "claude-sonnet-4-0",
    "claude-3-7-sonnet-20250219": "claude-3-7-sonnet",
    "claude-3-7-sonnet-latest": "claude-3-7-sonnet",
    "claude-3-5-haiku-20241022": "claude-3-5-haiku",
    "claude-3-5-haiku-latest": "claude-3-5-haiku",
}


def find_model(name: str) -> ModelInfo | None:
    """The model a name (canonical id or dated alias) stands for, or None if unknown."""
    return MODELS.get(ALIASES.get(name, name))


@dataclass(frozen=True)
class Availability:
    """Which models take a beta, as a test and as words for the error message."""

    allows: Callable[[ModelInfo], bool]
    models: str


_OPUS_SONNET_4_6_ON = Availability(
    lambda m: m.version >= (5, 0) or (m.family in ("opus", "sonnet") and m.version >= (4, 6)),
    "Claude Opus and Sonnet 4.6 and later and every Claude 5 model",
)

BETA_AVAILABILITY: dict[str, Availability] = {
    FAST_MODE: Availability(lambda m: m.at_least("opus", (4, 6)), "Claude Opus 4.6 and later"),
    CONTEXT_1M: Availability(
        lambda m: m.at_least("sonnet", (4, 0)) or m.at_least("opus", (4, 6)),
        "Claude Sonnet 4.x and 5.x and Claude Opus 4.6 and later",
    ),
    OUTPUT_300K: _OPUS_SONNET_4_6_ON,
    INTERLEAVED_THINKING: Availability(lambda m: m.version >= (4, 0), "Claude 4 and later"),
    **dict.fromkeys(COMPACT_BETAS, _OPUS_SONNET_4_6_ON),
}


def unavailable_beta(beta: str, model: ModelInfo) -> str | None:
    """The models a beta is limited to, when `model` is not among them; otherwise None."""
    rule = BETA_AVAILABILITY.get(beta)
    if rule is None or rule.allows(model):
        return None
    return rule.models
