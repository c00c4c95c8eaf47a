"""One recorded NFL game, reconstructed as ESPN would have served it at any moment.

A finished game's `/summary` holds every play with the wall-clock time it happened. Showing only
the plays that had happened by time t, with the score, clock, situation and win probability they
imply, gives the scoreboard entry and the summary ESPN served at t. Everything here is pure: the
only I/O is `load_game()`, which reads a recording.

Play visibility: a play becomes visible at its `wallclock`, except that plays are revealed in
sequence order, so a play whose wallclock is earlier than its predecessor's (ESPN records a few)
becomes visible together with that predecessor.
"""

from __future__ import annotations

import bisect
import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from nfl_sync.domain import teams

EASTERN = ZoneInfo("America/New_York")

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

# ESPN's status types (id, name, description) for the moments a replay goes through.
_SCHEDULED = ("1", "STATUS_SCHEDULED", "Scheduled", "pre")
_IN_PROGRESS = ("2", "STATUS_IN_PROGRESS", "In Progress", "in")
_FINAL = ("3", "STATUS_FINAL", "Final", "post")
_END_PERIOD = ("22", "STATUS_END_PERIOD", "End of Period", "in")
_HALFTIME = ("23", "STATUS_HALFTIME", "Halftime", "in")

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


def _encode(value: Any) -> str:
    """Compact JSON, exactly as `replay.http.json_response` writes a whole document: documents
    served often are assembled from fragments encoded with it once (see `GameTimeline.summary_json`)."""
    return orjson.dumps(value).decode("utf-8")


def _json_object(members: list[str]) -> str:
    """A JSON object from encoded `"key":value` members, in their order."""
    return "{" + ",".join(members) + "}"


def _member(key: str, encoded_value: str) -> str:
    return _encode(key) + ":" + encoded_value


