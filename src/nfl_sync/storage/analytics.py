"""Read-only questions about the stored data: live games, scoring, market moves, sync health."""

from __future__ import annotations

from decimal import Decimal

from psycopg2.extras import RealDictCursor, RealDictRow


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
        self.cur.execute(
            "SELECT * FROM v_nfl_kalshi_opportunities WHERE abs(edge) >= %s ORDER BY abs(edge) DESC", (min_edge,)
        )
        return self.cur.fetchall()
