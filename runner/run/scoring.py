"""Scoring a run: answers scored as they arrive, then judges and any answers left unscored.

`LiveScoring` scores each ok result in the worker that finished it, off the event loop when a
Python scorer is present (user code may be slow or blocking). `score_stored` works on a run
directory: it scores the ok results that lack a score of each chosen scorer (or all of them
when rescoring), sends the judges' requests, and writes the rows. A session calls it after
its arms' requests (to catch results that arrived through Message Batches or before an
interruption, and to run the judges); `beta-runner score` calls it on a finished run, where
it sends no request to the arms, only to judges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anyio
import polars as pl

from runner.clock import Clock, MonotonicClock, Sleep, real_sleep
from runner.config.scorers import JudgeScorer, Scorer
from runner.config.types import Case, Experiment
from runner.http.client import MessagesClient
from runner.results.schema import STATUS_OK, AttemptRow, JudgeRequestRow, ResultRow, S, ScoreRow
from runner.results.store import RunDirectory, read_results, read_scores
from runner.run.execute import RequestContext
from runner.run.judging import JudgeLane, judge_jobs, send_judges
from runner.run.pacing import Pacing
from runner.schedule.scheduler import Scheduler
from runner.scoring.apply import answer_scorers, needs_thread, score_result, score_results
from runner.scoring.inputs import ResultColumns


@dataclass(frozen=True)
class LiveScoring:
    """The answer scorers of a run, applied to each result as it arrives."""

    scorers: tuple[Scorer, ...]

    @classmethod
    def of(cls, experiment: Experiment) -> LiveScoring:
        """The experiment's scorers that read one answer alone (judges run later)."""
        return cls(answer_scorers(experiment.scorers))

    async def rows(self, case: Case, result: ResultRow) -> list[ScoreRow]:
        """The score rows of one result (none for a failed request)."""
        if result.status != STATUS_OK or not self.scorers:
            return []
        message = result.message
        columns = ResultColumns(
            request_key=result.request_key,
            arm=result.arm,
            model=result.model,
            repeat=result.repeat,
            text=message.text,
            content_json=message.content_json,
            usage_json=message.usage_json,
            stop_reason=message.stop_reason,
        )
        if needs_thread(self.scorers):
            return await anyio.to_thread.run_sync(score_result, self.scorers, case, columns)
        return score_result(self.scorers, case, columns)


@dataclass(frozen=True)
class ScoringPass:
    """Which scorers to run over a stored run, and whether their old rows are replaced."""

    scorers: tuple[Scorer, ...]
    replace: bool


def stale_scorers(experiment: Experiment, run_dir: RunDirectory) -> tuple[Scorer, ...]:
    """The experiment's scorers that have no rows in the run, or rows of other settings."""
    stored = read_scores(run_dir.path).select(S.scorer, S.fingerprint).unique().collect()
    marks: dict[str, set[str]] = {}
    for name, mark in stored.iter_rows():
        marks.setdefault(name, set()).add(mark)
    return tuple(s for s in experiment.scorers if marks.get(s.name) != {s.fingerprint})


def changed_scorers(experiment: Experiment, run_dir: RunDirectory) -> tuple[Scorer, ...]:
    """The experiment's scorers with rows in the run made with other settings."""
    stored = read_scores(run_dir.path).select(S.scorer, S.fingerprint).unique().collect()
    current = {s.name: s.fingerprint for s in experiment.scorers}
    names = {name for name, mark in stored.iter_rows() if current.get(name, mark) != mark}
    return tuple(s for s in experiment.scorers if s.name in names)


async def score_session(
    experiment: Experiment, run_dir: RunDirectory, lane: JudgeLane | None
) -> dict[str, int]:
    """After a session's requests: score what is unscored, and rescore whole any scorer whose
    settings changed since an earlier session (a resumed run with an edited scorer)."""
    changed = changed_scorers(experiment, run_dir)
    rest = tuple(s for s in experiment.scorers if s not in changed)
    counts = await score_stored(experiment, run_dir, ScoringPass(rest, replace=False), lane)
    if changed:
        counts |= await score_stored(experiment, run_dir, ScoringPass(changed, replace=True), lane)
    return counts


