"""Fault soak: 5,000 requests through injected 529s, 500s, dropped streams and a 429 burst.

    python -m benchmarks.fault_soak [--requests 5000] [--concurrency 64] [--max-attempts 20]

The emulator runs in its own process with p_overloaded=0.2, p_server_error=0.05,
p_drop_stream=0.05 and every request answered 429 during a burst a few seconds in. Printed:
requests, final rows, duplicate rows, ok, errors, attempts, retries by error type, whether the
attempts table accounts for every retry (attempt rows - result rows == sum(attempts - 1)), and
the wall time. Exits 1 when a request has no row or more than one, or the accounting is off.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import anyio
import polars as pl

from benchmarks.support import ARMS, emulator_process, experiment, new_run, run_through
from runner.results.schema import STATUS_OK, A, R, ResultRow
from runner.results.store import read_attempts, read_results

FAULTS = ("p_overloaded=0.2", "p_server_error=0.05", "p_drop_stream=0.05")
LATENCY = ("ttft_ms=20", "ms_per_output_token=0.5", "jitter=0.1", "rpm=0", "itpm=0", "otpm=0")
REPEATS = 10


class RowCounter:
    """Counts every final row the writer is handed, per request key (to catch duplicates)."""

    def __init__(self) -> None:
        self.per_key: Counter[str] = Counter()

    def result(self, row: ResultRow) -> None:
        """One final row."""
        self.per_key[row.request_key] += 1


async def soak(url: str, requests: int, concurrency: int, max_attempts: int, tmp: Path) -> int:
    """Run the soak and print its figures; returns the exit code."""
    arms = ARMS[:2]
    cases = requests // (len(arms) * REPEATS)
    exp = experiment(
        url,
        cases=cases,
        repeats=REPEATS,
        concurrency=concurrency,
        max_attempts=max_attempts,
        arms=arms,
    )
    run_dir = new_run(tmp, exp, "soak")
    counter = RowCounter()
    wall = time.perf_counter()
    await run_through(exp, run_dir, "soak", "soak-key", counter)
    wall = time.perf_counter() - wall
    return report(exp.request_count, run_dir.path, counter, wall)


def report(planned: int, run_dir: Path, counter: RowCounter, wall_s: float) -> int:
    """Print the figures; 0 when every request has exactly one row and retries add up."""
    results = read_results(run_dir).collect()
    attempts = read_attempts(run_dir).collect()
    duplicates = sum(n - 1 for n in counter.per_key.values())
    ok = results.filter(pl.col(R.status) == STATUS_OK).height
    retries = attempts.height - results.height
    expected = int((results[R.attempts] - 1).sum())
    by_type = attempts.filter(pl.col(A.error_type).is_not_null()).group_by(A.error_type).len()
    print(f"requests {planned}, rows {results.height}, duplicates {duplicates}")
    print(f"ok {ok}, errors {results.height - ok}, attempts {attempts.height}")
    for error_type, count in sorted(by_type.iter_rows()):
        print(f"  retried after {error_type}: {count}")
    accounted = retries == expected
    print(f"attempt rows - result rows = {retries}; sum(attempts - 1) = {expected}: {accounted}")
    print(f"wall time {wall_s:.1f} s")
    whole = results.height == planned == len(counter.per_key) and duplicates == 0
    return 0 if whole and accounted else 1


def main() -> None:
    """Start the faulty emulator in its own process and soak it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--max-attempts", type=int, default=20)
    parser.add_argument("--burst", default="4,3", help="START,DURATION in seconds of uptime")
    args = parser.parse_args()
    settings = (*FAULTS, *LATENCY, f"rate_limit_burst={args.burst}")
    with emulator_process(settings) as url, tempfile.TemporaryDirectory() as tmp:
        code = anyio.run(soak, url, args.requests, args.concurrency, args.max_attempts, Path(tmp))
    sys.exit(code)


if __name__ == "__main__":
    main()
