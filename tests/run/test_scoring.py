"""Scores through the real path: a run scores answers as they arrive and runs its judges; `score`
adds or replaces one scorer's rows later without sending anything to the arms."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import anyio
import polars as pl
import pytest
from e2e_support import run_cli

from runner.config.load import load_experiment
from runner.emulator import EmulatorConfig, EmulatorServer
from runner.emulator.planted import parse_beta_effect
from runner.results.store import RunDirectory
from runner.run.scoring import changed_scorers, score_session

pytestmark = pytest.mark.slow

WORSE = "planted-worse-2026-01-01"
CONFIG = EmulatorConfig(
    ttft_ms=1.0,
    ms_per_output_token=0.0,
    jitter=0.0,
    beta_effects=(parse_beta_effect(f"{WORSE}:correct=-50"),),
)
CHECKS = """
import time

from runner.scoring import Score


def short(given):
    time.sleep(0.001)  # a blocking scorer: it must run off the event loop
    return Score(float(len(given.text)), len(given.text) < 10, f"{given.arm}/{given.model}")


def broken(given):
    raise RuntimeError("scorer bug")
"""
SCORERS = """
[[scorers]]
name = "correct"
type = "includes"

[[scorers]]
name = "short"
type = "python"
function = "checks:short"

[[scorers]]
name = "broken"
type = "python"
function = "checks:broken"

[[scorers]]
name = "preferred"
type = "judge"
mode = "pairwise"
model = "claude-haiku-4-5"

