"""Runs named on the command line: a local directory or a URL the analysis reads.

`click.Path` would turn `s3://bucket/run` into `s3:/bucket/run`, so a run argument is a
`RunLocation`: a URL (`scheme://...`) stays the string the library reads (`load_run`), a
local path becomes a `Path` whose checks (a run directory with a manifest) stay the
library's. Commands that write into the run (`score`) take only a local one (`local_run`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from runner.analysis.runs import is_url
from runner.cli.logs import EventLog
from runner.errors import UsageError

Run = str | Path


class RunLocation(click.ParamType[Run, object]):
    """A run directory, or the URL of one (kept as given)."""

    name = "run_dir"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Run:
        """A URL as the string given; anything else as a local `Path`."""
        if isinstance(value, Path):
            return value
        text = str(value)
        return text if is_url(text) else Path(text)


# The RUN_DIR argument of the commands that read a run.
run_argument = click.argument("run_dir", type=RunLocation(), metavar="RUN_DIR")


def run_name(run: Run) -> str:
    """The run's name as titles show it: the directory's, or the URL's last part."""
    return run.name if isinstance(run, Path) else run.rstrip("/").rsplit("/", 1)[-1]


def local_run(run: Run, command: str) -> Path:
    """`run` as a local directory; a UsageError for a URL, which `command` cannot write to."""
    if isinstance(run, Path):
        return run
    raise UsageError(
        f"RUN_DIR {run}: `beta-runner {command}` writes into the run, so it needs a local "
        "run directory; copy the run down and give its path."
    )


@contextmanager
def unpriced_note(run: Run, priced: bool, log: EventLog) -> Iterator[None]:
    """Read a run; for a URL read without --prices, one warning line naming the flag in
    place of the library's Python warning (its costs are missing, never guessed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield
    if is_url(run) and not priced:
        log.warning(
            f"{run}: costs are not shown: a run read from a URL is not priced (its manifest, "
            "which records its prices, is not read); give --prices FILE to price it."
        )
