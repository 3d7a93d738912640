"""JSON text of trees of JSON values, written by C encoders made once.

`json.dumps` with any option makes a `JSONEncoder`, and it a C encoder, on every call: a
cost per answer at hundreds of answers a second. `encoder(item_separator, key_separator)`
makes the C encoder once and returns a function giving exactly `json.dumps(value,
separators=(item_separator, key_separator))` for trees of JSON values (a decoded answer, a
request body from the experiment's TOML, a journal row). It has no circular-reference
check, which a tree never needs (and whose shared memo would outlive a failed call).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as json_encoder
from typing import Any


def encoder(item_separator: str, key_separator: str, *, make: Any = None) -> Callable[[Any], str]:
    """`json.dumps(value, separators=(item_separator, key_separator))`, its encoder made once.
    `c_make_encoder` is CPython's own, not public: where it is missing, takes other arguments
    or writes anything else for a probe value, the public encoder is used instead (`make`:
    called in place of `c_make_encoder`, by tests)."""
    public = json.JSONEncoder(separators=(item_separator, key_separator)).encode
    try:
        made = _c_encoder(item_separator, key_separator, make)
        agrees = made is not None and made(_PROBE) == public(_PROBE)
    except (TypeError, ValueError, AttributeError):
        agrees = False
    return made if agrees and made is not None else public


_PROBE = {"a": [1, 2.5, None, True, "\u00e9\n"], "b": {"c": ""}}


def _c_encoder(item_separator: str, key_separator: str, make: Any) -> Callable[[Any], str] | None:
    make = make or getattr(json_encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover -- CPython always has the C encoder
        return None
    encode = make(
        None, json.JSONEncoder().default, json_encoder.encode_basestring_ascii,
        None, key_separator, item_separator, False, False, True,
    )  # fmt: skip
    return lambda value: "".join(encode(value, 0))
