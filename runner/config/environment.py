"""The one place beta-runner reads environment variables.

The CLI takes a snapshot once (`Environment.from_os()`) and passes what each layer needs.
The API key is looked up by the variable name the experiment gives, and is never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

EMULATOR_KEYS_ENV = "BETA_RUNNER_EMULATOR_KEYS"


@dataclass(frozen=True)
class Environment:
    """A read-only view of the variables beta-runner honours."""

    variables: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_os(cls) -> Environment:
        """Snapshot the process environment."""
        return cls(dict(os.environ))

    @property
    def base_url(self) -> str | None:
        """`ANTHROPIC_BASE_URL`, when set and non-empty."""
        return self.variables.get("ANTHROPIC_BASE_URL") or None

    @property
    def emulator_keys(self) -> tuple[str, ...]:
        """The keys `beta-runner emulate` accepts, from `BETA_RUNNER_EMULATOR_KEYS` (comma-
        separated); empty when unset (then any key is accepted)."""
        listed = self.variables.get(EMULATOR_KEYS_ENV, "")
        return tuple(key.strip() for key in listed.split(",") if key.strip())

    def api_key(self, variable: str) -> str | None:
        """The key held in `variable`, or None when unset or empty."""
        return self.variables.get(variable) or None
