"""The metrics endpoint's exposure: loopback by default, a fixed number of threads whatever the
clients do, a timeout for the slow ones, and /healthz's reason in its JSON."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest

from helpers import FakeClock, wait_for
from nfl_sync import metrics as metrics_module
from nfl_sync.health import HealthMonitor
from nfl_sync.metrics import Metrics, MetricsServer


@pytest.fixture
def quick_timeout(monkeypatch):
    monkeypatch.setattr(metrics_module, "SOCKET_TIMEOUT", 0.5)


def serve(health=lambda: (True, {"status": "ok"})) -> MetricsServer:
    return MetricsServer(Metrics(), health, 0).start()


def get(server: MetricsServer, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def answered(server: MetricsServer) -> bool:
    try:
        return get(server, "/healthz")[0] == 200
    except (OSError, http.client.HTTPException):
        return False


def test_the_endpoint_listens_on_loopback_unless_told_otherwise():
    server = serve()
    try:
        assert server.httpd.server_address[0] == "127.0.0.1"
        assert get(server, "/metrics")[0] == 200
    finally:
        server.stop()


def test_many_idle_connections_hold_no_more_threads_than_the_pool_and_time_out(quick_timeout):
    before = threading.active_count()
    server = serve()
    idle = []
    try:
        for _ in range(100):
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        time.sleep(0.3)
        assert threading.active_count() - before <= metrics_module.WORKERS + 1
        # Beyond the cap a connection is closed at once; once the idle ones time out, a check is answered.
        wait_for(lambda: answered(server), 15, "a health check after the idle connections")
        assert threading.active_count() - before <= metrics_module.WORKERS + 1
    finally:
        for sock in idle:
            sock.close()
        server.stop()


def test_a_slow_client_is_cut_off_after_the_socket_timeout(quick_timeout):
    server = serve()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
            slow.sendall(b"GET /metr")  # and nothing more
            started = time.monotonic()
            assert slow.recv(1024) == b""  # closed without an answer
            assert time.monotonic() - started < 5
        assert get(server, "/metrics")[0] == 200
    finally:
        server.stop()


def test_healthz_says_why_it_fails_when_a_live_game_s_polls_are_late():
    clock = FakeClock(datetime(2026, 11, 22, 18, 0, tzinfo=UTC))
    monitor = HealthMonitor()
    monitor.record_step("scoreboard", None, clock.now())
    server = serve(lambda: monitor.healthy(clock.now(), 900, live_games=2, interval=5))
    try:
        clock.advance(19)  # 14 s overdue: within 3 intervals
        assert get(server, "/healthz")[0] == 200
        clock.advance(2)  # 16 s overdue
        status, body = get(server, "/healthz")
        detail = json.loads(body)
        assert status == 503 and detail["status"] == "late"
        assert detail["reason"] == "scoreboard 16 s late while 2 game(s) are live (limit 15 s): no poll ran since"
    finally:
        server.stop()
