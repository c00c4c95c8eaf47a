"""The daemon as users run it: a process started from the command line, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import requests

from helpers import TELEGRAM_TOKEN, fixture_path, rows, wait_for
from nfl_replay.dead_hosts import SilentHost
from nfl_replay.runner import ReplayEnvironment, find_games
from nfl_replay.stage import LiveStage
from nfl_replay.telegram_server import FakeTelegramServer
from nfl_replay.timeline import load_game
from nfl_sync.domain.detection import score_key

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def daemon(
    tmp_path: Path, database_url: str, *args: str, output: Path | None = None, **settings: str
) -> Iterator[subprocess.Popen]:
    """`python src/nfl_realtime_sync.py [args]` with only the given settings (never the project's
    .env values: the environment wins), killed at the end if still running. Its output is piped,
    or written to `output` (a daemon that runs long would fill the pipe)."""
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "TELEGRAM_ENABLED": "false",
        "LOG_DIR": str(tmp_path / "logs"),
        "SYNC_INTERVAL": "0.5",
        **settings,
    }
    sink = output.open("w") if output is not None else subprocess.PIPE
    process = subprocess.Popen(
        [sys.executable, "src/nfl_realtime_sync.py", *args],
        cwd=ROOT,
        env=environ,
        stdout=sink,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        if output is not None:
            sink.close()


def health(port: int) -> dict | None:
    """The daemon's /healthz answer (its JSON, with the HTTP status as "http"), None while it is not up."""
    try:
        answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    except requests.ConnectionError:
        return None
    return {**answer.json(), "http": answer.status_code}


def leads(port: int) -> bool:
    """The daemon leads and is healthy (a standby answers 200 too, but has not polled)."""
    answer = health(port) or {}
    return answer.get("http") == 200 and answer.get("status") != "standby"


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


