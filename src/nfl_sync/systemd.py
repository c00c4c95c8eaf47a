"""systemd's notify protocol (sd_notify(3)): READY=1, WATCHDOG=1 and STOPPING=1 sent as datagrams
to the unix socket named by $NOTIFY_SOCKET, which systemd sets for a `Type=notify` unit.

The protocol is one datagram per message, so it is spoken here in a few lines rather than through
a dependency (`sdnotify` or `systemd-python`, the latter a C extension that needs libsystemd's
headers to install). Outside systemd (no $NOTIFY_SOCKET) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send `state` ("READY=1", ...) to systemd; False when not under systemd or the send failed."""
    path = (os.environ if env is None else env).get("NOTIFY_SOCKET")
    if not path or not hasattr(socket, "AF_UNIX"):
        return False
    if path.startswith("@"):  # an abstract socket
        path = "\0" + path[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(path)
            sock.sendall(state.encode())
    except OSError as error:
        log.warning("Could not notify systemd (%s): %s", state, error)
        return False
    return True


def watchdog_seconds(env: Mapping[str, str] | None = None) -> float | None:
    """WatchdogSec of the unit (from $WATCHDOG_USEC) when systemd watches this process, else None."""
    env = os.environ if env is None else env
    usec, pid = env.get("WATCHDOG_USEC"), env.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        seconds = int(usec) / 1_000_000
    except ValueError:
        return None
    return seconds if seconds > 0 else None


class Watchdog:
    """Feeds systemd's watchdog (WATCHDOG=1, at half its period) while `on_time()` says the loop
    keeps its cadence; a stalled loop stops feeding it, and systemd restarts the service."""

    def __init__(
        self,
        on_time: Callable[[], bool],
        env: Mapping[str, str] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.on_time = on_time
        self.env = env
        self.monotonic = monotonic
        period = watchdog_seconds(env)
        self.every = period / 2 if period else None
        self._fed: float | None = None

    def tick(self) -> bool:
        """Call often (the daemon's main loop does, twice a second); True when it fed the watchdog."""
        if self.every is None:
            return False
        now = self.monotonic()
        if self._fed is not None and now - self._fed < self.every:
            return False
        if not self.on_time():
            return False
        self._fed = now
        return notify("WATCHDOG=1", self.env)
