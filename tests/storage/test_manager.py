"""NFLDBManager against the real (embedded) PostgreSQL of the test session."""

from __future__ import annotations

import pytest

from factories import game
from helpers import restart_postgres, with_database
from nfl_sync.storage.manager import NFLDBManager
from nfl_sync.storage.migrations import apply_migrations


def test_migrations_apply_once_then_are_a_no_op(pg_server, tmp_path):
    from nfl_sync.storage.embedded import ensure_database

    admin_url, _ = pg_server
    ensure_database(admin_url, "nfl_migrations_test")
    db = NFLDBManager(with_database(admin_url, "nfl_migrations_test"), pool_min=1, pool_max=2)
    try:
        first = apply_migrations(db)
        second = apply_migrations(db)
        versions = db.run(
            lambda tx: (
                tx.cur.execute("SELECT version FROM schema_migrations ORDER BY 1"),
                [r["version"] for r in tx.cur.fetchall()],
            )[1]
        )
    finally:
        db.close()
    assert first == [
        "001_core_tables.sql",
        "002_kalshi.sql",
        "003_alerts_and_operations.sql",
        "004_views.sql",
        "005_game_phase_and_play_identity.sql",
        "006_alert_chat_routes.sql",
        "007_retention.sql",
        "008_edge_and_orderbook.sql",
        "009_odds_history.sql",
        "010_chat_subscriptions.sql",
        "011_alert_photos.sql",
    ]
    assert second == []
    assert versions == ["001", "002", "003", "004", "005", "006", "007", "008", "009", "010", "011"]


def test_the_phase_migration_reads_the_games_already_stored(pg_server, tmp_path):
    """Games stored before phases existed: a postponed game ESPN called "post" is not over."""
    import shutil

    from nfl_sync.storage.embedded import ensure_database
    from nfl_sync.storage.migrations import MIGRATIONS_DIR

    admin_url, _ = pg_server
    ensure_database(admin_url, "nfl_phase_migration_test")
    db = NFLDBManager(with_database(admin_url, "nfl_phase_migration_test"), pool_min=1, pool_max=2)
    before = tmp_path / "sql"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("00[1-4]_*.sql")):
        shutil.copy(path, before)
    rows = [("1", "STATUS_POSTPONED", "post"), ("2", "STATUS_FINAL", "post"), ("3", "STATUS_HALFTIME", "in")]
    try:
        apply_migrations(db, before)
        db.run(
            lambda tx: tx.cur.executemany(
                "INSERT INTO nfl_games (game_id, home_team, away_team, status, state) VALUES (%s, 'ATL', 'GB', %s, %s)",
                rows,
            )
        )
        assert apply_migrations(db)[0] == "005_game_phase_and_play_identity.sql"
        stored = db.run(
            lambda tx: (
                tx.cur.execute("SELECT game_id, state, phase FROM nfl_games ORDER BY game_id"),
                [(r["game_id"], r["state"], r["phase"]) for r in tx.cur.fetchall()],
            )[1]
        )
    finally:
        db.close()
    assert stored == [("1", "pre", "postponed"), ("2", "post", "final"), ("3", "in", "halftime")]


def test_pool_recovers_after_the_server_restarts(db, pg_server, database_url):
    db.run(lambda tx: tx.games.upsert_game(game(home_score=3)))
    # Warm two pooled connections that the restart will kill.
    with db.transaction() as tx, db.transaction() as tx2:
        tx.cur.execute("SELECT 1")
        tx2.cur.execute("SELECT 1")
    restart_postgres(pg_server, database_url)
    db.run(lambda tx: tx.games.upsert_game(game(home_score=10)))
    db.run(lambda tx: tx.games.upsert_game(game(home_score=17)))
    assert db.run(lambda tx: tx.games.game("401547417"))["home_score"] == 17


def test_three_consecutive_connection_failures_reset_the_pool():
    db = NFLDBManager("postgresql://nobody@127.0.0.1:1/none", pool_min=1, pool_max=1, connect_timeout=1)
    from nfl_sync.domain.errors import DatabaseError

    for _ in range(3):
        with pytest.raises(DatabaseError, match="cannot connect to PostgreSQL"):
            db.ping()
    assert db.pool_resets == 1
    assert db.consecutive_failures == 0


