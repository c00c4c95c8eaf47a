"""The games the daemon follows: scoreboard polls, play-by-play, detection and storage per game.

One poll of the scoreboard yields the games; those whose score, state or last play changed have
their summary fetched (in parallel, within ESPN's rate budget), their plays classified, detection
run against what was known, and the game, its new plays and its alerts written in one
transaction. What detection knows is updated only after that commit, so a failed write is retried
by the next cycle.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from datetime import datetime
from typing import Any

from nfl_sync.domain.calendar import schedule_dates, scoreboard_dates
from nfl_sync.domain.detection import GameMemory, detect_game, needs_play_by_play
from nfl_sync.domain.errors import SourceError
from nfl_sync.domain.models import Game, GameSummary, Play
from nfl_sync.domain.play_classifier import with_significance
from nfl_sync.engine.protocols import EventRecorder, Shell
from nfl_sync.engine.report import CycleReport
from nfl_sync.storage.tx import Tx

log = logging.getLogger(__name__)

# (away, home) going into a play; None before the game's first.
_ScoreBefore = tuple[int | None, int | None] | None
# A play with the score before it when it was classified, and the play with its significance.
_Classified = tuple[Play, _ScoreBefore, Play]


class GameTracker:
    """What the daemon knows of each game, and the steps that update it (scoreboard, schedule)."""

    def __init__(
        self,
        shell: Shell,
        *,
        pool: Executor,
        record_events: EventRecorder,
        on_significant: Callable[[Play, datetime], None],
    ):
        self.settings = shell.settings
        self.clock = shell.clock
        self.db = shell.db
        self.fetcher = shell.fetcher
        self.alerts = shell.alerts
        self.metrics = shell.metrics
        self.health = shell.health
        self.pool = pool
        self.record_events = record_events
        self.on_significant = on_significant
        self.states: dict[str, GameMemory] = {}
        self.games: dict[str, Game] = {}
        self.stored_games: dict[str, Game] = {}
        self.stored_plays: dict[str, dict[str, Play]] = defaultdict(dict)  # game -> play id -> as stored
        self.classified: dict[str, dict[str, _Classified]] = {}  # game -> play id -> classification
        self.dirty_pbp: set[str] = set()
        self.recent_plays: dict[str, deque[Play]] = defaultdict(lambda: deque(maxlen=64))

    def restore(self, rows: Iterable[dict[str, Any]]) -> None:
        """What detection knew of each game before a restart (`tx.ops.detection_state`)."""
        for row in rows:
            self.states[row["game_id"]] = GameMemory(
                game_id=row["game_id"],
                home_team=row["home_team"],
                away_team=row["away_team"],
                home_score=row["home_score"],
                away_score=row["away_score"],
                state=row["state"],
                last_play_id=row["last_play_id"],
                known_play_ids=frozenset(row["play_ids"] or ()),
                significant_ids=frozenset(row["significant_ids"] or ()),
                alerted_total=(row["home_score"] or 0) + (row["away_score"] or 0),
                revision=row["corrections"],
            )

    def teams_in_play(self) -> frozenset[str]:
        """The teams of every game not over yet."""
        return frozenset(t for g in self.games.values() if not g.is_final for t in (g.home_team, g.away_team))

    # --- steps ---------------------------------------------------------------------------------
    def sync_schedule(self, report: CycleReport) -> int:
        """The week ahead: new games become known, changed ones are stored."""
        games = self.fetcher.get_scoreboard(schedule_dates(self.clock.now()))
        for game in games:
            self.games.setdefault(game.game_id, game)
        changed = [g for g in games if self.stored_games.get(g.game_id) != g]
        if changed:
            self.db.run(lambda tx: tx.games.upsert_games(changed))
            self.stored_games.update({g.game_id: g for g in changed})
        return len(games)

    def sync_scoreboard(self, report: CycleReport) -> int:
        """Today's scoreboard, the summaries of the games that changed, and each game's write."""
        now = self.clock.now()
        games = self.fetcher.get_scoreboard(scoreboard_dates(now))
        report.games = len(games)
        report.live_games = sum(1 for g in games if g.is_live)
        self.metrics.live_games.set(report.live_games)
        for game in games:
            self.games[game.game_id] = game
        wanted = [g for g in games if g.game_id in self.dirty_pbp or needs_play_by_play(self.states.get(g.game_id), g)]
        # Score changes first, then the longest-waiting games; the rest wait a cycle.
        wanted.sort(key=lambda g: (self._score_changed(g), g.game_id in self.dirty_pbp), reverse=True)
        budget = self._pbp_budget()
        fetch, deferred = wanted[:budget], {g.game_id for g in wanted[budget:]}
        summaries, failed = self._fetch_summaries(fetch, report)
        self.dirty_pbp = deferred | failed
        unstored = set(summaries)
        for game in games:
            # A game over budget waits a cycle for its plays; one whose plays failed is still
            # checked against the scoreboard, so its score alert does not wait on ESPN's summary.
            if game.game_id not in deferred:
                try:
                    self._process_game(game, summaries.get(game.game_id), now, report)
                except Exception:
                    # Plays fetched but not stored (this game's, and those of the games after it)
                    # are fetched again next cycle: the scoreboard may show nothing newer by then.
                    self.dirty_pbp |= unstored
                    raise
                unstored.discard(game.game_id)
        return len(games)

    # --- play-by-play --------------------------------------------------------------------------
    def _score_changed(self, game: Game) -> bool:
        prev = self.states.get(game.game_id)
        return prev is not None and (prev.home_score, prev.away_score) != (game.home_score, game.away_score)

    def _pbp_budget(self) -> int:
        # ESPN calls per cycle allowed by the rate limit, less the scoreboard call itself.
        per_cycle = int(self.settings.espn_rate_per_second * self.settings.sync_interval)
        return max(1, min(per_cycle - 1, self.settings.espn_rate_per_minute // 12))

    def _fetch_summaries(self, games: Sequence[Game], report: CycleReport) -> tuple[dict[str, GameSummary], set[str]]:
        """Fetch play-by-play in parallel; returns the summaries and the ids that failed."""
        futures = {
            g.game_id: self.pool.submit(self.fetcher.get_play_by_play, g.game_id, self._wants_player_stats(g))
            for g in games
        }
        summaries: dict[str, GameSummary] = {}
        failed: set[str] = set()
        for game_id, future in futures.items():
            try:
                summaries[game_id] = future.result()
            except SourceError as exc:
                log.warning("Play-by-play of game %s failed: %s", game_id, exc)
                report.failures[f"pbp:{game_id}"] = str(exc)
                failed.add(game_id)
                self.record_events(self.health.record_source_error("espn", str(exc), report.started))
            except Exception as exc:  # a parser bug on one game must not stop the others
                log.exception("Play-by-play of game %s could not be processed", game_id)
                report.failures[f"pbp:{game_id}"] = f"{type(exc).__name__}: {exc}"
                failed.add(game_id)
        report.pbp_fetched = len(summaries)
        return summaries, failed

    def _wants_player_stats(self, game: Game) -> bool:
        """Box scores are stored when the daemon first sees a game and when it ends, not on every play."""
        return game.is_final or game.game_id not in self.states

    # --- one game ------------------------------------------------------------------------------
    def _process_game(self, game: Game, summary: GameSummary | None, now: datetime, report: CycleReport) -> None:
        prev = self.states.get(game.game_id)
        plays: list[Play] | None = None
        if summary is not None:
            plays = self.classify(game.game_id, sorted(summary.plays, key=lambda p: p.sequence_number))
        update = detect_game(prev, game, plays, now)
        changed_plays = self._changed_plays(game.game_id, plays or ())
        game_changed = self.stored_games.get(game.game_id) != game
        if not (game_changed or changed_plays or update.events):
            self.states[game.game_id] = update.state
            return
        box_score = summary is not None and self._wants_player_stats(game)

        def write(tx: Tx) -> int:
            tx.games.upsert_game(game)
            new = tx.games.insert_plays(changed_plays)
            if summary is not None and changed_plays:
                ids = {p.play_id for p in changed_plays}
                tx.games.insert_win_probabilities([w for w in summary.win_probabilities if w.play_id in ids])
                tx.games.upsert_odds(summary.odds)
            if summary is not None and box_score:
                tx.games.upsert_player_stats(summary.player_stats)
            self.alerts.record(tx, update.events, now)
            return new

        new_count = self.db.run(write)
        # Only after the commit: a failed transaction leaves the old state, so the next cycle retries.
        self.states[game.game_id] = update.state
        self.stored_games[game.game_id] = game
        if game.is_final:  # its plays will not change much more: a late edit is just upserted again
            self.stored_plays.pop(game.game_id, None)
            self.classified.pop(game.game_id, None)
        else:
            self.stored_plays[game.game_id].update({p.play_id: p for p in changed_plays})
        report.plays_stored += new_count
        self.metrics.plays_stored.inc(new_count)
        report.events.extend(update.events)
        if update.events:
            self.alerts.wake()
        self.recent_plays[game.game_id].extend(update.new_plays)
        if prev is not None:
            for play in update.significant:
                self.on_significant(play, now)

    def classify(self, game_id: str, plays: Sequence[Play]) -> list[Play]:
        """`with_significance` of the game's plays (in sequence order). A summary repeats every
        play of the game, so a play unchanged since the last summary, with the same score before
        it, keeps the object classified then: nothing to classify or compare again."""
        known = self.classified.get(game_id, {})
        memo: dict[str, _Classified] = {}
        result: list[Play] = []
        before: _ScoreBefore = None
        for play in plays:
            hit = known.get(play.play_id)
            if hit is not None and hit[1] == before and hit[0] == play:
                classified = hit[2]
            else:
                classified = with_significance([play], before, self.settings.big_play_yards)[0]
            memo[play.play_id] = (play, before, classified)
            result.append(classified)
            before = (play.away_score, play.home_score)
        self.classified[game_id] = memo
        return result

    def _changed_plays(self, game_id: str, plays: Sequence[Play]) -> list[Play]:
        """Plays not stored yet or edited by ESPN since (the rest would be no-op upserts)."""
        stored = self.stored_plays[game_id]
        return [p for p in plays if (old := stored.get(p.play_id)) is not p and old != p]
