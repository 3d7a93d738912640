"""The experiment as frozen typed objects: what a TOML file means once parsed.

Parsing lives in `experiment_file`; every other layer receives only the object it needs
(the retry layer a `RetryPolicy`, the scheduler `RateLimits`, the client a `Target`).
JSON-like values (request bodies, messages) are plain dicts and lists: treat them as read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from runner.catalog.prices import PriceTable

if TYPE_CHECKING:
    from runner.config.scorers import Scorer

JSONValue = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]
JSONObject = dict[str, JSONValue]

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_API_KEY_ENV = "ANTHROPIC_API_KEY"
API_VERSIONS = ("2023-06-01", "2026-10-21")


@dataclass(frozen=True)
class Target:
    """Where requests go and how they authenticate (the key itself stays in the environment)."""

    base_url: str = DEFAULT_BASE_URL
    api_key_env: str = DEFAULT_API_KEY_ENV
    anthropic_version: str = API_VERSIONS[0]


@dataclass(frozen=True)
class RetryPolicy:
    """How one request is retried: attempts, an optional deadline, exponential backoff."""

    max_attempts: int = 6
    deadline_s: float | None = None
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0


@dataclass(frozen=True)
class RateLimits:
    """Per-minute budgets the scheduler paces against; None means learn it from the headers.

    `output_counting` is "generated" (2026 rule: only produced tokens count) or "max_tokens"
    (2025 rule: max_tokens is charged up front and refunded from the usage).
    """

    rpm: int | None = None
    itpm: int | None = None
    otpm: int | None = None
    output_counting: Literal["generated", "max_tokens"] = "max_tokens"


@dataclass(frozen=True)
class RunSettings:
    """How the experiment is executed."""

    repeats: int = 1
    concurrency: int = 16
    stream: bool = True
    timeout_s: float = 600.0
    seed: int = 0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limits: RateLimits = field(default_factory=RateLimits)


@dataclass(frozen=True)
class Arm:
    """One beta-header combination plus the request-body overrides and headers it needs."""

    name: str
    betas: tuple[str, ...] = ()
    request: JSONObject = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def beta_header(self) -> str | None:
        """The `anthropic-beta` value, or None when the arm sends no such header."""
        return ",".join(self.betas) if self.betas else None

    def request_headers(self) -> dict[str, str]:
        """The headers the arm's requests carry: its own, plus `anthropic-beta` when it has
        betas (a new dict each call, for the caller to keep)."""
        headers = dict(self.headers)
        beta = self.beta_header
        if beta is not None:
            headers["anthropic-beta"] = beta
        return headers


ToolFunction = Callable[[JSONObject], object]


@dataclass(frozen=True)
class ToolScript:
    """What one client tool returns when the model calls it.

    Either `replies`, used call by call (a call past the last one is an error result), or
    `function`, the "module:callable" as written, with `call` the callable it resolved to
    (given the call's input; what it returns is the result, what it raises an error result).
    """

    name: str
    replies: tuple[str, ...] = ()
    function: str | None = None
    call: ToolFunction | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Case:
    """One prompt input; `source` says where it was defined (file:line or key path).

    A conversation case (`conversation`) runs as a loop: `messages` opens it, each answer that
    stops with tool_use gets its tools' results (`tool_results`) and the loop goes on; each
    scripted `follow_ups` user message is sent after the answer to the one before; at most
    `max_turns` requests in all. `tools` are added to the request's (by name, replacing).
    `expected` (any JSON value, None when absent) is what scorers compare the answer with and
    `metadata` free data for Python scorers; neither is sent to the API.
    """

    id: str
    messages: tuple[JSONObject, ...]
    system: JSONValue = None
    source: str = ""
    tools: tuple[JSONObject, ...] = ()
    tool_results: tuple[ToolScript, ...] = ()
    follow_ups: tuple[str, ...] = ()
    max_turns: int = 1
    expected: JSONValue = None
    metadata: JSONObject = field(default_factory=dict)

    @property
    def conversation(self) -> bool:
        """Whether the case may take more than one request."""
        return self.max_turns > 1

    def script(self, name: str) -> ToolScript | None:
        """The script of tool `name`, or None when the case does not script it."""
        return next((s for s in self.tool_results if s.name == name), None)


@dataclass(frozen=True)
class Experiment:
    """A whole experiment file, resolved; `prices` is the shipped table with the file's
    `[prices]` overrides applied (what the run's costs are computed with)."""

    name: str
    path: Path
    models: tuple[str, ...]
    arms: tuple[Arm, ...]
    cases: tuple[Case, ...]
    description: str = ""
    target: Target = field(default_factory=Target)
    run: RunSettings = field(default_factory=RunSettings)
    request: JSONObject = field(default_factory=dict)
    prices: PriceTable = field(default_factory=lambda: _shipped_prices())
    scorers: tuple[Scorer, ...] = ()

    @property
    def request_count(self) -> int:
        """Cases x models x arms x repeats."""
        return len(self.cases) * len(self.models) * len(self.arms) * self.run.repeats


def _shipped_prices() -> PriceTable:
    # Imported here: the price reader uses the config tables, which use these types.
    from runner.config.prices import default_prices

    return default_prices()
