"""The long-agent's tool (experiments/compaction.toml): an order's full parcel-scan archive.

Each archive is long (about 20,000 tokens), as logs and histories are, so a few lookups take a
conversation past compaction's 50,000-token trigger.
"""

from __future__ import annotations

import re

HUBS = ("Leipzig", "Halle", "Berlin", "Hamburg", "Hannover", "Kassel", "Erfurt", "Dresden")
_ORDER_ID = re.compile(r"A-\d{4}")
SCANS = 1_400


def scan_archive(arguments: dict[str, object]) -> str:
    """Every scan of the order's parcels, one line each; a not-found message for a bad id."""
    found = _ORDER_ID.search(str(arguments.get("order_id", "")))
    if found is None:
        return f"No order matches {arguments.get('order_id')!r}; order ids look like A-1042."
    order = found.group()
    seed = int(order[2:])
    lines = [
        f"{order} parcel {1 + n % 3} scan {n}: {HUBS[(seed + n) % len(HUBS)]} hub, "
        f"belt {(seed * n) % 17}, status ok"
        for n in range(1, SCANS + 1)
    ]
    return "\n".join(lines)
