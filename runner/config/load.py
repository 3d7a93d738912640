"""Load one experiment TOML file into a frozen `Experiment`, or fail with a `ConfigError`.

This is the one place an experiment file is parsed. Every error names the file and the key
path (or line); things that may still work but deserve a look (an uncatalogued beta or model,
a beta whose needed fields are missing) come back as warning sentences instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from runner.catalog.models import model_warning
from runner.catalog.prices import PriceTable
from runner.config.arms import effect_warnings, read_arms
from runner.config.base_url import base_url_problem, normalised
from runner.config.body import merged, read_request, version_warnings, with_default_max_tokens
from runner.config.cases import read_cases
from runner.config.conversation import read_tool_results, script_warnings
from runner.config.files import read_toml
from runner.config.names import name_problem
from runner.config.prices import unpriced_warning, with_overrides
from runner.config.scorers import JudgeScorer, read_scorers
from runner.config.tables import Location, Table
from runner.config.types import (
    API_VERSIONS,
    DEFAULT_API_KEY_ENV,
    DEFAULT_BASE_URL,
    Experiment,
    RateLimits,
    RetryPolicy,
    RunSettings,
    Target,
)
from runner.errors import UsageError

MAX_REQUESTS = 10_000_000
TOP_KEYS = (
    "name", "description", "models", "cases_file", "cases",
    "target", "run", "request", "arms", "arm_matrix", "prices", "tool_results", "scorers",
)  # fmt: skip
TARGET_KEYS = ("base_url", "api_key_env", "anthropic_version")
RUN_KEYS = (
    "repeats", "concurrency", "stream", "timeout_s", "seed",
    "max_attempts", "deadline_s", "retry", "rate_limits",
)  # fmt: skip
RETRY_KEYS = ("max_attempts", "deadline_s", "initial_backoff_s", "max_backoff_s")
RATE_LIMIT_KEYS = ("rpm", "itpm", "otpm", "output_counting")
ENV_NAME_RE = re.compile(r"[A-Z_][A-Z0-9_]*")


@dataclass(frozen=True)
class LoadedExperiment:
    """A parsed experiment and the warnings worth showing before it runs."""

    experiment: Experiment
    warnings: tuple[str, ...]


def load_experiment(
    path: str | Path, *, env_base_url: str | None = None, today: date | None = None
) -> LoadedExperiment:
    """Parse the experiment at `path`; `env_base_url` is ANTHROPIC_BASE_URL, if set.

    Raises ConfigError for anything malformed. `today` (default: the UTC date) decides
    whether a deprecated model is already retired.
    """
    path = Path(path)
    root = Table.read(Location(path), "", read_toml(path), TOP_KEYS)
    warnings: list[str] = []
    target = _target(root, env_base_url)
    run = _run(root.table("run", RUN_KEYS))
    request = with_default_max_tokens(read_request(root, "request", warnings))
    arms = read_arms(root, warnings)
    models = _models(root, today or datetime.now(UTC).date(), warnings)
    experiment = Experiment(
        name=_name(root),
        path=path,
        models=models,
        arms=arms,
        cases=read_cases(root, read_tool_results(root, path.parent)),
        description=root.text("description", ""),
        target=target,
        run=run,
        request=request,
        prices=_prices(root),
        scorers=read_scorers(root, models[0]),
    )
    _check_request_count(root, experiment)
    _check_pairwise_judges(root, experiment)
    warnings += effect_warnings(arms, request, run.stream, models)
    warnings += _version_warnings(experiment)
    warnings += script_warnings(experiment.cases, request, arms)
    unpriced = unpriced_warning(experiment.prices, experiment.models)
    warnings += [unpriced] if unpriced else []
    return LoadedExperiment(experiment, tuple(dict.fromkeys(warnings)))


def _check_request_count(root: Table, experiment: Experiment) -> None:
    """One run holds at most MAX_REQUESTS requests."""
    if experiment.request_count <= MAX_REQUESTS:
        return
    raise root.loc.error(
        "run.repeats",
        f"The experiment makes {experiment.request_count:,} requests ({len(experiment.cases)}"
        f" cases x {len(experiment.models)} models x {len(experiment.arms)} arms x "
        f"{experiment.run.repeats} repeats), more than the {MAX_REQUESTS:,} one run holds; "
        "lower the repeats or split the cases.",
    )


def _check_pairwise_judges(root: Table, experiment: Experiment) -> None:
    """A pairwise judge compares an arm with the baseline, so it needs a second arm."""
    if len(experiment.arms) > 1:
        return
    for index, scorer in enumerate(experiment.scorers):
        if isinstance(scorer, JudgeScorer) and scorer.mode == "pairwise":
            raise root.loc.error(
                f"scorers[{index}].mode",
                f"A pairwise judge compares each arm's answer with the baseline's, but the "
                f"experiment has one arm ('{experiment.arms[0].name}'); add an arm or use "
                'mode = "grade".',
            )


def _name(root: Table) -> str:
    name = root.required_text("name")
    problem = name_problem(name, "The name")
    if problem is not None:
        raise root.fail("name", f"{problem} It becomes the run's directory under results/.")
    return name


def _prices(root: Table) -> PriceTable:
    """The shipped price table with the file's `[prices."model-id"]` overrides applied."""
    table = root.data.get("prices", {})
    if not isinstance(table, dict):
        raise root.wrong("prices", 'a table of [prices."model-id"] tables')
    return with_overrides(root.loc, "prices", table)


