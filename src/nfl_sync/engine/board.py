"""What the lanes share: the newest entry of every known game, and each game's newest plays.

Lanes run on threads of their own, so both take a lock and hand out copies: a reader never sees
a half-updated board, and no lane waits on another for longer than a dictionary update.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from nfl_sync.domain.edge import ProbabilityReading
from nfl_sync.domain.models import Game, Play

RECENT_PLAYS_PER_GAME = 64
# A game over this long after its kickoff is forgotten by the lanes: it is long off the scoreboard
# (at least 12 hours after its final, like what `tx.ops.detection_state` reloads at a restart).
FORGET_AFTER = timedelta(hours=24)


def done_with(game: Game, now: datetime) -> bool:
    """Whether nothing about `game` needs remembering any more: over, and kicked off long ago."""
    return game.is_over and game.start_time is not None and now - game.start_time >= FORGET_AFTER


class GameBoard:
    """The newest entry of every game the daemon knows. The scoreboard owns the games it lists;
    the week's schedule only adds the games the scoreboard has not shown."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._games: dict[str, Game] = {}
        self._scheduled: set[str] = set()  # games known only from the schedule
        self._probabilities: dict[str, ProbabilityReading] = {}  # game -> ESPN's freshest win probability

    def update(self, games: Iterable[Game], seen_at: datetime | None = None) -> None:
        """The scoreboard's entries, newest wins; polled at `seen_at`, their win probabilities
        (`situation.lastPlay.probability`) are noted as read then."""
        with self._lock:
            for game in games:
                self._games[game.game_id] = game
                self._scheduled.discard(game.game_id)
                if seen_at is not None and game.home_win_pct is not None:
                    self._note(game.game_id, ProbabilityReading(game.home_win_pct, seen_at, "scoreboard"))

    def note_summary_probability(self, game_id: str, home_win_pct: Decimal | None, at: datetime) -> None:
        """The latest `winprobability` entry of a summary asked for at `at`, unless ESPN's
        scoreboard said something more recently."""
        if home_win_pct is not None:
            with self._lock:
                self._note(game_id, ProbabilityReading(home_win_pct, at, "summary"))

    def _note(self, game_id: str, reading: ProbabilityReading) -> None:
        known = self._probabilities.get(game_id)
        if known is None or reading.at >= known.at:
            self._probabilities[game_id] = reading

    def probability(self, game_id: str) -> ProbabilityReading | None:
        """ESPN's freshest win probability of the game, with when it was read."""
        with self._lock:
            return self._probabilities.get(game_id)

    def schedule(self, games: Iterable[Game]) -> list[Game]:
        """The schedule's entries of the games the scoreboard has not shown; returns them."""
        with self._lock:
            taken = [g for g in games if g.game_id not in self._games or g.game_id in self._scheduled]
            for game in taken:
                self._games[game.game_id] = game
                self._scheduled.add(game.game_id)
            return taken

    def snapshot(self) -> dict[str, Game]:
        with self._lock:
            return dict(self._games)

    def get(self, game_id: str) -> Game | None:
        with self._lock:
            return self._games.get(game_id)

    def forget_done(self, now: datetime) -> list[str]:
        """Drop the games `done_with` at `now`, so a season does not pile up; returns their ids."""
        with self._lock:
            done = [game_id for game_id, game in self._games.items() if done_with(game, now)]
            for game_id in done:
                del self._games[game_id]
                self._scheduled.discard(game_id)
                self._probabilities.pop(game_id, None)
        return done

    def games_by_team(self) -> dict[str, Game]:
        """Each team's next game not over yet (its earliest, should the board hold two)."""
        with self._lock:
            games = [g for g in self._games.values() if not g.is_over]
        games.sort(key=lambda g: g.start_time or datetime.max.replace(tzinfo=UTC), reverse=True)
        return {team: game for game in games for team in (game.home_team, game.away_team)}


class RecentPlays:
    """The newest plays of each game, the context of a market's move."""

    def __init__(self, per_game: int = RECENT_PLAYS_PER_GAME):
        self._lock = threading.Lock()
        self._plays: dict[str, deque[Play]] = defaultdict(lambda: deque(maxlen=per_game))

    def extend(self, game_id: str, plays: Iterable[Play]) -> None:
        with self._lock:
            self._plays[game_id].extend(plays)

    def forget(self, game_ids: Iterable[str]) -> None:
        with self._lock:
            for game_id in game_ids:
                self._plays.pop(game_id, None)

    def of(self, game_id: str) -> list[Play]:
        with self._lock:
            return list(self._plays.get(game_id, ()))
