"""All SQL of the pipeline: connection pool, migrations, idempotent upserts, outbox and analytics.

`NFLDBManager` owns a psycopg2 `ThreadedConnectionPool`. Work happens in a `Tx` (one
transaction on one connection); `db.run(fn)` runs `fn(tx)` and retries it once on a fresh
connection when the old one turned out to be dead (the server restarted), which is safe because
every write is an idempotent upsert. For one-statement work, any `Tx` method can be called on the
manager directly (`db.upsert_game(game)`), each in its own transaction.

Run `python src/nfl_db_manager.py` to apply the schema and print what was done.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import psycopg2
import psycopg2.extras
from psycopg2.pool import PoolError, ThreadedConnectionPool

from nfl_sync.config import PROJECT_ROOT, Settings, redact_url
from nfl_sync.domain.errors import DatabaseError
from nfl_sync.domain.models import (
    Correlation,
    Game,
    Injury,
    KalshiMarket,
    MarketSnapshot,
    OddsLine,
    Play,
    PlayerStat,
    Weather,
    WinProbability,
)

log = logging.getLogger(__name__)

MIGRATIONS_DIR = PROJECT_ROOT / "sql"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# Any one value of a 64-bit key serialises concurrent migration runners.
_MIGRATION_LOCK = 7_317_001
CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
T = TypeVar("T")


@dataclass(frozen=True)
class AlertRecord:
    """One alert decision as written to nfl_alert_history."""

    alert_key: str
    alert_type: str
    priority: str
    message: str
    channel: str
    status: str  # pending / suppressed
    created_at: datetime
    game_id: str | None = None
    family: str | None = None
    reason: str | None = None
    event_time: datetime | None = None
    payload: dict = field(default_factory=dict)


def _values(cur, statement: str, rows: Sequence[tuple], fetch: bool = False) -> list:
    if not rows:
        return []
    return psycopg2.extras.execute_values(cur, statement, rows, page_size=1000, fetch=fetch) or []


def _game_row(g: Game) -> tuple:
    return (
        g.game_id,
        g.season,
        g.season_type,
        g.week,
        g.start_time,
        g.home_team,
        g.away_team,
        g.home_team_id,
        g.away_team_id,
        g.home_score,
        g.away_score,
        g.status,
        g.state,
        g.period,
        g.clock,
        g.possession,
        g.down,
        g.distance,
        g.yard_line,
        g.is_live,
        g.venue_id,
        g.venue_name,
        g.venue_city,
        g.venue_state,
        g.venue_indoor,
        g.neutral_site,
        g.last_play_id,
        g.last_play_text,
        g.home_win_pct,
    )


_GAME_COLUMNS = [
    "game_id",
    "season",
    "season_type",
    "week",
    "start_time",
    "home_team",
    "away_team",
    "home_team_id",
    "away_team_id",
    "home_score",
    "away_score",
    "status",
    "state",
    "period",
    "clock",
    "possession",
    "down",
    "distance",
    "yard_line",
    "is_live",
    "venue_id",
    "venue_name",
    "venue_city",
    "venue_state",
    "venue_indoor",
    "neutral_site",
    "last_play_id",
    "last_play_text",
    "home_win_pct",
]
# A final game stays final: late or stale scoreboard responses must not revive it.
_GAME_STICKY = {
    "status": "CASE WHEN nfl_games.state = 'post' THEN nfl_games.status ELSE EXCLUDED.status END",
    "state": "CASE WHEN nfl_games.state = 'post' THEN 'post' ELSE EXCLUDED.state END",
    "is_live": "CASE WHEN nfl_games.state = 'post' THEN false ELSE EXCLUDED.is_live END",
}
_UPSERT_GAMES = (
    f"INSERT INTO nfl_games ({', '.join(_GAME_COLUMNS)}) VALUES %s "
    "ON CONFLICT (game_id) DO UPDATE SET "
    + ", ".join(f"{c} = {_GAME_STICKY.get(c, f'COALESCE(EXCLUDED.{c}, nfl_games.{c})')}" for c in _GAME_COLUMNS[1:])
    + ", last_updated = now()"
)

_PLAY_COLUMNS = [
    "game_id",
    "play_id",
    "sequence_number",
    "period",
    "clock",
    "type",
    "text",
    "yards",
    "team",
    "scoring_play",
    "score_value",
    "scoring_type",
    "home_score",
    "away_score",
    "is_turnover",
    "significance",
    "drive_id",
    "down",
    "distance",
    "yard_line",
    "wallclock",
]
_PLAY_MUTABLE = [c for c in _PLAY_COLUMNS if c not in ("game_id", "play_id")]
# Plays arrive through COPY into a temporary table (the fastest way into PostgreSQL), then one
# upsert: ESPN edits plays after the fact (text, yards, sequence), so an edit updates the row while
# a repeat of the same play changes nothing.
_STAGE_PLAYS = (
    "CREATE TEMP TABLE IF NOT EXISTS nfl_plays_stage (LIKE nfl_plays INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_MERGE_PLAYS = (
    "WITH merged AS ("
    f"INSERT INTO nfl_plays ({', '.join(_PLAY_COLUMNS)}) "
    f"SELECT {', '.join(_PLAY_COLUMNS)} FROM nfl_plays_stage "
    "ON CONFLICT (game_id, play_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _PLAY_MUTABLE)
    + f" WHERE ({', '.join('nfl_plays.' + c for c in _PLAY_MUTABLE)}) IS DISTINCT FROM "
    f"({', '.join('EXCLUDED.' + c for c in _PLAY_MUTABLE)}) "
    # xmax is 0 on a freshly inserted row version and set on an updated one.
    "RETURNING xmax) SELECT count(*) FILTER (WHERE xmax::text = '0') AS n FROM merged"
)


def _array_literal(values: Sequence[str]) -> str:
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _play_row(p: Play, array: Callable[[Sequence[str]], Any] = list) -> tuple:
    return (
        p.game_id,
        p.play_id,
        p.sequence_number,
        p.period,
        p.clock,
        p.type,
        p.text,
        p.yards,
        p.team,
        p.scoring_play,
        p.score_value,
        p.scoring_type,
        p.home_score,
        p.away_score,
        p.is_turnover,
        array(p.significance),
        p.drive_id,
        p.down,
        p.distance,
        p.yard_line,
        p.wallclock,
    )


class Tx:
    """The statements of one transaction. Obtain one from `NFLDBManager.transaction()` or `run()`."""

    def __init__(self, cur):
        self.cur = cur

    # --- games and plays -------------------------------------------------------------------
    def upsert_game(self, game: Game) -> None:
        self.upsert_games([game])

    def upsert_games(self, games: Iterable[Game]) -> int:
        rows = [_game_row(g) for g in games]
        _values(self.cur, _UPSERT_GAMES, rows)
        return len(rows)

    def insert_plays(self, plays: Iterable[Play]) -> int:
        """Store plays idempotently; returns how many were new."""
        # One row per play: ON CONFLICT cannot touch the same row twice in one statement.
        unique = {(p.game_id, p.play_id): p for p in plays}
        if not unique:
            return 0
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows(_play_row(p, array=_array_literal) for p in unique.values())
        buffer.seek(0)
        self.cur.execute(_STAGE_PLAYS)
        self.cur.copy_expert(f"COPY nfl_plays_stage ({', '.join(_PLAY_COLUMNS)}) FROM STDIN WITH (FORMAT csv)", buffer)
        self.cur.execute(_MERGE_PLAYS)
        new = self.cur.fetchone()["n"]
        # Emptied now so that a second call in this transaction does not merge these rows again.
        # DELETE, not TRUNCATE: a TRUNCATE costs the server a millisecond of catalog work, and
        # the dead rows go at commit anyway, when ON COMMIT DELETE ROWS empties the table.
        self.cur.execute("DELETE FROM nfl_plays_stage")
        return new

    def _existing(self, table: str, columns: tuple[str, ...], keys: list[tuple]) -> set[tuple]:
        """Which of `keys` (values of `columns`) already have a row in `table`."""
        if not keys:
            return set()
        names = ", ".join(columns)
        found = _values(
            self.cur,
            f"SELECT {', '.join('t.' + c for c in columns)} FROM {table} t "
            f"JOIN (VALUES %s) AS v({names}) USING ({names})",
            keys,
            fetch=True,
        )
        return {tuple(row.values()) for row in found}

    def insert_win_probabilities(self, probabilities: Iterable[WinProbability]) -> int:
        rows = [(w.game_id, w.play_id, w.home_win_pct, w.tie_pct) for w in probabilities]
        # Only plays we stored can carry a probability (ESPN's first entry names a drive).
        _values(
            self.cur,
            "INSERT INTO nfl_win_probability (game_id, play_id, home_win_pct, tie_pct) "
            "SELECT v.game_id, v.play_id, v.home_win_pct::numeric, v.tie_pct::numeric "
            "FROM (VALUES %s) AS v(game_id, play_id, home_win_pct, tie_pct) "
            "JOIN nfl_plays p ON p.game_id = v.game_id AND p.play_id = v.play_id "
            "ON CONFLICT (game_id, play_id) DO UPDATE SET home_win_pct = EXCLUDED.home_win_pct, "
            "tie_pct = EXCLUDED.tie_pct",
            rows,
        )
        return len(rows)

    def upsert_player_stats(self, stats: Iterable[PlayerStat]) -> int:
        rows = [
            (s.game_id, s.player_id, s.category, s.player, s.team, psycopg2.extras.Json(dict(s.stats))) for s in stats
        ]
        _values(
            self.cur,
            "INSERT INTO nfl_player_stats (game_id, player_id, category, player, team, stats) VALUES %s "
            "ON CONFLICT (game_id, player_id, category) DO UPDATE SET player = EXCLUDED.player, "
            "team = EXCLUDED.team, stats = EXCLUDED.stats, updated_at = now()",
            rows,
        )
        return len(rows)

    def game(self, game_id: str) -> dict | None:
        self.cur.execute("SELECT * FROM nfl_games WHERE game_id = %s", (game_id,))
        return self.cur.fetchone()

    def plays(self, game_id: str) -> list[dict]:
        self.cur.execute("SELECT * FROM nfl_plays WHERE game_id = %s ORDER BY sequence_number", (game_id,))
        return self.cur.fetchall()

    # --- injuries, weather, odds ----------------------------------------------------------
    def upsert_injuries(self, injuries: Iterable[Injury], seen_at: datetime) -> list[Injury]:
        """Store injury reports; returns the ones not seen before (new player+status+date)."""
        # One row per key: ON CONFLICT cannot touch the same row twice in one statement.
        injuries = list(
            {(i.player_id or i.player, i.status, (i.reported_at or seen_at).date()): i for i in injuries}.values()
        )
        rows = [
            (
                i.player_id or i.player,
                i.player_id,
                i.player,
                i.team,
                i.position,
                i.status,
                i.injury,
                i.reported_at,
                (i.reported_at or seen_at).date(),
                i.return_date,
                i.game_id,
                seen_at,
                seen_at,
            )
            for i in injuries
        ]
        keys = [(row[0], row[5], row[8]) for row in rows]
        known = self._existing("nfl_injuries", ("player_key", "status", "report_date"), keys)
        _values(
            self.cur,
            "INSERT INTO nfl_injuries (player_key, player_id, player, team, position, status, injury, "
            "reported_at, report_date, return_date, game_id, first_seen_at, last_seen_at) "
            "SELECT v.player_key, v.player_id, v.player, v.team, v.position, v.status, v.injury, "
            "v.reported_at::timestamptz, v.report_date::date, v.return_date, g.game_id, "
            "v.first_seen_at::timestamptz, v.last_seen_at::timestamptz "
            "FROM (VALUES %s) AS v(player_key, player_id, player, team, position, status, injury, "
            "reported_at, report_date, return_date, game_id, first_seen_at, last_seen_at) "
            "LEFT JOIN nfl_games g ON g.game_id = v.game_id "
            "ON CONFLICT (player_key, status, report_date) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at, "
            "injury = COALESCE(EXCLUDED.injury, nfl_injuries.injury), "
            "position = COALESCE(EXCLUDED.position, nfl_injuries.position)",
            rows,
        )
        return [i for i, key in zip(injuries, keys, strict=False) if key not in known]

    def upsert_weather(self, game_id: str, w: Weather) -> None:
        self.cur.execute(
            "INSERT INTO nfl_weather (game_id, source, forecast_time, temperature_f, wind_mph, gust_mph, "
            "precipitation_in, precipitation_probability, condition, roof) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (game_id, source) DO UPDATE SET forecast_time = EXCLUDED.forecast_time, "
            "temperature_f = EXCLUDED.temperature_f, wind_mph = EXCLUDED.wind_mph, gust_mph = EXCLUDED.gust_mph, "
            "precipitation_in = EXCLUDED.precipitation_in, "
            "precipitation_probability = EXCLUDED.precipitation_probability, "
            "condition = EXCLUDED.condition, roof = EXCLUDED.roof, fetched_at = now()",
            (
                game_id,
                w.source,
                w.forecast_time,
                w.temperature_f,
                w.wind_mph,
                w.gust_mph,
                w.precipitation_in,
                w.precipitation_probability,
                w.condition,
                w.roof,
            ),
        )

    def upsert_odds(self, lines: Iterable[OddsLine]) -> int:
        rows = [
            (
                o.game_id,
                o.provider,
                o.home_team,
                o.away_team,
                o.commence_time,
                o.spread,
                o.over_under,
                o.home_moneyline,
                o.away_moneyline,
                o.details,
            )
            for o in lines
            if o.game_id
        ]
        _values(
            self.cur,
            "INSERT INTO nfl_odds (game_id, provider, home_team, away_team, commence_time, spread, "
            "over_under, home_moneyline, away_moneyline, details) "
            "SELECT v.game_id, v.provider, v.home_team, v.away_team, v.commence_time::timestamptz, "
            "v.spread::numeric, v.over_under::numeric, v.home_moneyline::integer, "
            "v.away_moneyline::integer, v.details FROM (VALUES %s) AS v(game_id, provider, home_team, "
            "away_team, commence_time, spread, over_under, home_moneyline, away_moneyline, details) "
            "JOIN nfl_games g ON g.game_id = v.game_id "
            "ON CONFLICT (game_id, provider) DO UPDATE SET spread = EXCLUDED.spread, "
            "over_under = EXCLUDED.over_under, home_moneyline = EXCLUDED.home_moneyline, "
            "away_moneyline = EXCLUDED.away_moneyline, details = EXCLUDED.details, updated_at = now()",
            rows,
        )
        return len(rows)

    # --- Kalshi ---------------------------------------------------------------------------
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
        _values(
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
        results = _values(
            self.cur,
            "INSERT INTO nfl_kalshi_correlations (game_id, play_id, ticker, event_type, price_before, "
            "price_after, change_pct, impact_level, seconds_after, play_time, created_at) VALUES %s "
            "ON CONFLICT (game_id, play_id, ticker, event_type) DO NOTHING RETURNING 1",
            rows,
            fetch=True,
        )
        return len(results)

    def latest_prices(self) -> list[dict]:
        """The newest stored snapshot of every market still trading (one index probe per market,
        so the cost does not grow with the price history)."""
        self.cur.execute(
            "SELECT p.*, m.event_ticker, m.market_kind FROM nfl_kalshi_markets m "
            "CROSS JOIN LATERAL (SELECT * FROM nfl_kalshi_prices p WHERE p.ticker = m.ticker "
            "ORDER BY p.ts DESC LIMIT 1) p WHERE m.status IN ('active', 'initialized', 'inactive')"
        )
        return self.cur.fetchall()

    def uncorrelated_plays(self, since: datetime) -> list[dict]:
        """Significant plays since `since` whose market reaction was not stored yet (a restart
        came between the play and its measurement)."""
        self.cur.execute(
            "SELECT p.* FROM nfl_plays p JOIN nfl_games g USING (game_id) "
            "WHERE p.significance <> '{}' AND p.wallclock >= %s AND g.state <> 'post' AND NOT EXISTS ("
            "SELECT 1 FROM nfl_kalshi_correlations c WHERE c.game_id = p.game_id AND c.play_id = p.play_id "
            "AND c.event_type <> 'price_spike') ORDER BY p.game_id, p.sequence_number",
            (since,),
        )
        return self.cur.fetchall()

    def prices_at(self, game_id: str, at: datetime) -> list[dict]:
        """The latest stored snapshot at or before `at` of each market of a game."""
        self.cur.execute(
            "SELECT p.*, m.event_ticker FROM nfl_kalshi_markets m CROSS JOIN LATERAL ("
            "SELECT * FROM nfl_kalshi_prices p WHERE p.ticker = m.ticker AND p.ts <= %s "
            "ORDER BY p.ts DESC LIMIT 1) p WHERE m.game_id = %s",
            (at, game_id),
        )
        return self.cur.fetchall()

    # --- alert outbox ---------------------------------------------------------------------
    def insert_alert(self, alert: AlertRecord) -> int | None:
        """Record an alert decision; returns its id, or None when the key was already recorded."""
        self.cur.execute(
            "INSERT INTO nfl_alert_history (alert_key, alert_type, priority, game_id, family, message, channel, "
            "status, reason, event_time, created_at, payload) "
            "SELECT %s, %s, %s, (SELECT game_id FROM nfl_games WHERE game_id = %s), %s, %s, %s, %s, %s, %s, %s, %s "
            "ON CONFLICT (alert_key) DO NOTHING RETURNING id",
            (
                alert.alert_key,
                alert.alert_type,
                alert.priority,
                alert.game_id,
                alert.family,
                alert.message,
                alert.channel,
                alert.status,
                alert.reason,
                alert.event_time,
                alert.created_at,
                psycopg2.extras.Json(alert.payload),
            ),
        )
        row = self.cur.fetchone()
        return row["id"] if row else None

    def pending_alert_count(self) -> int:
        self.cur.execute("SELECT count(*) AS n FROM nfl_alert_history WHERE status = 'pending'")
        return self.cur.fetchone()["n"]

    def existing_alert_keys(self, keys: Sequence[str]) -> set[str]:
        self.cur.execute("SELECT alert_key FROM nfl_alert_history WHERE alert_key = ANY(%s)", (list(keys),))
        return {row["alert_key"] for row in self.cur.fetchall()}

    def pending_alerts(self, limit: int = 100) -> list[dict]:
        """The outbox: alerts not yet delivered to every chat, oldest first."""
        self.cur.execute("SELECT * FROM nfl_alert_history WHERE status = 'pending' ORDER BY id LIMIT %s", (limit,))
        return self.cur.fetchall()

    def alert_deliveries(self, alert_id: int) -> dict[str, dict]:
        """The alert's delivery rows by chat id (a chat without a row was never attempted)."""
        self.cur.execute("SELECT * FROM nfl_alert_deliveries WHERE alert_id = %s", (alert_id,))
        return {row["chat_id"]: row for row in self.cur.fetchall()}

    def start_delivery_attempt(self, alert_id: int, chat_id: str) -> int:
        """Count an attempt to send the alert to `chat_id`, before the request goes out.

        Committed ahead of the send, so a delivery left 'pending' with attempts > 0 is one whose
        earlier request may have reached Telegram. Returns the attempts including this one.
        """
        self.cur.execute(
            "INSERT INTO nfl_alert_deliveries (alert_id, chat_id, status, attempts) VALUES (%s, %s, 'pending', 1) "
            "ON CONFLICT (alert_id, chat_id) DO UPDATE SET attempts = nfl_alert_deliveries.attempts + 1 "
            "RETURNING attempts",
            (alert_id, chat_id),
        )
        return self.cur.fetchone()["attempts"]

    def cancel_delivery_attempt(self, alert_id: int, chat_id: str, error: str) -> None:
        """Uncount the attempt just started: Telegram definitely did not take it (429, bad token)."""
        self.cur.execute(
            "UPDATE nfl_alert_deliveries SET attempts = greatest(attempts - 1, 0), error = %s "
            "WHERE alert_id = %s AND chat_id = %s",
            (error, alert_id, chat_id),
        )

    def record_delivery_error(self, alert_id: int, chat_id: str, error: str) -> None:
        """Note why the attempt failed; it stays counted (it may have reached Telegram)."""
        self.cur.execute(
            "UPDATE nfl_alert_deliveries SET error = %s WHERE alert_id = %s AND chat_id = %s",
            (error, alert_id, chat_id),
        )

    def mark_delivery_sent(
        self, alert_id: int, chat_id: str, sent_at: datetime, external_message_id: str | None, note: str | None = None
    ) -> None:
        self.cur.execute(
            "UPDATE nfl_alert_deliveries SET status = 'sent', sent_at = %s, external_message_id = %s, error = %s "
            "WHERE alert_id = %s AND chat_id = %s",
            (sent_at, external_message_id, note, alert_id, chat_id),
        )

    def mark_delivery_failed(self, alert_id: int, chat_id: str, error: str) -> None:
        self.cur.execute(
            "UPDATE nfl_alert_deliveries SET status = 'failed', error = %s WHERE alert_id = %s AND chat_id = %s",
            (error, alert_id, chat_id),
        )

    def finish_alert(self, alert_id: int) -> str:
        """Close an alert whose every delivery is settled: 'sent' when at least one chat got it,
        else 'failed'. Sent time, message id (of the first chat served), attempts and errors are
        derived from the deliveries, the one place they are recorded. Returns the status."""
        self.cur.execute(
            "UPDATE nfl_alert_history h SET status = CASE WHEN d.sent > 0 THEN 'sent' ELSE 'failed' END, "
            "sent_at = d.sent_at, external_message_id = d.message_id, attempts = d.attempts, error = d.errors "
            "FROM (SELECT count(*) FILTER (WHERE status = 'sent') AS sent, min(sent_at) AS sent_at, "
            "      (array_agg(external_message_id ORDER BY sent_at, chat_id) FILTER (WHERE status = 'sent'))[1] "
            "          AS message_id, "
            "      coalesce(sum(attempts), 0) AS attempts, "
            "      string_agg('chat ' || chat_id || ': ' || error, '; ' ORDER BY chat_id) "
            "          FILTER (WHERE error IS NOT NULL) AS errors "
            "      FROM nfl_alert_deliveries WHERE alert_id = %(id)s) d "
            "WHERE h.id = %(id)s RETURNING h.status",
            {"id": alert_id},
        )
        return self.cur.fetchone()["status"]

    def alert_counts_since(self, since: datetime) -> dict[str, int]:
        """Alerts that went out (or are on their way) since `since`, by priority."""
        self.cur.execute(
            "SELECT priority, count(*) AS n FROM nfl_alert_history "
            "WHERE created_at >= %s AND status IN ('pending', 'sent') GROUP BY priority",
            (since,),
        )
        return {row["priority"]: row["n"] for row in self.cur.fetchall()}

    def last_alert_times(self, families: Sequence[str]) -> dict[str, datetime]:
        """When each family last had an alert go out, for cooldowns."""
        self.cur.execute(
            "SELECT family, max(created_at) AS at FROM nfl_alert_history "
            "WHERE family = ANY(%s) AND status IN ('pending', 'sent') GROUP BY family",
            (list(families),),
        )
        return {row["family"]: row["at"] for row in self.cur.fetchall()}

    def alert_triggers(self) -> dict[str, dict]:
        self.cur.execute("SELECT * FROM nfl_alert_triggers")
        return {row["alert_type"]: row for row in self.cur.fetchall()}

    def touch_alert_trigger(self, alert_type: str, at: datetime) -> None:
        self.cur.execute("UPDATE nfl_alert_triggers SET last_triggered = %s WHERE alert_type = %s", (at, alert_type))

    # --- sync log -------------------------------------------------------------------------
    def start_sync(self, sync_type: str, started_at: datetime) -> int:
        self.cur.execute(
            "INSERT INTO nfl_data_sync_log (sync_type, started_at, sync_status) "
            "VALUES (%s, %s, 'running') RETURNING id",
            (sync_type, started_at),
        )
        return self.cur.fetchone()["id"]

    def finish_sync(
        self, sync_id: int, finished_at: datetime, status: str, records: int = 0, error: str | None = None
    ) -> None:
        self.cur.execute(
            "UPDATE nfl_data_sync_log SET finished_at = %s, sync_status = %s, records = %s, error = %s, "
            "duration_ms = GREATEST(0, round(extract(epoch FROM (%s - started_at)) * 1000))::integer "
            "WHERE id = %s",
            (finished_at, status, records, error, finished_at, sync_id),
        )

    def log_syncs(self, entries: Iterable[tuple[str, datetime, datetime, str, int, str | None]]) -> None:
        """Record finished syncs, each (sync_type, started_at, finished_at, status, records, error),
        in one statement: the daemon writes a cycle's steps together."""
        _values(
            self.cur,
            "INSERT INTO nfl_data_sync_log (sync_type, started_at, finished_at, duration_ms, sync_status, "
            "records, error) SELECT v.sync_type, v.started_at, v.finished_at, GREATEST(0, round(extract("
            "epoch FROM (v.finished_at - v.started_at)) * 1000))::integer, v.status, v.records, v.error "
            "FROM (VALUES %s) AS v(sync_type, started_at, finished_at, status, records, error)",
            list(entries),
        )

    # --- state for detection at start-up --------------------------------------------------
    def detection_state(self) -> dict[str, Any]:
        """What detection needs to resume without repeating or missing alerts: the games not
        final (or final within 12 hours) with their stored play ids and score corrections so far,
        the newest price of every market, and whether any injury report was ever stored."""
        self.cur.execute(
            "SELECT g.game_id, g.state, g.status, g.home_team, g.away_team, g.home_score, g.away_score, "
            "g.period, g.clock, g.last_play_id, "
            "ARRAY(SELECT p.play_id FROM nfl_plays p WHERE p.game_id = g.game_id) AS play_ids, "
            "ARRAY(SELECT p.play_id FROM nfl_plays p WHERE p.game_id = g.game_id AND p.significance <> '{}') "
            "AS significant_ids, "
            "(SELECT count(*) FROM nfl_alert_history a WHERE a.alert_key LIKE 'correction:' || g.game_id || ':%%') "
            "AS corrections "
            "FROM nfl_games g WHERE g.state <> 'post' OR g.last_updated > now() - interval '12 hours'"
        )
        games = self.cur.fetchall()
        self.cur.execute("SELECT EXISTS (SELECT 1 FROM nfl_injuries) AS known")
        injuries_known = self.cur.fetchone()["known"]
        return {"games": games, "prices": self.latest_prices(), "injuries_known": injuries_known}

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

    def replay_report(self, game_ids: Sequence[str]) -> dict[str, Any]:
        """Figures of a replay: final scores, plays stored, alerts by type and status, correlations."""
        ids = list(game_ids)
        self.cur.execute(
            "SELECT game_id, away_team, home_team, away_score, home_score, state, "
            "(SELECT count(*) FROM nfl_plays p WHERE p.game_id = g.game_id) AS plays "
            "FROM nfl_games g WHERE game_id = ANY(%s) ORDER BY start_time, game_id",
            (ids,),
        )
        games = self.cur.fetchall()
        self.cur.execute(
            "SELECT alert_type, status, count(*) AS n FROM nfl_alert_history "
            "WHERE game_id = ANY(%s) GROUP BY 1, 2 ORDER BY 1, 2",
            (ids,),
        )
        alerts = self.cur.fetchall()
        self.cur.execute(
            "SELECT impact_level, count(*) AS n FROM nfl_kalshi_correlations "
            "WHERE game_id = ANY(%s) GROUP BY 1 ORDER BY 1",
            (ids,),
        )
        return {"games": games, "alerts": alerts, "correlations": self.cur.fetchall()}

    # --- analytics ------------------------------------------------------------------------
    def live_games(self) -> list[dict]:
        self.cur.execute("SELECT * FROM v_nfl_live_games ORDER BY game_id")
        return self.cur.fetchall()

    def scoring_summary(self, game_id: str) -> list[dict]:
        self.cur.execute(
            "SELECT play_id, period, clock, team, type, text, score_value, home_score, away_score "
            "FROM nfl_plays WHERE game_id = %s AND scoring_play ORDER BY sequence_number",
            (game_id,),
        )
        return self.cur.fetchall()

    def correlation_stats(self) -> list[dict]:
        """Average market move by play type and impact, the seed's correlation analysis."""
        self.cur.execute(
            "SELECT event_type, impact_level, count(*) AS n, round(avg(change_pct), 2) AS avg_change_pct, "
            "round(avg(abs(change_pct)), 2) AS avg_abs_change_pct, round(avg(seconds_after), 1) AS avg_seconds "
            "FROM nfl_kalshi_correlations GROUP BY event_type, impact_level ORDER BY event_type, impact_level"
        )
        return self.cur.fetchall()

    def alert_stats(self, since: datetime) -> list[dict]:
        self.cur.execute(
            "SELECT alert_type, status, count(*) AS n FROM nfl_alert_history WHERE created_at >= %s "
            "GROUP BY alert_type, status ORDER BY alert_type, status",
            (since,),
        )
        return self.cur.fetchall()

    def sync_performance(self) -> list[dict]:
        self.cur.execute("SELECT * FROM v_nfl_sync_performance ORDER BY sync_type")
        return self.cur.fetchall()

    def kalshi_opportunities(self, min_edge: Decimal = Decimal("0.05")) -> list[dict]:
        self.cur.execute(
            "SELECT * FROM v_nfl_kalshi_opportunities WHERE abs(edge) >= %s ORDER BY abs(edge) DESC", (min_edge,)
        )
        return self.cur.fetchall()


