"""A finished game's recording and what of it was known at each instant, with no I/O.

A finished game's `/summary` holds every play with the wall-clock time it happened. A play
becomes visible at its `wallclock`, except that plays are revealed in sequence order, so a play
whose wallclock is earlier than its predecessor's (ESPN records a few) becomes visible together
with that predecessor. The score, win probability and game state at an instant follow from the
plays visible then; `espn_scoreboard` and `espn_summary` turn them into ESPN's documents.
"""

from __future__ import annotations

import bisect
import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Self
from zoneinfo import ZoneInfo

from nfl_sync.domain.calendar import season_year

EASTERN = ZoneInfo("America/New_York")


def parse_time(text: str) -> datetime:
    """An ESPN timestamp ("2023-09-17T17:00Z", "2023-09-17T17:02:21Z") as aware UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def _espn_minutes(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _espn_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
class Moment:
    """What is known at one instant: the game state ("pre", "in", "post") and how many plays are
    visible. Every instant between two plays is the same moment, so documents built for one
    moment hold for all of them."""

    state: str
    visible: int


class RecordedGame:
    """A finished game's recording, and what of it was known at any instant.

    `summary` is a recorded `/summary` document (or the `gamepackageJSON` of a cdn game page) of
    a game that is over. The recording itself is never modified.
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
        self.drives: list[Mapping[str, Any]] = list(summary.get("drives", {}).get("previous", []))
        self.plays = self._timed_plays()
        if not self.plays:
            raise ValueError(f"game {self.game_id}: the recording has no plays")
        self.end = self.plays[-1].visible_at
        self.play_ids = frozenset(play.id for play in self.plays)
        self.win_probability_entries: list[Mapping[str, Any]] = list(summary.get("winprobability", []))
        self.win_by_play = {str(entry["playId"]): entry for entry in self.win_probability_entries}
        self._visible_times = [play.visible_at for play in self.plays]
        self._home_win_after = self._home_win_series()

    def _timed_plays(self) -> tuple[TimedPlay, ...]:
        recorded = sorted(
            (
                (int(play["sequenceNumber"]), index, play)
                for index, drive in enumerate(self.drives)
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
        entries = self.win_probability_entries
        current = Decimal(str(entries[0]["homeWinPercentage"])) if entries else Decimal("0.5")
        series = [current]
        for play in self.plays:
            entry = self.win_by_play.get(play.id)
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
    def matchup(self) -> str:
        """ "GB @ ATL": how people name the game."""
        return f"{self.away_team.get('abbreviation')} @ {self.home_team.get('abbreviation')}"

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

    def with_id(self, new_id: str, kickoff_shift: timedelta = timedelta(0)) -> Self:
        """The same game under another event id, played `kickoff_shift` later.

        Used to build a large slate from a few recordings. Drive, play and win-probability ids
        embed the event id, so they are renamed too (ids stay distinct across copies), and every
        time moves by the shift (see `shifted`).
        """
        _check_shift(kickoff_shift)
        source = copy.deepcopy(self.source)
        _rename(source, self.game_id, str(new_id))
        _shift_times(source, kickoff_shift)
        return type(self)(source)

    def shifted(self, shift: timedelta) -> Self:
        """The same game (same ids) played `shift` later: every timestamp of the recording (kickoff,
        play wallclocks and edits, the article, ...) moves by it, and the season year with the
        kickoff (a game moved a year on is of the next season). ESPN dates have minute precision,
        so the shift must be whole minutes. Two shifted copies of one game need `with_id`."""
        _check_shift(shift)
        source = copy.deepcopy(self.source)
        _shift_times(source, shift)
        return type(self)(source)

    # -- state at a time ----------------------------------------------------------------------

    def moment(self, t: datetime) -> Moment:
        if t < self.kickoff:
            return Moment("pre", 0)
        visible = bisect.bisect_right(self._visible_times, t)
        return Moment("post" if visible == len(self.plays) else "in", visible)

    def state_at(self, t: datetime) -> str:
        """The game state: "pre" before kickoff, "post" once the last play is visible, "in" between."""
        return self.moment(t).state

    def score_at(self, t: datetime) -> tuple[int, int]:
        """(home, away) points at `t`."""
        return self.score_after(self.moment(t).visible)

    def win_probability_at(self, t: datetime) -> Decimal:
        """ESPN's home-team win probability (0-1) after the last play visible at `t`.

        Before the first play it is the pre-kickoff estimate.
        """
        return self._home_win_after[self.moment(t).visible]

    def score_after(self, visible: int) -> tuple[int, int]:
        """(home, away) points once the first `visible` plays are shown."""
        if visible == 0:
            return 0, 0
        last = self.plays[visible - 1]
        return last.home_score, last.away_score

    def linescores(self, visible: int) -> tuple[list[int], list[int]]:
        """Points per period for (home, away), from the score change of each visible play."""
        periods = self.plays[visible - 1].period if visible else 1
        home, away = [0] * periods, [0] * periods
        before = (0, 0)
        for play in self.plays[:visible]:
            home[play.period - 1] += play.home_score - before[0]
            away[play.period - 1] += play.away_score - before[1]
            before = (play.home_score, play.away_score)
        return home, away


def _check_shift(shift: timedelta) -> None:
    if shift % timedelta(minutes=1):
        raise ValueError(f"a recording moves by whole minutes, not {shift}")


# ESPN's timestamps: "2023-09-17T17:00Z" (kickoffs, edits) and "2023-09-17T17:02:21Z" (wallclocks).
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z")


def _shift_times(source: Any, shift: timedelta) -> None:
    """Move, in place, every ESPN timestamp in the summary `source` by `shift` (each keeping its
    precision), and its season year with its kickoff's."""
    if not shift:
        return
    header = source["header"]
    kickoff = parse_time(header["competitions"][0]["date"])
    seasons = season_year(kickoff + shift) - season_year(kickoff)

    def move(text: str) -> str:
        if not _TIMESTAMP.fullmatch(text):
            return text
        moved = parse_time(text) + shift
        return _espn_seconds(moved) if len(text) > len("2023-09-17T17:00Z") else _espn_minutes(moved)

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(value, str):
                node[key] = move(value)
            else:
                walk(value)

    walk(source)
    header["season"]["year"] = int(header["season"]["year"]) + seasons


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
