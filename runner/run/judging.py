"""Judge requests: which answers each judge grades, sent like any request, read into scores.

Judges run after the arms' requests of a session have finished (and from `beta-runner
score`), so their load never shares the rate limits or the connection pool with the arms
being measured. Each judge request goes through the run's `MessagesClient`, a scheduler for
the judge's model and the run's retry policy (`perform`, like the arms' requests); it becomes
a `JudgeRequestRow` (`judge_requests.parquet`: its own latency, tokens and cost) and, read
strictly, a `ScoreRow` on the judged request. A judge reply that cannot be read, or a judge
request that fails, gives a score row with its error.

A `grade` judge grades every ok answer. A `pairwise` judge compares each ok answer of an arm
other than the baseline with the baseline's ok answer to the same (run, case, model, repeat).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anyio
import polars as pl

from runner.config.scorers import JudgeScorer
from runner.config.types import Arm, Case
from runner.http.client import MESSAGES_PATH, PreparedRequest
from runner.plan.matrix import PlannedRequest, estimate_input_tokens
from runner.results.schema import STATUS_OK, JudgeRequestRow, R, ResultRow, ScoreRow
from runner.run.execute import RequestContext, perform
from runner.schedule.scheduler import Cost, Scheduler
from runner.scoring.builtin import ScoringError
from runner.scoring.judge import (
    ARM_FIRST,
    Order,
    grade_prompt,
    judge_body,
    pair_order,
    pairwise_prompt,
    read_grade,
    read_pairwise,
)

_PAIR = (R.run_id, R.case_id, R.model, R.repeat)


@dataclass(frozen=True)
class JudgeJob:
    """One judge request to make: for whom, with which prompt."""

    judge: JudgeScorer
    case: Case
    judged_key: str
    repeat: int
    prompt: str
    baseline_key: str | None = None
    order: Order | None = None


def judge_jobs(
    results: pl.DataFrame,
    cases: Mapping[str, Case],
    judges: Sequence[JudgeScorer],
    baseline: str,
    seed: int,
) -> list[JudgeJob]:
    """Every judge request of `judges` over `results` (a run's results table)."""
    ok = results.filter((pl.col(R.status) == STATUS_OK) & pl.col(R.case_id).is_in(list(cases)))
    jobs: list[JudgeJob] = []
    for judge in judges:
        if judge.mode == "grade":
            jobs += _grade_jobs(ok, cases, judge)
        else:
            jobs += _pairwise_jobs(ok, cases, judge, baseline, seed)
    return jobs


def _grade_jobs(ok: pl.DataFrame, cases: Mapping[str, Case], judge: JudgeScorer) -> list[JudgeJob]:
    return [
        JudgeJob(judge, case, row[R.request_key], row[R.repeat], grade_prompt(judge, case, text))
        for row in ok.iter_rows(named=True)
        for case, text in [(cases[row[R.case_id]], row[R.text] or "")]
    ]


def _pairwise_jobs(
    ok: pl.DataFrame, cases: Mapping[str, Case], judge: JudgeScorer, baseline: str, seed: int
) -> list[JudgeJob]:
    base = ok.filter(pl.col(R.arm) == baseline).select(
        *_PAIR, pl.col(R.request_key).alias("_base_key"), pl.col(R.text).alias("_base_text")
    )
    pairs = ok.filter(pl.col(R.arm) != baseline).join(base, on=list(_PAIR), how="inner")
    jobs = []
    for row in pairs.sort(R.request_key).iter_rows(named=True):
        case, key = cases[row[R.case_id]], row[R.request_key]
        order = pair_order(seed, key)
        arm_text, base_text = row[R.text] or "", row["_base_text"] or ""
        first, second = (arm_text, base_text) if order == ARM_FIRST else (base_text, arm_text)
        prompt = pairwise_prompt(judge, case, first, second)
        jobs.append(JudgeJob(judge, case, key, row[R.repeat], prompt, row["_base_key"], order))
    return jobs


@dataclass(frozen=True)
class JudgeLane:
    """What judge requests share: the request context and a scheduler per judge model."""

    context: RequestContext
    schedulers: Mapping[str, Scheduler]
    concurrency: int


async def send_judges(
    lane: JudgeLane, jobs: Sequence[JudgeJob]
) -> tuple[list[ScoreRow], list[JudgeRequestRow]]:
    """Send every job (at most `concurrency` at a time); each gives a score and a request row."""
    scores: list[ScoreRow] = []
    requests: list[JudgeRequestRow] = []
    pending = iter(jobs)

    async def worker() -> None:
        for job in pending:  # workers share one iterator: each job is taken once
            score, request = await _judge_one(lane, job)
            scores.append(score)
            requests.append(request)

    async with anyio.create_task_group() as group:
        for _ in range(min(lane.concurrency, len(jobs))):
            group.start_soon(worker)
    return scores, requests


async def _judge_one(lane: JudgeLane, job: JudgeJob) -> tuple[ScoreRow, JudgeRequestRow]:
    body = judge_body(job.judge, job.prompt)
    encoded = json.dumps(body, separators=(",", ":")).encode()
    prepared = PreparedRequest(MESSAGES_PATH, encoded, {}, stream=False)
    planned = PlannedRequest(
        _judge_key(job), job.case, job.judge.model, Arm(job.judge.name), job.repeat
    )
    cost = Cost(estimate_input_tokens(body), job.judge.max_tokens)
    result = await perform(lane.context, lane.schedulers[job.judge.model], planned, prepared, cost)
    return _score_row(job, result), _request_row(job, result)


def _judge_key(job: JudgeJob) -> str:
    text = f"{job.judge.name}\0{job.judge.fingerprint}\0{job.judged_key}"
    return "j" + hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _score_row(job: JudgeJob, result: ResultRow) -> ScoreRow:
    mark = job.judge.fingerprint
    if result.status != STATUS_OK:
        error = f"the judge request failed: {result.error_type}: {result.error_message}"
        return ScoreRow(job.judged_key, job.judge.name, mark, None, None, None, error)
    try:
        if job.order is None:
            score = read_grade(job.judge, result.message.text or "")
        else:
            score = read_pairwise(result.message.text or "", job.order)
    except ScoringError as exc:
        return ScoreRow(job.judged_key, job.judge.name, mark, None, None, None, str(exc))
    return ScoreRow(
        job.judged_key, job.judge.name, mark, score.value, score.passed, score.explanation, None
    )


def _request_row(job: JudgeJob, result: ResultRow) -> JudgeRequestRow:
    return JudgeRequestRow(result, job.judged_key, job.baseline_key, job.order)
