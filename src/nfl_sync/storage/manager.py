"""`NFLDBManager`: pooled PostgreSQL connections and transactions that survive a server restart.

Work happens in a `Tx` (one transaction on one connection) whose repositories hold the SQL by
table family: `tx.games`, `tx.markets`, `tx.outbox`, `tx.ops`, `tx.analytics`. `db.run(fn)` runs
`fn(tx)` and retries it once on a fresh connection when the old one turned out to be dead (the
server restarted), which is safe because every write is an idempotent upsert.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import psycopg2
import psycopg2.extras
from psycopg2.pool import PoolError, ThreadedConnectionPool

from nfl_sync.config import Settings, redact_url
from nfl_sync.domain.errors import DatabaseError
from nfl_sync.storage.tx import Tx

log = logging.getLogger(__name__)

CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
# The lanes, the sender and the summary workers share the pool; a thread that finds every
# connection in use waits its turn this long (transactions take milliseconds) rather than failing.
CONNECTION_WAIT_SECONDS = 10.0
T = TypeVar("T")


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
        # psycopg2's pool raises at once when it is empty; this bounds the borrowers instead.
        self._slots = threading.BoundedSemaphore(pool_max)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> NFLDBManager:
        """Connect to the configured database, starting the embedded one when none is configured."""
        db = settings.database
        if db.url is None:
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
        with self._slot(), self._connection_transaction() as tx:
            yield tx

    @contextmanager
    def _connection_transaction(self) -> Iterator[Tx]:
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
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
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

    def ping(self) -> bool:
        self.run(lambda tx: tx.cur.execute("SELECT 1"))
        return True

    def refresh_opportunities(self) -> None:
        """REFRESH ... CONCURRENTLY cannot run inside a transaction block, hence autocommit."""
        with self._slot():
            pool = self._get_pool()
            conn = pool.getconn()
            try:
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY v_nfl_kalshi_opportunities")
            finally:
                conn.autocommit = False
                pool.putconn(conn)

    @contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=CONNECTION_WAIT_SECONDS):
            raise DatabaseError(
                f"all {self.pool_max} database connections stayed busy for {CONNECTION_WAIT_SECONDS:g} s"
            )
        try:
            yield
        finally:
            self._slots.release()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
