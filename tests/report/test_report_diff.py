"""Word-level diffs: spans, escaped HTML with <ins>/<del>, the changed share."""

from __future__ import annotations

import pytest

from runner.report.diff import Span, changed_share, diff_html, tokenize, word_diff


@pytest.mark.parametrize(
    "text",
    ["", "one", "two words", "  leading and\ttabs\n\nnewlines  "],
    ids=["empty", "word", "words", "whitespace"],
)
def test_tokens_join_back_to_the_text(text: str) -> None:
    """Tokenising keeps every character, so joining the tokens gives the text back."""
    assert "".join(tokenize(text)) == text


def test_identical_texts_are_one_equal_span() -> None:
    """Two equal texts give only equal spans and no markup."""
    assert word_diff("a b c", "a b c") == [Span("equal", "a b c")]
    assert diff_html("a b c", "a b c") == "a b c"


def test_a_changed_word_is_deleted_then_inserted() -> None:
    """A replaced word becomes <del>old</del><ins>new</ins>; the rest is left bare."""
    assert diff_html("the red fox", "the blue fox") == "the <del>red</del><ins>blue</ins> fox"


def test_appended_words_are_inserted_whole() -> None:
    """Words added at the end appear in one <ins>, never cut inside a word."""
    assert diff_html("hello", "hello brave world") == "hello<ins> brave world</ins>"


def test_text_is_escaped_inside_and_outside_the_markup() -> None:
    """Angle brackets, ampersands and quotes in either text are escaped."""
    html = diff_html("<b>x</b> & y", '<script>alert("x")</script> & y')
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert html.endswith(" &amp; y")


def test_changed_share_is_zero_when_equal_and_one_when_disjoint() -> None:
    """The changed share runs from 0 for equal texts to 1 for texts with nothing in common."""
    assert changed_share(word_diff("same text", "same text")) == 0.0
    assert changed_share(word_diff("abc", "xyz")) == 1.0
    assert 0 < changed_share(word_diff("a b c d", "a b c e")) < 0.5
    assert changed_share([]) == 0.0
