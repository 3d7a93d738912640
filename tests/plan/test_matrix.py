"""The request matrix: stable keys, fair seeded dispatch order, request bodies and headers."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from runner.config.types import Arm, Case, Experiment, JSONObject, RunSettings
from runner.http.client import MESSAGES_PATH
from runner.plan.matrix import (
    PlannedRequest,
    estimate_input_tokens,
    plan_requests,
    prepare,
    request_body,
    request_key,
)

ARMS = (
    Arm("control"),
    Arm("one", betas=("beta-one-2026-01-01",)),
    Arm("two", betas=("beta-one-2026-01-01", "beta-two-2026-02-02")),
    Arm("three", betas=("beta-three",), request={"temperature": 1.0}),
)
CASES = tuple(Case(f"case-{n}", ({"role": "user", "content": f"Question {n}?"},)) for n in range(3))


def _experiment(
    *,
    seed: int = 0,
    repeats: int = 2,
    stream: bool = True,
    arms: tuple[Arm, ...] = ARMS,
    cases: tuple[Case, ...] = CASES,
    request: JSONObject | None = None,
) -> Experiment:
    return Experiment(
        name="matrix-test",
        path=Path("matrix-test.toml"),
        models=("model-a", "model-b"),
        arms=arms,
        cases=cases,
        run=RunSettings(repeats=repeats, seed=seed, stream=stream),
        request=request or {},
    )


def _order(planned: list[PlannedRequest]) -> list[str]:
    return [p.key for p in planned]


def test_request_key_is_stable() -> None:
    """The same cell always gets the same key."""
    assert request_key("case-0", "model-a", "control", 0) == request_key(
        "case-0", "model-a", "control", 0
    )


@pytest.mark.parametrize(
    ("cell", "key"),
    [
        pytest.param(("case-0", "model-a", "control", 0), "r9136ea7615d79341", id="plain"),
        pytest.param(
            ('case-é "q"', "claude-sonnet-5", "warm", 12), "r107060b788b923f0", id="escaped"
        ),
    ],
)
def test_request_key_is_the_one_earlier_runs_recorded(
    cell: tuple[str, str, str, int], key: str
) -> None:
    """Keys never change between versions, so a resumed run finds the requests it made."""
    case_id, model, arm, repeat = cell
    one_cell = _experiment(repeats=13, arms=(Arm(arm),), cases=(Case(case_id, ({},)),))
    plan = plan_requests(replace(one_cell, models=(model,)))

    assert request_key(*cell) == key
    assert plan[repeat].key == key


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(("case-1", "model-a", "control", 0), id="case"),
        pytest.param(("case-0", "model-b", "control", 0), id="model"),
        pytest.param(("case-0", "model-a", "one", 0), id="arm"),
        pytest.param(("case-0", "model-a", "control", 1), id="repeat"),
        pytest.param(("case-0model-a", "", "control", 0), id="no-concatenation-clash"),
    ],
)
def test_request_key_distinguishes_cells(other: tuple[str, str, str, int]) -> None:
    """Changing any part of the cell changes its key."""
    assert request_key("case-0", "model-a", "control", 0) != request_key(*other)


def test_plan_covers_every_cell_once() -> None:
    """The plan holds cases x models x arms x repeats requests, each with a distinct key."""
    experiment = _experiment()

    planned = plan_requests(experiment)

    assert len(planned) == experiment.request_count == 3 * 2 * 4 * 2
    assert len(set(_order(planned))) == len(planned)
    assert all(p.key == request_key(p.case.id, p.model, p.arm.name, p.repeat) for p in planned)


@pytest.mark.parametrize("seed", [0, 1, 42], ids=["seed-0", "seed-1", "seed-42"])
def test_plan_dispatches_arms_in_fair_blocks(seed: int) -> None:
    """Each consecutive block shares (repeat, case, model) and holds every arm exactly once."""
    planned = plan_requests(_experiment(seed=seed))
    size = len(ARMS)

    blocks = [planned[i : i + size] for i in range(0, len(planned), size)]

    for block in blocks:
        assert len({(p.repeat, p.case.id, p.model) for p in block}) == 1
        assert Counter(p.arm.name for p in block) == Counter(a.name for a in ARMS)


def test_plan_order_is_seeded() -> None:
    """The same seed gives the same order; different seeds give different orders."""
    same = _order(plan_requests(_experiment(seed=7)))

    assert same == _order(plan_requests(_experiment(seed=7)))
    assert same != _order(plan_requests(_experiment(seed=8)))


def test_plan_shuffles_arms_within_blocks() -> None:
    """Across blocks the arms do not always appear in the configured order."""
    planned = plan_requests(_experiment(seed=3))
    size = len(ARMS)

    firsts = {planned[i].arm.name for i in range(0, len(planned), size)}

    assert len(firsts) > 1


def _planned(case: Case, arm: Arm) -> PlannedRequest:
    return PlannedRequest(request_key(case.id, "model-b", arm.name, 0), case, "model-b", arm, 0)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_request_body_merge_order(stream: bool) -> None:
    """[request] < arm.request < the case's system and messages, the model and stream."""
    experiment = _experiment(
        stream=stream,
        request={"max_tokens": 300, "temperature": 0.2, "top_k": 5, "system": "base"},
    )
    arm = Arm("arm", request={"temperature": 1.0, "thinking": {"type": "enabled"}})
    case = Case("c", ({"role": "user", "content": "Hi"},), system="case system")

    body = request_body(experiment, _planned(case, arm))

    expected: JSONObject = {
        "max_tokens": 300,
        "temperature": 1.0,
        "top_k": 5,
        "thinking": {"type": "enabled"},
        "system": "case system",
        "model": "model-b",
        "messages": [{"role": "user", "content": "Hi"}],
    }
    if stream:
        expected["stream"] = True
    assert body == expected


