"""Tests for runner.config.load: parsing experiments, their errors and their warnings."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest
from bad_inputs import BadInput, bad_inputs

from runner.config.load import LoadedExperiment, load_experiment
from runner.config.types import DEFAULT_BASE_URL, RetryPolicy, RunSettings, Target
from runner.errors import ConfigError, UsageError

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
TODAY = date(2026, 11, 23)

MINIMAL = """
name = "mini"
models = ["claude-sonnet-5"]

[[arms]]
name = "baseline"

[[arms]]
name = "tet"
betas = ["token-efficient-tools-2025-02-19"]

[[cases]]
id = "one"
prompt = "Hi"
"""

HEAD = 'name = "mini"\nmodels = ["claude-sonnet-5"]\n'
CASE = '\n[[cases]]\nid = "one"\nprompt = "Hi"\n'


def write(tmp_path: Path, text: str, extra: dict[str, str] | None = None) -> Path:
    """Write an experiment, and extra files by relative path, under tmp_path."""
    for name, content in (extra or {}).items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    path = tmp_path / "exp.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(path: Path, env_base_url: str | None = None) -> LoadedExperiment:
    """load_experiment with a fixed 'today'."""
    return load_experiment(path, env_base_url=env_base_url, today=TODAY)


def error_of(path: Path) -> ConfigError:
    """The ConfigError that loading `path` raises."""
    with pytest.raises(ConfigError) as caught:
        load(path)
    return caught.value


# --- the bad-input corpus ------------------------------------------------------------------


@pytest.mark.parametrize("bad", [b for b in bad_inputs() if not b.cli_only], ids=lambda bad: bad.id)
def test_bad_input_raises_config_error_naming_file_and_key(bad: BadInput) -> None:
    """Each corpus file raises a ConfigError naming the right file and key path or line."""
    error = error_of(bad.path)
    assert (error.where, error.path) == (bad.where, bad.file)
    assert str(bad.file) in str(error)
    assert bad.where in str(error)
    assert bad.message in str(error)
    assert error.problem.endswith(".")


@pytest.mark.parametrize("bad", [b for b in bad_inputs() if b.cli_only], ids=lambda bad: bad.id)
def test_cli_corpus_entries_hold_valid_experiments(bad: BadInput) -> None:
    """A command-line case's experiment loads: only its words or variables are wrong."""
    load(bad.path)


def test_bad_input_corpus_is_large_and_explained() -> None:
    """The corpus holds at least 100 entries, each with a reason and a message to show."""
    entries = bad_inputs()
    assert len(entries) >= 100
    assert all(entry.why for entry in entries)


# --- the shipped experiments ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "expected_warnings"),
    [
        ("quickstart.toml", []),
        ("interleaved_thinking.toml", []),
        (
            "token_efficient_tools.toml",
            ["only changes anything on claude-3-7-sonnet"],
        ),
        ("agent_tools.toml", []),
        ("compaction.toml", []),
        ("structured_outputs.toml", []),
        ("judged_fast_mode.toml", []),
    ],
    ids=[
        "quickstart",
        "interleaved_thinking",
        "token_efficient_tools",
        "agent_tools",
        "compaction",
        "structured_outputs",
        "judged_fast_mode",
    ],
)
def test_shipped_experiment_loads(file_name: str, expected_warnings: list[str]) -> None:
    """Each shipped experiment loads, with only the warnings its comments announce."""
    loaded = load(EXPERIMENTS / file_name)
    assert len(loaded.warnings) == len(expected_warnings)
    for warning, expected in zip(loaded.warnings, expected_warnings, strict=True):
        assert expected in warning


def test_quickstart_shape() -> None:
    """The quickstart has >= 6 cases, 2 models, a baseline and a two-beta arm, repeats 2."""
    experiment = load(EXPERIMENTS / "quickstart.toml").experiment
    assert len(experiment.cases) >= 6
    assert len(experiment.models) == 2
    assert experiment.arms[0].betas == ()
    assert any(len(arm.betas) == 2 for arm in experiment.arms)
    assert (experiment.run.repeats, experiment.run.concurrency) == (2, 8)
    assert experiment.request_count == 72  # the README says 72
    assert [s.name for s in experiment.scorers] == ["correct"]
    assert [c.id for c in experiment.cases if c.expected is not None] == ["arithmetic"]


