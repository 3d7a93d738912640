"""Reading `[[scorers]]` and a case's `expected` / `metadata`: typed objects, key-path errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.config.load import load_experiment
from runner.config.scorers import (
    IncludesScorer,
    JsonScorer,
    JudgeScorer,
    PythonScorer,
)
from runner.errors import ConfigError
from runner.scoring import Score, ScoreInput

HEAD = """
name = "scored"
models = ["claude-sonnet-5"]

[[arms]]
name = "baseline"

[[arms]]
name = "long-context"
betas = ["context-1m-2025-08-07"]

[[cases]]
id = "sum"
prompt = "What is 12 + 5?"
expected = "17"
metadata = { topic = "arithmetic", level = 1 }
"""


def _write(tmp_path: Path, scorers: str, files: dict[str, str] | None = None) -> Path:
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    path = tmp_path / "exp.toml"
    path.write_text(textwrap.dedent(HEAD) + textwrap.dedent(scorers), encoding="utf-8")
    return path


def test_cases_carry_expected_and_metadata_and_scorers_are_typed(tmp_path: Path) -> None:
    """`expected` and `metadata` reach the Case; each scorer table becomes its frozen type."""
    path = _write(
        tmp_path,
        """
        [[scorers]]
        name = "correct"
        type = "includes"
        ignore_case = true
        match = "any"

        [[scorers]]
        name = "shape"
        type = "json"
        schema_file = "schemas/answer.json"

        [[scorers]]
        name = "preferred"
        type = "judge"
        mode = "pairwise"
        """,
        {"schemas/answer.json": '{"type": "object", "required": ["answer"]}'},
    )
    experiment = load_experiment(path).experiment
    case = experiment.cases[0]
    assert (case.expected, case.metadata) == ("17", {"topic": "arithmetic", "level": 1})
    correct, shape, preferred = experiment.scorers
    assert correct == IncludesScorer("correct", ignore_case=True, match="any")
    assert shape == JsonScorer("shape", {"type": "object", "required": ["answer"]})
    assert isinstance(preferred, JudgeScorer)
    assert (preferred.mode, preferred.model) == ("pairwise", "claude-sonnet-5")


def test_a_python_scorer_resolves_relative_to_the_experiment_file(tmp_path: Path) -> None:
    """`module:callable` is imported from beside the experiment; the source is fingerprinted."""
    module = """
    from runner.scoring import Score

    def grade(given):
        return Score(1.0 if given.case.metadata["topic"] in given.text else 0.0, None, "topic")
    """
    scorer = '[[scorers]]\nname = "topical"\ntype = "python"\nfunction = "checks.mine:grade"\n'
    path = _write(tmp_path, scorer, {"checks/mine.py": module})
    first = load_experiment(path).experiment.scorers[0]
    assert isinstance(first, PythonScorer)
    case = load_experiment(path).experiment.cases[0]
    assert first.call(ScoreInput(case, "arithmetic!")) == Score(1.0, None, "topic")
    (tmp_path / "checks/mine.py").write_text(textwrap.dedent(module) + "\n# changed\n")
    assert load_experiment(path).experiment.scorers[0].fingerprint != first.fingerprint


@pytest.mark.parametrize(
    ("scorers", "files", "where", "message"),
    [
        (
            '[[scorers]]\nname = "c"\ntype = "includes"\nignore_cas = true\n',
            {},
            "scorers[0].ignore_cas",
            "Did you mean 'ignore_case'?",
        ),
        (
            '[[scorers]]\nname = "c"\ntype = "exact"\npattern = "x"\n',
            {},
            "scorers[0].pattern",
            "'pattern' is not an option of type 'exact'",
        ),
        (
            '[[scorers]]\nname = "c"\ntype = "python"\nfunction = "mod:grad"\n',
            {"mod.py": "def grade(given):\n    return 1\n"},
            "scorers[0].function",
            "Did you mean 'grade'?",
        ),
        (
            '[[scorers]]\nname = "c"\ntype = "python"\nfunction = "mod:grade"\n',
            {"mod.py": "raise ValueError('broken module')\n"},
            "scorers[0].function",
            "ValueError: broken module",
        ),
        (
            '[[scorers]]\nname = "c"\ntype = "length"\n',
            {},
            "scorers[0]",
            "needs a bound",
        ),
        (
            '[[scorers]]\nname = "c"\ntype = "json"\nschema_file = "s.json"\n',
            {"s.json": "[1, 2]"},
            "scorers[0].schema_file",
            "must hold one JSON object",
        ),
        (
            '[[scorers]]\nname = "has space"\ntype = "exact"\n',
            {},
            "scorers[0].name",
            "[A-Za-z0-9_]+",
        ),
    ],
    ids=["closest-option", "other-type-option", "closest-callable", "module-raises", "no-bound",
         "schema-not-object", "bad-name"],
)  # fmt: skip
def test_scorer_errors_name_the_file_the_key_and_a_fix(
    tmp_path: Path, scorers: str, files: dict[str, str], where: str, message: str
) -> None:
    """Every mistake is a ConfigError naming exp.toml and the key path."""
    path = _write(tmp_path, scorers, files)
    with pytest.raises(ConfigError) as caught:
        load_experiment(path)
    assert caught.value.path == path
    assert caught.value.where == where
    assert message in caught.value.problem


def test_a_schema_file_nested_too_deep_is_refused_at_its_line(tmp_path: Path) -> None:
    """A runaway schema file is a ConfigError naming it, never a RecursionError."""
    scorer = '[[scorers]]\nname = "c"\ntype = "json"\nschema_file = "s.json"\n'
    path = _write(tmp_path, scorer, {"s.json": '{"a": ' * 100_000 + "1" + "}" * 100_000})
    with pytest.raises(ConfigError) as caught:
        load_experiment(path)
    assert caught.value.path == tmp_path / "s.json"
    assert caught.value.where == "line 1"
    assert "nest more than" in caught.value.problem
