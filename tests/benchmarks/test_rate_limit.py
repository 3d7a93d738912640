"""The rate-limit benchmark's arithmetic and command line: an ideal only when the bucket must
pace, exactly N requests sent, and meaningless arguments refused in one line."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.rate_limit import Figures, arguments, ideal_s, table, workload

FIGURES = (Figures("beta-runner", 30.6, 0.5, 0, 0), Figures("official SDK", 45.9, 2.0, 90, 0))


@pytest.mark.parametrize(
    ("requests", "rpm", "expected"),
    [
        pytest.param(900, 600, 30.0, id="paced"),
        pytest.param(601, 600, 0.1, id="one-over"),
        pytest.param(600, 600, None, id="fits-exactly"),
        pytest.param(30, 600, None, id="fits"),
    ],
)
def test_the_ideal_exists_only_when_the_bucket_runs_dry(
    requests: int, rpm: int, expected: float | None
) -> None:
    """(N - RPM) / (RPM / 60) seconds, or none when N requests fit in the full bucket."""
    assert ideal_s(requests, rpm) == (pytest.approx(expected) if expected else None)


def test_the_table_divides_by_the_ideal() -> None:
    """With an ideal, each contender's wall time is shown beside wall/ideal."""
    lines = table(FIGURES, 900, 600)
    assert lines[0] == "ideal 30.0 s"
    assert "wall/ideal" in lines[1]
    assert lines[2].split() == ["beta-runner", "30.6", "1.020", "0.0000", "0", "0.50"]
    assert lines[3].split()[-5:] == ["45.9", "1.530", "0.1000", "0", "2.00"]


def test_without_an_ideal_the_table_says_so_and_shows_wall_time_alone() -> None:
    """N <= RPM: no division by zero, no made-up ratio, one line saying why."""
    lines = table(FIGURES, 600, 600)
    assert lines[0].startswith("no ideal time (all 600 requests fit in the full 600 RPM bucket")
    assert "wall/ideal is undefined" in lines[0]
    assert "wall/ideal" not in lines[1]
    assert lines[2].split() == ["beta-runner", "30.6", "0.0000", "0", "0.50"]


@pytest.mark.parametrize("requests", [1, 10, 100, 900], ids=lambda n: f"n{n}")
def test_beta_runner_is_given_exactly_the_requests_asked_for(requests: int) -> None:
    """N requests, none twice, the arms within one of each other (N need not divide by 30)."""
    _, todo = workload("http://emulator", requests, 8, stream=True)
    assert len(todo) == len({p.key for p in todo}) == requests
    per_arm = Counter(p.arm.name for p in todo)
    assert max(per_arm.values()) - min(per_arm.values()) <= 1


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        pytest.param(["--requests", "0"], "--requests", id="zero-requests"),
        pytest.param(["--rpm", "-600"], "--rpm", id="negative-rpm"),
        pytest.param(["--concurrency", "0"], "--concurrency", id="zero-concurrency"),
        pytest.param(["--requests", "many"], "--requests", id="not-a-number"),
    ],
)
def test_meaningless_arguments_are_one_line_and_exit_2(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The line names the argument and the value; nothing is run."""
    with pytest.raises(SystemExit) as exit_info:
        arguments(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert named in err
    assert "must be a whole number above 0" in err
    assert repr(argv[1]) in err
