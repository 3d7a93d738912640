"""The built-in scorers and the call of a Python scorer: one `ScoreInput` in, a `Score` out.

`score_answer` returns None when the scorer does not apply (it reads the case's `expected`
and the case has none; a judge, which `runner.scoring.judge` prepares instead). A scorer's own
failure (a Python scorer raising, a bad `expected`) is raised as `ScoringError` with a
sentence saying what went wrong; the caller records it as an error row.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable

from runner.config.scorers import (
    NEEDS_EXPECTED,
    ExactScorer,
    IncludesScorer,
    JsonScorer,
    JudgeScorer,
    LengthScorer,
    NumericScorer,
    PythonScorer,
    RefusalScorer,
    RegexScorer,
    Scorer,
    ToolCallScorer,
)
from runner.config.types import JSONValue
from runner.scoring.inputs import Score, ScoreInput

_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_REFUSAL = re.compile(
    r"^\W*(?:I'm sorry|I am sorry|I apologi[sz]e|I can't|I cannot|I can not|I won't|"
    r"I will not|I'm not able|I am not able|I'm unable|I am unable)\b",
    re.IGNORECASE,
)


class ScoringError(Exception):
    """A scorer could not score an answer; the message says why."""


def score_answer(scorer: Scorer, given: ScoreInput) -> Score | None:
    """The scorer's score of one answer, or None when it does not apply to this case."""
    if isinstance(scorer, JudgeScorer):
        return None
    if isinstance(scorer, NEEDS_EXPECTED) and given.case.expected is None:
        return None
    if isinstance(scorer, RegexScorer) and scorer.pattern is None and given.case.expected is None:
        return None
    if isinstance(scorer, PythonScorer):
        return call_python(scorer, given)
    scoring: Callable[[Scorer, ScoreInput], Score | None] = _BUILT_IN[type(scorer)]
    return scoring(scorer, given)


def call_python(scorer: PythonScorer, given: ScoreInput) -> Score:
    """Call the user's function; its value, boolean or `Score` becomes a Score."""
    try:
        returned = scorer.call(given)
    except Exception as exc:  # the user's code: its failure becomes the score's error
        raise ScoringError(f"{scorer.function} raised {type(exc).__name__}: {exc}") from exc
    return as_score(returned, scorer.function)


def as_score(returned: object, origin: str) -> Score:
    """A scorer's return value as a Score: a Score, a bool (pass/fail) or a finite number."""
    if isinstance(returned, Score):
        return returned
    if isinstance(returned, bool):
        return Score.check(returned)
    if isinstance(returned, int | float) and math.isfinite(returned):
        return Score(float(returned))
    raise ScoringError(
        f"{origin} returned {type(returned).__name__} {returned!r}; return a number, a bool "
        "or a Score."
    )


def _expected_texts(given: ScoreInput) -> list[str]:
    expected = given.case.expected
    values = expected if isinstance(expected, list) else [expected]
    return [v if isinstance(v, str) else json.dumps(v) for v in values]


def _fold(text: str, ignore_case: bool) -> str:
    return text.casefold() if ignore_case else text


def _exact(scorer: Scorer, given: ScoreInput) -> Score:
    assert isinstance(scorer, ExactScorer)
    text = given.text.strip() if scorer.strip else given.text
    wanted = _expected_texts(given)
    found = [w for w in wanted if _fold(w, scorer.ignore_case) == _fold(text, scorer.ignore_case)]
    return Score.check(bool(found), None if found else f"expected {wanted[0]!r}")


def _includes(scorer: Scorer, given: ScoreInput) -> Score:
    assert isinstance(scorer, IncludesScorer)
    text = _fold(given.text, scorer.ignore_case)
    wanted = _expected_texts(given)
    missing = [w for w in wanted if _fold(w, scorer.ignore_case) not in text]
    passed = not missing if scorer.match == "all" else len(missing) < len(wanted)
    return Score.check(passed, None if passed else f"missing {', '.join(map(repr, missing))}")


def _regex(scorer: Scorer, given: ScoreInput) -> Score:
    assert isinstance(scorer, RegexScorer)
    pattern = scorer.pattern if scorer.pattern is not None else _expected_texts(given)[0]
    flags = re.IGNORECASE if scorer.ignore_case else 0
    try:
        found = re.search(pattern, given.text, flags)
    except re.error as exc:
        raise ScoringError(f"the case's expected {pattern!r} is not a valid regex ({exc})") from exc
    return Score.check(found is not None, None if found else f"no match for {pattern!r}")


