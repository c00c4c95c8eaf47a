"""JSON bodies from the outside as Python values, with no string that PostgreSQL would refuse.

A single odd string must never cost a whole document (a recap article with a lone UTF-16
surrogate once lost a game), nor reach the database in a form it rejects (a NUL in a play's
text failed the game's transaction every cycle). So:

* anything Python's `json` accepts is accepted (lone surrogate escapes, NaN and Infinity,
  duplicate keys, a UTF-8 byte-order mark), and even raw control characters in strings;
* bytes that are not UTF-8 are read with U+FFFD in their place rather than refused;
* in every string, keys included, a lone surrogate becomes U+FFFD and NUL is dropped: neither
  text nor jsonb columns can hold them.

orjson decodes the common document in half the time of `json`, so it goes first; the fallback
runs only when orjson refuses a body. Only NUL can come through orjson (as the escape
`\\u0000`; a raw NUL byte is invalid JSON to it), so its documents are walked only when their
bytes hold that escape. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# What PostgreSQL cannot store in text: NUL, and surrogates (which `json` leaves unpaired).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJson(ValueError):
    """A body that no JSON decoder accepts (truncated, HTML, garbage); `str()` says where."""


def loads(content: bytes) -> Any:
    """The JSON value of `content`, every string of it storable (see the module docstring)."""
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError as error:
        return storable(_lenient(content, error))
    return storable(data) if _holds_nul_escape(content) else data


def _holds_nul_escape(content: bytes) -> bool:
    """Whether the JSON text holds the escape `\\u0000`, found from backslash to backslash: a
    one-byte search runs at memory speed and JSON text has few escapes, where searching for the
    six bytes costs a summary a twentieth of its decoding time."""
    at = content.find(b"\\")
    while at != -1:
        if content.startswith(b"u0000", at + 1):
            return True
        at = content.find(b"\\", at + 2)  # past the escaped character: `\\\\u0000` is text, not NUL
    return False


def _lenient(content: bytes, refusal: orjson.JSONDecodeError) -> Any:
    """`json`'s reading of a body orjson refused; orjson's own complaint when `json` refuses too,
    since it names the problem as precisely."""
    text = content.decode("utf-8-sig", "replace")
    try:
        return json.loads(text, strict=False)  # not strict: a raw control character is no reason to lose it
    except ValueError:
        raise InvalidJson(f"{refusal.msg} at char {refusal.pos}") from None


def storable(value: Any) -> Any:
    """`value` with every string and key storable, lists and dicts changed in place.

    Iterative, so a deeply nested document cannot exhaust the stack.
    """
    if isinstance(value, str):
        return _storable_text(value)
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if any(_UNSTORABLE.search(key) for key in node):
                items = [(_storable_text(key), child) for key, child in node.items()]
                node.clear()
                node.update(items)
            for key, child in node.items():
                if isinstance(child, str):
                    node[key] = _storable_text(child)
                elif isinstance(child, (dict, list)):
                    pending.append(child)
        elif isinstance(node, list):
            for index, child in enumerate(node):
                if isinstance(child, str):
                    node[index] = _storable_text(child)
                elif isinstance(child, (dict, list)):
                    pending.append(child)
    return value


def _storable_text(text: str) -> str:
    if not _UNSTORABLE.search(text):
        return text
    return _SURROGATE.sub("\ufffd", text).replace("\x00", "")
