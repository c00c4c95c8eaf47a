"""The Kalshi lane: price snapshots, spikes, and how markets reacted to plays.

Each poll maps the open NFL markets to ESPN games, stores the snapshots worth storing, detects
price spikes, and resolves the market reactions that came due: a significant play captured its
game's prices when the play-by-play lane saw it, and the first poll `CORRELATION_DELAY` later
measures the move. A Kalshi that is slow or silent holds only this lane.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime, timedelta
from decimal import Decimal

from nfl_sync.domain.errors import DatabaseError
from nfl_sync.domain.events import Event
from nfl_sync.domain.markets import (
    MoveContext,
    PendingCorrelation,
    detect_price_spikes,
    no_longer_trading,
    plays_before,
    prices_at_play,
    resolve_correlations,
    spike_correlations,
    worth_storing,
)
from nfl_sync.domain.models import Correlation, KalshiMarket, MarketSnapshot, Play
from nfl_sync.engine.board import GameBoard
from nfl_sync.engine.edges import EdgeWatch
from nfl_sync.engine.held_prices import HeldSnapshots
from nfl_sync.engine.lanes import Lane, StepRunner
from nfl_sync.engine.protocols import FetchedMarkets
from nfl_sync.engine.report import CycleReport
from nfl_sync.engine.scheduling import poll_interval
from nfl_sync.engine.shell import Shell
from nfl_sync.storage.tx import Tx

log = logging.getLogger(__name__)

RECENT_PLAYS_WINDOW = timedelta(minutes=3)
CORRELATION_EXPIRY = timedelta(seconds=60)


class MarketLane(Lane):
    """What the daemon knows of each market, polled every SYNC_INTERVAL while a game is on."""

    name = "kalshi"

    def __init__(
        self, shell: Shell, *, board: GameBoard, recent_plays: Callable[[str], Sequence[Play]], runner: StepRunner
    ):
        super().__init__(shell)
        self.board = board
        self.runner = runner
        # Prices polled while the database is away: a past price cannot be asked for again.
        self.held = HeldSnapshots(shell.settings.database.hold_dir / "kalshi_prices.jsonl")
        self.writes_failing = False
        self.recent_plays = recent_plays
        self.last_prices: dict[str, MarketSnapshot] = {}
        self.stored_prices: dict[str, MarketSnapshot] = {}
        self.price_history: dict[str, deque[MarketSnapshot]] = defaultdict(lambda: deque(maxlen=64))
        self.known_markets: dict[str, KalshiMarket] = {}
        self.pending_correlations: list[PendingCorrelation] = []
        # (play id, ticker) -> (impact level, when measured): the play reactions a price alert
        # may name, kept for as long as a play counts as recent.
        self.measured: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.edges = EdgeWatch(shell, board)
        # The play-by-play lane schedules correlations while this lane reads prices.
        self._lock = threading.Lock()
        self.prefetched: Future[FetchedMarkets] | None = None  # a fetch started early (sequential cycles)

    def restore(self, prices: Sequence[MarketSnapshot]) -> None:
        """The newest stored price of every market, and the market reactions a stop interrupted:
        significant plays of the last minute not measured yet, against the prices stored as of
        each play."""
        for snap in prices:
            self.last_prices[snap.ticker] = self.stored_prices[snap.ticker] = snap
        now = self.shell.clock.now()
        delay = timedelta(seconds=self.shell.settings.correlation_delay)

        def unmeasured(tx: Tx) -> list[tuple[Play, datetime, list[MarketSnapshot]]]:
            plays = tx.markets.uncorrelated_plays(now - CORRELATION_EXPIRY)
            return [(p, p.wallclock, tx.markets.prices_at(p.game_id, p.wallclock)) for p in plays if p.wallclock]

        for play, wallclock, stored in self.shell.db.run(unmeasured):
            before = {snap.ticker: snap for snap in stored}
            if before:
                self.pending_correlations.append(PendingCorrelation(play, now, max(now, wallclock + delay), before))

    def interval(self, now: datetime) -> float:
        return poll_interval(self.shell.settings, self.board.snapshot().values(), now)

    def fetch(self) -> FetchedMarkets:
        """The open NFL markets, timed for the metrics."""
        started = time.perf_counter()
        fetched = self.shell.kalshi.fetch_nfl_markets()
        self.shell.metrics.kalshi_fetch.observe(time.perf_counter() - started)
        return fetched

    def step(self, report: CycleReport) -> int:
        """Store this poll's markets and prices with their spikes, correlations and reactions."""
        shell = self.shell
        prefetched, self.prefetched = self.prefetched, None
        # Every Kalshi call is bounded by its deadline; one per series, plus the markets' pages.
        limit = shell.settings.http_deadline * (len(shell.settings.kalshi_series) + 1)
        fetched = prefetched.result(limit) if prefetched is not None else self.fetch()
        games = self.board.snapshot()
        slate = shell.kalshi.map_to_games(fetched, list(games.values()))
        now = shell.clock.now()
        markets = [m for m in slate.markets if self.known_markets.get(m.ticker) != m]
        with self._lock:
            gone = no_longer_trading(self.last_prices.keys() | self.known_markets.keys(), slate.markets)
        edge_quotes = self.edges.quotes(slate, games)
        books = self.edges.read_books(edge_quotes, now)
        # A snapshot whose book was read is stored with it.
        snapshots = [
            s for s in slate.snapshots if s.ticker in books or worth_storing(s, self.stored_prices.get(s.ticker))
        ]
        recent = self._recent_plays(now)
        with self._lock:
            for snap in slate.snapshots:
                self.price_history[snap.ticker].append(snap)
            due = [job for job in self.pending_correlations if job.due_at <= now]
        # Reactions first, so a spike's alert gives a play measured by this poll its own impact.
        correlations, reactions = resolve_correlations(due, slate.snapshots, games, now)
        impacts = {key: level for key, (level, _) in self.measured.items()}
        impacts.update({(c.play_id, c.ticker): c.impact_level for c in correlations})
        context = MoveContext({m.ticker: m for m in slate.markets}, games, recent, impacts)
        settings = shell.settings
        thresholds = Decimal(str(settings.price_spike_pct)), Decimal(str(settings.price_spike_min_cents))
        spikes = detect_price_spikes(self.last_prices, slate.snapshots, *thresholds, context)
        spike_links = spike_correlations(spikes, recent, now)
        edges, edge_sides = self.edges.detect(edge_quotes, books, now)

        # What was held is read (the spill file too) only once a write went through again: not
        # on every poll of the outage.
        held = self.held.held() if not self.writes_failing and len(self.held) else []

        def write(tx: Tx, alerts: Sequence[Event]) -> int:
            tx.markets.upsert_markets(markets)
            stored = tx.markets.insert_price_snapshots(held + snapshots)
            tx.markets.upsert_book_levels(books.values())
            tx.markets.mark_closed(gone)
            tx.markets.insert_correlations(correlations + spike_links)
            shell.alerts.record(tx, alerts, now)
            return stored

        try:
            report.snapshots = self.runner.write(spikes + reactions + edges, now, write)
        except DatabaseError:
            self.writes_failing = True
            self.held.hold(snapshots)
            self.stored_prices.update({s.ticker: s for s in snapshots})  # as good as stored: they will be
            raise
        self.writes_failing = False
        if held:
            log.info("Wrote %d Kalshi price snapshots held during the database outage", len(held))
            self.held.clear()
        self.known_markets.update({m.ticker: m for m in markets})
        self.stored_prices.update({s.ticker: s for s in snapshots})
        self._remember_measured(correlations, now)
        self.edges.commit(edge_sides, books)
        measured = {c.play_id for c in correlations}
        resolved = {id(job) for job in due if job.play.play_id in measured}
        with self._lock:
            self.last_prices.update({s.ticker: s for s in slate.snapshots})
            self._forget(gone)
            self.pending_correlations = [
                job
                for job in self.pending_correlations
                if id(job) not in resolved and now - job.due_at < CORRELATION_EXPIRY
            ]
        report.correlations += len(correlations)
        report.events.extend(spikes + reactions + edges)
        if spikes or reactions or edges:
            shell.alerts.wake()
        return len(slate.snapshots)

    def _remember_measured(self, correlations: Sequence[Correlation], now: datetime) -> None:
        """Keep the impact of each stored play reaction while its play is recent; drop older ones."""
        self.measured.update({(c.play_id, c.ticker): (c.impact_level, now) for c in correlations})
        self.measured = {key: seen for key, seen in self.measured.items() if now - seen[1] <= RECENT_PLAYS_WINDOW}

    def _forget(self, tickers: set[str]) -> None:
        """Drop what is kept of markets that closed or settled (their price history is ~47 KB
        each): a season's markets would otherwise all stay in memory. Holds the lock."""
        for ticker in tickers:
            for held in (self.last_prices, self.stored_prices, self.price_history, self.known_markets):
                held.pop(ticker, None)
        self.edges.forget(tickers)

    def schedule_correlation(self, play: Play, now: datetime) -> None:
        """Capture the game's prices as of the play; the reaction is read `correlation_delay`
        later. Any thread."""
        with self._lock:
            latest = [s for s in self.last_prices.values() if s.game_id == play.game_id]
            before = prices_at_play(play, latest, lambda ticker: list(self.price_history[ticker]))
            if not before:
                return
            delay = timedelta(seconds=self.shell.settings.correlation_delay)
            self.pending_correlations.append(PendingCorrelation(play, now, now + delay, before))

    def pending(self) -> list[PendingCorrelation]:
        with self._lock:
            return list(self.pending_correlations)

    def _recent_plays(self, now: datetime) -> Callable[[str], list[Play]]:
        """game id -> its plays in the RECENT_PLAYS_WINDOW before `now`, worked out on first ask:
        only the games whose markets spiked need them."""
        found: dict[str, list[Play]] = {}
        minutes = RECENT_PLAYS_WINDOW.total_seconds() / 60

        def recent(game_id: str) -> list[Play]:
            if game_id not in found:
                found[game_id] = plays_before(list(self.recent_plays(game_id)), now, minutes=minutes)
            return found[game_id]

        return recent
