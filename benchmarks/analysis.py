"""Analysis benchmark: summarize + compare on 1,000,000 synthetic result rows.

    python -m benchmarks.analysis [--rows 1000000] [--n-boot 2000] [--repeat 1]

The rows are built with polars to match RESULTS_SCHEMA: 2 models x 4 arms (a baseline and three
betas, one of them +30 ms) x cases x 25 repeats, 2% errors, short texts drawn from a small
vocabulary, and written to a Parquet file as a run stores them. Each measurement is a fresh
process that scans that file lazily, as `beta-runner compare` reads a run, and reports the
seconds (wall and CPU) to summarize, to compare (every metric) and its own peak resident memory
(ru_maxrss), so the figures are the analysis's alone, not the builder's. The runs are printed
side by side with the load average, then each target (< 3 s for summarize + compare, < 1 GiB)
with "met" only when every run met it, and the planted +30 ms as compare found it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from runner.analysis import compare, summarize
from runner.config.prices import default_prices
from runner.results.schema import RESULTS_SCHEMA, R

MODELS = ("claude-sonnet-5", "claude-haiku-4-5")
ARMS = {
    "baseline": [],
    "fast": ["fast-mode-2026-02-01"],
    "slow": ["planted-slow-2026-01-01"],
    "window": ["model-context-window-exceeded-2025-08-26"],
}
REPEATS = 25
WORDS = [
    "harbor",
    "island",
    "signal",
    "valley",
    "stream",
    "output",
    "steady",
    "turn",
    "count",
    "change",
    "result",
    "make",
]


def synthetic_results(rows: int, seed: int = 0) -> pl.DataFrame:
    """About `rows` result rows with the results schema (whole cases x models x arms x repeats)."""
    cases = max(1, rows // (len(MODELS) * len(ARMS) * REPEATS))
    grid = _grid(cases)
    frame = grid.with_columns(*_measured(grid.height, seed), *_fixed())
    return frame.select(
        pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)
        for name, dtype in RESULTS_SCHEMA.items()
    )


def _grid(cases: int) -> pl.DataFrame:
    """Every case x model x arm x repeat, one row each."""
    return (
        pl.DataFrame({R.case_id: [f"case-{i}" for i in range(cases)]})
        .join(pl.DataFrame({R.model: list(MODELS)}), how="cross")
        .join(pl.DataFrame({R.arm: list(ARMS)}), how="cross")
        .join(
            pl.DataFrame({R.repeat: list(range(REPEATS))}, schema={R.repeat: pl.Int32}), how="cross"
        )
    )


def _measured(n: int, seed: int) -> list[pl.Expr]:
    """The columns that vary: 2% errors, noisy latencies and tokens, `slow` +30 ms."""
    noise = pl.int_range(n).hash(seed) % 10_000 / 10_000.0
    planted = pl.when(pl.col(R.arm) == "slow").then(30.0).otherwise(0.0)
    ok = (pl.int_range(n).hash(seed + 1) % 100) >= 2
    return [
        pl.when(ok).then(pl.lit("ok")).otherwise(pl.lit("error")).alias(R.status),
        pl.when(ok).then(None).otherwise(pl.lit("overloaded")).alias(R.error_type),
        (200.0 + 100.0 * noise + planted).alias(R.latency_ms),
        (100.0 + 50.0 * noise + planted).alias(R.ttft_ms),
        (20 + (noise * 40).cast(pl.Int64)).alias(R.output_tokens),
        _text(seed).alias(R.text),
    ]


def _fixed() -> list[pl.Expr]:
    """The columns every row holds the same, or derives from its key alone."""
    return [
        pl.lit("bench").alias(R.run_id),
        pl.format("{}|{}|{}|{}", R.case_id, R.model, R.arm, R.repeat).alias(R.request_key),
        pl.col(R.arm).replace_strict(ARMS, return_dtype=pl.List(pl.String)).alias(R.betas),
        pl.lit(1, pl.Int32).alias(R.attempts),
        pl.lit(0.0).alias(R.queue_ms),
        pl.lit(0.0).alias(R.backoff_ms),
        pl.lit(datetime(2026, 11, 1, tzinfo=UTC)).alias(R.started_at),
        pl.lit(datetime(2026, 11, 1, tzinfo=UTC)).alias(R.finished_at),
        pl.lit("end_turn").alias(R.stop_reason),
        pl.lit(30, pl.Int64).alias(R.input_tokens),
        pl.lit(0, pl.Int64).alias(R.cache_creation_input_tokens),
        pl.lit(0, pl.Int64).alias(R.cache_read_input_tokens),
        pl.lit(["text"]).alias(R.content_types),
        _evidence().alias(R.evidence),
    ]


def _text(seed: int) -> pl.Expr:
    """Five words per answer; the same for every arm but `fast`, which answers differently."""
    varies = pl.when(pl.col(R.arm) == "fast").then(pl.col(R.arm)).otherwise(pl.lit(""))
    key = pl.struct(R.case_id, R.model, R.repeat, varies.alias("_arm"))
    vocabulary = dict(enumerate(WORDS))
    words = [(key.hash(seed + i) % len(WORDS)).replace_strict(vocabulary) for i in range(5)]
    return pl.concat_str(words, separator=" ")


def _evidence() -> pl.Expr:
    fast = pl.lit(["usage.speed=fast"], pl.List(pl.String))
    return pl.when(pl.col(R.arm) == "fast").then(fast).otherwise(pl.lit([], pl.List(pl.String)))


SECONDS_TARGET = 3.0  # summarize + compare, wall seconds
MEMORY_TARGET_MIB = 1024.0  # peak resident memory of the measuring process
_FIGURES = "figures: "


@dataclass(frozen=True)
class Measurement:
    """One fresh process's figures: wall and CPU seconds of summarize and of compare, its peak
    RSS, the load average when it finished, and the planted +30 ms as compare found it."""

    summarize_s: float
    summarize_cpu_s: float
    compare_s: float
    compare_cpu_s: float
    peak_mib: float
    load: float
    planted: str

    @property
    def total_s(self) -> float:
        return self.summarize_s + self.compare_s


def _timed(work: Callable[[], pl.DataFrame]) -> tuple[pl.DataFrame, float, float]:
    """The frame, wall seconds and CPU seconds (all threads: on a shared machine the steadier
    figure)."""
    started, cpu = time.perf_counter(), time.process_time()
    frame = work()
    return frame, time.perf_counter() - started, time.process_time() - cpu


def measure(path: Path, n_boot: int) -> Measurement:
    """In this (fresh) process: scan `path`, time summarize and compare, read peak RSS."""
    results = pl.scan_parquet(path)
    prices = default_prices()  # priced as a run is, so cost is part of the work measured
    _, summarize_s, summarize_cpu_s = _timed(lambda: summarize(results, prices=prices))
    table, compare_s, compare_cpu_s = _timed(lambda: compare(results, n_boot=n_boot, prices=prices))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    slow = table.filter((pl.col(R.arm) == "slow") & (pl.col("metric") == R.latency_ms))
    planted = "; ".join(
        f"{row[R.model]} {row['delta']:+.1f} ms (95% CI {row['ci_low']:.1f} to "
        f"{row['ci_high']:.1f}{', significant' if row['significant'] else ', NOT significant'})"
        for row in slow.sort(R.model).iter_rows(named=True)
    )
    figures = (summarize_s, summarize_cpu_s, compare_s, compare_cpu_s, peak_mib)
    return Measurement(*figures, load=os.getloadavg()[0], planted=planted)


class MeasurementFailed(Exception):
    """A measuring process exited without its figures; the message is its last stderr line."""


def _measure_in_child(path: Path, n_boot: int) -> Measurement:
    """`measure` in a fresh interpreter, so imports and the builder's memory are not counted."""
    command = [sys.executable, "-m", "benchmarks.analysis", "--scan", str(path)]
    done = subprocess.run(
        [*command, "--n-boot", str(n_boot)], check=False, capture_output=True, text=True
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith(_FIGURES)]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise MeasurementFailed(f"the measuring process exited {done.returncode}: {last}")
    return Measurement(**json.loads(lines[-1].removeprefix(_FIGURES)))


