"""The batch ledger reads its records once, checked: a bad record is named, never guessed at."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bad_file_support import BAD_JSON_FILES, Place, replace_with
from e2e_support import run_cli

from runner.errors import RunStoreError, ServerIdRefused
from runner.results.manifest import MANIFEST
from runner.run.batches.ledger import LEDGER_DIR, BatchLedger, BatchRecord

RECORD = BatchRecord("msgbatch_01abc", "claude-opus-4-6", "beta", 1, "2026-01-01T00:00:00Z", ("k",))


def test_added_records_are_read_back_by_a_new_ledger(tmp_path: Path) -> None:
    """What one session adds, the next one reads (oldest round first)."""
    later = BatchRecord("msgbatch_02", "m", "baseline", 2, "2026-01-02T00:00:00Z", ("k", "j"))
    ledger = BatchLedger(tmp_path)
    ledger.add(later)
    ledger.add(RECORD)
    assert ledger.records() == [RECORD, later]
    assert BatchLedger(tmp_path).records() == [RECORD, later]
    assert BatchLedger(tmp_path).newest_holding(["k", "j"]) == {later: ["k", "j"]}


@pytest.mark.parametrize(("place", "problem"), BAD_JSON_FILES)
def test_a_record_that_is_no_json_file_is_named(tmp_path: Path, place: Place, problem: str) -> None:
    """A device, FIFO, directory, huge, non-UTF-8, NUL-holding or runaway-nested record:
    RunStoreError naming it, without hanging or reading it all."""
    path = tmp_path / LEDGER_DIR / "msgbatch_01abc.json"
    path.parent.mkdir()
    replace_with(path, place)
    with pytest.raises(RunStoreError) as raised:
        BatchLedger(tmp_path)
    assert str(raised.value).startswith(f"{path}: ")
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param({"keys": "k"}, "keys: must be a list, not a string", id="keys-string"),
        pytest.param({"keys": [1]}, "keys: must be a list of strings", id="keys-number"),
        pytest.param({"round": "1"}, "round: must be an integer", id="round-string"),
        pytest.param({"model": None}, "model: must be a string, not null", id="model-null"),
        pytest.param({"batch_id": "../x"}, "batch id in", id="unsafe-id"),
    ],
)
def test_a_mistyped_field_is_named(tmp_path: Path, change: dict[str, object], problem: str) -> None:
    """Not a TypeError from the dataclass: the file and the field."""
    BatchLedger(tmp_path).add(RECORD)
    path = tmp_path / LEDGER_DIR / "msgbatch_01abc.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises((RunStoreError, ServerIdRefused)) as raised:
        BatchLedger(tmp_path)
    assert str(path) in str(raised.value)
    assert problem in str(raised.value)


@pytest.mark.usefixtures("keyed")
def test_resume_with_a_damaged_record_exits_2_before_sending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--resume of a batch run whose ledger holds a torn record: one line naming the record,
    exit 2, and the run directory left as it was (nothing sent, the manifest not rewritten)."""
    experiment = Path(__file__).parents[2] / "experiments" / "quickstart.toml"
    fast = ("--emulator", "batch_processing_s=0.05")  # the batches need not take 2 s to end
    args = ["run", experiment, "--local", *fast, "--via", "batches", "--run-id", "b", "-q"]
    assert run_cli(args) == 0
    run_dir = Path("results") / "quickstart" / "b"
    for table in ("results", "attempts", "scores"):
        (run_dir / f"{table}.parquet").unlink(missing_ok=True)
    record = sorted((run_dir / LEDGER_DIR).glob("msg*.json"))[0]
    record.write_text('{"batch_id":')
    manifest = (run_dir / MANIFEST).read_bytes()
    capsys.readouterr()
    assert run_cli([*args[:-3], "--resume", run_dir, "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {record}: not valid JSON")
    assert err.count("\n") == 1
    assert (run_dir / MANIFEST).read_bytes() == manifest
