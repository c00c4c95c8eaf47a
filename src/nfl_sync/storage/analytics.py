"""Read-only questions about the stored data: live games, scoring, market moves, sync health,
the `report` command's day, and the figures of a backtest (the `backtest_*` queries, one per part
of the replay report)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from psycopg2.extras import RealDictCursor, RealDictRow

from nfl_sync.domain.daily_report import (
    AlertCount,
    DailyReport,
    ImpactStat,
    Opportunity,
    SyncStat,
    day_bounds,
)
from nfl_sync.domain.errors import DatabaseError

# The opportunities the report lists, largest gap first.
REPORT_OPPORTUNITIES = 20


class AnalyticsRepository:
    """The views and summaries an operator or a backtest asks for (`tx.analytics`)."""

    def __init__(self, cur: RealDictCursor):
        self.cur = cur

    def live_games(self) -> list[RealDictRow]:
        self.cur.execute("SELECT * FROM v_nfl_live_games ORDER BY game_id")
        return self.cur.fetchall()

    def scoring_summary(self, game_id: str) -> list[RealDictRow]:
        self.cur.execute(
            "SELECT play_id, period, clock, team, type, text, score_value, home_score, away_score "
            "FROM v_nfl_plays WHERE game_id = %s AND scoring_play ORDER BY sequence_number",
            (game_id,),
        )
        return self.cur.fetchall()

    def correlation_stats(self) -> list[RealDictRow]:
        """Average market move by play type and impact: how markets answer each kind of play."""
        self.cur.execute(
            "SELECT event_type, impact_level, count(*) AS n, round(avg(change_pct), 2) AS avg_change_pct, "
            "round(avg(abs(change_pct)), 2) AS avg_abs_change_pct, round(avg(seconds_after), 1) AS avg_seconds "
            "FROM nfl_kalshi_correlations GROUP BY event_type, impact_level ORDER BY event_type, impact_level"
        )
        return self.cur.fetchall()

    def sync_performance(self) -> list[RealDictRow]:
        self.cur.execute("SELECT * FROM v_nfl_sync_performance ORDER BY sync_type")
        return self.cur.fetchall()

    def kalshi_opportunities(self, min_edge: Decimal = Decimal("0.05")) -> list[RealDictRow]:
        """The view's rows of every game, finished ones too (`state`), largest gap first."""
        self.cur.execute(
            "SELECT * FROM v_nfl_kalshi_opportunities WHERE abs(edge) >= %s ORDER BY abs(edge) DESC", (min_edge,)
        )
        return self.cur.fetchall()

    def daily_report(self, day: date) -> DailyReport:
        """New York's `day` (`day_bounds`) in figures, read in one read-only transaction so the
        parts agree with each other and nothing can be written by mistake."""
        self.cur.execute("SET TRANSACTION READ ONLY")
        self.cur.execute("SELECT to_regclass('nfl_data_sync_log') IS NOT NULL AS present")
        row = self.cur.fetchone()
        if row is None or not row["present"]:
            raise DatabaseError("the database has no pipeline tables yet: run `db migrate`, or start the daemon once")
        start, end = day_bounds(day)
        self.cur.execute(
            "SELECT sync_type, count(*) AS runs, count(*) FILTER (WHERE sync_status = 'failed') AS failures, "
            "round(avg(duration_ms), 1) AS mean_ms, "
            "round(percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)::numeric, 1) AS p95_ms, "
            "max(started_at) AS last_run, max(started_at) FILTER (WHERE sync_status = 'failed') AS last_failure "
            "FROM nfl_data_sync_log WHERE started_at >= %s AND started_at < %s "
            "GROUP BY sync_type ORDER BY sync_type",
            (start, end),
        )
        sync = tuple(
            SyncStat(
                r["sync_type"],
                r["runs"],
                r["failures"],
                r["mean_ms"],
                r["p95_ms"],
                r["last_run"],
                r["last_failure"],
            )
            for r in self.cur.fetchall()
        )
        self.cur.execute(
            "SELECT alert_type, status, count(*) AS n FROM nfl_alert_history "
            "WHERE created_at >= %s AND created_at < %s GROUP BY alert_type, status ORDER BY alert_type, status",
            (start, end),
        )
        alerts = tuple(AlertCount(r["alert_type"], r["status"], r["n"]) for r in self.cur.fetchall())
        self.cur.execute(
            "SELECT CASE WHEN event_type = 'price_spike' THEN 'price spike' ELSE 'play reaction' END AS kind, "
            "impact_level, count(*) AS n, round(avg(abs(change_pct)), 2) AS mean_move, "
            "round(percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(change_pct))::numeric, 2) AS median_move, "
            "round(avg(seconds_after), 2) AS mean_seconds, "
            "round(percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_after)::numeric, 2) AS median_seconds "
            "FROM nfl_kalshi_correlations WHERE created_at >= %s AND created_at < %s "
            "GROUP BY 1, impact_level ORDER BY 1, impact_level",
            (start, end),
        )
        impacts = tuple(
            ImpactStat(
                r["kind"],
                r["impact_level"],
                r["n"],
                r["mean_move"],
                r["median_move"],
                r["mean_seconds"],
                r["median_seconds"],
            )
            for r in self.cur.fetchall()
        )
        return DailyReport(day, sync, alerts, impacts, self.current_opportunities())

    def current_opportunities(self, limit: int = REPORT_OPPORTUNITIES) -> tuple[Opportunity, ...]:
        """The view's rows of the games live now (by the games table: the view is as of its last
        refresh, which a stopped daemon leaves behind), largest gap first;
        none while it was never populated (a view created WITH NO DATA cannot be read before its
        first refresh)."""
        self.cur.execute("SELECT ispopulated FROM pg_matviews WHERE matviewname = 'v_nfl_kalshi_opportunities'")
        row = self.cur.fetchone()
        if row is None or not row["ispopulated"]:
            return ()
        self.cur.execute(
            "SELECT o.ticker, o.away_team, o.home_team, o.team, o.market_prob, o.espn_prob, o.edge, o.price_time "
            "FROM v_nfl_kalshi_opportunities o JOIN nfl_games g ON g.game_id = o.game_id WHERE g.state = 'in' "
            "ORDER BY abs(o.edge) DESC NULLS LAST, o.ticker LIMIT %s",
            (limit,),
        )
        return tuple(
            Opportunity(
                r["ticker"],
                r["away_team"],
                r["home_team"],
                r["team"],
                r["market_prob"],
                r["espn_prob"],
                r["edge"],
                r["price_time"],
            )
            for r in self.cur.fetchall()
        )

    def backtest_games(self, game_ids: Sequence[str]) -> list[RealDictRow]:
        """The games with their final state and the plays stored."""
        self.cur.execute(
            "SELECT game_id, away_team, home_team, away_score, home_score, state, "
            "(SELECT count(*) FROM v_nfl_plays p WHERE p.game_id = g.game_id) AS plays "
            "FROM nfl_games g WHERE game_id = ANY(%s) ORDER BY start_time, game_id",
            (list(game_ids),),
        )
        return self.cur.fetchall()

    def backtest_alert_outcomes(self, game_ids: Sequence[str]) -> list[RealDictRow]:
        """Alerts per game, type and status (sent, failed, suppressed, pending)."""
        self.cur.execute(
            "SELECT game_id, alert_type, status, count(*) AS n FROM nfl_alert_history "
            "WHERE game_id = ANY(%s) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            (list(game_ids),),
        )
        return self.cur.fetchall()

    def backtest_alert_latencies(self, game_ids: Sequence[str]) -> list[RealDictRow]:
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

    def backtest_correlations(self, game_ids: Sequence[str]) -> list[RealDictRow]:
        """Play-to-price correlations per game and impact level, with sums (means pool across games)."""
        self.cur.execute(
            "SELECT game_id, impact_level, count(*) AS n, count(change_pct) AS n_change, "
            "coalesce(sum(abs(change_pct)), 0) AS sum_abs_change_pct, "
            "count(seconds_after) AS n_seconds, coalesce(sum(seconds_after), 0) AS sum_seconds_after "
            "FROM nfl_kalshi_correlations WHERE game_id = ANY(%s) GROUP BY 1, 2 ORDER BY 1, 2",
            (list(game_ids),),
        )
        return self.cur.fetchall()

    def backtest_measured_plays(self, game_ids: Sequence[str]) -> list[RealDictRow]:
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

    def backtest_price_moves(self, game_ids: Sequence[str], min_pct: Decimal, min_move: Decimal) -> list[RealDictRow]:
        """Moves of the games' markets between consecutive stored prices of at least `min_pct`
        percent and `min_move` dollars of the mid (bid/ask midpoint, else last trade), as the
        daemon's spike detection measures them: only these can be a market's reaction."""
        self.cur.execute(
            "SELECT game_id, ticker, ts, change_pct FROM ("
            "  SELECT game_id, ticker, ts, mid - before AS move, round((mid - before) / before * 100, 2) AS change_pct"
            "  FROM (SELECT m.game_id, p.ticker, p.ts, mid.mid, lag(mid.mid) OVER (PARTITION BY p.ticker ORDER BY p.ts)"
            "        AS before"
            "        FROM nfl_kalshi_prices p JOIN nfl_kalshi_markets m USING (ticker),"
            "        LATERAL (SELECT CASE WHEN p.yes_bid IS NULL OR p.yes_ask IS NULL THEN p.last_price"
            "                 ELSE (p.yes_bid + p.yes_ask) / 2 END AS mid) mid"
            "        WHERE m.game_id = ANY(%s)) priced"
            "  WHERE before <> 0) moves "
            "WHERE abs(change_pct) >= %s AND abs(move) >= %s ORDER BY game_id, ts, ticker",
            (list(game_ids), min_pct, min_move),
        )
        return self.cur.fetchall()
