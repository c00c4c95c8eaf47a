"""Health thresholds: 5 failed steps of a lane alert once per episode, 10 errors an hour throttle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from nfl_sync.health import HealthMonitor, run_checks

T0 = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def test_five_consecutive_failed_steps_of_a_lane_raise_one_critical_alert_per_episode():
    monitor = HealthMonitor()
    events = [monitor.record_step("scoreboard", "HTTP 503", T0 + timedelta(seconds=5 * n)) for n in range(8)]
    raised = [e for batch in events for e in batch]
    assert len(raised) == 1
    assert raised[0].priority == "high" and raised[0].data.level == "critical"
    assert raised[0].data.message == "5 consecutive scoreboard steps failed (last: HTTP 503)"
    assert raised[0].data.component == "scoreboard"
    assert monitor.record_step("scoreboard", None, T0 + timedelta(minutes=1)) == []
    later = T0 + timedelta(minutes=2)
    again = [
        e for n in range(5) for e in monitor.record_step("scoreboard", "HTTP 503", later + timedelta(seconds=5 * n))
    ]
    assert len(again) == 1 and again[0].key != raised[0].key


def test_lanes_count_their_failures_apart():
    monitor = HealthMonitor()
    for n in range(4):
        assert monitor.record_step("kalshi", "timed out", T0 + timedelta(seconds=n)) == []
        assert monitor.record_step("scoreboard", None, T0 + timedelta(seconds=n)) == []
    raised = monitor.record_step("kalshi", "timed out", T0 + timedelta(seconds=5))
    assert [e.data.component for e in raised] == ["kalshi"]


def test_ten_api_errors_in_an_hour_throttle_the_source_until_they_age_out():
    monitor = HealthMonitor()
    warnings = [
        e for n in range(10) for e in monitor.record_source_error("espn", "HTTP 500", T0 + timedelta(minutes=n))
    ]
    assert len(warnings) == 1 and warnings[0].data.level == "warning"
    assert monitor.is_throttled("espn", T0 + timedelta(minutes=10))
    assert not monitor.is_throttled("kalshi", T0 + timedelta(minutes=10))
    assert not monitor.is_throttled("espn", T0 + timedelta(minutes=61))


def test_healthz_reports_stale_when_the_scoreboard_did_not_succeed_recently():
    monitor = HealthMonitor()
    assert monitor.healthy(T0, 15)[0] is False
    monitor.record_step("kalshi", None, T0)
    assert monitor.healthy(T0, 15)[0] is False
    monitor.record_step("scoreboard", None, T0)
    assert monitor.healthy(T0 + timedelta(seconds=10), 15)[0] is True
    ok, detail = monitor.healthy(T0 + timedelta(seconds=20), 15)
    assert not ok and detail["status"] == "stale"


def test_failed_checks_become_hourly_warnings(tmp_path: Path):
    def broken() -> None:
        raise ConnectionError("server closed the connection")

    events = run_checks({"database": broken, "alerts": lambda: None}, [tmp_path], T0)
    assert [e.key for e in events] == ["system:database:check:2026112218"]
    assert "server closed the connection" in events[0].data.message


def test_healthz_fails_when_a_live_game_s_poll_is_more_than_3_intervals_late_and_says_why():
    monitor = HealthMonitor()
    monitor.record_step("scoreboard", None, T0)
    at = lambda seconds: T0 + timedelta(seconds=seconds)  # noqa: E731
    # No game live: only the idle rule (15 minutes) applies.
    assert monitor.healthy(at(600), 900, live_games=0, interval=5)[0] is True
    assert monitor.healthy(at(20), 900, live_games=1, interval=5)[0] is True  # 15 s late: the limit
    ok, detail = monitor.healthy(at(21), 900, live_games=1, interval=5)
    assert not ok and detail["status"] == "late" and detail["live_games"] == 1
    assert detail["reason"] == "scoreboard 16 s late while 1 game(s) are live (limit 15 s): no poll ran since"
    monitor.record_step("scoreboard", "espn: HTTP 503", at(22))  # polls run, and fail
    ok, detail = monitor.healthy(at(25), 900, live_games=1, interval=5)
    assert not ok and detail["reason"].endswith("the polls since failed (last: espn: HTTP 503)")
    monitor.record_step("scoreboard", None, at(26))
    ok, detail = monitor.healthy(at(27), 900, live_games=1, interval=5)
    assert ok and detail["status"] == "ok" and detail["reason"] is None


def test_cycles_are_on_time_while_the_scoreboard_steps_whatever_their_outcome():
    monitor = HealthMonitor()
    assert monitor.cycles_on_time(T0 + timedelta(seconds=20), 5, since=T0)  # before the first step
    assert not monitor.cycles_on_time(T0 + timedelta(seconds=21), 5, since=T0)
    monitor.record_step("scoreboard", "espn: timed out", T0 + timedelta(seconds=30))
    assert monitor.cycles_on_time(T0 + timedelta(seconds=45), 5, since=T0)  # failing, but stepping
    assert not monitor.cycles_on_time(T0 + timedelta(seconds=51), 5, since=T0)
    assert monitor.cycles_on_time(T0 + timedelta(seconds=1230), 300, since=T0)  # the idle cadence
