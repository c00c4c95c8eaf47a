"""Lanes: each kind of work on its own cadence, so that nothing slow delays anything else.

A `Lane` says when its next step is due and does one step at a time. `StepRunner` runs a step
whatever happens in it: a failure is logged, counted, recorded in nfl_data_sync_log and the
health monitor, never raised. The live daemon gives every lane a thread of its own
(`LaneThreads`), so a source that hangs holds only its own lane; tests and replays run the lanes
one after the other in `NFLRealtimeSync.run_cycle`, on any clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from datetime import datetime
from typing import Any, TypeVar

from nfl_sync.domain.errors import DatabaseError, KalshiFormatError, SourceError
from nfl_sync.domain.events import Event, system_event
from nfl_sync.engine.outage import DatabaseWatch, HeldEvents
from nfl_sync.engine.report import CycleReport
from nfl_sync.engine.shell import Shell
from nfl_sync.storage.tx import Tx

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_IDLE_WAIT = 1.0  # seconds a lane thread sleeps at most before it looks again (shutdown, wake-ups)
SUMMARY_EVERY = 60.0
SAY_SO_AFTER = 5  # failures in a row of one game before a system alert says so
_TOTALS = ("plays_stored", "snapshots", "correlations", "pbp_fetched")


class Lane:
    """One kind of work. Subclasses give `interval` (or override `wait_time`) and `step`."""

    name = "lane"
    # Whether 10 errors an hour slow the lane to the idle cadence (see health.py).
    throttled_by_errors = True

    def __init__(self, shell: Shell):
        self.shell = shell
        self.last_run: float | None = None  # the tick of the latest step
        self.wake = threading.Event()  # set to have a lane thread look again now

    def interval(self, now: datetime) -> float | None:
        """Seconds between steps at `now`; None while the lane is switched off."""
        raise NotImplementedError

    def wait_time(self, tick: float, now: datetime) -> float | None:
        """Seconds until the next step is due (0 or less: due now); None while there is nothing to do.

        Cadences are judged at the tick a cycle or a lane thread starts from; sleep overshoot can
        bring one a hair early, and the slack keeps it from pushing a step a whole interval late.
        """
        interval = self.interval(now)
        if interval is None:
            return None
        if self.throttled_by_errors and self.shell.health.is_throttled(self.name, now):
            interval = max(interval, self.shell.settings.idle_poll_interval)
        if self.last_run is None:
            return 0.0
        return self.last_run + interval - min(0.5, interval / 10) - tick

    def step(self, report: CycleReport) -> int:
        """One step; returns how many records it handled. Raises on failure."""
        raise NotImplementedError


class StepRunner:
    """Runs steps with their bookkeeping: errors, health, metrics, system alerts, the sync log;
    and the lanes' writes with their alerts (`write`), held back while the database is away."""

    def __init__(self, shell: Shell):
        self.shell = shell
        self.database = DatabaseWatch(shell.settings.database.unreachable_alert_after)
        self.held = HeldEvents()
        self.last_errors: dict[str, str | None] = {}  # lane -> error of its latest step, None if it worked
        self.totals: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._last_summary = time.monotonic()

    def run(self, lane: Lane, report: CycleReport, started: datetime | None = None) -> None:
        """Run one step of `lane` into `report`; its failure is logged, counted and recorded, never
        raised. `started` is when the step's work began, when that was before this call."""
        shell = self.shell
        started = started or shell.clock.now()
        began = time.perf_counter()
        status, records, error = "success", 0, None
        try:
            records = lane.step(report) or 0
        except SourceError as exc:
            status, error = "failed", str(exc)
            log.warning("%s sync failed: %s", lane.name, exc)
            if exc.source == "kalshi" and exc.status in (401, 403):
                text = f"Kalshi rejected the credentials ({exc}); check KALSHI_API_KEY_ID and the private key"
                self.record_events([system_event("critical", "kalshi_auth", text, started, started.date().isoformat())])
            if lane.throttled_by_errors:
                self.record_events(shell.health.record_source_error(lane.name, str(exc), started))
        except KalshiFormatError as exc:
            status, error = "failed", str(exc)
            log.error("%s sync failed: %s", lane.name, exc)
            key = started.date().isoformat()
            self.record_events([system_event("critical", "kalshi_format", str(exc), started, key)])
        except DatabaseError as exc:
            status, error = "failed", str(exc)
            log.error("%s sync failed: %s", lane.name, exc)
            self.record_events(self.database.failed(started, str(exc)))
        except Exception as exc:  # a bug in one step must not stop the lane; it is logged in full
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            log.exception("%s sync failed unexpectedly", lane.name)
        if error:
            report.failures[lane.name] = error
            shell.metrics.cycle_failures.labels(lane.name).inc()
        with self._lock:
            self.last_errors[lane.name] = error
        report.steps.append(lane.name)
        report.sync_log.append((lane.name, started, shell.clock.now(), status, records, error))
        # A game that fails on its own ("lane:game") is the lane's to report (see the lanes); the
        # step, and with the scoreboard the heartbeat, stand for the source answering.
        self.record_events(shell.health.record_step(lane.name, error, started))
        if lane.name == "scoreboard":
            elapsed = time.perf_counter() - began
            shell.metrics.cycle_duration.observe(elapsed)
            if elapsed > shell.settings.sync_interval:
                log.warning(
                    "Scoreboard poll took %.2f s, longer than the %.1f s interval",
                    elapsed,
                    shell.settings.sync_interval,
                )
                shell.metrics.cycle_overruns.inc()
            if error is None:
                shell.metrics.last_cycle.set(started.timestamp())

    def log_syncs(self, report: CycleReport) -> None:
        """The report's steps into nfl_data_sync_log, in one transaction; a failure is only logged."""
        steps = ", ".join(report.steps)
        now = self.shell.clock.now()
        try:
            self.shell.db.run(lambda tx: tx.ops.log_syncs(report.sync_log))
        except DatabaseError as exc:
            log.error("Could not record the sync steps %s in nfl_data_sync_log: %s", steps, exc)
            self.record_events(self.database.failed(now, str(exc)))
        except Exception:  # a bookkeeping row must never stop a lane
            log.exception("Could not record the sync steps %s in nfl_data_sync_log", steps)
        else:
            self.database.succeeded(now)

    def write(self, events: Sequence[Event], now: datetime, fn: Callable[[Tx, Sequence[Event]], T]) -> T:
        """`fn(tx, events)` in a transaction: a lane's state change with its alerts. Should the
        database be away, the events are noted as held (the lane detects them again, since its
        memory moves only after a commit), and once written their alerts say how late they are."""
        marked = self.held.marked(events)
        try:
            result = self.shell.db.run(lambda tx: fn(tx, marked))
        except DatabaseError:
            self.held.hold(events, now)
            raise
        self.held.written(events)
        return result

    def record_events(self, events: Sequence[Event]) -> None:
        """Record events outside a state change (system alerts). With the database away, the
        critical ones go straight to the channel (`AlertSink.deliver_directly`), the rest are
        logged."""
        if not events:
            return
        shell = self.shell
        now = shell.clock.now()
        try:
            shell.db.run(lambda tx: shell.alerts.record(tx, events, now))
        except Exception as exc:  # a database away, or worse: an alert must never stop a lane
            critical = [event for event in events if event.fields().get("level") == "critical"]
            for event in events:
                log.error("Could not record %s alert (%s): %s", event.alert_type, exc, event.fields().get("message"))
            shell.alerts.deliver_directly(critical, now)
        shell.alerts.wake()

    def summarise(self, report: CycleReport, live_games: Callable[[], int]) -> None:
        """Add the report to the totals; once a minute (real seconds: the summary is for the
        operator watching the log, also during replays) log them."""
        with self._lock:
            for key in _TOTALS:
                self.totals[key] += getattr(report, key)
            self.totals["events"] += len(report.events)
            self.totals["failed_steps"] += len(report.failures)
            self.totals["steps"] += len(report.steps)
            if time.monotonic() - self._last_summary < SUMMARY_EVERY:
                return
            self._last_summary = time.monotonic()
            totals = dict(self.totals)
        log.info(
            "Summary: %d steps, %d live games, %d plays stored, %d price snapshots, %d correlations, "
            "%d events, %d failed steps",
            totals["steps"],
            live_games(),
            totals["plays_stored"],
            totals["snapshots"],
            totals["correlations"],
            totals["events"],
            totals["failed_steps"],
        )


