"""End to end under injected faults: a whole game while ESPN answers 5xx, times out, sends HTML and
truncated JSON, Kalshi answers bursts of 429, Telegram answers 429 and 5xx and PostgreSQL
restarts at halftime; a play whose summary fetch and then whose write failed; a score alert
through a few seconds of Telegram 5xx. Nothing is lost and nothing repeated."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta

import pytest

from e2e_recording import BAL_JAX, GB_ATL
from helpers import restart_postgres
from nfl_replay.faults import FaultPlan
from nfl_replay.runner import ReplayEnvironment
from nfl_replay.telegram_server import telegram_error
from nfl_sync.app import close_sync

# pytest rewrites the asserts of a helper module (for its failure reports) only when told so
# before the module is first imported; e2e_support's checks are asserts.
pytest.register_assert_rewrite("e2e_support")

from e2e_support import (  # noqa: E402
    alert_rows,
    arrivals,
    assert_play_alerts,
    assert_plays_stored,
    assert_score_alerts,
    drained,
    query,
    replayed,
    start_daemon,
)

pytest_plugins = ["replay_support"]


@pytest.mark.e2e
def test_whole_game_under_faults_loses_nothing_and_repeats_nothing(db, pg_server, database_url, telegram, tmp_path):
    """BAL @ JAX in full while ESPN answers 5xx, times out, sends HTML and truncated JSON, Kalshi
    answers bursts of 429, Telegram answers 429 (retry_after) and 5xx, and PostgreSQL restarts at
    halftime."""
    timelines, recordings = replayed([BAL_JAX])
    recording = recordings[BAL_JAX]
    halftime = next(p.visible_at for p in recording.plays if p.type == "End of Half")
    espn_faults = FaultPlan(
        {"server_error": 0.03, "timeout": 0.004, "html": 0.02, "truncated": 0.02}, seed=7, timeout_seconds=0.45
    )
    kalshi_faults = FaultPlan({"rate_limit": 0.03, "server_error": 0.01}, seed=11, burst_length=3)
    # Telegram faults, each scripted as the chat's message count reaches a threshold.
    telegram_faults = {
        3: [telegram_error(429, "Too Many Requests: retry after 1", retry_after=1)],
        8: [telegram_error(502, "Bad Gateway")],
        14: [telegram_error(500, "Internal Server Error"), telegram_error(503, "Service Unavailable")],
        20: [
            telegram_error(429, "Too Many Requests: retry after 1", retry_after=1),
            telegram_error(429, "Too Many Requests: retry after 1", retry_after=1),
        ],
        26: [telegram_error(504, "Gateway Timeout")],
    }
    restarted_at = None
    with ReplayEnvironment(timelines, espn_faults=espn_faults, kalshi_faults=kalshi_faults) as env:
        sync = start_daemon(env, telegram, database_url, tmp_path, http_timeout=0.3)
        sync.start(lanes_on_threads=False)  # a simulated clock: the sequential loop on a thread
        try:
            deadline = time.monotonic() + 150
            while True:
                assert time.monotonic() < deadline, "the game did not finish under faults"
                assert not sync.join(0), "the sync loop died"
                for threshold in [t for t in telegram_faults if len(telegram.messages) >= t]:
                    telegram.script("sendMessage", *telegram_faults.pop(threshold))
                if restarted_at is None and env.clock.now() >= halftime:
                    restarted_at = env.clock.now()
                    restart_postgres(pg_server, database_url)
                try:
                    if env.finished(sync):
                        break
                except Exception:  # the database restarting under the check itself
                    pass
                time.sleep(0.02)
            # Still alive: cycles go on completing, and succeed once the faults stop.
            espn_faults.rates.clear()
            kalshi_faults.rates.clear()
            cycles = sync.cycles
            alive_by = time.monotonic() + 20
            while sync.cycles < cycles + 5:
                assert time.monotonic() < alive_by and not sync.join(0), "no cycle completes any more"
                time.sleep(0.01)
        finally:
            sync.stop()
            sync.join(10)
            after = sync.run_cycle()
            close_sync(sync)
    assert after.ok, after.failures

    assert restarted_at is not None and not telegram_faults
    assert espn_faults.injected["server_error"] and espn_faults.injected["timeout"]
    assert espn_faults.injected["html"] and espn_faults.injected["truncated"]
    assert kalshi_faults.injected["rate_limit"] >= 3
    assert telegram.status_count(429) >= 3 and sum(telegram.status_count(s) for s in (500, 502, 503, 504)) >= 4
    failed_steps = query(db, "SELECT count(*) AS n FROM nfl_data_sync_log WHERE sync_status = 'failed'")[0]["n"]
    assert failed_steps > 0  # the faults reached the daemon (the log outlived the restart)

    alerts = alert_rows(db)
    arrived = arrivals(telegram, alerts)
    copies = defaultdict(list)
    for arrival in arrived:
        copies[arrival.alert["alert_key"]].append(arrival.labelled)
    # A 5xx means Telegram did not take the message: exactly one accepted copy per alert, even
    # when it went out as a (labelled) resend. Only the restart of PostgreSQL may leave one
    # delivery in doubt (accepted, then not marked), whose repeat must then be labelled.
    repeats = {k: labels for k, labels in copies.items() if len(labels) > 1}
    assert len(repeats) <= 1 and all(labels[1:] == [True] * (len(labels) - 1) for labels in repeats.values()), repeats
    # Every game alert that was to go out reached the chat (system alerts about the faults may
    # be given up on: they are not the users' bets).
    game_alerts = [r for r in alerts if r["alert_type"] != "system"]
    assert [
        (r["alert_key"], r["status"], r["error"]) for r in game_alerts if r["status"] not in ("sent", "suppressed")
    ] == []
    assert {r["alert_key"] for r in game_alerts if r["status"] == "sent"} <= set(copies)
    game = query(db, "SELECT * FROM nfl_games WHERE game_id = %s", recording.game_id)[0]
    assert (game["state"], game["away_score"], game["home_score"]) == ("post", *recording.final)
    assert_plays_stored(db, recording)
    assert_score_alerts(alerts, recording)
    assert_play_alerts(alerts, recording)


@pytest.mark.e2e
def test_a_play_whose_fetch_then_whose_write_failed_is_fetched_again(db, database_url, telegram, tmp_path):
    """GB @ ATL around its first interception (the next play comes 68 s later). ESPN's summary
    fails on the poll that first shows the interception on the scoreboard, and the database
    write of the plays fails on the next try: the one after must fetch and store them again.
    The alert itself does not wait for any of it: the scoreboard's last play is the interception."""
    from nfl_sync.domain.errors import DatabaseError, SourceError

    timelines, recordings = replayed([GB_ATL])
    recording = recordings[GB_ATL]
    interception = recording.by_id["401547417283"]
    assert interception.turnover_by_type
    window_end = interception.visible_at + timedelta(seconds=40)
    injected = []
    with ReplayEnvironment(timelines) as env:
        env.clock.set(interception.visible_at - timedelta(minutes=1))
        sync = start_daemon(env, telegram, database_url, tmp_path)
        fetch, write = sync.fetcher.get_play_by_play, sync.runner.write

        def flaky_fetch(game_id, *args):
            if not injected and env.clock.now() >= interception.visible_at:
                injected.append(("summary", env.clock.now()))
                raise SourceError("espn", "/summary", "server error", status=503, retryable=True)
            return fetch(game_id, *args)

        def flaky_write(events, now, fn):
            if (
                len(injected) == 1
                and fn.__qualname__.endswith("PlayByPlayLane._process.<locals>.write")
                and env.clock.now() > injected[0][1]
            ):
                injected.append(("write", env.clock.now()))
                raise DatabaseError("database unavailable: injected")
            return write(events, now, fn)

        sync.fetcher.get_play_by_play = flaky_fetch
        sync.runner.write = flaky_write
        try:
            sync.run_forever(until=lambda: env.clock.now() >= window_end and drained(sync))
        finally:
            close_sync(sync)
    assert [kind for kind, _ in injected] == ["summary", "write"]
    alerts = {r["alert_key"]: r for r in alert_rows(db)}
    alert = alerts.get(f"play:{GB_ATL}:{interception.id}")
    assert alert is not None, "the interception was not alerted"
    assert alert["created_at"] <= injected[0][1]  # by the poll that showed it, before any summary
    stored = query(db, "SELECT play_id FROM nfl_plays WHERE game_id = %s AND play_id = %s", GB_ATL, interception.id)
    assert stored, "the interception's play was not stored again after the failed write"


