"""beta-runner: what changes when you turn on an Anthropic API beta feature."""

from __future__ import annotations

__all__: list[str] = []
