"""What every ESPN parser shares: the two sides of a game, its status, score, clock and field
position, where it is played, and the odds and weather blocks that scoreboards and summaries both
carry. Pure functions over decoded JSON: no I/O, no clock.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from nfl_sync.domain import teams
from nfl_sync.domain.errors import ParseError
from nfl_sync.domain.models import FINAL_PHASES, GamePhase, GameState, OddsLine, Weather, state_of
from nfl_sync.sources.parsing import (
    as_dict,
    dicts,
    require_dict,
    require_list,
    require_str,
    to_bool,
    to_decimal,
    to_int,
    to_str,
)

# ESPN's status names (`status.type.name`) and what each says of a game. A name not listed is
# read from `state`; a final that ESPN does not call `completed` is a game stopped short.
_PHASE_BY_STATUS = {
    "STATUS_SCHEDULED": GamePhase.SCHEDULED,
    "STATUS_IN_PROGRESS": GamePhase.IN_PROGRESS,
    "STATUS_OVERTIME": GamePhase.IN_PROGRESS,
    "STATUS_HALFTIME": GamePhase.HALFTIME,
    "STATUS_END_PERIOD": GamePhase.END_OF_PERIOD,
    "STATUS_END_OF_REGULATION": GamePhase.END_OF_PERIOD,
    "STATUS_DELAYED": GamePhase.DELAYED,
    "STATUS_RAIN_DELAY": GamePhase.DELAYED,
    "STATUS_WEATHER_DELAY": GamePhase.DELAYED,
    "STATUS_SUSPENDED": GamePhase.SUSPENDED,
    "STATUS_POSTPONED": GamePhase.POSTPONED,
    "STATUS_CANCELED": GamePhase.CANCELED,
    "STATUS_CANCELLED": GamePhase.CANCELED,
    "STATUS_FINAL": GamePhase.FINAL,
    "STATUS_FORFEIT": GamePhase.FINAL,
    "STATUS_FINAL_OVERTIME": GamePhase.FINAL_OT,
    "STATUS_FINAL_OT": GamePhase.FINAL_OT,
}
_PHASE_BY_STATE = {"pre": GamePhase.SCHEDULED, "in": GamePhase.IN_PROGRESS, "post": GamePhase.FINAL}
_NAME_BY_STATE = {"pre": "STATUS_SCHEDULED", "in": "STATUS_IN_PROGRESS", "post": "STATUS_FINAL"}
_POSSESSION_TEXT = re.compile(r"^\s*(?:([A-Za-z]{2,4})\s+)?(\d{1,2})\s*$")


@dataclass(frozen=True)
class Sides:
    """The two teams of one game, so plays can be placed on the home-relative field."""

    home: teams.Team
    away: teams.Team

    def team(self, team_id: Any) -> teams.Team | None:
        found = teams.by_espn_id(to_str(team_id))
        return found if found in (self.home, self.away) else None


def first_competition(container: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    competitions = require_list(container.get("competitions"), f"{where}.competitions")
    if not competitions:
        raise ParseError(f"{where}.competitions: empty")
    return require_dict(competitions[0], f"{where}.competitions[0]")


def team_of(entry: Mapping[str, Any]) -> teams.Team | None:
    """The team an ESPN team object names: by id first, then by abbreviation or display name."""
    found = teams.by_espn_id(to_str(entry.get("id")))
    if found is None:
        found = teams.resolve(to_str(entry.get("abbreviation"))) or teams.resolve(to_str(entry.get("displayName")))
    return found


def sides_of(competition: Mapping[str, Any], where: str) -> Sides | None:
    """Home and away by `homeAway` (never by position); None when they are not NFL teams."""
    competitors = require_list(competition.get("competitors"), f"{where}.competitors")
    found: dict[str, teams.Team | None] = {}
    for index, competitor in enumerate(competitors):
        competitor = require_dict(competitor, f"{where}.competitors[{index}]")
        side = to_str(competitor.get("homeAway"))
        if side not in ("home", "away"):
            raise ParseError(f"{where}.competitors[{index}].homeAway: expected home or away, got {side!r}")
        team = require_dict(competitor.get("team"), f"{where}.competitors[{index}].team")
        require_str(team.get("id"), f"{where}.competitors[{index}].team.id")
        found[side] = team_of(team)
    if set(found) != {"home", "away"}:
        raise ParseError(f"{where}.competitors: expected a home and an away team")
    if found["home"] is None or found["away"] is None or found["home"] is found["away"]:
        return None
    return Sides(found["home"], found["away"])


def status_of(block: Mapping[str, Any], where: str) -> tuple[str, GamePhase, GameState]:
    """The status name, its phase and the daemon's state of the game.

    ESPN says `state: "post"` for a postponed or canceled game too, so the name decides; a final
    needs `completed` (when ESPN sends it): a "post" game that is not completed was stopped short.
    """
    kind = as_dict(block.get("type"))
    name = to_str(kind.get("name"))
    state = to_str(kind.get("state"))
    if name is None and state in _NAME_BY_STATE:
        name = _NAME_BY_STATE[state]
    if name is None:
        raise ParseError(f"{where}: status.type has no usable name/state")
    phase = _PHASE_BY_STATUS.get(name) or _PHASE_BY_STATE.get(state or "")
    if phase is None:
        raise ParseError(f"{where}: status {name!r} with state {state!r} is not one the daemon knows")
    if phase in FINAL_PHASES and to_bool(kind.get("completed")) is False:
        phase = GamePhase.SUSPENDED
    return name, phase, state_of(phase, positive(block.get("period")) is not None)


def period_and_clock(status: Mapping[str, Any], state: str) -> tuple[int | None, str | None]:
    """Period and display clock; None before kickoff, where ESPN shows 0/0:00 or 1/15:00 at random."""
    if state == "pre":
        return None, None
    period = positive(status.get("period"))
    clock = to_str(status.get("displayClock"))
    if clock is None:
        seconds = to_decimal(status.get("clock"))
        if seconds is not None and seconds >= 0:
            whole = int(seconds)
            clock = f"{whole // 60}:{whole % 60:02d}"
    return period, clock


def scores_of(competition: Mapping[str, Any], sides: Sides, state: str) -> tuple[int | None, int | None]:
    """(home, away) points; `score` is a string, and only linescores may be there in some shapes."""
    if state == "pre":
        return None, None
    scores: dict[str, int | None] = {"home": None, "away": None}
    for competitor in dicts(competition.get("competitors")):
        side = to_str(competitor.get("homeAway"))
        if side not in scores:
            continue
        score = competitor.get("score")
        value = to_int(as_dict(score).get("value") if isinstance(score, dict) else score)
        if value is None:
            periods = [
                to_int(line.get("value")) if to_int(line.get("value")) is not None else to_int(line.get("displayValue"))
                for line in dicts(competitor.get("linescores"))
            ]
            known = [points for points in periods if points is not None]
            value = sum(known) if periods and len(known) == len(periods) else None
        scores[side] = value
    return scores["home"], scores["away"]


def positive(value: Any) -> int | None:
    number = to_int(value)
    return number if number is not None and number > 0 else None


def non_negative(value: Any) -> int | None:
    number = to_int(value)
    return number if number is not None and number >= 0 else None


def probability(value: Any) -> Decimal | None:
    if type(value) in (int, float, str):  # not bool: True == 1 would share 1's cache entry
        return _probability_of(value)
    return None


@functools.lru_cache(maxsize=8192)
def _probability_of(value: int | float | str) -> Decimal | None:
    """A 0-1 probability to 6 places; remembered, since every summary repeats the game's series."""
    number = to_decimal(value, places=6)
    return number if number is not None and 0 <= number <= 1 else None


