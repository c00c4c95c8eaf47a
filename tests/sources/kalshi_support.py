"""Kalshi recordings and a client builder for the Kalshi parser and client tests
(tests/fixtures/kalshi/README.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from responses import matchers

from helpers import FakeClock, fixture_json, fixture_path
from nfl_sync.config import DEFAULT_KALSHI_BASE_URL, load_settings
from nfl_sync.domain.models import Game, GamePhase, GameState
from nfl_sync.sources.kalshi.client import KalshiClient

BASE = DEFAULT_KALSHI_BASE_URL
MARKETS = f"{BASE}/markets"
KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"  # a signing key id (the key: the `private_key` fixture)
NFL_MARKET_FILES = sorted(path.name for path in fixture_path("kalshi", "get_market").glob("*.json"))


def nfl_market(ticker: str) -> dict[str, Any]:
    return fixture_json("kalshi", "get_market", f"kalshi_market_{ticker}.json")["market"]


def page(*tickers: str, cursor: str = "") -> dict[str, Any]:
    """A `GET /markets` list envelope around recorded NFL market objects."""
    return {"markets": [nfl_market(t) for t in tickers], "cursor": cursor}


def make_client(clock: FakeClock, **env: str) -> KalshiClient:
    return KalshiClient(load_settings(env=env), clock, rng=lambda: 0.5)


def slate_query(series: str) -> list:
    return [matchers.query_param_matcher({"series_ticker": series, "status": "open", "limit": "1000"})]


def scheduled_game(game_id: str, away: str, home: str, kickoff: datetime | str) -> Game:
    """An ESPN game of the 2026 regular season not started yet; `kickoff` may be ISO text."""
    start = datetime.fromisoformat(kickoff) if isinstance(kickoff, str) else kickoff
    return Game(
        game_id=game_id,
        season=2026,
        season_type=2,
        week=None,
        start_time=start,
        home_team=home,
        away_team=away,
        home_score=None,
        away_score=None,
        status="STATUS_SCHEDULED",
        state=GameState.PRE,
        phase=GamePhase.SCHEDULED,
    )
