"""Rate-limit benchmark: N requests through a 600 RPM bucket, beta-runner vs the official SDK.

    python -m benchmarks.rate_limit [--requests 900] [--rpm 600] [--concurrency 64]

The emulator's buckets start full, so the ideal completion time is (N - RPM) / (RPM / 60)
seconds. When N <= RPM the bucket never runs dry and nothing need be paced: there is no ideal
to divide by, so wall/ideal is left out (a line says so) and the wall time stands alone. Each
contender gets a fresh emulator (in its own process) and the same workload: N streaming
requests spread over 3 arms. Printed side by side: wall time / ideal, 429s per request,
requests lost, and the client's CPU milliseconds per request. Arguments that are not whole
numbers above 0 are one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import anyio
import polars as pl

from benchmarks.support import ARMS, MODEL, emulator_process, experiment, new_run, run_through
from runner.config.types import Experiment
from runner.plan.matrix import PlannedRequest, plan_requests
from runner.results.schema import A, R
from runner.results.store import read_attempts, read_results

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

LATENCY = ("ttft_ms=50", "ms_per_output_token=1", "jitter=0.1")
REPEATS = 10


@dataclass
class Figures:
    """One contender's measurements."""

    name: str
    wall_s: float
    cpu_ms_per_request: float
    rate_limited: int
    lost: int


async def beta_runner(url: str, requests: int, concurrency: int, stream: bool) -> Figures:
    """beta-runner with limits learned from the response headers (nothing configured)."""
    exp, todo = workload(url, requests, concurrency, stream)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = new_run(Path(tmp), exp, "bench", todo)
        wall, cpu = time.perf_counter(), time.process_time()
        await run_through(exp, run_dir, "bench", planned=todo)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        attempts = read_attempts(run_dir.path).collect()
        ok = read_results(run_dir.path).filter(pl.col(R.status) == "ok").collect().height
    limited = attempts.filter(pl.col(A.http_status) == 429).height
    return Figures("beta-runner", wall, cpu * 1000 / requests, limited, requests - ok)


def workload(
    url: str, requests: int, concurrency: int, stream: bool
) -> tuple[Experiment, list[PlannedRequest]]:
    """An experiment of 3 arms x 10 repeats and enough cases, and exactly `requests` of its
    requests (the first in dispatch order, so the arms stay balanced)."""
    cases = -(-requests // (len(ARMS) * REPEATS))
    exp = experiment(url, cases=cases, repeats=REPEATS, concurrency=concurrency, stream=stream)
    return exp, plan_requests(exp)[:requests]


async def official_sdk(url: str, requests: int, concurrency: int, stream: bool) -> Figures:
    """The official SDK as commonly used: max_retries=10, a semaphore, one task per request."""
    import anthropic
    import httpx2

    statuses: list[int] = []

    async def count(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    http = httpx2.AsyncClient(event_hooks={"response": [count]}, timeout=60)
    client = anthropic.AsyncAnthropic(
        base_url=url, api_key="bench-key", max_retries=10, http_client=http
    )
    semaphore = anyio.Semaphore(concurrency)
    failures = 0

    async def one(i: int) -> None:
        nonlocal failures
        async with semaphore:
            try:
                await _sdk_request(client, i, stream)
            except anthropic.APIError:
                failures += 1

    wall, cpu = time.perf_counter(), time.process_time()
    async with anyio.create_task_group() as group:
        for i in range(requests):
            group.start_soon(one, i)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await client.close()
    return Figures("official SDK", wall, cpu * 1000 / requests, statuses.count(429), failures)


async def _sdk_request(client: AsyncAnthropic, i: int, stream: bool) -> None:
    """Request `i` as the SDK sends it (its arm's betas), a stream read to the end."""
    arm = ARMS[i % len(ARMS)]
    reply = await client.beta.messages.create(
        model=MODEL,
        max_tokens=32,
        stream=stream,
        betas=list(arm.betas),
        messages=[{"role": "user", "content": f"Question {i}: say something."}],
    )
    if stream:
        async for _ in reply:  # type: ignore[union-attr]
            pass


def ideal_s(requests: int, rpm: int) -> float | None:
    """Seconds the bucket (starting full) needs to let `requests` through at `rpm`; None when
    they all fit in the full bucket, so nothing need wait for it."""
    if requests <= rpm:
        return None
    return (requests - rpm) / (rpm / 60)


def table(figures: Sequence[Figures], requests: int, rpm: int) -> list[str]:
    """The comparison's lines: the ideal time, then one row per contender (wall/ideal only
    when there is an ideal)."""
    ideal = ideal_s(requests, rpm)
    if ideal is None:
        why = f"all {requests} requests fit in the full {rpm} RPM bucket, nothing is paced"
        lines = [f"no ideal time ({why}): wall/ideal is undefined, wall time shown alone"]
    else:
        lines = [f"ideal {ideal:.1f} s"]
    ratio = "" if ideal is None else f"{'wall/ideal':>12}"
    lines.append(
        f"{'client':<14}{'wall s':>9}{ratio}{'429/request':>13}{'lost':>6}{'CPU ms/req':>12}"
    )
    for f in figures:
        ratio = "" if ideal is None else f"{f.wall_s / ideal:>12.3f}"
        lines.append(
            f"{f.name:<14}{f.wall_s:>9.1f}{ratio}"
            f"{f.rate_limited / requests:>13.4f}{f.lost:>6}{f.cpu_ms_per_request:>12.2f}"
        )
    return lines


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line on stderr and exit 2 (argparse prints the usage too)."""

    def error(self, message: str) -> NoReturn:
        """Print `message` alone and exit 2."""
        self.exit(2, f"{self.prog}: {message}\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a whole number above 0, not {text!r}")
    return value


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked: counts are whole numbers above 0 (else exit 2)."""
    parser = _Parser(prog="rate_limit", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=_positive, default=900)
    parser.add_argument("--rpm", type=_positive, default=600)
    parser.add_argument("--concurrency", type=_positive, default=64)
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=True)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run both contenders against fresh emulators and print the comparison."""
    args = arguments(argv)
    settings = (f"rpm={args.rpm}", "itpm=0", "otpm=0", *LATENCY)
    results = []
    for contender in (beta_runner, official_sdk):
        with emulator_process(settings) as url:
            results.append(anyio.run(contender, url, args.requests, args.concurrency, args.stream))
    mode = "streaming" if args.stream else "non-streaming"
    print(f"{args.requests} {mode} requests over 3 arms, {args.rpm} RPM bucket starting full")
    print("\n".join(table(results, args.requests, args.rpm)))


if __name__ == "__main__":
    main()
