"""The HTML report of a run: one self-contained page (summary, charts, comparison, outputs).

`write_report(run_dir)` writes `RUN_DIR/report.html`; `box_plot` and `bar_chart` are the inline
SVG charts it draws, usable on their own (e.g. in a notebook with `IPython.display.SVG`).
"""

from __future__ import annotations

from runner.report.html import build_report, write_report
from runner.report.svg import Bar, Group, bar_chart, box_plot

__all__ = ["Bar", "Group", "bar_chart", "box_plot", "build_report", "write_report"]
