"""Planted beta effects: differences the emulator adds on purpose when a named beta is sent.

A planted effect lets a test or a benchmark check that beta-runner finds a difference that is
known to be there. The command-line syntax, parsed by `parse_beta_effect`, is::

    NAME[:KEY=VALUE[,KEY=VALUE...]]

| key | value | effect when NAME is in the request's `anthropic-beta` header |
| --- | --- | --- |
| `latency_ms` | a number >= 0 | added to the time to first token |
| `output_tokens` | `+20%`, `-10%`, `+15`, `-5`, `15` | relative or absolute change of text length |
| `text` | words without a comma | appended to the last text block, after a space |
| `correct` | points, e.g. `-20` or `+5` | added to the chance (in %) of a right answer to a |
| | | question with a known answer (`answers`), and so to a judge's verdicts |

Example: `my-beta-2026-01-01:latency_ms=30,output_tokens=+20%,text=planted,correct=-20`. A
planted beta name counts as known even when it is not in the emulator's catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

_KEYS = ("latency_ms", "output_tokens", "text", "correct")


@dataclass(frozen=True)
class BetaEffect:
    """What the emulator changes when `beta` is sent: latency, text length and text."""

    beta: str
    latency_ms: float = 0.0
    output_tokens: float = 0.0
    output_tokens_relative: bool = False
    text_suffix: str = ""
    correct_points: float = 0.0

    def resize(self, words: int) -> int:
        """The text length in words once this effect's output-token change is applied."""
        if self.output_tokens_relative:
            return max(1, round(words * (1.0 + self.output_tokens)))
        return max(1, round(words + self.output_tokens))


def parse_beta_effect(spec: str) -> BetaEffect:
    """Parse `NAME:latency_ms=30,output_tokens=+20%,text=suffix`; ValueError says what is wrong."""
    name, _, rest = spec.partition(":")
    name = name.strip()
    if not name:
        raise ValueError(f"Beta effect {spec!r} has no beta name; write NAME:key=value,...")
    values: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in _KEYS:
            raise ValueError(
                f"Beta effect {spec!r}: {item!r} is not KEY=VALUE "
                f"with KEY one of {', '.join(_KEYS)}."
            )
        values[key.strip()] = value.strip()
    tokens, relative = _tokens(spec, values)
    return BetaEffect(
        name,
        _latency(spec, values),
        tokens,
        relative,
        values.get("text", ""),
        _points(spec, values),
    )


def _number(spec: str, key: str, raw: str, shape: str, suffix: str = "") -> float:
    """`raw` (less `suffix`) as a float; ValueError naming the key and the shape it should have."""
    try:
        return float(raw.removesuffix(suffix))
    except ValueError:
        raise ValueError(f"Beta effect {spec!r}: {key}={raw!r} is not {shape}.") from None


def _points(spec: str, values: dict[str, str]) -> float:
    raw = values.get("correct", "0")
    points = _number(spec, "correct", raw, "like -20 or +5")
    if not -100 <= points <= 100:
        raise ValueError(f"Beta effect {spec!r}: correct={raw!r} must be from -100 to +100.")
    return points


def _latency(spec: str, values: dict[str, str]) -> float:
    raw = values.get("latency_ms", "0")
    latency = _number(spec, "latency_ms", raw, "a number")
    if latency < 0:
        raise ValueError(f"Beta effect {spec!r}: latency_ms={raw!r} must be zero or more.")
    return latency


def _tokens(spec: str, values: dict[str, str]) -> tuple[float, bool]:
    raw = values.get("output_tokens", "0")
    relative = raw.endswith("%")
    shape = "like +20%, -10% or +15"
    amount = _number(spec, "output_tokens", raw, shape, suffix="%")
    return (amount / 100.0, True) if relative else (amount, False)
