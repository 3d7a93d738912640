"""An experiment's arms: listed `[[arms]]` or generated from an `[arm_matrix]`, as `Arm`s.

Beta names are checked for form (an error) and against the catalog (a warning). At most one
arm sends no betas: that arm is the baseline the others are compared with.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from runner.catalog.betas import catalog, check_beta_name, without_date
from runner.config.body import merged, read_request
from runner.config.names import ARM_NAME_RE, header_value_problem, name_problem
from runner.config.tables import Table, closest
from runner.config.types import Arm, JSONObject

ARM_KEYS = ("name", "betas", "request", "headers")
MATRIX_KEYS = ("betas", "mode", "baseline", "requests")
MATRIX_MODES = ("each", "subsets")
MAX_ARMS = 64
BASELINE = "baseline"
HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
RESERVED_HEADERS = {
    "anthropic-beta": "list the betas in the arm's betas array instead",
    "anthropic-version": "set target.anthropic_version instead",
    "x-api-key": "the key comes from the environment variable named by target.api_key_env",
    "authorization": "the key comes from the environment variable named by target.api_key_env",
}
# Headers the HTTP client writes from the request itself; a second value breaks the request.
_CLIENT_OWNED = (
    "accept", "accept-encoding", "connection", "content-encoding", "content-length",
    "content-type", "expect", "host", "keep-alive", "proxy-connection", "te", "trailer",
    "transfer-encoding", "upgrade",
)  # fmt: skip
RESERVED_HEADERS.update(
    dict.fromkeys(_CLIENT_OWNED, "beta-runner's HTTP client sets it from the request itself")
)


def read_arms(root: Table, warnings: list[str]) -> tuple[Arm, ...]:
    """The arms from `[[arms]]` or `[arm_matrix]` (exactly one of them must be present)."""
    if "arms" in root.data and "arm_matrix" in root.data:
        raise root.fail(
            "arm_matrix", "Give either [[arms]] or [arm_matrix], not both; remove one of them."
        )
    if "arm_matrix" in root.data:
        arms = _matrix_arms(root.table("arm_matrix", MATRIX_KEYS), warnings)
    else:
        arms = _listed_arms(root.tables("arms", ARM_KEYS), warnings)
    if not arms:
        raise root.loc.error(
            "arms", "The experiment has no arms; add [[arms]] tables or an [arm_matrix] table."
        )
    if all(arm.betas for arm in arms):
        warnings.append(
            "arms: no arm sends zero betas, so there is no baseline arm to compare against; "
            "add one with betas = []."
        )
    return arms


def read_betas(table: Table, key: str, warnings: list[str]) -> tuple[str, ...]:
    """The beta names at `table.key`: well formed and distinct; uncatalogued ones warned."""
    betas: list[str] = []
    for index, name in enumerate(table.strings(key)):
        where = f"{table.at(key)}[{index}]"
        problem = check_beta_name(name)
        if problem is not None:
            raise table.loc.error(where, problem)
        if name in betas:
            raise table.loc.error(
                where, f"Beta '{name}' is listed twice in one arm; list each beta once."
            )
        betas.append(name)
        warnings.extend(_catalog_warnings(where, name))
    return tuple(betas)


def _catalog_warnings(where: str, name: str) -> list[str]:
    info = catalog().get(name)
    if info is None:
        hint = closest(name, catalog())
        return [
            f"{where}: '{name}' is not in beta-runner's beta catalog; the API may still "
            f"know it.{hint}"
        ]
    if info.status == "not-messages":
        return [
            f"{where}: '{name}' is not a Messages feature ({info.description}); the arm "
            "should behave like the baseline."
        ]
    if info.status == "ga-noop":
        return [f"{where}: '{name}' is generally available; the header is likely a no-op."]
    return []


def _listed_arms(tables: list[Table], warnings: list[str]) -> tuple[Arm, ...]:
    arms: list[Arm] = []
    for table in tables:
        arm = _listed_arm(table, warnings)
        for index, other in enumerate(arms):
            _check_distinct(table, arm, other, index)
        arms.append(arm)
    return tuple(arms)


def _listed_arm(table: Table, warnings: list[str]) -> Arm:
    return Arm(
        name=_arm_name(table),
        betas=read_betas(table, "betas", warnings),
        request=read_request(table, "request", warnings),
        headers=_headers(table),
    )


def _arm_name(table: Table) -> str:
    name = table.required_text("name")
    problem = name_problem(name, "The arm name", ARM_NAME_RE)
    if problem is not None:
        raise table.fail("name", problem)
    return name


def _check_distinct(table: Table, arm: Arm, other: Arm, index: int) -> None:
    if arm.name == other.name:
        raise table.fail(
            "name", f"Arm name '{arm.name}' is already used by arms[{index}]; use unique names."
        )
    if not arm.betas and not other.betas:
        raise table.fail(
            "betas",
            f"arms[{index}] ('{other.name}') already sends no betas and at most one arm may; "
            "add betas to this arm or remove it.",
        )


def _headers(table: Table) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in table.json_object("headers").items():
        where = Table(table.loc, table.at("headers"), {})
        reason = RESERVED_HEADERS.get(name.lower())
        if reason is not None:
            raise where.fail(name, f"The header '{name}' is set by beta-runner; {reason}.")
        if not HEADER_NAME_RE.fullmatch(name):
            raise where.fail(name, f"'{name}' is not a valid HTTP header name.")
        if not isinstance(value, str):
            raise where.fail(name, f"Header '{name}' must be a one-line string value.")
        problem = header_value_problem(name, value)
        if problem is not None:
            raise where.fail(name, problem)
        headers[name] = value
    return headers


def _matrix_arms(table: Table, warnings: list[str]) -> tuple[Arm, ...]:
    betas = read_betas(table, "betas", warnings)
    if not betas:
        raise table.fail("betas", "arm_matrix.betas is empty; list the betas to combine.")
    mode = table.choice("mode", "each", MATRIX_MODES)
    combos = _combinations(betas, mode, table.boolean("baseline", True))
    if len(combos) > MAX_ARMS:
        raise table.fail(
            "betas",
            f"{len(betas)} betas in mode '{mode}' make {len(combos)} arms, more than the "
            f'{MAX_ARMS} allowed; list fewer betas or use mode = "each".',
        )
    overrides = _matrix_requests(table, betas, warnings)
    labels = _labels(betas)
    return tuple(_matrix_arm(combo, labels, overrides, warnings) for combo in combos)


def _combinations(betas: Sequence[str], mode: str, baseline: bool) -> list[tuple[str, ...]]:
    first = [()] if baseline else []
    if mode == "each":
        return first + [(beta,) for beta in betas]
    sizes = range(1, len(betas) + 1)
    return first + [combo for size in sizes for combo in itertools.combinations(betas, size)]


def _matrix_requests(
    table: Table, betas: Sequence[str], warnings: list[str]
) -> dict[str, JSONObject]:
    requests = table.table("requests", betas)
    return {beta: read_request(requests, beta, warnings) for beta in requests.data}


def _labels(betas: Sequence[str]) -> dict[str, str]:
    short = {beta: without_date(beta) for beta in betas}
    shared = {name for name in short.values() if list(short.values()).count(name) > 1}
    return {
        beta: beta if name in shared or name == BASELINE else name for beta, name in short.items()
    }


def _matrix_arm(
    combo: tuple[str, ...],
    labels: dict[str, str],
    overrides: dict[str, JSONObject],
    warnings: list[str],
) -> Arm:
    name = "+".join(labels[beta] for beta in combo) or BASELINE
    parts = [overrides[beta] for beta in combo if beta in overrides]
    clashes = {key for a, b in itertools.combinations(parts, 2) for key in a.keys() & b.keys()}
    if clashes:
        warnings.append(
            f"arm_matrix: in arm '{name}' several betas' requests set "
            f"{', '.join(sorted(clashes))}; the last beta listed wins."
        )
    return Arm(name=name, betas=combo, request=merged({}, *parts))


def effect_warnings(
    arms: Sequence[Arm], base: JSONObject, stream: bool, models: Sequence[str]
) -> list[str]:
    """Warnings for betas that cannot change anything: a needed field or a fitting model missing."""
    missing: dict[tuple[str, str], list[str]] = {}
    for arm in arms:
        body = merged(base, arm.request)
        for beta in arm.betas:
            gaps = _missing_needs(beta, body, stream)
            if gaps:
                missing.setdefault((beta, gaps), []).append(arm.name)
    warnings = [
        f"{_arm_label(names)}: '{beta}' has no effect without {gaps} in the request; it needs "
        f"{catalog()[beta].needs}."
        for (beta, gaps), names in missing.items()
    ]
    return warnings + _model_warnings(arms, models)


def _arm_label(names: list[str]) -> str:
    quoted = ", ".join(f"'{name}'" for name in names)
    return f"arm {quoted}" if len(names) == 1 else f"arms {quoted}"


def _missing_needs(beta: str, body: JSONObject, stream: bool) -> str:
    info = catalog().get(beta)
    if info is None:
        return ""
    gaps = [key for key in info.needs_body if not _present(body, key, stream)]
    return ", ".join(gaps)


def _present(body: JSONObject, dotted: str, stream: bool) -> bool:
    if dotted == "stream":
        return stream
    value: object = body
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def _model_warnings(arms: Sequence[Arm], models: Sequence[str]) -> list[str]:
    betas = dict.fromkeys(beta for arm in arms for beta in arm.betas)
    warnings = []
    for beta in betas:
        info = catalog().get(beta)
        if info is None:
            continue
        outside = [model for model in models if not info.applies_to_model(model)]
        if outside and len(outside) == len(models):
            warnings.append(
                f"'{beta}' only changes anything on {', '.join(info.applies_to)}* models and "
                "none of this experiment's models is one; its arms should match the baseline."
            )
        elif outside:
            warnings.append(
                f"'{beta}' is not available on {', '.join(outside)} (the beta catalog lists it "
                f"for {', '.join(info.applies_to)}* models only); there its arms should match "
                "the baseline, or the API may reject the header (`beta-runner check` asks it)."
            )
    return warnings
