"""The bad-input corpus: malformed input, each entry with the error it must produce.

Every `*.toml` here is one case. Unless it names command-line words or variables, it must make
`load_experiment` raise a ConfigError. Its first lines say what:

    # expect: arms[1].name           the ConfigError's `where` (key path, or `line N`)
    # file: cases/bad_json.jsonl     the file the error names, if not the TOML itself
    # message: is listed twice       words the message must contain
    # why: two arms with one name    what is wrong, in words
    # argv: ["--run-id", ".."]       command-line words after `run EXPERIMENT` (a CLI case)
    # env: {"ANTHROPIC_API_KEY": ""} variables to set for it (a CLI case)

A CLI case (with `argv` or `env`) holds a valid experiment: the command line or environment is
what is wrong, `expect` is words of the message, and `file: -` says no file is named. Every
case, CLI or not, must make `beta-runner run` exit 2 with one line and no traceback.

A directory named `*.toml` stands for "a directory given as the experiment path"; its
expectation lives in an `EXPECT` file inside it. Other test suites (the CLI's) reuse the corpus
through `bad_inputs()`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

CORPUS_DIR = Path(__file__).parent


@dataclass(frozen=True)
class BadInput:
    """One malformed experiment: the path to load and what the ConfigError must say."""

    path: Path
    where: str
    file: Path | None
    why: str
    message: str = ""
    argv: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    @property
    def cli_only(self) -> bool:
        """Whether the command line or the environment, not the file, is what is wrong."""
        return bool(self.argv or self.env)

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
        file=None if named == "-" else path.parent / named if named else path,
        why=header.get("why", ""),
        message=header.get("message", ""),
        argv=tuple(json.loads(header.get("argv", "[]"))),
        env=dict(json.loads(header.get("env", "{}"))),
    )


def _header(data: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for raw in data.splitlines():
        line = raw.decode("utf-8", errors="replace")
        if not line.startswith("# ") or ":" not in line:
            break
        key, _, value = line[2:].partition(":")
        fields[key.strip()] = value.strip()
    return fields
