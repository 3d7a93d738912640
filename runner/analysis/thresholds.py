"""Thresholds (the CLI's `--fail-on`): parsed once into frozen objects, evaluated purely over
summary frames. A bad expression raises `BadThreshold` (a ValueError quoting it); messages
never name a command-line flag, the CLI adds that.

    EXPR   := [model=NAME:][arm=NAME:][delta.|regress.]METRIC OP VALUE[%]   OP := > >= < <=

METRIC is a numeric column of `runner.analysis.summarize` (error_rate, p95_latency_ms,
p50_ttft_ms, mean_output_tokens, ...) or a scorer's `score.NAME` (its mean score: the pass rate
of a pass/fail scorer, the win rate of a pairwise judge) or `score.NAME.pass_rate`, compared per
(model, arm):

- plain: the arm's own value (`error_rate>5%` is `error_rate>0.05`);
- `delta.`: the arm against the baseline arm of the same model: VALUE% is a relative change
  (`delta.p50_latency_ms>+20%`), a bare VALUE an absolute difference (`delta.error_rate>0.02`);
- `regress.`: the arm against the same model and arm in the previous complete run, likewise.

A missing value (no successful request, no baseline, no previous run) crosses nothing.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal, cast

import polars as pl

from runner.analysis import summarize
from runner.analysis.scores import PASS_RATE, SCORE_PREFIX
from runner.config.names import SCORER_NAME_RE
from runner.results.schema import RESULTS_SCHEMA, R

Kind = Literal["value", "delta", "regress"]

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
# Spaces may stand around the operator and the value, never inside a name: names are taken as
# written, so `score.a b` is refused, not read as `score.ab`.
_EXPRESSION = re.compile(
    r" *(?:model=(?P<model>[^:]+):)?(?:arm=(?P<arm>[^:]+):)?(?:(?P<kind>delta|regress)\.)?"
    r"(?P<metric>[^<>=:]+?) *(?P<op>>=|<=|>|<) *"
    r"(?P<value>[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?) *(?P<pct>%)? *"
)
# A scorer's name is matched by the rule the experiment reader applies, so a scorer the
# experiment accepts can always be named in a threshold.
_METRIC = re.compile(rf"score\.(?:{SCORER_NAME_RE.pattern})(?:\.pass_rate)?|[a-z0-9_]+")
_OBSERVED, _REFERENCE = "__observed", "__reference"


class BadThreshold(ValueError):
    """An expression that is not a threshold; `text` is the expression as given."""

    def __init__(self, text: str, problem: str) -> None:
        self.text = text
        super().__init__(f"{text!r}{problem}")


@dataclass(frozen=True)
class Threshold:
    """One parsed threshold expression."""

    text: str
    kind: Kind
    metric: str
    op: str
    limit: float
    relative: bool
    arm: str | None = None
    model: str | None = None

    def crossed(self, value: float) -> bool:
        """Whether `value` (already relative when `relative`) crosses the threshold."""
        return not math.isnan(value) and _OPERATORS[self.op](value, self.limit)

    def selected(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The (model, arm) rows of `frame` the threshold applies to: its `arm=` and
        `model=`, when given."""
        if self.arm is not None:
            frame = frame.filter(pl.col(R.arm) == self.arm)
        if self.model is not None:
            frame = frame.filter(pl.col(R.model) == self.model)
        return frame


@dataclass(frozen=True)
class Violation:
    """A threshold crossed by one (model, arm)."""

    threshold: Threshold
    model: str
    arm: str
    observed: float
    reference: float | None
    against: str

    def message(self) -> str:
        """One line naming the model, arm, metric, value and threshold."""
        t = self.threshold
        where = f"model {self.model}, arm {self.arm}: {t.metric} = {_number(self.observed)}"
        limit = f"{_signed(t) if t.kind != 'value' else _number(t.limit)}{'%' * t.relative}"
        if t.kind == "value" or self.reference is None:
            return f"{t.text!r}: {where} (threshold {t.op} {limit})"
        change = _change(t, self.observed, self.reference)
        return (
            f"{t.text!r}: {where} vs {_number(self.reference)} in {self.against} "
            f"({change}, threshold {t.op} {limit})"
        )


def parse_thresholds(texts: Iterable[str]) -> tuple[Threshold, ...]:
    """Every expression parsed; BadThreshold names the first bad one and the grammar."""
    return tuple(parse_threshold(text) for text in texts)


def parse_threshold(text: str) -> Threshold:
    """One expression, e.g. `error_rate>0.05`, `delta.p50_latency_ms>+20%`, `arm=x:ok<10`."""
    found = _EXPRESSION.fullmatch(text)
    if found is None:
        raise BadThreshold(
            text,
            " is not [model=NAME:][arm=NAME:][delta.|regress.]METRIC OP VALUE[%] "
            "(OP one of > >= < <=), e.g. 'error_rate>0.05' or 'delta.p50_latency_ms>+20%'.",
        )
    metric = found["metric"]
    if not _METRIC.fullmatch(metric) or (
        metric not in metric_names() and not metric.startswith(SCORE_PREFIX)
    ):
        spaced = " (a name has no spaces)" if " " in metric else ""
        raise BadThreshold(
            text,
            f": unknown metric {metric!r}{spaced}; known: {', '.join(metric_names())}, "
            "and score.NAME for a scorer.",
        )
    kind = cast(Kind, found["kind"] or "value")
    percent = found["pct"] is not None
    limit = float(found["value"])
    relative = percent and kind != "value"
    if percent and not relative:
        limit /= 100.0
    return Threshold(text, kind, metric, found["op"], limit, relative, found["arm"], found["model"])


