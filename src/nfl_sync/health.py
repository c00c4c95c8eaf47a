"""Health bookkeeping of the daemon, and its thresholds.

- 5 consecutive failed sync cycles raise a critical `system` alert (once per episode).
- 10 API errors within an hour throttle that source: it is then polled at the idle cadence
  until its error count in the last hour falls below the threshold again.
- Periodic checks (database, sources, alert channel, disk space) produce warnings.

`HealthMonitor` holds counters only; the caller passes the time, so tests drive it directly.
"""

from __future__ import annotations

import logging
import shutil
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from nfl_sync.domain.events import Event, system_event

log = logging.getLogger(__name__)

FAILED_CYCLES_CRITICAL = 5
API_ERRORS_PER_HOUR = 10
MIN_FREE_DISK_BYTES = 1 << 30


@dataclass
class HealthMonitor:
    consecutive_failures: int = 0
    failure_episode: datetime | None = None
    last_success: datetime | None = None
    source_errors: dict[str, deque] = field(default_factory=dict)
    throttled: set[str] = field(default_factory=set)
    last_error: dict[str, str] = field(default_factory=dict)

    def record_cycle(self, ok: bool, now: datetime, failures: dict[str, str] | None = None) -> list[Event]:
        """Count a finished cycle; returns the critical alert when failures reach the threshold."""
        if ok:
            if self.consecutive_failures >= FAILED_CYCLES_CRITICAL:
                log.info("Sync recovered after %d failed cycles", self.consecutive_failures)
            self.consecutive_failures = 0
            self.failure_episode = None
            self.last_success = now
            return []
        self.consecutive_failures += 1
        if self.failure_episode is None:
            self.failure_episode = now
        if self.consecutive_failures != FAILED_CYCLES_CRITICAL:
            return []
        detail = "; ".join(f"{step}: {error}" for step, error in (failures or {}).items())
        message = f"{FAILED_CYCLES_CRITICAL} consecutive sync cycles failed. {detail}".strip()
        return [system_event("critical", "sync", message, now, self.failure_episode.isoformat())]

    def record_source_error(self, source: str, error: str, now: datetime) -> list[Event]:
        """Count an API error; returns a warning alert when the source becomes throttled."""
        errors = self._window(source, now)
        errors.append(now)
        self.last_error[source] = error
        if len(errors) >= API_ERRORS_PER_HOUR and source not in self.throttled:
            self.throttled.add(source)
            message = (
                f"{source} failed {len(errors)} times in the last hour (last: {error}); "
                f"polling it slowly until it recovers"
            )
            log.warning(message)
            return [system_event("warning", source, message, now, f"throttled:{now.isoformat()}")]
        return []

    def is_throttled(self, source: str, now: datetime) -> bool:
        if source in self.throttled and len(self._window(source, now)) < API_ERRORS_PER_HOUR:
            self.throttled.discard(source)
            log.info("%s recovered; polling it at the normal cadence again", source)
        return source in self.throttled

    def _window(self, source: str, now: datetime) -> deque:
        errors = self.source_errors.setdefault(source, deque())
        while errors and errors[0] <= now - timedelta(hours=1):
            errors.popleft()
        return errors

    def healthy(self, now: datetime, max_age: float) -> tuple[bool, dict]:
        """The /healthz answer: healthy while a cycle completed within `max_age` seconds."""
        age = None if self.last_success is None else (now - self.last_success).total_seconds()
        ok = age is not None and age <= max_age
        return ok, {
            "status": "ok" if ok else "stale",
            "last_successful_cycle": self.last_success,
            "seconds_since": age,
            "consecutive_failures": self.consecutive_failures,
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