def parse_time(text: str) -> datetime:
    """An ESPN timestamp ("2023-09-17T17:00Z", "2023-09-17T17:02:21Z") as aware UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def _espn_minutes(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _espn_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


@dataclass(frozen=True)
class TimedPlay:
    """A recorded play, the drive it belongs to and when ESPN would first have shown it."""

    play: Mapping[str, Any]
    drive_index: int
    sequence: int
    visible_at: datetime

    @property
    def id(self) -> str:
        return str(self.play["id"])

    @property
    def home_score(self) -> int:
        return int(self.play.get("homeScore", 0))

    @property
    def away_score(self) -> int:
        return int(self.play.get("awayScore", 0))

    @property
    def period(self) -> int:
        return int(self.play.get("period", {}).get("number", 1))

    @property
    def type_text(self) -> str:
        return str(self.play.get("type", {}).get("text", ""))


@dataclass(frozen=True)
class _Moment:
    """What is known at one instant: the game state and how many plays are visible."""

    state: str
    visible: int


@dataclass
class _SummaryFragments:
    """The time-independent parts of a game's `/summary`, JSON-encoded once; each scoring play
    and win probability entry with the rank of the play that reveals it (shown while
    rank < the number of visible plays)."""

    static: list[str]  # "key":value members of the recorded top-level parts, in recorded order
    drives: list[str]
    scoring_plays: list[tuple[int, str]]
    win_probability: list[tuple[int, str]]


class GameTimeline:
    """A finished game's recording, replayable at any instant.

    `summary` is a recorded `/summary` document (or the `gamepackageJSON` of a cdn game page) of
    a game that is over. Methods that take a time `t` answer for that instant; the recording
    itself is never modified, and returned documents share its unchanged parts, so callers must
    treat them as read-only (the servers only serialize them).
    """

    def __init__(self, summary: Mapping[str, Any]):
        header = summary["header"]
        competition = header["competitions"][0]
        if competition.get("status", {}).get("type", {}).get("state") != "post":
            raise ValueError(f"game {header.get('id')}: a replay needs the recording of a finished game")
        self.source = summary
        self.game_id = str(header["id"])
        self.kickoff = parse_time(competition["date"])
        sides = {competitor["homeAway"]: competitor for competitor in competition["competitors"]}
        self.home: Mapping[str, Any] = sides["home"]
        self.away: Mapping[str, Any] = sides["away"]
        self.season_year = int(header["season"]["year"])
        self.season_type = int(header["season"]["type"])
        self.week = int(header["week"])
        self._drives: list[Mapping[str, Any]] = list(summary.get("drives", {}).get("previous", []))
        self.plays = self._timed_plays()
        if not self.plays:
            raise ValueError(f"game {self.game_id}: the recording has no plays")
        self.end = self.plays[-1].visible_at
        self._visible_times = [play.visible_at for play in self.plays]
        self._play_ids = {play.id for play in self.plays}
        self._win_probability = list(summary.get("winprobability", []))
        self._win_by_play = {str(entry["playId"]): entry for entry in self._win_probability}
        self._home_win_after = self._home_win_series()
        # The scoreboard asks for the same moment again and again (every poll until the next
        # play): its last answer is kept, keyed by the moment.
        self._scoreboard_cache: tuple[_Moment, str] | None = None
        self._fragments: _SummaryFragments | None = None

    def _timed_plays(self) -> tuple[TimedPlay, ...]:
        recorded = sorted(
            (
                (int(play["sequenceNumber"]), index, play)
                for index, drive in enumerate(self._drives)
                for play in drive.get("plays", [])
            ),
            key=lambda item: item[0],
        )
        visible = self.kickoff
        timed = []
        for sequence, drive_index, play in recorded:
            if play.get("wallclock"):
                visible = max(visible, parse_time(play["wallclock"]))
            timed.append(TimedPlay(play, drive_index, sequence, visible))
        return tuple(timed)

    def _home_win_series(self) -> list[Decimal]:
        """Home win probability after 0, 1, ... n visible plays.

        Before any play the first recorded entry is the pre-kickoff estimate (in `/summary` its
        playId is the first drive's id, which matches no play); a recording without win
        probability counts as a coin flip throughout.
        """
        current = (
            Decimal(str(self._win_probability[0]["homeWinPercentage"])) if self._win_probability else Decimal("0.5")
        )
        series = [current]
        for play in self.plays:
            entry = self._win_by_play.get(play.id)
            if entry is not None:
                current = Decimal(str(entry["homeWinPercentage"]))
            series.append(current)
        return series

    # -- identity -----------------------------------------------------------------------------

    @property
    def eastern_date(self) -> date:
        """The US-Eastern calendar date of kickoff, which ESPN's `dates=` and Kalshi tickers use."""
        return self.kickoff.astimezone(EASTERN).date()

    @property
    def home_team(self) -> Mapping[str, Any]:
        return self.home["team"]

    @property
    def away_team(self) -> Mapping[str, Any]:
        return self.away["team"]

    @property
    def league(self) -> Mapping[str, Any]:
        return self.source["header"].get("league", {})

    @property
    def injuries(self) -> list[Mapping[str, Any]]:
        """The recorded per-team injury lists (as of the day the file was fetched)."""
        return list(self.source.get("injuries", []))

    @property
    def final_score(self) -> tuple[int, int]:
        """(home, away) points at the end of the game."""
        return self.plays[-1].home_score, self.plays[-1].away_score

    def with_id(self, new_id: str, kickoff_shift: timedelta = timedelta(0)) -> GameTimeline:
        """The same game under another event id, played `kickoff_shift` later.

        Used to build a large slate from a few recordings. Drive, play and win-probability ids
        embed the event id, so they are renamed too (ids stay distinct across copies), and the
        kickoff and every play's wallclock move by the shift. ESPN dates have minute precision,
        so the shift must be whole minutes.
        """
        if kickoff_shift % timedelta(minutes=1):
            raise ValueError(f"kickoff_shift must be whole minutes, got {kickoff_shift}")
        source = copy.deepcopy(self.source)
        _rename(source, self.game_id, str(new_id))
        competition = source["header"]["competitions"][0]
        competition["date"] = _espn_minutes(parse_time(competition["date"]) + kickoff_shift)
        for drive in source.get("drives", {}).get("previous", []):
            for play in drive.get("plays", []):
                if play.get("wallclock"):
                    play["wallclock"] = _espn_seconds(parse_time(play["wallclock"]) + kickoff_shift)
        return GameTimeline(source)

    # -- state at a time ----------------------------------------------------------------------

    def state_at(self, t: datetime) -> str:
        """The game state: "pre" before kickoff, "post" once the last play is visible, "in" between."""
        return self._moment(t).state

    def score_at(self, t: datetime) -> tuple[int, int]:
        """(home, away) points at `t`."""
        return self._score(self._moment(t).visible)

    def win_probability_at(self, t: datetime) -> Decimal:
        """ESPN's home-team win probability (0-1) after the last play visible at `t`.

        Before the first play it is the pre-kickoff estimate.
        """
        return self._home_win_after[self._moment(t).visible]

    def _moment(self, t: datetime) -> _Moment:
        if t < self.kickoff:
            return _Moment("pre", 0)
        visible = bisect.bisect_right(self._visible_times, t)
        return _Moment("post" if visible == len(self.plays) else "in", visible)

    def _score(self, visible: int) -> tuple[int, int]:
        if visible == 0:
            return 0, 0
        last = self.plays[visible - 1]
        return last.home_score, last.away_score

    def _linescores(self, visible: int) -> tuple[list[int], list[int]]:
        """Points per period for (home, away), from the score change of each visible play."""
        periods = self.plays[visible - 1].period if visible else 1
        home, away = [0] * periods, [0] * periods
        before = (0, 0)
        for play in self.plays[:visible]:
            home[play.period - 1] += play.home_score - before[0]
            away[play.period - 1] += play.away_score - before[1]
            before = (play.home_score, play.away_score)
        return home, away

    def _status(self, moment: _Moment) -> dict[str, Any]:
        if moment.state == "pre":
            local = self.kickoff.astimezone(EASTERN)
            time_text = (
                f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'} {local.tzname()}"
            )
            detail = f"{_WEEKDAYS[local.weekday()]}, {_MONTHS[local.month - 1]} {_ordinal(local.day)} at {time_text}"
            return _status_dict(_SCHEDULED, 0.0, "0:00", 0, detail, f"{local.month}/{local.day} - {time_text}")
        if moment.visible == 0:
            return _status_dict(_IN_PROGRESS, float(PERIOD_SECONDS), "15:00", 1, "15:00 - 1st Quarter", "15:00 - 1st")
        last = self.plays[moment.visible - 1]
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

    def _situation(self, moment: _Moment) -> dict[str, Any] | None:
        """The scoreboard `situation` while a play is visible and the game is on, else None."""
        if moment.state != "in" or moment.visible == 0:
            return None
        visible = self.plays[: moment.visible]
        situation: dict[str, Any] = {"lastPlay": self._last_play(moment.visible)}
        # A play's `end` is ESPN's own account of the situation after it (down -1 after scores
        # and kickoff returns included); an administrative play may lack a team, so the last
        # play that has one tells where the ball is.
        placed = next((play.play["end"] for play in reversed(visible) if play.play.get("end", {}).get("team")), None)
        if placed is None:
            return situation
        possession = str(placed["team"]["id"])
        to_goal = placed["yardLine"] if possession == str(self.away_team["id"]) else 100 - placed["yardLine"]
        situation.update(
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
        situation["isRedZone"] = to_goal <= RED_ZONE_YARDS
        situation["possession"] = possession
        return situation

    def _last_play(self, visible: int) -> dict[str, Any]:
        timed = self.plays[visible - 1]
        play = timed.play
        before = sum(self._score(visible - 1))
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
        entry = self._win_by_play.get(timed.id)
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

    # -- documents ----------------------------------------------------------------------------

    def scoreboard_event(self, t: datetime) -> dict[str, Any]:
        """This game as an entry of ESPN's scoreboard `events[]` at `t`."""
        moment = self._moment(t)
        status = self._status(moment)
        header = self.source["header"]
        competition = header["competitions"][0]
        neutral = bool(competition.get("neutralSite", False))
        home_abbr, away_abbr = self.home_team["abbreviation"], self.away_team["abbreviation"]
        home_score, away_score = self._score(moment.visible)
        home_lines, away_lines = self._linescores(moment.visible)
        event_competition: dict[str, Any] = {
            "id": self.game_id,
            "uid": competition.get("uid"),
            "date": competition["date"],
            "attendance": self.source.get("gameInfo", {}).get("attendance", 0) if moment.state == "post" else 0,
            "type": {"id": "1", "abbreviation": "STD"},
            "timeValid": True,
            "neutralSite": neutral,
            "conferenceCompetition": bool(competition.get("conferenceCompetition", False)),
            "playByPlayAvailable": moment.state != "pre",
            "recent": moment.state != "pre",
            "venue": self._venue(),
            "competitors": [
                self._scoreboard_competitor(self.home, moment, home_score, away_score, home_lines),
                self._scoreboard_competitor(self.away, moment, away_score, home_score, away_lines),
            ],
            "notes": [],
            "status": status,
            "broadcasts": [
                {"market": str(b.get("market", {}).get("type", "national")).lower(), "names": [b["media"]["shortName"]]}
                for b in competition.get("broadcasts", [])
                if b.get("media", {}).get("shortName")
            ],
            "format": {"regulation": {"periods": REGULATION_PERIODS}},
            "startDate": competition["date"],
        }
        situation = self._situation(moment)
        if situation is not None:
            event_competition["situation"] = situation
        odds = self._pregame_odds() if moment.state == "pre" else []
        if odds:
            event_competition["odds"] = odds
        return {
            "id": self.game_id,
            "uid": header.get("uid"),
            "date": competition["date"],
            "name": f"{self.away_team['displayName']} at {self.home_team['displayName']}",
            "shortName": f"{away_abbr} {'VS' if neutral else '@'} {home_abbr}",
            "season": {
                "year": self.season_year,
                "type": self.season_type,
                "slug": SEASON_SLUGS.get(self.season_type, ""),
            },
            "week": {"number": self.week},
            "competitions": [event_competition],
            "status": status,
        }

    def scoreboard_event_json(self, t: datetime) -> str:
        """`scoreboard_event(t)` as compact JSON, built once per moment of the game."""
        moment = self._moment(t)
        cached = self._scoreboard_cache
        if cached is not None and cached[0] == moment:
            return cached[1]
        encoded = _encode(self.scoreboard_event(t))
        self._scoreboard_cache = (moment, encoded)
        return encoded

    def _scoreboard_competitor(
        self, competitor: Mapping[str, Any], moment: _Moment, score: int, other_score: int, lines: list[int]
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

    def _venue(self) -> dict[str, Any]:
        recorded = self.source.get("gameInfo", {}).get("venue", {})
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

    def _pregame_odds(self) -> list[dict[str, Any]]:
        keys = ("provider", "details", "overUnder", "spread", "awayTeamOdds", "homeTeamOdds")
        return [{key: line[key] for key in keys if key in line} for line in self.source.get("pickcenter", [])]

    def summary(self, t: datetime) -> dict[str, Any]:
        """The `/summary` document ESPN would have served at `t`.

        Time-dependent parts are rebuilt (header status and scores, drives, scoring plays, win
        probability); the rest (boxscore, gameInfo, pickcenter, leaders...) is served as
        recorded. Before kickoff there are no drives or scoring plays, as in real pre-game
        summaries.
        """
        moment = self._moment(t)
        document = {
            key: value
            for key, value in self.source.items()
            if key not in ("header", "drives", "scoringPlays", "winprobability")
        }
        document["header"] = self._summary_header(moment)
        visible_ids = {play.id for play in self.plays[: moment.visible]}
        if moment.state == "pre":
            document["winprobability"] = []
            return document
        document["drives"] = self._drives_at(moment)
        document["scoringPlays"] = [
            play for play in self.source.get("scoringPlays", []) if str(play["id"]) in visible_ids
        ]
        document["winprobability"] = [
            entry
            for entry in self._win_probability
            if str(entry["playId"]) in visible_ids or str(entry["playId"]) not in self._play_ids
        ]
        return document

    def summary_json(self, t: datetime) -> bytes:
        """`summary(t)` as the compact JSON body `json_response` would send, byte for byte.

        The recorded parts (boxscore, news, every finished drive, each scoring play and win
        probability entry) are encoded once per game, so a poll costs a join of encoded
        fragments rather than encoding a 0.3-1 MB document.
        """
        moment = self._moment(t)
        fragments = self._fragments or self._encode_fragments()
        members = fragments.static + [_member("header", _encode(self._summary_header(moment)))]
        if moment.state == "pre":
            members.append(_member("winprobability", "[]"))
        else:
            visible = moment.visible
            members.append(_member("drives", self._drives_json(moment, fragments)))
            members.append(
                _member(
                    "scoringPlays",
                    "[" + ",".join(encoded for rank, encoded in fragments.scoring_plays if rank < visible) + "]",
                )
            )
            members.append(
                _member(
                    "winprobability",
                    "[" + ",".join(encoded for rank, encoded in fragments.win_probability if rank < visible) + "]",
                )
            )
        return _json_object(members).encode("utf-8")

    def _encode_fragments(self) -> _SummaryFragments:
        """Encode the recorded, time-independent parts of the summary once (thread-safe: a race
        only encodes them twice)."""
        first_visible: dict[str, int] = {}
        for index, play in enumerate(self.plays):
            first_visible.setdefault(play.id, index)
        never = len(self.plays) + 1  # a rank no visible count reaches
        fragments = _SummaryFragments(
            static=[
                _member(key, _encode(value))
                for key, value in self.source.items()
                if key not in ("header", "drives", "scoringPlays", "winprobability")
            ],
            drives=[_encode(drive) for drive in self._drives],
            # A scoring play shows once its play does; a win probability entry whose playId is
            # no play (the pre-kickoff estimate) always shows: rank -1.
            scoring_plays=[
                (first_visible.get(str(play["id"]), never), _encode(play))
                for play in self.source.get("scoringPlays", [])
            ],
            win_probability=[
                (first_visible.get(str(entry["playId"]), -1), _encode(entry)) for entry in self._win_probability
            ],
        )
        self._fragments = fragments
        return fragments

    def _drives_json(self, moment: _Moment, fragments: _SummaryFragments) -> str:
        """`_drives_at(moment)` encoded, the finished drives from their fragments."""
        if moment.state == "post":
            return _json_object([_member("previous", "[" + ",".join(fragments.drives) + "]")])
        if moment.visible == 0:
            return _json_object([_member("previous", "[]")])
        drives = self._drives_at(moment)
        finished = len(drives["previous"])
        return _json_object(
            [
                _member("previous", "[" + ",".join(fragments.drives[:finished]) + "]"),
                _member("current", _encode(drives["current"])),
            ]
        )

    def _summary_header(self, moment: _Moment) -> dict[str, Any]:
        header = dict(self.source["header"])
        competition = dict(header["competitions"][0])
        competition["status"] = {**competition.get("status", {}), **self._status(moment)}
        home_score, away_score = self._score(moment.visible)
        home_lines, away_lines = self._linescores(moment.visible)
        situation = self._situation(moment)
        possession = situation.get("possession") if situation else None
        competitors = []
        for competitor, score, other, lines in (
            (self.home, home_score, away_score, home_lines),
            (self.away, away_score, home_score, away_lines),
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

    def _drives_at(self, moment: _Moment) -> dict[str, Any]:
        """Finished drives under `previous`; while the game is on, the drive of the last visible
        play is `current`, holding only its visible plays and none of its outcome."""
        if moment.state == "post":
            return {"previous": self._drives}
        if moment.visible == 0:
            return {"previous": []}
        last = self.plays[moment.visible - 1]
        drive = self._drives[last.drive_index]
        shown = {play.id for play in self.plays[: moment.visible] if play.drive_index == last.drive_index}
        current = {key: value for key, value in drive.items() if key not in _DRIVE_OUTCOME_KEYS}
        current["plays"] = [play for play in drive.get("plays", []) if str(play["id"]) in shown]
        return {"previous": self._drives[: last.drive_index], "current": current}


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


def _rename(node: Any, old_id: str, new_id: str) -> None:
    """Rewrite, in place, every id derived from the event id `old_id` to derive from `new_id`."""
    if isinstance(node, list):
        for item in node:
            _rename(item, old_id, new_id)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        # Drive, play and winprobability ids are the event id plus a suffix; team and athlete
        # ids are shorter than any event id, so the prefix test cannot catch them.
        if key in ("id", "playId") and isinstance(value, str) and value.startswith(old_id):
            node[key] = new_id + value[len(old_id) :]
        elif key == "uid" and isinstance(value, str):
            node[key] = value.replace(f"e:{old_id}", f"e:{new_id}").replace(f"c:{old_id}", f"c:{new_id}")
        else:
            _rename(value, old_id, new_id)


def load_game(path: str | Path) -> GameTimeline:
    """Read a recorded game: a `/summary` file or a cdn game page (summary under `gamepackageJSON`)."""
    with Path(path).open(encoding="utf-8") as handle:
        document = json.load(handle)
    return GameTimeline(document.get("gamepackageJSON", document))
