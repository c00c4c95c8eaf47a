"""The leader lease: of the daemons sharing a database, one polls, writes and sends; the others
stand by and take over when it dies.

The lease is a session-level advisory lock (`pg_try_advisory_lock`) held on a connection of its
own, outside the pool, in autocommit (an idle transaction could be ended by the server's
`idle_in_transaction_session_timeout`, and the lock with it). PostgreSQL frees the lock when that
session ends: at once when the leader's process exits or is killed (the kernel closes its
socket), and within about 6 s when its machine or network vanishes (TCP keepalives both ways:
libpq's on our side, `tcp_keepalives_*` set for the session on the server's), so that a standby,
trying every 2 s, leads within 10 s of the leader's end.

A keeper thread looks at the lease every `retry_seconds` (2 s): a standby tries the lock, a leader
checks that its session still holds it. A leader whose check fails stops being leader at once
(`is_leader()` turns False, which the sender reads before every alert) and tries to take the lock
back on a new connection: it leads again if the lock was free (the database was away, nobody took
over), and is `superseded` for good when another daemon holds it; the daemon then exits for its
supervisor to restart it, as a standby.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from typing import Any

import psycopg2

from nfl_sync.storage.manager import _first_line as first_line

log = logging.getLogger(__name__)

# Any one value of a 64-bit key; beside the migrations' 7_317_001. pg_locks shows a bigint key
# below 2^32 as classid 0, objid the key, objsubid 1.
LEADER_LOCK = 7_317_002
RETRY_SECONDS = 2.0
# libpq's side: probe an idle connection after 3 s, every second, give up after 3 misses; a
# request unacknowledged for 6 s fails too (keepalives only cover idle connections). A probe a
# second on one idle connection costs nothing.
CLIENT_KEEPALIVES: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 3,
    "keepalives_interval": 1,
    "keepalives_count": 3,
    "tcp_user_timeout": 6_000,
}
# The server's side, so that a vanished leader's session (and lock) dies as quickly. Ignored on
# Unix sockets, where a dead process always closes its end.
SERVER_KEEPALIVES = (
    "SET tcp_keepalives_idle = 3; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 3; "
    "SET tcp_user_timeout = 6000"
)
HOLDER_SQL = (
    "SELECT a.application_name, a.client_addr, a.backend_start FROM pg_locks l "
    "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.classid = 0 AND l.objid = %s AND l.objsubid = 1 AND l.granted AND l.pid <> pg_backend_pid()"
)
HELD_SQL = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
    "AND classid = 0 AND objid = %s AND objsubid = 1 AND granted"
)


class LeaderLease:
    """The advisory lock of one daemon and the keeper thread that holds or waits for it.

    States: standby (someone else leads, or nobody could be asked yet), leader, lost (a leader
    whose lock connection failed, trying to take the lock back), superseded (lost, and another
    daemon holds the lock: final). Thread-safe.
    """

    def __init__(
        self, dsn: str, *, retry_seconds: float = RETRY_SECONDS, connect_timeout: int = 5, identity: str | None = None
    ):
        self.dsn = dsn
        self.retry_seconds = retry_seconds
        self.connect_timeout = connect_timeout
        # Shown to the standbys (the lock session's application_name): host and process id.
        self.identity = identity or f"{socket.gethostname()}:{os.getpid()}"
        self._application_name = f"nfl-realtime-sync {self.identity}"[:63]
        self.holder_is_self = False
        self.holder: str | None = None  # who leads instead of us, as far as we could tell
        self.superseded = threading.Event()
        self._leader = threading.Event()
        self._was_leader = False
        self._lost_at: float | None = None
        self._standby_logged = False
        self._unreachable = False
        self._conn: Any = None
        self._conn_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- state ---------------------------------------------------------------------------------
    def is_leader(self) -> bool:
        return self._leader.is_set()

    def wait_leader(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds to become leader; True once leader."""
        return self._leader.wait(timeout)

    @property
    def unreachable(self) -> bool:
        """The last try could not reach the database."""
        return self._unreachable

    def state(self) -> str:
        if self._leader.is_set():
            return "leader"
        if self.superseded.is_set():
            return "superseded"
        return "lost" if self._lost_at is not None else "standby"

    # --- one attempt ---------------------------------------------------------------------------
    def try_acquire(self) -> bool:
        """Take the lock if it is free, connecting first if need be. False when another session
        holds it (`holder` says whose) or the database cannot be reached (logged)."""
        with self._conn_lock:
            try:
                cur = self._cursor()
                cur.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,))
                (acquired,) = cur.fetchone()
                if not acquired:
                    cur.execute(HOLDER_SQL, (LEADER_LOCK,))
                    row = cur.fetchone()
                    # No row: the holder let go between the two queries; the next try takes it.
                    self.holder = _describe(row) if row else None
                    # Our own session of before a lost connection, which the server has not ended yet.
                    self.holder_is_self = bool(row) and row[0] == self._application_name
            except psycopg2.Error as error:
                self._drop_connection()
                self.holder = None
                if not self._unreachable:
                    log.warning("Leader lease: cannot reach the database (%s); trying again", first_line(error))
                self._unreachable = True
                return False
            self._unreachable = False
        if acquired:
            self.holder = None
            self._won()
        return bool(acquired)

    def _cursor(self) -> Any:
        if self._conn is None or self._conn.closed:
            conn = psycopg2.connect(
                self.dsn,
                connect_timeout=self.connect_timeout,
                application_name=self._application_name,
                **CLIENT_KEEPALIVES,
            )
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(SERVER_KEEPALIVES)
            self._conn = conn
        return self._conn.cursor()

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg2.Error):
                self._conn.close()
        self._conn = None

    def _still_held(self) -> bool:
        with self._conn_lock:
            try:
                cur = self._cursor()
                cur.execute(HELD_SQL, (LEADER_LOCK,))
                return bool(cur.fetchone()[0])
            except psycopg2.Error as error:
                self._drop_connection()
                log.error("Leader lease: the lock's connection failed (%s)", first_line(error))
                return False

    def _won(self) -> None:
        if self._lost_at is not None:
            log.warning(
                "Leader lease taken back after %.1f s (nobody took over); sending again",
                time.monotonic() - self._lost_at,
            )
        else:
            log.info("Leader lease taken (%s): this instance polls, writes and sends", self.identity)
        self._lost_at = None
        self._was_leader = True
        self._leader.set()

    # --- the keeper ----------------------------------------------------------------------------
    def start(self) -> LeaderLease:
        """Keep (or wait for) the lease on a thread of its own, every `retry_seconds`."""
        self._thread = threading.Thread(target=self._keep, name="leader-lease", daemon=True)
        self._thread.start()
        return self

    def _keep(self) -> None:
        while not self._stopping.is_set():
            self.step()
            self._stopping.wait(self.retry_seconds)

    def step(self) -> None:
        """One look at the lease (the keeper's, also for tests)."""
        if self.superseded.is_set():
            return
        if self._leader.is_set():
            if not self._still_held():
                self._leader.clear()
                self._lost_at = time.monotonic()
                log.error("Leader lease lost: alerts stop until it is taken back")
                self.step()  # at once: the lock may be free on a new connection
            return
        if self.try_acquire():
            return
        if self._was_leader and self.holder is not None and not self.holder_is_self:
            self.superseded.set()
            log.error("Leader lease lost to %s: this instance stops", self.holder)
        elif not self._was_leader and self.holder is not None and not self._standby_logged:
            self._standby_logged = True
            log.warning(
                "Another instance leads (%s): standing by, taking over within %.0f s of its end",
                self.holder,
                self.retry_seconds,
            )

    def close(self) -> None:
        """Stop the keeper and free the lock: unlocked first, since the server ends a closed
        session only a moment later and a standby must not find the lock still held then."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.retry_seconds + self.connect_timeout)
        with self._conn_lock:
            if self._leader.is_set() and self._conn is not None and not self._conn.closed:
                with contextlib.suppress(psycopg2.Error), self._conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", (LEADER_LOCK,))
            self._leader.clear()
            self._drop_connection()


def _describe(row: tuple[Any, ...]) -> str:
    name, address, started = row
    where = f" from {address}" if address else ""
    since = f" since {started:%Y-%m-%d %H:%M:%S %Z}" if started else ""
    return f"{name or 'a session'}{where}{since}"
