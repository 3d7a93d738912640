"""Everything the report shows, read once from a run directory through the analysis API."""

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
from runner.analysis.runs import load_scores, run_manifest
from runner.analysis.scores import empty_scores, judge_totals, score_summary
from runner.report.browser import ErrorKey
from runner.results.manifest import Manifest
from runner.results.schema import STATUS_OK, R


@dataclass(frozen=True)
class ReportData:
    """One run's manifest, results and analysis tables, with its arms in experiment order."""

    manifest: Manifest
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


def gather(run_dir: Path, baseline: str | None = None) -> ReportData:
    """Read `run_dir` and compute the tables; UnknownBaseline if `baseline` is not one of its
    arms."""
    manifest = run_manifest(run_dir)
    results = load_run(run_dir).collect()
    arms = arm_order(manifest, results)
    chosen = baseline or default_baseline(results)
    check_baseline(chosen, arms)
    scores = load_scores(run_dir)
    table = (scores if scores is not None else empty_scores()).collect()
    comparison = compare(results, baseline=chosen, scores=scores)
    return ReportData(
        manifest=manifest,
        results=results,
        summary=summarize(results),
        arms=arms,
        baseline=chosen,
        prompts=case_prompts(manifest),
        comparison=comparison,
        outputs=side_by_side(results, baseline=chosen),
        error_rates=error_rates(results),
        errors=error_labels(results),
        error_messages=error_messages(results),
        evidence=evidence_report(results, chosen, comparison=comparison),
        scores=table,
        score_summary=score_summary(results, table),
        judges=judge_totals(run_dir),
    )


def arm_order(manifest: Manifest, results: pl.DataFrame) -> tuple[str, ...]:
    """The arms in the experiment's order, then any others found in the results, sorted."""
    declared = [arm["name"] for arm in _experiment(manifest).get("arms", [])]
    found = sorted(set(results[R.arm].to_list()) - set(declared))
    return tuple(declared + found)


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
