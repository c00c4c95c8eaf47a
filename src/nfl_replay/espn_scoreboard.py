"""A recorded game as an entry of ESPN's scoreboard at a moment, and its status and situation.

ESPN's status (scheduled, the clock and period, halftime, final) and situation (down, distance,
possession, the last play) at a moment follow from the last visible play. The scoreboard event
carries both; the summary's header (`espn_summary`) carries the same status and possession.
Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nfl_replay.recording import EASTERN, Moment, RecordedGame, TimedPlay
from nfl_sync.domain import teams

REGULATION_PERIODS = 4
PERIOD_SECONDS = 15 * 60
RED_ZONE_YARDS = 20

SEASON_SLUGS = {1: "preseason", 2: "regular-season", 3: "post-season", 4: "off-season"}

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# ESPN's status types (id, name, description, state) for the moments a replay goes through.
_SCHEDULED = ("1", "STATUS_SCHEDULED", "Scheduled", "pre")
_IN_PROGRESS = ("2", "STATUS_IN_PROGRESS", "In Progress", "in")
_FINAL = ("3", "STATUS_FINAL", "Final", "post")
_END_PERIOD = ("22", "STATUS_END_PERIOD", "End of Period", "in")
_HALFTIME = ("23", "STATUS_HALFTIME", "Halftime", "in")


def _clock_seconds(display: str) -> float:
    minutes, _, seconds = display.partition(":")
    return float(int(minutes) * 60 + int(seconds or 0))


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _period_names(period: int) -> tuple[str, str]:
    """Short and long names of a period: ("4th", "4th Quarter"), ("OT", "OT")."""
    if period > REGULATION_PERIODS:
        return "OT", "OT"
    return _ordinal(period), f"{_ordinal(period)} Quarter"


def status(game: RecordedGame, moment: Moment) -> dict[str, Any]:
    """ESPN's `status` of the game at `moment`."""
    if moment.state == "pre":
        local = game.kickoff.astimezone(EASTERN)
        time_text = f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'} {local.tzname()}"
        detail = f"{_WEEKDAYS[local.weekday()]}, {_MONTHS[local.month - 1]} {_ordinal(local.day)} at {time_text}"
        return _status_dict(_SCHEDULED, 0.0, "0:00", 0, detail, f"{local.month}/{local.day} - {time_text}")
    if moment.visible == 0:
        return _status_dict(_IN_PROGRESS, float(PERIOD_SECONDS), "15:00", 1, "15:00 - 1st Quarter", "15:00 - 1st")
    last = game.plays[moment.visible - 1]
    period = last.period
    if moment.state == "post":
        final = "Final" if period <= REGULATION_PERIODS else "Final/OT"
        return _status_dict(_FINAL, 0.0, "0:00", period, final, final)
    if last.type_text == "End of Half":
        return _status_dict(_HALFTIME, 0.0, "0:00", period, "Halftime", "Halftime")
    name, long_name = _period_names(period)
    if last.type_text == "End Period":
        return _status_dict(_END_PERIOD, 0.0, "0:00", period, f"End of {long_name}", f"End of {name}")
    display = str(last.play.get("clock", {}).get("displayValue", "0:00"))
    return _status_dict(
        _IN_PROGRESS, _clock_seconds(display), display, period, f"{display} - {long_name}", f"{display} - {name}"
    )


def situation(game: RecordedGame, moment: Moment) -> dict[str, Any] | None:
    """The scoreboard `situation` while a play is visible and the game is on, else None."""
    if moment.state != "in" or moment.visible == 0:
        return None
    visible = game.plays[: moment.visible]
    described: dict[str, Any] = {"lastPlay": _last_play(game, moment.visible)}
    # A play's `end` is ESPN's own account of the situation after it (down -1 after scores
    # and kickoff returns included); an administrative play may lack a team, so the last
    # play that has one tells where the ball is.
    placed = next((play.play["end"] for play in reversed(visible) if play.play.get("end", {}).get("team")), None)
    if placed is None:
        return described
    possession = str(placed["team"]["id"])
    to_goal = placed["yardLine"] if possession == str(game.away_team["id"]) else 100 - placed["yardLine"]
    described.update(
        {
            key: placed[key]
            for key in (
                "down",
                "yardLine",
                "distance",
                "downDistanceText",
                "shortDownDistanceText",
                "possessionText",
            )
            if key in placed
        }
    )
    described["isRedZone"] = to_goal <= RED_ZONE_YARDS
    described["possession"] = possession
    return described


def _last_play(game: RecordedGame, visible: int) -> dict[str, Any]:
    timed = game.plays[visible - 1]
    play = timed.play
    before = sum(game.score_after(visible - 1))
    start, end = play.get("start", {}), play.get("end", {})
    team = end.get("team") or start.get("team") or {}
    last: dict[str, Any] = {
        "id": timed.id,
        "type": play.get("type", {}),
        "text": play.get("text", ""),
        "scoreValue": timed.home_score + timed.away_score - before,
        "team": {"id": str(team.get("id", ""))},
        "start": {"yardLine": start.get("yardLine"), "team": start.get("team", {})},
        "end": {"yardLine": end.get("yardLine"), "team": end.get("team", {})},
        "statYardage": play.get("statYardage", 0),
    }
    entry = game.win_by_play.get(timed.id)
    if entry is not None:
        home = float(entry["homeWinPercentage"])
        tie = float(entry.get("tiePercentage", 0) or 0)
        last["probability"] = {
            "tiePercentage": tie,
            "homeWinPercentage": home,
            "awayWinPercentage": 1 - home - tie,
            "secondsLeft": _seconds_left(timed),
        }
    return last


