"""Files are read defensively: only regular files, bounded, UTF-8 with or without a BOM."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.config.files import MAX_TOML_BYTES, MIB
from runner.config.load import load_experiment
from runner.errors import ConfigError

EXPERIMENT = """\
name = "files"
models = ["claude-sonnet-5"]
{cases_file}
[[arms]]
name = "baseline"
[[arms]]
name = "fast"
betas = ["fast-mode-2026-02-01"]
{cases}
"""
INLINE = '[[cases]]\nid = "c1"\nprompt = "Say hello."\n'


def _experiment(tmp_path: Path, cases_file: str = "", cases: str = INLINE) -> Path:
    path = tmp_path / "experiment.toml"
    line = f'cases_file = "{cases_file}"' if cases_file else ""
    path.write_text(EXPERIMENT.format(cases_file=line, cases=cases), encoding="utf-8")
    return path


def _problem(path: Path) -> str:
    with pytest.raises(ConfigError) as raised:
        load_experiment(path)
    return str(raised.value)


def test_a_utf8_bom_at_the_start_is_accepted(tmp_path: Path) -> None:
    """Editors on Windows write a BOM; the file still loads."""
    path = _experiment(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_experiment(path).experiment.name == "files"


def test_unicode_line_breaks_inside_json_strings_stay_in_their_line(tmp_path: Path) -> None:
    """U+2028, U+2029 and U+0085 in a JSON string are text, not line ends."""
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        '{"id": "a", "prompt": "one\u2028two\u2029three\u0085four"}\r\n{"id": "b", "prompt": "x"}',
        encoding="utf-8",
    )
    loaded = load_experiment(_experiment(tmp_path, "cases.jsonl", cases="")).experiment
    assert [case.id for case in loaded.cases] == ["a", "b"]
    assert loaded.cases[0].messages[0]["content"] == "one\u2028two\u2029three\u0085four"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    """A FIFO as the experiment or the cases file is refused by name; nothing hangs."""
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    assert "is a named pipe (FIFO), not a regular file" in _problem(fifo)
    problem = _problem(_experiment(tmp_path, "pipe.toml", cases=""))
    assert "pipe.toml: This is a named pipe (FIFO)" in problem


def test_a_device_is_refused(tmp_path: Path) -> None:
    """/dev/zero would fill memory: it is refused before it is read."""
    assert "/dev/zero: This is a character device" in _problem(Path("/dev/zero"))


def test_a_symlink_loop_is_called_one(tmp_path: Path) -> None:
    """Not 'does not exist'."""
    (tmp_path / "a.toml").symlink_to(tmp_path / "b.toml")
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    assert "symlink loop" in _problem(tmp_path / "a.toml")


def test_a_file_over_the_cap_is_refused_with_its_limit(tmp_path: Path) -> None:
    """A sparse file larger than the cap is refused without reading it all."""
    huge = tmp_path / "huge.toml"
    with huge.open("wb") as handle:
        handle.truncate(MAX_TOML_BYTES + 1)
    assert f"larger than {MAX_TOML_BYTES // MIB} MiB" in _problem(huge)


def test_a_cases_line_with_a_40_mb_prompt_is_scanned_at_once_and_refused_by_size(
    tmp_path: Path,
) -> None:
    """Nesting is checked over strings in one pass per run of plain characters (it took
    minutes on a 40 MB prompt); then the case is refused: the API takes 32 MB at most."""
    prompt = "x" * (40 * MIB)
    (tmp_path / "big.jsonl").write_text(f'{{"id": "big", "prompt": "{prompt}"}}\n')
    problem = _problem(_experiment(tmp_path, cases_file="big.jsonl", cases=""))
    assert problem.startswith(f"{tmp_path / 'big.jsonl'}: line 1, prompt: Case 'big' sends 40")
    assert "refuses a request over 32 MB" in problem


def test_a_30_mb_prompt_is_sent_as_it_is(tmp_path: Path) -> None:
    """Under the API's size a long prompt is read whole."""
    (tmp_path / "big.jsonl").write_text(f'{{"id": "big", "prompt": "{"x" * (30 * MIB)}"}}\n')
    loaded = load_experiment(_experiment(tmp_path, cases_file="big.jsonl", cases=""))
    assert len(str(loaded.experiment.cases[0].messages[0]["content"])) == 30 * MIB


def test_a_15_mb_string_in_the_experiment_is_read_likewise(tmp_path: Path) -> None:
    """The TOML scan skips a 15 MB multi-line string (under the TOML cap) in one pass."""
    cases = f'[[cases]]\nid = "c1"\nprompt = """{"y" * (15 * MIB)}"""\n'
    loaded = load_experiment(_experiment(tmp_path, cases=cases))
    assert loaded.experiment.cases[0].id == "c1"
