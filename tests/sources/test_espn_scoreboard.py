"""The ESPN scoreboard parser against every recorded `/scoreboard`: games, odds and forecasts
checked against the raw JSON, and malformed scoreboards."""

from __future__ import annotations

from collections import Counter
from datetime import UTC
from decimal import Decimal

import pytest

from espn_support import ESPN, raw
from nfl_sync.domain.errors import ParseError
from nfl_sync.sources.espn.scoreboard import parse_scoreboard, parse_scoreboard_odds, parse_scoreboard_weather

SCOREBOARDS = sorted(p.name for p in ESPN.glob("scoreboard_*.json"))


@pytest.mark.parametrize("name", SCOREBOARDS)
def test_scoreboard_games_match_the_raw_events(name):
    data = raw(name)
    games = {game.game_id: game for game in parse_scoreboard(data)}
    assert len(games) == len(data["events"])
    for event in data["events"]:
        competition = event["competitions"][0]
        game = games[event["id"]]
        state = competition["status"]["type"]["state"]
        assert game.state == state
        assert game.status == competition["status"]["type"]["name"]
        by_side = {c["homeAway"]: c for c in competition["competitors"]}
        assert (game.home_team_id, game.away_team_id) == (by_side["home"]["team"]["id"], by_side["away"]["team"]["id"])
        assert game.home_team == by_side["home"]["team"]["abbreviation"]
        assert game.start_time.tzinfo == UTC
        if state == "pre":
            assert (game.home_score, game.away_score, game.period, game.clock) == (None, None, None, None)
        else:
            assert game.home_score == int(by_side["home"]["score"])
            assert game.away_score == int(by_side["away"]["score"])
            assert game.period == competition["status"]["period"]
            assert game.clock == competition["status"]["displayClock"]
        assert game.season == (event.get("season") or data["season"])["year"]
        assert game.week == (event.get("week") or data["week"])["number"]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("scoreboard_20220911_wk1_live.json", {"in": 8, "post": 2, "pre": 6}),
        ("scoreboard_2022wk1_all_pre.json", {"pre": 16}),
        ("scoreboard_2025wk1_all_pre.json", {"pre": 16}),
        ("scoreboard_2025wk1_after_tnf.json", {"post": 1, "pre": 15}),
        ("scoreboard_2025wk3_pre_after_tnf.json", {"post": 1, "pre": 15}),
        ("scoreboard_2025wk12_all_pre_byes.json", {"pre": 14}),
        ("scoreboard_2025post_wildcard_final.json", {"post": 6}),
        ("scoreboard_20250209_superbowl_lix_final.json", {"post": 1}),
    ],
)
def test_games_per_state_follow_the_readme(name, expected):
    assert Counter(game.state for game in parse_scoreboard(raw(name))) == expected


def test_live_games_carry_situation_and_win_probability():
    games = {g.game_id: g for g in parse_scoreboard(raw("scoreboard_20220911_wk1_live.json"))}
    live = [g for g in games.values() if g.is_live]
    assert len(live) == 8 and all(g.period == 4 for g in live)
    assert all(g.possession and g.last_play_id and g.home_win_pct is not None for g in live)
    no_at_atl = next(g for g in live if g.home_team == "ATL")
    # "1st & 10 at NO 10" with NO away: 90 yards from ATL's (home) goal line.
    assert (no_at_atl.possession, no_at_atl.down, no_at_atl.distance, no_at_atl.yard_line) == ("NO", 1, 10, 90)
    assert no_at_atl.home_win_pct == Decimal("0.924")
    assert no_at_atl.venue_indoor is True
    clocks = sorted(g.clock for g in live)
    assert "0:16" in clocks and "7:45" in clocks
    det = next(g for g in live if g.home_team == "DET")
    assert det.yard_line == 34  # "DET 34" with DET at home


def test_two_point_time_series_of_2025_week_1_keys_on_event_id():
    before = {g.game_id: g for g in parse_scoreboard(raw("scoreboard_2025wk1_all_pre.json"))}
    after = {g.game_id: g for g in parse_scoreboard(raw("scoreboard_2025wk1_after_tnf.json"))}
    assert before.keys() == after.keys()
    changed = [gid for gid in before if before[gid].state != after[gid].state]
    assert changed == ["401772510"]
    final = after["401772510"]
    assert (final.away_team, final.away_score, final.home_team, final.home_score) == ("DAL", 20, "PHI", 24)


def test_super_bowl_is_postseason_at_a_neutral_site():
    (game,) = parse_scoreboard(raw("scoreboard_20250209_superbowl_lix_final.json"))
    assert (game.game_id, game.season, game.season_type, game.week, game.neutral_site) == (
        "401671889",
        2024,
        3,
        5,
        True,
    )
    assert {game.home_team: game.home_score, game.away_team: game.away_score} == {"KC": 22, "PHI": 40}


