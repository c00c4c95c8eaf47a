"""How often a source may be asked: sliding-window and token-bucket limiters, and a TTL cache. All
are thread-safe and read time from the injected clock, so tests and replays never really wait.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, Protocol, TypeVar

from nfl_sync.clock import Clock

V = TypeVar("V")


class Limiter(Protocol):
    def acquire(self, key: Hashable = None) -> None:
        """Wait (on the limiter's clock) until a request under `key` may go."""


class RateLimiter:
    """Spaces calls so that no window holds more than its count, shared by all threads.

    `limits` are (count, period seconds) pairs, e.g. ((1, 1.0), (60, 60.0)) for ESPN. A caller
    reserves the earliest slot that respects every window and then sleeps until it outside the
    lock, so waiting threads do not block each other's bookkeeping. `key` keeps separate windows
    (for example one per location).
    """

    def __init__(self, limits: Iterable[tuple[int, float]], clock: Clock):
        self.limits = tuple(sorted(limits, key=lambda item: item[1]))
        self.clock = clock
        self._lock = threading.Lock()
        self._slots: dict[Hashable, deque[float]] = {}
        self._horizon = max((period for _, period in self.limits), default=0.0)

    def reserve(self, key: Hashable = None) -> float:
        """Reserve the next slot and return how long the caller must wait for it."""
        with self._lock:
            now = self.clock.monotonic()
            slots = self._slots.setdefault(key, deque())
            while slots and slots[0] <= now - self._horizon:
                slots.popleft()
            at = now
            changed = True
            while changed:
                changed = False
                for count, period in self.limits:
                    in_window = [t for t in slots if t > at - period]
                    if len(in_window) >= count:
                        candidate = in_window[-count] + period
                        if candidate > at:
                            at, changed = candidate, True
            slots.append(at)
            return at - now

    def acquire(self, key: Hashable = None) -> None:
        wait = self.reserve(key)
        if wait > 0:
            self.clock.sleep(wait)

    def record(self, key: Hashable = None) -> None:
        """Count a call made now without waiting for a slot: later callers see it in the windows."""
        with self._lock:
            bisect.insort(self._slots.setdefault(key, deque()), self.clock.monotonic())


class PriorityBudget:
    """One request budget shared by every caller of a source, served by priority.

    The first priority never waits (it only counts: ESPN's scoreboard is polled every few seconds
    and a score alert must not queue behind anything); the second waits for a slot within the
    windows; the others also stay within `background_share` of the per-minute budget, so a burst
    of background calls cannot take the slots the second priority needs.
    """

    def __init__(self, limits: Iterable[tuple[int, float]], clock: Clock, background_share: float = 0.25):
        self.windows = RateLimiter(limits, clock)
        per_minute = min((count * 60.0 / period for count, period in self.windows.limits), default=60.0)
        self.background = RateLimiter(((max(1, int(per_minute * background_share)), 60.0),), clock)

    def limiter(self, priority: int) -> Limiter:
        """The limiter of callers of `priority` (0 first)."""
        return _Priority(self, priority)


class _Priority:
    def __init__(self, budget: PriorityBudget, priority: int):
        self.budget = budget
        self.priority = priority

    def acquire(self, key: Hashable = None) -> None:
        if self.priority == 0:
            self.budget.windows.record(key)
            return
        if self.priority > 1:
            self.budget.background.acquire(key)
        self.budget.windows.acquire(key)


def per_second(rate: float) -> tuple[tuple[int, float], ...]:
    """A calls-per-second setting as a (count, window) pair: 1.0 -> (1, 1 s), 0.5 -> (1, 2 s)."""
    count = max(1, int(rate))
    return ((count, count / rate),)


class TokenBucket:
    """Classic token bucket: `rate` tokens per second, bursts up to `capacity`. Thread-safe."""

    def __init__(self, rate: float, capacity: float, clock: Clock):
        self.rate = rate
        self.capacity = capacity
        self.clock = clock
        self._tokens = capacity
        self._updated = clock.monotonic()
        self._lock = threading.Lock()

    def reserve(self, key: Hashable = None) -> float:
        with self._lock:
            now = self.clock.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self, key: Hashable = None) -> None:
        wait = self.reserve(key)
        if wait > 0:
            self.clock.sleep(wait)


class TTLCache(Generic[V]):
    """A small thread-safe cache whose entries expire after `ttl` seconds of the given clock."""

    def __init__(self, ttl: float, clock: Clock, max_entries: int = 512):
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._data: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def _fresh(self, key: Hashable) -> tuple[float, V] | None:
        """The entry under `key` unless it has expired (an expired one is dropped)."""
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            if self.clock.monotonic() >= item[0]:
                del self._data[key]
                return None
            return item

    def get(self, key: Hashable) -> tuple[bool, V | None]:
        item = self._fresh(key)
        return (False, None) if item is None else (True, item[1])

    def put(self, key: Hashable, value: V, ttl: float | None = None) -> None:
        with self._lock:
            if len(self._data) >= self.max_entries:
                now = self.clock.monotonic()
                for stale in [k for k, (exp, _) in self._data.items() if exp <= now]:
                    del self._data[stale]
                if len(self._data) >= self.max_entries:
                    self._data.pop(next(iter(self._data)))
            self._data[key] = (self.clock.monotonic() + (self.ttl if ttl is None else ttl), value)

    def get_or_load(self, key: Hashable, load: Callable[[], V], ttl: float | None = None) -> V:
        item = self._fresh(key)
        if item is not None:
            return item[1]
        value = load()
        self.put(key, value, ttl)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
