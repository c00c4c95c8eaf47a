"""The play-by-play of an ESPN summary as `Play` records, in sequence order and one per play id.
Plays live only inside drives and can sit in two drives during a transition, and ESPN leaves
scores out of some, so scores, points, scoring type and turnovers are filled in here; a play is
parsed again only when its JSON or its context changes. Pure: no I/O, no clock.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

import orjson

from nfl_sync.domain import teams
from nfl_sync.domain.errors import ParseError
from nfl_sync.domain.models import Play, is_administrative
from nfl_sync.sources.espn.common import Sides, non_negative, positive, spot_yard_line
from nfl_sync.sources.parsing import (
    OnBadPart,
    as_dict,
    as_list,
    require_dict,
    skip_or_raise,
    to_bool,
    to_datetime,
    to_int,
    to_str,
)

# Drive results that hand the ball to the defence, as ESPN spells them in `result`/`displayResult`.
_TURNOVER_RESULTS = frozenset(("INT", "INTERCEPTION", "FUMBLE", "DOWNS", "BLOCKED FG, DOWNS"))
_TURNOVER_TYPES = re.compile(
    r"interception|fumble recovery \(opponent\)|fumble return touchdown|"
    r"sack opp fumble recovery|fumble recovery opponent",
    re.IGNORECASE,
)
_SCORING_ABBREVIATIONS = {"TD": "TD", "FG": "FG", "SF": "SF", "XP": "XP", "PAT": "XP", "2PT": "2PT", "D2P": "2PT"}
_RawPlay = tuple[str, Mapping[str, Any], Any]  # (path in the summary, its drive, the play as sent)


def _raw_plays(root: Mapping[str, Any], where: str, on_bad_part: OnBadPart) -> list[_RawPlay]:
    """(path, drive, play) of drives.previous, then drives.current, then any top-level `plays`; a
    drive that is not an object is handed to `on_bad_part` and skipped."""
    drives = as_dict(root.get("drives"))
    found: list[_RawPlay] = []
    for index, drive in enumerate(as_list(drives.get("previous"))):
        path = f"drives.previous[{index}]"
        try:
            found.extend(_drive_plays(require_dict(drive, f"{where}: {path}"), path))
        except ParseError as error:
            skip_or_raise(error, on_bad_part)
    current = drives.get("current")
    if isinstance(current, dict):
        found.extend(_drive_plays(current, "drives.current"))
    found.extend((f"plays[{index}]", {}, play) for index, play in enumerate(as_list(root.get("plays"))))
    return found


def _drive_plays(drive: Mapping[str, Any], path: str) -> list[_RawPlay]:
    return [(f"{path}.plays[{index}]", drive, play) for index, play in enumerate(as_list(drive.get("plays")))]


RawPlays = list[tuple[str, tuple[int, Mapping[str, Any], Mapping[str, Any]]]]  # (id, (sequence, drive, play))


def ordered_plays(root: Mapping[str, Any], where: str, on_bad_part: OnBadPart = None) -> RawPlays:
    """The raw plays, one per id, in sequence order. A play that is not an object or lacks an id
    or an integer sequenceNumber is handed to `on_bad_part` and left out (the others still
    count); without `on_bad_part` it fails the whole summary."""
    latest: dict[str, tuple[int, Mapping[str, Any], Mapping[str, Any]]] = {}
    for path, drive, item in _raw_plays(root, where, on_bad_part):
        try:
            play = require_dict(item, f"{where}: {path}")
            play_id = to_str(play.get("id"))
            if play_id is None:
                raise ParseError(f"{where}: {path}: no id")
            sequence = to_int(play.get("sequenceNumber"))
            if sequence is None:
                raise ParseError(f"{where}: {path}: play {play_id} has no integer sequenceNumber")
        except ParseError as error:
            skip_or_raise(error, on_bad_part)
            continue
        # A play seen twice (previous and current drive during a transition): the later copy wins.
        latest[play_id] = (sequence, drive, play)
    return sorted(latest.items(), key=lambda item: (item[1][0], item[0]))


def build_plays(
    ordered: RawPlays, game_id: str, sides: Sides, listed: frozenset[str] = frozenset()
) -> tuple[Play, ...]:
    """Plays with scores, points and turnovers filled in; `listed` holds the ids of ESPN's
    `scoringPlays`, which score whatever their own row shows (see `_attribute_points`)."""
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
        # _play always fills both scores in (from the play before when ESPN leaves one out).
        away_before, home_before = cast(int, parsed.away_score), cast(int, parsed.home_score)
    flags = [play_id in listed or to_bool(play.get("scoringPlay")) for play_id, (_, _, play) in ordered]
    return tuple(_attribute_points(plays, flags))


# How far after the play that scored a row may still show its points: ESPN folds a try (or the
# whole score) into the rows that follow, the kickoff usually.
_FOLDED_ROWS = 3


def _attribute_points(plays: list[Play], flags: list[bool | None]) -> list[Play]:
    """`scoring_play` and `score_value` on the play that scored, never on the row after it that
    merely shows the new score.

    `flags` are ESPN's word on each play (`scoringPlay`, or its id in `scoringPlays`; None when
    ESPN says nothing). Points shown by a row ESPN says did not score, within `_FOLDED_ROWS` of
    a flagged play still owed points (none yet, or a touchdown's try), belong to that play; any
    other row that changes the score scored itself.
    """
    result: list[Play] = []
    scorer: int | None = None  # index in `result` of the newest play ESPN says scored
    for play, flag in zip(plays, flags, strict=True):
        if flag:
            scorer = len(result)
            if not play.scoring_play:
                play = replace(play, scoring_play=True)
        elif flag is False and play.score_value > 0 and scorer is not None and _owed(result, scorer, play.score_value):
            owner = result[scorer]
            result[scorer] = replace(owner, score_value=owner.score_value + play.score_value)
            play = replace(play, scoring_play=False, score_value=0, scoring_type=None)
        result.append(play)
    return result


def _owed(result: list[Play], scorer: int, points: int) -> bool:
    """Whether the flagged play at `scorer` can still take `points` shown by a row after it."""
    if len(result) - scorer > _FOLDED_ROWS:
        return False
    owner = result[scorer]
    return owner.score_value == 0 or (owner.scoring_type == "TD" and owner.score_value == 6 and points in (1, 2))


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
    # The ids are those of the game's Sides (build_plays passes them), so both resolve.
    sides = Sides(cast(teams.Team, teams.by_espn_id(home_id)), cast(teams.Team, teams.by_espn_id(away_id)))
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
        is_turnover=is_turnover(play_type, drive_result),
        wallclock=to_datetime(play.get("wallclock")),
        drive_id=drive_id,
        down=positive(start.get("down")),
        distance=non_negative(start.get("distance")) if positive(start.get("down")) else None,
        yard_line=spot_yard_line(start, sides),
        scoring_type=scoring_type_of(play, gained, play_type, text) if gained or scoring_flag else None,
        drive_result=drive_result,
    )


def _drive_enders(ordered: RawPlays) -> dict[str, str]:
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
        # A timeout or a quarter marker never ends a drive, even when it comes last in it.
        if not is_administrative(to_str(as_dict(play.get("type")).get("text"))):
            last_real[id(drive)] = (play_id, result.upper())
    return dict(last_real.values())


def is_turnover(play_type: str | None, drive_result: str | None) -> bool:
    """Whether a play of this type, or ending a drive with this result, hands the ball over."""
    if play_type and _TURNOVER_TYPES.search(play_type):
        return True
    return drive_result in _TURNOVER_RESULTS


def scoring_type_of(play: Mapping[str, Any], gained: int, play_type: str | None, text: str | None) -> str | None:
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


def last_play_end(ordered: RawPlays) -> Mapping[str, Any]:
    """`end` of the play with the highest sequence number: down, distance and spot after it."""
    return as_dict(ordered[-1][1][2].get("end")) if ordered else {}