def test_scoreboard_without_top_level_season_and_week_uses_the_events():
    data = raw("scoreboard_2025wk12_all_pre_byes.json")
    del data["season"], data["week"]
    assert {g.week for g in parse_scoreboard(data)} == {12}
    data = raw("scoreboard_20220911_wk1_live.json")  # 2022 events carry no week of their own
    del data["week"]
    assert {g.week for g in parse_scoreboard(data)} == {None}


def test_status_names_without_state_are_mapped():
    data = raw("scoreboard_20220911_wk1_live.json")
    statuses = [e["competitions"][0]["status"] for e in data["events"]]
    statuses[0]["type"] = {"name": "STATUS_HALFTIME"}
    statuses[1]["type"] = {"name": "STATUS_END_PERIOD", "state": "bogus"}
    games = parse_scoreboard(data)
    assert (games[0].status, games[0].state) == ("STATUS_HALFTIME", "in")
    assert (games[1].status, games[1].state) == ("STATUS_END_PERIOD", "in")


def test_scores_fall_back_to_linescores_of_either_shape():
    data = raw("scoreboard_20250209_superbowl_lix_final.json")
    for competitor in data["events"][0]["competitions"][0]["competitors"]:
        del competitor["score"]
    (game,) = parse_scoreboard(data)
    assert (game.home_score, game.away_score) in ((40, 22), (22, 40))
    data = raw("scoreboard_20220911_wk1_live.json")  # 2022 shape: {"value": 7}
    event = data["events"][0]
    for competitor in event["competitions"][0]["competitors"]:
        competitor["score"] = None
    game = parse_scoreboard(data)[0]
    assert (game.home_score, game.away_score) == (26, 24)


def test_clock_int_or_float_without_display_clock():
    data = raw("scoreboard_20220911_wk1_live.json")
    status = data["events"][0]["competitions"][0]["status"]
    del status["displayClock"]
    status["clock"] = 48.0
    assert parse_scoreboard(data)[0].clock == "0:48"


def test_event_with_non_nfl_teams_is_skipped_not_fatal():
    data = raw("scoreboard_2025post_wildcard_final.json")
    for competitor in data["events"][0]["competitions"][0]["competitors"]:
        competitor["team"] = {"id": "32", "abbreviation": "NFC", "displayName": "NFC"}
    assert len(parse_scoreboard(data)) == 5


def test_scoreboard_odds_give_the_home_line_in_every_season_shape():
    lines = parse_scoreboard_odds(raw("scoreboard_2025wk1_all_pre.json"))
    assert len(lines) == 16
    for event in raw("scoreboard_2025wk1_all_pre.json")["events"]:
        block = event["competitions"][0]["odds"][0]
        line = next(line for line in lines if line.game_id == event["id"])
        assert line.spread == Decimal(str(block["spread"]))
        assert line.home_moneyline == block["homeTeamOdds"]["moneyLine"]
    # 2022 blocks only say "TEN -5.5": the home line is derived from the favourite.
    old = {line.game_id: line for line in parse_scoreboard_odds(raw("scoreboard_2022wk1_all_pre.json"))}
    assert len(old) == 16
    buf_at_lar = old["401437654"]
    assert (buf_at_lar.details, buf_at_lar.home_team, buf_at_lar.spread, buf_at_lar.over_under) == (
        "BUF -2.5",
        "LAR",
        Decimal("2.5"),
        Decimal("53"),
    )


def test_scoreboard_weather_is_espn_forecast_with_roof():
    forecasts = parse_scoreboard_weather(raw("scoreboard_2022wk1_all_pre.json"))
    assert len(forecasts) == 1
    (weather,) = forecasts
    assert (weather.source, weather.condition, weather.temperature_f, weather.roof) == ("espn", "Sunny", 81, "dome")


# Malformed input: one ParseError, never a KeyError/TypeError


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "html",
        {"events": "x"},
        {"events": [1]},
        {"events": [{"id": "1"}]},
        {"events": [{"id": "1", "competitions": []}]},
        {"events": [{"id": "1", "competitions": [{"competitors": [{}]}]}]},
    ],
)
def test_malformed_scoreboards_raise_parse_error(payload):
    with pytest.raises(ParseError):
        parse_scoreboard(payload)


def test_one_broken_event_is_handed_over_and_the_others_parse():
    data = raw("scoreboard_20220911_wk1_live.json")
    broken = data["events"][3]
    del broken["competitions"][0]["status"]
    broken.pop("status", None)
    bad: list[ParseError] = []

    games = parse_scoreboard(data, bad.append)

    assert [g.game_id for g in games] == [e["id"] for e in data["events"] if e is not broken]
    assert len(bad) == 1 and broken["id"] in str(bad[0])
    with pytest.raises(ParseError, match=broken["id"]):
        parse_scoreboard(data)  # without a handler, the strict parse
