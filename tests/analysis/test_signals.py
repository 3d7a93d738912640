"""Evidence matching: a catalogued signal matches itself and its extensions, nothing else."""

from __future__ import annotations

import polars as pl
import pytest

from runner.analysis.signals import shows_any


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        pytest.param(["usage.speed=fast"], True, id="equal"),
        pytest.param(["usage.cache_creation.ephemeral_1h_input_tokens"], True, id="dot-extension"),
        pytest.param(["usage.speed=fast=1"], True, id="equals-extension"),
        pytest.param(["usage.speedy"], False, id="prefix-without-separator"),
        pytest.param(["block:thinking"], False, id="other-signal"),
        pytest.param([], False, id="empty"),
        pytest.param(None, False, id="null"),
    ],
)
def test_a_signal_matches_itself_and_its_extensions(
    evidence: list[str] | None, expected: bool
) -> None:
    """Equal, or extended after `.` or `=`; a bare prefix, another signal or nothing: no."""
    frame = pl.DataFrame({"evidence": [evidence]}, schema={"evidence": pl.List(pl.String)})
    signals = ["usage.speed=fast", "usage.cache_creation"]
    found = frame.select(shows_any(pl.col("evidence"), signals))
    assert found.item() is expected
