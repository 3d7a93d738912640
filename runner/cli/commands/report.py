"""`beta-runner report`: write a run's self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

import click

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
def report(run_dir: Path, output: Path | None, baseline: str | None) -> None:
    """Write RUN_DIR's report: one HTML file that opens offline and fetches nothing."""
    path = write_report(run_dir, output, baseline)
    click.echo(f"Report written to {path}")
