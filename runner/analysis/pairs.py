"""Pairing each arm's requests with the baseline's, and every compared metric on those pairs.

A pair is an arm's row and the baseline's row with the same (run_id, case_id, model, repeat):
the same question, asked the same n-th time, under the two arms. Each metric gives per pair an
arm-side value `x` and a baseline-side value `y` (null where the metric is undefined), and the
paired difference is x - y:

- latency_ms, ttft_ms, output_tokens, input_tokens, cost_usd: the arm's and the baseline's
  value; pairs where both are ok.
- error_rate: 1 if the arm's (x) or the baseline's (y) request failed; every pair.
- exact_match: x = 1 if the arm's text equals the baseline's; y = 1 if the baseline's text
  equals the baseline's own next repeat; both ok.
- similarity: x = word-set Jaccard of the arm's and the baseline's texts; y = of the baseline
  and its own next repeat; both ok.
- outputs_changed: x = 1 if the arm's answer is further from the baseline's (word-set Jaccard)
  than the baseline's next repeat is, y = 1 if the baseline's repeat is the further one; both
  ok and the baseline repeated. An arm identical to the baseline has x = 0: no change. With
  sampling noise alone, x and y are equally likely: a change is x above y.
- length_delta: the texts' lengths in characters; both ok.
- stop_reason_shift: x = 1 if the two stop reasons differ; y = 1 if the baseline's differs from
  its own next repeat's; both ok.
- self_similarity: x = the arm vs its own next repeat; y = the baseline vs its own; both ok.
- baseline_self_similarity: x = y = the baseline vs its own next repeat (a reference, no test).
- evidence_share: x = 1 if the arm's answer shows a catalogued signal of the arm's betas; y = 1
  if the baseline's answer shows one of those same signals; both ok, and only for arms whose
  betas have catalogued signals.
- the conversation metrics of `runner.analysis.conversation` (turns, tool_calls, total_tokens,
  last_turn_input_tokens, cache_read_share, total_latency_ms): like the numeric ones.

So `exact_match`, `similarity` and `stop_reason_shift` are set against the baseline's own
repeat-to-repeat noise: a beta that changes nothing scores like another baseline sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from runner.analysis.conversation import CONVERSATION_METRICS, SOURCE_COLUMNS, conversation_values
from runner.analysis.cost import COST
from runner.analysis.signals import shows_any, signals_by_arm
from runner.analysis.similarity import (
    CHARS,
    SELF_EXACT,
    SELF_SIMILARITY,
    SELF_STOP_SHIFT,
    TEXT_HASH,
    WORDS,
    with_jaccard,
    with_text_features,
)
from runner.results.schema import STATUS_OK, R

PAIR_KEYS = (R.run_id, R.case_id, R.model, R.repeat)
NUMERIC = (R.latency_ms, R.ttft_ms, R.output_tokens, R.input_tokens, COST)
METRICS = (
    *NUMERIC, "error_rate", "outputs_changed", "exact_match", "similarity", "length_delta",
    "stop_reason_shift",
    "self_similarity", "baseline_self_similarity", "evidence_share",
)  # fmt: skip
REFERENCE_METRICS = ("baseline_self_similarity",)
OK, ERROR, EVIDENCE_ARM, EVIDENCE_BASE = "_ok", "_error", "_ev_x", "_ev_y"
HAS_SIGNALS = "_has_signals"
SIMILARITY = "_similarity"
BASE = "_b"
_CARRIED = (
    *NUMERIC, OK, ERROR, TEXT_HASH, R.stop_reason,
    WORDS, CHARS, SELF_EXACT, SELF_SIMILARITY, SELF_STOP_SHIFT,
)  # fmt: skip
_PAIRED_NUMBERS = (*NUMERIC, *CONVERSATION_METRICS)


def paired(
    frame: pl.LazyFrame, baseline: str, by: Sequence[str], *, conversations: bool = False
) -> pl.LazyFrame:
    """One row per (arm != baseline, pair) with the arm's and the baseline's columns (`_b`);
    with `conversations`, also the conversation metrics' columns.

    Evidence is matched per row by expressions before pairing (the arms with catalogued
    signals are few: one flag per such arm), so the pairs carry flags, not lists; the word
    sets are compared once, into `SIMILARITY`, and not carried further. Nothing is collected.
    """
    signals = signals_by_arm(frame)
    carried = (*_CARRIED, *(CONVERSATION_METRICS if conversations else ()))
    flags = [_flag(i) for i in range(len(signals))]
    rows = _rows(frame, by, signals, conversations=conversations).with_columns(
        _shown_for_arm(signals).alias(EVIDENCE_ARM)
    )
    keep = list(dict.fromkeys([*PAIR_KEYS, *by, R.arm, *carried, EVIDENCE_ARM]))
    arms = rows.filter(pl.col(R.arm) != baseline).select(keep)
    base = rows.filter(pl.col(R.arm) == baseline).select(
        *PAIR_KEYS, *(pl.col(c).alias(c + BASE) for c in carried), *flags
    )
    pairs = arms.join(base, on=list(PAIR_KEYS), how="inner", maintain_order="left")
    pairs = with_jaccard(pairs, pl.col(WORDS), pl.col(WORDS + BASE), SIMILARITY)
    return pairs.with_columns(
        _shown_for_arm(signals).alias(EVIDENCE_BASE),  # the flags here are the baseline's
        pl.col(R.arm).is_in(list(signals)).alias(HAS_SIGNALS),
    ).drop(WORDS, WORDS + BASE, *flags)


def _rows(
    frame: pl.LazyFrame, by: Sequence[str], signals: dict[str, list[str]], *, conversations: bool
) -> pl.LazyFrame:
    """Every row's values and text features, with per signal arm a flag: does the row show
    one of that arm's signals. Status, text and evidence are read here and not carried on."""
    needed = [*PAIR_KEYS, *by, R.arm, R.status, *NUMERIC, R.text, R.stop_reason, R.evidence]
    needed += SOURCE_COLUMNS if conversations else ()
    rows = frame.select(list(dict.fromkeys(needed))).with_columns(
        *(conversation_values() if conversations else ()),
        (pl.col(R.status) == STATUS_OK).alias(OK),
        (pl.col(R.status) != STATUS_OK).cast(pl.Float64).alias(ERROR),
        *(
            shows_any(pl.col(R.evidence), wanted).cast(pl.Float64).alias(_flag(i))
            for i, wanted in enumerate(signals.values())
        ),
    )
    return with_text_features(rows.drop(R.status, R.evidence), ok=pl.col(OK))


