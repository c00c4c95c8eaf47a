"""Real Kalshi prices of past markets, as `download kalshi` saved them: what a market quoted at
any instant of a replay.

The folder holds one sub-folder per Kalshi event, and in it, per market, the raw API items:
`<ticker>.trades.json` (`GET /markets/trades` or `/historical/trades`) and
`<ticker>.candles.json` (1-minute candlesticks, live or historical field names). At instant t a
market quotes:

- last price: the last trade at or before t (else the last candle's traded close);
- yes bid and ask: the closes of the last 1-minute candle that ended at or before t (the candle
  still open at t would tell the future); before the first candle, its opening quote;
- volume: the contracts traded at or before t in the downloaded window (the candles' volumes
  when no trade was downloaded), open interest the last ended candle's.

Prices are kept in Decimal dollars as Kalshi sends them. Everything but `load_history` is pure.
"""

from __future__ import annotations

import bisect
import itertools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from nfl_replay.files import read_json
from nfl_sync.sources.kalshi.parser import page_items, parse_candle, parse_trade
from nfl_sync.sources.kalshi.records import Candle, Trade

log = logging.getLogger(__name__)

HISTORY_FOLDER = "kalshi_history"  # the default place, beside the summaries it belongs to
TRADES_SUFFIX = ".trades.json"
CANDLES_SUFFIX = ".candles.json"
ZERO = Decimal(0)


@dataclass(frozen=True)
class Quote:
    """What one market showed at one instant, in dollars and contracts."""

    yes_bid: Decimal
    yes_ask: Decimal
    last_price: Decimal
    volume: Decimal
    open_interest: Decimal


class MarketHistory:
    """One market's downloaded trades and 1-minute candles, asked at any instant."""

    def __init__(self, ticker: str, trades: Iterable[Trade], candles: Iterable[Candle]):
        self.ticker = ticker
        # Kalshi lists trades newest first: reversed before a stable sort, trades of one instant
        # keep the order they were made in.
        timed = sorted(
            ((t.created_time, t) for t in reversed(list(trades)) if t.created_time is not None), key=lambda x: x[0]
        )
        self._trade_times = [at for at, _ in timed]
        self._trade_prices = [t.yes_price for _, t in timed]
        self._traded = list(itertools.accumulate((t.count for _, t in timed), initial=ZERO))
        quoted = sorted(
            (c for c in candles if c.yes_bid.close is not None and c.yes_ask.close is not None), key=lambda c: c.end
        )
        if not quoted:
            raise ValueError(f"{ticker}: no 1-minute candle with a yes bid and ask")
        self._candles = quoted
        self._candle_ends = [c.end for c in quoted]
        self._candle_volume = list(itertools.accumulate((c.volume for c in quoted), initial=ZERO))

    @property
    def start(self) -> datetime:
        return self._candle_ends[0]

    def quote(self, at: datetime) -> Quote:
        """The market at `at`, as the module docstring says."""
        ended = bisect.bisect_right(self._candle_ends, at)
        if ended:
            candle = self._candles[ended - 1]
            bid, ask, interest = candle.yes_bid.close, candle.yes_ask.close, candle.open_interest
        else:
            first = self._candles[0]
            bid, ask, interest = first.yes_bid.open, first.yes_ask.open, ZERO
            bid, ask = bid if bid is not None else first.yes_bid.close, ask if ask is not None else first.yes_ask.close
        assert bid is not None and ask is not None  # candles without both closes were left out
        traded = bisect.bisect_right(self._trade_times, at)
        if traded:
            last = self._trade_prices[traded - 1]
        else:
            last = next(
                (c.price.close for c in reversed(self._candles[:ended]) if c.price.close is not None),
                (bid + ask) / 2,
            )
        volume = self._traded[traded] if self._trade_times else self._candle_volume[ended]
        return Quote(bid, ask, last, volume, interest)


def market_history(ticker: str, trades: Sequence[Mapping], candles: Sequence[Mapping]) -> MarketHistory:
    """A market's history from the raw items Kalshi sent (either candlestick flavour)."""
    return MarketHistory(ticker, [parse_trade(t) for t in trades], [parse_candle(c) for c in candles])


def load_history(folders: Iterable[Path]) -> dict[str, MarketHistory]:
    """ticker -> history of every market with downloaded candles in `folders` (and their trades,
    when downloaded). A file that does not read is logged and left out: that market replays with
    synthetic prices."""
    histories: dict[str, MarketHistory] = {}
    for folder in folders:
        for candles_file in sorted(folder.glob(f"*/*{CANDLES_SUFFIX}")):
            ticker = candles_file.name.removesuffix(CANDLES_SUFFIX)
            trades_file = candles_file.with_name(ticker + TRADES_SUFFIX)
            try:
                candles = page_items(read_json(candles_file), "candlesticks")
                trades = page_items(read_json(trades_file), "trades") if trades_file.exists() else []
                histories[ticker] = market_history(ticker, trades, candles)
            except (OSError, ValueError) as error:  # a ParseError is a ValueError
                log.warning("Kalshi history of %s is left out: %s", ticker, error)
    return histories
