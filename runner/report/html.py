"""Page assembly: the report's sections put into one self-contained HTML page and written.

The page has its CSS, script and charts inline and a Content-Security-Policy that forbids
loading anything, so it opens offline and fetches nothing. The template is `page.html`.
"""

from __future__ import annotations

from html import escape
from importlib import metadata, resources
from pathlib import Path
from string import Template

from runner.analysis.runs import is_url
from runner.catalog.prices import PriceTable
from runner.report.browser import BrowserInput, case_browser
from runner.report.charts import distribution_charts, error_chart, token_charts
from runner.report.data import ReportData, gather
from runner.report.scores import (
    ScoresInput,
    cell_scores,
    disagreeing_cases,
    keyed_scores,
    scores_section,
)
from runner.report.sections import (
    comparison_table,
    effect_section,
    error_table,
    lag_note,
    run_facts,
    summary_table,
)
from runner.report.turns import turns_section
from runner.results import files

REPORT_FILE = "report.html"


def render_page(data: ReportData) -> str:
    """The whole HTML page for `data`."""
    return _template().substitute(
        title=escape(data.title),
        version=escape(_version()),
        arms=", ".join(escape(arm) for arm in data.arms),
        baseline=escape(data.baseline),
        body=_body(data),
    )


def build_report(
    run: str | Path, baseline: str | None = None, prices: PriceTable | None = None
) -> str:
    """The report page of the run (a directory, or a URL `load_run` reads), compared against
    `baseline`, priced with `prices` when given (else the run's recorded prices)."""
    return render_page(gather(run, baseline, prices))


def write_report(
    run: str | Path,
    output: Path | None = None,
    baseline: str | None = None,
    prices: PriceTable | None = None,
) -> Path:
    """Write the report atomically (default `RUN_DIR/report.html`; for a URL, `output` is
    required) and return its path."""
    if output is None and is_url(run):
        raise ValueError(f"write_report({run!r}): a run read from a URL needs an output path.")
    target = output or Path(run) / REPORT_FILE
    page = build_report(run, baseline, prices)
    files.write_bytes(target, page.encode("utf-8"))
    return target


def _body(data: ReportData) -> str:
    keyed = keyed_scores(data.results, data.scores)
    browser = BrowserInput(
        data.outputs, data.arms, data.baseline, data.errors, data.prompts,
        cell_scores(keyed), disagreeing_cases(keyed, data.baseline),
    )  # fmt: skip
    scored = ScoresInput(data.score_summary, data.comparison, data.judges)
    sections = [
        ("run", "Run", run_facts(data.manifest) if data.manifest else _no_manifest()),
        ("summary", "Per-arm summary", summary_table(data.summary) + lag_note(data.summary)),
        (
            "distributions",
            "Latency and time to first token",
            _charts(distribution_charts(data.results, data.arms)),
        ),
        ("tokens", "Tokens and cost", _charts(token_charts(data.summary, data.arms))),
        (
            "errors",
            "Errors",
            _charts(error_chart(data.summary, data.arms))
            + error_table(data.error_rates, data.error_messages),
        ),
        ("effect", "Did the beta take effect?", effect_section(data.evidence, data.summary)),
        ("comparison", f"Comparison with {data.baseline}", comparison_table(data.comparison)),
        ("scores", "Scores", scores_section(scored)),
        ("turns", "Conversations, turn by turn", turns_section(data.turns, data.arms)),
        ("outputs", "Outputs side by side", case_browser(browser)),
    ]
    return "\n".join(
        f'<section id="{ident}"><h2>{escape(heading)}</h2>{content}</section>'
        for ident, heading, content in sections
    )


def _no_manifest() -> str:
    return (
        '<p class="empty">Read from a URL: the run\'s manifest (status, times, counts, '
        "prices) was not read.</p>"
    )


def _charts(svgs: str) -> str:
    return f'<div class="charts">{svgs}</div>'


def _template() -> Template:
    text = resources.files("runner.report").joinpath("page.html").read_text(encoding="utf-8")
    return Template(text)


def _version() -> str:
    try:
        return metadata.version("beta-runner")
    except metadata.PackageNotFoundError:
        return "unknown"
