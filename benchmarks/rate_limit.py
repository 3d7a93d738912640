"""Rate-limit benchmark: N requests through a 600 RPM bucket, beta-runner vs the official SDK.

    python -m benchmarks.rate_limit [--requests 900] [--rpm 600] [--concurrency 64]

The emulator's buckets start full, so the ideal completion time is (N - RPM) / (RPM / 60)
seconds. Each contender gets a fresh emulator (in its own process) and the same workload:
N streaming requests spread over 3 arms. Printed side by side: wall time / ideal, 429s per
request, requests lost, and the client's CPU milliseconds per request.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import polars as pl

from benchmarks.support import ARMS, MODEL, emulator_process, experiment, new_run, run_through
from runner.results.schema import A, R
from runner.results.store import read_attempts, read_results

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

LATENCY = ("ttft_ms=50", "ms_per_output_token=1", "jitter=0.1")


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
    exp = experiment(
        url, cases=requests // (3 * 10), repeats=10, concurrency=concurrency, stream=stream
    )
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = new_run(Path(tmp), exp, "bench")
        wall, cpu = time.perf_counter(), time.process_time()
        await run_through(exp, run_dir, "bench")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        attempts = read_attempts(run_dir.path).collect()
        ok = read_results(run_dir.path).filter(pl.col(R.status) == "ok").collect().height
    limited = attempts.filter(pl.col(A.http_status) == 429).height
    return Figures("beta-runner", wall, cpu * 1000 / requests, limited, requests - ok)


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


def main() -> None:
    """Run both contenders against fresh emulators and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=900)
    parser.add_argument("--rpm", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    settings = (f"rpm={args.rpm}", "itpm=0", "otpm=0", *LATENCY)
    ideal = max(0, args.requests - args.rpm) / (args.rpm / 60)
    results = []
    for contender in (beta_runner, official_sdk):
        with emulator_process(settings) as url:
            results.append(anyio.run(contender, url, args.requests, args.concurrency, args.stream))
    mode = "streaming" if args.stream else "non-streaming"
    print(
        f"{args.requests} {mode} requests over 3 arms, {args.rpm} RPM bucket starting full; "
        f"ideal {ideal:.1f} s"
    )
    print(
        f"{'client':<14}{'wall s':>9}{'wall/ideal':>12}{'429/request':>13}{'lost':>6}"
        f"{'CPU ms/req':>12}"
    )
    for f in results:
        print(
            f"{f.name:<14}{f.wall_s:>9.1f}{f.wall_s / ideal:>12.3f}"
            f"{f.rate_limited / args.requests:>13.4f}{f.lost:>6}{f.cpu_ms_per_request:>12.2f}"
        )


if __name__ == "__main__":
    main()
