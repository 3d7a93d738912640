"""The report in real headless Chromium: offline, no console errors, arms, comparison, browser.

Needs Debian's chromium at /usr/bin/chromium (driven by playwright, which never downloads a
browser here); without it these tests skip. `.ci/run` installs it when it can.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from runner.cli.main import main
from runner.emulator import EmulatorConfig, EmulatorServer, parse_beta_effect

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PROBE = "report-probe-2026-01-01"
ARMS = {"baseline": [], "planted": [PROBE], "bogus": ["no-such-feature-2030-01-01"]}
PROMPTS = {
    "greet": "Say hello.",
    "xss": "Echo <script>alert(1)</script> & stop.",
    "sum": "1+1?",
    "math": "What is 6 + 7?",
}
EXPECTED = {"math": "13"}  # the emulator knows this answer; the planted arm gets it right less

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page


@dataclass
class Loaded:
    """A page loaded from file, with what it logged and requested while loading."""

    page: Page
    url: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def _experiment(directory: Path, base_url: str) -> Path:
    lines = [
        'name = "report"',
        'models = ["claude-opus-4-6"]',
        f'[target]\nbase_url = "{base_url}"',
        "[run]\nrepeats = 3\nconcurrency = 8",
        "[request]\nmax_tokens = 64",
    ]
    for name, betas in ARMS.items():
        lines.append(f'[[arms]]\nname = "{name}"\nbetas = {betas!r}'.replace("'", '"'))
    for case_id, prompt in PROMPTS.items():
        lines.append(f'[[cases]]\nid = "{case_id}"\nprompt = "{prompt}"')
        if case_id in EXPECTED:
            lines.append(f'expected = "{EXPECTED[case_id]}"')
    lines.append('[[scorers]]\nname = "correct"\ntype = "includes"')
    path = directory / "experiment.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report written by the CLI for a run against a fast emulator with a planted effect."""
    directory = tmp_path_factory.mktemp("report")
    planted = "latency_ms=40,output_tokens=+30%,text=planted marker,correct=-80"
    effect = parse_beta_effect(f"{PROBE}:{planted}")
    config = EmulatorConfig(
        ttft_ms=5.0, ms_per_output_token=0.05, jitter=0.0, beta_effects=(effect,)
    )
    with EmulatorServer(config) as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-report")
        experiment = _experiment(directory, server.url)
        args = ["run", experiment, "--results", directory, "--run-id", "r1", "-q", "--allow-errors"]
        assert main([str(a) for a in args]) == 0
    run_dir = directory / "report" / "r1"
    assert main(["report", str(run_dir)]) == 0
    return run_dir / "report.html"


@pytest.fixture(scope="module")
def browser(report_file: Path) -> Iterator[BrowserContext]:
    """Headless Debian Chromium with a fresh profile and no background networking.

    Playwright's sync API runs an event loop in this thread, so the run is made first."""
    with tempfile.TemporaryDirectory() as profile, sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield context
        context.close()


@pytest.fixture
def loaded(browser: BrowserContext, report_file: Path) -> Iterator[Loaded]:
    """The report opened from its file:// URL, with console errors and requests recorded."""
    page = browser.new_page()
    page.set_default_timeout(5000)
    result = Loaded(page, report_file.as_uri())
    page.on(
        "console", lambda m: result.console_errors.append(m.text) if m.type == "error" else None
    )
    page.on("pageerror", lambda exc: result.console_errors.append(str(exc)))
    page.on("request", lambda request: result.requests.append(request.url))
    page.on("dialog", lambda dialog: result.console_errors.append(f"dialog: {dialog.message}"))
    page.goto(result.url, wait_until="load")
    yield result
    page.close()


def test_page_loads_offline_with_no_console_errors(loaded: Loaded) -> None:
    """Loading from file logs no error, opens no dialog and requests nothing but itself."""
    loaded.page.wait_for_timeout(200)
    assert loaded.console_errors == []
    assert loaded.requests == [loaded.url]


def test_every_arm_is_shown(loaded: Loaded) -> None:
    """Each arm's name appears in the summary table and as a column of the case browser."""
    summary = loaded.page.inner_text("#summary-table")
    headers = loaded.page.locator("section.case:not([hidden]) table.outputs th").all_inner_texts()
    for arm in ARMS:
        assert arm in summary
        assert any(h.startswith(arm) for h in headers)


