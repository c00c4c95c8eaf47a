"""Fuzz: every recorded ESPN fixture with odd bytes and values planted in it goes through the
daemon's path (HttpSource.decode on the raw bytes, the parser, the repositories into PostgreSQL)
and loses nothing.

Planted at seeded positions in string values of optional sections and in plays' text: lone
surrogate escapes, NUL escapes, bytes that are not UTF-8, and NUL after a byte-order mark;
planted as extra members of objects there: NaN, Infinity, an integer over 64 bits, a key with a
surrogate and a NUL, and a duplicate of the object's first key (the original, later, wins).
Asserted: no exception, no NUL or surrogate in any decoded string or key, U+FFFD where a
surrogate or a bad byte was, NUL gone, the game and every play parsed and stored, and the
plays' stored text exactly the cleaned text.
"""

from __future__ import annotations

import functools
import math
import random
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from espn_support import ESPN
from nfl_sync.domain.play_classifier import with_significance
from nfl_sync.sources.espn.injuries import parse_injuries
from nfl_sync.sources.espn.scoreboard import parse_scoreboard, parse_scoreboard_odds, parse_scoreboard_weather
from nfl_sync.sources.espn.summary import parse_summary
from nfl_sync.sources.http import HttpSource, Reply

SEEN_AT = datetime(2026, 1, 25, 18, 0, tzinfo=UTC)
POSITIONS = 8  # planted per document
SEEDS = (1, 2)
BOM = b"\xef\xbb\xbf"
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# kind -> (bytes planted inside a string, what the decoded string must then be, given the original)
IN_STRINGS: dict[str, tuple[bytes, Callable[[str, int], str]]] = {
    "surrogate": (b"\\udc9d", lambda text, at: text[:at] + "\ufffd" + text[at:]),
    "nul": (b"\\u0000", lambda text, at: text),
    "not_utf8": (b"\xed\xb2\x9d\xff", lambda text, at: text[:at] + "\ufffd" * 4 + text[at:]),
    "bom_and_nul": (b"\\u0000", lambda text, at: text),
}
MEMBERS = "members"
KINDS = (*IN_STRINGS, MEMBERS)
# Parts of a summary or scoreboard event that identify the game: never planted in.
OPTIONAL_KEYS = frozenset(
    [
        "news",
        "article",
        "boxscore",
        "leaders",
        "pickcenter",
        "odds",
        "gameInfo",
        "injuries",
        "winprobability",
        "scoringPlays",
        "weather",
        "headlines",
        "broadcasts",
        "geoBroadcasts",
        "notes",
        "links",
        "venue",
        "situation",
        "tickets",
        "standings",
        "videos",
        "againstTheSpread",
        "details",
        "shortComment",
        "athlete",
    ]
)
FIXTURES = sorted(p.name for p in ESPN.glob("*.json") if not p.name.startswith("teams_"))


def _in_optional_part(path: tuple, anywhere: bool) -> bool:
    """Optional sections, and the text of plays (`anywhere`: any part of a core record); never a
    `$ref` (a core record's identity)."""
    if path[-1] == "$ref":
        return False
    if anywhere or (path[-1] == "text" and "plays" in path):
        return True
    return any(key in OPTIONAL_KEYS for key in path if isinstance(key, str))


@functools.cache
def _candidates(name: str) -> tuple[list[tuple], list[tuple]]:
    """(paths of strings, paths of objects) of the fixture where things may be planted."""
    anywhere = name.startswith("core_")
    strings: list[tuple] = []
    objects: list[tuple] = []
    pending: list[tuple[Any, tuple]] = [(orjson.loads((ESPN / name).read_bytes()), ())]
    while pending:
        value, at = pending.pop()
        if isinstance(value, dict):
            if at and _in_optional_part(at, anywhere) and value:
                objects.append(at)
            pending.extend((child, (*at, key)) for key, child in value.items())
        elif isinstance(value, list):
            pending.extend((child, (*at, index)) for index, child in enumerate(value))
        elif isinstance(value, str) and value and _in_optional_part(at, anywhere):
            strings.append(at)
    return sorted(strings, key=repr), sorted(objects, key=repr)


def _at(node: Any, path: tuple) -> Any:
    for key in path:
        node = node[key]
    return node


def _plant(name: str, kind: str, seed: int) -> tuple[bytes, list[tuple[tuple, str]], list[tuple[tuple, dict]]]:
    """(mutated bytes, [(string path, expected decoded string)], [(object path, original object)])."""
    tree = orjson.loads((ESPN / name).read_bytes())
    strings, objects = _candidates(name)
    rng = random.Random(f"{name}:{kind}:{seed}")
    replacements: dict[bytes, bytes] = {}
    expected_strings: list[tuple[tuple, str]] = []
    expected_objects: list[tuple[tuple, dict]] = []
    if kind == MEMBERS:
        chosen: list[tuple] = []
        for path in rng.sample(objects, len(objects)):
            if len(chosen) < POSITIONS and not any(path[: len(c)] == c or c[: len(path)] == path for c in chosen):
                chosen.append(path)  # never one inside another: each is compared with its original
        for number, path in enumerate(chosen):
            parent, original = _at(tree, path[:-1]), _at(tree, path)
            marker = f"PLANTEDMEMBER{number}"
            first = next(iter(original))
            parent[path[-1]] = {marker: 0, **original}
            replacements[f'"{marker}":0'.encode()] = (
                b'"nan":NaN,"inf":Infinity,"ninf":-Infinity,"big":123456789012345678901234567890,'
                b'"odd\\udc9d\\u0000key":1,' + orjson.dumps(first) + b':"duplicate, overridden"'
            )
            expected_objects.append((path, original))
    else:
        planted, expect = IN_STRINGS[kind]
        for number, path in enumerate(rng.sample(strings, min(POSITIONS, len(strings)))):
            text = _at(tree, path)
            at = rng.randrange(len(text) + 1)
            marker = f"PLANTEDSTRING{number}"
            _at(tree, path[:-1])[path[-1]] = text[:at] + marker + text[at:]
            replacements[marker.encode()] = planted
            expected_strings.append((path, expect(text, at)))
    body = orjson.dumps(tree)
    for marker, planted in replacements.items():
        body = body.replace(marker, planted)
    return (BOM + body if kind == "bom_and_nul" else body), expected_strings, expected_objects


