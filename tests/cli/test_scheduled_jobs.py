"""Scheduled jobs: --fail-on exit codes, history, JSON logs, and the key never leaking."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from e2e_support import SECRET, run_cli, write_experiment

from runner.cli.logs import EventLog
from runner.emulator import EmulatorConfig, EmulatorServer

pytestmark = pytest.mark.slow

FAST = EmulatorConfig(ttft_ms=5.0, ms_per_output_token=0.05, jitter=0.0)
ARMS = (("baseline", ()), ("bogus", ("no-such-feature-2030-01-01",)))


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """A fast emulator on loopback."""
    with EmulatorServer(FAST) as running:
        yield running


@pytest.fixture
def experiment(tmp_path: Path, server: EmulatorServer, keyed: str) -> Path:
    """Two arms, one of which always ends in an invalid_beta error; the key is set."""
    return write_experiment(tmp_path, server.url, arms=ARMS, prompts=(("a", "Hi."), ("b", "Yo.")))


def _run(tmp_path: Path, experiment: Path, run_id: str, *extra: str) -> int:
    args = ["run", experiment, "--results", tmp_path / "out", "--run-id", run_id, "-q", *extra]
    return run_cli([*args, "--allow-errors"])


def test_an_arm_without_any_successful_request_exits_1_naming_it(
    tmp_path: Path, experiment: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """By default an arm whose every request failed is exit 1, one line naming the arm and
    its commonest error; the other arm's errors alone would not be."""
    args = ["run", experiment, "--results", tmp_path / "out", "--run-id", "r1", "-q"]
    assert run_cli(args) == 1
    err = capfd.readouterr().err
    assert err.splitlines()[-1].startswith(
        "error: arm 'bogus' (model claude-opus-4-6) has no successful request: all 2 failed, "
        "mostly invalid_beta (HTTP 400): The API answered 400 invalid_request_error: "
        "Unsupported beta header"
    )
    assert "pass --allow-errors" in err
    assert "Traceback" not in err


