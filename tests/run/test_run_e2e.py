"""End to end: the CLI runs experiments against the emulator over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from e2e_support import SECRET, attempts_of, results_of, run_cli, write_experiment

from runner.emulator import EmulatorConfig, EmulatorServer
from runner.results.schema import ATTEMPTS_SCHEMA, RESULTS_SCHEMA

pytestmark = pytest.mark.slow

QUICK_RETRY = (
    "repeats = 1\nconcurrency = 1\n[run.retry]\ninitial_backoff_s = 0.01\nmax_backoff_s = 0.05"
)
FAST = EmulatorConfig(ttft_ms=5.0, ms_per_output_token=0.05, jitter=0.0)


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A fast emulator on a free loopback port, fresh for each test."""
    with EmulatorServer(FAST) as server:
        yield server


def _run(tmp_path: Path, experiment: Path, run_id: str = "run1") -> tuple[int, Path]:
    args = ["run", experiment, "--results", tmp_path / "out", "--run-id", run_id, "-q"]
    code = run_cli([*args, "--allow-errors"])  # arms that only fail are what some tests study
    return code, tmp_path / "out" / "e2e" / run_id


def _received_headers(server: EmulatorServer, name: str) -> list[str | None]:
    values = []
    for request in server.app.received:
        found = [v for k, v in request.headers if k.lower() == name]
        values.append(",".join(found) if found else None)
    return values


def test_each_arm_sends_its_beta_header_and_baseline_sends_none(
    tmp_path: Path, emulator: EmulatorServer, keyed: str
) -> None:
    """The emulator receives each arm's betas comma-joined, and no header for the baseline."""
    arms = (
        ("baseline", ()),
        ("one", ("fast-mode-2026-02-01",)),
        ("two", ("fast-mode-2026-02-01", "context-management-2025-06-27")),
    )
    experiment = write_experiment(
        tmp_path,
        emulator.url,
        arms=arms,
        prompts=(("a", "Hi."), ("b", "Hello.")),
        run="repeats = 2\nconcurrency = 3",
    )
    code, run_dir = _run(tmp_path, experiment)
    assert code == 0
    seen = _received_headers(emulator, "anthropic-beta")
    assert seen.count(None) == 4
    assert seen.count("fast-mode-2026-02-01") == 4
    assert seen.count("fast-mode-2026-02-01,context-management-2025-06-27") == 4
    results = results_of(run_dir)
    assert results.height == 12
    assert results.filter(pl.col("status") != "ok").height == 0
    per_arm = dict(results.group_by("arm").len().iter_rows())
    assert per_arm == {"baseline": 4, "one": 4, "two": 4}


def test_unsupported_beta_is_a_400_row_and_not_retried(
    tmp_path: Path, emulator: EmulatorServer, keyed: str
) -> None:
    """An unknown beta ends as an invalid_beta row after one attempt; the run still completes."""
    arms = (("baseline", ()), ("bogus", ("no-such-feature-2030-01-01",)))
    experiment = write_experiment(tmp_path, emulator.url, arms=arms)
    code, run_dir = _run(tmp_path, experiment)
    assert code == 0
    bogus = results_of(run_dir).filter(pl.col("arm") == "bogus").row(0, named=True)
    assert bogus["status"] == "error"
    assert bogus["error_type"] == "invalid_beta"
    assert bogus["http_status"] == 400
    assert "Unsupported beta header: no-such-feature-2030-01-01" in bogus["error_message"]
    assert bogus["attempts"] == 1
    assert _received_headers(emulator, "anthropic-beta").count("no-such-feature-2030-01-01") == 1


