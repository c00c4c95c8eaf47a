"""Pure parsers of ESPN NFL JSON into the shared models: no I/O, no clock.

Covers the site API (`/scoreboard`, `/summary?event=`, `/teams`, `/injuries`), the cdn game page
(`gamepackageJSON`, same shape as a summary) and core-API injury records. The quirks handled are
the ones documented in tests/fixtures/espn/README.md: scores as strings, clocks as int or float,
two linescore shapes, optional season/week, plays only inside drives, a drive id on the first
win-probability entry, unreliable `yardsToEndzone`, "50" at midfield, events reordered between
polls. Team abbreviations come out canonical (`teams.resolve`). Anything malformed raises
`ParseError` (a ValueError) naming the field, never KeyError/TypeError/AttributeError.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from nfl_sync.domain import teams
from nfl_sync.domain.errors import ParseError
from nfl_sync.domain.models import Game, GameSummary, Injury, OddsLine, Play, PlayerStat, Weather, WinProbability
from nfl_sync.sources.parsing import (
    as_dict,
    as_list,
    dicts,
    require_dict,
    require_list,
    require_str,
    to_bool,
    to_datetime,
    to_decimal,
    to_int,
    to_str,
)

__all__ = [
    "ParseError",
    "parse_scoreboard",
    "parse_scoreboard_odds",
    "parse_scoreboard_weather",
    "parse_summary",
    "parse_injuries",
    "parse_core_injury",
    "parse_teams",
    "parse_plays",
]

# Status names ESPN sends, for payloads whose `state` is missing or unknown.
_STATE_BY_STATUS = {
    "STATUS_SCHEDULED": "pre",
    "STATUS_POSTPONED": "pre",
    "STATUS_DELAYED": "pre",
    "STATUS_CANCELED": "post",
    "STATUS_IN_PROGRESS": "in",
    "STATUS_HALFTIME": "in",
    "STATUS_END_PERIOD": "in",
    "STATUS_END_OF_REGULATION": "in",
    "STATUS_OVERTIME": "in",
    "STATUS_RAIN_DELAY": "in",
    "STATUS_FINAL": "post",
    "STATUS_FINAL_OVERTIME": "post",
    "STATUS_FINAL_OT": "post",
    "STATUS_FORFEIT": "post",
}
_STATES = frozenset(("pre", "in", "post"))

# Clock-management and period markers: they never end a drive even when they come last in it.
_ADMINISTRATIVE = frozenset(
    (
        "timeout",
        "official timeout",
        "two-minute warning",
        "end period",
        "end of half",
        "end of game",
        "end of regulation",
        "coin toss",
    )
)
# Drive results that hand the ball to the defence, as ESPN spells them in `result`/`displayResult`.
_TURNOVER_RESULTS = frozenset(("INT", "INTERCEPTION", "FUMBLE", "DOWNS", "BLOCKED FG, DOWNS"))
_TURNOVER_TYPES = re.compile(
    r"interception|fumble recovery \(opponent\)|fumble return touchdown|"
    r"sack opp fumble recovery|fumble recovery opponent",
    re.IGNORECASE,
)
_SCORING_ABBREVIATIONS = {"TD": "TD", "FG": "FG", "SF": "SF", "XP": "XP", "PAT": "XP", "2PT": "2PT", "D2P": "2PT"}
_POSSESSION_TEXT = re.compile(r"^\s*(?:([A-Za-z]{2,4})\s+)?(\d{1,2})\s*$")


@dataclass(frozen=True)
class _Sides:
    """The two teams of one game, so plays can be placed on the home-relative field."""

    home: teams.Team
    away: teams.Team

    def team(self, team_id: Any) -> teams.Team | None:
        found = teams.by_espn_id(to_str(team_id))
        return found if found in (self.home, self.away) else None


# ---------------------------------------------------------------------------------------------
# Scoreboard


def parse_scoreboard(data: Any) -> list[Game]:
    """Every NFL game of a `/scoreboard` response, in the order ESPN sent them.

    Order is not stable between polls, so callers key on `game_id`. Events whose teams are not NFL
    franchises (the Pro Bowl's AFC/NFC sides) are skipped rather than failing the whole slate.
    """
    root = require_dict(data, "scoreboard")
    defaults = as_dict(root.get("season")), as_dict(root.get("week"))
    return [
        _scoreboard_game(event, competition, sides, defaults) for event, competition, sides in _scoreboard_events(root)
    ]


def _scoreboard_game(
    event: Mapping[str, Any],
    competition: Mapping[str, Any],
    sides: _Sides,
    defaults: tuple[Mapping[str, Any], Mapping[str, Any]],
) -> Game:
    game_id = to_str(event.get("id"))
    where = f"scoreboard event {game_id}"
    status_block = as_dict(competition.get("status")) or as_dict(event.get("status"))
    status, state = _status(status_block, where)
    season = as_dict(event.get("season")) or defaults[0]
    week = as_dict(event.get("week")) or defaults[1]
    scores = _scores(competition, sides, state)
    situation = as_dict(competition.get("situation")) if state == "in" else {}
    last_play = as_dict(situation.get("lastPlay"))
    possession = sides.team(situation.get("possession"))
    period, clock = _period_and_clock(status_block, state)
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
        period=period,
        clock=clock,
        possession=possession.abbr if possession else None,
        down=_positive(situation.get("down")),
        distance=_non_negative(situation.get("distance")),
        yard_line=_yard_line(situation.get("yardLine"), situation.get("possessionText"), sides, possession),
        **_place(competition, sides),
        last_play_id=to_str(last_play.get("id")),
        last_play_text=to_str(last_play.get("text")),
        home_win_pct=_probability(as_dict(last_play.get("probability")).get("homeWinPercentage")),
    )


def parse_scoreboard_odds(data: Any) -> list[OddsLine]:
    """The betting lines a scoreboard carries (pre-game events only; ESPN drops them at kickoff)."""
    lines = []
    for event, competition, sides in _scoreboard_events(data):
        for block in dicts(competition.get("odds")):
            line = _espn_odds(block, sides, to_str(event.get("id")), to_datetime(event.get("date")))
            if line is not None:
                lines.append(line)
    return lines


def parse_scoreboard_weather(data: Any) -> list[Weather]:
    """ESPN's (AccuWeather) forecast per event, present for pre-game and live events only."""
    found = []
    for event, competition, sides in _scoreboard_events(data):
        block = as_dict(event.get("weather"))
        if not block:
            continue
        venue = as_dict(competition.get("venue"))
        found.append(
            _espn_weather(
                block, to_str(event.get("id")), to_datetime(event.get("date")), to_str(venue.get("id")), sides
            )
        )
    return found


def _scoreboard_events(data: Any) -> Iterable[tuple[Mapping[str, Any], Mapping[str, Any], _Sides]]:
    """(event, its competition, its two NFL teams) for each event; non-NFL events are skipped."""
    root = require_dict(data, "scoreboard")
    for index, event in enumerate(require_list(root.get("events"), "scoreboard.events")):
        event = require_dict(event, f"scoreboard.events[{index}]")
        where = f"scoreboard event {require_str(event.get('id'), f'scoreboard.events[{index}].id')}"
        competition = _first_competition(event, where)
        sides = _sides(competition, where)
        if sides is not None:
            yield event, competition, sides


# ---------------------------------------------------------------------------------------------
# Summary


def parse_summary(data: Any, player_stats: bool = True) -> GameSummary:
    """A `/summary?event=` response (or a cdn game page / its `gamepackageJSON`) as a GameSummary.

    The header has no clock or period in recorded responses, so they come from the last play.
    Win probabilities keep only entries that join to a play: the first `/summary` entry carries
    the first drive's id (a pre-kickoff value); it still counts for `Game.home_win_pct` when no
    later entry exists. `player_stats=False` leaves the box score out (a third of the parsing
    when only the plays are new).
    """
    root, competition, game_id, sides = _summary_parts(data)
    where = f"summary {game_id}"
    ordered = _ordered_plays(root, where)
    plays = _plays(ordered, game_id, sides)
    game = _summary_game(root, competition, game_id, sides, plays, _last_play_end(ordered), where)
    weather_block = as_dict(as_dict(root.get("gameInfo")).get("weather"))
    return GameSummary(
        game=game,
        plays=plays,
        scoring_plays=_scoring_plays(root, plays, game_id, sides, where),
        win_probabilities=_win_probabilities(root, plays, game_id),
        player_stats=_player_stats(root, game_id) if player_stats else (),
        odds=tuple(
            line
            for block in dicts(root.get("pickcenter")) + dicts(root.get("odds"))
            if (line := _espn_odds(block, sides, game_id, game.start_time)) is not None
        ),
        weather=_espn_weather(weather_block, game_id, game.start_time, game.venue_id, sides) if weather_block else None,
        injuries=tuple(_injury_blocks(root.get("injuries"), game_id, "summary.injuries")),
    )


def parse_plays(data: Any) -> tuple[Play, ...]:
    """Only the plays of a summary (cheaper than `parse_summary` when nothing else is needed)."""
    root, _, game_id, sides = _summary_parts(data)
    return _plays(_ordered_plays(root, f"summary {game_id}"), game_id, sides)


def _summary_parts(data: Any) -> tuple[Mapping[str, Any], Mapping[str, Any], str, _Sides]:
    """(summary body, header competition, game id, teams), unwrapping a cdn page's gamepackageJSON."""
    root = require_dict(data, "summary")
    if "gamepackageJSON" in root:
        root = require_dict(root.get("gamepackageJSON"), "summary.gamepackageJSON")
    header = require_dict(root.get("header"), "summary.header")
    competition = _first_competition(header, "summary.header")
    game_id = require_str(header.get("id") or competition.get("id"), "summary.header.id")
    sides = _sides(competition, f"summary {game_id}")
    if sides is None:
        raise ParseError(f"summary {game_id}: competitors are not two NFL teams")
    return root, competition, game_id, sides


def _summary_game(
    root: Mapping[str, Any],
    competition: Mapping[str, Any],
    game_id: str,
    sides: _Sides,
    plays: tuple[Play, ...],
    end: Mapping[str, Any],
    where: str,
) -> Game:
    header = as_dict(root.get("header"))
    status_block = as_dict(competition.get("status"))
    status, state = _status(status_block, where)
    season = as_dict(header.get("season"))
    week = header.get("week")
    venue = as_dict(as_dict(root.get("gameInfo")).get("venue")) or as_dict(competition.get("venue"))
    last = plays[-1] if plays else None
    period, clock = _period_and_clock(status_block, state)
    if period is None and last is not None and state != "pre":
        period, clock = last.period, last.clock
    possession = None
    for competitor in dicts(competition.get("competitors")):
        if competitor.get("possession") is True:
            possession = sides.team(as_dict(competitor.get("team")).get("id") or competitor.get("id"))
    live = state == "in"
    scores = _scores(competition, sides, state)
    return Game(
        game_id=game_id,
        season=to_int(season.get("year")),
        season_type=to_int(season.get("type")),
        week=to_int(as_dict(week).get("number")) if isinstance(week, dict) else to_int(week),
        start_time=to_datetime(competition.get("date")),
        home_team=sides.home.abbr,
        away_team=sides.away.abbr,
        home_score=scores[0] if scores[0] is not None or last is None else last.home_score,
        away_score=scores[1] if scores[1] is not None or last is None else last.away_score,
        status=status,
        state=state,
        period=period,
        clock=clock,
        possession=possession.abbr if possession and live else None,
        down=_positive(end.get("down")) if live else None,
        distance=_non_negative(end.get("distance")) if live else None,
        yard_line=_play_yard_line(end, sides) if live else None,
        **_place(competition, sides, venue),
        last_play_id=last.play_id if last else None,
        last_play_text=last.text if last else None,
        home_win_pct=_latest_probability(root),
    )


def _raw_plays(root: Mapping[str, Any], where: str) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(drive, play) pairs from drives.previous, then drives.current, then any top-level `plays`."""
    drives = as_dict(root.get("drives"))
    pairs = []
    for index, drive in enumerate(as_list(drives.get("previous"))):
        drive = require_dict(drive, f"{where}: drives.previous[{index}]")
        pairs.extend((drive, play) for play in _drive_plays(drive, f"{where}: drives.previous[{index}].plays"))
    current = drives.get("current")
    if isinstance(current, dict):
        pairs.extend((current, play) for play in _drive_plays(current, f"{where}: drives.current.plays"))
    pairs.extend(({}, require_dict(play, f"{where}: plays[]")) for play in as_list(root.get("plays")))
    return pairs


def _drive_plays(drive: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    return [require_dict(play, where) for play in as_list(drive.get("plays"))]


_RawPlays = list[tuple[str, tuple[int, Mapping[str, Any], Mapping[str, Any]]]]  # (id, (sequence, drive, play))


def _ordered_plays(root: Mapping[str, Any], where: str) -> _RawPlays:
    """The raw plays, one per id, in sequence order."""
    latest: dict[str, tuple[int, Mapping[str, Any], Mapping[str, Any]]] = {}
    for drive, play in _raw_plays(root, where):
        play_id = require_str(play.get("id"), f"{where}: play id")
        sequence = to_int(play.get("sequenceNumber"))
        if sequence is None:
            raise ParseError(f"{where}: play {play_id} has no integer sequenceNumber")
        # A play seen twice (previous and current drive during a transition): the later copy wins.
        latest[play_id] = (sequence, drive, play)
    return sorted(latest.items(), key=lambda item: (item[1][0], item[0]))


def _plays(ordered: _RawPlays, game_id: str, sides: _Sides) -> tuple[Play, ...]:
    """Plays with scores, points and turnovers filled in."""
    enders = _drive_enders(ordered)
    plays = []
    away_before, home_before = 0, 0
    for play_id, (sequence, drive, play) in ordered:
        context = (
            game_id,
            play_id,
            sequence,
            sides.home.espn_id,
            sides.away.espn_id,
            to_str(drive.get("id")),
            to_str(as_dict(drive.get("team")).get("id")),
            enders.get(play_id),
            away_before,
            home_before,
        )
        try:
            raw = orjson.dumps(play)
        except orjson.JSONEncodeError:  # an integer over 64 bits (json.loads makes them), not remembered
            parsed = _play(play, *context)
        else:
            parsed = _play_of_json(raw, *context)
        plays.append(parsed)
        away_before, home_before = parsed.away_score, parsed.home_score
    return tuple(plays)


@functools.lru_cache(maxsize=4096)
def _play_of_json(raw: bytes, *context: Any) -> Play:
    """`_play` of the play whose JSON text is `raw`, remembered: a summary repeats every play of
    the game and is fetched again for each new one, and a play unchanged in an unchanged
    context (drive, result, score before it) parses to the same Play. 4096 covers the plays of a
    full slate of 16 live games."""
    return _play(orjson.loads(raw), *context)


def _play(
    play: Mapping[str, Any],
    game_id: str,
    play_id: str,
    sequence: int,
    home_id: str,
    away_id: str,
    drive_id: str | None,
    drive_team_id: str | None,
    drive_result: str | None,
    away_before: int,
    home_before: int,
) -> Play:
    """One play, its score filled in from the one before when ESPN leaves it out."""
    sides = _Sides(teams.by_espn_id(home_id), teams.by_espn_id(away_id))
    away = to_int(play.get("awayScore"))
    home = to_int(play.get("homeScore"))
    away = away_before if away is None else away
    home = home_before if home is None else home
    gained = max(0, (away + home) - (away_before + home_before))
    play_type = to_str(as_dict(play.get("type")).get("text"))
    text = to_str(play.get("text"))
    start = as_dict(play.get("start"))
    team = sides.team(as_dict(start.get("team")).get("id")) or sides.team(drive_team_id)
    scoring_flag = to_bool(play.get("scoringPlay"))
    return Play(
        game_id=game_id,
        play_id=play_id,
        sequence_number=sequence,
        period=to_int(as_dict(play.get("period")).get("number")),
        clock=to_str(as_dict(play.get("clock")).get("displayValue")),
        type=play_type,
        text=text,
        yards=to_int(play.get("statYardage")),
        team=team.abbr if team else None,
        home_score=home,
        away_score=away,
        scoring_play=bool(scoring_flag) or gained > 0,
        score_value=gained,
        is_turnover=_is_turnover(play_type, drive_result),
        wallclock=to_datetime(play.get("wallclock")),
        drive_id=drive_id,
        down=_positive(start.get("down")),
        distance=_non_negative(start.get("distance")) if _positive(start.get("down")) else None,
        yard_line=_play_yard_line(start, sides),
        scoring_type=_scoring_type(play, gained, play_type, text) if gained or scoring_flag else None,
        drive_result=drive_result,
    )


def _drive_enders(ordered: _RawPlays) -> dict[str, str]:
    """play id -> drive result, for the last non-administrative play of each drive with a result.

    Drives often end with a timeout or a quarter marker after the play that decided them.
    """
    last_real: dict[int, tuple[str, str]] = {}
    results: dict[int, str | None] = {}
    for play_id, (_, drive, play) in ordered:
        if id(drive) not in results:
            results[id(drive)] = to_str(drive.get("result")) or to_str(drive.get("displayResult"))
        result = results[id(drive)]
        if not result:
            continue
        kind = (to_str(as_dict(play.get("type")).get("text")) or "").lower()
        if kind not in _ADMINISTRATIVE:
            last_real[id(drive)] = (play_id, result.upper())
    return dict(last_real.values())


def _is_turnover(play_type: str | None, drive_result: str | None) -> bool:
    if play_type and _TURNOVER_TYPES.search(play_type):
        return True
    return drive_result in _TURNOVER_RESULTS


def _scoring_type(play: Mapping[str, Any], gained: int, play_type: str | None, text: str | None) -> str | None:
    """TD / FG / SF / XP / 2PT: ESPN's own label when present, else from the points scored."""
    label = to_str(as_dict(play.get("scoringType")).get("abbreviation"))
    if label and label.upper() in _SCORING_ABBREVIATIONS:
        return _SCORING_ABBREVIATIONS[label.upper()]
    words = f"{play_type or ''} {text or ''}".lower()
    if gained >= 6:
        return "TD"
    if gained == 3:
        return "FG"
    if gained == 2:
        return "SF" if "safety" in words else "2PT"
    if gained == 1:
        return "XP"
    return None


def _scoring_plays(
    root: Mapping[str, Any], plays: tuple[Play, ...], game_id: str, sides: _Sides, where: str
) -> tuple[Play, ...]:
    """The plays ESPN lists in `scoringPlays`, plus any play whose score delta says it scored.

    A listed id that matches no play (a trimmed or lagging play list) is built from the
    scoringPlays entry itself so no score is lost.
    """
    by_id = {play.play_id: play for play in plays}
    chosen = {play.play_id: play for play in plays if play.scoring_play}
    for index, entry in enumerate(as_list(root.get("scoringPlays"))):
        entry = require_dict(entry, f"{where}: scoringPlays[{index}]")
        play_id = require_str(entry.get("id"), f"{where}: scoringPlays[{index}].id")
        if play_id in by_id:
            chosen[play_id] = replace(by_id[play_id], scoring_play=True)
            continue
        team = sides.team(as_dict(entry.get("team")).get("id"))
        chosen[play_id] = Play(
            game_id=game_id,
            play_id=play_id,
            sequence_number=-1,
            period=to_int(as_dict(entry.get("period")).get("number")),
            clock=to_str(as_dict(entry.get("clock")).get("displayValue")),
            type=to_str(as_dict(entry.get("type")).get("text")),
            text=to_str(entry.get("text")),
            yards=None,
            team=team.abbr if team else None,
            home_score=to_int(entry.get("homeScore")),
            away_score=to_int(entry.get("awayScore")),
            scoring_play=True,
            scoring_type=_scoring_type(entry, 0, None, None),
        )
    ordered = sorted(
        chosen.values(),
        key=lambda p: (p.sequence_number < 0, p.sequence_number, (p.home_score or 0) + (p.away_score or 0)),
    )
    return tuple(ordered)


def _win_probabilities(root: Mapping[str, Any], plays: tuple[Play, ...], game_id: str) -> tuple[WinProbability, ...]:
    play_ids = {play.play_id for play in plays}
    found = []
    for entry in dicts(root.get("winprobability")):
        play_id = to_str(entry.get("playId"))
        home = _probability(entry.get("homeWinPercentage"))
        if play_id in play_ids and home is not None:
            found.append(WinProbability(game_id, play_id, home, _probability(entry.get("tiePercentage"))))
    return tuple(found)


def _latest_probability(root: Mapping[str, Any]):
    for entry in reversed(dicts(root.get("winprobability"))):
        home = _probability(entry.get("homeWinPercentage"))
        if home is not None:
            return home
    return None


def _last_play_end(ordered: _RawPlays) -> Mapping[str, Any]:
    """`end` of the play with the highest sequence number: down, distance and spot after it."""
    return as_dict(ordered[-1][1][2].get("end")) if ordered else {}


def _player_stats(root: Mapping[str, Any], game_id: str) -> tuple[PlayerStat, ...]:
    found = []
    for block in dicts(as_dict(root.get("boxscore")).get("players")):
        team = _team_of(as_dict(block.get("team")))
        if team is None:
            continue
        for category in dicts(block.get("statistics")):
            name = to_str(category.get("name"))
            keys = [to_str(key) for key in as_list(category.get("keys"))]
            if not name:
                continue
            for row in dicts(category.get("athletes")):
                athlete = as_dict(row.get("athlete"))
                player_id = to_str(athlete.get("id"))
                if not player_id:
                    continue
                values = [to_str(value) for value in as_list(row.get("stats"))]
                stats = {key: value for key, value in zip(keys, values, strict=False) if key and value is not None}
                found.append(
                    PlayerStat(
                        game_id, player_id, to_str(athlete.get("displayName")) or player_id, team.abbr, name, stats
                    )
                )
    return tuple(found)


# ---------------------------------------------------------------------------------------------
# Odds and weather embedded in ESPN payloads


def _espn_odds(block: Mapping[str, Any], sides: _Sides, game_id: str | None, commence) -> OddsLine | None:
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


def _home_spread_from_details(details: str, sides: _Sides):
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


def _espn_weather(
    block: Mapping[str, Any], game_id: str | None, kickoff, venue_id: str | None, sides: _Sides
) -> Weather:
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


# ---------------------------------------------------------------------------------------------
# Injuries and teams


def parse_injuries(data: Any) -> list[Injury]:
    """Injuries from any ESPN shape: league `/injuries`, a summary's `injuries` list, or core records.

    League shape: `{"injuries": [{team fields or "team": {...}, "injuries": [entry...]}]}`.
    Core records (`/seasons/{y}/athletes/{a}/injuries/{id}`) are accepted alone or in a list.
    """
    if isinstance(data, dict) and "injuries" in data:
        return _injury_blocks(data.get("injuries"), None, "injuries")
    if isinstance(data, dict) and _is_core_injury(data):
        return [parse_core_injury(data)]
    if isinstance(data, list):
        if all(isinstance(item, dict) and _is_core_injury(item) for item in data):
            return [parse_core_injury(item) for item in data]
        return _injury_blocks(data, None, "injuries")
    raise ParseError(f"injuries: expected an injuries object or list, got {type(data).__name__}")


def _injury_blocks(blocks: Any, game_id: str | None, where: str) -> list[Injury]:
    found = []
    for index, block in enumerate(as_list(blocks)):
        block = require_dict(block, f"{where}[{index}]")
        team = _team_of(as_dict(block.get("team"))) or _team_of(block)
        for position, entry in enumerate(as_list(block.get("injuries"))):
            entry = require_dict(entry, f"{where}[{index}].injuries[{position}]")
            injury = _injury(entry, team, game_id, f"{where}[{index}].injuries[{position}]")
            if injury is not None:
                found.append(injury)
    return found


def _injury(entry: Mapping[str, Any], team: teams.Team | None, game_id: str | None, where: str) -> Injury | None:
    athlete = as_dict(entry.get("athlete"))
    team = team or _team_of(as_dict(athlete.get("team")))
    if team is None:
        return None
    player_id = to_str(athlete.get("id"))
    player = to_str(athlete.get("displayName")) or to_str(athlete.get("fullName"))
    if player is None:
        raise ParseError(f"{where}: injury without an athlete name")
    details = as_dict(entry.get("details"))
    return Injury(
        player_id=player_id,
        player=player,
        team=team.abbr,
        position=to_str(as_dict(athlete.get("position")).get("abbreviation")),
        status=_injury_status(entry, where),
        injury=to_str(details.get("type")) or to_str(entry.get("shortComment")),
        reported_at=to_datetime(entry.get("date")),
        game_id=game_id,
        return_date=to_str(details.get("returnDate")),
    )


def _is_core_injury(record: Mapping[str, Any]) -> bool:
    return "$ref" in as_dict(record.get("athlete")) or "$ref" in as_dict(record.get("team"))


def parse_core_injury(record: Any, team: str | None = None, player: str | None = None) -> Injury:
    """One core-API injury record. Athlete and team are `$ref` links there, so their ids come from
    the URLs; `team` (the list the record came from) is the fallback when the record's own team
    link is missing, and `player` (a name the caller already knows) replaces the "#<athlete id>"
    placeholder.
    """
    record = require_dict(record, "core injury")
    athlete_ref = to_str(as_dict(record.get("athlete")).get("$ref")) or ""
    team_ref = to_str(as_dict(record.get("team")).get("$ref")) or ""
    player_id = _ref_id(athlete_ref, "athletes")
    found = teams.by_espn_id(_ref_id(team_ref, "teams")) or (teams.resolve(team) if team else None)
    if found is None:
        raise ParseError("core injury: team is not an NFL team")
    details = as_dict(record.get("details"))
    return Injury(
        player_id=player_id,
        player=player or (f"#{player_id}" if player_id else "unknown"),
        team=found.abbr,
        position=None,
        status=_injury_status(record, "core injury"),
        injury=to_str(details.get("type")) or to_str(record.get("shortComment")),
        reported_at=to_datetime(record.get("date")),
        return_date=to_str(details.get("returnDate")),
    )


def _injury_status(entry: Mapping[str, Any], where: str) -> str:
    status = to_str(entry.get("status"))
    if status is None:
        status = to_str(as_dict(entry.get("type")).get("description"))
        status = status.title() if status else None
    if status is None:
        raise ParseError(f"{where}: injury without a status")
    return status


def _ref_id(ref: str, collection: str) -> str | None:
    match = re.search(rf"/{collection}/(\d+)", ref)
    return match.group(1) if match else None


def parse_teams(data: Any) -> list[teams.Team]:
    """The teams a `/teams` response lists, as entries of the canonical table (unknown ids skipped)."""
    root = require_dict(data, "teams")
    found = []
    for sport in require_list(root.get("sports"), "teams.sports"):
        for league in require_list(require_dict(sport, "teams.sports[]").get("leagues"), "teams.sports[].leagues"):
            league = require_dict(league, "teams.sports[].leagues[]")
            for entry in dicts(league.get("teams")):
                team = _team_of(as_dict(entry.get("team")))
                if team is not None and team not in found:
                    found.append(team)
    if not found:
        raise ParseError("teams: the response lists no NFL team")
    return found


# ---------------------------------------------------------------------------------------------
# Shared pieces


def _place(competition: Mapping[str, Any], sides: _Sides, venue: Mapping[str, Any] | None = None) -> dict[str, Any]:
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


def _first_competition(container: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    competitions = require_list(container.get("competitions"), f"{where}.competitions")
    if not competitions:
        raise ParseError(f"{where}.competitions: empty")
    return require_dict(competitions[0], f"{where}.competitions[0]")


def _team_of(entry: Mapping[str, Any]) -> teams.Team | None:
    """The team an ESPN team object names: by id first, then by abbreviation or display name."""
    found = teams.by_espn_id(to_str(entry.get("id")))
    if found is None:
        found = teams.resolve(to_str(entry.get("abbreviation"))) or teams.resolve(to_str(entry.get("displayName")))
    return found


def _sides(competition: Mapping[str, Any], where: str) -> _Sides | None:
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
        found[side] = _team_of(team)
    if set(found) != {"home", "away"}:
        raise ParseError(f"{where}.competitors: expected a home and an away team")
    if found["home"] is None or found["away"] is None or found["home"] is found["away"]:
        return None
    return _Sides(found["home"], found["away"])


def _status(block: Mapping[str, Any], where: str) -> tuple[str, str]:
    kind = as_dict(block.get("type"))
    name = to_str(kind.get("name"))
    state = to_str(kind.get("state"))
    if state not in _STATES:
        state = _STATE_BY_STATUS.get(name or "")
    if name is None and state is not None:
        name = {"pre": "STATUS_SCHEDULED", "in": "STATUS_IN_PROGRESS", "post": "STATUS_FINAL"}[state]
    if name is None or state is None:
        raise ParseError(f"{where}: status.type has no usable name/state")
    return name, state


def _period_and_clock(status: Mapping[str, Any], state: str) -> tuple[int | None, str | None]:
    """Period and display clock; None before kickoff, where ESPN shows 0/0:00 or 1/15:00 at random."""
    if state == "pre":
        return None, None
    period = _positive(status.get("period"))
    clock = to_str(status.get("displayClock"))
    if clock is None:
        seconds = to_decimal(status.get("clock"))
        if seconds is not None and seconds >= 0:
            whole = int(seconds)
            clock = f"{whole // 60}:{whole % 60:02d}"
    return period, clock


def _scores(competition: Mapping[str, Any], sides: _Sides, state: str) -> tuple[int | None, int | None]:
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
            value = sum(periods) if periods and None not in periods else None
        scores[side] = value
    return scores["home"], scores["away"]


def _positive(value: Any) -> int | None:
    number = to_int(value)
    return number if number is not None and number > 0 else None


def _non_negative(value: Any) -> int | None:
    number = to_int(value)
    return number if number is not None and number >= 0 else None


def _probability(value: Any):
    if type(value) in (int, float, str):  # not bool: True == 1 would share 1's cache entry
        return _probability_of(value)
    return None


@functools.lru_cache(maxsize=8192)
def _probability_of(value: Any):
    """A 0-1 probability to 6 places; remembered, since every summary repeats the game's series."""
    number = to_decimal(value, places=6)
    return number if number is not None and 0 <= number <= 1 else None


def _yard_line(value: Any, possession_text: Any, sides: _Sides, possession: teams.Team | None) -> int | None:
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


def _play_yard_line(spot: Mapping[str, Any], sides: _Sides) -> int | None:
    """A play's start/end spot; administrative plays carry yardLine 0 and no team, meaning no spot."""
    team = sides.team(as_dict(spot.get("team")).get("id"))
    return _yard_line(spot.get("yardLine"), spot.get("possessionText"), sides, team)
