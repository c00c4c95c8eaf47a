"""The engine while the database is away: how long it has been, and which events it held back.

Nothing the sources said is lost in an outage, by design rather than by a queue of writes: the
lanes advance what they remember of a game only after its write commits, so every poll during
the outage detects the same events again, and the first poll after it writes them, with the
plays the summaries still hold. Two things need remembering here: when the outage began (a
critical alert after `unreachable_alert_after` seconds, sent straight to the channel since the
outbox cannot take it), and when each held event was first detected, so that its alert says how
late it is (`Event.held_since`).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from nfl_sync.domain.events import Event, system_event

log = logging.getLogger(__name__)

MAX_HELD_KEYS = 10_000  # events remembered as held; the oldest go first (a day-long outage)


class DatabaseWatch:
    """When the database went away, and the critical alert once it has stayed away long enough.
    Any thread."""

    def __init__(self, alert_after: float):
        self.alert_after = alert_after
        self.down_since: datetime | None = None
        self._alerted = False
        self._lock = threading.Lock()

    def failed(self, now: datetime, error: str) -> list[Event]:
        """A database call failed at `now`; returns the critical alert the first time the outage
        reaches `alert_after` seconds."""
        with self._lock:
            if self.down_since is None:
                self.down_since = now
                log.error("The database is unavailable (%s); the lanes go on polling and write when it is back", error)
            since = self.down_since
            seconds = (now - since).total_seconds()
            if self._alerted or seconds < self.alert_after:
                return []
            self._alerted = True
        message = (
            f"the database has been unreachable for {seconds:.0f} s (last: {error}); polling goes on, and what "
            "was detected is stored and alerted, late, when it is back"
        )
        return [system_event("critical", "database", message, now, f"unreachable:{since.isoformat()}")]

    def succeeded(self, now: datetime) -> None:
        """A database call committed at `now`: any outage is over."""
        with self._lock:
            since, self.down_since, self._alerted = self.down_since, None, False
        if since is not None:
            log.warning("The database is back after %.0f s", (now - since).total_seconds())


class HeldEvents:
    """Events whose write failed, by key, with when each was first detected. Any thread."""

    def __init__(self, limit: int = MAX_HELD_KEYS):
        self.limit = limit
        self._first_seen: OrderedDict[str, datetime] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._first_seen)

    def hold(self, events: Sequence[Event], now: datetime) -> None:
        """`events` could not be written at `now` (a first detection time is never moved)."""
        with self._lock:
            for event in events:
                self._first_seen.setdefault(event.key, now)
            while len(self._first_seen) > self.limit:
                self._first_seen.popitem(last=False)

    def marked(self, events: Sequence[Event]) -> list[Event]:
        """`events`, those held before with the time they were first detected."""
        with self._lock:
            return [
                replace(event, held_since=since) if (since := self._first_seen.get(event.key)) is not None else event
                for event in events
            ]

    def written(self, events: Sequence[Event]) -> None:
        with self._lock:
            for event in events:
                self._first_seen.pop(event.key, None)