def test_more_borrowers_than_connections_wait_their_turn(database_url):
    # The lanes, the sender and the summary workers can want more connections than the pool has.
    import threading

    db = NFLDBManager(database_url, pool_min=1, pool_max=2)
    started = threading.Barrier(6)

    def borrow(results: list[int]) -> None:
        started.wait()
        row = db.run(lambda tx: (tx.cur.execute("SELECT pg_sleep(0.05), 1 AS one"), tx.cur.fetchone())[1])
        results.append(row["one"])

    results: list[int] = []
    threads = [threading.Thread(target=borrow, args=(results,)) for _ in range(6)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    finally:
        db.close()
    assert results == [1] * 6


def test_a_borrower_that_waits_too_long_gets_a_clear_database_error(database_url, monkeypatch):
    from nfl_sync.domain.errors import DatabaseError
    from nfl_sync.storage import manager

    monkeypatch.setattr(manager, "CONNECTION_WAIT_SECONDS", 0.05)
    db = NFLDBManager(database_url, pool_min=1, pool_max=1)
    try:
        with db.transaction() as held:
            held.cur.execute("SELECT 1")
            with pytest.raises(DatabaseError, match="all 1 database connections stayed busy"):
                db.ping()
        assert db.ping()
    finally:
        db.close()


def _show(db, setting: str) -> str:
    return db.run(lambda tx: (tx.cur.execute(f"SHOW {setting}"), tx.cur.fetchone())[1][setting])


def test_every_session_has_bounded_waits_and_keeps_the_dsns_own_options(database_url):
    from helpers import fast_commit_url
    from nfl_sync.config import ConnectionLimits
    from nfl_sync.storage.manager import connect_kwargs

    limits = ConnectionLimits(statement_timeout=12.5, lock_timeout=2, idle_in_transaction_timeout=45)
    db = NFLDBManager(fast_commit_url(database_url), pool_min=1, pool_max=1, limits=limits)
    try:
        shown = {s: _show(db, s) for s in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")}
        assert shown == {
            "statement_timeout": "12500ms",
            "lock_timeout": "2s",
            "idle_in_transaction_session_timeout": "45s",
        }
        assert _show(db, "synchronous_commit") == "off"  # the URL's own options still apply
    finally:
        db.close()
    assert connect_kwargs(limits, database_url)["keepalives_idle"] == 30


def test_a_lock_held_by_another_session_costs_one_lock_timeout_then_the_write_goes_through(database_url):
    import psycopg2

    from nfl_sync.config import ConnectionLimits
    from nfl_sync.domain.errors import DatabaseError

    db = NFLDBManager(database_url, pool_min=1, pool_max=1, limits=ConnectionLimits(lock_timeout=0.2))
    operator = psycopg2.connect(database_url)
    touch = "UPDATE nfl_alert_triggers SET last_triggered = now() WHERE alert_type = 'score'"
    try:
        with operator.cursor() as cur:
            cur.execute("UPDATE nfl_alert_triggers SET enabled = enabled")  # left uncommitted
        with pytest.raises(DatabaseError, match="lock timeout"):
            db.run(lambda tx: tx.cur.execute(touch))
        operator.rollback()
        db.run(lambda tx: tx.cur.execute(touch))
    finally:
        operator.close()
        db.close()


def test_a_read_only_database_is_a_database_error_and_the_next_session_sees_it_writable(db, pg_server, database_url):
    from helpers import read_only_database
    from nfl_sync.domain.errors import DatabaseError

    db.ping()  # a pooled session from before the switch
    with read_only_database(pg_server, database_url):
        db.reset_pool()  # the failover: every session is new, on a standby
        with pytest.raises(DatabaseError, match="read-only"):
            db.run(lambda tx: tx.games.upsert_game(game(home_score=3)))
        assert not db.available
    db.run(lambda tx: tx.games.upsert_game(game(home_score=3)))  # the read-only session was dropped
    assert db.available and db.run(lambda tx: tx.games.game("401547417"))["home_score"] == 3


def test_a_dead_embedded_server_is_started_again(tmp_path):
    import os
    import signal

    from helpers import own_embedded_server, wait_for
    from nfl_sync.domain.errors import DatabaseError
    from nfl_sync.storage.embedded import revive_embedded

    data_dir = tmp_path / "pg"
    with own_embedded_server(data_dir) as url:
        db = NFLDBManager(url, pool_min=1, pool_max=2, revive=lambda: revive_embedded(data_dir))

        def postmaster() -> int:
            return int((data_dir / "postmaster.pid").read_text().split()[0])

        def pings() -> bool:
            try:
                return db.ping()
            except DatabaseError:  # the dead server found on a connection failure, and started again
                return False

        try:
            db.ping()
            killed = postmaster()
            os.kill(killed, signal.SIGKILL)
            # A session of the killed server may go on answering a while: new ones are what fail.
            db.reset_pool()
            # Only the pool's revive starts a new postmaster.
            wait_for(lambda: pings() and postmaster() != killed, 30, "the server started again, the pool reconnected")
        finally:
            db.close()


def test_nothing_configured_uses_the_embedded_server_and_says_so_in_one_line(pg_server, caplog):
    import logging
    from dataclasses import replace

    from nfl_sync.config import load_settings

    _, data_dir = pg_server
    if data_dir is None:
        pytest.skip("TEST_DATABASE_URL names a server: no embedded one to start")
    settings = load_settings({})
    settings = replace(settings, database=replace(settings.database, embedded_dir=data_dir))
    with caplog.at_level(logging.INFO, logger="nfl_sync.storage"):
        db = NFLDBManager.from_settings(settings)
    try:
        assert (
            db.run(lambda tx: (tx.cur.execute("SELECT current_database() AS name"), tx.cur.fetchone())[1])["name"]
            == "magnus"
        )
    finally:
        db.close()
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Database:")]
    assert said == [f"Database: embedded PostgreSQL at {data_dir}"]
