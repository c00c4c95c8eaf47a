"""Hosts that fail the way dead upstreams do, on loopback: refusing every connection, or
accepting connections and never answering (a hung server, a black-holing proxy).

Both hold their port for as long as they are open, so no other server can take it meanwhile.
Use as context managers; `base_url(prefix)` goes where the real API's base URL goes.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Self

from nfl_replay.http import HOST


class RefusingHost:
    """A port bound but not listening: every connection attempt is refused at once."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind((HOST, 0))
        self.port: int = self._socket.getsockname()[1]

    def base_url(self, prefix: str = "") -> str:
        return f"http://{HOST}:{self.port}{prefix}"

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SilentHost:
    """Accepts connections and never answers (the request waits unread); counts the connections."""

    def __init__(self) -> None:
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self.connections = 0
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-host", daemon=True)
        self._thread.start()

    def base_url(self, prefix: str = "") -> str:
        return f"http://{HOST}:{self.port}{prefix}"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._open.append(connection)

    def close(self) -> None:
        self._stopping.set()
        self._thread.join()
        self._listener.close()
        with self._lock:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.close()
            self._open.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
