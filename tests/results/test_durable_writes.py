"""Every results write is durable: the new file's data is fsynced before it is renamed into
place, and the directory is fsynced after, so a power loss never leaves a half-written or
vanished file where a whole one was promised."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from test_store import _attempt, _result

from runner.results import files
from runner.results.store import PARTS, RunDirectory

FRAME = pl.DataFrame({"request_key": ["a", "b"], "value": [1, 2]})


@dataclass(frozen=True)
class Synced:
    """One fsync as the disk saw it: which inode, and whether the final name existed then."""

    inode: int
    is_directory: bool
    size: int
    final_existed: bool


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Synced]:
    """Every os.fsync made during the test, recorded (and still done)."""
    seen: list[Synced] = []
    real = os.fsync

    def recording(fd: int) -> None:
        info = os.fstat(fd)
        final = (tmp_path / "out" / "table.parquet").exists()
        seen.append(Synced(info.st_ino, stat.S_ISDIR(info.st_mode), info.st_size, final))
        real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    return seen


WRITES: list[object] = [
    pytest.param(lambda p: files.write_parquet(p, FRAME), id="write_parquet"),
    pytest.param(lambda p: files.sink_parquet(p, FRAME.lazy(), 1), id="sink_parquet"),
    pytest.param(lambda p: files.write_bytes(p, b"x" * 1000), id="write_bytes"),
]


@pytest.mark.parametrize("write", WRITES)
def test_data_is_synced_before_the_rename_and_the_directory_after(
    tmp_path: Path, synced: list[Synced], write: Callable[[Path], None]
) -> None:
    """The file that ends under the final name was fsynced whole before it had that name;
    then its directory was fsynced, so the rename is on disk too."""
    path = tmp_path / "out" / "table.parquet"
    path.parent.mkdir()
    write(path)
    final = path.stat()
    data = [s for s in synced if s.inode == final.st_ino]
    assert data == [Synced(final.st_ino, False, final.st_size, False)]
    directory = path.parent.stat().st_ino
    after = synced[synced.index(data[0]) + 1 :]
    assert any(s.inode == directory and s.is_directory and s.final_existed for s in after)
    assert [p.name for p in path.parent.iterdir()] == ["table.parquet"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    """A frame that cannot be written: the previous file is untouched, nothing is left over,
    and the error names the file (not its temporary) with polars' reason."""
    path = tmp_path / "table.parquet"
    files.write_parquet(path, FRAME)
    before = path.read_bytes()
    with pytest.raises(OSError, match="missing") as raised:
        files.sink_parquet(path, FRAME.lazy().select(pl.col("missing")), 1)
    assert raised.value.filename == str(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["table.parquet"]


@pytest.mark.parametrize("write", WRITES)
def test_a_write_the_system_refuses_names_the_file_not_its_temporary(
    tmp_path: Path, write: Callable[[Path], None]
) -> None:
    """The final name taken by a directory: an OSError whose filename is that name, with the
    system's reason and errno, and no temporary left beside it."""
    path = tmp_path / "table.parquet"
    (path / "in-the-way").mkdir(parents=True)
    with pytest.raises(OSError, match=r"table\.parquet") as raised:
        write(path)
    assert raised.value.filename == str(path)
    assert raised.value.errno in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST)
    assert raised.value.strerror
    assert [p.name for p in tmp_path.iterdir()] == ["table.parquet"]


def test_a_batch_of_parts_is_synced_file_by_file_then_its_directory_once(
    run: RunDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RunDirectory.append: every part's data is fsynced before it has its name, and the
    parts directory after the last of them is renamed in (once, not once per part)."""
    seen: list[tuple[int, bool, frozenset[str]]] = []
    real = os.fsync
    parts = run.path / PARTS

    def recording(fd: int) -> None:
        info = os.fstat(fd)
        names = frozenset(p.name for p in parts.iterdir()) if parts.is_dir() else frozenset()
        seen.append((info.st_ino, stat.S_ISDIR(info.st_mode), names))
        real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    run.append([_result("a")], [_attempt("a")])
    written = sorted(parts.iterdir())
    assert [p.name for p in written] == ["attempts-000001.parquet", "results-000001.parquet"]
    for part in written:
        [(_, is_dir, names)] = [s for s in seen if s[0] == part.stat().st_ino]
        assert not is_dir
        assert part.name not in names  # synced while it still had its temporary name
    directory_syncs = [s for s in seen if s[0] == parts.stat().st_ino]
    assert [names for _, _, names in directory_syncs] == [frozenset(p.name for p in written)]


@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENOTSUP], ids=["EINVAL", "ENOTSUP"])
def test_a_file_system_that_cannot_sync_directories_still_gets_whole_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """Where fsync of a directory is refused as unsupported, the write still lands (its data
    synced); any other failure to sync is raised."""
    real = os.fsync

    def refusing(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(code, os.strerror(code))
        real(fd)

    monkeypatch.setattr(os, "fsync", refusing)
    files.write_parquet(tmp_path / "t.parquet", FRAME)
    assert pl.read_parquet(tmp_path / "t.parquet").equals(FRAME)

    def failing(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(OSError, match="I/O error"):
        files.write_parquet(tmp_path / "u.parquet", FRAME)
    assert not (tmp_path / "u.parquet").exists()
