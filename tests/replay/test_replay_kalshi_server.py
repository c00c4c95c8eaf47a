"""The fake Kalshi market-data API over real HTTP: synthetic markets with every field of a real
game market, filters, pagination, events, order books, and prices that follow ESPN's lagged win
probability and settle with the game."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from helpers import FIXTURES
from nfl_replay.kalshi_server import FakeKalshiServer
from nfl_replay.timeline import GameTimeline

pytest_plugins = ["replay_support"]

GB_ATL = "KXNFLGAME-23SEP17GBATL"
BAL_JAX = "KXNFLGAME-23DEC17BALJAC"
DOLLARS = re.compile(r"^[01]\.\d{4}$")
CONTRACTS = re.compile(r"^\d+\.\d{2}$")


def mid(market: dict) -> Decimal:
    return (Decimal(market["yes_bid_dollars"]) + Decimal(market["yes_ask_dollars"])) / 2


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
        # BAL @ JAX is three months away: listed, not open yet.
        assert market["status"] == ("active" if market["event_ticker"] == GB_ATL else "initialized")
        assert market["result"] == ""
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


def test_market_filters(kalshi, gb_atl, bal_jax, clock, session):
    def tickers(**params) -> list[str]:
        reply = session.get(f"{kalshi.base_url}/markets", params=params)
        assert reply.status_code == 200, reply.text
        return sorted(m["ticker"] for m in reply.json()["markets"])

    assert tickers(series_ticker="KXNFLSPREAD") == []
    assert tickers(event_ticker=BAL_JAX) == [f"{BAL_JAX}-BAL", f"{BAL_JAX}-JAC"]
    assert tickers(tickers=f"{GB_ATL}-GB,{BAL_JAX}-BAL") == [f"{BAL_JAX}-BAL", f"{GB_ATL}-GB"]
    assert tickers(status="open") == [f"{GB_ATL}-ATL", f"{GB_ATL}-GB"] and tickers(status="settled") == []
    assert tickers(status="unopened") == [f"{BAL_JAX}-BAL", f"{BAL_JAX}-JAC"]
    clock.set(gb_atl.end + timedelta(minutes=1))
    assert tickers(status="open") == [] and tickers(status="settled") == [f"{GB_ATL}-ATL", f"{GB_ATL}-GB"]
    # A game's markets open two weeks before its kickoff.
    clock.set(bal_jax.kickoff - timedelta(days=14))
    assert tickers(status="open") == [f"{BAL_JAX}-BAL", f"{BAL_JAX}-JAC"] and tickers(status="unopened") == []
    for bad in ({"status": "active"}, {"limit": "0"}, {"limit": "1001"}):
        assert session.get(f"{kalshi.base_url}/markets", params=bad).status_code == 400


def test_events_with_and_without_nested_markets(kalshi, gb_atl, bal_jax, clock, session):
    plain = session.get(f"{kalshi.base_url}/events", params={"series_ticker": "KXNFLGAME"}).json()
    assert [e["event_ticker"] for e in plain["events"]] == [GB_ATL, BAL_JAX]
    assert all("markets" not in e for e in plain["events"]) and plain["cursor"] == ""
    clock.set(bal_jax.kickoff - timedelta(hours=1))
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


def test_before_kickoff_the_book_changes_every_15_minutes_and_every_5_seconds_in_the_game(gb_atl, clock):
    markets = FakeKalshiServer([gb_atl], clock).markets
    listing, _ = markets.by_ticker[f"{GB_ATL}-ATL"]

    def quotes(start, step, n):
        moments = [start + step * i for i in range(n)]
        return [(markets.book(f"{GB_ATL}-ATL", at), markets.market(listing, "home", at)["volume_fp"]) for at in moments]

    period = gb_atl.kickoff - timedelta(hours=2)  # a 15-minute boundary: kickoff is on the hour
    still = quotes(period, timedelta(seconds=5), 180)
    assert len(set(still)) == 1  # 15 minutes of pre-game polls: one quote, one volume
    assert quotes(period + timedelta(minutes=15), timedelta(seconds=5), 1)[0] != still[0]
    live = quotes(gb_atl.kickoff + timedelta(minutes=10), timedelta(seconds=5), 12)
    assert len({book for book, _ in live}) > 6 and len({volume for _, volume in live}) == 12


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
