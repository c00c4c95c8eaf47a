"""Every team any recorded source names resolves to exactly one of the 32 teams."""

from __future__ import annotations

import csv
import json
import re
from zoneinfo import ZoneInfo

import pytest

from helpers import fixture_json, fixture_path
from nfl_sync.domain import teams

ESPN = fixture_path("espn")
KALSHI_MARKETS = sorted(fixture_path("kalshi", "get_market").glob("*.json"))
EVENT_TICKER = re.compile(r"^KXNFL\w*-\d{2}[A-Z]{3}\d{2}([A-Z]{4,6})$")


def _espn_competitor_teams() -> list[tuple[str, str, str]]:
    """(id, abbreviation, displayName) of every competitor in every ESPN scoreboard and summary."""
    seen = []
    for path in sorted(ESPN.glob("scoreboard_*.json")):
        for event in json.loads(path.read_text())["events"]:
            for competitor in event["competitions"][0]["competitors"]:
                team = competitor["team"]
                seen.append((team["id"], team["abbreviation"], team["displayName"]))
    for path in sorted(ESPN.glob("summary_*.json")) + sorted(ESPN.glob("cdn_game_*.json")):
        data = json.loads(path.read_text())
        data = data.get("gamepackageJSON", data)
        for competitor in data["header"]["competitions"][0]["competitors"]:
            team = competitor["team"]
            seen.append((team["id"], team["abbreviation"], team["displayName"]))
        for block in data.get("injuries", []):
            seen.append((block["team"]["id"], block["team"]["abbreviation"], block["team"]["displayName"]))
    return seen


def test_there_are_32_distinct_teams_with_espn_style_abbreviations():
    all_teams = teams.all_teams()
    assert len(all_teams) == 32
    assert len({t.abbr for t in all_teams}) == 32
    assert len({t.espn_id for t in all_teams}) == 32
    assert {"WSH", "JAX", "LAR", "LV", "LAC"} <= {t.abbr for t in all_teams}


def test_kalshi_codes_are_the_32_codes_of_the_kalshi_readme():
    readme_list = (
        "ARI ATL BAL BUF CAR CHI CIN CLE DAL DEN DET GB HOU IND JAC KC "
        "LAC LAR LV MIA MIN NE NO NYG NYJ PHI PIT SEA SF TB TEN WAS"
    )
    assert teams.kalshi_codes() == frozenset(readme_list.split())


@pytest.mark.parametrize(
    "value, abbr",
    [
        ("WSH", "WSH"),
        ("was", "WSH"),
        ("Washington Commanders", "WSH"),
        ("Washington Redskins", "WSH"),
        ("28", "WSH"),
        ("JAC", "JAX"),
        ("Jacksonville Jaguars", "JAX"),
        ("LA", "LAR"),
        ("STL", "LAR"),
        ("Los Angeles R", "LAR"),
        ("LA Rams", "LAR"),
        ("Los Angeles C", "LAC"),
        ("SDG", "LAC"),
        ("OAK", "LV"),
        ("Oakland Raiders", "LV"),
        ("ARZ", "ARI"),
        ("CRD", "ARI"),
        ("New York G", "NYG"),
        ("  new   york   j ", "NYJ"),
        ("Kansas City", "KC"),
        ("KAN", "KC"),
        ("GNB", "GB"),
        ("Houston Oilers", "TEN"),
        ("Houston", "HOU"),
        ("HTX", "HOU"),
        ("RAV", "BAL"),
    ],
)
def test_resolve_accepts_every_spelling(value, abbr):
    assert teams.resolve(value).abbr == abbr


@pytest.mark.parametrize("value", ["", "Los Angeles", "New York", "XYZ", "999", None])
def test_resolve_refuses_unknown_or_ambiguous_names(value):
    assert teams.resolve(value) is None


def test_by_espn_id_accepts_ints_and_strings():
    assert teams.by_espn_id(12).abbr == "KC"
    assert teams.by_espn_id("34").abbr == "HOU"
    assert teams.by_espn_id("KC") is None


def test_every_espn_team_resolves_by_id_abbreviation_and_name_to_the_same_team():
    seen = _espn_competitor_teams()
    assert len(seen) > 200
    for team_id, abbreviation, display_name in seen:
        team = teams.by_espn_id(team_id)
        assert team is not None, team_id
        assert team.abbr == abbreviation
        assert teams.resolve(display_name) is team
        assert teams.resolve(abbreviation) is team


def test_espn_teams_endpoint_matches_the_table():
    listed = [item["team"] for item in fixture_json("espn", "teams_2025.json")["sports"][0]["leagues"][0]["teams"]]
    assert {(t["id"], t["abbreviation"], t["displayName"]) for t in listed} == {
        (t.espn_id, t.abbr, t.name) for t in teams.all_teams()
    }


