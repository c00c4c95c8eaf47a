"""Compact JSON assembled from pieces encoded once, byte for byte what `http.json_response` sends.

The documents the fake ESPN serves on every poll (a game's summary, each scoreboard event) are
mostly recorded parts that never change; encoding those once and joining them costs far less than
encoding a 0.3-1 MB document per request. Both paths use `dumps`, so the joined body equals the
whole document encoded at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import orjson

_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON: orjson's, or for what orjson refuses (a lone surrogate, as
    recorded from ESPN and loaded by `json`, or an integer over 64 bits) `json`'s, the surrogates
    escaped as `json.dumps` escapes them, so a recording is served as ESPN sent it."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        # JSON's own syntax is ASCII, so a surrogate can only sit inside a string.
        return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text).encode("utf-8")


def encode(value: Any) -> str:
    """`value` as compact JSON, as `http.json_response` writes a whole document."""
    return dumps(value).decode("utf-8")


def member(key: str, encoded_value: str) -> str:
    """An encoded `"key":value` member of a JSON object."""
    return encode(key) + ":" + encoded_value


def json_object(members: Iterable[str]) -> str:
    """A JSON object from encoded members, in their order."""
    return "{" + ",".join(members) + "}"


def json_array(items: Iterable[str]) -> str:
    """A JSON array from encoded items, in their order."""
    return "[" + ",".join(items) + "]"
