"""Running one conversation case: turn after turn, each an attempt sequence like any request.

A conversation starts from the case's messages. Each turn sends the conversation so far
(`prepare` with those messages) through `send_with_retries`, so it takes scheduler slots and is
retried exactly like a plain request. Then:

1. the reply stops with `tool_use`: its calls are answered from the case's scripts
   (`runner.run.tools`) in one user message, and the loop goes on;
2. the reply stops with `pause_turn` (the API paused a long server-tool turn) or `compaction`
   (it compacted the context and paused, `pause_after_compaction`): the turn is unfinished, so
   the next request sends the conversation with the reply as its last message and nothing
   after it, as the API documents, and the server continues the turn;
3. otherwise, if the case scripts another user turn (`turns`), that is sent next;
4. otherwise the conversation has ended.

The reply is sent back unchanged as the assistant message (thinking blocks with their
signatures included, compaction blocks too: the server then drops what they summarise).
At most `case.max_turns` requests are sent in all, continuations counted: a reply that still
asks for tools (or is paused) at the limit ends the conversation with that stop reason. A turn
that fails (after its retries) ends it as an error.

A turn's tokens are what the API bills: with `usage.iterations` (a compaction's own sampling
comes first there, and not in the top-level usage) their sums, else the top-level counts. A
reply that compacted the context lists `compact_20260112` among the turn's `context_edits`.

Every finished turn becomes a `TurnRow` that is on disk before the next turn is sent
(`TurnSink.turn` returns once it is). A resumed conversation is rebuilt from those rows: the
same messages, so its next request is byte for byte the one the interrupted run would have
sent, and no finished turn is sent again. The request's `ResultRow` summarises all turns:
token and latency sums, the final reply's text and stop reason, the evidence of every turn.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from runner.clock import utc_now
from runner.config.types import Experiment, JSONObject
from runner.http.client import AttemptOutcome
from runner.http.message import THINKING_AFTER_TOOL, billed_tokens, read_message
from runner.plan.matrix import PlannedRequest, prepare
from runner.results.schema import (
    STATUS_ERROR,
    STATUS_OK,
    ConversationColumns,
    MessageColumns,
    ResultRow,
    TurnRow,
)
from runner.run.execute import RequestContext, Sent, send_with_retries
from runner.run.rows import Totals, result_row
from runner.run.tools import ToolCall, answer_calls, tool_calls
from runner.schedule.scheduler import Scheduler

# Stop reasons of a turn the server hands back unfinished: continued with nothing added.
CONTINUED = frozenset({"pause_turn", "compaction"})
COMPACT_EDIT = "compact_20260112"


class TurnSink(Protocol):
    """Takes a finished turn and returns once it is durable."""

    async def turn(self, row: TurnRow) -> None:
        """Record one turn (on disk when this returns)."""
        ...


@dataclass
class _State:
    """A conversation in progress: messages so far, its finished turns, what is left."""

    messages: list[JSONObject]
    turns: list[TurnRow]
    follow_ups: list[str]
    made: Counter[str]
    open: bool = True
    attempts: int = 0
    queue_ms: float = 0.0
    backoff_ms: float = 0.0
    started_at: datetime = field(default_factory=utc_now)
    last: AttemptOutcome | None = None

    def add(self, totals: Totals) -> None:
        """Count one turn's attempt sequence."""
        self.attempts += totals.attempts
        self.queue_ms += totals.queue_ms
        self.backoff_ms += totals.backoff_ms


async def converse(
    ctx: RequestContext,
    scheduler: Scheduler,
    experiment: Experiment,
    planned: PlannedRequest,
    sink: TurnSink,
    earlier: Sequence[TurnRow] = (),
) -> ResultRow:
    """Run (or continue, from `earlier` finished turns) one conversation; its result row."""
    state = resumed(planned, earlier)
    while state.open and len(state.turns) < planned.case.max_turns:
        prepared, cost = prepare(experiment, planned, state.messages)
        sent = await send_with_retries(
            ctx, scheduler, planned, prepared, cost, numbered_after=state.attempts
        )
        state.add(sent.totals)
        state.last = sent.outcome
        if sent.outcome.error is not None:
            failed = _turn_row(ctx.run_id, planned, len(state.turns) + 1, sent, _Answered())
            await sink.turn(failed)
            return _summary(ctx.run_id, planned, state, sent.outcome)
        await _take_turn(ctx.run_id, planned, state, sent, sink)
    return _summary(ctx.run_id, planned, state, None)