def test_request_body_keeps_request_system_when_case_has_none() -> None:
    """A case without a system prompt leaves the experiment's system in place."""
    experiment = _experiment(request={"system": "base"})

    body = request_body(experiment, _planned(CASES[0], ARMS[0]))

    assert body["system"] == "base"


def test_request_body_defaults_max_tokens() -> None:
    """Without max_tokens anywhere the body still carries one."""
    experiment = _experiment()

    body = request_body(experiment, _planned(CASES[0], ARMS[0]))

    assert isinstance(body["max_tokens"], int)
    assert body["max_tokens"] > 0


@pytest.mark.parametrize(
    ("arm", "expected"),
    [
        pytest.param(ARMS[0], None, id="no-betas"),
        pytest.param(ARMS[1], "beta-one-2026-01-01", id="one-beta"),
        pytest.param(ARMS[2], "beta-one-2026-01-01,beta-two-2026-02-02", id="two-betas"),
    ],
)
def test_prepare_sets_anthropic_beta_only_for_betas(arm: Arm, expected: str | None) -> None:
    """An arm with no betas sends no anthropic-beta header; others send them comma-joined."""
    experiment = _experiment()

    prepared, _ = prepare(experiment, _planned(CASES[0], arm))

    assert prepared.headers.get("anthropic-beta") == expected
    assert prepared.path == MESSAGES_PATH


def test_prepare_serialises_the_body_and_estimates_cost() -> None:
    """The prepared bytes are the request body; the cost carries max_tokens and an estimate."""
    experiment = _experiment(request={"max_tokens": 77}, stream=False)
    planned = _planned(CASES[0], Arm("extra", headers={"x-extra": "1"}))

    prepared, cost = prepare(experiment, planned)

    body = request_body(experiment, planned)
    assert json.loads(prepared.body) == body
    assert prepared.stream is False
    assert prepared.headers == {"x-extra": "1"}
    assert cost.max_tokens == 77
    assert cost.input_tokens == estimate_input_tokens(body)


def test_estimate_input_tokens_grows_with_the_prompt() -> None:
    """A longer prompt never gets a smaller estimate, and every estimate is at least one."""
    sizes = [0, 10, 100, 1_000, 10_000]
    estimates = [
        estimate_input_tokens({"messages": [{"role": "user", "content": "x" * n}]}) for n in sizes
    ]

    assert estimates == sorted(estimates)
    assert estimates[0] >= 1
    assert estimates[-1] > estimates[0]