def home_yard_line(value: Any, possession_text: Any, sides: Sides, possession: teams.Team | None) -> int | None:
    """0-100 from the home goal line. `yardLine` already is; "NO 10"/"50" text is the fallback."""
    number = to_int(value)
    if number is not None and 0 <= number <= 100 and (number > 0 or possession is not None):
        return number
    match = _POSSESSION_TEXT.match(to_str(possession_text) or "")
    if not match:
        return None
    side, yards = match.group(1), int(match.group(2))
    if yards > 50:
        return None
    if side is None:
        return 50 if yards == 50 else None
    owner = teams.resolve(side)
    if owner is sides.home:
        return yards
    if owner is sides.away:
        return 100 - yards
    return None


def spot_yard_line(spot: Mapping[str, Any], sides: Sides) -> int | None:
    """A play's start/end spot; administrative plays carry yardLine 0 and no team, meaning no spot."""
    team = sides.team(as_dict(spot.get("team")).get("id"))
    return home_yard_line(spot.get("yardLine"), spot.get("possessionText"), sides, team)


def place(competition: Mapping[str, Any], sides: Sides, venue: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The Game fields that say where a game is played and by whom (ESPN ids)."""
    venue = venue or as_dict(competition.get("venue"))
    address = as_dict(venue.get("address"))
    return {
        "venue_id": to_str(venue.get("id")),
        "venue_name": to_str(venue.get("fullName")),
        "venue_city": to_str(address.get("city")),
        "venue_state": to_str(address.get("state")),
        "venue_indoor": to_bool(venue.get("indoor")),
        "neutral_site": to_bool(competition.get("neutralSite")),
        "home_team_id": sides.home.espn_id,
        "away_team_id": sides.away.espn_id,
    }


def espn_odds(
    block: Mapping[str, Any], sides: Sides, game_id: str | None, commence: datetime | None
) -> OddsLine | None:
    """One ESPN odds block. `spread` is the home team's line; 2022 payloads only say "TEN -5.5"."""
    provider = to_str(as_dict(block.get("provider")).get("name"))
    details = to_str(block.get("details"))
    spread = to_decimal(block.get("spread"))
    if spread is None and details:
        spread = _home_spread_from_details(details, sides)
    home_odds = as_dict(block.get("homeTeamOdds"))
    away_odds = as_dict(block.get("awayTeamOdds"))
    line = OddsLine(
        provider=provider or "ESPN",
        home_team=sides.home.abbr,
        away_team=sides.away.abbr,
        game_id=game_id,
        commence_time=commence,
        spread=spread,
        over_under=to_decimal(block.get("overUnder")),
        home_moneyline=to_int(home_odds.get("moneyLine")),
        away_moneyline=to_int(away_odds.get("moneyLine")),
        details=details,
    )
    empty = (
        line.spread is None and line.over_under is None and line.home_moneyline is None and line.away_moneyline is None
    )
    return None if empty else line


def _home_spread_from_details(details: str, sides: Sides) -> Decimal | None:
    if details.strip().upper() in ("EVEN", "PK", "PICK"):
        return to_decimal(0)
    match = re.match(r"^\s*(\S+)\s+([+-]?\d+(?:\.\d+)?)\s*$", details)
    if not match:
        return None
    favourite = teams.resolve(match.group(1))
    points = to_decimal(match.group(2))
    if favourite is None or points is None:
        return None
    if favourite is sides.home:
        return points
    if favourite is sides.away:
        return -points
    return None


def espn_weather(
    block: Mapping[str, Any], game_id: str | None, kickoff: datetime | None, venue_id: str | None, sides: Sides
) -> Weather:
    """ESPN's (AccuWeather) forecast block, with the roof of the venue or else of the home team."""
    venue = teams.venue(venue_id)
    roof = venue.roof if venue else sides.home.roof
    return Weather(
        source="espn",
        forecast_time=kickoff,
        temperature_f=to_decimal(block.get("temperature")),
        gust_mph=to_decimal(block.get("gust")),
        precipitation_probability=to_decimal(block.get("precipitation")),
        condition=to_str(block.get("displayValue")),
        roof=roof,
        game_id=game_id,
    )
