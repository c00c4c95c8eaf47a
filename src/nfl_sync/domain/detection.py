"""Pure detection of game events: (what we knew, what a source shows now) -> events and knowledge.

Scores, finals, corrections, significant plays and injuries. Market events are in `markets.py`.
Nothing here does I/O or reads a clock: the loop passes `now`. Every event carries the key that
makes it alert at most once, so the same detection run twice (a restart, a repeated response)
yields the same keys and the outbox drops the repeats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from nfl_sync.domain.events import AlertType, Event, InjuryData, PlayData, Priority, ScoreData
from nfl_sync.domain.models import Game, GameState, Injury, Play

# Tags of plays that deserve their own alert; scores are alerted as `score` events.
ALERT_TAGS = frozenset({"interception", "fumble_lost", "turnover_on_downs", "safety", "big_play"})
TURNOVER_TAGS = frozenset({"interception", "fumble_lost", "turnover_on_downs"})
ALERT_INJURY_STATUSES = frozenset({"out"})


@dataclass(frozen=True)
class GameMemory:
    """What detection remembers about one game between cycles (restored from the database)."""

    game_id: str
    home_team: str
    away_team: str
    home_score: int | None
    away_score: int | None
    state: GameState
    last_play_id: str | None = None
    known_play_ids: frozenset[str] = frozenset()
    # Known plays that already had a significance: ESPN can reveal one late (a turnover on downs
    # is only known once the drive's result is), and that late news must still alert.
    significant_ids: frozenset[str] = frozenset()
    alerted_total: int = 0  # points total of the newest score already alerted (or baselined)
    revision: int = 0  # corrections so far; part of score keys so a re-scored total alerts again
    pending_lower: tuple[int, int] | None = None  # a lower (away, home) score seen once, unconfirmed


@dataclass(frozen=True)
class GameUpdate:
    events: tuple[Event, ...]
    state: GameMemory
    new_plays: tuple[Play, ...] = ()
    significant: tuple[Play, ...] = ()  # plays significant for the first time: measure their market reaction


def _total(home: int | None, away: int | None) -> int:
    return (home or 0) + (away or 0)


def _known(away: int | None, home: int | None) -> tuple[int, int] | None:
    """(away, home) when both scores are known."""
    return None if away is None or home is None else (away, home)


def needs_play_by_play(prev: GameMemory | None, game: Game) -> bool:
    """Whether the game's play-by-play must be fetched this cycle."""
    if game.state == GameState.PRE:
        return False
    if prev is None:
        return True  # first sight of a started game: store its plays as the baseline
    return (
        (game.home_score, game.away_score) != (prev.home_score, prev.away_score)
        or game.state != prev.state
        or (game.last_play_id is not None and game.last_play_id != prev.last_play_id)
    )


def baseline(game: Game, plays: Sequence[Play] = ()) -> GameMemory:
    """Knowledge of a game first seen now: everything already happened is history, not news."""
    return GameMemory(
        game_id=game.game_id,
        home_team=game.home_team,
        away_team=game.away_team,
        home_score=game.home_score,
        away_score=game.away_score,
        state=game.state,
        last_play_id=game.last_play_id,
        known_play_ids=frozenset(p.play_id for p in plays),
        significant_ids=frozenset(p.play_id for p in plays if p.significance),
        alerted_total=_total(game.home_score, game.away_score),
    )


def score_key(game_id: str, revision: int, away: int | None, home: int | None) -> str:
    return f"score:{game_id}:{revision}:{away or 0}-{home or 0}"


def detect_game(prev: GameMemory | None, game: Game, plays: Sequence[Play] | None, now: datetime) -> GameUpdate:
    """Compare a game's new snapshot (and its plays, when fetched this cycle) with what we knew.

    Returns the events, the new state and the plays not seen before. Yields a `score` event per
    score change (from the scoring plays when we have them, from the
    scoreboard otherwise), a correction when a lower score is seen on two polls in a row, a
    final-score event, and a
    `significant_play` event per turnover, safety or long gain: for a new play, or for a known
    play whose significance ESPN reveals later (a turnover on downs once the drive has ended).
    Plays that arrive late or out of order are new as long as their id is new.
    """
    if prev is None:
        return GameUpdate((), baseline(game, plays or ()), ())
    events: list[Event] = []
    revision = prev.revision
    alerted_total = prev.alerted_total
    known = prev.known_play_ids
    new_plays: list[Play] = []
    new_total = _total(game.home_score, game.away_score)
    prev_total = _total(prev.home_score, prev.away_score)
    lower = _known(game.away_score, game.home_score)
    scores_known = lower is not None

    pending_lower = None
    if lower is not None and new_total < prev_total:
        if prev.pending_lower == lower:
            revision += 1
            alerted_total = new_total
            events.append(_correction(game, prev, revision, now))
        else:
            # One stale response (a CDN cache) must not retract a score: wait for a second poll
            # and keep the scores we had meanwhile.
            pending_lower = lower
            scores_known = False
            game = replace(game, home_score=prev.home_score, away_score=prev.away_score)

    significant_ids = prev.significant_ids
    significant: list[Play] = []
    if plays is not None:
        ordered = sorted(plays, key=lambda p: p.sequence_number)
        new_plays = [p for p in ordered if p.play_id not in known]
        new_ids = {p.play_id for p in new_plays}
        before = (0, 0)
        for play in ordered:
            after = _known(play.away_score, play.home_score)
            if play.significance and play.play_id not in significant_ids:
                significant.append(play)
                if ALERT_TAGS.intersection(play.significance):
                    events.append(_significant_play(game, play, now))
            if play.play_id in new_ids and after is not None and after != before and sum(after) > alerted_total:
                events.append(_score_from_play(game, play, before, after, revision, now))
                alerted_total = sum(after)
            if after is not None:
                before = after
        known = known | new_ids
        significant_ids = significant_ids | {p.play_id for p in significant}

    if scores_known and new_total > alerted_total:
        events.append(_score_from_scoreboard(game, prev, revision, now))
        alerted_total = new_total

    if game.state == GameState.POST and prev.state != GameState.POST:
        events.append(_score_event(f"final:{game.game_id}", now, _score_data(game, final=True)))

    state = GameMemory(
        game_id=game.game_id,
        home_team=game.home_team,
        away_team=game.away_team,
        home_score=game.home_score if game.home_score is not None else prev.home_score,
        away_score=game.away_score if game.away_score is not None else prev.away_score,
        state=GameState.POST if prev.state == GameState.POST else game.state,
        last_play_id=game.last_play_id or prev.last_play_id,
        known_play_ids=known,
        significant_ids=significant_ids,
        alerted_total=alerted_total,
        revision=revision,
        pending_lower=pending_lower,
    )
    return GameUpdate(tuple(events), state, tuple(new_plays), tuple(significant))