[[scorers]]
name = "graded"
type = "judge"
mode = "grade"
scale = 5
pass_at = 4
"""


def _experiment(directory: Path, url: str, scorers: str = SCORERS) -> Path:
    cases = "".join(
        f'[[cases]]\nid = "sum{i}"\nprompt = "What is {i} + {i * 3}?"\nexpected = "{4 * i}"\n'
        for i in range(1, 9)
    )
    text = f"""
    name = "scored"
    models = ["claude-sonnet-5"]
    [target]
    base_url = "{url}"
    [run]
    repeats = 2
    concurrency = 4
    seed = 3
    [request]
    max_tokens = 32
    [[arms]]
    name = "baseline"
    [[arms]]
    name = "worse"
    betas = ["{WORSE}"]
    """
    (directory / "checks.py").write_text(CHECKS, encoding="utf-8")
    path = directory / "experiment.toml"
    path.write_text(textwrap.dedent(text) + cases + scorers, encoding="utf-8")
    return path


@pytest.fixture
def scored_run(tmp_path: Path, keyed: str) -> tuple[Path, Path, EmulatorServer]:
    """A finished run of 32 requests with five scorers, and the emulator still serving. The
    run is complete; it exits 1 only because the `broken` scorer measured nothing."""
    server = EmulatorServer(CONFIG)
    server.__enter__()
    path = _experiment(tmp_path, server.url)
    code = run_cli(["run", path, "--results", tmp_path / "out", "--run-id", "r", "-q"])
    assert code == 1
    yield path, tmp_path / "out" / "scored" / "r", server
    server.__exit__(None, None, None)


def _messages(server: EmulatorServer) -> int:
    return sum(1 for r in server.app.received if r.path == "/v1/messages")


def test_a_run_scores_each_ok_answer_and_runs_its_judges(
    scored_run: tuple[Path, Path, EmulatorServer],
) -> None:
    """Every ok result has a row per answer scorer; judges have their own requests table."""
    _, run_dir, server = scored_run
    results = pl.read_parquet(run_dir / "results.parquet")
    scores = pl.read_parquet(run_dir / "scores.parquet")
    judges = pl.read_parquet(run_dir / "judge_requests.parquet")
    assert results.height == 32
    counts = dict(scores.group_by("scorer").len().iter_rows())
    assert counts == {"correct": 32, "short": 32, "broken": 32, "preferred": 16, "graded": 32}
    broken = scores.filter(pl.col("scorer") == "broken")
    assert broken["error"].unique().to_list() == ["checks:broken raised RuntimeError: scorer bug"]
    assert broken["value"].null_count() == 32
    short = scores.filter(pl.col("scorer") == "short")
    assert set(short["explanation"]) == {"baseline/claude-sonnet-5", "worse/claude-sonnet-5"}
    assert judges.height == 16 + 32
    assert set(judges["arm"]) == {"preferred", "graded"}
    assert set(judges.filter(pl.col("arm") == "preferred")["order"]) == {
        "arm_first",
        "baseline_first",
    }
    assert judges.filter(pl.col("arm") == "preferred")["model"].unique().to_list() == [
        "claude-haiku-4-5"
    ]
    assert (judges["status"] == "ok").all()
    assert judges["input_tokens"].min() > 0
    assert _messages(server) == 32 + 48
    bodies = [json.dumps(r.body) for r in server.app.received]
    judged = [body for body in bodies if "<question>" in body]
    assert len(judged) == 48
    assert not any("worse" in body or WORSE in body or "baseline" in body for body in judged)
    judge_headers = [r for r in server.app.received if "<question>" in json.dumps(r.body)]
    assert not any(r.header_values("anthropic-beta") for r in judge_headers)
    graded = scores.filter(pl.col("scorer") == "graded")
    assert graded["error"].null_count() == 32
    assert graded["value"].is_between(0, 5).all()


def test_score_adds_a_scorer_without_sending_anything_to_the_arms(
    scored_run: tuple[Path, Path, EmulatorServer],
) -> None:
    """A scorer added after the run gets rows; no Messages request is sent; others are kept."""
    path, run_dir, server = scored_run
    before = pl.read_parquet(run_dir / "scores.parquet")
    sent = _messages(server)
    added = SCORERS + '\n[[scorers]]\nname = "exact"\ntype = "exact"\n'
    path.write_text(path.read_text().replace(SCORERS, added), encoding="utf-8")
    assert run_cli(["score", run_dir]) == 0
    assert _messages(server) == sent
    after = pl.read_parquet(run_dir / "scores.parquet")
    assert after.filter(pl.col("scorer") == "exact").height == 32
    kept = after.filter(pl.col("scorer") != "exact").sort("request_key", "scorer")
    assert kept.equals(before.sort("request_key", "scorer"))
    assert not list((run_dir / "parts").glob("scores-*"))
    assert run_cli(["score", run_dir]) == 0  # nothing new or changed: nothing rewritten
    assert pl.read_parquet(run_dir / "scores.parquet").equals(after)


def test_rescoring_one_scorer_replaces_only_its_rows(
    scored_run: tuple[Path, Path, EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    """A changed scorer's fingerprint marks its rows stale; `score` replaces just those."""
    path, run_dir, server = scored_run
    before = pl.read_parquet(run_dir / "scores.parquet")
    changed = SCORERS.replace('type = "includes"', 'type = "includes"\nignore_case = true')
    path.write_text(path.read_text().replace(SCORERS, changed), encoding="utf-8")
    sent = _messages(server)
    assert run_cli(["score", run_dir, "--experiment", path]) == 0
    assert "correct (32 rows)" in capsys.readouterr().out
    assert _messages(server) == sent
    after = pl.read_parquet(run_dir / "scores.parquet")
    old = before.filter(pl.col("scorer") == "correct")["fingerprint"].unique()
    new = after.filter(pl.col("scorer") == "correct")["fingerprint"].unique()
    assert old.to_list() != new.to_list()
    others = pl.col("scorer") != "correct"
    assert (
        after.filter(others)
        .sort("request_key", "scorer")
        .equals(before.filter(others).sort("request_key", "scorer"))
    )


