"""The small HTTP server every fake upstream API (ESPN, Kalshi, Telegram) is built on.

A `FakeHTTPServer` listens on 127.0.0.1 on an ephemeral port, speaks HTTP/1.1 with keep-alive
(the daemon's `requests.Session` reuses connections, as against the real APIs), always sends
Content-Length, routes `METHOD /path/{param}` patterns under a URL prefix to handler functions,
records every request, and lets a fault hook (see `faults.FaultPlan`) replace or damage responses.
Subclasses register their routes and may override `not_found()` to answer in their API's dialect.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, Self
from urllib.parse import parse_qs, urlsplit

from nfl_replay.json_fragments import dumps

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
# Idle keep-alive connections close themselves after this long, so no handler thread waits forever.
IDLE_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Request:
    """One request as a handler sees it: `path` is relative to the server's prefix."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes = b""
    params: Mapping[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter `name`, or `default`."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass(frozen=True)
class Response:
    """What to send back. `fault` names the injected fault that produced it, if any.

    `hold_seconds` delays the answer (to outlast a client's read timeout); the hold ends early
    when the server stops.
    """

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    hold_seconds: float = 0.0
    fault: str | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server answered, with the status it got, the fault injected, if any, and
    when it arrived (time.monotonic(), e.g. to measure latency from a poll)."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    status: int
    fault: str | None
    received_at: float = 0.0


Handler = Callable[[Request], Response]


class FaultHook(Protocol):
    def apply(self, produce: Callable[[], Response]) -> Response:
        """Return the response to send: `produce()`'s, a damaged copy of it, or a fault instead."""


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A compact JSON response (the real APIs send minified JSON)."""
    return encoded_json_response(dumps(data), status, headers)


def encoded_json_response(body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response whose body is already encoded (compactly, as `json_response` does)."""
    return Response(status, body, "application/json; charset=utf-8", dict(headers or {}))


def _compile(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", pattern)
    regex = "".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)" for index, part in enumerate(parts))
    return re.compile(f"^{regex}$")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: FakeHTTPServer, port: int):
        self.owner = owner
        super().__init__((HOST, port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS
    # Headers and body go out in separate writes; with Nagle's algorithm a small body would wait
    # for the client's delayed ACK (about 40 ms per response).
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, open_=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, open_=False)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = Request(
            self.command, split.path, parse_qs(split.query, keep_blank_values=True), dict(self.headers.items()), body
        )
        owner = self.server.owner
        response = owner.respond(request)
        if response.hold_seconds > 0 and owner._stopping.wait(response.hold_seconds):
            self.close_connection = True
            return
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a held response outlasted its timeout); nothing to tell it.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.server.owner.name, format % args)


class FakeHTTPServer:
    """A threaded HTTP/1.1 server on 127.0.0.1:<ephemeral> that routes to handler functions.

    `prefix` is the path every route lives under (e.g. "/trade-api/v2"), so `base_url` can be
    given to a client exactly where the real API's base URL goes. Use as a context manager, or
    call `start()` / `stop()`. Started again after a `stop()` it listens on the same port, so a
    stop and a start make an outage its clients see as refused connections.
    """

    def __init__(self, name: str, prefix: str = "", faults: FaultHook | None = None):
        self.name = name
        self.prefix = prefix.rstrip("/")
        self.faults = faults
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0  # the first start's ephemeral port, kept for a restart

    def route(self, method: str, pattern: str, handler: Handler, *, first: bool = False) -> None:
        """Send `method` requests whose path (after the prefix) matches `pattern` to `handler`.

        `{name}` in the pattern matches one path segment, passed in `Request.params`. Routes are
        tried in order; `first` puts this one before the others (a test breaking one endpoint).
        """
        entry = (method.upper(), _compile(pattern), handler)
        with self._lock:
            if first:
                self._routes.insert(0, entry)
            else:
                self._routes.append(entry)

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{self.name} server is not running")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}{self.prefix}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _Server(self, self._port)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-{self.name}", daemon=True
        )
        self._thread.start()
        log.info("fake %s server listening at %s", self.name, self.base_url)
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        # Keep-alive connections would otherwise keep their handler threads waiting for a
        # next request until the idle timeout.
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def not_found(self, request: Request) -> Response:
        """The answer for a path no route matches."""
        return json_response({"error": "not found"}, 404)

    def respond(self, request: Request) -> Response:
        """Route `request`, let the fault hook act on it, and record the outcome."""
        received_at = time.monotonic()
        response = (
            self.faults.apply(lambda: self._dispatch(request)) if self.faults is not None else self._dispatch(request)
        )
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    request.query,
                    request.headers,
                    request.body,
                    response.status,
                    response.fault,
                    received_at,
                )
            )
        return response

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        if self.prefix:
            if not (path == self.prefix or path.startswith(self.prefix + "/")):
                return self.not_found(request)
            path = path[len(self.prefix) :] or "/"
        with self._lock:
            routes = tuple(self._routes)
        for method, pattern, handler in routes:
            match = pattern.match(path)
            if match is not None and method == request.method:
                try:
                    return handler(replace(request, path=path, params=match.groupdict()))
                except Exception:
                    log.exception("fake %s server failed on %s %s", self.name, request.method, request.path)
                    return json_response({"error": HTTPStatus.INTERNAL_SERVER_ERROR.phrase}, 500)
        return self.not_found(replace(request, path=path))

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)
