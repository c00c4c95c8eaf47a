"""What the engine needs of its collaborators: the sources and the alert outbox, as `Protocol`s.

`app.build_sync` passes the real ones (`NFLDataFetcher`, `KalshiClient`, `AlertService`); tests and
benchmarks may pass anything with the same methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from nfl_sync.domain.events import Event
from nfl_sync.domain.models import DepthChart, Game, GameSummary, Injury, OddsLine, Weather
from nfl_sync.domain.teams import Team
from nfl_sync.sources.kalshi.client import NFLSlate
from nfl_sync.sources.kalshi.records import Orderbook, ParsedMarket
from nfl_sync.storage.tx import Tx

FetchedMarkets = list[tuple[ParsedMarket, datetime]]


class GameSource(Protocol):
    """ESPN (scoreboard, play-by-play, injuries), the weather and the bookmakers' odds."""

    def get_scoreboard(self, when: str) -> list[Game]: ...

    def get_schedule(self, when: str) -> list[Game]: ...

    def get_play_by_play(self, game_id: str, player_stats: bool = True) -> GameSummary: ...

    def get_injuries(self) -> list[Injury]: ...

    def get_team_injuries(self, team: Team) -> list[Injury]: ...

    def get_depth_chart(self, team: Team, season: int) -> DepthChart: ...

    def get_weather_for_game(self, game: Game) -> Weather | None: ...

    def get_odds(self, games: Iterable[Game] = ()) -> list[OddsLine]: ...

    def close(self) -> None: ...


class MarketSource(Protocol):
    """Kalshi's NFL markets, and their mapping to ESPN games."""

    def fetch_nfl_markets(self) -> FetchedMarkets: ...

    def map_to_games(self, fetched: Sequence[tuple[ParsedMarket, datetime]], games: Sequence[Game]) -> NFLSlate: ...

    def get_orderbook(self, ticker: str, depth: int = 0) -> Orderbook: ...

    def close(self) -> None: ...


class AlertSink(Protocol):
    """The outbox: events recorded inside the caller's transaction, a sender woken after commit."""

    def record(self, tx: Tx, events: Sequence[Event], now: datetime) -> object: ...

    def wake(self) -> None: ...

    def deliver_directly(self, events: Sequence[Event], now: datetime) -> None: ...

    def describe(self) -> str: ...

    def pending_count(self) -> int: ...

    def health_checks(self) -> dict[str, Callable[[], None]]: ...

    def channel_problems(self) -> list[str]: ...

    def close(self, flush_seconds: float = 5.0) -> None: ...
