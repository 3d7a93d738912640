"""Client overhead: requests per second against an unlimited, zero-latency emulator.

    python -m benchmarks.overhead [--requests 3000] [--concurrency 64]

The clients send the same streaming requests, one after another, each to a fresh emulator in
its own process: beta-runner (the whole path: scheduler, retries, records, Parquet parts), a
bare httpx loop on httpx's own pool (httpcore, at the same connection count), the same loop on
beta-runner's transport (aiohttp under httpx), and the official SDK twice: on its default
client and on its aiohttp client (`DefaultAioHttpClient`). Printed: requests per second, CPU
milliseconds per request, and each as a ratio to the SDK's default client.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx

from benchmarks.support import MODEL, emulator_process, experiment, new_run
from runner.run.session import RunServices, execute_run, http_client

ZERO_LATENCY = ("rpm=0", "itpm=0", "otpm=0", "ttft_ms=0", "ms_per_output_token=0", "jitter=0")
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
        async with http_client(concurrency, 60.0) as http:
            await execute_run(exp, run_dir, "overhead", RunServices.real(http, "bench-key"))


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


def main() -> None:
    """Measure every client and print throughput and CPU side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    figures: dict[str, tuple[float, float]] = {}
    for name, client in CLIENTS:
        with emulator_process(ZERO_LATENCY) as url:
            wall, cpu = time.perf_counter(), time.process_time()
            anyio.run(client, url, args.requests, args.concurrency)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        figures[name] = (args.requests / wall, cpu * 1000 / args.requests)
    sdk_rps, sdk_cpu = figures["official SDK"]
    print(
        f"{args.requests} streaming requests at concurrency {args.concurrency}, "
        "zero-latency emulator"
    )
    print(f"{'client':<22}{'req/s':>8}{'x SDK':>8}{'CPU ms/req':>12}{'x SDK':>8}")
    for name, (rps, cpu) in figures.items():
        print(f"{name:<22}{rps:>8.0f}{rps / sdk_rps:>8.2f}{cpu:>12.2f}{cpu / sdk_cpu:>8.2f}")


if __name__ == "__main__":
    main()
