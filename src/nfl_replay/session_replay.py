"""`--replay DIR` of a recorded live session, with finished summaries mixed in if given.

`SessionReplayEnvironment` has the face of `runner.ReplayEnvironment` (a simulated clock, the
daemon's settings, `game_ids`, `finished`), so `run_replay` drives either the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from nfl_replay.clock import SimulatedClock
from nfl_replay.environment import PREGAME, nothing_waiting, replay_settings
from nfl_replay.session import RecordedSession, SessionServer, recorded_sources
from nfl_replay.timeline import GameTimeline
from nfl_sync.config import Settings

if TYPE_CHECKING:
    from nfl_sync.engine.sync import NFLRealtimeSync

# After the last recorded response (or game), the daemon has this long to finish what it saw.
GRACE = timedelta(minutes=2)


@dataclass
class SessionReplayEnvironment:
    """The recordings in `folders` (and the `games` of finished summaries) served on one
    simulated clock (speed None = max), which starts at the first recorded arrival: the daemon's
    first poll gets the first answer it got live."""

    folders: Sequence[Path]
    games: Sequence[GameTimeline] = ()
    speed: float | None = None

    def __post_init__(self) -> None:
        self.session = RecordedSession.load(self.folders)
        start, end = self.session.first, self.session.last
        if self.games:
            start = min(start, *(game.kickoff - PREGAME for game in self.games))
            end = max(end, *(game.end for game in self.games))
        self.end = end + GRACE
        self.clock = SimulatedClock(start, self.speed)
        self.server = SessionServer(self.session, self.clock, self.games)
        # Kalshi is served from the recording alone: its games' prices are the market's own.
        self.real_price_games: frozenset[str] = frozenset(self.session.game_ids)

    def __enter__(self) -> SessionReplayEnvironment:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    @property
    def game_ids(self) -> list[str]:
        """The games that were under way in the recording, and the summaries' games."""
        return sorted(self.session.game_ids | {game.game_id for game in self.games})

    def describe(self) -> str:
        return (
            f"{self.session.responses} recorded responses from {self.session.first:%Y-%m-%d %H:%M} "
            f"to {self.session.last:%Y-%m-%d %H:%M} UTC ({len(self.session.game_ids)} game(s) under way)"
            + (f" and {len(self.games)} finished game(s)" if self.games else "")
        )

    def settings(self, base: Settings) -> Settings:
        return replay_settings(base, **recorded_sources(self.server))

    def skip_idle_time(self, sync: NFLRealtimeSync) -> None:
        """Between cycles: when no game is on and nothing is waiting, move the clock to the next
        recorded response (nothing served changes before it) or the next summary's kickoff, so a
        recording of days (or one beside summaries of another season) replays in game time."""
        if any(game.is_live for game in sync.board.snapshot().values()) or not nothing_waiting(sync):
            return
        now = self.clock.now()
        upcoming = [game.kickoff - PREGAME for game in self.games if game.kickoff - PREGAME > now]
        arrival = self.session.next_arrival(now)
        resume = min([*upcoming, *([arrival] if arrival is not None else [])], default=None)
        if resume is not None and (resume - now).total_seconds() > sync.settings.sync_interval:
            self.clock.set(resume)

    def replay(self, sync: NFLRealtimeSync) -> None:
        """Run the daemon's cycles until the replay is over, skipping idle time."""
        sync.run_forever(until=lambda: self.finished(sync), idle=lambda: self.skip_idle_time(sync))

    def finished(self, sync) -> bool:
        """Every game final in the daemon with its summaries and reactions done, or the recording
        over for `GRACE`; and either way the outbox drained."""
        over = self.clock.now() >= self.end or sync.caught_up(self.game_ids)
        return over and sync.alerts.pending_count() == 0
