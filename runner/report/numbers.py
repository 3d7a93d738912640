"""How numbers are shown in the report: short, aligned, and never `nan` or `None`."""

from __future__ import annotations

import math

MISSING = "\N{EM DASH}"


def format_number(value: float | int | None) -> str:
    """A number with as many digits as its size needs: 1,234 / 12.3 / 0.0123; a dash if missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.1f}"
    if magnitude == 0:
        return "0"
    return f"{value:.3g}"


def format_share(value: float | None) -> str:
    """A share between 0 and 1 as a percentage with one decimal; a dash if missing."""
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{100 * value:.1f}%"
