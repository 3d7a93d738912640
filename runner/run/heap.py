"""The run's heap: what exists before a run is kept out of the garbage collector while it runs.

A full (generation 2) collection walks every tracked object; with the CLI's imports and the
experiment loaded that is about 80,000 objects, and each walk stalled the event loop, and every
attempt in flight with it, by tens of ms a few times per thousand requests. `gc.freeze()` moves
them to a permanent generation the collector skips; `gc.unfreeze()` gives them back.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep what exists on entry out of the collector's full collections until exit; unfrozen
    after, so a long-lived caller (a notebook) collects as before."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
