"""Known answers and judge mode: right with p_correct, planted quality changes, seeded verdicts."""

from __future__ import annotations

import json

import httpx
import pytest

from runner.emulator import EmulatorConfig, create_app, parse_beta_effect
from runner.emulator.answers import known_answer
from tests.emulator.support import HEADERS, body

pytestmark = pytest.mark.anyio
QUICK = {"ttft_ms": 0.0, "ms_per_output_token": 0.0, "jitter": 0.0}


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("What is 17 times 23? Show the result only.", "391"),
        ("what is 12 + 5", "17"),
        ("Compute 9 x 4.", "36"),
        ("Calculate 15 minus 42", "-27"),
        ("What is 906 multiplied by 10?", "9060"),
        ("Where is Canberra? [[emulator:answer=Australia]]", "Australia"),
        ("The beta context-1m-2025-08-07 is 2025 - 8 years old", None),
        ("Say hello.", None),
    ],
    ids=["times", "plus", "x", "minus", "multiplied", "directive", "a-date-is-no-sum", "none"],
)
def test_known_answers_come_from_a_directive_or_a_test_style_sum(
    text: str, answer: str | None
) -> None:
    """Sums, differences and products written as a test would ask them; a directive wins."""
    assert known_answer(text) == answer


async def _texts(config: EmulatorConfig, prompt: str, n: int, beta: str | None = None) -> list[str]:
    headers = {**HEADERS, **({"anthropic-beta": beta} if beta else {})}
    transport = httpx.ASGITransport(app=create_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://e", headers=headers) as c:
        replies = [(await c.post("/v1/messages", json=body(prompt))).json() for _ in range(n)]
    return [r["content"][0]["text"] for r in replies]


async def test_answers_are_right_with_p_correct_over_samples() -> None:
    """p_correct 0.8: about 80 of 100 samples say 391, the others a near miss without it."""
    texts = await _texts(EmulatorConfig(p_correct=0.8, **QUICK), "What is 17 times 23?", 100)
    right = sum(text == "391" for text in texts)
    assert 65 <= right <= 92
    assert all("391" not in text for text in texts if text != "391")


async def test_a_planted_correctness_change_applies_only_with_its_beta() -> None:
    """correct=-100 makes every answer wrong when the beta is sent, none otherwise."""
    effect = parse_beta_effect("worse-2026-01-01:correct=-100")
    config = EmulatorConfig(p_correct=1.0, beta_effects=(effect,), **QUICK)
    assert await _texts(config, "What is 2 + 2?", 5) == ["4"] * 5
    worse = await _texts(config, "What is 2 + 2?", 5, beta="worse-2026-01-01")
    assert all(text != "4" for text in worse)


def _pairwise(first: str, second: str) -> str:
    return (
        "<rubric>\nBe correct.\n</rubric>\n<question>\nWhat is 2 + 2?\n</question>\n"
        f"<reference>\n4\n</reference>\n<answer_a>\n{first}\n</answer_a>\n"
        f"<answer_b>\n{second}\n</answer_b>\nWhich answer is better?"
    )


@pytest.mark.parametrize(
    ("first", "second", "verdict"),
    [("4", "5", "A"), ("5", "4", "B"), ("4", "4", "tie"), ("3", "5", "tie")],
    ids=["a-right", "b-right", "both-right", "both-wrong"],
)
async def test_the_judge_prefers_the_answer_that_matches_the_reference(
    first: str, second: str, verdict: str
) -> None:
    """A pairwise judge prompt gets a JSON verdict: the right answer wins, else a tie."""
    (text,) = await _texts(EmulatorConfig(**QUICK), _pairwise(first, second), 1)
    assert json.loads(text)["verdict"] == verdict


async def test_grades_without_a_reference_are_seeded() -> None:
    """A grade judged without a reference is drawn from the seed: the same seed, the same grade."""
    prompt = (
        "<rubric>\nBe kind.\n</rubric>\n<question>\nSay hi.\n</question>\n<answer>\nHi!\n</answer>"
        "\nGrade the answer on the rubric with a whole number from 0 to 5."
    )
    first = await _texts(EmulatorConfig(seed=3, vary_samples=False, **QUICK), prompt, 1)
    again = await _texts(EmulatorConfig(seed=3, vary_samples=False, **QUICK), prompt, 1)
    grade = json.loads(first[0])["score"]
    assert first == again
    assert 0 <= grade <= 5


@pytest.mark.parametrize(
    ("spec", "message"),
    [("b:correct=lots", "is not like -20"), ("b:correct=-120", "from -100 to \\+100")],
    ids=["not-a-number", "out-of-range"],
)
def test_a_bad_correct_effect_says_what_is_wrong(spec: str, message: str) -> None:
    """correct=POINTS must be a number of points from -100 to +100."""
    with pytest.raises(ValueError, match=message):
        parse_beta_effect(spec)
    assert parse_beta_effect("b:correct=-20").correct_points == -20.0
