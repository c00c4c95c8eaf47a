"""The figures of a backtest, read from the database so that replays run in several processes
share one report: one query per part of the replay report (`nfl_replay.report`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from psycopg2.extras import RealDictCursor, RealDictRow

from nfl_sync.storage.sql import mid_price


class BacktestRepository:
    """Read-only; every query takes the replayed games' ids."""

    def __init__(self, cur: RealDictCursor):
        self.cur = cur

    def games(self, game_ids: Sequence[str]) -> list[RealDictRow]:
        """The games with their final state and the plays stored."""
        self.cur.execute(
            "SELECT game_id, away_team, home_team, away_score, home_score, state, "
            "(SELECT count(*) FROM v_nfl_plays p WHERE p.game_id = g.game_id) AS plays "
            "FROM nfl_games g WHERE game_id = ANY(%s) ORDER BY start_time, game_id",
            (list(game_ids),),
        )
        return self.cur.fetchall()

    def alert_outcomes(self, game_ids: Sequence[str]) -> list[RealDictRow]:
        """Alerts per game, type and status (sent, failed, suppressed, pending)."""
        self.cur.execute(
            "SELECT game_id, alert_type, status, count(*) AS n FROM nfl_alert_history "
            "WHERE game_id = ANY(%s) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            (list(game_ids),),
        )
        return self.cur.fetchall()

    def alert_latencies(self, game_ids: Sequence[str]) -> list[RealDictRow]:
        """Each alert about a play: seconds from the play's wall clock to the alert's recording and
        to its sending (None until sent), on the clock that wrote them."""
        self.cur.execute(
            "SELECT h.game_id, h.alert_type, "
            "extract(epoch FROM h.created_at - p.wallclock)::float8 AS recorded_s, "
            "extract(epoch FROM h.sent_at - p.wallclock)::float8 AS sent_s "
            "FROM nfl_alert_history h JOIN nfl_plays p "
            "ON p.game_id = h.game_id AND p.play_id = h.payload->'data'->>'play_id' "
            "WHERE h.game_id = ANY(%s) AND p.wallclock IS NOT NULL ORDER BY h.id",
            (list(game_ids),),
        )
        return self.cur.fetchall()

    def correlations(self, game_ids: Sequence[str]) -> list[RealDictRow]:
        """Play-to-price correlations per game and impact level, with sums (means pool across games)."""
        self.cur.execute(
            "SELECT game_id, impact_level, count(*) AS n, count(change_pct) AS n_change, "
            "coalesce(sum(abs(change_pct)), 0) AS sum_abs_change_pct, "
            "count(seconds_after) AS n_seconds, coalesce(sum(seconds_after), 0) AS sum_seconds_after "
            "FROM nfl_kalshi_correlations WHERE game_id = ANY(%s) GROUP BY 1, 2 ORDER BY 1, 2",
            (list(game_ids),),
        )
        return self.cur.fetchall()

    def measured_plays(self, game_ids: Sequence[str]) -> list[RealDictRow]:
        """The plays whose market reaction was measured (not the spikes linked to plays before
        them), with their wall clock and each impact level measured on one of their markets."""
        self.cur.execute(
            "SELECT DISTINCT c.game_id, c.play_id, p.wallclock, c.impact_level "
            "FROM nfl_kalshi_correlations c JOIN nfl_plays p USING (game_id, play_id) "
            "WHERE c.game_id = ANY(%s) AND c.event_type <> 'price_spike' AND p.wallclock IS NOT NULL "
            "ORDER BY 1, 3, 2",
            (list(game_ids),),
        )
        return self.cur.fetchall()

    def price_moves(self, game_ids: Sequence[str], min_pct: Decimal, min_move: Decimal) -> list[RealDictRow]:
        """Moves of the games' markets between consecutive stored prices of at least `min_pct`
        percent and `min_move` dollars of the mid (bid/ask midpoint, else last trade), as the
        daemon's spike detection measures them: only these can be a market's reaction."""
        self.cur.execute(
            "SELECT game_id, ticker, ts, round(move / before * 100, 2) AS change_pct FROM ("
            "  SELECT game_id, ticker, ts, mid - before AS move, before"
            "  FROM (SELECT m.game_id, p.ticker, p.ts, mid.mid, lag(mid.mid) OVER (PARTITION BY p.ticker ORDER BY p.ts)"
            "        AS before"
            "        FROM nfl_kalshi_prices p JOIN nfl_kalshi_markets m USING (ticker),"
            f"        LATERAL (SELECT {mid_price('p')} AS mid) mid"
            "        WHERE m.game_id = ANY(%s)) priced"
            "  WHERE before <> 0) moves "
            # Exact, as the daemon's is_spike: a 9.996 % move is no 10 % move.
            "WHERE abs(move) * 100 >= %s * before AND abs(move) >= %s ORDER BY game_id, ts, ticker",
            (list(game_ids), min_pct, min_move),
        )
        return self.cur.fetchall()