def _json(scorer: Scorer, given: ScoreInput) -> Score:
    assert isinstance(scorer, JsonScorer)
    try:
        value = json.loads(given.text)
    except json.JSONDecodeError as exc:
        return Score.check(False, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if scorer.validator is None:
        return Score.check(True)
    import jsonschema  # loaded with the validator; not needed to send a run

    error = jsonschema.exceptions.best_match(scorer.validator.iter_errors(value))
    if error is None:
        return Score.check(True)
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return Score.check(False, f"schema: {error.message} at {where}")


def _tool_call(scorer: Scorer, given: ScoreInput) -> Score | None:
    assert isinstance(scorer, ToolCallScorer)
    tool, arguments = scorer.tool, scorer.arguments
    expected = given.case.expected
    if tool is None and isinstance(expected, str):
        tool = expected
    elif tool is None and isinstance(expected, dict):
        name, wanted = expected.get("name"), expected.get("arguments")
        tool = name if isinstance(name, str) else None
        arguments = wanted if isinstance(wanted, dict) and arguments is None else arguments
    if tool is None:
        return None
    calls = [c for c in given.tool_calls if c.name == tool]
    if not calls:
        made = ", ".join(c.name for c in given.tool_calls) or "no tool"
        return Score.check(False, f"expected a call to {tool}; called {made}")
    matched = any(_contains(c.arguments, arguments or {}) for c in calls)
    return Score.check(matched, None if matched else f"{tool} called with other arguments")


def _contains(actual: JSONValue, wanted: JSONValue) -> bool:
    """Whether `wanted` is a subset of `actual` (tables by key, lists item by item)."""
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            k in actual and _contains(actual[k], v) for k, v in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(wanted)
            and all(_contains(a, w) for a, w in zip(actual, wanted, strict=True))
        )
    return actual == wanted


def _numeric(scorer: Scorer, given: ScoreInput) -> Score:
    assert isinstance(scorer, NumericScorer)
    expected = given.case.expected
    try:
        target = float(expected) if isinstance(expected, int | float | str) else math.nan
    except ValueError:
        target = math.nan
    if isinstance(expected, bool) or math.isnan(target):
        raise ScoringError(f"the case's expected {expected!r} is not a number")
    numbers = [float(n.replace(",", "")) for n in _NUMBER.findall(given.text) if _digits(n)]
    if not numbers:
        return Score.check(False, "no number in the answer")
    found = numbers[-1]  # the answer's conclusion, after any restated operands
    allowed = max(scorer.tolerance, scorer.relative_tolerance * abs(target))
    passed = abs(found - target) <= allowed
    return Score.check(passed, None if passed else f"found {found:g}, expected {target:g}")


def _digits(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def _length(scorer: Scorer, given: ScoreInput) -> Score:
    assert isinstance(scorer, LengthScorer)
    chars, words = len(given.text), len(given.text.split())
    broken = [
        label
        for label, value, low, high in (
            ("chars", chars, scorer.min_chars, scorer.max_chars),
            ("words", words, scorer.min_words, scorer.max_words),
        )
        if (low is not None and value < low) or (high is not None and value > high)
    ]
    explanation = f"{chars} chars, {words} words" if broken else None
    return Score(float(words), not broken, explanation)


def _refusal(scorer: Scorer, given: ScoreInput) -> Score:
    assert isinstance(scorer, RefusalScorer)
    refused = given.stop_reason == "refusal" or _REFUSAL.search(given.text) is not None
    why = "stop_reason refusal" if given.stop_reason == "refusal" else "refusal wording"
    return Score(float(refused), refused == scorer.expect_refusal, why if refused else None)


_BUILT_IN: dict[type, Callable[[Scorer, ScoreInput], Score | None]] = {
    ExactScorer: _exact,
    IncludesScorer: _includes,
    RegexScorer: _regex,
    JsonScorer: _json,
    ToolCallScorer: _tool_call,
    NumericScorer: _numeric,
    LengthScorer: _length,
    RefusalScorer: _refusal,
}
