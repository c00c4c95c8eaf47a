"""Health bookkeeping of the daemon, and its thresholds.

- A lane (scoreboard, play-by-play, kalshi, injuries ...) failing 5 steps in a row raises a
  critical `system` alert, once per episode.
- 10 errors of one secondary lane within an hour throttle it: it then runs at the idle cadence
  until its error count in the last hour falls below the threshold again. The scoreboard is
  never throttled this way (it backs off on consecutive failures only, see the engine).
- Periodic checks (database, sources, alert channel, disk space) produce warnings.
- /healthz is healthy while the scoreboard (the heartbeat) succeeded recently.

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

from nfl_sync.domain.events import Event, system_event

log = logging.getLogger(__name__)

FAILED_STEPS_CRITICAL = 5
API_ERRORS_PER_HOUR = 10
MIN_FREE_DISK_BYTES = 1 << 30
HEARTBEAT = "scoreboard"


class HealthMonitor:
    """Consecutive failures per lane, error windows per lane, and the heartbeat's last success."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.consecutive_failures: dict[str, int] = {}
        self.failure_episode: dict[str, datetime] = {}
        self.last_success: dict[str, datetime] = {}
        self.source_errors: dict[str, deque[datetime]] = {}
        self.throttled: set[str] = set()
        self.last_error: dict[str, str] = {}

    def record_step(self, lane: str, error: str | None, now: datetime) -> list[Event]:
        """Count a finished step of `lane` (`error` None when it worked); returns the critical
        alert when its failures in a row reach the threshold (once per episode)."""
        with self._lock:
            if error is None:
                if self.consecutive_failures.get(lane, 0) >= FAILED_STEPS_CRITICAL:
                    log.info("%s recovered after %d failed steps", lane, self.consecutive_failures[lane])
                self.consecutive_failures[lane] = 0
                self.failure_episode.pop(lane, None)
                self.last_success[lane] = now
                return []
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

    def healthy(self, now: datetime, max_age: float) -> tuple[bool, dict[str, Any]]:
        """The /healthz answer: healthy while the scoreboard succeeded within `max_age` seconds."""
        with self._lock:
            last = self.last_success.get(HEARTBEAT)
            age = None if last is None else (now - last).total_seconds()
            ok = age is not None and age <= max_age
            return ok, {
                "status": "ok" if ok else "stale",
                "last_successful_cycle": last,
                "seconds_since": age,
                "consecutive_failures": dict(self.consecutive_failures),
                "throttled_sources": sorted(self.throttled),
            }


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
