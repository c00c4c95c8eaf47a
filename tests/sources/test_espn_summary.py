"""The ESPN summary parser against every recorded summary and cdn game page: plays, scores and
probabilities checked against the raw JSON, live-response quirks, malformed summaries, and plays
parsed once while they do not change."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from espn_support import ESPN, package, raw, raw_plays
from nfl_sync.domain.errors import ParseError
from nfl_sync.sources.espn.summary import parse_plays, parse_summary

SUMMARIES = sorted(p.name for p in ESPN.glob("summary_*.json")) + ["cdn_game_401547602.json"]


@pytest.mark.parametrize("name", SUMMARIES)
def test_summary_plays_scores_and_probabilities_match_the_raw_json(name):
    data = package(name)
    summary = parse_summary(raw(name))
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
    assert {p.play_id for p in summary.plays if p.scoring_play} == {s["id"] for s in data.get("scoringPlays", [])}
    assert sum(p.score_value for p in summary.plays) == (summary.game.home_score or 0) + (summary.game.away_score or 0)
    joinable = [w for w in data["winprobability"] if w["playId"] in by_id]
    assert [w.play_id for w in summary.win_probabilities] == [w["playId"] for w in joinable]
    assert all(isinstance(w.home_win_pct, Decimal) and 0 <= w.home_win_pct <= 1 for w in summary.win_probabilities)
    competitors = {c["homeAway"]: c for c in data["header"]["competitions"][0]["competitors"]}
    if "score" in competitors["home"]:
        assert summary.game.home_score == int(competitors["home"]["score"])
        assert summary.game.away_score == int(competitors["away"]["score"])


def test_gb_at_atl_facts_from_the_readme():
    summary = parse_summary(raw("summary_401547417.json"))
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
    summary = parse_summary(raw("summary_401547417.json"))
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
    summary = parse_summary(raw("cdn_game_401547602.json"))
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
    wrapped = parse_summary(raw("cdn_game_401547602.json"))
    bare = parse_summary(package("cdn_game_401547602.json"))
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
    summary = parse_summary(raw(name))
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
    summary = parse_summary(data)
    expected = sum(len(c["athletes"]) for team in data["boxscore"]["players"] for c in team["statistics"])
    assert len(summary.player_stats) == expected
    passing = next(s for s in summary.player_stats if s.category == "passing" and s.team == "GB")
    assert passing.player == "Jordan Love" and set(passing.stats) >= {"completions/passingAttempts", "passingYards"}
    without = parse_summary(data, player_stats=False)
    assert without.player_stats == () and without.plays == summary.plays and without.game == summary.game


def test_duplicate_plays_across_drives_and_current_drive_are_merged():
    data = raw("summary_401547417.json")
    previous = data["drives"]["previous"]
    last_drive = previous.pop()
    # A live response: the running drive is `current`, and its first play is still in `previous` too.
    data["drives"]["current"] = last_drive
    previous[-1]["plays"].append(copy.deepcopy(last_drive["plays"][0]))
    data["drives"]["previous"] = list(reversed(previous))  # order must come from sequenceNumber
    summary = parse_summary(data)
    assert len(summary.plays) == 186
    assert [p.sequence_number for p in summary.plays] == sorted(p.sequence_number for p in summary.plays)
    assert summary.plays[-1].drive_id == last_drive["id"]


def test_live_summary_takes_situation_from_the_last_play():
    data = raw("summary_401547417.json")
    competition = data["header"]["competitions"][0]
    competition["status"]["type"] = {"name": "STATUS_IN_PROGRESS", "state": "in"}
    for drive in data["drives"]["previous"]:
        drive["plays"] = [p for p in drive["plays"] if int(p["sequenceNumber"]) <= 3900]
    first = parse_summary(data)
    assert len(first.plays) == 1
    assert (first.game.period, first.game.clock) == (1, "15:00")
    # After the opening kickoff (touchback): GB ball, 1st & 7 at GB 25 (75 from ATL's goal line).
    assert (first.game.down, first.game.distance, first.game.yard_line) == (1, 7, 75)


def test_yard_line_falls_back_to_possession_text_including_midfield():
    data = raw("summary_401547417.json")
    plays = data["drives"]["previous"][0]["plays"]
    plays[1]["start"].update({"yardLine": None, "possessionText": "50"})
    plays[2]["start"].update({"yardLine": "x", "possessionText": "ATL 38"})
    parsed = parse_plays(data)
    assert (parsed[1].yard_line, parsed[2].yard_line) == (50, 38)


def test_summary_quirks_string_scores_and_missing_tie_percentage():
    data = raw("cdn_game_401547602.json")["gamepackageJSON"]
    for drive in data["drives"]["previous"]:
        for play in drive["plays"]:
            play["homeScore"], play["awayScore"] = str(play["homeScore"]), str(play["awayScore"])
    for entry in data["winprobability"]:
        entry.pop("tiePercentage")
    summary = parse_summary(data)
    assert sum(p.score_value for p in summary.plays) == 30
    assert all(w.tie_pct is None for w in summary.win_probabilities)


# Malformed input: one ParseError, never a KeyError/TypeError


def test_malformed_summaries_raise_parse_error_naming_the_problem():
    with pytest.raises(ParseError, match="header"):
        parse_summary({"drives": {}})
    data = raw("summary_401547417.json")
    data["drives"]["previous"][3]["plays"][2]["sequenceNumber"] = "abc"
    with pytest.raises(ParseError, match="sequenceNumber"):
        parse_summary(data)
    data = raw("summary_401547417.json")
    data["header"]["competitions"][0]["status"] = {}
    with pytest.raises(ParseError, match="status"):
        parse_summary(data)
    assert issubclass(ParseError, ValueError)


def test_a_summary_fetched_again_parses_only_what_changed():
    data = raw("summary_401547417.json")
    first = {p.play_id: p for p in parse_summary(data).plays}
    plays = raw_plays(data)
    plays[10]["statYardage"] = 41  # ESPN re-spots a play
    drive = next(d for d in data["drives"]["previous"] if d.get("result") == "PUNT")
    ender = next(p["id"] for p in reversed(drive["plays"]) if first[p["id"]].drive_result)
    drive["result"] = "FUMBLE"  # and rewrites how a drive ended
    second = {p.play_id: p for p in parse_summary(data).plays}
    assert second[plays[10]["id"]].yards == 41
    assert second[ender].drive_result == "FUMBLE" and second[ender].is_turnover
    unchanged = [pid for pid in first if pid not in (plays[10]["id"], ender)]
    assert all(second[pid] is first[pid] for pid in unchanged)  # the same objects: not parsed again


def test_a_play_holding_an_integer_over_64_bits_parses_as_any_other():
    data = raw("summary_401547417.json")  # json.loads keeps big integers (orjson would make floats)
    plain = parse_summary(data).plays
    raw_plays(data)[3]["priority"] = 2**70  # a field the parser does not read
    assert parse_summary(data).plays == plain


def test_a_play_is_parsed_anew_when_the_score_before_it_changes():
    data = raw("summary_401547417.json")
    plays = raw_plays(data)
    index = next(
        i
        for i, p in enumerate(plays)
        if i and (p["homeScore"], p["awayScore"]) != (plays[i - 1]["homeScore"], plays[i - 1]["awayScore"])
    )
    scorer = plays[index]["id"]
    assert {p.play_id: p for p in parse_summary(data).plays}[scorer].score_value > 0


def _fold_try_into_next_row(data: dict, play_id: str, points: int) -> list[dict]:
    """ESPN's way with some tries: the touchdown's row shows six points, the row after it (here
    an official timeout; often the kickoff) shows the try's `points`. Every later row carries
    the new score."""
    plays = sorted(raw_plays(data), key=lambda p: int(p["sequenceNumber"]))
    index = next(i for i, p in enumerate(plays) if p["id"] == play_id)
    side = "homeScore" if plays[index]["homeScore"] != plays[index - 1]["homeScore"] else "awayScore"
    plays[index][side] -= 1  # the recorded row holds the kick: 6 points of it stay
    for later in plays[index + 1 :]:
        later[side] += points - 1
    if points == 2:
        plays[index]["text"] += " TWO-POINT CONVERSION ATTEMPT. ATTEMPT SUCCEEDS."
    return plays[index : index + 2]


@pytest.mark.parametrize("points", [1, 2])
def test_a_try_shown_on_the_next_row_scores_for_the_touchdown_not_the_kickoff(points):
    data = raw("summary_401547417.json")
    touchdown, kickoff = _fold_try_into_next_row(data, "4015474173262", points)  # Ridder's TD, 3rd quarter
    assert kickoff["scoringPlay"] is False
    plays = {p.play_id: p for p in parse_summary(data).plays}
    scored, kicked = plays[touchdown["id"]], plays[kickoff["id"]]
    assert (scored.scoring_play, scored.score_value, scored.scoring_type) == (True, 6 + points, "TD")
    assert (kicked.scoring_play, kicked.score_value, kicked.scoring_type) == (False, 0, None)
    assert (kicked.home_score, kicked.away_score) == (kickoff["homeScore"], kickoff["awayScore"])  # as ESPN shows it
    assert [p.play_id for p in parse_plays(data) if p.scoring_play] == [s["id"] for s in data["scoringPlays"]]


def test_a_row_espn_does_not_flag_that_changes_the_score_far_from_any_scoring_play_scored_itself():
    data = raw("summary_401547417.json")
    plays = raw_plays(data)
    rows = [p for p in plays if p["id"] == "4015474171123"]  # Love to Reed, TD: ESPN's flag taken away
    rows[0]["scoringPlay"] = False
    data["scoringPlays"] = [s for s in data["scoringPlays"] if s["id"] != "4015474171123"]
    parsed = {p.play_id: p for p in parse_summary(data).plays}
    assert (parsed["4015474171123"].scoring_play, parsed["4015474171123"].score_value) == (True, 7)


# Containment: a part that does not parse is left out and reported; the game and its plays count


def _contained(data: dict) -> tuple:
    problems = []
    summary = parse_summary(data, on_bad_part=lambda error: problems.append(str(error)))
    return summary, problems


def test_a_malformed_play_is_left_out_with_its_path_and_the_rest_of_the_game_counts():
    data = raw("summary_401547417.json")
    whole = parse_summary(copy.deepcopy(data))
    plays = data["drives"]["previous"][3]["plays"]
    lost = {plays[2]["id"], plays[4]["id"], plays[5]["id"]}
    del plays[2]["id"]
    plays[4] = "not a play"
    plays[5]["sequenceNumber"] = "abc"
    summary, problems = _contained(data)
    assert problems == [
        "summary 401547417: drives.previous[3].plays[2]: no id",
        "summary 401547417: drives.previous[3].plays[4]: expected an object, got str",
        f"summary 401547417: drives.previous[3].plays[5]: play {plays[5]['id']} has no integer sequenceNumber",
    ]
    assert [p.play_id for p in summary.plays] == [p.play_id for p in whole.plays if p.play_id not in lost]
    assert summary.game.status == whole.game.status
    assert (summary.game.home_score, summary.game.away_score) == (whole.game.home_score, whole.game.away_score)
    assert summary.player_stats == whole.player_stats


def test_a_drive_that_is_not_an_object_costs_only_its_own_plays():
    data = raw("summary_401547417.json")
    whole = parse_summary(copy.deepcopy(data))
    dropped = {p["id"] for p in data["drives"]["previous"][1]["plays"]}
    data["drives"]["previous"][1] = 7
    summary, problems = _contained(data)
    assert problems == ["summary 401547417: drives.previous[1]: expected an object, got int"]
    assert {p.play_id for p in summary.plays} == {p.play_id for p in whole.plays} - dropped


@pytest.mark.parametrize(
    ("section", "damage", "problem"),
    [
        ("boxscore", lambda d: d.update(boxscore="broken"), "boxscore: expected an object, got str"),
        ("boxscore", lambda d: d["boxscore"].update(players={}), "boxscore.players: expected a list, got dict"),
        ("odds", lambda d: d.update(pickcenter={"spread": 3}), "pickcenter: expected a list, got dict"),
        ("weather", lambda d: d["gameInfo"].update(weather=[1]), "gameInfo.weather: expected an object, got list"),
        ("win", lambda d: d.update(winprobability="x"), "winprobability: expected a list, got str"),
        ("scoring", lambda d: d.update(scoringPlays=3), "scoringPlays: expected a list, got int"),
        ("scoring", lambda d: d["scoringPlays"].insert(1, "x"), "scoringPlays[1]: expected an object, got str"),
        ("scoring", lambda d: d["scoringPlays"][0].pop("id"), "scoringPlays[0].id: expected a non-empty string"),
        ("injuries", lambda d: d.update(injuries={"a": 1}), "injuries: expected a list, got dict"),
        ("injuries", lambda d: d["injuries"][0]["injuries"][0].pop("athlete"), "injuries[0].injuries[0]: injury"),
    ],
)
def test_a_malformed_optional_section_is_left_out_and_reported(section, damage, problem):
    data = raw("summary_401547417.json")
    whole = parse_summary(copy.deepcopy(data))
    damage(data)
    summary, problems = _contained(data)
    assert len(problems) == 1 and problems[0].startswith(f"summary 401547417: {problem}"), problems
    assert summary.plays == whole.plays
    assert summary.game == replace(whole.game, home_win_pct=summary.game.home_win_pct)  # which follows winprobability
    kept = {
        "boxscore": summary.player_stats == () and summary.odds == whole.odds,
        "odds": summary.odds == whole.odds[1:] if len(whole.odds) > 1 else summary.odds == (),
        "weather": summary.weather is None and summary.player_stats == whole.player_stats,
        "win": summary.win_probabilities == () and summary.scoring_plays == whole.scoring_plays,
        "scoring": summary.win_probabilities == whole.win_probabilities,
        "injuries": summary.player_stats == whole.player_stats,
    }
    assert kept[section]
    with pytest.raises(ParseError):  # without a taker of bad parts, the whole summary fails, as before
        parse_summary(data)


def test_what_identifies_the_game_still_fails_the_summary_with_a_taker_of_bad_parts():
    data = raw("summary_401547417.json")
    data["header"]["competitions"][0]["competitors"][0]["team"] = "x"
    with pytest.raises(ParseError, match="competitors"):
        _contained(data)
