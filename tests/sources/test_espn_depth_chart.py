"""ESPN's core-API depth chart: who starts (first at a position), read from the constructed
fixture of the documented shape (tests/fixtures/espn/README.md), and fetched over HTTP."""

from __future__ import annotations

import pytest
import responses

from espn_support import raw
from helpers import FakeClock, fixture_text
from nfl_sync.config import load_settings
from nfl_sync.domain import teams
from nfl_sync.domain.errors import ParseError, SourceError
from nfl_sync.sources.espn.depth_chart import parse_depth_chart
from nfl_sync.sources.fetcher import NFLDataFetcher

CORE = "https://sports.core.api.espn.com/v2/sports/football/leagues/nfl"
REED, DOUBS, ALEXANDER = "4362249", "4361432", "3895429"


def test_the_first_at_each_position_of_every_formation_starts():
    chart = parse_depth_chart(raw("core_depthchart_team9_2023.json"), "GB")
    assert chart.team == "GB"
    assert dict(chart.starters) == {
        "9900010": "QB",
        "9900011": "RB",
        DOUBS: "WR",  # rank 1, though listed after the rank 2
        "9900003": "TE",
        ALEXANDER: "LCB",
        "9900005": "RCB",
        "9900006": "PK",
    }
    assert REED not in chart.starters  # second at WR; first as punt returner is a role, not a start


@pytest.mark.parametrize("document", [{"items": []}, {"items": [{"positions": {"qb": {"athletes": []}}}]}, []])
def test_a_chart_without_a_starter_is_no_answer(document):
    with pytest.raises(ParseError):
        parse_depth_chart(document, "GB")


@responses.activate
def test_fetched_from_the_core_api_and_a_failure_or_empty_chart_is_a_source_error():
    fetcher = NFLDataFetcher(load_settings({"HTTP_MAX_TRIES": "1"}), FakeClock(), rng=lambda: 0.0)
    url = f"{CORE}/seasons/2023/teams/9/depthcharts"
    responses.get(url, body=fixture_text("espn", "core_depthchart_team9_2023.json"), content_type="application/json")
    green_bay = teams.resolve("GB")
    assert fetcher.get_depth_chart(green_bay, 2023).starters[DOUBS] == "WR"
    responses.replace(responses.GET, url, json={"items": []})
    with pytest.raises(SourceError, match="unusable depth chart"):
        fetcher.get_depth_chart(green_bay, 2023)
    responses.replace(responses.GET, url, status=503, json={})
    with pytest.raises(SourceError):
        fetcher.get_depth_chart(green_bay, 2023)
