"""Decoding JSON bodies: whatever Python's `json` accepts is accepted, every string comes out
storable in PostgreSQL (no NUL, no lone surrogate), truly invalid JSON is still a clear error,
and orjson still decodes the common document."""

from __future__ import annotations

import math

import orjson
import pytest

from helpers import fixture_path
from nfl_sync.domain.errors import SourceError
from nfl_sync.sources import json_text
from nfl_sync.sources.http import HttpSource, Reply


def decode(body: bytes, expect: type | None = None):
    return HttpSource("espn", "https://example.test").decode(Reply(200, {}, body), "summary", expect)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"text": "recap \\udc9d end"}', {"text": "recap \ufffd end"}),  # a lone low surrogate
        (b'["\\ud83c"]', ["\ufffd"]),  # a lone high surrogate
        (b'["\\ud83c\\udfc8"]', ["\U0001f3c8"]),  # a pair is one character, kept
        (b'{"text": "a\\u0000b"}', {"text": "ab"}),  # orjson accepts NUL: still dropped
        (b'{"k\\u0000ey\\udc9d": 1}', {"key\ufffd": 1}),  # keys too
        (b'{"a": 1, "a": 2}', {"a": 2}),  # duplicate keys: the last wins, as in json
        (b'\xef\xbb\xbf{"a": "b"}', {"a": "b"}),  # a UTF-8 byte-order mark
        (b'{"text": "caf\xe9 \xff"}', {"text": "caf\ufffd \ufffd"}),  # bytes that are not UTF-8
        (b'{"big": 123456789012345678901234567890}', {"big": 1.2345678901234568e29}),  # as orjson reads it
        (
            b'{"big": 123456789012345678901234567890, "s": "\\udc9d"}',
            {"big": 123456789012345678901234567890, "s": "\ufffd"},
        ),
        (b'{"text": "raw\ttab"}', {"text": "raw\ttab"}),  # a raw control character in a string
    ],
)
def test_oddities_are_accepted_and_made_storable(body, expected):
    assert decode(body) == expected


def test_nan_and_infinity_are_accepted():
    data = decode(b'{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e999}')
    assert math.isnan(data["a"]) and data["b"] == data["d"] == math.inf and data["c"] == -math.inf


def test_nested_and_escaped_strings_are_cleaned_everywhere_but_an_escaped_backslash_is_text():
    body = b'{"a": [{"b": ["x\\u0000", {"c\\u0000": "\\udc9d"}]}], "d": "\\\\u0000 is text"}'
    assert decode(body) == {"a": [{"b": ["x", {"c": "\ufffd"}]}], "d": "\\u0000 is text"}


def test_a_deeply_nested_document_does_not_exhaust_the_stack():
    depth = 1000  # orjson's limit is 1024; a recursive walk would hit Python's at 1000
    body = b"[" * depth + b'"\\u0000"' + b"]" * depth
    node = decode(body)
    for _ in range(depth):
        node = node[0]
    assert node == ""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"events": [1, 2', "invalid JSON"),
        (b"", "invalid JSON"),
        (b"not json at all", "invalid JSON"),
        (b"<html><body>502</body></html>", "HTML page"),
        (b'{"a": "\\udc9d"', "invalid JSON"),  # oddities do not make a truncated body acceptable
    ],
)
def test_invalid_json_is_still_a_clear_source_error(body, message):
    with pytest.raises(SourceError, match=message) as caught:
        decode(body)
    assert caught.value.path == "/summary"


def test_wrong_shape_after_the_fallback_is_still_reported():
    with pytest.raises(SourceError, match="wrong shape"):
        decode(b'["\\udc9d"]', dict)


def test_the_common_document_is_orjsons_alone_with_no_fallback_or_walk(monkeypatch):
    def never(*args):
        raise AssertionError("the common case must not fall back or walk the document")

    monkeypatch.setattr(json_text, "_lenient", never)
    monkeypatch.setattr(json_text, "storable", never)
    body = fixture_path("espn", "summary_401547417.json").read_bytes()
    assert json_text.loads(body) == orjson.loads(body)


def test_storable_changes_only_what_postgresql_cannot_hold():
    value = {"a": "fine", "b": ["x\x00y", "\ud800"], "c\x00": 1.5, "d": None}
    assert json_text.storable(value) == {"a": "fine", "b": ["xy", "\ufffd"], "c": 1.5, "d": None}
    assert json_text.storable("\x00\udfff") == "\ufffd"


@pytest.mark.parametrize(
    ("body", "walked"),
    [
        (rb'{"a": "\\u0000 is text"}', False),  # an escaped backslash, then plain text
        (rb'{"a": "\\\u0000"}', True),  # an escaped backslash, then the NUL escape
        (rb'{"a": "\/\u0000"}', True),
        (rb'{"a": "no escapes"}', False),
    ],
)
def test_only_a_document_holding_the_nul_escape_is_walked(monkeypatch, body, walked):
    walks = []
    walk = json_text.storable
    monkeypatch.setattr(json_text, "storable", lambda value: walks.append(value) or walk(value))
    data = json_text.loads(body)
    assert bool(walks) == walked and "\x00" not in data["a"]
