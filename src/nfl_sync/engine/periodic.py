"""The slow lanes: the week's schedule, weather at kickoff, bookmakers' odds, health checks, and
the retention of the tables that grow with every cycle.

Each runs on its own cadence; a weather or odds host that is down or hangs delays only its lane.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from nfl_sync.domain.calendar import schedule_dates
from nfl_sync.domain.models import Game, GameState, Weather
from nfl_sync.engine.board import GameBoard
from nfl_sync.engine.lanes import Lane, StepRunner
from nfl_sync.engine.report import CycleReport
from nfl_sync.engine.shell import Shell
from nfl_sync.health import run_checks
from nfl_sync.storage.tx import Tx

WEATHER_HORIZON = timedelta(hours=24)
# Retention: rows deleted per statement, and statements per table and run (the rest waits an hour).
PRUNE_BATCH = 5_000
PRUNE_BATCHES_PER_RUN = 20
# Candles are rolled up in windows of this width, a few per run (a first run catches up in steps).
ROLLUP_WINDOW = timedelta(hours=6)
ROLLUP_WINDOWS_PER_RUN = 8
# Minutes already rolled up are rolled up again this far back: snapshots written late (after a
# database outage) join their candles.
ROLLUP_LOOKBACK = timedelta(hours=1)


class ScheduleLane(Lane):
    """The week ahead, hourly: the games not on today's scoreboard become known and are stored."""

    name = "schedule"

    def __init__(self, shell: Shell, board: GameBoard):
        super().__init__(shell)
        self.board = board
        self.stored: dict[str, Game] = {}

    def interval(self, now: datetime) -> float:
        return self.shell.settings.schedule_interval

    def step(self, report: CycleReport) -> int:
        games = self.shell.fetcher.get_schedule(schedule_dates(self.shell.clock.now()))
        # Today's games belong to the scoreboard lane: the schedule keeps to the others.
        changed = [g for g in self.board.schedule(games) if self.stored.get(g.game_id) != g]
        if changed:
            self.shell.db.run(lambda tx: tx.games.upsert_games(changed))
            self.stored.update({g.game_id: g for g in changed})
        return len(games)


class WeatherLane(Lane):
    """Forecasts at kickoff for the games of the next 24 hours."""

    name = "weather"

    def __init__(self, shell: Shell, board: GameBoard):
        super().__init__(shell)
        self.board = board

    def interval(self, now: datetime) -> float | None:
        # Until a game is known there is nothing to forecast: the first step waits for one, rather
        # than finding none at start-up and waiting the whole cadence.
        if not self.board.snapshot():
            return None
        return self.shell.settings.weather_interval or None

    def step(self, report: CycleReport) -> int:
        now = self.shell.clock.now()
        soon = [
            g
            for g in self.board.snapshot().values()
            if g.state != GameState.POST and g.start_time and g.start_time - now <= WEATHER_HORIZON
        ]
        stored = 0
        for game in soon:
            weather = self.shell.fetcher.get_weather_for_game(game)
            if weather is not None:
                self._store(game.game_id, weather)
                stored += 1
        return stored

    def _store(self, game_id: str, weather: Weather) -> None:
        self.shell.db.run(lambda tx: tx.games.upsert_weather(game_id, weather))


class OddsLane(Lane):
    """Every bookmaker's lines, hourly, when an ODDS_API_KEY is set."""

    name = "odds"

    def __init__(self, shell: Shell, board: GameBoard):
        super().__init__(shell)
        self.board = board

    def interval(self, now: datetime) -> float | None:
        settings = self.shell.settings
        return settings.schedule_interval if settings.odds_api_key else None

    def step(self, report: CycleReport) -> int:
        lines = self.shell.fetcher.get_odds(list(self.board.snapshot().values()))
        now = self.shell.clock.now()
        return self.shell.db.run(lambda tx: tx.games.upsert_odds(lines, now))


