"""Pure parser of The Odds API v4 `/sports/americanfootball_nfl/odds` bodies into `OddsLine`s.

One line per (game, bookmaker). Outcome order is not guaranteed, so outcomes are matched by
name. Prices are American integers when requested with oddsFormat=american (what the fetcher
asks for); decimal-format bodies are converted so the model always holds American odds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from nfl_sync.domain import teams
from nfl_sync.domain.models import Game, OddsLine
from nfl_sync.sources.parsing import dicts, require_dict, require_list, to_datetime, to_decimal, to_str

FORMATS = ("american", "decimal")


def parse_odds(data: Any, odds_format: str = "american") -> list[OddsLine]:
    """Every bookmaker's h2h / spreads / totals for every NFL game in the body.

    Events whose teams are not NFL teams are skipped; a body that is not a list of events raises
    ParseError.
    """
    if odds_format not in FORMATS:
        raise ValueError(f"odds_format must be one of {FORMATS}, got {odds_format!r}")
    lines = []
    for index, event in enumerate(require_list(data, "odds")):
        event = require_dict(event, f"odds[{index}]")
        home = teams.resolve(to_str(event.get("home_team")))
        away = teams.resolve(to_str(event.get("away_team")))
        if home is None or away is None or home is away:
            continue
        commence = to_datetime(event.get("commence_time"))
        for bookmaker in dicts(event.get("bookmakers")):
            line = _bookmaker_line(bookmaker, event, home, away, commence, odds_format)
            if line is not None:
                lines.append(line)
    return lines


def attach_game_ids(
    lines: Iterable[OddsLine], games: Iterable[Game], tolerance: timedelta = timedelta(hours=12)
) -> list[OddsLine]:
    """`lines` with `game_id` set to the ESPN game of the same home and away teams whose kickoff is
    within `tolerance` of the line's commence time (The Odds API has its own event ids).

    Lines that match no game keep `game_id` None; the two teams meet twice a season at most, weeks
    apart, so teams plus a half-day window is unambiguous.
    """
    by_teams: dict[tuple[str, str], list[Game]] = {}
    for game in games:
        by_teams.setdefault((game.home_team, game.away_team), []).append(game)
    matched = []
    for line in lines:
        candidates = by_teams.get((line.home_team, line.away_team), [])
        match = next(
            (
                g
                for g in candidates
                if line.commence_time is None
                or g.start_time is None
                or abs(g.start_time - line.commence_time) <= tolerance
            ),
            None,
        )
        matched.append(replace(line, game_id=match.game_id) if match else line)
    return matched


def _bookmaker_line(
    bookmaker: Mapping[str, Any],
    event: Mapping[str, Any],
    home: teams.Team,
    away: teams.Team,
    commence: datetime | None,
    odds_format: str,
) -> OddsLine | None:
    markets = {to_str(market.get("key")): market for market in dicts(bookmaker.get("markets"))}
    home_name, away_name = to_str(event.get("home_team")), to_str(event.get("away_team"))
    h2h = _outcomes(markets.get("h2h"))
    spreads = _outcomes(markets.get("spreads"))
    totals = _outcomes(markets.get("totals"))
    home_spread = to_decimal(spreads.get(home_name, {}).get("point"))
    over = to_decimal(totals.get("Over", {}).get("point"))
    line = OddsLine(
        provider=to_str(bookmaker.get("title")) or to_str(bookmaker.get("key")) or "unknown",
        home_team=home.abbr,
        away_team=away.abbr,
        commence_time=commence,
        spread=home_spread,
        over_under=over,
        home_moneyline=_american(h2h.get(home_name, {}).get("price"), odds_format),
        away_moneyline=_american(h2h.get(away_name, {}).get("price"), odds_format),
        details=_details(home, away, home_spread),
        updated_at=to_datetime(bookmaker.get("last_update")),
    )
    if line.spread is None and line.over_under is None and line.home_moneyline is None and line.away_moneyline is None:
        return None
    return line


def _outcomes(market: Any) -> dict[str | None, Mapping[str, Any]]:
    if market is None:
        return {}
    return {
        to_str(outcome.get("name")): outcome for outcome in dicts(require_dict(market, "odds market").get("outcomes"))
    }


def _american(price: Any, odds_format: str) -> int | None:
    value = to_decimal(price)
    if value is None:
        return None
    if odds_format == "american":
        return int(value.to_integral_value(ROUND_HALF_UP)) if abs(value) >= 100 else None
    if value <= 1:
        return None
    # Decimal 2.50 pays 1.50 per 1 staked: +150; decimal 1.25 needs 4 staked to win 1: -400.
    american = (value - 1) * 100 if value >= 2 else Decimal(-100) / (value - 1)
    return int(american.to_integral_value(ROUND_HALF_UP))


def _details(home: teams.Team, away: teams.Team, home_spread: Decimal | None) -> str | None:
    """ESPN-style "HOU -9.5": the favourite and its line, or "EVEN"."""
    if home_spread is None:
        return None
    if home_spread == 0:
        return "EVEN"
    favourite, line = (home, home_spread) if home_spread < 0 else (away, -home_spread)
    return f"{favourite.abbr} {line.normalize():f}"
