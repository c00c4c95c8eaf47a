"""NFLRealtimeSync: the loop that turns ESPN and Kalshi polls into stored data and alerts.

One cycle: schedule -> Kalshi fetch started beside the games step -> scoreboard, play-by-play of
the games that changed, one transaction per game (`GameTracker`) -> Kalshi prices, spikes and
market reactions (`MarketTracker`) -> injuries, weather, odds and health checks on their own
cadences (`PeriodicJobs`) -> the sender thread delivers the outbox.

Every step fails alone: a step that raises is logged, counted and recorded in nfl_data_sync_log,
and the other steps go on. Detection is pure (`nfl_sync.domain`); this package is the shell that
feeds it and persists its results.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from nfl_sync.clock import Clock
from nfl_sync.config import Settings
from nfl_sync.domain.errors import DatabaseError, KalshiFormatError, SourceError
from nfl_sync.domain.events import Event, system_event
from nfl_sync.engine.games import GameTracker
from nfl_sync.engine.markets import MarketTracker
from nfl_sync.engine.periodic import PeriodicJobs
from nfl_sync.engine.protocols import AlertSink, FetchedMarkets, GameSource, MarketSource, Shell
from nfl_sync.engine.report import CycleReport
from nfl_sync.engine.scheduling import Cadences, is_active
from nfl_sync.health import HealthMonitor
from nfl_sync.metrics import Metrics
from nfl_sync.storage.manager import NFLDBManager

log = logging.getLogger(__name__)

SUMMARY_EVERY = 60.0
_TOTALS = ("plays_stored", "snapshots", "correlations", "pbp_fetched")


class NFLRealtimeSync:
    """The sync engine. Build it with `app.build_sync()`; drive it with `run_cycle()` or `start()`."""

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
    ):
        self.settings = settings
        self.clock = clock
        self.db = db
        self.fetcher = fetcher
        self.kalshi = kalshi
        self.alerts = alerts
        self.metrics = metrics
        self.health = health or HealthMonitor()
        self.cadences = Cadences(clock.monotonic())
        self.last_errors: dict[str, str | None] = {}  # step -> error of its latest run, None if it worked
        self.cycles = 0
        self.totals: dict[str, int] = defaultdict(int)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The play-by-play fetches, and the Kalshi fetch beside them.
        self._pool = ThreadPoolExecutor(max_workers=settings.pbp_workers + 1, thread_name_prefix="fetch")
        self._last_summary = time.monotonic()
        shell = Shell(settings, clock, db, fetcher, kalshi, alerts, metrics, self.health)
        # The market tracker asks the game tracker for games and plays only when it runs.
        self.market_tracker = MarketTracker(
            shell,
            games=lambda: self.game_tracker.games,
            recent_plays=lambda game_id: self.game_tracker.recent_plays.get(game_id, ()),
        )
        self.game_tracker = GameTracker(
            shell,
            pool=self._pool,
            record_events=self.record_events,
            on_significant=self.market_tracker.schedule_correlation,
        )
        self.jobs = PeriodicJobs(
            shell, games=self.game_tracker, record_events=self.record_events, last_errors=self.last_errors
        )

    # --- lifecycle -----------------------------------------------------------------------------
    def restore_state(self) -> None:
        """Load what detection knew before a restart, so nothing is alerted twice or missed."""
        state, prices = self.db.run(lambda tx: (tx.ops.detection_state(), tx.markets.latest_prices()))
        self.game_tracker.restore(state["games"])
        self.market_tracker.restore(prices)
        self.jobs.injury_baseline = state["injuries_known"]
        log.info(
            "Restored state: %d games, %d markets, %d market reactions still to measure",
            len(self.game_tracker.states),
            len(self.market_tracker.last_prices),
            len(self.market_tracker.pending_correlations),
        )

    def start(self) -> NFLRealtimeSync:
        """Run cycles in a background thread until `stop()`."""
        self._thread = threading.Thread(target=self.run_forever, name="sync-loop", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def run_forever(self, until: Callable[[], bool] | None = None) -> None:
        """Cycles on a monotonic schedule without drift; an overrun starts the next cycle at once."""
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
                    self.metrics.cycle_overruns.inc()
                deadline = now
                continue
            self._sleep_until(deadline)

    def _sleep_until(self, deadline: float) -> None:
        # Short steps keep shutdown prompt with any clock (a simulated one advances per step).
        while not self._stop.is_set():
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                return
            self.clock.sleep(min(remaining, 0.25))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # --- one cycle ----------------------------------------------------------------------------
    def run_cycle(self) -> CycleReport:
        started_mono = time.perf_counter()
        now = self.clock.now()
        self.cadences.tick = self.clock.monotonic()  # every cadence of this cycle is judged at its start
        report = CycleReport(started=now)
        active = is_active(self.game_tracker.games.values(), now)
        fast = self.settings.sync_interval
        slow = self.settings.idle_poll_interval
        settings = self.settings
        if self._due("schedule", settings.schedule_interval):
            self._step(report, "schedule", self.game_tracker.sync_schedule)
        prices: Future[FetchedMarkets] | None = None
        asked = now
        if self._due("kalshi", fast if active else slow, throttle_source="kalshi"):
            # Kalshi is asked first and answers while the games step works; its markets are mapped
            # and used after that step, which updates the games and schedules the correlations.
            asked = self.clock.now()
            prices = self._pool.submit(self.market_tracker.fetch)
        if self._due("scoreboard", fast if active else slow, throttle_source="espn"):
            self._step(report, "scoreboard", self.game_tracker.sync_scoreboard)
        if prices is not None:
            fetched = prices
            self._step(report, "kalshi", lambda r: self.market_tracker.sync(r, fetched.result()), started=asked)
        if settings.injury_interval and self._due("injuries", settings.injury_interval, throttle_source="espn"):
            self._step(report, "injuries", self.jobs.sync_injuries)
        if settings.weather_interval and self._due("weather", settings.weather_interval):
            self._step(report, "weather", self.jobs.sync_weather)
        if settings.odds_api_key and self._due("odds", settings.schedule_interval):
            self._step(report, "odds", self.jobs.sync_odds)
        if self._due("health", settings.health_interval):
            self._step(report, "health", self.jobs.health_checks)
        self._log_syncs(report)
        self.record_events(self.health.record_cycle(report.ok, report.started, report.failures))
        # The first cycle starts the sender, which delivers what an earlier run left pending; after
        # that it wakes on new events, and on its own for retries and rested channels.
        if report.events or self.cycles == 0:
            self.alerts.wake()
        self.metrics.cycle_duration.observe(time.perf_counter() - started_mono)
        if report.ok:
            self.metrics.last_cycle.set(now.timestamp())
        self.cycles += 1
        self._summarise(report)
        return report

    def _due(self, name: str, interval: float, throttle_source: str | None = None) -> bool:
        """Whether a cadence is due this cycle; a throttled source waits the idle interval instead."""
        if throttle_source and self.health.is_throttled(throttle_source, self.clock.now()):
            interval = max(interval, self.settings.idle_poll_interval)
        return self.cadences.due(name, interval)

    def _step(
        self, report: CycleReport, name: str, fn: Callable[[CycleReport], int], started: datetime | None = None
    ) -> None:
        """Run one step; its failure is logged, counted and recorded, never raised. `started` is
        when the step's work began, when that was before this call (a fetch started earlier)."""
        started = started or self.clock.now()
        status, records, error = "success", 0, None
        try:
            records = fn(report) or 0
        except SourceError as exc:
            status, error = "failed", str(exc)
            log.warning("%s sync failed: %s", name, exc)
            self.record_events(self.health.record_source_error(exc.source.lower(), str(exc), started))
        except KalshiFormatError as exc:
            status, error = "failed", str(exc)
            log.error("%s sync failed: %s", name, exc)
            key = started.date().isoformat()
            self.record_events([system_event("critical", "kalshi_format", str(exc), started, key)])
        except DatabaseError as exc:
            status, error = "failed", str(exc)
            log.error("%s sync failed: %s", name, exc)
        except Exception as exc:  # a bug in one step must not stop the loop; it is logged in full
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            log.exception("%s sync failed unexpectedly", name)
        if error:
            report.failures[name] = error
            self.metrics.cycle_failures.labels(name).inc()
        self.last_errors[name] = error
        report.steps.append(name)
        report.sync_log.append((name, started, self.clock.now(), status, records, error))

    def _log_syncs(self, report: CycleReport) -> None:
        """The cycle's steps into nfl_data_sync_log, in one transaction; a failure is only logged."""
        steps = ", ".join(report.steps)
        try:
            self.db.run(lambda tx: tx.ops.log_syncs(report.sync_log))
        except DatabaseError as exc:
            log.error("Could not record the sync steps %s in nfl_data_sync_log: %s", steps, exc)
        except Exception:  # a bookkeeping row must never stop the loop
            log.exception("Could not record the sync steps %s in nfl_data_sync_log", steps)

    def record_events(self, events: Sequence[Event]) -> None:
        """Record events outside a state change (system alerts); a dead database only logs them."""
        if not events:
            return
        now = self.clock.now()
        try:
            self.db.run(lambda tx: self.alerts.record(tx, events, now))
        except DatabaseError as exc:
            for event in events:
                log.error("Could not record %s alert (%s): %s", event.alert_type, exc, event.fields().get("message"))
        self.alerts.wake()

    def _summarise(self, report: CycleReport) -> None:
        for key in _TOTALS:
            self.totals[key] += getattr(report, key)
        self.totals["events"] += len(report.events)
        self.totals["failed_steps"] += len(report.failures)
        # Real seconds: the summary is for the operator watching the log, also during replays.
        if time.monotonic() - self._last_summary < SUMMARY_EVERY:
            return
        self._last_summary = time.monotonic()
        log.info(
            "Summary: %d cycles, %d live games, %d plays stored, %d price snapshots, %d correlations, "
            "%d events, %d failed steps",
            self.cycles,
            report.live_games,
            self.totals["plays_stored"],
            self.totals["snapshots"],
            self.totals["correlations"],
            self.totals["events"],
            self.totals["failed_steps"],
        )
