"""NFLRealtimeSync: the 5-second loop that turns ESPN and Kalshi polls into stored data and alerts.

One cycle: scoreboard -> detect score changes -> play-by-play of the games that changed (parallel,
within ESPN's rate budget) -> one transaction per game (game row, new plays, alert outbox rows)
-> Kalshi slate -> price snapshots, spikes, play-to-price correlations -> injuries, weather,
odds and schedule on their own cadences -> the sender thread delivers the outbox.

Every step fails alone: a source that raises is logged, counted and recorded in
nfl_data_sync_log, and the other steps go on. Detection is pure (`detection.py`); this module is
the shell that feeds it and persists its results. Run `python src/nfl_realtime_sync.py --help`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from nfl_sync.clock import Clock
from nfl_sync.config import Settings
from nfl_sync.domain.detection import GameMemory, detect_game, injury_events, needs_play_by_play
from nfl_sync.domain.errors import DatabaseError, KalshiFormatError, SourceError
from nfl_sync.domain.events import Event, system_event
from nfl_sync.domain.markets import (
    PendingCorrelation,
    detect_price_spikes,
    plays_before,
    prices_at_play,
    resolve_correlations,
    spike_correlations,
    worth_storing,
)
from nfl_sync.domain.models import Game, GameSummary, MarketSnapshot, Play
from nfl_sync.domain.play_classifier import with_significance
from nfl_sync.health import HealthMonitor, run_checks
from nfl_sync.metrics import Metrics
from nfl_sync.sources.kalshi.records import ParsedMarket
from nfl_sync.storage.manager import NFLDBManager, Tx

log = logging.getLogger("nfl_realtime_sync")

STARTING_SOON = timedelta(minutes=30)
RECENT_PLAYS_WINDOW = timedelta(minutes=3)
CORRELATION_EXPIRY = timedelta(seconds=60)
SUMMARY_EVERY = 60.0


@dataclass
class CycleReport:
    """What one cycle did, for tests, the periodic summary and the replay report."""

    started: datetime
    games: int = 0
    live_games: int = 0
    plays_stored: int = 0
    pbp_fetched: int = 0
    snapshots: int = 0
    correlations: int = 0
    events: list[Event] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    sync_log: list[tuple] = field(default_factory=list)  # rows for nfl_data_sync_log, one per step

    @property
    def ok(self) -> bool:
        return not self.failures


class NFLRealtimeSync:
    """The sync engine. Build it with `app.build_sync()`; drive it with `run_cycle()` or `start()`."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock,
        db: NFLDBManager,
        fetcher: Any,
        kalshi: Any,
        alerts: Any,
        metrics: Metrics,
        health: HealthMonitor | None = None,
    ):
        self.settings = settings
        self.clock = clock
        self.db = db
        self.fetcher = fetcher
        self.kalshi = kalshi
        self.alerts = alerts
        self.metrics = metrics
        self.health = health or HealthMonitor()
        self.states: dict[str, GameMemory] = {}
        self.games: dict[str, Game] = {}
        self.stored_games: dict[str, Game] = {}
        self.stored_plays: dict[str, dict[str, Play]] = defaultdict(dict)  # game -> play id -> as stored
        # game -> play id -> (play as parsed, score before it, play with its significance)
        self.classified: dict[str, dict[str, tuple[Play, tuple[int, int] | None, Play]]] = {}
        self.dirty_pbp: set[str] = set()
        self.last_prices: dict[str, MarketSnapshot] = {}
        self.stored_prices: dict[str, MarketSnapshot] = {}
        self.price_history: dict[str, deque[MarketSnapshot]] = defaultdict(lambda: deque(maxlen=64))
        self.known_markets: dict[str, Any] = {}
        self.recent_plays: dict[str, deque[Play]] = defaultdict(lambda: deque(maxlen=64))
        self.pending_correlations: list[PendingCorrelation] = []
        self.last_run: dict[str, float] = {}
        self._tick = clock.monotonic()
        self.last_errors: dict[str, str | None] = {}  # step -> error of its latest run, None if it worked
        self.injury_baseline = False
        self.cycles = 0
        self.totals: dict[str, int] = defaultdict(int)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The play-by-play fetches, and the Kalshi fetch beside them.
        self._pool = ThreadPoolExecutor(max_workers=settings.pbp_workers + 1, thread_name_prefix="fetch")
        self._last_summary = time.monotonic()
        self._format_alert_sent = False

    # --- lifecycle -----------------------------------------------------------------------------
    def restore_state(self) -> None:
        """Load what detection knew before a restart, so nothing is alerted twice or missed."""
        state = self.db.detection_state()
        for row in state["games"]:
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
        for row in state["prices"]:
            snap = _snapshot(row)
            self.last_prices[snap.ticker] = self.stored_prices[snap.ticker] = snap
        self.injury_baseline = state["injuries_known"]
        self._restore_correlations()
        log.info(
            "Restored state: %d games, %d markets, %d market reactions still to measure",
            len(self.states),
            len(self.last_prices),
            len(self.pending_correlations),
        )

    def _restore_correlations(self) -> None:
        """Significant plays of the last minute whose market reaction was not measured before the
        stop: measure it now, against the prices stored as of each play."""
        now = self.clock.now()
        delay = timedelta(seconds=self.settings.correlation_delay)
        for row in self.db.uncorrelated_plays(now - CORRELATION_EXPIRY):
            play = _play(row)
            before = {p["ticker"]: _snapshot(p) for p in self.db.prices_at(play.game_id, play.wallclock)}
            if before:
                self.pending_correlations.append(
                    PendingCorrelation(play, now, max(now, play.wallclock + delay), before)
                )

    def start(self) -> NFLRealtimeSync:
        """Run cycles in a background thread until `stop()`."""
        self._thread = threading.Thread(target=self.run_forever, name="sync-loop", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def run_forever(self, until: Callable[[], bool] | None = None) -> None:
        """Cycles on a monotonic schedule without drift; an overrun starts the next cycle at once."""
        interval = self.settings.sync_interval
        deadline = self.clock.monotonic()
        while not self._stop.is_set():
            started = self.clock.monotonic()
            self.run_cycle()
            if until is not None and until():
                break
            elapsed = self.clock.monotonic() - started
            deadline += interval
            now = self.clock.monotonic()
            if now > deadline:
                if elapsed > interval:
                    log.warning("Sync cycle took %.2f s, longer than the %.1f s interval", elapsed, interval)
                    self.metrics.cycle_overruns.inc()
                deadline = now
                continue
            self._sleep_until(deadline)

    def _sleep_until(self, deadline: float) -> None:
        # Short steps keep shutdown prompt with any clock (a simulated one advances per step).
        while not self._stop.is_set():
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                return
            self.clock.sleep(min(remaining, 0.25))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # --- one cycle ----------------------------------------------------------------------------
    def run_cycle(self) -> CycleReport:
        started_mono = time.perf_counter()
        now = self.clock.now()
        self._tick = self.clock.monotonic()  # every cadence of this cycle is judged at its start
        report = CycleReport(started=now)
        active = self._active(now)
        fast = self.settings.sync_interval
        slow = self.settings.idle_poll_interval
        if self._due("schedule", self.settings.schedule_interval):
            self._step(report, "schedule", self._sync_schedule)
        prices: Future[list[tuple[ParsedMarket, datetime]]] | None = None
        if self._due("kalshi", fast if active else slow, throttle_source="kalshi"):
            # Kalshi is asked first and answers while the games step works; its markets are mapped
            # and used after that step, which updates the games and schedules the correlations.
            asked = self.clock.now()
            prices = self._pool.submit(self._fetch_prices)
        if self._due("scoreboard", fast if active else slow, throttle_source="espn"):
            self._step(report, "scoreboard", self._sync_games)
        if prices is not None:
            self._step(report, "kalshi", lambda report: self._sync_kalshi(report, prices.result()), started=asked)
        if self.settings.injury_interval and self._due(
            "injuries", self.settings.injury_interval, throttle_source="espn"
        ):
            self._step(report, "injuries", self._sync_injuries)
        if self.settings.weather_interval and self._due("weather", self.settings.weather_interval):
            self._step(report, "weather", self._sync_weather)
        if self.settings.odds_api_key and self._due("odds", self.settings.schedule_interval):
            self._step(report, "odds", self._sync_odds)
        if self._due("health", self.settings.health_interval):
            self._step(report, "health", self._health_checks)
        self._log_syncs(report)
        self._record_health(report)
        # The first cycle starts the sender, which delivers what an earlier run left pending; after
        # that it wakes on new events, and on its own for retries and rested channels.
        if report.events or self.cycles == 0:
            self.alerts.wake()
        elapsed = time.perf_counter() - started_mono
        self.metrics.cycle_duration.observe(elapsed)
        if report.ok:
            self.metrics.last_cycle.set(now.timestamp())
        self.cycles += 1
        self._summarise(report)
        return report

    def _due(self, name: str, interval: float, throttle_source: str | None = None) -> bool:
        """Whether a cadence is due at this cycle's tick; a throttled source waits the idle
        interval instead. Cycles start on a fixed schedule, but sleep overshoot can bring one a
        hair early: the slack keeps such a cycle from pushing a poll a whole interval late."""
        if throttle_source and self.health.is_throttled(throttle_source, self.clock.now()):
            interval = max(interval, self.settings.idle_poll_interval)
        last = self.last_run.get(name)
        if last is not None and self._tick - last < interval - min(0.5, interval / 10):
            return False
        self.last_run[name] = self._tick
        return True

    def _active(self, now: datetime) -> bool:
        """A game is live, or starts within 30 minutes: poll every cycle."""
        for game in self.games.values():
            if game.is_live:
                return True
            if game.state == "pre" and game.start_time and game.start_time - now <= STARTING_SOON:
                return True
        return not self.games  # nothing known yet: look now

    def _step(
        self, report: CycleReport, name: str, fn: Callable[[CycleReport], int], started: datetime | None = None
    ) -> None:
        """Run one step; its failure is logged, counted and recorded, never raised. `started` is
        when the step's work began, when that was before this call (a fetch started earlier)."""
        started = started or self.clock.now()
        status, records, error = "success", 0, None
        try:
            records = fn(report) or 0
        except SourceError as exc:
            status, error = "failed", str(exc)
            log.warning("%s sync failed: %s", name, exc)
            self._record_events(self.health.record_source_error(exc.source.lower(), str(exc), started))
        except KalshiFormatError as exc:
            status, error = "failed", str(exc)
            log.error("%s sync failed: %s", name, exc)
            self._record_events(
                [system_event("critical", "kalshi_format", str(exc), started, started.date().isoformat())]
            )
        except DatabaseError as exc:
            status, error = "failed", str(exc)
            log.error("%s sync failed: %s", name, exc)
        except Exception as exc:  # a bug in one step must not stop the loop; it is logged in full
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            log.exception("%s sync failed unexpectedly", name)
        if error:
            report.failures[name] = error
            self.metrics.cycle_failures.labels(name).inc()
        self.last_errors[name] = error
        report.steps.append(name)
        report.sync_log.append((name, started, self.clock.now(), status, records, error))

    def _log_syncs(self, report: CycleReport) -> None:
        """The cycle's steps into nfl_data_sync_log, in one transaction; a failure is only logged."""
        try:
            self.db.log_syncs(report.sync_log)
        except DatabaseError as exc:
            log.error("Could not record the sync steps %s in nfl_data_sync_log: %s", ", ".join(report.steps), exc)
        except Exception:  # a bookkeeping row must never stop the loop
            log.exception("Could not record the sync steps %s in nfl_data_sync_log", ", ".join(report.steps))

    # --- games and plays ----------------------------------------------------------------------
    def _scoreboard_dates(self, now: datetime) -> str:
        local = now.astimezone(self.settings.timezone)
        day = local.strftime("%Y%m%d")
        if local.hour < 6:  # a late game of yesterday's Eastern date may still be on
            return f"{(local - timedelta(days=1)).strftime('%Y%m%d')}-{day}"
        return day

    def _sync_schedule(self, report: CycleReport) -> int:
        now = self.clock.now()
        local = now.astimezone(self.settings.timezone)
        dates = f"{local.strftime('%Y%m%d')}-{(local + timedelta(days=7)).strftime('%Y%m%d')}"
        games = self.fetcher.get_scoreboard(dates)
        upcoming = [g for g in games if g.game_id not in self.games]
        for game in upcoming:
            self.games[game.game_id] = game
        changed = [g for g in games if self.stored_games.get(g.game_id) != g]
        if changed:
            self.db.upsert_games(changed)
            self.stored_games.update({g.game_id: g for g in changed})
        return len(games)

    def _sync_games(self, report: CycleReport) -> int:
        now = self.clock.now()
        games = self.fetcher.get_scoreboard(self._scoreboard_dates(now))
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
            g.game_id: self._pool.submit(self.fetcher.get_play_by_play, g.game_id, self._wants_player_stats(g))
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
                self._record_events(self.health.record_source_error("espn", str(exc), report.started))
            except Exception as exc:  # a parser bug on one game must not stop the others
                log.exception("Play-by-play of game %s could not be processed", game_id)
                report.failures[f"pbp:{game_id}"] = f"{type(exc).__name__}: {exc}"
                failed.add(game_id)
        report.pbp_fetched = len(summaries)
        return summaries, failed

    def _wants_player_stats(self, game: Game) -> bool:
        """Box scores are stored when the daemon first sees a game and when it ends, not on every play."""
        return game.is_final or game.game_id not in self.states

    def _process_game(self, game: Game, summary: GameSummary | None, now: datetime, report: CycleReport) -> None:
        prev = self.states.get(game.game_id)
        plays: list[Play] | None = None
        if summary is not None:
            plays = self._classify(game.game_id, sorted(summary.plays, key=lambda p: p.sequence_number))
        update = detect_game(prev, game, plays, now)
        changed_plays = self._changed_plays(game.game_id, plays or ())
        game_changed = self.stored_games.get(game.game_id) != game
        if not (game_changed or changed_plays or update.events):
            self.states[game.game_id] = update.state
            return

        def write(tx: Tx) -> int:
            tx.upsert_game(game)
            new = tx.insert_plays(changed_plays)
            if summary is not None and changed_plays:
                ids = {p.play_id for p in changed_plays}
                tx.insert_win_probabilities([w for w in summary.win_probabilities if w.play_id in ids])
                tx.upsert_odds(summary.odds)
            if summary is not None and self._wants_player_stats(game):
                tx.upsert_player_stats(summary.player_stats)
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
                self._schedule_correlation(play, now)

    def _classify(self, game_id: str, plays: Sequence[Play]) -> list[Play]:
        """`with_significance` of the game's plays (in sequence order). A summary repeats every
        play of the game, so a play unchanged since the last summary, with the same score before
        it, keeps the object classified then: nothing to classify or compare again."""
        known = self.classified.get(game_id, {})
        memo: dict[str, tuple[Play, tuple[int, int] | None, Play]] = {}
        result: list[Play] = []
        before: tuple[int, int] | None = None
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

    # --- Kalshi ---------------------------------------------------------------------------------
    def _fetch_prices(self) -> list[tuple[ParsedMarket, datetime]]:
        started = time.perf_counter()
        fetched = self.kalshi.fetch_nfl_markets()
        self.metrics.kalshi_fetch.observe(time.perf_counter() - started)
        return fetched

    def _sync_kalshi(self, report: CycleReport, fetched: Sequence[tuple[ParsedMarket, datetime]]) -> int:
        slate = self.kalshi.map_to_games(fetched, list(self.games.values()))
        now = self.clock.now()
        markets = [m for m in slate.markets if self.known_markets.get(m.ticker) != m]
        snapshots = [s for s in slate.snapshots if worth_storing(s, self.stored_prices.get(s.ticker))]
        recent = self._recent_plays(now)
        spikes = detect_price_spikes(
            self.last_prices, slate.snapshots, Decimal(str(self.settings.price_spike_pct)), Decimal("0.02"), recent
        )
        for snap in slate.snapshots:
            self.price_history[snap.ticker].append(snap)
        due = [job for job in self.pending_correlations if job.due_at <= now]
        correlations, reactions = resolve_correlations(due, slate.snapshots, self.games, now)
        spike_links = spike_correlations(spikes, recent, now)

        def write(tx: Tx) -> int:
            tx.upsert_markets(markets)
            stored = tx.insert_price_snapshots(snapshots)
            tx.insert_correlations(correlations + spike_links)
            self.alerts.record(tx, spikes + reactions, now)
            return stored

        report.snapshots = self.db.run(write)
        self.known_markets.update({m.ticker: m for m in markets})
        self.stored_prices.update({s.ticker: s for s in snapshots})
        self.last_prices.update({s.ticker: s for s in slate.snapshots})
        measured = {c.play_id for c in correlations}
        resolved = {id(job) for job in due if job.play.play_id in measured}
        self.pending_correlations = [
            job
            for job in self.pending_correlations
            if id(job) not in resolved and now - job.due_at < CORRELATION_EXPIRY
        ]
        report.correlations += len(correlations)
        report.events.extend(spikes + reactions)
        return len(slate.snapshots)

    def _recent_plays(self, now: datetime) -> Callable[[str], list[Play]]:
        """game id -> its plays in the RECENT_PLAYS_WINDOW before `now`, worked out on first ask:
        only the games whose markets spiked need them."""
        found: dict[str, list[Play]] = {}

        def recent(game_id: str) -> list[Play]:
            if game_id not in found:
                found[game_id] = plays_before(
                    list(self.recent_plays.get(game_id, ())), now, minutes=RECENT_PLAYS_WINDOW.total_seconds() / 60
                )
            return found[game_id]

        return recent

    def _game_markets(self, game_id: str) -> list[MarketSnapshot]:
        return [s for s in self.last_prices.values() if s.game_id == game_id]

    def _schedule_correlation(self, play: Play, now: datetime) -> None:
        """Capture the game's prices as of the play; the reaction is read `correlation_delay` later."""
        before = prices_at_play(play, self._game_markets(play.game_id), self.price_history.__getitem__)
        if not before:
            return
        delay = timedelta(seconds=self.settings.correlation_delay)
        self.pending_correlations.append(PendingCorrelation(play, now, now + delay, before))

    # --- injuries, weather, odds ------------------------------------------------------------------
    def _sync_injuries(self, report: CycleReport) -> int:
        injuries = self.fetcher.get_injuries()
        now = self.clock.now()
        teams_in_play = frozenset(t for g in self.games.values() if not g.is_final for t in (g.home_team, g.away_team))
        first = not self.injury_baseline

        def write(tx: Tx) -> int:
            new = tx.upsert_injuries(injuries, now)
            # The first list ever fetched is the baseline: those reports are not news.
            events = [] if first else injury_events(new, teams_in_play, now)
            self.alerts.record(tx, events, now)
            report.events.extend(events)
            return len(new)

        new_count = self.db.run(write)
        self.injury_baseline = self.injury_baseline or bool(injuries)
        return new_count

    def _sync_weather(self, report: CycleReport) -> int:
        now = self.clock.now()
        soon = [
            g
            for g in self.games.values()
            if g.state != "post" and g.start_time and g.start_time - now <= timedelta(hours=24)
        ]
        stored = 0
        for game in soon:
            weather = self.fetcher.get_weather_for_game(game)
            if weather is not None:
                self.db.upsert_weather(game.game_id, weather)
                stored += 1
        return stored

    def _sync_odds(self, report: CycleReport) -> int:
        lines = self.fetcher.get_odds(list(self.games.values()))
        return self.db.upsert_odds(lines)

    # --- health -----------------------------------------------------------------------------------
    def _health_checks(self, report: CycleReport) -> int:
        now = self.clock.now()
        checks: dict[str, Callable[[], None]] = {"database": self.db.ping}
        checks.update(
            {source: self._step_check(step) for source, step in (("espn", "scoreboard"), ("kalshi", "kalshi"))}
        )
        checks.update(self.alerts.health_checks())
        paths = [p for p in (self.settings.log_dir, self.settings.database.embedded_dir) if Path(p).exists()]
        events = run_checks(checks, paths, now)
        self._record_events(events)
        return len(events)

    def _step_check(self, step: str) -> Callable[[], None]:
        """A health check that fails while the latest run of `step` failed."""

        def check() -> None:
            error = self.last_errors.get(step)
            if error:
                raise RuntimeError(error)

        return check

    def _record_health(self, report: CycleReport) -> None:
        self._record_events(self.health.record_cycle(report.ok, report.started, report.failures))

    def _record_events(self, events: Sequence[Event]) -> None:
        """Record events outside a state change (system alerts); a dead database only logs them."""
        if not events:
            return
        now = self.clock.now()
        try:
            self.db.run(lambda tx: self.alerts.record(tx, events, now))
        except DatabaseError as exc:
            for event in events:
                log.error("Could not record %s alert (%s): %s", event.alert_type, exc, event.fields().get("message"))
        self.alerts.wake()

    def _summarise(self, report: CycleReport) -> None:
        for key in ("plays_stored", "snapshots", "correlations", "pbp_fetched"):
            self.totals[key] += getattr(report, key)
        self.totals["events"] += len(report.events)
        self.totals["failed_steps"] += len(report.failures)
        # Real seconds: the summary is for the operator watching the log, also during replays.
        if time.monotonic() - self._last_summary < SUMMARY_EVERY:
            return
        self._last_summary = time.monotonic()
        log.info(
            "Summary: %d cycles, %d live games, %d plays stored, %d price snapshots, %d correlations, "
            "%d events, %d failed steps",
            self.cycles,
            report.live_games,
            self.totals["plays_stored"],
            self.totals["snapshots"],
            self.totals["correlations"],
            self.totals["events"],
            self.totals["failed_steps"],
        )


def _snapshot(row: dict) -> MarketSnapshot:
    return MarketSnapshot(
        row["ticker"],
        row["ts"],
        row["yes_bid"],
        row["yes_ask"],
        row["last_price"],
        row["volume"],
        row["open_interest"],
        row["game_id"],
        row["event_ticker"],
    )


def _play(row: dict) -> Play:
    """A stored play back as the model (columns the model lacks are left out)."""
    values = {f.name: row[f.name] for f in fields(Play) if f.name in row}
    values["significance"] = tuple(row["significance"] or ())
    return Play(**values)
