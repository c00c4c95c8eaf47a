"""What the real-clock tests of the lanes share: the unchanged daemon (`app.build_sync`) with its
lanes on their threads and the system clock, against a `LiveStage` (recorded games revealed one
score change at a time), a fake Bot API and, where a test says so, dead hosts. Intervals are
short so that a test takes seconds; every wait has a deadline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers import fast_commit_url, fixture_path, replay_daemon_settings, wait_for
from nfl_replay.runner import ReplayEnvironment
from nfl_replay.stage import LiveStage, ScoreChange
from nfl_replay.telegram_server import FakeTelegramServer
from nfl_replay.timeline import GameTimeline, load_game
from nfl_sync.app import build_sync, close_sync
from nfl_sync.clock import SystemClock
from nfl_sync.domain.detection import score_key
from nfl_sync.engine.sync import NFLRealtimeSync
from nfl_sync.storage.manager import NFLDBManager

INTERVAL = 0.3  # the daemon's SYNC_INTERVAL in these tests
GB_AT_ATL = "401547417"
BAL_AT_JAX = "401547602"


def recorded_games() -> list[GameTimeline]:
    """GB @ ATL and BAL @ JAX, the two recorded games (distinct teams, so distinct tickers)."""
    return [
        load_game(fixture_path("espn", "summary_401547417.json")),
        load_game(fixture_path("espn", "cdn_game_401547602.json")),
    ]


@contextmanager
def live_daemon(
    stage: LiveStage | ReplayEnvironment, telegram: FakeTelegramServer, dsn: str, log_dir: Path, **overrides
) -> Iterator[NFLRealtimeSync]:
    """The daemon as `run_daemon` starts it, until the block ends."""
    options = {"sync_interval": INTERVAL, "http_timeout": 2.0, "http_deadline": 4.0, **overrides}
    kalshi = options.pop("kalshi_base_url", stage.kalshi.base_url)
    settings = replay_daemon_settings(stage.espn.base_url, kalshi, telegram.api_base_url, log_dir, **options)
    db = NFLDBManager(fast_commit_url(dsn), pool_min=2, pool_max=8)
    sync = build_sync(settings, clock=SystemClock(), db=db, restore=True)
    sync.start()
    try:
        yield sync
    finally:
        sync.stop()
        sync.join(5)
        close_sync(sync, flush_seconds=1)


def query(sync: NFLRealtimeSync, sql: str, *params) -> list[dict]:
    return sync.db.run(lambda tx: (tx.cur.execute(sql, params), tx.cur.fetchall())[1])


def key_of(change: ScoreChange) -> str:
    return score_key(change.game_id, 0, change.away, change.home)


def arrival(sync: NFLRealtimeSync, telegram: FakeTelegramServer, key: str) -> float | None:
    """When Telegram accepted the alert `key` (time.monotonic()), or None while it has not."""
    rows = query(
        sync,
        "SELECT d.external_message_id FROM nfl_alert_history h JOIN nfl_alert_deliveries d ON d.alert_id = h.id "
        "WHERE h.alert_key = %s AND d.status = 'sent'",
        key,
    )
    if not rows:
        return None
    sent = [m.received_at for m in telegram.messages if str(m.message_id) == rows[0]["external_message_id"]]
    return sent[0] if sent else None


def wait_for_arrival(sync: NFLRealtimeSync, telegram: FakeTelegramServer, key: str, seconds: float = 10) -> float:
    wait_for(lambda: arrival(sync, telegram, key) is not None, seconds, f"the alert {key} at Telegram")
    received = arrival(sync, telegram, key)
    assert received is not None
    return received


def first_poll_after(stage: LiveStage, moment: float) -> float:
    """The first ESPN answer after `moment` that could show news: a scoreboard poll, or a summary
    asked for by an earlier poll (it can bring a score before the next poll does)."""
    requests = [
        r.received_at
        for r in stage.espn.requests
        if r.received_at >= moment and r.status == 200 and r.path.endswith(("/scoreboard", "/summary"))
    ]
    assert requests, "no ESPN request after the reveal"
    return min(requests)