class NFLDBManager:
    """Pooled access to PostgreSQL. Thread-safe; one instance per process."""

    def __init__(
        self,
        dsn: str,
        *,
        pool_min: int = 2,
        pool_max: int = 10,
        connect_timeout: int = 30,
        slow_query_seconds: float = 1.0,
        observer: Callable[[str, float], None] | None = None,
    ):
        self.dsn = dsn
        self.pool_min = pool_min
        self.pool_max = pool_max
        self.connect_timeout = connect_timeout
        self.slow_query_seconds = slow_query_seconds
        self.observer = observer
        self.consecutive_failures = 0
        self.pool_resets = 0
        self._lock = threading.Lock()
        self._pool: ThreadedConnectionPool | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> NFLDBManager:
        """Connect to the configured database, starting the embedded one when none is configured."""
        db = settings.database
        if db.embedded:
            from nfl_sync.storage.embedded import start_embedded

            dsn = start_embedded(db.embedded_dir)
        else:
            dsn = db.url
            log.info("Using PostgreSQL at %s", redact_url(dsn))
        return cls(dsn, pool_min=db.pool_min, pool_max=db.pool_max, connect_timeout=db.connect_timeout, **kwargs)

    # --- pool -----------------------------------------------------------------------------
    def _get_pool(self) -> ThreadedConnectionPool:
        with self._lock:
            if self._pool is None:
                try:
                    self._pool = ThreadedConnectionPool(
                        self.pool_min,
                        self.pool_max,
                        self.dsn,
                        connect_timeout=self.connect_timeout,
                        cursor_factory=psycopg2.extras.RealDictCursor,
                        application_name="nfl-realtime-sync",
                    )
                except CONNECTION_ERRORS as error:
                    self._note_failure()
                    raise DatabaseError(f"cannot connect to PostgreSQL: {_first_line(error)}") from None
            return self._pool

    def _note_failure(self) -> None:
        self.consecutive_failures += 1
        if self.consecutive_failures >= 3:
            log.warning("3 consecutive database connection failures: resetting the connection pool")
            self._reset_locked()

    def _reset_locked(self) -> None:
        if self._pool is not None:
            with suppress(PoolError):
                self._pool.closeall()
        self._pool = None
        self.consecutive_failures = 0
        self.pool_resets += 1

    def reset_pool(self) -> None:
        with self._lock:
            self._reset_locked()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.closeall()
                self._pool = None

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One transaction: committed when the block ends, rolled back when it raises.

        A connection that failed is closed rather than returned to the pool, so it is never handed
        out again.
        """
        pool = self._get_pool()
        try:
            conn = pool.getconn()
        except CONNECTION_ERRORS as error:
            with self._lock:
                self._note_failure()
            raise DatabaseError(f"cannot connect to PostgreSQL: {_first_line(error)}") from None
        except PoolError as error:
            raise DatabaseError(f"connection pool exhausted ({error})") from None
        broken = False
        started = time.perf_counter()
        try:
            with conn.cursor() as cur:
                yield Tx(cur)
            conn.commit()
            self.consecutive_failures = 0
        except CONNECTION_ERRORS:
            broken = True
            with self._lock:
                self._note_failure()
            raise
        except BaseException:
            try:
                conn.rollback()
            except CONNECTION_ERRORS:
                broken = True
            raise
        finally:
            elapsed = time.perf_counter() - started
            if self.observer is not None:
                self.observer("transaction", elapsed)
            if elapsed > self.slow_query_seconds:
                log.warning("Slow database transaction: %.2f s", elapsed)
            with self._lock:
                if self._pool is pool:
                    pool.putconn(conn, close=broken or bool(conn.closed))
                else:
                    conn.close()

    def run(self, fn: Callable[[Tx], T]) -> T:
        """Run `fn(tx)` in a transaction, once more on a fresh connection if the first was dead."""
        try:
            with self.transaction() as tx:
                return fn(tx)
        except CONNECTION_ERRORS as error:
            log.warning("Database connection lost (%s); retrying on a new connection", _first_line(error))
        try:
            with self.transaction() as tx:
                return fn(tx)
        except CONNECTION_ERRORS as error:
            raise DatabaseError(f"database unavailable: {_first_line(error)}") from None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(Tx, name, None)
        if name.startswith("_") or not callable(method):
            raise AttributeError(name)

        def one_transaction(*args: Any, **kwargs: Any) -> Any:
            return self.run(lambda tx: method(tx, *args, **kwargs))

        one_transaction.__doc__ = method.__doc__
        return one_transaction

    def ping(self) -> bool:
        self.run(lambda tx: tx.cur.execute("SELECT 1"))
        return True

    def refresh_opportunities(self) -> None:
        """REFRESH ... CONCURRENTLY cannot run inside a transaction block, hence autocommit."""
        pool = self._get_pool()
        conn = pool.getconn()
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY v_nfl_kalshi_opportunities")
        finally:
            conn.autocommit = False
            pool.putconn(conn)

    # --- migrations -----------------------------------------------------------------------
    def apply_migrations(self, directory: Path = MIGRATIONS_DIR) -> list[str]:
        """Apply every migration not yet recorded in schema_migrations, in order; returns their names."""
        files = sorted(p for p in directory.glob("*.sql") if _MIGRATION_NAME.match(p.name))
        applied: list[str] = []
        with self.transaction() as tx:
            cur = tx.cur
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, "
                "name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT version, name, checksum FROM schema_migrations")
            done = {row["version"]: row for row in cur.fetchall()}
            for path in files:
                version = path.name[:3]
                text = path.read_text(encoding="utf-8")
                checksum = hashlib.sha256(text.encode()).hexdigest()
                if version in done:
                    if done[version]["checksum"] != checksum:
                        log.warning("Migration %s changed after it was applied; it is not re-run", path.name)
                    continue
                cur.execute(text)
                cur.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (version, path.name, checksum),
                )
                applied.append(path.name)
        for name in applied:
            log.info("Applied migration %s", name)
        return applied


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
