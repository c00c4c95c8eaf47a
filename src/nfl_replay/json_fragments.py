"""Compact JSON assembled from pieces encoded once, byte for byte what `http.json_response` sends.

The documents the fake ESPN serves on every poll (a game's summary, each scoreboard event) are
mostly recorded parts that never change; encoding those once and joining them costs far less than
encoding a 0.3-1 MB document per request. Both paths use orjson's compact output, so the joined
body equals the whole document encoded at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson


def encode(value: Any) -> str:
    """`value` as compact JSON, as `http.json_response` writes a whole document."""
    return orjson.dumps(value).decode("utf-8")


def member(key: str, encoded_value: str) -> str:
    """An encoded `"key":value` member of a JSON object."""
    return encode(key) + ":" + encoded_value


def json_object(members: Iterable[str]) -> str:
    """A JSON object from encoded members, in their order."""
    return "{" + ",".join(members) + "}"


def json_array(items: Iterable[str]) -> str:
    """A JSON array from encoded items, in their order."""
    return "[" + ",".join(items) + "]"