@pytest.mark.parametrize(
    ("fault", "error_type"),
    [
        pytest.param("overloaded", "overloaded", id="529"),
        pytest.param("server_error", "server_error", id="500"),
        pytest.param("drop_stream", "stream_cut", id="dropped-stream"),
        pytest.param("error_event", "overloaded", id="error-event"),
    ],
)
def test_transient_failures_are_retried_until_success(
    tmp_path: Path, emulator: EmulatorServer, keyed: str, fault: str, error_type: str
) -> None:
    """A 529, 500, dropped stream or error event is retried; the request ends ok."""
    experiment = write_experiment(
        tmp_path,
        emulator.url,
        arms=(("baseline", ()),),
        prompts=(("c1", f"Tell me a story. [[emulator:{fault}]]"),),
        run=QUICK_RETRY,
    )
    code, run_dir = _run(tmp_path, experiment)
    assert code == 0
    row = results_of(run_dir).row(0, named=True)
    assert (row["status"], row["attempts"]) == ("ok", 2)
    attempts = attempts_of(run_dir).sort("attempt")
    assert attempts["error_type"].to_list() == [error_type, None]
    assert len(emulator.app.received) == 2


def test_rate_limited_request_waits_retry_after_then_succeeds(
    tmp_path: Path, emulator: EmulatorServer, keyed: str
) -> None:
    """A 429 with retry-after 1 is retried after about a second, recorded as backoff."""
    experiment = write_experiment(
        tmp_path,
        emulator.url,
        arms=(("baseline", ()),),
        prompts=(("c1", "Hi [[emulator:rate_limited]]"),),
        run="repeats = 1\nconcurrency = 1",
    )
    code, run_dir = _run(tmp_path, experiment)
    assert code == 0
    row = results_of(run_dir).row(0, named=True)
    assert (row["status"], row["attempts"]) == ("ok", 2)
    assert 950 <= row["backoff_ms"] < 2500
    first = attempts_of(run_dir).sort("attempt").row(0, named=True)
    assert (first["http_status"], first["retry_after_s"]) == (429, 1.0)
    assert first["rl_requests_limit"] is not None


def test_other_400_is_never_retried(tmp_path: Path, emulator: EmulatorServer, keyed: str) -> None:
    """temperature under API version 2026-10-21 is a 400 answered once, not retried."""
    experiment = write_experiment(
        tmp_path,
        emulator.url,
        arms=(("baseline", ()),),
        extra="temperature = 0.5",
        version="2026-10-21",
    )
    code, run_dir = _run(tmp_path, experiment)
    assert code == 0
    row = results_of(run_dir).row(0, named=True)
    assert (row["status"], row["error_type"], row["attempts"]) == ("error", "invalid_request", 1)
    assert "temperature" in row["error_message"]
    assert len(emulator.app.received) == 1


def test_ttft_is_close_to_the_injected_first_token_time(tmp_path: Path, keyed: str) -> None:
    """Streaming TTFT is within a few ms of the emulator's first-token delay, below latency."""
    config = EmulatorConfig(
        ttft_ms=150.0, ms_per_output_token=1.0, jitter=0.0, ms_per_1k_input_tokens=0.0
    )
    with EmulatorServer(config) as server:
        experiment = write_experiment(
            tmp_path,
            server.url,
            arms=(("baseline", ()),),
            prompts=(("a", "One."), ("b", "Two.")),
            run="repeats = 2\nconcurrency = 2",
        )
        code, run_dir = _run(tmp_path, experiment)
    assert code == 0
    results = results_of(run_dir)
    assert results["ttft_ms"].min() >= 150.0  # never earlier than the server sent it
    # Close to it: the median within 25 ms (loaded CI machines add scheduling noise to single
    # requests, so the bound is on the median, not the maximum).
    assert results["ttft_ms"].median() < 150.0 + 25.0
    assert (results["ttft_ms"] < results["latency_ms"]).all()
    assert (results["ttfb_ms"] <= results["ttft_ms"]).all()


