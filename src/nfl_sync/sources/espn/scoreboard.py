"""ESPN's `/scoreboard` as games, and the betting lines and forecasts its events carry.
Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nfl_sync.domain.errors import ParseError
from nfl_sync.domain.models import Game, OddsLine, Play, Weather
from nfl_sync.sources.espn.common import (
    Sides,
    espn_odds,
    espn_weather,
    first_competition,
    home_yard_line,
    non_negative,
    period_and_clock,
    place,
    positive,
    probability,
    scores_of,
    sides_of,
    status_of,
)
from nfl_sync.sources.espn.plays import is_turnover, scoring_type_of
from nfl_sync.sources.parsing import (
    as_dict,
    dicts,
    require_dict,
    require_list,
    require_str,
    to_datetime,
    to_int,
    to_str,
)


def parse_scoreboard(data: Any, on_bad_event: Callable[[ParseError], None] | None = None) -> list[Game]:
    """Every NFL game of a `/scoreboard` response, in the order ESPN sent them.

    Order is not stable between polls, so callers key on `game_id`. Events whose teams are not NFL
    franchises (the Pro Bowl's AFC/NFC sides) are skipped rather than failing the whole slate.
    With `on_bad_event`, an event that does not parse is handed to it and skipped, so one broken
    event costs the other games nothing; without, it fails the whole response.
    """
    root = require_dict(data, "scoreboard")
    defaults = as_dict(root.get("season")), as_dict(root.get("week"))
    games = []
    for index, item in enumerate(require_list(root.get("events"), "scoreboard.events")):
        try:
            found = _scoreboard_event(index, item)
            if found is not None:
                games.append(_scoreboard_game(*found, defaults))
        except ParseError as error:
            if on_bad_event is None:
                raise
            on_bad_event(error)
    return games


def _scoreboard_game(
    game_id: str,
    event: Mapping[str, Any],
    competition: Mapping[str, Any],
    sides: Sides,
    defaults: tuple[Mapping[str, Any], Mapping[str, Any]],
) -> Game:
    where = f"scoreboard event {game_id}"
    status_block = as_dict(competition.get("status")) or as_dict(event.get("status"))
    status, phase, state = status_of(status_block, where)
    season = as_dict(event.get("season")) or defaults[0]
    week = as_dict(event.get("week")) or defaults[1]
    scores = scores_of(competition, sides, state)
    situation = as_dict(competition.get("situation")) if state == "in" else {}
    last_play = as_dict(situation.get("lastPlay"))
    possession = sides.team(situation.get("possession"))
    period, clock = period_and_clock(status_block, state)
    return Game(
        game_id=game_id,
        season=to_int(season.get("year")),
        season_type=to_int(season.get("type")),
        week=to_int(week.get("number")),
        start_time=to_datetime(competition.get("date")) or to_datetime(event.get("date")),
        home_team=sides.home.abbr,
        away_team=sides.away.abbr,
        home_score=scores[0],
        away_score=scores[1],
        status=status,
        state=state,
        phase=phase,
        period=period,
        clock=clock,
        possession=possession.abbr if possession else None,
        down=positive(situation.get("down")),
        distance=non_negative(situation.get("distance")),
        yard_line=home_yard_line(situation.get("yardLine"), situation.get("possessionText"), sides, possession),
        **place(competition, sides),
        last_play_id=to_str(last_play.get("id")),
        last_play_text=to_str(last_play.get("text")),
        home_win_pct=probability(as_dict(last_play.get("probability")).get("homeWinPercentage")),
        last_play=_last_play(last_play, game_id, sides, scores, period, clock),
    )


def _last_play(
    block: Mapping[str, Any],
    game_id: str,
    sides: Sides,
    scores: tuple[int | None, int | None],
    period: int | None,
    clock: str | None,
) -> Play | None:
    """`situation.lastPlay` as a play: its type, text, yards (statYardage), points (scoreValue)
    and team; the scoreboard gives it no sequence number, so it gets 0, and the game's score and
    clock stand for the play's own."""
    play_id = to_str(block.get("id"))
    if play_id is None:
        return None
    play_type = to_str(as_dict(block.get("type")).get("text"))
    text = to_str(block.get("text"))
    points = non_negative(block.get("scoreValue")) or 0
    team = sides.team(as_dict(block.get("team")).get("id"))
    return Play(
        game_id=game_id,
        play_id=play_id,
        sequence_number=0,
        period=period,
        clock=clock,
        type=play_type,
        text=text,
        yards=to_int(block.get("statYardage")),
        team=team.abbr if team else None,
        home_score=scores[0],
        away_score=scores[1],
        scoring_play=points > 0,
        score_value=points,
        is_turnover=is_turnover(play_type, None),
        scoring_type=scoring_type_of(block, points, play_type, text) if points else None,
    )


def parse_scoreboard_odds(data: Any) -> list[OddsLine]:
    """The betting lines a scoreboard carries (pre-game events only; ESPN drops them at kickoff)."""
    lines = []
    for game_id, event, competition, sides in _scoreboard_events(data):
        for block in dicts(competition.get("odds")):
            line = espn_odds(block, sides, game_id, to_datetime(event.get("date")))
            if line is not None:
                lines.append(line)
    return lines


def parse_scoreboard_weather(data: Any) -> list[Weather]:
    """ESPN's (AccuWeather) forecast per event, present for pre-game and live events only."""
    found = []
    for game_id, event, competition, sides in _scoreboard_events(data):
        block = as_dict(event.get("weather"))
        if not block:
            continue
        venue = as_dict(competition.get("venue"))
        found.append(espn_weather(block, game_id, to_datetime(event.get("date")), to_str(venue.get("id")), sides))
    return found


_Event = tuple[str, Mapping[str, Any], Mapping[str, Any], Sides]


def _scoreboard_events(data: Any) -> Iterable[_Event]:
    """(event id, event, its competition, its two NFL teams) for each event; non-NFL events are skipped."""
    root = require_dict(data, "scoreboard")
    for index, item in enumerate(require_list(root.get("events"), "scoreboard.events")):
        found = _scoreboard_event(index, item)
        if found is not None:
            yield found


def _scoreboard_event(index: int, item: Any) -> _Event | None:
    event = require_dict(item, f"scoreboard.events[{index}]")
    game_id = require_str(event.get("id"), f"scoreboard.events[{index}].id")
    where = f"scoreboard event {game_id}"
    competition = first_competition(event, where)
    sides = sides_of(competition, where)
    return None if sides is None else (game_id, event, competition, sides)
