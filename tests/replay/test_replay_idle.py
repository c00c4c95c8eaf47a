"""When a replay may skip ahead (`ReplayProgress.idle_until`) and how (`ReplayEnvironment.skip_idle_time`).

The daemon is represented by the three things the decision reads: its board of games, whether
it has caught up (summaries fetched, reactions measured) and its pending alerts.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from nfl_replay.runner import PREGAME, ReplayEnvironment, ReplayProgress
from nfl_replay.session_replay import SessionReplayEnvironment
from nfl_sync.sources.recorder import Exchange, ResponseRecorder

pytest_plugins = ["replay_support"]

WEEK = timedelta(weeks=1)


class Daemon:
    def __init__(self) -> None:
        self.games: dict[str, SimpleNamespace] = {}
        self.waiting = False
        self.pending = 0
        self.board = SimpleNamespace(snapshot=lambda: dict(self.games))
        self.alerts = SimpleNamespace(pending_count=lambda: self.pending)

    def caught_up(self) -> bool:
        return not self.waiting

    def shows(self, game_id: str, over: bool) -> None:
        self.games[game_id] = SimpleNamespace(is_over=over)


@pytest.fixture
def week_apart(gb_atl, bal_jax):
    """GB @ ATL, and BAL @ JAX a week later."""
    return [gb_atl, bal_jax.with_id(bal_jax.game_id, gb_atl.kickoff + WEEK - bal_jax.kickoff)]


def test_no_skip_until_every_started_game_is_final_and_nothing_waits(week_apart):
    first, second = week_apart
    progress, daemon = ReplayProgress({g.game_id: g.kickoff for g in week_apart}), Daemon()
    after = first.end + timedelta(minutes=1)
    assert progress.idle_until(daemon, first.kickoff - PREGAME) is None  # the next kickoff is due
    assert progress.idle_until(daemon, after) is None  # the recording is over, the daemon has not seen it
    daemon.shows(first.game_id, over=False)
    assert progress.idle_until(daemon, after) is None
    daemon.shows(first.game_id, over=True)
    daemon.waiting = True
    assert progress.idle_until(daemon, after) is None  # a summary or a reaction to come
    daemon.waiting, daemon.pending = False, 1
    assert progress.idle_until(daemon, after) is None  # an alert to deliver
    daemon.pending = 0
    assert progress.idle_until(daemon, after) == second.kickoff - PREGAME
    assert progress.idle_until(daemon, second.kickoff) is None  # nothing left to start


def test_finished_counts_finals_the_board_has_forgotten(week_apart):
    first, second = week_apart
    progress, daemon = ReplayProgress({g.game_id: g.kickoff for g in week_apart}), Daemon()
    daemon.shows(first.game_id, over=True)
    assert not progress.finished(daemon, first.end)
    del daemon.games[first.game_id]  # over for a day: the daemon's board lets it go
    daemon.shows(second.game_id, over=True)
    assert progress.finished(daemon, second.end)


@pytest.mark.parametrize("speed", [None, 200.0])
def test_the_clock_jumps_to_the_next_kickoff_without_waiting(week_apart, speed):
    first, second = week_apart
    with ReplayEnvironment(week_apart, speed) as env:
        daemon = Daemon()
        daemon.shows(first.game_id, over=True)
        env.clock.set(first.end + timedelta(minutes=1))
        before, started = env.clock.monotonic(), time.monotonic()
        env.skip_idle_time(daemon)
        # A week of replayed time in an instant, whatever the speed (200x would take 50 minutes),
        # and seen by the daemon's monotonic clock.
        assert time.monotonic() - started < 1.0
        assert second.kickoff - PREGAME <= env.clock.now() < second.kickoff - PREGAME + timedelta(minutes=1)
        assert env.clock.monotonic() - before > WEEK.total_seconds() - 5 * 3600


def test_a_recorded_session_skips_to_its_next_response_when_nothing_is_on(tmp_path):
    """A recording of days (the idle cadence's polls far apart) replays in game time, not calendar time."""
    start = datetime(2026, 12, 3, 18, tzinfo=UTC)
    recorder = ResponseRecorder(tmp_path)
    for at in (start, start + timedelta(minutes=5), start + timedelta(days=3)):
        recorder.record(
            Exchange(at, "espn", "GET", "scoreboard", (("dates", "20261203"),), 200, "application/json", b"{}")
        )
    recorder.close()
    daemon = Daemon()
    daemon.settings = SimpleNamespace(sync_interval=5.0)
    env = SessionReplayEnvironment([tmp_path])
    assert env.clock.now() == start

    env.skip_idle_time(daemon)
    assert env.clock.now() == start + timedelta(minutes=5)  # the next response, not 60 polls later
    daemon.games["1"] = SimpleNamespace(is_live=True, is_over=False)
    env.skip_idle_time(daemon)
    assert env.clock.now() == start + timedelta(minutes=5)  # a game on: every poll counts
    daemon.games["1"] = SimpleNamespace(is_live=False, is_over=True)
    daemon.pending = 1
    env.skip_idle_time(daemon)
    assert env.clock.now() == start + timedelta(minutes=5)  # an alert to deliver first
    daemon.pending = 0
    env.skip_idle_time(daemon)
    assert env.clock.now() == start + timedelta(days=3)