def test_written_tables_match_the_schema_and_manifest_says_complete(
    tmp_path: Path, emulator: EmulatorServer, keyed: str
) -> None:
    """results.parquet and attempts.parquet hold exactly the contract's columns and types."""
    experiment = write_experiment(tmp_path, emulator.url)
    code, run_dir = _run(tmp_path, experiment)
    assert code == 0
    assert results_of(run_dir).schema == RESULTS_SCHEMA
    assert attempts_of(run_dir).schema == ATTEMPTS_SCHEMA
    import json

    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["counts"] == {"planned": 2, "requests": 2, "ok": 2, "errors": 0, "attempts": 2}
    assert not list((run_dir / "parts").glob("*.parquet"))


def test_every_attempt_records_the_client_lag_it_saw(
    tmp_path: Path, emulator: EmulatorServer, keyed: str
) -> None:
    """client_lag_ms and connect_ms are measured for every attempt and the result carries its
    final attempt's: never negative; the lag on this idle loop far below the latency it
    qualifies, and the connection's wait a part of it."""
    experiment = write_experiment(tmp_path, emulator.url)
    code, run_dir = _run(tmp_path, experiment)
    assert code == 0
    attempts, results = attempts_of(run_dir), results_of(run_dir)
    for table in (attempts, results):
        lags = table["client_lag_ms"]
        assert lags.null_count() == 0
        assert lags.min() >= 0.0  # type: ignore[operator]
    assert (results["client_lag_ms"] < results["latency_ms"] + 1000.0).all()
    for table in (attempts, results):  # the connection's wait, part of the latency
        waits = table["connect_ms"]
        assert waits.null_count() == 0
        assert ((waits >= 0.0) & (waits <= table["latency_ms"])).all()


def test_api_key_appears_in_no_written_file_or_output(
    tmp_path: Path, emulator: EmulatorServer, keyed: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """The key reaches the server but no file the run wrote, nor stdout/stderr."""
    experiment = write_experiment(
        tmp_path, emulator.url, arms=(("baseline", ()), ("bogus", ("nope-2030-01-01",)))
    )
    code, run_dir = _run(tmp_path, experiment)
    assert code == 0
    assert any(v == SECRET for v in _received_headers(emulator, "x-api-key"))
    written = [p for p in run_dir.rglob("*") if p.is_file()]
    assert written
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
    out, err = capfd.readouterr()
    assert SECRET not in out + err


def test_missing_key_is_a_usage_error_before_anything_is_written(
    tmp_path: Path, emulator: EmulatorServer, capfd: pytest.CaptureFixture[str]
) -> None:
    """Without the key variable the run exits 2, names the variable and creates no run dir."""
    experiment = write_experiment(tmp_path, emulator.url)
    code, _ = _run(tmp_path, experiment)
    assert code == 2
    assert "ANTHROPIC_API_KEY" in capfd.readouterr().err
    assert not (tmp_path / "out").exists()
    assert emulator.app.received == []


def test_existing_run_id_is_refused(tmp_path: Path, emulator: EmulatorServer, keyed: str) -> None:
    """A second run with the same --run-id exits 2 and leaves the first run untouched."""
    experiment = write_experiment(tmp_path, emulator.url)
    assert _run(tmp_path, experiment)[0] == 0
    before = results_of(tmp_path / "out" / "e2e" / "run1")
    assert _run(tmp_path, experiment)[0] == 2
    assert results_of(tmp_path / "out" / "e2e" / "run1").equals(before)


def test_manifest_records_why_the_run_went_at_its_pace(
    tmp_path: Path, emulator: EmulatorServer, keyed: str
) -> None:
    """The manifest keeps each model's scheduler state: limits learned from the headers,
    concurrency, attempts and pauses."""
    import json

    experiment = write_experiment(tmp_path, emulator.url, prompts=(("a", "Hi."), ("b", "Yo.")))
    code, run_dir = _run(tmp_path, experiment)
    assert code == 0
    state = json.loads((run_dir / "manifest.json").read_text())["scheduler"]["claude-opus-4-6"]
    assert state["limits_from"] == "headers"
    assert state["rpm"] == FAST.rpm
    assert state["attempts"] == 4
    assert (state["pauses"], state["paused_s"]) == (0, 0.0)