def test_sigterm_finishes_the_cycle_and_exits_0_within_10_seconds(db, tmp_path):
    # `db` (not just its URL): empty tables, so a game an earlier test left final changes nothing.
    port = free_port()
    # systemd's side of Type=notify: a datagram socket the daemon reports to.
    notify_socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_socket.bind(str(tmp_path / "notify"))
    notify_socket.setblocking(False)
    with (
        notify_socket,
        ReplayEnvironment(find_games([fixture_path("espn", "summary_401547417.json")])) as env,
        daemon(
            tmp_path,
            db.dsn,
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
        wait_for(lambda: leads(port), 30, "the daemon to lead and report healthy")
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


def test_sigterm_exits_within_10_seconds_while_every_host_hangs(db, tmp_path):
    # `db` (not just its URL): empty tables, so a game an earlier test left final is asked for again.
    # ESPN's scoreboard answers (a game is on) but the game's play-by-play never does; ESPN's core
    # API, Kalshi and the weather host accept connections and never answer: lanes and fetches are
    # all inside a request when the signal comes.
    with (
        LiveStage([load_game(fixture_path("espn", "summary_401547417.json"))], datetime.now(UTC)) as stage,
        SilentHost() as host,
        daemon(
            tmp_path,
            db.dsn,
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


def test_sigterm_during_a_database_outage_exits_0_without_a_traceback(tmp_path):
    """The database goes away under a running daemon: the critical alert reaches the console by
    the direct path, and SIGTERM still ends the process cleanly within 10 s."""
    from helpers import own_embedded_server, pg_ctl_embedded

    data_dir = tmp_path / "pg"
    log_file = tmp_path / "logs" / "nfl_pipeline.log"
    with (
        own_embedded_server(data_dir) as url,
        ReplayEnvironment(find_games([fixture_path("espn", "summary_401547417.json")])) as env,
        daemon(
            tmp_path,
            url,
            ESPN_BASE_URL=env.espn.base_url,
            ESPN_CORE_BASE_URL=env.espn.base_url,
            KALSHI_BASE_URL=env.kalshi.base_url,
            WEATHER_INTERVAL="0",
            IDLE_POLL_INTERVAL="1",  # the replay's game is not on yet: poll (and write) anyway
            DB_UNREACHABLE_ALERT_SECONDS="1",
        ) as process,
    ):
        wait_for(lambda: log_file.exists() and "Polling every" in log_file.read_text(), 30, "the daemon to start")
        pg_ctl_embedded(data_dir, "stop", "-m", "fast")
        wait_for(lambda: "has been unreachable" in log_file.read_text(), 30, "the critical alert on the console")
        output, elapsed = sigterm(process)
    assert process.returncode == 0, output
    assert elapsed < 10
    assert "Traceback" not in output and "Stopped cleanly" in output
    assert "SYSTEM CRITICAL" in output  # printed by the console channel, straight from the lane


# --- one active instance ----------------------------------------------------------------------------


def test_once_beside_a_running_daemon_says_so_and_does_nothing(db, tmp_path):
    port = free_port()
    with (
        ReplayEnvironment(find_games([fixture_path("espn", "summary_401547417.json")])) as env,
        daemon(
            tmp_path,
            db.dsn,
            output=tmp_path / "leader.log",
            ESPN_BASE_URL=env.espn.base_url,
            ESPN_CORE_BASE_URL=env.espn.base_url,
            KALSHI_BASE_URL=env.kalshi.base_url,
            WEATHER_INTERVAL="0",
            METRICS_PORT=str(port),
        ),
    ):
        wait_for(lambda: leads(port), 30, "the daemon to lead and poll")
        with daemon(tmp_path, db.dsn, "--once", ESPN_BASE_URL=env.espn.base_url) as once:
            output, _ = once.communicate(timeout=30)

    assert once.returncode == 3, output
    assert "Another instance is running on this database" in output and "--once does nothing" in output
    assert "Restored state" not in output, "it never started a cycle"


def test_two_daemons_the_leader_killed_mid_game_each_score_alerted_once(db, tmp_path):
    """Two daemons on one database against a live game; the leader is SIGKILLed between scores. The
    standby takes over within 10 s (real clock) from the database's state: every score alert
    reaches Telegram exactly once, and nothing reaches it twice."""
    ports = free_port(), free_port()
    with (
        LiveStage([load_game(fixture_path("espn", "summary_401547417.json"))], datetime.now(UTC)) as stage,
        FakeTelegramServer(TELEGRAM_TOKEN) as telegram,
    ):
        settings = {
            "ESPN_BASE_URL": stage.espn.base_url,
            "ESPN_CORE_BASE_URL": stage.espn.base_url,
            "KALSHI_BASE_URL": stage.kalshi.base_url,
            "KALSHI_SERIES": "KXNFLGAME",
            "WEATHER_INTERVAL": "0",
            "DAILY_ALERT_LIMIT": "0",
            "TELEGRAM_ENABLED": "true",
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_CHAT_ID": "111",
            "TELEGRAM_API_BASE_URL": telegram.api_base_url,
        }
        changes = stage.changes[:6]

        def sent(change) -> bool:
            key = score_key(change.game_id, 0, change.away, change.home)
            return bool(rows(db, "SELECT 1 FROM nfl_alert_history WHERE alert_key = %s AND status = 'sent'", key))

        def drained() -> bool:
            return not rows(db, "SELECT 1 FROM nfl_alert_history WHERE status = 'pending'")

        with daemon(tmp_path, db.dsn, output=tmp_path / "first.log", METRICS_PORT=str(ports[0]), **settings) as first:
            wait_for(lambda: leads(ports[0]), 30, "the first daemon to lead")
            with daemon(
                tmp_path, db.dsn, output=tmp_path / "second.log", METRICS_PORT=str(ports[1]), **settings
            ) as second:
                wait_for(lambda: (health(ports[1]) or {}).get("status") == "standby", 30, "the second to stand by")
                assert health(ports[1])["http"] == 200, "a standby is healthy"
                for change in changes[:3]:
                    stage.reveal(change)
                    wait_for(lambda c=change: sent(c), 20, f"the alert of {change.label}")
                wait_for(drained, 30, "the leader's outbox to drain")

                first.send_signal(signal.SIGKILL)
                killed = time.monotonic()
                stage.reveal(changes[3])
                wait_for(lambda: (health(ports[1]) or {}).get("status") != "standby", 10, "the standby to take over")
                takeover = time.monotonic() - killed
                for change in changes[3:]:
                    stage.reveal(change)
                    wait_for(lambda c=change: sent(c), 20, f"the alert of {change.label} after the takeover")
                wait_for(drained, 30, "the new leader's outbox to drain")
                first_key = score_key(changes[3].game_id, 0, changes[3].away, changes[3].home)
                (message,) = rows(db, "SELECT message FROM nfl_alert_history WHERE alert_key = %s", first_key)
                (arrived,) = [m.received_at for m in telegram.messages if m.text == message["message"]]
                print(
                    f"lease taken {takeover:.2f} s after SIGKILL; the score shown at the kill reached Telegram "
                    f"{arrived - killed:.2f} s after it (real clock)"
                )
                assert second.poll() is None
        log = (tmp_path / "second.log").read_text()

    assert "standing by" in log and "Leader lease taken" in log
    texts = Counter(message.text for message in telegram.messages)
    assert [text for text, copies in texts.items() if copies > 1] == [], "nothing reached Telegram twice"
    alerts = rows(db, "SELECT alert_key, message, status FROM nfl_alert_history WHERE status <> 'suppressed'")
    assert {a["status"] for a in alerts} == {"sent"}
    assert set(texts) == {a["message"] for a in alerts}, "every alert reached Telegram, unlabelled"
    score_keys = [score_key(c.game_id, 0, c.away, c.home) for c in changes]
    assert sorted(a["alert_key"] for a in alerts if a["alert_key"] in score_keys) == sorted(score_keys)
