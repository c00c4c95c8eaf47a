"""Pure detection: (previous state, new snapshot) -> events, on hand-built snapshots."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from factories import game, play
from nfl_sync.domain.detection import baseline, detect_game, injury_events, needs_play_by_play
from nfl_sync.domain.models import Injury

NOW = datetime(2023, 9, 17, 18, 0, tzinfo=UTC)


def keys(update):
    return [e.key for e in update.events]


def test_first_sight_of_a_live_game_is_a_baseline_without_alerts():
    g = game(home_score=10, away_score=7)
    plays = [play(n=1), play(n=2, home_score=7), play(n=3, home_score=10, away_score=7)]
    update = detect_game(None, g, plays, NOW)
    assert update.events == ()
    assert update.state.known_play_ids == {p.play_id for p in plays}
    assert update.state.alerted_total == 17
    assert needs_play_by_play(None, g)
    assert not needs_play_by_play(None, game(state="pre", status="STATUS_SCHEDULED"))


def test_score_change_on_the_scoreboard_yields_one_score_alert_and_repeat_yields_none():
    prev = baseline(game(home_score=0, away_score=0))
    g = game(home_score=7, away_score=0, last_play_id="99", last_play_text="Bijan Robinson 5 yd run")
    first = detect_game(prev, g, None, NOW)
    assert keys(first) == ["score:401547417:0:0-7"]
    event = first.events[0]
    assert (event.alert_type, event.priority) == ("score", "high")
    assert (event.data.scoring_team, event.data.points) == ("ATL", 7)
    again = detect_game(first.state, g, None, NOW + timedelta(seconds=5))
    assert again.events == ()
    assert not needs_play_by_play(first.state, g)


def test_scores_come_from_plays_one_per_change_with_late_out_of_order_plays():
    plays = [play(n=1), play(n=2)]
    prev = baseline(game(), plays)
    td = play(
        n=4, home_score=6, type="Passing Touchdown", text="TD pass", scoring_type="TD", significance=("touchdown",)
    )
    xp = play(n=5, home_score=7, type="Extra Point Good")
    late = play(n=3, yards=35, text="Long run", significance=("big_play",))
    g = game(home_score=7, away_score=0)
    update = detect_game(prev, g, [xp, td, late] + plays, NOW)
    assert keys(update) == ["play:401547417:401547417000003", "score:401547417:0:0-6", "score:401547417:0:0-7"]
    assert [p.play_id for p in update.new_plays] == [late.play_id, td.play_id, xp.play_id]
    assert update.events[1].data.points == 6 and update.events[1].data.play_text == "TD pass"
    # The next poll shows the same plays: nothing new.
    assert detect_game(update.state, g, [xp, td, late] + plays, NOW).events == ()


def test_plays_behind_a_score_already_alerted_do_not_alert_again():
    prev = baseline(game())
    after_board = detect_game(prev, game(home_score=7), None, NOW)  # pbp failed: scoreboard alerted 0-7
    assert keys(after_board) == ["score:401547417:0:0-7"]
    plays = [play(n=1, home_score=6, scoring_type="TD"), play(n=2, home_score=7)]
    assert detect_game(after_board.state, game(home_score=7), plays, NOW).events == ()


def test_a_reversed_score_needs_two_polls_and_yields_one_correction():
    prev = detect_game(baseline(game()), game(home_score=7), None, NOW).state
    once = detect_game(prev, game(home_score=0), None, NOW)
    assert once.events == () and once.state.home_score == 7
    twice = detect_game(once.state, game(home_score=0), None, NOW)
    assert [e.key for e in twice.events] == ["correction:401547417:1:0-7>0-0"]
    assert twice.events[0].data.correction is True
    assert detect_game(twice.state, game(home_score=0), None, NOW).events == ()
    rescored = detect_game(twice.state, game(home_score=7), None, NOW)
    assert keys(rescored) == ["score:401547417:1:0-7"]  # same total as before, new revision: alerted


def test_one_stale_lower_poll_changes_nothing():
    prev = detect_game(baseline(game()), game(home_score=7), None, NOW).state
    stale = detect_game(prev, game(home_score=0), None, NOW)
    back = detect_game(stale.state, game(home_score=7), None, NOW)
    assert stale.events == () and back.events == ()


def test_final_whistle_alerts_once_and_final_stays_final():
    prev = baseline(game(home_score=25, away_score=24))
    final = detect_game(prev, game(home_score=25, away_score=24, state="post", status="STATUS_FINAL"), None, NOW)
    assert keys(final) == ["final:401547417"]
    revived = detect_game(final.state, game(home_score=25, away_score=24), None, NOW)
    assert revived.events == () and revived.state.state == "post"


def test_turnovers_and_long_gains_alert_but_ordinary_plays_do_not():
    prev = baseline(game(), [])
    plays = [
        play(n=1, significance=("interception",)),
        play(n=2, yards=8),
        play(n=3, yards=24, significance=("big_play",)),
        play(n=4, significance=("turnover_on_downs",)),
    ]
    update = detect_game(prev, game(), plays, NOW)
    assert [(e.key.split(":")[-1], e.priority) for e in update.events] == [
        ("401547417000001", "high"),
        ("401547417000003", "medium"),
        ("401547417000004", "high"),
    ]


def test_only_new_out_injuries_of_teams_in_play_alert():
    out = Injury("1", "Player One", "ATL", "WR", "Out", "Knee", NOW)
    events = injury_events(
        [out, replace(out, player_id="2", status="Questionable"), replace(out, player_id="3", team="DAL")],
        frozenset({"ATL", "GB"}),
        NOW,
    )
    assert [e.key for e in events] == ["injury:1:out:2023-09-17"]
    assert events[0].family == "injury:1"


def test_a_turnover_revealed_after_the_play_alerts_once():
    fourth_down = play(n=3, type="Pass Incompletion", text="4th and 1, pass incomplete")
    prev = baseline(game(), [play(n=1), play(n=2)])
    first = detect_game(prev, game(), [play(n=1), play(n=2), fourth_down], NOW)
    assert first.events == () and first.significant == ()
    # The drive ended: ESPN's result now makes the same play a turnover on downs.
    revealed = replace(fourth_down, significance=("turnover_on_downs",), drive_result="Downs")
    later = detect_game(first.state, game(), [play(n=1), play(n=2), revealed], NOW)
    assert keys(later) == [f"play:401547417:{fourth_down.play_id}"]
    assert [p.play_id for p in later.significant] == [fourth_down.play_id] and later.new_plays == ()
    assert detect_game(later.state, game(), [play(n=1), play(n=2), revealed], NOW).events == ()