def _table(runs: Sequence[Measurement]) -> str:
    header = (
        "| run | load | summarize (CPU) | compare (CPU) | summarize + compare | peak RSS |\n"
        "| --- | --- | --- | --- | --- | --- |"
    )
    rows = [
        f"| {i} | {m.load:.1f} | {m.summarize_s:.2f} s ({m.summarize_cpu_s:.2f} s) "
        f"| {m.compare_s:.2f} s ({m.compare_cpu_s:.2f} s) | {m.total_s:.2f} s "
        f"| {m.peak_mib:,.0f} MiB |"
        for i, m in enumerate(runs, 1)
    ]
    return "\n".join([header, *rows])


def verdicts(runs: Sequence[Measurement]) -> list[str]:
    """One line per target: met in every run, or in how many, by the figures measured."""
    seconds = [m.total_s for m in runs]
    peaks = [m.peak_mib for m in runs]
    return [
        _verdict(
            f"summarize + compare < {SECONDS_TARGET:.0f} s", seconds, SECONDS_TARGET, "{:.2f} s"
        ),
        _verdict(
            f"peak RSS < {MEMORY_TARGET_MIB:,.0f} MiB", peaks, MEMORY_TARGET_MIB, "{:,.0f} MiB"
        ),
    ]


def _verdict(target: str, figures: Sequence[float], limit: float, shown: str) -> str:
    met = sum(figure < limit for figure in figures)
    word = "met" if met == len(figures) else "not met"
    spread = f"{shown.format(min(figures))} to {shown.format(max(figures))}"
    headroom = f"{limit / max(figures):.2f} x the worst run"
    return f"{target}: {word} (in {met} of {len(figures)} runs; {spread}; the target is {headroom})"


def main(argv: list[str] | None = None) -> int:
    """Build the rows into a Parquet file, measure summarize + compare in fresh processes, print
    every run side by side and whether each target was met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=1, help="measure this many times")
    parser.add_argument("--scan", type=Path, help=argparse.SUPPRESS)  # the measuring child
    args = parser.parse_args(argv)
    if args.scan is not None:
        print(_FIGURES + json.dumps(dataclasses.asdict(measure(args.scan, args.n_boot))))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.parquet"
        results = synthetic_results(args.rows)
        results.write_parquet(path)
        print(f"{results.height:,} result rows, {path.stat().st_size / 2**20:.0f} MiB of Parquet")
        del results
        try:
            runs = [_measure_in_child(path, args.n_boot) for _ in range(args.repeat)]
        except MeasurementFailed as failed:
            print(f"Nothing measured: {failed}", file=sys.stderr)
            return 1
    print(_table(runs))
    print(f"planted +30 ms (slow arm, last run): {runs[-1].planted}")
    print("\n".join(verdicts(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
