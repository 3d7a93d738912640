"""The run manifest: a frozen typed `Manifest`, read and written here and nowhere else.

It holds the resolved experiment, its fingerprint and per-section hashes (so a resume can name
what changed), versions, times, the `RunStatus` (running, complete, interrupted by a signal,
failed on an unexpected error), whole-run `Counts`, and one `Session` per later session in
`resumes`. `read_manifest` validates the file against these types on every read and raises
RunStoreError `<file>: <what is wrong>` for anything else (not JSON, not an object, a missing
or mistyped field, a `schema_version` this beta-runner does not read: `runner.results.versions`);
`write_manifest` replaces the file atomically.

Never holds the API key: only the name of the environment variable that holds it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Any

from runner.config.files import MAX_DEPTH, MAX_JSONL_BYTES
from runner.config.prices import price_document
from runner.config.scorers import describe
from runner.config.types import Experiment, JSONObject
from runner.errors import RunStoreError
from runner.results import files
from runner.results.manifest_fields import Fields, read_json
from runner.results.schema import SCHEMA_VERSION
from runner.results.versions import readable

MANIFEST = "manifest.json"
# The manifest holds the experiment with its cases, which a cases file may bring in at up
# to 512 MiB; anything past twice that is not a manifest this tool wrote.
MAX_MANIFEST_BYTES = 2 * MAX_JSONL_BYTES
# It nests an experiment's cases (each up to MAX_DEPTH deep) a few levels further down.
MAX_MANIFEST_DEPTH = MAX_DEPTH + 8
_PACKAGES = ("beta-runner", "anyio", "httpx", "polars", "tenacity")

Telemetry = Mapping[str, Mapping[str, float | int | str | None]]


class RunStatus(StrEnum):
    """Where a run stands."""

    RUNNING = "running"
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


@dataclass(frozen=True)
class Counts:
    """Rows in the run's tables (`planned`: requests the run is meant to send)."""

    planned: int = 0
    requests: int = 0
    ok: int = 0
    errors: int = 0
    attempts: int = 0


@dataclass(frozen=True)
class Session:
    """One later session (`--resume`/`--retry-errors`), and what it wrote once it ended."""

    mode: str
    started_at: datetime
    sending: int
    finished_at: datetime | None = None
    status: RunStatus | None = None
    written: Counts | None = None


@dataclass(frozen=True)
class Manifest:
    """Everything recorded about one run (or one shard of a run)."""

    run_id: str
    experiment_name: str
    experiment: JSONObject = field(repr=False)
    fingerprint: str
    sections: Mapping[str, str]
    versions: Mapping[str, str]
    base_url: str
    api_key_env: str
    started_at: datetime
    status: RunStatus
    counts: Counts
    schema_version: int = SCHEMA_VERSION
    finished_at: datetime | None = None
    resumes: tuple[Session, ...] = ()
    shard: str | None = None
    scheduler: Telemetry = field(default_factory=dict)
    failure: str | None = None

    def resumed(self, mode: str, started_at: datetime, sending: int) -> Manifest:
        """Running again, with a new entry in the history of sessions; at the current schema
        version (an older run's rows read in the current shape, and the session writes it)."""
        entry = Session(mode, started_at, sending)
        return dataclasses.replace(
            self,
            status=RunStatus.RUNNING,
            finished_at=None,
            resumes=(*self.resumes, entry),
            schema_version=SCHEMA_VERSION,
        )

    def finished(
        self, status: RunStatus, finished_at: datetime, counts: Counts, session: Counts
    ) -> Manifest:
        """Stopped: status, whole-run counts, and this session's counts in its entry."""
        resumes = self.resumes
        if resumes:
            last = dataclasses.replace(
                resumes[-1], finished_at=finished_at, status=status, written=session
            )
            resumes = (*resumes[:-1], last)
        return dataclasses.replace(
            self, status=status, finished_at=finished_at, counts=counts, resumes=resumes
        )

    def prices(self) -> JSONObject:
        """The prices the run recorded: the whole table it was priced with (older manifests:
        the experiment's `[prices]` overrides; empty when none). Read with
        `runner.config.prices.recorded_prices`."""
        prices = self.experiment.get("prices")
        return prices if isinstance(prices, dict) else {}


def new_manifest(
    experiment: Experiment, run_id: str, started_at: datetime, planned: int
) -> Manifest:
    """The manifest written when a run starts (status running)."""
    return Manifest(
        run_id=run_id,
        experiment_name=experiment.name,
        experiment=experiment_document(experiment),
        fingerprint=fingerprint(experiment),
        sections=section_hashes(experiment),
        versions=package_versions(),
        base_url=experiment.target.base_url,
        api_key_env=experiment.target.api_key_env,
        started_at=started_at,
        status=RunStatus.RUNNING,
        counts=Counts(planned=planned),
    )


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Replace `directory`'s manifest atomically."""
    text = json.dumps(_document(manifest), indent=2, sort_keys=True) + "\n"
    files.write_bytes(directory / MANIFEST, text.encode())


