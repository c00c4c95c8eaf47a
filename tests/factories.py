"""Small builders of model records for tests that need realistic rows quickly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nfl_sync.domain.models import Game, GamePhase, KalshiMarket, Play

KICKOFF = datetime(2023, 9, 17, 17, 0, tzinfo=UTC)
_PHASE_OF_STATE = {"pre": GamePhase.SCHEDULED, "in": GamePhase.IN_PROGRESS, "post": GamePhase.FINAL}


def game(game_id: str = "401547417", **changes) -> Game:
    values = {
        "game_id": game_id,
        "season": 2023,
        "season_type": 2,
        "week": 2,
        "start_time": KICKOFF,
        "home_team": "ATL",
        "away_team": "GB",
        "home_score": 0,
        "away_score": 0,
        "status": "STATUS_IN_PROGRESS",
        "state": "in",
        "period": 1,
        "clock": "15:00",
    }
    values.update(changes)
    values["phase"] = GamePhase(values.get("phase") or _PHASE_OF_STATE[values["state"]])
    return Game(**values)


def play(game_id: str = "401547417", n: int = 1, **changes) -> Play:
    values = {
        "game_id": game_id,
        "play_id": f"{game_id}{n:06d}",
        "sequence_number": n * 10,
        "period": 1 + n // 50,
        "clock": "10:00",
        "type": "Rush",
        "text": f"Play number {n} for 4 yards",
        "yards": 4,
        "team": "GB",
        "home_score": 0,
        "away_score": 0,
        "wallclock": KICKOFF + timedelta(seconds=30 * n),
    }
    values.update(changes)
    return Play(**values)


def game_market(team: str, game_id: str = "401547417", **changes) -> KalshiMarket:
    """`team`'s game-winner market of GB @ ATL (the `game()` default)."""
    values = {
        "ticker": f"KXNFLGAME-23SEP17GBATL-{team}",
        "event_ticker": "KXNFLGAME-23SEP17GBATL",
        "series_ticker": "KXNFLGAME",
        "title": f"{team} wins",
        "status": "active",
        "market_kind": "game",
        "away_team": "GB",
        "home_team": "ATL",
        "team": team,
        "game_id": game_id,
    }
    values.update(changes)
    return KalshiMarket(**values)
