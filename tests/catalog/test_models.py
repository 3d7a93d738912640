"""Tests for runner.catalog.models: the model catalog and its deprecation warnings."""

from __future__ import annotations

from datetime import date

import pytest

from runner.catalog.models import find_model, model_catalog, model_warning

TODAY = date(2026, 11, 23)
CURRENT = [
    "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5", "claude-fable-5-2",
    "claude-mythos-5-2", "claude-fable-5-1", "claude-mythos-5-1", "claude-opus-5",
    "claude-sonnet-5", "claude-fable-5", "claude-mythos-5", "claude-opus-4-8", "claude-opus-4-7",
    "claude-opus-4-6", "claude-sonnet-4-6", "claude-haiku-4-5", "claude-haiku-4-5-20251001",
    "claude-opus-4-5", "claude-opus-4-5-20251101", "claude-mythos-preview",
]  # fmt: skip


@pytest.mark.parametrize("model_id", CURRENT, ids=str)
def test_current_models_need_no_warning(model_id: str) -> None:
    """Every current model id from the reference appendix, aliases included, is silent."""
    assert model_warning(model_id, TODAY) is None


@pytest.mark.parametrize(
    ("model_id", "eol"),
    [
        ("claude-sonnet-4-5", "2026-11-30"),
        ("claude-sonnet-4-5-20250929", "2026-11-30"),
        ("claude-sonnet-4-0", "2026-06-15"),
        ("claude-opus-4-0", "2026-06-15"),
        ("claude-3-7-sonnet-20250219", "2026-02-19"),
        ("claude-3-7-sonnet-latest", "2026-02-19"),
        ("claude-3-5-haiku-20241022", "2026-02-19"),
    ],
    ids=str,
)
def test_deprecated_models_name_their_end_of_life(model_id: str, eol: str) -> None:
    """Deprecated models get a warning naming the model and its end-of-life date."""
    warning = model_warning(model_id, date(2026, 1, 1))
    assert warning is not None
    assert model_id in warning
    assert eol in warning
    assert "deprecated" in warning


def test_retired_model_warns_of_404() -> None:
    """A model past its end of life is warned to be likely to 404."""
    warning = model_warning("claude-opus-4-0", TODAY)
    assert warning is not None
    assert "404" in warning


def test_end_of_life_day_itself_is_still_deprecated() -> None:
    """On the end-of-life date itself the model is deprecated, not yet retired."""
    warning = model_warning("claude-sonnet-4-5", date(2026, 11, 30))
    assert warning is not None
    assert "deprecated" in warning


def test_family_pattern_matches_unlisted_snapshot() -> None:
    """A claude-3-7-sonnet-* id not listed explicitly matches its family's entry."""
    info = find_model("claude-3-7-sonnet-20990101")
    assert info is not None
    assert info.end_of_life == date(2026, 2, 19)


def test_unknown_model_warning_suggests_close_id() -> None:
    """An unknown id is only a warning, with the closest known id suggested."""
    warning = model_warning("claude-sonet-5", TODAY)
    assert warning is not None
    assert "Did you mean 'claude-sonnet-5'" in warning


def test_unknown_model_without_close_match() -> None:
    """An id resembling nothing still gets a plain 'not in the catalog' warning."""
    warning = model_warning("gpt-oss", TODAY)
    assert warning is not None
    assert "Did you mean" not in warning


def test_catalog_is_cached_and_keyed_by_id() -> None:
    """model_catalog() is cached, and every entry is keyed by its own id."""
    assert model_catalog() is model_catalog()
    assert all(key == info.id for key, info in model_catalog().items())