def test_request_errors_alone_exit_0_and_a_crossed_threshold_exits_1(
    tmp_path: Path, experiment: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """With --allow-errors errors are data (exit 0); error_rate>0.5 crossed by one arm exits 1
    naming it."""
    assert _run(tmp_path, experiment, "r1") == 0
    assert _run(tmp_path, experiment, "r2", "--fail-on", "error_rate>0.5") == 1
    err = capfd.readouterr().err
    assert "1 --fail-on threshold(s) crossed" in err
    assert "model claude-opus-4-6, arm bogus: error_rate = 1 (threshold > 0.5)" in err
    assert "arm baseline" not in err
    assert "Traceback" not in err


def test_delta_and_regress_thresholds_exit_1_against_baseline_and_previous_run(
    tmp_path: Path, experiment: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """delta.* compares with the no-beta arm; regress.* with the previous complete run in
    which the arm has data (never for the arm that always fails: a warning says so)."""
    assert _run(tmp_path, experiment, "r1", "--fail-on", "regress.requests>=0") == 0
    err = capfd.readouterr().err
    assert "'regress.requests>=0' is not checked for model claude-opus-4-6, arm baseline" in err
    assert _run(tmp_path, experiment, "r2", "--fail-on", "delta.error_rate>0.5") == 1
    assert "vs 0 in baseline arm 'baseline'" in capfd.readouterr().err
    assert _run(tmp_path, experiment, "r3", "--fail-on", "regress.requests>=0") == 1
    err = capfd.readouterr().err
    assert "1 --fail-on threshold(s) crossed" in err
    assert "arm baseline: requests = 2 vs 2 in run r2" in err
    assert "'regress.requests>=0': compared with run r2." in err
    assert "is not checked for model claude-opus-4-6, arm bogus" in err


def test_a_gate_naming_no_arm_exits_2_before_anything_is_sent(
    tmp_path: Path, experiment: Path, server: EmulatorServer, capfd: pytest.CaptureFixture[str]
) -> None:
    """`--fail-on 'arm=nosuch:...'` is exit 2, naming the closest arm; nothing is sent."""
    assert _run(tmp_path, experiment, "r1", "--fail-on", "arm=bogsu:error_rate>0") == 2
    err = capfd.readouterr().err
    assert "--fail-on 'arm=bogsu:error_rate>0': there is no arm 'bogsu'. Did you mean" in err
    assert server.app.received == []
    assert not (tmp_path / "out").exists()


def test_history_lists_each_run_with_status_and_per_arm_metrics(
    tmp_path: Path, experiment: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """history --format csv/json: one row per run, oldest first, per-arm columns."""
    assert _run(tmp_path, experiment, "r1") == 0
    assert _run(tmp_path, experiment, "r2") == 0
    capfd.readouterr()
    assert run_cli(["history", experiment, "--results", tmp_path / "out", "--format", "csv"]) == 0
    table = pl.read_csv(io.StringIO(capfd.readouterr().out))
    assert table["run_id"].to_list() == ["r1", "r2"]
    assert table["status"].to_list() == ["complete", "complete"]
    assert table["bogus.error_rate"].to_list() == [1.0, 1.0]
    assert table["baseline.requests"].to_list() == [2.0, 2.0]
    args = ["history", "e2e", "--results", tmp_path / "out", "--format", "json"]
    assert run_cli([*args, "--metric", "ok"]) == 0
    rows = json.loads(capfd.readouterr().out)
    assert [set(r) for r in rows] == [
        {"run_id", "started_at", "status", "baseline.ok", "bogus.ok"}
    ] * 2
    assert run_cli(["history", "nothing-here", "--results", tmp_path / "out"]) == 2
    assert run_cli(["history", "e2e", "--results", tmp_path / "out", "--metric", "x"]) == 2


@pytest.mark.parametrize(
    "where", [pytest.param("group", id="group"), pytest.param("run", id="run")]
)
def test_json_logs_are_one_object_per_line_for_start_end_and_request_errors(
    tmp_path: Path, experiment: Path, capfd: pytest.CaptureFixture[str], where: str
) -> None:
    """--log-format json (on the group or on run) writes only JSON lines to stderr."""
    args = ["run", experiment, "--results", tmp_path / "out", "-q", "--fail-on", "errors>0"]
    args.append("--allow-errors")
    flag = ["--log-format", "json"]
    code = run_cli([*flag, *args] if where == "group" else [*args, *flag])
    assert code == 1
    lines = capfd.readouterr().err.splitlines()
    events = [json.loads(line) for line in lines if not line.startswith(("error:", "  "))]
    names = [e["event"] for e in events]
    assert names[0] == "warning"
    assert names.count("run_started") == names.count("run_finished") == 1
    assert names.count("request_error") == 2
    assert names.count("threshold_crossed") == 1
    failed = next(e for e in events if e["event"] == "request_error")
    assert (failed["arm"], failed["error_type"], failed["level"]) == (
        "bogus",
        "invalid_beta",
        "error",
    )


def test_event_log_scrubs_the_key_from_every_string() -> None:
    """A key echoed inside a message reaches the log as [redacted]."""
    stream = io.StringIO()
    log = EventLog("json", stream, (SECRET, None))
    log.warning(f"the server said {SECRET}")
    log.event("x", {"nested": [f"k={SECRET}"]})
    assert SECRET not in stream.getvalue()
    assert stream.getvalue().count("[redacted]") == 2


def test_key_never_written_or_printed_across_resume_retry_history_and_json_logs(
    tmp_path: Path, experiment: Path, server: EmulatorServer, capfd: pytest.CaptureFixture[str]
) -> None:
    """Run, resume, retry-errors, history and JSON logs: the key is in no file and no output."""
    run_dir = tmp_path / "out" / "e2e" / "r1"
    steps = [
        [
            "--log-format",
            "json",
            "run",
            experiment,
            "--results",
            tmp_path / "out",
            "--run-id",
            "r1",
            "--allow-errors",
        ],
        ["--log-format", "json", "run", experiment, "--resume", run_dir, "--allow-errors"],
        ["run", experiment, "--retry-errors", "latest", "--results", tmp_path / "out"],
        ["run", experiment, "--log-format", "json", "--retry-errors", run_dir, "--fail-on", "ok<9"],
        ["history", experiment, "--results", tmp_path / "out"],
        ["history", "e2e", "--results", tmp_path / "out", "--format", "json"],
        ["history", "e2e", "--results", tmp_path / "out", "--format", "csv"],
    ]
    codes = [run_cli(step) for step in steps]
    assert codes == [0, 0, 1, 1, 0, 0, 0]  # retry-errors: still no ok row in arm bogus
    assert any(r.header_values("x-api-key") == [SECRET] for r in server.app.received)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) >= 4
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
    out, err = capfd.readouterr()
    assert "request_error" in err
    assert SECRET not in out + err


def test_emulator_binds_loopback_unless_told_otherwise() -> None:
    """`beta-runner emulate` defaults to 127.0.0.1, and the in-process server binds it."""
    from runner.cli.commands.emulate import emulate

    host = next(p for p in emulate.params if p.name == "host")
    assert host.default == "127.0.0.1"
    with EmulatorServer(FAST) as running:
        assert running.url.startswith("http://127.0.0.1:")