class HealthLane(Lane):
    """The database, the scoreboard and Kalshi lanes, the alert channel and the disk, each minute."""

    name = "health"
    throttled_by_errors = False

    def __init__(self, shell: Shell, runner: StepRunner):
        super().__init__(shell)
        self.runner = runner

    def interval(self, now: datetime) -> float:
        return self.shell.settings.health_interval

    def step(self, report: CycleReport) -> int:
        shell = self.shell
        checks: dict[str, Callable[[], None]] = {"database": self._ping}
        checks.update(
            {source: self._lane_check(lane) for source, lane in (("espn", "scoreboard"), ("kalshi", "kalshi"))}
        )
        checks.update(shell.alerts.health_checks())
        paths = [p for p in (shell.settings.log_dir, shell.settings.database.embedded_dir) if Path(p).exists()]
        events = run_checks(checks, paths, shell.clock.now())
        self.runner.record_events(events)
        return len(events)

    def _ping(self) -> None:
        self.shell.db.ping()

    def _lane_check(self, lane: str) -> Callable[[], None]:
        """A health check that fails while the latest step of `lane` failed."""

        def check() -> None:
            error = self.runner.last_errors.get(lane)
            if error:
                raise RuntimeError(error)

        return check


class RetentionLane(Lane):
    """Hourly, off the fast path: price snapshots rolled up into 1-minute candles (kept for
    ever), then snapshots older than PRICE_RETENTION_DAYS and sync log rows older than
    SYNC_LOG_RETENTION_DAYS deleted in small batches, each its own short transaction. A snapshot
    is deleted only once its minute is rolled up. The clock decides what is old (replays too)."""

    name = "retention"

    def interval(self, now: datetime) -> float:
        return self.shell.settings.retention_interval

    def step(self, report: CycleReport) -> int:
        settings = self.shell.settings
        now = self.shell.clock.now()
        candles, rolled_until = self._roll_up(now)
        pruned = 0
        if settings.price_retention_days and rolled_until is not None:
            before = min(now - timedelta(days=settings.price_retention_days), rolled_until)
            pruned += self._prune(lambda tx, limit: tx.markets.prune_prices(before, limit))
        if settings.sync_log_retention_days:
            before = now - timedelta(days=settings.sync_log_retention_days)
            pruned += self._prune(lambda tx, limit: tx.ops.prune_sync_log(before, limit))
        return candles + pruned

    def _roll_up(self, now: datetime) -> tuple[int, datetime | None]:
        """Roll the snapshots up to the last complete minute, ROLLUP_WINDOW at a time (at most
        ROLLUP_WINDOWS_PER_RUN), each window starting at the next snapshot (a week without a game
        is skipped, not walked through). Returns the candles written and the moment every
        snapshot before is rolled up (None when there is no snapshot)."""
        db = self.shell.db
        until = now.replace(second=0, microsecond=0)
        start = db.run(lambda tx: tx.markets.candles_from(ROLLUP_LOOKBACK))
        if start is None:
            return 0, None
        written = 0
        for _ in range(ROLLUP_WINDOWS_PER_RUN):
            if start is None or start >= until:
                break
            end = min(start + ROLLUP_WINDOW, until)
            written += self._roll_up_window(start, end)
            start = self._next_snapshot(end)
        # Nothing between a window's end and the next snapshot: all before `start` is rolled up.
        return written, until if start is None else min(start, until)

    def _next_snapshot(self, at: datetime) -> datetime | None:
        return self.shell.db.run(lambda tx: tx.markets.snapshots_from(at))

    def _roll_up_window(self, since: datetime, until: datetime) -> int:
        return self.shell.db.run(lambda tx: tx.markets.roll_up_candles(since, until))

    def _prune(self, delete: Callable[[Tx, int], int]) -> int:
        deleted = 0
        for _ in range(PRUNE_BATCHES_PER_RUN):
            batch = self.shell.db.run(lambda tx: delete(tx, PRUNE_BATCH))
            deleted += batch
            if batch < PRUNE_BATCH:
                break
        return deleted
