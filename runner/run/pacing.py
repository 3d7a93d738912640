"""How a run's schedulers are made: one builder for the arms' models and the judges' alike.

`Pacing.of(experiment, clock, sleep)` holds what every scheduler of one run shares: the
experiment's rate limits and concurrency, the longest pause a 429 may impose on a model (the
retry policy's `max_backoff_s`: no request would wait longer for a retry) and one run-wide
`CapacityLimiter` on attempts in flight. Each `Scheduler` it makes takes that limiter as its
`shared` cap, so whichever models a run sends to (the arms' in a session, the judges' after
them or in `beta-runner score`), its attempts in flight never exceed the experiment's
concurrency and no 429 pauses a model past the retry policy's limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import anyio

from runner.clock import Clock, Sleep
from runner.config.types import Experiment, RateLimits
from runner.schedule.scheduler import Scheduler


@dataclass(frozen=True)
class Pacing:
    """The settings and the in-flight cap shared by every scheduler of one run."""

    limits: RateLimits
    concurrency: int
    max_pause_s: float
    clock: Clock
    sleep: Sleep
    in_flight: anyio.CapacityLimiter

    @classmethod
    def of(cls, experiment: Experiment, clock: Clock, sleep: Sleep) -> Pacing:
        """The experiment's pacing, with a fresh run-wide cap of its concurrency."""
        run = experiment.run
        cap = anyio.CapacityLimiter(run.concurrency)
        return cls(run.rate_limits, run.concurrency, run.retry.max_backoff_s, clock, sleep, cap)

    def scheduler(self) -> Scheduler:
        """A scheduler for one more model, under the run-wide cap."""
        return Scheduler(
            self.limits,
            self.concurrency,
            clock=self.clock,
            sleep=self.sleep,
            shared=self.in_flight,
            max_pause_s=self.max_pause_s,
        )

    def schedulers(self, models: Iterable[str]) -> dict[str, Scheduler]:
        """One scheduler per model (each its own budgets), all under the run-wide cap."""
        return {model: self.scheduler() for model in models}
