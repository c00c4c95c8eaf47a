"""Every metric the daemon exports, declared in one place, and the endpoint that serves them.

`Metrics` holds the operator's figures (cycle duration, API latency, DB time, alert delivery, Kalshi
fetch time, live games, alerts today) in a private Prometheus registry. `MetricsServer` serves
`/metrics` (Prometheus text format) and `/healthz` (200 while cycles complete on time, 503 with
the reason otherwise) on `METRICS_HOST`:`METRICS_PORT` (loopback unless opened on purpose), with a
fixed number of handler threads, a cap on open connections and a timeout on each socket.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

# A scrape or a health check is one short request: a few workers serve them, and a client that
# holds a connection (idle, or sending slowly) keeps a worker at most SOCKET_TIMEOUT seconds.
WORKERS = 4
MAX_CONNECTIONS = 16  # accepted and waiting for a worker; beyond, a new connection is closed at once
SOCKET_TIMEOUT = 5.0

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.cycle_duration = Histogram(
            "nfl_sync_cycle_duration_seconds",
            "Duration of one scoreboard poll, its detection and its alerts' hand-off (the fast lane)",
            buckets=_SECONDS,
            registry=r,
        )
        self.cycle_overruns = Counter(
            "nfl_sync_cycle_overruns_total", "Scoreboard polls that took longer than the polling interval", registry=r
        )
        self.cycle_failures = Counter("nfl_sync_cycle_failures_total", "Failed steps, by lane", ["step"], registry=r)
        self.api_latency = Histogram(
            "nfl_api_latency_seconds", "Latency of upstream API calls", ["source"], buckets=_SECONDS, registry=r
        )
        self.api_errors = Counter("nfl_api_errors_total", "Upstream API calls that failed", ["source"], registry=r)
        self.db_time = Histogram(
            "nfl_db_transaction_seconds", "Duration of database transactions", buckets=_SECONDS, registry=r
        )
        self.kalshi_fetch = Histogram(
            "nfl_kalshi_fetch_seconds", "Time to fetch the Kalshi NFL slate", buckets=_SECONDS, registry=r
        )
        self.alerts = Counter(
            "nfl_alerts_total", "Alert decisions and deliveries", ["alert_type", "outcome"], registry=r
        )
        self.live_games = Gauge("nfl_live_games", "Games in progress", registry=r)
        self.alerts_today = Gauge("nfl_alerts_today", "Alerts sent today (configured time zone)", registry=r)
        self.plays_stored = Counter("nfl_plays_stored_total", "New plays stored", registry=r)
        self.last_cycle = Gauge(
            "nfl_last_successful_cycle_timestamp_seconds", "Unix time of the last cycle that completed", registry=r
        )

    def observe_api(self, source: str, path: str, status: int | None, seconds: float) -> None:
        """HttpSource observer: latency per source, errors for failed calls, slow calls logged."""
        self.api_latency.labels(source).observe(seconds)
        if status is None or status >= 400:
            self.api_errors.labels(source).inc()
        if seconds > 5:
            log.warning("Slow API: %s %s took %.1f s", source, path, seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """`/metrics` and `/healthz` on a port of its own, served by WORKERS daemon threads."""

    def __init__(self, metrics: Metrics, health: Callable[[], tuple[bool, dict]], port: int, host: str = "127.0.0.1"):
        self.httpd = _BoundedServer((host, port), _handler(metrics, health))
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="metrics", daemon=True)

    def start(self) -> MetricsServer:
        self.httpd.start_workers()
        self._thread.start()
        log.info("Metrics on http://%s:%d/metrics, health on /healthz", *self.httpd.server_address[:2])
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.httpd.stop_workers()


class _BoundedServer(HTTPServer):
    """An HTTP server whose connections are served by a fixed pool of daemon threads (a
    ThreadingHTTPServer starts a thread per connection: 2,000 idle clients held 2,002 threads).
    At most MAX_CONNECTIONS are accepted at once; one more is closed as soon as it is accepted."""

    request_queue_size = 64  # the listen backlog: connections not accepted yet cost no thread

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]):
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._accepted: queue.SimpleQueue[tuple[socket.socket, tuple[str, int]] | None] = queue.SimpleQueue()
        self._workers = [threading.Thread(target=self._work, name=f"metrics-{n}", daemon=True) for n in range(WORKERS)]

    def start_workers(self) -> None:
        for worker in self._workers:
            worker.start()

    def stop_workers(self) -> None:
        for _ in self._workers:
            self._accepted.put(None)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        self._accepted.put((request, client_address))

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("Metrics request from %s failed", client_address[0], exc_info=True)

    def _work(self) -> None:
        while (item := self._accepted.get()) is not None:
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception:  # a broken client must not end the worker
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)
                self._slots.release()


def _handler(metrics: Metrics, health: Callable[[], tuple[bool, dict]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = SOCKET_TIMEOUT  # per read and write: a silent or slow client lets go of its worker

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, metrics.render(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                ok, detail = health()
                self._reply(200 if ok else 503, json.dumps(detail, default=str).encode(), "application/json")
            else:
                self._reply(404, b'{"error": "not found"}', "application/json")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence per-request lines
            return

    return Handler