def _flag(index: int) -> str:
    return f"_shows_{index}"


def _shown_for_arm(signals: dict[str, list[str]]) -> pl.Expr:
    """The flag of the row's arm among the per-arm flags (0.0 for an arm without signals)."""
    flag = pl.lit(0.0)
    for index, arm in enumerate(signals):
        flag = pl.when(pl.col(R.arm) == arm).then(pl.col(_flag(index))).otherwise(flag)
    return flag


def metric_sides(metric: str) -> tuple[pl.Expr, pl.Expr]:
    """The (x, y) expressions of `metric` over a paired frame, as Float64, null if undefined."""
    both_ok = pl.col(OK) & pl.col(OK + BASE)
    if metric in _PAIRED_NUMBERS:
        defined = both_ok & pl.col(metric).is_not_null() & pl.col(metric + BASE).is_not_null()
        return _on(defined, pl.col(metric)), _on(defined, pl.col(metric + BASE))
    sides = _output_sides(both_ok)
    if metric not in sides:
        known = ", ".join((*METRICS, *CONVERSATION_METRICS))
        raise ValueError(f"Unknown metric {metric!r}; known metrics: {known}.")
    return sides[metric]


def _output_sides(both_ok: pl.Expr) -> dict[str, tuple[pl.Expr, pl.Expr]]:
    same_text = pl.col(TEXT_HASH) == pl.col(TEXT_HASH + BASE)
    shifted = pl.col(R.stop_reason).ne_missing(pl.col(R.stop_reason + BASE))
    base_self = pl.col(SELF_SIMILARITY + BASE)
    jaccard_arm = pl.col(SIMILARITY)
    with_signals = both_ok & pl.col(HAS_SIGNALS)
    return {
        "error_rate": (pl.col(ERROR), pl.col(ERROR + BASE)),
        "exact_match": (_on(both_ok, same_text), _on(both_ok, pl.col(SELF_EXACT + BASE))),
        "similarity": (
            _on(both_ok, jaccard_arm),
            _on(both_ok, base_self),
        ),
        "outputs_changed": (
            _on(both_ok & base_self.is_not_null(), jaccard_arm < base_self),
            _on(both_ok & base_self.is_not_null(), base_self < jaccard_arm),
        ),
        "length_delta": (_on(both_ok, pl.col(CHARS)), _on(both_ok, pl.col(CHARS + BASE))),
        "stop_reason_shift": (_on(both_ok, shifted), _on(both_ok, pl.col(SELF_STOP_SHIFT + BASE))),
        "self_similarity": (_on(both_ok, pl.col(SELF_SIMILARITY)), _on(both_ok, base_self)),
        "baseline_self_similarity": (base_self, base_self),
        "evidence_share": (
            _on(with_signals, pl.col(EVIDENCE_ARM)),
            _on(with_signals, pl.col(EVIDENCE_BASE)),
        ),
    }


def _on(defined: pl.Expr, value: pl.Expr) -> pl.Expr:
    return pl.when(defined).then(value.cast(pl.Float64))
