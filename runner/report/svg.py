"""Inline SVG charts drawn in Python: horizontal box plots and bar charts, no JavaScript.

Every chart is a self-contained `<svg>` string with its colours inline, so it renders the same
in the report, in a notebook (`IPython.display.SVG`) or saved to a file. Labels are escaped.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from runner.report.numbers import format_number

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
ROW = 26
TOP = 34
BOTTOM = 30
PLOT_WIDTH = 420
CHAR_WIDTH = 6.6


@dataclass(frozen=True, slots=True)
class Group:
    """One row of a box plot: a label, its values and a palette index for its colour."""

    label: str
    values: tuple[float, ...]
    tone: int = 0


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a bar chart: a label, its value and a palette index for its colour."""

    label: str
    value: float | None
    tone: int = 0
    missing: str = "no successful request"


@dataclass(frozen=True, slots=True)
class Axis:
    """A linear map from data values in [lo, hi] to x pixels in [left, right]."""

    lo: float
    hi: float
    left: float
    right: float

    def x(self, value: float) -> float:
        """The pixel position of `value`."""
        span = self.hi - self.lo or 1.0
        return self.left + (value - self.lo) / span * (self.right - self.left)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi], about `count` of them, steps of 1, 2 or 5 x 10^k."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    value = first
    while value < hi + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def five_numbers(values: Sequence[float]) -> tuple[float, float, float, float, float]:
    """Minimum, first quartile, median, third quartile and maximum (inclusive quartiles)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        only = ordered[0]
        return only, only, only, only, only
    q1, median, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return ordered[0], q1, median, q3, ordered[-1]


def box_plot(groups: Sequence[Group], *, title: str, unit: str) -> str:
    """Horizontal box plots, one row per group: whiskers at min and max, box at the quartiles,
    a line at the median and every value as a dot."""
    values = [v for g in groups for v in g.values]
    ticks = nice_ticks(min(values, default=0.0), max(values, default=1.0))
    axis = Axis(ticks[0], ticks[-1], _label_width(groups), _label_width(groups) + PLOT_WIDTH)
    rows = [_box_row(axis, group, TOP + i * ROW) for i, group in enumerate(groups)]
    return _frame(axis, ticks, len(groups), title, unit, "".join(rows))


def bar_chart(bars: Sequence[Bar], *, title: str, unit: str) -> str:
    """Horizontal bars from zero, one row per bar, each labelled with its value."""
    values = [b.value for b in bars if b.value is not None]
    ticks = nice_ticks(min([0.0, *values]), max([0.0, *values]))
    axis = Axis(ticks[0], ticks[-1], _label_width(bars), _label_width(bars) + PLOT_WIDTH)
    rows = [_bar_row(axis, bar, TOP + i * ROW) for i, bar in enumerate(bars)]
    return _frame(axis, ticks, len(bars), title, unit, "".join(rows))


def _box_row(axis: Axis, group: Group, y: float) -> str:
    label = _label(axis, group.label, y)
    if not group.values:
        return label + _text(axis.left + 4, y + 4, "no successful requests", "start", "#888")
    low, q1, median, q3, high = (axis.x(v) for v in five_numbers(group.values))
    colour = PALETTE[group.tone % len(PALETTE)]
    tip = ", ".join(format_number(v) for v in five_numbers(group.values))
    return (
        f"<g><title>{escape(group.label)}: min, q1, median, q3, max = {tip}</title>{label}"
        f'<line x1="{low:.1f}" x2="{high:.1f}" y1="{y}" y2="{y}" stroke="#555"/>'
        f'<rect x="{q1:.1f}" y="{y - 8}" width="{max(q3 - q1, 1):.1f}" height="16" '
        f'fill="{colour}" fill-opacity="0.35" stroke="{colour}"/>'
        f'<line x1="{median:.1f}" x2="{median:.1f}" y1="{y - 8}" y2="{y + 8}" '
        f'stroke="#222" stroke-width="2"/>{_dots(axis, group.values, y, colour)}</g>'
    )


def _dots(axis: Axis, values: Sequence[float], y: float, colour: str) -> str:
    return "".join(
        f'<circle cx="{axis.x(v):.1f}" cy="{y}" r="2" fill="{colour}" fill-opacity="0.8"/>'
        for v in values
    )


def _bar_row(axis: Axis, bar: Bar, y: float) -> str:
    if bar.value is None:  # nothing measured: never drawn as a zero
        note = _text(axis.left + 4, y + 4, bar.missing, "start", "#b00020")
        return f'<g class="missing"><title>{escape(bar.label)}: {escape(bar.missing)}</title>' + (
            f"{_label(axis, bar.label, y)}{note}</g>"
        )
    start, end = sorted((axis.x(0.0), axis.x(bar.value)))
    colour = PALETTE[bar.tone % len(PALETTE)]
    value = format_number(bar.value)
    return (
        f"<g><title>{escape(bar.label)}: {value}</title>{_label(axis, bar.label, y)}"
        f'<rect x="{start:.1f}" y="{y - 8}" width="{max(end - start, 0.5):.1f}" height="16" '
        f'fill="{colour}"/>{_text(end + 4, y + 4, value, "start", "#222")}</g>'
    )


def _frame(axis: Axis, ticks: list[float], rows: int, title: str, unit: str, body: str) -> str:
    height = TOP + max(rows, 1) * ROW + BOTTOM
    width = axis.right + 60
    bottom = TOP + max(rows, 1) * ROW - ROW / 2
    grid = "".join(
        f'<line x1="{axis.x(t):.1f}" x2="{axis.x(t):.1f}" y1="{TOP - 14}" y2="{bottom}" '
        f'stroke="#ddd"/>{_text(axis.x(t), bottom + 14, format_number(t), "middle", "#555")}'
        for t in ticks
    )
    heading = _text(axis.left, 16, f"{title} ({unit})", "start", "#222", weight="bold")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width:.0f}" '
        f'height="{height}" viewBox="0 0 {width:.0f} {height}" role="img" '
        f'aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="11">'
        f"{heading}{grid}{body}</svg>"
    )


def _label(axis: Axis, text: str, y: float) -> str:
    return _text(axis.left - 8, y + 4, text, "end", "#222")


def _text(x: float, y: float, text: str, anchor: str, colour: str, weight: str = "normal") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{colour}" '
        f'font-weight="{weight}">{escape(text)}</text>'
    )


def _label_width(items: Sequence[Group] | Sequence[Bar]) -> float:
    longest = max((len(item.label) for item in items), default=10)
    return min(longest, 60) * CHAR_WIDTH + 16
