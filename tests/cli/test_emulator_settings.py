"""The emulator's settings are checked like an experiment's, and `emulate` fails in one line."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from bad_file_support import BAD_JSON_FILES, Place, replace_with
from e2e_support import run_cli

from runner.cli.emulator_settings import emulator_config, emulator_keys
from runner.config.environment import EMULATOR_KEYS_ENV, Environment
from runner.errors import ConfigError, UsageError


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        pytest.param("ttft_ms=nan", "give a number >= 0", id="nan"),
        pytest.param("ttft_ms=inf", "give a number >= 0", id="inf"),
        pytest.param("ms_per_output_token=-1", "give a number >= 0", id="negative-time"),
        pytest.param("rpm=-5", "an integer of at least 0", id="negative-rate"),
        pytest.param("rpm=1.5", "an integer", id="fractional-rate"),
        pytest.param("p_overloaded=2", "from 0 to 1", id="probability-above-1"),
        pytest.param("p_drop_stream=-0.1", "from 0 to 1", id="probability-below-0"),
        pytest.param("batch_expire_share=1.01", "from 0 to 1", id="share"),
        pytest.param("otpm_mode=bogus", "one of realtime, max_tokens", id="enum"),
        pytest.param("vary_samples=maybe", "true or false", id="boolean"),
        pytest.param("rate_limit_burst=5", "START,DURATION", id="burst-one-number"),
        pytest.param("rate_limit_burst=5,nan", "give a number", id="burst-nan"),
        pytest.param("no_such=1", "known keys", id="unknown-key"),
        pytest.param("rpm", "not KEY=VALUE", id="no-equals"),
        pytest.param("api_keys=sk-x", EMULATOR_KEYS_ENV, id="keys-on-command-line"),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(setting: str, expected: str) -> None:
    """Every refusal names the setting and says what it must be."""
    with pytest.raises(UsageError) as raised:
        emulator_config([setting])
    message = str(raised.value)
    assert message.startswith("emulator setting ")
    assert expected in message


def test_good_settings_are_converted() -> None:
    """Valid words become typed fields."""
    config = emulator_config(
        ["rpm=10", "p_overloaded=0.5", "otpm_mode=max_tokens", "fixed_latency_ms=none", "seed=-3"]
    )
    assert (config.rpm, config.p_overloaded, config.otpm_mode) == (10, 0.5, "max_tokens")
    assert (config.fixed_latency_ms, config.seed) == (None, -3)


def test_emulator_keys_come_from_a_file_or_the_environment(tmp_path: Path) -> None:
    """A keys file (one a line, BOM and blank lines allowed) wins over the variable."""
    keys = tmp_path / "keys"
    keys.write_bytes(b"\xef\xbb\xbfkey-one\n\nkey-two\n")
    env = Environment({EMULATOR_KEYS_ENV: "a, b"})
    assert emulator_keys(env, keys) == ("key-one", "key-two")
    assert emulator_keys(env, None) == ("a", "b")
    assert emulator_keys(Environment(), None) == ()


def test_emulate_on_a_busy_port_exits_2_in_one_line(capfd: pytest.CaptureFixture[str]) -> None:
    """A port already taken is a usage error naming host and port, not a uvicorn traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run_cli(["emulate", "--port", port]) == 2
    err = capfd.readouterr().err
    assert err.startswith(f"error: --host 127.0.0.1 --port {port}: cannot listen there")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["--port", "99999"], "'--port': 99999 is not in the range", id="port"),
        pytest.param(["--host", "no-such-host.invalid"], "cannot listen there", id="host"),
        pytest.param(["--set", "p_overloaded=2"], "emulator setting p_overloaded", id="setting"),
    ],
)
def test_emulate_refuses_bad_input_with_exit_2(
    argv: list[str], expected: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """Bad host, port or setting: exit 2 and one line."""
    assert run_cli(["emulate", *argv]) == 2
    err = capfd.readouterr().err
    assert expected in err
    assert err.count("\n") == 1


_KEYS_FILES = [
    *(p for p in BAD_JSON_FILES if p.id in ("dev-zero", "fifo", "directory", "sparse-2-GB")),
    pytest.param(lambda p: p.write_bytes(b"key-\xff\n"), "not UTF-8 text", id="invalid-utf8"),
    pytest.param(lambda p: p.write_bytes(b"ok\nkey\x00one\n"), "line 2 holds a control",
                 id="nul-byte"),
]  # fmt: skip


@pytest.mark.parametrize(("place", "problem"), _KEYS_FILES)
def test_a_keys_file_that_is_not_text_keys_is_refused(
    tmp_path: Path, place: Place, problem: str
) -> None:
    """A device, FIFO, directory, huge, non-UTF-8 or NUL-holding keys file is refused naming
    the file (a key silently mangled would make the emulator refuse every request)."""
    path = tmp_path / "keys"
    replace_with(path, place)
    with pytest.raises((ConfigError, UsageError)) as raised:
        emulator_keys(Environment(), path)
    assert str(path) in str(raised.value)
    assert problem in str(raised.value)


def test_emulate_with_a_binary_keys_file_exits_2_in_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The command refuses it before listening: exit 2, one line naming the file."""
    keys = tmp_path / "keys"
    keys.write_bytes(b"\x00\x01\x02")
    assert run_cli(["emulate", "--port", "0", "--keys-file", keys]) == 2
    err = capfd.readouterr().err
    assert err.startswith(f"error: --keys-file {keys}: line 1 holds a control")
    assert err.count("\n") == 1
