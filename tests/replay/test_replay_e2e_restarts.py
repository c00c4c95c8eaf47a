"""End to end, the daemon stopped and started again mid-game: a clean restart with the game going
on while it is down; SIGKILL of a daemon process (tests/replay/replay_child.py) while Telegram
holds its answer to a score alert, and a new process taking over; a restart between a big play
and the measurement of its market reaction. Nothing is lost, and a repeat is labelled."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from e2e_recording import GB_ATL
from helpers import fast_commit_url
from nfl_replay.runner import ReplayEnvironment
from nfl_sync.app import close_sync

# pytest rewrites the asserts of a helper module (for its failure reports) only when told so
# before the module is first imported; e2e_support's checks are asserts.
pytest.register_assert_rewrite("e2e_support")

from e2e_support import (  # noqa: E402
    MAX_ALERT_DELAY,
    alert_rows,
    arrivals,
    assert_correlations,
    assert_game_order,
    assert_play_alerts,
    assert_plays_stored,
    assert_score_alerts,
    assert_telegram_exactly_once,
    drained,
    query,
    replayed,
    start_daemon,
)

pytest_plugins = ["replay_support"]

CHILD = Path(__file__).resolve().parent / "replay_child.py"


class HoldFirstScoreAlert:
    """A fault hook for the fake Bot API: Telegram accepts the first score alert, then holds its
    answer (so the sender cannot know it went out) until the server stops."""

    def __init__(self):
        self.held = threading.Event()
        self.visible_text: str | None = None

    def apply(self, produce):
        response = produce()
        if not self.held.is_set() and response.status == 200:
            text = (json.loads(response.body).get("result") or {}).get("text")
            if isinstance(text, str) and "SCORE UPDATE" in text:
                self.visible_text = text
                self.held.set()
                return replace(response, hold_seconds=60.0)
        return response


@pytest.mark.e2e
def test_clean_restart_mid_game_loses_and_repeats_nothing(db, database_url, telegram, tmp_path):
    """GB @ ATL from kickoff to halftime; the daemon is stopped after the first score and is down
    for 15 minutes of game time, in which GB scores a touchdown."""
    timelines, recordings = replayed([GB_ATL])
    recording = recordings[GB_ATL]
    changes = recording.score_changes()
    stop_at = changes[0].visible_at + timedelta(minutes=5)
    back_at = stop_at + timedelta(minutes=15)
    window_end = next(p.visible_at for p in recording.plays if p.type == "End of Half") + timedelta(minutes=1)
    down = recording.score_changes(stop_at, back_at)
    assert len(down) == 1 and changes[0].visible_at < stop_at  # the scenario, as recorded
    with ReplayEnvironment(timelines) as env:
        first = start_daemon(env, telegram, database_url, tmp_path)
        try:
            first.run_forever(until=lambda: env.clock.now() >= stop_at and drained(first))
        finally:
            close_sync(first)
        delivered_before = len(telegram.messages)
        env.clock.advance((back_at - env.clock.now()).total_seconds())
        second = start_daemon(env, telegram, database_url, tmp_path)
        try:
            second.run_forever(until=lambda: env.clock.now() >= window_end and drained(second))
        finally:
            close_sync(second)

    assert delivered_before > 0
    alerts = alert_rows(db)
    arrived = arrivals(telegram, alerts)
    assert_telegram_exactly_once(arrived, alerts)
    assert_plays_stored(db, recording, until=window_end)
    assert_score_alerts(alerts, recording, until=window_end, final=False)
    alerted = assert_play_alerts(alerts, recording, until=window_end)
    assert_correlations(db, recording, alerted | {p.id for p in recording.score_changes(until=window_end)})
    assert_game_order(arrived, recording, down=(stop_at, back_at))
    # The touchdown scored while the daemon was down is alerted when it is back, not before.
    touchdown = [r for r in alerts if r["alert_key"] == recording.score_keys(stop_at, back_at)[0]][0]
    assert back_at <= touchdown["created_at"] <= back_at + MAX_ALERT_DELAY


@pytest.mark.e2e
def test_sigkill_mid_game_then_a_new_process_takes_over(db, database_url, telegram, tmp_path):
    """The daemon runs in a child process against servers hosted here, on a clock at 300x.
    Telegram accepts the first score alert but holds its answer, and the child is killed with
    SIGKILL in that moment: the alert went out but is not marked sent, the sync loop is
    mid-cycle. A new child restores the state and finishes the window (GB @ ATL, from 35
    minutes in to halftime)."""
    speed = 300.0
    timelines, recordings = replayed([GB_ATL])
    recording = recordings[GB_ATL]
    window_start = recording.kickoff + timedelta(minutes=35)
    window_end = next(p.visible_at for p in recording.plays if p.type == "End of Half") + timedelta(minutes=1)
    dsn = fast_commit_url(database_url)
    hook = telegram.faults = HoldFirstScoreAlert()

    def spawn(env: ReplayEnvironment, name: str) -> subprocess.Popen:
        spec = {
            "dsn": dsn,
            "espn_url": env.espn.base_url,
            "kalshi_url": env.kalshi.base_url,
            "telegram_url": telegram.api_base_url,
            "log_dir": str(tmp_path),
            "start": env.clock.now().isoformat(),
            "anchor": time.monotonic(),
            "speed": speed,
            "until": window_end.isoformat(),
        }
        with open(tmp_path / f"{name}.log", "w") as log:
            return subprocess.Popen(
                [sys.executable, str(CHILD), json.dumps(spec)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
            )

    def child_logs() -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in sorted(tmp_path.glob("*.log")))

    children = []
    try:
        with ReplayEnvironment(timelines, speed=speed) as env:
            env.clock.set(window_start)
            first = spawn(env, "first")
            children.append(first)
            deadline = time.monotonic() + 30
            while not hook.held.is_set():
                assert first.poll() is None, f"the daemon exited before its first score alert:\n{child_logs()}"
                assert time.monotonic() < deadline, f"no score alert reached Telegram:\n{child_logs()}"
                time.sleep(0.005)
            delivered_before = len(telegram.messages)
            first.send_signal(signal.SIGKILL)
            assert first.wait(10) == -signal.SIGKILL
            killed_at = env.clock.now()
            second = spawn(env, "second")
            children.append(second)
            assert second.wait(60) == 0, child_logs()
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()

    # The first poll is the baseline (what happened before it is history, not news); on a slow
    # machine it comes later in the game, and the expectations follow it.
    baseline = query(db, "SELECT min(started_at) AS at FROM nfl_data_sync_log WHERE sync_type = 'scoreboard'")[0]["at"]
    expected_scores = recording.score_keys(baseline, window_end)
    assert window_start <= baseline and len(expected_scores) >= 2, "the child started too late in the window"
    assert killed_at < window_end and delivered_before >= 1
    alerts = alert_rows(db)
    arrived = arrivals(telegram, alerts)
    copies = defaultdict(list)
    for arrival in arrived:
        copies[arrival.alert["alert_key"]].append(arrival.labelled)
    # At least once: every alert that was to go out reached the chat; nothing is left pending.
    assert {r["status"] for r in alerts} <= {"sent", "suppressed"}
    assert {r["alert_key"] for r in alerts if r["status"] == "sent"} == set(copies)
    # Any repeat is labelled: no unlabelled duplicate. (A first copy may be labelled too, when the
    # process died after counting the attempt but before the request went out.)
    assert {k: labels for k, labels in copies.items() if not all(labels[1:])} == {}
    # The score alert in doubt when the process died came again, labelled; nothing else twice.
    held = [m.text for m in telegram.messages if m.visible_text == hook.visible_text][0]
    in_doubt = [r["alert_key"] for r in alerts if r["message"] == held]
    assert in_doubt == expected_scores[:1]
    assert {k: labels for k, labels in copies.items() if len(labels) > 1} == {in_doubt[0]: [False, True]}
    # No score alert lost, none twice in the database, no play lost or stored twice.
    assert_score_alerts(alerts, recording, after=baseline, until=window_end, final=False)
    assert_plays_stored(db, recording, until=window_end)
    assert_play_alerts(alerts, recording, after=baseline, until=window_end)


@pytest.mark.e2e
def test_a_restart_right_after_a_big_play_keeps_its_correlation(db, database_url, telegram, tmp_path):
    """GB @ ATL around D.London's 22-yard catch (2nd quarter); the daemon is stopped the moment
    the play is alerted, before its market reaction is measured, and restarted."""
    timelines, recordings = replayed([GB_ATL])
    recording = recordings[GB_ATL]
    catch = recording.by_id["4015474171311"]
    assert catch.big_gain
    window_end = catch.visible_at + timedelta(seconds=60)
    with ReplayEnvironment(timelines) as env:
        env.clock.set(catch.visible_at - timedelta(minutes=1))
        first = start_daemon(env, telegram, database_url, tmp_path)
        try:
            first.run_forever(until=lambda: bool(first.markets.pending()))
            assert [job.play.play_id for job in first.markets.pending()] == [catch.id]
        finally:
            close_sync(first)
        second = start_daemon(env, telegram, database_url, tmp_path)
        try:
            second.run_forever(until=lambda: env.clock.now() >= window_end and drained(second))
        finally:
            close_sync(second)
    assert_correlations(db, recording, {catch.id})
