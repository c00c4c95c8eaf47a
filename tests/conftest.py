"""Shared fixtures: a real PostgreSQL for the whole test session.

The suite starts its own embedded server (pgserver, in a temporary folder) unless
TEST_DATABASE_URL names one. No test mocks the database.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg2
import pytest

from helpers import with_database
from nfl_sync.storage.embedded import ensure_database, start_embedded
from nfl_sync.storage.manager import NFLDBManager
from nfl_sync.storage.migrations import apply_migrations

FIXTURES = Path(__file__).parent / "fixtures"

_DATA_TABLES = (
    "nfl_alert_photos, nfl_alert_deliveries, nfl_alert_history, nfl_alert_chat_routes, nfl_kalshi_correlations, "
    "nfl_kalshi_prices, nfl_kalshi_markets, nfl_win_probability, nfl_player_stats, nfl_injuries, nfl_weather, "
    "nfl_odds, nfl_plays, nfl_games, nfl_data_sync_log, nfl_chats, nfl_chat_access"
)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """(admin URL, data dir or None) of the server the suite uses."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url, None
        return
    data_dir = tmp_path_factory.mktemp("pg")
    yield start_embedded(data_dir, database="postgres"), data_dir


@pytest.fixture(scope="session")
def database_url(pg_server):
    """A fresh database with the schema applied, for this test session."""
    admin_url, _ = pg_server
    name = f"nfl_test_{uuid.uuid4().hex[:8]}"
    ensure_database(admin_url, name)
    url = with_database(admin_url, name)
    db = NFLDBManager(url, pool_min=1, pool_max=2)
    apply_migrations(db)
    db.close()
    return url


@pytest.fixture
def db(database_url):
    """An NFLDBManager on empty tables (the schema stays)."""
    conn = psycopg2.connect(database_url)
    with conn, conn.cursor() as cur:
        cur.execute(f"TRUNCATE {_DATA_TABLES} RESTART IDENTITY CASCADE")
        cur.execute("REFRESH MATERIALIZED VIEW v_nfl_kalshi_opportunities")  # a view keeps rows TRUNCATE took
        cur.execute("UPDATE nfl_alert_triggers SET enabled = true, cooldown_seconds = 300, last_triggered = NULL")
    conn.close()
    manager = NFLDBManager(database_url, pool_min=1, pool_max=4)
    yield manager
    manager.close()
