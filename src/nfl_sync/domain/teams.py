"""The 32 NFL teams and every name the sources use for them.

Each source spells teams its own way: ESPN "WSH"/"JAX" and numeric ids, Kalshi "WAS"/"JAC" and city
forms such as "Los Angeles R", The Odds API full names, nflverse "LA", PFR "GNB", old names such as
"Oakland Raiders". Everything in the pipeline stores ESPN's abbreviation (`Team.abbr`), so every
source's spelling goes through `resolve()` once, at parse time. The table is data
(`data/teams.json`), loaded once and read-only afterwards, so it is safe to share between threads.
People type teams yet another way ("niners", "G-Men", "the Bucs", "Cowboy"): `resolve_team()`
and `parse_teams()` read what a user writes to the bot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
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


# What fans call teams beyond every source's names (keys in `_user_key` form). A name two teams
# could claim ("birds", "new york", "la") is left out: the bot asks rather than guesses.
USER_NICKNAMES: Mapping[str, str] = {
    "niners": "SF",
    "9ers": "SF",
    "sf 49ers": "SF",
    "frisco": "SF",
    "bucs": "TB",
    "tampa": "TB",
    "pats": "NE",
    "g men": "NYG",
    "gmen": "NYG",
    "big blue": "NYG",
    "gang green": "NYJ",
    "boys": "DAL",
    "americas team": "DAL",
    "hawks": "SEA",
    "fins": "MIA",
    "phins": "MIA",
    "pack": "GB",
    "cheeseheads": "GB",
    "jags": "JAX",
    "bolts": "LAC",
    "commies": "WSH",
    "skins": "WSH",
    "redskins": "WSH",
    "football team": "WSH",
    "wft": "WSH",
    "dc": "WSH",
    "iggles": "PHI",
    "philly": "PHI",
    "cards": "ARI",
    "zona": "ARI",
    "dirty birds": "ATL",
    "dawgs": "CLE",
    "vikes": "MIN",
    "da bears": "CHI",
    "vegas": "LV",
    "nola": "NO",
    "indy": "IND",
    "cincy": "CIN",
    "kc chiefs": "KC",
}
_NOT_A_NAME = re.compile(r"[^0-9a-z]+")
# The most words a team's name takes ("new england patriots", "washington football team").
_LONGEST_NAME_WORDS = 4


def _user_key(value: str) -> str:
    """`value` as users vary it: any case, punctuation and apostrophes dropped ("G-Men" and
    "g men" alike), a leading "the" ignored."""
    words = _NOT_A_NAME.sub(" ", value.casefold().replace("'", "").replace("\u2019", "")).split()
    if words[:1] == ["the"]:
        words = words[1:]
    return " ".join(words)


# Names the sources use that a user typing them could mean either of two teams.
_AMBIGUOUS_FOR_USERS = frozenset({"la", "los angeles", "ny", "new york"})


@lru_cache(maxsize=1)
def _user_index() -> Mapping[str, Team]:
    table = _table()
    # ESPN's numeric ids are no name a user types (`/follow 2` is no team).
    index = {
        _user_key(name): team
        for name, team in table.index.items()
        if not name.isdigit() and _user_key(name) not in _AMBIGUOUS_FOR_USERS
    }
    index.update({key: table.index[abbr.casefold()] for key, abbr in USER_NICKNAMES.items()})
    return index


def resolve_team(text: str) -> Team | None:
    """The team a user means by `text` ("DAL", "cowboys", "Dallas Cowboys", "niners", "G-Men",
    "the Bucs", "Cowboy"), or None when it names no team or could be more than one."""
    key = _user_key(text)
    if not key:
        return None
    index = _user_index()
    return index.get(key) or index.get(key + "s")


def parse_teams(text: str) -> tuple[tuple[Team, ...], tuple[str, ...]]:
    """The teams a user lists ("DAL PHI", "green bay, niners", "New York Giants Bills"), each
    once and in order, and the words that name none. The longest run of words that names a team
    wins, so "new york giants" is one team and "new england dallas" two."""
    words: Sequence[str] = text.replace(",", " ").split()
    found: list[Team] = []
    unknown: list[str] = []
    start = 0
    while start < len(words):
        for end in range(min(len(words), start + _LONGEST_NAME_WORDS), start, -1):
            team = resolve_team(" ".join(words[start:end]))
            if team is not None:
                if team not in found:
                    found.append(team)
                start = end
                break
        else:
            unknown.append(words[start])
            start += 1
    return tuple(found), tuple(unknown)
