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
        "006_retention.sql",
    ]
    assert second == []
    assert versions == ["001", "002", "003", "004", "005", "006"]


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
