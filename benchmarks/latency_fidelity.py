"""Latency fidelity: does beta-runner record the service's latency, and say when it cannot?

    python -m benchmarks.latency_fidelity [--requests 2048] [--concurrency 32,128,256]
        [--latency-ms 300] [--no-json]

The emulator (in its own process) answers every request in exactly `--latency-ms`. At each
concurrency beta-runner sends the requests and records `latency_ms` and `client_lag_ms` (the
event loop's largest lag while the attempt was in flight); a bare httpx loop on the same
transport, timing each request with the least work possible and measuring the same loop lag,
is the floor this machine allows. Printed per client, mode and concurrency: the recorded
latency minus the injected one (p50 / p99), the client lag (p50 / p99), and what the lag does
not explain: latency - injected - client_lag_ms (p50 / p99). Target at concurrency 256: p50
within 5 ms and p99 within 10 ms, or the client lag accounting for the rest.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import anyio
import polars as pl

from benchmarks.support import MODEL, emulator_process, experiment, new_run, run_through
from runner.http.lag import LoopLag
from runner.results.schema import R
from runner.results.store import read_results
from runner.run.session import http_client


@dataclass(frozen=True)
class Timings:
    """Per ok request: recorded latency and client lag, in ms."""

    latency_ms: list[float]
    lag_ms: list[float]


async def beta_runner(url: str, requests: int, concurrency: int, stream: bool) -> Timings:
    """What beta-runner recorded for its ok requests."""
    exp = experiment(url, cases=requests // 30, repeats=10, concurrency=concurrency, stream=stream)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = new_run(Path(tmp), exp, "latency")
        await run_through(exp, run_dir, "latency")
        ok = read_results(run_dir.path).filter(pl.col(R.status) == "ok").collect()
    return Timings(ok[R.latency_ms].to_list(), ok[R.client_lag_ms].to_list())


async def bare_httpx(url: str, requests: int, concurrency: int, stream: bool) -> Timings:
    """A minimal loop: send, read the whole body, stop the clock; the same lag ticker."""
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
    found = Timings([], [])
    limiter = anyio.CapacityLimiter(concurrency)
    lag = LoopLag()
    async with http_client(concurrency, 60.0) as http:

        async def one() -> None:
            async with limiter:
                mark, started = lag.open(), time.perf_counter()
                async with http.stream(
                    "POST", url + "/v1/messages", content=body, headers=headers
                ) as response:
                    async for _ in response.aiter_raw():
                        pass
                found.latency_ms.append((time.perf_counter() - started) * 1000)
                found.lag_ms.append(lag.close(mark) or 0.0)

        async with anyio.create_task_group() as group:
            group.start_soon(lag.run)
            async with anyio.create_task_group() as requests_group:
                for _ in range(requests):
                    requests_group.start_soon(one)
            group.cancel_scope.cancel()
    return found


def _pair(values: pl.Series) -> str:
    return f"{values.quantile(0.5):+7.1f} /{values.quantile(0.99):+7.1f}"


def report(name: str, mode: str, concurrency: int, found: Timings, injected: float) -> str:
    """One table line: excess, lag and unexplained excess, p50 / p99 each."""
    excess = pl.Series(found.latency_ms) - injected
    lag = pl.Series(found.lag_ms, dtype=pl.Float64)
    rest = excess - lag
    return (
        f"{name:<12}{mode:<7}{concurrency:>5}  {_pair(excess)}  {_pair(lag)}  {_pair(rest)}"
        f"{len(found.latency_ms):>7}"
    )


def main() -> None:
    """Measure both clients at each concurrency, streaming and not, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2048)
    parser.add_argument("--concurrency", default="32,128,256")
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--no-json", action="store_true", help="streaming requests only")
    args = parser.parse_args()
    settings = (
        "rpm=0",
        "itpm=0",
        "otpm=0",
        f"fixed_latency_ms={args.latency_ms}",
        f"ttft_ms={args.latency_ms / 2}",
    )
    print(f"{args.requests} requests per line, {args.latency_ms:g} ms injected; ms, p50 / p99")
    print(
        f"{'client':<12}{'mode':<7}{'conc':>5}  {'latency - injected':>16}  "
        f"{'client_lag_ms':>15}  {'unexplained':>15}{'n':>7}"
    )
    for stream in (True, False)[: 1 if args.no_json else 2]:
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            for name, client in (("beta-runner", beta_runner), ("bare httpx", bare_httpx)):
                with emulator_process(settings) as url:
                    found = anyio.run(client, url, args.requests, concurrency, stream)
                mode = "stream" if stream else "json"
                print(report(name, mode, concurrency, found, args.latency_ms), flush=True)


if __name__ == "__main__":
    main()