def test_score_with_an_unknown_scorer_name_is_a_usage_error(
    scored_run: tuple[Path, Path, EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo'd --scorer exits 2 naming the closest scorer."""
    _, run_dir, _ = scored_run
    assert run_cli(["score", run_dir, "--scorer", "corect"]) == 2
    assert "Did you mean 'correct'?" in capsys.readouterr().err


def test_gates_on_scores_fail_the_run_or_name_a_typo(
    scored_run: tuple[Path, Path, EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    """score.NAME, delta.score.NAME and arm=...: gates exit 1 when crossed; a typo exits 2."""
    _, run_dir, _ = scored_run
    capsys.readouterr()
    assert run_cli(["compare", run_dir, "--format", "csv", "--fail-on", "score.correct<0"]) == 0
    gate = "arm=worse:score.correct<0.95"
    assert run_cli(["compare", run_dir, "--format", "csv", "--fail-on", gate]) == 1
    err = capsys.readouterr().err
    assert "model claude-sonnet-5, arm worse: score.correct =" in err
    assert (
        run_cli(["compare", run_dir, "--format", "csv", "--fail-on", "delta.score.correct<-0.05"])
        == 1
    )
    assert "vs" in capsys.readouterr().err
    assert run_cli(["compare", run_dir, "--format", "csv", "--fail-on", "score.corect<0.9"]) == 2
    assert "Did you mean 'score.correct'?" in capsys.readouterr().err


def test_a_typo_in_a_score_gate_stops_the_run_before_anything_is_sent(
    tmp_path: Path, keyed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run --fail-on 'score.corect<0.9'` exits 2 naming the scorer; the emulator saw nothing."""
    with EmulatorServer(CONFIG) as server:
        path = _experiment(tmp_path, server.url)
        args = ["run", path, "--results", tmp_path / "out", "-q", "--fail-on", "score.corect<0.9"]
        assert run_cli(args) == 2
        assert _messages(server) == 0
    assert "no scorer named 'corect'" in capsys.readouterr().err


def test_regress_on_a_score_compares_with_the_previous_run(
    scored_run: tuple[Path, Path, EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    """A second run's score.correct is read against the first's: a relative change is always
    >= -100% (crossed, exit 1) and never < -100% (exit 0, checked by compare on the same run)."""
    path, run_dir, _ = scored_run
    out = run_dir.parent.parent
    args = ["run", path, "--results", out, "--run-id", "r2", "-q", "--allow-errors"]
    assert run_cli([*args, "--fail-on", "regress.score.correct>=-100%"]) == 1
    assert "regress.score.correct>=-100%" in capsys.readouterr().err
    second = out / "scored" / "r2"
    assert (
        run_cli(["compare", second, "--format", "csv", "--fail-on", "regress.score.correct<-100%"])
        == 0
    )


def test_the_report_shows_scores_disagreements_and_judge_explanations(
    scored_run: tuple[Path, Path, EmulatorServer],
) -> None:
    """A scores section (per arm, deltas, judge requests), badges under each answer with the
    judge's explanation, and a filter to the cases the arms disagree on."""
    _, run_dir, _ = scored_run
    assert run_cli(["report", run_dir]) == 0
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert '<section id="scores"><h2>Scores</h2>' in page
    assert 'id="scores-table"' in page
    assert 'id="score-deltas"' in page
    assert "Judge requests (not part of any arm's figures)" in page
    assert 'id="disagree-only"' in page
    scores = pl.read_parquet(run_dir / "scores.parquet")
    explanation = scores.filter(pl.col("scorer") == "preferred")["explanation"][0]
    assert explanation in page
    assert "<b>correct</b>: pass (1)" in page or "<b>correct</b>: fail (0)" in page
    flagged = page.count('data-disagree="1"')
    assert flagged >= 2  # each disagreeing case marks its option and its section
    results = pl.read_parquet(run_dir / "results.parquet")
    correct = scores.filter(pl.col("scorer") == "correct").join(results, on="request_key")
    per_case = correct.group_by("case_id", "repeat").agg(pl.col("passed").n_unique() > 1)
    assert per_case["passed"].any()


EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def test_the_structured_outputs_experiment_shows_valid_json_only_with_the_beta(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Against the emulator: the baseline's prose never validates, the structured arm always does;
    compare flags score.valid for both models with an exact McNemar p."""
    args = ["run", EXPERIMENTS / "structured_outputs.toml", "--local", "--run-id", "so", "-q"]
    assert run_cli([*args, "--results", tmp_path / "out"]) == 0
    run_dir = tmp_path / "out" / "structured-outputs" / "so"
    capsys.readouterr()
    assert run_cli(["compare", run_dir, "--format", "json"]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out) if r["metric"] == "score.valid"]
    assert len(rows) == 2
    for row in rows:
        assert (row["baseline"], row["value"], row["significant"]) == (0.0, 1.0, True)
        assert row["p_value"] == pytest.approx(2 / 2**12)


def test_rescoring_a_judge_sends_only_judge_requests(
    scored_run: tuple[Path, Path, EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    """`score --scorer preferred` re-sends the 16 pairwise judge requests and nothing else; its
    rows and its judge requests are replaced, not added to."""
    _, run_dir, server = scored_run
    sent = len(server.app.received)
    assert run_cli(["score", run_dir, "--scorer", "preferred"]) == 0
    new = server.app.received[sent:]
    assert len(new) == 16
    assert all("<answer_a>" in json.dumps(r.body) for r in new)
    scores = pl.read_parquet(run_dir / "scores.parquet")
    assert scores.filter(pl.col("scorer") == "preferred").height == 16
    judges = pl.read_parquet(run_dir / "judge_requests.parquet")
    assert judges.filter(pl.col("arm") == "preferred").height == 16
    assert judges.height == 48
    out = capsys.readouterr().out
    assert "preferred (16 rows)" in out
    assert "judge requests" in out


def test_tool_call_scorers_see_every_turn_of_a_conversation_case(
    tmp_path: Path, keyed: str
) -> None:
    """A conversation case's result holds every reply's blocks: a tool_call scorer finds the
    tool called on the first turn, and an includes scorer reads the final answer."""
    with EmulatorServer(CONFIG) as server:
        text = f"""
        name = "agent"
        models = ["claude-sonnet-5"]
        [target]
        base_url = "{server.url}"
        [request]
        max_tokens = 256
        [[request.tools]]
        name = "lookup_order"
        description = "Look up an order by id."
        input_schema = {{ type = "object", properties = {{ order_id = {{ type = "string" }} }}, required = ["order_id"] }}
        [tool_results]
        lookup_order = "Order A-1 was delivered on Monday."
        [[arms]]
        name = "baseline"
        [[cases]]
        id = "order"
        prompt = "Please use lookup_order to find order A-1."
        max_turns = 3
        [[scorers]]
        name = "looked_up"
        type = "tool_call"
        tool = "lookup_order"
        [[scorers]]
        name = "other_tool"
        type = "tool_call"
        tool = "issue_refund"
        """  # noqa: E501
        path = tmp_path / "agent.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        args = ["run", path, "--results", tmp_path / "out", "--run-id", "a", "-q"]
        assert run_cli(args) == 0
    scores = pl.read_parquet(tmp_path / "out" / "agent" / "a" / "scores.parquet")
    by_name = {r["scorer"]: r for r in scores.to_dicts()}
    assert by_name["looked_up"]["passed"] is True
    assert by_name["other_tool"]["passed"] is False
    assert by_name["other_tool"]["explanation"].startswith("expected a call to issue_refund")


def test_a_scorer_that_measured_nothing_is_one_line_and_exit_1(
    tmp_path: Path, keyed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every score of `broken` is an error: the run completes, says so in one line, exits 1;
    --allow-errors accepts it."""
    with EmulatorServer(CONFIG) as server:
        path = _experiment(
            tmp_path, server.url, SCORERS.split('[[scorers]]\nname = "preferred"')[0]
        )
        args = ["run", path, "--results", tmp_path / "out", "-q"]
        assert run_cli([*args, "--run-id", "a"]) == 1
        err = capsys.readouterr().err
        assert "scorer 'broken' scored nothing: all 32 scores are errors" in err
        assert "scorer 'short'" not in err
        assert run_cli([*args, "--run-id", "b", "--allow-errors"]) == 0
    manifest = json.loads((tmp_path / "out" / "scored" / "a" / "manifest.json").read_text())
    assert manifest["status"] == "complete"


def test_after_a_session_a_changed_scorer_is_rescored_whole(
    scored_run: tuple[Path, Path, EmulatorServer],
) -> None:
    """A resumed run whose scorer was edited must not mix two settings: the session's scoring
    pass replaces that scorer's rows and leaves the others alone."""
    path, run_dir, _ = scored_run
    before = pl.read_parquet(run_dir / "scores.parquet")
    edited = SCORERS.replace('type = "includes"', 'type = "includes"\nignore_case = true')
    path.write_text(path.read_text().replace(SCORERS, edited), encoding="utf-8")
    experiment = load_experiment(path).experiment
    directory = RunDirectory.open(run_dir)
    (changed,) = changed_scorers(experiment, directory)
    assert changed.name == "correct"
    counts = anyio.run(score_session, experiment, directory, None)
    assert counts["correct"] == 32
    after = pl.read_parquet(run_dir / "scores.parquet")
    correct = after.filter(pl.col("scorer") == "correct")
    assert correct["fingerprint"].unique().to_list() == [changed.fingerprint]
    others = pl.col("scorer") != "correct"
    assert (
        after.filter(others)
        .sort("request_key", "scorer")
        .equals(before.filter(others).sort("request_key", "scorer"))
    )