def read_manifest(directory: Path) -> Manifest:
    """`directory`'s manifest, checked; RunStoreError `<file>: <what is wrong>` otherwise."""
    path = directory / MANIFEST
    if not path.exists() and not path.is_symlink():
        raise RunStoreError(f"{path}: no such file; {directory} is not a run directory.")
    return _manifest(Fields(path, "", read_json(path, MAX_MANIFEST_BYTES, MAX_MANIFEST_DEPTH)))


def _manifest(top: Fields) -> Manifest:
    version = top.integer("schema_version")
    problem = readable(version)
    if problem is not None:
        top.fail("schema_version", problem)
    return Manifest(
        schema_version=version,
        run_id=top.text("run_id"),
        experiment_name=top.text("experiment_name"),
        experiment=top.mapping("experiment").data,
        fingerprint=top.text("fingerprint"),
        sections=top.mapping("sections").strings(),
        versions=top.mapping("versions").strings(),
        base_url=top.text("base_url"),
        api_key_env=top.text("api_key_env"),
        started_at=top.time("started_at"),
        status=RunStatus(top.choice("status", tuple(RunStatus))),
        counts=_counts(top.mapping("counts"), with_planned=True),
        finished_at=top.optional_time("finished_at"),
        resumes=tuple(_session(entry) for entry in top.mappings("resumes")),
        shard=top.optional_text("shard"),
        scheduler=_telemetry(top.optional_mapping("scheduler")),
        failure=top.optional_text("failure"),
    )


def _counts(fields: Fields, *, with_planned: bool) -> Counts:
    return Counts(
        planned=fields.count("planned") if with_planned else 0,
        requests=fields.count("requests"),
        ok=fields.count("ok"),
        errors=fields.count("errors"),
        attempts=fields.count("attempts"),
    )


def _session(fields: Fields) -> Session:
    status = fields.optional_text("status")
    if status is not None and status not in tuple(RunStatus):
        fields.choice("status", tuple(RunStatus))
    ended = "requests" in fields.data
    return Session(
        mode=fields.choice("mode", ("resume", "retry-errors")),
        started_at=fields.time("started_at"),
        sending=fields.count("sending"),
        finished_at=fields.optional_time("finished_at"),
        status=RunStatus(status) if status is not None else None,
        written=_counts(fields, with_planned=False) if ended else None,
    )


def _telemetry(fields: Fields | None) -> Telemetry:
    if fields is None:
        return {}
    return {model: fields.mapping(model).scalars() for model in fields.data}


def _document(manifest: Manifest) -> dict[str, Any]:
    document = {
        f.name: getattr(manifest, f.name)
        for f in dataclasses.fields(manifest)
        if f.name not in ("resumes", "counts")
    }
    document["started_at"] = manifest.started_at.isoformat()
    document["finished_at"] = _iso(manifest.finished_at)
    document["counts"] = dataclasses.asdict(manifest.counts)
    document["resumes"] = [_session_document(s) for s in manifest.resumes]
    document["status"] = str(manifest.status)
    return {k: v for k, v in document.items() if v is not None or k == "finished_at"}


def _session_document(session: Session) -> dict[str, Any]:
    document: dict[str, Any] = {
        "mode": session.mode,
        "started_at": session.started_at.isoformat(),
        "sending": session.sending,
    }
    if session.finished_at is not None:
        document["finished_at"] = session.finished_at.isoformat()
    if session.status is not None:
        document["status"] = str(session.status)
    if session.written is not None:
        written = dataclasses.asdict(session.written)
        written.pop("planned")
        document.update(written)
    return document


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def experiment_document(experiment: Experiment) -> JSONObject:
    """The experiment as plain JSON-able data (a Python tool as its "module:callable" only)."""
    plain = _plain(experiment)
    document: JSONObject = json.loads(json.dumps(plain, default=str))
    document["path"] = str(experiment.path)
    document["scorers"] = json.loads(json.dumps([describe(s) for s in experiment.scorers]))
    document["prices"] = price_document(experiment.prices)  # the table the run is priced with
    return document


def _plain(experiment: Experiment) -> dict[str, Any]:
    return dataclasses.asdict(experiment, dict_factory=_without_callables)


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


def changed_sections(manifest: Manifest, experiment: Experiment) -> list[str]:
    """The names of what differs between a run's manifest and `experiment` (empty: the same)."""
    changed = []
    if manifest.experiment_name != experiment.name:
        changed.append("name")
    current = section_hashes(experiment)
    changed += [name for name in current if manifest.sections.get(name) != current[name]]
    return changed


def _significant(experiment: Experiment) -> dict[str, Any]:
    document = _plain(experiment)
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
    for case in significant["cases"]:  # what scorers read is not sent: not a change of requests
        for name in ("source", "expected", "metadata"):
            case.pop(name, None)
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