def test_estimate_counts_system_and_tools() -> None:
    """System prompt and tool definitions add to the estimate."""
    base: JSONObject = {"messages": [{"role": "user", "content": "Hi"}]}
    with_system: JSONObject = {**base, "system": "s" * 400}
    with_tools: JSONObject = {**with_system, "tools": [{"name": "t", "description": "d" * 400}]}

    assert estimate_input_tokens(base) < estimate_input_tokens(with_system)
    assert estimate_input_tokens(with_system) < estimate_input_tokens(with_tools)


def test_plan_with_one_arm_keeps_case_order() -> None:
    """With a single arm the plan follows repeats, then cases, then models."""
    experiment = replace(_experiment(repeats=1), arms=(ARMS[0],))

    planned = plan_requests(experiment)

    assert [(p.case.id, p.model) for p in planned] == [
        (case.id, model) for case in CASES for model in ("model-a", "model-b")
    ]


def test_case_tools_join_the_request_tools_replacing_by_name() -> None:
    """A case's tools are added to [request]/arm tools; one of the same name replaces it."""
    schema: JSONObject = {"type": "object"}
    offered: JSONObject = {"tools": [{"name": "a", "input_schema": schema}, {"name": "b"}]}
    own = ({"name": "b", "input_schema": schema, "description": "case"}, {"name": "c"})
    case = Case("c", ({"role": "user", "content": "Hi"},), tools=own, max_turns=3)
    later = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yes?"}]

    body = request_body(_experiment(request=offered), _planned(case, ARMS[0]), later)

    assert body["tools"] == [{"name": "a", "input_schema": schema}, *own]
    assert body["messages"] == later


def test_the_repeats_of_a_cell_share_one_opening_request() -> None:
    """Every repeat of a planned cell gets the same prepared request and cost, byte for byte
    the fresh encoding of its body, also for the run's copy of the experiment with the
    emulator's address."""
    experiment = _experiment(repeats=3, request={"max_tokens": 50})
    at_emulator = replace(experiment, target=replace(experiment.target, base_url="http://e"))
    plan = plan_requests(experiment)
    cell = (plan[0].case, plan[0].model, plan[0].arm)
    repeats = [p for p in plan if (p.case, p.model, p.arm) == cell]

    made = [prepare(at_emulator, p) for p in repeats]

    assert len(repeats) == 3
    assert all(m[0] is made[0][0] and m[1] is made[0][1] for m in made)
    fresh = json.dumps(request_body(experiment, repeats[0]), separators=(",", ":")).encode()
    assert made[0][0].body == fresh
    assert made[0][1].input_tokens == estimate_input_tokens(request_body(experiment, repeats[0]))


def _other_request(experiment: Experiment) -> Experiment:
    return replace(experiment, request={"max_tokens": 9})


def _other_stream(experiment: Experiment) -> Experiment:
    return replace(experiment, run=RunSettings(repeats=2, stream=False))


@pytest.mark.parametrize(
    "change",
    [pytest.param(_other_request, id="request"), pytest.param(_other_stream, id="stream")],
)
def test_an_experiment_the_plan_was_not_made_from_gets_its_own_body(
    change: Callable[[Experiment], Experiment],
) -> None:
    """A request prepared from an experiment with other request or stream settings than the
    plan's carries those settings, not the plan's shared opening."""
    experiment = _experiment(request={"max_tokens": 50})
    planned = plan_requests(experiment)[0]
    prepare(experiment, planned)
    other = change(experiment)

    prepared, cost = prepare(other, planned)

    assert json.loads(prepared.body) == request_body(other, planned)
    assert prepared.stream is other.run.stream
    assert cost.max_tokens == request_body(other, planned)["max_tokens"]


def test_a_later_turn_is_not_served_the_opening() -> None:
    """With a conversation's later messages the body carries them, after the opening was
    made for the same planned request."""
    experiment = _experiment()
    planned = plan_requests(experiment)[0]
    opening, _ = prepare(experiment, planned)
    later = [*planned.case.messages, {"role": "assistant", "content": "Yes?"}]

    prepared, _ = prepare(experiment, planned, later)

    assert json.loads(prepared.body)["messages"] == later
    assert json.loads(opening.body)["messages"] == list(planned.case.messages)
