"""The injury lane with ESPN faked at the wire: a starter's news (by the team's depth chart,
fetched once per team and week, only when the team has news) is high priority and goes out in
quiet hours where a backup's is held; a depth chart ESPN fails to give costs nothing but the
starter's priority."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import responses

from factories import game
from helpers import FakeClock, fixture_text
from nfl_sync.app import build_sync, close_sync
from nfl_sync.config import load_settings
from nfl_sync.engine.report import CycleReport

ESPN = "http://espn.test/apis/site/v2/sports/football/nfl"
CORE = "http://espn-core.test/v2/sports/football/leagues/nfl"
GB_CHART = f"{CORE}/seasons/2023/teams/9/depthcharts"
ATL_CHART = f"{CORE}/seasons/2023/teams/1/depthcharts"
NOW = datetime(2023, 9, 16, 22, 0, tzinfo=UTC)  # Saturday 6 PM in New York: inside the quiet hours
KICKOFF = datetime(2023, 9, 17, 17, 0, tzinfo=UTC)
TEAMS = {"GB": ("9", "Green Bay Packers"), "ATL": ("1", "Atlanta Falcons")}


def report(player_id: str, name: str, position: str, status: str) -> dict:
    return {
        "status": status,
        "date": "2023-09-16T20:00Z",
        "athlete": {"id": player_id, "displayName": name, "position": {"abbreviation": position}},
        "details": {"type": "Ankle"},
    }


QB = report("9900010", "Starting Quarterback", "QB", "Out")  # first at QB on GB's chart
REED = report("4362249", "Jayden Reed", "WR", "Out")  # second at WR (first only as punt returner)
RB = report("9900011", "Starting Running Back", "RB", "Questionable")
KOO = report("3049899", "Younghoe Koo", "PK", "Doubtful")


class League:
    """ESPN's league injury list as the test sets it, and who asked for what."""

    def __init__(self, rsps: responses.RequestsMock):
        self.lists: dict[str, list[dict]] = {}
        rsps.add_callback(responses.GET, f"{ESPN}/injuries", self._injuries)
        rsps.get(GB_CHART, body=fixture_text("espn", "core_depthchart_team9_2023.json"))
        rsps.get(ATL_CHART, status=503, json={"error": "unavailable"})
        self.rsps = rsps

    def _injuries(self, request):
        blocks = [
            {"id": TEAMS[team][0], "displayName": TEAMS[team][1], "injuries": entries}
            for team, entries in self.lists.items()
        ]
        return 200, {"Content-Type": "application/json"}, json.dumps({"injuries": blocks})

    def calls(self, url: str) -> int:
        return sum(1 for call in self.rsps.calls if call.request.url.startswith(url))


@pytest.fixture
def league():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield League(rsps)


@pytest.fixture
def sync(db):
    settings = replace(
        load_settings({"TELEGRAM_ENABLED": "false", "QUIET_HOURS": "17:00-23:00", "HTTP_MAX_TRIES": "1"}),
        espn_base_url=ESPN,
        espn_core_base_url=CORE,
        espn_rate_per_second=1000.0,
        espn_rate_per_minute=100000,
    )
    sync = build_sync(settings, clock=FakeClock(NOW), db=db)
    upcoming = game(state="pre", status="STATUS_SCHEDULED", start_time=KICKOFF, home_score=None, away_score=None)
    db.run(lambda tx: tx.games.upsert_game(upcoming))
    sync.board.update([upcoming])
    yield sync
    close_sync(sync)


def injury_alerts(db) -> dict[str, dict]:
    rows = db.run(
        lambda tx: (
            tx.cur.execute("SELECT * FROM nfl_alert_history WHERE alert_type = 'injury' ORDER BY id"),
            tx.cur.fetchall(),
        )[1]
    )
    return {row["alert_key"].split(":")[1]: row for row in rows}


def test_a_starters_news_is_high_priority_and_sent_in_quiet_hours_a_backups_held(db, league, sync):
    league.lists = {"GB": [replace_status(REED, "Questionable")]}
    sync.injuries.step(CycleReport(NOW))  # the first list is the baseline: no news, no depth chart
    assert injury_alerts(db) == {} and league.calls(CORE) == 0

    league.lists = {"GB": [QB, REED], "ATL": [KOO]}
    sync.injuries.step(CycleReport(NOW))
    alerts = injury_alerts(db)
    outcomes = {
        key: (a["priority"], a["status"], a["reason"] and a["reason"].split(":")[0]) for key, a in alerts.items()
    }
    assert outcomes == {
        "9900010": ("high", "pending", None),
        "4362249": ("medium", "suppressed", "quiet_hours"),
        "3049899": ("medium", "suppressed", "quiet_hours"),  # ATL's chart failed: not a known starter
    }
    message = alerts["9900010"]["message"]
    assert "Starting Quarterback (QB, starter)" in message
    assert "Game: GB @ ATL, kickoff Sun Sep 17, 1:00 PM EDT" in message
    assert "Status: Out" in message
    assert "Status: Questionable → Out" in alerts["4362249"]["message"]
    assert (league.calls(GB_CHART), league.calls(ATL_CHART)) == (1, 1)

    league.lists = {"GB": [QB, REED, RB], "ATL": [KOO]}
    sync.injuries.step(CycleReport(NOW))
    assert injury_alerts(db)["9900011"]["priority"] == "high"
    assert (league.calls(GB_CHART), league.calls(ATL_CHART)) == (1, 1)  # GB's chart kept for the week


def replace_status(entry: dict, status: str) -> dict:
    return {**entry, "status": status}
