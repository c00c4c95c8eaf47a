"""`NFLDBManager`: pooled PostgreSQL connections and transactions that survive a server restart.

Work happens in a `Tx` (one transaction on one connection) whose repositories hold the SQL by
table family: `tx.games`, `tx.markets`, `tx.outbox`, `tx.ops`, `tx.analytics`. `db.run(fn)` runs
`fn(tx)` and retries it once on a fresh connection when the old one turned out to be dead (the
server restarted), which is safe because every write is an idempotent upsert.

Every wait is bounded (`ConnectionLimits`: statement, lock and idle-in-transaction timeouts, TCP
keepalives), and every way the database can be away (connection lost, a read-only standby after
a failover, a timeout, an administrator's shutdown) reaches the caller as one `DatabaseError`.
A connection that failed that way is discarded, so the next transaction gets a fresh session
(a standby promoted back, or `default_transaction_read_only` reset, is seen at once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import psycopg2
import psycopg2.errors
import psycopg2.extras
from psycopg2.extensions import parse_dsn
from psycopg2.pool import PoolError, ThreadedConnectionPool

from nfl_sync.config import ConnectionLimits, Settings
from nfl_sync.domain.errors import DatabaseError
from nfl_sync.storage.tx import Tx

log = logging.getLogger(__name__)

CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
# The database is away or refuses to work for now: reported as DatabaseError, the session dropped.
UNAVAILABLE_ERRORS = (
    *CONNECTION_ERRORS,
    psycopg2.errors.ReadOnlySqlTransaction,
    psycopg2.errors.IdleInTransactionSessionTimeout,
)
# A bounded wait ran out: the session is fine, and trying again at once would only wait again.
TIMEOUT_ERRORS = (psycopg2.errors.QueryCanceled, psycopg2.errors.LockNotAvailable)
# The embedded server is looked at (and restarted if its process died) at most this often.
REVIVE_EVERY_SECONDS = 30.0
# The lanes, the sender and the summary workers share the pool; a thread that finds every
# connection in use waits its turn this long (transactions take milliseconds) rather than failing.
CONNECTION_WAIT_SECONDS = 10.0
T = TypeVar("T")


def connect_kwargs(limits: ConnectionLimits, dsn: str) -> dict[str, Any]:
    """libpq parameters for `dsn` under `limits`: its own `options` kept, the timeouts added after."""
    timeouts = (
        ("statement_timeout", limits.statement_timeout),
        ("lock_timeout", limits.lock_timeout),
        ("idle_in_transaction_session_timeout", limits.idle_in_transaction_timeout),
    )
    options = " ".join(f"-c {name}={round(seconds * 1000)}" for name, seconds in timeouts)
    given = parse_dsn(dsn).get("options")
    return {
        "options": f"{given} {options}" if given else options,
        "keepalives": 1,
        "keepalives_idle": limits.keepalives_idle,
        "keepalives_interval": limits.keepalives_interval,
        "keepalives_count": limits.keepalives_count,
    }


class DatabaseUnavailable(DatabaseError):
    """The database is away (`retry`: the session was dropped, and one more try on a fresh one may work)."""

    def __init__(self, message: str, retry: bool = False):
        super().__init__(message)
        self.retry = retry


def describe(error: BaseException) -> str:
    """What went wrong, in words an operator acts on; safe to log (no DSN, no password)."""
    first = _first_line(error)
    if isinstance(error, psycopg2.errors.ReadOnlySqlTransaction):
        return f"the database is read-only (a standby after a failover?): {first}"
    if isinstance(error, psycopg2.errors.LockNotAvailable):
        return f"a lock was held longer than the lock timeout (another session's open transaction?): {first}"
    if isinstance(error, psycopg2.errors.QueryCanceled):
        return f"a statement ran past the statement timeout: {first}"
    return f"database unavailable: {first}"


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
        limits: ConnectionLimits | None = None,
        revive: Callable[[], bool] | None = None,
    ):
        self.dsn = dsn
        self.limits = limits or ConnectionLimits()
        # Restarts the embedded server when its process died (True when it did); None otherwise.
        self.revive = revive
        self._revived_at = float("-inf")
        self.available = True  # False from a failure that says the database is away until a commit
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
        # Said before the first connection, so an unreachable server's errors follow the line
        # that names it.
        log.info("Database: %s", db.describe())
        if db.overridden:
            log.warning("DATABASE_URL is set and wins: %s ignored", ", ".join(db.overridden))
        if db.url is None:
            from nfl_sync.storage.embedded import revive_embedded, start_embedded

            dsn = start_embedded(db.embedded_dir)
            kwargs.setdefault("revive", lambda: revive_embedded(db.embedded_dir))
        else:
            dsn = db.url
        return cls(
            dsn,
            pool_min=db.pool_min,
            pool_max=db.pool_max,
            connect_timeout=db.connect_timeout,
            limits=db.limits,
            **kwargs,
        )

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
                        **connect_kwargs(self.limits, self.dsn),
                    )
                except CONNECTION_ERRORS as error:
                    self._note_failure()
                    self._revive_locked()
                    raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {_first_line(error)}") from None
            return self._pool

    def _revive_locked(self) -> None:
        """Restart the embedded server if its process died (a restart at most every
        REVIVE_EVERY_SECONDS; looking costs a file read)."""
        if self.revive is None or time.monotonic() - self._revived_at < REVIVE_EVERY_SECONDS:
            return
        try:
            revived = self.revive()
        except Exception as error:  # a failed restart is retried later; the lanes go on failing cleanly
            self._revived_at = time.monotonic()
            log.error("Could not restart the embedded PostgreSQL: %s", _first_line(error))
            return
        if revived:
            self._revived_at = time.monotonic()
            self._reset_locked()

    def _note_failure(self) -> None:
        self.available = False
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
                self._revive_locked()
            raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {_first_line(error)}") from None
        except PoolError as error:
            raise DatabaseError(f"connection pool exhausted ({error})") from None
        broken = False
        started = time.perf_counter()
        try:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                yield Tx(cur)
            conn.commit()
            self.consecutive_failures = 0
            self.available = True
        except TIMEOUT_ERRORS as error:
            with suppress(*CONNECTION_ERRORS):
                conn.rollback()
            broken = bool(conn.closed)
            raise DatabaseUnavailable(describe(error)) from None
        except UNAVAILABLE_ERRORS as error:
            broken = True
            lost = bool(conn.closed) or isinstance(error, CONNECTION_ERRORS)
            with self._lock:
                if lost:
                    self._note_failure()
                self.available = False
            # A fresh session may work: the server is back, or a standby was promoted back.
            raise DatabaseUnavailable(describe(error), retry=True) from None
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
        except DatabaseUnavailable as error:
            if not error.retry:
                raise
            log.warning("Database session failed (%s); retrying on a new connection", error)
        with self.transaction() as tx:
            return fn(tx)

    def ping(self) -> bool:
        self.run(lambda tx: tx.cur.execute("SELECT 1"))
        return True

    def refresh_opportunities(self) -> None:
        """REFRESH ... CONCURRENTLY cannot run inside a transaction block, hence autocommit."""
        with self._slot():
            pool = self._get_pool()
            try:
                conn = pool.getconn()
            except CONNECTION_ERRORS as error:
                raise DatabaseUnavailable(describe(error)) from None
            broken = False
            try:
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY v_nfl_kalshi_opportunities")
            except (*UNAVAILABLE_ERRORS, *TIMEOUT_ERRORS) as error:
                broken = True
                raise DatabaseUnavailable(describe(error)) from None
            finally:
                with suppress(*CONNECTION_ERRORS):
                    conn.autocommit = False
                pool.putconn(conn, close=broken or bool(conn.closed))

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
