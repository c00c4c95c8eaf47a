"""Pure detection on the play-by-play: what happened between two scoreboard polls, never alerted
twice with the scoreboard lane (both key an alert by the same score or play)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from factories import KICKOFF, game, play
from nfl_sync.domain.detection import baseline, detect_scoreboard
from nfl_sync.domain.play_detection import PlayMemory, detect_plays

NOW = datetime(2023, 9, 17, 18, 0, tzinfo=UTC)


def keys(update):
    return [e.key for e in update.events]


def seen(scoreboard, at=NOW):
    """The scoreboard lane's memory after it saw `scoreboard` (first sight at kickoff, 0-0)."""
    return detect_scoreboard(baseline(game(), KICKOFF), scoreboard, at).memory


def test_the_first_summary_takes_what_happened_before_first_sight_as_history():
    first_seen = KICKOFF + timedelta(seconds=75)  # between play 2 and play 3
    score = baseline(game(home_score=3), first_seen)
    plays = [
        play(n=1, significance=("interception",)),
        play(n=2, home_score=3, scoring_type="FG", significance=("field_goal",)),
        play(n=3, yards=31, significance=("big_play",)),
    ]
    update = detect_plays(None, score, game(home_score=3), plays, NOW)
    assert keys(update) == [f"play:401547417:{plays[2].play_id}"]
    assert [p.play_id for p in update.significant] == [plays[2].play_id]
    assert update.memory.known_play_ids == {p.play_id for p in plays}


def test_a_score_between_two_polls_is_alerted_and_the_one_the_scoreboard_showed_is_not():
    score = seen(game(home_score=3, away_score=7))  # the scoreboard alerted 7-3 at once
    plays = [
        play(n=1),
        play(n=2, home_score=3, scoring_type="FG", text="Koo 40 yd FG"),
        play(n=3, home_score=3, away_score=7, scoring_type="TD", text="Love pass to Watson, TOUCHDOWN"),
    ]
    update = detect_plays(PlayMemory(), score, game(home_score=3, away_score=7), plays, NOW)
    assert keys(update) == ["score:401547417:0:0-3"]
    assert (update.events[0].data.scoring_team, update.events[0].data.play_text) == ("ATL", "Koo 40 yd FG")
    assert update.memory.scored_total == 10
    assert detect_plays(update.memory, score, game(home_score=3, away_score=7), plays, NOW).events == ()


def test_a_touchdown_whose_try_followed_is_told_by_the_score_after_the_try():
    score = seen(game(home_score=7))
    plays = [play(n=1, home_score=6, scoring_type="TD"), play(n=2, home_score=7, scoring_type="XP")]
    assert detect_plays(PlayMemory(), score, game(home_score=7), plays, NOW).events == ()


def test_scores_missed_while_the_daemon_was_down_are_alerted_after_a_restart():
    restored = PlayMemory(known_play_ids=frozenset({play(n=1).play_id}), scored_total=3)
    score = replace(seen(game(home_score=3)), home_score=17, away_score=0, alerted_total=17)
    plays = [
        play(n=1, home_score=3),
        play(n=2, home_score=10, scoring_type="TD"),
        play(n=3, home_score=17, scoring_type="TD"),
    ]
    update = detect_plays(restored, score, game(home_score=17), plays, NOW)
    assert keys(update) == ["score:401547417:0:0-10"]  # 0-17 is the scoreboard's own


def test_turnovers_and_long_gains_alert_late_out_of_order_plays_are_new_by_id():
    score = seen(game())
    plays = [
        play(n=1, significance=("interception",)),
        play(n=2, yards=8),
        play(n=4, significance=("turnover_on_downs",)),
        play(n=3, yards=24, significance=("big_play",)),
    ]
    update = detect_plays(PlayMemory(), score, game(), plays, NOW)
    assert [(e.key.split(":")[-1], e.priority) for e in update.events] == [
        ("401547417000001", "high"),
        ("401547417000003", "medium"),
        ("401547417000004", "high"),
    ]
    assert [p.play_id for p in update.new_plays] == [play(n=k).play_id for k in (1, 2, 3, 4)]


def test_a_turnover_revealed_after_the_play_alerts_once():
    score = seen(game())
    fourth_down = play(n=3, type="Pass Incompletion", text="4th and 1, pass incomplete")
    first = detect_plays(PlayMemory(), score, game(), [play(n=1), play(n=2), fourth_down], NOW)
    assert first.events == () and first.significant == ()
    # The drive ended: ESPN's result now makes the same play a turnover on downs.
    revealed = replace(fourth_down, significance=("turnover_on_downs",), drive_result="Downs")
    later = detect_plays(first.memory, score, game(), [play(n=1), play(n=2), revealed], NOW)
    assert keys(later) == [f"play:401547417:{fourth_down.play_id}"]
    assert [p.play_id for p in later.significant] == [fourth_down.play_id] and later.new_plays == ()
    assert detect_plays(later.memory, score, game(), [play(n=1), play(n=2), revealed], NOW).events == ()


