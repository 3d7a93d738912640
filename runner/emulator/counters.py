"""Counting how often the emulator has seen a request, in bounded memory.

The emulator counts arrivals of each exact request (faults hit the first N) and samples of each
question (the n-th answer differs from the (n-1)-th). A long `emulate` session sees many
distinct, possibly large, bodies, so a counter keeps a 16-byte hash of each key, not the key,
and at most `capacity` keys: the least recently seen is forgotten first (and counts from 0 if
it comes back, as a request not seen for `capacity` others).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

CAPACITY = 100_000


class SeenCounter:
    """`seen(key)`: how many times `key` was seen before this call (0 the first time)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._counts: OrderedDict[bytes, int] = OrderedDict()

    def seen(self, key: str) -> int:
        """Count one more arrival of `key`; return the count before it."""
        digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
        before = self._counts.pop(digest, 0)
        self._counts[digest] = before + 1
        if len(self._counts) > self._capacity:
            self._counts.popitem(last=False)
        return before

    def __len__(self) -> int:
        return len(self._counts)
