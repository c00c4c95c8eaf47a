"""The slow steps of a cycle: injuries, weather at kickoff, bookmakers' odds, and health checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from nfl_sync.domain.detection import injury_events
from nfl_sync.domain.models import GameState, Weather
from nfl_sync.engine.games import GameTracker
from nfl_sync.engine.protocols import EventRecorder, Shell
from nfl_sync.engine.report import CycleReport
from nfl_sync.health import run_checks
from nfl_sync.storage.tx import Tx

WEATHER_HORIZON = timedelta(hours=24)


class PeriodicJobs:
    """Steps that run on their own cadences, beside the games and markets."""

    def __init__(
        self,
        shell: Shell,
        *,
        games: GameTracker,
        record_events: EventRecorder,
        last_errors: dict[str, str | None],
        injury_baseline: bool = False,
    ):
        self.settings = shell.settings
        self.clock = shell.clock
        self.db = shell.db
        self.fetcher = shell.fetcher
        self.alerts = shell.alerts
        self.games = games
        self.record_events = record_events
        self.last_errors = last_errors  # step -> error of its latest run, None if it worked
        self.injury_baseline = injury_baseline  # whether any injury list was ever stored

    def sync_injuries(self, report: CycleReport) -> int:
        injuries = self.fetcher.get_injuries()
        now = self.clock.now()
        teams_in_play = self.games.teams_in_play()
        first = not self.injury_baseline

        def write(tx: Tx) -> int:
            new = tx.games.upsert_injuries(injuries, now)
            # The first list ever fetched is the baseline: those reports are not news.
            events = [] if first else injury_events(new, teams_in_play, now)
            self.alerts.record(tx, events, now)
            report.events.extend(events)
            return len(new)

        new_count = self.db.run(write)
        self.injury_baseline = self.injury_baseline or bool(injuries)
        return new_count

    def sync_weather(self, report: CycleReport) -> int:
        now = self.clock.now()
        soon = [
            g
            for g in self.games.games.values()
            if g.state != GameState.POST and g.start_time and g.start_time - now <= WEATHER_HORIZON
        ]
        stored = 0
        for game in soon:
            weather = self.fetcher.get_weather_for_game(game)
            if weather is not None:
                self._store_weather(game.game_id, weather)
                stored += 1
        return stored

    def _store_weather(self, game_id: str, weather: Weather) -> None:
        self.db.run(lambda tx: tx.games.upsert_weather(game_id, weather))

    def sync_odds(self, report: CycleReport) -> int:
        lines = self.fetcher.get_odds(list(self.games.games.values()))
        return self.db.run(lambda tx: tx.games.upsert_odds(lines))

    def health_checks(self, report: CycleReport) -> int:
        """The database, the ESPN and Kalshi steps, the alert channel and the disk."""
        now = self.clock.now()
        checks: dict[str, Callable[[], None]] = {"database": self._ping}
        checks.update(
            {source: self._step_check(step) for source, step in (("espn", "scoreboard"), ("kalshi", "kalshi"))}
        )
        checks.update(self.alerts.health_checks())
        paths = [p for p in (self.settings.log_dir, self.settings.database.embedded_dir) if Path(p).exists()]
        events = run_checks(checks, paths, now)
        self.record_events(events)
        return len(events)

    def _ping(self) -> None:
        self.db.ping()

    def _step_check(self, step: str) -> Callable[[], None]:
        """A health check that fails while the latest run of `step` failed."""

        def check() -> None:
            error = self.last_errors.get(step)
            if error:
                raise RuntimeError(error)

        return check
