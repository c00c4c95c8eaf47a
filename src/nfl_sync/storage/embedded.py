"""The embedded PostgreSQL used when no database is configured.

`pgserver` ships a real PostgreSQL 16 inside its wheel. The data folder persists between runs, so
the daemon picks up its history on the next start. The server listens only on a Unix socket in
the data folder (a TCP port on Windows), never on the network.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

from nfl_sync.domain.errors import EmbeddedDatabaseError

log = logging.getLogger(__name__)

REAP_WAIT_SECONDS = 10.0


def start_embedded(data_dir: Path, database: str = "magnus", stop_at_exit: bool = True) -> str:
    """Start (or reuse) the embedded server in `data_dir` and return a libpq URL to `database`."""
    # pgserver narrates every pg_ctl call at INFO and platformdirs warns about XDG_RUNTIME_DIR
    # on servers; neither tells the user anything they can act on.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        import pgserver
    except ImportError:
        raise EmbeddedDatabaseError(
            f"no database is configured and the embedded PostgreSQL (pgserver) is not installed for "
            f"Python {sys.version_info.major}.{sys.version_info.minor} (its wheels cover 3.9-3.12). "
            f"Set DATABASE_URL (or DB_HOST, DB_PASSWORD, ...) to a PostgreSQL server, or run with Python 3.11/3.12."
        ) from None
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        server = pgserver.get_server(data_dir, cleanup_mode="stop" if stop_at_exit else None)
    except Exception as error:
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL in {data_dir} did not start ({error}); see {data_dir / 'log'}"
        ) from error
    admin_url = server.get_uri()
    ensure_database(admin_url, database)
    log.debug("Embedded PostgreSQL running with its data in %s", data_dir)
    return server.get_uri(database)


def revive_embedded(data_dir: Path) -> bool:
    """Start the embedded server in `data_dir` again if its process died; True when it did.

    Called by the pool when a connection fails: a server killed (the OOM killer, an operator)
    would otherwise stay down until the daemon restarts."""
    import pgserver

    if _postmaster(data_dir) == "running":
        return False
    log.warning("The embedded PostgreSQL in %s is not running; starting it again", data_dir)
    # A killed postmaster stays a zombie until its parent reaps it, and its pid file keeps a
    # new server from starting meanwhile.
    deadline = time.monotonic() + REAP_WAIT_SECONDS
    while _postmaster(data_dir) == "zombie" and time.monotonic() < deadline:
        time.sleep(0.1)
    server = pgserver.get_server(data_dir)
    # pgserver serialises starts across processes with this lock; its constructor takes it too.
    with server._lock:
        server.ensure_postgres_running()
    if _postmaster(data_dir) != "running":
        raise EmbeddedDatabaseError(f"the embedded PostgreSQL in {data_dir} did not start; see {data_dir / 'log'}")
    log.warning("The embedded PostgreSQL in %s is running again", data_dir)
    return True


def _postmaster(data_dir: Path) -> str:
    """running, zombie (killed, not reaped yet) or dead: the process named in its pid file."""
    import psutil  # type: ignore[import-untyped]  # pgserver's own dependency
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir.resolve())
    process: Any = None if info is None else info.process  # a psutil.Process, though pgserver types it None
    if process is None or not process.is_running():
        return "dead"
    try:
        return "zombie" if process.status() == psutil.STATUS_ZOMBIE else "running"
    except psutil.NoSuchProcess:
        return "dead"


def ensure_database(admin_url: str, database: str) -> None:
    """Create `database` on the server behind `admin_url` unless it exists."""
    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    finally:
        conn.close()
