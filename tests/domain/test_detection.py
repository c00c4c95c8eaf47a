"""Pure detection on the scoreboard: (what we knew, a new scoreboard entry) -> events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from factories import game, play
from nfl_sync.domain.detection import baseline, detect_scoreboard

NOW = datetime(2023, 9, 17, 18, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=5)


def keys(update):
    return [e.key for e in update.events]


def last_play(n, **changes):
    """The scoreboard's lastPlay as the parser gives it: no sequence number, the game's score."""
    return play(n=n, sequence_number=0, **changes)


def test_first_sight_is_a_baseline_and_a_started_game_wants_its_summary():
    live = detect_scoreboard(None, game(home_score=10, away_score=7), NOW)
    assert live.events == () and live.needs_summary
    assert (live.memory.alerted_total, live.memory.baseline_total, live.memory.first_seen) == (17, 17, NOW)
    assert not detect_scoreboard(None, game(state="pre", status="STATUS_SCHEDULED"), NOW).needs_summary


def test_a_score_change_alerts_once_and_wants_the_summary():
    prev = baseline(game(), NOW)
    first = detect_scoreboard(prev, game(home_score=7, last_play_id="99"), LATER)
    assert keys(first) == ["score:401547417:0:0-7"] and first.needs_summary
    event = first.events[0]
    assert (event.alert_type, event.priority) == ("score", "high")
    assert (event.data.scoring_team, event.data.points) == ("ATL", 7)
    again = detect_scoreboard(first.memory, game(home_score=7, last_play_id="99"), LATER)
    assert again.events == () and not again.needs_summary


def test_the_last_play_says_how_the_team_scored_when_it_explains_the_change():
    prev = baseline(game(), NOW)
    touchdown = last_play(7, home_score=7, score_value=7, scoring_type="TD", text="Robinson 5 yd run", type="Rush")
    told = detect_scoreboard(prev, game(home_score=7, last_play=touchdown, last_play_id=touchdown.play_id), LATER)
    assert (told.events[0].data.scoring_type, told.events[0].data.play_text) == ("TD", "Robinson 5 yd run")
    # Two scores between polls: the last play (a field goal) does not explain ten points.
    field_goal = last_play(9, home_score=10, score_value=3, scoring_type="FG", text="Koo 40 yd FG")
    plain = detect_scoreboard(prev, game(home_score=10, last_play=field_goal, last_play_id=field_goal.play_id), LATER)
    data = plain.events[0].data
    assert (data.points, data.scoring_type, data.play_text) == (10, None, None)


def test_a_reversed_score_needs_two_polls_and_yields_one_correction():
    prev = detect_scoreboard(baseline(game(), NOW), game(home_score=7), NOW).memory
    once = detect_scoreboard(prev, game(home_score=0), NOW)
    assert once.events == () and once.memory.home_score == 7
    twice = detect_scoreboard(once.memory, game(home_score=0), NOW)
    assert keys(twice) == ["correction:401547417:1:0-7>0-0"]
    assert twice.events[0].data.correction is True
    assert detect_scoreboard(twice.memory, game(home_score=0), NOW).events == ()
    rescored = detect_scoreboard(twice.memory, game(home_score=7), NOW)
    assert keys(rescored) == ["score:401547417:1:0-7"]  # same total as before, new revision: alerted


def test_one_stale_lower_poll_changes_nothing():
    prev = detect_scoreboard(baseline(game(), NOW), game(home_score=7), NOW).memory
    stale = detect_scoreboard(prev, game(home_score=0), NOW)
    back = detect_scoreboard(stale.memory, game(home_score=7), NOW)
    assert stale.events == () and back.events == ()


def test_final_whistle_alerts_once_and_final_stays_final():
    prev = baseline(game(home_score=25, away_score=24), NOW)
    final = detect_scoreboard(prev, game(home_score=25, away_score=24, state="post", status="STATUS_FINAL"), NOW)
    assert keys(final) == ["final:401547417"] and final.needs_summary
    revived = detect_scoreboard(final.memory, game(home_score=25, away_score=24), NOW)
    assert revived.events == () and revived.memory.state == "post"


def test_a_turnover_or_a_long_gain_on_the_last_play_alerts_at_once_and_once():
    prev = baseline(game(), NOW)
    pick = last_play(5, type="Pass Interception Return", text="Love pass INTERCEPTED", is_turnover=True)
    seen = detect_scoreboard(prev, game(last_play=pick, last_play_id=pick.play_id), LATER)
    assert keys(seen) == [f"play:401547417:{pick.play_id}"] and seen.events[0].priority == "high"
    assert seen.events[0].data.tags == ("interception",)
    assert detect_scoreboard(seen.memory, game(last_play=pick, last_play_id=pick.play_id), LATER).events == ()
    run = last_play(6, type="Rush", text="Robinson runs for 31 yards", yards=31)
    long = detect_scoreboard(seen.memory, game(last_play=run, last_play_id=run.play_id), LATER)
    assert [(e.key, e.priority) for e in long.events] == [(f"play:401547417:{run.play_id}", "medium")]
    punt = last_play(7, type="Punt", text="Pinion punts 47 yards", yards=47)
    assert detect_scoreboard(long.memory, game(last_play=punt, last_play_id=punt.play_id), LATER).events == ()


def test_a_postponed_game_gets_its_own_alert_and_no_final_then_its_real_final_later():
    prev = baseline(game(state="pre", status="STATUS_SCHEDULED", period=None), NOW)
    postponed = detect_scoreboard(
        prev, game(state="pre", phase="postponed", status="STATUS_POSTPONED", home_score=None, away_score=None), LATER
    )
    assert keys(postponed) == ["status:401547417:postponed:1"]
    assert postponed.events[0].data.status == "postponed" and not postponed.events[0].data.final
    again = detect_scoreboard(postponed.memory, game(state="pre", phase="postponed", status="STATUS_POSTPONED"), LATER)
    assert again.events == ()
    resumed = detect_scoreboard(again.memory, game(home_score=3, period=1), LATER)  # played after all
    assert [e.data.status for e in resumed.events] == [None, "resumed"]  # the score, and the resumption
    final = detect_scoreboard(resumed.memory, game(state="post", home_score=3, period=4), LATER)
    assert keys(final) == ["final:401547417"] and final.events[0].data.status == "final"


def test_a_canceled_game_is_alerted_as_canceled_never_as_a_final():
    prev = baseline(game(state="pre", status="STATUS_SCHEDULED"), NOW)
    canceled = detect_scoreboard(prev, game(state="post", phase="canceled", status="STATUS_CANCELED"), LATER)
    assert [e.data.status for e in canceled.events] == ["canceled"]
    assert not any(e.key.startswith("final:") for e in canceled.events)
    assert canceled.memory.phase == "canceled"


def test_a_suspended_game_resumes_live_and_its_real_final_is_alerted():
    prev = baseline(game(home_score=7, period=3), NOW)
    suspended = detect_scoreboard(
        prev, game(phase="suspended", status="STATUS_SUSPENDED", home_score=7, period=3), LATER
    )
    assert keys(suspended) == ["status:401547417:suspended:3"] and suspended.memory.state == "in"
    resumed = detect_scoreboard(suspended.memory, game(home_score=7, period=3), LATER)
    assert [e.data.status for e in resumed.events] == ["resumed"]
    final = detect_scoreboard(
        resumed.memory, game(state="post", phase="final_ot", status="STATUS_FINAL_OVERTIME", home_score=7), LATER
    )
    assert keys(final) == ["final:401547417"] and final.events[0].data.status == "final_ot"


def test_a_final_stays_final_against_a_stale_response():
    final = detect_scoreboard(baseline(game(home_score=7), NOW), game(state="post", home_score=7), LATER)
    stale = detect_scoreboard(final.memory, game(home_score=7), LATER)
    assert stale.events == () and (stale.memory.state, stale.memory.phase) == ("post", "final")


def test_the_scoreboards_last_play_renumbered_by_espn_is_not_alerted_again():
    interception = last_play(2, type="Pass Interception Return", text="Love pass INTERCEPTED by Bates", yards=0)
    first = detect_scoreboard(
        baseline(game(), NOW), game(last_play_id=interception.play_id, last_play=interception), LATER
    )
    assert len(first.events) == 1 and "interception" in first.events[0].data.tags
    # Renumbered a poll later, with the game's clock run on since (the scoreboard shows that clock).
    renumbered = replace(interception, play_id="401547417999002", clock="9:41")
    again = detect_scoreboard(first.memory, game(last_play_id=renumbered.play_id, last_play=renumbered), LATER)
    assert again.events == ()
