"""The support agent's Python tools (experiments/agent_tools.toml): a small fake order system.

Each function takes the tool call's input (a dict) and returns the tool result as a string;
an exception becomes an `is_error` result the model sees.
"""

from __future__ import annotations

import json
import re

ORDERS = {
    "A-1042": {"status": "shipped", "carrier": "DHL", "eta": "2026-12-03", "total_eur": 84.50},
    "A-1077": {
        "status": "delivered",
        "carrier": "UPS",
        "delivered": "2026-11-28",
        "total_eur": 219.0,
    },
    "A-1101": {"status": "processing", "warehouse": "Leipzig", "total_eur": 42.90},
    "A-1120": {"status": "cancelled", "refunded": True, "total_eur": 15.00},
}
_ORDER_ID = re.compile(r"A-\d{4}")


def lookup_order(arguments: dict[str, object]) -> str:
    """The order's status as JSON, with its history; a not-found message for an unknown id."""
    found = _ORDER_ID.search(str(arguments.get("order_id", "")))
    if found is None or found.group() not in ORDERS:
        return f"No order matches {arguments.get('order_id')!r}; order ids look like A-1042."
    order = ORDERS[found.group()]
    history = [f"{found.group()} event {n}: scanned at hub {n % 5} (ok)" for n in range(1, 41)]
    return json.dumps({"order_id": found.group(), **order, "history": history})


def issue_refund(arguments: dict[str, object]) -> str:
    """A refund confirmation; refuses orders that are not delivered or already refunded."""
    found = _ORDER_ID.search(str(arguments.get("order_id", "")))
    if found is None or found.group() not in ORDERS:
        raise ValueError(f"unknown order {arguments.get('order_id')!r}")
    order = ORDERS[found.group()]
    if order.get("refunded"):
        return f"Order {found.group()} was already refunded."
    return f"Refund R-{found.group()[2:]} of {order['total_eur']} EUR created for {found.group()}."
