"""ESPN's `/summary?event=` (or a cdn game page and its `gamepackageJSON`) as a `GameSummary`:
the game header, plays, scoring plays, win probabilities, box score, odds, weather and injuries.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

from nfl_sync.domain.errors import ParseError
from nfl_sync.domain.models import Game, GameSummary, OddsLine, Play, PlayerStat, Weather, WinProbability
from nfl_sync.sources.espn.common import (
    Sides,
    espn_odds,
    espn_weather,
    first_competition,
    non_negative,
    period_and_clock,
    place,
    positive,
    probability,
    scores_of,
    sides_of,
    spot_yard_line,
    status_of,
    team_of,
)
from nfl_sync.sources.espn.injuries import injury_blocks
from nfl_sync.sources.espn.plays import build_plays, last_play_end, ordered_plays, scoring_type_of
from nfl_sync.sources.parsing import (
    OnBadPart,
    as_dict,
    as_list,
    dicts,
    optional,
    require_dict,
    require_str,
    skip_or_raise,
    to_datetime,
    to_int,
    to_str,
)

T = TypeVar("T")


def parse_summary(data: Any, player_stats: bool = True, on_bad_part: OnBadPart = None) -> GameSummary:
    """A `/summary?event=` response (or a cdn game page / its `gamepackageJSON`) as a GameSummary.

    The header has no clock or period in recorded responses, so they come from the last play.
    Win probabilities keep only entries that join to a play: the first `/summary` entry carries
    the first drive's id (a pre-kickoff value); it still counts for `Game.home_win_pct` when no
    later entry exists. `player_stats=False` leaves the box score out (a third of the parsing
    when only the plays are new).

    Only what identifies the game (header, id, competitors, status) must parse. Any other part
    that does not (a play, a scoringPlays entry, an injury, an optional section of the wrong
    type) is handed to `on_bad_part`, its path in the message, and left out, so the plays,
    scores and status still count; without `on_bad_part` it fails the whole summary.
    """
    root, competition, game_id, sides = _summary_parts(data)
    where = f"summary {game_id}"
    ordered = ordered_plays(root, where, on_bad_part)
    plays = build_plays(ordered, game_id, sides, _listed_scores(root))
    game = _summary_game(root, competition, game_id, sides, plays, last_play_end(ordered), where)

    def part(build: Callable[[], T]) -> T | None:
        try:
            return build()
        except ParseError as error:
            skip_or_raise(error, on_bad_part)
            return None

    listed = part(lambda: optional(root.get("scoringPlays"), list, f"{where}: scoringPlays"))
    injuries = part(lambda: optional(root.get("injuries"), list, f"{where}: injuries"))
    return GameSummary(
        game=game,
        plays=plays,
        scoring_plays=_scoring_plays(listed or [], plays, game_id, sides, where, on_bad_part),
        win_probabilities=part(lambda: _win_probabilities(root, plays, game_id, where)) or (),
        player_stats=(part(lambda: _player_stats(root, game_id, where)) or ()) if player_stats else (),
        odds=(part(lambda: _odds(root, "pickcenter", sides, game, where)) or ())
        + (part(lambda: _odds(root, "odds", sides, game, where)) or ()),
        weather=part(lambda: _weather(root, sides, game, where)),
        injuries=tuple(injury_blocks(injuries, game_id, f"{where}: injuries", on_bad_part)),
    )


def parse_plays(data: Any) -> tuple[Play, ...]:
    """Only the plays of a summary (cheaper than `parse_summary` when nothing else is needed)."""
    root, _, game_id, sides = _summary_parts(data)
    return build_plays(ordered_plays(root, f"summary {game_id}"), game_id, sides, _listed_scores(root))


def _listed_scores(root: Mapping[str, Any]) -> frozenset[str]:
    """The play ids of ESPN's `scoringPlays`: the plays that scored, by ESPN's own word."""
    return frozenset(play_id for entry in dicts(root.get("scoringPlays")) if (play_id := to_str(entry.get("id"))))


def _summary_parts(data: Any) -> tuple[Mapping[str, Any], Mapping[str, Any], str, Sides]:
    """(summary body, header competition, game id, teams), unwrapping a cdn page's gamepackageJSON."""
    root = require_dict(data, "summary")
    if "gamepackageJSON" in root:
        root = require_dict(root.get("gamepackageJSON"), "summary.gamepackageJSON")
    header = require_dict(root.get("header"), "summary.header")
    competition = first_competition(header, "summary.header")
    game_id = require_str(header.get("id") or competition.get("id"), "summary.header.id")
    sides = sides_of(competition, f"summary {game_id}")
    if sides is None:
        raise ParseError(f"summary {game_id}: competitors are not two NFL teams")
    return root, competition, game_id, sides


