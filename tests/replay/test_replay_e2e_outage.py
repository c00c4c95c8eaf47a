"""End to end, the database away for 60 s mid-game: GB @ ATL replayed on the simulated clock
against its own embedded PostgreSQL (stopped and started again here, so the suite's server stays
up), with the fake Telegram. The lanes go on polling through the outage; the critical "database
unreachable" alert reaches Telegram through the direct path while it lasts and is recorded after;
the score of the outage is stored and alerted once, late and marked so; no play is lost."""

from __future__ import annotations

from datetime import timedelta

import pytest

from e2e_recording import GB_ATL
from helpers import own_embedded_server, pg_ctl_embedded, wait_for
from nfl_replay.runner import ReplayEnvironment
from nfl_sync.app import close_sync
from nfl_sync.storage.embedded import revive_embedded
from nfl_sync.storage.manager import NFLDBManager

pytest.register_assert_rewrite("e2e_support")

from e2e_support import (  # noqa: E402
    MAX_ALERT_DELAY,
    alert_rows,
    arrivals,
    assert_game_order,
    assert_play_alerts,
    assert_plays_stored,
    assert_score_alerts,
    assert_telegram_exactly_once,
    drained,
    replayed,
    start_daemon,
)

pytest_plugins = ["replay_support"]

OUTAGE = timedelta(seconds=60)


@pytest.fixture
def own_server(tmp_path):
    """(URL, data dir, a manager for the checks) of an embedded server of this test's own."""
    data_dir = tmp_path / "pg"
    with own_embedded_server(data_dir) as url:
        db = NFLDBManager(url, pool_min=1, pool_max=2)
        yield url, data_dir, db
        db.close()


@pytest.mark.e2e
def test_a_60_s_database_outage_mid_game_loses_nothing_and_alerts_the_score_late_once(own_server, telegram, tmp_path):
    url, data_dir, db = own_server
    timelines, recordings = replayed([GB_ATL])
    recording = recordings[GB_ATL]
    changes = recording.score_changes()
    # Down 20 s before the second score shows, back 40 s after it.
    down_at = changes[1].visible_at - timedelta(seconds=20)
    up_at = down_at + OUTAGE
    window_end = changes[2].visible_at + timedelta(minutes=2)
    assert recording.score_keys(down_at, up_at) == recording.score_keys(until=up_at)[1:2]  # the scenario
    unreachable = "has been unreachable"
    with ReplayEnvironment(timelines) as env:
        sync = start_daemon(env, telegram, url, tmp_path)
        try:
            sync.run_forever(until=lambda: env.clock.now() >= down_at and drained(sync))
            pg_ctl_embedded(data_dir, "stop", "-m", "fast")
            sync.run_forever(until=lambda: env.clock.now() >= down_at + timedelta(seconds=35))
            # The direct path runs on the sender thread, in real time.
            wait_for(lambda: any(unreachable in m.visible_text for m in telegram.messages), 10, "the direct alert")
            sync.run_forever(until=lambda: env.clock.now() >= up_at)
            during = [m.visible_text for m in telegram.messages]
            assert revive_embedded(data_dir)
            sync.run_forever(
                until=lambda: env.clock.now() >= window_end and drained(sync) and not len(sync.alerts.direct)
            )
        finally:
            close_sync(sync)

    alerts = alert_rows(db)
    arrived = arrivals(telegram, alerts)
    assert_telegram_exactly_once(arrived, alerts)
    assert_plays_stored(db, recording, until=window_end)
    assert_score_alerts(alerts, recording, until=window_end, final=False)
    assert_play_alerts(alerts, recording, until=window_end)
    assert_game_order(arrived, recording, down=(down_at, up_at))
    # The score of the outage: alerted once the database was back, saying it is late.
    [late] = [r for r in alerts if r["alert_key"] == recording.score_keys(down_at, up_at)[0]]
    assert up_at <= late["created_at"] <= up_at + MAX_ALERT_DELAY
    assert "Delayed by a database outage" in late["message"]
    assert late["payload"]["held_seconds"] >= (up_at - changes[1].visible_at).total_seconds() - 5
    assert not any("SCORE UPDATE" in text and "Delayed" in text for text in during)
    # The critical alert went out during the outage, and is in the outbox as sent, once.
    [direct] = [r for r in alerts if r["alert_key"].startswith("system:database:unreachable:")]
    assert direct["status"] == "sent" and unreachable in direct["message"]
    assert sum(unreachable in text for text in during) == 1
    # The lanes kept polling through the outage: five failed scoreboard steps said so, directly.
    failed_polls = [r for r in alerts if "5 consecutive scoreboard steps failed" in r["message"]]
    assert [r["status"] for r in failed_polls] == ["sent"]
