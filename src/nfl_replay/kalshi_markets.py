"""Kalshi game-winner markets for replayed games: their listing, prices and documents.

Each game gets a KXNFLGAME event with its two markets. When Kalshi's history of both markets was
downloaded (`price_history`), they quote Kalshi's real prices of the moment. Otherwise they are
SYNTHETIC: priced from ESPN's recorded win probability as it stood `lag` earlier (markets react
to plays, not ahead of them), plus small seeded noise and a 1-2 cent spread; a `bias` moves the
home team's synthetic price away from that probability while the game is on (a market that
disagrees with ESPN, for edge tests), the away team's the other way. The documents have
the real schema (copied from recorded `GET /markets/{ticker}` responses) so the daemon's Kalshi
client and parser run unchanged; `rules_secondary` says where the prices come from. Everything
here is pure: a seed, the history and an instant give the same prices.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from nfl_replay.price_history import MarketHistory, Quote
from nfl_replay.recording import RecordedGame
from nfl_sync.domain import teams

SERIES = "KXNFLGAME"
SIDES = ("away", "home")

# Times of an NFL game market relative to kickoff, as seen in recorded markets.
LISTED_BEFORE_KICKOFF = timedelta(days=14)
EXPECTED_EXPIRATION_AFTER_KICKOFF = timedelta(hours=3)
CLOSE_AFTER_KICKOFF = timedelta(hours=48)
# Quotes (noise, spread, sizes) change every QUOTE_SECONDS of replayed time during the game, like
# a live book; before kickoff, when a real book sits nearly still, every PRE_GAME_QUOTE_SECONDS (a
# season's backtest has two weeks of upcoming games listed: quotes that moved every poll made most
# of its database writes).
QUOTE_SECONDS = 5
PRE_GAME_QUOTE_SECONDS = 900
BOOK_LEVELS = 5
# Synthetic trading activity, in contracts.
PRE_GAME_VOLUME_PER_HOUR = Decimal(40)
IN_GAME_VOLUME_PER_MINUTE = Decimal(250)
OPEN_INTEREST_SHARE = Decimal("0.6")
DAY = timedelta(days=1)
# The history has no depth: each side of a recorded book shows one level of this size.
RECORDED_LEVEL_SIZE = 1

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_CENT = Decimal("0.01")
_SYNTHETIC_NOTE = (
    "SYNTHETIC replay market: prices are derived from ESPN's recorded win probability "
    "(lagged, with noise), not from Kalshi trading.\n\n"
)
_RECORDED_NOTE = "Replay of Kalshi's recorded prices (trades and 1-minute candlesticks).\n\n"


def _cents(price: Decimal) -> int:
    # Kalshi's NFL game markets tick in whole cents (their `price_ranges` step is 0.01).
    return int((price * 100).to_integral_value(ROUND_HALF_UP))


def _dollars(cents: int) -> str:
    return f"{Decimal(cents) / 100:.4f}"


def _contracts(count: Decimal) -> str:
    return f"{count.quantize(_CENT):.2f}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _team(espn_team: Any) -> teams.Team:
    team = teams.by_espn_id(espn_team["id"]) or teams.resolve(espn_team.get("abbreviation"))
    if team is None:
        raise ValueError(f"unknown team {espn_team.get('abbreviation')} (ESPN id {espn_team['id']})")
    return team


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
class Listing:
    """One replayed game on the exchange: its event ticker and the two teams' table rows."""

    game: RecordedGame
    event_ticker: str
    away: teams.Team
    home: teams.Team

    @classmethod
    def of(cls, game: RecordedGame) -> Listing:
        """The game's event, KXNFLGAME-{YY}{MON}{DD}{AWAY}{HOME}: Eastern kickoff date, then
        Kalshi's team codes."""
        day = game.eastern_date
        away, home = _team(game.away_team), _team(game.home_team)
        ticker = f"{SERIES}-{day:%y}{_MONTHS[day.month - 1]}{day:%d}{away.kalshi_code}{home.kalshi_code}"
        return cls(game, ticker, away, home)

    def team(self, side: str) -> teams.Team:
        return self.home if side == "home" else self.away

    def ticker(self, side: str) -> str:
        return f"{self.event_ticker}-{self.team(side).kalshi_code}"


