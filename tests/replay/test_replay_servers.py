"""The fake ESPN and Kalshi servers, over real HTTP on 127.0.0.1, with and without faults.

Every request goes through a keep-alive `requests.Session`, as the daemon's clients do. Time is
a SimulatedClock moved by the test, so nothing waits for real except the timeout-fault test,
whose whole point is a client timing out (a fraction of a second).
"""

from __future__ import annotations

import http.client
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import requests

from helpers import FIXTURES
from nfl_replay.clock import SimulatedClock
from nfl_replay.espn_server import FakeESPNServer
from nfl_replay.faults import FaultPlan
from nfl_replay.http import FakeHTTPServer, Request, Response, json_response
from nfl_replay.kalshi_server import FakeKalshiServer
from nfl_replay.timeline import GameTimeline, load_game

GB_ATL = "KXNFLGAME-23SEP17GBATL"
BAL_JAX = "KXNFLGAME-23DEC17BALJAC"
DOLLARS = re.compile(r"^[01]\.\d{4}$")
CONTRACTS = re.compile(r"^\d+\.\d{2}$")


@pytest.fixture(scope="module")
def gb_atl() -> GameTimeline:
    return load_game(FIXTURES / "espn" / "summary_401547417.json")


@pytest.fixture(scope="module")
def bal_jax() -> GameTimeline:
    return load_game(FIXTURES / "espn" / "cdn_game_401547602.json")


