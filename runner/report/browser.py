"""The side-by-side output browser: one section per case, each arm's text per model and repeat,
marked up against the baseline arm's text of the same (case, model, repeat).

Input is `side_by_side(results)`: one row per (case_id, model, repeat) with a `text:<arm>` column
per arm. The page's script only shows the section picked in the case selector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

import polars as pl

from runner.analysis.outputs import TEXT_PREFIX
from runner.report.diff import changed_share, render_spans, word_diff
from runner.report.numbers import format_share
from runner.report.scores import CellScore, score_badges
from runner.results.schema import R

ErrorKey = tuple[str, str, int, str]  # (case_id, model, repeat, arm)


@dataclass(frozen=True)
class BrowserInput:
    """What the browser shows: the side-by-side frame, the arms in order, the baseline arm,
    an error label for each failed request and each case's prompt text."""

    outputs: pl.DataFrame
    arms: tuple[str, ...]
    baseline: str
    errors: Mapping[ErrorKey, str] = field(default_factory=dict)
    prompts: Mapping[str, str] = field(default_factory=dict)
    scores: Mapping[ErrorKey, list[CellScore]] = field(default_factory=dict)
    disagree: frozenset[str] | set[str] = frozenset()


def case_browser(data: BrowserInput) -> str:
    """The selector and one section per case (all but the first hidden)."""
    ordered = data.outputs.sort([R.case_id, R.model, R.repeat])
    cases = list(dict.fromkeys(ordered[R.case_id].to_list()))
    if not cases:
        return '<p class="empty">No outputs to show.</p>'
    options = "".join(
        f'<option value="{i}"{_disagree(case, data)}>{escape(case)}</option>'
        for i, case in enumerate(cases)
    )
    sections = "".join(
        _case_section(i, case, ordered.filter(pl.col(R.case_id) == case), data)
        for i, case in enumerate(cases)
    )
    only = (
        ' <label><input type="checkbox" id="disagree-only"> only cases where arms disagree on a '
        f"score ({len(data.disagree)})</label>"
        if data.scores
        else ""
    )
    return (
        '<div class="browser"><label for="case-select">Case </label>'
        f'<select id="case-select">{options}</select>{only}{sections}</div>'
    )


def _disagree(case: str, data: BrowserInput) -> str:
    return ' data-disagree="1"' if case in data.disagree else ""


def _case_section(index: int, case_id: str, rows: pl.DataFrame, data: BrowserInput) -> str:
    hidden = " hidden" if index else ""
    prompt = data.prompts.get(case_id)
    prompt_html = f'<pre class="prompt">{escape(prompt)}</pre>' if prompt else ""
    header = "".join(
        f"<th>{escape(arm)}{' (baseline)' if arm == data.baseline else ''}</th>"
        for arm in data.arms
    )
    body = "".join(_output_row(row, data) for row in rows.iter_rows(named=True))
    return (
        f'<section class="case" id="case-{index}" data-case="{escape(case_id)}"'
        f"{_disagree(case_id, data)}{hidden}>"
        f"<h3>{escape(case_id)}</h3>{prompt_html}"
        f'<div class="scroll"><table class="outputs"><thead><tr><th>model</th><th>repeat</th>'
        f"{header}</tr></thead><tbody>{body}</tbody></table></div></section>"
    )


def _output_row(row: dict[str, Any], data: BrowserInput) -> str:
    cells = "".join(_arm_cell(row, arm, data) for arm in data.arms)
    return f'<tr><td>{escape(row[R.model])}</td><td class="num">{row[R.repeat]}</td>{cells}</tr>'


def _arm_cell(row: dict[str, Any], arm: str, data: BrowserInput) -> str:
    text: str | None = row.get(TEXT_PREFIX + arm)
    key = (row[R.case_id], row[R.model], row[R.repeat], arm)
    badges = score_badges(data.scores.get(key, []))
    if text is None:
        label = data.errors.get(key, "no text")
        return f'<td class="output failed"><span class="error">{escape(label)}</span></td>'
    base: str | None = row.get(TEXT_PREFIX + data.baseline)
    if arm == data.baseline or base is None:
        return f'<td class="output"><div class="text">{escape(text)}</div>{badges}</td>'
    spans = word_diff(base, text)
    share = changed_share(spans)
    badge = "identical" if share == 0 else f"{format_share(share)} changed"
    css = "same" if share == 0 else "changed"
    return (
        f'<td class="output"><span class="badge {css}">{badge}</span>'
        f'<div class="text">{render_spans(spans)}</div>{badges}</td>'
    )
