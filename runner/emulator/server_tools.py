"""The web search server tool, and the server-side loop that pauses a long turn (`pause_turn`).

A request whose `tools` hold a `web_search_*` tool (e.g. `{"type": "web_search_20250305",
"name": "web_search", "max_uses": 5}`) gets searches run inside the API: each is a text
preamble, a `server_tool_use` block (`srvtoolu_` id, input `{"query": ...}`) and its
`web_search_tool_result` (a list of `web_search_result`s), in the same assistant turn and
counted in `usage.server_tool_use.web_search_requests`. No client `tool_result` answers them.

The rule, deterministic so tests can rely on it: in each user turn the model makes every search
the tool allows (`max_uses`, one when unset), then goes on as without the tool (client tools or
its answer). One response runs at most `EmulatorConfig.server_tool_iterations` searches (the
API's server loop has a cap, 10 iterations); a turn that needs more ends with `stop_reason`
`pause_turn`, its content the searches so far. The client continues it as the API documents:
it sends the conversation back with the paused reply as the last (assistant) message and no new
user message; the searches already in the assistant messages after the user's turn count as
done, and the reply holds only what follows.
"""

from __future__ import annotations

import hashlib
import json
import random

from runner.emulator.parts import Part, prose, text_part
from runner.emulator.request import MessageRequest, Obj, int_or

SEARCH_RESULTS = 3


def search_tool(request: MessageRequest) -> Obj | None:
    """The request's web search tool, if it has one."""
    for tool in request.tools:
        if str(tool.get("type", "")).startswith("web_search_"):
            return tool
    return None


def searches_left(request: MessageRequest) -> int:
    """Searches the model still makes in the user's current turn."""
    tool = search_tool(request)
    if tool is None:
        return 0
    return max(0, int_or(tool.get("max_uses"), 1) - _searches_done(request, str(tool.get("name"))))


def _searches_done(request: MessageRequest, name: str) -> int:
    done = 0
    for turn in reversed(request.turns):
        if turn.role == "user" and any(b.get("type") == "text" for b in turn.blocks):
            break
        done += sum(
            1 for b in turn.blocks if b.get("type") == "server_tool_use" and b.get("name") == name
        )
    return done


def search_parts(request: MessageRequest, rng: random.Random, count: int) -> list[Part]:
    """`count` searches: each a preamble, the `server_tool_use` and its result."""
    tool = search_tool(request)
    name = str(tool.get("name")) if tool is not None else "web_search"
    words = [w.strip(".,;:!?'\"()") for w in request.user_turn_text().split()]
    parts: list[Part] = []
    for _ in range(count):
        query = " ".join(rng.sample(words, min(len(words), 4))) if words else prose(rng, 3)
        block_id = "srvtoolu_" + hashlib.sha256(f"{rng.random()}".encode()).hexdigest()[:24]
        arguments = json.dumps({"query": query})
        parts += [
            text_part("Let me search for " + prose(rng, 3 + rng.randrange(4))),
            Part("server_tool_use", arguments, 8 + len(query.split()), name, block_id),
            Part("web_search_tool_result", json.dumps(_results(rng)), 0, name, block_id),
        ]
    return parts


def _results(rng: random.Random) -> list[Obj]:
    results: list[Obj] = []
    for _ in range(SEARCH_RESULTS):
        slug = hashlib.sha256(f"{rng.random()}".encode()).hexdigest()
        results.append(
            {
                "type": "web_search_result",
                "url": f"https://example.com/{slug[:12]}",
                "title": prose(rng, 5).rstrip("."),
                "encrypted_content": slug * 2,
                "page_age": "April 30, 2026",
            }
        )
    return results


def continues_paused_turn(request: MessageRequest) -> bool:
    """Whether the request hands back a paused reply to be continued (it ends with one)."""
    return request.turns[-1].role == "assistant"