def test_a_summary_asked_for_before_a_correction_does_not_bring_the_score_back():
    # The scoreboard showed a touchdown (7-0 away), then took it back on two polls in a row; a
    # summary asked for before the correction still shows the touchdown play.
    shown = seen(game(away_score=7))
    once = detect_scoreboard(shown, game(), NOW + timedelta(seconds=5)).memory
    corrected = detect_scoreboard(once, game(), NOW + timedelta(seconds=10)).memory
    assert corrected.revision == 1 and corrected.alerted_total == 0
    plays = [play(n=1), play(n=2, away_score=6, scoring_type="TD"), play(n=3, away_score=7, scoring_type="XP")]

    stale = detect_plays(PlayMemory(), corrected, game(), plays, NOW, asked_at_revision=0)
    assert keys(stale) == []
    assert stale.memory.scored_total == 0  # a real score later is still news

    fresh = detect_plays(PlayMemory(), corrected, game(), plays, NOW, asked_at_revision=1)
    assert keys(fresh) == ["score:401547417:1:7-0"]  # ESPN's own later summary: it stands


def _interception(n=2, **changes):
    values = {
        "type": "Pass Interception Return",
        "text": "Love pass INTERCEPTED by Bates",
        "significance": ("interception",),
    }
    return play(n=n, **{**values, **changes})


def test_a_play_espn_renumbers_is_the_same_play_alerted_once_and_its_old_id_deleted():
    score = seen(game())
    first = detect_plays(PlayMemory(), score, game(), [play(n=1), _interception()], NOW)
    assert keys(first) == [f"play:401547417:{_interception().play_id}"]
    renumbered = _interception(play_id="401547417999002")  # same period, clock, type and text
    second = detect_plays(first.memory, score, game(), [play(n=1), renumbered], NOW)
    assert second.events == () and second.new_plays == ()
    assert second.deleted == (_interception().play_id,)
    third = detect_plays(second.memory, score, game(), [play(n=1), renumbered], NOW)
    assert third.events == () and third.deleted == ()
    # The play under its new id is the alerted turnover: taking it back is still news.
    overturned = replace(renumbered, type="Pass Incompletion", text="Love pass incomplete", significance=())
    reversed_ = detect_plays(third.memory, score, game(), [play(n=1), overturned], NOW)
    assert keys(reversed_) == ["correction:play:401547417:401547417999002"]


def test_a_different_play_with_the_same_clock_is_not_taken_for_a_renumbered_one():
    score = seen(game())
    first = detect_plays(PlayMemory(), score, game(), [play(n=1), _interception()], NOW)
    other = _interception(n=3, clock="10:00", text="Love pass INTERCEPTED by Grant")  # another play, same clock
    second = detect_plays(first.memory, score, game(), [play(n=1), _interception(), other], NOW)
    assert keys(second) == [f"play:401547417:{other.play_id}"] and second.deleted == ()


def test_a_play_left_out_twice_is_deleted_and_an_alerted_turnover_gets_a_correction():
    score = seen(game())
    plays = [play(n=1), _interception(), play(n=3)]
    first = detect_plays(PlayMemory(), score, game(), plays, NOW)
    without = [plays[0], plays[2]]
    once = detect_plays(first.memory, score, game(), without, NOW)  # one stale answer proves nothing
    assert once.events == () and once.deleted == ()
    twice = detect_plays(once.memory, score, game(), without, NOW)
    assert twice.deleted == (plays[1].play_id,)
    assert keys(twice) == [f"correction:play:401547417:{plays[1].play_id}"]
    correction = twice.events[0]
    assert correction.data.correction and correction.data.play_text == plays[1].text
    assert correction.priority == "high"
    back = detect_plays(twice.memory, score, game(), plays, NOW)  # ESPN lists it again
    assert back.events == () and plays[1].play_id not in back.memory.deleted_ids


def test_a_play_missing_once_then_listed_again_is_not_deleted():
    score = seen(game())
    plays = [play(n=1), play(n=2), play(n=3)]
    first = detect_plays(PlayMemory(), score, game(), plays, NOW)
    gap = detect_plays(first.memory, score, game(), [plays[0], plays[2]], NOW)
    back = detect_plays(gap.memory, score, game(), plays, NOW)
    after = detect_plays(back.memory, score, game(), [plays[0], plays[2]], NOW)
    assert (gap.deleted, back.deleted, after.deleted) == ((), (), ())


def test_a_try_espn_shows_on_the_kickoff_row_is_the_touchdowns_score_not_the_kickoffs():
    score = seen(game(home_score=3))
    before = [play(n=1, home_score=3, scoring_play=True, score_value=3, scoring_type="FG")]
    touchdown = play(
        n=2, home_score=3, away_score=6, scoring_play=True, score_value=8, scoring_type="TD",
        text="Love pass to Reed, TOUCHDOWN. TWO-POINT CONVERSION ATTEMPT. Love pass to Doubs. ATTEMPT SUCCEEDS.",
    )  # fmt: skip
    kickoff = play(n=3, home_score=3, away_score=8, type="Kickoff", text="Carlson kicks 65 yards", yards=65)
    first = detect_plays(PlayMemory(), score, game(home_score=3), before, NOW)
    update = detect_plays(first.memory, score, game(home_score=3), [*before, touchdown, kickoff], NOW)
    assert keys(update) == ["score:401547417:0:8-3"]
    told = update.events[0].data
    assert (told.play_id, told.points, told.scoring_type) == (touchdown.play_id, 8, "TD")
