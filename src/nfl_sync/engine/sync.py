"""NFLRealtimeSync: the lanes that turn ESPN and Kalshi polls into stored data and alerts.

The scoreboard lane is the fast lane: one poll gives the score, final, turnover and big-play
alerts, handed to the sender before anything else runs. The play-by-play lane fetches the
summaries of the games that changed and alerts what happened between polls; the Kalshi,
injury, weather, odds, schedule and health lanes each run on their own cadence.

The live daemon runs every lane on a thread of its own (`start`), so nothing slow or dead delays
anything else. Tests, `--once` and replays run one lane after the other (`run_cycle`,
`run_forever`), which any clock can drive, a simulated one included.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime

from nfl_sync.clock import Clock
from nfl_sync.config import Settings
from nfl_sync.engine.board import GameBoard, RecentPlays
from nfl_sync.engine.injuries import InjuryLane
from nfl_sync.engine.lanes import FetchThreads, Lane, LaneThreads, StepRunner
from nfl_sync.engine.markets import MarketLane
from nfl_sync.engine.opportunities import OpportunitiesLane
from nfl_sync.engine.periodic import HealthLane, OddsLane, RetentionLane, ScheduleLane, WeatherLane
from nfl_sync.engine.plays import PlayByPlayLane
from nfl_sync.engine.protocols import AlertSink, GameSource, MarketSource
from nfl_sync.engine.report import CycleReport
from nfl_sync.engine.scoreboard import ScoreboardLane
from nfl_sync.engine.shell import Shell
from nfl_sync.health import HealthMonitor
from nfl_sync.metrics import Metrics
from nfl_sync.sources.recorder import ResponseRecorder
from nfl_sync.storage.manager import NFLDBManager

log = logging.getLogger(__name__)


class NFLRealtimeSync:
    """The sync engine. Build it with `app.build_sync()`; drive it with `run_cycle()`,
    `run_forever()` or, live, `start()`."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock,
        db: NFLDBManager,
        fetcher: GameSource,
        kalshi: MarketSource,
        alerts: AlertSink,
        metrics: Metrics,
        health: HealthMonitor | None = None,
        recorder: ResponseRecorder | None = None,
    ):
        self.settings = settings
        self.clock = clock
        self.db = db
        self.fetcher = fetcher
        self.kalshi = kalshi
        self.alerts = alerts
        self.metrics = metrics
        self.health = health or HealthMonitor()
        self.recorder = recorder  # --record: the sources' responses, closed after them
        self.cycles = 0
        self._stop = threading.Event()
        self._threads: LaneThreads | None = None
        self._loop: threading.Thread | None = None
        # The play-by-play fetches, and the Kalshi fetch started beside them in a sequential cycle.
        self._pool = FetchThreads()
        shell = Shell(settings, clock, db, fetcher, kalshi, alerts, metrics, self.health)
        self.runner = StepRunner(shell)
        self.board = GameBoard()
        self.recent = RecentPlays()
        self.markets = MarketLane(shell, board=self.board, recent_plays=self.recent.of, runner=self.runner)
        self.scoreboard = ScoreboardLane(
            shell, self.board, self.runner, lambda game, first: self.plays.request(game, first)
        )
        self.plays = PlayByPlayLane(
            shell,
            board=self.board,
            scores=self.scoreboard.memory.get,
            recent=self.recent,
            pool=self._pool,
            runner=self.runner,
            on_significant=self.markets.schedule_correlation,
        )
        self.injuries = InjuryLane(shell, self.board)
        self.opportunities = OpportunitiesLane(shell, self.board)
        # The order of a sequential cycle: what alerts fastest first, then what it feeds.
        self.lanes: tuple[Lane, ...] = (
            ScheduleLane(shell, self.board),
            self.scoreboard,
            self.plays,
            self.markets,
            self.opportunities,
            self.injuries,
            WeatherLane(shell, self.board),
            OddsLane(shell, self.board),
            HealthLane(shell, self.runner),
            RetentionLane(shell),
        )

    # --- lifecycle -----------------------------------------------------------------------------
    def restore_state(self) -> None:
        """Load what detection knew before a restart, so nothing is alerted twice or missed."""
        state, prices = self.db.run(lambda tx: (tx.ops.detection_state(), tx.markets.latest_prices()))
        self.scoreboard.restore(state["games"], self.clock.now())
        self.plays.restore(state["games"])
        self.markets.restore(prices)
        self.injuries.baseline = state["injuries_known"]
        log.info(
            "Restored state: %d games, %d markets, %d market reactions still to measure",
            len(self.scoreboard.memory),
            len(self.markets.last_prices),
            len(self.markets.pending_correlations),
        )

    def start(self, lanes_on_threads: bool = True) -> NFLRealtimeSync:
        """Run until `stop()`: every lane on a thread of its own (the live daemon; lane threads
        wait in real seconds, so this needs the real clock), or with `lanes_on_threads=False`
        the sequential cycles of `run_forever` on one thread (any clock, a simulated one too)."""
        if lanes_on_threads:
            self.plays.wait_for_fetches = False  # a finished fetch wakes the lane instead
            self._threads = LaneThreads(self.lanes, self.runner, self._live_games)
            # The sender delivers what an earlier run left pending; after that it wakes on new events.
            self.alerts.wake()
            self._threads.start()
        else:
            self._loop = threading.Thread(target=self.run_forever, name="sync-loop", daemon=True)
            self._loop.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._threads is not None:
            self._threads.stop()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def join(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for the lanes (or the loop) to finish; True when they did."""
        if self._threads is not None:
            return self._threads.join(timeout)
        if self._loop is not None:
            self._loop.join(timeout)
            return not self._loop.is_alive()
        return True

    def caught_up(self, game_ids: Iterable[str] = ()) -> bool:
        """Every summary asked for fetched, every market reaction measured, every final's
        opportunities refreshed, and the given games final (what a replay waits for before its
        report)."""
        games = self.board.snapshot()
        final = all(game_id in games and games[game_id].is_over for game_id in game_ids)
        waiting = self.plays.pending() or self.markets.pending() or self.opportunities.pending()
        return final and not waiting

    def wait_for_stop(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for `stop()`; True once it was called."""
        return self._stop.wait(timeout)

    def dead_lanes(self) -> list[str]:
        """Lane threads that ended although nobody stopped them (a bug that escaped the step)."""
        return self._threads.dead() if self._threads is not None and not self.stopping else []

    def busy_lanes(self) -> list[str]:
        """The lane threads still running a step (after `stop`, the ones a hung host holds)."""
        return self._threads.alive() if self._threads is not None else []

    # --- sequential cycles (tests, --once, replays) ----------------------------------------------
    def run_forever(self, until: Callable[[], bool] | None = None, idle: Callable[[], None] | None = None) -> None:
        """Cycles on a monotonic schedule without drift; an overrun starts the next cycle at once.

        `idle` is called between cycles, once the wait for the next one is over; it may move a
        simulated clock forward (a replay skipping the hours between two games), and the
        schedule goes on from the new time."""
        interval = self.settings.sync_interval
        deadline = self.clock.monotonic()
        while not self._stop.is_set():
            started = self.clock.monotonic()
            self.run_cycle()
            if until is not None and until():
                break
            elapsed = self.clock.monotonic() - started
            deadline += interval
            now = self.clock.monotonic()
            if now > deadline:
                if elapsed > interval:
                    log.warning("Sync cycle took %.2f s, longer than the %.1f s interval", elapsed, interval)
                deadline = now
            else:
                self._sleep_until(deadline)
            if idle is not None:
                idle()
                deadline = max(deadline, self.clock.monotonic())

    def _sleep_until(self, deadline: float) -> None:
        # Short steps keep shutdown prompt with any clock (a simulated one advances per step).
        while not self._stop.is_set():
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                return
            self.clock.sleep(min(remaining, 0.25))

    def run_cycle(self) -> CycleReport:
        """Every lane that is due, one after the other: the cadences are judged at the cycle's
        start, the play-by-play after the scoreboard (with the summaries it just asked for)."""
        now = self.clock.now()
        tick = self.clock.monotonic()
        report = CycleReport(started=now)
        due = {lane for lane in self.lanes if lane is not self.plays and _is_due(lane, tick, now)}
        if self.markets in due:
            # Kalshi answers while the games are polled; the prices are used after, so a game first
            # seen in this cycle gets its markets and a play of this cycle its correlation.
            self.markets.prefetched = self._pool.submit(self.markets.fetch)
        for lane in self.lanes:
            if lane not in due and not (lane is self.plays and _is_due(lane, self.clock.monotonic(), now)):
                continue
            lane.last_run = tick
            self.runner.run(lane, report, started=now if lane is self.markets else None)
        self.runner.log_syncs(report)
        # The first cycle starts the sender, which delivers what an earlier run left pending; after
        # that it wakes on new events, and on its own for retries and rested channels.
        if report.events or self.cycles == 0:
            self.alerts.wake()
        self.cycles += 1
        self.runner.summarise(report, self._live_games)
        return report

    def _live_games(self) -> int:
        return sum(1 for game in self.board.snapshot().values() if game.is_live)


def _is_due(lane: Lane, tick: float, now: datetime) -> bool:
    wait = lane.wait_time(tick, now)
    return wait is not None and wait <= 0