def _version_warnings(experiment: Experiment) -> list[str]:
    version = experiment.target.anthropic_version
    return [
        warning
        for arm in experiment.arms
        for warning in version_warnings(
            merged(experiment.request, arm.request), version, f"arm '{arm.name}' request"
        )
    ]


def _models(root: Table, today: date, warnings: list[str]) -> tuple[str, ...]:
    if "models" not in root.data:
        raise root.fail("models", "'models' is required; add models = [\"claude-sonnet-5\"].")
    models = root.strings("models")
    if not models:
        raise root.fail("models", "'models' is empty; list at least one model id.")
    for index, model in enumerate(models):
        if model in models[:index]:
            raise root.loc.error(
                f"models[{index}]", f"Model '{model}' is listed twice; list each model once."
            )
        warning = model_warning(model, today)
        if warning is not None:
            warnings.append(f"models[{index}]: {warning}")
    return tuple(models)


def _target(root: Table, env_base_url: str | None) -> Target:
    table = root.table("target", TARGET_KEYS)
    if "base_url" in table.data:
        base_url = _url(table, table.text("base_url", ""), "base_url")
    elif env_base_url:
        base_url = _env_url(table, env_base_url)
    else:
        base_url = DEFAULT_BASE_URL
    return Target(
        base_url=base_url,
        api_key_env=_api_key_env(table),
        anthropic_version=table.choice("anthropic_version", API_VERSIONS[0], API_VERSIONS),
    )


def _url(table: Table, url: str, key: str) -> str:
    problem = base_url_problem(url)
    if problem is not None:
        raise table.fail(key, problem + ".")
    return normalised(url)


def _env_url(table: Table, url: str) -> str:
    problem = base_url_problem(url)
    if problem is not None:
        raise UsageError(
            f"ANTHROPIC_BASE_URL (the environment variable, used because {table.loc.file} "
            f"sets no [target] base_url): {problem}."
        )
    return normalised(url)


def _api_key_env(table: Table) -> str:
    value = table.data.get("api_key_env", DEFAULT_API_KEY_ENV)
    if isinstance(value, str) and ENV_NAME_RE.fullmatch(value):
        return value
    if isinstance(value, str) and (value.startswith("sk-") or len(value) > 40):
        raise table.fail(
            "api_key_env",
            "This looks like an API key. The file must name the environment variable that holds "
            f'the key (e.g. api_key_env = "{DEFAULT_API_KEY_ENV}"), never hold the key itself; '
            "remove it from the file, and revoke the key if the file was shared.",
        )
    raise table.wrong("api_key_env", "an environment variable name such as ANTHROPIC_API_KEY")


def _run(table: Table) -> RunSettings:
    return RunSettings(
        repeats=table.integer("repeats", RunSettings.repeats, 1, 10_000),
        concurrency=table.integer("concurrency", RunSettings.concurrency, 1, 1024),
        stream=table.boolean("stream", RunSettings.stream),
        timeout_s=table.number("timeout_s", RunSettings.timeout_s),
        seed=table.integer("seed", RunSettings.seed, -(2**63), 2**63 - 1),
        retry=_retry(table),
        rate_limits=_rate_limits(table.table("rate_limits", RATE_LIMIT_KEYS)),
    )


def _retry(run: Table) -> RetryPolicy:
    retry = run.table("retry", RETRY_KEYS)
    for key in ("max_attempts", "deadline_s"):
        if key in run.data and key in retry.data:
            raise run.fail(key, f"'{key}' is set both here and in run.retry; set it once.")
    attempts_from = run if "max_attempts" in run.data else retry
    deadline_from = run if "deadline_s" in run.data else retry
    policy = RetryPolicy(
        max_attempts=attempts_from.integer("max_attempts", RetryPolicy.max_attempts, 1, 100),
        deadline_s=deadline_from.optional_number("deadline_s"),
        initial_backoff_s=retry.number(
            "initial_backoff_s", RetryPolicy.initial_backoff_s, strict=False
        ),
        max_backoff_s=retry.number("max_backoff_s", RetryPolicy.max_backoff_s, strict=False),
    )
    if policy.max_backoff_s < policy.initial_backoff_s:
        raise retry.fail(
            "max_backoff_s",
            f"max_backoff_s ({policy.max_backoff_s:g}) is below initial_backoff_s "
            f"({policy.initial_backoff_s:g}); raise it.",
        )
    return policy


def _rate_limits(table: Table) -> RateLimits:
    counting = table.choice(
        "output_counting", RateLimits.output_counting, ("generated", "max_tokens")
    )
    return RateLimits(
        rpm=table.optional_integer("rpm", 1),
        itpm=table.optional_integer("itpm", 1),
        otpm=table.optional_integer("otpm", 1),
        output_counting="generated" if counting == "generated" else "max_tokens",
    )
