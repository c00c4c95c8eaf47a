"""The fake ESPN site API over real HTTP: the scoreboard, summary, injuries and teams of the
replayed games as they stood at the simulated clock's time, and ESPN-style errors."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests

from helpers import fixture_path
from nfl_replay.clock import SimulatedClock
from nfl_replay.espn_server import FakeESPNServer
from nfl_replay.timeline import load_game
from nfl_sync.sources.http import HttpSource, Reply

pytest_plugins = ["replay_support"]


def test_scoreboard_filters_by_eastern_date_or_range(espn, session):
    def ids(dates: str) -> list[str]:
        return [e["id"] for e in session.get(f"{espn.base_url}/scoreboard", params={"dates": dates}).json()["events"]]

    assert ids("20230917") == ["401547417"]
    # 8:20 PM Eastern on Dec 17 is Dec 18 in UTC; ESPN files it under the Eastern date.
    assert ids("20231217") == ["401547602"]
    assert ids("20231218") == []
    assert ids("20230901-20231231") == ["401547417", "401547602"]
    assert session.get(f"{espn.base_url}/scoreboard", params={"dates": "2023-09-17"}).status_code == 400


def test_scoreboard_has_top_level_league_season_and_week(espn, session):
    board = session.get(f"{espn.base_url}/scoreboard", params={"dates": "20230917"}).json()
    assert board["season"] == {"type": 2, "year": 2023}
    assert board["week"] == {"number": 2}
    assert board["leagues"][0]["abbreviation"] == "NFL"
    assert board["leagues"][0]["season"]["year"] == 2023


def test_scoreboard_follows_the_clock_through_the_game(espn, gb_atl, clock, session):
    def event() -> dict:
        return session.get(f"{espn.base_url}/scoreboard", params={"dates": "20230917"}).json()["events"][0]

    assert event()["status"]["type"]["state"] == "pre"
    clock.set(gb_atl.plays[100].visible_at)
    live = event()
    assert live["status"]["type"]["state"] == "in"
    home, away = (c for c in live["competitions"][0]["competitors"])
    assert (home["score"], away["score"]) == (str(gb_atl.plays[100].home_score), str(gb_atl.plays[100].away_score))
    assert live["competitions"][0]["situation"]["lastPlay"]["id"] == gb_atl.plays[100].id
    clock.set(gb_atl.end + timedelta(minutes=1))
    final = event()
    assert final["status"]["type"]["name"] == "STATUS_FINAL"
    assert {c["team"]["abbreviation"]: c["score"] for c in final["competitions"][0]["competitors"]} == {
        "GB": "24",
        "ATL": "25",
    }


def test_summary_is_the_timeline_at_the_clocks_time(espn, bal_jax, clock, session):
    clock.set(bal_jax.plays[120].visible_at)
    served = session.get(f"{espn.base_url}/summary", params={"event": "401547602"}).json()
    assert served == json.loads(json.dumps(bal_jax.summary(clock.now())))
    shown = [p["id"] for d in served["drives"]["previous"] + [served["drives"]["current"]] for p in d["plays"]]
    assert shown == [p.id for p in bal_jax.plays[:121]]


def test_summary_of_unknown_or_missing_event_is_an_espn_style_error(espn, session):
    missing = session.get(f"{espn.base_url}/summary", params={"event": "1"})
    assert missing.status_code == 404 and missing.json()["code"] == 404
    assert session.get(f"{espn.base_url}/summary").status_code == 400
    assert session.get(f"{espn.base_url}/nothing").json() == {"code": 404, "message": "Not Found"}


def test_injuries_are_league_wide_grouped_by_team(espn, gb_atl, session):
    injuries = session.get(f"{espn.base_url}/injuries").json()["injuries"]
    assert [(team["id"], team["displayName"]) for team in injuries] == [
        ("1", "Atlanta Falcons"),
        ("9", "Green Bay Packers"),
    ]
    recorded = {entry["team"]["id"]: entry["injuries"] for entry in gb_atl.source["injuries"]}
    assert all(team["injuries"] == recorded[team["id"]] for team in injuries)
    assert all(len(team["injuries"]) == 5 for team in injuries)


def test_teams_lists_the_replayed_teams_in_the_real_shape(espn, session):
    document = session.get(f"{espn.base_url}/teams").json()
    teams = [entry["team"] for entry in document["sports"][0]["leagues"][0]["teams"]]
    assert sorted(team["abbreviation"] for team in teams) == ["ATL", "BAL", "GB", "JAX"]
    assert all(team["id"] and team["displayName"] and team["logos"] for team in teams)


def test_a_sixteen_game_slate_serves_every_copy_under_its_own_id(slate, clock, session):
    with FakeESPNServer(slate, clock) as server:
        board = session.get(f"{server.base_url}/scoreboard", params={"dates": "20230917-20231231"}).json()
        assert sorted(e["id"] for e in board["events"]) == sorted(g.game_id for g in slate)
        summary = session.get(f"{server.base_url}/summary", params={"event": "900000015"}).json()
        assert summary["header"]["id"] == "900000015"
    with pytest.raises(ValueError):
        FakeESPNServer([slate[0], slate[0]], clock)


def test_core_injury_fallback_pages_are_served_empty():
    game = load_game(fixture_path("espn", "cdn_game_401547602.json"))
    with FakeESPNServer([game], SimulatedClock(game.kickoff)) as server:
        body = requests.get(
            f"{server.base_url}/seasons/2023/teams/30/injuries", params={"limit": 100}, timeout=5
        ).json()
    assert body["items"] == [] and body["count"] == 0


def test_a_recording_with_a_lone_surrogate_or_nan_is_served_as_recorded(tmp_path, session):
    document = json.loads(fixture_path("espn", "summary_401547417.json").read_text())
    play = document["drives"]["previous"][0]["plays"][0]
    play["text"] = "recap \udc9d end"  # as json.load reads ESPN's escaped "\udc9d"
    play["oddNumber"] = float("nan")
    recording = tmp_path / "summary_401547417.json"
    recording.write_text(json.dumps(document))
    game = load_game(recording)
    with FakeESPNServer([game], SimulatedClock(game.plays[0].visible_at)) as server:
        summary = session.get(f"{server.base_url}/summary", params={"event": game.game_id})
        board = session.get(f"{server.base_url}/scoreboard", params={"dates": "20230917"})
    for reply in (summary, board):  # the play is in the summary and is the scoreboard's last play
        assert reply.status_code == 200
        assert b'"recap \\udc9d end"' in reply.content  # escaped as json.dumps escapes it
    daemon = HttpSource("espn", "http://127.0.0.1")
    decoded = daemon.decode(Reply(200, summary.headers, summary.content), "summary", dict)
    assert game.plays[0].id in json.dumps(decoded) and "recap \ufffd end" in json.dumps(decoded, ensure_ascii=False)
