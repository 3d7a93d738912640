"""The record of every batch a run created, kept beside the run so a crash loses none.

Each batch gets `batches/<id>.json` in the run directory, written atomically as soon as the
API has accepted it: its model, arm, round and the request keys it holds. Results stay
available from the API for 29 days, so after a crash a resume re-reads the results of the
newest batch holding each unfinished request instead of paying for it again. The ledger is
read when the sender is made, before the session sends or writes anything: a record that
cannot be read (damaged, or not a regular file) is RunStoreError naming the file, never a
guess at what it held.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from runner.errors import ServerIdRefused
from runner.results import files
from runner.results.manifest_fields import Fields, read_json

LEDGER_DIR = "batches"
# What an id from the server must look like before it names a file (the API's are like
# `msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d`): no dots, slashes or anything a path could use.
SERVER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def checked_server_id(value: object, what: str) -> str:
    """`value` when it is a safe id; ServerIdRefused naming it otherwise."""
    if isinstance(value, str) and SERVER_ID.fullmatch(value):
        return value
    raise ServerIdRefused(what, value)


@dataclass(frozen=True)
class BatchRecord:
    """One created batch."""

    batch_id: str
    model: str
    arm: str
    round: int
    created_at: str
    keys: tuple[str, ...]


class BatchLedger:
    """The batches of one run directory, read (and checked) once when it is opened."""

    def __init__(self, run_dir: Path) -> None:
        self._dir = run_dir / LEDGER_DIR
        self._records = [_load(path) for path in sorted(self._dir.glob("msg*.json"))]

    def add(self, record: BatchRecord) -> None:
        """Keep `record` (atomically: a reader never sees half of it)."""
        self._dir.mkdir(parents=True, exist_ok=True)
        name = checked_server_id(record.batch_id, "batch id")
        files.write_bytes(self._dir / f"{name}.json", json.dumps(asdict(record)).encode())
        self._records.append(record)

    def records(self) -> list[BatchRecord]:
        """Every batch of the run, oldest round first."""
        return sorted(self._records, key=lambda r: (r.round, r.created_at))

    def newest_holding(self, keys: Iterable[str]) -> dict[BatchRecord, list[str]]:
        """For each of `keys` the newest batch that holds it, grouped by batch."""
        wanted = set(keys)
        newest: dict[str, BatchRecord] = {}
        for record in self.records():
            for key in wanted.intersection(record.keys):
                newest[key] = record
        grouped: dict[BatchRecord, list[str]] = {}
        for key, record in newest.items():
            grouped.setdefault(record, []).append(key)
        return grouped


def _load(path: Path) -> BatchRecord:
    """The record in `path`, checked; RunStoreError `<file>: <what is wrong>` for a file
    that is not one (a device, a FIFO, damaged JSON, a missing or mistyped field)."""
    fields = Fields(path, "", read_json(path))
    checked_server_id(fields.text("batch_id"), f"batch id in {path}")
    return BatchRecord(
        batch_id=fields.text("batch_id"),
        model=fields.text("model"),
        arm=fields.text("arm"),
        round=fields.count("round"),
        created_at=fields.text("created_at"),
        keys=tuple(fields.text_list("keys")),
    )
