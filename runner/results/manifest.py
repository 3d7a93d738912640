"""The run manifest: the resolved experiment, its fingerprint, versions, times, status, counts.

Status is running, complete, interrupted (a signal) or failed (an unexpected error); the
per-section hashes let a resume name what changed; `resumes` records every later session.

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

from runner.config.types import Experiment
from runner.results.schema import SCHEMA_VERSION

_PACKAGES = ("beta-runner", "anyio", "httpx", "polars", "tenacity")

STATUS_RUNNING = "running"
STATUS_COMPLETE = "complete"
STATUS_INTERRUPTED = "interrupted"
STATUS_FAILED = "failed"


def experiment_document(experiment: Experiment) -> dict[str, Any]:
    """The experiment as plain JSON-able data (a Python tool as its "module:callable" only)."""
    document = dataclasses.asdict(experiment, dict_factory=_without_callables)
    document["path"] = str(experiment.path)
    return document


def _without_callables(items: list[tuple[str, Any]]) -> dict[str, Any]:
    return {key: value for key, value in items if not callable(value)}


def section_hashes(experiment: Experiment) -> dict[str, str]:
    """A hash per part of the experiment that decides which requests are sent and how.

    The target URL is left out: the same experiment may run against the emulator on a
    random port or against the real API and still describe the same requests.
    """
    return {name: _hash(value) for name, value in _significant(experiment).items()}


def fingerprint(experiment: Experiment) -> str:
    """One hash of everything `section_hashes` covers."""
    return _hash(_significant(experiment))


def changed_sections(manifest: dict[str, Any], experiment: Experiment) -> list[str]:
    """The names of what differs between a run's manifest and `experiment` (empty: the same)."""
    changed = []
    if manifest.get("experiment_name") != experiment.name:
        changed.append("name")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        changed.append("results schema_version")
    recorded = manifest.get("sections")
    if not isinstance(recorded, dict):  # written before per-section hashes existed
        if manifest.get("fingerprint") != fingerprint(experiment):
            changed.append("the experiment (fingerprint)")
        return changed
    current = section_hashes(experiment)
    changed += [name for name in current if recorded.get(name) != current[name]]
    return changed


def _significant(experiment: Experiment) -> dict[str, Any]:
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
    return significant


def _hash(value: object) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
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
        "sections": section_hashes(experiment),
        "versions": package_versions(),
        "base_url": experiment.target.base_url,
        "api_key_env": experiment.target.api_key_env,
        "started_at": started_at.isoformat(),
        "finished_at": None,
        "status": STATUS_RUNNING,
        "counts": {"planned": planned, "requests": 0, "ok": 0, "errors": 0, "attempts": 0},
        "resumes": [],
    }


def begin_resume(
    manifest: dict[str, Any], mode: str, started_at: datetime, sending: int
) -> dict[str, Any]:
    """Mark a run running again and open an entry in its history of resumes."""
    entry = {"mode": mode, "started_at": started_at.isoformat(), "sending": sending}
    resumes = [*manifest.get("resumes", []), entry]
    return {**manifest, "status": STATUS_RUNNING, "finished_at": None, "resumes": resumes}


def finish(
    manifest: dict[str, Any],
    status: str,
    finished_at: datetime,
    counts: dict[str, int],
    session: dict[str, int],
) -> dict[str, Any]:
    """The manifest of a run that stopped: status, whole-run counts, this session's counts."""
    done = {**manifest, "status": status, "finished_at": finished_at.isoformat()}
    done["counts"] = counts
    if done.get("resumes"):
        last = {**done["resumes"][-1], "finished_at": done["finished_at"], "status": status}
        done["resumes"] = [*done["resumes"][:-1], {**last, **session}]
    return done
