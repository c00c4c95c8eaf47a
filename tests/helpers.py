"""Reusable test helpers: a fake clock that never really sleeps, and fixture loading.

Tests import it as `from helpers import FakeClock, fixture_json`: pytest's default "prepend" import
mode puts `tests/` (which has no `__init__.py`) on `sys.path`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class FakeClock:
    """A `clock.Clock` driven by the test: `sleep` records the wait and advances time instantly."""

    def __init__(self, now: datetime = datetime(2026, 11, 24, 18, 0, tzinfo=UTC), monotonic: float = 1000.0):
        self._now = now
        self._monotonic = monotonic
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        self._monotonic += seconds
        self._now += timedelta(seconds=seconds)

    def set_now(self, now: datetime) -> None:
        """Jump the wall clock (monotonic follows forward jumps so caches expire consistently)."""
        delta = (now - self._now).total_seconds()
        self._now = now
        if delta > 0:
            self._monotonic += delta


def fixture_path(*parts: str) -> Path:
    return FIXTURES.joinpath(*parts)


def fixture_text(*parts: str) -> str:
    return fixture_path(*parts).read_text(encoding="utf-8")


def fixture_json(*parts: str) -> Any:
    return json.loads(fixture_text(*parts))


# A value that breaks naive formatting in both Telegram parse modes: every MarkdownV2 reserved
# character, HTML tags and entities, and a betting line.
HOSTILE = "O'Neil-Smith Jr. [#1] *_~`>+=|{}.!\\ <b>&amp; 1 < 2 KC -3.5 @ BUF (o/u 47.5)!"


def with_database(url: str, name: str) -> str:
    """`url` (a libpq URL) pointed at database `name` on the same server."""
    head, sep, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}{sep}{query}"


def rows(db, sql: str, *params: Any) -> list[dict]:
    """The rows of one query, in a transaction of its own."""
    return db.run(lambda tx: (tx.cur.execute(sql, params), tx.cur.fetchall())[1])


def alert_rows(db) -> list[dict]:
    return rows(db, "SELECT * FROM nfl_alert_history ORDER BY id")


def delivery_rows(db) -> list[dict]:
    return rows(db, "SELECT * FROM nfl_alert_deliveries ORDER BY alert_id, chat_id")


def alert_events(now: datetime, text: str = HOSTILE) -> dict:
    """One realistic event per alert type (as detection builds them), with `text` in every name
    and free-text field; keys are the alert types."""
    from decimal import Decimal

    from nfl_sync.domain.events import (
        AlertType,
        EdgeData,
        Event,
        InjuryData,
        LinkedPlay,
        MarketReactionData,
        PlayData,
        PriceMoveData,
        Priority,
        ScoreData,
        SystemData,
    )

    game = {"game_id": "401547417", "home_team": f"BUF {text}", "away_team": "KC", "period": 3, "clock": "8:24"}
    return {
        "score": Event(
            AlertType.SCORE,
            "score:401547417:0:21-17",
            Priority.HIGH,
            now,
            ScoreData(
                **game,
                home_score=17,
                away_score=21,
                scoring_team="KC",
                points=7,
                scoring_type="TD",
                play_text=f"P.Mahomes pass to T.Kelce for 12 yards, TOUCHDOWN. {text}",
            ),
            "401547417",
        ),
        "significant_play": Event(
            AlertType.SIGNIFICANT_PLAY,
            "play:401547417:4015474170042",
            Priority.HIGH,
            now,
            PlayData(
                **game,
                play_id="4015474170042",
                home_score=17,
                away_score=21,
                team="BUF",
                yards=0,
                tags=("interception",),
                play_text=f"J.Allen pass deep left INTERCEPTED by {text} at KC 30.",
            ),
            "401547417",
        ),
        "injury": Event(
            AlertType.INJURY,
            "injury:3139477:out:2026-11-24",
            Priority.MEDIUM,
            now,
            InjuryData(
                player=f"Patrick {text}",
                position="QB",
                team="KC",
                status="Out",
                previous_status="Questionable",
                injury=f"Ankle ({text})",
            ),
            "401547417",
            family="injury:3139477",
        ),
        "kalshi_price": Event(
            AlertType.KALSHI_PRICE,
            "price:KXNFLGAME-26NOV24KCBUF-KC:29924860",
            Priority.MEDIUM,
            now,
            PriceMoveData(
                **game,
                ticker="KXNFLGAME-26NOV24KCBUF-KC",
                title=f"Will {text} win?",
                subtitle="Kansas City",
                price_before=Decimal("0.45"),
                price_after=Decimal("0.52"),
                change_pct=Decimal("15.56"),
                volume=Decimal("124500"),
                seconds=5.0,
                home_score=17,
                away_score=21,
                linked_plays=(
                    LinkedPlay(
                        "4015474170042",
                        f"J.Allen pass deep left INTERCEPTED by {text} at KC 30.",
                        "high",
                        measured=True,
                        period=3,
                        clock="8:31",
                        tags=("interception",),
                    ),
                    LinkedPlay("4015474170043", "P.Mahomes kneels", "high", period=3, clock="8:24"),
                ),
            ),
            "401547417",
            family="price:KXNFLGAME-26NOV24KCBUF-KC",
        ),
        "market_reaction": Event(
            AlertType.MARKET_REACTION,
            "reaction:401547417:4015474170042",
            Priority.HIGH,
            now,
            MarketReactionData(
                **game,
                ticker="KXNFLGAME-26NOV24KCBUF-BUF",
                impact_level="extreme",
                play_id="4015474170042",
                event_type="interception",
                price_before=Decimal("0.55"),
                price_after=Decimal("0.40"),
                change_pct=Decimal("-27.27"),
                seconds_after=Decimal("5.0"),
                play_text=f"Interception by {text}",
                tags=("interception",),
            ),
            "401547417",
        ),
        "edge": Event(
            AlertType.EDGE,
            "edge:401547417:KC:20261124T180500",
            Priority.MEDIUM,
            now,
            EdgeData(
                **game,
                ticker="KXNFLGAME-26NOV24KCBUF-KC",
                team="KC",
                title=f"Will {text} win?",
                home_score=17,
                away_score=21,
                market_price=Decimal("0.525"),
                espn_probability=Decimal("0.712"),
                edge_points=Decimal("18.7"),
                probability_source="scoreboard",
                yes_bid=Decimal("0.52"),
                yes_ask=Decimal("0.53"),
                spread=Decimal("0.01"),
                bid_size=Decimal("1200"),
                ask_size=Decimal("340.5"),
            ),
            "401547417",
            family="edge:401547417:KC",
        ),
        "system": Event(
            AlertType.SYSTEM,
            "system:kalshi:auth",
            Priority.HIGH,
            now,
            SystemData("critical", "kalshi", f"Authentication failed: {text}"),
            family="system:kalshi",
        ),
    }


TELEGRAM_TOKEN = "123456789:AAHfake-Token-For-Tests_0123456789abc"


class TelegramRig:
    """A fake Bot API on loopback, a fake clock, and notifiers wired to both; `close` releases all.

    Every notifier gets a real `TelegramChannel` (python-telegram-bot over HTTP) unless a channel
    is given; sleeps (pacing, backoff, retry_after) only advance the fake clock.
    """

    def __init__(self, **server_options):
        from nfl_replay.telegram_server import FakeTelegramServer

        self.server = FakeTelegramServer(TELEGRAM_TOKEN, **server_options).start()
        self.clock = FakeClock()
        self._channels: list = []

    def channel(self, chats=("111",), token: str = TELEGRAM_TOKEN, timeout: float = 5.0):
        from nfl_sync.alerts.telegram import TelegramChannel

        channel = TelegramChannel(token, chats, self.server.api_base_url, timeout=timeout)
        self._channels.append(channel)
        return channel

    def notifier(self, db, chats=("111",), channel=None, **options):
        from zoneinfo import ZoneInfo

        from nfl_sync.alerts.sender import TelegramNotifier

        options.setdefault("rng", lambda: 1.0)  # the longest backoff, so waits are exact
        options.setdefault("timezone", ZoneInfo("America/New_York"))
        options.setdefault("clock", self.clock)
        return TelegramNotifier(db, channel or self.channel(chats), **options)

    def close(self) -> None:
        for channel in self._channels:
            channel.close()
        self.server.stop()

    def __enter__(self) -> TelegramRig:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


# --- end-to-end replays (tests/replay/test_replay_e2e_*.py and their child process, replay_child.py) ---

E2E_CHAT = "111"


def fast_commit_url(url: str) -> str:
    """`url` with synchronous_commit off for its sessions: commits stop waiting for the WAL flush.
    Only a crash of the PostgreSQL server itself could lose such a commit (a client killed, or a
    clean `pg_ctl restart`, cannot), so replay tests keep their guarantees and run faster."""
    return url + ("&" if "?" in url else "?") + "options=-c%20synchronous_commit%3Doff"


def restart_postgres(pg_server, database_url: str) -> None:
    """Restart the suite's embedded PostgreSQL (`pg_ctl restart -m fast`); with a server the suite
    does not own (TEST_DATABASE_URL), drop every other session of the database instead."""
    import psycopg2

    admin_url, data_dir = pg_server
    if data_dir is None:
        conn = psycopg2.connect(database_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        conn.close()
        return
    import pgserver
    from pgserver._commands import pg_ctl

    server = pgserver.get_server(data_dir)
    pg_ctl(["-w", "restart", "-m", "fast"], pgdata=data_dir, user=server.system_user)


@contextmanager
def own_embedded_server(data_dir: Path, database: str = "nfl_own") -> Iterator[str]:
    """An embedded PostgreSQL of the test's own in `data_dir` (so a test may stop, kill or restart
    it while the suite's server stays up), with `database` migrated; yields its URL, and stops
    the server at the end whatever state the test left it in."""
    from nfl_sync.storage.embedded import ensure_database, start_embedded
    from nfl_sync.storage.manager import NFLDBManager
    from nfl_sync.storage.migrations import apply_migrations

    admin_url = start_embedded(data_dir, database="postgres", stop_at_exit=False)  # stopped below
    ensure_database(admin_url, database)
    url = with_database(admin_url, database)
    db = NFLDBManager(url, pool_min=1, pool_max=1)
    try:
        apply_migrations(db)
    finally:
        db.close()
    try:
        yield url
    finally:
        pg_ctl_embedded(data_dir, "stop", "-m", "immediate", check=False)


def pg_ctl_embedded(data_dir: Path, *args: str, check: bool = True) -> None:
    """`pg_ctl -w ARGS` on the embedded server in `data_dir` (stop -m fast: the database goes away)."""
    import subprocess

    import pgserver
    from pgserver._commands import pg_ctl

    try:
        pg_ctl(["-w", *args], pgdata=data_dir, user=pgserver.get_server(data_dir).system_user)
    except subprocess.CalledProcessError:
        if check:
            raise


@contextmanager
def read_only_database(pg_server, database_url: str) -> Iterator[None]:
    """The database read-only for every new session while the block runs (as a standby after a
    failover is), writable again after it, whatever the block did."""
    import psycopg2
    from psycopg2 import sql

    name = database_url.partition("?")[0].rsplit("/", 1)[1]
    admin = psycopg2.connect(pg_server[0])
    admin.autocommit = True

    def switch(value: str) -> None:
        with admin.cursor() as cur:
            cur.execute(
                sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = " + value).format(sql.Identifier(name))
            )

    try:
        switch("on")
        yield
    finally:
        switch("off")
        admin.close()


def replay_daemon_settings(
    espn_base_url: str,
    kalshi_base_url: str,
    telegram_api_base_url: str,
    log_dir: Path,
    chat_id: str = E2E_CHAT,
    **overrides: Any,
):
    """The daemon's settings for a replay against fake servers (as `ReplayEnvironment.settings`
    makes them) with Telegram pointed at a fake Bot API. Built from an explicit environment, never
    from the process's or `.env`. No daily limit (a replayed game is not a day of alerts), and only
    the KXNFLGAME series (the only one the fake Kalshi lists; the others would be empty polls)."""
    from dataclasses import replace
    from types import SimpleNamespace

    from nfl_replay.runner import ReplayEnvironment
    from nfl_sync.config import load_settings

    base = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_CHAT_ID": chat_id,
            "TELEGRAM_ENABLED": "true",
            "TELEGRAM_API_BASE_URL": telegram_api_base_url,
            "DAILY_ALERT_LIMIT": "0",
            "KALSHI_SERIES": "KXNFLGAME",
            "LOG_DIR": str(log_dir),
            "METRICS_PORT": "0",
        }
    )
    servers = SimpleNamespace(
        espn=SimpleNamespace(base_url=espn_base_url), kalshi=SimpleNamespace(base_url=kalshi_base_url)
    )
    return replace(ReplayEnvironment.settings(servers, base), **overrides)


def unpace_sender(sync) -> None:
    """Let the daemon's alert sender go as fast as a replay needs.

    The sender paces itself under Telegram's flood limits in real seconds; a replay at max speed
    produces a game's alerts in a few real seconds, which real pacing would spread over minutes.
    The pacing code still runs, under limits a thousand times wider."""
    from nfl_sync.alerts.sender import ChatRateLimiter
    from nfl_sync.clock import SystemClock
    from nfl_sync.domain.pacing import FloodLimits

    wide = FloodLimits(
        overall_rate=1000.0,
        overall_burst=1000,
        per_chat_rate=1000.0,
        per_chat_burst=1000,
        group_rate=1000.0,
        group_burst=1000,
    )
    sync.alerts.notifier.limiter = ChatRateLimiter(SystemClock(), wide)


def wait_for(predicate: Callable[[], object], seconds: float, what: str) -> None:
    """Poll for what a background thread or process does; bounded, so a bug fails the test
    (naming `what` it waited for) instead of hanging it."""
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.02)


_DATA_TABLES = (
    "nfl_alert_photos, nfl_alert_deliveries, nfl_alert_history, nfl_alert_chat_routes, nfl_kalshi_correlations, "
    "nfl_kalshi_prices, nfl_kalshi_markets, nfl_win_probability, nfl_player_stats, nfl_injuries, nfl_weather, "
    "nfl_odds, nfl_odds_history, nfl_plays, nfl_games, nfl_data_sync_log, nfl_chats, nfl_chat_access"
)


def empty_tables(database_url: str) -> None:
    """Every data table of the database emptied, the alert triggers as the schema made them."""
    conn = psycopg2.connect(database_url)
    with conn, conn.cursor() as cur:
        cur.execute(f"TRUNCATE {_DATA_TABLES} RESTART IDENTITY CASCADE")
        cur.execute("REFRESH MATERIALIZED VIEW v_nfl_kalshi_opportunities")  # a view keeps rows TRUNCATE took
        cur.execute("UPDATE nfl_alert_triggers SET enabled = true, cooldown_seconds = 300, last_triggered = NULL")
    conn.close()
