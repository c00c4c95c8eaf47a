"""The leader lease on a real PostgreSQL: one leader per database, a standby that takes over when
the leader's session ends, and a leader that loses its lock's connection."""

from __future__ import annotations

import logging

import psycopg2
import pytest

from helpers import wait_for
from nfl_sync.storage.lease import LeaderLease


@pytest.fixture
def leases(database_url):
    made: list[LeaderLease] = []

    def make() -> LeaderLease:
        lease = LeaderLease(database_url, retry_seconds=0.1, identity=f"test-host:{len(made) + 1}")
        made.append(lease)
        return lease

    yield make
    for lease in made:
        lease.close()


def terminate_session_of(lease: LeaderLease, database_url: str) -> None:
    """End the lease's database session from outside (as a server restart or a partition would)."""
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"nfl-realtime-sync {lease.identity}",),
        )
        assert cur.rowcount == 1
    conn.close()


def test_one_leader_per_database_and_the_standby_says_whose_it_is(leases, caplog):
    first, second = leases(), leases()

    assert first.try_acquire()
    with caplog.at_level(logging.WARNING):
        second.step()
        second.step()

    assert (first.state(), second.state()) == ("leader", "standby")
    assert "test-host:1" in second.holder
    standing_by = [r.getMessage() for r in caplog.records if "standing by" in r.getMessage()]
    assert len(standing_by) == 1, "said once"
    assert first.identity in standing_by[0]


def test_the_standby_takes_over_once_the_leaders_session_ends(leases):
    first, second = leases(), leases()
    first.try_acquire()
    second.step()

    first.close()
    second.step()

    assert second.is_leader()


def test_a_leader_whose_session_died_takes_the_lock_back_when_nobody_else_did(leases, database_url, caplog):
    lease = leases()
    lease.try_acquire()
    terminate_session_of(lease, database_url)

    with caplog.at_level(logging.WARNING):
        lease.step()

    assert lease.is_leader() and not lease.superseded.is_set()
    assert "Leader lease lost" in caplog.text and "taken back" in caplog.text


def test_a_leader_whose_session_died_while_another_took_over_is_superseded(leases, database_url):
    first, second = leases(), leases()
    first.try_acquire()
    terminate_session_of(first, database_url)
    second.step()  # the lock was free: the standby leads

    first.step()

    assert not first.is_leader() and first.superseded.is_set()
    assert "test-host:2" in first.holder
    assert second.is_leader()


def test_a_leader_whose_old_session_still_holds_the_lock_is_not_superseded_by_itself(leases):
    """The lock's connection failed on the client's side (a blip); the server has not ended the
    old session yet, so the lock is held by this very instance: wait for it, never give up."""
    lease = leases()
    lease.try_acquire()
    old_session, lease._conn = lease._conn, None  # the client lost it; the server still holds it
    try:
        lease.step()
        assert not lease.superseded.is_set() and lease.holder_is_self and not lease.is_leader()
    finally:
        old_session.close()  # the server ends the old session at last
    wait_for(lambda: (lease.step(), lease.is_leader())[1], 10, "the lease taken back")
    assert not lease.superseded.is_set()


def test_an_unreachable_database_leaves_a_standby_waiting(caplog):
    lease = LeaderLease("postgresql://nobody@127.0.0.1:1/none", connect_timeout=1)
    with caplog.at_level(logging.WARNING):
        lease.step()
        lease.step()
    assert lease.state() == "standby" and lease.holder is None
    assert caplog.text.count("cannot reach the database") == 1
    lease.close()


def test_the_keeper_thread_takes_the_lease_when_it_frees(leases):
    first, second = leases(), leases()
    first.try_acquire()
    second.start()
    assert not second.wait_leader(0.3)

    first.close()

    assert second.wait_leader(5)
