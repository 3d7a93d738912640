"""Noticing early that the target itself is wrong, so a run stops instead of failing every
request.

`TargetWatch` sees every attempt. A failure whose classification names a `target` cause
(connection refused, unknown host, TLS, 401/403, 404/405, answers that are not the Messages
API) counts against the target until any attempt succeeds; once one has, the target is
known to work and nothing counts. After `limit` such failures it records a `TargetUnusable`
naming the commonest cause, the base URL and what the server said (a 404 may name a wrong
model rather than a wrong address), and cancels the run's work scope: what finished
is kept, nothing more is sent.
"""

from __future__ import annotations

from collections import Counter

import anyio

from runner.errors import APIStatusError, Classification, TargetUnusable
from runner.http.client import AttemptOutcome

DEFAULT_LIMIT = 5


class TargetWatch:
    """Counts target failures of one run; `verdict` is set once the run should stop."""

    def __init__(self, base_url: str, work: anyio.CancelScope, limit: int = DEFAULT_LIMIT) -> None:
        self._base_url = base_url
        self._work = work
        self._limit = limit
        self._worked = False
        self._causes: Counter[tuple[str, str, str]] = Counter()
        self.verdict: TargetUnusable | None = None

    def attempt(self, outcome: AttemptOutcome) -> None:
        """Account for one finished attempt."""
        if outcome.error is None:
            self._worked = True
            return
        found: Classification = outcome.error.classification
        if self._worked or found.target is None or self.verdict is not None:
            return
        said = outcome.error.info.message if isinstance(outcome.error, APIStatusError) else ""
        self._causes[(found.target, found.hint, said)] += 1
        if self._causes.total() >= self._limit:
            (cause, hint, said), _ = self._causes.most_common(1)[0]
            failures = self._causes.total()
            self.verdict = TargetUnusable(cause, self._base_url, hint, failures, said)
            self._work.cancel()
