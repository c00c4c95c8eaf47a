"""Kalshi Trade API v2 over HTTP: market data, NFL discovery and price snapshots for the daemon.

Public market data needs no credentials. With `KALSHI_API_KEY_ID` and `KALSHI_PRIVATE_KEY_PATH`
set, every request is signed (RSA-PSS/SHA-256 over `timestamp_ms + METHOD + path`), which also
covers the orderbook endpoint whose spec asks for auth while Kalshi's guides call it public.
Kalshi's email/password login no longer exists; those settings only produce one warning.

Transport concerns (token bucket, retries of 429 and 5xx with jittered backoff via tenacity,
clear `SourceError`s) live in `sources.http.HttpSource`; payload shapes in `kalshi.parser`, the NFL
ticker grammar in `kalshi.tickers` and the signing in `kalshi.signing`.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from nfl_sync.clock import Clock
from nfl_sync.config import Settings
from nfl_sync.domain.backoff import RetryPolicy
from nfl_sync.domain.errors import SourceError
from nfl_sync.domain.models import Game, KalshiMarket, MarketSnapshot
from nfl_sync.sources.http import HttpSource, RequestObserver
from nfl_sync.sources.kalshi import parser
from nfl_sync.sources.kalshi.records import (
    Candle,
    ExchangeStatus,
    KalshiEvent,
    Orderbook,
    ParsedMarket,
    Series,
    Trade,
    UnmappedMarket,
)
from nfl_sync.sources.kalshi.signing import KalshiSigner, load_private_key
from nfl_sync.sources.kalshi.statuses import filter_status
from nfl_sync.sources.kalshi.tickers import map_markets_to_games
from nfl_sync.sources.limits import TokenBucket, TTLCache
from nfl_sync.sources.recorder import ResponseRecorder

log = logging.getLogger(__name__)

SOURCE = "kalshi"
SLATE_STATUS = "open"
MARKETS_PAGE_LIMIT = 1000  # the API maximum: one page holds a whole NFL series slate
EVENTS_PAGE_LIMIT = 200
TRADES_PAGE_LIMIT = 1000
CANDLE_PERIODS = (1, 60, 1440)  # minutes, the only intervals the API accepts
EMPTY_SERIES_STREAK = 3  # empty answers in a row before a series is polled less often
EMPTY_SERIES_RECHECK = 60.0  # seconds between polls of such a series

LEGACY_CREDENTIALS_WARNING = (
    "KALSHI_EMAIL/KALSHI_PASSWORD are set, but Kalshi no longer supports email/password login "
    "(/login was removed); they are ignored. Market data needs no credentials. To sign requests, "
    "create an API key (kalshi.com > Account & security > API Keys) and set KALSHI_API_KEY_ID and "
    "KALSHI_PRIVATE_KEY_PATH instead, then remove KALSHI_EMAIL and KALSHI_PASSWORD."
)


@dataclass(frozen=True)
class NFLSlate:
    """One polling cycle of NFL markets.

    `markets` are the identities to upsert into nfl_kalshi_markets and `snapshots` the rows for
    nfl_kalshi_prices, in the same order; `game_id` is filled on both when the market maps to one
    of the games passed in. `unmapped` lists every market of this cycle that did not (reason
    included); each is also logged once per client.
    """

    markets: tuple[KalshiMarket, ...]
    snapshots: tuple[MarketSnapshot, ...]
    unmapped: tuple[UnmappedMarket, ...] = ()


class KalshiClient:
    """Kalshi market data for the pipeline; one instance is shared by all threads.

    Construction loads the signing key when one is configured (a bad key path is a ConfigError at
    start-up, not a failure on the first poll) and warns once about legacy email/password settings.
    """

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        observer: RequestObserver | None = None,
        *,
        session: requests.Session | None = None,
        rng: Callable[[], float] = random.random,
        recorder: ResponseRecorder | None = None,
    ):
        self.settings = settings
        self.clock = clock
        session = session or requests.Session()
        self.signer: KalshiSigner | None = None
        if settings.kalshi_signing:
            key_id, key_path = settings.kalshi_api_key_id, settings.kalshi_private_key_path
            assert key_id is not None and key_path is not None  # what kalshi_signing checks
            self.signer = KalshiSigner(key_id, load_private_key(key_path), clock)
            session.auth = self.signer
            log.info("Kalshi requests are signed with API key %s", key_id)
        if settings.kalshi_legacy_credentials:
            log.warning(LEGACY_CREDENTIALS_WARNING)
        rate = settings.kalshi_reads_per_second
        self.http = HttpSource(
            SOURCE,
            settings.kalshi_base_url,
            clock=clock,
            timeout=settings.http_timeout,
            retry=RetryPolicy(max_tries=settings.http_max_tries, deadline=settings.http_deadline),
            # One second of burst: well inside Kalshi's Basic tier (20 reads/s, 2 s bucket).
            limiter=TokenBucket(rate, max(1.0, rate), clock),
            session=session,
            rng=rng,
            observer=observer,
            recorder=recorder,
        )
        self._details: TTLCache[ParsedMarket] = TTLCache(settings.cache_ttl, clock)
        self._reported: set[str] = set()
        self._reported_lock = threading.Lock()
        self._empty_series: dict[str, tuple[int, float]] = {}  # series -> (empty answers in a row, asked at)
        # The games (id, teams, kickoff) the ticker -> game id mapping below was made for.
        self._schedule: tuple[tuple[str, str, str, datetime | None], ...] = ()
        self._mapping: dict[str, str | None] = {}
        self._unmapped: dict[str, UnmappedMarket] = {}
        self._market_copies: dict[str, tuple[KalshiMarket, KalshiMarket]] = {}

    def close(self) -> None:
        self.http.close()

    # --- plumbing ---------------------------------------------------------------------------------

    def _paginate(
        self, path: str, key: str, params: Mapping[str, Any], max_pages: int | None = None
    ) -> Iterator[Mapping[str, Any]]:
        """Items of every page of a cursor-paginated list, until the cursor comes back empty."""
        seen: set[str] = set()
        cursor: str | None = None
        pages = 0
        while True:
            query = {**params, "cursor": cursor} if cursor else dict(params)
            body = self.http.get_json(path, query)
            yield from parser.page_items(body, key)
            pages += 1
            cursor = parser.next_cursor(body)
            if cursor is None or (max_pages is not None and pages >= max_pages):
                return
            # A server that hands back a cursor it already gave would otherwise loop forever.
            if cursor in seen:
                raise SourceError(SOURCE, urlsplit(self.http.url(path)).path, "pagination cursor repeated")
            seen.add(cursor)

    @staticmethod
    def _query(**params: Any) -> dict[str, Any]:
        return {name: value for name, value in params.items() if value is not None and value != ""}

    # --- markets ----------------------------------------------------------------------------------

    def get_markets(
        self,
        *,
        series_ticker: str | None = None,
        event_ticker: str | None = None,
        status: str | None = None,
        tickers: Sequence[str] = (),
        limit: int = MARKETS_PAGE_LIMIT,
    ) -> list[ParsedMarket]:
        """`GET /markets` with its filters, all pages. `status` may be given in either vocabulary."""
        params = self._query(
            series_ticker=series_ticker,
            event_ticker=event_ticker,
            status=filter_status(status) if status else None,
            tickers=",".join(tickers),
            limit=limit,
        )
        return [parser.parse_market(item, series_ticker) for item in self._paginate("markets", "markets", params)]

    def get_market(self, ticker: str) -> ParsedMarket:
        """`GET /markets/{ticker}`, uncached."""
        return parser.parse_market_response(self.http.get_json(f"markets/{quote(ticker, safe='')}"))

    def get_market_details(self, ticker: str) -> ParsedMarket:
        """One market, cached for CACHE_TTL seconds (60 by default) since details rarely change."""
        return self._details.get_or_load(ticker, lambda: self.get_market(ticker))

    def get_orderbook(self, ticker: str, depth: int = 0) -> Orderbook:
        """`GET /markets/{ticker}/orderbook`; `depth` 0 means every level."""
        body = self.http.get_json(f"markets/{quote(ticker, safe='')}/orderbook", self._query(depth=depth or None))
        return parser.parse_orderbook(body, ticker)

    def get_trades(
        self,
        *,
        ticker: str | None = None,
        min_ts: datetime | None = None,
        max_ts: datetime | None = None,
        max_pages: int | None = None,
    ) -> list[Trade]:
        """`GET /markets/trades`, newest first. Filter by ticker or time: the unfiltered feed is endless."""
        params = self._query(ticker=ticker, min_ts=_unix(min_ts), max_ts=_unix(max_ts), limit=TRADES_PAGE_LIMIT)
        return [parser.parse_trade(item) for item in self._paginate("markets/trades", "trades", params, max_pages)]

    def get_candlesticks(
        self, series_ticker: str, ticker: str, start: datetime, end: datetime, period_minutes: int = 60
    ) -> list[Candle]:
        """`GET /series/{s}/markets/{t}/candlesticks` (markets inside the live window)."""
        path = f"series/{quote(series_ticker, safe='')}/markets/{quote(ticker, safe='')}/candlesticks"
        return parser.parse_candlesticks(self.http.get_json(path, _candle_query(start, end, period_minutes)))

    def get_historical_candlesticks(
        self, ticker: str, start: datetime, end: datetime, period_minutes: int = 60
    ) -> list[Candle]:
        """`GET /historical/markets/{t}/candlesticks` (markets settled before the historical cutoff)."""
        path = f"historical/markets/{quote(ticker, safe='')}/candlesticks"
        return parser.parse_candlesticks(self.http.get_json(path, _candle_query(start, end, period_minutes)))

    # --- events, series, exchange -----------------------------------------------------------------

    def get_events(
        self, *, series_ticker: str | None = None, status: str | None = None, with_nested_markets: bool = True
    ) -> list[KalshiEvent]:
        """`GET /events`, all pages; `status` matches an event when any of its markets matches."""
        params = self._query(
            series_ticker=series_ticker,
            status=filter_status(status) if status else None,
            with_nested_markets=str(with_nested_markets).lower(),
            limit=EVENTS_PAGE_LIMIT,
        )
        return [parser.parse_event(item) for item in self._paginate("events", "events", params)]

    def get_event(self, event_ticker: str, with_nested_markets: bool = True) -> KalshiEvent:
        """`GET /events/{event_ticker}` with its markets."""
        body = self.http.get_json(
            f"events/{quote(event_ticker, safe='')}", {"with_nested_markets": str(with_nested_markets).lower()}
        )
        return parser.parse_event_response(body)

    def get_series(self, series_ticker: str) -> Series:
        """`GET /series/{series_ticker}`."""
        return parser.parse_series_response(self.http.get_json(f"series/{quote(series_ticker, safe='')}"))

    def get_exchange_status(self) -> ExchangeStatus:
        """`GET /exchange/status`. During maintenance Kalshi answers 5xx with the same body; read it."""
        try:
            body = self.http.get_json("exchange/status")
        except SourceError as error:
            if (
                error.status is None
                or error.status < 500
                or not isinstance(error.body, dict)
                or "exchange_active" not in error.body
            ):
                raise
            body = error.body
        return parser.parse_exchange_status(body)

    # --- NFL --------------------------------------------------------------------------------------

    def fetch_nfl_markets(self) -> list[tuple[ParsedMarket, datetime]]:
        """The open NFL markets, each with the moment it was read: one
        `GET /markets?series_ticker=&status=open` per configured series. A series that came back
        empty EMPTY_SERIES_STREAK times in a row (totals not listed yet, off-season) is asked
        again only every EMPTY_SERIES_RECHECK seconds, not every cycle.
        Raises SourceError when Kalshi cannot answer, KalshiFormatError when its format changed.
        """
        fetched: list[tuple[ParsedMarket, datetime]] = []
        now_mono = self.clock.monotonic()
        for series in self.settings.kalshi_series:
            streak, asked = self._empty_series.get(series, (0, 0.0))
            if streak >= EMPTY_SERIES_STREAK and now_mono - asked < EMPTY_SERIES_RECHECK:
                continue
            page = self.get_markets(series_ticker=series, status=SLATE_STATUS)
            now = self.clock.now()
            self._empty_series[series] = (0 if page else streak + 1, now_mono)
            fetched.extend((item, now) for item in page)
        return fetched

    def map_to_games(self, fetched: Sequence[tuple[ParsedMarket, datetime]], games: Sequence[Game]) -> NFLSlate:
        """The slate of `fetched` markets with their ESPN game ids from `games`; markets that do
        not map are returned in `unmapped` and logged once. Without games nothing is mapped or
        reported."""
        game_ids = self._game_ids([item.market for item, _ in fetched], games) if games else {}
        copies, self._market_copies = self._market_copies, {}
        return NFLSlate(
            markets=tuple(self._mapped(item.market, game_ids.get(item.market.ticker), copies) for item, _ in fetched),
            snapshots=tuple(item.snapshot(ts, game_ids.get(item.market.ticker)) for item, ts in fetched),
            unmapped=tuple(
                self._unmapped[item.market.ticker] for item, _ in fetched if item.market.ticker in self._unmapped
            ),
        )

    def _game_ids(self, markets: Sequence[KalshiMarket], games: Sequence[Game]) -> dict[str, str]:
        """ticker -> ESPN game id of the mappable `markets`. A market's teams and date come from its
        ticker, so a ticker maps the same way until the schedule changes: only new tickers are
        mapped, and the unmapped ones are reported once."""
        schedule = tuple((g.game_id, g.home_team, g.away_team, g.start_time) for g in games)
        if schedule != self._schedule:
            self._schedule, self._mapping, self._unmapped = schedule, {}, {}
        new = [market for market in markets if market.ticker not in self._mapping]
        if new:
            mapped, unmapped = map_markets_to_games(new, games)
            self._mapping.update({market.ticker: None for market in new})
            self._mapping.update({market.ticker: market.game_id for market in mapped})
            self._unmapped.update({item.market.ticker: item for item in unmapped})
            self._report_unmapped(unmapped)
        return {ticker: game_id for ticker, game_id in self._mapping.items() if game_id is not None}

    def _mapped(
        self, market: KalshiMarket, game_id: str | None, copies: Mapping[str, tuple[KalshiMarket, KalshiMarket]]
    ) -> KalshiMarket:
        """`market` with its game id: the copy made last cycle (`copies`) while the market is
        unchanged. Only this cycle's markets are kept for the next one."""
        if game_id is None:
            return market
        previous = copies.get(market.ticker)
        if previous is not None and previous[0] == market and previous[1].game_id == game_id:
            mapped = previous[1]
        else:
            mapped = replace(market, game_id=game_id)
        self._market_copies[market.ticker] = (market, mapped)
        return mapped

    def _report_unmapped(self, unmapped: Sequence[UnmappedMarket]) -> None:
        with self._reported_lock:
            new = [item for item in unmapped if item.market.ticker not in self._reported]
            self._reported.update(item.market.ticker for item in new)
        for item in new:
            log.warning("Kalshi market %s is not mapped to an ESPN game: %s", item.market.ticker, item.reason)


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _candle_query(start: datetime, end: datetime, period_minutes: int) -> dict[str, int | None]:
    if period_minutes not in CANDLE_PERIODS:
        raise ValueError(f"period_minutes must be one of {CANDLE_PERIODS}, got {period_minutes}")
    return {"start_ts": _unix(start), "end_ts": _unix(end), "period_interval": period_minutes}
