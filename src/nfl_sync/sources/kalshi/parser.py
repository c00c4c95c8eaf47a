"""Kalshi Trade API v2 payloads as typed records, the NFL ticker grammar, and market-to-game mapping.

Pure functions over decoded JSON: no I/O, no clock (callers pass the snapshot time). Field names
follow the API as it is since 2026-03-12, when Kalshi removed every integer-cent field: prices are
`*_dollars` fixed-point strings ("0.5600") and sizes `*_fp` strings ("650.34"), read as `Decimal`.
A market without them is schema drift and raises `KalshiFormatError` instead of yielding a zero
price, so the daemon can raise a system alert rather than store garbage.

NFL tickers (tests/fixtures/kalshi/README.md): event `KXNFLGAME-26OCT12BUFLAR` is BUF at LAR on
2026-10-12, the game's US-Eastern local date; market suffixes are a team code (`-LAR`), a team code
and rounded spread (`-TB8`, real line in `floor_strike`) or a rounded total (`-69`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from nfl_sync.domain import teams
from nfl_sync.domain.errors import KalshiFormatError
from nfl_sync.domain.models import Game, KalshiMarket, MarketSnapshot

EASTERN = ZoneInfo("America/New_York")

ONE = Decimal(1)
ZERO = Decimal(0)


# Statuses a market carries in responses, and the values the `status` query filter takes; the
# two vocabularies differ (docs.kalshi.com/getting_started/market_lifecycle).
RESPONSE_STATUSES = frozenset(
    ("initialized", "inactive", "active", "closed", "determined", "disputed", "amended", "finalized")
)
FILTER_STATUSES = ("unopened", "open", "paused", "closed", "settled")
_FILTER_OF_RESPONSE = {
    "initialized": "unopened",
    "active": "open",
    "inactive": "paused",
    # "closed" matches any market past close_time that is not finalized yet.
    "closed": "closed",
    "determined": "closed",
    "disputed": "closed",
    "amended": "closed",
    "finalized": "settled",
}

# Fields a market must carry for its price to be read; the cent-era names are only used to say
# what the payload looks like when they are missing.
_MARKET_PRICE_FIELDS = (
    "yes_bid_dollars",
    "yes_ask_dollars",
    "no_bid_dollars",
    "no_ask_dollars",
    "last_price_dollars",
    "volume_fp",
    "open_interest_fp",
)
_LEGACY_CENT_FIELDS = (
    "yes_bid",
    "yes_ask",
    "no_bid",
    "no_ask",
    "last_price",
    "previous_price",
    "volume",
    "volume_24h",
    "open_interest",
    "liquidity",
)

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
_NFL_SERIES = re.compile(r"KXNFL(?P<segment>[12]H|[1-4]Q)?(?P<kind>GAME|SPREAD|TOTAL)?")
_EVENT_PART = re.compile(r"(?P<yy>\d{2})(?P<mon>[A-Z]{3})(?P<dd>\d{2})(?P<teams>[A-Z]{4,6})")
_SPREAD_SUFFIX = re.compile(r"(?P<code>[A-Z]{2,3})(?P<strike>\d{1,3})")
_TOTAL_SUFFIX = re.compile(r"\d{1,3}")
TIE_SUFFIX = "TIE"

# A postponed game keeps its ticker date while ESPN moves the kickoff; Kalshi keeps such markets
# open for 48 hours past the original start, so a game up to two days later is still the same one.
POSTPONEMENT_DAYS = 2


# --- statuses -------------------------------------------------------------------------------------


def filter_status(status: str) -> str:
    """The `status` query-filter value for `status` given in either vocabulary ("active" -> "open")."""
    value = status.strip().lower()
    if value in FILTER_STATUSES:
        return value
    if value in _FILTER_OF_RESPONSE:
        return _FILTER_OF_RESPONSE[value]
    raise ValueError(f"unknown Kalshi market status {status!r}; use one of {', '.join(FILTER_STATUSES)}")


def response_statuses(status: str) -> frozenset[str]:
    """The response statuses a filter value (or a response status) stands for ("open" -> {"active"})."""
    wanted = filter_status(status)
    return frozenset(name for name, value in _FILTER_OF_RESPONSE.items() if value == wanted)


# --- records --------------------------------------------------------------------------------------


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


# --- scalar helpers -------------------------------------------------------------------------------


def _fixed(
    payload: Mapping[str, Any], key: str, where: str, *, required: bool, maximum: Decimal | None = None
) -> Decimal | None:
    """A `*_dollars` / `*_fp` fixed-point string as Decimal; anything else is a format change."""
    value = payload.get(key)
    if value is None:
        if required:
            raise KalshiFormatError(f"{where} has no {key}")
        return None
    if not isinstance(value, str):
        raise KalshiFormatError(f"{where} {key} is {value!r}, expected a fixed-point string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise KalshiFormatError(f"{where} {key} is {value!r}, not a number") from None
    if not number.is_finite() or number < 0 or (maximum is not None and number > maximum):
        bound = f" between 0 and {maximum}" if maximum is not None else " >= 0"
        raise KalshiFormatError(f"{where} {key} is {value!r}, expected a value{bound}")
    return number


def _dollars(payload: Mapping[str, Any], key: str, where: str, required: bool = True) -> Decimal | None:
    return _fixed(payload, key, where, required=required, maximum=ONE)


def _count(payload: Mapping[str, Any], key: str, where: str, required: bool = True) -> Decimal | None:
    return _fixed(payload, key, where, required=required)


def _bid(price: Decimal | None) -> Decimal | None:
    return None if price is None or price == ZERO else price


def _ask(price: Decimal | None) -> Decimal | None:
    return None if price is None or price == ONE else price


def _time(value: Any, where: str) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime (None when absent or empty)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise KalshiFormatError(f"{where} has time {value!r}, expected an RFC 3339 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise KalshiFormatError(f"{where} has time {value!r}, expected an RFC 3339 string") from None
    if moment.tzinfo is None:
        raise KalshiFormatError(f"{where} has time {value!r} without a UTC offset")
    return moment.astimezone(UTC)


def _unix(value: Any, where: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise KalshiFormatError(f"{where} has timestamp {value!r}, expected Unix seconds")
    return datetime.fromtimestamp(value, UTC)


def _strike(value: Any) -> Decimal | None:
    # floor_strike is a JSON number; going through str keeps 7.5 exact instead of a binary float.
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise KalshiFormatError(f"{what} is {type(value).__name__}, expected an object")
    return value


def _text(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) and value else None


def eastern_date(moment: datetime) -> date:
    """The US-Eastern calendar date of an aware datetime: the date Kalshi writes in NFL tickers."""
    return moment.astimezone(EASTERN).date()


# --- pages ----------------------------------------------------------------------------------------


def page_items(body: Any, key: str) -> list[Mapping[str, Any]]:
    """The objects under `key` of a list response (`{"markets": [...], "cursor": ...}`)."""
    body = _object(body, "response")
    if key not in body:
        raise KalshiFormatError(f"response has no {key!r} list (keys: {', '.join(sorted(body)) or 'none'})")
    items = body[key]
    if items is None:
        return []
    if not isinstance(items, list):
        raise KalshiFormatError(f"response {key!r} is {type(items).__name__}, expected a list")
    return [_object(item, f"an item of {key!r}") for item in items]


def next_cursor(body: Mapping[str, Any]) -> str | None:
    """The cursor of the next page, or None on the last page (Kalshi sends "" there)."""
    cursor = body.get("cursor")
    return cursor if isinstance(cursor, str) and cursor else None


# --- markets --------------------------------------------------------------------------------------


def _check_price_fields(payload: Mapping[str, Any], where: str) -> None:
    missing = [key for key in _MARKET_PRICE_FIELDS if payload.get(key) is None]
    if not missing:
        return
    legacy = [key for key in _LEGACY_CENT_FIELDS if key in payload]
    found = f" but has the removed cent fields {', '.join(legacy)}" if legacy else ""
    raise KalshiFormatError(f"{where} has no {', '.join(missing)}{found}; its price cannot be read")


def parse_quote(payload: Mapping[str, Any], where: str) -> MarketQuote:
    """The prices and sizes of a market payload; raises KalshiFormatError on cent-era or odd payloads."""
    _check_price_fields(payload, where)
    return MarketQuote(
        yes_bid=_bid(_dollars(payload, "yes_bid_dollars", where)),
        yes_ask=_ask(_dollars(payload, "yes_ask_dollars", where)),
        no_bid=_bid(_dollars(payload, "no_bid_dollars", where)),
        no_ask=_ask(_dollars(payload, "no_ask_dollars", where)),
        last_price=_bid(_dollars(payload, "last_price_dollars", where)),
        volume=_count(payload, "volume_fp", where),
        open_interest=_count(payload, "open_interest_fp", where),
        yes_bid_size=_count(payload, "yes_bid_size_fp", where, required=False),
        yes_ask_size=_count(payload, "yes_ask_size_fp", where, required=False),
        volume_24h=_count(payload, "volume_24h_fp", where, required=False),
        previous_yes_bid=_bid(_dollars(payload, "previous_yes_bid_dollars", where, required=False)),
        previous_yes_ask=_ask(_dollars(payload, "previous_yes_ask_dollars", where, required=False)),
        previous_price=_bid(_dollars(payload, "previous_price_dollars", where, required=False)),
    )


def parse_market(payload: Any, series_ticker: str | None = None) -> ParsedMarket:
    """One Market object. `series_ticker` is used when known (events carry it; markets do not)."""
    payload = _object(payload, "market")
    ticker = _text(payload, "ticker")
    event_ticker = _text(payload, "event_ticker")
    if ticker is None or event_ticker is None:
        raise KalshiFormatError("a market has no ticker or event_ticker")
    where = f"market {ticker}"
    quote = parse_quote(payload, where)
    status = _text(payload, "status")
    if status is None:
        raise KalshiFormatError(f"{where} has no status")
    nfl = parse_nfl_ticker(ticker, event_ticker)
    event = nfl.event if nfl is not None else None
    market = KalshiMarket(
        ticker=ticker,
        event_ticker=event_ticker,
        series_ticker=series_ticker or event_ticker.split("-", 1)[0],
        title=_text(payload, "title") or _text(payload, "yes_sub_title"),
        status=status,
        close_time=_time(payload.get("close_time"), where),
        market_kind=event.kind if event else None,
        segment=event.segment if event else None,
        away_team=event.away_team if event else None,
        home_team=event.home_team if event else None,
        game_date=event.game_date.isoformat() if event else None,
        team=nfl.team if nfl else None,
        line=_strike(payload.get("floor_strike")) if event and event.kind != "game" else None,
    )
    return ParsedMarket(market, quote)


def parse_market_response(body: Any) -> ParsedMarket:
    """`GET /markets/{ticker}` -> `{"market": {...}}`."""
    return parse_market(_object(body, "response").get("market"))


# --- events, series, exchange ---------------------------------------------------------------------


def parse_event(payload: Any, markets: Sequence[Any] = ()) -> KalshiEvent:
    """An EventData object; its nested `markets` win over `markets` (the deprecated top-level list)."""
    payload = _object(payload, "event")
    event_ticker = _text(payload, "event_ticker")
    if event_ticker is None:
        raise KalshiFormatError("an event has no event_ticker")
    series_ticker = _text(payload, "series_ticker") or event_ticker.split("-", 1)[0]
    nested = payload.get("markets")
    raw_markets = nested if isinstance(nested, list) else markets
    return KalshiEvent(
        event_ticker=event_ticker,
        series_ticker=series_ticker,
        title=_text(payload, "title"),
        sub_title=_text(payload, "sub_title"),
        markets=tuple(parse_market(item, series_ticker) for item in raw_markets),
    )


def parse_event_response(body: Any) -> KalshiEvent:
    """`GET /events/{event_ticker}` -> `{"event": {...}, "markets": [...]}`."""
    body = _object(body, "response")
    return parse_event(body.get("event"), body.get("markets") or ())


def parse_series(payload: Any) -> Series:
    payload = _object(payload, "series")
    ticker = _text(payload, "ticker")
    if ticker is None:
        raise KalshiFormatError("a series has no ticker")
    tags = payload.get("tags") or ()
    return Series(
        ticker=ticker,
        title=_text(payload, "title"),
        category=_text(payload, "category"),
        frequency=_text(payload, "frequency"),
        tags=tuple(str(tag) for tag in tags),
    )


def parse_series_response(body: Any) -> Series:
    """`GET /series/{series_ticker}` -> `{"series": {...}}`."""
    return parse_series(_object(body, "response").get("series"))


def parse_exchange_status(body: Any) -> ExchangeStatus:
    """`GET /exchange/status` (also the body of its 5xx answers during maintenance)."""
    body = _object(body, "exchange status")
    active, trading = body.get("exchange_active"), body.get("trading_active")
    if not isinstance(active, bool) or not isinstance(trading, bool):
        raise KalshiFormatError("exchange status has no boolean exchange_active/trading_active")
    return ExchangeStatus(active, trading, _time(body.get("exchange_estimated_resume_time"), "exchange status"))


# --- orderbook, trades, candles -------------------------------------------------------------------


def _levels(levels: Any, where: str) -> tuple[PriceLevel, ...]:
    if levels is None:
        return ()
    if not isinstance(levels, list):
        raise KalshiFormatError(f"{where} is {type(levels).__name__}, expected a list of levels")
    parsed = []
    for level in levels:
        if not isinstance(level, list) or len(level) != 2:
            raise KalshiFormatError(f"{where} has level {level!r}, expected [price_dollars, count_fp]")
        pair = {"price": level[0], "size": level[1]}
        parsed.append(PriceLevel(_dollars(pair, "price", where), _count(pair, "size", where)))
    # The guides and recordings say ascending with the best bid last, the spec prose says best to
    # worst: sorting makes "best is last" true whichever one the server follows.
    return tuple(sorted(parsed, key=lambda item: item.price))


def parse_orderbook(body: Any, ticker: str) -> Orderbook:
    """`GET /markets/{ticker}/orderbook` -> `{"orderbook_fp": {"yes_dollars": [...], "no_dollars": [...]}}`."""
    body = _object(body, "orderbook response")
    book = body.get("orderbook_fp")
    if not isinstance(book, Mapping) or "yes_dollars" not in book or "no_dollars" not in book:
        found = ", ".join(sorted(body)) or "none"
        raise KalshiFormatError(f"orderbook of {ticker} has no orderbook_fp yes_dollars/no_dollars (keys: {found})")
    where = f"orderbook of {ticker}"
    return Orderbook(
        ticker, _levels(book["yes_dollars"], f"{where} yes_dollars"), _levels(book["no_dollars"], f"{where} no_dollars")
    )


def parse_trade(payload: Any) -> Trade:
    payload = _object(payload, "trade")
    trade_id = _text(payload, "trade_id")
    ticker = _text(payload, "ticker")
    if trade_id is None or ticker is None:
        raise KalshiFormatError("a trade has no trade_id or ticker")
    where = f"trade {trade_id}"
    return Trade(
        trade_id=trade_id,
        ticker=ticker,
        count=_count(payload, "count_fp", where),
        yes_price=_dollars(payload, "yes_price_dollars", where),
        no_price=_dollars(payload, "no_price_dollars", where),
        # taker_side is the deprecated spelling of taker_outcome_side.
        taker_outcome_side=_text(payload, "taker_outcome_side") or _text(payload, "taker_side"),
        taker_book_side=_text(payload, "taker_book_side"),
        created_time=_time(payload.get("created_time"), where),
        is_block_trade=payload.get("is_block_trade") is True,
    )


def _ohlc(payload: Any, suffix: str, where: str) -> OHLC:
    payload = _object(payload, where)
    values = (_dollars(payload, name + suffix, where, required=False) for name in ("open", "high", "low", "close"))
    return OHLC(*values)


def parse_candle(payload: Any) -> Candle:
    """A live (`*_dollars`, `volume_fp`) or historical (`open`, `volume`) candlestick."""
    payload = _object(payload, "candlestick")
    end = _unix(payload.get("end_period_ts"), "candlestick")
    where = f"candlestick ending {end.isoformat()}"
    if "volume_fp" in payload:
        suffix, volume_key, interest_key = "_dollars", "volume_fp", "open_interest_fp"
    elif "volume" in payload:
        suffix, volume_key, interest_key = "", "volume", "open_interest"
    else:
        raise KalshiFormatError(f"{where} has neither volume_fp (live) nor volume (historical)")
    price = _object(payload.get("price"), f"{where} price")
    return Candle(
        end=end,
        yes_bid=_ohlc(payload.get("yes_bid"), suffix, f"{where} yes_bid"),
        yes_ask=_ohlc(payload.get("yes_ask"), suffix, f"{where} yes_ask"),
        price=_ohlc(price, suffix, f"{where} price"),
        mean_price=_dollars(price, "mean" + suffix, where, required=False),
        previous_price=_dollars(price, "previous" + suffix, where, required=False),
        volume=_count(payload, volume_key, where),
        open_interest=_count(payload, interest_key, where),
    )


def parse_candlesticks(body: Any) -> list[Candle]:
    """`{"ticker": ..., "candlesticks": [...]}` from the live or the historical endpoint."""
    return [parse_candle(item) for item in page_items(body, "candlesticks")]


# --- NFL ticker grammar ---------------------------------------------------------------------------


def _team(code: str) -> str | None:
    team = teams.resolve(code) if code in teams.kalshi_codes() else None
    return None if team is None else team.abbr


def parse_event_ticker(event_ticker: str) -> NFLEvent | None:
    """`KXNFLGAME-26OCT12BUFLAR` -> BUF at LAR on 2026-10-12; None when not an NFL game event."""
    series, _, rest = event_ticker.partition("-")
    series_match = _NFL_SERIES.fullmatch(series)
    event_match = _EVENT_PART.fullmatch(rest)
    if series_match is None or event_match is None:
        return None
    segment, kind = series_match.group("segment"), series_match.group("kind")
    if segment is None and kind is None:
        return None
    month = _MONTHS.get(event_match.group("mon"))
    if month is None:
        return None
    try:
        game_date = date(2000 + int(event_match.group("yy")), month, int(event_match.group("dd")))
    except ValueError:
        return None
    # Codes are 2-3 letters with no separator: keep the split whose two halves are both teams.
    pair = event_match.group("teams")
    splits = [
        (away, home)
        for away, home in ((pair[:cut], pair[cut:]) for cut in (2, 3))
        if _team(away) is not None and _team(home) is not None
    ]
    if len(splits) != 1:
        return None
    away, home = splits[0]
    return NFLEvent(
        event_ticker=event_ticker,
        series_ticker=series,
        kind=(kind or "GAME").lower(),
        segment=segment,
        game_date=game_date,
        away_team=_team(away),
        home_team=_team(home),
    )


@functools.lru_cache(maxsize=4096)  # the same tickers come back on every poll
def parse_nfl_ticker(ticker: str, event_ticker: str | None = None) -> NFLTicker | None:
    """`KXNFLSPREAD-26OCT08TBDAL-TB8` -> TB, strike 8 of TB at DAL; None when not an NFL game market."""
    event_ticker = event_ticker or ticker.rpartition("-")[0]
    if not ticker.startswith(event_ticker + "-"):
        return None
    event = parse_event_ticker(event_ticker)
    if event is None:
        return None
    suffix = ticker[len(event_ticker) + 1 :]
    playing = (event.away_team, event.home_team)
    if event.kind == "game":
        if suffix == TIE_SUFFIX and event.segment is not None:
            return NFLTicker(ticker, event, team=None, strike=None)
        team = _team(suffix)
        return NFLTicker(ticker, event, team=team, strike=None) if team in playing else None
    if event.kind == "spread":
        match = _SPREAD_SUFFIX.fullmatch(suffix)
        team = _team(match.group("code")) if match else None
        return NFLTicker(ticker, event, team=team, strike=int(match.group("strike"))) if team in playing else None
    if _TOTAL_SUFFIX.fullmatch(suffix):
        return NFLTicker(ticker, event, team=None, strike=int(suffix))
    return None


# --- market -> game -------------------------------------------------------------------------------


def map_markets_to_games(
    markets: Iterable[KalshiMarket], games: Iterable[Game]
) -> tuple[list[KalshiMarket], list[UnmappedMarket]]:
    """Attach ESPN game ids to NFL markets by team pair and Eastern-time game date.

    A market maps to the one game between its two teams whose Eastern date is the ticker date or
    up to POSTPONEMENT_DAYS later; home/away may be swapped (neutral sites). Markets that are not
    NFL game markets, or have no such game, come back in the second list with the reason.
    """
    by_pair: dict[frozenset[str], list[tuple[date, Game]]] = {}
    for game in games:
        if game.start_time is not None:
            by_pair.setdefault(frozenset((game.home_team, game.away_team)), []).append(
                (eastern_date(game.start_time), game)
            )
    mapped: list[KalshiMarket] = []
    unmapped: list[UnmappedMarket] = []
    for market in markets:
        if market.market_kind is None or market.game_date is None:
            unmapped.append(UnmappedMarket(market, "not an NFL game market (ticker not understood)"))
            continue
        ticker_date = date.fromisoformat(market.game_date)
        window = [
            game
            for played, game in by_pair.get(frozenset((market.away_team, market.home_team)), ())
            if timedelta(0) <= played - ticker_date <= timedelta(days=POSTPONEMENT_DAYS)
        ]
        if len(window) == 1:
            mapped.append(replace(market, game_id=window[0].game_id))
        else:
            found = "no ESPN game" if not window else f"{len(window)} ESPN games"
            unmapped.append(
                UnmappedMarket(market, f"{found} for {market.away_team} at {market.home_team} on {market.game_date}")
            )
    return mapped, unmapped
