"""The opportunities lane: `v_nfl_kalshi_opportunities` refreshed while games are live.

The view (game-winner prices against ESPN's win probability as of each price) is a materialized
view: it shows what it held at its last refresh. This lane refreshes it CONCURRENTLY (readers
are never blocked) every minute while a game is live, and once more FINAL_SETTLE_POLLS polling
intervals after a game becomes final, so that the Kalshi lane has stored a price after the final
whistle (when the last live game ends, Kalshi drops to the idle cadence: its final row may then
hold the last in-game price). It runs on its own cadence, never on the scoreboard's; a failed
refresh is logged and counted by the step runner like any step, and the next try waits a
refresh interval (a database that is away must not make the lane spin).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from nfl_sync.engine.board import GameBoard
from nfl_sync.engine.lanes import Lane
from nfl_sync.engine.report import CycleReport
from nfl_sync.engine.shell import Shell

REFRESH_INTERVAL = 60.0  # seconds, while a game is live
FINAL_SETTLE_POLLS = 2  # polling intervals between a final and its refresh


class OpportunitiesLane(Lane):
    name = "opportunities"

    def __init__(self, shell: Shell, board: GameBoard):
        super().__init__(shell)
        self.board = board
        self.finals_refreshed: set[str] = set()
        self.finals_seen: dict[str, datetime] = {}  # final, not refreshed yet -> when first seen final
        self.final_attempt: float | None = None  # the tick of the latest refresh tried for a final

    def _pending_finals(self, now: datetime) -> dict[str, datetime]:
        """The finals not refreshed yet, by when this lane first saw them final; only those the
        board still holds (it forgets a game a day after)."""
        board = self.board.snapshot()
        for game_id, game in board.items():
            if game.is_final and game_id not in self.finals_refreshed:
                self.finals_seen.setdefault(game_id, now)
        self.finals_seen = {
            game_id: seen
            for game_id, seen in self.finals_seen.items()
            if game_id in board and game_id not in self.finals_refreshed
        }
        return self.finals_seen

    def pending(self) -> bool:
        """A final whose refresh is still to come (a replay waits for it before its report)."""
        return bool(self._pending_finals(self.shell.clock.now()))

    def interval(self, now: datetime) -> float | None:
        return REFRESH_INTERVAL if any(game.is_live for game in self.board.snapshot().values()) else None

    def wait_time(self, tick: float, now: datetime) -> float | None:
        wait = super().wait_time(tick, now)
        pending = self._pending_finals(now)
        if not pending:
            return wait
        settle = FINAL_SETTLE_POLLS * self.shell.settings.sync_interval
        final_wait = (min(pending.values()) - now).total_seconds() + settle
        if self.final_attempt is not None:
            final_wait = max(final_wait, self.final_attempt + REFRESH_INTERVAL - tick)
        return final_wait if wait is None else min(wait, final_wait)

    def step(self, report: CycleReport) -> int:
        now = self.shell.clock.now()
        settle = timedelta(seconds=FINAL_SETTLE_POLLS * self.shell.settings.sync_interval)
        finals = {game_id for game_id, seen in self._pending_finals(now).items() if now >= seen + settle}
        if finals:
            self.final_attempt = self.shell.clock.monotonic()
        self.shell.db.refresh_opportunities()
        self.finals_refreshed = (self.finals_refreshed | finals) & set(self.board.snapshot())
        return 1
