"""Ids from the server are checked before they name a file: nothing lands outside the run."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from e2e_support import SECRET, write_experiment

from runner.config.load import load_experiment
from runner.errors import RunFailed, ServerIdRefused
from runner.run.batches import BatchOptions, BatchSender
from runner.run.batches.ledger import checked_server_id
from runner.run.session import RunServices, create_run_directory, execute_run

PWNED = "../../x/PWNED"


@pytest.mark.anyio
async def test_a_batch_id_that_is_a_path_is_refused_and_nothing_is_written_for_it(
    tmp_path: Path,
) -> None:
    """A gateway answering a batch create with id '../../x/PWNED': RunFailed naming the id,
    no file outside the run directory, none in its ledger."""
    experiment = load_experiment(write_experiment(tmp_path, "http://gateway")).experiment
    run_dir = create_run_directory(tmp_path / "results", experiment, "r1", 2)

    def gateway(request: httpx.Request) -> httpx.Response:
        body = {"id": PWNED, "type": "message_batch", "processing_status": "in_progress"}
        return httpx.Response(200, json=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(gateway)) as http:
        services = RunServices.real(http, SECRET)
        sender = BatchSender(experiment, "r1", services, run_dir.path, BatchOptions())
        with pytest.raises(RunFailed, match=r"ServerIdRefused: The server sent the batch id") as e:
            await execute_run(experiment, run_dir, "r1", services, sender=sender)
    assert PWNED in str(e.value)
    assert not (tmp_path / "results" / "x").exists()
    assert not (tmp_path / "x").exists()
    assert (
        not list((run_dir.path / "batches").glob("*"))
        if (run_dir.path / "batches").exists()
        else True
    )


@pytest.mark.parametrize(
    "value", ["../x", "a/b", ".hidden", "", "x" * 200, "ok\n", 7, None], ids=repr
)
def test_only_plain_ids_pass(value: object) -> None:
    """Dots, slashes, empty, overlong, newlines and non-strings are refused."""
    with pytest.raises(ServerIdRefused):
        checked_server_id(value, "batch id")


def test_the_apis_ids_pass() -> None:
    """An id shaped like the API's is accepted as is."""
    assert checked_server_id("msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d", "batch id").startswith("msg")
