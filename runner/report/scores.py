"""The report's scores: a section per run (scores per arm, score deltas, the judges' cost) and
what the output browser shows of them (each answer's scores and judge explanations, and which
cases the arms disagree on).

Arms disagree on a case when, for some model, repeat and scorer, their pass/fail (or, for a
scorer without pass/fail, their value) differs, or a pairwise judge preferred one answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import polars as pl

from runner.analysis.score_pairs import SCORE_METRIC
from runner.report.numbers import INTERVAL, format_number, format_share, interval_column
from runner.report.sections import QUANTITIES
from runner.report.tables import html_table
from runner.results.schema import R, S

CellKey = tuple[str, str, int, str]  # (case_id, model, repeat, arm)


@dataclass(frozen=True)
class CellScore:
    """One scorer's score of one answer, as the browser shows it."""

    scorer: str
    value: float | None
    passed: bool | None
    explanation: str | None
    error: str | None


def keyed_scores(results: pl.DataFrame, scores: pl.DataFrame) -> pl.DataFrame:
    """`scores` with each request's case, model, repeat and arm."""
    keys = results.select(R.request_key, R.case_id, R.model, R.repeat, R.arm)
    return scores.join(keys, on=R.request_key, how="inner").sort(S.scorer)


def cell_scores(keyed: pl.DataFrame) -> dict[CellKey, list[CellScore]]:
    """Each answer's scores, by (case, model, repeat, arm)."""
    cells: dict[CellKey, list[CellScore]] = {}
    for row in keyed.iter_rows(named=True):
        key = (row[R.case_id], row[R.model], row[R.repeat], row[R.arm])
        score = CellScore(row[S.scorer], row[S.value], row[S.passed], row[S.explanation],
                          row[S.error])  # fmt: skip
        cells.setdefault(key, []).append(score)
    return cells


def disagreeing_cases(keyed: pl.DataFrame, baseline: str) -> set[str]:
    """The cases on which the arms' scores differ (see the module docstring); a scorer with no
    score on the `baseline` arm is a pairwise judge."""
    if keyed.is_empty():
        return set()
    mark = pl.coalesce(pl.col(S.passed).cast(pl.Float64), pl.col(S.value))
    groups = keyed.group_by(R.case_id, R.model, R.repeat, S.scorer).agg(
        mark.n_unique().alias("_marks"),
        (pl.col(S.value) != 0.5).any().alias("_preferred"),
    )
    pairwise = keyed.group_by(S.scorer).agg((pl.col(R.arm) != baseline).all().alias("_pairwise"))
    flagged = groups.join(pairwise, on=S.scorer).filter(
        pl.when(pl.col("_pairwise")).then(pl.col("_preferred")).otherwise(pl.col("_marks") > 1)
    )
    return set(flagged[R.case_id].to_list())


def score_badges(scores: list[CellScore]) -> str:
    """One line per scorer under an answer: pass/fail or value, and why."""
    lines = []
    for score in scores:
        if score.error is not None:
            mark, css = f"error: {score.error}", "score error"
        elif score.passed is not None:
            mark = f"{'pass' if score.passed else 'fail'} ({format_number(score.value)})"
            css = "score pass" if score.passed else "score fail"
        else:
            mark, css = format_number(score.value), "score"
        why = f" - {escape(score.explanation)}" if score.explanation else ""
        lines.append(f'<div class="{css}"><b>{escape(score.scorer)}</b>: {escape(mark)}{why}</div>')
    return f'<div class="scores">{"".join(lines)}</div>' if lines else ""


@dataclass(frozen=True)
class ScoresInput:
    """What the scores section shows."""

    summary: pl.DataFrame
    comparison: pl.DataFrame
    judges: pl.DataFrame


def scores_section(data: ScoresInput) -> str:
    """Scores per arm and scorer, the arms' score deltas with CIs, the judges' requests."""
    if data.summary.is_empty():
        return '<p class="empty">No scores: the experiment has no [[scorers]].</p>'
    rows = data.comparison.filter(pl.col("metric").str.starts_with(SCORE_METRIC))
    parts = [
        html_table(data.summary, table_id="scores-table", formats={"pass_rate": format_share}),
        _deltas(rows),
    ]
    if not data.judges.is_empty():
        parts.append(_judge_table(data.judges))
    return "".join(parts)


def _deltas(rows: pl.DataFrame) -> str:
    if rows.is_empty():
        return ""
    shown = rows.with_columns(pl.col(pl.Float64).round(4)).select(
        R.model, R.arm, "metric", "baseline", "value", "delta", interval_column(),
        "p_value", "q_value", "significant", "n", "mde",
    )  # fmt: skip
    return html_table(
        shown,
        table_id="score-deltas",
        together=(*QUANTITIES, INTERVAL),
        formats={"significant": lambda v: "★ yes" if v else "no"},
        row_class=lambda row: "significant" if row["significant"] else "",
    )


def _judge_table(judges: pl.DataFrame) -> str:
    return "<h3>Judge requests (not part of any arm's figures)</h3>" + html_table(judges)
