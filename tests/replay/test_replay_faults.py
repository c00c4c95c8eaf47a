"""Injected faults through the fake servers: 5xx at the configured rate, Kalshi-style 429 bursts,
HTML error pages, truncated JSON and held responses, each counted. Only the timeout test waits
for real, since its whole point is a client timing out (a fraction of a second)."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
import requests

from nfl_replay.espn_server import FakeESPNServer
from nfl_replay.faults import FaultPlan
from nfl_replay.kalshi_server import FakeKalshiServer

pytest_plugins = ["replay_support"]


def test_fault_plan_rejects_unknown_kinds_and_impossible_rates():
    with pytest.raises(ValueError):
        FaultPlan({"gremlins": 0.1})
    with pytest.raises(ValueError):
        FaultPlan({"server_error": 0.7, "html": 0.5})


def test_server_errors_are_injected_at_the_configured_rate_and_counted(gb_atl, clock, session):
    plan = FaultPlan({"server_error": 0.25}, seed=3)
    with FakeESPNServer([gb_atl], clock, faults=plan) as server:
        statuses = [session.get(f"{server.base_url}/scoreboard").status_code for _ in range(200)]
        recorded = server.requests
    failed = [s for s in statuses if s != 200]
    assert 30 <= len(failed) <= 70
    assert set(failed) <= {500, 502, 503, 504}
    assert plan.injected == {"server_error": len(failed)}
    assert [r.fault for r in recorded].count("server_error") == len(failed)
    again = FaultPlan({"server_error": 0.25}, seed=3)
    assert [again.decide() is not None for _ in range(200)] == [s != 200 for s in statuses]


def test_kalshi_429s_come_in_bursts_with_kalshis_body(gb_atl, clock, session):
    plan = FaultPlan({"rate_limit": 0.05}, seed=1, burst_length=4)
    with FakeKalshiServer([gb_atl], clock, faults=plan) as server:
        replies = [session.get(f"{server.base_url}/exchange/status") for _ in range(150)]
    limited = [r for r in replies if r.status_code == 429]
    assert limited and plan.injected["rate_limit"] == len(limited)
    assert all(r.json() == {"error": "too many requests"} and "Retry-After" not in r.headers for r in limited)
    runs = [len(m.group()) for m in re.finditer(r"L+", "".join("L" if r.status_code == 429 else "." for r in replies))]
    assert runs and all(run >= 4 for run in runs[:-1])


def test_html_error_pages_replace_json(gb_atl, clock, session):
    plan = FaultPlan({"html": 1.0}, seed=0)
    with FakeESPNServer([gb_atl], clock, faults=plan) as server:
        replies = [session.get(f"{server.base_url}/scoreboard") for _ in range(20)]
    assert {r.status_code for r in replies} == {200, 503}
    assert all(
        r.headers["Content-Type"].startswith("text/html") and r.text.startswith("<!DOCTYPE html>") for r in replies
    )
    assert plan.injected["html"] == 20


def test_truncated_json_is_cut_mid_body_with_a_consistent_length(gb_atl, clock, session):
    with FakeESPNServer([gb_atl], clock) as server:
        whole = session.get(f"{server.base_url}/summary", params={"event": "401547417"}).content
    plan = FaultPlan({"truncated": 1.0})
    with FakeESPNServer([gb_atl], clock, faults=plan) as server:
        reply = session.get(f"{server.base_url}/summary", params={"event": "401547417"})
    assert reply.status_code == 200
    assert int(reply.headers["Content-Length"]) == len(reply.content) == len(whole) // 2
    assert whole.startswith(reply.content)
    with pytest.raises(ValueError):
        json.loads(reply.content)
    assert plan.injected["truncated"] == 1


def test_timeouts_hold_the_response_past_the_clients_timeout(gb_atl, clock, session):
    plan = FaultPlan({"timeout": 1.0}, timeout_seconds=0.5)
    with FakeESPNServer([gb_atl], clock, faults=plan) as server:
        with pytest.raises(requests.ReadTimeout):
            session.get(f"{server.base_url}/scoreboard", timeout=(1, 0.1))
        started = datetime.now()
    assert plan.injected["timeout"] == 1
    assert (datetime.now() - started).total_seconds() < 2