async def score_stored(
    experiment: Experiment,
    run_dir: RunDirectory,
    scoring: ScoringPass,
    lane: JudgeLane | None,
) -> dict[str, int]:
    """Score the run's ok results (see the module docstring); rows written, per scorer."""
    results = read_results(run_dir.path).collect()
    cases = {case.id: case for case in experiment.cases}
    todo = _unscored(results, run_dir, scoring)
    answers = answer_scorers(scoring.scorers)
    rows: list[ScoreRow] = []
    for scorer in answers:
        rows += await anyio.to_thread.run_sync(score_results, todo[scorer.name], cases, [scorer])
    if not scoring.replace:  # written before the judges start: an interruption keeps them
        run_dir.append([], [], rows)
    judges = [s for s in scoring.scorers if isinstance(s, JudgeScorer)]
    verdicts: list[ScoreRow] = []
    requests: list[JudgeRequestRow] = []
    if lane is not None and judges:
        verdicts, requests = await _judge(experiment, results, todo, judges, lane)
    if scoring.replace:
        run_dir.replace_scores([s.name for s in scoring.scorers], [*rows, *verdicts])
        run_dir.replace_judge_requests([s.name for s in judges], requests)
    else:
        run_dir.append([], [], verdicts, requests)
    counts = {s.name: 0 for s in scoring.scorers}
    for row in [*rows, *verdicts]:
        counts[row.scorer] += 1
    return counts


def _unscored(
    results: pl.DataFrame, run_dir: RunDirectory, scoring: ScoringPass
) -> dict[str, pl.DataFrame]:
    """Per scorer, the results it should score: all (replacing) or those it has not scored."""
    if scoring.replace:
        return {s.name: results for s in scoring.scorers}
    stored = read_scores(run_dir.path).select(S.request_key, S.scorer).collect()
    todo = {}
    for scorer in scoring.scorers:
        done = stored.filter(pl.col(S.scorer) == scorer.name)[S.request_key]
        todo[scorer.name] = results.filter(~pl.col(S.request_key).is_in(done.implode()))
    return todo


async def _judge(
    experiment: Experiment,
    results: pl.DataFrame,
    todo: Mapping[str, pl.DataFrame],
    judges: Sequence[JudgeScorer],
    lane: JudgeLane,
) -> tuple[list[ScoreRow], list[JudgeRequestRow]]:
    # Imported here: runner.analysis (numpy, every query module) is not needed to send a run.
    from runner.analysis.baseline import default_baseline

    cases = {case.id: case for case in experiment.cases}
    baseline = default_baseline(results)
    jobs = []
    for judge in judges:
        jobs += judge_jobs(todo[judge.name], cases, [judge], baseline, experiment.run.seed)
    return await send_judges(lane, jobs)


def judge_lane(
    experiment: Experiment,
    context: RequestContext,
    pacing: Pacing,
    schedulers: Mapping[str, Scheduler],
) -> JudgeLane:
    """A lane for the experiment's judges: `schedulers` where a judge's model has one, and
    one made by `pacing` (the run's settings and in-flight cap) for any other."""
    models = {s.model for s in experiment.scorers if isinstance(s, JudgeScorer)}
    extra = pacing.schedulers(sorted(models - set(schedulers)))
    return JudgeLane(context, {**schedulers, **extra}, pacing.concurrency)


async def rescore(
    experiment: Experiment,
    run_dir: RunDirectory,
    scorers: Sequence[Scorer],
    judge_client: MessagesClient | None,
    *,
    clock: Clock | None = None,
    sleep: Sleep = real_sleep,
) -> dict[str, int]:
    """`beta-runner score`: replace `scorers`' rows in a finished run. Judges send their
    requests through `judge_client` (needed only when a judge is among `scorers`), paced like
    a run's (`Pacing`) on `clock` and `sleep` (real time unless given); nothing is sent to the
    arms."""
    lane = None
    if judge_client is not None:
        clock = clock or MonotonicClock()
        context = RequestContext(
            _run_id(run_dir), judge_client, experiment.run.retry, clock, sleep, DroppedAttempts()
        )
        lane = judge_lane(experiment, context, Pacing.of(experiment, clock, sleep), {})
    return await score_stored(experiment, run_dir, ScoringPass(tuple(scorers), True), lane)


def _run_id(run_dir: RunDirectory) -> str:
    return run_dir.read_manifest().run_id


class DroppedAttempts:
    """Judge attempts are not the arms' attempts: `judge_requests.parquet` holds their totals."""

    async def attempt(self, row: AttemptRow) -> None:
        """Drop the attempt row."""
