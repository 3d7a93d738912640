"""Pure analysis over results tables: polars frames in, polars frames out; nothing printed."""

from __future__ import annotations

from runner.analysis.runs import load_run, scan_runs
from runner.analysis.summary import summarize

__all__ = ["load_run", "scan_runs", "summarize"]
