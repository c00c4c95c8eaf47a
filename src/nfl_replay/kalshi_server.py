"""A fake Kalshi market-data API with SYNTHETIC game-winner markets for the replayed games.

Kalshi's prices for past games are not recorded anywhere we can replay, so each game gets a
KXNFLGAME event whose two markets are priced from ESPN's recorded win probability as it stood
`lag_seconds` earlier (markets react to plays, not ahead of them), plus small seeded noise and a
1-2 cent spread. The documents have the real schema (copied from recorded `GET /markets/{ticker}`
responses) so the daemon's Kalshi client and parser run unchanged; `rules_secondary` says the
market is synthetic, and the server logs a warning when it starts.
"""

from __future__ import annotations

import base64
import binascii
import logging
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Self, TypeVar

from nfl_replay.faults import FaultPlan
from nfl_replay.http import FakeHTTPServer, Request, Response, json_response
from nfl_replay.timeline import GameTimeline
from nfl_sync.clock import Clock
from nfl_sync.domain import teams

log = logging.getLogger(__name__)

KALSHI_PREFIX = "/trade-api/v2"
SERIES = "KXNFLGAME"

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

# Times of an NFL game market relative to kickoff, as seen in recorded markets.
LISTED_BEFORE_KICKOFF = timedelta(days=14)
EXPECTED_EXPIRATION_AFTER_KICKOFF = timedelta(hours=3)
CLOSE_AFTER_KICKOFF = timedelta(hours=48)
# Quotes (noise, spread, sizes) change every QUOTE_SECONDS of replayed time, like a live book.
QUOTE_SECONDS = 5
BOOK_LEVELS = 5
# Synthetic trading activity, in contracts.
PRE_GAME_VOLUME_PER_HOUR = Decimal(40)
IN_GAME_VOLUME_PER_MINUTE = Decimal(250)
OPEN_INTEREST_SHARE = Decimal("0.6")
DAY = timedelta(days=1)

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_CENT = Decimal("0.01")
_SYNTHETIC_NOTE = (
    "SYNTHETIC replay market: prices are derived from ESPN's recorded win probability "
    "(lagged, with noise), not from Kalshi trading.\n\n"
)

T = TypeVar("T")


def _dollars(cents: int) -> str:
    return f"{Decimal(cents) / 100:.4f}"


def _contracts(count: Decimal) -> str:
    return f"{count.quantize(_CENT):.2f}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


@dataclass(frozen=True)
class TopOfBook:
    """Top of one market's YES book, in cents and contracts."""

    bid: int
    ask: int
    last: int
    bid_size: int
    ask_size: int

    def other_side(self) -> TopOfBook:
        """The complementary market's book: buying YES on one team is selling it on the other."""
        return TopOfBook(100 - self.ask, 100 - self.bid, 100 - self.last, self.ask_size, self.bid_size)


@dataclass(frozen=True)
class _Listing:
    """One replayed game on the exchange: its event ticker and the two teams' table rows."""

    timeline: GameTimeline
    event_ticker: str
    away: teams.Team
    home: teams.Team

    def team(self, side: str) -> teams.Team:
        return self.home if side == "home" else self.away

    def ticker(self, side: str) -> str:
        return f"{self.event_ticker}-{self.team(side).kalshi_code}"


def event_ticker(timeline: GameTimeline) -> str:
    """KXNFLGAME-{YY}{MON}{DD}{AWAY}{HOME}: Eastern kickoff date, then Kalshi's team codes."""
    day = timeline.eastern_date
    away, home = _team(timeline.away_team), _team(timeline.home_team)
    return f"{SERIES}-{day:%y}{_MONTHS[day.month - 1]}{day:%d}{away.kalshi_code}{home.kalshi_code}"


