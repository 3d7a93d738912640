"""The bad-input corpus: malformed experiment and cases files, each with the error it must raise.

Every `*.toml` here must make `load_experiment` raise a ConfigError. Its first lines say what:

    # expect: arms[1].name           the ConfigError's `where` (key path, or `line N`)
    # file: cases/bad_json.jsonl     the file the error names, if not the TOML itself
    # why: two arms with one name    what is wrong, in words

A directory named `*.toml` stands for "a directory given as the experiment path"; its
expectation lives in an `EXPECT` file inside it. Other test suites (the CLI's) reuse the corpus
through `bad_inputs()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).parent


@dataclass(frozen=True)
class BadInput:
    """One malformed experiment: the path to load and what the ConfigError must say."""

    path: Path
    where: str
    file: Path
    why: str

    @property
    def id(self) -> str:
        """The test id: the experiment file's name without `.toml`."""
        return self.path.stem


def bad_inputs() -> list[BadInput]:
    """Every corpus entry, sorted by file name."""
    return [_entry(path) for path in sorted(CORPUS_DIR.glob("*.toml"))]


def _entry(path: Path) -> BadInput:
    header_file = path / "EXPECT" if path.is_dir() else path
    header = _header(header_file.read_bytes())
    named = header.get("file")
    return BadInput(
        path=path,
        where=header["expect"],
        file=path.parent / named if named else path,
        why=header.get("why", ""),
    )


def _header(data: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for raw in data.splitlines():
        line = raw.decode("ascii", errors="replace")
        if not line.startswith("# ") or ":" not in line:
            break
        key, _, value = line[2:].partition(":")
        fields[key.strip()] = value.strip()
    return fields
