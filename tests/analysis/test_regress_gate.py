"""`regress.*` gates compare with the newest earlier complete run that has data for the arm,
say which run, and warn when none can check; a gate naming no arm or model is refused."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from frames import result_row, row
from manifest_support import make_run

from runner.analysis.thresholds import parse_thresholds
from runner.cli.gates import RunTables, check_thresholds
from runner.cli.logs import EventLog
from runner.config.prices import default_prices
from runner.errors import ThresholdsCrossed, UsageError


def _run(results: Path, run_id: str, day: int, latency: float | None) -> Path:
    """A complete run of 4 requests on one arm: ok at `latency`, or all failed (None)."""
    made = make_run(results, run_id, started_at=datetime(2026, 1, day, tzinfo=UTC))
    if latency is None:
        rows = [row(run_id=run_id, case_id=f"c{i}", status="error", error_type="connection")
                for i in range(4)]  # fmt: skip
    else:
        rows = [row(run_id=run_id, case_id=f"c{i}", latency_ms=latency) for i in range(4)]
    made.append([result_row(r) for r in rows], [])
    return made.path


def _check(run_dir: Path, expression: str) -> tuple[ThresholdsCrossed | None, list[dict]]:
    stream = io.StringIO()
    log = EventLog("json", stream, ())
    crossed = None
    try:
        tables = RunTables.read(run_dir, default_prices())
        check_thresholds(parse_thresholds([expression]), run_dir, tables, log)
    except ThresholdsCrossed as exc:
        crossed = exc
    return crossed, [json.loads(line) for line in stream.getvalue().splitlines()]


def test_regress_after_an_outage_compares_with_the_last_run_that_had_data(tmp_path: Path) -> None:
    """r1 had data, r2 was an outage (every request failed): r3 is compared with r1, and the
    log says so."""
    _run(tmp_path, "r1", 1, 100.0)
    _run(tmp_path, "r2", 2, None)
    r3 = _run(tmp_path, "r3", 3, 200.0)
    crossed, events = _check(r3, "regress.p50_latency_ms>+10%")
    assert crossed is not None
    assert "vs 100 in run r1 (+100.0%" in crossed.violations[0]
    compared = [e for e in events if e["event"] == "threshold_compared"]
    assert compared[0]["message"] == "'regress.p50_latency_ms>+10%': compared with run r1."


def test_regress_with_no_run_that_has_data_warns_and_emits_an_event(tmp_path: Path) -> None:
    """Only an outage before: nothing crossed, but a warning and a threshold_not_checked
    event naming the model, arm and metric; never a silent pass."""
    _run(tmp_path, "r1", 1, None)
    r2 = _run(tmp_path, "r2", 2, 200.0)
    crossed, events = _check(r2, "regress.p50_latency_ms>+10%")
    assert crossed is None
    skipped = [e for e in events if e["event"] == "threshold_not_checked"]
    assert [(e["model"], e["arm"], e["metric"]) for e in skipped] == [
        ("claude-sonnet-5", "baseline", "p50_latency_ms")
    ]
    assert any(e["event"] == "warning" and "is not checked" in e["message"] for e in events)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        pytest.param("arm=baselin:error_rate>0", "there is no arm 'baselin'. Did you mean "
                     "'baseline'?", id="arm"),
        pytest.param("model=claude-sonet-5:error_rate>0", "there is no model "
                     "'claude-sonet-5'. Did you mean 'claude-sonnet-5'?", id="model"),
    ],
)  # fmt: skip
def test_a_gate_naming_no_arm_or_model_is_a_usage_error(
    tmp_path: Path, expression: str, message: str
) -> None:
    """A typo in arm= or model= is exit 2 with the closest name, not a gate silently off."""
    run_dir = _run(tmp_path, "r1", 1, 100.0)
    with pytest.raises(UsageError, match=message):
        _check(run_dir, expression)