class FetchThreads(Executor):
    """Each task on a daemon thread of its own. A fetch stuck on a host that never answers must
    not hold the process at exit, as a ThreadPoolExecutor's workers would (the interpreter joins
    them); the lanes bound how many run at once."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=run, name="fetch", daemon=True).start()
        return future


class LaneThreads:
    """Every lane on a thread of its own, until `stop`."""

    def __init__(self, lanes: Sequence[Lane], runner: StepRunner, live_games: Callable[[], int]):
        self.lanes = tuple(lanes)
        self.runner = runner
        self.live_games = live_games
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for lane in self.lanes:
            thread = threading.Thread(target=self._loop, args=(lane,), name=f"lane-{lane.name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for lane in self.lanes:
            lane.wake.set()

    def join(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds in all for the lanes to finish their step; True when all did."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def alive(self) -> list[str]:
        return [thread.name for thread in self._threads if thread.is_alive()]

    def dead(self) -> list[str]:
        return [thread.name for thread in self._threads if not thread.is_alive()]

    def _loop(self, lane: Lane) -> None:
        clock = self.runner.shell.clock
        while not self.stopping.is_set():
            lane.wake.clear()
            tick = clock.monotonic()
            wait = lane.wait_time(tick, clock.now())
            if wait is None or wait > 0:
                lane.wake.wait(MAX_IDLE_WAIT if wait is None else min(wait, MAX_IDLE_WAIT))
                continue
            lane.last_run = tick
            report = CycleReport(started=clock.now())
            self.runner.run(lane, report)
            self.runner.log_syncs(report)
            self.runner.summarise(report, self.live_games)
