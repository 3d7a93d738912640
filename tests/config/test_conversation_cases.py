"""Tests for a case's conversation fields: tools, tool_results, turns and max_turns."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.config.conversation import DEFAULT_MAX_TURNS
from runner.config.load import load_experiment
from runner.config.types import Experiment
from runner.errors import ConfigError
from runner.results.manifest import experiment_document, fingerprint

HEAD = """
name = "agent"
models = ["claude-sonnet-5-5"]
[[arms]]
name = "baseline"
"""
WEATHER = (
    'tools = [{ name = "get_weather", description = "Weather for a city", input_schema = '
    '{ type = "object", properties = { city = { type = "string" } }, required = ["city"] } }]'
)


def _load(tmp_path: Path, body: str, files: dict[str, str] | None = None) -> Experiment:
    for name, text in (files or {}).items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")
    path = tmp_path / "exp.toml"
    top, _, rest = textwrap.dedent(body).rpartition("#top\n")
    path.write_text(top + HEAD + rest, encoding="utf-8")
    return load_experiment(path).experiment


def _error(tmp_path: Path, body: str, files: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, body, files)
    return caught.value


def test_the_issue_example_parses_into_a_conversation_case(tmp_path: Path) -> None:
    """tools + tool_results + max_turns: a conversation with one scripted tool."""
    body = f"""
    [[cases]]
    id = "weather"
    prompt = "Should I take an umbrella in Oslo today?"
    max_turns = 6
    {WEATHER}
    [cases.tool_results]
    get_weather = "Rain, 9 C"
    """
    case = _load(tmp_path, body).cases[0]
    assert case.conversation
    assert case.max_turns == 6
    assert case.tools[0]["name"] == "get_weather"
    assert case.script("get_weather").replies == ("Rain, 9 C",)
    assert case.script("other") is None


def test_a_plain_case_is_one_request(tmp_path: Path) -> None:
    """Without conversation fields a case stays a single request."""
    case = _load(tmp_path, '[[cases]]\nid = "a"\nprompt = "Hi"\n').cases[0]
    assert not case.conversation
    assert case.max_turns == 1


def test_turns_open_with_the_first_and_script_the_rest(tmp_path: Path) -> None:
    """turns[0] is the first user message; the rest are follow-ups; max_turns defaults."""
    case = _load(tmp_path, '[[cases]]\nid = "t"\nturns = ["one", "two", "three"]\n').cases[0]
    assert case.messages == ({"role": "user", "content": "one"},)
    assert case.follow_ups == ("two", "three")
    assert case.max_turns == DEFAULT_MAX_TURNS


def test_python_tool_resolves_next_to_the_experiment_and_lists_are_kept(tmp_path: Path) -> None:
    """{ function = "module:callable" } finds tools/support.py beside the experiment file."""
    files = {"tools/support.py": "def lookup(args):\n    return 'order ' + args['id']\n"}
    body = """
    [tool_results]
    lookup = { function = "tools.support:lookup" }
    status = ["first", "second"]
    [[cases]]
    id = "a"
    prompt = "Hi"
    [[cases]]
    id = "b"
    prompt = "Hi"
    tool_results = { status = "own" }
    """
    experiment = _load(tmp_path, body, files)
    first, second = experiment.cases
    assert first.script("lookup").call({"id": "7"}) == "order 7"
    assert first.script("status").replies == ("first", "second")
    assert second.script("status").replies == ("own",)
    assert second.script("lookup").function == "tools.support:lookup"
    document = experiment_document(experiment)
    assert "call" not in document["cases"][0]["tool_results"][0]
    assert fingerprint(experiment)


@pytest.mark.parametrize(
    ("body", "where", "says"),
    [
        pytest.param(
            '[[cases]]\nid = "a"\nprompt = "x"\ntool_results = { t = { function = "nomod:f" } }\n',
            "cases[0].tool_results.t.function",
            "no module 'nomod'",
            id="missing-module",
        ),
        pytest.param(
            '[[cases]]\nid = "a"\nprompt = "x"\n'
            'tool_results = { t = { function = "tools:lokup" } }\n',
            "cases[0].tool_results.t.function",
            "Did you mean 'lookup'?",
            id="missing-callable",
        ),
        pytest.param(
            '[[cases]]\nid = "a"\nprompt = "x"\ntool_results = { t = { function = "tools" } }\n',
            "cases[0].tool_results.t.function",
            "module:callable",
            id="no-colon",
        ),
        pytest.param(
            '[[cases]]\nid = "a"\nprompt = "x"\ntool_results = { t = 3 }\n',
            "cases[0].tool_results.t",
            "the integer 3",
            id="wrong-kind",
        ),
        pytest.param(
            '[[cases]]\nid = "a"\nprompt = "x"\ntool_results = { t = { fn = "a:b" } }\n',
            "cases[0].tool_results.t.fn",
            "Unknown key 'fn'",
            id="unknown-key",
        ),
        pytest.param(
            '[[cases]]\nid = "a"\nturns = ["one", "two"]\nmax_turns = 1\n',
            "cases[0].max_turns",
            "at least 2",
            id="max-turns-below-turns",
        ),
        pytest.param(
            '[[cases]]\nid = "a"\nprompt = "x"\nturns = ["one"]\n',
            "cases[0].turns",
            "not prompt and turns",
            id="prompt-and-turns",
        ),
        pytest.param(
            '[[cases]]\nid = "a"\nprompt = "x"\ntools = [{ name = "t" }]\n',
            "cases[0].tools[0].input_schema",
            "input_schema",
            id="tool-without-schema",
        ),
        pytest.param(
            '[[cases]]\nid = "a"\nprompt = "x"\nmax_turns = 0\n',
            "cases[0].max_turns",
            "from 1 to 100",
            id="max-turns-zero",
        ),
    ],
)
def test_bad_conversation_fields_name_the_key(
    tmp_path: Path, body: str, where: str, says: str
) -> None:
    """Each malformed field is a ConfigError naming its key path."""
    files = {"tools.py": "def lookup(args):\n    return 'x'\n"}
    error = _error(tmp_path, body, files)
    assert error.where == where
    assert says in error.problem


def test_a_raising_module_is_a_config_error(tmp_path: Path) -> None:
    """A tool module that fails to import is a ConfigError, not a traceback."""
    files = {"broken.py": "raise RuntimeError('boom')\n"}
    body = '[[cases]]\nid = "a"\nprompt = "x"\ntool_results = { t = { function = "broken:f" } }\n'
    error = _error(tmp_path, body, files)
    assert "RuntimeError: boom" in error.problem


def test_jsonl_cases_take_the_same_fields(tmp_path: Path) -> None:
    """A cases file line may carry tools, tool_results and turns, read like inline ones."""
    line = (
        '{"id": "j", "turns": ["hi", "and then?"], "tool_results": {"t": ["a", "b"]}, '
        '"tools": [{"name": "t", "input_schema": {"type": "object"}}]}\n'
    )
    experiment = _load(tmp_path, 'cases_file = "cases.jsonl"\n#top\n', {"cases.jsonl": line})
    case = experiment.cases[0]
    assert case.follow_ups == ("and then?",)
    assert case.script("t").replies == ("a", "b")


def test_jsonl_errors_name_the_line(tmp_path: Path) -> None:
    """A bad tool_results value in the cases file names the file and its line."""
    lines = '{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": "x", "tool_results": {"t": []}}\n'
    error = _error(tmp_path, 'cases_file = "cases.jsonl"\n#top\n', {"cases.jsonl": lines})
    assert error.path.name == "cases.jsonl"
    assert error.where == "line 2, tool_results.t"


def test_scripting_a_tool_nobody_offers_warns(tmp_path: Path) -> None:
    """A scripted tool that no tools list names is a warning (the model cannot call it)."""
    path = tmp_path / "exp.toml"
    body = '[[cases]]\nid = "a"\nprompt = "x"\ntool_results = { ghost = "boo" }\n'
    path.write_text(HEAD + body, encoding="utf-8")
    warnings = load_experiment(path).warnings
    assert any("'ghost'" in w and "cannot call it" in w for w in warnings)