def _score_data(game: Game, **extra: Any) -> ScoreData:
    values: dict[str, Any] = {
        "game_id": game.game_id,
        "home_team": game.home_team,
        "away_team": game.away_team,
        "home_score": game.home_score,
        "away_score": game.away_score,
        "period": game.period,
        "clock": game.clock,
    }
    values.update(extra)
    return ScoreData(**values)


def _score_event(key: str, occurred_at: datetime, data: ScoreData) -> Event:
    return Event(AlertType.SCORE, key, Priority.HIGH, occurred_at, data, data.game_id)


def _scorer(game: Game, before: tuple[int, int], after: tuple[int, int]) -> tuple[str | None, int]:
    """Which team scored and how many points, from (away, home) scores before and after."""
    away_delta, home_delta = after[0] - before[0], after[1] - before[1]
    if home_delta > 0 and away_delta <= 0:
        return game.home_team, home_delta
    if away_delta > 0 and home_delta <= 0:
        return game.away_team, away_delta
    return None, away_delta + home_delta


def _score_from_play(
    game: Game, play: Play, before: tuple[int, int], after: tuple[int, int], revision: int, now: datetime
) -> Event:
    team, points = _scorer(game, before, after)
    data = _score_data(
        game,
        home_score=play.home_score,
        away_score=play.away_score,
        period=play.period,
        clock=play.clock,
        scoring_team=team,
        points=points,
        play_id=play.play_id,
        play_text=play.text,
        scoring_type=play.scoring_type,
        play_type=play.type,
    )
    return _score_event(score_key(game.game_id, revision, *after), play.wallclock or now, data)


def _score_from_scoreboard(game: Game, prev: GameMemory, revision: int, now: datetime) -> Event:
    before = (prev.away_score or 0, prev.home_score or 0)
    after = (game.away_score or 0, game.home_score or 0)
    team, points = _scorer(game, before, after)
    data = _score_data(game, scoring_team=team, points=points, play_text=game.last_play_text, play_id=game.last_play_id)
    return _score_event(score_key(game.game_id, revision, *after), now, data)


def _correction(game: Game, prev: GameMemory, revision: int, now: datetime) -> Event:
    data = _score_data(game, correction=True, previous_home_score=prev.home_score, previous_away_score=prev.away_score)
    key = (
        f"correction:{game.game_id}:{revision}:{prev.away_score}-{prev.home_score}>{game.away_score}-{game.home_score}"
    )
    return _score_event(key, now, data)


def _significant_play(game: Game, play: Play, now: datetime) -> Event:
    tags = tuple(play.significance)
    high = TURNOVER_TAGS.intersection(tags) or "safety" in tags or "touchdown" in tags
    data = PlayData(
        game_id=game.game_id,
        home_team=game.home_team,
        away_team=game.away_team,
        play_id=play.play_id,
        play_text=play.text,
        tags=tags,
        home_score=play.home_score,
        away_score=play.away_score,
        period=play.period,
        clock=play.clock,
        team=play.team,
        play_type=play.type,
        yards=play.yards,
    )
    return Event(
        AlertType.SIGNIFICANT_PLAY,
        f"play:{game.game_id}:{play.play_id}",
        Priority.HIGH if high else Priority.MEDIUM,
        play.wallclock or now,
        data,
        game.game_id,
    )


# --- injuries ------------------------------------------------------------------------------


def injury_events(new_injuries: Iterable[Injury], teams_in_play: frozenset[str] | None, now: datetime) -> list[Event]:
    """An `injury` event per newly reported "Out", for teams on the current slate."""
    events = []
    for injury in new_injuries:
        if injury.status.lower() not in ALERT_INJURY_STATUSES:
            continue
        if teams_in_play is not None and injury.team not in teams_in_play:
            continue
        player_key = injury.player_id or injury.player
        day = (injury.reported_at or now).date().isoformat()
        data = InjuryData(
            player=injury.player,
            status=injury.status,
            position=injury.position,
            team=injury.team,
            injury=injury.injury,
            return_date=injury.return_date,
            reported_at=injury.reported_at,
        )
        events.append(
            Event(
                AlertType.INJURY,
                f"injury:{player_key}:{injury.status.lower()}:{day}",
                Priority.MEDIUM,
                now,
                data,
                injury.game_id,
                family=f"injury:{player_key}",
            )
        )
    return events
