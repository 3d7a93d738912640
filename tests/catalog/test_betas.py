"""Tests for runner.catalog.betas: the beta catalog, name checks and the header value."""

from __future__ import annotations

from datetime import date

import pytest

from runner.catalog.betas import (
    BETA_NAME_RE,
    STATUSES,
    BetaInfo,
    catalog,
    check_beta_name,
    without_date,
)
from runner.config.types import Arm

# Every beta name in the API fact sheet, section 1: the 33 of SDK 0.121.0, the 25 that 2.12.0
# added, and the two strings found elsewhere in the SDK source.
PY0 = [
    "message-batches-2024-09-24",
    "prompt-caching-2024-07-31",
    "computer-use-2024-10-22",
    "computer-use-2025-01-24",
    "pdfs-2024-09-25",
    "token-counting-2024-11-01",
    "token-efficient-tools-2025-02-19",
    "output-128k-2025-02-19",
    "files-api-2025-04-14",
    "mcp-client-2025-04-04",
    "mcp-client-2025-11-20",
    "dev-full-thinking-2025-05-14",
    "interleaved-thinking-2025-05-14",
    "code-execution-2025-05-22",
    "extended-cache-ttl-2025-04-11",
    "context-1m-2025-08-07",
    "context-management-2025-06-27",
    "model-context-window-exceeded-2025-08-26",
    "skills-2025-10-02",
    "fast-mode-2026-02-01",
    "output-300k-2026-03-24",
    "user-profiles-2026-03-24",
    "advisor-tool-2026-03-01",
    "managed-agents-2026-04-01",
    "cache-diagnosis-2026-04-07",
    "dreaming-2026-04-21",
    "thinking-token-count-2026-05-13",
    "server-side-fallback-2026-06-01",
    "server-side-fallback-2026-07-01",
    "fallback-credit-2026-06-01",
    "fallback-credit-2026-07-01",
    "agent-memory-2026-07-22",
    "mid-conversation-tool-changes-2026-07-01",
]
PY2_ADDED = [
    "user-profiles-2026-08-18",
    "user-profiles-2026-09-04",
    "compact-2026-01-12",
    "computer-use-2025-11-24",
    "mcp-tunnels-2026-06-22",
    "structured-outputs-2025-11-13",
    "task-budgets-2026-03-13",
    "thinking-display-updates-2026-08-18",
    "mid-conversation-output-config-2026-07-01",
    "thinking-binding-controls-2026-08-01",
    "mid-conversation-system-clear-at-2026-08-21",
    "compact-2026-09-04",
    "inline-tools-2026-09-15",
    "mcp-client-2026-09-15",
    "ce-plugins-2026-09-01",
    "spend-limit-reads-2026-09-26",
    "telemetry-destinations-2026-08-11",
    "webhooks-2026-10-07",
    "admin-user-sign-out-2026-10-08",
    "message-threads-2026-08-12",
    "analytics-usage-cost-2026-08-24",
    "experimental-claude-tag-2026-10-21",
    "ce-user-management-2026-07-13",
    "ce-claude-code-managed-settings-2026-10-06",
    "user-profiles-billing-2026-10-01",
]
OTHERS = ["structured-outputs-2025-12-15", "fine-grained-tool-streaming-2025-05-14"]


def test_reference_lists_have_expected_sizes() -> None:
    """The transcribed reference lists hold 33 and 25 distinct names."""
    assert (len(set(PY0)), len(set(PY2_ADDED))) == (33, 25)


def test_catalog_covers_every_reference_name() -> None:
    """Every beta named in the reference is in the catalog."""
    missing = set(PY0 + PY2_ADDED + OTHERS) - set(catalog())
    assert missing == set()


@pytest.mark.parametrize("name", sorted(catalog()), ids=str)
def test_catalog_entry_is_consistent(name: str) -> None:
    """Each entry has a well-formed name, its date, a one-line description and a known status."""
    info = catalog()[name]
    assert check_beta_name(name) is None
    assert info.name == name
    assert info.date.isoformat() == name[-10:]
    assert info.description
    assert "\n" not in info.description
    assert info.status in STATUSES
    assert info.needs


def test_catalog_records_needs_and_evidence() -> None:
    """Interleaved thinking needs thinking and tools and shows thinking after a tool call;
    evidence entries use the signal vocabulary that results record."""
    info = catalog()["interleaved-thinking-2025-05-14"]
    assert info.needs_body == ("thinking", "tools")
    assert info.evidence == ("block:thinking_after_tool",)
    assert catalog()["fast-mode-2026-02-01"].evidence == ("usage.speed=fast",)


def test_not_messages_betas_show_no_evidence() -> None:
    """Betas that are not Messages features list no response evidence or body needs."""
    for info in catalog().values():
        if info.status == "not-messages":
            assert (info.evidence, info.needs_body) == ((), ())


def test_catalog_is_cached_and_read_only() -> None:
    """catalog() returns the same read-only mapping each time."""
    assert catalog() is catalog()
    with pytest.raises(TypeError):
        catalog()["x"] = catalog()["pdfs-2024-09-25"]  # type: ignore[index]


def test_applies_to_model() -> None:
    """applies_to restricts a beta to model prefixes; empty means every model."""
    tet = catalog()["token-efficient-tools-2025-02-19"]
    assert tet.applies_to_model("claude-3-7-sonnet-20250219")
    assert not tet.applies_to_model("claude-sonnet-5")
    assert BetaInfo("x-2025-01-01", date(2025, 1, 1), "d", "beta", "n").applies_to_model("any")


@pytest.mark.parametrize(
    "name",
    ["interleaved-thinking-2025-05-14", "a-2024-02-29", "output-128k-2025-02-19"],
    ids=["typical", "leap-day", "digits-in-words"],
)
def test_well_formed_names_pass(name: str) -> None:
    """Lower-case words joined by '-' and a real date are well formed."""
    assert check_beta_name(name) is None
    assert BETA_NAME_RE.match(name)


@pytest.mark.parametrize(
    "name",
    [
        "Interleaved-thinking-2025-05-14",
        "interleaved_thinking-2025-05-14",
        "interleaved-thinking",
        "interleaved-thinking-2025-5-14",
        "interleaved--thinking-2025-05-14",
        "-2025-05-14",
        "interleaved-thinking-2025-05-14 ",
        "interleaved-thinking-2025-02-30",
        "interleaved-thinking-2025-13-01",
    ],
    ids=[
        "upper-case",
        "underscore",
        "no-date",
        "short-month",
        "double-dash",
        "no-words",
        "trailing-space",
        "feb-30",
        "month-13",
    ],
)
def test_malformed_names_get_a_sentence(name: str) -> None:
    """Malformed names get a problem sentence that quotes the name."""
    problem = check_beta_name(name)
    assert problem is not None
    assert repr(name).strip("'") in problem
    assert problem.endswith(".")


def test_header_value_joins_without_spaces() -> None:
    """Betas are joined with a bare comma; no betas means no header."""
    assert Arm("x", ("a-2025-01-01", "b-2025-01-01")).beta_header == "a-2025-01-01,b-2025-01-01"
    assert Arm("x", ("a-2025-01-01",)).beta_header == "a-2025-01-01"
    assert Arm("x").beta_header is None


def test_without_date_strips_the_suffix() -> None:
    """without_date drops the trailing '-YYYY-MM-DD'."""
    assert without_date("interleaved-thinking-2025-05-14") == "interleaved-thinking"
