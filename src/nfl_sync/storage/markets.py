"""Kalshi markets, their price snapshots, and the measured market moves after plays."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from psycopg2.extras import RealDictCursor

from nfl_sync.domain.markets import TRADING_STATUSES
from nfl_sync.domain.models import BookLevels, Correlation, KalshiMarket, MarketSnapshot, Play
from nfl_sync.storage.games import play_of_row
from nfl_sync.storage.sql import delete_older_than, execute_values, mid_price


class MarketRepository:
    """The markets-and-prices family of tables, inside one transaction (`tx.markets`)."""

    def __init__(self, cur: RealDictCursor):
        self.cur = cur

    def upsert_markets(self, markets: Iterable[KalshiMarket]) -> int:
        rows = [
            (
                m.ticker,
                m.event_ticker,
                m.series_ticker,
                m.title,
                m.status,
                m.market_kind,
                m.away_team,
                m.home_team,
                m.game_date,
                m.team,
                m.line,
                m.close_time,
                m.game_id,
            )
            for m in markets
        ]
        execute_values(
            self.cur,
            "INSERT INTO nfl_kalshi_markets (ticker, event_ticker, series_ticker, title, status, "
            "market_kind, away_team, home_team, game_date, team, line, close_time, game_id) "
            "SELECT v.ticker, v.event_ticker, v.series_ticker, v.title, v.status, v.market_kind, "
            "v.away_team, v.home_team, v.game_date::date, v.team, v.line::numeric, "
            "v.close_time::timestamptz, g.game_id FROM (VALUES %s) AS v(ticker, event_ticker, "
            "series_ticker, title, status, market_kind, away_team, home_team, game_date, team, line, "
            "close_time, game_id) LEFT JOIN nfl_games g ON g.game_id = v.game_id "
            "ON CONFLICT (ticker) DO UPDATE SET status = EXCLUDED.status, title = EXCLUDED.title, "
            "close_time = EXCLUDED.close_time, line = COALESCE(EXCLUDED.line, nfl_kalshi_markets.line), "
            "game_id = COALESCE(EXCLUDED.game_id, nfl_kalshi_markets.game_id), last_updated = now()",
            rows,
        )
        return len(rows)

    def mark_closed(self, tickers: Iterable[str]) -> int:
        """Markets that left Kalshi's listing of open markets are closed (or settled): said so, so
        that a restart does not load them again. A market stored with a later status keeps it."""
        self.cur.execute(
            "UPDATE nfl_kalshi_markets SET status = 'closed', last_updated = now() "
            "WHERE ticker = ANY(%s) AND status = ANY(%s)",
            (sorted(tickers), sorted(TRADING_STATUSES)),
        )
        return self.cur.rowcount

    def insert_price_snapshots(self, snapshots: Iterable[MarketSnapshot]) -> int:
        """Store snapshots of stored markets (others are skipped, as are repeats of a ticker and
        time); a game id not stored is kept as NULL. Returns how many rows were new."""
        columns = list(
            zip(
                *(
                    (s.ticker, s.ts, s.yes_bid, s.yes_ask, s.last_price, s.volume, s.open_interest, s.game_id)
                    for s in snapshots
                ),
                strict=False,
            )
        )
        if not columns:
            return 0
        # Whole columns as arrays: psycopg2 adapts a list in C, where execute_values would build
        # the SQL row by row in Python; every cycle stores a snapshot of each live market.
        self.cur.execute(
            "INSERT INTO nfl_kalshi_prices (ticker, ts, yes_bid, yes_ask, last_price, volume, open_interest, "
            "game_id) SELECT v.ticker, v.ts, v.yes_bid, v.yes_ask, v.last_price, v.volume, v.open_interest, "
            "g.game_id FROM unnest(%s::text[], %s::timestamptz[], %s::numeric[], %s::numeric[], %s::numeric[], "
            "%s::numeric[], %s::numeric[], %s::text[]) AS v(ticker, ts, yes_bid, yes_ask, last_price, volume, "
            "open_interest, game_id) JOIN nfl_kalshi_markets m ON m.ticker = v.ticker "
            "LEFT JOIN nfl_games g ON g.game_id = v.game_id "
            "ON CONFLICT (ticker, ts) DO NOTHING",
            [list(column) for column in columns],
        )
        return self.cur.rowcount

    def upsert_book_levels(self, books: Iterable[BookLevels]) -> int:
        """Store the top of each book beside its snapshot (one whose snapshot is not stored is
        skipped); a repeat changes nothing, a different book for the same moment replaces it."""
        rows = [
            (
                b.ticker,
                b.ts,
                [price for price, _ in b.yes_bids],
                [size for _, size in b.yes_bids],
                [price for price, _ in b.no_bids],
                [size for _, size in b.no_bids],
            )
            for b in books
        ]
        if not rows:
            return 0
        execute_values(
            self.cur,
            "INSERT INTO nfl_kalshi_orderbook (ticker, ts, yes_price, yes_size, no_price, no_size) "
            "SELECT v.ticker, v.ts::timestamptz, v.yes_price::numeric[], v.yes_size::numeric[], "
            "v.no_price::numeric[], v.no_size::numeric[] "
            "FROM (VALUES %s) AS v(ticker, ts, yes_price, yes_size, no_price, no_size) "
            "JOIN nfl_kalshi_prices p ON p.ticker = v.ticker AND p.ts = v.ts::timestamptz "
            "ON CONFLICT (ticker, ts) DO UPDATE SET yes_price = EXCLUDED.yes_price, yes_size = EXCLUDED.yes_size, "
            "no_price = EXCLUDED.no_price, no_size = EXCLUDED.no_size "
            "WHERE (nfl_kalshi_orderbook.yes_price, nfl_kalshi_orderbook.yes_size, nfl_kalshi_orderbook.no_price, "
            "nfl_kalshi_orderbook.no_size) IS DISTINCT FROM "
            "(EXCLUDED.yes_price, EXCLUDED.yes_size, EXCLUDED.no_price, EXCLUDED.no_size)",
            rows,
        )
        return self.cur.rowcount

    def insert_correlations(self, correlations: Iterable[Correlation]) -> int:
        rows = [
            (
                c.game_id,
                c.play_id,
                c.ticker,
                c.event_type,
                c.price_before,
                c.price_after,
                c.change_pct,
                c.impact_level,
                c.seconds_after,
                c.play_time,
                c.created_at,
            )
            for c in correlations
        ]
        results = execute_values(
            self.cur,
            "INSERT INTO nfl_kalshi_correlations (game_id, play_id, ticker, event_type, price_before, "
            "price_after, change_pct, impact_level, seconds_after, play_time, created_at) VALUES %s "
            "ON CONFLICT (game_id, play_id, ticker, event_type) DO NOTHING RETURNING 1",
            rows,
            fetch=True,
        )
        return len(results)

    def latest_prices(self) -> list[MarketSnapshot]:
        """The newest stored snapshot of every market still trading (one index probe per market,
        so the cost does not grow with the price history)."""
        self.cur.execute(
            "SELECT p.*, m.event_ticker, m.market_kind FROM nfl_kalshi_markets m "
            "CROSS JOIN LATERAL (SELECT * FROM nfl_kalshi_prices p WHERE p.ticker = m.ticker "
            "ORDER BY p.ts DESC LIMIT 1) p WHERE m.status = ANY(%s)",
            (sorted(TRADING_STATUSES),),
        )
        return [_snapshot(row) for row in self.cur.fetchall()]

    def candles_from(self, lookback: timedelta) -> datetime | None:
        """Where the next roll-up into candles starts: the minute of the oldest snapshot taken
        at or after `lookback` before the newest candle (of all snapshots when there is no
        candle yet); None when there is none."""
        self.cur.execute(
            "SELECT date_trunc('minute', min(ts)) AS start FROM nfl_kalshi_prices WHERE ts >= "
            "coalesce((SELECT max(minute) FROM nfl_kalshi_candles) - %s, '-infinity')",
            (lookback,),
        )
        row = self.cur.fetchone()
        return row["start"] if row else None

    def snapshots_from(self, at: datetime) -> datetime | None:
        """The minute of the oldest snapshot taken at or after `at`; None when there is none."""
        self.cur.execute("SELECT date_trunc('minute', min(ts)) AS start FROM nfl_kalshi_prices WHERE ts >= %s", (at,))
        row = self.cur.fetchone()
        return row["start"] if row else None

    def roll_up_candles(self, since: datetime, until: datetime) -> int:
        """Upsert the 1-minute candles of every market from the snapshots in [since, until):
        open/high/low/close of the mid (as `MarketSnapshot.mid`: the bid/ask midpoint, else the
        last trade), the cumulative volume at the minute's last snapshot. Each candle is rebuilt
        from all of its minute's snapshots, so rolling a minute up again changes nothing (and
        takes in a snapshot written late). Pass minute boundaries. Returns the candles written."""
        self.cur.execute(
            "INSERT INTO nfl_kalshi_candles AS c (ticker, minute, open, high, low, close, volume, snapshots, game_id) "
            "SELECT ticker, date_trunc('minute', ts), "
            "(array_agg(mid ORDER BY ts) FILTER (WHERE mid IS NOT NULL))[1], max(mid), min(mid), "
            "(array_agg(mid ORDER BY ts DESC) FILTER (WHERE mid IS NOT NULL))[1], "
            "(array_agg(volume ORDER BY ts DESC) FILTER (WHERE volume IS NOT NULL))[1], count(*), "
            "(array_agg(game_id ORDER BY ts DESC) FILTER (WHERE game_id IS NOT NULL))[1] "
            f"FROM (SELECT ticker, ts, {mid_price()} AS mid, volume, game_id "
            "FROM nfl_kalshi_prices WHERE ts >= %s AND ts < %s) p GROUP BY 1, 2 "
            "ON CONFLICT (ticker, minute) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, "
            "low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume, snapshots = EXCLUDED.snapshots, "
            "game_id = EXCLUDED.game_id WHERE (c.open, c.high, c.low, c.close, c.volume, c.snapshots, c.game_id) "
            "IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume, "
            "EXCLUDED.snapshots, EXCLUDED.game_id)",
            (since, until),
        )
        return self.cur.rowcount

    def prune_prices(self, before: datetime, limit: int) -> int:
        """Delete at most `limit` snapshots taken before `before` (rolled up into candles first)."""
        return delete_older_than(self.cur, "nfl_kalshi_prices", before, limit)

    def uncorrelated_plays(self, since: datetime) -> list[Play]:
        """Significant plays since `since` whose market reaction was not stored yet (a restart
        came between the play and its measurement)."""
        self.cur.execute(
            "SELECT p.* FROM v_nfl_plays p JOIN nfl_games g USING (game_id) "
            "WHERE p.significance <> '{}' AND p.wallclock >= %s AND g.state <> 'post' AND NOT EXISTS ("
            "SELECT 1 FROM nfl_kalshi_correlations c WHERE c.game_id = p.game_id AND c.play_id = p.play_id "
            "AND c.event_type <> 'price_spike') ORDER BY p.game_id, p.sequence_number",
            (since,),
        )
        return [play_of_row(row) for row in self.cur.fetchall()]

    def prices_at(self, game_id: str, at: datetime) -> list[MarketSnapshot]:
        """The latest stored snapshot at or before `at` of each market of a game."""
        self.cur.execute(
            "SELECT p.*, m.event_ticker FROM nfl_kalshi_markets m CROSS JOIN LATERAL ("
            "SELECT * FROM nfl_kalshi_prices p WHERE p.ticker = m.ticker AND p.ts <= %s "
            "ORDER BY p.ts DESC LIMIT 1) p WHERE m.game_id = %s",
            (at, game_id),
        )
        return [_snapshot(row) for row in self.cur.fetchall()]


def _snapshot(row: dict[str, Any]) -> MarketSnapshot:
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
