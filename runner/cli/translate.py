"""Analysis errors in the CLI's words: the library raises plain ValueErrors that carry data
(`UnknownBaseline`, `BadThreshold`); the commands re-raise them as usage errors (exit 2) that
name the flag the user gave."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from runner.analysis.baseline import UnknownBaseline
from runner.analysis.thresholds import BadThreshold, Threshold, parse_thresholds
from runner.errors import UsageError


@contextmanager
def flag_errors() -> Iterator[None]:
    """Turn an unknown baseline or a bad threshold into a UsageError naming the flag."""
    try:
        yield
    except UnknownBaseline as exc:
        raise UsageError(f"{exc} Choose one of them with --baseline ARM.") from None
    except BadThreshold as exc:
        raise UsageError(f"--fail-on {exc}") from None


def parse_fail_on(texts: Iterable[str]) -> tuple[Threshold, ...]:
    """The `--fail-on` expressions parsed; a bad one is a UsageError quoting it."""
    with flag_errors():
        return parse_thresholds(texts)
