"""Checking every arm's `anthropic-beta` header against the target before a run.

For each arm x model, one free `POST /v1/messages/count_tokens` with the arm's betas and
headers and a tiny body (the model and the first case's messages and system) goes through
`MessagesClient` on one `httpx.AsyncClient`. The answer is `accepted` (2xx), `rejected` (a
4xx: the request, usually the beta header, was refused; the server's message is kept) or
`unreachable` (no answer, a timeout, or a 5xx/429 that says nothing about the header).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import anyio

from runner.config.types import Arm, Experiment, JSONObject
from runner.errors import APIStatusError, RequestFailed
from runner.http.client import COUNT_TOKENS_PATH, MessagesClient, PreparedRequest
from runner.run.services import http_client

ACCEPTED, REJECTED, UNREACHABLE = "accepted", "rejected", "unreachable"
CHECK_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class HeaderCheck:
    """What the target said about one arm's header for one model."""

    arm: str
    model: str
    beta_header: str | None
    verdict: str
    message: str = ""


def check_experiment(experiment: Experiment, api_key: str | None) -> list[HeaderCheck]:
    """Check every arm x model against `experiment.target` (blocking)."""
    return anyio.run(_check_all, experiment, api_key)


async def _check_all(experiment: Experiment, api_key: str | None) -> list[HeaderCheck]:
    timeout = min(CHECK_TIMEOUT_S, experiment.run.timeout_s)
    async with http_client(4, timeout) as http:
        client = MessagesClient(http, experiment.target, api_key, timeout_s=timeout)
        return [
            await _check_one(client, experiment, arm, model)
            for arm in experiment.arms
            for model in experiment.models
        ]


async def _check_one(
    client: MessagesClient, experiment: Experiment, arm: Arm, model: str
) -> HeaderCheck:
    outcome = await client.send(count_tokens_request(experiment, arm, model))
    verdict, message = _verdict(outcome.error)
    return HeaderCheck(arm.name, model, arm.beta_header, verdict, message)


def count_tokens_request(experiment: Experiment, arm: Arm, model: str) -> PreparedRequest:
    """The count-tokens request for one arm and model."""
    case = experiment.cases[0]
    body: JSONObject = {"model": model, "messages": list(case.messages)}
    if case.system is not None:
        body["system"] = case.system
    return PreparedRequest(COUNT_TOKENS_PATH, json.dumps(body).encode(), arm.request_headers())


def _verdict(error: RequestFailed | None) -> tuple[str, str]:
    if error is None:
        return ACCEPTED, ""
    status = error.info.status if isinstance(error, APIStatusError) else None
    if status is not None and 400 <= status < 500 and status != 429:
        return REJECTED, error.info.message or str(error)
    return UNREACHABLE, str(error)
