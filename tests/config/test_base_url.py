"""A bad base URL is refused alike from --base-url, ANTHROPIC_BASE_URL and [target] base_url,
each error naming where the value came from, before anything is written or sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import run_cli, write_experiment

from runner.config.base_url import base_url_problem, shown_url

BAD = [
    pytest.param("not a url", "is not a URL", id="words"),
    pytest.param("ftp://x", "is not an http:// or https:// URL", id="ftp"),
    pytest.param("http://[::1", "is not a valid URL", id="unclosed-ipv6"),
    pytest.param("http://x:99999", "is not a valid URL", id="port-out-of-range"),
    pytest.param("http://", "has no host", id="no-host"),
    pytest.param("localhost:8000", "is not an http:// or https:// URL", id="no-scheme"),
    pytest.param("http://user:password@host", "holds a user name or password", id="credentials"),
    pytest.param("http://127.0.0.1:9/v1", "ends in /v1", id="ends-in-v1"),
    pytest.param("http://h/?x=1", "has a query or fragment", id="query"),
]
GOOD = ["https://api.anthropic.com", "http://127.0.0.1:9/", "http://[::1]:8080", "http://h/gw"]


@pytest.mark.parametrize(("url", "problem"), BAD)
@pytest.mark.parametrize("source", ["--base-url", "ANTHROPIC_BASE_URL", "[target] base_url"])
def test_bad_base_url_exits_2_naming_its_source_and_writes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    keyed: str,
    source: str,
    url: str,
    problem: str,
) -> None:
    """One line naming the source and the problem; no results directory; no password echoed."""
    experiment = write_experiment(tmp_path, url if source == "[target] base_url" else "x")
    if source != "[target] base_url":
        text = experiment.read_text().replace('base_url = "x"\n', "")
        experiment.write_text(text)
    args = ["run", experiment, "-q"]
    if source == "--base-url":
        args += ["--base-url", url]
    elif source == "ANTHROPIC_BASE_URL":
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    assert run_cli(args) == 2
    err = capsys.readouterr().err
    assert problem in err
    assert "Traceback" not in err
    assert "password" not in err.replace("user name or password", "")
    named = {
        "--base-url": "error: --base-url: ",
        "ANTHROPIC_BASE_URL": "error: ANTHROPIC_BASE_URL (the environment variable, ",
        "[target] base_url": "target.base_url: ",
    }
    assert named[source] in err
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("url", GOOD)
def test_good_base_urls_pass(url: str) -> None:
    """Hosts, IPv6 literals, ports and path prefixes are accepted."""
    assert base_url_problem(url) is None


def test_check_refuses_a_bad_base_url_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keyed: str
) -> None:
    """`check --base-url ftp://x` is exit 2 too."""
    experiment = write_experiment(tmp_path, "http://127.0.0.1:9")
    assert run_cli(["check", experiment, "--base-url", "ftp://x"]) == 2
    assert "--base-url: 'ftp://x' is not an http:// or https:// URL" in capsys.readouterr().err


def test_a_password_is_never_shown() -> None:
    """The password part of a URL is masked wherever the URL is printed."""
    assert shown_url("http://user:s3cret@host:1/p") == "http://user:***@host:1/p"
