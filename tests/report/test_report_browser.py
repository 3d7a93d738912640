"""The case browser: a selector, one section per case, texts diffed against the baseline."""

from __future__ import annotations

import polars as pl

from runner.report.browser import BrowserInput, case_browser


def _outputs() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": ["b-case", "a<case>", "a<case>"],
            "model": ["m", "m", "m"],
            "repeat": [0, 1, 0],
            "text:baseline": ["same words", "the red fox", None],
            "text:beta": ["same words", "the <blue> fox", "only beta"],
        },
        schema_overrides={"repeat": pl.Int32},
    )


def _browser() -> str:
    data = BrowserInput(
        _outputs(),
        ("baseline", "beta"),
        "baseline",
        errors={("a<case>", "m", 0, "baseline"): "error: overloaded (HTTP 529)"},
        prompts={"a<case>": "user: <b>hi</b>"},
    )
    return case_browser(data)


def test_one_option_and_section_per_case_first_shown() -> None:
    """Cases are sorted; each gets an option and a section; only the first is visible."""
    html = _browser()
    assert '<option value="0">a&lt;case&gt;</option><option value="1">b-case</option>' in html
    assert '<section class="case" id="case-0" data-case="a&lt;case&gt;">' in html
    assert '<section class="case" id="case-1" data-case="b-case" hidden>' in html


def test_other_arms_are_diffed_against_the_baseline_of_the_same_repeat() -> None:
    """A changed word is marked up and escaped; an equal text is badged identical."""
    html = _browser()
    assert "the <del>red</del><ins>&lt;blue&gt;</ins> fox" in html
    assert '<span class="badge same">identical</span>' in html


def test_failed_request_shows_its_error_and_the_other_arm_plain() -> None:
    """A missing text shows its error label; with no baseline text the arm's text is plain."""
    html = _browser()
    assert '<span class="error">error: overloaded (HTTP 529)</span>' in html
    assert '<div class="text">only beta</div>' in html


def test_prompt_is_escaped_and_baseline_header_marked() -> None:
    """The case's prompt is shown escaped and the baseline column is labelled."""
    html = _browser()
    assert '<pre class="prompt">user: &lt;b&gt;hi&lt;/b&gt;</pre>' in html
    assert "<th>baseline (baseline)</th><th>beta</th>" in html


def test_no_outputs_gives_a_note() -> None:
    """An empty side-by-side frame gives a note instead of a selector."""
    empty = _outputs().clear()
    assert "No outputs" in case_browser(BrowserInput(empty, ("baseline",), "baseline"))
