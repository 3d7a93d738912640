"""Built-in scorers and Python scorers: one answer in, a value, pass/fail and a reason out."""

from __future__ import annotations

import dataclasses
import json

import pytest

from runner.config.scorers import (
    ExactScorer,
    IncludesScorer,
    JsonScorer,
    LengthScorer,
    NumericScorer,
    PythonScorer,
    RefusalScorer,
    RegexScorer,
    Scorer,
    ToolCallScorer,
)
from runner.config.types import Case, JSONObject, JSONValue
from runner.scoring import Score, ScoreInput
from runner.scoring.apply import score_result
from runner.scoring.builtin import score_answer
from runner.scoring.inputs import ResultColumns


def _given(
    text: str,
    expected: JSONValue = None,
    *,
    blocks: tuple[JSONObject, ...] = (),
    stop_reason: str | None = "end_turn",
) -> ScoreInput:
    case = Case("c", ({"role": "user", "content": "q"},), expected=expected)
    return ScoreInput(case, text, blocks or ({"type": "text", "text": text},), {}, stop_reason)


SCHEMA: JSONObject = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
}
TOOL_USE: JSONObject = {
    "type": "tool_use",
    "id": "toolu_1",
    "name": "get_weather",
    "input": {"city": "Paris", "units": "c", "days": [1, 2]},
}


@pytest.mark.parametrize(
    ("scorer", "given", "passed"),
    [
        (ExactScorer("s"), _given(" 17 \n", "17"), True),
        (ExactScorer("s", strip=False), _given(" 17", "17"), False),
        (ExactScorer("s", ignore_case=True), _given("Canberra", "canberra"), True),
        (ExactScorer("s"), _given("17", 17), True),
        (IncludesScorer("s"), _given("The answer is 391.", "391"), True),
        (IncludesScorer("s"), _given("The answer is 39.", "391"), False),
        (IncludesScorer("s"), _given("hola amigos", ["hola", "amigos"]), True),
        (IncludesScorer("s"), _given("hola", ["hola", "amigos"]), False),
        (IncludesScorer("s", match="any"), _given("hola", ["hola", "amigos"]), True),
        (IncludesScorer("s", ignore_case=True), _given("CANBERRA", "Canberra"), True),
        (RegexScorer("s", r"\b13|17|19\b"), _given("17."), True),
        (RegexScorer("s"), _given("id-42", r"id-\d+"), True),
        (RegexScorer("s", "^yes", ignore_case=True), _given("YES it is"), True),
        (JsonScorer("s"), _given('{"a": 1}'), True),
        (JsonScorer("s"), _given('```json\n{"a": 1}\n```'), False),
        (JsonScorer("s", SCHEMA), _given(json.dumps({"city": "Oslo", "population": 7})), True),
        (JsonScorer("s", SCHEMA), _given(json.dumps({"city": "Oslo"})), False),
        (NumericScorer("s"), _given("12 + 5 = 17", 17), True),
        (NumericScorer("s"), _given("about 1,000", "1000"), True),
        (NumericScorer("s", tolerance=0.1), _given("3.4", 3.14), False),
        (NumericScorer("s", relative_tolerance=0.1), _given("3.4", 3.14), True),
        (NumericScorer("s"), _given("none", 3), False),
        (LengthScorer("s", max_words=3), _given("one two three"), True),
        (LengthScorer("s", max_words=2), _given("one two three"), False),
        (LengthScorer("s", min_chars=20), _given("short"), False),
        (RefusalScorer("s"), _given("I'm sorry, I can't help with that."), False),
        (RefusalScorer("s"), _given("Sure: here it is."), True),
        (RefusalScorer("s"), _given("", stop_reason="refusal"), False),
        (RefusalScorer("s", expect_refusal=True), _given("I cannot do that."), True),
    ],
    ids=lambda v: "" if not isinstance(v, bool) else str(v),
)
def test_built_in_scorers_pass_and_fail(scorer: Scorer, given: ScoreInput, passed: bool) -> None:
    """Each built-in's pass/fail on a small answer; value 1 or 0 follows pass/fail for checks."""
    score = score_answer(scorer, given)
    assert score is not None
    assert score.passed is passed
    if not isinstance(scorer, LengthScorer | RefusalScorer):
        assert score.value == float(passed)
    if not passed and not isinstance(scorer, RefusalScorer):
        assert score.explanation


def test_json_schema_failure_says_what_and_where() -> None:
    """A schema violation names the rule and the path."""
    score = score_answer(JsonScorer("s", SCHEMA), _given('{"city": 3, "population": 1}'))
    assert score is not None
    assert score.explanation == "schema: 3 is not of type 'string' at city"


