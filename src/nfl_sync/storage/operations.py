"""The pipeline's own records: the sync log, what detection needs at start-up, replay bookkeeping."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from psycopg2.extras import RealDictCursor

from nfl_sync.storage.sql import delete_older_than, execute_values, one


class OperationsRepository:
    """nfl_data_sync_log and the cross-table reads and deletes of start-up and replays (`tx.ops`)."""

    def __init__(self, cur: RealDictCursor):
        self.cur = cur

    def log_syncs(self, entries: Iterable[tuple[str, datetime, datetime, str, int, str | None]]) -> None:
        """Record finished syncs, each (sync_type, started_at, finished_at, status, records, error),
        in one statement: the daemon writes a cycle's steps together."""
        execute_values(
            self.cur,
            "INSERT INTO nfl_data_sync_log (sync_type, started_at, finished_at, duration_ms, sync_status, "
            "records, error) SELECT v.sync_type, v.started_at, v.finished_at, GREATEST(0, round(extract("
            "epoch FROM (v.finished_at - v.started_at)) * 1000))::integer, v.status, v.records, v.error "
            "FROM (VALUES %s) AS v(sync_type, started_at, finished_at, status, records, error)",
            list(entries),
        )

    def prune_sync_log(self, before: datetime, limit: int) -> int:
        """Delete at most `limit` sync log rows started before `before`."""
        return delete_older_than(self.cur, "nfl_data_sync_log", before, limit)

    # --- state for detection at start-up --------------------------------------------------
    def detection_state(self) -> dict[str, Any]:
        """What detection needs to resume without repeating or missing alerts: the games not
        final (or final within 12 hours) with their stored plays (what identifies each, its
        significance, whether ESPN dropped it), the score after their newest stored play and
        their score corrections so far,
        and whether any injury report was ever stored (the newest prices: `tx.markets.latest_prices`)."""
        self.cur.execute(
            "SELECT g.game_id, g.state, g.phase, g.status, g.home_team, g.away_team, g.home_score, g.away_score, "
            "g.period, g.clock, g.last_play_id, "
            "(SELECT coalesce(json_agg(json_build_object('game_id', p.game_id, 'play_id', p.play_id, "
            "'sequence_number', p.sequence_number, 'period', p.period, 'clock', p.clock, 'type', p.type, "
            "'text', p.text, 'yards', p.yards, 'team', p.team, 'home_score', p.home_score, 'away_score', "
            "p.away_score, 'significance', p.significance, 'deleted', p.deleted_at IS NOT NULL)), '[]') "
            "FROM nfl_plays p WHERE p.game_id = g.game_id) AS plays, "
            "(SELECT p.home_score + p.away_score FROM v_nfl_plays p WHERE p.game_id = g.game_id "
            "ORDER BY p.sequence_number DESC LIMIT 1) AS plays_total, "
            "(SELECT count(*) FROM nfl_alert_history a WHERE a.alert_key LIKE 'correction:' || g.game_id || ':%%') "
            "AS corrections "
            "FROM nfl_games g WHERE g.state <> 'post' OR g.last_updated > now() - interval '12 hours'"
        )
        games = self.cur.fetchall()
        self.cur.execute("SELECT EXISTS (SELECT 1 FROM nfl_injuries) AS known")
        injuries_known = one(self.cur)["known"]
        return {"games": games, "injuries_known": injuries_known}

    def forget_games(self, game_ids: Sequence[str]) -> None:
        """Delete the games and everything recorded about them, alerts included (replays start clean)."""
        ids = list(game_ids)
        self.cur.execute(
            "DELETE FROM nfl_alert_history WHERE game_id = ANY(%s) OR split_part(alert_key, ':', 2) = ANY(%s)",
            (ids, ids),
        )
        self.cur.execute("DELETE FROM nfl_kalshi_markets WHERE game_id = ANY(%s)", (ids,))
        self.cur.execute("DELETE FROM nfl_injuries WHERE game_id = ANY(%s)", (ids,))
        self.cur.execute("DELETE FROM nfl_games WHERE game_id = ANY(%s)", (ids,))
