"""The clock every timed part of the pipeline is given, so tests and replays can drive time.

`SystemClock` is the real one. A replay or test passes another object with the same three
methods (see `nfl_replay/clock.py`), and the loop, rate limiters, caches and retries follow it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current wall-clock time, timezone-aware UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for intervals and deadlines."""

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` on this clock."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class PacingClock(SystemClock):
    """Real seconds for waits and intervals, with the time of day of `stamps` (the loop's clock).

    The alert sender paces itself under Telegram's flood limits, which count real seconds, while
    the times it records (an alert's sent_at) must be on the clock the plays and the rest of the
    data are on: in a replay, the simulated one, so a backtest can time an alert after its play."""

    def __init__(self, stamps: Clock):
        self.stamps = stamps

    def now(self) -> datetime:
        return self.stamps.now()
