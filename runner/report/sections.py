"""The report's text and table sections: run facts, per-arm summary, errors, comparison."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

import polars as pl

from runner.analysis.summary import client_lag_note
from runner.report.numbers import INTERVAL, MISSING, format_number, format_share, interval_column
from runner.report.tables import html_table
from runner.results.manifest import Manifest


def run_facts(manifest: Manifest) -> str:
    """The manifest's headline: experiment, run id, status, times, duration and counts."""
    counts = manifest.counts
    finished = manifest.finished_at
    facts = [
        ("experiment", manifest.experiment_name),
        ("description", manifest.experiment.get("description")),
        ("run id", manifest.run_id),
        ("status", str(manifest.status)),
        ("started", manifest.started_at.isoformat()),
        ("finished", finished.isoformat() if finished else None),
        ("duration", _duration(manifest.started_at, finished)),
        ("fingerprint", manifest.fingerprint),
        ("planned requests", counts.planned),
        ("requests", counts.requests),
        ("ok", counts.ok),
        ("errors", counts.errors),
        ("attempts", counts.attempts),
    ]
    rows = "".join(
        f"<dt>{escape(name)}</dt><dd>{escape(_fact_text(value))}</dd>"
        for name, value in facts
        if value not in (None, "")
    )
    return f'<dl class="facts">{rows}</dl>'


def summary_table(summary: pl.DataFrame) -> str:
    """The per-(model, arm) summary from `summarize`, as a table; an arm whose requests all
    failed reads "failed" where it has no figure, never 0."""
    return html_table(
        summary,
        table_id="summary-table",
        row_class=lambda row: "failed" if _all_failed(row) else "",
        empty=lambda row: FAILED if _all_failed(row) else MISSING,
    )


FAILED = "failed"


def _all_failed(row: dict[str, Any]) -> bool:
    return bool(row.get("requests")) and row.get("ok") == 0


def lag_note(summary: pl.DataFrame) -> str:
    """The client-lag warning under the summary (`client_lag_note`), or nothing."""
    note = client_lag_note(summary)
    return f'<p class="warning" id="client-lag">{escape(note)}</p>' if note else ""


def error_table(rates: pl.DataFrame, messages: pl.DataFrame | None = None) -> str:
    """`error_rates` rows (per model, arm and error type, with Wilson CIs) and, per error type,
    what the server said (`messages`: model, arm, error_type, message); a line if none."""
    if not rates.height or not rates["errors"].sum():
        return '<p class="empty">No request failed.</p>'
    if messages is not None and messages.height:
        keys = ["model", "arm", "error_type"]
        said = messages.select(*keys, pl.col("message").alias("server message"))
        rates = rates.join(said, on=keys, how="left", maintain_order="left")
    shown = rates.with_columns(
        pl.struct("ci_low", "ci_high")
        .map_elements(_share_interval, return_dtype=pl.String)
        .alias("95% CI")
    ).drop("ci_low", "ci_high")
    if "server message" in shown.columns:  # last: the one long column, allowed to wrap
        shown = shown.select(pl.exclude("server message"), "server message")
    return html_table(shown, table_id="error-table", formats={"rate": format_share})


def comparison_table(comparison: pl.DataFrame) -> str:
    """`compare`'s rows with the CI as one column; significant rows carry a class and a mark."""
    if not comparison.height:
        return '<p class="empty">No arm to compare with the baseline.</p>'
    shown = comparison.with_columns(interval_column()).drop("ci_low", "ci_high")
    order = [c for c in shown.columns if c not in (INTERVAL, "p_value", "significant", "n")]
    shown = shown.select(*order, INTERVAL, "p_value", "significant", "n")
    shown = shown.with_columns(
        pl.struct("metric", "delta", "significant")
        .map_elements(_verdict, return_dtype=pl.String)
        .alias("significant")
    )
    return html_table(
        shown,
        table_id="comparison-table",
        together=(*QUANTITIES, INTERVAL),
        row_class=lambda row: "significant" if row["significant"].startswith("★") else "",
    )


# The columns in a metric's own unit: a row's share their decimals (1.000 beside 0.833).
QUANTITIES = ("baseline", "value", "delta", "ci_low", "ci_high", "mde")
# Output metrics: a change means less alike than the baseline's repeats are to each other.
OUTPUT_CHANGE = {"exact_match": -1.0, "similarity": -1.0}
OUTPUT_QUESTION = "outputs differ from the baseline more than repeats differ"
REFERENCE_ROWS = ("self_similarity", "baseline_self_similarity")


def _verdict(row: dict[str, Any]) -> str:
    """The `significant` cell in words; for output metrics, the question it answers."""
    metric, delta, significant = row["metric"], row["delta"], bool(row["significant"])
    if metric in OUTPUT_CHANGE:
        changed = significant and delta is not None and delta * OUTPUT_CHANGE[metric] > 0
        return f"{'★ ' if changed else ''}{OUTPUT_QUESTION}: {'yes' if changed else 'no'}"
    if metric in REFERENCE_ROWS:
        return "reference (repeat-to-repeat)"
    return "★ yes" if significant else "no"


def effect_section(evidence: pl.DataFrame, summary: pl.DataFrame) -> str:
    """Did the beta take effect? Per (model, arm): the verdict in words, the evidence signal's
    share in the arm and in the baseline, and what changed (`evidence_report`). An arm whose
    requests all failed says so: nothing was measured there."""
    if not evidence.height:
        return '<p class="empty">No arm to compare with the baseline.</p>'
    oks = summary.select("model", "arm", pl.col("ok").alias("_ok"))
    evidence = evidence.join(oks, on=["model", "arm"], how="left", maintain_order="left")
    verdict = (
        pl.when(pl.col("_ok") == 0)
        .then(pl.lit("failed: no request succeeded, so nothing was measured (see Errors)"))
        .when(pl.col("no_detectable_effect"))
        .then(pl.lit("no detectable effect: the beta may have been dropped or be a no-op"))
        .otherwise(pl.lit("yes: ") + pl.col("changed"))
        .alias("did the beta take effect?")
    )
    shown = evidence.select(
        "model", "arm", verdict,
        pl.col("evidence_share").alias("evidence in arm"),
        pl.col("baseline_evidence_share").alias("evidence in baseline"),
    )  # fmt: skip
    return html_table(
        shown,
        table_id="effect-table",
        formats={"evidence in arm": format_share, "evidence in baseline": format_share},
        row_class=lambda row: "" if row["did the beta take effect?"].startswith("yes") else "warn",
    )


def _share_interval(bounds: dict[str, float | None]) -> str:
    return f"[{format_share(bounds['ci_low'])}, {format_share(bounds['ci_high'])}]"


def _duration(started: datetime, finished: datetime | None) -> str | None:
    if finished is None:
        return None
    return f"{(finished - started).total_seconds():.1f} s"


def _fact_text(value: Any) -> str:
    return format_number(value) if isinstance(value, (int, float)) else str(value)
