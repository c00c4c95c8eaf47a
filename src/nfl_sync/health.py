"""Health bookkeeping of the daemon, and its thresholds.

- A lane (scoreboard, play-by-play, kalshi, injuries ...) failing 5 steps in a row raises a
  critical `system` alert, once per episode.
- 10 errors of one secondary lane within an hour throttle it: it then runs at the idle cadence
  until its error count in the last hour falls below the threshold again. The scoreboard is
  never throttled this way (it backs off on consecutive failures only, see the engine).
- Periodic checks (database, sources, alert channel, disk space) produce warnings.
- /healthz is healthy while the scoreboard (the heartbeat) succeeded recently, and, while a game
  is live, while its polls are no more than 3 intervals late.
- The systemd watchdog is fed while the scoreboard steps (whatever their outcome) keep their cadence.

`HealthMonitor` holds counters only; the caller passes the time, so tests drive it directly.
Lanes run on threads of their own, so every method takes the monitor's lock.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from nfl_sync.domain.command_replies import LaneState
from nfl_sync.domain.events import Event, system_event

log = logging.getLogger(__name__)

FAILED_STEPS_CRITICAL = 5
API_ERRORS_PER_HOUR = 10
MIN_FREE_DISK_BYTES = 1 << 30
HEARTBEAT = "scoreboard"
LATE_INTERVALS = 3  # a poll this many intervals overdue is a stall


class HealthMonitor:
    """Consecutive failures per lane, error windows per lane, and the heartbeat's last success."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.consecutive_failures: dict[str, int] = {}
        self.failure_episode: dict[str, datetime] = {}
        self.last_success: dict[str, datetime] = {}
        self.last_step: dict[str, datetime] = {}  # whatever its outcome
        self.step_errors: dict[str, str] = {}  # the latest failed step's error, per lane
        self.source_errors: dict[str, deque[datetime]] = {}
        self.throttled: set[str] = set()
        self.last_error: dict[str, str] = {}

    def record_step(self, lane: str, error: str | None, now: datetime) -> list[Event]:
        """Count a finished step of `lane` (`error` None when it worked); returns the critical
        alert when its failures in a row reach the threshold (once per episode)."""
        with self._lock:
            self.last_step[lane] = now
            if error is None:
                if self.consecutive_failures.get(lane, 0) >= FAILED_STEPS_CRITICAL:
                    log.info("%s recovered after %d failed steps", lane, self.consecutive_failures[lane])
                self.consecutive_failures[lane] = 0
                self.failure_episode.pop(lane, None)
                self.last_success[lane] = now
                return []
            self.step_errors[lane] = error
            count = self.consecutive_failures.get(lane, 0) + 1
            self.consecutive_failures[lane] = count
            episode = self.failure_episode.setdefault(lane, now)
        if count != FAILED_STEPS_CRITICAL:
            return []
        message = f"{FAILED_STEPS_CRITICAL} consecutive {lane} steps failed (last: {error})"
        return [system_event("critical", lane, message, now, episode.isoformat())]

    def record_source_error(self, source: str, error: str, now: datetime) -> list[Event]:
        """Count an error of a lane's source; returns a warning alert when it becomes throttled."""
        with self._lock:
            errors = self._window(source, now)
            errors.append(now)
            self.last_error[source] = error
            if len(errors) < API_ERRORS_PER_HOUR or source in self.throttled:
                return []
            self.throttled.add(source)
            count = len(errors)
        message = f"{source} failed {count} times in the last hour (last: {error}); polling it slowly until it recovers"
        log.warning(message)
        return [system_event("warning", source, message, now, f"throttled:{now.isoformat()}")]

    def is_throttled(self, source: str, now: datetime) -> bool:
        with self._lock:
            if source in self.throttled and len(self._window(source, now)) < API_ERRORS_PER_HOUR:
                self.throttled.discard(source)
                log.info("%s recovered; polling it at the normal cadence again", source)
            return source in self.throttled

    def _window(self, source: str, now: datetime) -> deque[datetime]:
        errors = self.source_errors.setdefault(source, deque())
        while errors and errors[0] <= now - timedelta(hours=1):
            errors.popleft()
        return errors

    def healthy(
        self, now: datetime, max_age: float, *, live_games: int = 0, interval: float | None = None
    ) -> tuple[bool, dict[str, Any]]:
        """The /healthz answer: healthy while the scoreboard succeeded within `max_age` seconds,
        and, while `live_games` are on, while its next success is no more than LATE_INTERVALS
        polling `interval`s overdue (a stall during a game must not wait out `max_age`)."""
        with self._lock:
            last = self.last_success.get(HEARTBEAT)
            last_step = self.last_step.get(HEARTBEAT)
            error = self.step_errors.get(HEARTBEAT)
            age = None if last is None else (now - last).total_seconds()
            status, reason = "ok", None
            if age is None or age > max_age:
                status = "stale"
                reason = (
                    "no successful scoreboard poll yet"
                    if age is None
                    else f"no successful scoreboard poll for {age:.0f} s"
                )
            late = None if age is None or interval is None else age - interval
            if live_games and late is not None and interval is not None and late > LATE_INTERVALS * interval:
                status = "late"
                stalled = last_step is None or last is None or last_step <= last
                cause = "no poll ran since" if stalled else f"the polls since failed (last: {error})"
                reason = (
                    f"scoreboard {late:.0f} s late while {live_games} game(s) are live "
                    f"(limit {LATE_INTERVALS * interval:.0f} s): {cause}"
                )
            return status == "ok", {
                "status": status,
                "reason": reason,
                "last_successful_cycle": last,
                "seconds_since": age,
                "live_games": live_games,
                "consecutive_failures": dict(self.consecutive_failures),
                "throttled_sources": sorted(self.throttled),
            }

    def lanes(self) -> tuple[LaneState, ...]:
        """Each lane that has stepped: its last success, failed steps in a row, throttled (for
        the bot's /status; the error texts stay out, they may quote an upstream)."""
        with self._lock:
            return tuple(
                LaneState(
                    lane,
                    self.last_success.get(lane),
                    self.consecutive_failures.get(lane, 0),
                    lane in self.throttled,
                )
                for lane in sorted(self.last_step)
            )

    def cycles_on_time(self, now: datetime, interval: float, since: datetime) -> bool:
        """Whether the heartbeat lane stepped (whatever the outcome) within LATE_INTERVALS
        `interval`s after it was due; `since` (the start) stands in before its first step. What
        the systemd watchdog is fed on: a restart cures a stalled loop, not a failing ESPN."""
        with self._lock:
            last = self.last_step.get(HEARTBEAT, since)
        return (now - last).total_seconds() - interval <= LATE_INTERVALS * interval


def run_checks(checks: dict[str, Callable[[], None]], paths: list[Path], now: datetime) -> list[Event]:
    """Run the periodic checks; each failure is logged and becomes a warning alert.

    The key holds the hour so an ongoing problem is reported again hourly, not every minute.
    """
    events = []
    problems: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as error:  # a health check must report any failure, whatever its type
            problems[name] = f"{type(error).__name__}: {error}"
    for path in paths:
        free = shutil.disk_usage(path).free
        if free < MIN_FREE_DISK_BYTES:
            problems["disk"] = f"only {free / (1 << 20):.0f} MB free at {path}"
    for name, problem in problems.items():
        log.warning("Health check %s failed: %s", name, problem)
        events.append(
            system_event("warning", name, f"health check failed: {problem}", now, f"check:{now.strftime('%Y%m%d%H')}")
        )
    return events