def test_interleaved_thinking_matrix_arms() -> None:
    """The interleaved-thinking matrix makes the four subset arms, overrides only where due."""
    arms = load(EXPERIMENTS / "interleaved_thinking.toml").experiment.arms
    assert [arm.name for arm in arms] == [
        "baseline",
        "interleaved-thinking",
        "context-management",
        "interleaved-thinking+context-management",
    ]
    assert [("context_management" in arm.request) for arm in arms] == [False, False, True, True]


# --- file-level failures -------------------------------------------------------------------


def test_missing_experiment_file_names_it(tmp_path: Path) -> None:
    """A path that does not exist raises a ConfigError naming it."""
    error = error_of(tmp_path / "nope.toml")
    assert "nope.toml" in str(error)
    assert "does not exist" in error.problem


def test_non_utf8_experiment_written_at_test_time(tmp_path: Path) -> None:
    """Latin-1 bytes in an experiment give a ConfigError with the line number."""
    path = tmp_path / "latin1.toml"
    path.write_bytes(HEAD.encode() + b'description = "na\xefve"\n')
    assert error_of(path).where == "line 3"


def test_toml_error_reports_line_and_column(tmp_path: Path) -> None:
    """A TOML syntax error reports tomllib's line and column."""
    error = error_of(write(tmp_path, 'name = "x"\nmodels = = 1\n'))
    assert error.where == "line 2, column 10"
    assert "not valid TOML" in error.problem


# --- defaults and values -------------------------------------------------------------------


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    """Absent sections take the config defaults, and max_tokens defaults to 1024."""
    experiment = load(write(tmp_path, MINIMAL)).experiment
    assert experiment.target == Target()
    assert experiment.run == RunSettings()
    assert experiment.request == {"max_tokens": 1024}
    assert experiment.request_count == 2


def test_run_settings_and_retry_shortcuts(tmp_path: Path) -> None:
    """[run] values, the retry shortcuts and [run.rate_limits] land in the typed objects."""
    text = MINIMAL + textwrap.dedent(
        """
        [run]
        repeats = 3
        concurrency = 4
        stream = false
        timeout_s = 30
        seed = 9
        max_attempts = 2
        deadline_s = 120

        [run.retry]
        initial_backoff_s = 0
        max_backoff_s = 1.5

        [run.rate_limits]
        rpm = 50
        otpm = 8000
        output_counting = "generated"
        """
    )
    run = load(write(tmp_path, text)).experiment.run
    assert (run.repeats, run.concurrency, run.stream, run.timeout_s, run.seed) == (
        3, 4, False, 30.0, 9,
    )  # fmt: skip
    assert run.retry == RetryPolicy(2, 120.0, 0.0, 1.5)
    assert (run.rate_limits.rpm, run.rate_limits.itpm, run.rate_limits.otpm) == (50, None, 8000)
    assert run.rate_limits.output_counting == "generated"


def test_max_backoff_below_initial_is_an_error(tmp_path: Path) -> None:
    """max_backoff_s below initial_backoff_s is refused."""
    text = MINIMAL + "\n[run.retry]\ninitial_backoff_s = 5\nmax_backoff_s = 1\n"
    assert error_of(write(tmp_path, text)).where == "run.retry.max_backoff_s"


