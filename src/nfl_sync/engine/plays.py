"""The play-by-play lane: the summaries of the games that changed, their plays stored and alerted.

The scoreboard lane requests a game's summary when its score, state or last play changes; this
lane fetches them in the order they changed, within ESPN's budget and in parallel, stores every
new or edited play, and alerts what the scoreboard could not show (`play_detection`). A game whose
summary keeps failing is backed off on its own and said so; it costs the scoreboard and the other
games nothing.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nfl_sync.domain.detection import TURNOVER_TAGS, ScoreMemory
from nfl_sync.domain.errors import DatabaseError, SourceError
from nfl_sync.domain.events import Event, system_event
from nfl_sync.domain.models import Game, GameSummary, Play
from nfl_sync.domain.play_classifier import with_significance
from nfl_sync.domain.play_detection import PlayMemory, detect_plays
from nfl_sync.engine.board import GameBoard, RecentPlays
from nfl_sync.engine.lanes import SAY_SO_AFTER, Lane, StepRunner
from nfl_sync.engine.report import CycleReport
from nfl_sync.engine.shell import Shell
from nfl_sync.storage.games import play_of_row
from nfl_sync.storage.tx import Tx

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0  # seconds between tries of a summary that keeps failing
FETCH_SLACK = 60.0  # seconds a fetch may wait for ESPN's budget on top of its own deadline

# A play as parsed, and the play with its significance.
_Classified = tuple[Play, Play]


@dataclass(frozen=True)
class _Fetch:
    future: Future[GameSummary]
    version: int  # of the request it answers
    started: float  # monotonic
    asked: datetime  # when it was asked for: the time its events are detected at
    revision: int  # of the game's score when it was asked for (a correction may come meanwhile)


@dataclass
class _Request:
    box_score: bool
    version: int = 0  # bumped by every new request, so one made during a fetch is not lost
    failures: int = 0
    retry_at: float = 0.0  # monotonic time before which the game is not asked again


class PlayByPlayLane(Lane):
    name = "plays"
    throttled_by_errors = False  # a failing game backs off on its own, see `_failed`

    def __init__(
        self,
        shell: Shell,
        *,
        board: GameBoard,
        scores: Callable[[str], ScoreMemory | None],
        recent: RecentPlays,
        pool: Executor,
        runner: StepRunner,
        on_significant: Callable[[Play, datetime], None],
    ):
        super().__init__(shell)
        self.board = board
        self.scores = scores
        self.recent = recent
        self.pool = pool
        self.runner = runner
        self.on_significant = on_significant
        self.memory: dict[str, PlayMemory] = {}
        self.stored_plays: dict[str, dict[str, Play]] = defaultdict(dict)  # game -> play id -> as stored
        self.classified: dict[str, dict[str, _Classified]] = {}  # game -> play id -> classification
        self.stats_at: dict[str, float] = {}  # game -> when the box score stored last was asked for (monotonic)
        self._lock = threading.Lock()
        self._queue: dict[str, _Request] = {}  # in the order the games changed
        self._in_flight: dict[str, _Fetch] = {}  # at most one fetch per game
        self.wait_for_fetches = True  # sequential cycles; the lane's own thread sets it False

    def restore(self, rows: Iterable[dict[str, Any]]) -> None:
        """What the lane knew of each game's plays before a restart (`tx.ops.detection_state`)."""
        for row in rows:
            if row["plays"]:
                self.memory[row["game_id"]] = _restored_memory(row)

    def request(self, game: Game, first_sight: bool) -> None:
        """Fetch the game's summary as soon as the budget allows (with its box score at first
        sight, every PLAYER_STATS_INTERVAL while live, and at the end); any thread."""
        box_score = first_sight or game.is_final or game.game_id not in self.memory or self._stats_due(game)
        with self._lock:
            request = self._queue.get(game.game_id)
            if request is None:
                self._queue[game.game_id] = _Request(box_score)
            else:
                request.box_score = request.box_score or box_score
                request.version += 1
        self.wake.set()

    def _stats_due(self, game: Game) -> bool:
        """Whether a live game's box score was last stored PLAYER_STATS_INTERVAL ago or more."""
        interval = self.shell.settings.player_stats_interval
        if not interval or not game.is_live:
            return False
        return self.shell.clock.monotonic() - self.stats_at.get(game.game_id, float("-inf")) >= interval

    def wait_time(self, tick: float, now: datetime) -> float | None:
        with self._lock:
            if any(fetch.future.done() for fetch in self._in_flight.values()):
                return 0.0
            times = [fetch.started + self._fetch_timeout() for fetch in self._in_flight.values()]
            if len(self._in_flight) < self._budget():
                times += [r.retry_at for game_id, r in self._queue.items() if game_id not in self._in_flight]
        # Nothing to harvest or to ask: a finished fetch or a new request wakes the lane.
        return min(times) - tick if times else None

    def interval(self, now: datetime) -> float | None:
        return None  # driven by requests, see `wait_time`

    def pending(self) -> list[str]:
        with self._lock:
            return list(self._queue)

    def step(self, report: CycleReport) -> int:
        """Take in the fetches that finished, then start those that are due, within the budget.

        On the lane's own thread a step never waits for a fetch (a finished one wakes the lane),
        so a game whose summary hangs costs the other games nothing; with `wait_for_fetches`
        (sequential cycles) it waits for the fetches it started, as a cycle must.
        """
        handled = self._harvest(report)
        self._forget_done()
        tick, now = self.shell.clock.monotonic(), self.shell.clock.now()
        with self._lock:
            room = self._budget() - len(self._in_flight)
            due = [
                (game_id, r.version, r.box_score)
                for game_id, r in self._queue.items()
                if r.retry_at <= tick and game_id not in self._in_flight
            ][: max(room, 0)]
            for game_id, version, box_score in due:
                future = self.pool.submit(self.shell.fetcher.get_play_by_play, game_id, box_score)
                score = self.scores(game_id)
                revision = score.revision if score is not None else 0
                self._in_flight[game_id] = _Fetch(future, version, tick, now, revision)
                future.add_done_callback(lambda _: self.wake.set())
            started = [fetch.future for fetch in self._in_flight.values()]
        if self.wait_for_fetches and started:
            wait(started, timeout=self._fetch_timeout())
            handled += self._harvest(report, everything=True)
        return handled

    def _forget_done(self) -> None:
        """Drop what is kept of the games the board forgot (over for a day, see `board.done_with`)
        and nobody asks about: a season of plays would otherwise stay in memory."""
        with self._lock:
            busy = self._queue.keys() | self._in_flight.keys()
        kept = self.memory.keys() | self.stored_plays.keys() | self.classified.keys()
        gone = [game_id for game_id in kept if game_id not in busy and self.board.get(game_id) is None]
        for game_id in gone:
            self.memory.pop(game_id, None)
            self.stored_plays.pop(game_id, None)
            self.classified.pop(game_id, None)
            self.stats_at.pop(game_id, None)
        self.recent.forget(gone)

    def _fetch_timeout(self) -> float:
        return self.shell.settings.http_deadline + FETCH_SLACK

    def _harvest(self, report: CycleReport, everything: bool = False) -> int:
        """Process the fetches that finished (and fail those past their timeout, or all that are
        left when `everything`); returns how many were taken in."""
        tick = self.shell.clock.monotonic()
        timeout = self._fetch_timeout()
        with self._lock:
            finished = {
                game_id: fetch
                for game_id, fetch in self._in_flight.items()
                if everything or fetch.future.done() or tick - fetch.started > timeout
            }
            for game_id in finished:
                del self._in_flight[game_id]
        database_error: DatabaseError | None = None
        for game_id, fetch in finished.items():
            try:
                if not fetch.future.done():
                    raise SourceError("espn", "/summary", f"no answer in {timeout:.0f} s")
                summary = fetch.future.result()
                report.pbp_fetched += 1
                self._process(game_id, summary, fetch, report)
            except DatabaseError as exc:  # not the game's fault: asked again shortly, not backed off
                database_error = exc
                self._retry_soon(game_id)
                continue
            except Exception as exc:  # one game's summary or plays must cost the others nothing
                self._failed(game_id, exc, report)
                continue
            with self._lock:
                request = self._queue.get(game_id)
                if request is not None:
                    if request.failures >= SAY_SO_AFTER:
                        log.info("Play-by-play of game %s works again", game_id)
                    request.failures = 0
                    if request.version == fetch.version:
                        del self._queue[game_id]
        if database_error is not None:
            raise database_error
        return len(finished)

    def _retry_soon(self, game_id: str) -> None:
        with self._lock:
            request = self._queue.get(game_id)
            if request is not None:
                request.retry_at = self.shell.clock.monotonic() + self.shell.settings.sync_interval

    def _budget(self) -> int:
        """Fetches at once: PBP_WORKERS, within the ESPN calls per scoreboard interval that the
        rate limit allows, less the scoreboard call."""
        settings = self.shell.settings
        per_interval = int(settings.espn_rate_per_second * settings.sync_interval)
        return max(1, min(per_interval - 1, settings.espn_rate_per_minute // 12, settings.pbp_workers))

    def _failed(self, game_id: str, exc: Exception, report: CycleReport) -> None:
        message = str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
        report.failures[f"{self.name}:{game_id}"] = message
        interval = self.shell.settings.sync_interval
        with self._lock:
            request = self._queue.get(game_id)
            if request is None:
                return
            request.failures += 1
            failures = request.failures
            backoff = min(interval * 2 ** (failures - 1), MAX_BACKOFF)
            request.retry_at = self.shell.clock.monotonic() + backoff
        log.warning(
            "Play-by-play of game %s failed (%d in a row, next try in %.0f s): %s",
            game_id,
            failures,
            backoff,
            message,
            exc_info=not isinstance(exc, SourceError),
        )
        if failures == SAY_SO_AFTER:
            game = self.board.get(game_id)
            teams = f"{game.away_team} @ {game.home_team} " if game else ""
            text = (
                f"the play-by-play of {teams}(game {game_id}) failed {failures} times in a row (last: {message}); "
                "scores still come from the scoreboard, plays and play alerts are late"
            )
            now = self.shell.clock.now()
            key = f"{game_id}:{now.isoformat()}"
            self.runner.record_events([system_event("warning", self.name, text, now, key, subject=game_id)])

    def _process(self, game_id: str, summary: GameSummary, fetch: _Fetch, report: CycleReport) -> None:
        shell = self.shell
        now = fetch.asked
        score = self.scores(game_id)
        if score is None:  # requested by the scoreboard lane, which knows every game it requests
            raise RuntimeError(f"no scoreboard memory of game {game_id}")
        game = self.board.get(game_id) or summary.game
        plays = self.classify(game_id, sorted(summary.plays, key=lambda p: p.sequence_number))
        update = detect_plays(self.memory.get(game_id), score, game, plays, now, fetch.revision)
        changed = self._changed_plays(game_id, plays)

        def write(tx: Tx, alerts: Sequence[Event]) -> int:
            new = tx.games.insert_plays(changed)
            tx.games.mark_plays_deleted(game_id, update.deleted, now)
            if changed:
                ids = {p.play_id for p in changed}
                tx.games.insert_win_probabilities([w for w in summary.win_probabilities if w.play_id in ids])
                tx.games.upsert_odds(summary.odds, now)
            if summary.player_stats:  # fetched when the request asked for the box score
                tx.games.upsert_player_stats(summary.player_stats, now)
            shell.alerts.record(tx, alerts, now)
            return new

        new_count = self.runner.write(update.events, now, write)
        self.board.note_summary_probability(game_id, summary.game.home_win_pct, now)
        # Only after the commit: a failed transaction leaves the old memory, so the next try redoes it.
        self.memory[game_id] = update.memory
        if summary.player_stats:
            self.stats_at[game_id] = fetch.started
        if game.is_final:  # its plays will not change much more: a late edit is just upserted again
            self.stored_plays.pop(game_id, None)
            self.classified.pop(game_id, None)
        else:
            stored = self.stored_plays[game_id]
            stored.update({p.play_id: p for p in changed})
            for play_id in update.deleted:  # stored again (and so revived) should ESPN list it again
                stored.pop(play_id, None)
        report.plays_stored += new_count
        shell.metrics.plays_stored.inc(new_count)
        report.events.extend(update.events)
        if update.events:
            shell.alerts.wake()
        self.recent.extend(game_id, update.new_plays)
        for play in update.significant:
            self.on_significant(play, now)

    def classify(self, game_id: str, plays: list[Play]) -> list[Play]:
        """`with_significance` of the game's plays, each by the points the parser gave it (the
        play that scored, not the row showing its points). A summary repeats every play of the
        game, so a play unchanged since the last summary keeps the object classified then:
        nothing to classify or compare again."""
        known = self.classified.get(game_id, {})
        memo: dict[str, _Classified] = {}
        for play in plays:
            hit = known.get(play.play_id)
            if hit is None or hit[0] != play:
                hit = (play, with_significance([play], None, self.shell.settings.big_play_yards)[0])
            memo[play.play_id] = hit
        self.classified[game_id] = memo
        return [classified for _, classified in memo.values()]

    def _changed_plays(self, game_id: str, plays: list[Play]) -> list[Play]:
        """Plays not stored yet or edited by ESPN since (the rest would be no-op upserts)."""
        stored = self.stored_plays[game_id]
        return [p for p in plays if (old := stored.get(p.play_id)) is not p and old != p]


def _restored_memory(row: dict[str, Any]) -> PlayMemory:
    """A game's PlayMemory from its stored plays: every play known by id and identity, the
    alerted turnovers still listed, the dropped plays."""
    plays = [play_of_row(p) for p in row["plays"]]
    deleted = frozenset(p["play_id"] for p in row["plays"] if p["deleted"])
    return PlayMemory(
        known_play_ids=frozenset(p.play_id for p in plays),
        significant_ids=frozenset(p.play_id for p in plays if p.significance),
        scored_total=row["plays_total"] or 0,
        revision=row["corrections"],
        identities={p.play_id: p.identity for p in plays},
        turnovers={
            p.play_id: p for p in plays if p.play_id not in deleted and TURNOVER_TAGS.intersection(p.significance)
        },
        deleted_ids=deleted,
    )
