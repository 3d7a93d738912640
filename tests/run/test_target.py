"""A wrong target stops the run early with one line naming the cause and the URL (exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from e2e_support import SECRET, free_port, run_cli, write_experiment

from runner.config.load import load_experiment
from runner.emulator import EmulatorConfig, EmulatorServer
from runner.errors import TargetUnusable
from runner.results.store import read_attempts
from runner.run.session import RunServices, create_run_directory, execute_run
from runner.run.target import DEFAULT_LIMIT

PROMPTS = tuple((f"c{i}", f"Prompt {i}.") for i in range(20))
QUICK = "concurrency = 2\n[run.retry]\nmax_attempts = 3\ninitial_backoff_s = 0.01"


def _stopped_early(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["failure"].startswith("every request failed: ")
    attempts = read_attempts(run_dir).collect().height
    assert DEFAULT_LIMIT <= attempts <= DEFAULT_LIMIT + 2  # at most the ones in flight more


def test_nothing_listening_exits_1_naming_connection_refused_and_the_url(
    tmp_path: Path, keyed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """40 requests at a closed port: a handful of attempts, then one line and exit 1."""
    url = f"http://127.0.0.1:{free_port()}"
    experiment = write_experiment(tmp_path, url, prompts=PROMPTS, run=QUICK)
    assert run_cli(["run", experiment, "--run-id", "r1", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        f"error: every request failed: connection refused at {url} (is the server running?); "
        f"stopped after {DEFAULT_LIMIT} failed attempts."
    )
    _stopped_early(tmp_path / "results" / "e2e" / "r1")


@pytest.mark.parametrize(
    ("config", "suffix", "cause"),
    [
        pytest.param(EmulatorConfig(), "/gateway", "not found (404)", id="404"),
        pytest.param(EmulatorConfig(api_keys=("another-key",)), "",
                     "the API key was refused (401)", id="401"),
    ],
)  # fmt: skip
def test_a_wrong_address_or_key_stops_early_naming_the_status(
    tmp_path: Path,
    keyed: str,
    capsys: pytest.CaptureFixture[str],
    config: EmulatorConfig,
    suffix: str,
    cause: str,
) -> None:
    """A 404 (base URL with a wrong path) or a 401 stops the run after a handful of requests."""
    with EmulatorServer(config) as server:
        url = server.url + suffix
        experiment = write_experiment(tmp_path, url, prompts=PROMPTS, run=QUICK)
        assert run_cli(["run", experiment, "--run-id", "r1", "-q"]) == 1
        assert len(server.app.received) <= DEFAULT_LIMIT + 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith(f"error: every request failed: {cause} at {url} (")
    _stopped_early(tmp_path / "results" / "e2e" / "r1")


@pytest.mark.anyio
async def test_an_html_page_served_with_200_stops_the_run(tmp_path: Path) -> None:
    """A server answering every request with an HTML page is not a Messages API."""
    experiment = write_experiment(tmp_path, "http://portal", prompts=PROMPTS, run=QUICK)
    loaded = load_experiment(experiment).experiment
    run_dir = create_run_directory(tmp_path / "results", loaded, "r1", 40)
    sent: list[httpx.Request] = []

    def portal(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(
            200, text="<html>Sign in</html>", headers={"content-type": "text/html"}
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(portal)) as http:
        with pytest.raises(TargetUnusable, match="the answers are not Messages API responses"):
            await execute_run(loaded, run_dir, "r1", RunServices.real(http, SECRET))
    assert len(sent) <= DEFAULT_LIMIT + 2
    _stopped_early(run_dir.path)


def test_a_model_the_server_does_not_know_names_what_the_server_said(
    tmp_path: Path, keyed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 404 for an unknown model stops the run too, and the line quotes the server."""
    with EmulatorServer(EmulatorConfig()) as server:
        experiment = write_experiment(
            tmp_path, server.url, prompts=PROMPTS, run=QUICK, models=("claude-nosuch-9",)
        )
        assert run_cli(["run", experiment, "--run-id", "r1", "-q"]) == 1
    last = capsys.readouterr().err.splitlines()[-1]
    assert "every request failed: not found (404)" in last
    assert "the server said 'model: claude-nosuch-9'" in last
