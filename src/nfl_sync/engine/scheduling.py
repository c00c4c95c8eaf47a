"""When each step of a cycle runs: the cadences, and which ESPN dates a poll asks for."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from nfl_sync.domain.models import Game, GameState

STARTING_SOON = timedelta(minutes=30)


class Cadences:
    """Which named cadences are due at a cycle's tick (monotonic seconds).

    Every cadence of a cycle is judged at the cycle's start (`tick`), so a slow step does not
    push the next one late. Cycles start on a fixed schedule, but sleep overshoot can bring one a
    hair early: the slack keeps such a cycle from pushing a poll a whole interval late.
    """

    def __init__(self, now: float):
        self.last_run: dict[str, float] = {}
        self.tick = now

    def due(self, name: str, interval: float) -> bool:
        last = self.last_run.get(name)
        if last is not None and self.tick - last < interval - min(0.5, interval / 10):
            return False
        self.last_run[name] = self.tick
        return True


def is_active(games: Iterable[Game], now: datetime) -> bool:
    """A game is live, or starts within 30 minutes: poll every cycle."""
    known = False
    for game in games:
        known = True
        if game.is_live:
            return True
        if game.state == GameState.PRE and game.start_time and game.start_time - now <= STARTING_SOON:
            return True
    return not known  # nothing known yet: look now
