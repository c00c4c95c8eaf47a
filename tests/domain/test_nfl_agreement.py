"""The daemon's significant-play alerts against the NFL's own play-by-play of the same two games.

The NFL's GSIS stats (tests/fixtures/nfl, read by `nfl_official`) say which plays were an
interception, a fumble lost, a turnover on downs, a safety or a pass or run of `big_play_yards`
or more by the ball carrier himself. The daemon is run over ESPN's recording of each game as it
would have seen it live: both lanes on every moment a play appears, the scoreboard lane on the
scoreboard's last play and the play-by-play lane on the summary of that moment (parsed,
classified, detected), from a first sight before kickoff, so nothing is history. Both lanes key a
play's alert by the play, so the outbox sends one alert per key; the agreement is per key.

The yardage threshold is a setting (BIG_PLAY_YARDS), so the agreement is checked at the default
20 and at lower values a user may choose, where more plays come close to the line.

Exceptions, plays where ESPN's data cannot tell what the NFL's does (so no alert could agree),
would be listed here with the reason; the list is empty for these two games. The plays most
likely to be one were checked: the NFL's deleted plays (GB@ATL 1476, BAL@JAX 901) are not in
ESPN's play-by-play at all; on the runs with a penalty (BAL@JAX 1526, 1729, 4002) ESPN's net
yardage and its narration together still give the runner's own yards; the interception's return
yards (BAL@JAX 1103) are typed as a return. The turnovers on downs are known only once ESPN shows
the drive's result, so only the play-by-play lane alerts them, which the test allows.

`pytest -s` prints the agreement table, one row per game and threshold.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import pytest

from helpers import FIXTURES, fixture_json
from nfl_official import OfficialPlay, espn_play, load, significant_plays
from nfl_replay.timeline import GameTimeline, load_game
from nfl_sync.domain.detection import ScoreMemory, detect_scoreboard, play_key
from nfl_sync.domain.events import AlertType, Event, PlayData
from nfl_sync.domain.models import GameState
from nfl_sync.domain.play_classifier import with_significance
from nfl_sync.domain.play_detection import PlayMemory, detect_plays
from nfl_sync.sources.espn.scoreboard import parse_scoreboard
from nfl_sync.sources.espn.summary import parse_summary

CATEGORIES = ("interception", "fumble_lost", "turnover_on_downs", "safety", "big_play")
THRESHOLDS = (20, 10, 5, 1)


@dataclass(frozen=True)
class Accounts:
    """The two accounts of one game: ESPN's recording and the NFL's game details."""

    label: str
    espn: str  # tests/fixtures/espn
    nfl: str  # tests/fixtures/nfl


GAMES = (
    Accounts("GB@ATL", "summary_401547417.json", "2023_02_GB_ATL.json"),
    Accounts("BAL@JAX", "cdn_game_401547602.json", "2023_15_BAL_JAX.json"),
)


@cache
def timeline(name: str) -> GameTimeline:
    return load_game(FIXTURES / "espn" / name)


def alerts_of_both_lanes(game: GameTimeline, big_play_yards: int) -> dict[str, dict[str, list[Event]]]:
    """The `significant_play` events of the game, by alert key, then by lane.

    The lanes look at every moment a play appears, as a scoreboard poll and a summary fetch right
    after each play would; plays ESPN stamped with the same second appear together, and the
    scoreboard then shows only the last of them (as it did live).
    """
    moments = [game.kickoff - timedelta(minutes=5), *sorted({play.visible_at for play in game.plays})]
    score: ScoreMemory | None = None
    plays_memory: PlayMemory | None = None
    found: dict[str, dict[str, list[Event]]] = defaultdict(lambda: defaultdict(list))
    for now in moments:
        (scoreboard,) = parse_scoreboard({"events": [game.scoreboard_event(now)]})
        update = detect_scoreboard(score, scoreboard, now, big_play_yards)
        score = update.memory
        lanes = [("scoreboard", update.events)]
        if scoreboard.state != GameState.PRE:
            summary = parse_summary(game.summary(now), player_stats=False)
            plays = with_significance(sorted(summary.plays, key=lambda p: p.sequence_number), None, big_play_yards)
            detected = detect_plays(plays_memory, score, scoreboard, plays, now, score.revision)
            plays_memory = detected.memory
            lanes.append(("play-by-play", detected.events))
        for lane, events in lanes:
            for event in events:
                if event.alert_type == AlertType.SIGNIFICANT_PLAY:
                    found[event.key][lane].append(event)
    return found


@dataclass(frozen=True)
class Agreement:
    official: list[OfficialPlay]
    espn_ids: dict[int, str]  # NFL play id -> the ESPN play id of the same snap
    expected: dict[str, set[str]]  # alert key -> the NFL's reasons for the play
    alerts: dict[str, dict[str, list[Event]]]


@cache
def agreement(game: Accounts, big_play_yards: int) -> Agreement:
    recording = timeline(game.espn)
    espn_plays = parse_summary(fixture_json("espn", game.espn), player_stats=False).plays
    official = significant_plays(load(game.nfl), big_play_yards)
    espn_ids = {play.play_id: espn_play(play, espn_plays).play_id for play in official}
    expected: dict[str, set[str]] = defaultdict(set)
    for play in official:
        expected[play_key(recording.game_id, espn_ids[play.play_id])].add(play.tag)
    return Agreement(official, espn_ids, dict(expected), alerts_of_both_lanes(recording, big_play_yards))


def reasons_of(event: Event) -> set[str]:
    """The tags of a `significant_play` alert that say why it is one (a touchdown or an extra
    point rides along on a long scoring play but is alerted as a score)."""
    assert isinstance(event.data, PlayData)
    return set(event.data.tags) & set(CATEGORIES)


@pytest.mark.parametrize("big_play_yards", THRESHOLDS)
@pytest.mark.parametrize("game", GAMES, ids=lambda game: game.label)
def test_every_play_the_nfl_calls_significant_is_alerted_once_and_nothing_else(game, big_play_yards):
    result = agreement(game, big_play_yards)
    print(_row(game, big_play_yards, result))
    assert result.official, "the NFL's data has significant plays in both games"
    assert len(set(result.espn_ids.values())) == len(result.espn_ids), "two NFL plays matched one ESPN play"
    # One key per NFL play: no play alerted under two keys, and no ESPN play outside the NFL's set.
    assert set(result.alerts) == set(result.expected)
    for key, reasons in result.expected.items():
        for lane, events in result.alerts[key].items():
            assert len(events) == 1, f"{key}: the {lane} lane alerted it {len(events)} times"
            # Whichever lane's alert reaches the outbox first is the one sent: each must say why.
            assert reasons_of(events[0]) == reasons, f"{key} ({lane}): {events[0].data}; the NFL says {reasons}"


def _row(game: Accounts, big_play_yards: int, result: Agreement) -> str:
    """One line of the agreement table (printed before the asserts, so a failing run shows it)."""
    counts = Counter(play.tag for play in result.official)
    alerted = {
        key: [reasons_of(e) for events in lanes.values() for e in events] for key, lanes in result.alerts.items()
    }
    matched = [
        key for key, reasons in result.expected.items() if alerted.get(key) and all(r == reasons for r in alerted[key])
    ]
    nfl = " ".join(f"{category}={counts[category]}" for category in CATEGORIES)
    return (
        f"\n{game.label:8} {big_play_yards:2}+ yd | NFL {nfl} ({len(result.expected)} plays) | "
        f"alerted {len(alerted)} | matched {len(matched)} | "
        f"wrong reasons {len(set(result.expected) & set(alerted)) - len(matched)} | "
        f"missing {len(set(result.expected) - set(alerted))} | extra {len(set(alerted) - set(result.expected))}"
    )


def test_the_nfl_side_counts_the_runners_own_yards_not_penalty_yards():
    """A 5-yard run with a 15-yard roughness penalty (BAL@JAX 4002) is 20 yards in the NFL's
    `yardsGained` but 5 of the runner's own: no big play; the 65-yard touchdown catch (2419) is."""
    document = load("2023_15_BAL_JAX.json")
    (run,) = [play for play in document["driveChart"]["plays"] if play["playId"] == 4002]
    assert run["yardsGained"] == 20
    official = {(play.play_id, play.tag) for play in significant_plays(document)}
    assert (2419, "big_play") in official
    assert not any(play_id == 4002 for play_id, _ in official)