class SyntheticMarkets:
    """The two markets of each listed game at any instant: quotes, volume, status, settlement;
    recorded where `history` has both markets of the game, synthetic elsewhere.

    The documents are built for the instant asked; a market's unchanging fields are kept once
    built, and so are the most recent books (a poll prices both markets of an event, and the
    previous day's quote too).
    """

    def __init__(
        self,
        listings: Sequence[Listing],
        lag: timedelta,
        noise: Decimal,
        seed: int,
        history: Mapping[str, MarketHistory] | None = None,
        bias: Decimal = Decimal(0),
    ):
        self.lag = lag
        self.noise = noise
        self.seed = seed
        self.bias = bias  # dollars added to the home team's probability before the game is over
        self.by_ticker = {listing.ticker(side): (listing, side) for listing in listings for side in SIDES}
        known = history or {}
        # Both markets or neither: one real and one synthetic would quote an impossible pair.
        recorded = [listing for listing in listings if all(listing.ticker(side) in known for side in SIDES)]
        self.history = {listing.ticker(side): known[listing.ticker(side)] for listing in recorded for side in SIDES}
        self.recorded_games = frozenset(listing.game.game_id for listing in recorded)
        self._templates: dict[str, dict[str, Any]] = {}  # ticker -> its market's unchanging fields
        self._recent_books: dict[tuple[str, datetime], TopOfBook] = {}

    # -- prices -------------------------------------------------------------------------------

    def book(self, ticker: str, at: datetime) -> TopOfBook:
        """The YES book of market `ticker` at `at`."""
        recorded = self.history.get(ticker)
        if recorded is not None:
            quote = recorded.quote(at)
            bid, ask = _cents(quote.yes_bid), _cents(quote.yes_ask)
            return TopOfBook(bid, ask, _cents(quote.last_price), RECORDED_LEVEL_SIZE, RECORDED_LEVEL_SIZE)
        listing, side = self.by_ticker[ticker]
        # Both markets of an event are priced from one book: computed once for the pair.
        key = (listing.event_ticker, at)
        home = self._recent_books.get(key)
        if home is None:
            if len(self._recent_books) >= 4 * len(self.by_ticker):
                self._recent_books.clear()
            home = self._recent_books[key] = self._home_book(listing, at)
        return home if side == "home" else home.other_side()

    def _home_book(self, listing: Listing, at: datetime) -> TopOfBook:
        game = listing.game
        tick = _quote_tick(game, at)
        rng = random.Random(f"{self.seed}:{listing.event_ticker}:{tick}")
        jitter = self.noise * Decimal(str(round(rng.uniform(-1, 1), 4)))
        if game.state_at(at) == "post":
            # The winner is known: the book sits at the final probability, without noise.
            probability = game.win_probability_at(at)
        else:
            probability = game.win_probability_at(at - self.lag) + jitter + self.bias
        probability = min(Decimal("0.99"), max(Decimal("0.01"), probability))
        mid = int((probability * 100).to_integral_value(ROUND_HALF_UP))
        spread = rng.choice((1, 2))
        bid = mid - spread // 2
        # Keep the whole book inside the 1-99 cent range a binary market can trade.
        bid = min(max(bid, 1), 99 - spread)
        ask = bid + spread
        return TopOfBook(bid, ask, min(max(mid, bid), ask), rng.randint(100, 20000), rng.randint(100, 20000))

    def orderbook(self, ticker: str, at: datetime, depth: int) -> dict[str, list[list[str]]]:
        """Market `ticker`'s `orderbook_fp` at `at`, the best `depth` levels of each side (all if
        `depth` is 0); empty once the game is over."""
        listing, _ = self.by_ticker[ticker]
        if listing.game.state_at(at) == "post":
            return {"yes_dollars": [], "no_dollars": []}
        book = self.book(ticker, at)
        if ticker in self.history:
            # A bid of 0 or an ask of 1 dollar is a side with no order.
            yes = [[_dollars(book.bid), _contracts(Decimal(book.bid_size))]] if book.bid > 0 else []
            no = [[_dollars(100 - book.ask), _contracts(Decimal(book.ask_size))]] if book.ask < 100 else []
            return {"yes_dollars": yes, "no_dollars": no}
        rng = random.Random(f"{self.seed}:{ticker}:{_quote_tick(listing.game, at)}:depth")
        yes = _levels(book.bid, book.bid_size, rng)
        no = _levels(100 - book.ask, book.ask_size, rng)
        if depth > 0:
            yes, no = yes[-depth:], no[-depth:]
        return {"yes_dollars": yes, "no_dollars": no}

    # -- documents ----------------------------------------------------------------------------

    @staticmethod
    def status(listing: Listing, at: datetime) -> str:
        """The game's markets' status at `at`: listed LISTED_BEFORE_KICKOFF before kickoff (a
        backtest of a season does not see every later game's markets open at once), trading
        until the game is over, then settled."""
        game = listing.game
        if at < game.kickoff - LISTED_BEFORE_KICKOFF:
            return "initialized"
        return "finalized" if game.state_at(at) == "post" else "active"

    def market(self, listing: Listing, side: str, at: datetime) -> dict[str, Any]:
        """The market document at `at`: its template (built once) with the quote, volume and
        status of the moment filled in."""
        ticker = listing.ticker(side)
        recorded = self.history.get(ticker)
        template = self._templates.get(ticker)
        if template is None:
            template = self._templates[ticker] = _market_template(listing, side, recorded is not None)
        game = listing.game
        book = self.book(ticker, at)
        previous = self.book(ticker, at - DAY)
        if recorded is None:
            volume, day_before = _volume(game, at), _volume(game, at - DAY)
            interest = volume * OPEN_INTEREST_SHARE
        else:
            quote: Quote = recorded.quote(at)
            volume, day_before, interest = quote.volume, recorded.quote(at - DAY).volume, quote.open_interest
        status = self.status(listing, at)
        market = dict(template)
        market.update(
            {
                "last_price_dollars": _dollars(book.last),
                "no_ask_dollars": _dollars(100 - book.bid),
                "no_bid_dollars": _dollars(100 - book.ask),
                "open_interest_fp": _contracts(interest),
                "previous_price_dollars": _dollars(previous.last),
                "previous_yes_ask_dollars": _dollars(previous.ask),
                "previous_yes_bid_dollars": _dollars(previous.bid),
                "status": status,
                "volume_24h_fp": _contracts(volume - day_before),
                "volume_fp": _contracts(volume),
                "yes_ask_dollars": _dollars(book.ask),
                "yes_ask_size_fp": _contracts(Decimal(book.ask_size)),
                "yes_bid_dollars": _dollars(book.bid),
                "yes_bid_size_fp": _contracts(Decimal(book.bid_size)),
            }
        )
        if status == "finalized":
            home_points, away_points = game.final_score
            mine, theirs = (home_points, away_points) if side == "home" else (away_points, home_points)
            if mine == theirs:
                market["settlement_value_dollars"] = "0.5000"
            else:
                market["result"] = "yes" if mine > theirs else "no"
                market["settlement_value_dollars"] = "1.0000" if mine > theirs else "0.0000"
            market["settlement_ts"] = _iso(game.end)
        return market

    def event(self, listing: Listing, at: datetime, nested: bool) -> dict[str, Any]:
        """The event document at `at`, with its two markets when `nested`."""
        game = listing.game
        day = game.eastern_date
        event: dict[str, Any] = {
            "available_on_brokers": True,
            "category": "Sports",
            "collateral_return_type": "",
            "event_ticker": listing.event_ticker,
            "exchange_index": 0,
            "last_updated_ts": _iso(game.kickoff - LISTED_BEFORE_KICKOFF),
            "mutually_exclusive": True,
            "series_ticker": SERIES,
            "settlement_sources": [],
            "strike_date": _iso(game.kickoff + EXPECTED_EXPIRATION_AFTER_KICKOFF),
            "strike_period": "",
            "sub_title": f"{listing.away.kalshi_code} vs {listing.home.kalshi_code} "
            f"({_MONTHS[day.month - 1].title()} {day.day})",
            "title": f"{listing.away.kalshi_name} vs {listing.home.kalshi_name}",
        }
        if nested:
            event["markets"] = [self.market(listing, side, at) for side in SIDES]
        return event


