"""The Kalshi parser on Kalshi's real recorded payloads (tests/fixtures/kalshi/README.md): markets,
events and series, schema drift, statuses, order books, trades and candlesticks."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from helpers import fixture_json
from kalshi_support import NFL_MARKET_FILES, nfl_market
from nfl_sync.domain.errors import KalshiFormatError
from nfl_sync.domain.markets import market_line
from nfl_sync.sources.kalshi import parser as kp
from nfl_sync.sources.kalshi.records import OHLC, ExchangeStatus, PriceLevel
from nfl_sync.sources.kalshi.statuses import filter_status, response_statuses


def every_recorded_market() -> list[dict[str, Any]]:
    markets = [fixture_json("kalshi", "get_market", name)["market"] for name in NFL_MARKET_FILES]
    markets += fixture_json("kalshi", "other_series", "kalshi_markets.json")["markets"]
    for event in fixture_json("kalshi", "other_series", "kalshi_events.json")["events"]:
        markets += event["markets"]
    return markets


RECORDED = every_recorded_market()


# --- markets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", RECORDED, ids=[m["ticker"] for m in RECORDED])
def test_every_recorded_market_parses_to_decimal_prices(payload):
    parsed = kp.parse_market(payload)
    quote = parsed.quote
    assert parsed.market.ticker == payload["ticker"]
    assert parsed.market.status == payload["status"]
    assert quote.volume == Decimal(payload["volume_fp"])
    assert quote.open_interest == Decimal(payload["open_interest_fp"])
    for value in (quote.yes_bid, quote.yes_ask, quote.no_bid, quote.no_ask, quote.last_price):
        assert value is None or (isinstance(value, Decimal) and 0 < value < 1)
    # Kalshi's book is bids only: each side's ask is the complement of the other side's bid.
    if quote.yes_ask is not None and quote.no_bid is not None:
        assert quote.yes_ask == 1 - quote.no_bid
    if quote.no_ask is not None and quote.yes_bid is not None:
        assert quote.no_ask == 1 - quote.yes_bid
    assert parsed.market.close_time.tzinfo == UTC


def test_game_market_quote_and_snapshot_values():
    parsed = kp.parse_market(nfl_market("KXNFLGAME-26OCT12BUFLAR-LAR"))
    ts = datetime(2026, 10, 12, 23, 0, tzinfo=UTC)
    snap = parsed.snapshot(ts)
    assert (snap.ticker, snap.ts, snap.event_ticker) == ("KXNFLGAME-26OCT12BUFLAR-LAR", ts, "KXNFLGAME-26OCT12BUFLAR")
    assert (snap.yes_bid, snap.yes_ask, snap.last_price) == (Decimal("0.53"), Decimal("0.56"), Decimal("0.56"))
    assert (snap.volume, snap.open_interest) == (Decimal("650.34"), Decimal("487.47"))
    assert snap.mid == Decimal("0.545")
    assert snap.spread == Decimal("0.03")
    assert snap.implied_probability == Decimal("0.545")
    assert parsed.quote.yes_bid_size == Decimal("13044.00")
    assert parsed.quote.previous_price == Decimal("0.52")


@pytest.mark.parametrize(
    ("ticker", "subtitle", "line"),
    [
        ("KXNFLGAME-26OCT12BUFLAR-LAR", "Los Angeles R", None),
        ("KXNFLSPREAD-26OCT08TBDAL-TB8", "TB Buccaneers wins by over 7.5 points", "TB −7.5"),
        ("KXNFLTOTAL-26OCT08TBDAL-69", "Over 68.5 points", "Over 68.5"),
        ("KXNFL1HSPREAD-26OCT05ATLNO-NO8", "NO Saints wins by over 7.5 points", "1H NO −7.5"),
        ("KXNFL1HTOTAL-26OCT05ATLNO-8", "Over 7.5 points", "1H Over 7.5"),
        ("KXNFL1H-26OCT05ATLNO-TIE", "Tie", None),
    ],
)
def test_recorded_markets_say_their_side_and_line(ticker, subtitle, line):
    """The line comes from floor_strike (68.5), not the ticker's rounded suffix (69)."""
    market = kp.parse_market(nfl_market(ticker)).market
    assert market.subtitle == subtitle
    assert market_line(market) == line


def test_empty_sides_and_untraded_markets_are_none_not_zero():
    btc = fixture_json("kalshi", "other_series", "kalshi_markets.json")["markets"][0]
    quote = kp.parse_market(btc).quote
    # Recorded "0.0000" bid (size 0), "1.0000" NO ask and "0.0000" last price: no orders, no trades.
    assert (quote.yes_bid, quote.no_ask, quote.last_price) == (None, None, None)
    assert quote.yes_ask == Decimal("0.01")
    snap = kp.parse_market(btc).snapshot(datetime(2026, 7, 25, tzinfo=UTC))
    assert snap.mid is None and snap.spread is None

    untraded = kp.parse_market(nfl_market("KXNFLSPREAD-26OCT08TBDAL-TB8")).snapshot(snap.ts)
    assert untraded.last_price is None
    assert untraded.mid == Decimal("0.065")


