"""The fast lane: one scoreboard poll gives the score, final, turnover and big-play alerts.

Between ESPN's answer and the hand-off to the sender nothing else runs: every game is compared
with what was known (pure detection), the games with news are written first, each with its alerts
in one transaction, and the sender is woken after each of those commits. Only then are the other
games stored and the summaries of the games that changed requested from the play-by-play lane.
A game whose processing fails is logged with its id, and said so after five polls in a row; the
others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from nfl_sync.domain.calendar import scoreboard_dates
from nfl_sync.domain.detection import ScoreMemory, ScoreUpdate, detect_scoreboard, last_play_identity
from nfl_sync.domain.errors import DatabaseError
from nfl_sync.domain.events import Event, system_event
from nfl_sync.domain.models import Game, GamePhase, GameState
from nfl_sync.engine.board import GameBoard
from nfl_sync.engine.lanes import SAY_SO_AFTER, Lane, StepRunner
from nfl_sync.engine.report import CycleReport
from nfl_sync.engine.scheduling import poll_interval
from nfl_sync.engine.shell import Shell
from nfl_sync.storage.games import play_of_row
from nfl_sync.storage.tx import Tx

log = logging.getLogger(__name__)

BACKOFF_AFTER = 3  # consecutive failed polls before the lane slows down (a blip costs nothing)


class ScoreboardLane(Lane):
    """Polls today's scoreboard (US Eastern dates) every SYNC_INTERVAL while a game is live or
    about to start, every IDLE_POLL_INTERVAL otherwise."""

    name = "scoreboard"
    # A flapping ESPN must not slow the one lane users wait on: it backs off only when polls
    # fail in a row, and comes back at full speed with the first answer.
    throttled_by_errors = False

    def __init__(
        self, shell: Shell, board: GameBoard, runner: StepRunner, request_summary: Callable[[Game, bool], None]
    ):
        super().__init__(shell)
        self.board = board
        self.runner = runner
        self.request_summary = request_summary
        self.memory: dict[str, ScoreMemory] = {}
        self.stored: dict[str, Game] = {}
        self.failures_in_a_row = 0
        self.game_failures: dict[str, int] = {}  # polls in a row a game could not be processed

    def restore(self, rows: Iterable[dict[str, Any]], now: datetime) -> None:
        """What the lane knew of each game before a restart (`tx.ops.detection_state`)."""
        for row in rows:
            points = (row["home_score"] or 0) + (row["away_score"] or 0)
            last = next((play_of_row(p) for p in row["plays"] if p["play_id"] == row["last_play_id"]), None)
            self.memory[row["game_id"]] = ScoreMemory(
                game_id=row["game_id"],
                home_team=row["home_team"],
                away_team=row["away_team"],
                home_score=row["home_score"],
                away_score=row["away_score"],
                state=GameState(row["state"]),
                phase=GamePhase(row["phase"]),
                first_seen=now,
                last_play_id=row["last_play_id"],
                last_play_identity=last_play_identity(last) if last is not None else None,
                alerted_total=points,
                revision=row["corrections"],
                baseline_total=points,
            )

    def interval(self, now: datetime) -> float:
        settings = self.shell.settings
        interval = poll_interval(settings, self.board.snapshot().values(), now)
        if self.failures_in_a_row >= BACKOFF_AFTER:
            interval = min(interval * 2 ** (self.failures_in_a_row - BACKOFF_AFTER + 1), settings.idle_poll_interval)
        return interval

    def step(self, report: CycleReport) -> int:
        shell = self.shell
        now = shell.clock.now()
        try:
            games = shell.fetcher.get_scoreboard(scoreboard_dates(now))
        except Exception:
            self.failures_in_a_row += 1
            raise
        self.failures_in_a_row = 0
        report.games = len(games)
        report.live_games = sum(1 for g in games if g.is_live)
        shell.metrics.live_games.set(report.live_games)
        self.board.update(games, seen_at=now)
        updates: list[tuple[Game, ScoreUpdate]] = []
        for game in games:
            try:
                updates.append((game, detect_scoreboard(self.memory.get(game.game_id), game, now, self._yards)))
            except Exception as exc:  # one game's bad data must cost the others nothing
                self._failed(game, exc, report)
        # The news first: each game with alerts is committed and handed to the sender on its own;
        # the other games follow in one transaction (game by game, should one of them break it).
        self._store_each([item for item in updates if item[1].events], now, report)
        quiet = [item for item in updates if not item[1].events]
        try:
            self._store(quiet, now, report)
        except DatabaseError:
            raise
        except Exception:
            self._store_each(quiet, now, report)
        for game_id in self.board.forget_done(now):
            self.memory.pop(game_id, None)
            self.stored.pop(game_id, None)
            self.game_failures.pop(game_id, None)
        return len(games)

    @property
    def _yards(self) -> int:
        return self.shell.settings.big_play_yards

    def _store_each(self, items: list[tuple[Game, ScoreUpdate]], now: datetime, report: CycleReport) -> None:
        for game, update in items:
            try:
                self._store([(game, update)], now, report)
            except DatabaseError:
                raise  # not the game's fault: the step fails, and the next poll tries them all again
            except Exception as exc:
                self._failed(game, exc, report)

    def _store(self, items: list[tuple[Game, ScoreUpdate]], now: datetime, report: CycleReport) -> None:
        """Write the games that changed with their alerts, in one transaction, then remember them."""
        shell = self.shell
        changed = [game for game, update in items if update.events or self.stored.get(game.game_id) != game]
        events = [event for _, update in items for event in update.events]
        if changed:

            def write(tx: Tx, alerts: Sequence[Event]) -> None:
                tx.games.upsert_games(changed)
                shell.alerts.record(tx, alerts, now)

            self.runner.write(events, now, write)
            self.stored.update({game.game_id: game for game in changed})
            if events:
                shell.alerts.wake()
        # Only after the commit: a failed write leaves the old memory, so the next poll retries.
        for game, update in items:
            first_sight = game.game_id not in self.memory
            self.memory[game.game_id] = update.memory
            self.game_failures.pop(game.game_id, None)
            report.events.extend(update.events)
            if update.needs_summary:
                self.request_summary(game, first_sight)

    def _failed(self, game: Game, exc: Exception, report: CycleReport) -> None:
        error = f"{type(exc).__name__}: {exc}"
        log.error("Game %s could not be processed: %s", game.game_id, error, exc_info=True)
        report.failures[f"{self.name}:{game.game_id}"] = error
        failures = self.game_failures[game.game_id] = self.game_failures.get(game.game_id, 0) + 1
        if failures == SAY_SO_AFTER:
            now = self.shell.clock.now()
            text = (
                f"{game.away_team} @ {game.home_team} (game {game.game_id}) could not be processed {failures} polls "
                f"in a row (last: {error}); its alerts are missing until it can"
            )
            key = f"{game.game_id}:{now.isoformat()}"
            self.runner.record_events([system_event("warning", self.name, text, now, key, subject=game.game_id)])