def _summary_game(
    root: Mapping[str, Any],
    competition: Mapping[str, Any],
    game_id: str,
    sides: Sides,
    plays: tuple[Play, ...],
    end: Mapping[str, Any],
    where: str,
) -> Game:
    header = as_dict(root.get("header"))
    status_block = as_dict(competition.get("status"))
    status, phase, state = status_of(status_block, where)
    season = as_dict(header.get("season"))
    week = header.get("week")
    venue = as_dict(as_dict(root.get("gameInfo")).get("venue")) or as_dict(competition.get("venue"))
    last = plays[-1] if plays else None
    period, clock = period_and_clock(status_block, state)
    if period is None and last is not None and state != "pre":
        period, clock = last.period, last.clock
    possession = None
    for competitor in dicts(competition.get("competitors")):
        if competitor.get("possession") is True:
            possession = sides.team(as_dict(competitor.get("team")).get("id") or competitor.get("id"))
    live = state == "in"
    scores = scores_of(competition, sides, state)
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
        phase=phase,
        period=period,
        clock=clock,
        possession=possession.abbr if possession and live else None,
        down=positive(end.get("down")) if live else None,
        distance=non_negative(end.get("distance")) if live else None,
        yard_line=spot_yard_line(end, sides) if live else None,
        **place(competition, sides, venue),
        last_play_id=last.play_id if last else None,
        last_play_text=last.text if last else None,
        home_win_pct=_latest_probability(root),
    )


def _scoring_plays(
    listed: list[Any], plays: tuple[Play, ...], game_id: str, sides: Sides, where: str, on_bad_part: OnBadPart
) -> tuple[Play, ...]:
    """The plays ESPN lists in `scoringPlays`, plus any play whose score delta says it scored.

    A listed id that matches no play (a trimmed or lagging play list) is built from the
    scoringPlays entry itself so no score is lost; an entry without an id is handed to
    `on_bad_part` and skipped.
    """
    by_id = {play.play_id: play for play in plays}
    chosen = {play.play_id: play for play in plays if play.scoring_play}
    for index, item in enumerate(listed):
        try:
            entry = require_dict(item, f"{where}: scoringPlays[{index}]")
            play_id = require_str(entry.get("id"), f"{where}: scoringPlays[{index}].id")
        except ParseError as error:
            skip_or_raise(error, on_bad_part)
            continue
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
            scoring_type=scoring_type_of(entry, 0, None, None),
        )
    ordered = sorted(
        chosen.values(),
        key=lambda p: (p.sequence_number < 0, p.sequence_number, (p.home_score or 0) + (p.away_score or 0)),
    )
    return tuple(ordered)


def _win_probabilities(
    root: Mapping[str, Any], plays: tuple[Play, ...], game_id: str, where: str
) -> tuple[WinProbability, ...]:
    play_ids = {play.play_id for play in plays}
    found = []
    for entry in dicts(optional(root.get("winprobability"), list, f"{where}: winprobability")):
        play_id = to_str(entry.get("playId"))
        home = probability(entry.get("homeWinPercentage"))
        if play_id in play_ids and home is not None:
            found.append(WinProbability(game_id, play_id, home, probability(entry.get("tiePercentage"))))
    return tuple(found)


def _latest_probability(root: Mapping[str, Any]) -> Decimal | None:
    for entry in reversed(dicts(root.get("winprobability"))):
        home = probability(entry.get("homeWinPercentage"))
        if home is not None:
            return home
    return None


def _odds(root: Mapping[str, Any], key: str, sides: Sides, game: Game, where: str) -> tuple[OddsLine, ...]:
    """The lines of the `pickcenter` or `odds` list."""
    blocks = dicts(optional(root.get(key), list, f"{where}: {key}"))
    return tuple(line for block in blocks if (line := espn_odds(block, sides, game.game_id, game.start_time)))


def _weather(root: Mapping[str, Any], sides: Sides, game: Game, where: str) -> Weather | None:
    block = optional(as_dict(root.get("gameInfo")).get("weather"), dict, f"{where}: gameInfo.weather")
    return espn_weather(block, game.game_id, game.start_time, game.venue_id, sides) if block else None


def _player_stats(root: Mapping[str, Any], game_id: str, where: str) -> tuple[PlayerStat, ...]:
    found = []
    boxscore = optional(root.get("boxscore"), dict, f"{where}: boxscore") or {}
    for block in dicts(optional(boxscore.get("players"), list, f"{where}: boxscore.players")):
        team = team_of(as_dict(block.get("team")))
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
