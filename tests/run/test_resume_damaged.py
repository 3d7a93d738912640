"""`--resume` of a run with a part that is not a whole Parquet file: the part is set aside
(kept, named in one warning) and only the requests whose rows it held are sent again."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from e2e_support import attempts_of, finished_local_run, results_of, run_cli


@pytest.fixture(scope="module")
def made_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished local run, made once for the module; tests damage copies of it."""
    return finished_local_run(tmp_path_factory.mktemp("made"))


@pytest.fixture
def run_dir(made_once: Path, tmp_path: Path) -> Path:
    """A copy of the finished run in tmp_path (the working directory)."""
    shutil.copytree(made_once, tmp_path, dirs_exist_ok=True)
    return Path("results") / "e2e" / "r1"


def _split_and_damage(run_dir: Path, table: str) -> set[str]:
    """Turn the compacted `table` into two parts, as a killed session leaves them, and cut
    the second short; the request keys that part held."""
    rows = pl.read_parquet(run_dir / f"{table}.parquet")
    (run_dir / f"{table}.parquet").unlink()
    parts = run_dir / "parts"
    parts.mkdir(exist_ok=True)
    half = rows.height // 2
    rows[:half].write_parquet(parts / f"{table}-000001.parquet")
    second = parts / f"{table}-000002.parquet"
    rows[half:].write_parquet(second)
    second.write_bytes(second.read_bytes()[:60])
    return set(rows[half:]["request_key"])


def _resume(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Resume the run; the warnings it printed about the run directory."""
    capsys.readouterr()
    args = ["run", "experiment.toml", "--local", "--resume", run_dir, "-q"]
    assert run_cli(args) == 0
    return [
        line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: results")
    ]


def _check_whole(run_dir: Path, requests: int) -> None:
    """One ok row per request, and as many attempt rows as each row counts."""
    results = results_of(run_dir)
    assert results.height == results["request_key"].n_unique() == requests
    assert (results["status"] == "ok").all()
    held = attempts_of(run_dir).group_by("request_key").len()
    counted = results.join(held, on="request_key").filter(pl.col("len") != pl.col("attempts"))
    assert counted.is_empty()


def _finished(run_dir: Path) -> dict[str, object]:
    return dict(results_of(run_dir).select("request_key", "finished_at").iter_rows())


@pytest.mark.parametrize("table", ["results", "attempts"])
def test_resume_sets_a_damaged_part_aside_and_sends_only_its_requests_again(
    run_dir: Path, capsys: pytest.CaptureFixture[str], table: str
) -> None:
    """One warning line naming the part, the part kept as .damaged, exactly the requests it
    held sent again, one row each; a second --resume then sends nothing."""
    finished = _finished(run_dir)
    lost = _split_and_damage(run_dir, table)
    part = run_dir / "parts" / f"{table}-000002.parquet"
    assert _resume(run_dir, capsys) == [
        f"warning: {part}: not a whole Parquet file (a kill or a failing disk while it was "
        f"written?); set aside as {part.name}.damaged for inspection; "
        + ("its requests are sent again." if table == "results" else
           "the requests whose attempts it held are sent again.")
    ]  # fmt: skip
    assert (part.parent / f"{part.name}.damaged").is_file()
    resent = {key for key, at in _finished(run_dir).items() if finished.get(key) != at}
    assert resent == lost
    _check_whole(run_dir, len(finished))
    attempts = attempts_of(run_dir).height
    assert _resume(run_dir, capsys) == []
    assert attempts_of(run_dir).height == attempts


AGENT = Path(__file__).resolve().parents[2] / "experiments" / "agent_tools.toml"
QUICK = ("ttft_ms=0", "ms_per_output_token=0", "ms_per_1k_input_tokens=0", "jitter=0")


def test_a_damaged_turns_part_sends_its_conversations_again_from_the_gap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The conversations whose turns the part held are sent again, from their first lost
    turn; afterwards every conversation has as many turn rows as its result counts."""
    settings = [word for setting in QUICK for word in ("--emulator", setting)]
    args = ["run", AGENT, "--local", "--results", tmp_path / "out", "-q", *settings]
    assert run_cli([*args, "--run-id", "t"]) == 0
    run_dir = tmp_path / "out" / "agent-tools" / "t"
    finished = _finished(run_dir)
    lost = _split_and_damage(run_dir, "turns")
    capsys.readouterr()
    assert run_cli([*args, "--resume", run_dir]) == 0
    part = run_dir / "parts" / "turns-000002.parquet"
    assert f"warning: {part}: not a whole Parquet file" in capsys.readouterr().err
    resent = {key for key, at in _finished(run_dir).items() if finished.get(key) != at}
    assert resent == lost
    turns = pl.read_parquet(run_dir / "turns.parquet").group_by("request_key").len()
    counted = results_of(run_dir).join(turns, on="request_key", how="left")
    assert counted.filter(pl.col("turns") > 1, pl.col("len") != pl.col("turns")).is_empty()
