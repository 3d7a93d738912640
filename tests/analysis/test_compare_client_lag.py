"""`beta-runner compare` warns, as the end of a run does, when client lag could explain
latency differences: under the table, or on stderr beside a machine-readable format."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import run_cli
from frames import two_arm_run

WARNING = "Client lag: beta-runner itself added up to 40 ms to requests in flight"


def _run(tmp_path: Path, lag_ms: float) -> Path:
    """A baseline and one arm 50 ms slower, every request with `lag_ms` of client lag."""
    return two_arm_run(tmp_path / "results", client_lag_ms=lag_ms)


@pytest.mark.parametrize("form", ["table", "json"])
def test_compare_warns_when_client_lag_is_high(
    tmp_path: Path, form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """40 ms of client lag: the warning, on stdout under the table, on stderr with JSON."""
    assert run_cli(["compare", _run(tmp_path, 40.0), "--format", form]) == 0
    out, err = capsys.readouterr()
    shown = out if form == "table" else err
    assert WARNING in " ".join(shown.split())
    if form == "json":
        assert "Client lag" not in out


def test_compare_is_quiet_when_client_lag_is_low(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1 ms of client lag: no warning anywhere."""
    assert run_cli(["compare", _run(tmp_path, 1.0)]) == 0
    captured = capsys.readouterr()
    assert "Client lag" not in captured.out + captured.err
