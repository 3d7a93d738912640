"""`beta-runner report` end to end, and how the report picks its arms, baseline and prompts."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import polars as pl
import pytest
from manifest_support import manifest_for

from runner.analysis import default_baseline
from runner.cli.main import main
from runner.config.types import JSONObject
from runner.report.data import arm_order, case_prompts
from runner.results.manifest import Manifest
from runner.results.schema import R

EXPERIMENT = """
name = "tiny"
models = ["claude-opus-4-6"]
[run]
repeats = 1
[request]
max_tokens = 32
[[arms]]
name = "plain"
[[arms]]
name = "fast"
betas = ["fast-mode-2026-02-01"]
[[cases]]
id = "c1"
prompt = "Say <hi> & bye."
"""


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A two-arm run (no arm named baseline) made with `run --local` on a fast emulator."""
    experiment = tmp_path / "tiny.toml"
    experiment.write_text(EXPERIMENT, encoding="utf-8")
    args = ["run", str(experiment), "--local", "--results", str(tmp_path / "out")]
    args += ["--run-id", "r1", "-q", "--emulator", "ttft_ms=5", "--emulator", "jitter=0"]
    assert main(args) == 0
    return tmp_path / "out" / "tiny" / "r1"


@pytest.mark.slow
def test_report_is_written_to_the_run_dir_or_to_output(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """By default the page lands in RUN_DIR/report.html; -o writes it elsewhere."""
    assert main(["report", str(run_dir)]) == 0
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Baseline: plain." in page
    assert "user: Say &lt;hi&gt; &amp; bye." in page
    args = ["report", str(run_dir), "-o", str(tmp_path / "r.html"), "--baseline", "fast"]
    assert main(args) == 0
    assert "Baseline: fast." in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Report written to" in capsys.readouterr().out


@pytest.mark.slow
def test_unknown_baseline_is_a_usage_error(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --baseline that is not an arm exits 2, names the arms and writes nothing."""
    assert main(["report", str(run_dir), "--baseline", "nope"]) == 2
    err = capsys.readouterr().err
    assert "The baseline arm 'nope' is not in these results; their arms are fast, plain." in err
    assert "--baseline ARM" in err
    assert not (run_dir / "report.html").exists()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_an_output_that_is_not_a_file_is_refused_and_left_as_it_is(
    run_dir: Path, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o at a FIFO or a device exits 2 naming it; the page is never renamed over it."""
    target = tmp_path / "out.html"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/null")
    assert main(["report", str(run_dir), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {target}: This is a ")
    assert err.count("\n") == 1
    assert stat.S_ISFIFO(target.stat().st_mode) if kind == "fifo" else target.is_symlink()
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)


@pytest.mark.slow
def test_an_output_in_a_missing_directory_names_the_page_not_a_temporary(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The error names the -o path, never the temporary name the page is written under."""
    target = tmp_path / "missing" / "r.html"
    assert main(["report", str(run_dir), "-o", str(target)]) == 2
    assert capsys.readouterr().err == (
        f"error: {target}: the report cannot be written there (No such file or directory).\n"
    )


def test_a_directory_without_a_manifest_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reporting on a directory that is not a run exits 2 with the store's message."""
    assert main(["report", str(tmp_path)]) == 2
    assert "is not a run directory" in capsys.readouterr().err


def _manifest(*arms: tuple[str, list[str]]) -> Manifest:
    document: JSONObject = {"arms": [{"name": n, "betas": list(b)} for n, b in arms]}
    return dataclasses.replace(manifest_for("r1"), experiment=document)


@pytest.mark.parametrize(
    ("arms", "expected"),
    [
        ((("x", ["b-2026-01-01"]), ("baseline", [])), "baseline"),
        ((("x", ["b-2026-01-01"]), ("none", [])), "none"),
        ((("x", ["b-2026-01-01"]), ("y", ["c-2026-01-01"])), "x"),
    ],
    ids=["named", "no-betas", "first"],
)
def test_default_baseline(arms: tuple[tuple[str, list[str]], ...], expected: str) -> None:
    """The default baseline is "baseline", else the first arm without betas, else the first."""
    results = pl.DataFrame(
        {R.arm: [n for n, _ in arms], R.betas: [b for _, b in arms]},
        schema={R.arm: pl.String, R.betas: pl.List(pl.String)},
    )
    assert default_baseline(results) == expected


def test_arm_order_follows_the_experiment_then_extra_arms() -> None:
    """Arms keep the experiment's order; arms only found in the results follow, sorted."""
    results = pl.DataFrame({R.arm: ["z", "b", "a", "extra2", "extra1"]})
    manifest = _manifest(("b", []), ("a", []), ("z", []))
    assert arm_order(manifest, results) == ("b", "a", "z", "extra1", "extra2")


def test_case_prompts_show_system_and_messages() -> None:
    """A case's prompt text has its system line, then one line per message."""
    case = {
        "id": "c",
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": [{"type": "text", "text": "block"}]},
        ],
    }
    prompts = case_prompts(dataclasses.replace(manifest_for("r1"), experiment={"cases": [case]}))
    assert prompts["c"].splitlines() == [
        "system: Be brief.",
        "user: Hi",
        'user: [{"type": "text", "text": "block"}]',
    ]


def test_report_and_history_read_a_sharded_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run split into two shards reports and lists as one run, like `compare` reads it."""
    experiment = tmp_path / "tiny.toml"
    experiment.write_text(EXPERIMENT.replace("repeats = 1", "repeats = 4"), encoding="utf-8")
    results = tmp_path / "results"
    for shard in ("1/2", "2/2"):
        args = ["run", experiment, "--local", "--shard", shard, "--run-id", "split"]
        assert main([str(a) for a in [*args, "--results", results, "-q"]]) == 0
    run_dir = results / "tiny" / "split"
    assert main(["report", str(run_dir)]) == 0
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "split" in page
    assert "<dd>8</dd>" in page  # the requests of both shards
    capsys.readouterr()
    assert main(["history", "tiny", "--results", str(results), "--format", "csv"]) == 0
    rows = pl.read_csv(capsys.readouterr().out.encode())
    assert rows["run_id"].to_list() == ["split"]
    assert rows["status"].to_list() == ["complete"]
    assert rows["fast.requests"].to_list() == [4]
