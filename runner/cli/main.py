"""The `beta-runner` command group, and the one place errors become messages and exit codes.

Exit codes (the same table is in the README):

    0    done: every arm has a successful request (other request errors are data), no
         --fail-on threshold crossed; with --allow-errors also when an arm has none
    1    a check failed: the target is wrong (TargetUnusable: refused, unknown host, TLS,
         401/403, 404, not a Messages API; the run stopped early), an arm has no successful
         request (ArmsFailed), a threshold was crossed (ThresholdsCrossed), `check` found a
         header rejected or the target unreachable, or an unexpected error (RunFailed; any
         other exception: one line calling it a bug, never a traceback)
    2    bad usage or configuration (UsageError, ConfigError, RunStoreError); nothing sent
    130  interrupted by SIGINT; 143 by SIGTERM (the run is `interrupted`, resumable)

Each subcommand lives in `runner.cli.commands`.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence

import click

from runner.cli.commands.betas import betas
from runner.cli.commands.check import check_command
from runner.cli.commands.compare import compare_command
from runner.cli.commands.emulate import emulate
from runner.cli.commands.history import history_command
from runner.cli.commands.plan import plan
from runner.cli.commands.report import report
from runner.cli.commands.run import run
from runner.cli.commands.score import score_command
from runner.cli.failure import click_message, error_json, error_line, requested_log_format
from runner.errors import (
    BetaRunnerError,
    ConfigError,
    RunStoreError,
    ThresholdsCrossed,
    UsageError,
)
from runner.redact import Redactor

EXIT_USAGE = 2
_SHAPES = Redactor()  # no key known here: whatever looks like an Anthropic key


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="beta-runner")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Logs on stderr: text, or json (one object per line) for scheduled jobs.",
)
def cli(log_format: str) -> None:
    """Measure what changes when you turn on Anthropic API beta features."""


for _command in (
    run,
    plan,
    emulate,
    betas,
    report,
    history_command,
    compare_command,
    check_command,
    score_command,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the CLI and turn errors into one message and an exit code."""
    words = list(argv) if argv is not None else sys.argv[1:]
    try:
        cli.main(args=[str(w) for w in words], prog_name="beta-runner", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.exceptions.NoArgsIsHelpError as exc:  # `beta-runner` alone: the help, as is
        click.echo(exc.ctx.get_help(), err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        return _fail(words, click_message(exc), EXIT_USAGE)
    except (ConfigError, UsageError, RunStoreError) as exc:
        return _fail(words, str(exc), EXIT_USAGE)
    except OSError as exc:
        return _fail(words, _os_message(exc), EXIT_USAGE)
    except ThresholdsCrossed as exc:
        return _fail(words, str(exc), 1, exc, one=False)
    except BetaRunnerError as exc:
        return _fail(words, str(exc), 1, exc)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # the promise: one line, never a traceback, even for a bug
        return _fail(words, _unexpected(_sole(exc)), 1, exc)
    return 0


def _sole(exc: BaseException) -> BaseException:
    """The one error inside nested task-group exception groups (itself otherwise)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _unexpected(exc: BaseException) -> str:
    if isinstance(exc, OSError):  # e.g. a disk that filled up while the run wrote
        return _os_message(exc)
    first = (str(exc).splitlines() or [""])[0].strip()[:300]
    return (
        f"unexpected {type(exc).__name__}{': ' + first if first else ''}. This is a bug in "
        "beta-runner; please report it with the command that caused it."
    )


def _fail(
    words: Sequence[str],
    message: str,
    code: int,
    exc: BaseException | None = None,
    one: bool = True,
) -> int:
    message = _SHAPES.scrub(message)
    if requested_log_format(words) == "json":
        click.echo(error_json(message, code, exc), err=True)
    else:
        click.echo(error_line(message) if one else f"error: {message}", err=True)
    return code


def _os_message(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else "the file system"
    if exc.errno == errno.ENOSPC:
        return (
            f"{where}: No space left on device; free some space, then continue the run with "
            "--resume (what was written before is kept)."
        )
    return f"{where}: {exc.strerror or exc}; check the path and its permissions."
