"""Replay building blocks that need no network: the simulated clock and game timelines.

Timelines are checked against the recordings they are built from: at any instant the documents
must hold exactly what the recording says had happened by then.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from helpers import FIXTURES
from nfl_replay.clock import SimulatedClock
from nfl_replay.recording import parse_time
from nfl_replay.timeline import GameTimeline, load_game

pytest_plugins = ["replay_support"]

ESPN = FIXTURES / "espn"
SECOND = timedelta(seconds=1)


@pytest.fixture(scope="module", params=["gb_atl", "bal_jax"])
def game(request) -> GameTimeline:
    return request.getfixturevalue(request.param)


def recorded_plays(path: Path) -> list[dict]:
    document = json.loads(path.read_text(encoding="utf-8"))
    document = document.get("gamepackageJSON", document)
    plays = [play for drive in document["drives"]["previous"] for play in drive["plays"]]
    return sorted(plays, key=lambda play: int(play["sequenceNumber"]))


def summary_play_ids(summary: dict) -> list[str]:
    drives = summary["drives"]
    shown = list(drives["previous"]) + ([drives["current"]] if "current" in drives else [])
    return [play["id"] for drive in shown for play in drive["plays"]]


def scores(event_or_header: dict) -> dict[str, str]:
    competitors = event_or_header["competitions"][0]["competitors"]
    return {c["team"]["abbreviation"]: c.get("score") for c in competitors}


def instants_after_each_play(game: GameTimeline) -> list[tuple[int, datetime]]:
    """(k, t) pairs where exactly the first k plays are visible at t."""
    pairs = []
    for k in range(1, len(game.plays)):
        if game.plays[k].visible_at > game.plays[k - 1].visible_at:
            pairs.append((k, game.plays[k - 1].visible_at))
    return pairs


# -- simulated clock ------------------------------------------------------------------------

START = datetime(2023, 9, 17, 16, 0, tzinfo=UTC)


def test_max_speed_clock_sleeps_instantly_in_virtual_time():
    clock = SimulatedClock(START, None)
    began = time.monotonic()
    clock.sleep(3 * 3600)
    assert time.monotonic() - began < 0.5
    assert clock.now() == START + timedelta(hours=3)
    assert clock.monotonic() == pytest.approx(3 * 3600)


def test_paced_clock_runs_speed_times_faster_than_its_real_clock():
    real = SimulatedClock(datetime(2026, 11, 24, tzinfo=UTC), None)
    clock = SimulatedClock(START, 60, real=real)
    clock.sleep(120)
    assert real.monotonic() == pytest.approx(2.0)
    assert clock.now() == START + timedelta(minutes=2)
    real.advance(10)
    assert clock.monotonic() == pytest.approx(720.0)


def test_clock_advance_and_set_move_forward_only():
    clock = SimulatedClock(START, None)
    clock.advance(30)
    clock.set(START + timedelta(hours=1))
    assert clock.now() == START + timedelta(hours=1)
    with pytest.raises(ValueError):
        clock.set(START)
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert clock.now() == START + timedelta(hours=1)


def test_clock_rejects_naive_start_and_non_positive_speed():
    with pytest.raises(ValueError):
        SimulatedClock(datetime(2023, 9, 17), None)
    with pytest.raises(ValueError):
        SimulatedClock(START, 0)


def test_clock_is_thread_safe():
    clock = SimulatedClock(START, None)

    def work() -> None:
        for _ in range(2000):
            clock.sleep(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.monotonic() == 16000
    assert clock.now() == START + timedelta(seconds=16000)


# -- reconstruction ---------------------------------------------------------------------------


def test_plays_come_in_sequence_order_with_non_decreasing_visible_times(game):
    source = ESPN / ("summary_401547417.json" if game.game_id == "401547417" else "cdn_game_401547602.json")
    recorded = recorded_plays(source)
    assert [play.id for play in game.plays] == [play["id"] for play in recorded]
    assert len(game.plays) == 186
    previous = game.kickoff
    for timed, play in zip(game.plays, recorded, strict=False):
        assert timed.visible_at == max(parse_time(play["wallclock"]), previous)
        previous = timed.visible_at
    assert game.end == max(parse_time(play["wallclock"]) for play in recorded)


def test_kickoff_is_the_recorded_competition_date(gb_atl, bal_jax):
    assert gb_atl.kickoff == datetime(2023, 9, 17, 17, 0, tzinfo=UTC)
    assert bal_jax.kickoff == datetime(2023, 12, 18, 1, 20, tzinfo=UTC)
    # Sunday night in Jacksonville is already Monday in UTC.
    assert str(bal_jax.eastern_date) == "2023-12-17"


def test_a_play_recorded_out_of_order_appears_with_its_predecessor(gb_atl):
    index = next(i for i, play in enumerate(gb_atl.plays) if play.play["sequenceNumber"] == "169500")
    late = gb_atl.plays[index]
    own_wallclock = parse_time(late.play["wallclock"])
    assert own_wallclock < gb_atl.plays[index - 1].visible_at
    assert late.id not in summary_play_ids(gb_atl.summary(own_wallclock))
    assert late.visible_at == gb_atl.plays[index - 1].visible_at
    assert late.id in summary_play_ids(gb_atl.summary(late.visible_at))


def test_state_is_pre_before_kickoff_in_during_and_post_after_the_last_play(game):
    assert game.state_at(game.kickoff - SECOND) == "pre"
    assert game.state_at(game.kickoff) == "in"
    assert game.state_at(game.end - SECOND) == "in"
    assert game.state_at(game.end) == "post"
    assert game.state_at(game.end + timedelta(days=3)) == "post"


def test_summary_after_play_k_holds_exactly_the_first_k_plays(game):
    ids = [play.id for play in game.plays]
    for k, t in instants_after_each_play(game):
        assert summary_play_ids(game.summary(t)) == ids[:k], f"after play {k}"


def test_encoded_documents_are_the_documents_encoded_whole(game):
    """The served bodies are assembled from fragments encoded once: byte for byte, they must be
    what encoding the whole document at that moment gives."""
    moments = [
        game.kickoff - SECOND,
        game.plays[0].visible_at,
        game.plays[len(game.plays) // 2].visible_at,
        game.plays[-1].visible_at - SECOND,
        game.end + timedelta(minutes=5),
    ]
    for t in moments:
        assert game.summary_json(t) == orjson.dumps(game.summary(t)), t
        assert game.scoreboard_event_json(t) == orjson.dumps(game.scoreboard_event(t)).decode(), t


def test_scores_at_t_are_the_last_visible_plays_scores(game):
    home = game.home_team["abbreviation"]
    away = game.away_team["abbreviation"]
    for k, t in instants_after_each_play(game):
        last = game.plays[k - 1]
        expected = {home: str(last.home_score), away: str(last.away_score)}
        assert scores(game.scoreboard_event(t)) == expected, f"after play {k}"
        assert scores(game.summary(t)["header"]) == expected, f"after play {k}"


def test_scores_never_go_backwards(game):
    t, before = game.kickoff, (0, 0)
    while t <= game.end:
        now = game.score_at(t)
        assert now[0] >= before[0] and now[1] >= before[1], t
        before = now
        t += timedelta(seconds=20)


@pytest.mark.parametrize(
    "fixture, expected",
    [
        ("gb_atl", {"GB": "24", "ATL": "25"}),
        ("bal_jax", {"BAL": "23", "JAX": "7"}),
    ],
)
def test_final_scoreboard_shows_the_recorded_result(request, fixture, expected):
    game: GameTimeline = request.getfixturevalue(fixture)
    event = game.scoreboard_event(game.end + timedelta(minutes=5))
    assert scores(event) == expected
    status = event["competitions"][0]["status"]
    assert status["type"]["name"] == "STATUS_FINAL" and status["type"]["state"] == "post"
    assert event["status"] == status
    winners = {c["team"]["abbreviation"]: c["winner"] for c in event["competitions"][0]["competitors"]}
    assert winners == {team: points == max(expected.values(), key=int) for team, points in expected.items()}
    assert "situation" not in event["competitions"][0]


def test_linescores_rebuilt_from_plays_match_the_recorded_ones(game):
    recorded = {
        c["team"]["abbreviation"]: [line["displayValue"] for line in c["linescores"]]
        for c in game.source["header"]["competitions"][0]["competitors"]
    }
    event = game.scoreboard_event(game.end)
    rebuilt = {
        c["team"]["abbreviation"]: [line["displayValue"] for line in c["linescores"]]
        for c in event["competitions"][0]["competitors"]
    }
    assert rebuilt == recorded


def test_before_kickoff_documents_look_like_pre_game_ones(gb_atl):
    before = gb_atl.kickoff - timedelta(hours=2)
    event = gb_atl.scoreboard_event(before)
    status = event["competitions"][0]["status"]
    assert status["type"]["name"] == "STATUS_SCHEDULED"
    assert status["type"]["detail"] == "Sun, September 17th at 1:00 PM EDT"
    assert status["type"]["shortDetail"] == "9/17 - 1:00 PM EDT"
    assert event["shortName"] == "GB @ ATL" and event["date"] == "2023-09-17T17:00Z"
    assert all(c["score"] == "0" and "linescores" not in c for c in event["competitions"][0]["competitors"])
    summary = gb_atl.summary(before)
    assert "drives" not in summary and "scoringPlays" not in summary
    assert summary["winprobability"] == []
    assert all("score" not in c for c in summary["header"]["competitions"][0]["competitors"])
    assert summary["boxscore"] is gb_atl.source["boxscore"]


def test_in_progress_drive_shows_only_its_visible_plays_and_no_outcome(gb_atl):
    # Second play of GB's first touchdown drive (drive index 4).
    drive_plays = [play for play in gb_atl.plays if play.drive_index == 4]
    t = drive_plays[1].visible_at
    drives = gb_atl.summary(t)["drives"]
    current = drives["current"]
    assert [play["id"] for play in current["plays"]] == [play.id for play in drive_plays[:2]]
    assert "result" not in current and "isScore" not in current and "end" not in current
    assert len(drives["previous"]) == 4
    assert all("result" in drive for drive in drives["previous"])
    assert "current" not in gb_atl.summary(gb_atl.end)["drives"]


def test_situation_describes_the_last_snap(gb_atl):
    timed = next(
        play
        for play in gb_atl.plays[40:]
        if play.play["end"].get("down", 0) >= 1
        and play.visible_at < gb_atl.plays[gb_atl.plays.index(play) + 1].visible_at
    )
    situation = gb_atl.scoreboard_event(timed.visible_at)["competitions"][0]["situation"]
    end = timed.play["end"]
    assert (situation["down"], situation["distance"], situation["yardLine"]) == (
        end["down"],
        end["distance"],
        end["yardLine"],
    )
    assert situation["possession"] == end["team"]["id"]
    assert situation["downDistanceText"] == end["downDistanceText"]
    last = situation["lastPlay"]
    assert last["id"] == timed.id and last["text"] == timed.play["text"]
    recorded = next(e for e in gb_atl.source["winprobability"] if e["playId"] == timed.id)
    assert last["probability"]["homeWinPercentage"] == recorded["homeWinPercentage"]


def test_after_a_kickoff_return_the_receiving_team_has_the_ball(gb_atl):
    index = next(
        i
        for i, play in enumerate(gb_atl.plays)
        if play.type_text == "Kickoff Return (Offense)" and play.visible_at < gb_atl.plays[i + 1].visible_at
    )
    returned = gb_atl.plays[index]
    situation = gb_atl.scoreboard_event(returned.visible_at)["competitions"][0]["situation"]
    assert situation["possession"] == returned.play["end"]["team"]["id"]
    assert situation["possession"] != gb_atl.plays[index - 1].play["end"]["team"]["id"]
    assert situation["yardLine"] == returned.play["end"]["yardLine"]


def test_last_play_score_value_is_the_points_it_scored(gb_atl):
    field_goal = next(play for play in gb_atl.plays if play.type_text == "Field Goal Good")
    last = gb_atl.scoreboard_event(field_goal.visible_at)["competitions"][0]["situation"]["lastPlay"]
    assert last["id"] == field_goal.id and last["scoreValue"] == 3


def test_halftime_and_end_of_quarter_statuses(gb_atl):
    half = next(play for play in gb_atl.plays if play.type_text == "End of Half")
    status = gb_atl.scoreboard_event(half.visible_at)["status"]
    assert status["type"]["name"] == "STATUS_HALFTIME" and status["period"] == 2
    quarter = next(play for play in gb_atl.plays if play.type_text == "End Period")
    status = gb_atl.scoreboard_event(quarter.visible_at)["status"]
    assert status["type"]["name"] == "STATUS_END_PERIOD"
    assert status["type"]["detail"] == "End of 1st Quarter"


def test_in_progress_status_carries_the_last_plays_clock(gb_atl):
    timed = gb_atl.plays[60]
    status = gb_atl.scoreboard_event(timed.visible_at)["status"]
    display = timed.play["clock"]["displayValue"]
    minutes, seconds = display.split(":")
    assert status["displayClock"] == display
    assert status["clock"] == float(int(minutes) * 60 + int(seconds))
    assert status["period"] == timed.period
    assert status["type"]["shortDetail"].startswith(f"{display} - ")


def test_scoring_plays_and_win_probability_grow_with_time(gb_atl):
    for k, t in instants_after_each_play(gb_atl)[::15]:
        visible = {play.id for play in gb_atl.plays[:k]}
        summary = gb_atl.summary(t)
        expected = [p["id"] for p in gb_atl.source["scoringPlays"] if p["id"] in visible]
        assert [p["id"] for p in summary["scoringPlays"]] == expected
        # Plus the pre-kickoff entry, keyed by the first drive's id.
        assert len(summary["winprobability"]) == k + 1


def test_win_probability_at_follows_the_recorded_entries(gb_atl, bal_jax):
    first = gb_atl.source["winprobability"][0]
    assert gb_atl.win_probability_at(gb_atl.kickoff - timedelta(hours=1)) == Decimal(str(first["homeWinPercentage"]))
    by_play = {e["playId"]: e["homeWinPercentage"] for e in gb_atl.source["winprobability"]}
    for k, t in instants_after_each_play(gb_atl)[::10]:
        assert gb_atl.win_probability_at(t) == Decimal(str(by_play[gb_atl.plays[k - 1].id]))
    assert gb_atl.win_probability_at(gb_atl.end) == Decimal("1.0")
    assert bal_jax.win_probability_at(bal_jax.end) == Decimal("0")


def test_with_id_renames_the_game_and_shifts_its_times(gb_atl):
    shift = timedelta(days=3, hours=2)
    copy = gb_atl.with_id("900000001", shift)
    assert copy.game_id == "900000001"
    assert copy.kickoff == gb_atl.kickoff + shift
    assert [p.visible_at for p in copy.plays] == [p.visible_at + shift for p in gb_atl.plays]
    assert all(p.id.startswith("900000001") for p in copy.plays)
    assert {p.id for p in copy.plays}.isdisjoint(p.id for p in gb_atl.plays)
    summary = copy.summary(copy.end)
    assert summary["header"]["id"] == "900000001"
    assert {e["playId"] for e in summary["winprobability"]} <= {p.id for p in copy.plays} | {
        d["id"] for d in summary["drives"]["previous"]
    }
    event = copy.scoreboard_event(copy.end)
    assert event["id"] == "900000001" and event["date"] == "2023-09-20T19:00Z"
    assert scores(event) == {"GB": "24", "ATL": "25"}
    assert gb_atl.game_id == "401547417" and gb_atl.plays[0].id == "40154741739"
    with pytest.raises(ValueError):
        gb_atl.with_id("900000002", timedelta(seconds=30))


def test_a_recording_of_an_unfinished_game_is_rejected():
    with pytest.raises(ValueError, match="finished"):
        load_game(ESPN / "summary_401772838_pregame.json")


def test_a_game_is_named_by_its_teams_abbreviations(game):
    matchup = f"{game.away_team['abbreviation']} @ {game.home_team['abbreviation']}"
    assert game.matchup == matchup and matchup in ("GB @ ATL", "BAL @ JAX")
