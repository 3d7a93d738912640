"""A local mirror of one server-side token bucket: capacity, continuous refill, a reserve.

The server's buckets start full and refill at limit/60 per second. The mirror answers how long
until an attempt's cost fits while keeping `reserve` units back as a margin against the
difference between when we send and when the server counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    """Continuous-refill bucket; `taken` counts everything ever charged (for reconciling)."""

    capacity: float
    rate_per_s: float
    updated: float
    reserve: float = 0.0
    level: float = field(default=-1.0)
    taken: float = 0.0

    def __post_init__(self) -> None:
        if self.level < 0:
            self.level = self.capacity

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until `cost` fits (a cost above capacity waits for a full bucket)."""
        self._refill(now)
        need = min(cost + self.reserve, self.capacity) - self.level
        if need <= 0:
            return 0.0
        return need / self.rate_per_s if self.rate_per_s > 0 else float("inf")

    def take(self, amount: float, now: float) -> None:
        """Charge `amount`; the level may go negative (an overdraft refills first)."""
        self._refill(now)
        self.level -= amount
        self.taken += amount

    def give_back(self, amount: float, now: float) -> None:
        """Refund an over-charge, never above capacity."""
        self._refill(now)
        self.level = min(self.capacity, self.level + max(0.0, amount))

    def reanchor(self, level: float, *, since: float, now: float) -> None:
        """Adopt the level the server reported at `since`, refilled up to `now`.

        Each report replaces the local estimate, so an error in one does not persist.
        """
        if now > self.updated:  # the level is replaced: refilling it first is moot
            self.updated = now
        refilled = level + max(0.0, now - since) * self.rate_per_s
        self.level = min(self.capacity, refilled)

    def lower_to(self, level: float, now: float) -> None:
        """Adopt a lower level the server reported; a higher one is ignored (stay cautious)."""
        self._refill(now)
        self.level = min(self.level, level)

    def resize(self, capacity: float, rate_per_s: float, now: float) -> None:
        """Change the limit, keeping the level within the new capacity."""
        self._refill(now)
        self.capacity, self.rate_per_s = capacity, rate_per_s
        self.level = min(self.level, capacity)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate_per_s)
            self.updated = now
