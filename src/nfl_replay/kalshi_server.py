"""A fake Kalshi market-data API serving game-winner markets for the replayed games.

Point the daemon's Kalshi base URL at `FakeKalshiServer.base_url`; it answers Kalshi's public
market-data routes (`/markets`, `/markets/{ticker}`, its order book, `/events`, the exchange
status) with their query filters, limits, cursor pagination and error bodies. The markets and
their prices are `kalshi_markets.SyntheticMarkets`: Kalshi's recorded ones for the games whose
downloaded history it is given, synthetic for the others, which the server names in a warning
when it starts.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Self, TypeVar

from nfl_replay.faults import FaultPlan
from nfl_replay.http import FakeHTTPServer, Request, Response, json_response
from nfl_replay.kalshi_markets import SERIES, SIDES, Listing, SyntheticMarkets
from nfl_replay.price_history import MarketHistory
from nfl_replay.recording import RecordedGame
from nfl_sync.clock import Clock

log = logging.getLogger(__name__)

KALSHI_PREFIX = "/trade-api/v2"

MARKETS_LIMIT = (100, 1000)  # (default, maximum) of GET /markets
EVENTS_LIMIT = (200, 200)  # (default, maximum) of GET /events
# The query vocabulary of `status` and the response statuses each one selects.
QUERY_STATUSES = {
    "unopened": frozenset({"initialized"}),
    "open": frozenset({"active"}),
    "paused": frozenset({"inactive"}),
    "closed": frozenset({"closed"}),
    "settled": frozenset({"determined", "finalized"}),
}

T = TypeVar("T")


def _error(status: int, code: str, message: str) -> Response:
    return json_response({"error": {"code": code, "message": message, "details": ""}}, status)


def _encode_cursor(ticker: str) -> str:
    # Real cursors are opaque base64 of a protobuf; this one is a protobuf string field (tag 2)
    # holding the last ticker of the page, which is where the next page resumes.
    raw = ticker.encode("utf-8")
    return base64.b64encode(b"\x12" + bytes([len(raw)]) + raw).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("invalid cursor") from None
    if len(raw) < 2 or raw[0] != 0x12 or raw[1] != len(raw) - 2:
        raise ValueError("invalid cursor")
    return raw[2:].decode("utf-8", errors="strict")


def _page(
    items: Sequence[T], key: Callable[[T], str], order: dict[str, int], limit: int, cursor: str | None
) -> tuple[list[T], str]:
    """One page of `items` after the cursor's position in `order`, and the next page's cursor.

    The position is the global order, not the filtered list, so a page boundary stays valid even
    if an item stops matching the filter (a market settling) between two pages.
    """
    start = order[_decode_cursor(cursor)] if cursor else -1
    remaining = [item for item in items if order[key(item)] > start]
    page = remaining[:limit]
    more = len(remaining) > limit
    return page, _encode_cursor(key(page[-1])) if more else ""


class FakeKalshiServer(FakeHTTPServer):
    """Kalshi's public market-data endpoints for synthetic markets on the replayed games."""

    def __init__(
        self,
        timelines: Iterable[RecordedGame],
        clock: Clock,
        lag_seconds: float = 30,
        noise: Decimal = Decimal("0.01"),
        seed: int = 0,
        faults: FaultPlan | None = None,
        bias_cents: int = 0,
        history: Mapping[str, MarketHistory] | None = None,
    ):
        super().__init__("kalshi", KALSHI_PREFIX, faults)
        self.clock = clock
        self.listings: list[Listing] = []
        seen: set[str] = set()
        for timeline in sorted(timelines, key=lambda game: (game.kickoff, game.game_id)):
            listing = Listing.of(timeline)
            if listing.event_ticker in seen:
                # Kalshi has one event per matchup and date; a second copy has no ticker of its own.
                log.warning(
                    "game %s would repeat Kalshi event %s; it gets no market", timeline.game_id, listing.event_ticker
                )
                continue
            seen.add(listing.event_ticker)
            self.listings.append(listing)
        self.markets = SyntheticMarkets(
            self.listings,
            timedelta(seconds=lag_seconds),
            Decimal(noise),
            seed,
            history,
            Decimal(bias_cents) / 100,
        )
        self._event_order = {listing.event_ticker: index for index, listing in enumerate(self.listings)}
        self._market_order = {
            listing.ticker(side): 2 * index + offset
            for index, listing in enumerate(self.listings)
            for offset, side in enumerate(SIDES)
        }
        self.route("GET", "/markets", self._markets)
        self.route("GET", "/markets/{ticker}", self._market_by_ticker)
        self.route("GET", "/markets/{ticker}/orderbook", self._orderbook)
        self.route("GET", "/events", self._events)
        self.route("GET", "/exchange/status", self._exchange_status)

    def start(self) -> Self:
        super().start()
        recorded = self.markets.recorded_games
        synthetic = [listing.game.game_id for listing in self.listings if listing.game.game_id not in recorded]
        if recorded:
            log.info(
                "fake Kalshi server at %s: Kalshi's recorded prices for game(s) %s",
                self.base_url,
                ", ".join(sorted(recorded)),
            )
        if synthetic:
            log.warning(
                "fake Kalshi server at %s: market prices of game(s) %s are SYNTHETIC, derived from ESPN win "
                "probability %s s earlier plus noise of up to %s; they are not Kalshi data",
                self.base_url,
                ", ".join(synthetic),
                self.markets.lag.total_seconds(),
                self.markets.noise,
            )
        return self

    def not_found(self, request: Request) -> Response:
        return _error(404, "not_found", "not found")

    def _markets(self, request: Request) -> Response:
        try:
            limit = _limit(request, *MARKETS_LIMIT)
            statuses = _statuses(request)
        except ValueError as error:
            return _error(400, "bad_request", str(error))
        now = self.clock.now()
        series, event = request.arg("series_ticker"), request.arg("event_ticker")
        wanted = {t.strip() for t in (request.arg("tickers") or "").split(",") if t.strip()}
        # The status is judged before a document is built: a season lists hundreds of games.
        markets = [
            self.markets.market(listing, side, now)
            for listing in self.listings
            if (not series or series == SERIES)
            and (not event or event == listing.event_ticker)
            and (statuses is None or self.markets.status(listing, now) in statuses)
            for side in SIDES
            if not wanted or listing.ticker(side) in wanted
        ]
        try:
            page, cursor = _page(markets, lambda m: m["ticker"], self._market_order, limit, request.arg("cursor"))
        except (KeyError, ValueError):
            return _error(400, "bad_request", "invalid cursor")
        return json_response({"cursor": cursor, "markets": page})

    def _market_by_ticker(self, request: Request) -> Response:
        found = self.markets.by_ticker.get(request.params["ticker"])
        if found is None:
            return _error(404, "not_found", "market not found")
        listing, side = found
        return json_response({"market": self.markets.market(listing, side, self.clock.now())})

    def _orderbook(self, request: Request) -> Response:
        ticker = request.params["ticker"]
        if ticker not in self.markets.by_ticker:
            return _error(404, "not_found", "market not found")
        try:
            depth = int(request.arg("depth") or 0)
        except ValueError:
            return _error(400, "bad_request", "depth must be an integer")
        return json_response({"orderbook_fp": self.markets.orderbook(ticker, self.clock.now(), depth)})

    def _events(self, request: Request) -> Response:
        try:
            limit = _limit(request, *EVENTS_LIMIT)
            statuses = _statuses(request)
        except ValueError as error:
            return _error(400, "bad_request", str(error))
        now = self.clock.now()
        series = request.arg("series_ticker")
        nested = (request.arg("with_nested_markets") or "").lower() == "true"
        listings = [listing for listing in self.listings if not series or series == SERIES]
        if statuses is not None:
            # An event matches when any of its markets does.
            listings = [listing for listing in listings if self.markets.status(listing, now) in statuses]
        try:
            page, cursor = _page(
                listings, lambda listing: listing.event_ticker, self._event_order, limit, request.arg("cursor")
            )
        except (KeyError, ValueError):
            return _error(400, "bad_request", "invalid cursor")
        return json_response(
            {
                "cursor": cursor,
                "events": [self.markets.event(listing, now, nested) for listing in page],
                "milestones": [],
            }
        )

    def _exchange_status(self, request: Request) -> Response:
        return json_response(
            {
                "exchange_active": True,
                "exchange_estimated_resume_time": None,
                "intra_exchange_transfers_active": True,
                "trading_active": True,
            }
        )


def _limit(request: Request, default: int, maximum: int) -> int:
    text = request.arg("limit")
    if text is None:
        return default
    try:
        limit = int(text)
    except ValueError:
        raise ValueError(f"limit must be an integer, got {text!r}") from None
    if not 1 <= limit <= maximum:
        raise ValueError(f"limit must be between 1 and {maximum}")
    return limit


def _statuses(request: Request) -> frozenset[str] | None:
    """The response statuses the `status` query selects, or None for any."""
    text = request.arg("status")
    if not text:
        return None
    if text not in QUERY_STATUSES:
        raise ValueError(f"status must be one of {', '.join(QUERY_STATUSES)}")
    return QUERY_STATUSES[text]
