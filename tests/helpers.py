"""Reusable test helpers: a fake clock that never really sleeps, and fixture loading.

Tests import it as `from helpers import FakeClock, fixture_json`: pytest's default "prepend" import
mode puts `tests/` (which has no `__init__.py`) on `sys.path`.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class FakeClock:
    """A `clock.Clock` driven by the test: `sleep` records the wait and advances time instantly."""

    def __init__(self, now: datetime = datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc), monotonic: float = 1000.0):
        self._now = now
        self._monotonic = monotonic
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        self._monotonic += seconds
        self._now += timedelta(seconds=seconds)

    def set_now(self, now: datetime) -> None:
        """Jump the wall clock (monotonic follows forward jumps so caches expire consistently)."""
        delta = (now - self._now).total_seconds()
        self._now = now
        if delta > 0:
            self._monotonic += delta


def fixture_path(*parts: str) -> Path:
    return FIXTURES.joinpath(*parts)


def fixture_text(*parts: str) -> str:
    return fixture_path(*parts).read_text(encoding="utf-8")


def fixture_json(*parts: str) -> Any:
    return json.loads(fixture_text(*parts))
