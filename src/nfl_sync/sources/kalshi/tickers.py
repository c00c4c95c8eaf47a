"""Kalshi's NFL ticker grammar and the mapping of NFL markets to ESPN games: event
`KXNFLGAME-26OCT12BUFLAR` is BUF at LAR on 2026-10-12, the game's US-Eastern date; market suffixes
are a team code (`-LAR`), a team code and rounded spread (`-TB8`, real line in `floor_strike`) or
a rounded total (`-69`), as tests/fixtures/kalshi/README.md shows. Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta

from nfl_sync.domain import teams
from nfl_sync.domain.calendar import eastern_date
from nfl_sync.domain.models import Game, KalshiMarket
from nfl_sync.sources.kalshi.records import NFLEvent, NFLTicker, UnmappedMarket

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
_NFL_SERIES = re.compile(r"KXNFL(?P<segment>[12]H|[1-4]Q)?(?P<kind>GAME|SPREAD|TOTAL)?")
_EVENT_PART = re.compile(r"(?P<yy>\d{2})(?P<mon>[A-Z]{3})(?P<dd>\d{2})(?P<teams>[A-Z]{4,6})")
_SPREAD_SUFFIX = re.compile(r"(?P<code>[A-Z]{2,3})(?P<strike>\d{1,3})")
_TOTAL_SUFFIX = re.compile(r"\d{1,3}")
TIE_SUFFIX = "TIE"

# A postponed game keeps its ticker date while ESPN moves the kickoff; Kalshi keeps such markets
# open for 48 hours past the original start, so a game up to two days later is still the same one.
POSTPONEMENT_DAYS = 2


def _team(code: str) -> str | None:
    team = teams.resolve(code) if code in teams.kalshi_codes() else None
    return None if team is None else team.abbr


def parse_event_ticker(event_ticker: str) -> NFLEvent | None:
    """`KXNFLGAME-26OCT12BUFLAR` -> BUF at LAR on 2026-10-12; None when not an NFL game event."""
    series, _, rest = event_ticker.partition("-")
    series_match = _NFL_SERIES.fullmatch(series)
    event_match = _EVENT_PART.fullmatch(rest)
    if series_match is None or event_match is None:
        return None
    segment, kind = series_match.group("segment"), series_match.group("kind")
    if segment is None and kind is None:
        return None
    month = _MONTHS.get(event_match.group("mon"))
    if month is None:
        return None
    try:
        game_date = date(2000 + int(event_match.group("yy")), month, int(event_match.group("dd")))
    except ValueError:
        return None
    # Codes are 2-3 letters with no separator: keep the split whose two halves are both teams.
    pair = event_match.group("teams")
    splits = [
        (away, home)
        for away, home in ((_team(pair[:cut]), _team(pair[cut:])) for cut in (2, 3))
        if away is not None and home is not None
    ]
    if len(splits) != 1:
        return None
    away, home = splits[0]
    return NFLEvent(
        event_ticker=event_ticker,
        series_ticker=series,
        kind=(kind or "GAME").lower(),
        segment=segment,
        game_date=game_date,
        away_team=away,
        home_team=home,
    )


@functools.lru_cache(maxsize=4096)  # the same tickers come back on every poll
def parse_nfl_ticker(ticker: str, event_ticker: str | None = None) -> NFLTicker | None:
    """`KXNFLSPREAD-26OCT08TBDAL-TB8` -> TB, strike 8 of TB at DAL; None when not an NFL game market."""
    event_ticker = event_ticker or ticker.rpartition("-")[0]
    if not ticker.startswith(event_ticker + "-"):
        return None
    event = parse_event_ticker(event_ticker)
    if event is None:
        return None
    suffix = ticker[len(event_ticker) + 1 :]
    playing = (event.away_team, event.home_team)
    if event.kind == "game":
        if suffix == TIE_SUFFIX and event.segment is not None:
            return NFLTicker(ticker, event, team=None, strike=None)
        team = _team(suffix)
        return NFLTicker(ticker, event, team=team, strike=None) if team in playing else None
    if event.kind == "spread":
        match = _SPREAD_SUFFIX.fullmatch(suffix)
        team = _team(match.group("code")) if match else None
        if match is None or team not in playing:
            return None
        return NFLTicker(ticker, event, team=team, strike=int(match.group("strike")))
    if _TOTAL_SUFFIX.fullmatch(suffix):
        return NFLTicker(ticker, event, team=None, strike=int(suffix))
    return None


def map_markets_to_games(
    markets: Iterable[KalshiMarket], games: Iterable[Game]
) -> tuple[list[KalshiMarket], list[UnmappedMarket]]:
    """Attach ESPN game ids to NFL markets by team pair and Eastern-time game date.

    A market maps to the one game between its two teams whose Eastern date is the ticker date or
    up to POSTPONEMENT_DAYS later; home/away may be swapped (neutral sites). Markets that are not
    NFL game markets, or have no such game, come back in the second list with the reason.
    """
    by_pair: dict[frozenset[str | None], list[tuple[date, Game]]] = {}
    for game in games:
        if game.start_time is not None:
            by_pair.setdefault(frozenset((game.home_team, game.away_team)), []).append(
                (eastern_date(game.start_time), game)
            )
    mapped: list[KalshiMarket] = []
    unmapped: list[UnmappedMarket] = []
    for market in markets:
        if market.market_kind is None or market.game_date is None:
            unmapped.append(UnmappedMarket(market, "not an NFL game market (ticker not understood)"))
            continue
        ticker_date = date.fromisoformat(market.game_date)
        window = [
            game
            for played, game in by_pair.get(frozenset((market.away_team, market.home_team)), ())
            if timedelta(0) <= played - ticker_date <= timedelta(days=POSTPONEMENT_DAYS)
        ]
        if len(window) == 1:
            mapped.append(replace(market, game_id=window[0].game_id))
        else:
            found = "no ESPN game" if not window else f"{len(window)} ESPN games"
            unmapped.append(
                UnmappedMarket(market, f"{found} for {market.away_team} at {market.home_team} on {market.game_date}")
            )
    return mapped, unmapped
