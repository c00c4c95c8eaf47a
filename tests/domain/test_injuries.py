"""Injury news (`domain.injuries`): what is alerted, a starter's news high priority and so sent
in quiet hours and past the daily limit where another player's is held, and the text naming the
game, its kickoff (in the configured zone) and the position."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from factories import game
from nfl_sync.domain.alert_policy import SEND, History, PolicyConfig, decide
from nfl_sync.domain.alert_templates import render
from nfl_sync.domain.events import ALERT_TYPES
from nfl_sync.domain.injuries import InjuryContext, injury_events
from nfl_sync.domain.models import DepthChart, Injury

NOW = datetime(2023, 9, 16, 22, 0, tzinfo=UTC)  # Saturday 6 PM in New York
KICKOFF = datetime(2023, 9, 17, 17, 0, tzinfo=UTC)  # Sunday 1 PM in New York
GB_AT_ATL = game(state="pre", status="STATUS_SCHEDULED", start_time=KICKOFF, home_score=None, away_score=None)
CHART = DepthChart("GB", {"9900010": "QB", "4361432": "WR"})
STARTER = Injury("9900010", "Starting Quarterback", "GB", None, "Out", "Ankle", NOW)
BACKUP = Injury("4362249", "Jayden Reed", "GB", "WR", "Out", "Hamstring", NOW)
CONTEXT = InjuryContext({"GB": GB_AT_ATL, "ATL": GB_AT_ATL}, {}, {"GB": CHART})
NEW_YORK = ZoneInfo("America/New_York")


def priorities(injuries, context=CONTEXT):
    return {(e.data.player, e.data.status): e.priority for e in injury_events(injuries, context, NOW)}


def test_a_starters_out_is_high_priority_and_a_backups_medium():
    assert priorities([STARTER, BACKUP]) == {
        ("Starting Quarterback", "Out"): "high",
        ("Jayden Reed", "Out"): "medium",
    }


def test_without_the_depth_chart_nobody_is_a_known_starter():
    assert priorities([STARTER], replace(CONTEXT, depth_charts={})) == {("Starting Quarterback", "Out"): "medium"}


@pytest.mark.parametrize(
    "status, previous, news",
    [
        ("Out", None, True),
        ("Out", "Out", True),  # a new report (new date) of the same status: the key tells repeats
        ("Doubtful", "Questionable", True),
        ("Questionable", None, True),
        ("Questionable", "Out", True),
        ("questionable", "Questionable", False),  # no change
        ("Injured Reserve", None, False),
        ("Active", "Out", False),
    ],
)
def test_out_doubtful_and_a_change_to_questionable_are_news(status, previous, news):
    context = replace(CONTEXT, previous={"9900010": previous} if previous else {})
    events = injury_events([replace(STARTER, status=status)], context, NOW)
    assert [(e.key, e.priority) for e in events] == (
        [(f"injury:9900010:{status.lower()}:2023-09-16", "high")] if news else []
    )


def test_only_teams_on_the_slate_and_the_event_names_the_game():
    dallas = replace(BACKUP, player_id="1", team="DAL")
    (event,) = injury_events([STARTER, dallas], replace(CONTEXT, previous={"9900010": "Questionable"}), NOW)
    data = event.data
    assert (event.game_id, event.family) == ("401547417", "injury:9900010")
    assert (data.position, data.starter, data.opponent, data.home, data.kickoff) == ("QB", True, "ATL", False, KICKOFF)
    assert data.previous_status == "Questionable"


def test_a_starters_out_goes_out_in_quiet_hours_and_past_the_daily_limit_where_a_backups_is_held():
    starter, backup = injury_events([STARTER, BACKUP], CONTEXT, NOW)
    quiet = PolicyConfig(dict.fromkeys(ALERT_TYPES, 300), 100, (time(17, 0), time(23, 0)), NEW_YORK)
    assert decide(starter, History(), NOW, quiet).action == SEND
    assert decide(backup, History(), NOW, quiet).reason.startswith("quiet_hours")
    limited = replace(quiet, quiet_hours=None, daily_limit=10)
    assert decide(starter, History(alerts_today=10), NOW, limited).action == SEND
    assert decide(backup, History(alerts_today=10), NOW, limited).reason.startswith("daily_limit")


def test_the_text_names_game_kickoff_in_the_configured_zone_and_position_escaped_per_parse_mode():
    away = replace(STARTER, player="D'Andre <Swift> & Co.")
    (event,) = injury_events([away], CONTEXT, NOW)
    assert render(event, None, NEW_YORK) == (
        "🚑 STARTER INJURY\n\nD'Andre <Swift> & Co. (QB, starter)\nTeam: GB\n"
        "Game: GB @ ATL, kickoff Sun Sep 17, 1:00 PM EDT\nStatus: Out\nInjury: Ankle\n🕒 Sat Sep 16, 6:00 PM EDT"
    )
    html = render(event, "HTML", ZoneInfo("Europe/Berlin"))
    assert "<b>D'Andre &lt;Swift&gt; &amp; Co.</b> (QB, starter)" in html
    assert "Game: GB @ ATL, kickoff Sun Sep 17, 7:00 PM CEST" in html
    markdown = render(event, "MarkdownV2", NEW_YORK)
    assert "\nGame: GB @ ATL, kickoff Sun Sep 17, 1:00 PM EDT\n" in markdown
    assert "*D'Andre <Swift\\> & Co\\.* \\(QB, starter\\)" in markdown
    (home,) = injury_events([replace(BACKUP, team="ATL", player_id="7")], CONTEXT, NOW)
    assert "Game: GB @ ATL, kickoff" in render(home, None, NEW_YORK)
    assert "(WR)" in render(home, None, NEW_YORK) and "INJURY UPDATE" in render(home, None, NEW_YORK)
