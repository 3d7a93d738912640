"""Fixtures for the emulator tests: a fast emulator on loopback, SDK clients, an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anthropic
import httpx
import pytest

from runner.emulator import EmulatorServer
from tests.emulator.support import FAST, HEADERS


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    """One fast emulator on 127.0.0.1 per test module."""
    with EmulatorServer(FAST) as running:
        yield running


@pytest.fixture
def emulator(server: EmulatorServer) -> EmulatorServer:
    """The module's emulator, with records, buckets and cache cleared for this test."""
    server.app.reset()
    return server


@pytest.fixture
def sdk(emulator: EmulatorServer) -> Iterator[anthropic.Anthropic]:
    """The official SDK, unchanged, pointed at the emulator with SDK retries off."""
    with anthropic.Anthropic(base_url=emulator.url, api_key="test-key", max_retries=0) as client:
        yield client


@pytest.fixture
async def async_sdk(emulator: EmulatorServer) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """The official async SDK pointed at the emulator."""
    async with anthropic.AsyncAnthropic(
        base_url=emulator.url, api_key="test-key", max_retries=0
    ) as client:
        yield client


@pytest.fixture
def http(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    """A plain httpx client on the emulator, for wire-level assertions."""
    with httpx.Client(base_url=emulator.url, headers=HEADERS, timeout=10.0) as client:
        yield client
