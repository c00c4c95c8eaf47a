"""The daemon as users run it: a process started from the command line, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import requests

from helpers import fixture_path, wait_for
from nfl_replay.dead_hosts import SilentHost
from nfl_replay.runner import ReplayEnvironment, find_games
from nfl_replay.stage import LiveStage
from nfl_replay.timeline import load_game

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def daemon(tmp_path: Path, database_url: str, **settings: str) -> Iterator[subprocess.Popen]:
    """`python src/nfl_realtime_sync.py` with only the given settings (never the project's .env
    values: the environment wins), killed at the end if still running."""
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "TELEGRAM_ENABLED": "false",
        "LOG_DIR": str(tmp_path / "logs"),
        "SYNC_INTERVAL": "0.5",
        **settings,
    }
    process = subprocess.Popen(
        [sys.executable, "src/nfl_realtime_sync.py"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def sigterm(process: subprocess.Popen) -> tuple[str, float]:
    """Send SIGTERM; the process's output and the seconds it took to exit (at most 10)."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=10)
    return output, time.monotonic() - started


def _datagrams(sock: socket.socket) -> list[str]:
    """The datagrams waiting on `sock`."""
    found = []
    while True:
        try:
            found.append(sock.recv(4096).decode())
        except BlockingIOError:
            return found


def test_sigterm_finishes_the_cycle_and_exits_0_within_10_seconds(database_url, tmp_path):
    port = _free_port()
    # systemd's side of Type=notify: a datagram socket the daemon reports to.
    notify_socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_socket.bind(str(tmp_path / "notify"))
    notify_socket.setblocking(False)
    with (
        notify_socket,
        ReplayEnvironment(find_games([fixture_path("espn", "summary_401547417.json")])) as env,
        daemon(
            tmp_path,
            database_url,
            ESPN_BASE_URL=env.espn.base_url,
            ESPN_CORE_BASE_URL=env.espn.base_url,
            KALSHI_BASE_URL=env.kalshi.base_url,
            WEATHER_INTERVAL="0",
            METRICS_PORT=str(port),
            TELEGRAM_BOT_TOKEN="123456789:AAsecretsecretsecretsecretsecretsecret",
            NOTIFY_SOCKET=str(tmp_path / "notify"),
            WATCHDOG_USEC="1000000",
        ) as process,
    ):

        def healthy() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(healthy, 30, "the daemon to report healthy")
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        assert "nfl_sync_cycle_duration_seconds_count" in metrics
        assert 'nfl_api_latency_seconds_count{source="espn"}' in metrics
        told: list[str] = []
        wait_for(lambda: told.extend(_datagrams(notify_socket)) or "WATCHDOG=1" in told, 10, "the watchdog fed")
        assert told[0] == "READY=1"
        output, elapsed = sigterm(process)
        assert _datagrams(notify_socket)[-1:] == ["STOPPING=1"]
    assert process.returncode == 0, output
    assert elapsed < 10
    assert "Received SIGTERM" in output and "Stopped cleanly" in output
    assert "secretsecret" not in output
    log_file = (tmp_path / "logs" / "nfl_pipeline.log").read_text()
    assert "Stopped cleanly" in log_file and "secretsecret" not in log_file


def test_sigterm_exits_within_10_seconds_while_every_host_hangs(database_url, tmp_path):
    # ESPN's scoreboard answers (a game is on) but the game's play-by-play never does; ESPN's core
    # API, Kalshi and the weather host accept connections and never answer: lanes and fetches are
    # all inside a request when the signal comes.
    with (
        LiveStage([load_game(fixture_path("espn", "summary_401547417.json"))], datetime.now(UTC)) as stage,
        SilentHost() as host,
        daemon(
            tmp_path,
            database_url,
            ESPN_BASE_URL=stage.espn.base_url,
            ESPN_CORE_BASE_URL=host.base_url(),
            KALSHI_BASE_URL=host.base_url("/trade-api/v2"),
            OPEN_METEO_BASE_URL=host.base_url(),
        ) as process,
    ):
        stage.hang_summaries_of(stage.games[0].game_id)
        stage.league_injuries_fail = True  # on to the core API, which never answers

        def all_waiting() -> bool:
            return any(r.path.endswith("/summary") for r in stage.espn.requests) and host.connections >= 2

        wait_for(all_waiting, 30, "the lanes to reach the hosts")
        output, elapsed = sigterm(process)
    assert process.returncode == 0, output
    assert elapsed < 10
    assert "Received SIGTERM" in output and "Still busy after 5 s, exiting without them: lane-" in output
