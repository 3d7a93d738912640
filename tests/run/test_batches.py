"""Message Batches mode and shards, end to end against the emulator over loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from e2e_support import attempts_of, results_of, run_cli, write_experiment

from runner.emulator import EmulatorConfig, EmulatorServer
from runner.results.schema import RESULTS_SCHEMA

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("keyed")]

BATCHING = EmulatorConfig(ttft_ms=5.0, ms_per_output_token=0.05, jitter=0.0, batch_processing_s=0.2)
ARMS = (("baseline", ()), ("beta", ("context-management-2025-06-27",)))
PROMPTS = (("a", "One."), ("b", "Two."), ("c", "Three."))


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """An emulator whose batches end 0.2 s after creation."""
    with EmulatorServer(BATCHING) as server:
        yield server


def _run(tmp_path: Path, experiment: Path, *extra: str, run_id: str = "b1") -> Path:
    out = tmp_path / "out"
    code = run_cli(["run", experiment, "--results", out, "--run-id", run_id, "-q", *extra])
    assert code == 0
    return out / "e2e" / run_id


def _creates(server: EmulatorServer) -> list[tuple[str | None, int]]:
    """(anthropic-beta header, number of requests) of every batch the emulator was asked for."""
    found = []
    for request in server.app.received:
        if request.method == "POST" and request.path == "/v1/messages/batches":
            beta = ",".join(request.header_values("anthropic-beta")) or None
            assert isinstance(request.body, dict)
            found.append((beta, len(request.body["requests"])))
    return found


def test_batch_run_yields_the_live_table_shape_with_batch_ids(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    """--via batches sends one batch per arm with that arm's header, and writes one result row
    per request in the results schema, with batch_id set and no latency."""
    experiment = write_experiment(
        tmp_path, emulator.url, arms=ARMS, prompts=PROMPTS, run="repeats = 2\nconcurrency = 4"
    )
    run_dir = _run(tmp_path, experiment, "--via", "batches")
    results = results_of(run_dir)
    assert results.schema == RESULTS_SCHEMA
    assert results.height == 12
    assert results.filter(pl.col("status") == "ok").height == 12
    assert results["batch_id"].null_count() == 0
    assert results["latency_ms"].null_count() == 12
    assert sorted(_creates(emulator), key=str) == [("context-management-2025-06-27", 6), (None, 6)]
    batch_ids = results.group_by("arm").agg(pl.col("batch_id").n_unique())
    assert batch_ids["batch_id"].to_list() == [1, 1]


def test_batch_size_splits_an_arm_into_several_batches(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    """--batch-size caps the requests per batch."""
    experiment = write_experiment(
        tmp_path, emulator.url, arms=ARMS[:1], prompts=PROMPTS, run="repeats = 2\nconcurrency = 4"
    )
    run_dir = _run(tmp_path, experiment, "--via", "batches", "--batch-size", "4")
    assert [n for _, n in _creates(emulator)] == [4, 2]
    assert results_of(run_dir).filter(pl.col("status") == "ok").height == 6


def test_rejected_beta_fails_that_arms_requests_only(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    """A batch refused for an unknown beta gives invalid_beta rows; other arms succeed."""
    arms = (("baseline", ()), ("bogus", ("no-such-beta-2030-01-01",)))
    experiment = write_experiment(tmp_path, emulator.url, arms=arms, prompts=PROMPTS)
    results = results_of(_run(tmp_path, experiment, "--via", "batches", "--allow-errors"))
    by_arm = dict(
        results.group_by("arm").agg(pl.col("error_type").drop_nulls().unique()).iter_rows()
    )
    assert by_arm == {"baseline": [], "bogus": ["invalid_beta"]}


def test_expired_requests_are_resubmitted_until_done(tmp_path: Path) -> None:
    """Requests that expire go into a new batch; every request ends ok, and the attempts
    table holds one row per try."""
    config = EmulatorConfig(batch_processing_s=0.1, batch_expire_share=0.5, seed=3)
    with EmulatorServer(config) as server:
        experiment = write_experiment(
            tmp_path,
            server.url,
            arms=ARMS[:1],
            prompts=PROMPTS,
            run="repeats = 4\nconcurrency = 4\nmax_attempts = 10",
        )
        run_dir = _run(tmp_path, experiment, "--via", "batches")
        creates = _creates(server)
    results, attempts = results_of(run_dir), attempts_of(run_dir)
    assert results.filter(pl.col("status") == "ok").height == 12
    assert len(creates) >= 2
    assert attempts.height == results["attempts"].sum()
    assert attempts.filter(pl.col("error_type") == "expired").height == attempts.height - 12


def test_killed_batch_run_resumes_without_paying_twice(tmp_path: Path) -> None:
    """After kill -9 once the batch exists, --resume reads that batch's results instead of
    creating it again."""
    # The batches end an hour after creation on the emulator's clock, which jumps that hour
    # once the child is killed: the child can never see them end, the resume sees them ended.
    jumped = [0.0]
    config = EmulatorConfig(batch_processing_s=3600.0)
    with EmulatorServer(config, clock=lambda: time.monotonic() + jumped[0]) as server:
        experiment = write_experiment(tmp_path, server.url, arms=ARMS, prompts=PROMPTS)
        out = tmp_path / "out"
        command = [
            sys.executable,
            "-m",
            "runner",
            "run",
            str(experiment),
            "--results",
            str(out),
            "--run-id",
            "k",
            "-q",
            "--via",
            "batches",
        ]
        with subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ) as child:
            _wait_for(lambda: len(list((out / "e2e" / "k" / "batches").glob("*.json"))) == 2)
            child.send_signal(signal.SIGKILL)
        jumped[0] = config.batch_processing_s
        created_before = len(_creates(server))
        assert (
            run_cli(
                [
                    "run",
                    experiment,
                    "--results",
                    out,
                    "--resume",
                    "latest",
                    "-q",
                    "--via",
                    "batches",
                ]
            )
            == 0
        )
        assert len(_creates(server)) == created_before == 2
    results = results_of(out / "e2e" / "k")
    assert results.height == 6
    assert results.filter(pl.col("status") == "ok").height == 6


def _wait_for(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():  # type: ignore[operator]
                return
        except FileNotFoundError:
            pass
        time.sleep(0.05)  # noqa: TID251 -- polling a child process's files
    raise AssertionError("the condition never held")


def test_two_shards_read_back_equal_one_run(tmp_path: Path) -> None:
    """Shards 1/2 and 2/2 of a run, read as one run, hold the same requests and answers as
    the unsharded run."""
    config = EmulatorConfig(ttft_ms=1.0, ms_per_output_token=0.0, jitter=0.0)
    with EmulatorServer(config) as server:
        experiment = write_experiment(
            tmp_path,
            server.url,
            arms=ARMS,
            prompts=PROMPTS,
            run="repeats = 2\nconcurrency = 4",
            extra="temperature = 0",
        )
        whole = _run(tmp_path, experiment, run_id="whole")
        _run(tmp_path, experiment, "--shard", "1/2", run_id="split")
        _run(tmp_path, experiment, "--shard", "2/2", run_id="split")
    columns = ["request_key", "case_id", "model", "arm", "repeat", "status", "text"]
    split_dir = tmp_path / "out" / "e2e" / "split"
    from runner.results.store import read_results

    one = read_results(whole).collect().select(columns).sort("request_key")
    two = read_results(split_dir).collect().select(columns).sort("request_key")
    assert one.height == 12
    assert one.equals(two)
    shard_rows = [results_of(split_dir / f"shard-{k}-of-2").height for k in (1, 2)]
    assert sum(shard_rows) == 12
    assert min(shard_rows) > 0
    manifest = json.loads((split_dir / "shard-1-of-2" / "manifest.json").read_text())
    assert manifest["shard"] == "1/2"
    from runner import default_prices, load_run

    # A URL is read the way s3:// would be, and priced only by the prices passed.
    for source in (split_dir, f"file://{split_dir}"):
        loaded = load_run(source, prices=default_prices())
        loaded = loaded.collect().select(columns).sort("request_key")
        assert loaded.equals(one), source


def test_shard_needs_a_run_id(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """--shard without --run-id exits 2: the shards of one run must share its id."""
    experiment = write_experiment(tmp_path, "http://127.0.0.1:9")
    assert run_cli(["run", experiment, "--shard", "1/2", "-q"]) == 2
    assert "--run-id" in capfd.readouterr().err
    assert run_cli(["run", experiment, "--shard", "3/2", "--run-id", "x", "-q"]) == 2


def test_batches_refuse_conversation_cases(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """--via batches exits 2 naming the conversation cases: they need each answer first."""
    experiment = write_experiment(tmp_path, "http://127.0.0.1:9")
    text = experiment.read_text() + '[[cases]]\nid = "chat"\nturns = ["Hi.", "More?"]\n'
    experiment.write_text(text, encoding="utf-8")
    assert run_cli(["run", experiment, "--via", "batches", "-q"]) == 2
    err = capfd.readouterr().err
    assert "--via batches cannot run conversation cases" in err
    assert "chat" in err
    assert "Traceback" not in err
    assert not (tmp_path / "results").exists()


def test_a_batch_run_scores_its_results_after_they_arrive(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    """Results that come back from batches are scored like live ones (one row per ok result)."""
    scorer = '[[scorers]]\nname = "short"\ntype = "length"\nmax_words = 1000\n'
    experiment = write_experiment(tmp_path, emulator.url, arms=ARMS, prompts=PROMPTS)
    experiment.write_text(experiment.read_text() + scorer, encoding="utf-8")
    run_dir = _run(tmp_path, experiment, "--via", "batches")
    scores = pl.read_parquet(run_dir / "scores.parquet")
    assert sorted(scores["request_key"]) == sorted(results_of(run_dir)["request_key"])
    assert scores["passed"].all()
