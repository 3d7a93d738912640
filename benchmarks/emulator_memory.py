"""Emulator memory: does a long `emulate` session stay flat when every request is different?

    python -m benchmarks.emulator_memory [--requests 2000] [--body-kb 50] [--concurrency 16]

The emulator runs in its own process (unlimited, zero latency); a client sends `--requests`
distinct requests of about `--body-kb` KB each (non-streaming). Printed: the emulator's resident
memory (VmRSS, read from /proc) before the first request and after the last, and the growth.
Target: growth under 50 MB for 2,000 distinct 50 KB requests.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import anyio
import httpx

from benchmarks.support import MODEL, ZERO_LATENCY, emulator_child
from runner.run.services import http_client

HEADERS = {"x-api-key": "bench-key", "anthropic-version": "2023-06-01"}


def rss_mb(pid: int) -> float:
    """A process's resident set size in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"No VmRSS for process {pid}.")


async def send_distinct(url: str, requests: int, body_kb: int, concurrency: int) -> int:
    """Send `requests` different bodies of about `body_kb` KB; the number answered 200."""
    filler = "lorem ipsum dolor sit amet " * (body_kb * 1024 // 27)
    limiter = anyio.CapacityLimiter(concurrency)
    answered = 0

    async def one(http: httpx.AsyncClient, index: int) -> None:
        nonlocal answered
        body = {
            "model": MODEL,
            "max_tokens": 16,
            "messages": [{"role": "user", "content": f"Request {index}. {filler}"}],
        }
        async with limiter:
            response = await http.post(url + "/v1/messages", content=json.dumps(body))
            answered += response.status_code == 200

    async with http_client(concurrency, 60.0) as http:
        http.headers.update(HEADERS)
        async with anyio.create_task_group() as group:
            for index in range(requests):
                group.start_soon(one, http, index)
    return answered


def main() -> None:
    """Measure the emulator's RSS before and after, and print the growth."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--body-kb", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with emulator_child(ZERO_LATENCY) as (url, pid):
        before = rss_mb(pid)
        answered = anyio.run(send_distinct, url, args.requests, args.body_kb, args.concurrency)
        after = rss_mb(pid)
    print(f"{args.requests} distinct requests of {args.body_kb} KB, {answered} answered 200")
    print(f"emulator RSS before {before:.0f} MB, after {after:.0f} MB: +{after - before:.0f} MB")


if __name__ == "__main__":
    main()
