"""Pure detection on the scoreboard: (what we knew of a game, its new scoreboard entry) -> events.

This is the fast lane's detection: a score change, a correction, the final whistle, and a
turnover, safety or long gain that the scoreboard's last play shows, all from one poll and
without waiting for the game's play-by-play (`play_detection.py` catches what the last play
cannot show). Injury news is in `injuries.py`. Nothing here does I/O or reads a clock: the loop passes
`now`. Every event carries the key that makes it alert at most once, whichever lane sees it
first, so the same detection run twice (a restart, a repeated response) yields the same keys and
the outbox drops the repeats.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from nfl_sync.domain.events import AlertType, Event, PlayData, Priority, ScoreData
from nfl_sync.domain.models import (
    FINAL_PHASES,
    INTERRUPTED_PHASES,
    Game,
    GamePhase,
    GameState,
    Play,
    PlayIdentity,
)
from nfl_sync.domain.play_classifier import with_significance

# Tags of plays that deserve their own alert; scores are alerted as `score` events.
ALERT_TAGS = frozenset({"interception", "fumble_lost", "turnover_on_downs", "safety", "big_play"})
TURNOVER_TAGS = frozenset({"interception", "fumble_lost", "turnover_on_downs"})


@dataclass(frozen=True)
class ScoreMemory:
    """What the scoreboard lane remembers about one game between polls (restored from the database)."""

    game_id: str
    home_team: str
    away_team: str
    home_score: int | None
    away_score: int | None
    state: GameState
    phase: GamePhase
    first_seen: datetime  # when the daemon first saw the game: what happened before is history
    last_play_id: str | None = None
    last_play_identity: PlayIdentity | None = None  # the same play renumbered is no news (`last_play_identity`)
    alerted_total: int = 0  # points total of the newest score already alerted (or baselined)
    revision: int = 0  # corrections so far; part of score keys so a re-scored total alerts again
    pending_lower: tuple[int, int] | None = None  # a lower (away, home) score seen once, unconfirmed
    baseline_total: int = 0  # points total at first sight: earlier scores are history


@dataclass(frozen=True)
class ScoreUpdate:
    events: tuple[Event, ...]
    memory: ScoreMemory
    needs_summary: bool  # the play-by-play has news: fetch the game's summary


def total(home: int | None, away: int | None) -> int:
    return (home or 0) + (away or 0)


def known_scores(away: int | None, home: int | None) -> tuple[int, int] | None:
    """(away, home) when both scores are known."""
    return None if away is None or home is None else (away, home)


def score_key(game_id: str, revision: int, away: int | None, home: int | None) -> str:
    return f"score:{game_id}:{revision}:{away or 0}-{home or 0}"


def play_key(game_id: str, play_id: str) -> str:
    return f"play:{game_id}:{play_id}"


def last_play_identity(play: Play) -> PlayIdentity:
    """A last play's identity without its clock: the scoreboard shows the game's clock with it,
    which runs on after the play."""
    period, _, kind, text = play.identity
    return (period, None, kind, text)


def baseline(game: Game, now: datetime) -> ScoreMemory:
    """Knowledge of a game first seen now: everything already happened is history, not news."""
    points = total(game.home_score, game.away_score)
    return ScoreMemory(
        game_id=game.game_id,
        home_team=game.home_team,
        away_team=game.away_team,
        home_score=game.home_score,
        away_score=game.away_score,
        state=game.state,
        phase=game.phase,
        first_seen=now,
        last_play_id=game.last_play_id,
        last_play_identity=last_play_identity(game.last_play) if game.last_play is not None else None,
        alerted_total=points,
        baseline_total=points,
    )


def detect_scoreboard(prev: ScoreMemory | None, game: Game, now: datetime, big_play_yards: int = 20) -> ScoreUpdate:
    """Compare a game's new scoreboard entry with what we knew.

    Yields a `score` event when the total rises (saying who scored and how when the last play
    explains the change, the plain change when it does not), a correction when a lower score is
    seen on two polls in a row, a final-score event, and a `significant_play` event when the
    last play is a turnover, a safety or a long gain. `needs_summary` says whether the game's
    play-by-play has news: first sight of a started game, a score, a state or a last play that
    changed.
    """
    if prev is None:
        return ScoreUpdate((), baseline(game, now), game.state != GameState.PRE)
    events: list[Event] = []
    revision = prev.revision
    alerted_total = prev.alerted_total
    new_total = total(game.home_score, game.away_score)
    prev_total = total(prev.home_score, prev.away_score)
    scores = known_scores(game.away_score, game.home_score)

    pending_lower = None
    if scores is not None and new_total < prev_total:
        if prev.pending_lower == scores:
            revision += 1
            alerted_total = new_total
            events.append(_correction(game, prev, revision, now))
        else:
            # One stale response (a CDN cache) must not retract a score: wait for a second poll
            # and keep the scores we had meanwhile.
            pending_lower = scores
            scores = None
            game = replace(game, home_score=prev.home_score, away_score=prev.away_score)

    if scores is not None and new_total > alerted_total:
        events.append(_score_from_scoreboard(game, prev, revision, now))
        alerted_total = new_total

    last = game.last_play
    if last is not None and last.play_id != prev.last_play_id and last_play_identity(last) != prev.last_play_identity:
        # Classified by the points ESPN gives the play itself (scoreValue): between two polls the
        # score may have moved on other plays too.
        play = with_significance([last], None, big_play_yards)[0]
        if ALERT_TAGS.intersection(play.significance):
            events.append(significant_play_event(game, play, now))

    final = prev.phase in FINAL_PHASES
    if game.is_final and not final:
        events.append(_score_event(f"final:{game.game_id}", now, _score_data(game, final=True, status=game.phase)))
    elif not final:
        events.extend(_status_change(prev, game, now))

    changed = (
        (game.home_score, game.away_score) != (prev.home_score, prev.away_score)
        or game.phase != prev.phase
        or (game.last_play_id is not None and game.last_play_id != prev.last_play_id)
    )
    memory = replace(
        prev,
        home_score=game.home_score if game.home_score is not None else prev.home_score,
        away_score=game.away_score if game.away_score is not None else prev.away_score,
        # A final stays final: a stale response must not revive a game (a canceled one may resume).
        state=prev.state if final else game.state,
        phase=prev.phase if final else game.phase,
        last_play_id=game.last_play_id or prev.last_play_id,
        last_play_identity=last_play_identity(last) if last is not None else prev.last_play_identity,
        alerted_total=alerted_total,
        revision=revision,
        pending_lower=pending_lower,
    )
    return ScoreUpdate(tuple(events), memory, changed and game.state != GameState.PRE)


def _status_change(prev: ScoreMemory, game: Game, now: datetime) -> list[Event]:
    """A game stopped short (suspended, postponed, canceled) and a stopped game that resumed:
    each is news of its own, never a final."""
    if game.phase == prev.phase:
        return []
    if game.phase in INTERRUPTED_PHASES:
        status = game.phase.value
    elif prev.phase in INTERRUPTED_PHASES and game.state == GameState.IN:
        status = "resumed"
    else:
        return []
    key = f"status:{game.game_id}:{status}:{game.period or 0}"
    return [_score_event(key, now, _score_data(game, status=status))]


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


def scorer(game: Game, before: tuple[int, int], after: tuple[int, int]) -> tuple[str | None, int]:
    """Which team scored and how many points, from (away, home) scores before and after."""
    away_delta, home_delta = after[0] - before[0], after[1] - before[1]
    if home_delta > 0 and away_delta <= 0:
        return game.home_team, home_delta
    if away_delta > 0 and home_delta <= 0:
        return game.away_team, away_delta
    return None, away_delta + home_delta


def score_from_play(
    game: Game, play: Play, before: tuple[int, int], after: tuple[int, int], revision: int, now: datetime
) -> Event:
    """The score event of a scoring play of the play-by-play."""
    team, points = scorer(game, before, after)
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


def _score_from_scoreboard(game: Game, prev: ScoreMemory, revision: int, now: datetime) -> Event:
    before = (prev.away_score or 0, prev.home_score or 0)
    after = (game.away_score or 0, game.home_score or 0)
    team, points = scorer(game, before, after)
    how: dict[str, Any] = {}
    last = game.last_play
    if last is not None and team is not None and last.score_value == points:
        # The last play scored exactly the points the scoreboard moved by: it says how.
        how = {
            "play_id": last.play_id,
            "play_text": last.text,
            "scoring_type": last.scoring_type,
            "play_type": last.type,
        }
    data = _score_data(game, scoring_team=team, points=points, **how)
    return _score_event(score_key(game.game_id, revision, *after), now, data)


def _correction(game: Game, prev: ScoreMemory, revision: int, now: datetime) -> Event:
    data = _score_data(game, correction=True, previous_home_score=prev.home_score, previous_away_score=prev.away_score)
    key = (
        f"correction:{game.game_id}:{revision}:{prev.away_score}-{prev.home_score}>{game.away_score}-{game.home_score}"
    )
    return _score_event(key, now, data)


def _play_data(game: Game, play: Play, **changes: Any) -> PlayData:
    values: dict[str, Any] = {
        "game_id": game.game_id,
        "home_team": game.home_team,
        "away_team": game.away_team,
        "play_id": play.play_id,
        "play_text": play.text,
        "tags": tuple(play.significance),
        "home_score": play.home_score,
        "away_score": play.away_score,
        "period": play.period,
        "clock": play.clock,
        "team": play.team,
        "play_type": play.type,
        "yards": play.yards,
    }
    values.update(changes)
    return PlayData(**values)


def significant_play_event(game: Game, play: Play, now: datetime) -> Event:
    """The `significant_play` event of a turnover, safety or long gain (keyed by the play's id,
    whichever lane saw it first)."""
    tags = tuple(play.significance)
    high = TURNOVER_TAGS.intersection(tags) or "safety" in tags or "touchdown" in tags
    return Event(
        AlertType.SIGNIFICANT_PLAY,
        play_key(game.game_id, play.play_id),
        Priority.HIGH if high else Priority.MEDIUM,
        play.wallclock or now,
        _play_data(game, play),
        game.game_id,
    )


def reversed_play_event(game: Game, alerted: Play, now: datetime) -> Event:
    """The correction of a turnover alerted as `alerted` that ESPN took back (the play dropped,
    or no longer a turnover), with the game's score now."""
    data = _play_data(game, alerted, home_score=game.home_score, away_score=game.away_score, correction=True)
    key = f"correction:{play_key(game.game_id, alerted.play_id)}"
    return Event(AlertType.SIGNIFICANT_PLAY, key, Priority.HIGH, now, data, game.game_id)
