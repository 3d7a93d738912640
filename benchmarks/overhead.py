"""Client overhead: requests per second against an unlimited, zero-latency emulator.

    python -m benchmarks.overhead [--requests 6000] [--concurrency 64] [--rounds 1] [--pin]

The clients send the same streaming requests, one after another, each to a fresh emulator in
its own process: beta-runner (the whole path: scheduler, retries, records, Parquet parts), a
bare httpx loop on httpx's own pool (httpcore, at the same connection count), the same loop on
beta-runner's transport (aiohttp under httpx), and the official SDK twice: on its default
client and on its aiohttp client (`DefaultAioHttpClient`). Printed: requests per second, CPU
milliseconds per request (the whole client process: start-up, scheduler, retries, rows and
writer included for beta-runner), and each as a ratio to the SDK's default client. `--pin`
puts the emulator on core 1 and the clients on core 0 (as `taskset` would), so neither steals
the other's core; `--rounds N` measures every client N times, interleaved, and prints the median
and the range of each figure.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx

from benchmarks.support import (
    MODEL,
    ZERO_LATENCY,
    emulator_process,
    experiment,
    new_run,
    run_through,
)
from runner.run.services import http_client

BODY = {
    "model": MODEL,
    "max_tokens": 32,
    "stream": True,
    "messages": [{"role": "user", "content": "Say something."}],
}
HEADERS = {
    "x-api-key": "bench-key",
    "anthropic-version": "2023-06-01",
    "content-type": "application/json",
}


async def beta_runner(url: str, requests: int, concurrency: int) -> None:
    """The whole beta-runner path, results written to a temporary run directory."""
    exp = experiment(url, cases=requests // 30, repeats=10, concurrency=concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = new_run(Path(tmp), exp, "overhead")
        await run_through(exp, run_dir, "overhead")


async def _bare(http: httpx.AsyncClient, url: str, requests: int, concurrency: int) -> None:
    body = json.dumps(BODY).encode()
    limiter = anyio.CapacityLimiter(concurrency)

    async def one() -> None:
        async with (
            limiter,
            http.stream("POST", url + "/v1/messages", content=body, headers=HEADERS) as response,
        ):
            async for _ in response.aiter_raw():
                pass

    async with anyio.create_task_group() as group:
        for _ in range(requests):
            group.start_soon(one)


async def bare_httpx_one_pool(url: str, requests: int, concurrency: int) -> None:
    """A minimal loop on httpx's own pool of `concurrency` connections."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        await _bare(http, url, requests, concurrency)


async def bare_httpx_run_transport(url: str, requests: int, concurrency: int) -> None:
    """The same loop on beta-runner's transport (aiohttp under httpx)."""
    async with http_client(concurrency, 60.0) as http:
        await _bare(http, url, requests, concurrency)


async def official_sdk(url: str, requests: int, concurrency: int) -> None:
    """The official SDK's async client streaming each request, no retries needed."""
    await _sdk(url, requests, concurrency, aiohttp=False)


async def official_sdk_aiohttp(url: str, requests: int, concurrency: int) -> None:
    """The same, on the SDK's aiohttp client."""
    await _sdk(url, requests, concurrency, aiohttp=True)


async def _sdk(url: str, requests: int, concurrency: int, *, aiohttp: bool) -> None:
    import anthropic

    limiter = anyio.CapacityLimiter(concurrency)
    http = anthropic.DefaultAioHttpClient() if aiohttp else None
    async with anthropic.AsyncAnthropic(
        base_url=url, api_key="bench-key", http_client=http
    ) as client:

        async def one() -> None:
            async with limiter:
                stream = await client.messages.create(**BODY)  # type: ignore[call-overload]
                async for _ in stream:
                    pass

        async with anyio.create_task_group() as group:
            for _ in range(requests):
                group.start_soon(one)


Client = Callable[[str, int, int], Awaitable[None]]
CLIENTS: tuple[tuple[str, Client], ...] = (
    ("beta-runner", beta_runner),
    ("httpx, one pool", bare_httpx_one_pool),
    ("httpx, run transport", bare_httpx_run_transport),
    ("official SDK", official_sdk),
    ("SDK, aiohttp client", official_sdk_aiohttp),
)


def child(name: str, url: str, requests: int, concurrency: int) -> None:
    """In a fresh process: run one client and print its send phase's wall seconds."""
    client = dict(CLIENTS)[name]
    started = time.perf_counter()
    anyio.run(client, url, requests, concurrency)
    print(json.dumps({"wall_s": time.perf_counter() - started}))


class ClientFailed(Exception):
    """A client's run did not complete; its figures would not be a measurement."""


def measure(name: str, args: argparse.Namespace) -> tuple[float, float]:
    """(requests/s of the send phase, CPU ms per request of the whole client process)."""
    with emulator_process(ZERO_LATENCY, cpu=1 if args.pin else None) as url:
        command = [sys.executable, "-m", "benchmarks.overhead", "--child", name, "--url", url]
        command += ["--requests", str(args.requests), "--concurrency", str(args.concurrency)]
        if args.pin:
            command = ["taskset", "-c", "0", *command]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, check=False, capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ClientFailed(f"{name} failed (exit {done.returncode}): {last}")
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    wall_s = float(json.loads(done.stdout.strip().splitlines()[-1])["wall_s"])
    return args.requests / wall_s, cpu_s * 1000 / args.requests


def _figure(values: list[float], digits: int) -> str:
    middle = statistics.median(values)
    if len(values) == 1:
        return f"{middle:.{digits}f}"
    return f"{middle:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main() -> None:
    """Measure every client (each round interleaved) and print the figures side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pin", action="store_true", help="emulator on core 1, client on 0")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.requests, args.concurrency)
        return
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in CLIENTS}
    failures: list[str] = []
    for _ in range(args.rounds):
        for name, _ in CLIENTS:
            try:
                runs[name].append(measure(name, args))
            except ClientFailed as failed:  # the others' figures still stand; the exit code says
                failures.append(str(failed))
                print(f"error: {failed}", file=sys.stderr)
    _print(runs, args)
    sys.exit(1 if failures else 0)


def _print(runs: dict[str, list[tuple[float, float]]], args: argparse.Namespace) -> None:
    sdk = runs["official SDK"]
    sdk_rps = statistics.median(r for r, _ in sdk) if sdk else float("nan")
    sdk_cpu = statistics.median(c for _, c in sdk) if sdk else float("nan")
    print(
        f"{args.requests} streaming requests at concurrency {args.concurrency}, zero-latency "
        f"emulator, {args.rounds} round(s){', pinned' if args.pin else ''}; median (range); "
        "ratios to the SDK's median"
    )
    print(f"{'client':<22}{'req/s':>20}{'x SDK':>8}{'CPU ms/req':>20}{'x SDK':>8}")
    for name, figures in runs.items():
        if not figures:
            print(f"{name:<22}{'failed every round':>20}")
            continue
        rps = [r for r, _ in figures]
        cpu = [c for _, c in figures]
        print(
            f"{name:<22}{_figure(rps, 0):>20}{statistics.median(rps) / sdk_rps:>8.2f}"
            f"{_figure(cpu, 2):>20}{statistics.median(cpu) / sdk_cpu:>8.2f}"
        )


if __name__ == "__main__":
    main()
