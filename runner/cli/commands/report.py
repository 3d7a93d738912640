"""`beta-runner report`: write a run's self-contained HTML report.

RUN_DIR is a run directory or the URL of one (`s3://`, `gs://`, `az://`, `https://`,
`file://`, as `runner.load_run` reads them); the page goes to RUN_DIR/report.html, or for a
URL to `<run id>.report.html` in the current directory, or wherever -o says.
"""

from __future__ import annotations

from pathlib import Path

import click

from runner.analysis.runs import is_url, run_prices
from runner.catalog.prices import PriceTable
from runner.cli.commands.options import command_log, log_format_option
from runner.cli.locations import Run, run_argument, run_name, unpriced_note
from runner.cli.translate import flag_errors
from runner.config.files import file_problem
from runner.config.prices import load_prices
from runner.errors import UsageError
from runner.report import write_report
from runner.report.html import REPORT_FILE


@click.command()
@run_argument
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write the page (default: RUN_DIR/report.html; for a URL, "
    "<run id>.report.html here).",
)
@click.option("--baseline", help="The arm others are compared with (default: 'baseline').")
@click.option(
    "--prices",
    type=click.Path(path_type=Path),
    help="A price TOML overriding the prices (a URL's run is unpriced without it).",
)
@log_format_option
@click.pass_context
def report(
    ctx: click.Context,
    run_dir: Run,
    output: Path | None,
    baseline: str | None,
    prices: Path | None,
    log_format: str | None,
) -> None:
    """Write RUN_DIR's report: one HTML file that opens offline and fetches nothing."""
    if output is not None and output.is_dir():
        raise UsageError(f"-o {output}: this is a directory; give a file name such as report.html.")
    target = output or _default_output(run_dir)
    _check_writable(target)
    priced = _prices(run_dir, prices)
    log = command_log(ctx, log_format)
    try:
        with flag_errors(), unpriced_note(run_dir, priced is not None, log):
            path = write_report(run_dir, target, baseline, priced)
    except OSError as exc:  # named by the page's path, not the temporary name it was written to
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"{target}: the report cannot be written there ({reason}).") from None
    click.echo(f"Report written to {path}")


def _check_writable(target: Path) -> None:
    """Refuse a target the page would replace that is not a file: the page is written beside
    it and renamed over it, which would turn a device or a FIFO into a file."""
    if not target.exists() and not target.is_symlink():
        return
    problem = file_problem(target)
    if problem is not None:
        raise UsageError(f"{target}: {problem.split(';')[0]}; give the name of a file to write.")


def _default_output(run: Run) -> Path:
    if isinstance(run, Path):
        return run / REPORT_FILE
    return Path(f"{run_name(run)}.{REPORT_FILE}")


def _prices(run: Run, given: Path | None) -> PriceTable | None:
    """--prices over the run's recorded prices (a URL's: over the shipped table)."""
    if given is None:
        return None
    return load_prices(given, None if is_url(run) else run_prices(run))
