"""An encoder made once writes exactly the text `json.dumps` writes with the same separators."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runner.json_text import encoder

VALUES = [
    pytest.param({"a": [1, 2.5, None, True], "b": {"c": "d"}}, id="nested"),
    pytest.param({"t": 'caf\u00e9 \u2028 \ud83d\ude00 "q" \\ \n\x00'}, id="escapes"),
    pytest.param([float("nan"), float("inf"), -0.0, 1e300, 10**30], id="numbers"),
    pytest.param("plain", id="a-string"),
    pytest.param({}, id="empty"),
]


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")], ids=["compact", "default"])
@pytest.mark.parametrize("value", VALUES)
def test_the_text_is_json_dumps_text(value: Any, separators: tuple[str, str]) -> None:
    """Same text as `json.dumps`, for values as decoded answers hold them."""
    assert encoder(*separators)(value) == json.dumps(value, separators=separators)


def test_a_value_json_cannot_write_fails_as_json_dumps_does_and_leaves_it_usable() -> None:
    """A value `json.dumps` refuses raises its TypeError; the encoder works on after it."""
    write = encoder(",", ":")
    with pytest.raises(TypeError):
        write({"a": object()})
    assert write({"a": 1}) == '{"a":1}'


def _refusing(*args: object) -> object:
    raise TypeError("c_make_encoder() takes other arguments here")


def _wrong(*args: object) -> object:
    return lambda value, level: iter(["not", "json"])


@pytest.mark.parametrize("make", [_refusing, _wrong], ids=["refuses", "writes-other"])
def test_a_c_encoder_that_does_not_match_json_dumps_is_not_used(make: object) -> None:
    """Where CPython's private `c_make_encoder` takes other arguments or writes other text,
    the public encoder writes the same text `json.dumps` does."""
    value = {"a": [1, 2.5, None], "t": "caf\u00e9"}
    assert encoder(",", ":", make=make)(value) == json.dumps(value, separators=(",", ":"))