def test_comparison_table_lists_arms_and_marks_significant_rows(loaded: Loaded) -> None:
    """The comparison table has rows for the compared arms and marks the planted change."""
    table = loaded.page.locator("#comparison-table")
    assert table.is_visible()
    assert "planted" in table.inner_text()
    assert loaded.page.locator("#comparison-table tr.significant").count() >= 1


def test_charts_and_error_breakdown_are_drawn(loaded: Loaded) -> None:
    """The distributions and bars are inline SVG; the bogus arm's errors are broken down."""
    assert loaded.page.locator("svg.chart").count() >= 4
    assert "invalid_beta" in loaded.page.inner_text("#error-table")


def test_case_browser_switches_cases_and_highlights_differences(loaded: Loaded) -> None:
    """Choosing a case shows only its section, with insertions against the baseline marked."""
    page = loaded.page
    names = page.locator("#case-select option").all_inner_texts()
    assert sorted(names) == sorted(PROMPTS)
    for index, name in enumerate(names):
        page.select_option("#case-select", str(index))
        visible = page.locator("section.case:not([hidden])")
        assert visible.count() == 1
        assert visible.get_attribute("data-case") == name
        assert visible.locator("ins").first.is_visible()
        assert any("planted" in text for text in visible.locator("ins").all_inner_texts())


def test_user_text_is_shown_escaped(loaded: Loaded) -> None:
    """A prompt holding markup is shown as text, not run as a script."""
    page = loaded.page
    page.select_option("#case-select", label="xss")
    prompt = page.locator("section.case:not([hidden]) pre.prompt").inner_text()
    assert "<script>alert(1)</script>" in prompt
    assert loaded.console_errors == []


def test_an_arm_whose_requests_all_failed_reads_as_failed_never_zero(loaded: Loaded) -> None:
    """The bogus arm (every request rejected) is marked failed in the summary, its bars say
    so instead of drawing 0, and the effect section says nothing was measured."""
    page = loaded.page
    failed = page.locator("#summary-table tr.failed")
    assert failed.count() == 1
    assert "bogus" in failed.inner_text()
    assert "failed" in failed.inner_text()
    missing = page.locator("#tokens g.missing title").all_text_contents()
    assert missing  # one bar per token chart, each the bogus arm's and only its
    assert all(m.endswith(" · bogus: failed: no successful request") for m in missing)
    assert "failed: no successful request" in page.inner_text("#tokens")
    effect = page.inner_text("#effect-table")
    assert "nothing was measured" in effect


def test_the_servers_error_message_is_shown_per_error_type(loaded: Loaded) -> None:
    """The error table carries what the server said for each error type."""
    assert "Unsupported beta header" in loaded.page.inner_text("#error-table")


def test_output_rows_say_what_they_mean(loaded: Loaded) -> None:
    """exact_match and similarity rows ask the question they answer, with yes or no."""
    table = loaded.page.inner_text("#comparison-table")
    assert "outputs differ from the baseline more than repeats differ: " in table


def test_wide_tables_scroll_inside_their_own_box(loaded: Loaded) -> None:
    """At a narrow window the page itself does not scroll sideways: each table's box does."""
    page = loaded.page
    page.set_viewport_size({"width": 700, "height": 900})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    box = page.locator("div.scroll:has(#summary-table)")
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")


def test_the_browser_filters_to_cases_where_arms_disagree_and_shows_scores(loaded: Loaded) -> None:
    """The checkbox leaves only the cases whose scores differ between arms; each answer of a
    scored case carries its score under the text."""
    page = loaded.page
    page.select_option("#case-select", label="math")
    badges = page.locator("section.case:not([hidden]) .scores").all_inner_texts()
    assert badges
    assert all(text.startswith("correct: ") for text in badges)
    page.check("#disagree-only")
    enabled = page.locator("#case-select option:not([disabled])").all_inner_texts()
    assert enabled == ["math"]
    assert page.locator("section.case:not([hidden])").get_attribute("data-case") == "math"
    page.uncheck("#disagree-only")
    assert sorted(page.locator("#case-select option:not([disabled])").all_inner_texts()) == sorted(
        PROMPTS
    )
    assert loaded.console_errors == []
