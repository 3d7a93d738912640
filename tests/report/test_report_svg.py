"""Inline SVG charts: ticks, quartiles, well-formed escaped markup with one row per item."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from runner.report.svg import Axis, Bar, Group, bar_chart, box_plot, five_numbers, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (132.0, 348.0, [100.0, 150.0, 200.0, 250.0, 300.0, 350.0]),
        (5.0, 5.0, [5.0, 5.2, 5.4, 5.6, 5.8, 6.0]),
    ],
    ids=["unit", "latencies", "flat"],
)
def test_nice_ticks_cover_the_range_in_round_steps(
    lo: float, hi: float, expected: list[float]
) -> None:
    """Ticks start at or below the minimum, end at or above the maximum, in 1/2/5 steps."""
    assert nice_ticks(lo, hi) == pytest.approx(expected)


def test_five_numbers_are_min_quartiles_median_max() -> None:
    """The five numbers use inclusive quartiles; one value gives five equal numbers."""
    assert five_numbers([4.0, 1.0, 3.0, 2.0, 5.0]) == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert five_numbers([7.0]) == (7.0,) * 5


def test_axis_maps_the_range_onto_pixels() -> None:
    """The axis maps its low end to the left pixel and its high end to the right one."""
    axis = Axis(0.0, 10.0, 100.0, 300.0)
    assert (axis.x(0.0), axis.x(5.0), axis.x(10.0)) == (100.0, 200.0, 300.0)


def test_box_plot_is_valid_svg_with_a_box_per_group_and_escaped_labels() -> None:
    """A box plot parses as XML, draws one box per group with values, and escapes labels."""
    groups = [
        Group("m · <arm>", (100.0, 120.0, 140.0, 300.0), 0),
        Group("m · b&c", (90.0, 95.0), 1),
        Group("m · empty", (), 2),
    ]
    svg = box_plot(groups, title="Latency", unit="ms")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert len(root.findall(f".//{SVG}rect")) == 2
    assert len(root.findall(f".//{SVG}circle")) == 6
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"m · <arm>", "m · b&c", "no successful requests", "Latency (ms)"} <= set(texts)


def test_bar_chart_draws_each_bar_with_its_value() -> None:
    """A bar chart has one bar per item, labelled with its formatted value."""
    svg = bar_chart([Bar("a", 34.25), Bar("b", 0.0024, 1)], title="Tokens", unit="tokens")
    root = ET.fromstring(svg)
    assert len(root.findall(f".//{SVG}rect")) == 2
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"34.2", "0.0024", "a", "b"} <= texts
