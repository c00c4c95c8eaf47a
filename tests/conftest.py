"""Shared fixtures: a real PostgreSQL for the whole test session.

The suite starts its own embedded server (pgserver, in a temporary folder) unless
TEST_DATABASE_URL names one. No test mocks the database.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from helpers import empty_tables, with_database
from nfl_sync.storage.embedded import ensure_database, start_embedded
from nfl_sync.storage.manager import NFLDBManager
from nfl_sync.storage.migrations import apply_migrations

FIXTURES = Path(__file__).parent / "fixtures"


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
    empty_tables(database_url)
    manager = NFLDBManager(database_url, pool_min=1, pool_max=4)
    yield manager
    manager.close()
