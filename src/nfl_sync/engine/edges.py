"""The Kalshi lane's edge watch: each live game-winner market against ESPN's win probability.

Every poll the lane hands over its mapped slate; the watch picks the live games' game-winner
markets, reads the order book of those whose side is cheap against ESPN this poll (the
candidates, and only them: one request each, on the Kalshi lane, never the scoreboard's), and
runs the pure detector (`domain.edge.detect_edge`) on each. What the detector remembers moves
only once the lane's transaction committed (`commit`), so an alert a failed write lost is
detected again by the next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from nfl_sync.domain.edge import EdgeConfig, EdgeQuote, EdgeSide, detect_edge, is_candidate, is_game_winner
from nfl_sync.domain.errors import KalshiFormatError, SourceError
from nfl_sync.domain.events import Event
from nfl_sync.domain.models import BookLevels, Game
from nfl_sync.engine.board import GameBoard
from nfl_sync.engine.shell import Shell
from nfl_sync.sources.kalshi.client import NFLSlate

log = logging.getLogger(__name__)

BOOK_DEPTH = 3  # levels of each side read and stored


class EdgeWatch:
    """What the edge detector knows of each game-winner market (one side of its game)."""

    def __init__(self, shell: Shell, board: GameBoard):
        self.shell = shell
        self.board = board
        self.sides: dict[str, EdgeSide] = {}
        self.config = EdgeConfig(
            Decimal(str(shell.settings.edge_alert_points)), timedelta(seconds=shell.settings.edge_alert_cooldown)
        )

    def quotes(self, slate: NFLSlate, games: Mapping[str, Game]) -> list[EdgeQuote]:
        """The poll's game-winner markets of live games, each with its snapshot."""
        found = []
        for market, snap in zip(slate.markets, slate.snapshots, strict=True):
            game = games.get(market.game_id or "")
            if game is not None and game.is_live and is_game_winner(market):
                found.append(EdgeQuote(game, market, snap))
        return found

    def read_books(self, quotes: Sequence[EdgeQuote], now: datetime) -> dict[str, BookLevels]:
        """ticker -> the top of its book, for the candidates of this poll. A book Kalshi does not
        give costs only its depth in the alert, never the poll's prices."""
        books = {}
        for quote in quotes:
            if not is_candidate(quote, self.board.probability(quote.game.game_id), now, self.config):
                continue
            ticker = quote.market.ticker
            try:
                book = self.shell.kalshi.get_orderbook(ticker, depth=BOOK_DEPTH)
            except (SourceError, KalshiFormatError) as error:
                log.warning("Order book of %s not read: %s", ticker, error)
                continue
            books[ticker] = book.levels(quote.snapshot.ts, BOOK_DEPTH)
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

    def commit(self, sides: Mapping[str, EdgeSide]) -> None:
        """The poll's sides, once its alerts are recorded."""
        self.sides.update(sides)

    def forget(self, tickers: set[str]) -> None:
        for ticker in tickers:
            self.sides.pop(ticker, None)