def _quote_tick(game: RecordedGame, at: datetime) -> str:
    """The quote period `at` falls in: QUOTE_SECONDS long from kickoff on, PRE_GAME_QUOTE_SECONDS before."""
    seconds = QUOTE_SECONDS if at >= game.kickoff else PRE_GAME_QUOTE_SECONDS
    return f"{seconds}:{int(at.timestamp() // seconds)}"


def _volume(game: RecordedGame, at: datetime) -> Decimal:
    """Contracts traded by `at`: a trickle while listed before the game (in steps, as its quotes
    change), a stream during it."""
    if at < game.kickoff:
        at = datetime.fromtimestamp(at.timestamp() // PRE_GAME_QUOTE_SECONDS * PRE_GAME_QUOTE_SECONDS, UTC)
    listed = game.kickoff - LISTED_BEFORE_KICKOFF
    pre_hours = max(0.0, (min(at, game.kickoff) - listed).total_seconds() / 3600)
    live_minutes = max(0.0, (min(at, game.end) - game.kickoff).total_seconds() / 60)
    return (
        Decimal(str(pre_hours)) * PRE_GAME_VOLUME_PER_HOUR + Decimal(str(live_minutes)) * IN_GAME_VOLUME_PER_MINUTE
    ).quantize(_CENT)


def _market_template(listing: Listing, side: str, recorded: bool) -> dict[str, Any]:
    """A market's fields that never change; the quote, volume and status fields are left empty
    here, so that `SyntheticMarkets.market` fills them in Kalshi's key order. `rules_secondary`
    says whether the prices are `recorded` ones or synthetic."""
    game = listing.game
    team = listing.team(side)
    kickoff = game.kickoff
    listed = kickoff - LISTED_BEFORE_KICKOFF
    close = kickoff + CLOSE_AFTER_KICKOFF
    occurrence = kickoff + EXPECTED_EXPIRATION_AFTER_KICKOFF
    day = game.eastern_date
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
            f"{_RECORDED_NOTE if recorded else _SYNTHETIC_NOTE}"
            f"The following market refers to the team who wins the {matchup} "
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


def _levels(best: int, best_size: int, rng: random.Random) -> list[list[str]]:
    """Bid levels from the best price down, listed ascending with the best last, as Kalshi does."""
    prices = range(best, max(0, best - BOOK_LEVELS), -1)
    sizes = [best_size] + [rng.randint(100, 20000) for _ in prices[1:]]
    return [
        [_dollars(price), _contracts(Decimal(size))] for price, size in reversed(list(zip(prices, sizes, strict=False)))
    ]
