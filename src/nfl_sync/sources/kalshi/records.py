"""The typed records the Kalshi parser produces: a market's identity and quote, order book levels,
trades, candlesticks, events, series, exchange status, and what an NFL ticker says. Prices are
`Decimal` dollars between 0 and 1, sizes `Decimal` contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from nfl_sync.domain.models import BookLevels, KalshiMarket, MarketSnapshot

ONE = Decimal(1)


@dataclass(frozen=True)
class MarketQuote:
    """Every price and size a market payload carries, in dollars and contracts.

    Kalshi reports an empty side as a 0.0000 bid or a 1.0000 ask, and an untraded market as a
    0.0000 last price; those become None so that nothing downstream reads them as real quotes
    (an empty book would otherwise show a 50-cent mid).
    """

    yes_bid: Decimal | None
    yes_ask: Decimal | None
    no_bid: Decimal | None
    no_ask: Decimal | None
    last_price: Decimal | None
    volume: Decimal
    open_interest: Decimal
    yes_bid_size: Decimal | None = None
    yes_ask_size: Decimal | None = None
    volume_24h: Decimal | None = None
    previous_yes_bid: Decimal | None = None
    previous_yes_ask: Decimal | None = None
    previous_price: Decimal | None = None


@dataclass(frozen=True)
class ParsedMarket:
    """A market's identity (what it is about) and its quote (what it trades at)."""

    market: KalshiMarket
    quote: MarketQuote

    def snapshot(self, ts: datetime, game_id: str | None = None) -> MarketSnapshot:
        """The row for nfl_kalshi_prices at `ts`; mid, spread and implied probability derive from it.
        `game_id`, when given, is the ESPN game the market was mapped to (else the market's own)."""
        return MarketSnapshot(
            ticker=self.market.ticker,
            ts=ts,
            yes_bid=self.quote.yes_bid,
            yes_ask=self.quote.yes_ask,
            last_price=self.quote.last_price,
            volume=self.quote.volume,
            open_interest=self.quote.open_interest,
            game_id=game_id or self.market.game_id,
            event_ticker=self.market.event_ticker,
        )


@dataclass(frozen=True)
class PriceLevel:
    price: Decimal
    size: Decimal


@dataclass(frozen=True)
class Orderbook:
    """Resting bids of both sides, ascending by price (best bid last).

    Kalshi's book holds bids only: a YES ask is the complement of the best NO bid.
    """

    ticker: str
    yes_bids: tuple[PriceLevel, ...]
    no_bids: tuple[PriceLevel, ...]

    @property
    def best_yes_bid(self) -> PriceLevel | None:
        return self.yes_bids[-1] if self.yes_bids else None

    @property
    def best_no_bid(self) -> PriceLevel | None:
        return self.no_bids[-1] if self.no_bids else None

    @property
    def yes_ask(self) -> Decimal | None:
        best = self.best_no_bid
        return None if best is None else ONE - best.price

    @property
    def no_ask(self) -> Decimal | None:
        best = self.best_yes_bid
        return None if best is None else ONE - best.price

    def levels(self, ts: datetime, depth: int) -> BookLevels:
        """The best `depth` levels of each side at `ts`, best first, as stored with a snapshot."""
        return BookLevels(
            self.ticker,
            ts,
            tuple((level.price, level.size) for level in reversed(self.yes_bids[-depth:])),
            tuple((level.price, level.size) for level in reversed(self.no_bids[-depth:])),
        )

    def top(self, ts: datetime) -> MarketSnapshot:
        """Top of book as a snapshot (no trade data), for its mid, spread and implied probability."""
        best_bid = self.best_yes_bid
        return MarketSnapshot(
            ticker=self.ticker,
            ts=ts,
            yes_bid=None if best_bid is None else best_bid.price,
            yes_ask=self.yes_ask,
            last_price=None,
            volume=None,
        )


@dataclass(frozen=True)
class Trade:
    trade_id: str
    ticker: str
    count: Decimal
    yes_price: Decimal
    no_price: Decimal
    taker_outcome_side: str | None  # yes / no
    taker_book_side: str | None  # bid / ask
    created_time: datetime | None
    is_block_trade: bool = False


@dataclass(frozen=True)
class OHLC:
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    close: Decimal | None


@dataclass(frozen=True)
class Candle:
    """One candlestick, from the live or the historical endpoint (their field names differ)."""

    end: datetime
    yes_bid: OHLC
    yes_ask: OHLC
    price: OHLC  # traded prices; all None when nothing traded in the period
    mean_price: Decimal | None
    previous_price: Decimal | None
    volume: Decimal
    open_interest: Decimal


@dataclass(frozen=True)
class KalshiEvent:
    event_ticker: str
    series_ticker: str
    title: str | None
    sub_title: str | None
    markets: tuple[ParsedMarket, ...] = ()


@dataclass(frozen=True)
class Series:
    ticker: str
    title: str | None
    category: str | None
    frequency: str | None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExchangeStatus:
    exchange_active: bool
    trading_active: bool
    estimated_resume_time: datetime | None = None


@dataclass(frozen=True)
class NFLEvent:
    """What an NFL game event ticker says: which game, on which Eastern date, which contract family."""

    event_ticker: str
    series_ticker: str
    kind: str  # game / spread / total
    segment: str | None  # 1H, 2H, 1Q..4Q; None for the full game
    game_date: date
    away_team: str  # canonical abbreviations (teams.py)
    home_team: str


@dataclass(frozen=True)
class NFLTicker:
    """What an NFL market ticker says on top of its event."""

    ticker: str
    event: NFLEvent
    team: str | None  # team a game or spread market is about; None for totals and TIE
    strike: int | None  # rounded line from the suffix; the exact line is floor_strike


@dataclass(frozen=True)
class UnmappedMarket:
    market: KalshiMarket
    reason: str
