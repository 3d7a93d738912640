"""Memory: does a run's peak RSS stay flat as the number of requests grows?

    python -m benchmarks.memory [--sizes 10000,50000,100000] [--concurrency 64]

For each size, a fresh child process runs that many requests (non-streaming, through the whole
beta-runner path, results written and compacted) against a zero-latency emulator in another
process, and reports its own peak resident set size. Printed: requests, wall time, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

from benchmarks.support import ZERO_LATENCY, emulator_process, experiment, new_run, run_through
from runner.results.store import table_counts


async def _run(url: str, requests: int, concurrency: int) -> dict[str, int]:
    exp = experiment(
        url, cases=requests // 30, repeats=10, concurrency=concurrency, stream=False, max_tokens=64
    )
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = new_run(Path(tmp), exp, "memory")
        await run_through(exp, run_dir, "memory")
        return table_counts(run_dir.path)


def child(url: str, requests: int, concurrency: int) -> None:
    """Run one size in this process and print its figures as JSON."""
    started = time.perf_counter()
    counts = anyio.run(_run, url, requests, concurrency)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "requests": counts["requests"],
                "ok": counts["ok"],
                "wall_s": time.perf_counter() - started,
                "peak_rss_mb": peak_mb,
            }
        )
    )


def main() -> None:
    """Run each size in its own child process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--child", nargs=2, metavar=("URL", "REQUESTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.concurrency)
        return
    print(f"{'requests':>9}{'ok':>9}{'wall s':>9}{'peak RSS MB':>13}")
    for size in (int(s) for s in args.sizes.split(",")):
        with emulator_process(ZERO_LATENCY) as url:
            command = [
                sys.executable,
                "-m",
                "benchmarks.memory",
                "--child",
                url,
                str(size),
                "--concurrency",
                str(args.concurrency),
            ]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        figures = json.loads(output.strip().splitlines()[-1])
        print(
            f"{figures['requests']:>9}{figures['ok']:>9}{figures['wall_s']:>9.0f}"
            f"{figures['peak_rss_mb']:>13.0f}"
        )


if __name__ == "__main__":
    main()
