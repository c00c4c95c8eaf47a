"""The lanes on the real clock: a score alert leaves within the poll that shows it whatever else
is dead, slow or broken, and one game's trouble costs the others nothing.

Each test runs the daemon with its lane threads against loopback fakes (`live_support`); the
figures of how fast are the benchmark's (bench/live_latency.py), these tests bound what must
not happen: an alert held behind a dead host's timeouts, a scoreboard slowed by a game's errors.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest
from live_support import (
    BAL_AT_JAX,
    GB_AT_ATL,
    INTERVAL,
    first_poll_after,
    key_of,
    live_daemon,
    query,
    recorded_games,
    wait_for_arrival,
)

from helpers import TELEGRAM_TOKEN, wait_for
from nfl_replay.dead_hosts import RefusingHost, SilentHost
from nfl_replay.runner import ReplayEnvironment
from nfl_replay.stage import LiveStage
from nfl_replay.telegram_server import FakeTelegramServer
from nfl_sync.domain import detection, play_detection
from nfl_sync.domain.calendar import scoreboard_dates
from nfl_sync.engine import plays, scoreboard

# A poll that showed a score, and the sender's hand-off, well within this; a dead host's
# connect and read timeouts (2 s each here) are well beyond it.
WITHIN_THE_POLL = 1.2
# Telegram takes about one message a second per chat (the sender paces itself so): scores come
# minutes apart in a game, and at least this far apart here.
PACE = 1.2


@pytest.mark.parametrize("dead", [RefusingHost, SilentHost], ids=["refused", "never-answers"])
def test_dead_secondary_hosts_do_not_delay_a_score_alert_past_the_next_poll(db, tmp_path, dead):
    with (
        LiveStage(recorded_games(), datetime.now(UTC)) as stage,  # JAX's open-air stadium has weather
        FakeTelegramServer(TELEGRAM_TOKEN) as telegram,
        dead() as host,
    ):
        stage.league_injuries_fail = True  # the core API's per-team lists stand in: on the dead host
        dead_url = host.base_url()
        with live_daemon(
            stage,
            telegram,
            db.dsn,
            tmp_path,
            kalshi_base_url=host.base_url("/trade-api/v2"),
            espn_core_base_url=dead_url,
            open_meteo_base_url=dead_url,
            weather_interval=60.0,
            odds_api_key="odds-key-for-tests",
            odds_api_base_url=dead_url,
        ) as sync:
            wait_for(lambda: len(sync.scoreboard.memory) == 2, 10, "the games on the scoreboard")
            time.sleep(1.0)  # the secondary lanes are now inside their timeouts and retries
            overheads = []
            for change in stage.changes[:3]:
                time.sleep(PACE)
                revealed = time.monotonic()
                stage.reveal(change)
                received = wait_for_arrival(sync, telegram, key_of(change))
                overheads.append(received - first_poll_after(stage, revealed))
            secondary = ("kalshi", "injuries", "weather", "odds")
            wait_for(lambda: all(sync.runner.last_errors.get(lane) for lane in secondary), 20, "the lanes failing")
            if dead is SilentHost:
                assert host.connections >= 3
    assert max(overheads) < WITHIN_THE_POLL, overheads


def test_a_game_whose_summary_always_fails_costs_the_scoreboard_and_the_other_game_nothing(db, tmp_path):
    with LiveStage(recorded_games(), datetime.now(UTC)) as stage, FakeTelegramServer(TELEGRAM_TOKEN) as telegram:
        stage.fail_summaries_of(GB_AT_ATL)
        # One try per fetch, so that the game's five failures in a row come within seconds.
        with live_daemon(stage, telegram, db.dsn, tmp_path, http_max_tries=1) as sync:
            wait_for(lambda: len(sync.scoreboard.memory) == 2, 10, "both games on the scoreboard")
            started = time.monotonic()
            changes = stage.changes[:5]  # both games' scores
            for change in changes:
                revealed = time.monotonic()
                stage.reveal(change)
                received = wait_for_arrival(sync, telegram, key_of(change))
                assert received - first_poll_after(stage, revealed) < WITHIN_THE_POLL, change.label
                time.sleep(PACE)
            wait_for(lambda: _system_alerts(sync, GB_AT_ATL), 10, "the warning about the failing game")
            wait_for(lambda: sync.plays.pending() in ([], [GB_AT_ATL]), 10, "the summaries of BAL @ JAX fetched")
            polls = [p for p in stage.scoreboard_polls() if p >= started]
            stored = {
                row["game_id"]: row["n"]
                for row in query(sync, "SELECT game_id, count(*) AS n FROM nfl_plays GROUP BY game_id")
            }
            throttled = sync.health.is_throttled("scoreboard", datetime.now(UTC))
            warnings = [w["message"] for w in _system_alerts(sync, GB_AT_ATL)]
    assert {c.game_id for c in changes} == {GB_AT_ATL, BAL_AT_JAX}
    gaps = [b - a for a, b in zip(polls, polls[1:], strict=False)]
    assert max(gaps) < 3 * INTERVAL, f"the scoreboard slowed down: gaps up to {max(gaps):.2f} s"
    assert not throttled
    assert stored.get(GB_AT_ATL) is None and stored[BAL_AT_JAX] > 0
    assert len(warnings) == 1
    assert "play-by-play" in warnings[0] and "scores still come from the scoreboard" in warnings[0]


def test_one_game_raising_in_processing_does_not_stop_the_next(db, tmp_path, monkeypatch, caplog):
    # A bug that only one game's data sets off: in the scoreboard lane once the game is known,
    # and in the play-by-play lane.
    def scoreboard_bug(prev, game, *args):
        if prev is not None and game.game_id == GB_AT_ATL:
            raise KeyError("competitors")
        return detection.detect_scoreboard(prev, game, *args)

    def plays_bug(prev, score, *args):
        if score.game_id == GB_AT_ATL:
            raise KeyError("drives")
        return play_detection.detect_plays(prev, score, *args)

    monkeypatch.setattr(scoreboard, "detect_scoreboard", scoreboard_bug)
    monkeypatch.setattr(plays, "detect_plays", plays_bug)
    caplog.set_level(logging.ERROR, logger="nfl_sync.engine.scoreboard")
    with (
        LiveStage(recorded_games(), datetime.now(UTC)) as stage,
        FakeTelegramServer(TELEGRAM_TOKEN) as telegram,
        live_daemon(stage, telegram, db.dsn, tmp_path) as sync,
    ):
        wait_for(lambda: BAL_AT_JAX in sync.scoreboard.memory, 10, "BAL @ JAX on the scoreboard")
        theirs = [c for c in stage.changes[:5] if c.game_id == BAL_AT_JAX]
        for change in stage.changes[:5]:
            stage.reveal(change)
            if change.game_id == BAL_AT_JAX:
                wait_for_arrival(sync, telegram, key_of(change))
        wait_for(lambda: _system_alerts(sync, GB_AT_ATL), 10, "the warning about the broken game")
        wait_for(lambda: sync.plays.pending() in ([], [GB_AT_ATL]), 10, "the summaries of BAL @ JAX fetched")
        alerted = {
            r["game_id"] for r in query(sync, "SELECT game_id FROM nfl_alert_history WHERE alert_type = 'score'")
        }
        stored = {r["game_id"] for r in query(sync, "SELECT DISTINCT game_id FROM nfl_plays")}
        warnings = [w["message"] for w in _system_alerts(sync, GB_AT_ATL)]
    assert len(theirs) >= 2
    assert alerted == {BAL_AT_JAX} and stored == {BAL_AT_JAX}
    logged = [r for r in caplog.records if GB_AT_ATL in r.getMessage()]
    assert logged and "KeyError" in logged[0].getMessage() and logged[0].exc_info is not None
    assert any("could not be processed 5 polls in a row (last: KeyError: 'competitors')" in w for w in warnings)


def test_a_score_seen_on_the_scoreboard_then_in_the_summary_is_alerted_once(db, tmp_path):
    with (
        LiveStage(recorded_games()[:1], datetime.now(UTC)) as stage,
        FakeTelegramServer(TELEGRAM_TOKEN) as telegram,
        live_daemon(stage, telegram, db.dsn, tmp_path) as sync,
    ):
        wait_for(lambda: GB_AT_ATL in sync.scoreboard.memory, 10, "the game on the scoreboard")
        changes = stage.changes[:3]
        for change in changes:
            stage.reveal(change)
            wait_for_arrival(sync, telegram, key_of(change))
            # The summary follows the scoreboard: wait until its plays, the scoring one too, are stored.
            wait_for(lambda c=change: _plays_stored_until(sync, c), 10, f"the plays up to {change.label}")
        time.sleep(5 * INTERVAL)  # more polls and summaries: nothing may come again
        wait_for(lambda: sync.alerts.pending_count() == 0, 10, "the outbox delivered")
        alerts = query(sync, "SELECT alert_key, alert_type FROM nfl_alert_history ORDER BY id")
    scores = [a["alert_key"] for a in alerts if a["alert_type"] == "score"]
    assert scores == [key_of(c) for c in changes]
    assert len(telegram.messages) == len(alerts)  # every alert once at Telegram, nothing else


def _system_alerts(sync, game_id: str) -> list[dict]:
    return query(
        sync,
        "SELECT message FROM nfl_alert_history WHERE alert_type = 'system' AND message LIKE %s",
        f"%{game_id}%",
    )


def _plays_stored_until(sync, change) -> bool:
    rows = query(
        sync,
        "SELECT 1 FROM nfl_plays WHERE game_id = %s AND away_score = %s AND home_score = %s",
        change.game_id,
        change.away,
        change.home,
    )
    return bool(rows)


def test_with_no_games_known_the_scoreboard_is_polled_at_the_idle_cadence(db, tmp_path):
    # Off-season: ESPN's scoreboard for today has no events (the recorded game is of another day).
    with (
        ReplayEnvironment(recorded_games()[:1]) as env,
        FakeTelegramServer(TELEGRAM_TOKEN) as telegram,
        live_daemon(env, telegram, db.dsn, tmp_path, sync_interval=0.1, idle_poll_interval=1.0) as sync,
    ):
        began = datetime.now(UTC)
        time.sleep(3.5)
        known = dict(sync.board.snapshot())
    today = {scoreboard_dates(began), scoreboard_dates(datetime.now(UTC))}  # not the week's schedule
    live_polls = [r for r in env.espn.requests if r.path.endswith("/scoreboard") and r.query["dates"][0] in today]
    assert known == {}
    assert 3 <= len(live_polls) <= 5  # at 0, 1, 2, 3 s; at SYNC_INTERVAL it would be 35