@pytest.mark.parametrize(
    ("toml_url", "env_url", "expected"),
    [
        ("http://127.0.0.1:9000/", "http://env:1", "http://127.0.0.1:9000"),
        (None, "http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        (None, None, DEFAULT_BASE_URL),
        (None, "", DEFAULT_BASE_URL),
    ],
    ids=["toml-wins", "env", "default", "empty-env"],
)
def test_base_url_precedence(
    tmp_path: Path, toml_url: str | None, env_url: str | None, expected: str
) -> None:
    """base_url comes from the TOML, else ANTHROPIC_BASE_URL, else the default."""
    target = f'\n[target]\nbase_url = "{toml_url}"\n' if toml_url else ""
    experiment = load(write(tmp_path, MINIMAL + target), env_base_url=env_url).experiment
    assert experiment.target.base_url == expected


def test_bad_env_base_url_is_an_error(tmp_path: Path) -> None:
    """A malformed ANTHROPIC_BASE_URL is a usage error naming the variable."""
    with pytest.raises(UsageError, match="ANTHROPIC_BASE_URL"):
        load(write(tmp_path, MINIMAL), env_base_url="localhost:8000")


def test_api_key_in_file_is_never_echoed(tmp_path: Path) -> None:
    """An API key pasted into api_key_env is refused without repeating it."""
    key = "sk-ant-api03-" + "x" * 40
    error = error_of(write(tmp_path, MINIMAL + f'\n[target]\napi_key_env = "{key}"\n'))
    assert key not in str(error)
    assert "never hold the key" in error.problem


def test_lowercase_env_name_is_an_error(tmp_path: Path) -> None:
    """api_key_env must look like an environment variable name."""
    error = error_of(write(tmp_path, MINIMAL + '\n[target]\napi_key_env = "my_key"\n'))
    assert error.where == "target.api_key_env"


# --- requests and arms ---------------------------------------------------------------------


def test_arm_request_and_headers(tmp_path: Path) -> None:
    """Arm overrides stay separate from [request]; custom headers pass through."""
    text = (
        HEAD
        + textwrap.dedent(
            """
        [request]
        max_tokens = 300
        temperature = 0.5

        [[arms]]
        name = "baseline"

        [[arms]]
        name = "think"
        betas = ["interleaved-thinking-2025-05-14"]
        request = { thinking = { type = "enabled", budget_tokens = 2048 }, tools = [] }
        headers = { "anthropic-user-profile-id" = "up_1" }
        """
        )
        + CASE
    )
    experiment = load(write(tmp_path, text)).experiment
    assert experiment.request == {"max_tokens": 300, "temperature": 0.5}
    arm = experiment.arms[1]
    assert arm.request["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert arm.headers == {"anthropic-user-profile-id": "up_1"}
    assert arm.beta_header == "interleaved-thinking-2025-05-14"


@pytest.mark.parametrize(
    "header", ["anthropic-beta", "X-API-Key", "Authorization", "Anthropic-Version"]
)
def test_reserved_headers_refused_in_any_case(tmp_path: Path, header: str) -> None:
    """Headers beta-runner sets itself cannot be set in arms.headers, whatever their case."""
    text = HEAD + f'\n[[arms]]\nname = "a"\nheaders = {{ "{header}" = "v" }}\n' + CASE
    assert error_of(write(tmp_path, text)).where == f"arms[0].headers.{header}"


@pytest.mark.parametrize("key", ["model", "messages", "stream"])
def test_runner_controlled_request_keys_refused(tmp_path: Path, key: str) -> None:
    """[request] cannot set model, messages or stream, and the error says which table does."""
    error = error_of(write(tmp_path, MINIMAL + f'\n[request]\n{key} = "x"\n'))
    assert error.where == f"request.{key}"
    assert "set by beta-runner" in error.problem


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ("temperature = true", "request.temperature"),
        ("top_k = 1.5", "request.top_k"),
        ('tools = "none"', "request.tools"),
        ("stop_sequences = [1]", "request.stop_sequences"),
        ("max_tokens = 0", "request.max_tokens"),
    ],
    ids=["bool-temperature", "float-top_k", "string-tools", "int-stop", "zero-max_tokens"],
)
def test_known_request_fields_are_type_checked(tmp_path: Path, line: str, where: str) -> None:
    """Known body fields must have the right JSON type."""
    assert error_of(write(tmp_path, MINIMAL + f"\n[request]\n{line}\n")).where == where


def test_unknown_request_field_is_a_warning(tmp_path: Path) -> None:
    """An unknown body field is sent as given, with a warning suggesting the close one."""
    loaded = load(write(tmp_path, MINIMAL + "\n[request]\nmax_token = 5\n"))
    assert loaded.experiment.request["max_token"] == 5
    assert any("Did you mean 'max_tokens'" in warning for warning in loaded.warnings)


def test_sampling_fields_warned_under_new_api_version(tmp_path: Path) -> None:
    """temperature under anthropic-version 2026-10-21 is warned about (the API answers 400)."""
    text = MINIMAL + '\n[target]\nanthropic_version = "2026-10-21"\n\n[request]\ntemperature = 0\n'
    assert any("removed temperature" in warning for warning in load(write(tmp_path, text)).warnings)


