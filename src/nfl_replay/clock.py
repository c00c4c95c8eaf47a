"""A clock whose time is virtual, so replays and tests decide how fast a game passes.

`SimulatedClock` has the three methods of `clock.Clock`. With a speed it runs that many times
faster than real time and `sleep()` really waits the shortened interval; with speed None ("max")
`sleep()` only moves virtual time forward, so a whole game replays as fast as the code runs.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from nfl_sync.clock import Clock, SystemClock


class SimulatedClock:
    """Virtual UTC time starting at `start`; thread-safe.

    `real` is the clock that paces a finite speed (the system clock unless a test passes another
    one, so tests of the paced mode need not wait for real). Virtual time never goes backwards,
    which keeps `monotonic()` honest: it is the virtual seconds elapsed since `start`.
    """

    def __init__(self, start: datetime, speed: float | None = None, *, real: Clock | None = None):
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("SimulatedClock needs a timezone-aware start time")
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be positive or None (max), got {speed}")
        self.start = start
        self.speed = speed
        self._real = real or SystemClock()
        self._lock = threading.Lock()
        # Virtual seconds already elapsed at the real instant `_anchor`; the paced mode adds the
        # real time passed since then, times the speed.
        self._elapsed = 0.0
        self._anchor = self._real.monotonic()

    def _elapsed_now(self) -> float:
        if self.speed is None:
            return self._elapsed
        return self._elapsed + (self._real.monotonic() - self._anchor) * self.speed

    def now(self) -> datetime:
        """Current virtual time, timezone-aware UTC."""
        with self._lock:
            elapsed = self._elapsed_now()
        return self.start + timedelta(seconds=elapsed)

    def monotonic(self) -> float:
        """Virtual seconds since `start`."""
        with self._lock:
            return self._elapsed_now()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of virtual time: instantly at max speed, seconds/speed of real time otherwise."""
        if seconds <= 0:
            return
        if self.speed is None:
            self.advance(seconds)
        else:
            self._real.sleep(seconds / self.speed)

    def advance(self, seconds: float) -> None:
        """Jump virtual time forward by `seconds`."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        with self._lock:
            self._elapsed += seconds

    def set(self, when: datetime) -> None:
        """Jump virtual time forward to `when`."""
        with self._lock:
            target = (when - self.start).total_seconds()
            current = self._elapsed_now()
            if target < current:
                raise ValueError(f"a clock cannot go back (to {when.isoformat()})")
            self._elapsed += target - current
