"""An experiment's `[[scorers]]`: how each answer is graded, as frozen typed objects.

Every scorer has a unique `name` (it becomes the metric `score.<name>`) and a `type`:

| type | reads | value / passed |
| --- | --- | --- |
| `exact` | the case's `expected` | 1 if the text equals it (`ignore_case`, `strip`) |
| `includes` | `expected` (a string, or a list with `match = "all"/"any"`) | 1 if found |
| `regex` | `pattern` (default: `expected`), `ignore_case` | 1 if it matches |
| `json` | `schema = {...}` or `schema_file` (optional) | 1 if the text is JSON (valid) |
| `tool_call` | `tool`, `arguments` (default: `expected`) | 1 if such a call was made |
| `numeric` | `expected` (a number), `tolerance`, `relative_tolerance` | 1 if within |
| `length` | `min_chars`, `max_chars`, `min_words`, `max_words` | value: words |
| `refusal` | `expect_refusal` | value 1 if refused; passed if as expected |
| `python` | `function = "module:callable"`, relative to the experiment file | its return |
| `judge` | `mode = "grade"` (`rubric`, `scale`, `pass_at`) or `"pairwise"`; `model` | see judge |

A scorer that reads `expected` scores only the cases that have one. Each scorer has a
`fingerprint` (a hash of its settings, and of the module's source for `python`), stored with
every score so a rescoring can tell which rows it replaces.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal, cast

from runner.config.callables import resolve_callable
from runner.config.files import json_text
from runner.config.names import SCORER_NAME_RE
from runner.config.tables import Table, closest
from runner.config.types import JSONObject

if TYPE_CHECKING:  # imported where used: jsonschema is not needed to send a run
    import jsonschema

SCORER_TYPES = (
    "exact", "includes", "regex", "json", "tool_call", "numeric", "length", "refusal",
    "python", "judge",
)  # fmt: skip
_OPTIONS: dict[str, tuple[str, ...]] = {
    "exact": ("ignore_case", "strip"),
    "includes": ("ignore_case", "match"),
    "regex": ("pattern", "ignore_case"),
    "json": ("schema", "schema_file"),
    "tool_call": ("tool", "arguments"),
    "numeric": ("tolerance", "relative_tolerance"),
    "length": ("min_chars", "max_chars", "min_words", "max_words"),
    "refusal": ("expect_refusal",),
    "python": ("function",),
    "judge": ("mode", "model", "rubric", "scale", "pass_at", "max_tokens"),
}
DEFAULT_JUDGE_RUBRIC = (
    "Grade how correct, complete and helpful the answer is for the question asked."
)


class _Scorer:
    """What every scorer type shares: its fingerprint, computed once per scorer object (a
    changed scorer is a new object, made by `dataclasses.replace` or the config reader)."""

    @cached_property
    def fingerprint(self) -> str:
        """A short hash of everything that decides the scorer's scores."""
        assert is_dataclass(self)
        settings = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "call"}
        text = json.dumps([type(self).__name__, settings], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ExactScorer(_Scorer):
    """The answer text equals the case's `expected`."""

    name: str
    ignore_case: bool = False
    strip: bool = True


@dataclass(frozen=True)
class IncludesScorer(_Scorer):
    """The case's `expected` (or all / any of a list of them) appears in the answer text."""

    name: str
    ignore_case: bool = False
    match: Literal["all", "any"] = "all"


@dataclass(frozen=True)
class RegexScorer(_Scorer):
    """The answer text matches `pattern` (None: the case's `expected` is the pattern)."""

    name: str
    pattern: str | None = None
    ignore_case: bool = False


@dataclass(frozen=True)
class JsonScorer(_Scorer):
    """The answer text parses as JSON and, with a schema, validates against it."""

    name: str
    schema: JSONObject | None = None

    @cached_property
    def validator(self) -> jsonschema.protocols.Validator | None:
        """The schema's validator, built once (building one costs more than validating)."""
        if self.schema is None:
            return None
        import jsonschema

        return jsonschema.validators.validator_for(self.schema)(self.schema)


@dataclass(frozen=True)
class ToolCallScorer(_Scorer):
    """The answer calls `tool` with arguments containing `arguments` (None: from `expected`)."""

    name: str
    tool: str | None = None
    arguments: JSONObject | None = None


@dataclass(frozen=True)
class NumericScorer(_Scorer):
    """The first number in the answer is within a tolerance of the case's `expected`."""

    name: str
    tolerance: float = 0.0
    relative_tolerance: float = 0.0


@dataclass(frozen=True)
class LengthScorer(_Scorer):
    """The answer's length (value: words) is within the bounds that are set."""

    name: str
    min_chars: int | None = None
    max_chars: int | None = None
    min_words: int | None = None
    max_words: int | None = None


@dataclass(frozen=True)
class RefusalScorer(_Scorer):
    """Whether the model refused (value 1); passed when that is what `expect_refusal` says."""

    name: str
    expect_refusal: bool = False


@dataclass(frozen=True)
class PythonScorer(_Scorer):
    """A user function `module:callable` called with a `ScoreInput`; `source_hash` is its
    module's source, part of the fingerprint."""

    name: str
    function: str
    call: Callable[..., object] = field(compare=False, repr=False)
    source_hash: str = ""


@dataclass(frozen=True)
class JudgeScorer(_Scorer):
    """A judge model: `grade` scores one answer on `rubric` from 0 to `scale` (passed at
    `pass_at`, if set); `pairwise` says whether the arm's answer beats the baseline's."""

    name: str
    mode: Literal["grade", "pairwise"]
    model: str
    rubric: str = DEFAULT_JUDGE_RUBRIC
    scale: int = 10
    pass_at: float | None = None
    max_tokens: int = 512


Scorer = (
    ExactScorer | IncludesScorer | RegexScorer | JsonScorer | ToolCallScorer | NumericScorer
    | LengthScorer | RefusalScorer | PythonScorer | JudgeScorer
)  # fmt: skip
NEEDS_EXPECTED = (ExactScorer, IncludesScorer, NumericScorer)


def read_scorers(root: Table, default_model: str) -> tuple[Scorer, ...]:
    """The `[[scorers]]` tables, names unique; `default_model` is a judge's default model."""
    scorers: dict[str, Scorer] = {}
    for table in root.tables("scorers", ("name", "type", *_all_options())):
        scorer = _scorer(table, default_model)
        if scorer.name in scorers:
            raise table.fail(
                "name", f"Scorer name '{scorer.name}' is used twice; give each scorer its own."
            )
        scorers[scorer.name] = scorer
    return tuple(scorers.values())


def _all_options() -> tuple[str, ...]:
    return tuple(dict.fromkeys(key for keys in _OPTIONS.values() for key in keys))


def _scorer(table: Table, default_model: str) -> Scorer:
    name = table.required_text("name", SCORER_NAME_RE)
    if "type" not in table.data:
        raise table.fail("type", f"'type' is required; one of {', '.join(SCORER_TYPES)}.")
    kind = table.choice("type", "", SCORER_TYPES)
    allowed = _OPTIONS[kind]
    for key in table.data:
        if key not in ("name", "type", *allowed):
            known = ", ".join(allowed) or "none"
            raise table.fail(
                key,
                f"'{key}' is not an option of type '{kind}'.{closest(key, allowed)} "
                f"Its options: {known}.",
            )
    return _READERS[kind](table, name, default_model)


def _exact(table: Table, name: str, _: str) -> Scorer:
    return ExactScorer(name, table.boolean("ignore_case", False), table.boolean("strip", True))


def _includes(table: Table, name: str, _: str) -> Scorer:
    match = cast(Literal["all", "any"], table.choice("match", "all", ("all", "any")))
    return IncludesScorer(name, table.boolean("ignore_case", False), match)


def _regex(table: Table, name: str, _: str) -> Scorer:
    pattern = table.text("pattern", "") if "pattern" in table.data else None
    ignore_case = table.boolean("ignore_case", False)
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            problem = f"'{pattern}' is not a valid regex ({exc}); fix it."
            raise table.fail("pattern", problem) from None
    return RegexScorer(name, pattern, ignore_case)


def _json(table: Table, name: str, _: str) -> Scorer:
    if "schema" in table.data and "schema_file" in table.data:
        raise table.fail("schema_file", "Give either schema or schema_file, not both.")
    if "schema_file" in table.data:
        schema, key = _schema_file(table), "schema_file"
    elif "schema" in table.data:
        schema, key = table.json_object("schema"), "schema"
    else:
        return JsonScorer(name)
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise table.fail(key, f"The JSON schema is not valid: {exc.message}.") from None
    return JsonScorer(name, schema)


def _schema_file(table: Table) -> JSONObject:
    written = table.required_text("schema_file")
    path = table.loc.file.parent / written
    blame = table.fail("schema_file", f"The schema file '{written}' is unusable.")
    try:
        value = json.loads(json_text(path, blame))
    except json.JSONDecodeError as exc:
        raise table.fail("schema_file", f"'{written}' is not valid JSON ({exc.msg}).") from None
    if not isinstance(value, dict):
        raise table.fail("schema_file", f"'{written}' must hold one JSON object (a schema).")
    return cast(JSONObject, value)


def _tool_call(table: Table, name: str, _: str) -> Scorer:
    tool = table.required_text("tool") if "tool" in table.data else None
    arguments = table.json_object("arguments") if "arguments" in table.data else None
    return ToolCallScorer(name, tool, arguments)


def _numeric(table: Table, name: str, _: str) -> Scorer:
    absolute = table.number("tolerance", 0.0, strict=False)
    relative = table.number("relative_tolerance", 0.0, strict=False)
    return NumericScorer(name, absolute, relative)


def _length(table: Table, name: str, _: str) -> Scorer:
    bounds = {key: table.optional_integer(key, 0) for key in _OPTIONS["length"]}
    if all(value is None for value in bounds.values()):
        raise table.loc.error(
            table.path,
            "A length scorer needs a bound: min_chars, max_chars, min_words or max_words.",
        )
    return LengthScorer(name, **bounds)


def _refusal(table: Table, name: str, _: str) -> Scorer:
    return RefusalScorer(name, table.boolean("expect_refusal", False))


def _python(table: Table, name: str, _: str) -> Scorer:
    written = table.required_text("function")
    found = resolve_callable(table, "function", written, table.loc.file.parent)
    return PythonScorer(name, written, found.call, found.source_hash())


def _judge(table: Table, name: str, default_model: str) -> Scorer:
    if "mode" not in table.data:
        raise table.fail("mode", '\'mode\' is required: "grade" or "pairwise".')
    mode = cast(Literal["grade", "pairwise"], table.choice("mode", "grade", ("grade", "pairwise")))
    scale = table.integer("scale", 10, 1, 100)
    pass_at = table.optional_number("pass_at", 0.0) if "pass_at" in table.data else None
    if pass_at is not None and pass_at > scale:
        raise table.fail("pass_at", f"pass_at ({pass_at:g}) is above the scale ({scale}).")
    return JudgeScorer(
        name=name,
        mode=mode,
        model=table.text("model", default_model),
        rubric=table.text("rubric", DEFAULT_JUDGE_RUBRIC),
        scale=scale,
        pass_at=pass_at,
        max_tokens=table.integer("max_tokens", 512, 16, 8192),
    )


_READERS: dict[str, Callable[[Table, str, str], Scorer]] = {
    "exact": _exact,
    "includes": _includes,
    "regex": _regex,
    "json": _json,
    "tool_call": _tool_call,
    "numeric": _numeric,
    "length": _length,
    "refusal": _refusal,
    "python": _python,
    "judge": _judge,
}


def describe(scorer: Scorer) -> dict[str, object]:
    """The scorer's settings as plain data (for the manifest), with its type and fingerprint."""
    settings = {k: v for k, v in asdict(scorer).items() if k != "call"}
    kind = next(k for k, reader in _TYPE_OF.items() if isinstance(scorer, reader))
    return {"type": kind, **settings, "fingerprint": scorer.fingerprint}


_TYPE_OF: dict[str, type] = {
    "exact": ExactScorer,
    "includes": IncludesScorer,
    "regex": RegexScorer,
    "json": JsonScorer,
    "tool_call": ToolCallScorer,
    "numeric": NumericScorer,
    "length": LengthScorer,
    "refusal": RefusalScorer,
    "python": PythonScorer,
    "judge": JudgeScorer,
}
