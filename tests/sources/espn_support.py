"""Recorded ESPN responses for the ESPN parser tests (tests/fixtures/espn), each parsed once."""

from __future__ import annotations

import copy
import json

from helpers import fixture_path

ESPN = fixture_path("espn")
_CACHE: dict[str, dict] = {}


def raw(name: str) -> dict:
    """A fresh copy of a fixture (parsed once per session: the biggest is 2.9 MB)."""
    if name not in _CACHE:
        _CACHE[name] = json.loads((ESPN / name).read_text())
    return copy.deepcopy(_CACHE[name])


def package(name: str) -> dict:
    data = raw(name)
    return data.get("gamepackageJSON", data)


def raw_plays(data: dict) -> list[dict]:
    return [play for drive in data.get("drives", {}).get("previous", []) for play in drive["plays"]]
