"""NFLDataFetcher end to end against recorded bodies served by `responses` (no network, no sleeping)."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from factories import game as make_game
from helpers import FakeClock, fixture_json, fixture_text
from nfl_sync.config import load_settings
from nfl_sync.domain import teams
from nfl_sync.domain.errors import SourceError
from nfl_sync.sources.fetcher import NFLDataFetcher

SITE = "https://site.api.espn.com/apis/site/v2/sports/football/nfl"
CORE = "https://sports.core.api.espn.com/v2/sports/football/leagues/nfl"
OWM = "https://api.openweathermap.org/data/2.5/forecast"
OPEN_METEO = "https://api.open-meteo.com/v1/forecast"
ODDS = "https://api.the-odds-api.com/v4/sports/americanfootball_nfl/odds"
OWM_KEY = "owm-secret-key-123"
ODDS_KEY = "odds-secret-key-456"


def make_fetcher(clock, **env):
    settings = load_settings({"HTTP_MAX_TRIES": "2", "CACHE_TTL": "60", **env})
    return NFLDataFetcher(settings, clock, rng=lambda: 0.0)


def query(call) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


@pytest.fixture
def clock():
    return FakeClock(now=datetime(2026, 11, 24, 3, 0, tzinfo=UTC))


@pytest.fixture
def fetcher(clock):
    return make_fetcher(clock)


# -- ESPN -----------------------------------------------------------------------------------------


@responses.activate
def test_scoreboard_always_sends_dates(fetcher, clock):
    responses.get(
        f"{SITE}/scoreboard",
        body=fixture_text("espn", "scoreboard_20220911_wk1_live.json"),
        content_type="application/json",
    )
    games = fetcher.get_scoreboard(date(2022, 9, 11))
    assert len(games) == 16
    fetcher.get_scoreboard((date(2022, 9, 8), date(2022, 9, 12)), season_type=2)
    fetcher.get_scoreboard()
    sent = [query(call) for call in responses.calls]
    assert sent[0] == {"dates": "20220911"}
    assert sent[1] == {"dates": "20220908-20220912", "seasontype": "2"}
    # 03:00 UTC on Nov 24 is still Nov 23 in New York (the settings' timezone).
    assert sent[2] == {"dates": "20261123"}


@responses.activate
def test_scoreboard_accepts_espn_date_text(fetcher):
    responses.get(f"{SITE}/scoreboard", json={"events": []})
    fetcher.get_scoreboard("20261123-20261130")
    assert query(responses.calls[0]) == {"dates": "20261123-20261130"}


@pytest.mark.parametrize("when", [(date(2022, 9, 12), date(2022, 9, 8)), "2022-09-12", "20220912-"])
def test_bad_scoreboard_dates_are_refused_before_any_call(fetcher, when):
    with pytest.raises(ValueError):
        fetcher.get_scoreboard(when)


@responses.activate
def test_summaries_and_core_calls_share_espns_budget_of_one_per_second(fetcher, clock):
    responses.get(
        f"{SITE}/summary", body=fixture_text("espn", "summary_401547417.json"), content_type="application/json"
    )
    responses.get(re.compile(rf"{CORE}/seasons/.*"), json={"count": 0, "items": []})
    summary = fetcher.get_play_by_play("401547417")
    fetcher.get_team_injuries(teams.resolve("ATL"))
    fetcher.get_play_by_play("401547417")
    assert summary.game.home_score == 25 and len(summary.plays) == 186
    assert query(responses.calls[0]) == {"event": "401547417"}
    assert clock.sleeps == [1.0, 1.0]


@responses.activate
def test_the_scoreboard_never_waits_but_counts_in_the_minute_budget(clock):
    fetcher = make_fetcher(clock, ESPN_RATE_PER_SECOND="10", ESPN_RATE_PER_MINUTE="20")
    responses.get(f"{SITE}/scoreboard", json={"events": []})
    responses.get(
        f"{SITE}/summary", body=fixture_text("espn", "summary_401547417.json"), content_type="application/json"
    )
    for _ in range(20):
        fetcher.get_scoreboard(date(2026, 11, 22))
    assert clock.sleeps == []  # a poll is never held back by the budget
    start = clock.monotonic()
    fetcher.get_play_by_play("401547417")  # the minute is spent: a summary waits for it to pass
    assert clock.monotonic() - start == pytest.approx(60.0)


@responses.activate
def test_background_calls_keep_to_a_quarter_of_the_minute(clock):
    fetcher = make_fetcher(clock, ESPN_RATE_PER_SECOND="100", ESPN_RATE_PER_MINUTE="20")
    responses.get(re.compile(rf"{CORE}/seasons/.*"), json={"count": 0, "items": []})
    atlanta = teams.resolve("ATL")
    start = clock.monotonic()
    responses.get(re.compile(rf"{SITE}/scoreboard.*"), json={"events": []})
    for _ in range(4):
        fetcher.get_team_injuries(atlanta)
    fetcher.get_schedule("20261123-20261130")  # the week ahead is background work too
    assert clock.monotonic() - start == pytest.approx(0.0, abs=0.1)
    fetcher.get_team_injuries(atlanta)  # the sixth background call of the minute waits for it
    assert clock.monotonic() - start == pytest.approx(60.0)


@responses.activate
def test_unusable_summary_is_a_source_error(fetcher):
    responses.get(f"{SITE}/summary", json={"header": {"competitions": []}})
    with pytest.raises(SourceError, match="unusable payload") as caught:
        fetcher.get_play_by_play("1")
    assert caught.value.path.endswith("/summary")


@responses.activate
def test_a_summary_with_a_bad_play_and_a_lone_surrogate_still_lands_and_the_play_is_said_once(fetcher, caplog):
    data = fixture_json("espn", "summary_401547417.json")
    del data["drives"]["previous"][3]["plays"][2]["id"]
    data["article"]["story"] = "recap \udc9d"  # what json.dumps writes for a lone surrogate
    body = json.dumps(data).replace("recap \\udc9d", "recap \\udc9d\\u0000")
    responses.get(f"{SITE}/summary", body=body, content_type="application/json")
    with caplog.at_level(logging.WARNING, logger="nfl_sync.sources.espn.site"):
        first = fetcher.get_play_by_play("401547417")
        again = fetcher.get_play_by_play("401547417")
    assert len(first.plays) == len(again.plays) == 185  # 186 but the one without an id
    assert [r.getMessage() for r in caplog.records] == [
        "ESPN summary 401547417: drives.previous[3].plays[2]: no id (left out, the rest of the summary is used)"
    ]


@responses.activate
def test_teams_are_cached_for_the_ttl(fetcher, clock):
    responses.get(f"{SITE}/teams", body=fixture_text("espn", "teams_2025.json"), content_type="application/json")
    assert len(fetcher.get_teams()) == 32
    fetcher.get_teams()
    assert len(responses.calls) == 1
    clock.advance(61)
    fetcher.get_teams()
    assert len(responses.calls) == 2


@responses.activate
def test_league_injuries_endpoint(fetcher):
    blocks = fixture_json("espn", "summary_401547417.json")["injuries"]
    league = {"injuries": [dict(b["team"], injuries=b["injuries"]) for b in blocks]}
    responses.get(f"{SITE}/injuries", json=league)
    injuries = fetcher.get_injuries()
    assert len(injuries) == 10 and len(responses.calls) == 1


@responses.activate
def test_an_empty_league_list_is_an_answer_and_a_failing_one_an_error(fetcher):
    responses.get(f"{SITE}/injuries", json={"injuries": []})
    assert fetcher.get_injuries() == [] and len(responses.calls) == 1  # no core API call
    responses.replace(responses.GET, f"{SITE}/injuries", status=503, json={})
    with pytest.raises(SourceError, match="injuries: server error"):
        fetcher.get_injuries()


@responses.activate
def test_a_teams_core_list_gives_its_newest_records_never_private_links(fetcher):
    listing = fixture_json("espn", "core_team_injuries_team8_2025.json")
    # One private-host link must be skipped, never fetched.
    listing["items"].insert(0, {"$ref": "http://sports.core.api.espn.pvt/v2/sports/football/leagues/nfl/x/1"})
    responses.get(re.compile(rf"{CORE}/seasons/2026/teams/1/injuries.*"), json=listing)
    responses.get(
        re.compile(rf"{CORE}/seasons/2025/athletes/.*"),
        json=fixture_json("espn", "core_injury_detail_4426502_598153.json"),
    )
    injuries = fetcher.get_team_injuries(teams.resolve("ATL"))
    core = [urlsplit(c.request.url) for c in responses.calls]
    assert not any(u.hostname.endswith(".pvt") for u in core)
    assert [u.path.rsplit("/", 1)[-1] for u in core][0] == "injuries"
    records = [u for u in core if "/athletes/" in u.path]
    assert len(records) == len(injuries) == 3  # the 3 newest
    assert all(u.scheme == "https" for u in records)  # refs say http://
    assert injuries[0].team == "ATL" and injuries[0].player_id == "4426502"


@responses.activate
def test_a_failing_team_list_is_a_source_error(fetcher):
    responses.get(re.compile(rf"{CORE}/.*"), status=404, json={"error": "nope"})
    with pytest.raises(SourceError, match="espn-core"):
        fetcher.get_team_injuries(teams.resolve("ATL"))


# -- Weather --------------------------------------------------------------------------------------


@responses.activate
def test_openweather_when_key_set_nearest_slot_cached_ten_minutes(clock, caplog):
    fetcher = make_fetcher(clock, OPENWEATHER_API_KEY=OWM_KEY)
    responses.get(OWM, body=fixture_text("weather", "openweather_forecast.json"), content_type="application/json")
    kickoff = datetime(2026, 4, 10, 19, 0, tzinfo=UTC)
    weather = fetcher.get_weather_for_game(teams.resolve("GB"), kickoff)
    assert weather.source == "openweathermap" and weather.roof == "open"
    assert weather.forecast_time == datetime(2026, 4, 10, 18, 0, tzinfo=UTC)
    assert query(responses.calls[0])["units"] == "imperial" and query(responses.calls[0])["appid"] == OWM_KEY
    later = fetcher.get_weather_for_game("GB", kickoff + timedelta(hours=3))
    assert later.forecast_time == datetime(2026, 4, 10, 21, 0, tzinfo=UTC)
    assert len(responses.calls) == 1
    clock.advance(600)
    fetcher.get_weather_for_game("GB", kickoff)
    assert len(responses.calls) == 2


@responses.activate
def test_open_meteo_without_key_and_legacy_names(fetcher):
    responses.get(OPEN_METEO, body=fixture_text("weather", "openmeteo_forecast.json"), content_type="application/json")
    game = make_game(
        home_team="NYG", away_team="DAL", venue_id="3839", start_time=datetime(2026, 1, 25, 18, 0, tzinfo=UTC)
    )
    weather = fetcher.get_weather_for_game(game)
    sent = query(responses.calls[0])
    assert sent["temperature_unit"] == "fahrenheit" and sent["wind_speed_unit"] == "mph" and sent["timezone"] == "UTC"
    assert "wind_gusts_10m" in sent["hourly"]
    assert weather.source == "open-meteo" and weather.game_id == game.game_id
    assert weather.wind_mph is not None and weather.gust_mph is not None and weather.condition == "snow"


@responses.activate
def test_domes_are_skipped_and_retractables_flagged(clock):
    fetcher = make_fetcher(clock, OPENWEATHER_API_KEY=OWM_KEY)
    responses.get(OWM, body=fixture_text("weather", "openweather_forecast.json"), content_type="application/json")
    kickoff = datetime(2026, 4, 10, 19, 0, tzinfo=UTC)
    assert fetcher.get_weather_for_game("DET", kickoff) is None
    assert fetcher.get_weather_for_game(make_game(home_team="NO", venue_id="3493"), kickoff) is None
    assert len(responses.calls) == 0
    assert fetcher.get_weather_for_game("ATL", kickoff).roof == "retractable"
    # A neutral site we do not know: no guess from the home team's city.
    assert fetcher.get_weather_for_game(make_game(venue_id="8748", neutral_site=True), kickoff) is None


@responses.activate
def test_weather_errors_never_show_the_key(clock, caplog):
    caplog.set_level(logging.DEBUG)
    fetcher = make_fetcher(clock, OPENWEATHER_API_KEY=OWM_KEY)
    responses.get(
        OWM, body=fixture_text("weather", "openweather_error_401.json"), status=401, content_type="application/json"
    )
    with pytest.raises(SourceError) as caught:
        fetcher.get_weather_for_game("GB", datetime(2026, 4, 10, 19, 0, tzinfo=UTC))
    assert "Invalid API key" in str(caught.value)
    assert OWM_KEY not in str(caught.value) and OWM_KEY not in caplog.text


# -- Odds -----------------------------------------------------------------------------------------


def odds_headers(remaining: int, used: int) -> dict:
    return {"x-requests-remaining": str(remaining), "x-requests-used": str(used), "x-requests-last": "3"}


@responses.activate
def test_no_odds_key_means_no_call(fetcher):
    assert fetcher.get_odds() == []
    assert len(responses.calls) == 0


@responses.activate
def test_odds_request_and_quota_headers(clock):
    fetcher = make_fetcher(clock, ODDS_API_KEY=ODDS_KEY)
    responses.get(
        ODDS,
        body=fixture_text("odds", "the_odds_api_nfl_h2h_american.json"),
        content_type="application/json",
        headers=odds_headers(497, 3),
    )
    lines = fetcher.get_odds()
    sent = query(responses.calls[0])
    assert sent == {"apiKey": ODDS_KEY, "regions": "us", "markets": "h2h,spreads,totals", "oddsFormat": "american"}
    assert len(lines) == 19 and {(line.home_team, line.away_team) for line in lines} == {("PHI", "KC")}
    draftkings = next(line for line in lines if line.provider == "DraftKings")
    assert (draftkings.home_moneyline, draftkings.away_moneyline) == (-125, 105)
    quota = fetcher.odds_quota
    assert (quota.remaining, quota.used, quota.last) == (497, 3, 3)


@responses.activate
def test_odds_lines_get_the_espn_game_id_of_the_same_matchup(clock):
    fetcher = make_fetcher(clock, ODDS_API_KEY=ODDS_KEY)
    responses.get(
        ODDS,
        body=fixture_text("odds", "the_odds_api_nfl_h2h_american.json"),
        content_type="application/json",
        headers=odds_headers(400, 100),
    )
    super_bowl = make_game(
        "401438030", home_team="PHI", away_team="KC", start_time=datetime(2023, 2, 12, 23, 30, tzinfo=UTC)
    )
    reversed_roles = make_game(
        "1", home_team="KC", away_team="PHI", start_time=datetime(2023, 2, 12, 23, 30, tzinfo=UTC)
    )
    a_year_later = make_game("2", home_team="PHI", away_team="KC", start_time=datetime(2024, 2, 12, 23, 30, tzinfo=UTC))
    lines = fetcher.get_odds([reversed_roles, a_year_later, super_bowl])
    assert {line.game_id for line in lines} == {"401438030"}


@responses.activate
def test_odds_stop_before_the_quota_is_spent(clock, caplog):
    fetcher = make_fetcher(clock, ODDS_API_KEY=ODDS_KEY)
    responses.get(ODDS, json=[], headers=odds_headers(2, 498))
    fetcher.get_odds()
    for _ in range(5):
        assert fetcher.get_odds() == []
    assert len(responses.calls) == 1
    assert len([r for r in caplog.records if "odds paused" in r.getMessage()]) == 1
    clock.set_now(datetime(2026, 11, 25, 0, 1, tzinfo=UTC))  # next UTC day: try once more
    fetcher.get_odds()
    assert len(responses.calls) == 2


@responses.activate
def test_out_of_credits_disables_odds_until_next_utc_day_with_one_log_line(clock, caplog):
    fetcher = make_fetcher(clock, ODDS_API_KEY=ODDS_KEY)
    responses.get(
        ODDS,
        body=fixture_text("odds", "the_odds_api_error_401_out_of_usage_credits.json"),
        status=401,
        content_type="application/json",
    )
    for _ in range(4):
        assert fetcher.get_odds() == []
    assert len(responses.calls) == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "OUT_OF_USAGE_CREDITS" in errors[0].getMessage()
    assert fetcher.odds_quota.disabled_until == date(2026, 11, 25)
    assert ODDS_KEY not in caplog.text
    clock.set_now(datetime(2026, 11, 24, 23, 59, tzinfo=UTC))
    fetcher.get_odds()
    assert len(responses.calls) == 1
    clock.set_now(datetime(2026, 11, 25, 0, 0, tzinfo=UTC))
    fetcher.get_odds()
    assert len(responses.calls) == 2


@responses.activate
def test_odds_server_errors_are_raised_without_the_key(clock):
    fetcher = make_fetcher(clock, ODDS_API_KEY=ODDS_KEY)
    responses.get(ODDS, status=500, json={"message": "internal"})
    with pytest.raises(SourceError) as caught:
        fetcher.get_odds()
    assert caught.value.attempts == 2 and ODDS_KEY not in str(caught.value)
    assert fetcher.odds_quota.disabled_until is None


def test_decimal_odds_body_converts_to_american():
    from nfl_sync.sources import odds_parser

    (first, *_rest) = odds_parser.parse_odds(fixture_json("odds", "the_odds_api_nfl.json"), odds_format="decimal")
    assert (first.home_team, first.away_team, first.spread, first.over_under) == (
        "HOU",
        "ARI",
        Decimal("-9.5"),
        Decimal("42.5"),
    )
    # DraftKings h2h: ARI 5.1 -> +410, HOU 1.18 -> -556.
    assert (first.away_moneyline, first.home_moneyline, first.details) == (410, -556, "HOU -9.5")
