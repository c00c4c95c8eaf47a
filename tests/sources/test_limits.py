"""The limiters and the TTL cache on an injected clock: windows, budgets, expiry. Every wait goes
through the injected FakeClock, so nothing really sleeps."""

from __future__ import annotations

from nfl_sync.sources.limits import RateLimiter, TTLCache


def test_rate_limiter_spaces_calls_one_per_second_and_sixty_per_minute(clock):
    limiter = RateLimiter(((1, 1.0), (60, 60.0)), clock)
    start = clock.monotonic()
    moments = []
    for _ in range(62):
        limiter.acquire()
        moments.append(clock.monotonic() - start)
    assert moments[:3] == [0.0, 1.0, 2.0]
    assert moments[59] == 59.0
    assert moments[60] == 60.0  # the 61st call waits for the first to leave the minute window
    assert all(wait > 0 for wait in clock.sleeps)


def test_rate_limiter_minute_window_binds_when_calls_are_faster_than_the_second_window(clock):
    limiter = RateLimiter(((5, 1.0), (10, 60.0)), clock)
    waits = [limiter.reserve() for _ in range(11)]
    # Reservations are made at once: 5 now, 5 a second later, the 11th a minute after the first.
    assert waits[:5] == [0.0] * 5 and waits[5:10] == [1.0] * 5 and waits[10] == 60.0


def test_ttl_cache_expires_on_the_injected_clock(clock):
    cache = TTLCache(600, clock)
    loads = []
    for _ in range(3):
        cache.get_or_load("k", lambda: loads.append(1) or len(loads))
    clock.advance(599.9)
    assert cache.get("k") == (True, 1)
    clock.advance(0.2)
    assert cache.get("k") == (False, None)
