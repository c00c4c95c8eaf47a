"""The Kalshi lane's edge watch: each live game-winner market against ESPN's win probability.

Every poll the lane hands over its mapped slate; the watch picks the live games' game-winner
markets and reads their order books: every poll for those whose side is cheap against ESPN this
poll (the candidates: an alert shows its depth), once every BOOK_INTERVAL for the others (the
book's top levels are stored with that snapshot, a history of the market's depth). The books are
read at the same time (Kalshi's rate limiter spacing them), for the Kalshi lane, never the
scoreboard's; the poll waits for them at most BOOK_WAIT seconds, and a market whose last read has
not come back is not asked again (a Kalshi that hangs costs the books, never the prices). Then the
pure detector (`domain.edge.detect_edge`) runs on each market. What the detector remembers moves
only once the lane's transaction committed (`commit`), so an alert a failed write lost is
detected again by the next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, wait
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from nfl_sync.domain.edge import EdgeConfig, EdgeQuote, EdgeSide, detect_edge, is_candidate, is_game_winner
from nfl_sync.domain.errors import KalshiFormatError, SourceError
from nfl_sync.domain.events import Event
from nfl_sync.domain.models import BookLevels, Game
from nfl_sync.engine.board import GameBoard
from nfl_sync.engine.lanes import FetchThreads
from nfl_sync.engine.shell import Shell
from nfl_sync.sources.kalshi.client import NFLSlate
from nfl_sync.sources.kalshi.records import Orderbook

log = logging.getLogger(__name__)

BOOK_DEPTH = 3  # levels of each side read and stored
BOOK_INTERVAL = timedelta(minutes=1)  # between two stored books of a market that is not a candidate
BOOK_WAIT = 3.0  # seconds a poll waits for its books


class EdgeWatch:
    """What the edge detector knows of each game-winner market (one side of its game)."""

    def __init__(self, shell: Shell, board: GameBoard):
        self.shell = shell
        self.board = board
        self.sides: dict[str, EdgeSide] = {}
        self.config = EdgeConfig(
            Decimal(str(shell.settings.edge_alert_points)), timedelta(seconds=shell.settings.edge_alert_cooldown)
        )
        self.book_read_at: dict[str, datetime] = {}  # ticker -> the snapshot time of its last stored book
        self._readers = FetchThreads()  # daemon threads: a read Kalshi never answers holds no exit
        self._reading: dict[str, Future[Orderbook]] = {}

    def quotes(self, slate: NFLSlate, games: Mapping[str, Game]) -> list[EdgeQuote]:
        """The poll's game-winner markets of live games, each with its snapshot."""
        found = []
        for market, snap in zip(slate.markets, slate.snapshots, strict=True):
            game = games.get(market.game_id or "")
            if game is not None and game.is_live and is_game_winner(market):
                found.append(EdgeQuote(game, market, snap))
        return found

    def _wants_book(self, quote: EdgeQuote, now: datetime) -> bool:
        """A candidate's book every poll; any other live game-winner market's once a BOOK_INTERVAL."""
        if is_candidate(quote, self.board.probability(quote.game.game_id), now, self.config):
            return True
        last = self.book_read_at.get(quote.market.ticker)
        return last is None or quote.snapshot.ts - last >= BOOK_INTERVAL

    def read_books(self, quotes: Sequence[EdgeQuote], now: datetime) -> dict[str, BookLevels]:
        """ticker -> the top of its book, for the markets that want one this poll (`_wants_book`).
        A book Kalshi does not give, or not within BOOK_WAIT, costs only its depth (in the alert,
        in the history), never the poll's prices."""
        wanted = {q.market.ticker: q for q in quotes if self._wants_book(q, now)}
        for ticker in wanted.keys() - self._reading.keys():
            self._reading[ticker] = self._readers.submit(self.shell.kalshi.get_orderbook, ticker, depth=BOOK_DEPTH)
        pending = [self._reading[ticker] for ticker in wanted]
        wait(pending, timeout=BOOK_WAIT)
        books = {}
        for ticker, quote in wanted.items():
            future = self._reading[ticker]
            if not future.done():
                log.warning("Order book of %s not read within %.0f s", ticker, BOOK_WAIT)
                continue
            del self._reading[ticker]
            try:
                book = future.result()
            except (SourceError, KalshiFormatError) as error:
                log.warning("Order book of %s not read: %s", ticker, error)
                continue
            books[ticker] = book.levels(quote.snapshot.ts, BOOK_DEPTH)
        # A book read for a market no longer wanted is dropped once done.
        for ticker in [t for t, f in self._reading.items() if t not in wanted and f.done()]:
            del self._reading[ticker]
        return books

    def detect(
        self, quotes: Sequence[EdgeQuote], books: Mapping[str, BookLevels], now: datetime
    ) -> tuple[list[Event], dict[str, EdgeSide]]:
        """This poll's edge alerts, and each market's side as the next poll must see it."""
        events: list[Event] = []
        sides: dict[str, EdgeSide] = {}
        for quote in quotes:
            ticker = quote.market.ticker
            found, sides[ticker] = detect_edge(
                self.sides.get(ticker),
                replace(quote, book=books.get(ticker)),
                self.board.probability(quote.game.game_id),
                now,
                self.config,
            )
            events.extend(found)
        return events, sides

    def commit(self, sides: Mapping[str, EdgeSide], books: Mapping[str, BookLevels]) -> None:
        """The poll's sides and stored books, once its alerts and books are written."""
        self.sides.update(sides)
        self.book_read_at.update({ticker: book.ts for ticker, book in books.items()})

    def forget(self, tickers: set[str]) -> None:
        for ticker in tickers:
            self.sides.pop(ticker, None)
            self.book_read_at.pop(ticker, None)
