"""`beta-runner report`: write a run's self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

import click

from runner.cli.commands.options import log_format_option
from runner.cli.translate import flag_errors
from runner.errors import UsageError
from runner.report import write_report


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write the page (default: RUN_DIR/report.html).",
)
@click.option("--baseline", help="The arm others are compared with (default: 'baseline').")
@log_format_option
def report(
    run_dir: Path,
    output: Path | None,
    baseline: str | None,
    log_format: str | None,
) -> None:
    """Write RUN_DIR's report: one HTML file that opens offline and fetches nothing."""
    if output is not None and output.is_dir():
        raise UsageError(f"-o {output}: this is a directory; give a file name such as report.html.")
    with flag_errors():
        path = write_report(run_dir, output, baseline)
    click.echo(f"Report written to {path}")