@pytest.mark.e2e
def test_a_score_alert_survives_a_few_seconds_of_telegram_5xx(db, database_url, telegram, tmp_path, monkeypatch):
    """GB @ ATL around its first field goal; price alerts off, so the score alert is the first
    message, and Telegram answers it 503 three times (then works again). The sender rests its
    channel after a failed round; that real-time pause is shortened here."""
    from nfl_sync.alerts import sender

    monkeypatch.setattr(sender, "OUTAGE_PAUSE_SECONDS", 0.5)
    timelines, recordings = replayed([GB_ATL])
    recording = recordings[GB_ATL]
    field_goal = recording.score_changes()[0]
    key = recording.score_keys()[0]
    window_end = field_goal.visible_at + timedelta(seconds=30)
    query(
        db,
        "UPDATE nfl_alert_triggers SET enabled = false WHERE alert_type IN ('kalshi_price', 'market_reaction') "
        "RETURNING alert_type",
    )
    telegram.script("sendMessage", *[telegram_error(503, "Service Unavailable")] * 3)

    def settled() -> bool:
        rows = query(db, "SELECT status FROM nfl_alert_history WHERE alert_key = %s", key)
        return bool(rows) and rows[0]["status"] != "pending"

    with ReplayEnvironment(timelines) as env:
        env.clock.set(field_goal.visible_at - timedelta(minutes=1))
        sync = start_daemon(env, telegram, database_url, tmp_path)
        try:
            sync.run_forever(until=lambda: env.clock.now() >= window_end and settled())
        finally:
            close_sync(sync, flush_seconds=0)
    assert telegram.status_count(503) == 3
    assert key in [a.alert["alert_key"] for a in arrivals(telegram, alert_rows(db))]
