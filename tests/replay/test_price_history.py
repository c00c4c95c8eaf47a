"""A market's downloaded history asked at an instant, and the fake Kalshi's markets quoting it:
the last trade at or before the instant, the last ended candle's bid and ask (never the candle
still open), volume as the contracts traded so far; a game with the history of only one of its
markets stays synthetic."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from helpers import FIXTURES
from nfl_replay.kalshi_markets import Listing, SyntheticMarkets
from nfl_replay.kalshi_server import FakeKalshiServer
from nfl_replay.price_history import CANDLES_SUFFIX, HISTORY_FOLDER, load_history, market_history
from nfl_replay.runner import history_folders
from nfl_sync.sources.kalshi.parser import parse_market, parse_orderbook

pytest_plugins = ["replay_support"]

HISTORY = FIXTURES / "kalshi" / "history"
T0 = datetime(2025, 9, 14, 17, 0, tzinfo=UTC)
TICKER = "KXNFLGAME-25SEP14GBATL-ATL"


def candle(minute: int, bid: str, ask: str, volume: str = "0.00", historical: bool = False) -> dict:
    """A 1-minute candle ending `minute` minutes after T0, live or historical field names."""
    suffix = "" if historical else "_dollars"
    book = {f"{k}{suffix}": v for k, v in (("open", bid), ("high", bid), ("low", bid), ("close", bid))}
    asks = {f"{k}{suffix}": v for k, v in (("open", ask), ("high", ask), ("low", ask), ("close", ask))}
    price = {f"{k}{suffix}": None for k in ("open", "high", "low", "close", "mean", "previous")}
    counts = (
        {"volume": volume, "open_interest": "7.00"} if historical else {"volume_fp": volume, "open_interest_fp": "7.00"}
    )
    return {
        "end_period_ts": int((T0 + timedelta(minutes=minute)).timestamp()),
        "yes_bid": book,
        "yes_ask": asks,
        "price": price,
        **counts,
    }


def trade(seconds: float, price: str, count: str) -> dict:
    at = T0 + timedelta(seconds=seconds)
    return {
        "count_fp": count,
        "created_time": at.isoformat().replace("+00:00", "Z"),
        "is_block_trade": False,
        "no_price_dollars": f"{1 - Decimal(price):.4f}",
        "taker_book_side": "bid",
        "taker_outcome_side": "yes",
        "ticker": TICKER,
        "trade_id": f"t{seconds}",
        "yes_price_dollars": price,
    }


def test_a_quote_holds_the_last_trade_and_the_last_ended_candle():
    history = market_history(
        TICKER,
        # newest first, as Kalshi lists them
        [trade(150, "0.5600", "3.00"), trade(90, "0.5500", "2.50"), trade(30, "0.5200", "10.00")],
        [
            candle(1, "0.5000", "0.5200", historical=True),
            candle(2, "0.5400", "0.5600", historical=True),
            candle(3, "0.5500", "0.5700"),
        ],
    )
    at = history.quote
    # Before the first candle ends: its opening quote; before the first trade: the mid.
    early = at(T0 + timedelta(seconds=10))
    assert (early.yes_bid, early.yes_ask, early.last_price, early.volume) == (
        Decimal("0.5"),
        Decimal("0.52"),
        Decimal("0.51"),
        0,
    )
    # 1:30 into the market: the candle of minute 2 is still open, so minute 1's close is the quote.
    mid_minute = at(T0 + timedelta(seconds=90))
    assert (mid_minute.yes_bid, mid_minute.yes_ask) == (Decimal("0.5"), Decimal("0.52"))
    assert (mid_minute.last_price, mid_minute.volume) == (Decimal("0.55"), Decimal("12.50"))
    assert mid_minute.open_interest == Decimal("7")
    ended = at(T0 + timedelta(minutes=2))
    assert (ended.yes_bid, ended.yes_ask, ended.last_price) == (Decimal("0.54"), Decimal("0.56"), Decimal("0.55"))
    late = at(T0 + timedelta(hours=1))  # after everything: the last of each (a live candle there)
    assert (late.yes_bid, late.yes_ask, late.last_price, late.volume) == (
        Decimal("0.55"),
        Decimal("0.57"),
        Decimal("0.56"),
        Decimal("15.50"),
    )


def test_without_trades_the_candles_give_volume_and_last_price():
    traded = candle(2, "0.4000", "0.4200", volume="5.00")
    traded["price"]["close_dollars"] = "0.4100"
    history = market_history(TICKER, [], [candle(1, "0.3900", "0.4100", volume="0.00"), traded])
    assert history.quote(T0 + timedelta(minutes=1, seconds=30)).last_price == Decimal("0.40")  # mid: nothing traded yet
    late = history.quote(T0 + timedelta(minutes=3))
    assert (late.last_price, late.volume) == (Decimal("0.41"), Decimal("5"))


def test_a_market_without_a_quoted_candle_is_refused():
    with pytest.raises(ValueError, match="no 1-minute candle"):
        market_history(TICKER, [trade(30, "0.5", "1.00")], [])


def test_the_fixture_history_loads_and_a_broken_file_is_left_out(tmp_path, caplog):
    assert set(load_history([HISTORY])) == {"KXNFLGAME-23SEP17GBATL-GB", "KXNFLGAME-23SEP17GBATL-ATL"}
    copy = tmp_path / "history"
    shutil.copytree(HISTORY, copy)
    broken = next(copy.glob(f"*/*GB{CANDLES_SUFFIX}"))
    broken.write_text('{"candlesticks": [{"end_period_ts": "soon"}]}')
    assert set(load_history([copy])) == {"KXNFLGAME-23SEP17GBATL-ATL"}
    assert "KXNFLGAME-23SEP17GBATL-GB is left out" in caplog.text


def test_markets_with_history_quote_it_and_say_so(gb_atl, bal_jax):
    history = load_history([HISTORY])
    listings = [Listing.of(gb_atl), Listing.of(bal_jax)]
    markets = SyntheticMarkets(listings, timedelta(seconds=30), Decimal("0.01"), 0, history)
    assert markets.recorded_games == frozenset({gb_atl.game_id})
    at = gb_atl.kickoff + timedelta(minutes=40, seconds=17)
    for side in ("home", "away"):
        ticker = listings[0].ticker(side)
        quote = history[ticker].quote(at)
        document = markets.market(listings[0], side, at)
        parsed = parse_market(document).snapshot(at)
        assert (parsed.yes_bid, parsed.yes_ask, parsed.last_price, parsed.volume, parsed.open_interest) == (
            quote.yes_bid,
            quote.yes_ask,
            quote.last_price,
            quote.volume,
            quote.open_interest,
        )
        assert "recorded prices" in document["rules_secondary"] and "SYNTHETIC" not in document["rules_secondary"]
        book = parse_orderbook({"orderbook_fp": markets.orderbook(ticker, at, 0)}, ticker)
        assert (book.yes_bids[-1].price, 1 - book.no_bids[-1].price) == (quote.yes_bid, quote.yes_ask)
    assert "SYNTHETIC" in markets.market(listings[1], "home", at)["rules_secondary"]


def test_a_game_with_one_market_recorded_stays_synthetic(gb_atl, clock):
    history = load_history([HISTORY])
    del history["KXNFLGAME-23SEP17GBATL-GB"]
    server = FakeKalshiServer([gb_atl], clock, history=history)
    assert server.markets.recorded_games == frozenset()
    at = gb_atl.kickoff + timedelta(minutes=40)
    assert "SYNTHETIC" in server.markets.market(server.listings[0], "home", at)["rules_secondary"]


def test_the_replay_finds_the_history_beside_the_summaries_or_where_told(tmp_path):
    season = tmp_path / "season"
    (season / HISTORY_FOLDER).mkdir(parents=True)
    summary = season / "summary_1.json"
    elsewhere = tmp_path / "elsewhere"
    assert history_folders([season]) == history_folders([summary]) == [season / HISTORY_FOLDER]
    assert history_folders([elsewhere / "summary_2.json"]) == []  # none there: synthetic prices
    assert history_folders([season], HISTORY) == [HISTORY]
    with pytest.raises(FileNotFoundError, match="no such Kalshi history folder"):
        history_folders([season], elsewhere)
