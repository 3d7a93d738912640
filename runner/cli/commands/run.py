"""`beta-runner run`: run an experiment (or continue one), print the per-arm summary, and
check any `--fail-on` thresholds against it."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click
import polars as pl
from rich.console import Console

from runner.analysis.conversation import conversation_summary
from runner.analysis.error_rates import without_success
from runner.analysis.scores import score_summary
from runner.analysis.summary import client_lag_note
from runner.analysis.thresholds import Threshold, check_names, check_score_metrics
from runner.cli.commands.options import (
    command_log,
    emulator_option,
    fail_on_option,
    log_format_option,
    results_option,
)
from runner.cli.emulator_settings import emulator_config, local_only
from runner.cli.gates import RunTables, check_thresholds
from runner.cli.logs import EventLog
from runner.cli.scoring import check_every_scorer_scored, score_table
from runner.cli.terminal import (
    ProgressBar,
    err_console,
    fit_table,
    out_console,
    say,
    wants_progress,
)
from runner.cli.translate import flag_errors, parse_fail_on
from runner.config.environment import Environment
from runner.config.prices import pricing_note
from runner.config.types import Experiment
from runner.errors import ArmsFailed, RunFailed, TargetUnusable
from runner.results.manifest import RunStatus
from runner.results.schema import R, ResultRow
from runner.results.store import read_turns
from runner.results.writer import ResultObserver
from runner.run.launch import LaunchOptions, PreparedRun, parse_shard, prepare_run, start_run
from runner.run.resume import RESUME, Continuation
from runner.run.session import RunOutcome


@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("--local", is_flag=True, help="Run against the built-in emulator (no key needed).")
@click.option("--base-url", help="Send requests to this server instead of the experiment's.")
@results_option
@click.option("--run-id", help="Name the run directory (default: UTC time + random suffix).")
@click.option("--concurrency", type=int, help="Override [run] concurrency.")
@emulator_option
@click.option(
    "--via",
    type=click.Choice(["live", "batches"]),
    default="live",
    show_default=True,
    help="Send requests one by one (live), or as Message Batches (50% price, results later).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    help="With --via batches: at most this many requests per batch (default 10000).",
)
@click.option(
    "--shard",
    metavar="K/N",
    help="Run only shard K of N (a deterministic split of the requests); needs --run-id.",
)
@click.option(
    "--resume",
    metavar="RUN_DIR|latest",
    help="Continue that run in its directory: send only the requests with no final row.",
)
@click.option(
    "--retry-errors",
    metavar="RUN_DIR|latest",
    help="Re-send only the requests of that run whose final row is an error.",
)
@fail_on_option
@click.option(
    "--allow-errors",
    is_flag=True,
    help="Exit 0 even when an arm has no successful request (to study failure rates) or a "
    "scorer has only errors.",
)
@log_format_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def run(
    ctx: click.Context,
    experiment: Path,
    local: bool,
    base_url: str | None,
    results_dir: Path,
    run_id: str | None,
    concurrency: int | None,
    emulator_settings: Sequence[str],
    via: str,
    batch_size: int | None,
    shard: str | None,
    resume: str | None,
    retry_errors: str | None,
    fail_on: Sequence[str],
    allow_errors: bool,
    log_format: str | None,
    quiet: bool,
) -> None:
    """Run EXPERIMENT and print the per-arm summary."""
    thresholds = parse_fail_on(fail_on)
    local_only(emulator_settings, local)
    options = LaunchOptions(
        experiment=experiment, results_dir=results_dir, local=local, base_url=base_url,
        run_id=run_id, concurrency=concurrency, emulator=emulator_config(emulator_settings),
        resume=resume, retry_errors=retry_errors, via=via, batch_size=batch_size,
        shard=parse_shard(shard) if shard is not None else None,
    )  # fmt: skip
    prepared = prepare_run(options, Environment.from_os())
    _check_threshold_names(thresholds, prepared.experiment)
    log = command_log(ctx, log_format, (prepared.api_key,))
    for warning in prepared.warnings:
        log.warning(warning)
    if prepared.continuing is not None and _nothing_to_do(prepared):
        _nothing_left(prepared.experiment, prepared.continuing, log)
        return
    outcome = _launch(prepared, options, log, quiet or log.is_json)
    _after_run(experiment, prepared.experiment, outcome, _Gates(thresholds, allow_errors), log)
    sys.exit(outcome.exit_code)


INTERRUPTED = (130, 143)  # SIGINT, SIGTERM


@dataclasses.dataclass(frozen=True)
class _Gates:
    """What a finished run is checked against: `--fail-on` thresholds and `--allow-errors`."""

    thresholds: Sequence[Threshold]
    allow_errors: bool


def _check_threshold_names(thresholds: Sequence[Threshold], experiment: Experiment) -> None:
    """UsageError if a `--fail-on` threshold names a metric, arm or model the run lacks."""
    with flag_errors():
        check_score_metrics(thresholds, [s.name for s in experiment.scorers])
        check_names(thresholds, [arm.name for arm in experiment.arms], experiment.models)


def _after_run(
    experiment_file: Path, experiment: Experiment, outcome: RunOutcome, gates: _Gates, log: EventLog
) -> None:
    """Print the summary, then tell how to resume an interrupted run or check a finished one."""
    tables = RunTables.read(outcome.run_dir, experiment.prices)  # read once, shared
    _print_summary(experiment, outcome, tables)
    if outcome.exit_code in INTERRUPTED:
        log.info(
            f"The run was interrupted; what finished is saved in {outcome.run_dir}. Resume it "
            f"with: beta-runner run {experiment_file} --resume {outcome.run_dir}",
            "resume_hint",
        )
    if outcome.exit_code == 0:
        _check_finished(outcome.run_dir, tables, gates, log)


def _check_finished(run_dir: Path, tables: RunTables, gates: _Gates, log: EventLog) -> None:
    """A finished run's gates: every arm answered and every scorer scored (unless errors are
    allowed), then the `--fail-on` thresholds; each raises what its exit code says."""
    if not gates.allow_errors:
        _check_every_arm_answered(tables.results, log)
        check_every_scorer_scored(tables.scores, log)
    if gates.thresholds:
        check_thresholds(gates.thresholds, run_dir, tables, log)


def _nothing_to_do(prepared: PreparedRun) -> bool:
    """A continuation with no request to send, of a run that ended (a killed run still says
    running: continuing it compacts it and marks it complete)."""
    continuing = prepared.continuing
    if continuing is None or prepared.sending:
        return False
    return continuing.manifest.status is not RunStatus.RUNNING


def _nothing_left(experiment: Experiment, continuing: Continuation, log: EventLog) -> None:
    """A continuation with no request to send: say so, and show the run as it stands."""
    run_dir = continuing.run_dir
    which = "left" if continuing.mode == RESUME else "whose final row is an error"
    log.info(f"Nothing left to send: {run_dir} has no request {which}.", "nothing_to_send")
    summary = RunTables.read(run_dir, experiment.prices).summary
    _print_summary_table(out_console(), experiment, summary)


def _check_every_arm_answered(results: pl.LazyFrame, log: EventLog) -> None:
    """ArmsFailed (exit 1) naming each (model, arm) without a successful request."""
    failed = without_success(results)
    lines = tuple(_no_success_line(row) for row in failed.iter_rows(named=True))
    for row, line in zip(failed.iter_rows(named=True), lines, strict=True):
        log.event(
            "arm_failed", {"model": row[R.model], "arm": row[R.arm], "message": line}, "error"
        )
    if lines:
        raise ArmsFailed(lines)


def _no_success_line(row: dict[str, object]) -> str:
    status = f" (HTTP {row[R.http_status]})" if row[R.http_status] else ""
    message = str(row[R.error_message] or "")
    shown = message if len(message) <= 100 else message[:99] + "…"
    return (
        f"arm {row[R.arm]!r} (model {row[R.model]}) has no successful request: all "
        f"{row['requests']} failed, mostly {row[R.error_type]}{status}"
        + (f": {shown}" if shown else "")
    )


def _launch(
    prepared: PreparedRun, options: LaunchOptions, log: EventLog, quiet: bool
) -> RunOutcome:
    mode = prepared.continuing.mode if prepared.continuing else "new"
    started = {"run_id": prepared.run_id, "experiment": prepared.experiment.name}
    log.event("run_started", {**started, "mode": mode, "sending": prepared.sending})
    try:
        with _progress(prepared.sending, quiet, err_console()) as bar:
            outcome = start_run(prepared, options, _Both(bar, log), log.warning)
    except (RunFailed, TargetUnusable) as failed:
        log.event("run_finished", {**started, "status": "failed", "error": str(failed)}, "error")
        raise
    finished = {**started, "status": outcome.status, "run_dir": str(outcome.run_dir)}
    log.event("run_finished", {**finished, "counts": dataclasses.asdict(outcome.counts)})
    return outcome


# The end-of-run table; `beta-runner compare` and the report show everything else.
SUMMARY_COLUMNS = (
    "model", "arm", "requests", "ok", "errors", "errors_by_type", "p50_latency_ms",
    "p95_latency_ms", "p50_ttft_ms", "mean_output_tokens", "cost_usd",
)  # fmt: skip
SUMMARY_HEADERS = {
    "requests": "n", "errors": "err", "errors_by_type": "errors by type",
    "p50_latency_ms": "p50 ms", "p95_latency_ms": "p95 ms", "p50_ttft_ms": "ttft ms",
    "mean_output_tokens": "out tok", "cost_usd": "cost $",
}  # fmt: skip
# Dropped in this order until the table fits: ok is n - err; the rest are in `compare`.
SUMMARY_DROPPABLE = ("ok", "mean_output_tokens", "p95_latency_ms", "errors_by_type")


def _print_summary(experiment: Experiment, outcome: RunOutcome, tables: RunTables) -> None:
    summary = tables.summary
    console = out_console()
    _print_summary_table(console, experiment, summary)
    say(console, pricing_note(experiment.prices, experiment.models))
    note = client_lag_note(summary)
    if note is not None:
        say(console, note)
    _print_conversations(console, experiment, outcome.run_dir)
    _print_scores(console, tables)
    say(
        console,
        f"Run {outcome.status}: {outcome.counts.requests} requests, "
        f"{outcome.counts.errors} errors, written to {outcome.run_dir}",
    )


def _print_summary_table(console: Console, experiment: Experiment, summary: pl.DataFrame) -> None:
    """The end-of-run per-arm table, narrowed to fit the terminal."""
    table = summary.select(SUMMARY_COLUMNS)
    title = f"{experiment.name}: per-arm summary"
    console.print(fit_table(console, table, title, SUMMARY_HEADERS, SUMMARY_DROPPABLE))


def _print_scores(console: Console, tables: RunTables) -> None:
    """Per arm and scorer: scored answers, errors, mean score and pass rate, when scored."""
    if tables.scores is None:
        return
    table = score_summary(tables.results, tables.scores)
    console.print(score_table(console, table, "scores per arm (compare RUN_DIR tests the deltas)"))


CONVERSATION_HEADERS = {
    "conversations": "n", "mean_turns": "turns", "mean_tool_calls": "tool calls",
    "context_tokens_by_turn": "context tokens by turn",
    "input_tokens_by_turn": "uncached input tokens by turn",
    "output_tokens_by_turn": "output tokens by turn",
}  # fmt: skip


def _print_conversations(console: Console, experiment: Experiment, run_dir: Path) -> None:
    """Per arm: turns, tool calls and mean tokens per turn, when the run has conversations."""
    turns = read_turns(run_dir)
    if turns.select(pl.len()).collect().item() == 0:
        return
    table = conversation_summary(turns).with_columns(
        pl.col("context_tokens_by_turn", "input_tokens_by_turn", "output_tokens_by_turn")
        .list.eval(pl.element().cast(pl.String))
        .list.join(" · ")
    )
    title = (
        f"{experiment.name}: conversations per arm (means over conversations; a turn's "
        "context tokens = input + cache read + cache write)"
    )
    droppable = ("output_tokens_by_turn", "input_tokens_by_turn")
    whole = ("model", "arm")
    console.print(fit_table(console, table, title, CONVERSATION_HEADERS, droppable, whole=whole))


class _Both:
    """Tells the progress bar (if any) and the log about each finished request."""

    def __init__(self, bar: ResultObserver | None, log: EventLog) -> None:
        self._bar = bar
        self._log = log

    def result(self, row: ResultRow) -> None:
        """One request finished."""
        if self._bar is not None:
            self._bar.result(row)
        self._log.result(row)


@contextmanager
def _progress(total: int, quiet: bool, console: Console) -> Iterator[ResultObserver | None]:
    if not wants_progress(sys.stderr, quiet):
        yield None
        return
    with ProgressBar(total, console) as bar:
        yield bar
