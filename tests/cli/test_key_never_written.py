"""The API key appears in no artefact: not in any file of the run, stdout, stderr or the JSON log,
even against a gateway that echoes it (whole, in pieces, escaped) in its errors and answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import polars as pl
import pytest
from e2e_support import SECRET, run_cli, write_experiment
from loopback_support import serve_in_thread

pytestmark = pytest.mark.slow


class _EchoingGateway(BaseHTTPRequestHandler):
    """Answers 401 echoing the key for the baseline arm, and 200 with pieces of it otherwise."""

    def do_POST(self) -> None:
        key = self.headers.get("x-api-key", "")
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if self.headers.get("anthropic-beta") is None or "count_tokens" in self.path:
            message = f"invalid x-api-key {key}, that is {key!r}; starts {key[:12]} ends {key[-9:]}"
            self._send(
                401,
                {"type": "error", "error": {"type": "authentication_error", "message": message}},
            )
            return
        text = f"Your key is {key[3:20]} and sk-ant-someone-elses-key_01."
        self._send(200, {
            "id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 7},
        })  # fmt: skip

    def _send(self, status: int, payload: dict[str, object]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("request-id", f"req_{SECRET[-8:]}")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def gateway() -> Iterator[str]:
    """The echoing gateway on a loopback port; yields its base URL."""
    with serve_in_thread(_EchoingGateway) as url:
        yield url


def _leaks(text: str) -> list[str]:
    """Every 8-character piece of the key found in `text`."""
    return [SECRET[i : i + 8] for i in range(len(SECRET) - 7) if SECRET[i : i + 8] in text]


def _artefacts(root: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            yield path, str(frame.to_dicts())
        else:
            yield path, path.read_bytes().decode("utf-8", "replace")


def test_an_echoing_gateway_never_gets_the_key_into_any_artefact(
    gateway: str, tmp_path: Path, keyed: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """run (JSON log, --fail-on), compare, report, history and check: no piece of the key."""
    experiment = write_experiment(tmp_path, gateway, run="repeats = 2\nconcurrency = 2")
    results = tmp_path / "results"
    common = ["--log-format", "json"]
    code = run_cli(
        [*common, "run", experiment, "--results", results, "--run-id", "r1", "-q",
         "--fail-on", "error_rate>0.1"]
    )  # fmt: skip
    assert code == 1  # the baseline's requests all failed, so the gate is crossed
    run_dir = results / "e2e" / "r1"
    assert run_cli([*common, "compare", run_dir]) == 0
    assert run_cli([*common, "report", run_dir]) == 0
    assert run_cli([*common, "history", experiment, "--results", results]) == 0
    assert run_cli([*common, "check", experiment]) == 1
    out, err = capfd.readouterr()
    for line in err.splitlines():
        json.loads(line)  # the log stays JSON Lines
    assert "[redacted]" in out + err
    files = dict(_artefacts(results))
    assert any("[redacted]" in text for text in files.values())
    leaks = {str(path): _leaks(text) for path, text in files.items() if _leaks(text)}
    assert leaks == {}
    assert _leaks(out) == []
    assert _leaks(err) == []
    assert "sk-ant-someone" not in "".join(files.values())


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(SECRET + "\n", id="trailing-newline"),
        pytest.param(f" {SECRET}", id="leading-space"),
        pytest.param(SECRET[:10] + "\t" + SECRET[10:], id="tab"),
        pytest.param(SECRET + "\u00e9", id="non-ascii"),
        pytest.param(SECRET + "\x00", id="nul"),
    ],
)
def test_a_key_with_whitespace_or_control_characters_is_refused_before_sending(
    key: str,
    gateway: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Exit 2 naming the variable, never the value, and no run directory."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", key.replace("\x00", "\x01"))
    experiment = write_experiment(tmp_path, gateway)
    assert run_cli(["run", experiment, "--results", tmp_path / "out", "-q"]) == 2
    assert run_cli(["check", experiment]) == 2
    out, err = capfd.readouterr()
    assert err.count("error: ANTHROPIC_API_KEY: the key in this environment variable holds") == 2
    assert _leaks(out + err) == []
    assert not (tmp_path / "out").exists()