def test_unknown_but_well_formed_beta_is_a_warning(tmp_path: Path) -> None:
    """A well-formed beta missing from the catalog loads, with a warning."""
    text = HEAD + '\n[[arms]]\nname = "a"\n\n[[arms]]\nname = "b"\nbetas = ["shiny-2030-01-01"]\n'
    loaded = load(write(tmp_path, text + CASE))
    assert loaded.experiment.arms[1].betas == ("shiny-2030-01-01",)
    assert any("arms[1].betas[0]" in w and "not in beta-runner's" in w for w in loaded.warnings)


def test_no_baseline_arm_is_a_warning(tmp_path: Path) -> None:
    """Arms that all send betas load, with a warning that there is no baseline."""
    text = HEAD + '\n[[arms]]\nname = "a"\nbetas = ["token-efficient-tools-2025-02-19"]\n'
    loaded = load(write(tmp_path, text + CASE))
    assert any("no baseline arm" in warning for warning in loaded.warnings)


def test_beta_without_needed_fields_is_a_warning(tmp_path: Path) -> None:
    """A beta whose needed body fields are absent gets a warning naming them."""
    loaded = load(write(tmp_path, MINIMAL))
    assert any("no effect without tools in the request" in warning for warning in loaded.warnings)


def test_beta_for_other_models_only_is_a_warning(tmp_path: Path) -> None:
    """token-efficient-tools on Claude 4+ models only is warned to be a no-op."""
    loaded = load(write(tmp_path, MINIMAL))
    assert any("only changes anything on claude-3-7-sonnet" in w for w in loaded.warnings)


def test_not_messages_beta_is_a_warning(tmp_path: Path) -> None:
    """A beta for another endpoint (batches) in an arm is warned about."""
    text = HEAD + '\n[[arms]]\nname = "a"\n\n[[arms]]\nname = "b"\n'
    text += 'betas = ["message-batches-2024-09-24"]\n' + CASE
    assert any("not a Messages feature" in w for w in load(write(tmp_path, text)).warnings)


# --- arm_matrix ----------------------------------------------------------------------------


def matrix(tmp_path: Path, body: str) -> LoadedExperiment:
    """Load an experiment whose arms come from the given [arm_matrix] body."""
    return load(write(tmp_path, HEAD + "\n[arm_matrix]\n" + textwrap.dedent(body) + CASE))


def test_matrix_each_mode_default(tmp_path: Path) -> None:
    """mode "each" (the default) makes the baseline plus each beta alone."""
    body = 'betas = ["interleaved-thinking-2025-05-14", "token-efficient-tools-2025-02-19"]\n'
    arms = matrix(tmp_path, body).experiment.arms
    assert [(arm.name, arm.betas) for arm in arms] == [
        ("baseline", ()),
        ("interleaved-thinking", ("interleaved-thinking-2025-05-14",)),
        ("token-efficient-tools", ("token-efficient-tools-2025-02-19",)),
    ]


def test_matrix_subsets_without_baseline(tmp_path: Path) -> None:
    """mode "subsets" with baseline = false makes every non-empty subset, in order."""
    body = """
        betas = ["a-2025-01-01", "b-2025-01-01", "c-2025-01-01"]
        mode = "subsets"
        baseline = false
    """
    names = [arm.name for arm in matrix(tmp_path, body).experiment.arms]
    assert names == ["a", "b", "c", "a+b", "a+c", "b+c", "a+b+c"]


def test_matrix_subsets_cap_allows_64_arms(tmp_path: Path) -> None:
    """Six betas in subsets mode (64 arms with the baseline) are allowed."""
    betas = ", ".join(f'"b{i}-2025-01-01"' for i in range(6))
    arms = matrix(tmp_path, f'betas = [{betas}]\nmode = "subsets"\n').experiment.arms
    assert len(arms) == 64
    assert len({arm.name for arm in arms}) == 64


def test_matrix_names_keep_dates_when_short_names_clash(tmp_path: Path) -> None:
    """Two versions of one beta keep their full names so arm names stay unique."""
    body = 'betas = ["mcp-client-2025-04-04", "mcp-client-2025-11-20", "fast-mode-2026-02-01"]\n'
    names = [arm.name for arm in matrix(tmp_path, body).experiment.arms]
    assert names == ["baseline", "mcp-client-2025-04-04", "mcp-client-2025-11-20", "fast-mode"]


