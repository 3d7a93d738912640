"""Page assembly: the report's sections put into one self-contained HTML page and written.

The page has its CSS, script and charts inline and a Content-Security-Policy that forbids
loading anything, so it opens offline and fetches nothing. The template is `page.html`.
"""

from __future__ import annotations

from html import escape
from importlib import metadata, resources
from pathlib import Path
from string import Template

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
from runner.results import files

REPORT_FILE = "report.html"


def render_page(data: ReportData) -> str:
    """The whole HTML page for `data`."""
    title = f"beta-runner report: {data.manifest.experiment_name} / {data.manifest.run_id}"
    return _template().substitute(
        title=escape(title),
        version=escape(_version()),
        arms=", ".join(escape(arm) for arm in data.arms),
        baseline=escape(data.baseline),
        body=_body(data),
    )


def build_report(run_dir: Path, baseline: str | None = None) -> str:
    """The report page of the run in `run_dir`, compared against `baseline`."""
    return render_page(gather(run_dir, baseline))


def write_report(run_dir: Path, output: Path | None = None, baseline: str | None = None) -> Path:
    """Write the report (default `RUN_DIR/report.html`) atomically; return its path."""
    target = output or run_dir / REPORT_FILE
    page = build_report(run_dir, baseline)
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
        ("run", "Run", run_facts(data.manifest)),
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
        ("outputs", "Outputs side by side", case_browser(browser)),
    ]
    return "\n".join(
        f'<section id="{ident}"><h2>{escape(heading)}</h2>{content}</section>'
        for ident, heading, content in sections
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
