"""How a run's options are named in the errors its checks raise: as the caller wrote them.

`beta-runner run` and `runner.run_experiment` share one set of checks (`runner.run.launch`);
a message names an option through `OptionNames`, so the CLI's reads `--run-id` and
`--via batches` and the library's `run_id` and `via='batches'`. Options are named by their
keyword (`run_id`, `results_dir`, ...); `FLAGS` spells them on the command line (`--results`
for `results_dir`, else the keyword with dashes) and `KEYWORDS` in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

_FLAG_SPELLINGS = {"results_dir": "--results"}


@dataclass(frozen=True)
class OptionNames:
    """One way of spelling options: as command-line flags, or as keyword arguments."""

    flags: bool

    def name(self, option: str) -> str:
        """The option alone: `--run-id` or `run_id`."""
        if self.flags:
            return _FLAG_SPELLINGS.get(option, "--" + option.replace("_", "-"))
        return option

    def given(self, option: str, value: object, *, quoted: bool = False) -> str:
        """The option with a value: `--via batches` (`--via 'x y'` when `quoted`, for a value
        the user typed) or `via='batches'`; a flag's True is the flag alone (`--local`)."""
        if not self.flags:
            return f"{option}={value!r}"
        if value is True:
            return self.name(option)
        return f"{self.name(option)} {value!r}" if quoted else f"{self.name(option)} {value}"


FLAGS = OptionNames(flags=True)
KEYWORDS = OptionNames(flags=False)