def scoreboard_event(game: RecordedGame, moment: Moment) -> dict[str, Any]:
    """The game as an entry of ESPN's scoreboard `events[]` at `moment`."""
    event_status = status(game, moment)
    header = game.source["header"]
    competition = header["competitions"][0]
    neutral = bool(competition.get("neutralSite", False))
    home_abbr, away_abbr = game.home_team["abbreviation"], game.away_team["abbreviation"]
    home_score, away_score = game.score_after(moment.visible)
    home_lines, away_lines = game.linescores(moment.visible)
    event_competition: dict[str, Any] = {
        "id": game.game_id,
        "uid": competition.get("uid"),
        "date": competition["date"],
        "attendance": game.source.get("gameInfo", {}).get("attendance", 0) if moment.state == "post" else 0,
        "type": {"id": "1", "abbreviation": "STD"},
        "timeValid": True,
        "neutralSite": neutral,
        "conferenceCompetition": bool(competition.get("conferenceCompetition", False)),
        "playByPlayAvailable": moment.state != "pre",
        "recent": moment.state != "pre",
        "venue": _venue(game),
        "competitors": [
            _competitor(game.home, moment, home_score, away_score, home_lines),
            _competitor(game.away, moment, away_score, home_score, away_lines),
        ],
        "notes": [],
        "status": event_status,
        "broadcasts": [
            {"market": str(b.get("market", {}).get("type", "national")).lower(), "names": [b["media"]["shortName"]]}
            for b in competition.get("broadcasts", [])
            if b.get("media", {}).get("shortName")
        ],
        "format": {"regulation": {"periods": REGULATION_PERIODS}},
        "startDate": competition["date"],
    }
    on_field = situation(game, moment)
    if on_field is not None:
        event_competition["situation"] = on_field
    odds = _pregame_odds(game) if moment.state == "pre" else []
    if odds:
        event_competition["odds"] = odds
    return {
        "id": game.game_id,
        "uid": header.get("uid"),
        "date": competition["date"],
        "name": f"{game.away_team['displayName']} at {game.home_team['displayName']}",
        "shortName": f"{away_abbr} {'VS' if neutral else '@'} {home_abbr}",
        "season": {
            "year": game.season_year,
            "type": game.season_type,
            "slug": SEASON_SLUGS.get(game.season_type, ""),
        },
        "week": {"number": game.week},
        "competitions": [event_competition],
        "status": event_status,
    }


def _competitor(
    competitor: Mapping[str, Any], moment: Moment, score: int, other_score: int, lines: list[int]
) -> dict[str, Any]:
    team = competitor["team"]
    logos = team.get("logos") or []
    entry: dict[str, Any] = {
        "id": str(team["id"]),
        "uid": team.get("uid"),
        "type": "team",
        "order": competitor.get("order"),
        "homeAway": competitor["homeAway"],
        "team": {
            **{
                key: team[key]
                for key in (
                    "id",
                    "uid",
                    "location",
                    "name",
                    "abbreviation",
                    "displayName",
                    "color",
                    "alternateColor",
                )
                if key in team
            },
            "shortDisplayName": team.get("shortDisplayName", team.get("name")),
            "isActive": True,
            **({"logo": logos[0]["href"]} if logos else {}),
        },
        "score": str(score),
        "records": [
            {
                "name": {"total": "overall", "home": "Home", "road": "Road"}.get(r.get("type"), r.get("type")),
                "type": r.get("type"),
                "summary": r.get("summary"),
            }
            for r in competitor.get("record", [])
        ],
    }
    if moment.state != "pre":
        entry["linescores"] = [
            {"value": float(points), "displayValue": str(points), "period": number}
            for number, points in enumerate(lines, start=1)
        ]
    if moment.state == "post":
        entry["winner"] = score > other_score
    return entry


def _venue(game: RecordedGame) -> dict[str, Any]:
    recorded = game.source.get("gameInfo", {}).get("venue", {})
    address = recorded.get("address", {})
    venue: dict[str, Any] = {
        "id": recorded.get("id"),
        "fullName": recorded.get("fullName"),
        "address": {key: address[key] for key in ("city", "state", "country") if key in address},
    }
    # The summary does not say whether the venue is covered; the team table knows its roof.
    # ESPN reports retractable roofs (Atlanta) as indoor.
    known = teams.venue(recorded.get("id"))
    if known is not None:
        venue["indoor"] = known.roof != "open"
    return venue


def _pregame_odds(game: RecordedGame) -> list[dict[str, Any]]:
    keys = ("provider", "details", "overUnder", "spread", "awayTeamOdds", "homeTeamOdds")
    return [{key: line[key] for key in keys if key in line} for line in game.source.get("pickcenter", [])]


def _status_dict(
    kind: tuple[str, str, str, str], clock: float, display: str, period: int, detail: str, short_detail: str
) -> dict[str, Any]:
    type_id, name, description, state = kind
    return {
        "clock": clock,
        "displayClock": display,
        "period": period,
        "type": {
            "id": type_id,
            "name": name,
            "state": state,
            "completed": state == "post",
            "description": description,
            "detail": detail,
            "shortDetail": short_detail,
        },
    }


def _seconds_left(play: TimedPlay) -> int:
    clock = _clock_seconds(str(play.play.get("clock", {}).get("displayValue", "0:00")))
    remaining_periods = max(0, REGULATION_PERIODS - play.period)
    return int(remaining_periods * PERIOD_SECONDS + clock)