def test_matrix_requests_apply_to_arms_with_the_beta(tmp_path: Path) -> None:
    """[arm_matrix.requests."<beta>"] overrides go to every arm containing that beta."""
    body = """
        betas = ["fast-mode-2026-02-01", "cache-diagnosis-2026-04-07"]
        mode = "subsets"

        [arm_matrix.requests."fast-mode-2026-02-01"]
        speed = "fast"
    """
    arms = matrix(tmp_path, body).experiment.arms
    assert [arm.request for arm in arms] == [{}, {"speed": "fast"}, {}, {"speed": "fast"}]


def test_matrix_clashing_overrides_warn(tmp_path: Path) -> None:
    """Two betas' overrides setting one key in the same arm give a warning."""
    body = """
        betas = ["a-2025-01-01", "b-2025-01-01"]
        mode = "subsets"
        requests = { a-2025-01-01 = { max_tokens = 10 }, b-2025-01-01 = { max_tokens = 20 } }
    """
    loaded = matrix(tmp_path, body)
    assert loaded.experiment.arms[-1].request == {"max_tokens": 20}
    assert any("set max_tokens" in warning for warning in loaded.warnings)


def test_matrix_needs_betas(tmp_path: Path) -> None:
    """An empty arm_matrix.betas is an error."""
    with pytest.raises(ConfigError, match=r"arm_matrix\.betas"):
        matrix(tmp_path, "betas = []\n")


# --- cases ---------------------------------------------------------------------------------


def test_prompt_becomes_one_user_message(tmp_path: Path) -> None:
    """prompt = "..." becomes a single user message; source names the key path."""
    case = load(write(tmp_path, MINIMAL)).experiment.cases[0]
    assert case.messages == ({"role": "user", "content": "Hi"},)
    assert (case.system, case.source) == (None, "cases[0]")


def test_cases_file_read_with_blank_lines_and_sources(tmp_path: Path) -> None:
    """JSONL cases follow inline ones, blank lines are skipped, and sources give file:line."""
    lines = [
        '{"id": "f1", "prompt": "A", "system": [{"type": "text", "text": "S"}]}',
        "",
        '{"id": "f2", "messages": [{"role": "user", "content": [{"type": "text", "text": "B"}]}]}',
    ]
    path = write(
        tmp_path,
        'cases_file = "data/c.jsonl"\n' + MINIMAL,
        {"data/c.jsonl": "\n".join(lines) + "\n"},
    )
    cases = load(path).experiment.cases
    assert [case.id for case in cases] == ["one", "f1", "f2"]
    assert [case.source for case in cases] == ["cases[0]", "data/c.jsonl:1", "data/c.jsonl:3"]
    assert cases[1].system == [{"type": "text", "text": "S"}]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"id": "a", "id": "b", "prompt": "x"}', "appears twice"),
        ('{"id": "a", "prompt": NaN}', "NaN"),
        ('{"id": "a", "messages": [{"role": "user", "content": [{"text": "x"}]}]}', "type"),
    ],
    ids=["duplicate-key", "nan", "block-without-type"],
)
def test_jsonl_rejects_odd_json(tmp_path: Path, line: str, problem: str) -> None:
    """Duplicate keys, NaN and typeless content blocks in a cases file are errors on line 1."""
    path = write(
        tmp_path, 'cases_file = "c.jsonl"\n' + HEAD + '[[arms]]\nname = "a"\n', {"c.jsonl": line}
    )
    error = error_of(path)
    assert error.path == tmp_path / "c.jsonl"
    assert error.where.startswith("line 1")
    assert problem in error.problem


def test_model_warnings(tmp_path: Path) -> None:
    """Deprecated, retired and unknown models each give a warning naming the model."""
    text = MINIMAL.replace(
        '["claude-sonnet-5"]', '["claude-sonnet-4-5", "claude-opus-4-0", "claude-sonet-5"]'
    )
    warnings = load(write(tmp_path, text)).warnings
    assert any("models[0]" in w and "2026-11-30" in w for w in warnings)
    assert any("models[1]" in w and "404" in w for w in warnings)
    assert any("models[2]" in w and "Did you mean 'claude-sonnet-5'" in w for w in warnings)


def test_bad_retry_shortcut_is_reported_where_written(tmp_path: Path) -> None:
    """An invalid [run] retry shortcut is reported at run.max_attempts, not run.retry."""
    error = error_of(write(tmp_path, MINIMAL + "\n[run]\nmax_attempts = 0\n"))
    assert error.where == "run.max_attempts"
