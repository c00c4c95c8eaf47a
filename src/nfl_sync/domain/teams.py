"""The 32 NFL teams and every name the sources use for them.

Each source spells teams its own way: ESPN "WSH"/"JAX" and numeric ids, Kalshi "WAS"/"JAC" and city
forms such as "Los Angeles R", The Odds API full names, nflverse "LA", PFR "GNB", old names such as
"Oakland Raiders". Everything in the pipeline stores ESPN's abbreviation (`Team.abbr`), so every
source's spelling goes through `resolve()` once, at parse time. The table is data
(`data/teams.json`), loaded once and read-only afterwards, so it is safe to share between threads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent / "data" / "teams.json"


@dataclass(frozen=True)
class Team:
    abbr: str  # canonical: ESPN's abbreviation
    espn_id: str
    name: str  # display name, "Washington Commanders"
    kalshi_code: str  # ticker code, "WAS"
    odds_api_name: str
    aliases: tuple[str, ...]
    stadium: str
    latitude: float
    longitude: float
    roof: str  # open / dome / retractable
    tz: str  # IANA zone of the home stadium
    kalshi_name: str = ""  # Kalshi's yes_sub_title city form, "Los Angeles R"
    nickname: str = ""
    venue_id: str | None = None  # ESPN venue id of the home stadium


@dataclass(frozen=True)
class Venue:
    """A stadium that can host a game, keyed by ESPN venue id (home and neutral sites)."""

    venue_id: str
    name: str
    city: str
    latitude: float
    longitude: float
    roof: str


@dataclass(frozen=True)
class _Table:
    teams: tuple[Team, ...]
    index: Mapping[str, Team]
    by_id: Mapping[str, Team]
    venues: Mapping[str, Venue]


def _key(value: str) -> str:
    return " ".join(value.split()).casefold()


def _build(document: Mapping[str, Any]) -> _Table:
    teams = tuple(
        Team(
            abbr=row["abbr"],
            espn_id=str(row["espn_id"]),
            name=row["name"],
            kalshi_code=row["kalshi_code"],
            odds_api_name=row["odds_api_name"],
            aliases=tuple(row.get("aliases", ())),
            stadium=row["stadium"],
            latitude=float(row["latitude"]),
            longitude=float(row["longitude"]),
            roof=row["roof"],
            tz=row["tz"],
            kalshi_name=row.get("kalshi_name", ""),
            nickname=row.get("nickname", ""),
            venue_id=row.get("venue_id"),
        )
        for row in document["teams"]
    )
    index: dict[str, Team] = {}
    for team in teams:
        names = (
            team.abbr,
            team.espn_id,
            team.name,
            team.kalshi_code,
            team.kalshi_name,
            team.odds_api_name,
            *team.aliases,
        )
        for name in names:
            if not name:
                continue
            owner = index.setdefault(_key(name), team)
            # A name shared by two teams would silently send data to the wrong one.
            if owner is not team:
                raise ValueError(f"teams.json: {name!r} names both {owner.abbr} and {team.abbr}")
    venues = {
        str(venue_id): Venue(
            str(venue_id),
            row["name"],
            row.get("city", ""),
            float(row["latitude"]),
            float(row["longitude"]),
            row["roof"],
        )
        for venue_id, row in document.get("venues", {}).items()
    }
    return _Table(teams, index, {team.espn_id: team for team in teams}, venues)


@lru_cache(maxsize=1)
def _table() -> _Table:
    with DATA_FILE.open(encoding="utf-8") as handle:
        return _build(json.load(handle))


def resolve(value: str | int | None) -> Team | None:
    """The team `value` names, in any source's spelling (case-insensitive), or None."""
    if value is None:
        return None
    return _table().index.get(_key(str(value)))


def by_espn_id(team_id: str | int | None) -> Team | None:
    """The team with this ESPN numeric id ("28" or 28), or None."""
    if team_id is None:
        return None
    return _table().by_id.get(str(team_id).strip())


def all_teams() -> tuple[Team, ...]:
    return _table().teams


def kalshi_codes() -> frozenset[str]:
    """The team codes Kalshi tickers use, for splitting "BUFLAR" into BUF + LAR."""
    return frozenset(team.kalshi_code for team in _table().teams)


def venue(venue_id: str | int | None) -> Venue | None:
    """A known stadium by ESPN venue id (team homes and international/neutral sites), or None."""
    if venue_id is None:
        return None
    return _table().venues.get(str(venue_id).strip())


def home_venue(team: Team) -> Venue:
    """The team's home stadium as a Venue (used when a game has no known venue id)."""
    known = venue(team.venue_id)
    if known is not None and known.name == team.stadium:
        return known
    return Venue(team.venue_id or "", team.stadium, "", team.latitude, team.longitude, team.roof)