def check_names(
    thresholds: Sequence[Threshold], arms: Sequence[str], models: Sequence[str]
) -> None:
    """BadThreshold for an `arm=` or `model=` that names no arm or model of the experiment,
    suggesting the closest one: a typo must never turn a gate off."""
    for t in thresholds:
        for what, name, known in (("arm", t.arm, arms), ("model", t.model, models)):
            if name is not None and name not in known:
                close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise BadThreshold(
                    t.text,
                    f": there is no {what} {name!r}.{hint} The {what}s are: {', '.join(known)}.",
                )


def check_score_metrics(thresholds: Sequence[Threshold], scorers: Sequence[str]) -> None:
    """BadThreshold for a `score.NAME` threshold whose scorer is not among `scorers`."""
    known = [f"{SCORE_PREFIX}{name}" for name in scorers]
    for t in thresholds:
        base = t.metric.removesuffix(PASS_RATE)
        if t.metric.startswith(SCORE_PREFIX) and base not in known:
            close = difflib.get_close_matches(base, known, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            listed = ", ".join(known) or "none (add [[scorers]] to the experiment)"
            raise BadThreshold(
                t.text,
                f": no scorer named {base.removeprefix(SCORE_PREFIX)!r}.{hint} "
                f"Score metrics here: {listed}.",
            )


@cache
def metric_names() -> tuple[str, ...]:
    """The numeric per-arm metrics `summarize` produces."""
    schema = summarize(pl.LazyFrame(schema=RESULTS_SCHEMA)).schema
    return tuple(name for name, dtype in schema.items() if dtype.is_numeric())


def evaluate(
    thresholds: Sequence[Threshold],
    current: pl.DataFrame,
    *,
    baseline_arm: str | None,
    previous: pl.DataFrame | None = None,
    previous_run: str = "the previous complete run",
) -> list[Violation]:
    """Every violation, over per-(model, arm) summaries of this run and the previous one."""
    violations: list[Violation] = []
    for threshold in thresholds:
        compared, against = _compared(threshold, current, baseline_arm, previous, previous_run)
        for row in compared.iter_rows(named=True):
            violation = _violation(threshold, row, against)
            if violation is not None:
                violations.append(violation)
    return violations


def _compared(
    t: Threshold,
    current: pl.DataFrame,
    baseline_arm: str | None,
    previous: pl.DataFrame | None,
    previous_run: str,
) -> tuple[pl.DataFrame, str]:
    """(model, arm, observed, reference) rows for one threshold, and what the reference is."""
    if t.metric not in current.columns:  # a scorer with no score in this run
        return current.select(R.model, R.arm).clear(), ""
    observed = pl.col(t.metric).cast(pl.Float64).alias(_OBSERVED)
    mine = t.selected(current.select(R.model, R.arm, observed))
    if t.kind == "value":
        return mine.with_columns(pl.lit(None, pl.Float64).alias(_REFERENCE)), ""
    if t.kind == "delta":
        if baseline_arm is None:
            return mine.clear(), ""
        base = current.filter(pl.col(R.arm) == baseline_arm).select(
            R.model, pl.col(t.metric).cast(pl.Float64).alias(_REFERENCE)
        )
        joined = mine.filter(pl.col(R.arm) != baseline_arm).join(base, on=R.model, how="inner")
        return joined, f"baseline arm {baseline_arm!r}"
    if previous is None:
        return mine.clear(), ""
    if t.metric not in previous.columns:
        return mine.clear(), ""
    before = previous.select(R.model, R.arm, pl.col(t.metric).cast(pl.Float64).alias(_REFERENCE))
    return mine.join(before, on=[R.model, R.arm], how="inner"), previous_run


def _violation(t: Threshold, row: dict[str, object], against: str) -> Violation | None:
    observed, reference = row[_OBSERVED], row[_REFERENCE]
    if not isinstance(observed, float):
        return None
    if t.kind == "value":
        measured = observed
    elif not isinstance(reference, float):
        return None
    else:
        measured = _measure(t, observed, reference)
    if not t.crossed(measured):
        return None
    ref = reference if isinstance(reference, float) else None
    return Violation(t, str(row[R.model]), str(row[R.arm]), observed, ref, against)


def _measure(t: Threshold, observed: float, reference: float) -> float:
    if not t.relative:
        return observed - reference
    if reference == 0:
        return 0.0 if observed == 0 else math.copysign(math.inf, observed)
    return (observed - reference) / abs(reference) * 100.0


def _change(t: Threshold, observed: float, reference: float) -> str:
    measured = _measure(t, observed, reference)
    return f"{measured:+.1f}%" if t.relative else f"{measured:+.4g}"


def _signed(t: Threshold) -> str:
    return f"{t.limit:+g}"


def _number(value: float) -> str:
    return f"{value:.4g}"
