"""The run manifest: the resolved experiment, its fingerprint, versions, times, status, counts.

Never holds the API key: only the name of the environment variable that holds it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
from datetime import datetime
from importlib import metadata
from typing import Any

from runner.config import Experiment
from runner.records import SCHEMA_VERSION

_PACKAGES = ("beta-runner", "anyio", "httpx", "polars", "tenacity")


def experiment_document(experiment: Experiment) -> dict[str, Any]:
    """The experiment as plain JSON-able data."""
    document = dataclasses.asdict(experiment)
    document["path"] = str(experiment.path)
    return document


def fingerprint(experiment: Experiment) -> str:
    """A hash of everything that decides which requests are sent and what they contain.

    The target URL is left out: the same experiment may run against the emulator on a
    random port or against the real API and still describe the same requests.
    """
    document = experiment_document(experiment)
    significant = {
        "cases": document["cases"],
        "arms": document["arms"],
        "models": document["models"],
        "request": document["request"],
        "anthropic_version": document["target"]["anthropic_version"],
        "repeats": document["run"]["repeats"],
        "stream": document["run"]["stream"],
        "seed": document["run"]["seed"],
    }
    for case in significant["cases"]:
        case.pop("source", None)
    canonical = json.dumps(significant, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the results."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def new_manifest(
    experiment: Experiment, run_id: str, started_at: datetime, planned: int
) -> dict[str, Any]:
    """The manifest written when a run starts (status "running")."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "experiment_name": experiment.name,
        "experiment": experiment_document(experiment),
        "fingerprint": fingerprint(experiment),
        "versions": package_versions(),
        "base_url": experiment.target.base_url,
        "api_key_env": experiment.target.api_key_env,
        "started_at": started_at.isoformat(),
        "finished_at": None,
        "status": "running",
        "counts": {"planned": planned, "requests": 0, "ok": 0, "errors": 0, "attempts": 0},
    }
