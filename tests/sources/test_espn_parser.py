"""espn_parser against every recorded ESPN response: counts and values checked against the raw JSON."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from helpers import fixture_path
from nfl_sync.domain.errors import ParseError
from nfl_sync.sources.espn import parser as espn_parser

ESPN = fixture_path("espn")
SCOREBOARDS = sorted(p.name for p in ESPN.glob("scoreboard_*.json"))
SUMMARIES = sorted(p.name for p in ESPN.glob("summary_*.json")) + ["cdn_game_401547602.json"]
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


# --------------------------------------------------------------------------------------------
# Scoreboards


@pytest.mark.parametrize("name", SCOREBOARDS)
def test_scoreboard_games_match_the_raw_events(name):
    data = raw(name)
    games = {game.game_id: game for game in espn_parser.parse_scoreboard(data)}
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
    assert Counter(game.state for game in espn_parser.parse_scoreboard(raw(name))) == expected


def test_live_games_carry_situation_and_win_probability():
    games = {g.game_id: g for g in espn_parser.parse_scoreboard(raw("scoreboard_20220911_wk1_live.json"))}
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
    before = {g.game_id: g for g in espn_parser.parse_scoreboard(raw("scoreboard_2025wk1_all_pre.json"))}
    after = {g.game_id: g for g in espn_parser.parse_scoreboard(raw("scoreboard_2025wk1_after_tnf.json"))}
    assert before.keys() == after.keys()
    changed = [gid for gid in before if before[gid].state != after[gid].state]
    assert changed == ["401772510"]
    final = after["401772510"]
    assert (final.away_team, final.away_score, final.home_team, final.home_score) == ("DAL", 20, "PHI", 24)


def test_super_bowl_is_postseason_at_a_neutral_site():
    (game,) = espn_parser.parse_scoreboard(raw("scoreboard_20250209_superbowl_lix_final.json"))
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
    assert {g.week for g in espn_parser.parse_scoreboard(data)} == {12}
    data = raw("scoreboard_20220911_wk1_live.json")  # 2022 events carry no week of their own
    del data["week"]
    assert {g.week for g in espn_parser.parse_scoreboard(data)} == {None}


def test_status_names_without_state_are_mapped():
    data = raw("scoreboard_20220911_wk1_live.json")
    statuses = [e["competitions"][0]["status"] for e in data["events"]]
    statuses[0]["type"] = {"name": "STATUS_HALFTIME"}
    statuses[1]["type"] = {"name": "STATUS_END_PERIOD", "state": "bogus"}
    games = espn_parser.parse_scoreboard(data)
    assert (games[0].status, games[0].state) == ("STATUS_HALFTIME", "in")
    assert (games[1].status, games[1].state) == ("STATUS_END_PERIOD", "in")


def test_scores_fall_back_to_linescores_of_either_shape():
    data = raw("scoreboard_20250209_superbowl_lix_final.json")
    for competitor in data["events"][0]["competitions"][0]["competitors"]:
        del competitor["score"]
    (game,) = espn_parser.parse_scoreboard(data)
    assert (game.home_score, game.away_score) in ((40, 22), (22, 40))
    data = raw("scoreboard_20220911_wk1_live.json")  # 2022 shape: {"value": 7}
    event = data["events"][0]
    for competitor in event["competitions"][0]["competitors"]:
        competitor["score"] = None
    game = espn_parser.parse_scoreboard(data)[0]
    assert (game.home_score, game.away_score) == (26, 24)


def test_clock_int_or_float_without_display_clock():
    data = raw("scoreboard_20220911_wk1_live.json")
    status = data["events"][0]["competitions"][0]["status"]
    del status["displayClock"]
    status["clock"] = 48.0
    assert espn_parser.parse_scoreboard(data)[0].clock == "0:48"


def test_event_with_non_nfl_teams_is_skipped_not_fatal():
    data = raw("scoreboard_2025post_wildcard_final.json")
    for competitor in data["events"][0]["competitions"][0]["competitors"]:
        competitor["team"] = {"id": "32", "abbreviation": "NFC", "displayName": "NFC"}
    assert len(espn_parser.parse_scoreboard(data)) == 5


def test_scoreboard_odds_give_the_home_line_in_every_season_shape():
    lines = espn_parser.parse_scoreboard_odds(raw("scoreboard_2025wk1_all_pre.json"))
    assert len(lines) == 16
    for event in raw("scoreboard_2025wk1_all_pre.json")["events"]:
        block = event["competitions"][0]["odds"][0]
        line = next(line for line in lines if line.game_id == event["id"])
        assert line.spread == Decimal(str(block["spread"]))
        assert line.home_moneyline == block["homeTeamOdds"]["moneyLine"]
    # 2022 blocks only say "TEN -5.5": the home line is derived from the favourite.
    old = {line.game_id: line for line in espn_parser.parse_scoreboard_odds(raw("scoreboard_2022wk1_all_pre.json"))}
    assert len(old) == 16
    buf_at_lar = old["401437654"]
    assert (buf_at_lar.details, buf_at_lar.home_team, buf_at_lar.spread, buf_at_lar.over_under) == (
        "BUF -2.5",
        "LAR",
        Decimal("2.5"),
        Decimal("53"),
    )


def test_scoreboard_weather_is_espn_forecast_with_roof():
    forecasts = espn_parser.parse_scoreboard_weather(raw("scoreboard_2022wk1_all_pre.json"))
    assert len(forecasts) == 1
    (weather,) = forecasts
    assert (weather.source, weather.condition, weather.temperature_f, weather.roof) == ("espn", "Sunny", 81, "dome")


# --------------------------------------------------------------------------------------------
# Summaries


@pytest.mark.parametrize("name", SUMMARIES)
def test_summary_plays_scores_and_probabilities_match_the_raw_json(name):
    data = package(name)
    summary = espn_parser.parse_summary(raw(name))
    plays = raw_plays(data)
    assert len(summary.plays) == len({p["id"] for p in plays})
    assert [p.sequence_number for p in summary.plays] == sorted(int(p["sequenceNumber"]) for p in plays)
    by_id = {p["id"]: p for p in plays}
    for play in summary.plays:
        source = by_id[play.play_id]
        assert (play.home_score, play.away_score) == (source["homeScore"], source["awayScore"])
        assert play.yards == source["statYardage"]
        assert play.type == source["type"]["text"]
    assert {p.play_id for p in summary.scoring_plays} == {s["id"] for s in data.get("scoringPlays", [])}
    assert sum(p.score_value for p in summary.plays) == (summary.game.home_score or 0) + (summary.game.away_score or 0)
    joinable = [w for w in data["winprobability"] if w["playId"] in by_id]
    assert [w.play_id for w in summary.win_probabilities] == [w["playId"] for w in joinable]
    assert all(isinstance(w.home_win_pct, Decimal) and 0 <= w.home_win_pct <= 1 for w in summary.win_probabilities)
    competitors = {c["homeAway"]: c for c in data["header"]["competitions"][0]["competitors"]}
    if "score" in competitors["home"]:
        assert summary.game.home_score == int(competitors["home"]["score"])
        assert summary.game.away_score == int(competitors["away"]["score"])


def test_gb_at_atl_facts_from_the_readme():
    summary = espn_parser.parse_summary(raw("summary_401547417.json"))
    game = summary.game
    assert (game.away_team, game.away_score, game.home_team, game.home_score) == ("GB", 24, "ATL", 25)
    assert (game.season, game.season_type, game.week, game.state, game.status) == (2023, 2, 2, "post", "STATUS_FINAL")
    assert len(summary.plays) == 186 and len(summary.scoring_plays) == 10
    # 187 entries; the first carries the first drive's id and joins no play.
    assert len(summary.win_probabilities) == 186
    assert all(w.tie_pct is None for w in summary.win_probabilities)  # absent in this capture
    # The header has no clock/period: they come from the last play ("End of Game", 4th, 0:00).
    assert (game.period, game.clock) == (4, "0:00")
    assert game.last_play_text == summary.plays[-1].text
    assert summary.odds == ()
    assert len(summary.injuries) == 10 and {i.team for i in summary.injuries} == {"ATL", "GB"}
    assert [p.scoring_type for p in summary.scoring_plays] == [
        "FG",
        "TD",
        "FG",
        "TD",
        "TD",
        "FG",
        "TD",
        "TD",
        "FG",
        "FG",
    ]
    # "PAT failed": 6 points, not 7.
    assert [p.score_value for p in summary.scoring_plays if p.scoring_type == "TD"] == [7, 6, 7, 7, 7]


def test_plays_have_canonical_teams_home_relative_yard_lines_and_utc_wallclocks():
    summary = espn_parser.parse_summary(raw("summary_401547417.json"))
    kickoff = summary.plays[0]
    assert (kickoff.type, kickoff.team, kickoff.yard_line, kickoff.down, kickoff.period) == (
        "Kickoff",
        "ATL",
        35,
        None,
        1,
    )
    assert kickoff.wallclock == datetime(2023, 9, 17, 17, 2, 21, tzinfo=UTC)
    first_snap = summary.plays[1]
    assert (first_snap.team, first_snap.yard_line, first_snap.down, first_snap.distance) == ("GB", 75, 1, 10)
    assert {p.team for p in summary.plays} <= {"ATL", "GB"}
    assert all(p.yard_line is None or 0 <= p.yard_line <= 100 for p in summary.plays)
    assert all(p.drive_id for p in summary.plays)


def test_turnovers_come_from_type_text_and_the_drive_result():
    summary = espn_parser.parse_summary(raw("cdn_game_401547602.json"))
    turnovers = [(p.type, p.drive_result) for p in summary.plays if p.is_turnover]
    # The sack-fumble is typed "Sack": only the drive result (FUMBLE) on its last real play says so.
    assert turnovers == [
        ("Pass Interception Return", "INT"),
        ("Fumble Recovery (Opponent)", "FUMBLE"),
        ("Sack", "FUMBLE"),
        ("Pass Incompletion", "DOWNS"),
    ]
    # The FUMBLE drive ends with an "Official Timeout": the result goes on the play before it.
    assert not any(p.drive_result for p in summary.plays if p.type == "Official Timeout")


def test_cdn_wrapper_and_bare_gamepackage_parse_the_same():
    wrapped = espn_parser.parse_summary(raw("cdn_game_401547602.json"))
    bare = espn_parser.parse_summary(package("cdn_game_401547602.json"))
    assert wrapped == bare
    game = wrapped.game
    assert (game.away_team, game.away_score, game.home_team, game.home_score, game.week) == ("BAL", 23, "JAX", 7, 15)
    assert len(wrapped.plays) == 186 and len(wrapped.scoring_plays) == 6
    assert all(w.tie_pct is not None for w in wrapped.win_probabilities)
    (line,) = wrapped.odds
    assert (line.provider, line.details, line.spread, line.away_moneyline) == ("ESPN BET", "BAL -4", Decimal("4"), -215)


@pytest.mark.parametrize(
    "name, spread, total, favourite",
    [
        ("summary_401772838_pregame.json", Decimal("4.5"), Decimal("44.5"), "ATL -4.5"),
        ("summary_401772842_pregame.json", Decimal("7.5"), Decimal("41.5"), "GB -7.5"),
    ],
)
def test_pregame_summaries(name, spread, total, favourite):
    summary = espn_parser.parse_summary(raw(name))
    game = summary.game
    assert (game.state, game.home_score, game.away_score, game.period, game.clock) == ("pre", None, None, None, None)
    assert summary.plays == () and summary.win_probabilities == () and summary.scoring_plays == ()
    (line,) = summary.odds
    assert (line.spread, line.over_under, line.details) == (spread, total, favourite)
    weather = summary.weather
    raw_weather = raw(name)["gameInfo"]["weather"]
    assert (weather.temperature_f, weather.gust_mph) == (raw_weather["temperature"], raw_weather["gust"])
    assert len(summary.injuries) == sum(len(b["injuries"]) for b in raw(name)["injuries"])


def test_player_stats_follow_the_box_score_keys():
    data = raw("summary_401547417.json")
    summary = espn_parser.parse_summary(data)
    expected = sum(len(c["athletes"]) for team in data["boxscore"]["players"] for c in team["statistics"])
    assert len(summary.player_stats) == expected
    passing = next(s for s in summary.player_stats if s.category == "passing" and s.team == "GB")
    assert passing.player == "Jordan Love" and set(passing.stats) >= {"completions/passingAttempts", "passingYards"}
    without = espn_parser.parse_summary(data, player_stats=False)
    assert without.player_stats == () and without.plays == summary.plays and without.game == summary.game


def test_duplicate_plays_across_drives_and_current_drive_are_merged():
    data = raw("summary_401547417.json")
    previous = data["drives"]["previous"]
    last_drive = previous.pop()
    # A live response: the running drive is `current`, and its first play is still in `previous` too.
    data["drives"]["current"] = last_drive
    previous[-1]["plays"].append(copy.deepcopy(last_drive["plays"][0]))
    data["drives"]["previous"] = list(reversed(previous))  # order must come from sequenceNumber
    summary = espn_parser.parse_summary(data)
    assert len(summary.plays) == 186
    assert [p.sequence_number for p in summary.plays] == sorted(p.sequence_number for p in summary.plays)
    assert summary.plays[-1].drive_id == last_drive["id"]


def test_live_summary_takes_situation_from_the_last_play():
    data = raw("summary_401547417.json")
    competition = data["header"]["competitions"][0]
    competition["status"]["type"] = {"name": "STATUS_IN_PROGRESS", "state": "in"}
    for drive in data["drives"]["previous"]:
        drive["plays"] = [p for p in drive["plays"] if int(p["sequenceNumber"]) <= 3900]
    first = espn_parser.parse_summary(data)
    assert len(first.plays) == 1
    assert (first.game.period, first.game.clock) == (1, "15:00")
    # After the opening kickoff (touchback): GB ball, 1st & 7 at GB 25 (75 from ATL's goal line).
    assert (first.game.down, first.game.distance, first.game.yard_line) == (1, 7, 75)


def test_yard_line_falls_back_to_possession_text_including_midfield():
    data = raw("summary_401547417.json")
    plays = data["drives"]["previous"][0]["plays"]
    plays[1]["start"].update({"yardLine": None, "possessionText": "50"})
    plays[2]["start"].update({"yardLine": "x", "possessionText": "ATL 38"})
    parsed = espn_parser.parse_plays(data)
    assert (parsed[1].yard_line, parsed[2].yard_line) == (50, 38)


def test_summary_quirks_string_scores_and_missing_tie_percentage():
    data = raw("cdn_game_401547602.json")["gamepackageJSON"]
    for drive in data["drives"]["previous"]:
        for play in drive["plays"]:
            play["homeScore"], play["awayScore"] = str(play["homeScore"]), str(play["awayScore"])
    for entry in data["winprobability"]:
        entry.pop("tiePercentage")
    summary = espn_parser.parse_summary(data)
    assert sum(p.score_value for p in summary.plays) == 30
    assert all(w.tie_pct is None for w in summary.win_probabilities)


# --------------------------------------------------------------------------------------------
# Injuries and teams


def test_league_injuries_shape_and_summary_block_shape():
    blocks = raw("summary_401547417.json")["injuries"]
    league = {
        "injuries": [
            {"id": b["team"]["id"], "displayName": b["team"]["displayName"], "injuries": b["injuries"]} for b in blocks
        ]
    }
    from_league = espn_parser.parse_injuries(league)
    from_blocks = espn_parser.parse_injuries(blocks)
    assert from_league == from_blocks and len(from_league) == 10
    trice = next(i for i in from_league if i.player == "Bralen Trice")
    assert (trice.team, trice.position, trice.status, trice.injury, trice.return_date) == (
        "ATL",
        "LB",
        "Questionable",
        "Knee - ACL",
        "2025-08-01",
    )
    assert trice.reported_at == datetime(2025, 2, 11, 3, 6, tzinfo=UTC)


def test_core_injury_record_takes_ids_from_refs():
    record = raw("core_injury_detail_4426502_598153.json")
    (injury,) = espn_parser.parse_injuries(record)
    assert (injury.player_id, injury.team, injury.status, injury.player) == ("4426502", "ATL", "Active", "#4426502")
    named = espn_parser.parse_core_injury(record, player="Drake London")
    assert named.player == "Drake London"


def test_teams_endpoint_lists_the_32_teams():
    found = espn_parser.parse_teams(raw("teams_2025.json"))
    assert len(found) == 32 and found[0].abbr == "ARI"


# --------------------------------------------------------------------------------------------
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
        espn_parser.parse_scoreboard(payload)


def test_malformed_summaries_raise_parse_error_naming_the_problem():
    with pytest.raises(ParseError, match="header"):
        espn_parser.parse_summary({"drives": {}})
    data = raw("summary_401547417.json")
    data["drives"]["previous"][3]["plays"][2]["sequenceNumber"] = "abc"
    with pytest.raises(ParseError, match="sequenceNumber"):
        espn_parser.parse_summary(data)
    data = raw("summary_401547417.json")
    data["header"]["competitions"][0]["status"] = {}
    with pytest.raises(ParseError, match="status"):
        espn_parser.parse_summary(data)
    assert issubclass(ParseError, ValueError)


def test_a_summary_fetched_again_parses_only_what_changed():
    data = raw("summary_401547417.json")
    first = {p.play_id: p for p in espn_parser.parse_summary(data).plays}
    plays = raw_plays(data)
    plays[10]["statYardage"] = 41  # ESPN re-spots a play
    drive = next(d for d in data["drives"]["previous"] if d.get("result") == "PUNT")
    ender = next(p["id"] for p in reversed(drive["plays"]) if first[p["id"]].drive_result)
    drive["result"] = "FUMBLE"  # and rewrites how a drive ended
    second = {p.play_id: p for p in espn_parser.parse_summary(data).plays}
    assert second[plays[10]["id"]].yards == 41
    assert second[ender].drive_result == "FUMBLE" and second[ender].is_turnover
    unchanged = [pid for pid in first if pid not in (plays[10]["id"], ender)]
    assert all(second[pid] is first[pid] for pid in unchanged)  # the same objects: not parsed again


def test_a_play_holding_an_integer_over_64_bits_parses_as_any_other():
    data = raw("summary_401547417.json")  # json.loads keeps big integers (orjson would make floats)
    plain = espn_parser.parse_summary(data).plays
    raw_plays(data)[3]["priority"] = 2**70  # a field the parser does not read
    assert espn_parser.parse_summary(data).plays == plain


def test_a_play_is_parsed_anew_when_the_score_before_it_changes():
    data = raw("summary_401547417.json")
    plays = raw_plays(data)
    index = next(
        i
        for i, p in enumerate(plays)
        if i and (p["homeScore"], p["awayScore"]) != (plays[i - 1]["homeScore"], plays[i - 1]["awayScore"])
    )
    scorer = plays[index]["id"]
    assert {p.play_id: p for p in espn_parser.parse_summary(data).plays}[scorer].score_value > 0
    # ESPN moves the score to the play before: the scoring play itself now gains nothing.
    plays[index - 1]["homeScore"], plays[index - 1]["awayScore"] = plays[index]["homeScore"], plays[index]["awayScore"]
    assert {p.play_id: p for p in espn_parser.parse_summary(data).plays}[scorer].score_value == 0
