"""When the lanes poll fast: while a game is live or about to start."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from nfl_sync.config import Settings
from nfl_sync.domain.models import Game, GamePhase, GameState

STARTING_SOON = timedelta(minutes=30)


def is_active(games: Iterable[Game], now: datetime) -> bool:
    """A game is live, or starts within 30 minutes: poll fast. With no game known (the off-season,
    an empty scoreboard) the idle cadence is enough; the first poll of a lane is never delayed."""
    return any(
        game.is_live
        or (
            game.state == GameState.PRE
            and game.phase != GamePhase.POSTPONED  # its kickoff time is the one it will not keep
            and game.start_time is not None
            and game.start_time - now <= STARTING_SOON
        )
        for game in games
    )


def poll_interval(settings: Settings, games: Iterable[Game], now: datetime) -> float:
    """Seconds between polls of the live sources: SYNC_INTERVAL while `is_active`, else
    IDLE_POLL_INTERVAL."""
    return settings.sync_interval if is_active(games, now) else settings.idle_poll_interval
