"""The opportunities lane: `v_nfl_kalshi_opportunities` refreshed while games are live.

The view (game-winner prices against ESPN's win probability as of each price) is a materialized
view: it shows what it held at its last refresh. This lane refreshes it CONCURRENTLY (readers
are never blocked) every minute while a game is live, and once more when a game becomes final,
so its last row holds the final price. It runs on its own cadence, never on the scoreboard's; a
failed refresh is logged and counted by the step runner like any step, and the next one tries
again.
"""

from __future__ import annotations

from datetime import datetime

from nfl_sync.engine.board import GameBoard
from nfl_sync.engine.lanes import Lane
from nfl_sync.engine.report import CycleReport
from nfl_sync.engine.shell import Shell

REFRESH_INTERVAL = 60.0  # seconds, while a game is live


class OpportunitiesLane(Lane):
    name = "opportunities"

    def __init__(self, shell: Shell, board: GameBoard):
        super().__init__(shell)
        self.board = board
        self.finals_refreshed: set[str] = set()

    def _new_finals(self) -> set[str]:
        finals = {game_id for game_id, game in self.board.snapshot().items() if game.is_final}
        return finals - self.finals_refreshed

    def interval(self, now: datetime) -> float | None:
        return REFRESH_INTERVAL if any(game.is_live for game in self.board.snapshot().values()) else None

    def wait_time(self, tick: float, now: datetime) -> float | None:
        if self._new_finals():
            return 0.0
        return super().wait_time(tick, now)

    def step(self, report: CycleReport) -> int:
        finals = self._new_finals()
        self.shell.db.refresh_opportunities()
        # Only the finals the board still holds are remembered: it forgets a game a day after.
        self.finals_refreshed = (self.finals_refreshed | finals) & set(self.board.snapshot())
        return 1
