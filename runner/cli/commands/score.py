"""`beta-runner score`: (re)score a finished run with its experiment's scorers.

Sends nothing to the arms: answer scorers read the stored results; only judges send requests,
to their judge model, through the experiment's target (or the emulator, with --local).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import click

from runner.analysis.runs import load_judge_requests, load_run
from runner.analysis.scores import judge_totals, score_summary
from runner.cli.commands.options import command_log, emulator_option, log_format_option
from runner.cli.emulator_settings import emulator_config, local_only
from runner.cli.locations import Run, local_run, run_argument
from runner.cli.logs import EventLog
from runner.cli.scoring import check_every_scorer_scored, score_table
from runner.cli.terminal import fit_table, out_console
from runner.config.environment import Environment
from runner.config.load import load_experiment
from runner.config.scorers import JudgeScorer, Scorer
from runner.config.types import Experiment, Target
from runner.errors import RunStoreError, UsageError
from runner.http.client import MessagesClient
from runner.results.store import RunDirectory, read_scores
from runner.run.launch import api_key_for, target_url
from runner.run.scoring import rescore, stale_scorers
from runner.run.services import http_client


@click.command("score")
@run_argument
@click.option(
    "--experiment",
    "experiment_file",
    type=click.Path(path_type=Path),
    help="The experiment whose scorers to use (default: the file the run was made from).",
)
@click.option(
    "--scorer",
    "names",
    multiple=True,
    metavar="NAME",
    help="Rescore with this scorer (repeatable; default: every scorer that is new or changed).",
)
@click.option("--local", is_flag=True, help="Send judge requests to the built-in emulator.")
@click.option("--base-url", help="Send judge requests to this server instead of the target.")
@emulator_option
@log_format_option
@click.pass_context
def score_command(
    ctx: click.Context,
    run_dir: Run,
    experiment_file: Path | None,
    names: Sequence[str],
    local: bool,
    base_url: str | None,
    emulator_settings: Sequence[str],
    log_format: str | None,
) -> None:
    """Score RUN_DIR's answers again; only the chosen scorers' rows are replaced.

    Nothing is sent to the arms; judges among the chosen scorers send their requests to the
    experiment's target (or --base-url, or the emulator with --local)."""
    local_only(emulator_settings, local)
    directory = RunDirectory.open(local_run(run_dir, "score"))
    env = Environment.from_os()
    loaded = load_experiment(_experiment_path(directory, experiment_file), env_base_url=None)
    log = command_log(ctx, log_format)
    for warning in loaded.warnings:
        log.warning(warning)
    experiment = loaded.experiment
    chosen = _chosen(experiment, directory, names)
    if not chosen:
        click.echo("Every scorer's rows are up to date; nothing to score (--scorer NAME forces).")
        return
    judges = any(isinstance(s, JudgeScorer) for s in chosen)
    with target_url(local, base_url, emulator_config(emulator_settings)) as url:
        judging = _Judging.of(experiment, url, env, local) if judges else None
        counts = anyio.run(_score, experiment, directory, chosen, judging)
    written = ", ".join(f"{name} ({count} rows)" for name, count in counts.items())
    click.echo(f"Scored {directory.path.name}: {written}.")
    _print_scores(directory, chosen, judges, log)


def _print_scores(
    directory: RunDirectory, chosen: Sequence[Scorer], judges: bool, log: EventLog
) -> None:
    """The scores per arm (and the judges' requests, when judges scored), then the check
    that each chosen scorer scored something."""
    scores = read_scores(directory.path)
    summary = score_summary(load_run(directory.path), scores)
    console = out_console()
    console.print(score_table(console, summary, "scores per arm"))
    if judges:
        judged = judge_totals(load_judge_requests(directory.path))
        console.print(fit_table(console, judged, "judge requests"))
    check_every_scorer_scored(scores, log, [s.name for s in chosen])


@dataclass(frozen=True)
class _Judging:
    """Where the judges' requests go, and the key they carry."""

    target: Target
    key: str | None

    @classmethod
    def of(cls, experiment: Experiment, url: str | None, env: Environment, local: bool) -> _Judging:
        """The experiment's target, or the one at `url` (--base-url, the emulator)."""
        target = experiment.target if url is None else _at(experiment, url)
        return cls(target, api_key_for(experiment, env, local=local))


async def _score(
    experiment: Experiment,
    directory: RunDirectory,
    chosen: Sequence[Scorer],
    judging: _Judging | None,
) -> dict[str, int]:
    if judging is None:
        return await rescore(experiment, directory, chosen, None)
    timeout = experiment.run.timeout_s
    async with http_client(experiment.run.concurrency, timeout) as http:
        client = MessagesClient(http, judging.target, judging.key, timeout_s=timeout)
        return await rescore(experiment, directory, chosen, client)


def _at(experiment: Experiment, url: str) -> Target:
    return dataclasses.replace(experiment.target, base_url=url.rstrip("/"))


def _experiment_path(directory: RunDirectory, given: Path | None) -> Path:
    if given is not None:
        return given
    recorded = directory.read_manifest().experiment.get("path")
    if not isinstance(recorded, str) or not Path(recorded).is_file():
        raise RunStoreError(
            f"The experiment file this run was made from ({recorded or 'unrecorded'}) is not "
            "there; give it with --experiment FILE."
        )
    return Path(recorded)


def _chosen(experiment: Experiment, directory: RunDirectory, names: Sequence[str]) -> list[Scorer]:
    by_name = {s.name: s for s in experiment.scorers}
    if not by_name:
        raise UsageError(f"{experiment.path} has no [[scorers]]; add one to score this run.")
    for name in names:
        if name not in by_name:
            close = difflib.get_close_matches(name, list(by_name), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise UsageError(
                f"--scorer {name!r} is not a scorer of {experiment.path.name}.{hint} "
                f"Its scorers: {', '.join(by_name)}."
            )
    if names:
        return [by_name[name] for name in dict.fromkeys(names)]
    return list(stale_scorers(experiment, directory))
