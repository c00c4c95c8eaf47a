"""The recorded games as the end-to-end tests read them, straight from their JSON
(`drives.previous[].plays[]`: ids, sequence numbers, homeScore/awayScore, statYardage, type.text,
the drive results) and never through the replay tooling or the pipeline, so that what the tests
expect is not computed by the code under test."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from helpers import FIXTURES

GB_ATL = "401547417"  # GB 24 @ ATL 25, 186 plays
BAL_JAX = "401547602"  # BAL 23 @ JAX 7, 186 plays
RECORDINGS = {
    GB_ATL: FIXTURES / "espn" / "summary_401547417.json",
    BAL_JAX: FIXTURES / "espn" / "cdn_game_401547602.json",
}

# Plays that only mark time or stop the clock: never the play that decided a drive.
ADMINISTRATIVE = frozenset(
    {
        "timeout",
        "official timeout",
        "end period",
        "end of half",
        "end of game",
        "end of regulation",
        "two-minute warning",
        "coin toss",
    }
)
# Offensive plays whose statYardage is a gain by the ball carrier (kicks, punts, returns and
# penalties are not: their yardage is a kick distance, a return by the other side, or yards
# walked off).
OFFENSIVE = frozenset({"rush", "pass reception", "passing touchdown", "rushing touchdown", "pass", "pass completion"})
_NARRATED = re.compile(r"for (?:(-?\d+) yards?|no gain)", re.IGNORECASE)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class RecordedPlay:
    id: str
    sequence: int
    type: str
    text: str
    yards: int
    away: int
    home: int
    visible_at: datetime  # when ESPN would first have shown it
    drive_result: str | None  # set on the play that decided its drive
    drive: int  # index of its drive

    @property
    def turnover_by_type(self) -> bool:
        kind = self.type.lower()
        return "interception" in kind or "fumble recovery (opponent)" in kind or "fumble return" in kind

    @property
    def turnover_by_drive(self) -> bool:
        result = (self.drive_result or "").upper()
        return result.startswith("INT") or "FUMBLE" in result or result.endswith("DOWNS")

    @property
    def turnover(self) -> bool:
        return self.turnover_by_type or self.turnover_by_drive

    @property
    def gain(self) -> int:
        """Yards the offence gained: statYardage of a rush or pass that counted, except that on a
        play with an accepted penalty (statYardage then includes the yards walked off) the
        narrated "for N yards" of the run or catch is the gain."""
        if self.type.lower() not in OFFENSIVE or "no play" in self.text.lower():
            return 0
        if "penalty" in self.text.lower():
            match = _NARRATED.search(self.text)
            return int(match.group(1)) if match and match.group(1) else 0
        return self.yards

    @property
    def big_gain(self) -> bool:
        return self.gain >= 20


class Recording:
    """A recorded game read straight from its JSON, optionally played `shift` later."""

    def __init__(self, game_id: str, shift: timedelta = timedelta(0)):
        document = json.loads(RECORDINGS[game_id].read_text(encoding="utf-8"))
        document = document.get("gamepackageJSON", document)
        competition = document["header"]["competitions"][0]
        self.game_id = game_id
        self.kickoff = _time(competition["date"]) + shift
        sides = {c["homeAway"]: c for c in competition["competitors"]}
        self.final = (int(sides["away"]["score"]), int(sides["home"]["score"]))
        self.teams = (sides["away"]["team"]["abbreviation"], sides["home"]["team"]["abbreviation"])
        self.scoring_ids = frozenset(str(entry["id"]) for entry in document.get("scoringPlays", []))
        raw = []
        for drive_index, drive in enumerate(document["drives"]["previous"]):
            plays = drive.get("plays", [])
            decider = None
            if drive.get("result"):
                real = [p for p in plays if p["type"]["text"].lower() not in ADMINISTRATIVE]
                decider = real[-1]["id"] if real else None
            for play in plays:
                raw.append(
                    (int(play["sequenceNumber"]), play, drive["result"] if play["id"] == decider else None, drive_index)
                )
        raw.sort(key=lambda item: item[0])
        visible = self.kickoff
        self.plays: list[RecordedPlay] = []
        for sequence, play, result, drive_index in raw:
            # Plays are revealed in sequence order: one stamped earlier than its predecessor
            # shows with it.
            if play.get("wallclock"):
                visible = max(visible, _time(play["wallclock"]) + shift)
            self.plays.append(
                RecordedPlay(
                    str(play["id"]),
                    sequence,
                    play["type"]["text"],
                    play.get("text", ""),
                    int(play.get("statYardage", 0)),
                    int(play["awayScore"]),
                    int(play["homeScore"]),
                    visible,
                    result,
                    drive_index,
                )
            )
        self.by_id = {p.id: p for p in self.plays}

    @property
    def end(self) -> datetime:
        return self.plays[-1].visible_at

    def visible(self, until: datetime | None = None) -> list[RecordedPlay]:
        return [p for p in self.plays if until is None or p.visible_at <= until]

    def score_changes(self, after: datetime | None = None, until: datetime | None = None) -> list[RecordedPlay]:
        """The plays that changed the score, visible in (after, until]."""
        changes, last = [], (0, 0)
        for play in self.plays:
            if (
                (play.away, play.home) != last
                and (after is None or play.visible_at > after)
                and (until is None or play.visible_at <= until)
            ):
                changes.append(play)
            last = (play.away, play.home)
        return changes

    def score_keys(self, after: datetime | None = None, until: datetime | None = None) -> list[str]:
        return [f"score:{self.game_id}:0:{p.away}-{p.home}" for p in self.score_changes(after, until)]

    def known_at(self, play: RecordedPlay) -> datetime:
        """When the play's significance can be known: its own appearance, or for a turnover told
        only by its drive's result, the first play of a later drive (the drive is over)."""
        if play.big_gain or play.turnover_by_type or not play.turnover_by_drive:
            return play.visible_at
        later = [p.visible_at for p in self.plays if p.drive > play.drive]
        return min(later) if later else self.end

    def measurable(self, play_ids: set[str]) -> set[str]:
        """The plays whose market reaction can be measured: known before the final whistle
        closes the markets."""
        return {i for i in play_ids if self.known_at(self.by_id[i]) < self.end}

    def significant(self, after: datetime | None = None, until: datetime | None = None) -> list[RecordedPlay]:
        """Turnovers and big gains visible in (after, until]."""
        return [
            p
            for p in self.plays
            if (p.turnover or p.big_gain)
            and (after is None or p.visible_at > after)
            and (until is None or p.visible_at <= until)
        ]

    def points(self) -> dict[str, int]:
        """Points scored on each play (from the score change)."""
        result, last = {}, (0, 0)
        for play in self.plays:
            result[play.id] = max(0, play.away - last[0]) + max(0, play.home - last[1])
            last = (play.away, play.home)
        return result
