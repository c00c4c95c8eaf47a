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
