"""Everything the report shows, read once from a run through the analysis API.

A run is a local directory or a URL that `load_run` reads; a URL's manifest is not read (the
analysis reads only Parquet there), so its report has no run facts and its arms are in name
order (the baseline first), and without `prices` its costs are missing, never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from runner.analysis import (
    check_baseline,
    compare,
    default_baseline,
    error_rates,
    evidence_report,
    load_run,
    side_by_side,
    summarize,
)
from runner.analysis.conversation import per_turn
from runner.analysis.runs import (
    is_url,
    load_judge_requests,
    load_scores,
    load_turns,
    run_manifest,
)
from runner.analysis.scores import empty_scores, judge_totals, score_summary
from runner.catalog.prices import PriceTable
from runner.report.browser import ErrorKey
from runner.results.manifest import Manifest
from runner.results.schema import STATUS_OK, R


@dataclass(frozen=True)
class ReportData:
    """One run's manifest (None for a run read from a URL), results and analysis tables,
    with its arms in experiment order."""

    manifest: Manifest | None
    title: str
    results: pl.DataFrame
    summary: pl.DataFrame
    arms: tuple[str, ...]
    baseline: str
    prompts: dict[str, str]
    comparison: pl.DataFrame
    outputs: pl.DataFrame
    error_rates: pl.DataFrame
    errors: dict[ErrorKey, str]
    error_messages: pl.DataFrame
    evidence: pl.DataFrame
    scores: pl.DataFrame
    score_summary: pl.DataFrame
    judges: pl.DataFrame
    turns: pl.DataFrame


def gather(
    run: str | Path, baseline: str | None = None, prices: PriceTable | None = None
) -> ReportData:
    """Read the run (a directory or a URL) and compute the tables, priced with `prices` if
    given (else the run's own); UnknownBaseline if `baseline` is not one of its arms."""
    manifest = None if is_url(run) else run_manifest(run)
    results = load_run(run, prices=prices).collect()
    chosen = baseline or default_baseline(results)
    arms = arm_order(manifest, results, chosen)
    check_baseline(chosen, arms)
    scores = load_scores(run)
    table = (scores if scores is not None else empty_scores()).collect()
    turns = load_turns(run)
    comparison = compare(results, baseline=chosen, scores=scores, turns=turns)
    return ReportData(
        manifest=manifest,
        title=_title(run, manifest),
        results=results,
        summary=summarize(results),
        arms=arms,
        baseline=chosen,
        prompts=case_prompts(manifest) if manifest is not None else {},
        comparison=comparison,
        outputs=side_by_side(results, baseline=chosen),
        error_rates=error_rates(results),
        errors=error_labels(results),
        error_messages=error_messages(results),
        evidence=evidence_report(results, chosen, comparison=comparison),
        scores=table,
        score_summary=score_summary(results, table),
        judges=judge_totals(load_judge_requests(run, prices=prices)),
        turns=per_turn(turns),
    )


def arm_order(
    manifest: Manifest | None, results: pl.DataFrame, baseline: str | None = None
) -> tuple[str, ...]:
    """The arms in the experiment's order, then any others found in the results, sorted;
    without a manifest, the `baseline` first and the others sorted."""
    declared = [arm["name"] for arm in _experiment(manifest).get("arms", [])] if manifest else []
    found = set(results[R.arm].to_list())
    if not declared and baseline in found:
        declared = [baseline]
    return tuple(declared + sorted(found - set(declared)))


def _title(run: str | Path, manifest: Manifest | None) -> str:
    if manifest is None:
        return f"beta-runner report: {run}"
    return f"beta-runner report: {manifest.experiment_name} / {manifest.run_id}"


def case_prompts(manifest: Manifest) -> dict[str, str]:
    """Each case's system prompt and messages as readable text, by case id."""
    prompts = {}
    for case in _experiment(manifest).get("cases", []):
        lines = [f"system: {case['system']}"] if case.get("system") else []
        lines += [f"{m['role']}: {_content_text(m['content'])}" for m in case.get("messages", [])]
        prompts[str(case["id"])] = "\n".join(lines)
    return prompts


def error_labels(results: pl.DataFrame) -> dict[ErrorKey, str]:
    """For each failed request, "error_type (HTTP status)" by (case, model, repeat, arm)."""
    failed = results.filter(pl.col(R.status) != STATUS_OK)
    labels = {}
    for row in failed.iter_rows(named=True):
        status = f" (HTTP {row[R.http_status]})" if row[R.http_status] else ""
        label = f"error: {row[R.error_type] or 'unknown'}{status}"
        labels[(row[R.case_id], row[R.model], row[R.repeat], row[R.arm])] = label
    return labels


def error_messages(results: pl.DataFrame) -> pl.DataFrame:
    """Per (model, arm, error type): the server's message of the first such failure (stored
    already scrubbed of the key), so a reader sees why without opening the Parquet."""
    failed = results.filter(pl.col(R.status) != STATUS_OK)
    return (
        failed.with_columns(pl.col(R.error_type).fill_null("error"))
        .group_by(R.model, R.arm, R.error_type, maintain_order=True)
        .agg(pl.col(R.error_message).drop_nulls().first().alias("message"))
    )


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return json.dumps(content, ensure_ascii=False)


def _experiment(manifest: Manifest) -> dict[str, Any]:
    return dict(manifest.experiment)
