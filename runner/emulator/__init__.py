"""A local emulator of the Anthropic Messages API, faithful enough for the official SDK.

It is the default target of `beta-runner run --local`, the server every test talks to, and
what benchmarks measure against. It is written from the API contract and imports nothing
from the rest of `runner`. See `effects` for what each beta does here, `faults` for the
`[[emulator:FAULT]]` prompt directive and `planted` for planted effects.
"""

from __future__ import annotations

from runner.emulator.app import EmulatorApp, ReceivedRequest, create_app
from runner.emulator.config import EmulatorConfig
from runner.emulator.planted import BetaEffect, parse_beta_effect
from runner.emulator.server import EmulatorServer, serve

__all__ = [
    "BetaEffect",
    "EmulatorApp",
    "EmulatorConfig",
    "EmulatorServer",
    "ReceivedRequest",
    "create_app",
    "parse_beta_effect",
    "serve",
]