def test_non_nfl_market_has_no_game_identity():
    market = kp.parse_market(fixture_json("kalshi", "other_series", "kalshi_markets.json")["markets"][0]).market
    assert market.series_ticker == "KXBTCD"
    assert (market.market_kind, market.game_date, market.home_team, market.line) == (None, None, None, None)


def test_events_page_with_nested_markets():
    body = fixture_json("kalshi", "other_series", "kalshi_events.json")
    events = [kp.parse_event(item) for item in kp.page_items(body, "events")]
    assert [e.event_ticker for e in events] == ["KXELONMARS-99", "KXNEXTNATOSECGEN-99"]
    assert [len(e.markets) for e in events] == [1, 8]
    assert {m.market.series_ticker for m in events[1].markets} == {"KXNEXTNATOSECGEN"}
    assert events[1].sub_title == "Before Jan 1, 2099"
    assert kp.next_cursor(body) == body["cursor"]


def test_single_event_response_falls_back_to_top_level_markets():
    event = fixture_json("kalshi", "other_series", "kalshi_events.json")["events"][1]
    markets = event.pop("markets")
    parsed = kp.parse_event_response({"event": event, "markets": markets})
    assert [m.market.ticker for m in parsed.markets] == [m["ticker"] for m in markets]


def test_series_response():
    series = kp.parse_series_response(fixture_json("kalshi", "other_series", "kalshi_series.json"))
    assert (series.ticker, series.category, series.frequency, series.tags) == (
        "KXBTCD",
        "Crypto",
        "hourly",
        ("Hourly", "BTC"),
    )


@pytest.mark.parametrize(
    "body, cursor",
    [
        ({"cursor": "", "markets": []}, None),
        ({"markets": []}, None),
        ({"cursor": None, "markets": None}, None),
        ({"cursor": "abc", "markets": []}, "abc"),
    ],
)
def test_cursor_end_of_pages(body, cursor):
    assert kp.next_cursor(body) == cursor
    assert kp.page_items(body, "markets") == []


# --- schema drift -----------------------------------------------------------------------------------


def cent_era(payload: dict[str, Any]) -> dict[str, Any]:
    """The market as Kalshi sent it before 2026-03-12: integer cents, no dollar/fp strings."""
    old = {k: v for k, v in payload.items() if not k.endswith(("_dollars", "_fp"))}
    old.update(yes_bid=53, yes_ask=56, no_bid=44, no_ask=47, last_price=56, volume=650, open_interest=487)
    return old


def test_cent_only_market_raises_format_changed_not_zero():
    with pytest.raises(KalshiFormatError) as caught:
        kp.parse_market(cent_era(nfl_market("KXNFLGAME-26OCT12BUFLAR-LAR")))
    message = str(caught.value)
    assert message.startswith("Kalshi response format changed: market KXNFLGAME-26OCT12BUFLAR-LAR")
    assert "yes_bid_dollars" in message and "last_price_dollars" in message
    assert "removed cent fields yes_bid" in message


@pytest.mark.parametrize(
    "field, value",
    [
        ("yes_bid_dollars", 53),
        ("yes_bid_dollars", "53.0000"),
        ("yes_ask_dollars", "n/a"),
        ("volume_fp", "-1.00"),
        ("last_price_dollars", None),
    ],
)
def test_malformed_price_fields_raise_format_error(field, value):
    payload = nfl_market("KXNFLGAME-26OCT12BUFLAR-LAR")
    payload[field] = value
    with pytest.raises(KalshiFormatError, match=field):
        kp.parse_market(payload)


def test_list_without_its_key_is_a_format_change():
    with pytest.raises(KalshiFormatError, match="no 'markets' list"):
        kp.page_items({"data": [], "cursor": ""}, "markets")


# --- statuses ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, expected",
    [
        ("active", "open"),
        ("open", "open"),
        ("inactive", "paused"),
        ("initialized", "unopened"),
        ("determined", "closed"),
        ("finalized", "settled"),
        ("SETTLED", "settled"),
    ],
)
def test_filter_status_understands_both_vocabularies(given, expected):
    assert filter_status(given) == expected


def test_response_statuses_of_a_filter():
    assert response_statuses("open") == {"active"}
    assert response_statuses("closed") == {"closed", "determined", "disputed", "amended"}
    assert response_statuses("settled") == {"finalized"}
    with pytest.raises(ValueError, match="unknown Kalshi market status"):
        filter_status("live")


# --- orderbook, trades, candles ---------------------------------------------------------------------


