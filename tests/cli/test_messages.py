"""Messages as a user reads them: one line `error: <where>: <sentence>`, user text never markup,
and with --log-format json nothing but JSON Lines on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_support import run_cli

EXPERIMENT = """\
name = "markup"
models = ["claude-[/]bold-[run]"]
[[arms]]
name = "baseline"
[[arms]]
name = "efficient"
betas = ["token-efficient-tools-2025-02-19"]
[[cases]]
id = "c1"
prompt = "[bold]Say hello.[/]"
"""


@pytest.fixture
def markup_experiment(tmp_path: Path) -> Path:
    """An experiment whose model id and prompt look like rich markup."""
    path = tmp_path / "markup.toml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    return path


def test_plan_prints_markup_like_model_ids_as_written(
    markup_experiment: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A model id with `[/]` and `[run]` is shown verbatim, in the table and in warnings."""
    assert run_cli(["plan", markup_experiment]) == 0
    out, err = capfd.readouterr()
    assert "claude-[/]bold-[run]" in out
    assert "Model 'claude-[/]bold-[run]' is not in" in err
    assert "Traceback" not in err


def test_run_and_compare_render_markup_like_text(
    markup_experiment: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The per-arm summary and compare print such a model id without a MarkupError."""
    results = tmp_path / "results"
    args = ["run", markup_experiment, "--local", "-q", "--results", results, "--allow-errors"]
    code = run_cli(args)
    out, err = capfd.readouterr()
    assert code == 0, err
    assert "claude-[/]bold-[run]" in out
    run_dir = next((results / "markup").iterdir())
    assert run_cli(["compare", run_dir]) == 0
    assert "claude-[/]bold-[run]" in capfd.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(
            ["run", "x.toml", "--bogus"],
            "error: beta-runner run: No such option '--bogus'. See 'beta-runner run --help'.",
            id="unknown-option",
        ),
        pytest.param(
            ["nosuch"],
            "error: beta-runner: No such command 'nosuch'. See 'beta-runner --help'.",
            id="unknown-command",
        ),
        pytest.param(
            ["report"],
            "error: beta-runner report: Missing argument 'RUN_DIR'. "
            "See 'beta-runner report --help'.",
            id="missing-argument",
        ),
        pytest.param(
            ["run", "x.toml", "--concurrency", "many"],
            "error: beta-runner run: Invalid value for '--concurrency': 'many' is not a valid "
            "integer. See 'beta-runner run --help'.",
            id="bad-value",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    argv: list[str], expected: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """click's usage errors read like every other error: one line, no `Usage:` block."""
    assert run_cli(argv) == 2
    assert capfd.readouterr().err == expected + "\n"


def test_a_newline_in_a_flag_value_cannot_split_the_error_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Control characters from the command line are shown escaped."""
    assert run_cli(["history", "x", "--results", tmp_path / "a\nb"]) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1
    assert "a\\nb" in err


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--log-format", "json", "plan", "{exp}"], id="plan-group-option"),
        pytest.param(["plan", "{exp}", "--log-format", "json"], id="plan-own-option"),
        pytest.param(["check", "{exp}", "--local", "--log-format=json"], id="check"),
        pytest.param(["--log-format", "json", "plan", "missing.toml"], id="error"),
        pytest.param(["--log-format", "json", "run", "{exp}", "--bogus"], id="usage-error"),
    ],
)
def test_json_logs_are_json_lines_for_every_command(
    argv: list[str], markup_experiment: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Warnings and errors alike are one JSON object per line on stderr."""
    run_cli([word.replace("{exp}", str(markup_experiment)) for word in argv])
    lines = capfd.readouterr().err.splitlines()
    assert lines
    records = [json.loads(line) for line in lines]
    assert all({"ts", "level", "event"} <= record.keys() for record in records)


@pytest.mark.parametrize(
    "command",
    ["run", "plan", "check", "compare", "report", "history", "betas", "emulate", "score"],
)
def test_every_command_takes_log_format(command: str, capfd: pytest.CaptureFixture[str]) -> None:
    """`--log-format` is accepted after every subcommand, as after the group."""
    assert run_cli([command, "--help"]) == 0
    assert "--log-format" in capfd.readouterr().out


def test_report_into_an_existing_directory_is_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """`report -o DIR` names the flag and says what to give, instead of an IsADirectoryError."""
    assert run_cli(["report", tmp_path, "-o", tmp_path]) == 2
    assert capfd.readouterr().err == (
        f"error: -o {tmp_path}: this is a directory; give a file name such as report.html.\n"
    )


@pytest.mark.parametrize("name", ["..", "a/b", "x\n"], ids=["dotdot", "slash", "newline"])
def test_history_refuses_a_name_that_is_no_directory(
    name: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """`history ..` would look outside --results: refused like any name."""
    assert run_cli(["history", name, "--results", tmp_path]) == 2
    assert capfd.readouterr().err.startswith("error: EXPERIMENT (an experiment name)")


def test_the_bare_command_prints_its_help_not_an_escaped_line(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """`beta-runner` alone: the help as help (lines, not `\\n` escapes), exit 2."""
    assert run_cli([]) == 2
    err = capfd.readouterr().err
    assert err.startswith("Usage: beta-runner [OPTIONS] COMMAND [ARGS]...\n")
    assert "\nCommands:\n" in err
    assert "\\n" not in err
