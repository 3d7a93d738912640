"""A damaged run directory gets `<file>: <what is wrong>` and exit 2 from every reader."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from bad_file_support import BAD_JSON_FILES, Place, replace_with
from e2e_support import finished_local_run, run_cli

from runner.analysis import load_run
from runner.errors import RunStoreError
from runner.results.manifest import MANIFEST

DAMAGE = [
    pytest.param(lambda m: [], "must be a JSON object, not a list", id="a-list"),
    pytest.param(lambda m: {k: v for k, v in m.items() if k != "counts"}, "counts: is missing",
                 id="no-counts"),
    pytest.param(lambda m: {**m, "resumes": 5}, "resumes: must be a list, not a number (5)",
                 id="resumes-5"),
    pytest.param(lambda m: {**m, "status": "finished"}, "status: is 'finished'; expected one of",
                 id="bad-status"),
    pytest.param(lambda m: {**m, "counts": {**m["counts"], "ok": "3"}},
                 "counts.ok: must be an integer, not a string", id="count-string"),
]  # fmt: skip


@pytest.fixture(scope="module")
def made_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished local run, made once for the module; tests damage copies of it."""
    return finished_local_run(tmp_path_factory.mktemp("made"))


@pytest.fixture
def finished(made_once: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A finished local run in tmp_path (the working directory): (experiment, run dir)."""
    shutil.copytree(made_once, tmp_path, dirs_exist_ok=True)
    return tmp_path / "experiment.toml", Path("results") / "e2e" / "r1"


def _damage(run_dir: Path, change: object) -> str:
    path = run_dir / MANIFEST
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(change(manifest)))  # type: ignore[operator]
    return str(path)


def _read_with(reader: str, experiment: Path, run_dir: Path) -> list[str]:
    """The command line that makes `reader` (a run option, or a command) read `run_dir`."""
    if reader.startswith("--"):
        return ["run", str(experiment), "--local", reader, str(run_dir), "-q"]
    return [reader, str(run_dir)]


@pytest.mark.parametrize(("change", "problem"), DAMAGE)
@pytest.mark.parametrize("reader", ["--resume", "--retry-errors", "compare", "report"])
def test_every_reader_names_the_file_and_the_problem_with_exit_2(
    finished: tuple[Path, Path],
    reader: str,
    change: object,
    problem: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--resume, --retry-errors, compare and report: one line, exit 2, no traceback."""
    experiment, run_dir = finished
    path = _damage(run_dir, change)
    capsys.readouterr()
    assert run_cli(_read_with(reader, experiment, run_dir)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ")
    assert problem in err
    assert "Traceback" not in err


def test_load_run_validates_the_manifest(finished: tuple[Path, Path]) -> None:
    """load_run raises RunStoreError naming the manifest file and what is wrong."""
    _, run_dir = finished
    path = _damage(run_dir, lambda m: {**m, "resumes": 5})
    with pytest.raises(RunStoreError, match="resumes: must be a list") as raised:
        load_run(run_dir)
    assert str(raised.value).startswith(path)


def test_a_manifest_that_is_not_json_is_named(finished: tuple[Path, Path]) -> None:
    """Truncated JSON (a file cut short) is reported as not valid JSON, naming the file."""
    _, run_dir = finished
    (run_dir / MANIFEST).write_text('{"run_id": "r1", "sta')
    with pytest.raises(RunStoreError, match=r"manifest.json: not valid JSON"):
        load_run(run_dir)


def test_history_skips_and_names_a_run_it_cannot_read(
    finished: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A sibling run with a garbage manifest is skipped with a warning naming it."""
    experiment, run_dir = finished
    garbage = run_dir.parent / "garbage"
    garbage.mkdir()
    (garbage / MANIFEST).write_text("[1, 2")
    capsys.readouterr()
    assert run_cli(["history", experiment, "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert f"warning: skipped a run that cannot be read: {garbage / MANIFEST}: " in captured.err
    assert "r1" in captured.out
    assert "garbage" not in captured.out


@pytest.mark.parametrize(("place", "problem"), BAD_JSON_FILES)
@pytest.mark.parametrize("reader", ["--resume", "compare", "report"])
def test_a_manifest_that_is_no_json_file_is_refused_in_one_line(
    finished: tuple[Path, Path],
    reader: str,
    place: Place,
    problem: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A device, FIFO, directory, huge, non-UTF-8, NUL-holding or runaway-nested manifest:
    exit 2 and one line naming the manifest, never a hang, a memory blow-up or a traceback."""
    experiment, run_dir = finished
    replace_with(run_dir / MANIFEST, place)
    capsys.readouterr()
    assert run_cli(_read_with(reader, experiment, run_dir)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {run_dir / MANIFEST}: ")
    assert problem in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(("place", "problem"), BAD_JSON_FILES)
def test_load_run_refuses_a_manifest_that_is_no_json_file(
    finished: tuple[Path, Path], place: Place, problem: str
) -> None:
    """The library reader raises RunStoreError naming the manifest and the problem."""
    _, run_dir = finished
    replace_with(run_dir / MANIFEST, place)
    with pytest.raises(RunStoreError, match=re.escape(problem)) as raised:
        load_run(run_dir)
    assert str(raised.value).startswith(f"{run_dir / MANIFEST}: ")


def _garbage(path: Path) -> None:
    path.write_bytes(b"PAR1 not a parquet file PAR1")


def _foreign(path: Path) -> None:
    pl.DataFrame({"unrelated": [1]}).write_parquet(path)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()


TABLE_DAMAGE = [
    ("results.parquet", _garbage, "not a whole Parquet file", "garbage"),
    ("results.parquet", _foreign, "has columns this table does not (unrelated)", "foreign"),
    ("results.parquet", _fifo, "This is a named pipe (FIFO)", "fifo"),
    ("results.parquet", _directory, "This is a directory", "directory"),
    ("attempts.parquet", _garbage, "not a whole Parquet file", "garbage"),
]
# compare and report read the results table; --resume reads both.
TABLE_READS = [
    pytest.param(reader, table, place, problem, id=f"{reader}-{table}-{name}")
    for table, place, problem, name in TABLE_DAMAGE
    for reader in ("--resume", "compare", "report")
    if reader == "--resume" or table == "results.parquet"
]


@pytest.mark.parametrize(("reader", "table", "place", "problem"), TABLE_READS)
def test_a_damaged_table_is_refused_in_one_line_naming_it(
    finished: tuple[Path, Path],
    reader: str,
    table: str,
    place: Place,
    problem: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A table cut short, from elsewhere, or not a file: exit 2, one line naming it, and the
    file left as found (read as no table, a resume would pay for its requests again and its
    compaction would replace the file)."""
    experiment, run_dir = finished
    path = run_dir / table
    replace_with(path, place)
    before = path.lstat()
    capsys.readouterr()
    assert run_cli(_read_with(reader, experiment, run_dir)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ")
    assert problem in err
    assert err.count("\n") == 1
    assert (path.lstat().st_ino, path.lstat().st_mode) == (before.st_ino, before.st_mode)
