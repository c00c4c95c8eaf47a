"""Kalshi Trade API v2 payloads as typed records (kalshi/records.py). Pure functions over decoded
JSON: no I/O, no clock (callers pass the snapshot time). Field names follow the API as it is since
2026-03-12, when Kalshi removed every integer-cent field: prices are `*_dollars` fixed-point strings
("0.5600") and sizes `*_fp` strings ("650.34"), read as `Decimal`. A market without them is schema
drift and raises `KalshiFormatError` instead of yielding a zero price, so the daemon can raise a
system alert rather than store garbage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, overload

from nfl_sync.domain.errors import KalshiFormatError
from nfl_sync.domain.models import KalshiMarket
from nfl_sync.sources.kalshi.records import (
    OHLC,
    ONE,
    Candle,
    ExchangeStatus,
    KalshiEvent,
    MarketQuote,
    Orderbook,
    ParsedMarket,
    PriceLevel,
    Series,
    Trade,
)
from nfl_sync.sources.kalshi.tickers import parse_nfl_ticker

ZERO = Decimal(0)

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


# A required price or size is never None: these overloads say so to the type checker.
@overload
def _dollars(payload: Mapping[str, Any], key: str, where: str) -> Decimal: ...
@overload
def _dollars(payload: Mapping[str, Any], key: str, where: str, required: bool) -> Decimal | None: ...
def _dollars(payload: Mapping[str, Any], key: str, where: str, required: bool = True) -> Decimal | None:
    return _fixed(payload, key, where, required=required, maximum=ONE)


@overload
def _count(payload: Mapping[str, Any], key: str, where: str) -> Decimal: ...
@overload
def _count(payload: Mapping[str, Any], key: str, where: str, required: bool) -> Decimal | None: ...
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
        subtitle=_text(payload, "yes_sub_title") or _text(payload, "subtitle"),
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
