"""--fail-on: expressions parsed into thresholds, evaluated over per-arm summary frames."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from e2e_support import write_experiment

from runner.analysis.thresholds import (
    BadThreshold,
    Threshold,
    check_names,
    evaluate,
    parse_threshold,
)
from runner.config.load import load_experiment
from runner.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "error_rate>0.05",
            Threshold("error_rate>0.05", "value", "error_rate", ">", 0.05, False),
            id="plain",
        ),
        pytest.param(
            "error_rate > 5%",
            Threshold("error_rate > 5%", "value", "error_rate", ">", 0.05, False),
            id="plain-percent",
        ),
        pytest.param(
            "delta.p50_latency_ms>+20%",
            Threshold("delta.p50_latency_ms>+20%", "delta", "p50_latency_ms", ">", 20.0, True),
            id="delta-relative",
        ),
        pytest.param(
            "delta.error_rate>=0.02",
            Threshold("delta.error_rate>=0.02", "delta", "error_rate", ">=", 0.02, False),
            id="delta-absolute",
        ),
        pytest.param(
            "regress.p95_latency_ms>+10%",
            Threshold("regress.p95_latency_ms>+10%", "regress", "p95_latency_ms", ">", 10.0, True),
            id="regress",
        ),
        pytest.param(
            "arm=beta:mean_output_tokens<10",
            Threshold(
                "arm=beta:mean_output_tokens<10",
                "value",
                "mean_output_tokens",
                "<",
                10.0,
                False,
                "beta",
            ),
            id="arm-filter",
        ),
    ],
)
def test_expressions_parse_into_frozen_thresholds(text: str, expected: Threshold) -> None:
    """Each accepted form becomes the threshold it says."""
    assert parse_threshold(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("error_rate", id="no-operator"),
        pytest.param("error_rate>", id="no-value"),
        pytest.param("error_rate=>1", id="bad-operator"),
        pytest.param("latency>1", id="unknown-metric"),
        pytest.param("delta.p50_latency_ms>lots", id="not-a-number"),
        pytest.param("mean.p50_latency_ms>1", id="unknown-prefix"),
        pytest.param("", id="empty"),
    ],
)
def test_bad_expression_is_a_value_error_quoting_it(text: str) -> None:
    """A malformed expression raises BadThreshold (a ValueError) quoting it, no flag named."""
    with pytest.raises(BadThreshold) as raised:
        parse_threshold(text)
    assert isinstance(raised.value, ValueError)
    assert str(raised.value).startswith(repr(text))
    assert "--fail-on" not in str(raised.value)


def _summary(latency: tuple[float, float], errors: tuple[float, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "model": ["m", "m"],
            "arm": ["baseline", "beta"],
            "p50_latency_ms": list(latency),
            "error_rate": list(errors),
        }
    )


def test_plain_threshold_names_model_arm_metric_value_and_limit() -> None:
    """error_rate>0.05 is crossed by the arm over it only, with a message naming all parts."""
    found = evaluate(
        [parse_threshold("error_rate>0.05")], _summary((1, 1), (0.0, 0.1)), baseline_arm=None
    )
    assert [(v.model, v.arm, v.observed) for v in found] == [("m", "beta", 0.1)]
    message = found[0].message()
    for part in ("model m", "arm beta", "error_rate = 0.1", "threshold > 0.05"):
        assert part in message


def test_delta_compares_with_the_baseline_arm_of_the_same_model() -> None:
    """delta.p50_latency_ms>+20% is crossed at +30% and not at +10%; the baseline is skipped."""
    threshold = parse_threshold("delta.p50_latency_ms>+20%")
    crossed = evaluate([threshold], _summary((100, 130), (0, 0)), baseline_arm="baseline")
    assert [(v.arm, v.reference) for v in crossed] == [("beta", 100.0)]
    assert "+30.0%" in crossed[0].message()
    assert "baseline arm 'baseline'" in crossed[0].message()
    assert evaluate([threshold], _summary((100, 110), (0, 0)), baseline_arm="baseline") == []


def test_regress_compares_with_the_previous_run_and_skips_without_one() -> None:
    """regress.* is crossed per (model, arm) against the previous frame; none without one."""
    threshold = parse_threshold("regress.p50_latency_ms>+10%")
    now, before = _summary((120, 100), (0, 0)), _summary((100, 100), (0, 0))
    found = evaluate([threshold], now, baseline_arm=None, previous=before, previous_run="run r1")
    assert [v.arm for v in found] == ["baseline"]
    assert "run r1" in found[0].message()
    assert evaluate([threshold], now, baseline_arm=None) == []


def test_arm_filter_and_missing_values_cross_nothing_else() -> None:
    """arm=NAME: limits the check to that arm; a null metric never crosses."""
    frame = _summary((100, 100), (0.5, 0.5)).with_columns(
        pl.when(pl.col("arm") == "beta")
        .then(None)
        .otherwise(pl.col("p50_latency_ms"))
        .alias("p50_latency_ms")
    )
    limited = evaluate([parse_threshold("arm=beta:error_rate>0.1")], frame, baseline_arm=None)
    assert [v.arm for v in limited] == ["beta"]
    nulls = evaluate([parse_threshold("p50_latency_ms>1")], frame, baseline_arm=None)
    assert [v.arm for v in nulls] == ["baseline"]


@pytest.mark.parametrize(
    "name",
    ["correct", "Score_2", "_x", "a-b", "a.b", "naïve", "a+b", "x" * 200],
    ids=["plain", "mixed", "underscore", "dash", "dot", "non-ascii", "plus", "long"],
)
def test_a_scorer_can_be_named_in_a_threshold_exactly_when_the_experiment_accepts_it(
    tmp_path: Path, name: str
) -> None:
    """The threshold parser and the experiment reader apply one rule to a scorer's name: a
    scorer the experiment accepts can be thresholded, one it refuses cannot."""
    scorer = f'[[scorers]]\nname = "{name}"\ntype = "exact"'
    path = write_experiment(tmp_path, "http://127.0.0.1:9", extra=scorer)
    try:
        load_experiment(path)
        accepted = True
    except ConfigError:
        accepted = False
    try:
        parse_threshold(f"score.{name}.pass_rate<0.5")
        thresholdable = True
    except BadThreshold:
        thresholdable = False
    assert thresholdable == accepted


@pytest.mark.parametrize(
    ("text", "named"),
    [
        pytest.param("error _rate>0.05", "'error _rate'", id="metric"),
        pytest.param("score.a b>0.5", "'score.a b'", id="scorer"),
        pytest.param("delta.p50_latency _ms>+20%", "'p50_latency _ms'", id="delta-metric"),
    ],
)
def test_a_space_inside_a_metric_is_refused_naming_it(text: str, named: str) -> None:
    """A name is taken as written: `score.a b` is no metric, never read as `score.ab`."""
    with pytest.raises(BadThreshold, match=rf"unknown metric {named} \(a name has no spaces\)"):
        parse_threshold(text)


def test_a_space_inside_an_arm_or_model_stays_part_of_the_name() -> None:
    """`arm=fa st` names the arm 'fa st' (which check_names refuses), not the arm 'fast'."""
    threshold = parse_threshold("model=m 1:arm=fa st:error_rate > 5 %")
    assert (threshold.model, threshold.arm, threshold.limit) == ("m 1", "fa st", 0.05)
    with pytest.raises(BadThreshold, match=r"there is no arm 'fa st'\. Did you mean 'fast'\?"):
        check_names([threshold], ["baseline", "fast"], ["m 1"])