def _unstorable(node: Any) -> list[str]:
    """Every string or key holding NUL or a surrogate."""
    found = []
    pending = [node]
    while pending:
        value = pending.pop()
        texts = list(value) if isinstance(value, dict) else [value]
        found += [t for t in texts if isinstance(t, str) and UNSTORABLE.search(t)]
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return found


def _store_summary(db, data: Any) -> dict[str, str]:
    """The summary stored as the daemon stores it; play id -> stored text."""
    summary = parse_summary(data, on_bad_part=lambda error: pytest.fail(f"a part was lost: {error}"))

    def write(tx):
        tx.games.upsert_game(summary.game)
        tx.games.insert_plays(with_significance(list(summary.plays)))
        tx.games.insert_win_probabilities(summary.win_probabilities)
        tx.games.upsert_player_stats(summary.player_stats, SEEN_AT)
        tx.games.upsert_odds(summary.odds, SEEN_AT)
        tx.games.upsert_injuries(summary.injuries, SEEN_AT)
        if summary.weather is not None:
            tx.games.upsert_weather(summary.game.game_id, summary.weather)
        return {row["play_id"]: row["text"] for row in tx.games.plays(summary.game.game_id)}

    stored = db.run(write)
    assert set(stored) == {p.play_id for p in summary.plays}
    return stored


def _store_scoreboard(db, data: Any) -> dict[str, str]:
    games = parse_scoreboard(data, on_bad_event=lambda error: pytest.fail(f"an event was lost: {error}"))

    def write(tx):
        tx.games.upsert_games(games)
        tx.games.upsert_odds(parse_scoreboard_odds(data), SEEN_AT)
        for weather in parse_scoreboard_weather(data):
            tx.games.upsert_weather(weather.game_id, weather)
        return {game.game_id: tx.games.game(game.game_id) for game in games}

    stored = db.run(write)
    assert all(stored.values())
    return {}


def _store_injuries(db, data: Any) -> dict[str, str]:
    injuries = parse_injuries(data)
    db.run(lambda tx: tx.games.upsert_injuries(injuries, SEEN_AT))
    return {}


def _handler(name: str) -> Callable[[Any, Any], dict[str, str]] | None:
    """How the daemon takes the fixture in; None for core pages it only follows links of."""
    if name.startswith(("summary_", "cdn_game_")):
        return _store_summary
    if name.startswith("scoreboard_"):
        return _store_scoreboard
    if name.startswith("core_injury_"):
        return _store_injuries
    return None


CASES = [(name, kind, seed) for name in FIXTURES for kind in KINDS for seed in SEEDS]
CASE_COUNT = len(CASES)  # documents run through decode, parse and store, each with POSITIONS plants


@pytest.mark.parametrize(("name", "kind", "seed"), CASES)
def test_planted_oddities_lose_nothing_and_never_reach_postgresql(db, name, kind, seed):
    body, expected_strings, expected_objects = _plant(name, kind, seed)
    source = HttpSource("espn", "https://site.api.espn.com")
    data = source.decode(Reply(200, {"Content-Type": "application/json"}, body), name, None)
    assert _unstorable(data) == []
    for path, expected in expected_strings:
        assert _at(data, path) == expected, path
    for path, original in expected_objects:
        decoded = _at(data, path)
        assert decoded.pop("big") == 123456789012345678901234567890 and math.isnan(decoded.pop("nan"))
        assert decoded.pop("inf") == -decoded.pop("ninf") == math.inf and decoded.pop("odd\ufffdkey") == 1
        assert orjson.dumps(decoded) == orjson.dumps(original), path  # the duplicate key lost to the original
    store = _handler(name)
    if store is None:
        return
    stored = store(db, data)
    # A play's text as planted, cleaned, is what PostgreSQL holds (unless a later copy of the
    # play, in the current drive, is the one that counts).
    copies = Counter(play.get("id") for play in _plays(data))
    for path, expected in expected_strings:
        play_id = _at(data, path[:-1]).get("id") if path[-1] == "text" and "plays" in path else None
        if play_id in stored and copies[play_id] == 1:
            assert stored[play_id] == (expected.strip() or None), path


def _plays(data: Any) -> list[dict]:
    drives = data.get("gamepackageJSON", data).get("drives", {})
    return [
        play for drive in [*drives.get("previous", []), drives.get("current", {})] for play in drive.get("plays", [])
    ]
