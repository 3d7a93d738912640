"""Message Batches mode: the same experiment sent as batches, one or more per (model, arm).

The `anthropic-beta` header applies to a whole batch, so requests are grouped by arm (and by
model, to keep each batch's rate-limit class single). Results stream back into the same
results table as a live run, with `batch_id` set and the latency columns empty.
"""

from __future__ import annotations

from runner.run.batches.orchestrate import BatchOptions, BatchSender

__all__ = ["BatchOptions", "BatchSender"]
