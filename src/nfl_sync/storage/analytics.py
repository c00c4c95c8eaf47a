"""Read-only questions about the stored data: live games, scoring, market moves, sync health,
the `report` command's day, the bot's game lines and a game's chart data."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from psycopg2.extras import RealDictCursor, RealDictRow

from nfl_sync.domain.commands import GameLine
from nfl_sync.domain.daily_report import (
    AlertCount,
    DailyReport,
    ImpactStat,
    Opportunity,
    SyncStat,
    day_bounds,
)
from nfl_sync.domain.errors import DatabaseError
from nfl_sync.domain.game_chart import ChartGame, ChartPlay, GameChartData, PricePoint, Reaction
from nfl_sync.storage.sql import mid_price

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

    def game_chart_data(self, game_id: str) -> GameChartData | None:
        """What a game's chart plots (`domain.game_chart`), None for an unknown game: its plays
        with a wall clock and ESPN's home win probability, the home team's game-winner market's
        mids (the raw snapshots, else the 1-minute candles' closes once the snapshots are pruned)
        and that market's measured reactions to plays."""
        self.cur.execute(
            "SELECT game_id, away_team, home_team, away_score, home_score, phase, start_time "
            "FROM nfl_games WHERE game_id = %s",
            (game_id,),
        )
        row = self.cur.fetchone()
        if row is None:
            return None
        game = ChartGame(**row)
        self.cur.execute(
            "SELECT p.play_id, p.period, p.wallclock, p.scoring_play, p.away_score, p.home_score, p.significance, "
            "p.yards, w.home_win_pct FROM v_nfl_plays p "
            "LEFT JOIN nfl_win_probability w USING (game_id, play_id) "
            "WHERE p.game_id = %s AND p.wallclock IS NOT NULL ORDER BY p.sequence_number",
            (game_id,),
        )
        plays = tuple(ChartPlay(**{**r, "significance": tuple(r["significance"])}) for r in self.cur.fetchall())
        self.cur.execute(
            "SELECT ticker FROM nfl_kalshi_markets WHERE game_id = %s AND series_ticker = 'KXNFLGAME' "
            "AND market_kind = 'game' AND team = %s ORDER BY ticker LIMIT 1",
            (game_id, game.home_team),
        )
        market = self.cur.fetchone()
        if market is None:
            return GameChartData(game, plays, (), ())
        ticker = market["ticker"]
        self.cur.execute(
            f"SELECT ts AS at, {mid_price()} AS mid FROM nfl_kalshi_prices "
            f"WHERE ticker = %(t)s AND {mid_price()} IS NOT NULL "
            "UNION ALL SELECT minute, close FROM nfl_kalshi_candles WHERE ticker = %(t)s AND close IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM nfl_kalshi_prices WHERE ticker = %(t)s) ORDER BY at",
            {"t": ticker},
        )
        prices = tuple(PricePoint(**r) for r in self.cur.fetchall())
        self.cur.execute(
            "SELECT play_id, price_before, price_after FROM nfl_kalshi_correlations "
            "WHERE game_id = %s AND ticker = %s AND event_type <> 'price_spike' "
            "AND price_before IS NOT NULL AND price_after IS NOT NULL ORDER BY id",
            (game_id, ticker),
        )
        reactions = tuple(Reaction(**r) for r in self.cur.fetchall())
        return GameChartData(game, plays, prices, reactions)

    def game_lines(self, since: datetime, until: datetime) -> list[GameLine]:
        """The games live now or starting in [since, until), by kickoff, each with the latest
        price of each team's full-game winner market (mid of bid and ask, else the last trade)."""
        self.cur.execute(
            "SELECT g.game_id, g.away_team, g.home_team, g.away_score, g.home_score, g.state, g.status, "
            "g.period, g.clock, g.start_time, g.home_win_pct, "
            "(SELECT coalesce(json_object_agg(m.team, p.price::text), '{}') FROM nfl_kalshi_markets m "
            f" CROSS JOIN LATERAL (SELECT {mid_price('s')} AS price "
            "  FROM nfl_kalshi_prices s WHERE s.ticker = m.ticker ORDER BY s.ts DESC LIMIT 1) p "
            " WHERE m.game_id = g.game_id AND m.series_ticker = 'KXNFLGAME' AND m.market_kind = 'game' "
            " AND m.team IS NOT NULL AND p.price IS NOT NULL) AS prices "
            "FROM nfl_games g WHERE g.is_live OR (g.start_time >= %s AND g.start_time < %s) "
            "ORDER BY g.start_time NULLS LAST, g.game_id",
            (since, until),
        )
        return [
            GameLine(
                r["game_id"],
                r["away_team"],
                r["home_team"],
                r["away_score"],
                r["home_score"],
                r["state"],
                r["status"],
                r["period"],
                r["clock"],
                r["start_time"],
                r["home_win_pct"],
                {team: Decimal(price) for team, price in r["prices"].items()},
            )
            for r in self.cur.fetchall()
        ]
