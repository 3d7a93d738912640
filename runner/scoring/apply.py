"""Scoring results: each applicable scorer on each ok result, as `ScoreRow`s.

A scorer that fails on an answer gives a row with `error` set and no value; one that does not
apply (no `expected` on the case, a judge) gives no row. Used as results arrive in a run and
over a stored run's results by `beta-runner score`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import polars as pl

from runner.config.scorers import JudgeScorer, PythonScorer, Scorer
from runner.config.types import Case
from runner.results.schema import STATUS_OK, R, ScoreRow
from runner.scoring.builtin import ScoringError, score_answer
from runner.scoring.inputs import ResultColumns, ScoreInput

_COLUMNS = (
    R.request_key, R.arm, R.model, R.repeat, R.text, R.content_json, R.usage_json, R.stop_reason,
)  # fmt: skip


def answer_scorers(scorers: Sequence[Scorer]) -> tuple[Scorer, ...]:
    """The scorers that read one answer alone (every type but judges)."""
    return tuple(s for s in scorers if not isinstance(s, JudgeScorer))


def needs_thread(scorers: Sequence[Scorer]) -> bool:
    """Whether scoring may be slow (user code): then it runs off the event loop."""
    return any(isinstance(s, PythonScorer) for s in scorers)


def score_result(scorers: Sequence[Scorer], case: Case, columns: ResultColumns) -> list[ScoreRow]:
    """Every applicable scorer's row for one ok result."""
    given = ScoreInput.from_columns(case, columns)
    rows: list[ScoreRow] = []
    for scorer in scorers:
        row = _row(scorer, given, columns.request_key)
        if row is not None:
            rows.append(row)
    return rows


def _row(scorer: Scorer, given: ScoreInput, key: str) -> ScoreRow | None:
    mark = scorer.fingerprint
    try:
        score = score_answer(scorer, given)
    except ScoringError as exc:
        return ScoreRow(key, scorer.name, mark, None, None, None, str(exc))
    if score is None:
        return None
    return ScoreRow(key, scorer.name, mark, score.value, score.passed, score.explanation, None)


def score_results(
    results: pl.DataFrame, cases: Mapping[str, Case], scorers: Sequence[Scorer]
) -> list[ScoreRow]:
    """Rows of `scorers` for every ok result whose case is in `cases`."""
    rows: list[ScoreRow] = []
    for case, columns in ok_results(results, cases):
        rows += score_result(scorers, case, columns)
    return rows


def ok_results(
    results: pl.DataFrame, cases: Mapping[str, Case]
) -> Iterator[tuple[Case, ResultColumns]]:
    """Each ok result with its case (results of cases no longer in the experiment skipped)."""
    ok = results.filter(pl.col(R.status) == STATUS_OK)
    for row in ok.select(R.case_id, *_COLUMNS).iter_rows(named=True):
        case = cases.get(str(row[R.case_id]))
        if case is not None:
            yield case, ResultColumns(**{name: row[name] for name in _COLUMNS})
