"""Latency fidelity: does beta-runner record the service's latency, and nothing else?

    python -m benchmarks.latency_fidelity [--requests 2048] [--concurrency 256] [--latency-ms 300]

The emulator (in its own process) answers every request in exactly `--latency-ms`. beta-runner
sends the requests at `--concurrency` and records `latency_ms`; a bare httpx loop, timing each
request the same way with the least work possible, is measured beside it as the floor this
machine allows. Printed: recorded p50 / p99 minus the injected latency, for both clients, with
and without streaming.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import anyio
import polars as pl

from benchmarks.support import MODEL, emulator_process, experiment, new_run
from runner.results.schema import R
from runner.results.store import read_results
from runner.run.session import RunServices, execute_run, http_client


async def beta_runner(url: str, requests: int, concurrency: int, stream: bool) -> list[float]:
    """Latencies beta-runner recorded for ok requests."""
    exp = experiment(url, cases=requests // 30, repeats=10, concurrency=concurrency, stream=stream)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = new_run(Path(tmp), exp, "latency")
        async with http_client(concurrency, 60.0) as http:
            await execute_run(exp, run_dir, "latency", RunServices.real(http, "bench-key"))
        ok = read_results(run_dir.path).filter(pl.col(R.status) == "ok").collect()
    return ok[R.latency_ms].to_list()


async def bare_httpx(url: str, requests: int, concurrency: int, stream: bool) -> list[float]:
    """Latencies of a minimal httpx loop: send, read the whole body, stop the clock."""
    body = json.dumps(
        {
            "model": MODEL,
            "max_tokens": 32,
            "stream": stream,
            "messages": [{"role": "user", "content": "Say something."}],
        }
    ).encode()
    headers = {
        "x-api-key": "bench-key",
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
    }
    latencies: list[float] = []
    limiter = anyio.CapacityLimiter(concurrency)
    async with http_client(concurrency, 60.0) as http:

        async def one() -> None:
            async with limiter:
                started = time.perf_counter()
                async with http.stream(
                    "POST", url + "/v1/messages", content=body, headers=headers
                ) as response:
                    async for _ in response.aiter_raw():
                        pass
                latencies.append((time.perf_counter() - started) * 1000)

        async with anyio.create_task_group() as group:
            for _ in range(requests):
                group.start_soon(one)
    return latencies


def _excess(latencies: list[float], injected: float) -> tuple[float, float]:
    series = pl.Series(latencies)
    return (float(series.quantile(0.5)) - injected, float(series.quantile(0.99)) - injected)


def main() -> None:
    """Measure both clients, streaming and not, and print the excess over the injected time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2048)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--latency-ms", type=float, default=300.0)
    args = parser.parse_args()
    settings = (
        "rpm=0",
        "itpm=0",
        "otpm=0",
        f"fixed_latency_ms={args.latency_ms}",
        f"ttft_ms={args.latency_ms / 2}",
    )
    print(
        f"{args.requests} requests at concurrency {args.concurrency}, "
        f"{args.latency_ms:g} ms injected"
    )
    print(f"{'client':<14}{'mode':<8}{'p50 - injected':>16}{'p99 - injected':>16}{'n':>7}")
    for stream in (True, False):
        for name, client in (("beta-runner", beta_runner), ("bare httpx", bare_httpx)):
            with emulator_process(settings) as url:
                found = anyio.run(client, url, args.requests, args.concurrency, stream)
            p50, p99 = _excess(found, args.latency_ms)
            mode = "stream" if stream else "json"
            print(f"{name:<14}{mode:<8}{p50:>13.1f} ms{p99:>13.1f} ms{len(found):>7}")


if __name__ == "__main__":
    main()
