"""A recorded game's `/summary` as ESPN served it at a moment, as a document or as encoded JSON.

Only the time-dependent parts are rebuilt: the header's status and scores, the drives (the one
in progress without its outcome), the scoring plays and the win probability shown so far. The
rest (boxscore, gameInfo, pickcenter, leaders...) is served as recorded, and for the encoded body
it is encoded once per game (`SummaryFragments`). Everything here is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nfl_replay.espn_scoreboard import situation, status
from nfl_replay.json_fragments import encode, json_array, json_object, member
from nfl_replay.recording import Moment, RecordedGame

# The top-level parts of a summary that depend on the moment; all others are served as recorded.
_REBUILT = ("header", "drives", "scoringPlays", "winprobability")

# Keys of a drive that are only known once it is over; an in-progress drive must not show them.
_DRIVE_OUTCOME_KEYS = frozenset(
    {
        "description",
        "end",
        "timeElapsed",
        "yards",
        "isScore",
        "offensivePlays",
        "result",
        "shortDisplayResult",
        "displayResult",
    }
)


@dataclass
class SummaryFragments:
    """The time-independent parts of a game's `/summary`, JSON-encoded once; each scoring play
    and win probability entry with the rank of the play that reveals it (shown while
    rank < the number of visible plays)."""

    static: list[str]  # "key":value members of the recorded top-level parts, in recorded order
    drives: list[str]
    scoring_plays: list[tuple[int, str]]
    win_probability: list[tuple[int, str]]


def summary(game: RecordedGame, moment: Moment) -> dict[str, Any]:
    """The `/summary` document ESPN would have served at `moment`.

    Before kickoff there are no drives or scoring plays, as in real pre-game summaries. The
    document shares the recording's unchanged parts, so callers must treat it as read-only (the
    servers only serialize it).
    """
    document = {key: value for key, value in game.source.items() if key not in _REBUILT}
    document["header"] = _header(game, moment)
    visible_ids = {play.id for play in game.plays[: moment.visible]}
    if moment.state == "pre":
        document["winprobability"] = []
        return document
    document["drives"] = _drives(game, moment)
    document["scoringPlays"] = [play for play in game.source.get("scoringPlays", []) if str(play["id"]) in visible_ids]
    document["winprobability"] = [
        entry
        for entry in game.win_probability_entries
        if str(entry["playId"]) in visible_ids or str(entry["playId"]) not in game.play_ids
    ]
    return document


def encode_fragments(game: RecordedGame) -> SummaryFragments:
    """Encode the recorded, time-independent parts of the game's summary."""
    first_visible: dict[str, int] = {}
    for index, play in enumerate(game.plays):
        first_visible.setdefault(play.id, index)
    never = len(game.plays) + 1  # a rank no visible count reaches
    return SummaryFragments(
        static=[member(key, encode(value)) for key, value in game.source.items() if key not in _REBUILT],
        drives=[encode(drive) for drive in game.drives],
        # A scoring play shows once its play does; a win probability entry whose playId is
        # no play (the pre-kickoff estimate) always shows: rank -1.
        scoring_plays=[
            (first_visible.get(str(play["id"]), never), encode(play)) for play in game.source.get("scoringPlays", [])
        ],
        win_probability=[
            (first_visible.get(str(entry["playId"]), -1), encode(entry)) for entry in game.win_probability_entries
        ],
    )


def summary_json(game: RecordedGame, moment: Moment, fragments: SummaryFragments) -> bytes:
    """`summary(game, moment)` as the compact JSON body `json_response` would send, byte for byte,
    joined from the game's `fragments` and the few parts encoded for the moment."""
    members = fragments.static + [member("header", encode(_header(game, moment)))]
    if moment.state == "pre":
        members.append(member("winprobability", "[]"))
    else:
        visible = moment.visible
        members.append(member("drives", _drives_json(game, moment, fragments)))
        members.append(
            member("scoringPlays", json_array(encoded for rank, encoded in fragments.scoring_plays if rank < visible))
        )
        members.append(
            member(
                "winprobability", json_array(encoded for rank, encoded in fragments.win_probability if rank < visible)
            )
        )
    return json_object(members).encode("utf-8")


def _drives_json(game: RecordedGame, moment: Moment, fragments: SummaryFragments) -> str:
    """`_drives(game, moment)` encoded, the finished drives from their fragments."""
    if moment.state == "post":
        return json_object([member("previous", json_array(fragments.drives))])
    if moment.visible == 0:
        return json_object([member("previous", "[]")])
    drives = _drives(game, moment)
    finished = len(drives["previous"])
    return json_object(
        [
            member("previous", json_array(fragments.drives[:finished])),
            member("current", encode(drives["current"])),
        ]
    )


def _header(game: RecordedGame, moment: Moment) -> dict[str, Any]:
    header = dict(game.source["header"])
    competition = dict(header["competitions"][0])
    competition["status"] = {**competition.get("status", {}), **status(game, moment)}
    home_score, away_score = game.score_after(moment.visible)
    home_lines, away_lines = game.linescores(moment.visible)
    on_field = situation(game, moment)
    possession = on_field.get("possession") if on_field else None
    competitors = []
    for competitor, score, other, lines in (
        (game.home, home_score, away_score, home_lines),
        (game.away, away_score, home_score, away_lines),
    ):
        entry = {
            key: value
            for key, value in competitor.items()
            if key not in ("score", "linescores", "winner", "possession")
        }
        entry["possession"] = possession == str(competitor["team"]["id"])
        if moment.state != "pre":
            entry["score"] = str(score)
            entry["linescores"] = [{"displayValue": str(points)} for points in lines]
        if moment.state == "post":
            entry["winner"] = score > other
        competitors.append(entry)
    competition["competitors"] = competitors
    header["competitions"] = [competition]
    return header


def _drives(game: RecordedGame, moment: Moment) -> dict[str, Any]:
    """Finished drives under `previous`; while the game is on, the drive of the last visible
    play is `current`, holding only its visible plays and none of its outcome."""
    if moment.state == "post":
        return {"previous": game.drives}
    if moment.visible == 0:
        return {"previous": []}
    last = game.plays[moment.visible - 1]
    drive = game.drives[last.drive_index]
    shown = {play.id for play in game.plays[: moment.visible] if play.drive_index == last.drive_index}
    current = {key: value for key, value in drive.items() if key not in _DRIVE_OUTCOME_KEYS}
    current["plays"] = [play for play in drive.get("plays", []) if str(play["id"]) in shown]
    return {"previous": game.drives[: last.drive_index], "current": current}
