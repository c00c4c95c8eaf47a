"""play_classifier: tags from score deltas, type texts and drive results, on real and built plays."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from factories import play as make_play
from helpers import fixture_json
from nfl_sync.domain import play_classifier as pc
from nfl_sync.sources.espn.summary import parse_summary


def scored(before: tuple[int, int], after: tuple[int, int], **changes):
    """A play that moved the score from `before` to `after` (away, home)."""
    values = {"away_score": after[0], "home_score": after[1], "score_value": sum(after) - sum(before)}
    values.update(changes)
    return make_play(**values), before


@pytest.mark.parametrize(
    "before, after, type_text, expected",
    [
        ((0, 0), (7, 0), "Passing Touchdown", ("touchdown", "extra_point")),
        ((0, 6), (0, 12), "Rushing Touchdown", ("touchdown",)),  # PAT failed
        ((10, 10), (18, 10), "Passing Touchdown", ("touchdown", "two_point")),
        ((0, 0), (0, 3), "Field Goal Good", ("field_goal",)),
        ((3, 0), (3, 2), "Safety", ("safety",)),
        ((3, 6), (3, 8), "Two Point Pass", ("two_point",)),
        ((3, 6), (3, 7), "Extra Point Good", ("extra_point",)),
        ((0, 0), (0, 0), "Rush", ()),
    ],
)
def test_scores_are_tagged_from_the_delta_not_the_wording(before, after, type_text, expected):
    # A misleading type text must not change the result: use "Rush" for every scoring case too.
    for text in (type_text, "Rush"):
        play, start = scored(before, after, type=text, text="", yards=1)
        if text == "Rush" and "safety" in expected:
            play = replace(play, scoring_type="SF")  # a 2-point delta is ambiguous without the label
        assert pc.classify(play, start) == expected


def test_previous_play_or_score_pair_or_score_value():
    before = make_play(away_score=3, home_score=0)
    touchdown = make_play(n=2, away_score=3, home_score=7, score_value=7, type="Rush", yards=1)
    assert (
        pc.classify(touchdown, before)
        == pc.classify(touchdown, (3, 0))
        == pc.classify(touchdown)
        == ("touchdown", "extra_point")
    )
    # A score correction (points taken off) never reads as a score.
    corrected = make_play(n=3, away_score=0, home_score=7, score_value=0, type="Rush", yards=1)
    assert pc.classify(corrected, touchdown) == ()


def test_espn_scoring_label_wins_when_the_delta_is_missing():
    play = make_play(home_score=None, away_score=None, score_value=0, scoring_type="TD", type="Rush", yards=2)
    assert pc.classify(play) == ("touchdown",)


@pytest.mark.parametrize(
    "type_text, drive_result, turnover, expected",
    [
        ("Pass Interception Return", "INT", True, ("interception",)),
        ("Interception Return Touchdown", None, True, ("interception",)),
        ("Fumble Recovery (Opponent)", "FUMBLE", True, ("fumble_lost",)),
        ("Sack", "FUMBLE", True, ("fumble_lost",)),  # sack-fumble: typed "Sack", the drive result tells
        ("Pass Incompletion", "DOWNS", True, ("turnover_on_downs",)),
        ("Fumble Recovery (Own)", None, False, ()),
        ("Punt", "PUNT", False, ()),
    ],
)
def test_turnovers(type_text, drive_result, turnover, expected):
    play = make_play(type=type_text, drive_result=drive_result, is_turnover=turnover, yards=0, text="")
    assert pc.classify(play, (0, 0)) == expected


def test_nullified_interception_text_is_not_an_interception():
    play = make_play(
        type="Penalty",
        yards=5,
        text="J.Love pass INTERCEPTED by X. PENALTY on ATL, Defensive Holding, 5 yards, enforced at GB 25 - No Play.",
    )
    assert pc.classify(play, (0, 0)) == ()


@pytest.mark.parametrize(
    "type_text, yards, text, threshold, expected",
    [
        ("Pass Reception", 20, "pass to X for 20 yards", 20, True),
        ("Rush", 19, "up the middle for 19 yards", 20, False),
        ("Rush", 12, "for 12 yards", 10, True),
        ("Punt", 55, "punts 55 yards", 20, False),
        ("Kickoff", 65, "kicks 65 yards", 20, False),
        ("Penalty", 25, "PENALTY, Defensive Pass Interference, 25 yards", 20, False),
        # statYardage adds accepted penalty yards: 5-yard run + 15 for roughness is not a big play.
        ("Rush", 20, "G.Edwards right end to BLT 18 for 5 yards (D.Lloyd). PENALTY on JAX, 15 yards", 20, False),
        ("Rush", 30, "for 25 yards (X). PENALTY on JAX, Face Mask, 5 yards", 20, True),
        # Holding by the offence 1 yard past the line on a 12-yard run: the NFL credits the runner
        # with the yards to the foul, 1 (BAL@JAX 1526; statYardage is 1 - 10 = -9).
        (
            "Rush",
            -9,
            "J.Hill up the middle to JAX 29 for 12 yards (A.Wingard). "
            "PENALTY on BLT-R.Stanley, Offensive Holding, 10 yards, enforced at JAX 40.",
            10,
            False,
        ),
        # A foul by the offence after the run ends takes nothing from the run itself.
        (
            "Rush",
            10,
            "left end to JAX 10 for 25 yards (X). "
            "PENALTY on BLT-Y, Unnecessary Roughness, 15 yards, enforced at JAX 10.",
            20,
            True,
        ),
        # A declined penalty costs no yards.
        ("Rush", 22, "for 22 yards (X). Penalty on JAX-Y, Defensive Offside, declined.", 20, True),
        # The yards of an interception are the defence's return (BAL@JAX 1103), not a gain.
        (
            "Pass Interception Return",
            18,
            "L.Jackson pass short middle intended for N.Agholor INTERCEPTED by R.Jenkins at JAX 30. "
            "R.Jenkins to JAX 48 for 18 yards (J.Simpson).",
            15,
            False,
        ),
        ("Interception Return Touchdown", 70, "INTERCEPTED by X at JAX 30. X for 70 yards, TOUCHDOWN.", 20, False),
    ],
)
def test_big_play_threshold(type_text, yards, text, threshold, expected):
    play = make_play(type=type_text, yards=yards, text=text)
    assert (pc.BIG_PLAY in pc.classify(play, (0, 0), big_play_yards=threshold)) is expected


def test_extra_point_alone_is_not_significant():
    assert pc.significant_tags(("extra_point",)) == ()
    assert pc.significant_tags(("touchdown", "extra_point")) == ("touchdown", "extra_point")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("summary_401547417.json", {"touchdown": 5, "field_goal": 5, "interception": 1, "turnover_on_downs": 2}),
        (
            "cdn_game_401547602.json",
            {"touchdown": 3, "field_goal": 3, "interception": 1, "fumble_lost": 2, "turnover_on_downs": 1},
        ),
    ],
)
def test_whole_recorded_games(name, expected):
    summary = parse_summary(fixture_json("espn", name))
    tagged = pc.with_significance(summary.plays)
    counts = Counter(tag for play in tagged for tag in play.significance if tag not in ("big_play", "extra_point"))
    assert counts == expected
    # Every play with a score change is significant, and nothing else scores.
    scoring_ids = {p.play_id for p in summary.scoring_plays}
    assert {p.play_id for p in tagged if {"touchdown", "field_goal"} & set(p.significance)} == scoring_ids
    assert all(p.significance == () or p.is_significant for p in tagged)
    big = [p for p in tagged if "big_play" in p.significance]
    assert big and all(p.yards >= 20 and p.type in ("Rush", "Pass Reception", "Passing Touchdown") for p in big)


def test_with_significance_scores_the_first_play_against_the_given_start():
    touchdown = make_play(away_score=7, home_score=0, score_value=7, type="Rush", yards=3)
    (already_counted,) = pc.with_significance([touchdown], before=(7, 0))
    assert already_counted.significance == ()
    (fresh,) = pc.with_significance([touchdown])
    assert fresh.significance == ("touchdown", "extra_point")
