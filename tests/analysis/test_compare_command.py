"""`beta-runner compare RUN_DIR`: formats, the default baseline, and errors that exit 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest
from e2e_support import run_cli
from frames import two_arm_run
from rich.console import Console

from runner.analysis import COMPARE_COLUMNS, METRICS
from runner.cli.commands.compare import NARROW, for_reading, narrow_groups, render
from runner.cli.terminal import render_table


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A compacted run with a baseline and one arm, 12 cases each (enough pairs for a +50 ms
    shift to survive the correction across the table's rows)."""
    return two_arm_run(tmp_path / "results")


def test_json_is_a_list_of_objects_with_the_documented_keys(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One object per (model, arm, metric) with model, arm, metric ... significant."""
    assert run_cli(["compare", run_dir, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(METRICS)
    assert list(rows[0]) == [c for c in COMPARE_COLUMNS if c != "n"]
    latency = next(r for r in rows if r["metric"] == "latency_ms")
    assert (latency["delta"], latency["significant"]) == (50.0, True)


@pytest.mark.parametrize(
    ("form", "marker"),
    [
        ("csv", "model,arm,metric,baseline"),
        ("markdown", "| model | arm |"),
        ("table", "latency_ms"),
    ],
    ids=["csv", "markdown", "table"],
)
def test_other_formats_print_the_same_rows(
    run_dir: Path, form: str, marker: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """CSV, Markdown and the terminal table all go to stdout."""
    assert run_cli(["compare", run_dir, "--format", form]) == 0
    assert marker in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--baseline", "control"], "'control' is not in these results"),
        (["--prices", "missing.toml"], "missing.toml"),
    ],
    ids=["no-such-baseline", "no-such-price-file"],
)
def test_usage_errors_exit_2(
    run_dir: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A baseline the run lacks or a missing price file exits 2 with a message."""
    assert run_cli(["compare", run_dir, *args]) == 2
    assert message in capsys.readouterr().err


def test_a_directory_that_is_not_a_run_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No manifest: exit 2 naming the path."""
    assert run_cli(["compare", tmp_path]) == 2
    assert "is not a run directory" in capsys.readouterr().err


def test_table_also_says_whether_each_beta_left_a_trace(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The terminal output adds the evidence report under the comparison."""
    assert run_cli(["compare", run_dir]) == 0
    out = capsys.readouterr().out
    assert "did each beta leave a trace?" in out
    assert "evidence_share" in out
    error_rate = next(line.split() for line in out.splitlines() if " error_rate " in line)
    assert [w for w in error_rate if w != "│"][3:8] == ["0.0"] * 5  # a rate's 0, not a bare 0


@pytest.mark.parametrize(
    ("expression", "code"),
    [
        pytest.param("delta.p50_latency_ms>+20%", 1, id="crossed"),
        pytest.param("delta.p50_latency_ms>+100%", 0, id="not-crossed"),
        pytest.param("nonsense>>1", 2, id="bad-expression"),
        pytest.param("delta.p50_latency _ms>+20%", 2, id="space-inside-a-name"),
    ],
)
def test_fail_on_gates_compare_like_run(
    run_dir: Path, expression: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """--fail-on on compare exits 1 when crossed (naming arm and metric), 2 when malformed."""
    assert run_cli(["compare", run_dir, "--format", "json", "--fail-on", expression]) == code
    if code == 1:
        err = capsys.readouterr().err
        assert "beta" in err
        assert "p50_latency_ms" in err
    if code == 2:
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith(f"error: --fail-on {expression!r}")


def test_markdown_cells_follow_the_terminal_tables_rule() -> None:
    """Markdown shows a metric row's numbers with one count of decimals, as the terminal
    table does (1.000 beside 0.833, never 1), missing values as a dash; CSV keeps the values."""
    values = ("m", "beta", "score:exact", 1.0, 0.8333, -0.1667, -0.3333, 0.0, 0.25, 0.5)
    table = pl.DataFrame(
        [(*values, False, 6, None)],
        schema=dict(zip(COMPARE_COLUMNS, TYPES, strict=True)),
        orient="row",
    )
    markdown = render(table, "markdown").splitlines()
    assert markdown[0] == "| " + " | ".join(COMPARE_COLUMNS) + " |"
    cells = "1.000 | 0.833 | -0.167 | -0.333 | 0.000 | 0.25 | 0.5 | no | 6 | -"
    assert markdown[2] == f"| m | beta | score:exact | {cells} |"
    assert "1.0,0.8333,-0.1667" in render(table, "csv")


TYPES = [pl.String] * 3 + [pl.Float64] * 7 + [pl.Boolean, pl.Int64, pl.Float64]


def test_the_narrow_layouts_interval_shares_its_rows_decimals() -> None:
    """In the narrow layout the interval's bounds and the row's figures share one count of
    decimals: a bound that needs 4 (-0.0123) gives 1.0000 and 0.8333 beside it."""
    values = ("m", "beta", "score:exact", 1.0, 0.8333, -0.1667, -0.0123, 0.2, 0.25, 0.5)
    table = pl.DataFrame(
        [(*values, False, 6, None)],
        schema=dict(zip(COMPARE_COLUMNS, TYPES, strict=True)),
        orient="row",
    )
    [(_, rows)] = narrow_groups(for_reading(table))
    console = Console(file=io.StringIO(), width=200)
    console.print(render_table(rows, together=NARROW))
    line = next(x for x in console.file.getvalue().splitlines() if "score:exact" in x)
    cells = [text for text in line.split() if text != "\N{BOX DRAWINGS LIGHT VERTICAL}"]
    assert cells[1:6] == ["1.0000", "0.8333", "-0.1667", "[-0.0123,", "0.2000]"]
