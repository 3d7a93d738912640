"""Known answers: questions the emulator can answer right or wrong, and its judge mode.

Answers. A question has a known answer when the last user message holds the directive
`[[emulator:answer=VALUE]]` (VALUE: any text up to `]]`), or asks a two-number sum, difference
or product the way a test would write it ("What is 17 times 23?", "Compute 12 + 5",
"Calculate 9 x 4"). The reply
is then the answer alone, right with probability `p_correct` plus the planted `correct` points
of the request's planted betas (clamped to [0, 1]), else a near miss (a number off by 1 to 3,
or a word that does not contain the answer). The draw comes from the reply's content source,
so repeats of one question vary, and two arms asking the same question see the same draw: a
planted drop of 20 points turns exactly the draws between p - 0.2 and p wrong, as a paired
design would see it.

Judge mode. A request whose last user message has `<question>` and either `<answer>` (grade)
or `<answer_a>` and `<answer_b>` (pairwise) is answered as a judge: a JSON object. With a
`<reference>`, an answer is right when it contains the reference (ignoring case): pairwise,
the right answer wins and two right or two wrong answers tie; a grade is the top of the scale
asked for ("from 0 to N") when right, at most a third of it when wrong. Without a reference
the verdict or grade is drawn from the content source. Either way the verdict is the same for
the same prompt and seed, and a planted `correct` effect on an arm plants the judge's verdicts.
"""

from __future__ import annotations

import json
import random
import re

_DIRECTIVE = re.compile(r"\[\[emulator:answer=(.*?)\]\]", re.DOTALL)
_ARITHMETIC = re.compile(
    r"\b(?:what is|what's|compute|calculate)\s+(-?\d+)\s*"
    r"(\+|-|\*|x|\u00d7|times|plus|minus|multiplied by)\s*(-?\d+)\b",
    re.IGNORECASE,
)
_TAG = r"<{0}>\s*(.*?)\s*</{0}>"
_SCALE = re.compile(r"from 0 to (\d+)")
_WORDS = ("river", "stone", "cloud", "forest", "garden", "bridge", "harbor", "lantern")


def known_answer(text: str) -> str | None:
    """The answer a question's text makes known (directive first, then arithmetic)."""
    directive = _DIRECTIVE.findall(text)
    if directive:
        return str(directive[-1]).strip()
    found = _ARITHMETIC.search(text)
    if found is None:
        return None
    left, operator, right = int(found[1]), found[2].lower(), int(found[3])
    if operator in ("+", "plus"):
        return str(left + right)
    if operator in ("-", "minus"):
        return str(left - right)
    return str(left * right)


def answer(known: str, p_correct: float, rng: random.Random) -> str:
    """The reply to a question with a known answer: right with probability `p_correct`."""
    if rng.random() < min(1.0, max(0.0, p_correct)):
        return known
    return near_miss(known, rng)


def near_miss(known: str, rng: random.Random) -> str:
    """A wrong answer close to `known` that does not contain it."""
    offset = rng.choice((-3, -2, -1, 1, 2, 3))
    if re.fullmatch(r"-?\d+", known):
        wrong = str(int(known) + offset)
        if known not in wrong:
            return wrong
    words = [w for w in _WORDS if known.casefold() not in w]
    return rng.choice(words).capitalize() if words else "Unknown"


def is_judge_prompt(text: str) -> bool:
    """Whether a user message asks for a judge's verdict or grade."""
    return "<question>" in text and ("<answer>" in text or "<answer_a>" in text)


def judge_reply(text: str, rng: random.Random) -> str:
    """The judge's JSON reply to a judge prompt (see the module docstring)."""
    reference = _tag(text, "reference")
    if "<answer_a>" in text:
        return json.dumps(_pairwise(_tag(text, "answer_a"), _tag(text, "answer_b"), reference, rng))
    scale_found = _SCALE.search(text)
    scale = int(scale_found[1]) if scale_found else 10
    return json.dumps(_grade(_tag(text, "answer") or "", reference, scale, rng))


def _tag(text: str, name: str) -> str | None:
    found = re.search(_TAG.format(name), text, re.DOTALL)
    return found[1] if found else None


def _right(answer_text: str | None, reference: str) -> bool:
    return reference.casefold() in (answer_text or "").casefold()


def _pairwise(
    first: str | None, second: str | None, reference: str | None, rng: random.Random
) -> dict[str, str]:
    if reference is None:
        verdict = rng.choice(("A", "B", "tie"))
        return {"verdict": verdict, "explanation": "Judged without a reference."}
    a, b = _right(first, reference), _right(second, reference)
    if a == b:
        state = "both match" if a else "neither matches"
        return {"verdict": "tie", "explanation": f"{state.capitalize()} the reference."}
    winner = "A" if a else "B"
    return {"verdict": winner, "explanation": f"Only answer {winner} matches the reference."}


def _grade(
    answer_text: str, reference: str | None, scale: int, rng: random.Random
) -> dict[str, object]:
    if reference is None:
        return {"score": rng.randint(scale // 2, scale), "explanation": "Judged on the rubric."}
    if _right(answer_text, reference):
        return {"score": scale, "explanation": "The answer matches the reference."}
    return {"score": rng.randint(0, scale // 3), "explanation": "The answer misses the reference."}
