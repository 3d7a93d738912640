"""Pure analysis over results tables: polars frames in, polars frames out; nothing printed.

A library, not a command: bad arguments raise ValueErrors that say what is wrong in plain words
and carry the data (`UnknownBaseline.arm`/`.arms`); the CLI words them for its flags. Costs are
computed only with prices given (`prices=`) or recorded by the run (`load_run`).
"""

from __future__ import annotations

from runner.analysis.baseline import UnknownBaseline, check_baseline, default_baseline
from runner.analysis.compare import COMPARE_COLUMNS, compare
from runner.analysis.error_rates import error_rates
from runner.analysis.evidence import evidence_report
from runner.analysis.outputs import side_by_side
from runner.analysis.pairs import METRICS
from runner.analysis.runs import load_run, scan_runs
from runner.analysis.summary import summarize

__all__ = [
    "COMPARE_COLUMNS",
    "METRICS",
    "UnknownBaseline",
    "check_baseline",
    "compare",
    "default_baseline",
    "error_rates",
    "evidence_report",
    "load_run",
    "scan_runs",
    "side_by_side",
    "summarize",
]
