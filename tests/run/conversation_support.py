"""Support for conversation tests: an agent experiment, a recording transport, in-process runs."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx

from runner.clock import MonotonicClock
from runner.config.load import load_experiment
from runner.config.types import Experiment
from runner.emulator import EmulatorApp, EmulatorConfig, create_app
from runner.plan.matrix import plan_requests
from runner.results.store import RunDirectory
from runner.run.resume import RESUME, continuation
from runner.run.session import RunOutcome, RunServices, create_run_directory, execute_run

FAST = EmulatorConfig(ttft_ms=0.0, ms_per_output_token=0.0, ms_per_1k_input_tokens=0.0, jitter=0.0)
MODEL = "claude-sonnet-5-5"
TOOLS = """
[[request.tools]]
name = "lookup_order"
description = "Find an order by its number."
[request.tools.input_schema]
type = "object"
properties = { order_id = { type = "string" } }
required = ["order_id"]

[[request.tools]]
name = "refund_policy"
description = "The refund policy for a product category."
[request.tools.input_schema]
type = "object"
properties = { category = { type = "string" } }
required = ["category"]

[[request.tools]]
name = "escalate"
description = "Hand the case to a human."
input_schema = { type = "object", properties = { reason = { type = "string" } } }
"""
SUPPORT = """
def refund(args):
    return "Refunds within 30 days for " + args["category"] + "."

def broken(args):
    raise ValueError("the ticket system is down")
"""


def agent_experiment(directory: Path, *, stream: bool = True, cases: str = "") -> Experiment:
    """A support agent: three tools (two scripted), a baseline and a context-management arm."""
    text = f"""
    name = "agent"
    models = ["{MODEL}"]
    [run]
    concurrency = 2
    stream = {"true" if stream else "false"}
    [request]
    max_tokens = 300
    {TOOLS}
    [[arms]]
    name = "baseline"
    [[arms]]
    name = "context-management"
    betas = ["context-management-2025-06-27"]
    [[arms.request.context_management.edits]]
    type = "clear_tool_uses_20250919"
    trigger = {{ type = "input_tokens", value = 600 }}
    keep = {{ type = "tool_uses", value = 1 }}
    """
    (directory / "support.py").write_text(SUPPORT, encoding="utf-8")
    path = directory / "agent.toml"
    path.write_text(textwrap.dedent(text) + textwrap.dedent(cases), encoding="utf-8")
    return load_experiment(path).experiment


SHIPPED = "Order A-17 shipped on Monday. " * 40
DELIVERED = "Order A-17 was delivered. " * 40
ORDER_CASE = f"""
[[cases]]
id = "order"
prompt = "Where is order A-17? Look up the order, check the refund policy, and escalate it."
max_turns = 8
[cases.tool_results]
lookup_order = ["{SHIPPED}", "{DELIVERED}"]
refund_policy = {{ function = "support:refund" }}
"""


@dataclass
class Recording(httpx.AsyncBaseTransport):
    """The emulator in process; records every request body as sent, and can fail the n-th."""

    app: EmulatorApp
    fail_at: int | None = None
    bodies: list[bytes] = field(default_factory=list)
    refuse_at: int | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Record, then answer through the ASGI app (or break, at `fail_at`)."""
        body = await request.aread()
        if self.fail_at is not None and len(self.bodies) + 1 == self.fail_at:
            raise RuntimeError("the machine went down")
        self.bodies.append(body)
        if self.refuse_at == len(self.bodies):
            error = {"type": "invalid_request_error", "message": "refused by the test"}
            return httpx.Response(400, json={"type": "error", "error": error})
        return await httpx.ASGITransport(app=self.app).handle_async_request(request)

    def sent(self) -> list[dict[str, Any]]:
        """The bodies as JSON."""
        loaded: list[dict[str, Any]] = [json.loads(body) for body in self.bodies]
        return loaded


def run_in_process(
    experiment: Experiment,
    run_dir: RunDirectory,
    transport: Recording,
    *,
    resume: bool = False,
    mode: str = RESUME,
) -> RunOutcome:
    """Run (or resume) the experiment against the recording transport."""

    async def go() -> RunOutcome:
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
            services = RunServices(http, "test-key", MonotonicClock(), anyio.sleep)
            continuing = continuation(experiment, mode, run_dir.path) if resume else None
            return await execute_run(experiment, run_dir, "run-1", services, continuing=continuing)

    return anyio.run(go)


def new_transport(config: EmulatorConfig = FAST, fail_at: int | None = None) -> Recording:
    """A fresh emulator behind a recording transport."""
    return Recording(create_app(config), fail_at)


def new_run_dir(tmp_path: Path, experiment: Experiment, run_id: str) -> RunDirectory:
    """A new run directory for `experiment` under tmp_path/out."""
    planned = len(plan_requests(experiment))
    return create_run_directory(tmp_path / "out", experiment, run_id, planned)
