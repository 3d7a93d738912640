"""`beta-runner check`: each arm's beta header is accepted, rejected or unreachable."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import free_port, run_cli, write_experiment
from loopback_support import serve_in_thread

from runner.emulator import EmulatorConfig, EmulatorServer

pytestmark = pytest.mark.slow

ARMS = (
    ("baseline", ()),
    ("good", ("context-management-2025-06-27",)),
    ("unknown", ("no-such-beta-2026-01-01",)),
)


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A fast emulator on loopback that rejects unknown betas, as the API does."""
    with EmulatorServer(EmulatorConfig(ttft_ms=1.0, jitter=0.0)) as server:
        yield server


def test_a_bad_beta_is_rejected_with_the_servers_message_and_exit_1(
    tmp_path: Path, emulator: EmulatorServer, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The unknown beta is rejected (exit 1), the others accepted; only count_tokens is sent."""
    experiment = write_experiment(tmp_path, emulator.url, arms=ARMS)
    assert run_cli(["check", experiment]) == 1
    out = capsys.readouterr().out
    assert out.count("accepted") == 2
    assert "rejected" in out
    assert "Unsupported beta header" in out
    paths = {request.path for request in emulator.app.received}
    assert paths == {"/v1/messages/count_tokens"}
    assert not (tmp_path / "results").exists()


def test_a_beta_unavailable_for_the_model_is_rejected(
    tmp_path: Path, emulator: EmulatorServer, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fast mode on a Haiku model is refused for that model only."""
    arms = (("fast", ("fast-mode-2026-02-01",)),)
    models = ("claude-opus-4-6", "claude-haiku-4-5")
    experiment = write_experiment(tmp_path, emulator.url, arms=arms, models=models)
    assert run_cli(["check", experiment]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if "fast-mode" in line]
    assert any("claude-opus-4-6" in line and "accepted" in line for line in lines)
    assert any("claude-haiku-4-5" in line and "rejected" in line for line in lines)


def test_all_accepted_locally_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--local checks against the built-in emulator with no key."""
    experiment = write_experiment(tmp_path, "http://127.0.0.1:1", arms=ARMS[:2])
    assert run_cli(["check", experiment, "--local"]) == 0
    assert capsys.readouterr().out.count("accepted") == 2


def test_a_server_that_does_not_answer_is_unreachable_not_rejected(
    tmp_path: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listening: every arm is unreachable, exit 1 with one line naming the URL."""
    url = f"http://127.0.0.1:{free_port()}"
    experiment = write_experiment(tmp_path, url, arms=ARMS[:2])
    assert run_cli(["check", experiment]) == 1
    out, err = capsys.readouterr()
    assert out.count("unreachable") == 2
    assert f"error: 2 of 2 checks got no usable answer from {url}: " in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [((), "ANTHROPIC_API_KEY"), (("--local", "--base-url", "http://127.0.0.1:1"), "either")],
    ids=["no-key", "local-and-base-url"],
)
def test_configuration_errors_exit_2(
    tmp_path: Path, extra: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing key or conflicting flags exit 2 with a message, before anything is sent."""
    experiment = write_experiment(tmp_path, "http://127.0.0.1:1")
    assert run_cli(["check", experiment, *extra]) == 2
    assert message in capsys.readouterr().err


class _PageServer(http.server.BaseHTTPRequestHandler):
    """Answers every POST 500 with an HTML page that echoes the request's headers."""

    def do_POST(self) -> None:
        page = f"<html>\n<pre>\n{self.headers}</pre>\n</html>\n".encode() * 20
        self.send_response(500)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def page_server() -> Iterator[str]:
    """A server whose errors are multi-line pages; yields its base URL."""
    with serve_in_thread(_PageServer) as url:
        yield url


def test_a_server_answering_pages_is_one_error_line_and_one_line_cells(
    tmp_path: Path, page_server: str, keyed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A multi-line error page (echoing the key) reads as one escaped line, cut short, in the
    error and in each table cell; the key is never shown."""
    experiment = write_experiment(tmp_path, page_server, arms=ARMS[:2])
    assert run_cli(["check", experiment]) == 1
    out, err = capsys.readouterr()
    (error,) = [line for line in err.splitlines() if not line.startswith("warning:")]
    assert error.startswith(f"error: 2 of 2 checks got no usable answer from {page_server}: ")
    assert len(error) < 500
    assert keyed not in out + err
    assert out.count("<html>") == 2  # one cell per check, each on one line
