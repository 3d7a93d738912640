"""JSON text of decoded values, written by C encoders made once.

`json.dumps` with any option makes a `JSONEncoder`, and it a C encoder, on every call: a
cost per answer at hundreds of answers a second. `encoder(item_separator, key_separator)`
makes the C encoder once and returns a function giving exactly `json.dumps(value,
separators=(item_separator, key_separator))` for the values a decoded answer holds. It has
no circular-reference check, which a tree decoded from JSON never needs (and whose shared
memo would outlive a failed call).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as json_encoder
from typing import Any


def encoder(item_separator: str, key_separator: str) -> Callable[[Any], str]:
    """`json.dumps(value, separators=(item_separator, key_separator))`, its encoder made once."""
    make: Any = getattr(json_encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover -- CPython always has the C encoder
        return json.JSONEncoder(separators=(item_separator, key_separator)).encode
    encode = make(
        None, json.JSONEncoder().default, json_encoder.encode_basestring_ascii,
        None, key_separator, item_separator, False, False, True,
    )  # fmt: skip
    return lambda value: "".join(encode(value, 0))
