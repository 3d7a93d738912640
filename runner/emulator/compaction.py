"""Server-side compaction (beta `compact-2026-01-12`): a long conversation summarised in place.

A request turns it on with the beta and a `compact_20260112` edit in
`context_management.edits`: `trigger` `{"type": "input_tokens", "value": N}` (default 150,000;
below 50,000 is a 400), `pause_after_compaction` (default false) and `instructions` (accepted;
the emulator's summary is its usual prose). Without the beta the edit is a 400, and so are the
clearing edits without `context-management-2025-06-27`.

1. **Dropping.** A `compaction` block with content in an assistant message replaces everything
   before it: the prompt the model sees (and the cache matches) starts at the last such block.
   A block with null content is a failed compaction and a no-op.
2. **Compacting.** When the prompt (after that, and after any clearing edits) reaches the
   trigger, the reply starts with a new `compaction` block, a summary of the whole prompt, and
   the model answers from tools, system and summary alone: `usage.input_tokens` is that
   compacted prompt's. `usage.iterations` lists the compaction's own sampling (`type`
   `compaction`: the closed context as input, read from the prompt cache as far as it was
   cached, the summary as output; not in the top-level usage) and then the answer's (`type`
   `message`, uncached: its prompt is new). Writing the summary takes time like any
   output (the reply's first token comes after it) and counts against the output rate limit.
3. **Pausing.** With `pause_after_compaction` the reply is the compaction block alone, with
   `stop_reason` `compaction` and the top-level usage zero; the client sends it back as the last
   message with nothing added and the next reply answers from the summary.

Streamed, the block's `content_block_start` has null content and one `compaction_delta` carries
the whole summary, then `content_block_stop`.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace

from runner.emulator.catalog import COMPACT_BETAS, CONTEXT_MANAGEMENT
from runner.emulator.context_edits import setting_value
from runner.emulator.errors import invalid_request
from runner.emulator.parts import Part, prose
from runner.emulator.request import MessageRequest, Obj, Turn

COMPACT = "compact_20260112"
DEFAULT_TRIGGER = 150_000
MIN_TRIGGER = 50_000
SUMMARY_WORDS = (200, 2_000)  # the summary grows with the closed context, within these


def edits_of(request: MessageRequest) -> list[Obj]:
    """The objects in `context_management.edits` (none when absent)."""
    config = request.body.get("context_management")
    edits = config.get("edits") if isinstance(config, dict) else None
    return [e for e in edits if isinstance(e, dict)] if isinstance(edits, list) else []


def check_edits(request: MessageRequest, betas: tuple[str, ...]) -> None:
    """400 for `context_management` without a beta that takes it, an edit without its beta,
    or a compaction trigger under the minimum."""
    compact, clearing = any(b in COMPACT_BETAS for b in betas), CONTEXT_MANAGEMENT in betas
    if "context_management" in request.body and not (compact or clearing):
        raise invalid_request("context_management: Extra inputs are not permitted")
    for index, edit in enumerate(edits_of(request)):
        where = f"context_management.edits.{index}"
        if edit.get("type") == COMPACT:
            if not compact:
                raise invalid_request(f"{where}: {COMPACT} requires the beta compact-2026-01-12")
            if _trigger(edit) < MIN_TRIGGER:
                raise invalid_request(
                    f"{where}.trigger.value: Input should be greater than or equal to {MIN_TRIGGER}"
                )
        elif not clearing:
            raise invalid_request(f"{where}: requires the beta {CONTEXT_MANAGEMENT}")


def compact_edit(request: MessageRequest, betas: tuple[str, ...]) -> Obj | None:
    """The request's compaction edit, when its beta is on."""
    if not any(b in COMPACT_BETAS for b in betas):
        return None
    return next((e for e in edits_of(request) if e.get("type") == COMPACT), None)


def _trigger(edit: Obj) -> int:
    return setting_value(edit.get("trigger"), DEFAULT_TRIGGER)


def after_compaction(request: MessageRequest) -> MessageRequest:
    """The request as the model sees it: from the last compaction block with content on."""
    for index in range(len(request.turns) - 1, -1, -1):
        blocks = request.turns[index].blocks
        marks = [j for j, b in enumerate(blocks) if _summary(b) is not None]
        if marks:
            head = replace(request.turns[index], blocks=blocks[marks[-1] :])
            return replace(request, turns=(head, *request.turns[index + 1 :]))
    return request


def _summary(block: Obj) -> str | None:
    content = block.get("content")
    return content if block.get("type") == "compaction" and isinstance(content, str) else None


@dataclass(frozen=True)
class Compaction:
    """A compaction that fired: its summary block, what it closed and whether the turn pauses."""

    block: Obj
    closed_tokens: int
    summary_tokens: int
    pause: bool
    answer_input: int = 0  # the compacted prompt: tools, system and the summary

    def part(self) -> Part:
        """The compaction block as a content part. Its tokens are the summary's: they take
        sampling time and count against the output rate limit, but the usage leaves them to
        the compaction's iteration."""
        return Part("compaction", str(self.block["content"]), self.summary_tokens)

    def compacted(self, request: MessageRequest) -> MessageRequest:
        """The prompt the answer is written from: tools, system and the summary."""
        return replace(request, turns=(Turn("assistant", (self.block,)),))

    def iteration(self, read: int, created: int) -> Obj:
        """The compaction's entry in `usage.iterations`: the closed context, of which `read`
        tokens came from the prompt cache and `created` were written to it."""
        plain = max(0, self.closed_tokens - read - created)
        return _iteration("compaction", plain, self.summary_tokens, read, created)


def _iteration(kind: str, plain: int, output: int, read: int = 0, created: int = 0) -> Obj:
    return {
        "type": kind,
        "input_tokens": plain,
        "output_tokens": output,
        "cache_creation_input_tokens": created,
        "cache_read_input_tokens": read,
    }


def message_iteration(input_tokens: int, output_tokens: int) -> Obj:
    """The answer's entry in `usage.iterations`."""
    return _iteration("message", input_tokens, output_tokens)


def compaction_for(edit: Obj | None, seen: MessageRequest, prompt: int) -> Compaction | None:
    """The compaction a prompt of `prompt` tokens gets (None: under the trigger, or no edit)."""
    if edit is None or prompt < _trigger(edit):
        return None
    digest = hashlib.sha256(repr([t.blocks for t in seen.turns]).encode()).digest()
    low, high = SUMMARY_WORDS
    words = max(low, min(high, prompt // 100))
    summary = "Summary of the conversation so far. " + prose(random.Random(digest), words)
    block: Obj = {"type": "compaction", "content": summary}
    tokens = len(summary.split(" "))  # one output token a space-separated piece (`parts`)
    return Compaction(block, prompt, tokens, edit.get("pause_after_compaction") is True)