@pytest.fixture(scope="module")
def slate(gb_atl, bal_jax) -> list[GameTimeline]:
    """16 games from the two recordings: distinct ids, one Eastern day apart so each copy is a
    Kalshi event of its own."""
    return [(gb_atl if i % 2 == 0 else bal_jax).with_id(f"9000000{i:02d}", timedelta(days=i // 2)) for i in range(16)]


@pytest.fixture
def clock(gb_atl) -> SimulatedClock:
    return SimulatedClock(gb_atl.kickoff - timedelta(hours=1), None)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture
def espn(gb_atl, bal_jax, clock) -> Iterator[FakeESPNServer]:
    with FakeESPNServer([gb_atl, bal_jax], clock) as server:
        yield server


@pytest.fixture
def kalshi(gb_atl, bal_jax, clock) -> Iterator[FakeKalshiServer]:
    with FakeKalshiServer([gb_atl, bal_jax], clock) as server:
        yield server


def mid(market: dict) -> Decimal:
    return (Decimal(market["yes_bid_dollars"]) + Decimal(market["yes_ask_dollars"])) / 2


# -- shared HTTP base -------------------------------------------------------------------------


class EchoServer(FakeHTTPServer):
    """A minimal API on the shared base, the way the fake Telegram server builds on it."""

    def __init__(self) -> None:
        super().__init__("echo", "/bot123")
        self.route("POST", "/{method}", self._echo)
        self.route("GET", "/boom", self._boom)

    def _echo(self, request: Request) -> Response:
        return json_response({"ok": True, "method": request.params["method"], "got": request.json()})

    def _boom(self, request: Request) -> Response:
        raise RuntimeError("handler bug")


def test_base_server_routes_records_and_survives_handler_errors(session):
    with EchoServer() as server:
        reply = session.post(f"{server.base_url}/sendMessage", json={"chat_id": 1, "text": "hi"})
        assert reply.json() == {"ok": True, "method": "sendMessage", "got": {"chat_id": 1, "text": "hi"}}
        assert session.get(f"{server.base_url}/boom").status_code == 500
        assert session.get(f"{server.base_url}/nowhere").status_code == 404
        assert session.get(f"http://127.0.0.1:{server.port}/elsewhere/sendMessage").status_code == 404
        recorded = server.requests
        assert [(r.method, r.path, r.status) for r in recorded] == [
            ("POST", "/bot123/sendMessage", 200),
            ("GET", "/bot123/boom", 500),
            ("GET", "/bot123/nowhere", 404),
            ("GET", "/elsewhere/sendMessage", 404),
        ]
        assert json.loads(recorded[0].body) == {"chat_id": 1, "text": "hi"}


def test_connections_are_kept_alive_with_content_length(espn):
    connection = http.client.HTTPConnection("127.0.0.1", espn.port, timeout=5)
    try:
        sockets = []
        for path in ("/scoreboard", "/teams", "/summary?event=401547417"):
            connection.request("GET", f"/apis/site/v2/sports/football/nfl{path}")
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200 and not response.will_close
            assert int(response.getheader("Content-Length")) == len(body)
            sockets.append(connection.sock)
        assert sockets[0] is sockets[1] is sockets[2]
    finally:
        connection.close()


def test_stopping_a_server_closes_idle_keep_alive_connections(gb_atl, clock, session):
    server = FakeESPNServer([gb_atl], clock).start()
    url = f"{server.base_url}/teams"
    assert session.get(url).status_code == 200
    server.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(url, timeout=2)


# -- ESPN ---------------------------------------------------------------------------------------


def test_scoreboard_filters_by_eastern_date_or_range(espn, session):
    def ids(dates: str) -> list[str]:
        return [e["id"] for e in session.get(f"{espn.base_url}/scoreboard", params={"dates": dates}).json()["events"]]

    assert ids("20230917") == ["401547417"]
    # 8:20 PM Eastern on Dec 17 is Dec 18 in UTC; ESPN files it under the Eastern date.
    assert ids("20231217") == ["401547602"]
    assert ids("20231218") == []
    assert ids("20230901-20231231") == ["401547417", "401547602"]
    assert session.get(f"{espn.base_url}/scoreboard", params={"dates": "2023-09-17"}).status_code == 400


def test_scoreboard_has_top_level_league_season_and_week(espn, session):
    board = session.get(f"{espn.base_url}/scoreboard", params={"dates": "20230917"}).json()
    assert board["season"] == {"type": 2, "year": 2023}
    assert board["week"] == {"number": 2}
    assert board["leagues"][0]["abbreviation"] == "NFL"
    assert board["leagues"][0]["season"]["year"] == 2023


def test_scoreboard_follows_the_clock_through_the_game(espn, gb_atl, clock, session):
    def event() -> dict:
        return session.get(f"{espn.base_url}/scoreboard", params={"dates": "20230917"}).json()["events"][0]

    assert event()["status"]["type"]["state"] == "pre"
    clock.set(gb_atl.plays[100].visible_at)
    live = event()
    assert live["status"]["type"]["state"] == "in"
    home, away = (c for c in live["competitions"][0]["competitors"])
    assert (home["score"], away["score"]) == (str(gb_atl.plays[100].home_score), str(gb_atl.plays[100].away_score))
    assert live["competitions"][0]["situation"]["lastPlay"]["id"] == gb_atl.plays[100].id
    clock.set(gb_atl.end + timedelta(minutes=1))
    final = event()
    assert final["status"]["type"]["name"] == "STATUS_FINAL"
    assert {c["team"]["abbreviation"]: c["score"] for c in final["competitions"][0]["competitors"]} == {
        "GB": "24",
        "ATL": "25",
    }


def test_summary_is_the_timeline_at_the_clocks_time(espn, bal_jax, clock, session):
    clock.set(bal_jax.plays[120].visible_at)
    served = session.get(f"{espn.base_url}/summary", params={"event": "401547602"}).json()
    assert served == json.loads(json.dumps(bal_jax.summary(clock.now())))
    shown = [p["id"] for d in served["drives"]["previous"] + [served["drives"]["current"]] for p in d["plays"]]
    assert shown == [p.id for p in bal_jax.plays[:121]]


def test_summary_of_unknown_or_missing_event_is_an_espn_style_error(espn, session):
    missing = session.get(f"{espn.base_url}/summary", params={"event": "1"})
    assert missing.status_code == 404 and missing.json()["code"] == 404
    assert session.get(f"{espn.base_url}/summary").status_code == 400
    assert session.get(f"{espn.base_url}/nothing").json() == {"code": 404, "message": "Not Found"}


def test_injuries_are_league_wide_grouped_by_team(espn, gb_atl, session):
    injuries = session.get(f"{espn.base_url}/injuries").json()["injuries"]
    assert [(team["id"], team["displayName"]) for team in injuries] == [
        ("1", "Atlanta Falcons"),
        ("9", "Green Bay Packers"),
    ]
    recorded = {entry["team"]["id"]: entry["injuries"] for entry in gb_atl.source["injuries"]}
    assert all(team["injuries"] == recorded[team["id"]] for team in injuries)
    assert all(len(team["injuries"]) == 5 for team in injuries)


def test_teams_lists_the_replayed_teams_in_the_real_shape(espn, session):
    document = session.get(f"{espn.base_url}/teams").json()
    teams = [entry["team"] for entry in document["sports"][0]["leagues"][0]["teams"]]
    assert sorted(team["abbreviation"] for team in teams) == ["ATL", "BAL", "GB", "JAX"]
    assert all(team["id"] and team["displayName"] and team["logos"] for team in teams)


def test_a_sixteen_game_slate_serves_every_copy_under_its_own_id(slate, clock, session):
    with FakeESPNServer(slate, clock) as server:
        board = session.get(f"{server.base_url}/scoreboard", params={"dates": "20230917-20231231"}).json()
        assert sorted(e["id"] for e in board["events"]) == sorted(g.game_id for g in slate)
        summary = session.get(f"{server.base_url}/summary", params={"event": "900000015"}).json()
        assert summary["header"]["id"] == "900000015"
    with pytest.raises(ValueError):
        FakeESPNServer([slate[0], slate[0]], clock)


# -- Kalshi -------------------------------------------------------------------------------------


def test_markets_have_every_field_of_a_real_game_market(kalshi, session):
    recorded = json.loads(
        (FIXTURES / "kalshi" / "get_market" / "kalshi_market_KXNFLGAME-26OCT12BUFLAR-LAR.json").read_text()
    )["market"]
    markets = session.get(f"{kalshi.base_url}/markets").json()["markets"]
    assert sorted(m["ticker"] for m in markets) == sorted(
        [f"{GB_ATL}-GB", f"{GB_ATL}-ATL", f"{BAL_JAX}-BAL", f"{BAL_JAX}-JAC"]
    )
    for market in markets:
        assert set(recorded) <= set(market)
        for key, value in recorded.items():
            assert type(market[key]) is type(value), key
        for key in market:
            if key.endswith("_dollars"):
                assert DOLLARS.match(market[key]), (key, market[key])
            if key.endswith("_fp"):
                assert CONTRACTS.match(market[key]), (key, market[key])
        assert "SYNTHETIC replay market" in market["rules_secondary"]
        assert market["status"] == "active" and market["result"] == ""
        assert (
            Decimal("0.01")
            <= Decimal(market["yes_ask_dollars"]) - Decimal(market["yes_bid_dollars"])
            <= Decimal("0.02")
        )
    atl = next(m for m in markets if m["ticker"] == f"{GB_ATL}-ATL")
    assert atl["yes_sub_title"] == atl["no_sub_title"] == "Atlanta"
    assert atl["close_time"] == "2023-09-19T17:00:00Z"
    assert atl["expected_expiration_time"] == "2023-09-17T20:00:00Z"


def test_get_market_by_ticker_and_unknown_ticker(kalshi, session):
    market = session.get(f"{kalshi.base_url}/markets/{BAL_JAX}-JAC").json()["market"]
    assert market["ticker"] == f"{BAL_JAX}-JAC" and market["event_ticker"] == BAL_JAX
    assert market["yes_sub_title"] == "Jacksonville"
    missing = session.get(f"{kalshi.base_url}/markets/{BAL_JAX}-WAS")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_pagination_walks_every_market_once(slate, clock, session):
    with FakeKalshiServer(slate, clock) as server:
        seen, cursors, cursor = [], [], None
        while True:
            params = {"series_ticker": "KXNFLGAME", "limit": 5, **({"cursor": cursor} if cursor else {})}
            page = session.get(f"{server.base_url}/markets", params=params).json()
            seen += [m["ticker"] for m in page["markets"]]
            cursor = page["cursor"]
            if not cursor:
                break
            cursors.append(cursor)
        assert len(seen) == len(set(seen)) == 32
        assert len(cursors) == 6
        assert all(re.fullmatch(r"[A-Za-z0-9+/]{16,}", c) for c in cursors)
        bad = session.get(f"{server.base_url}/markets", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 400


def test_market_filters(kalshi, gb_atl, clock, session):
    def tickers(**params) -> list[str]:
        reply = session.get(f"{kalshi.base_url}/markets", params=params)
        assert reply.status_code == 200, reply.text
        return sorted(m["ticker"] for m in reply.json()["markets"])

    assert tickers(series_ticker="KXNFLSPREAD") == []
    assert tickers(event_ticker=BAL_JAX) == [f"{BAL_JAX}-BAL", f"{BAL_JAX}-JAC"]
    assert tickers(tickers=f"{GB_ATL}-GB,{BAL_JAX}-BAL") == [f"{BAL_JAX}-BAL", f"{GB_ATL}-GB"]
    assert len(tickers(status="open")) == 4 and tickers(status="settled") == []
    clock.set(gb_atl.end + timedelta(minutes=1))
    assert tickers(status="open") == [f"{BAL_JAX}-BAL", f"{BAL_JAX}-JAC"]
    assert tickers(status="settled") == [f"{GB_ATL}-ATL", f"{GB_ATL}-GB"]
    for bad in ({"status": "active"}, {"limit": "0"}, {"limit": "1001"}):
        assert session.get(f"{kalshi.base_url}/markets", params=bad).status_code == 400


def test_events_with_and_without_nested_markets(kalshi, gb_atl, clock, session):
    plain = session.get(f"{kalshi.base_url}/events", params={"series_ticker": "KXNFLGAME"}).json()
    assert [e["event_ticker"] for e in plain["events"]] == [GB_ATL, BAL_JAX]
    assert all("markets" not in e for e in plain["events"]) and plain["cursor"] == ""
    clock.set(gb_atl.end + timedelta(minutes=1))
    nested = session.get(f"{kalshi.base_url}/events", params={"with_nested_markets": "true", "status": "open"}).json()
    assert [e["event_ticker"] for e in nested["events"]] == [BAL_JAX]
    assert [m["ticker"] for m in nested["events"][0]["markets"]] == [f"{BAL_JAX}-BAL", f"{BAL_JAX}-JAC"]


def test_orderbook_is_ascending_with_the_best_bid_last(kalshi, bal_jax, gb_atl, clock, session):
    clock.set(gb_atl.end)
    settled = session.get(f"{kalshi.base_url}/markets/{GB_ATL}-ATL/orderbook").json()
    assert settled == {"orderbook_fp": {"yes_dollars": [], "no_dollars": []}}
    clock.set(bal_jax.plays[90].visible_at)
    ticker = f"{BAL_JAX}-BAL"
    market = session.get(f"{kalshi.base_url}/markets/{ticker}").json()["market"]
    book = session.get(f"{kalshi.base_url}/markets/{ticker}/orderbook").json()["orderbook_fp"]
    for side in ("yes_dollars", "no_dollars"):
        prices = [Decimal(price) for price, _ in book[side]]
        assert prices == sorted(prices) and len(prices) >= 1
    assert book["yes_dollars"][-1][0] == market["yes_bid_dollars"]
    assert book["no_dollars"][-1][0] == market["no_bid_dollars"]
    assert book["yes_dollars"][-1][1] == market["yes_bid_size_fp"]
    top = session.get(f"{kalshi.base_url}/markets/{ticker}/orderbook", params={"depth": 2}).json()["orderbook_fp"]
    assert top["yes_dollars"] == book["yes_dollars"][-2:]


def test_prices_track_lagged_win_probability(kalshi, gb_atl, clock, session):
    lag = timedelta(seconds=30)
    for play in gb_atl.plays[10:180:20]:
        clock.set(max(clock.now(), play.visible_at + timedelta(seconds=7)))
        market = session.get(f"{kalshi.base_url}/markets/{GB_ATL}-ATL").json()["market"]
        expected = min(Decimal("0.99"), max(Decimal("0.01"), gb_atl.win_probability_at(clock.now() - lag)))
        assert abs(mid(market) - expected) <= Decimal("0.025"), (play.id, mid(market), expected)
        away = session.get(f"{kalshi.base_url}/markets/{GB_ATL}-GB").json()["market"]
        assert Decimal(away["yes_bid_dollars"]) + Decimal(market["yes_ask_dollars"]) == 1


@pytest.mark.parametrize("game, winner, loser", [("gb_atl", "ATL", "GB"), ("bal_jax", "BAL", "JAC")])
def test_after_the_final_play_the_winners_market_settles_yes(request, kalshi, clock, session, game, winner, loser):
    timeline: GameTimeline = request.getfixturevalue(game)
    event = GB_ATL if game == "gb_atl" else BAL_JAX
    clock.set(timeline.end + timedelta(seconds=1))
    won = session.get(f"{kalshi.base_url}/markets/{event}-{winner}").json()["market"]
    lost = session.get(f"{kalshi.base_url}/markets/{event}-{loser}").json()["market"]
    assert Decimal(won["yes_bid_dollars"]) > Decimal("0.9") and Decimal(lost["yes_ask_dollars"]) < Decimal("0.1")
    assert (won["status"], won["result"], won["settlement_value_dollars"]) == ("finalized", "yes", "1.0000")
    assert (lost["status"], lost["result"], lost["settlement_value_dollars"]) == ("finalized", "no", "0.0000")


def test_volume_grows_during_the_game_and_stops_after_it(kalshi, gb_atl, clock, session):
    volumes = []
    for at in (
        gb_atl.kickoff - timedelta(minutes=30),
        gb_atl.kickoff + timedelta(minutes=30),
        gb_atl.kickoff + timedelta(hours=2),
        gb_atl.end,
        gb_atl.end + timedelta(hours=1),
    ):
        clock.set(at)
        volumes.append(Decimal(session.get(f"{kalshi.base_url}/markets/{GB_ATL}-GB").json()["market"]["volume_fp"]))
    assert volumes[0] > 0
    assert volumes[0] < volumes[1] < volumes[2] < volumes[3] == volumes[4]


def test_prices_are_deterministic_for_a_seed(gb_atl, clock):
    at = gb_atl.plays[50].visible_at
    servers = [FakeKalshiServer([gb_atl], clock, seed=seed) for seed in (7, 7, 8)]
    samples = [
        [server.markets.book(f"{GB_ATL}-ATL", at + timedelta(seconds=5 * i)) for i in range(20)] for server in servers
    ]
    assert samples[0] == samples[1]
    assert samples[0] != samples[2]


def test_start_warns_that_prices_are_synthetic(gb_atl, clock, caplog):
    with caplog.at_level(logging.WARNING, logger="nfl_replay.kalshi_server"), FakeKalshiServer([gb_atl], clock):
        pass
    assert any("SYNTHETIC" in record.getMessage() for record in caplog.records)


def test_copies_that_would_share_an_event_ticker_get_no_second_market(gb_atl, clock, caplog):
    twin = gb_atl.with_id("900000099", timedelta(hours=3))
    with caplog.at_level(logging.WARNING, logger="nfl_replay.kalshi_server"):
        server = FakeKalshiServer([gb_atl, twin], clock)
    assert [listing.event_ticker for listing in server.listings] == [GB_ATL]
    assert any("900000099" in record.getMessage() for record in caplog.records)


def test_exchange_status(kalshi, session):
    status = session.get(f"{kalshi.base_url}/exchange/status").json()
    assert status["exchange_active"] is True and status["trading_active"] is True


# -- faults -------------------------------------------------------------------------------------


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


def test_core_injury_fallback_pages_are_served_empty():
    import requests as http

    from helpers import fixture_path
    from nfl_replay.clock import SimulatedClock
    from nfl_replay.espn_server import FakeESPNServer
    from nfl_replay.timeline import load_game

    game = load_game(fixture_path("espn", "cdn_game_401547602.json"))
    with FakeESPNServer([game], SimulatedClock(game.kickoff)) as server:
        body = http.get(f"{server.base_url}/seasons/2023/teams/30/injuries", params={"limit": 100}, timeout=5).json()
    assert body["items"] == [] and body["count"] == 0