def resumed(planned: PlannedRequest, earlier: Sequence[TurnRow]) -> _State:
    """The state after `earlier` finished turns (turn 1 on, in order; none: a fresh start)."""
    case = planned.case
    state = _State(list(case.messages), [], list(case.follow_ups), Counter())
    for row in earlier:
        state.turns.append(row)
        following = json.loads(row.next_json) if row.next_json else None
        if following is None:
            state.open = False
            break
        state.messages += _after(row, following)
        if isinstance(following.get("content"), str):
            state.follow_ups.pop(0)
        else:
            state.made.update(row.tool_names)
    if earlier:
        state.started_at = earlier[0].sent_at
    return state


async def _take_turn(
    run_id: str, planned: PlannedRequest, state: _State, sent: Sent, sink: TurnSink
) -> None:
    reply = sent.outcome.message or {}
    content: list[dict[str, Any]] = list(reply.get("content") or [])
    calls = tool_calls(content)
    last = len(state.turns) + 1 >= planned.case.max_turns
    following, errors = await _following(planned, state, reply, calls, last)
    answered = _Answered(calls, errors, following)
    row = _turn_row(run_id, planned, len(state.turns) + 1, sent, answered)
    await sink.turn(row)
    state.turns.append(row)
    if following is None:
        state.open = False
        return
    state.messages += _after(row, following)


def _after(row: TurnRow, following: JSONObject) -> list[JSONObject]:
    """What a finished turn adds to the messages: its reply, then the next user message (none
    when the turn is continued: `following` is then the empty object)."""
    return [_assistant(row), following] if following else [_assistant(row)]


async def _following(
    planned: PlannedRequest,
    state: _State,
    reply: dict[str, Any],
    calls: list[ToolCall],
    last: bool,
) -> tuple[JSONObject | None, int]:
    """The user message to send next (None: the conversation ends; empty: the turn is
    continued with nothing added), and how many of its tool results are errors."""
    if last:
        return None, 0
    if reply.get("stop_reason") in CONTINUED:
        return {}, 0
    if reply.get("stop_reason") == "tool_use" and calls:
        results = await answer_calls(planned.case, calls, state.made)
        return results.message, results.errors
    if state.follow_ups:
        return {"role": "user", "content": state.follow_ups.pop(0)}, 0
    return None, 0


def _assistant(row: TurnRow) -> JSONObject:
    return {"role": "assistant", "content": json.loads(row.content_json or "[]")}


@dataclass(frozen=True)
class _Answered:
    """What the client made of a turn's reply: the tool calls it answered, how many of their
    results are errors, and the message it sends next (None: the conversation ends)."""

    calls: list[ToolCall] = field(default_factory=list)
    errors: int = 0
    following: JSONObject | None = None


def _turn_row(
    run_id: str, planned: PlannedRequest, number: int, sent: Sent, answered: _Answered
) -> TurnRow:
    """The turn's row; a failed turn (`sent.outcome.error`) has no reply columns."""
    outcome, error = sent.outcome, sent.outcome.error
    calls, following = answered.calls, answered.following
    reply = (outcome.message or {}) if error is None else {}
    usage = reply.get("usage") or {}
    managed = reply.get("context_management")
    edits = _applied_edits(managed)
    return TurnRow(
        run_id=run_id,
        request_key=planned.key,
        turn=number,
        case_id=planned.case.id,
        model=planned.model,
        arm=planned.arm.name,
        status=STATUS_OK if error is None else STATUS_ERROR,
        error_type=error.kind if error is not None else None,
        attempts=sent.totals.attempts,
        sent_at=outcome.sent_at,
        latency_ms=outcome.latency_ms,
        ttft_ms=outcome.ttft_ms,
        **billed_tokens(usage),
        stop_reason=reply.get("stop_reason"),
        tool_names=[call.name for call in calls],
        tool_inputs=[_dumps(call.input) for call in calls],
        tool_errors=answered.errors,
        context_edits=[str(e.get("type")) for e in edits] + _compacted(reply),
        cleared_input_tokens=_total(_int(e.get("cleared_input_tokens")) for e in edits),
        content_json=_dumps(reply.get("content") or []) if error is None else None,
        usage_json=_dumps(usage) if error is None else None,
        context_management_json=_dumps(managed) if managed is not None else None,
        next_json=_dumps(following) if following is not None else None,
    )


