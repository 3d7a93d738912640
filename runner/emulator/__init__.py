"""A local emulator of the Anthropic Messages API, faithful enough for the official SDK.

It is the default target of `beta-runner run --local`, the server every test talks to, and
what benchmarks measure against. It is written from the API contract and imports nothing
from the rest of `runner` but `tcp_info` (the kernel's struct, read by both ends). See
`effects` for what each beta does here, `faults` for the `[[emulator:FAULT]]` prompt
directive and `planted` for planted effects.

Given tools, a reply may call them (`generation`), so a client's tool loop runs several turns;
the request checks (`request`) refuse a tool_use left unanswered, a stray or misplaced
tool_result and a thinking block handed back changed, as the API does.

Endpoints: `POST /v1/messages`, `POST /v1/messages/count_tokens` and the Message Batches API
under `/v1/messages/batches` (create, retrieve, list, cancel, delete, results). Both ways of
asking for a message share one path, `reply.produce`. A batch ends `batch_processing_s` after
it was created, computed from the clock whenever it is looked at (no background work); its
results are generated when read, from the stored params, so nothing generated is kept. What
batches model and what they leave out is in `batch_handlers`, `batches` and `batch_results`.
Outside the API, `GET /_emulator/lateness` says how far behind its latency model the emulator
answered each request, and its event loop's lag (`lateness`): a loaded emulator is late too.
"""

from __future__ import annotations

from runner.emulator.app import EmulatorApp, ReceivedRequest, create_app
from runner.emulator.config import EmulatorConfig
from runner.emulator.planted import BetaEffect, parse_beta_effect
from runner.emulator.server import EmulatorServer, listen, serve, server_stack

__all__ = [
    "BetaEffect",
    "EmulatorApp",
    "EmulatorConfig",
    "EmulatorServer",
    "ReceivedRequest",
    "create_app",
    "listen",
    "parse_beta_effect",
    "serve",
    "server_stack",
]