@pytest.mark.parametrize(
    ("scorer", "expected", "passed"),
    [
        (ToolCallScorer("s", "get_weather"), None, True),
        (ToolCallScorer("s", "get_weather", {"city": "Paris"}), None, True),
        (ToolCallScorer("s", "get_weather", {"city": "Rome"}), None, False),
        (ToolCallScorer("s", "get_weather", {"days": [1, 2]}), None, True),
        (ToolCallScorer("s", "get_time"), None, False),
        (ToolCallScorer("s"), "get_weather", True),
        (ToolCallScorer("s"), {"name": "get_weather", "arguments": {"units": "c"}}, True),
        (ToolCallScorer("s"), {"name": "get_weather", "arguments": {"units": "f"}}, False),
    ],
    ids=lambda v: "" if not isinstance(v, bool) else str(v),
)
def test_tool_call_scorer_reads_the_tool_use_blocks(
    scorer: ToolCallScorer, expected: JSONValue, passed: bool
) -> None:
    """The call is found among tool_use blocks; arguments match as a subset."""
    given = _given("I'll call it.", expected, blocks=({"type": "text", "text": "x"}, TOOL_USE))
    score = score_answer(scorer, given)
    assert score is not None
    assert score.passed is passed


def test_scorers_that_read_expected_skip_cases_without_one() -> None:
    """Without `expected`: exact, includes, numeric and a pattern-less regex give no score."""
    given = _given("17")
    for scorer in (ExactScorer("a"), IncludesScorer("b"), NumericScorer("c"), RegexScorer("d")):
        assert score_answer(scorer, given) is None


def _python(call: object) -> PythonScorer:
    return PythonScorer("py", "checks:grade", call)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("returned", "score"),
    [
        (True, Score(1.0, True)),
        (0.25, Score(0.25)),
        (3, Score(3.0)),
        (Score(0.5, False, "half"), Score(0.5, False, "half")),
    ],
    ids=["bool", "float", "int", "score"],
)
def test_python_scorer_returns_a_value_a_bool_or_a_score(returned: object, score: Score) -> None:
    """Whatever the function returns becomes a Score; it sees the typed ScoreInput."""
    seen: list[ScoreInput] = []

    def grade(given: ScoreInput) -> object:
        seen.append(given)
        return returned

    assert score_answer(_python(grade), _given("17", "17")) == score
    assert seen[0].case.expected == "17"


def _columns(text: str) -> ResultColumns:
    blocks = json.dumps([{"type": "text", "text": text}])
    return ResultColumns("r1", "arm", "m", 0, text, blocks, '{"output_tokens": 3}', "end_turn")


def test_a_raising_or_badly_returning_scorer_records_an_error_row() -> None:
    """The error is the row's data; other scorers still score the answer."""

    def boom(given: ScoreInput) -> float:
        raise KeyError("missing")

    case = Case("c", ({"role": "user", "content": "q"},), expected="17")
    scorers = (_python(boom), _python(lambda given: "yes"), IncludesScorer("correct"))
    rows = score_result(scorers, case, _columns("17"))
    assert [r.error for r in rows[:2]] == [
        "checks:grade raised KeyError: 'missing'",
        "checks:grade returned str 'yes'; return a number, a bool or a Score.",
    ]
    assert rows[0].value is None
    assert (rows[2].scorer, rows[2].value, rows[2].passed, rows[2].error) == (
        "correct",
        1.0,
        True,
        None,
    )


def test_score_input_carries_blocks_usage_and_tool_calls() -> None:
    """A stored result's JSON columns become typed fields."""
    case = Case("c", ({"role": "user", "content": "q"},))
    columns = ResultColumns(
        "r1", "arm", "m", 2, "x", json.dumps([TOOL_USE]), '{"output_tokens": 3}', "tool_use"
    )
    given = ScoreInput.from_columns(case, columns)
    assert given.usage == {"output_tokens": 3}
    assert (given.arm, given.model, given.repeat, given.stop_reason) == ("arm", "m", 2, "tool_use")
    assert given.tool_calls[0].name == "get_weather"
    assert given.tool_calls[0].arguments["city"] == "Paris"


def test_scoring_many_answers_serialises_no_scorer_settings_per_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fingerprint and the json scorer's validator are made once per scorer: scoring
    100 answers dumps no scorer to JSON (it did twice per answer: fingerprint, schema key)."""
    scorers = (JsonScorer("j", SCHEMA), ExactScorer("e"))
    case = Case("c", ({"role": "user", "content": "q"},), expected='{"answer": "4"}')
    columns = ResultColumns("k", "a", "m", 1, '{"answer": "4"}', None, None, "end_turn")
    marks = [row.fingerprint for row in score_result(scorers, case, columns)]
    dumped: list[object] = []
    real = json.dumps

    def recording(value: object, **options: object) -> str:
        dumped.append(value)
        return real(value, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(json, "dumps", recording)
    for _ in range(100):
        rows = score_result(scorers, case, columns)
        assert [row.fingerprint for row in rows] == marks
    assert dumped == []


def test_a_changed_scorer_gets_its_own_fingerprint() -> None:
    """The fingerprint is kept per scorer object: a scorer replaced with other settings is
    fingerprinted anew, never given the old one's."""
    scorer = JsonScorer("j", SCHEMA)
    changed = dataclasses.replace(scorer, schema={"type": "array"})
    assert scorer.fingerprint == JsonScorer("j", SCHEMA).fingerprint
    assert changed.fingerprint != scorer.fingerprint
    assert changed.validator is not None
    assert not changed.validator.is_valid({"answer": "4"})
