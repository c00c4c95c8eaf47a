"""Every metric the daemon exports, declared in one place, and the endpoint that serves them.

`Metrics` holds the operator's figures (cycle duration, API latency, DB time, alert delivery, Kalshi
fetch time, live games, alerts today) in a private Prometheus registry. `MetricsServer` serves
`/metrics` (Prometheus text format) and `/healthz` (200 while cycles complete on time, 503 with
the reason otherwise) on `METRICS_PORT`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

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
    """`/metrics` and `/healthz` on a port of its own, in a daemon thread."""

    def __init__(self, metrics: Metrics, health: Callable[[], tuple[bool, dict]], port: int, host: str = "0.0.0.0"):
        handler = _handler(metrics, health)
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="metrics", daemon=True)

    def start(self) -> MetricsServer:
        self._thread.start()
        log.info("Metrics on http://%s:%d/metrics, health on /healthz", *self.httpd.server_address[:2])
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(metrics: Metrics, health: Callable[[], tuple[bool, dict]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
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