def _team(espn_team: Any) -> teams.Team:
    team = teams.by_espn_id(espn_team["id"]) or teams.resolve(espn_team.get("abbreviation"))
    if team is None:
        raise ValueError(f"unknown team {espn_team.get('abbreviation')} (ESPN id {espn_team['id']})")
    return team


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
        timelines: Iterable[GameTimeline],
        clock: Clock,
        lag_seconds: float = 30,
        noise: Decimal = Decimal("0.01"),
        seed: int = 0,
        faults: FaultPlan | None = None,
    ):
        super().__init__("kalshi", KALSHI_PREFIX, faults)
        self.clock = clock
        self.lag = timedelta(seconds=lag_seconds)
        self.noise = Decimal(noise)
        self.seed = seed
        self.listings: list[_Listing] = []
        seen: set[str] = set()
        for timeline in sorted(timelines, key=lambda game: (game.kickoff, game.game_id)):
            ticker = event_ticker(timeline)
            if ticker in seen:
                # Kalshi has one event per matchup and date; a second copy has no ticker of its own.
                log.warning("game %s would repeat Kalshi event %s; it gets no market", timeline.game_id, ticker)
                continue
            seen.add(ticker)
            self.listings.append(_Listing(timeline, ticker, _team(timeline.away_team), _team(timeline.home_team)))
        self._event_order = {listing.event_ticker: index for index, listing in enumerate(self.listings)}
        self._market_order = {
            listing.ticker(side): 2 * index + offset
            for index, listing in enumerate(self.listings)
            for offset, side in enumerate(("away", "home"))
        }
        self._by_ticker = {
            listing.ticker(side): (listing, side) for listing in self.listings for side in ("away", "home")
        }
        self._templates: dict[str, dict[str, Any]] = {}  # ticker -> its market's unchanging fields
        self._recent_books: dict[tuple[str, datetime], TopOfBook] = {}
        self.route("GET", "/markets", self._markets)
        self.route("GET", "/markets/{ticker}", self._market_by_ticker)
        self.route("GET", "/markets/{ticker}/orderbook", self._orderbook)
        self.route("GET", "/events", self._events)
        self.route("GET", "/exchange/status", self._exchange_status)

    def start(self) -> Self:
        super().start()
        log.warning(
            "fake Kalshi server at %s: market prices are SYNTHETIC, derived from ESPN win probability "
            "%s s earlier plus noise of up to %s; they are not Kalshi data",
            self.base_url,
            self.lag.total_seconds(),
            self.noise,
        )
        return self

    def not_found(self, request: Request) -> Response:
        return _error(404, "not_found", "not found")

    # -- prices -------------------------------------------------------------------------------

    def book(self, ticker: str, at: datetime) -> TopOfBook:
        """The YES book of market `ticker` at `at`."""
        listing, side = self._by_ticker[ticker]
        # Both markets of an event are priced from one book: computed once for the pair.
        key = (listing.event_ticker, at)
        home = self._recent_books.get(key)
        if home is None:
            if len(self._recent_books) >= 4 * len(self._by_ticker):
                self._recent_books.clear()
            home = self._recent_books[key] = self._home_book(listing, at)
        return home if side == "home" else home.other_side()

    def _home_book(self, listing: _Listing, at: datetime) -> TopOfBook:
        timeline = listing.timeline
        tick = int(at.timestamp() // QUOTE_SECONDS)
        rng = random.Random(f"{self.seed}:{listing.event_ticker}:{tick}")
        jitter = self.noise * Decimal(str(round(rng.uniform(-1, 1), 4)))
        if timeline.state_at(at) == "post":
            # The winner is known: the book sits at the final probability, without noise.
            probability = timeline.win_probability_at(at)
        else:
            probability = timeline.win_probability_at(at - self.lag) + jitter
        probability = min(Decimal("0.99"), max(Decimal("0.01"), probability))
        mid = int((probability * 100).to_integral_value(ROUND_HALF_UP))
        spread = rng.choice((1, 2))
        bid = mid - spread // 2
        # Keep the whole book inside the 1-99 cent range a binary market can trade.
        bid = min(max(bid, 1), 99 - spread)
        ask = bid + spread
        return TopOfBook(bid, ask, min(max(mid, bid), ask), rng.randint(100, 20000), rng.randint(100, 20000))

    def _volume(self, timeline: GameTimeline, at: datetime) -> Decimal:
        """Contracts traded by `at`: a trickle while listed before the game, a stream during it."""
        listed = timeline.kickoff - LISTED_BEFORE_KICKOFF
        pre_hours = max(0.0, (min(at, timeline.kickoff) - listed).total_seconds() / 3600)
        live_minutes = max(0.0, (min(at, timeline.end) - timeline.kickoff).total_seconds() / 60)
        return (
            Decimal(str(pre_hours)) * PRE_GAME_VOLUME_PER_HOUR + Decimal(str(live_minutes)) * IN_GAME_VOLUME_PER_MINUTE
        ).quantize(_CENT)

    # -- documents ----------------------------------------------------------------------------

    def _market(self, listing: _Listing, side: str, at: datetime) -> dict[str, Any]:
        """The market document at `at`: its template (built once) with the quote, volume and
        status of the moment filled in."""
        ticker = listing.ticker(side)
        template = self._templates.get(ticker)
        if template is None:
            template = self._templates[ticker] = self._market_template(listing, side)
        timeline = listing.timeline
        book = self.book(ticker, at)
        previous = self.book(ticker, at - DAY)
        volume = self._volume(timeline, at)
        settled = timeline.state_at(at) == "post"
        market = dict(template)
        market.update(
            {
                "last_price_dollars": _dollars(book.last),
                "no_ask_dollars": _dollars(100 - book.bid),
                "no_bid_dollars": _dollars(100 - book.ask),
                "open_interest_fp": _contracts(volume * OPEN_INTEREST_SHARE),
                "previous_price_dollars": _dollars(previous.last),
                "previous_yes_ask_dollars": _dollars(previous.ask),
                "previous_yes_bid_dollars": _dollars(previous.bid),
                "status": "finalized" if settled else "active",
                "volume_24h_fp": _contracts(volume - self._volume(timeline, at - DAY)),
                "volume_fp": _contracts(volume),
                "yes_ask_dollars": _dollars(book.ask),
                "yes_ask_size_fp": _contracts(Decimal(book.ask_size)),
                "yes_bid_dollars": _dollars(book.bid),
                "yes_bid_size_fp": _contracts(Decimal(book.bid_size)),
            }
        )
        if settled:
            home_points, away_points = timeline.final_score
            mine, theirs = (home_points, away_points) if side == "home" else (away_points, home_points)
            if mine == theirs:
                market["settlement_value_dollars"] = "0.5000"
            else:
                market["result"] = "yes" if mine > theirs else "no"
                market["settlement_value_dollars"] = "1.0000" if mine > theirs else "0.0000"
            market["settlement_ts"] = _iso(timeline.end)
        return market

    def _market_template(self, listing: _Listing, side: str) -> dict[str, Any]:
        """A market's fields that never change; the quote, volume and status fields are left
        empty here, so that `_market` fills them in Kalshi's key order."""
        timeline = listing.timeline
        team = listing.team(side)
        kickoff = timeline.kickoff
        listed = kickoff - LISTED_BEFORE_KICKOFF
        close = kickoff + CLOSE_AFTER_KICKOFF
        occurrence = kickoff + EXPECTED_EXPIRATION_AFTER_KICKOFF
        day = timeline.eastern_date
        scheduled = f"{_MONTHS[day.month - 1].title()} {day.day}, {day.year}"
        matchup = (
            f"{listing.away.kalshi_code} {listing.away.nickname} vs {listing.home.kalshi_code} {listing.home.nickname}"
        )
        market: dict[str, Any] = {
            "can_close_early": True,
            "close_time": _iso(close),
            "created_time": _iso(listed),
            "custom_strike": {"football_team": str(uuid.uuid5(uuid.NAMESPACE_URL, f"replay:team:{team.kalshi_code}"))},
            "early_close_condition": "This market will close and expire after a winner is declared.",
            "event_ticker": listing.event_ticker,
            "exchange_index": 0,
            "expected_expiration_time": _iso(occurrence),
            "expiration_time": _iso(close),
            "expiration_value": "",
            "last_price_dollars": "",
            "latest_expiration_time": _iso(close),
            "market_type": "binary",
            "no_ask_dollars": "",
            "no_bid_dollars": "",
            "no_sub_title": team.kalshi_name,
            "notional_value_dollars": "1.0000",
            "occurrence_datetime": _iso(occurrence),
            "open_interest_fp": "",
            "open_time": _iso(listed + timedelta(minutes=5)),
            "previous_price_dollars": "",
            "previous_yes_ask_dollars": "",
            "previous_yes_bid_dollars": "",
            "price_level_structure": "linear_cent",
            "price_ranges": [{"end": "1.0000", "start": "0.0000", "step": "0.0100"}],
            "result": "",
            "rules_primary": (
                f"If {team.kalshi_name} wins the {matchup} Pro Football game originally "
                f"scheduled for {scheduled}, then the market resolves to Yes."
            ),
            "rules_secondary": (
                f"{_SYNTHETIC_NOTE}The following market refers to the team who wins the {matchup} "
                f"Pro Football game originally scheduled for {scheduled}. If the game ends in a "
                f"tie, the market will resolve to $0.50 for each team."
            ),
            "settlement_bounds_type": "default",
            "settlement_timer_seconds": 60,
            "status": "",
            "strike_type": "structured",
            "ticker": listing.ticker(side),
            "title": f"{team.kalshi_name} wins",
            "updated_time": _iso(listed + timedelta(minutes=5)),
            "volume_24h_fp": "",
            "volume_fp": "",
            "yes_ask_dollars": "",
            "yes_ask_size_fp": "",
            "yes_bid_dollars": "",
            "yes_bid_size_fp": "",
            "yes_sub_title": team.kalshi_name,
        }
        return market

    def _event(self, listing: _Listing, at: datetime, nested: bool) -> dict[str, Any]:
        timeline = listing.timeline
        day = timeline.eastern_date
        event: dict[str, Any] = {
            "available_on_brokers": True,
            "category": "Sports",
            "collateral_return_type": "",
            "event_ticker": listing.event_ticker,
            "exchange_index": 0,
            "last_updated_ts": _iso(timeline.kickoff - LISTED_BEFORE_KICKOFF),
            "mutually_exclusive": True,
            "series_ticker": SERIES,
            "settlement_sources": [],
            "strike_date": _iso(timeline.kickoff + EXPECTED_EXPIRATION_AFTER_KICKOFF),
            "strike_period": "",
            "sub_title": f"{listing.away.kalshi_code} vs {listing.home.kalshi_code} "
            f"({_MONTHS[day.month - 1].title()} {day.day})",
            "title": f"{listing.away.kalshi_name} vs {listing.home.kalshi_name}",
        }
        if nested:
            event["markets"] = [self._market(listing, side, at) for side in ("away", "home")]
        return event

    # -- endpoints ----------------------------------------------------------------------------

    def _markets(self, request: Request) -> Response:
        try:
            limit = _limit(request, *MARKETS_LIMIT)
            statuses = _statuses(request)
        except ValueError as error:
            return _error(400, "bad_request", str(error))
        now = self.clock.now()
        series, event = request.arg("series_ticker"), request.arg("event_ticker")
        wanted = {t.strip() for t in (request.arg("tickers") or "").split(",") if t.strip()}
        markets = [
            self._market(listing, side, now)
            for listing in self.listings
            for side in ("away", "home")
            if (not series or series == SERIES)
            and (not event or event == listing.event_ticker)
            and (not wanted or listing.ticker(side) in wanted)
        ]
        if statuses is not None:
            markets = [market for market in markets if market["status"] in statuses]
        try:
            page, cursor = _page(markets, lambda m: m["ticker"], self._market_order, limit, request.arg("cursor"))
        except (KeyError, ValueError):
            return _error(400, "bad_request", "invalid cursor")
        return json_response({"cursor": cursor, "markets": page})

    def _market_by_ticker(self, request: Request) -> Response:
        found = self._by_ticker.get(request.params["ticker"])
        if found is None:
            return _error(404, "not_found", "market not found")
        listing, side = found
        return json_response({"market": self._market(listing, side, self.clock.now())})

    def _orderbook(self, request: Request) -> Response:
        ticker = request.params["ticker"]
        found = self._by_ticker.get(ticker)
        if found is None:
            return _error(404, "not_found", "market not found")
        try:
            depth = int(request.arg("depth") or 0)
        except ValueError:
            return _error(400, "bad_request", "depth must be an integer")
        listing, _ = found
        now = self.clock.now()
        if listing.timeline.state_at(now) == "post":
            return json_response({"orderbook_fp": {"yes_dollars": [], "no_dollars": []}})
        book = self.book(ticker, now)
        rng = random.Random(f"{self.seed}:{ticker}:{int(now.timestamp() // QUOTE_SECONDS)}:depth")
        yes = _levels(book.bid, book.bid_size, rng)
        no = _levels(100 - book.ask, book.ask_size, rng)
        if depth > 0:
            yes, no = yes[-depth:], no[-depth:]
        return json_response({"orderbook_fp": {"yes_dollars": yes, "no_dollars": no}})

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
            listings = [
                listing
                for listing in listings
                if any(self._market(listing, side, now)["status"] in statuses for side in ("away", "home"))
            ]
        try:
            page, cursor = _page(
                listings, lambda listing: listing.event_ticker, self._event_order, limit, request.arg("cursor")
            )
        except (KeyError, ValueError):
            return _error(400, "bad_request", "invalid cursor")
        return json_response(
            {"cursor": cursor, "events": [self._event(listing, now, nested) for listing in page], "milestones": []}
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


def _levels(best: int, best_size: int, rng: random.Random) -> list[list[str]]:
    """Bid levels from the best price down, listed ascending with the best last, as Kalshi does."""
    prices = range(best, max(0, best - BOOK_LEVELS), -1)
    sizes = [best_size] + [rng.randint(100, 20000) for _ in prices[1:]]
    return [
        [_dollars(price), _contracts(Decimal(size))] for price, size in reversed(list(zip(prices, sizes, strict=False)))
    ]


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
