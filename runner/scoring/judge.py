"""Judge prompts and verdicts: what is sent to a judge model and how its reply is read.

The judge is blinded to the arm: its prompt holds the rubric, the case's question, the case's
`expected` as a reference (when there is one) and the answer(s), never an arm name, beta or
model. A `grade` judge scores one answer from 0 to the scale; a `pairwise` judge sees the arm's
and the baseline's answers to the same case and repeat as "A" and "B", in an order drawn per
pair from the run's seed (recorded as `arm_first` or `baseline_first`), and may call a tie.

The reply is read strictly: one JSON object (optionally in one ``` fence) with `score` (a
number from 0 to the scale) or `verdict` ("A", "B" or "tie"), and `explanation`. Anything
else is a `ScoringError`, recorded as the score's error. For the arm, a pairwise verdict is
worth 1 (its answer preferred), 0.5 (a tie) or 0 (the baseline's preferred).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Literal

from runner.config.scorers import JudgeScorer
from runner.config.types import Case, JSONObject, JSONValue
from runner.scoring.builtin import ScoringError
from runner.scoring.inputs import Score

Order = Literal["arm_first", "baseline_first"]
ARM_FIRST: Order = "arm_first"
BASELINE_FIRST: Order = "baseline_first"
SYSTEM = (
    "You are an impartial grader. You judge answers only by the rubric, never by their length "
    "or style, and reply with exactly one JSON object."
)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def pair_order(seed: int, judged_key: str) -> Order:
    """Which answer a pairwise judge sees first, fixed by the run's seed and the arm's request."""
    digest = hashlib.sha256(f"{seed}\0judge-order\0{judged_key}".encode()).digest()
    return ARM_FIRST if digest[0] % 2 == 0 else BASELINE_FIRST


def judge_body(judge: JudgeScorer, prompt: str) -> JSONObject:
    """The Messages body of one judge request (not streamed, temperature 0)."""
    return {
        "model": judge.model,
        "max_tokens": judge.max_tokens,
        "temperature": 0,
        "system": SYSTEM,
        "messages": [{"role": "user", "content": prompt}],
    }


def grade_prompt(judge: JudgeScorer, case: Case, answer: str) -> str:
    """The user turn asking for a grade of one answer."""
    return "\n".join(
        [
            *_context(judge, case),
            f"<answer>\n{answer}\n</answer>",
            f"Grade the answer on the rubric with a whole number from 0 to {judge.scale}. Reply "
            f'with one JSON object and nothing else: {{"score": <0-{judge.scale}>, '
            '"explanation": "<one sentence>"}',
        ]
    )


def pairwise_prompt(judge: JudgeScorer, case: Case, first: str, second: str) -> str:
    """The user turn asking which of two answers is better (`first` is shown as A)."""
    return "\n".join(
        [
            *_context(judge, case),
            f"<answer_a>\n{first}\n</answer_a>",
            f"<answer_b>\n{second}\n</answer_b>",
            "Which answer is better on the rubric? Reply with one JSON object and nothing "
            'else: {"verdict": "A" | "B" | "tie", "explanation": "<one sentence>"}',
        ]
    )


def _context(judge: JudgeScorer, case: Case) -> list[str]:
    lines = [f"<rubric>\n{judge.rubric}\n</rubric>", f"<question>\n{question(case)}\n</question>"]
    if case.expected is not None:
        lines.append(f"<reference>\n{_plain(case.expected)}\n</reference>")
    return lines


def question(case: Case) -> str:
    """The case's conversation as text: one message as it is, several as `role: text` lines."""
    texts = [(str(m.get("role")), _content_text(m.get("content"))) for m in case.messages]
    if len(texts) == 1:
        return texts[0][1]
    return "\n".join(f"{role}: {text}" for role, text in texts)


def _content_text(content: JSONValue) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(b.get("text", "")) for b in content if isinstance(b, dict) and "text" in b
        )
    return ""


def _plain(value: JSONValue) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def read_grade(judge: JudgeScorer, reply: str) -> Score:
    """A grade reply as a Score (value the grade; passed at `pass_at`, if set)."""
    found = _reply_object(reply)
    grade = found.get("score")
    if (
        isinstance(grade, bool)
        or not isinstance(grade, int | float)
        or not 0 <= grade <= judge.scale
    ):
        raise ScoringError(f"the judge's score {grade!r} is not a number from 0 to {judge.scale}")
    passed = None if judge.pass_at is None else grade >= judge.pass_at
    return Score(float(grade), passed, _explanation(found))


def read_pairwise(reply: str, order: Order) -> Score:
    """A pairwise reply as the arm's Score: 1 preferred, 0.5 tie, 0 the baseline preferred."""
    found = _reply_object(reply)
    verdict = found.get("verdict")
    label = verdict.strip().upper() if isinstance(verdict, str) else None
    if label not in ("A", "B", "TIE"):
        raise ScoringError(f'the judge\'s verdict {verdict!r} is not "A", "B" or "tie"')
    if label == "TIE":
        value = 0.5
    else:
        arm_label = "A" if order == ARM_FIRST else "B"
        value = 1.0 if label == arm_label else 0.0
    return Score(value, None, _explanation(found))


def _reply_object(reply: str) -> dict[str, object]:
    text = reply.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced[1]
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ScoringError(f"the judge's reply is not one JSON object: {reply[:80]!r}") from None
    if not isinstance(value, dict):
        raise ScoringError(f"the judge's reply is not one JSON object: {reply[:80]!r}")
    return value


def _explanation(found: dict[str, object]) -> str | None:
    value = found.get("explanation")
    return value if isinstance(value, str) and value else None
