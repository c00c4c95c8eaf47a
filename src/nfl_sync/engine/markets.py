"""The Kalshi markets the daemon follows: price snapshots, spikes, and reactions to plays.

Each poll maps the open NFL markets to ESPN games, stores the snapshots worth storing, detects
price spikes, and resolves the market reactions that came due: a significant play captured its
game's prices when it happened, and the first poll `CORRELATION_DELAY` later measures the move.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from nfl_sync.domain.markets import (
    PendingCorrelation,
    detect_price_spikes,
    plays_before,
    prices_at_play,
    resolve_correlations,
    spike_correlations,
    worth_storing,
)
from nfl_sync.domain.models import Game, KalshiMarket, MarketSnapshot, Play
from nfl_sync.engine.protocols import FetchedMarkets, Shell
from nfl_sync.engine.report import CycleReport
from nfl_sync.storage.tx import Tx

RECENT_PLAYS_WINDOW = timedelta(minutes=3)
CORRELATION_EXPIRY = timedelta(seconds=60)
MIN_SPIKE_MOVE = Decimal("0.02")  # dollars: one-cent wiggles in cheap markets are not spikes


class MarketTracker:
    """What the daemon knows of each market, and the Kalshi step that updates it."""

    def __init__(
        self,
        shell: Shell,
        *,
        games: Callable[[], dict[str, Game]],
        recent_plays: Callable[[str], Sequence[Play]],
    ):
        self.settings = shell.settings
        self.clock = shell.clock
        self.db = shell.db
        self.kalshi = shell.kalshi
        self.alerts = shell.alerts
        self.metrics = shell.metrics
        self.games = games
        self.recent_plays = recent_plays
        self.last_prices: dict[str, MarketSnapshot] = {}
        self.stored_prices: dict[str, MarketSnapshot] = {}
        self.price_history: dict[str, deque[MarketSnapshot]] = defaultdict(lambda: deque(maxlen=64))
        self.known_markets: dict[str, KalshiMarket] = {}
        self.pending_correlations: list[PendingCorrelation] = []

    def restore(self, prices: Sequence[MarketSnapshot]) -> None:
        """The newest stored price of every market, and the market reactions a stop interrupted:
        significant plays of the last minute not measured yet, against the prices stored as of
        each play."""
        for snap in prices:
            self.last_prices[snap.ticker] = self.stored_prices[snap.ticker] = snap
        now = self.clock.now()
        delay = timedelta(seconds=self.settings.correlation_delay)

        def unmeasured(tx: Tx) -> list[tuple[Play, datetime, list[MarketSnapshot]]]:
            plays = tx.markets.uncorrelated_plays(now - CORRELATION_EXPIRY)
            return [(p, p.wallclock, tx.markets.prices_at(p.game_id, p.wallclock)) for p in plays if p.wallclock]

        for play, wallclock, stored in self.db.run(unmeasured):
            before = {snap.ticker: snap for snap in stored}
            if before:
                self.pending_correlations.append(PendingCorrelation(play, now, max(now, wallclock + delay), before))

    def fetch(self) -> FetchedMarkets:
        """The open NFL markets, timed for the metrics (runs in the fetch pool)."""
        started = time.perf_counter()
        fetched = self.kalshi.fetch_nfl_markets()
        self.metrics.kalshi_fetch.observe(time.perf_counter() - started)
        return fetched

    def sync(self, report: CycleReport, fetched: FetchedMarkets) -> int:
        """Store this poll's markets and prices with their spikes, correlations and reactions."""
        games = self.games()
        slate = self.kalshi.map_to_games(fetched, list(games.values()))
        now = self.clock.now()
        markets = [m for m in slate.markets if self.known_markets.get(m.ticker) != m]
        snapshots = [s for s in slate.snapshots if worth_storing(s, self.stored_prices.get(s.ticker))]
        recent = self._recent_plays(now)
        threshold = Decimal(str(self.settings.price_spike_pct))
        spikes = detect_price_spikes(self.last_prices, slate.snapshots, threshold, MIN_SPIKE_MOVE, recent)
        for snap in slate.snapshots:
            self.price_history[snap.ticker].append(snap)
        due = [job for job in self.pending_correlations if job.due_at <= now]
        correlations, reactions = resolve_correlations(due, slate.snapshots, games, now)
        spike_links = spike_correlations(spikes, recent, now)

        def write(tx: Tx) -> int:
            tx.markets.upsert_markets(markets)
            stored = tx.markets.insert_price_snapshots(snapshots)
            tx.markets.insert_correlations(correlations + spike_links)
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

    def schedule_correlation(self, play: Play, now: datetime) -> None:
        """Capture the game's prices as of the play; the reaction is read `correlation_delay` later."""
        latest = [s for s in self.last_prices.values() if s.game_id == play.game_id]
        before = prices_at_play(play, latest, self.price_history.__getitem__)
        if not before:
            return
        delay = timedelta(seconds=self.settings.correlation_delay)
        self.pending_correlations.append(PendingCorrelation(play, now, now + delay, before))

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