def test_recorded_orderbook_best_bid_and_ask():
    book = kp.parse_orderbook(
        fixture_json("kalshi", "other_series", "kalshi_orderbook.json"), "KXBTCD-26JUL2502-T74299.99"
    )
    assert book.yes_bids == () and book.best_yes_bid is None and book.no_ask is None
    assert book.best_no_bid == PriceLevel(Decimal("0.99"), Decimal("73469.00"))
    assert book.yes_ask == Decimal("0.01")
    # The same market in the recorded /markets page: the book's derived ask matches the quote.
    market = fixture_json("kalshi", "other_series", "kalshi_markets.json")["markets"][0]
    assert book.yes_ask == Decimal(market["yes_ask_dollars"])
    assert book.best_no_bid.size == Decimal(market["yes_ask_size_fp"])


def test_two_sided_orderbook_in_either_order():
    levels = {
        "yes_dollars": [["0.4100", "10.00"], ["0.4200", "13.00"]],
        "no_dollars": [["0.5500", "9.73"], ["0.5600", "17.00"]],
    }
    reversed_levels = {side: list(reversed(rows)) for side, rows in levels.items()}
    for book_levels in (levels, reversed_levels):
        book = kp.parse_orderbook({"orderbook_fp": book_levels}, "T")
        top = book.top(datetime(2026, 11, 24, tzinfo=UTC))
        assert book.best_yes_bid == PriceLevel(Decimal("0.42"), Decimal("13.00"))
        assert (top.yes_bid, top.yes_ask) == (Decimal("0.42"), Decimal("0.44"))
        assert book.no_ask == Decimal("0.58")
        assert (top.mid, top.spread) == (Decimal("0.43"), Decimal("0.02"))


def test_cent_era_orderbook_is_a_format_change():
    with pytest.raises(KalshiFormatError, match="orderbook_fp"):
        kp.parse_orderbook({"orderbook": {"yes": [[42, 13]], "no": [[56, 17]]}}, "T")


def test_recorded_trades():
    body = fixture_json("kalshi", "other_series", "kalshi_trades.json")
    trades = [kp.parse_trade(item) for item in kp.page_items(body, "trades")]
    first = trades[0]
    assert (first.ticker, first.count, first.yes_price, first.no_price) == (
        "KXETH15M-26JUL250200-00",
        Decimal("12.61"),
        Decimal("0.38"),
        Decimal("0.62"),
    )
    assert (first.taker_outcome_side, first.taker_book_side, first.is_block_trade) == ("yes", "bid", False)
    assert first.created_time == datetime(2026, 7, 25, 5, 51, 39, 544670, tzinfo=UTC)
    assert all(t.yes_price + t.no_price == 1 for t in trades)


def as_live_shape(candle: dict[str, Any]) -> dict[str, Any]:
    """A historical candle renamed to the live endpoint's field names (values unchanged)."""

    def suffixed(ohlc: dict[str, Any]) -> dict[str, Any]:
        return {f"{key}_dollars": value for key, value in ohlc.items()}

    return {
        "end_period_ts": candle["end_period_ts"],
        "yes_bid": suffixed(candle["yes_bid"]),
        "yes_ask": suffixed(candle["yes_ask"]),
        "price": suffixed(candle["price"]),
        "volume_fp": candle["volume"],
        "open_interest_fp": candle["open_interest"],
    }


def test_historical_and_live_candles():
    recorded = fixture_json(
        "kalshi", "historical_candlesticks", "kalshi_candlesticks_KXNFLSPREAD-26JAN10GBCHI-GB14.json"
    )
    hourly = kp.parse_candlesticks({"ticker": recorded["ticker"], "candlesticks": recorded["h60"]})
    assert len(hourly) == 4
    assert hourly[0].end == datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    assert hourly[0].price == OHLC(None, None, None, None) and hourly[0].mean_price is None
    assert hourly[0].yes_ask == OHLC(Decimal("0.99"), Decimal("0.99"), Decimal("0.14"), Decimal("0.14"))
    minute = kp.parse_candlesticks({"ticker": recorded["ticker"], "candlesticks": recorded["m1"]})
    traded = minute[1]
    assert traded.price.close == Decimal("0.12") and traded.previous_price == Decimal("0.13")
    assert (traded.volume, traded.open_interest) == (Decimal("222.00"), Decimal("393.00"))

    live = kp.parse_candlesticks(
        {"ticker": recorded["ticker"], "candlesticks": [as_live_shape(c) for c in recorded["m1"]]}
    )
    assert live == minute


def test_candle_without_volume_is_a_format_change():
    candle = fixture_json(
        "kalshi", "historical_candlesticks", "kalshi_candlesticks_KXNFLSPREAD-26JAN10GBCHI-GB14.json"
    )["m1"][0]
    del candle["volume"]
    with pytest.raises(KalshiFormatError, match="neither volume_fp"):
        kp.parse_candle(candle)


def test_exchange_status():
    status = kp.parse_exchange_status(
        {"exchange_active": False, "trading_active": False, "exchange_estimated_resume_time": "2026-11-26T10:00:00Z"}
    )
    assert status == ExchangeStatus(False, False, datetime(2026, 11, 26, 10, tzinfo=UTC))
