"""What a run is given from outside: its HTTP client, key, clock and sleep, and optionally
another way to send its requests (a `Sender`, such as Message Batches)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx
from anyio.streams.memory import MemoryObjectSendStream

from runner.clock import Clock, MonotonicClock, Sleep, real_sleep
from runner.config.types import Experiment
from runner.http.client import MessagesClient
from runner.http.lag import LoopLag
from runner.http.transport import PooledTransport, RunClient
from runner.plan.matrix import PlannedRequest
from runner.results.writer import ResultObserver, Row
from runner.run.option_names import FLAGS, OptionNames


def http_client(concurrency: int, timeout_s: float) -> httpx.AsyncClient:
    """The run's one HTTP client: as many pooled connections as the concurrency, keeping no
    cookies (requests stay independent of each other)."""
    timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
    return RunClient(transport=PooledTransport(concurrency), timeout=timeout)


@dataclass(frozen=True)
class RunServices:
    """The seams a run needs, injected (tests pass fakes for clock and sleep)."""

    http: httpx.AsyncClient
    api_key: str | None
    clock: Clock
    sleep: Sleep
    observer: ResultObserver | None = None
    lag: LoopLag | None = None  # the run's loop-lag ticker; execute_run makes one when None
    names: OptionNames = FLAGS  # how a message names resuming (KEYWORDS from Python)

    @classmethod
    def real(
        cls, http: httpx.AsyncClient, api_key: str | None, observer: ResultObserver | None = None
    ) -> RunServices:
        """Real time and sleep."""
        return cls(http, api_key, MonotonicClock(), real_sleep, observer)


def messages_client(experiment: Experiment, services: RunServices) -> MessagesClient:
    """The run's Messages API client: over `services.http`, timed by `services.clock`, marking
    loop lag on `services.lag` when there is one."""
    return MessagesClient(
        services.http,
        experiment.target,
        services.api_key,
        timeout_s=experiment.run.timeout_s,
        clock=services.clock,
        lag=services.lag,
    )


class Sender(Protocol):
    """Another way to send a run's requests (Message Batches): it must send one result row
    per finished request, and attempt rows, on `rows`."""

    async def __call__(
        self,
        todo: list[PlannedRequest],
        rows: MemoryObjectSendStream[Row],
        prior: Mapping[str, int],
    ) -> None:
        """Send `todo`; `prior` holds attempts made by earlier sessions, per request key."""
        ...
