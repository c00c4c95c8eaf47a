"""Property: mutated real payloads (dropped keys, wrong types, nulls) make the parsers either
succeed or raise ParseError, never KeyError/TypeError/AttributeError/IndexError.

Payloads are small subsets of the recorded fixtures so each example stays fast.
"""

from __future__ import annotations

import contextlib
import copy
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import fixture_json
from nfl_sync.domain import play_classifier
from nfl_sync.domain.errors import ParseError
from nfl_sync.sources import odds_parser, weather_parser
from nfl_sync.sources.espn.injuries import parse_injuries
from nfl_sync.sources.espn.scoreboard import parse_scoreboard, parse_scoreboard_odds, parse_scoreboard_weather
from nfl_sync.sources.espn.summary import parse_summary

KICKOFF = datetime(2026, 1, 25, 18, 0, tzinfo=UTC)
REPLACEMENTS = (None, "", "x", "12", 0, -1, 7.5, True, [], [None], {}, {"id": "1"})


def _summary_subset() -> dict:
    data = fixture_json("espn", "cdn_game_401547602.json")["gamepackageJSON"]
    drives = data["drives"]["previous"]
    fumble = next(d for d in drives if d.get("result") == "FUMBLE")
    subset = {
        "header": data["header"],
        "drives": {
            "previous": [dict(drives[0], plays=drives[0]["plays"][:3]), dict(fumble, plays=fumble["plays"][-3:])],
            "current": dict(drives[1], plays=drives[1]["plays"][:2]),
        },
        "scoringPlays": data["scoringPlays"][:2],
        "winprobability": data["winprobability"][:4],
        "pickcenter": data["pickcenter"],
        "gameInfo": data["gameInfo"],
        "boxscore": {
            "players": [
                dict(data["boxscore"]["players"][0], statistics=data["boxscore"]["players"][0]["statistics"][:1])
            ]
        },
    }
    pregame = fixture_json("espn", "summary_401772838_pregame.json")
    subset["injuries"] = [dict(pregame["injuries"][0], injuries=pregame["injuries"][0]["injuries"][:2])]
    subset["gameInfo"] = dict(subset["gameInfo"], weather=pregame["gameInfo"]["weather"])
    return subset


def _scoreboard_subset() -> dict:
    data = fixture_json("espn", "scoreboard_20220911_wk1_live.json")
    states = {}
    for event in data["events"]:
        states.setdefault(event["competitions"][0]["status"]["type"]["state"], event)
    for event in states.values():
        competition = event["competitions"][0]
        for key in ("leaders", "broadcasts", "geoBroadcasts", "headlines"):
            competition.pop(key, None)
        for competitor in competition["competitors"]:
            competitor.pop("statistics", None)
            competitor.pop("leaders", None)
    return {"season": data["season"], "week": data["week"], "events": list(states.values())}


def _odds_subset() -> list:
    event = fixture_json("odds", "the_odds_api_nfl.json")[0]
    return [dict(event, bookmakers=event["bookmakers"][:2])]


def _open_meteo_subset() -> dict:
    data = fixture_json("weather", "openmeteo_forecast.json")
    window = slice(60, 72)
    return dict(data, hourly={key: values[window] for key, values in data["hourly"].items()})


def _openweather_subset() -> dict:
    data = fixture_json("weather", "openweather_forecast.json")
    return dict(data, list=data["list"][:4])


def _parse_summary(payload):
    summary = parse_summary(payload)
    play_classifier.with_significance(summary.plays)


CASES = {
    "summary": (_summary_subset(), _parse_summary),
    "scoreboard": (
        _scoreboard_subset(),
        lambda p: (
            parse_scoreboard(p),
            parse_scoreboard_odds(p),
            parse_scoreboard_weather(p),
        ),
    ),
    "injuries": (
        {"injuries": fixture_json("espn", "summary_401547417.json")["injuries"][:1]},
        parse_injuries,
    ),
    "core_injury": (fixture_json("espn", "core_injury_detail_4426502_598153.json"), parse_injuries),
    "odds": (_odds_subset(), lambda p: odds_parser.parse_odds(p, "decimal")),
    "open_meteo": (_open_meteo_subset(), lambda p: weather_parser.parse_open_meteo_forecast(p, KICKOFF)),
    "openweather": (
        _openweather_subset(),
        lambda p: weather_parser.parse_openweather_forecast(p, datetime(2026, 4, 10, 19, 0, tzinfo=UTC)),
    ),
}


def _paths(node, prefix=()):
    """Every (container path, key) in the tree, so a mutation can hit any depth."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield prefix + (key,)
        yield from _paths(child, prefix + (key,))


PATHS = {name: list(_paths(payload)) for name, (payload, _) in CASES.items()}


def _mutate(payload, path, action, replacement):
    *parents, last = path
    node = payload
    for key in parents:
        node = node[key]
    if action == "drop" and isinstance(node, dict):
        del node[last]
    else:
        node[last] = replacement


@pytest.mark.parametrize("name", sorted(CASES))
def test_unmutated_subsets_parse(name):
    payload, parse = CASES[name]
    parse(copy.deepcopy(payload))


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutations_raise_only_parse_error(name, data):
    payload, parse = CASES[name]
    payload = copy.deepcopy(payload)
    paths = PATHS[name]
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        index = data.draw(st.integers(0, len(paths) - 1), label="path")
        action = data.draw(st.sampled_from(("drop", "replace")), label="action")
        replacement = data.draw(st.sampled_from(REPLACEMENTS), label="value")
        try:
            _mutate(payload, paths[index], action, copy.deepcopy(replacement))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path's parent
    with contextlib.suppress(ParseError):
        parse(payload)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("top", [None, "", 0, [], {}, "<html>"])
def test_wrong_top_level_values(name, top):
    _, parse = CASES[name]
    with contextlib.suppress(ParseError):
        parse(top)