@pytest.mark.parametrize("path", KALSHI_MARKETS, ids=lambda p: p.stem)
def test_kalshi_tickers_and_sub_titles_resolve(path):
    market = json.loads(path.read_text())["market"]
    pair = EVENT_TICKER.match(market["event_ticker"]).group(1)
    codes = teams.kalshi_codes()
    splits = [(pair[:i], pair[i:]) for i in (2, 3) if pair[:i] in codes and pair[i:] in codes]
    assert len(splits) == 1, pair
    away, home = (teams.resolve(code) for code in splits[0])
    assert away and home and away is not home
    suffix = market["ticker"].rsplit("-", 1)[1]
    if market["event_ticker"].startswith(("KXNFLGAME-", "KXNFL1H-")) and suffix != "TIE":
        assert teams.resolve(market["yes_sub_title"]).kalshi_code == suffix
    # "If Los Angeles R wins the BUF Bills vs LA Rams ..." names both teams as "<code> <nickname>".
    names = re.search(r"([A-Z]{2,3} \w+) vs ([A-Z]{2,3} \w+) Pro Football game", market["rules_primary"]).groups()
    assert tuple(teams.resolve(name) for name in names) == (away, home)


def test_kalshi_city_forms_of_shared_cities_are_distinct():
    assert {teams.resolve(n).abbr for n in ("Los Angeles R", "Los Angeles C", "New York G", "New York J")} == {
        "LAR",
        "LAC",
        "NYG",
        "NYJ",
    }


def test_odds_api_full_names_resolve():
    names = set()
    for name in ("the_odds_api_nfl.json", "the_odds_api_nfl_h2h_american.json"):
        for event in fixture_json("odds", name):
            names |= {event["home_team"], event["away_team"]}
    assert names == {"Arizona Cardinals", "Houston Texans", "Kansas City Chiefs", "Philadelphia Eagles"}
    for name in names:
        assert teams.resolve(name).odds_api_name == name


def test_every_odds_api_name_is_unique_and_full():
    names = [t.odds_api_name for t in teams.all_teams()]
    assert len(set(names)) == 32
    assert "Washington Commanders" in names and "Los Angeles Rams" in names


def test_reference_team_codes_and_names_resolve():
    with fixture_path("reference", "greerre_team_stadiums.csv").open(newline="") as handle:
        greerre = list(csv.DictReader(handle))
    # spreadspoke uses old-Mac CR line endings: newline="" lets csv split them.
    with fixture_path("reference", "spreadspoke_nfl_teams.csv").open(newline="") as handle:
        spreadspoke = list(csv.DictReader(handle))
    values = [r["team"] for r in greerre] + [r["team_fastr"] for r in greerre]
    values += [r[k] for r in spreadspoke for k in ("team_name", "team_id", "team_id_pfr")]
    values += [t[k] for t in fixture_json("reference", "weathernfl_team_stadiums.json") for k in ("team", "id")]
    unresolved = sorted({v for v in values if teams.resolve(v) is None})
    assert unresolved == []


def test_greerre_current_stadiums_give_each_team_its_coordinates_and_zone():
    with fixture_path("reference", "greerre_team_stadiums.csv").open(newline="") as handle:
        current = [r for r in csv.DictReader(handle) if r["is_current"] == "True"]
    assert len(current) == 32
    for row in current:
        team = teams.resolve(row["team_fastr"])
        assert (team.latitude, team.longitude, team.tz) == (float(row["lat"]), float(row["lon"]), row["tz"])
        ZoneInfo(team.tz)


def test_roofs_follow_weathernfl():
    by_roof = {}
    for team in teams.all_teams():
        by_roof.setdefault(team.roof, set()).add(team.abbr)
    assert by_roof["retractable"] == {"ARI", "ATL", "DAL", "HOU", "IND"}
    assert by_roof["dome"] == {"DET", "LV", "LAC", "LAR", "MIN", "NO"}
    assert len(by_roof["open"]) == 21


def test_venues_cover_neutral_sites_and_home_venue_falls_back_to_team_data():
    assert teams.venue("2455").name == "Wembley Stadium"
    assert teams.venue(7065).roof == "dome"
    bills = teams.home_venue(teams.resolve("BUF"))
    assert bills.name == "Highmark Stadium" and bills.roof == "open"
    assert teams.venue("nope") is None


def test_a_name_shared_by_two_teams_is_rejected_when_the_table_loads():
    row = {
        "abbr": "AAA",
        "espn_id": "1",
        "name": "A",
        "kalshi_code": "AAA",
        "odds_api_name": "A",
        "aliases": ["Shared"],
        "stadium": "S",
        "latitude": 0,
        "longitude": 0,
        "roof": "open",
        "tz": "UTC",
    }
    other = dict(row, abbr="BBB", espn_id="2", name="B", kalshi_code="BBB", odds_api_name="B")
    with pytest.raises(ValueError, match="Shared"):
        teams._build({"teams": [row, other]})
