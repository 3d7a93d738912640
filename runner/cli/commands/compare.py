"""`beta-runner compare`: every arm against the baseline, with paired CIs and p-values.

Under the tables, as at the end of a run, a warning when the client's own lag (a late event
loop or a late read) could account for latency differences of more than a few ms
(`client_lag_note`); with another format it goes to stderr, so stdout stays machine-readable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import click
import polars as pl

from runner.analysis import (
    COMPARE_COLUMNS,
    compare,
    default_baseline,
    evidence_report,
    load_run,
)
from runner.analysis.runs import is_url, load_scores, load_turns, run_prices
from runner.analysis.summary import client_lag_note, summarize
from runner.analysis.thresholds import Threshold
from runner.cli.commands.options import command_log, fail_on_option, log_format_option
from runner.cli.gates import RunTables, check_thresholds
from runner.cli.locations import Run, run_argument, run_name, unpriced_note
from runner.cli.terminal import (
    fit_table,
    fits,
    out_console,
    render_table,
    say,
    table_cells,
)
from runner.cli.translate import flag_errors, parse_fail_on
from runner.config.prices import load_prices
from runner.errors import UsageError
from runner.report.numbers import INTERVAL, interval_column
from runner.report.sections import QUANTITIES

FORMATS = ("table", "markdown", "csv", "json")
JSON_COLUMNS = tuple(c for c in COMPARE_COLUMNS if c != "n")  # the documented JSON keys


@click.command("compare")
@run_argument
@click.option("--baseline", default=None, help="The arm to compare against (default: baseline).")
@click.option("--format", "form", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--prices", type=click.Path(path_type=Path), help="A price TOML overriding prices.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the bootstrap.")
@fail_on_option
@log_format_option
@click.pass_context
def compare_command(
    ctx: click.Context,
    run_dir: Run,
    baseline: str | None,
    form: str,
    prices: Path | None,
    seed: int,
    fail_on: Sequence[str],
    log_format: str | None,
) -> None:
    """Compare each arm of RUN_DIR (a run directory, or the URL of one) with the baseline
    arm: deltas, 95% CIs, p-values."""
    thresholds = parse_fail_on(fail_on)
    beside = _for_thresholds(run_dir, thresholds)  # before anything is read or printed
    log = command_log(ctx, log_format)
    if prices is None:
        priced_with = None
    else:
        priced_with = load_prices(prices, None if is_url(run_dir) else run_prices(run_dir))
    with unpriced_note(run_dir, priced_with is not None, log):
        results = load_run(run_dir, prices=priced_with)
    tables = RunTables(results, summarize(results), load_scores(run_dir))  # read once
    chosen = baseline or default_baseline(results)
    with flag_errors():
        table = compare(results, chosen, seed=seed, scores=tables.scores, turns=load_turns(run_dir))
    note = client_lag_note(tables.summary)
    if form == "table":
        _print_tables(table, results, run_dir, chosen)
        if note is not None:
            say(out_console(), note)
    else:
        click.echo(render(table, form), nl=False)
        if note is not None:
            click.echo(note, err=True)
    if thresholds:
        check_thresholds(thresholds, beside, tables, log)


def _for_thresholds(run: Run, thresholds: Sequence[Threshold]) -> Path | None:
    """The run directory `regress.` thresholds look beside (None: a URL has no earlier runs;
    a UsageError when one is asked for there)."""
    if isinstance(run, Path):
        return run
    if any(t.kind == "regress" for t in thresholds):
        raise UsageError(
            f"--fail-on regress.*: {run} is a URL; a regress threshold compares with the "
            "earlier runs beside a local run directory."
        )
    return None


def _print_tables(table: pl.DataFrame, results: pl.LazyFrame, run_dir: Run, chosen: str) -> None:
    console = out_console()
    shown = for_reading(table)
    full = render_table(shown, f"{run_name(run_dir)}: arms vs {chosen}", together=QUANTITIES)
    if fits(console, full):
        console.print(full)
    else:
        for (model, arm), rows in narrow_groups(shown):
            title = f"{model} / {arm} vs {chosen}"
            fitted = fit_table(
                console, rows, title, NARROW_HEADERS, ("p_value",), ("metric",), together=NARROW
            )
            console.print(fitted)
    evidence = evidence_report(results, chosen, comparison=table)
    title = "did each beta leave a trace?"
    console.print(fit_table(console, evidence, title, EVIDENCE_HEADERS, ("note",)))


def for_reading(table: pl.DataFrame) -> pl.DataFrame:
    """The comparison as a person reads it (the terminal's tables, Markdown): floats to 4
    decimals before `table_cells` gives each quantity's numbers their shared decimals."""
    return table.with_columns(pl.col(pl.Float64).round(4))


NARROW = (*QUANTITIES, INTERVAL)  # the narrow layout's interval shares its row's decimals
NARROW_HEADERS = {
    "baseline": "base", "value": "arm", "p_value": "p", "q_value": "q", "significant": "sig",
}  # fmt: skip


def narrow_groups(shown: pl.DataFrame) -> list[tuple[tuple[str, str], pl.DataFrame]]:
    """The comparison split per (model, arm), with the interval in one column: the layout
    for a terminal too narrow for the whole table."""
    narrow = shown.with_columns(interval_column())
    columns = [
        "metric",
        "baseline",
        "value",
        "delta",
        INTERVAL,
        "p_value",
        "q_value",
        "significant",
    ]
    groups = narrow.partition_by(["model", "arm"], maintain_order=True, as_dict=True)
    return [((str(k[0]), str(k[1])), rows.select(columns)) for k, rows in groups.items()]


EVIDENCE_HEADERS = {
    "evidence_share": "evidence", "baseline_evidence_share": "in base",
    "no_detectable_effect": "no effect?",
}  # fmt: skip


def render(table: pl.DataFrame, form: str) -> str:
    """The comparison as JSON (a list of objects) or CSV, every value as computed, or a
    Markdown table, its cells as the terminal's table shows them (`table_cells`)."""
    if form == "json":
        rows = [{k: _plain(r[k]) for k in JSON_COLUMNS} for r in table.iter_rows(named=True)]
        return json.dumps(rows, indent=2) + "\n"
    if form == "csv":
        return table.write_csv()
    header = "| " + " | ".join(table.columns) + " |"
    rule = "| " + " | ".join("---" for _ in table.columns) + " |"
    cells = table_cells(for_reading(table), together=QUANTITIES)
    lines = ["| " + " | ".join(row) + " |" for row in zip(*cells, strict=True)]
    return "\n".join([header, rule, *lines]) + "\n"


def _plain(value: object) -> object:
    return None if isinstance(value, float) and math.isnan(value) else value