def _compacted(reply: dict[str, Any]) -> list[str]:
    """`compact_20260112` when the reply compacted the context (its content has the block)."""
    blocks = reply.get("content") or []
    return [COMPACT_EDIT] if any(b.get("type") == "compaction" for b in blocks) else []


def _applied_edits(managed: object) -> list[JSONObject]:
    """The context edits a reply's `context_management` says were applied (none if absent)."""
    if not isinstance(managed, dict):
        return []
    return [e for e in managed.get("applied_edits") or [] if isinstance(e, dict)]


def _summary(
    run_id: str, planned: PlannedRequest, state: _State, failure: AttemptOutcome | None
) -> ResultRow:
    """The result row of the whole conversation (an error row when `failure` ended it)."""
    outcome = failure or state.last or AttemptOutcome(sent_at=state.started_at, http_status=200)
    totals = Totals(state.attempts, state.queue_ms, state.backoff_ms, state.started_at)
    row = result_row(run_id, planned, outcome, totals)
    turns = state.turns
    row.latency_ms = sum(t.latency_ms or 0.0 for t in turns) + (
        failure.latency_ms or 0.0 if failure else 0.0
    )
    row.ttft_ms = turns[0].ttft_ms if turns else row.ttft_ms
    row.ttfb_ms = None  # per turn, not per conversation
    if turns:
        row.message = _message_columns(turns, with_text=failure is None)
        row.conversation = _conversation_columns(turns)
    return row


def _message_columns(turns: list[TurnRow], *, with_text: bool) -> MessageColumns:
    final = read_message(_message_of(turns[-1]))
    blocks = [b for t in turns for b in json.loads(t.content_json or "[]")]
    usages = [json.loads(t.usage_json or "{}") for t in turns]
    evidence = sorted(
        {e for t in turns for e in read_message(_message_of(t)).evidence} | _interleaved(turns)
    )
    columns = MessageColumns(
        text=final.text if with_text else None,
        stop_reason=final.stop_reason if with_text else None,
        input_tokens=_total(t.input_tokens for t in turns),
        output_tokens=_total(t.output_tokens for t in turns),
        cache_creation_input_tokens=_total(t.cache_creation_input_tokens for t in turns),
        cache_read_input_tokens=_total(t.cache_read_input_tokens for t in turns),
        thinking_tokens=_total(read_message(_message_of(t)).thinking_tokens for t in turns),
        content_types=[str(b.get("type")) for b in blocks],
        content_json=_dumps(blocks),
        usage_json=_dumps(_summed(usages)),
        evidence=evidence,
    )
    return columns


def _interleaved(turns: list[TurnRow]) -> set[str]:
    """The interleaved-thinking signal when a reply to tool results starts with thinking."""
    for before, after in itertools.pairwise(turns):
        handed = json.loads(before.next_json or "null") or {}
        results = isinstance(handed.get("content"), list)
        blocks = json.loads(after.content_json or "[]")
        if results and blocks and blocks[0].get("type") == "thinking":
            return {THINKING_AFTER_TOOL}
    return set()


def _conversation_columns(turns: list[TurnRow]) -> ConversationColumns:
    return ConversationColumns(
        turns=len(turns),
        tool_calls=sum(len(t.tool_names) for t in turns),
        turn_input_tokens=[t.input_tokens or 0 for t in turns],
        turn_output_tokens=[t.output_tokens or 0 for t in turns],
        last_turn_input_tokens=turns[-1].input_tokens,
    )


def _message_of(row: TurnRow) -> dict[str, Any]:
    message: dict[str, Any] = {
        "content": json.loads(row.content_json or "[]"),
        "stop_reason": row.stop_reason,
        "usage": json.loads(row.usage_json or "{}"),
    }
    if row.context_management_json is not None:
        message["context_management"] = json.loads(row.context_management_json)
    return message


def _summed(usages: list[dict[str, Any]]) -> dict[str, Any]:
    """Usage objects added up: numbers summed (nested ones too), other values the last's."""
    total: dict[str, Any] = {}
    for usage in usages:
        for key, value in usage.items():
            if isinstance(value, dict):
                total[key] = _summed([total.get(key) or {}, value])
            elif isinstance(value, int | float) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
            else:
                total[key] = value
    return total


def _total(values: Any) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))
