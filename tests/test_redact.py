"""Scrubbing: the key, any 8 characters of it, and anything key-shaped become [redacted]."""

from __future__ import annotations

import json

import pytest

from runner.redact import REDACTED, Redactor

KEY = "sk-ant-api03-Zq8vW2mN5pR7tY1uI4oP6aS9dF3gH0jK"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(f"invalid x-api-key {KEY}", f"invalid x-api-key {REDACTED}", id="whole"),
        pytest.param(f"b'{KEY}\\n'", f"b'{REDACTED}\\n'", id="escaped"),
        pytest.param(f"starts {KEY[:12]}.", f"starts {REDACTED}.", id="prefix"),
        pytest.param(f"ends {KEY[-9:]}", f"ends {REDACTED}", id="suffix"),
        pytest.param(f"middle <{KEY[14:22]}>", f"middle <{REDACTED}>", id="eight-characters"),
        pytest.param(f"too short {KEY[14:21]}", f"too short {KEY[14:21]}", id="seven-kept"),
        pytest.param("someone's sk-ant-admin01-xyz_9", f"someone's {REDACTED}", id="shape"),
        pytest.param(f"{KEY}{KEY}", REDACTED, id="repeated-merges"),
        pytest.param("Unsupported beta header: x", "Unsupported beta header: x", id="untouched"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    """Each form of an echoed key is replaced; ordinary text is not."""
    assert Redactor([KEY]).scrub(text) == expected


def test_without_a_key_only_the_shape_rule_applies() -> None:
    """A Redactor with no secrets still removes key-shaped strings."""
    assert Redactor([None, ""]).scrub("k=sk-ant-abc, v=12345678") == f"k={REDACTED}, v=12345678"


@pytest.mark.parametrize(
    "key",
    [KEY, "bench-key", "abcdefgh", "0123456789abc"],
    ids=["key-shaped", "nine", "eight", "thirteen"],
)
def test_every_eight_characters_of_the_key_are_found_wherever_they_start(key: str) -> None:
    """A piece of 8 characters is replaced at every offset of the key, whatever its length."""
    redactor = Redactor([key])
    for start in range(len(key) - 7):
        piece = key[start : start + 8]
        assert redactor.scrub(f"<{piece}>") == f"<{REDACTED}>", piece


def test_a_json_value_with_nothing_to_scrub_comes_back_as_it_is() -> None:
    """`scrub_json` returns the very object it was given when its text holds no secret."""
    value = {"content": [{"type": "text", "text": "caf\u00e9 \u2713"}], "usage": {"n": 1.5}}

    assert Redactor([KEY]).scrub_json(value) is value


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"content": [{"text": f"echo {KEY[10:30]}\u00e9"}]}, id="nested-value"),
        pytest.param({f"x{KEY}": 1, "n": [1, 2.5, None, True]}, id="in-a-key"),
        pytest.param({"text": "sk-ant-other-key\n\u2713"}, id="shape"),
    ],
)
def test_a_json_value_is_scrubbed_through_its_json_text(value: dict[str, object]) -> None:
    """`scrub_json` is the value read back from its scrubbed `json.dumps` text, wherever in
    the value (string or key, among escapes) the secret sits."""
    scrubbed = Redactor([KEY]).scrub_json(value)

    assert scrubbed == json.loads(Redactor([KEY]).scrub(json.dumps(value)))
    assert REDACTED in json.dumps(scrubbed)
